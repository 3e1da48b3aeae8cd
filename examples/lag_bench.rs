//! Benchmark: end-to-end lag under `local serve`, from `POST /records` to the item in
//! DynamoDB, at a steady rate (1,000 rows/s by default, in batches of 100) through the API with a
//! real Cognito token, against the emulator. Batches are sent on schedule (open loop), up to
//! 16 outstanding.
//!
//! `cargo run --release --example lag_bench [-- --seconds 30] [--rate 1000]` (starts the
//! emulator through tests/testkit).
//! Every 50th row is timed from its batch's scheduled send time (so time spent waiting for
//! one of the 16 send slots counts as lag): its item key is polled with `BatchGetItem` every
//! 100 ms (the polling shares the emulator with the pipeline, so it is kept light). A timed
//! row not seen within 120 s of the end of sending counts as an infinite lag in the
//! percentiles, and is reported as a count. Prints p50, p90, p99 and max, the average send
//! rate (until the end of the last batch's slot on the schedule, not its answer) and the min
//! and median of the per-second send rates (whole seconds of the run). The lag includes
//! the mapping's batching window as the stack configures it (`processing.*` in
//! `stacks/local.yaml`; the variant here only turns the emulator's own mapping off, as in
//! `stream_bench`).
//!
//! The same timed rows are also timed into the warehouse: Firehose (Parquet under `clean/`,
//! no buffering in `local.yaml`) and the cluster's COPY job (auto-copy), polled through the
//! Data API every 500 ms; reported as the lag POST -> warehouse row.

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use ecomflow_infra::aws::ConnectOptions;
use ecomflow_infra::engine::progress::Progress;
use ecomflow_infra::engine::{Packages, Session};
use ecomflow_infra::stream::BatchReader;
#[path = "common/mod.rs"]
mod common;
#[path = "common/figures.rs"]
mod figures;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The dataset, relative to the workspace root (`CARGO_MANIFEST_DIR`), so any cwd works.
const DATASET: &str = "data/online_retail.csv.gz";
const BATCH: usize = 100;
const EVERY: usize = 50;
/// Requests outstanding at most.
const IN_FLIGHT: usize = 16;

/// The `p` quantile of sorted values (nearest rank).
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// Rows sent in each whole second of the run, from (send time, rows) of each batch.
fn per_second(sends: &[(Duration, usize)], run: Duration) -> Vec<f64> {
    let mut windows = vec![0.0; run.as_secs() as usize];
    for (at, rows) in sends {
        if let Some(w) = windows.get_mut(at.as_secs() as usize) {
            *w += *rows as f64;
        }
    }
    windows
}

/// Milliseconds, or "inf".
fn ms(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.0} ms")
    } else {
        "inf".into()
    }
}

