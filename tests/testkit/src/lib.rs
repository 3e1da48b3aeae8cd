//! Test support shared by the workspace's integration tests and benchmarks.
//!
//! - [`Moto`]: a `moto_server` (PyPI `moto[server]`) child process on a free loopback port,
//!   killed by its PID when dropped. A missing `moto_server` is a test failure, never a skip.
//! - [`LatencyProxy`] (also [`FaultProxy`]): a loopback HTTP proxy between the tool and the
//!   emulator. It adds latency (fixed or jittered), since real AWS round trips take tens of
//!   milliseconds and the emulator answers at once; enforces per-operation quotas; and injects
//!   faults at given rates ([`Faults`]: throttling, HTTP 500/503, dropped connections), each
//!   in the service's own wire format, decided by a seeded generator and counted. Its
//!   [`Gate`] stops the call sequence at a chosen call, for tests that kill the client there.

pub mod faults;
mod gate;
mod moto;
mod proxy;
pub mod wire;

pub use faults::{Drops, Fault, Faults, Latency};
pub use gate::{CallFilter, Gate, GatePoint};
pub use moto::Moto;
pub use proxy::{
    Decision, FaultProxy, FaultReport, LatencyProxy, OperationStats, ProxyConfig, Quota,
};
