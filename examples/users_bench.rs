//! Benchmark of `users sync` through a loopback proxy that enforces Cognito's default quotas
//! (answering `TooManyRequestsException` beyond them) and adds 50 ms per call.
//!
//! `cargo run --release --example users_bench` (starts the emulator through tests/testkit, and
//! runs the boto3 baseline with the emulator venv's python: scripts/ensure-emulator makes it).
//! Optional: `-- COLD NOOP BASELINE` user counts (default 2000 10000 300).

use ecomflow_infra::aws::{Aws, ConnectOptions};
use ecomflow_infra::users::{self, cognito, file, PruneMode};
use ecomflow_testkit::{LatencyProxy, Moto, Quota};
#[path = "common/figures.rs"]
mod figures;

use std::fmt::Write;
use std::time::{Duration, Instant};

const GROUPS: [&str; 5] = ["analysts", "producers", "finance", "support", "admins"];

fn users_file(n: usize, prefix: &str) -> file::UsersFile {
    let mut y = String::from("groups:\n");
    for g in GROUPS {
        let _ = writeln!(y, "  - name: {g}");
    }
    y.push_str("users:\n");
    for i in 0..n {
        let mut groups = vec![GROUPS[i % 5]];
        if i % 3 == 0 {
            groups.push(GROUPS[(i + 1) % 5]);
        }
        let _ = writeln!(
            y,
            "  - username: {prefix}{i:05}\n    email: {prefix}{i:05}@example.com\n    groups: [{}]",
            groups.join(", ")
        );
    }
    file::load_str("bench.yaml", &y, &[]).expect("generated users file is valid")
}

async fn connect(endpoint: &str) -> Aws {
    // As `users sync` connects: it paces itself to Cognito's quotas.
    let opts = ConnectOptions {
        endpoint_url: Some(endpoint.to_string()),
        ..ConnectOptions::default()
    };
    Aws::connect(&opts, "us-east-1").await.expect("connect")
}

/// Creates a pool named and tagged as `users sync` expects for instance `ecomflow-dev-<suffix>`.
async fn make_pool(aws: &Aws, suffix: &str) -> String {
    let instance = format!("ecomflow-dev-{suffix}");
    aws.cognito
        .create_user_pool()
        .pool_name(format!("{instance}-users"))
        .user_pool_tags("ecomflow:stack", &instance)
        .send()
        .await
        .expect("create pool")
        .user_pool
        .and_then(|p| p.id)
        .expect("pool id")
}

async fn sync(
    aws: &Aws,
    suffix: &str,
    f: &file::UsersFile,
    limits: cognito::Limits,
) -> (users::SyncReport, Duration) {
    let instance = format!("ecomflow-dev-{suffix}");
    let pool = cognito::find_pool(aws, &format!("{instance}-users"), &instance)
        .await
        .expect("pool");
    let limiters = cognito::Limiters::new(limits);
    let start = Instant::now();
    let plan = users::plan(aws, &pool, f, PruneMode::Off, &limiters, 32)
        .await
        .expect("plan");
    let settings = users::Settings {
        invite: false,
        limits: &limiters,
        concurrency: 32,
        quiet: true,
    };
    let report = users::apply(aws, &pool, &plan, &settings, None)
        .await
        .expect("apply");
    (report, start.elapsed())
}

