//! Benchmark: streaming throughput of `stream --direct` over the whole dataset into the
//! emulator, against one `PutRecord` per row (how the original EcomFlow producer worked),
//! measured in the same run.
//!
//! `cargo run --release --example stream_bench [-- --baseline-rows N] [--shards 32]
//! [--concurrency 4] [--rows N] [--lake [--one-emulator]]` (starts the emulator through tests/testkit;
//! `--concurrency` is the batches in flight, as `stream --concurrency`; `--rows` streams only
//! the first N rows instead of the whole dataset). The baseline replays the first N rows (default 20,000) one call per row, before
//! the batched run, into an empty stream, so the emulator's per-record cost (it grows with
//! the records a shard holds) favours the baseline, not the batched producer.
//!
//! The stack is the local one with provisioned shards (32 by default) and
//! `processing.event_source_mapping: false`: the emulator
//! cannot run Lambda, and its mapping emulation invokes a stub for every record put (about
//! 2 ms each), which would measure the emulator rather than the producer.
//!
//! `--lake` runs `local serve` in this process during both measurements: its poller plays
//! the mapping, and its process function sends every record to DynamoDB and to Firehose,
//! which the emulator converts to Parquet under `clean/` as it delivers (the local stack
//! buffers 0 s). The Parquet objects delivered by the end of the run are counted, so that a
//! run in which nothing was converted shows.
//!
//! AWS runs Kinesis, DynamoDB and Firehose on separate fleets, so a busy pipeline does not slow
//! the producer's puts; one emulator process serves them all from one Python interpreter, which
//! goes to each thread with work in turn, and the pipeline's hundred requests in flight then
//! took nearly all of it from the producer's 4 (README, "Benchmarks"). So under `--lake` the
//! pipeline's other services are a second emulator process, with the same stack applied: a
//! proxy in front of it sends the pipeline's Kinesis calls to the producer's emulator.
//! `--one-emulator` serves the pipeline from the producer's emulator instead.

use ecomflow_infra::aws::ConnectOptions;
use ecomflow_infra::engine::progress::Progress;
use ecomflow_infra::engine::{Packages, Session};
use ecomflow_infra::stream::{replay, BatchReader, Sender};
use ecomflow_testkit::{LatencyProxy, ProxyConfig};
#[path = "common/mod.rs"]
mod common;
#[path = "common/figures.rs"]
mod figures;

use std::path::Path;
use std::time::Instant;

const DATASET: &str = "data/online_retail.csv.gz";

async fn session(endpoint: &str, file: &Path) -> Session {
    let config = ecomflow_infra::config::load_file(file, None).expect("the bench stack is valid");
    let connect = ConnectOptions {
        endpoint_url: Some(endpoint.to_string()),
        ..ConnectOptions::default()
    };
    let packages = Packages::Dir(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("target/lambda-packages/dev-x86_64"),
    );
    Session::open(
        config,
        &file.display().to_string(),
        None,
        &connect,
        &packages,
    )
    .await
    .expect("connect")
}

/// A session on the stack at `endpoint`, applied.
async fn applied(endpoint: &str, file: &Path) -> Session {
    let s = session(endpoint, file).await;
    let plan = s.plan(10).await.expect("plan");
    let run = s
        .execute(&plan, 10, None, &Progress::silent(), false)
        .await
        .expect("apply");
    assert!(run.succeeded(), "{run:?}");
    s
}

/// One `PutRecord` per row, sequentially: the clean line of every accepted row.
async fn baseline(
    s: &Session,
    rules: records::CleaningRules,
    stream: &str,
    rows: u64,
) -> (u64, f64) {
    use aws_sdk_kinesis::primitives::Blob;
    let dataset = Path::new(env!("CARGO_MANIFEST_DIR")).join(DATASET);
    let input = ecomflow_infra::datafile::open(&dataset).expect("open the dataset");
    let mut reader = BatchReader::new(input, rows as usize, 0, Some(rows)).expect("read");
    let batch = reader.next_batch().expect("read").expect("rows");
    let cleaner = records::Cleaner::new(rules);
    let started = Instant::now();
    let clean = cleaner.clean_csv(batch.body.as_bytes()).expect("clean");
    for line in &clean.accepted {
        s.aws
            .kinesis
            .put_record()
            .stream_name(stream)
            .partition_key(&line.invoice_no)
            .data(Blob::new(serde_json::to_vec(line).unwrap()))
            .send()
            .await
            .expect("PutRecord");
    }
    let secs = started.elapsed().as_secs_f64();
    (batch.rows as u64, batch.rows as f64 / secs)
}

/// The Parquet objects under the lake's `clean/` prefix.
async fn parquet_objects(s: &Session) -> usize {
    let bucket = s.blueprint.names.lake_bucket();
    let pages = s.aws.s3.list_objects_v2().bucket(&bucket).prefix("clean/");
    let pages: Result<Vec<_>, _> = pages.into_paginator().send().collect().await;
    let objects = pages.expect("list clean/");
    let objects = objects.iter().flat_map(|p| p.contents());
    objects
        .filter(|o| o.key().is_some_and(|k| k.ends_with(".parquet")))
        .count()
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let emulators = runtime.block_on(run());
    // `local serve` (under `--lake`) ends with the runtime, before the emulators it calls stop:
    // its calls in flight to a stopped emulator would fail, loudly through the proxy.
    drop(runtime);
    drop(emulators);
}

