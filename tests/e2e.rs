//! Data flowing end to end on the emulator: apply the dev stack, sign a Cognito user in,
//! start `local serve` (the packaged bootstraps under their roles, IAM evaluated), stream
//! 3,000 real rows through the API with the user's token, and
//! check that nothing is lost: every row becomes an item in DynamoDB and a row of the Parquet
//! Firehose delivered to the lake, or a reject with its reason under `rejects/` (`ingest`'s under
//! `rejects/ingest/`, each row the API answered as rejected; `process`'s under
//! `rejects/dt=.../`); sent = delivered items + both kinds of rejects. Every invoice of the
//! slice read back through `GET /invoices/{invoiceNo}` equals its source rows, and every
//! customer's `GET /customers/{customerId}/invoices` (all pages) equals the summaries the
//! source rows imply; no token gets 401. The Parquet is read back with pyarrow, a reader of
//! its own: its rows are the accepted lines, its types the Glue table's, its values the
//! source rows' (prices exact, the pound sign intact). The analytics notebook runs headless
//! against the stack through Athena, and its figures equal `data check`'s and pyarrow's.
//! The warehouse's COPY job loads every Parquet object once: the warehouse holds exactly the
//! lake's lines. A queue of the test's own, subscribed to the alerts topic, receives one
//! storage-update digest, and the digest's counts (sent and pending) are the rows stored.

mod support;

use records::Decimal;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, Read, Write};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};
use support::{command, run, Moto};

/// Rows of the slice taken from the top of the dataset; the slice adds every later row with
/// a pound sign (none of these has one; of those, one is a product the rules keep), so the
/// test sees `£` survive every hop.
const ROWS: usize = 3000;
const USER: &str = "e2e-producer";
const PASSWORD: &str = "E2e-producer-Passw0rd!";

/// Stops `local serve` even when an assertion fails.
struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A queue subscribed to the alerts topic, with the queue policy AWS needs before SNS may send
/// to it (<https://docs.aws.amazon.com/sns/latest/dg/subscribe-sqs-queue-to-sns-topic.html>).
async fn subscribe_queue(conf: &aws_config::SdkConfig, topic_arn: &str) -> String {
    let sqs = aws_sdk_sqs::Client::new(conf);
    let url = sqs
        .create_queue()
        .queue_name("e2e-storage-updates")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
        }],
    });
    sqs.set_queue_attributes()
        .queue_url(&url)
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::Policy,
            policy.to_string(),
        )
        .send()
        .await
        .unwrap();
    aws_sdk_sns::Client::new(conf)
        .subscribe()
        .topic_arn(topic_arn)
        .protocol("sqs")
        .endpoint(&arn)
        .send()
        .await
        .unwrap();
    url
}

/// The storage updates in the queue: each SNS envelope's message, parsed.
async fn storage_updates(conf: &aws_config::SdkConfig, url: &str) -> Vec<Value> {
    let sqs = aws_sdk_sqs::Client::new(conf);
    let mut out = Vec::new();
    loop {
        let got = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        if got.messages().is_empty() {
            return out;
        }
        for m in got.messages() {
            let envelope: Value = serde_json::from_str(m.body().unwrap()).unwrap();
            let message: Value =
                serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
            if message["event"] == "ecomflow.storage_update" {
                out.push(message);
            }
            sqs.delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
}

/// The digest's counts not yet sent: (rows, rejected, batches).
async fn pending_digest(conf: &aws_config::SdkConfig, table: &str) -> (u64, u64, u64) {
    let item = aws_sdk_dynamodb::Client::new(conf)
        .get_item()
        .table_name(table)
        .key(
            "Digest",
            aws_sdk_dynamodb::types::AttributeValue::S(process::digest::ITEM.into()),
        )
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .unwrap_or_default();
    let n = |k: &str| {
        item.get(k)
            .and_then(|v| v.as_n().ok())
            .map_or(0, |v| v.parse().unwrap())
    };
    (n("Rows"), n("Rejected"), n("Batches"))
}

/// The first `ROWS` rows of the real dataset (Latin-1, as published), every later row with a
/// `£` (0xA3 in Latin-1) in it, and one hostile row whose Description is longer than the
/// warehouse column holds; its path and row count.
fn slice(dir: &std::path::Path) -> (std::path::PathBuf, usize) {
    let gz = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/online_retail.csv.gz");
    let mut reader = std::io::BufReader::new(flate2::read::MultiGzDecoder::new(
        std::fs::File::open(&gz).expect("the dataset"),
    ));
    let path = dir.join("slice.csv");
    let mut out = std::fs::File::create(&path).unwrap();
    let mut line = Vec::new();
    for _ in 0..=ROWS {
        line.clear();
        reader.read_until(b'\n', &mut line).unwrap();
        out.write_all(&line).unwrap();
    }
    let mut pounds = 0;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).unwrap() == 0 {
            break;
        }
        if line.contains(&0xA3) {
            out.write_all(&line).unwrap();
            pounds += 1;
        }
    }
    assert!(pounds > 0, "the dataset has rows with a pound sign");
    writeln!(
        out,
        "999999,85123A,{},1,12/9/2011 12:50,1.00,17850,United Kingdom",
        "x".repeat(513)
    )
    .unwrap();
    (path, ROWS + pounds + 1)
}