#[tokio::main]
async fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let (cold_n, noop_n, base_n) = (
        args.first().copied().unwrap_or(2000),
        args.get(1).copied().unwrap_or(10_000),
        args.get(2).copied().unwrap_or(300),
    );
    std::env::set_var("AWS_ACCESS_KEY_ID", "bench");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "bench");
    std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    let moto = tokio::task::spawn_blocking(Moto::start).await.unwrap();
    let direct = connect(&moto.endpoint).await;
    let proxy = LatencyProxy::with_quotas(
        &moto.endpoint,
        Duration::from_millis(50),
        Quota::cognito_defaults(),
    )
    .await;
    let slow = connect(&proxy.endpoint).await;
    let defaults = cognito::Limits::default();
    println!("users sync through a proxy with Cognito's default quotas and 50 ms per call");
    let mut figures = figures::Figures::new("users_bench");

    // 1. Cold sync at the default limits.
    make_pool(&direct, "cold").await;
    let f = users_file(cold_n, "cold");
    proxy.reset_stats();
    let (report, took) = sync(&slow, "cold", &f, defaults).await;
    let stats = proxy.stats();
    let create = stats.get("AdminCreateUser").cloned().unwrap_or_default();
    let throttled: u64 = stats.values().map(|s| s.throttled).sum();
    println!(
        "cold sync of {cold_n} users: {:.1} s, {}",
        took.as_secs_f64(),
        report.summary()
    );
    println!(
        "  AdminCreateUser: {} calls at {:.1}/s = {:.0}% of the 50/s quota (target >= 90%)",
        create.forwarded,
        create.rate(),
        create.rate() / 50.0 * 100.0
    );
    println!(
        "  throttled answers (retried, never failures): {throttled}; failed users: {}",
        report.failed.len()
    );
    let share = create.rate() / 50.0 * 100.0;
    figures.figure(
        &format!("cold sync of {cold_n} users: AdminCreateUser share of the 50/s quota"),
        share,
        "%",
        Some((">= 90%", share >= 90.0)),
    );

    // 2. No-op resync of a large pool: load it directly, then count the calls of a resync.
    make_pool(&direct, "noop").await;
    let f = users_file(noop_n, "noop");
    let fast = cognito::Limits {
        create: 5000,
        update: 5000,
        list: 5000,
        read: 5000,
    };
    let (loaded, load_took) = sync(&direct, "noop", &f, fast).await;
    assert!(loaded.failed.is_empty(), "{:?}", loaded.failed.first());
    proxy.reset_stats();
    let (report, took) = sync(&slow, "noop", &f, defaults).await;
    println!(
        "no-op resync of {noop_n} users (loaded in {:.0} s): {} API calls in {:.1} s (target <= 200); {}",
        load_took.as_secs_f64(),
        proxy.calls(),
        took.as_secs_f64(),
        report.summary()
    );
    figures.figure(
        &format!("no-op resync of {noop_n} users: API calls"),
        proxy.calls() as f64,
        "calls",
        Some(("<= 200", proxy.calls() <= 200)),
    );

    // 3. The obvious alternative: a sequential boto3 loop, same proxy, same users.
    let base_pool = make_pool(&direct, "boto").await;
    for g in GROUPS {
        direct
            .cognito
            .create_group()
            .user_pool_id(&base_pool)
            .group_name(g)
            .send()
            .await
            .expect("group");
    }
    let f = users_file(base_n, "base");
    let json: Vec<serde_json::Value> = f
        .users
        .iter()
        .map(|u| serde_json::json!({"username": u.username, "email": u.email, "groups": u.groups}))
        .collect();
    let path = std::env::temp_dir().join(format!("users-bench-{}.json", std::process::id()));
    std::fs::write(&path, serde_json::to_vec(&json).unwrap()).unwrap();
    proxy.reset_stats();
    // The emulator venv's python has boto3.
    let out = std::process::Command::new(ecomflow_testkit::emulator_python())
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/bench/users_boto3.py"))
        .args([&proxy.endpoint, &base_pool, path.to_str().unwrap()])
        .output()
        .expect("run the emulator venv's python");
    let _ = std::fs::remove_file(&path);
    let base: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "boto3 baseline failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    make_pool(&direct, "ours").await;
    proxy.reset_stats();
    let (report, took) = sync(&slow, "ours", &f, defaults).await;
    let base_s = base["seconds"].as_f64().unwrap_or(f64::NAN);
    println!(
        "cold sync of {base_n} users: boto3 sequential loop {base_s:.1} s ({} failed) vs users sync {:.1} s ({} failed): {:.1}x",
        base["failed"],
        took.as_secs_f64(),
        report.failed.len(),
        base_s / took.as_secs_f64()
    );
    figures.ratio(
        &format!("cold sync of {base_n} users"),
        took.as_secs_f64(),
        "s",
        "bench/users_boto3.py (sequential boto3 loop, same proxy)",
        base_s,
        false,
        None,
    );
    figures.write();
}
