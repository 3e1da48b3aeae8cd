//! Proven under faults: the full dev stack, warehouse and Firehose-to-Redshift stream included
//! (`ecomflow_testkit::full_dev_stack`, as `tests/full_stack.rs` applies it), applied, planned
//! and destroyed through the fault proxy (10% throttling, 3% HTTP 500/503, 1% dropped
//! connections, half of those after the call reached the emulator), then checked directly
//! against the emulator.
//!
//! The seed is fixed (`SEED`); `ECOMFLOW_FAULT_SEED=<n>` replays another one. Every assertion
//! message carries the seed and what the proxy injected.

mod support;

use ecomflow_testkit::{FaultProxy, FaultReport};
use std::time::Instant;
use support::{duplicates, fault_mix, inventory, proxy_runtime, run, Moto, Run};

/// The seed of the fault decisions (overridden by `ECOMFLOW_FAULT_SEED`).
const SEED: u64 = 20_240_611;

/// The stack instance of the full dev stack without `--instance`.
const STACK: &str = "ecomflow-dev";

/// The full dev stack's file, written for the emulator into a directory of its own.
struct Stack {
    _dir: tempfile::TempDir,
    file: String,
}

impl Stack {
    fn new() -> Stack {
        let dir = tempfile::tempdir().unwrap();
        let file =
            ecomflow_testkit::full_dev_stack(env!("CARGO_MANIFEST_DIR").as_ref(), dir.path());
        let file = file.to_str().unwrap().to_string();
        Stack { _dir: dir, file }
    }

    /// Runs the tool through `ep` on this stack file.
    fn run(&self, ep: &str, args: &[&str]) -> Run {
        let mut all = args.to_vec();
        all.extend(["--stack", self.file.as_str()]);
        run(ep, &all)
    }
}

/// Apply runs at most this many times before it must have converged.
const APPLY_ATTEMPTS: usize = 3;

