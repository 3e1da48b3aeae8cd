//! Handler tests with an in-memory fake of the stream and the bucket.

use async_trait::async_trait;
use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_lambda_events::encodings::Body;
use base64::Engine;
use ingest::{chunk_records, handle, Backend, Config, StreamRecord, REJECTS_PREFIX};
use records::CleaningRules;
use records::{RejectReason, Rejection};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::sync::Mutex;
use std::time::Duration;

const JSON_EVENT: &str = include_str!("fixtures/apigw_post_json.json");
const CSV_EVENT: &str = include_str!("fixtures/apigw_post_csv_base64.json");

/// Stores records and objects; refuses each record's first `refusals` attempts, every
/// `PutRecords` call when `fail_calls`, every `PutObject` when `fail_s3`.
#[derive(Default)]
struct FakeStream {
    stored: Mutex<Vec<StreamRecord>>,
    calls: Mutex<Vec<usize>>,
    refusals: usize,
    attempts: Mutex<std::collections::HashMap<Vec<u8>, usize>>,
    fail_calls: bool,
    /// (bucket, key, body) of every object put.
    objects: Mutex<Vec<(String, String, Vec<u8>)>>,
    fail_s3: bool,
}

impl FakeStream {
    /// The rejections stored, with the one object's key (panics unless exactly one).
    fn rejects(&self) -> (String, Vec<Rejection>) {
        let objects = self.objects.lock().unwrap();
        assert_eq!(objects.len(), 1, "one rejects object per request");
        let (bucket, key, body) = &objects[0];
        assert_eq!(bucket, "lake");
        let rows = BufReader::new(flate2::read::GzDecoder::new(&body[..]))
            .lines()
            .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
            .collect();
        (key.clone(), rows)
    }
}

#[async_trait]
impl Backend for FakeStream {
    async fn put_object(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), String> {
        if self.fail_s3 {
            return Err("PutObject failed: AccessDenied".into());
        }
        self.objects
            .lock()
            .unwrap()
            .push((bucket.to_owned(), key.to_owned(), body));
        Ok(())
    }

    async fn put_records(
        &self,
        _stream: &str,
        records: &[StreamRecord],
    ) -> Result<Vec<Option<String>>, String> {
        assert!(records.len() <= 500);
        self.calls.lock().unwrap().push(records.len());
        if self.fail_calls {
            return Err("service unavailable".into());
        }
        let mut attempts = self.attempts.lock().unwrap();
        Ok(records
            .iter()
            .map(|r| {
                let n = attempts.entry(r.data.clone()).or_insert(0);
                *n += 1;
                if *n <= self.refusals {
                    Some("ProvisionedThroughputExceededException".to_owned())
                } else {
                    self.stored.lock().unwrap().push(r.clone());
                    None
                }
            })
            .collect())
    }
}

fn cfg() -> Config {
    Config {
        stream_name: "s".into(),
        bucket: "lake".into(),
        rules: CleaningRules::default(),
        max_body_bytes: 6 * 1024 * 1024,
        max_attempts: 4,
        base_backoff: Duration::from_millis(1),
        route_groups: access::RouteGroups::parse(ROUTE_GROUPS).unwrap(),
    }
}

/// `ingest`'s `ROUTE_GROUPS` as the blueprint writes it for the default groups.
const ROUTE_GROUPS: &str = r#"{"POST /records":["producers"]}"#;

fn body_json(r: &ApiGatewayProxyResponse) -> Value {
    match &r.body {
        Some(Body::Text(t)) => serde_json::from_str(t).unwrap(),
        other => panic!("unexpected body {other:?}"),
    }
}

fn request(body: &str, content_type: Option<&str>) -> ApiGatewayProxyRequest {
    let mut req: ApiGatewayProxyRequest = serde_json::from_str(JSON_EVENT).unwrap();
    req.headers.clear();
    if let Some(ct) = content_type {
        req.headers.insert("content-type", ct.parse().unwrap());
    }
    req.body = Some(body.to_owned());
    req.is_base64_encoded = false;
    req
}

#[test]
fn fixtures_round_trip() {
    for text in [JSON_EVENT, CSV_EVENT] {
        let req: ApiGatewayProxyRequest = serde_json::from_str(text).unwrap();
        let again: ApiGatewayProxyRequest =
            serde_json::from_value(serde_json::to_value(&req).unwrap()).unwrap();
        assert_eq!(req, again);
        assert_eq!(req.http_method, "POST");
    }
}

