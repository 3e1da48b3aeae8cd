//! Test support shared by the workspace's integration tests and benchmarks.
//!
//! - [`Moto`]: a `moto_server` (PyPI `moto[server]`) child process on a free loopback port,
//!   killed by its PID when dropped. A missing `moto_server` is a test failure, never a skip.
//! - [`LatencyProxy`]: a loopback HTTP proxy that adds a fixed delay to every call, since real
//!   AWS round trips take tens of milliseconds and the emulator answers at once.

mod moto;
mod proxy;

pub use moto::Moto;
pub use proxy::{LatencyProxy, OperationStats, Quota};