fn json_lines(text: &[u8]) -> Vec<Value> {
    serde_json::Deserializer::from_slice(text)
        .into_iter::<Value>()
        .map(|v| v.expect("JSON records"))
        .collect()
}

/// The identity of a clean line: every typed field. Prices compare as numbers (`2.55` and
/// the Parquet's `decimal(10,3)` `2.550` are one price), exactly.
fn line_id(v: &Value) -> String {
    // An absent attribute (a DynamoDB item without CustomerID) reads as null.
    let f = |k: &str| match v.get(k) {
        Some(Value::String(p)) if k == "UnitPrice" => {
            let price: Decimal = p.parse().expect("an exact decimal price");
            price.normalize().to_string()
        }
        Some(x) => x.to_string(),
        None => Value::Null.to_string(),
    };
    records::COLUMNS.map(f).join("|")
}

/// Every line of the warehouse table, the date as the lake's JSON writes it.
const WAREHOUSE_LINES: &str = "SELECT invoice_no, stock_code, description, quantity, \
     TO_CHAR(invoice_date, 'YYYY-MM-DD HH24:MI:SS') AS invoice_date, unit_price, customer_id, \
     country FROM invoice_lines";

/// A row of [`WAREHOUSE_LINES`] under the clean line's JSON keys, for [`line_id`].
fn warehouse_line(row: &Value) -> Value {
    let columns = [
        "invoice_no",
        "stock_code",
        "description",
        "quantity",
        "invoice_date",
        "unit_price",
        "customer_id",
        "country",
    ];
    Value::Object(
        records::COLUMNS
            .iter()
            .zip(columns)
            .map(|(key, column)| (key.to_string(), row[column].clone()))
            .collect(),
    )
}

/// Set equality with a readable failure: counts and the first few differences.
fn same(what: &str, got: &BTreeSet<String>, want: &BTreeSet<String>) {
    if got != want {
        let extra: Vec<_> = got.difference(want).take(3).collect();
        let missing: Vec<_> = want.difference(got).take(3).collect();
        panic!(
            "{what}: {} found, {} expected\n  unexpected: {extra:#?}\n  missing: {missing:#?}",
            got.len(),
            want.len()
        );
    }
}

/// The bodies of every object under `prefix` (every page), `.gz` ones decompressed.
async fn objects(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Vec<Vec<u8>> {
    let mut out = vec![];
    let mut pages = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for o in page.unwrap().contents() {
            let key = o.key().unwrap();
            let got = s3
                .get_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .unwrap();
            let body = got.body.collect().await.unwrap().into_bytes().to_vec();
            if key.ends_with(".gz") {
                let mut text = Vec::new();
                flate2::read::GzDecoder::new(&body[..])
                    .read_to_end(&mut text)
                    .unwrap_or_else(|e| panic!("{key}: {e}"));
                out.push(text);
            } else {
                out.push(body);
            }
        }
    }
    out
}