/// The lines of a run's stderr that say what failed (errors and warnings), for a report.
fn failures(r: &Run) -> String {
    r.stderr
        .lines()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            l.contains("error") || l.contains("fail") || l.contains("warn")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs `apply --yes` through `ep` until it exits 0, at most `APPLY_ATTEMPTS` times. Returns
/// the failed attempts' stderr (empty if the first run converged).
fn apply_until_converged(stack: &Stack, ep: &str, proxy: &FaultProxy) -> Vec<String> {
    let mut failed = Vec::new();
    for attempt in 1..=APPLY_ATTEMPTS {
        let r = stack.run(ep, &["apply", "--yes"]);
        if r.code == 0 {
            return failed;
        }
        eprintln!(
            "apply attempt {attempt} exited {} under faults ({}):\n{}",
            r.code,
            proxy.report(),
            failures(&r)
        );
        failed.push(r.stderr);
    }
    panic!(
        "apply did not converge in {APPLY_ATTEMPTS} runs ({}):\n{}",
        proxy.report(),
        failed.join("\n-----\n")
    );
}

fn context(report: &FaultReport) -> String {
    format!(
        "[{report}; replay with ECOMFLOW_FAULT_SEED={}]",
        report.seed
    )
}

/// Apply under faults converges to the fault-free end state: the plan through the proxy then
/// shows no changes (exit 0 with `--detailed-exitcode`), a no-change plan succeeds, and the
/// emulator holds exactly the resources a fault-free apply makes, each once.
#[test]
fn apply_converges_under_faults() {
    // The fault-free reference, on its own emulator.
    let stack = Stack::new();
    let started = Instant::now();
    let clean = Moto::start();
    stack.run(&clean.endpoint, &["apply", "--yes"]).expect(0);
    eprintln!("fault-free apply: {:.1?}", started.elapsed());
    let reference = inventory(&clean, STACK);
    drop(clean);
    assert!(reference.len() >= 10, "{reference:#?}");
    assert!(
        reference.iter().any(|r| r.starts_with("redshift_cluster ")),
        "the warehouse is part of the stack: {reference:#?}"
    );

    let moto = Moto::start();
    let rt = proxy_runtime();
    let proxy = rt.block_on(FaultProxy::with_faults(&moto.endpoint, fault_mix(SEED)));
    let ep = proxy.endpoint.clone();

    let started = Instant::now();
    let failed = apply_until_converged(&stack, &ep, &proxy);
    let after_apply = proxy.report();
    eprintln!(
        "apply converged in {:.1?} after {} failed run(s): {after_apply}",
        started.elapsed(),
        failed.len()
    );
    let started = Instant::now();

    let plan = stack.run(&ep, &["plan", "--detailed-exitcode"]);
    let ctx = context(&proxy.report());
    assert_eq!(
        plan.code, 0,
        "plan after apply under faults is not empty {ctx}\nstdout:\n{}\nstderr:\n{}",
        plan.stdout, plan.stderr
    );
    assert!(
        plan.stdout.starts_with("No changes."),
        "{ctx}\n{}",
        plan.stdout
    );

    let again = stack.run(&ep, &["plan"]);
    let ctx = context(&proxy.report());
    assert_eq!(
        again.code, 0,
        "no-change plan failed {ctx}\n{}",
        again.stderr
    );
    assert!(
        again.stdout.starts_with("No changes."),
        "{ctx}\n{}",
        again.stdout
    );

    eprintln!("two plans under faults: {:.1?}", started.elapsed());
    let live = inventory(&moto, STACK);
    let dups = duplicates(&live);
    assert!(dups.is_empty(), "duplicates {ctx}: {dups:#?}");
    assert_eq!(
        live, reference,
        "end state differs from a fault-free run {ctx}"
    );

    let report = proxy.report();
    eprintln!("fault proxy after apply and two plans: {report}");
    for (op, kinds) in &report.by_operation {
        eprintln!("  {op}: {kinds:?}");
    }
    assert!(
        report.count(ecomflow_testkit::Fault::Throttle) > 0 && report.faulted() > 10,
        "the mix injected too little to prove anything {ctx}"
    );
}

/// Destroy under faults converges: it exits 0 (rerun at most once more), its leak sweep finds
/// nothing, and the emulator holds nothing of the stack.
#[test]
fn destroy_converges_under_faults() {
    let stack = Stack::new();
    let moto = Moto::start();
    stack.run(&moto.endpoint, &["apply", "--yes"]).expect(0);
    assert!(!inventory(&moto, STACK).is_empty());

    let rt = proxy_runtime();
    let proxy = rt.block_on(FaultProxy::with_faults(&moto.endpoint, fault_mix(SEED)));
    let ep = proxy.endpoint.clone();
    let mut runs = Vec::new();
    let started = Instant::now();
    for _ in 0..2 {
        let r = stack.run(&ep, &["destroy", "--yes"]);
        let done = r.code == 0;
        if !done {
            eprintln!(
                "destroy exited {} under faults ({}):\n{}",
                r.code,
                proxy.report(),
                failures(&r)
            );
        }
        runs.push(r);
        if done {
            break;
        }
    }
    let ctx = context(&proxy.report());
    let last = runs.last().unwrap();
    assert_eq!(
        last.code,
        0,
        "destroy did not converge {ctx}\n{}",
        runs.iter()
            .map(|r| r.stderr.as_str())
            .collect::<Vec<_>>()
            .join("\n-----\n")
    );
    let swept = format!("Leak sweep: nothing tagged ecomflow:stack={STACK} remains.");
    assert!(
        last.stderr.contains(&swept) || last.stdout.contains("Nothing to destroy"),
        "{ctx}\n{}",
        last.stderr
    );
    let left = inventory(&moto, STACK);
    assert_eq!(left, Vec::<String>::new(), "left after destroy {ctx}");
    eprintln!(
        "destroy under faults: {:.1?}; fault proxy: {}",
        started.elapsed(),
        proxy.report()
    );
}
