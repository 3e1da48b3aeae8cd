//! Benchmark: plan the full dev stack (`stacks/dev.yaml` with the warehouse and the Firehose
//! stream into it; see `ecomflow_testkit::full_dev_stack`) against the emulator through a
//! loopback proxy that adds 50 ms to every call, concurrently and with concurrency 1, in the
//! same run; then cold applies of it at both settings (the emulator's cluster is available at
//! once, so they include no Redshift wait). The applies upload the Lambda packages that
//! `ecomflow-infra build` makes (the `lambda` profile, built first if needed);
//! `--dev-packages` uploads the quick debug builds instead.
//!
//! `cargo run --release --example plan_bench` (needs `moto[server]`). Prints wall time, read
//! calls per declared resource, the mutating calls of a no-change apply, and the
//! concurrent-vs-sequential ratios.

use ecomflow_infra::aws::ConnectOptions;
use ecomflow_infra::config;
use ecomflow_infra::engine::progress::Progress;
use ecomflow_infra::engine::Session;
use ecomflow_testkit::LatencyProxy;

#[path = "common/mod.rs"]
mod common;
#[path = "common/figures.rs"]
mod figures;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const LATENCY: Duration = Duration::from_millis(50);
const ROUNDS: usize = 3;

/// The full dev stack file, written once into a temporary directory that lives as long as
/// the benchmark.
fn stack_file() -> &'static Path {
    static FILE: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &FILE
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let file =
                ecomflow_testkit::full_dev_stack(env!("CARGO_MANIFEST_DIR").as_ref(), dir.path());
            (dir, file)
        })
        .1
}

/// Where the Lambda packages are (`<function>/bootstrap.zip`), set once at start.
static PACKAGES: OnceLock<PathBuf> = OnceLock::new();

async fn session(endpoint: &str, suffix: &str) -> Session {
    let file = stack_file().to_str().unwrap();
    let config = config::load_file(Path::new(file), Some(suffix)).expect("the dev stack is valid");
    let connect = ConnectOptions {
        endpoint_url: Some(endpoint.to_string()),
        ..ConnectOptions::default()
    };
    let packages =
        ecomflow_infra::engine::Packages::Dir(PACKAGES.get().expect("packages built").clone());
    Session::open(config, file, Some(suffix.into()), &connect, &packages)
        .await
        .expect("connect")
}

/// Median wall time and calls of `ROUNDS` plans at `parallelism`.
async fn time_plans(s: &Session, parallelism: usize) -> (Duration, u64) {
    let mut times = Vec::new();
    let mut reads = 0;
    for _ in 0..ROUNDS {
        s.aws.stats.reset();
        let start = Instant::now();
        let plan = s.plan(parallelism).await.expect("plan");
        times.push(start.elapsed());
        assert!(plan.is_empty(), "the stack was applied before timing");
        let counts = s.aws.stats.snapshot();
        reads = counts.reads;
        if std::env::var_os("PLAN_BENCH_OPERATIONS").is_some() {
            eprintln!(
                "read calls of one plan, by operation: {:#?}",
                counts.by_operation
            );
        }
    }
    times.sort();
    (times[ROUNDS / 2], reads)
}

