//! `ecomflow-infra local serve` end to end against the emulator (`emulator/`): the stack is
//! applied, a Cognito user signs in, and the served API authorizes, ingests, and (through the
//! stream poller and the packaged `process` bootstrap) fills the tables the GET routes read.
//! A restart with the same checkpoint does not process the stream again.

mod support;

use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};
use support::{run, user_in_groups, Moto, Server};

const INSTANCE: &str = "t-serve";
const USER: &str = "alice";
const PASSWORD: &str = "Corr3ct-Horse-Battery!";
/// Data rows posted (after the header).
const ROWS: usize = 20;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A confirmed user of the pool and an ID token from the stack's app client.
async fn id_token(moto: &Moto, pool: &str, client: &str) -> String {
    let idp = aws_sdk_cognitoidentityprovider::Client::new(&moto.sdk_config().await);
    // It posts rows and reads them back: both groups' routes.
    user_in_groups(
        &idp,
        pool,
        client,
        USER,
        PASSWORD,
        &["producers", "analysts"],
    )
    .await
}

/// The token with one character of its payload changed (signature kept).
fn tampered(token: &str) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
    let payload = &mut parts[1];
    let i = payload.len() / 2;
    let c = payload.as_bytes()[i];
    let swapped = if c == b'A' { 'B' } else { 'A' };
    payload.replace_range(i..=i, &swapped.to_string());
    parts.join(".")
}

/// The header and the first `ROWS` data rows of the sample.
fn csv_rows() -> String {
    // The sample is Latin-1 further down; its first rows are ASCII.
    let sample = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/lambdas/records/tests/fixtures/online_retail_sample.csv"
    ))
    .unwrap();
    let mut out = String::new();
    for line in sample.split(|b| *b == b'\n').take(ROWS + 1) {
        out.push_str(std::str::from_utf8(line).expect("ASCII rows"));
        out.push('\n');
    }
    out
}

/// Lines of invoice `no` in the invoices table.
async fn table_lines(moto: &Moto, table: &str, no: &str) -> usize {
    aws_sdk_dynamodb::Client::new(&moto.sdk_config().await)
        .query()
        .table_name(table)
        .key_condition_expression("InvoiceNo = :i")
        .expression_attribute_values(":i", aws_sdk_dynamodb::types::AttributeValue::S(no.into()))
        .send()
        .await
        .unwrap()
        .count() as usize
}

/// (objects, rows) of the Parquet Firehose delivered under `clean/`, read with pyarrow.
async fn delivered(moto: &Moto, bucket: &str) -> (usize, usize) {
    let lake = support::parquet::read(&moto.s3().await, bucket, "clean/", &[]).await;
    (lake.objects, lake.rows.len())
}

fn checkpoint_of(path: &Path) -> serde_json::Map<String, Value> {
    let text = std::fs::read_to_string(path).expect("the checkpoint file");
    serde_json::from_str(&text).expect("a JSON object")
}

/// An applied stack instance with a signed-in user.
struct Applied {
    token: String,
    table: String,
    bucket: String,
}