/// The JSON lines of every object under `prefix`.
async fn records_under(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Vec<Value> {
    objects(s3, bucket, prefix)
        .await
        .iter()
        .flat_map(|o| json_lines(o))
        .collect()
}

/// The Arrow type pyarrow reads a Hive column type as, in a Parquet file Firehose wrote
/// (timestamps are INT96, which pyarrow reads at nanoseconds).
fn arrow_type(hive: &str) -> String {
    match hive {
        "string" => "string".into(),
        "bigint" => "int64".into(),
        "int" => "int32".into(),
        "boolean" => "bool".into(),
        "double" => "double".into(),
        "timestamp" => "timestamp[ns]".into(),
        d if d.starts_with("decimal(") => {
            format!(
                "decimal128({})",
                &d["decimal(".len()..d.len() - 1].replace(',', ", ")
            )
        }
        other => panic!("no Arrow type known for the Glue type {other}"),
    }
}

/// Runs `examples/analytics.ipynb` headless (`scripts/notebook`, its own pinned venv) against
/// the stack whose `outputs` are given; the figures it printed.
fn run_notebook(endpoint: &str, dir: &std::path::Path, outputs: &Value) -> Value {
    let outputs_file = dir.join("outputs.json");
    std::fs::write(&outputs_file, outputs.to_string()).unwrap();
    let figures = dir.join("figures.json");
    let mut cmd = std::process::Command::new(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/notebook"),
    );
    support::with_tool_env(&mut cmd, endpoint);
    let out = cmd
        .args(["examples/analytics.ipynb", "--out"])
        .arg(dir.join("analytics.out.ipynb"))
        .arg("--figures")
        .arg(&figures)
        .env("ECOMFLOW_OUTPUTS", &outputs_file)
        .env("AWS_REGION", "us-east-1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the notebook failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&std::fs::read(&figures).unwrap()).unwrap()
}

/// (reason, raw input) of each rejection, counted.
fn reject_counts<'a>(
    rejects: impl IntoIterator<Item = &'a Value>,
) -> BTreeMap<(String, String), u64> {
    let mut out = BTreeMap::new();
    for r in rejects {
        let key = (
            r["reason"].as_str().unwrap_or_default().to_string(),
            r["input"].as_str().unwrap_or_default().to_string(),
        );
        *out.entry(key).or_insert(0) += 1;
    }
    out
}

/// A GET through the API with the user's token, answered 200; its JSON body.
async fn get_json(http: &reqwest::Client, url: &str, token: &str) -> Value {
    let resp = http
        .get(url)
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "GET {url}");
    resp.json().await.unwrap()
}

/// The customer summaries (`GET /customers/{id}/invoices`) the clean lines imply: per
/// (customer, invoice), the exact total, line count, first date, country, cancellation.
fn expected_summaries(lines: &[Value]) -> BTreeMap<u64, BTreeMap<String, Value>> {
    let mut distinct: BTreeMap<(u64, String), BTreeMap<String, &Value>> = BTreeMap::new();
    for l in lines {
        if let Some(c) = l["CustomerID"].as_u64() {
            let inv = l["InvoiceNo"].as_str().unwrap().to_string();
            distinct.entry((c, inv)).or_default().insert(line_id(l), l);
        }
    }
    let mut out: BTreeMap<u64, BTreeMap<String, Value>> = BTreeMap::new();
    for ((customer, invoice), lines) in distinct {
        let dec = |v: &Value| -> Decimal {
            match v {
                Value::String(s) => s.parse().unwrap(),
                other => other.to_string().parse().unwrap(),
            }
        };
        let total: Decimal = lines
            .values()
            .map(|l| dec(&l["Quantity"]) * dec(&l["UnitPrice"]))
            .sum();
        let date = lines
            .values()
            .map(|l| l["InvoiceDate"].as_str().unwrap())
            .min()
            .unwrap();
        let country = lines.values().next().unwrap()["Country"].clone();
        out.entry(customer).or_default().insert(
            invoice.clone(),
            serde_json::json!({
                "CustomerID": customer,
                "InvoiceNo": invoice,
                "InvoiceTotal": total.normalize().to_string(),
                "LineCount": lines.len(),
                "InvoiceDate": date,
                "Country": country,
                "IsCancellation": invoice.starts_with('C'),
            }),
        );
    }
    out
}

async fn scan_all(ddb: &aws_sdk_dynamodb::Client, table: &str) -> Vec<Value> {
    let mut items = vec![];
    let mut pages = ddb.scan().table_name(table).into_paginator().send();
    while let Some(page) = pages.next().await {
        for item in page.unwrap().items() {
            items.push(query::item_json(item));
        }
    }
    items
}