#[tokio::main]
async fn main() {
    // The packages an apply uploads are those `ecomflow-infra build` makes (the `lambda`
    // profile); `--dev-packages` uses the quick debug builds, about three times larger.
    let profile = if std::env::args().any(|a| a == "--dev-packages") {
        "dev"
    } else {
        "lambda"
    };
    let (moto, dir, package_bytes) = common::emulator_with_profile_packages(profile).await;
    PACKAGES.set(dir).unwrap();

    // Stand the stack up directly against the emulator.
    let direct = session(&moto.endpoint, "bench").await;
    let plan = direct.plan(10).await.expect("first plan");
    let run = direct
        .execute(&plan, 10, None, &Progress::silent(), false)
        .await
        .expect("apply");
    assert!(run.succeeded(), "{run:?}");
    let resources = direct.blueprint.resources.len();

    // A no-change apply: plan, nothing to execute.
    direct.aws.stats.reset();
    let noop = direct.plan(10).await.expect("plan");
    let run = direct
        .execute(&noop, 10, None, &Progress::silent(), false)
        .await
        .expect("no-op apply");
    assert!(run.steps.is_empty());
    let noop_mutations = direct.aws.stats.snapshot().mutations;

    let proxy = LatencyProxy::start(&moto.endpoint, LATENCY).await;
    let slow = session(&proxy.endpoint, "bench").await;
    let (concurrent, reads) = time_plans(&slow, 10).await;
    let (sequential, _) = time_plans(&slow, 1).await;

    println!(
        "plan of the full dev stack ({resources} declared resources), {} ms added per call",
        LATENCY.as_millis()
    );
    println!(
        "  read calls per plan:              {reads} ({:.2} per resource; target <= 3)",
        reads as f64 / resources as f64
    );
    println!("  mutating calls, no-change apply:  {noop_mutations} (target 0)");
    println!(
        "  plan, parallelism 10 (median of {ROUNDS}): {:>7.0} ms",
        concurrent.as_secs_f64() * 1e3
    );
    println!(
        "  plan, parallelism 1  (median of {ROUNDS}): {:>7.0} ms",
        sequential.as_secs_f64() * 1e3
    );
    println!(
        "  concurrent vs sequential:         {:.1}x faster (target >= 3x)",
        sequential.as_secs_f64() / concurrent.as_secs_f64()
    );
    println!("  calls through the proxy:          {}", proxy.calls());
    // Cold apply of the whole stack through the proxy: concurrent vs one step at a time.
    let mut cold = Vec::new();
    for (suffix, parallelism) in [("bench-par", 10), ("bench-seq", 1)] {
        let s = session(&proxy.endpoint, suffix).await;
        let plan = s.plan(parallelism).await.expect("plan");
        s.aws.stats.reset();
        let start = Instant::now();
        let run = s
            .execute(&plan, parallelism, None, &Progress::silent(), false)
            .await
            .expect("apply");
        assert!(run.succeeded(), "{run:?}");
        let mut slowest: Vec<_> = run.steps.iter().collect();
        slowest.sort_by(|a, b| b.seconds.total_cmp(&a.seconds));
        println!(
            "  slowest steps at parallelism {parallelism}: {}",
            slowest
                .iter()
                .take(6)
                .map(|s| format!("{} {:.0} ms", s.address, s.seconds * 1e3))
                .collect::<Vec<_>>()
                .join(", ")
        );
        cold.push((
            start.elapsed(),
            s.aws.stats.snapshot().mutations,
            plan.changes.len(),
        ));
        let teardown = s.destroy_plan(10).await.expect("destroy plan").plan;
        s.execute(&teardown, 10, None, &Progress::silent(), false)
            .await
            .expect("destroy");
    }
    println!(
        "cold apply of the whole stack ({} resources, {} mutating calls, {profile}-profile Lambda packages of {:.1} MB in all), parallelism 10: {:>7.0} ms",
        cold[0].2,
        cold[0].1,
        package_bytes as f64 / 1e6,
        cold[0].0.as_secs_f64() * 1e3
    );
    println!(
        "cold apply, parallelism 1:                                  {:>7.0} ms",
        cold[1].0.as_secs_f64() * 1e3
    );
    println!(
        "  concurrent vs sequential:         {:.1}x faster (target >= 3x)",
        cold[1].0.as_secs_f64() / cold[0].0.as_secs_f64()
    );
    let mut figures = figures::Figures::new("plan_bench");
    let plan_ms = concurrent.as_secs_f64() * 1e3;
    figures.figure(
        &format!("plan of the full dev stack ({resources} resources), 50 ms per call"),
        plan_ms,
        "ms",
        Some(("< 2000 ms", plan_ms < 2000.0)),
    );
    let per_resource = reads as f64 / resources as f64;
    figures.figure(
        "read calls per declared resource in a plan",
        per_resource,
        "calls",
        Some(("<= 3", per_resource <= 3.0)),
    );
    figures.figure(
        "mutating calls in a no-change apply",
        noop_mutations as f64,
        "calls",
        Some(("0", noop_mutations == 0)),
    );
    figures.ratio(
        "plan, parallelism 10",
        plan_ms,
        "ms",
        "the same plan at parallelism 1",
        sequential.as_secs_f64() * 1e3,
        false,
        Some(3.0),
    );
    figures.ratio(
        &format!(
            "cold apply of the full dev stack ({} resources, {profile}-profile packages), parallelism 10",
            cold[0].2
        ),
        cold[0].0.as_secs_f64() * 1e3,
        "ms",
        "the same cold apply at parallelism 1",
        cold[1].0.as_secs_f64() * 1e3,
        false,
        Some(3.0),
    );
    figures.write();
    let teardown = direct.destroy_plan(10).await.expect("destroy plan").plan;
    direct
        .execute(&teardown, 10, None, &Progress::silent(), false)
        .await
        .expect("destroy");
}