#[tokio::test]
async fn json_array_event() {
    let req: ApiGatewayProxyRequest = serde_json::from_str(JSON_EVENT).unwrap();
    let sink = FakeStream::default();
    let resp = handle(&req, &cfg(), &sink).await;
    assert_eq!(resp.status_code, 202);
    let b = body_json(&resp);
    assert_eq!(b["accepted"], 2);
    assert_eq!(b["rejected"], 3);
    assert_eq!(b["rejected_by_reason"]["duplicate"], 1);
    assert_eq!(b["rejected_by_reason"]["non_product_code"], 1);
    assert_eq!(b["rejected_by_reason"]["bad_date"], 1);
    assert_eq!(b["rejections"][2]["index"], 4);
    assert_eq!(b["rejections"][2]["reason"], "bad_date");
    let stored = sink.stored.lock().unwrap();
    assert_eq!(stored.len(), 2);
    assert!(stored.iter().all(|r| r.partition_key == "536365"));
    let first: Value = serde_json::from_slice(&stored[0].data).unwrap();
    assert_eq!(first["UnitPrice"], "2.55");
    assert_eq!(first["CustomerID"], 17850);
    assert_eq!(first["InvoiceDate"], "2010-12-01 08:26:00");
}

#[tokio::test]
async fn base64_csv_event() {
    let req: ApiGatewayProxyRequest = serde_json::from_str(CSV_EVENT).unwrap();
    assert!(req.is_base64_encoded);
    let sink = FakeStream::default();
    let resp = handle(&req, &cfg(), &sink).await;
    assert_eq!(resp.status_code, 202);
    let b = body_json(&resp);
    assert_eq!(
        (b["accepted"].as_u64(), b["rejected"].as_u64()),
        (Some(124), Some(39))
    );
    assert_eq!(sink.stored.lock().unwrap().len(), 124);
    // The Latin-1 pound sign (in gift-voucher rows, kept here) arrives as UTF-8.
    let mut lax = cfg();
    lax.rules.keep_non_product_codes = true;
    let sink = FakeStream::default();
    assert_eq!(handle(&req, &lax, &sink).await.status_code, 202);
    let stored = sink.stored.lock().unwrap();
    let pounds = stored
        .iter()
        .filter(|r| String::from_utf8(r.data.clone()).unwrap().contains('£'))
        .count();
    assert_eq!(pounds, 6);
}

#[tokio::test]
async fn single_object_and_sniffing() {
    let one = r#"{"InvoiceNo":"536365","StockCode":"85123A","Quantity":6,"InvoiceDate":"12/1/2010 8:26","UnitPrice":"2.55","CustomerID":17850,"Country":"United Kingdom"}"#;
    let csv = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n536365,85123A,X,6,12/1/2010 8:26,2.55,17850,United Kingdom\n";
    for (body, ct) in [
        (one, None),
        (one, Some("application/json; charset=utf-8")),
        (csv, None),
        (csv, Some("text/csv")),
    ] {
        let sink = FakeStream::default();
        let resp = handle(&request(body, ct), &cfg(), &sink).await;
        assert_eq!(resp.status_code, 202, "{ct:?}");
        assert_eq!(body_json(&resp)["accepted"], 1);
    }
}