/// What must outlive `local serve`: the emulators, the proxy and `local serve`'s directory.
type Stopped = (
    ecomflow_testkit::Moto,
    Option<(Session, ecomflow_testkit::Moto, LatencyProxy)>,
    tempfile::TempDir,
);

async fn run() -> Stopped {
    let baseline_rows: u64 = common::arg("--baseline-rows", 20_000);
    let shards: u32 = common::arg("--shards", 32);
    let concurrency: usize = common::arg("--concurrency", 4);
    let moto = common::emulator_with_packages().await;

    let dir = tempfile::tempdir().unwrap();
    // 32 provisioned shards, as a bulk load of the whole dataset would be sized: the
    // emulator's cost per record grows with the records one shard holds.
    let file = common::stack_without_mapping(dir.path(), |local| {
        assert!(
            local.contains("  mode: on_demand\n"),
            "stacks/local.yaml changed its stream mode"
        );
        local.replace(
            "  mode: on_demand\n",
            &format!("  mode: provisioned\n  shards: {shards}\n"),
        )
    });
    let s = applied(&moto.endpoint, &file).await;
    let stream = s.blueprint.names.stream();
    let lake = std::env::args().any(|a| a == "--lake");
    let one_emulator = std::env::args().any(|a| a == "--one-emulator");
    // The pipeline's own emulator and the proxy that routes its Kinesis calls (kept alive for
    // the run), and the session that finds its Parquet.
    let mut sinks = None;
    if lake {
        let pipeline = if one_emulator {
            moto.endpoint.clone()
        } else {
            let other = common::emulator_with_packages().await;
            let routes = vec![("kinesis".to_string(), moto.endpoint.clone())];
            let config = ProxyConfig {
                routes,
                ..ProxyConfig::default()
            };
            let proxy = LatencyProxy::with_config(&other.endpoint, config).await;
            let endpoint = proxy.endpoint.clone();
            sinks = Some((applied(&other.endpoint, &file).await, other, proxy));
            endpoint
        };
        // local serve's default: an idle shard is polled once a second, as Lambda's mapping
        // does (https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html).
        common::local_serve(&pipeline, &file, dir.path(), "1s").await;
    }

    let env = ecomflow_infra::blueprint::declared_environment(&s.blueprint, "ingest").unwrap();
    let config = ingest::Config::from_lookup(|k| env.get(k).cloned()).unwrap();
    let (base_rows, base_rate) = baseline(&s, config.rules, &stream, baseline_rows).await;

    let sender = Sender::Direct {
        config,
        sink: ingest::AwsBackend::new(s.aws.kinesis.clone(), s.aws.s3.clone()),
    };
    let dataset = Path::new(env!("CARGO_MANIFEST_DIR")).join(DATASET);
    let limit = common::arg("--rows", 0u64);
    let limit = (limit > 0).then_some(limit);
    let reader = BatchReader::new(
        ecomflow_infra::datafile::open(&dataset).unwrap(),
        500,
        0,
        limit,
    )
    .unwrap();
    let streamed = match limit {
        Some(n) => format!("first {n} rows"),
        None => "whole dataset".to_string(),
    };
    let summary = replay(
        reader,
        &sender,
        None,
        concurrency,
        &indicatif::ProgressBar::hidden(),
    )
    .await
    .expect("replay");
    assert!(
        summary.resume_from_row.is_none() && summary.failed == 0,
        "{summary:?}"
    );

    let beside = if lake {
        let parquet = parquet_objects(sinks.as_ref().map_or(&s, |(s, _, _)| s)).await;
        assert!(
            parquet > 0,
            "--lake: no Parquet object was delivered during the run"
        );
        println!("local serve beside the producer: {parquet} Parquet objects delivered under clean/ by the end of the run");
        if one_emulator {
            ", local serve converting to Parquet, one emulator"
        } else {
            ", local serve converting to Parquet"
        }
    } else {
        ""
    };
    println!(
        "stream --direct into the emulator ({shards} shards, batches of 500, {concurrency} in flight{beside})"
    );
    println!(
        "  {streamed}: {} rows ({} accepted, {} rejected) in {:.1} s = {:.0} rows/s",
        summary.sent, summary.accepted, summary.rejected, summary.seconds, summary.rows_per_second
    );
    println!(
        "  baseline, one PutRecord per row (first {base_rows} rows, same run): {base_rate:.0} rows/s"
    );
    println!(
        "  batched vs one call per row: {:.1}x (target >= 50x)",
        summary.rows_per_second / base_rate
    );
    let mut figures = figures::Figures::new(if lake {
        "stream_bench_lake"
    } else {
        "stream_bench"
    });
    figures.ratio(
        &format!("stream --direct, {streamed}, {shards} shards{beside}"),
        summary.rows_per_second,
        "rows/s",
        &format!("one PutRecord per row (first {base_rows} rows, same run)"),
        base_rate,
        true,
        Some(50.0),
    );
    figures.write();
    (moto, sinks, dir)
}