#[tokio::test(flavor = "multi_thread")]
async fn rows_flow_from_the_api_to_dynamodb_and_s3_and_nothing_is_lost() {
    let moto = Moto::start();
    let ep = moto.endpoint.clone();
    let dir = tempfile::tempdir().unwrap();
    // The local stack, with two settings for a loaded test machine: the emulator can take
    // longer than the declared 30 s for one batch, and records given up on are written to S3
    // (under aws/lambda/) where this test can see them, instead of the alerts topic.
    let stack = support::stack_file(dir.path(), "e2e.yaml", |s| {
        format!("{s}\nfunctions:\n  timeout_seconds: 900\nprocessing:\n  on_failure: s3\n")
    });
    let stack = stack.to_str().unwrap();
    run(&ep, &["apply", "--yes", "-s", stack]).expect(0);
    let (csv, rows) = slice(dir.path());
    let outputs: Value = serde_json::from_str(
        &run(&ep, &["outputs", "--json", "-s", stack])
            .expect(0)
            .stdout,
    )
    .unwrap();
    let pool = outputs["user_pool_id"].as_str().unwrap();
    let client_id = outputs["app_client_id"].as_str().unwrap();

    // A producer with a permanent password.
    let conf = moto.sdk_config().await;
    let updates_queue = subscribe_queue(&conf, outputs["alerts_topic_arn"].as_str().unwrap()).await;
    let idp = aws_sdk_cognitoidentityprovider::Client::new(&conf);
    idp.admin_create_user()
        .user_pool_id(pool)
        .username(USER)
        .message_action(aws_sdk_cognitoidentityprovider::types::MessageActionType::Suppress)
        .send()
        .await
        .unwrap();
    idp.admin_set_user_password()
        .user_pool_id(pool)
        .username(USER)
        .password(PASSWORD)
        .permanent(true)
        .send()
        .await
        .unwrap();
    // It posts rows and reads them back: both groups' routes.
    for group in ["producers", "analysts"] {
        idp.admin_add_user_to_group()
            .user_pool_id(pool)
            .username(USER)
            .group_name(group)
            .send()
            .await
            .unwrap();
    }

    // local serve on a free port.
    let checkpoint = dir.path().join("checkpoint.json");
    let mut child = command(
        &ep,
        &[
            "local",
            "serve",
            "-s",
            stack,
            "--port",
            "0",
            "--checkpoint",
            checkpoint.to_str().unwrap(),
            "--poll-interval",
            "200ms",
        ],
    )
    .stdout(Stdio::piped())
    .stderr(std::fs::File::create(dir.path().join("serve.log")).unwrap())
    .spawn()
    .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let _serve = Serve(child);
    // The functions run as deployed: each packaged bootstrap under its execution role (so
    // the emulator evaluates every call they make against the role's policies).
    let started: Vec<String> = std::fs::read_to_string(dir.path().join("serve.log"))
        .unwrap()
        .lines()
        .filter(|l| l.contains("bootstrap started under its execution role"))
        .map(str::to_string)
        .collect();
    assert_eq!(started.len(), 3, "{started:#?}");
    for line in &started {
        println!("{line}");
    }
    let api = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_string();

    // No token: 401, and the handler never runs.
    let http = reqwest::Client::new();
    let anon = http
        .get(format!("{api}/invoices/536365"))
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), 401);
    let anon_post = http
        .post(format!("{api}/records"))
        .body(std::fs::read(&csv).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(anon_post.status(), 401);

    // Stream the slice through the API as the user.
    let streamed = command(
        &ep,
        &[
            "stream",
            "-s",
            stack,
            "--csv",
            csv.to_str().unwrap(),
            "--batch",
            "250",
            "--api-url",
            &api,
            "--username",
            USER,
            "--output",
            "json",
        ],
    )
    .env("ECOMFLOW_PASSWORD", PASSWORD)
    .output()
    .unwrap();
    let stdout = String::from_utf8_lossy(&streamed.stdout);
    assert!(
        streamed.status.success(),
        "stream failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&streamed.stderr)
    );
    let summary: Value = serde_json::from_str(&stdout).unwrap();
    let accepted = summary["accepted"].as_u64().unwrap();
    let rejected = summary["rejected"].as_u64().unwrap();
    assert_eq!(summary["sent"], rows as u64);
    assert_eq!(
        accepted + rejected,
        rows as u64,
        "ingest answered for every row: {summary}"
    );

    // The reference: the same rows cleaned by `data check`.
    let expected_path = dir.path().join("accepted.jsonl");
    let expected_rejects_path = dir.path().join("rejected.jsonl");
    let report: Value = serde_json::from_str(
        &run(
            &ep,
            &[
                "data",
                "check",
                csv.to_str().unwrap(),
                "--json",
                "--accepted",
                expected_path.to_str().unwrap(),
                "--rejected",
                expected_rejects_path.to_str().unwrap(),
            ],
        )
        .expect(0)
        .stdout,
    )
    .unwrap();
    let expected_rejects = json_lines(&std::fs::read(&expected_rejects_path).unwrap());
    let expected = json_lines(&std::fs::read(&expected_path).unwrap());
    let expected_ids: BTreeSet<String> = expected.iter().map(line_id).collect();

    // Wait for the poller: every accepted row delivered to Firehose or rejected by process.
    let s3 = moto.s3().await;
    let bucket = outputs["bucket"].as_str().unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut keys = records::COLUMNS.to_vec();
    keys.push("IsCancellation");
    let (lake, process_rejects, given_up) = loop {
        let lake = support::parquet::read(&s3, bucket, "clean/", &keys).await;
        // process's rejects: rejects/dt=YYYY-MM-DD/ (ingest's are under rejects/ingest/).
        let rejects = records_under(&s3, bucket, "rejects/dt=").await;
        let given_up = records_under(&s3, bucket, "aws/lambda/").await;
        let given_up_rows: u64 = given_up
            .iter()
            .map(|f| f["KinesisBatchInfo"]["batchSize"].as_u64().unwrap_or(0))
            .sum();
        if (lake.rows.len() + rejects.len()) as u64 + given_up_rows >= accepted
            || Instant::now() > deadline
        {
            break (lake, rejects, given_up);
        }
        tokio::time::sleep(Duration::from_millis(1000)).await;
    };
    let delivered = &lake.rows;
    let log = std::fs::read_to_string(dir.path().join("serve.log")).unwrap_or_default();
    let tail: String = log.lines().rev().take(20).collect::<Vec<_>>().join("\n");
    assert!(
        given_up.is_empty(),
        "records were given up on: {given_up:#?}\nlocal serve log, last lines reversed:\n{tail}"
    );
    assert_eq!(
        (delivered.len() + process_rejects.len()) as u64,
        accepted,
        "every row ingest accepted is delivered to S3 or rejected under rejects/ (in = out)\n\
         local serve log, last lines reversed:\n{tail}"
    );
    for r in &process_rejects {
        assert!(
            r["reason"].as_str().is_some_and(|s| !s.is_empty()),
            "reject without a reason: {r}"
        );
    }

    // Every row the API answered as rejected is under rejects/ingest/, with its reason: as
    // many per reason as the answers said, each with its detail and its raw CSV row. Those
    // rows are the reference's rejects (`data check` over the whole slice) for every reason
    // but `duplicate`; ingest drops only duplicates inside one request, so its duplicates
    // are some of the reference's (the others are process's or the same line twice).
    let ingest_rejects = records_under(&s3, bucket, "rejects/ingest/").await;
    let mut stored_by_reason: BTreeMap<String, u64> = BTreeMap::new();
    for r in &ingest_rejects {
        assert!(
            r["detail"].as_str().is_some_and(|d| !d.is_empty()) && r["index"].is_u64(),
            "ingest reject without a detail or row number: {r}"
        );
        *stored_by_reason
            .entry(r["reason"].as_str().unwrap_or_default().to_string())
            .or_insert(0) += 1;
    }
    let answered_by_reason: BTreeMap<String, u64> =
        serde_json::from_value(summary["rejected_by_reason"].clone()).unwrap();
    assert_eq!(
        stored_by_reason, answered_by_reason,
        "rejects/ingest/ holds every row the API answered as rejected, with its reason"
    );
    assert_eq!(ingest_rejects.len() as u64, rejected);
    assert_eq!(
        answered_by_reason.get("too_long"),
        Some(&1),
        "the hostile row, too long for the warehouse, is refused at the API with its reason"
    );
    let is_dup = |r: &&Value| r["reason"] == "duplicate";
    assert_eq!(
        reject_counts(ingest_rejects.iter().filter(|r| !is_dup(r))),
        reject_counts(expected_rejects.iter().filter(|r| !is_dup(r))),
        "ingest's rejects are the source rows the cleaning rules refuse"
    );
    let reference_dups = reject_counts(expected_rejects.iter().filter(is_dup));
    for (row, n) in reject_counts(ingest_rejects.iter().filter(is_dup)) {
        assert!(
            reference_dups.get(&row).is_some_and(|m| *m >= n),
            "ingest rejected {n} copies of a row the reference does not reject as a duplicate: {row:?}"
        );
    }

    let delivered_ids: BTreeSet<String> = delivered.iter().map(line_id).collect();
    same(
        "the lake's Parquet holds exactly the clean lines",
        &delivered_ids,
        &expected_ids,
    );
    assert!(
        delivered
            .iter()
            .any(|l| l["Description"].as_str().is_some_and(|d| d.contains('£'))),
        "the pound sign survives into the Parquet"
    );
    // The analyst's notebook, run headless against this stack through Athena: what it
    // reports of the slice is what `data check` computed for it, and what pyarrow reads.
    let figures = run_notebook(&ep, dir.path(), &outputs);
    for key in [
        "distinct_invoices",
        "distinct_customers",
        "distinct_stock_codes",
        "distinct_countries",
        "first_invoice_date",
        "last_invoice_date",
    ] {
        assert_eq!(
            figures[key], report[key],
            "the notebook's {key} against data check"
        );
    }
    assert_eq!(
        figures["rows"],
        delivered.len(),
        "the notebook's rows against pyarrow"
    );
    let revenue: Decimal = delivered
        .iter()
        .map(|l| {
            let price: Decimal = l["UnitPrice"].as_str().unwrap().parse().unwrap();
            price * Decimal::from(l["Quantity"].as_i64().unwrap())
        })
        .sum();
    let reported: Decimal = figures["total_revenue"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        reported, revenue,
        "the notebook's revenue against pyarrow, exactly"
    );
    // The warehouse: its COPY job loads each Parquet object Firehose delivered, once, so it
    // ends up holding exactly the lake's lines, read here through the Data API.
    let deadline = Instant::now() + Duration::from_secs(120);
    let in_warehouse = loop {
        let out = run(
            &ep,
            &["warehouse", "query", "--output", "json", WAREHOUSE_LINES],
        )
        .expect(0);
        let rows: Value = serde_json::from_str(&out.stdout).unwrap();
        let ids: Vec<String> = rows["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| line_id(&warehouse_line(r)))
            .collect();
        if ids.len() >= delivered.len() || Instant::now() > deadline {
            break ids;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(
        in_warehouse.len(),
        delivered.len(),
        "as many warehouse rows as Parquet rows: no object loaded twice or left out"
    );
    same(
        "the warehouse holds exactly the lake's lines",
        &in_warehouse.into_iter().collect(),
        &delivered_ids,
    );
    // Every object has the Glue table's columns, in Arrow's types for them.
    let glue = aws_sdk_glue::Client::new(&conf);
    let table = glue
        .get_table()
        .database_name(outputs["athena_database"].as_str().unwrap())
        .name(outputs["athena_table"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let want: Vec<(String, String)> = table
        .storage_descriptor()
        .unwrap()
        .columns()
        .iter()
        .map(|c| (c.name().to_string(), arrow_type(c.r#type().unwrap())))
        .collect();
    assert!(lake.objects > 0);
    for schema in &lake.schemas {
        assert_eq!(
            schema, &want,
            "a Parquet object's schema against the Glue table"
        );
    }

    // Storage updates: one digest for the whole slice, as the stack's digest interval (60
    // minutes) has not passed since the first batch's; it and the counts still pending add up
    // to what `process` stored.
    let updates_table = format!("{}-updates", outputs["stack"].as_str().unwrap());
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut updates = Vec::new();
    let pending = loop {
        let pending = pending_digest(&conf, &updates_table).await;
        updates.extend(storage_updates(&conf, &updates_queue).await);
        let sent = |k: &str| updates.iter().map(|m| m[k].as_u64().unwrap()).sum::<u64>();
        let (rows, rejects) = (pending.0 + sent("rows"), pending.1 + sent("rejected"));
        if (rows, rejects) == (delivered.len() as u64, process_rejects.len() as u64)
            || Instant::now() > deadline
        {
            break pending;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(updates.len(), 1, "one storage update: {updates:#?}");
    assert!(
        pending.2 > 0,
        "the slice's later batches wait for the interval: {pending:?}"
    );
    let update = &updates[0];
    assert_eq!(update["source"], "stream", "{update}");
    assert_eq!(update["stack"], outputs["stack"], "{update}");
    assert_eq!(
        (
            update["rows"].as_u64().unwrap() + pending.0,
            update["rejected"].as_u64().unwrap() + pending.1
        ),
        (delivered.len() as u64, process_rejects.len() as u64),
        "the digest sent ({update}) and pending ({pending:?}) count every row stored"
    );
    println!("storage update: {update}; pending: {pending:?} (rows, rejected, batches)");

    // DynamoDB: one item per distinct clean line, equal to it.
    let ddb = aws_sdk_dynamodb::Client::new(&conf);
    let items = scan_all(&ddb, outputs["invoices_table"].as_str().unwrap()).await;
    let item_ids: BTreeSet<String> = items.iter().map(line_id).collect();
    assert_eq!(items.len(), item_ids.len(), "no duplicate items");
    same(
        "DynamoDB holds exactly the clean lines",
        &item_ids,
        &expected_ids,
    );
    // In = out over both reject sources: every row sent is a delivered record of an item,
    // or a reject of ingest or of process.
    let delivered_items = delivered
        .iter()
        .filter(|l| item_ids.contains(&line_id(l)))
        .count();
    assert_eq!(
        rows,
        delivered_items + ingest_rejects.len() + process_rejects.len(),
        "sent = items delivered to S3 ({delivered_items}) + ingest's rejects ({}) + process's \
         rejects ({})",
        ingest_rejects.len(),
        process_rejects.len()
    );

    // GET answers equal the source rows.
    let token = idp
        .initiate_auth()
        .client_id(client_id)
        .auth_flow(aws_sdk_cognitoidentityprovider::types::AuthFlowType::UserPasswordAuth)
        .auth_parameters("USERNAME", USER)
        .auth_parameters("PASSWORD", PASSWORD)
        .send()
        .await
        .unwrap()
        .authentication_result
        .unwrap()
        .id_token
        .unwrap();
    let mut by_invoice: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in &expected {
        by_invoice
            .entry(line["InvoiceNo"].as_str().unwrap().to_string())
            .or_default()
            .insert(line_id(line));
    }
    // Every invoice of the slice.
    let started = Instant::now();
    for (invoice, want) in &by_invoice {
        let body = get_json(&http, &format!("{api}/invoices/{invoice}"), &token).await;
        let got: BTreeSet<String> = body["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(line_id)
            .collect();
        same(
            &format!("GET /invoices/{invoice} equals the source rows"),
            &got,
            want,
        );
    }
    // Every customer's invoice summaries, every page.
    let summaries = expected_summaries(&expected);
    assert!(summaries.len() > 10, "{} customers", summaries.len());
    for (customer, want) in &summaries {
        let mut got: BTreeMap<String, Value> = BTreeMap::new();
        let mut next: Option<String> = None;
        loop {
            let mut url = format!("{api}/customers/{customer}/invoices?limit=5");
            if let Some(t) = &next {
                url.push_str(&format!("&next={t}"));
            }
            let body = get_json(&http, &url, &token).await;
            for inv in body["invoices"].as_array().unwrap() {
                let mut inv = inv.clone();
                // Totals compare as numbers: the stored scale is the sum's.
                let total: Decimal = inv["InvoiceTotal"].as_str().unwrap().parse().unwrap();
                inv["InvoiceTotal"] = Value::String(total.normalize().to_string());
                let no = inv["InvoiceNo"].as_str().unwrap().to_string();
                assert!(got.insert(no, inv).is_none(), "an invoice on two pages");
            }
            next = body["next"].as_str().map(str::to_string);
            if next.is_none() {
                break;
            }
        }
        assert_eq!(
            &got, want,
            "GET /customers/{customer}/invoices equals what the source rows imply"
        );
    }
    eprintln!(
        "GET checks: {} invoices, {} customers in {:.1} s",
        by_invoice.len(),
        summaries.len(),
        started.elapsed().as_secs_f64()
    );
    let one = &expected[0];
    let resp = http
        .get(format!(
            "{api}/invoices/{}/items/{}",
            one["InvoiceNo"].as_str().unwrap(),
            one["StockCode"].as_str().unwrap()
        ))
        .header("authorization", token.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert!(body["lines"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| line_id(l) == line_id(one)));
}