#[tokio::test]
async fn bad_bodies_are_4xx() {
    let too_big = "x".repeat(2000);
    let cases: Vec<(String, Option<&str>, bool)> = vec![
        (String::new(), None, false),
        ("   ".into(), None, false),
        ("{not json".into(), None, false),
        ("[1,2".into(), Some("application/json"), false),
        ("42".into(), Some("application/json"), false),
        ("a,b\n1,2\n".into(), Some("text/csv"), false),
        ("!!!not base64!!!".into(), None, true),
    ];
    for (body, ct, b64) in cases {
        let mut req = request(&body, ct);
        req.is_base64_encoded = b64;
        let mut c = cfg();
        c.max_body_bytes = 1000;
        let sink = FakeStream::default();
        let resp = handle(&req, &c, &sink).await;
        assert_eq!(resp.status_code, 400, "{body:.40}");
        assert!(body_json(&resp)["error"].as_str().unwrap().len() > 5);
        assert!(sink.calls.lock().unwrap().is_empty());
    }
    // Over the limit: 413, naming the limit.
    let mut c = cfg();
    c.max_body_bytes = 1000;
    let resp = handle(
        &request(&too_big, Some("text/csv")),
        &c,
        &FakeStream::default(),
    )
    .await;
    assert_eq!(resp.status_code, 413);
    assert!(body_json(&resp)["error"].as_str().unwrap().contains("1000"));
    // A body field absent altogether.
    let mut req = request("", None);
    req.body = None;
    assert_eq!(
        handle(&req, &cfg(), &FakeStream::default())
            .await
            .status_code,
        400
    );
    // Base64 over the limit once decoded.
    let mut c = cfg();
    c.max_body_bytes = 100;
    let mut req = request(
        &base64::engine::general_purpose::STANDARD.encode([b'{'; 150]),
        None,
    );
    req.is_base64_encoded = true;
    let resp = handle(&req, &c, &FakeStream::default()).await;
    assert_eq!(resp.status_code, 413);
    assert!(body_json(&resp)["error"].as_str().unwrap().contains("100"));
}

#[tokio::test]
async fn refused_records_are_retried() {
    let req: ApiGatewayProxyRequest = serde_json::from_str(CSV_EVENT).unwrap();
    let sink = FakeStream {
        refusals: 2,
        ..Default::default()
    };
    let resp = handle(&req, &cfg(), &sink).await;
    assert_eq!(resp.status_code, 202);
    assert_eq!(sink.stored.lock().unwrap().len(), 124);
    assert_eq!(*sink.calls.lock().unwrap(), vec![124, 124, 124]);
    // Never accepted: 503 with the failed count.
    let sink = FakeStream {
        refusals: 100,
        ..Default::default()
    };
    let resp = handle(&req, &cfg(), &sink).await;
    assert_eq!(resp.status_code, 503);
    let b = body_json(&resp);
    assert_eq!(
        (b["accepted"].as_u64(), b["failed"].as_u64()),
        (Some(0), Some(124))
    );
    assert_eq!(sink.calls.lock().unwrap().len(), 4);
    let sink = FakeStream {
        fail_calls: true,
        ..Default::default()
    };
    assert_eq!(handle(&req, &cfg(), &sink).await.status_code, 503);
}

#[test]
fn chunking_limits() {
    let small: Vec<StreamRecord> = (0..1201)
        .map(|i| StreamRecord {
            partition_key: i.to_string(),
            data: vec![b'x'; 100],
        })
        .collect();
    let sizes: Vec<usize> = chunk_records(&small).iter().map(|c| c.len()).collect();
    assert_eq!(sizes, vec![500, 500, 201]);
    let big: Vec<StreamRecord> = (0..12)
        .map(|_| StreamRecord {
            partition_key: "k".into(),
            data: vec![b'x'; 1024 * 1024 - 10],
        })
        .collect();
    let chunks = chunk_records(&big);
    assert!(chunks
        .iter()
        .all(|c| c.iter().map(|r| r.data.len() + 1).sum::<usize>() <= 5 * 1024 * 1024));
    assert_eq!(chunks.iter().map(|c| c.len()).sum::<usize>(), 12);
    assert_eq!(chunks[0].len(), 5);
    assert!(chunk_records(&[]).is_empty());
}

