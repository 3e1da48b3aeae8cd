//! Test support shared by the workspace's integration tests and benchmarks.
//!
//! - [`Moto`]: the local AWS emulator (`emulator/`: `moto_server` plus what AWS does that moto
//!   does not), started by `scripts/emulator` as a child process on a free loopback port,
//!   killed by its PID when dropped. A missing emulator is a test failure, never a skip.
//!   [`emulator_python`] is the emulator venv's python (it has boto3 too).
//! - [`full_dev_stack`]: `stacks/dev.yaml` as the emulator can take it whole.
//! - [`LatencyProxy`] (also [`FaultProxy`]): a loopback HTTP proxy between the tool and the
//!   emulator. It adds latency (fixed or jittered), since real AWS round trips take tens of
//!   milliseconds and the emulator answers at once; enforces per-operation quotas; and injects
//!   faults at given rates ([`Faults`]: throttling, HTTP 500/503, connections dropped or cut
//!   mid-answer), each
//!   in the service's own wire format, decided by a seeded generator and counted. Its
//!   [`Gate`] stops the call sequence at a chosen call, for tests that kill the client there.

pub mod faults;
mod gate;
mod moto;
mod proxy;
pub mod wire;

pub use faults::{Drops, Fault, Faults, Latency};
pub use gate::{CallFilter, Gate, GatePoint};
pub use moto::{emulator_python, Moto};
pub use proxy::{
    Decision, FaultProxy, FaultReport, LatencyProxy, OperationStats, ProxyConfig, Quota,
};

/// Writes `stacks/dev.yaml` of the repository at `repo` into `dir` as `dev-full.yaml`, with
/// the warehouse named (`enabled: true`, its default, so a test can switch it off by
/// replacing that block) and one change for the emulator's sake: the
/// lake's TLS-only bucket policy off, because the emulator is reached over plain HTTP, so
/// that deny statement would (rightly) refuse every object request. Returns its path.
pub fn full_dev_stack(repo: &std::path::Path, dir: &std::path::Path) -> std::path::PathBuf {
    let dev = std::fs::read_to_string(repo.join("stacks/dev.yaml")).expect("stacks/dev.yaml");
    assert!(
        !dev.contains("deny_insecure_transport") && !dev.contains("warehouse:"),
        "stacks/dev.yaml changed: revisit full_dev_stack's edits"
    );
    let edited = dev.replacen(
        "bucket:\n",
        "bucket:\n  deny_insecure_transport: false\n",
        1,
    ) + "warehouse:\n  enabled: true\n";
    let path = dir.join("dev-full.yaml");
    std::fs::write(&path, edited).expect("write the stack file");
    path
}