/// Applies the stack instance (with `extra` flags, e.g. `-s file`) and signs a user in.
fn apply(moto: &Moto, rt: &tokio::runtime::Runtime, instance: &str, extra: &[&str]) -> Applied {
    let with = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(&["--instance", instance]);
        all.extend_from_slice(extra);
        all.iter().map(|a| a.to_string()).collect::<Vec<_>>()
    };
    let args = with(&["apply", "--yes"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run(&moto.endpoint, &args).expect(0);
    let args = with(&["outputs", "--json"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let outputs: Value =
        serde_json::from_str(&run(&moto.endpoint, &args).expect(0).stdout).unwrap();
    let field = |k: &str| {
        outputs[k]
            .as_str()
            .unwrap_or_else(|| panic!("{k} in {outputs}"))
            .to_string()
    };
    let token = rt.block_on(id_token(
        moto,
        &field("user_pool_id"),
        &field("app_client_id"),
    ));
    Applied {
        token,
        table: field("invoices_table"),
        bucket: field("bucket"),
    }
}

#[test]
fn serves_the_api_and_feeds_the_tables_through_the_stream() {
    let moto = Moto::start();
    let ep = moto.endpoint.clone();
    let rt = rt();
    let Applied {
        token,
        table,
        bucket,
    } = apply(&moto, &rt, INSTANCE, &[]);
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("state/t-serve.checkpoint.json");
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let body = csv_rows();

    // First run: auth, ingest, stream -> tables, query.
    let server = Server::start(&ep, INSTANCE, &checkpoint, &[]);
    let base = server.base.clone();
    let accepted = rt.block_on(async {
        let post = |auth: Option<String>| {
            let mut r = http
                .post(format!("{base}/records"))
                .header("content-type", "text/csv")
                .body(body.clone());
            if let Some(a) = auth {
                r = r.header("authorization", a);
            }
            r.send()
        };
        for auth in [
            None,
            Some(tampered(&token)),
            Some(format!("Bearer {}", tampered(&token))),
        ] {
            let r = post(auth).await.unwrap();
            assert_eq!(r.status(), 401);
            let v: Value = r.json().await.unwrap();
            assert_eq!(v, serde_json::json!({"message": "Unauthorized"}));
        }
        let r = http.get(format!("{base}/nowhere")).send().await.unwrap();
        assert_eq!(r.status(), 404);
        let r = http
            .get(format!("{base}/records"))
            .header("authorization", &token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 405);

        let r = post(Some(format!("Bearer {token}"))).await.unwrap();
        assert_eq!(r.status(), 202);
        let summary: Value = r.json().await.unwrap();
        let accepted = summary["accepted"].as_u64().unwrap() as usize;
        let rejected = summary["rejected"].as_u64().unwrap() as usize;
        assert_eq!(accepted + rejected, ROWS, "{summary}");
        assert!(accepted >= 7, "{summary}");

        // Invoice 536365 is the sample's first 7 rows.
        let deadline = Instant::now() + Duration::from_secs(180);
        while table_lines(&moto, &table, "536365").await < 7 {
            assert!(
                Instant::now() < deadline,
                "the invoice never reached the table; stderr:\n{}",
                server.stderr()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let r = http
            .get(format!("{base}/invoices/536365"))
            .header("authorization", &token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let invoice: Value = r.json().await.unwrap();
        let lines = invoice["lines"].as_array().unwrap();
        assert_eq!(lines.len(), 7, "{invoice}");
        assert!(lines
            .iter()
            .any(|l| l["StockCode"] == "85123A" && l["UnitPrice"] == "2.55"));
        let r = http
            .get(format!("{base}/invoices/536365/items/85123A"))
            .header("authorization", format!("Bearer {token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let r = http
            .get(format!("{base}/invoices/536365"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        accepted
    });
    // Every accepted line reaches Firehose (then S3) exactly once: the refused posts never
    // reached `ingest`, and every batch was processed once.
    let deadline = Instant::now() + Duration::from_secs(180);
    let first = loop {
        let d = rt.block_on(delivered(&moto, &bucket));
        if d.1 >= accepted || Instant::now() > deadline {
            break d;
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    assert_eq!(first.1, accepted, "rows delivered to clean/");
    let (code, stdout, stderr) = server.stop();
    assert_eq!(code, Some(0), "stderr:\n{stderr}");
    assert_eq!(stdout, format!("listening on {base}\n"));
    assert!(stderr.contains("fetched"), "{stderr}");
    assert!(stderr.contains("batch processed"), "{stderr}");
    let saved = checkpoint_of(&checkpoint);
    assert!(!saved.is_empty(), "the checkpoint is empty");
    assert!(saved.keys().all(|k| k.starts_with("shardId-")), "{saved:?}");

    // Second run from the same checkpoint: every shard resumes after it, nothing is fetched
    // or processed again, the checkpoint stays as it was.
    let server = Server::start(&ep, INSTANCE, &checkpoint, &[]);
    let deadline = Instant::now() + Duration::from_secs(90);
    while server.stderr().matches("reading shard").count() < 4 {
        assert!(Instant::now() < deadline, "{}", server.stderr());
        std::thread::sleep(Duration::from_millis(100));
    }
    // Longer than the batching window (5 s): a re-read batch would have been processed.
    std::thread::sleep(Duration::from_secs(7));
    let (code, _, stderr) = server.stop();
    assert_eq!(code, Some(0), "stderr:\n{stderr}");
    for (shard, seq) in &saved {
        let resumed = format!(
            "reading shard shard=\"{shard}\" after=\"{}\"",
            seq.as_str().unwrap()
        );
        assert!(stderr.contains(&resumed), "no `{resumed}` in:\n{stderr}");
    }
    assert!(!stderr.contains("fetched"), "records read again:\n{stderr}");
    assert!(
        !stderr.contains("batch processed"),
        "records processed again:\n{stderr}"
    );
    assert_eq!(checkpoint_of(&checkpoint), saved);
    assert_eq!(rt.block_on(delivered(&moto, &bucket)), first);
}

/// The on-failure records under `aws/lambda/` in the bucket.
async fn failure_records(moto: &Moto, bucket: &str) -> Vec<Value> {
    let s3 = moto.s3().await;
    let listed = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix("aws/lambda/")
        .send()
        .await
        .unwrap();
    let mut out = Vec::new();
    for o in listed.contents() {
        let body = s3
            .get_object()
            .bucket(bucket)
            .key(o.key().unwrap())
            .send()
            .await
            .unwrap()
            .body
            .collect()
            .await
            .unwrap()
            .into_bytes();
        out.push(serde_json::from_slice(&body).unwrap());
    }
    out
}

#[test]
fn records_that_keep_failing_go_to_the_on_failure_destination_and_no_further() {
    const POISONED: &str = "t-poison";
    let moto = Moto::start();
    let ep = moto.endpoint.clone();
    let rt = rt();
    let dir = tempfile::tempdir().unwrap();
    // Failures go to the lake bucket; one retry; no batching wait.
    let stack = support::stack_file(dir.path(), "poison.yaml", |s| {
        format!(
            "{s}processing:\n  on_failure: s3\n  maximum_retries: 1\n  batching_window_seconds: 0\n"
        )
    });
    let stack = stack.to_str().unwrap();
    let Applied { token, bucket, .. } = apply(&moto, &rt, POISONED, &["-s", stack]);
    // Without its delivery stream, `process` fails every record (after its own retries).
    rt.block_on(async {
        aws_sdk_firehose::Client::new(&moto.sdk_config().await)
            .delete_delivery_stream()
            .delivery_stream_name(format!("ecomflow-dev-{POISONED}-clean"))
            .send()
            .await
            .unwrap();
    });
    let checkpoint = dir.path().join("poison.checkpoint.json");
    let server = Server::start(&ep, POISONED, &checkpoint, &["-s", stack]);
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let accepted = rt.block_on(async {
        let r = http
            .post(format!("{}/records", server.base))
            .header("authorization", &token)
            .header("content-type", "text/csv")
            .body(csv_rows())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
        let v: Value = r.json().await.unwrap();
        v["accepted"].as_u64().unwrap() as usize
    });
    // Every accepted record is described to the destination exactly once.
    let deadline = Instant::now() + Duration::from_secs(120);
    let records = loop {
        let records = rt.block_on(failure_records(&moto, &bucket));
        let described: u64 = records
            .iter()
            .map(|r| r["KinesisBatchInfo"]["batchSize"].as_u64().unwrap())
            .sum();
        if described as usize >= accepted {
            break records;
        }
        assert!(
            Instant::now() < deadline,
            "{described} of {accepted} records reached the destination; stderr:\n{}",
            server.stderr()
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    let mut failed: Vec<String> = records
        .iter()
        .flat_map(|r| {
            r["failedSequenceNumbers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    format!(
                        "{}/{}",
                        r["KinesisBatchInfo"]["shardId"],
                        s.as_str().unwrap()
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect();
    failed.sort();
    let total = failed.len();
    failed.dedup();
    assert_eq!((total, failed.len()), (accepted, accepted), "{records:#?}");
    for r in &records {
        assert_eq!(r["requestContext"]["condition"], "RetryAttemptsExhausted");
        assert_eq!(r["requestContext"]["approximateInvokeCount"], 2, "{r}");
        assert!(r["KinesisBatchInfo"]["streamArn"]
            .as_str()
            .unwrap()
            .ends_with(&format!(":stream/ecomflow-dev-{POISONED}-orders")));
    }
    // Bisection: a failing batch of several records was retried as its first half.
    let stderr = server.stderr();
    assert!(stderr.contains("batch failed; retrying"), "{stderr}");
    let (code, _, stderr) = server.stop();
    assert_eq!(code, Some(0), "stderr:\n{stderr}");
    assert!(
        stderr.contains("records sent to the on-failure destination"),
        "{stderr}"
    );
    // The checkpoint moved past every record described.
    let saved = checkpoint_of(&checkpoint);
    for r in &records {
        let info = &r["KinesisBatchInfo"];
        let shard = info["shardId"].as_str().unwrap();
        let end: u128 = info["endSequenceNumber"].as_str().unwrap().parse().unwrap();
        let at: u128 = saved[shard].as_str().unwrap().parse().unwrap();
        assert!(at >= end, "{shard}: checkpoint {at} before {end}");
    }
}
