//! Data flowing end to end on the emulator: apply the dev stack, sign a Cognito user in,
//! start `local serve`, stream 3,000 real rows through the API with the user's token, and
//! check that nothing is lost: every row is refused with a reason, or becomes an item in
//! DynamoDB and a record Firehose delivered to S3 (or a reject with its reason under
//! `rejects/`); the GET API answers equal the source rows; no token gets 401.

mod support;

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, Write};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};
use support::{command, run, Moto};

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

/// The first `ROWS` rows of the real dataset (Latin-1, as published).
fn slice(dir: &std::path::Path) -> std::path::PathBuf {
    let gz = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/online_retail.csv.gz");
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
    path
}

fn json_lines(text: &[u8]) -> Vec<Value> {
    serde_json::Deserializer::from_slice(text)
        .into_iter::<Value>()
        .map(|v| v.expect("JSON records"))
        .collect()
}

/// The identity of a clean line: every typed field.
fn line_id(v: &Value) -> String {
    // An absent attribute (a DynamoDB item without CustomerID) reads as null.
    let f = |k: &str| v.get(k).unwrap_or(&Value::Null).to_string();
    records::COLUMNS.map(f).join("|")
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

async fn objects(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Vec<Vec<u8>> {
    let mut out = vec![];
    let list = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await
        .unwrap();
    for o in list.contents() {
        let got = s3
            .get_object()
            .bucket(bucket)
            .key(o.key().unwrap())
            .send()
            .await
            .unwrap();
        out.push(got.body.collect().await.unwrap().into_bytes().to_vec());
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
    let csv = slice(dir.path());
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
    assert_eq!(summary["sent"], ROWS as u64);
    assert_eq!(
        accepted + rejected,
        ROWS as u64,
        "ingest answered for every row: {summary}"
    );

    // The reference: the same rows cleaned by `data check`.
    let expected_path = dir.path().join("accepted.jsonl");
    run(
        &ep,
        &[
            "data",
            "check",
            csv.to_str().unwrap(),
            "--accepted",
            expected_path.to_str().unwrap(),
        ],
    )
    .expect(0);
    let expected = json_lines(&std::fs::read(&expected_path).unwrap());
    let expected_ids: BTreeSet<String> = expected.iter().map(line_id).collect();

    // Wait for the poller: every accepted row delivered to Firehose or rejected by process.
    let s3 = moto.s3().await;
    let bucket = outputs["bucket"].as_str().unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    let (delivered, process_rejects, given_up) = loop {
        let delivered: Vec<Value> = objects(&s3, bucket, "clean/")
            .await
            .iter()
            .flat_map(|o| json_lines(o))
            .collect();
        let rejects: Vec<Value> = objects(&s3, bucket, "rejects/")
            .await
            .iter()
            .flat_map(|o| json_lines(o))
            .collect();
        let given_up: Vec<Value> = objects(&s3, bucket, "aws/lambda/")
            .await
            .iter()
            .flat_map(|o| json_lines(o))
            .collect();
        let given_up_rows: u64 = given_up
            .iter()
            .map(|f| f["KinesisBatchInfo"]["batchSize"].as_u64().unwrap_or(0))
            .sum();
        if (delivered.len() + rejects.len()) as u64 + given_up_rows >= accepted
            || Instant::now() > deadline
        {
            break (delivered, rejects, given_up);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
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
    let delivered_ids: BTreeSet<String> = delivered.iter().map(line_id).collect();
    same(
        "S3 holds exactly the clean lines",
        &delivered_ids,
        &expected_ids,
    );

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
    for invoice in by_invoice.keys().take(5).chain(by_invoice.keys().last()) {
        let resp = http
            .get(format!("{api}/invoices/{invoice}"))
            .header("authorization", format!("Bearer {token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "GET /invoices/{invoice}");
        let body: Value = resp.json().await.unwrap();
        let got: BTreeSet<String> = body["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(line_id)
            .collect();
        same(
            &format!("GET /invoices/{invoice} equals the source rows"),
            &got,
            &by_invoice[invoice],
        );
    }
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