#[tokio::main]
async fn main() {
    let seconds: u64 = common::arg("--seconds", 30);
    let rate: u64 = common::arg("--rate", 1000);
    let moto = common::emulator_with_packages().await;

    // The local stack without the emulator's own mapping (see stream_bench).
    let dir = tempfile::tempdir().unwrap();
    let file = common::stack_without_mapping(dir.path(), |local| local);
    let config = ecomflow_infra::config::load_file(&file, None).unwrap();
    let processing = config.processing.clone();
    let connect = ConnectOptions {
        endpoint_url: Some(moto.endpoint.clone()),
        ..ConnectOptions::default()
    };
    let packages = Packages::Dir(PathBuf::from("target/lambda-packages/dev-x86_64"));
    let s = Session::open(
        config,
        &file.display().to_string(),
        None,
        &connect,
        &packages,
    )
    .await
    .unwrap();
    let plan = s.plan(10).await.unwrap();
    assert!(s
        .execute(&plan, 10, None, &Progress::silent(), false)
        .await
        .unwrap()
        .succeeded());
    let out = ecomflow_infra::outputs::read(&s).await.unwrap();
    let pool = out.user_pool_id.unwrap();
    let client_id = out.app_client_id.unwrap();
    let table = out.invoices_table.unwrap();
    let warehouse = s
        .blueprint
        .resources
        .iter()
        .find(|r| r.kind == ecomflow_infra::model::Kind::RedshiftCluster)
        .map(|r| {
            (
                r.physical.clone(),
                r.spec["database"].as_str().unwrap().to_string(),
            )
        })
        .expect("the stack declares the warehouse");

    // A producer with a permanent password, and its ID token.
    let conf = moto.sdk_config().await;
    let idp = aws_sdk_cognitoidentityprovider::Client::new(&conf);
    let (user, password) = ("bench-producer", "Bench-producer-Passw0rd!");
    idp.admin_create_user()
        .user_pool_id(&pool)
        .username(user)
        .send()
        .await
        .unwrap();
    idp.admin_set_user_password()
        .user_pool_id(&pool)
        .username(user)
        .password(password)
        .permanent(true)
        .send()
        .await
        .unwrap();
    // Only members of `producers` may POST /records.
    idp.admin_add_user_to_group()
        .user_pool_id(&pool)
        .username(user)
        .group_name("producers")
        .send()
        .await
        .unwrap();
    let token = idp
        .initiate_auth()
        .client_id(&client_id)
        .auth_flow(aws_sdk_cognitoidentityprovider::types::AuthFlowType::UserPasswordAuth)
        .auth_parameters("USERNAME", user)
        .auth_parameters("PASSWORD", password)
        .send()
        .await
        .unwrap()
        .authentication_result
        .unwrap()
        .id_token
        .unwrap();

    // local serve, in this process, polling an idle shard every 100 ms: the lag measured is
    // the pipeline's, not the poll interval's.
    let api = common::local_serve(&moto.endpoint, &file, dir.path(), "100ms").await;
    let http = reqwest::Client::new();

    // The producer: BATCH rows every 100 ms; every EVERY-th accepted row is timed.
    let ddb = aws_sdk_dynamodb::Client::new(&conf);
    let rows = (seconds * rate) as usize;
    let input =
        ecomflow_infra::datafile::open(&Path::new(env!("CARGO_MANIFEST_DIR")).join(DATASET))
            .unwrap();
    let mut reader = BatchReader::new(input, BATCH, 0, Some(rows as u64)).unwrap();
    let cleaner = records::Cleaner::new(records::CleaningRules::default());
    let pending: std::sync::Arc<tokio::sync::Mutex<HashMap<(String, String), Instant>>> =
        Default::default();
    let lags: std::sync::Arc<tokio::sync::Mutex<Vec<Duration>>> = Default::default();
    // The same rows, by (invoice, stock code), until seen in the warehouse.
    let pending_wh: std::sync::Arc<tokio::sync::Mutex<HashMap<(String, String), Instant>>> =
        Default::default();
    let lags_wh: std::sync::Arc<tokio::sync::Mutex<Vec<Duration>>> = Default::default();
    let warehouse_watcher = {
        let (pending, lags, aws) = (pending_wh.clone(), lags_wh.clone(), s.aws.clone());
        let (cluster, database) = warehouse.clone();
        tokio::spawn(async move {
            loop {
                let invoices: std::collections::BTreeSet<String> =
                    pending.lock().await.keys().map(|k| k.0.clone()).collect();
                if !invoices.is_empty() {
                    let list: Vec<String> = invoices.iter().map(|i| format!("'{i}'")).collect();
                    let sql = format!(
                        "SELECT DISTINCT invoice_no, stock_code FROM invoice_lines WHERE invoice_no IN ({})",
                        list.join(",")
                    );
                    let found = ecomflow_infra::aws::redshift_query(
                        &aws,
                        &cluster,
                        &database,
                        &sql,
                        Duration::from_secs(60),
                    )
                    .await
                    .unwrap();
                    let now = Instant::now();
                    let mut p = pending.lock().await;
                    for row in found.rows {
                        let key = (
                            row[0].clone().unwrap_or_default(),
                            row[1].clone().unwrap_or_default(),
                        );
                        if let Some(t0) = p.remove(&key) {
                            lags.lock().await.push(now - t0);
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        })
    };
    let watcher = {
        let (pending, lags, ddb, table) =
            (pending.clone(), lags.clone(), ddb.clone(), table.clone());
        tokio::spawn(async move {
            loop {
                let keys: Vec<(String, String)> = pending.lock().await.keys().cloned().collect();
                for chunk in keys.chunks(100) {
                    let mut ka = KeysAndAttributes::builder();
                    for (inv, line) in chunk {
                        ka = ka.keys(HashMap::from([
                            ("InvoiceNo".to_string(), AttributeValue::S(inv.clone())),
                            ("LineKey".to_string(), AttributeValue::S(line.clone())),
                        ]));
                    }
                    let got = ddb
                        .batch_get_item()
                        .request_items(
                            &table,
                            ka.projection_expression("InvoiceNo, LineKey")
                                .build()
                                .unwrap(),
                        )
                        .send()
                        .await
                        .unwrap();
                    let now = Instant::now();
                    let mut p = pending.lock().await;
                    for item in got
                        .responses()
                        .and_then(|r| r.get(&table))
                        .into_iter()
                        .flatten()
                    {
                        let key = (
                            item["InvoiceNo"].as_s().unwrap().clone(),
                            item["LineKey"].as_s().unwrap().clone(),
                        );
                        if let Some(t0) = p.remove(&key) {
                            lags.lock().await.push(now - t0);
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    // Open loop: each batch is POSTed when it is due, whether or not earlier ones have been
    // answered (a client waiting for each answer would slow down with the pipeline and hide
    // its lag). At most IN_FLIGHT requests are outstanding; beyond that the producer falls
    // behind, and the rate it reports shows it.
    let in_flight = std::sync::Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    let mut posts = tokio::task::JoinSet::new();
    let started = Instant::now();
    let mut sent = 0usize;
    let mut n = 0usize;
    let mut sends: Vec<(Duration, usize)> = Vec::new();
    while let Some(batch) = reader.next_batch().unwrap() {
        let due = started + Duration::from_secs_f64(sent as f64 / rate as f64);
        tokio::time::sleep_until(due.into()).await;
        let permit = in_flight.clone().acquire_owned().await.unwrap();
        sends.push((started.elapsed(), batch.rows));
        let clean = cleaner.clean_csv(batch.body.as_bytes()).unwrap();
        // Open loop: the clock starts when the batch was due, not when it got a slot.
        let t0 = due;
        {
            let mut p = pending.lock().await;
            let mut w = pending_wh.lock().await;
            for line in &clean.accepted {
                n += 1;
                if n % EVERY == 0 {
                    p.insert((line.invoice_no.clone(), process::line_key(line)), t0);
                    w.entry((line.invoice_no.clone(), line.stock_code.clone()))
                        .or_insert(t0);
                }
            }
        }
        let post = http
            .post(format!("{api}/records"))
            .header("authorization", &token)
            .header("content-type", "text/csv")
            .body(batch.body.clone());
        posts.spawn(async move {
            let resp = post.send().await.unwrap();
            let status = resp.status();
            assert_eq!(status, 202, "{}", resp.text().await.unwrap_or_default());
            drop(permit);
        });
        sent += batch.rows;
    }
    while let Some(done) = posts.join_next().await {
        done.expect("a POST failed");
    }
    let producing = started.elapsed();
    let drain = Instant::now() + Duration::from_secs(120);
    while !pending.lock().await.is_empty() && Instant::now() < drain {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    watcher.abort();
    while !pending_wh.lock().await.is_empty() && Instant::now() < drain {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    warehouse_watcher.abort();
    let left_wh = pending_wh.lock().await.len();
    let mut lags_wh: Vec<f64> = lags_wh
        .lock()
        .await
        .iter()
        .map(|d| d.as_secs_f64() * 1e3)
        .chain(std::iter::repeat_n(f64::INFINITY, left_wh))
        .collect();
    lags_wh.sort_by(f64::total_cmp);
    let left = pending.lock().await.len();
    // Rows never seen count as infinitely late.
    let mut lags: Vec<f64> = lags
        .lock()
        .await
        .iter()
        .map(|d| d.as_secs_f64() * 1e3)
        .chain(std::iter::repeat_n(f64::INFINITY, left))
        .collect();
    lags.sort_by(f64::total_cmp);
    // The send rate counts each batch's slot (its rows at the asked rate) from the start to
    // the end of the last batch's slot: a send delayed past its schedule lowers it; the wait
    // for the last answers (reported apart) does not.
    let sending = sends
        .last()
        .map(|(at, rows)| *at + Duration::from_secs_f64(*rows as f64 / rate as f64))
        .unwrap_or(producing);
    let sent_rate = sent as f64 / sending.as_secs_f64();
    let mut windows = per_second(&sends, sending);
    windows.sort_by(f64::total_cmp);
    let (min_rate, median_rate) = if windows.is_empty() {
        (sent_rate, sent_rate)
    } else {
        (windows[0], percentile(&windows, 0.5))
    };
    println!(
        "end-to-end lag, POST /records -> item in DynamoDB, under local serve ({} batch size, {} s batching window)",
        processing.batch_size, processing.batching_window_seconds
    );
    println!(
        "  sent {sent} rows in {:.1} s = {sent_rate:.0} rows/s (asked {rate}; the last answer came at {:.1} s); per second: min {min_rate:.0}, median {median_rate:.0} rows/s over {} whole seconds",
        sending.as_secs_f64(),
        producing.as_secs_f64(),
        windows.len()
    );
    println!(
        "  {} rows timed (from their scheduled send time), {left} not seen within 120 s (counted as infinite lag)",
        lags.len()
    );
    let steady = |r: f64| r >= 0.99 * rate as f64;
    let mut figures = figures::Figures::new("lag_bench");
    let asked = format!("{rate} rows/s");
    for (name, value) in [
        ("average", sent_rate),
        ("slowest second", min_rate),
        ("median second", median_rate),
    ] {
        figures.figure(
            &format!("rows/s sent, {name} (asked {rate})"),
            value,
            "rows/s",
            Some((&asked, steady(value))),
        );
    }
    figures.figure(
        "timed rows not in DynamoDB within 120 s",
        left as f64,
        "rows",
        Some(("0", left == 0)),
    );
    if !lags.is_empty() {
        println!(
            "  lag p50 {}, p90 {}, p99 {}, max {}",
            ms(percentile(&lags, 0.5)),
            ms(percentile(&lags, 0.9)),
            ms(percentile(&lags, 0.99)),
            ms(percentile(&lags, 1.0))
        );
        // An infinite lag is written as null (JSON has no infinity).
        for (name, q) in [("p50", 0.5), ("p99", 0.99)] {
            figures.figure(
                &format!("lag POST -> DynamoDB item, {name}"),
                percentile(&lags, q),
                "ms",
                None,
            );
        }
    }
    figures.figure(
        "timed rows not in the warehouse within 120 s",
        left_wh as f64,
        "rows",
        Some(("0", left_wh == 0)),
    );
    if !lags_wh.is_empty() {
        println!(
            "  lag into the warehouse (Firehose Parquet, then the COPY job): p50 {}, p90 {}, p99 {}, max {} ({} rows timed, {left_wh} not seen)",
            ms(percentile(&lags_wh, 0.5)),
            ms(percentile(&lags_wh, 0.9)),
            ms(percentile(&lags_wh, 0.99)),
            ms(percentile(&lags_wh, 1.0)),
            lags_wh.len()
        );
        for (name, q) in [("p50", 0.5), ("p99", 0.99)] {
            figures.figure(
                &format!("lag POST -> warehouse row, {name}"),
                percentile(&lags_wh, q),
                "ms",
                None,
            );
        }
    }
    figures.write();
}