#[test]
fn config_from_env_lookup() {
    let c = Config::from_lookup(|k| match k {
        "STREAM_NAME" => Some("orders".into()),
        "BUCKET" => Some("lake".into()),
        "KEEP_CANCELLATIONS" => Some("false".into()),
        "MAX_BODY_BYTES" => Some("1234".into()),
        "ROUTE_GROUPS" => Some(ROUTE_GROUPS.into()),
        _ => None,
    })
    .unwrap();
    assert_eq!(c.stream_name, "orders");
    assert!(!c.rules.keep_cancellations);
    assert_eq!(c.max_body_bytes, 1234);
    assert_eq!(c.bucket, "lake");
    assert!(Config::from_lookup(|_| None).is_err());
    // Without a bucket the rejects would have nowhere to go: no configuration.
    let no_bucket = Config::from_lookup(|k| (k == "STREAM_NAME").then(|| "orders".into()));
    assert_eq!(no_bucket.unwrap_err(), "BUCKET is not set");
    assert_eq!(
        c.route_groups.groups("POST /records").unwrap().len(),
        1,
        "{:?}",
        c.route_groups
    );
    // Without its access rules the function does not start (nothing is allowed by default).
    let no_rules = Config::from_lookup(|k| match k {
        "STREAM_NAME" => Some("orders".into()),
        "BUCKET" => Some("lake".into()),
        _ => None,
    });
    assert!(
        no_rules.unwrap_err().starts_with("ROUTE_GROUPS is not set"),
        "a function without ROUTE_GROUPS must not start"
    );
    let bad_rules = Config::from_lookup(|k| match k {
        "STREAM_NAME" => Some("orders".into()),
        "BUCKET" => Some("lake".into()),
        "ROUTE_GROUPS" => Some("producers".into()),
        _ => None,
    });
    assert!(bad_rules.unwrap_err().contains("not a JSON object"));
}

/// The JSON fixture as posted by a caller whose `cognito:groups` claim is `groups` (no claim
/// when `None`).
fn posted_by(groups: Option<&str>) -> ApiGatewayProxyRequest {
    let mut req: ApiGatewayProxyRequest = serde_json::from_str(JSON_EVENT).unwrap();
    let claims = req
        .request_context
        .authorizer
        .fields
        .get_mut("claims")
        .and_then(Value::as_object_mut)
        .unwrap();
    match groups {
        Some(g) => claims.insert("cognito:groups".into(), g.into()),
        None => claims.remove("cognito:groups"),
    };
    req
}

#[tokio::test]
async fn only_producers_may_post() {
    for groups in ["producers", "analysts,producers", "[analysts producers]"] {
        let sink = FakeStream::default();
        let resp = handle(&posted_by(Some(groups)), &cfg(), &sink).await;
        assert_eq!(resp.status_code, 202, "{groups}");
    }
    for groups in [Some("analysts"), Some(""), Some("Producers"), None] {
        let sink = FakeStream::default();
        let resp = handle(&posted_by(groups), &cfg(), &sink).await;
        assert_eq!(resp.status_code, 403, "{groups:?}");
        let b = body_json(&resp);
        let m = b["message"].as_str().unwrap();
        assert!(
            m.contains("POST /records") && m.contains("Cognito group producers"),
            "{m}"
        );
        // Refused before any work: nothing on the stream, no rejects stored.
        assert!(sink.calls.lock().unwrap().is_empty(), "{groups:?}");
        assert!(sink.objects.lock().unwrap().is_empty(), "{groups:?}");
    }
    // No authorizer at all (a route deployed without one): refused as well.
    let mut req = posted_by(Some("producers"));
    req.request_context.authorizer.fields.clear();
    assert_eq!(
        handle(&req, &cfg(), &FakeStream::default())
            .await
            .status_code,
        403
    );
    // Another route (this function serves only POST /records): refused.
    let mut req = posted_by(Some("producers"));
    req.resource = Some("/invoices/{invoiceNo}".into());
    let resp = handle(&req, &cfg(), &FakeStream::default()).await;
    assert_eq!(resp.status_code, 403);
    assert_eq!(
        body_json(&resp)["message"],
        "forbidden: no Cognito group may call POST /invoices/{invoiceNo}"
    );
    // The check comes before the body is read: a body the handler would refuse with a 4xx
    // of its own gets the 403.
    let mut req = posted_by(Some("analysts"));
    req.body = Some("{not json".into());
    assert_eq!(
        handle(&req, &cfg(), &FakeStream::default())
            .await
            .status_code,
        403
    );
}

