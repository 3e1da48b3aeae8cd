//! Benchmark: the fault matrix. The full local stack is applied, planned again and destroyed
//! through the fault proxy under each fault profile (none, throttling only, 5xx only, dropped
//! connections only, and the mix the reliability tests use), each on a fresh emulator.
//!
//! `cargo run --example fault_matrix [-- --seed N]` (starts its emulators through tests/testkit). For every
//! profile it prints and records: how many apply runs it took to converge (a run that fails
//! is rerun, as a user would), the time against the fault-free run of the same session, the
//! calls made and the faults injected, the changes a following plan still finds (0 expected)
//! and what the leak sweep finds after destroy (0 expected).

use ecomflow_infra::aws::ConnectOptions;
use ecomflow_infra::config;
use ecomflow_infra::engine::progress::Progress;
use ecomflow_infra::engine::{Packages, Session};
use ecomflow_testkit::{Fault, FaultProxy, Faults};

#[path = "common/mod.rs"]
mod common;
#[path = "common/figures.rs"]
mod figures;
use std::time::Instant;

/// Runs of apply (or destroy) allowed before a profile counts as not converged.
const RUNS: usize = 3;

/// What one profile did.
struct Outcome {
    apply_runs: usize,
    apply_seconds: f64,
    destroy_runs: usize,
    leftover_changes: usize,
    leaked: usize,
    calls: u64,
    injected: String,
}

async fn session(endpoint: &str) -> Session {
    let file = "stacks/local.yaml";
    let config = config::load_file(std::path::Path::new(file), Some("matrix"))
        .expect("stacks/local.yaml is valid");
    let connect = ConnectOptions {
        endpoint_url: Some(endpoint.to_string()),
        ..ConnectOptions::default()
    };
    let packages = Packages::Dir("target/lambda-packages/dev-x86_64".into());
    Session::open(config, file, Some("matrix".into()), &connect, &packages)
        .await
        .expect("connect")
}

/// Applies (or destroys) until a run succeeds; returns the runs it took, or `RUNS + 1`.
async fn converge(s: &Session, destroy: bool) -> usize {
    for run in 1..=RUNS {
        let plan = if destroy {
            s.destroy_plan(10).await.map(|t| t.plan)
        } else {
            s.plan(10).await
        };
        let Ok(plan) = plan else { continue };
        match s.execute(&plan, 10, None, &Progress::silent(), false).await {
            Ok(report) if report.succeeded() => return run,
            _ => {}
        }
    }
    RUNS + 1
}

async fn profile(faults: Faults) -> Outcome {
    let moto = tokio::task::spawn_blocking(ecomflow_testkit::Moto::start)
        .await
        .unwrap();
    let proxy = FaultProxy::with_faults(&moto.endpoint, faults).await;
    let s = session(&proxy.endpoint).await;
    let start = Instant::now();
    let apply_runs = converge(&s, false).await;
    let apply_seconds = start.elapsed().as_secs_f64();
    let leftover_changes = match s.plan(10).await {
        Ok(p) => p.actionable().count(),
        Err(_) => usize::MAX,
    };
    let destroy_runs = converge(&s, true).await;
    // The sweep reads the emulator directly: faults must not hide a leak.
    let direct = session(&moto.endpoint).await;
    let leaked = direct.sweep().await.map(|l| l.len()).unwrap_or(usize::MAX);
    let report = proxy.report();
    let injected = Fault::ALL[2..]
        .iter()
        .map(|f| format!("{} {}", report.count(*f), f.name()))
        .collect::<Vec<_>>()
        .join(", ");
    Outcome {
        apply_runs,
        apply_seconds,
        destroy_runs,
        leftover_changes,
        leaked,
        calls: report.calls,
        injected,
    }
}

#[tokio::main]
async fn main() {
    let _packages = common::emulator_with_packages().await;
    let seed: u64 = common::arg("--seed", 20_240_611);
    let with = |throttle, server_error, drop| Faults {
        throttle,
        server_error,
        drop,
        seed: Some(seed),
        ..Faults::default()
    };
    let profiles = [
        ("no faults", with(0.0, 0.0, 0.0)),
        ("10% throttles", with(0.10, 0.0, 0.0)),
        ("3% 5xx", with(0.0, 0.03, 0.0)),
        ("1% dropped connections", with(0.0, 0.0, 0.01)),
        ("10% throttles + 3% 5xx + 1% drops", with(0.10, 0.03, 0.01)),
    ];
    let mut figures = figures::Figures::new("fault_matrix");
    let mut baseline = None;
    println!("fault matrix: full local stack, apply -> plan -> destroy per profile, seed {seed}");
    for (name, faults) in profiles {
        let o = profile(faults).await;
        let converged = o.apply_runs <= RUNS
            && o.destroy_runs <= RUNS
            && o.leftover_changes == 0
            && o.leaked == 0;
        println!(
            "  {name:<36} apply {} run(s) {:>6.1} s, plan after: {} change(s), destroy {} run(s), leaked {}; {} calls ({}) => {}",
            o.apply_runs,
            o.apply_seconds,
            o.leftover_changes,
            o.destroy_runs,
            o.leaked,
            o.calls,
            o.injected,
            if converged { "converged" } else { "DID NOT CONVERGE" }
        );
        figures.figure(
            &format!("{name}: converged (apply, no-change plan, destroy, empty sweep)"),
            f64::from(u8::from(converged)),
            "bool",
            Some(("converged", converged)),
        );
        figures.figure(
            &format!("{name}: apply runs needed"),
            o.apply_runs as f64,
            "runs",
            None,
        );
        match baseline {
            None => {
                baseline = Some(o.apply_seconds);
                figures.figure("no faults: full-stack apply", o.apply_seconds, "s", None);
            }
            Some(base) => figures.ratio(
                &format!("{name}: full-stack apply"),
                o.apply_seconds,
                "s",
                "fault-free apply (same run)",
                base,
                false,
                None,
            ),
        }
    }
    figures.write();
}