/// `ingest` is the same work without the check, for `stream --direct` (no Cognito caller).
#[tokio::test]
async fn ingest_skips_only_the_group_check() {
    let sink = FakeStream::default();
    let resp = ingest::ingest(&posted_by(None), &cfg(), &sink).await;
    assert_eq!(resp.status_code, 202);
    assert_eq!(body_json(&resp)["accepted"], 2);
    assert_eq!(sink.stored.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn rejected_rows_are_stored_under_rejects() {
    // The JSON fixture: 5 records, 3 rejected (a duplicate, a non-product code, a bad date),
    // posted at 2010-12-01 08:26 UTC (requestTimeEpoch).
    let req: ApiGatewayProxyRequest = serde_json::from_str(JSON_EVENT).unwrap();
    let sink = FakeStream::default();
    let resp = handle(&req, &cfg(), &sink).await;
    assert_eq!(resp.status_code, 202);
    let answer = body_json(&resp);
    let (key, rows) = sink.rejects();
    assert!(key.starts_with(REJECTS_PREFIX), "{key}");
    assert!(key.starts_with("rejects/ingest/dt=2010-12-01/"), "{key}");
    assert!(key.ends_with(".jsonl.gz"), "{key}");
    assert_eq!(
        key.len(),
        "rejects/ingest/dt=2010-12-01/".len() + 64 + 9,
        "{key}"
    );
    assert_eq!(rows.len(), 3);
    // Every row the answer lists is stored with the same index and reason, with its input.
    for (listed, row) in answer["rejections"].as_array().unwrap().iter().zip(&rows) {
        assert_eq!(listed["index"].as_u64(), row.index.map(|i| i as u64));
        assert_eq!(listed["reason"], row.reason.as_str());
        assert!(!row.detail.is_empty());
        assert!(row.input.contains("InvoiceNo"), "{}", row.input);
    }
    assert_eq!(rows[2].reason, RejectReason::BadDate);
    assert_eq!(rows[2].index, Some(4));

    // The same body again (a retry) goes to the same object; another body elsewhere.
    let again = FakeStream::default();
    handle(&req, &cfg(), &again).await;
    assert_eq!(again.rejects().0, key);
    let csv: ApiGatewayProxyRequest = serde_json::from_str(CSV_EVENT).unwrap();
    let other = FakeStream::default();
    handle(&csv, &cfg(), &other).await;
    let (csv_key, csv_rows) = other.rejects();
    assert_ne!(csv_key, key);
    assert_eq!(csv_rows.len(), 39);
    // CSV rows keep their raw line and their data-row number.
    let first = &csv_rows[0];
    assert_eq!(first.input.split(',').count(), 8, "{}", first.input);
    assert!(first.index.is_some());
}

#[tokio::test]
async fn no_rejects_no_object() {
    let one = r#"{"InvoiceNo":"536365","StockCode":"85123A","Quantity":6,"InvoiceDate":"12/1/2010 8:26","UnitPrice":"2.55","CustomerID":17850,"Country":"United Kingdom"}"#;
    let sink = FakeStream::default();
    assert_eq!(
        handle(&request(one, None), &cfg(), &sink).await.status_code,
        202
    );
    assert!(sink.objects.lock().unwrap().is_empty());
    // A refused body is not rows: nothing stored either.
    let sink = FakeStream::default();
    assert_eq!(
        handle(&request("{not json", None), &cfg(), &sink)
            .await
            .status_code,
        400
    );
    assert!(sink.objects.lock().unwrap().is_empty());
}

#[tokio::test]
async fn rejects_not_stored_is_503_and_nothing_sent() {
    let req: ApiGatewayProxyRequest = serde_json::from_str(CSV_EVENT).unwrap();
    let sink = FakeStream {
        fail_s3: true,
        ..Default::default()
    };
    let resp = handle(&req, &cfg(), &sink).await;
    assert_eq!(resp.status_code, 503);
    let b = body_json(&resp);
    let error = b["error"].as_str().unwrap();
    assert!(
        error.contains("39 rejected rows") && error.contains("again"),
        "{error}"
    );
    // No "failed" count: a producer retries the whole request, and nothing went out.
    assert!(b.get("failed").is_none());
    assert!(sink.calls.lock().unwrap().is_empty());
    assert!(sink.stored.lock().unwrap().is_empty());
    // Without rejects, a broken bucket does not matter.
    let one = r#"{"InvoiceNo":"536365","StockCode":"85123A","Quantity":6,"InvoiceDate":"12/1/2010 8:26","UnitPrice":"2.55","CustomerID":17850,"Country":"United Kingdom"}"#;
    let sink = FakeStream {
        fail_s3: true,
        ..Default::default()
    };
    assert_eq!(
        handle(&request(one, None), &cfg(), &sink).await.status_code,
        202
    );
}
