//! The ingest handler under hostile requests: property tests over generated API Gateway
//! proxy events, a replayed corpus of events, and one test per hostile shape the API must
//! answer with a clear 4xx.
//!
//! For every request (the stream is an in-memory sink that takes everything, so no answer
//! may be a 503):
//! - no panic, and the status is 202, 400, 403, 413 or 415, never a 5xx;
//! - the answer is a JSON object: a 403 (a caller not allowed on the route) carries a short
//!   `message` and nothing was sent or stored; another 4xx carries a non-empty `error` of at
//!   most [`MAX_ECHO_CHARS`] characters (plus the note of what was cut), a 202 carries counts
//!   that add up, with at most 100 listed rejections and the stream holding exactly the
//!   accepted records; and the whole answer stays small (under [`MAX_ANSWER_BYTES`]),
//!   whatever the body held, as a Lambda answer may not exceed 6 MB;
//! - memory stays linear with a factor the function can afford: peak live bytes during the
//!   call at most `MEMORY_BASE + PER_BYTE x body length` ([`PER_BYTE`]).
//!
//! # The corpus
//!
//! `tests/corpus/` holds API Gateway proxy events (JSON, as the Lambda receives them), each
//! replayed by `corpus_replays` through the same checks; a body that is not UTF-8 is
//! written base64-encoded with `"isBase64Encoded": true`, as API Gateway sends it. An event
//! without a `cognito:groups` claim must get the 403 as it is, and is then replayed again as
//! posted by a producer, for the body checks; an event named `denied-*` must get the 403.
//! To add a case, copy an event there (`bug-` prefix for a regression). A failing property prints
//! the shrunk request and proptest records its seed under `proptest-regressions/`: check
//! that in, and add the request to the corpus.
//!
//! `PROPTEST_CASES=100000 cargo test -p ingest --test hostile` runs a longer session.

#[path = "../../records/tests/fuzzkit/mod.rs"]
mod fuzzkit;

use async_trait::async_trait;
use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_lambda_events::encodings::Body;
use base64::Engine;
use fuzzkit::{assert_memory_bounded, corpus, measure, mutated, preview};
use ingest::{handle, Backend, Config, StreamRecord, MAX_ECHO_CHARS, MAX_LISTED_REJECTIONS};
use proptest::prelude::*;
use records::CleaningRules;
use serde_json::Value;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

#[global_allocator]
static ALLOC: fuzzkit::PeakAlloc = fuzzkit::PeakAlloc;

/// Bytes live per body byte allowed to one request. The function has 256 MB by default and
/// takes bodies up to 6 MiB: 24 x 6 MiB is 144 MiB, which leaves room for the runtime.
/// What is kept per accepted row is its clean JSON line (a 30-byte CSV row makes a
/// 170-byte line); rejected rows are only counted past the first 100.
const PER_BYTE: usize = 24;

/// Largest answer any request may get.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

const JSON_EVENT: &str = include_str!("fixtures/apigw_post_json.json");
const CSV_EVENT: &str = include_str!("fixtures/apigw_post_csv_base64.json");
const SAMPLE: &[u8] = include_bytes!("../../records/tests/fixtures/online_retail_sample.csv");
const HEADER: &str =
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country";

/// A stream and bucket that take everything and only count it (storing it would count
/// against the handler's memory): records, rejects objects, and the rejected rows in them
/// (each line checked to be a rejection with a reason).
#[derive(Default)]
struct CountingSink(AtomicUsize, AtomicUsize, AtomicUsize);

/// The part of a stored rejection the count checks.
#[derive(serde::Deserialize)]
struct StoredReason {
    #[allow(dead_code)]
    reason: records::RejectReason,
}

#[async_trait]
impl Backend for CountingSink {
    async fn put_object(&self, _bucket: &str, _key: &str, body: Vec<u8>) -> Result<(), String> {
        self.1.fetch_add(1, Ordering::Relaxed);
        use std::io::BufRead;
        let lines = std::io::BufReader::new(flate2::read::GzDecoder::new(&body[..])).split(b'\n');
        for line in lines {
            let line = line.map_err(|e| e.to_string())?;
            serde_json::from_slice::<StoredReason>(&line).map_err(|e| e.to_string())?;
            self.2.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    async fn put_records(
        &self,
        _stream: &str,
        records: &[StreamRecord],
    ) -> Result<Vec<Option<String>>, String> {
        assert!(records.len() <= 500);
        self.0.fetch_add(records.len(), Ordering::Relaxed);
        Ok(vec![None; records.len()])
    }
}

fn cfg() -> Config {
    Config {
        stream_name: "s".into(),
        bucket: "lake".into(),
        rules: CleaningRules::default(),
        max_body_bytes: 6 * 1024 * 1024,
        max_attempts: 1,
        base_backoff: Duration::from_millis(1),
        route_groups: access::RouteGroups::parse(r#"{"POST /records":["producers"]}"#).unwrap(),
    }
}

/// A POST of `body` with that Content-Type (none when `None`), base64-encoded when asked
/// or when the body is not UTF-8 (as API Gateway does).
fn request(body: &[u8], content_type: Option<&str>, base64: bool) -> ApiGatewayProxyRequest {
    let mut req: ApiGatewayProxyRequest = serde_json::from_str(JSON_EVENT).unwrap();
    req.headers.clear();
    req.multi_value_headers.clear();
    if let Some(ct) = content_type {
        if let Ok(v) = ct.parse() {
            req.headers.insert("content-type", v);
        }
    }
    match std::str::from_utf8(body) {
        Ok(text) if !base64 => {
            req.body = Some(text.to_owned());
            req.is_base64_encoded = false;
        }
        _ => {
            req.body = Some(base64::engine::general_purpose::STANDARD.encode(body));
            req.is_base64_encoded = true;
        }
    }
    req
}

fn answer_json(r: &ApiGatewayProxyResponse) -> Value {
    match &r.body {
        Some(Body::Text(t)) => serde_json::from_str(t).unwrap_or_else(|e| panic!("{e}: {t}")),
        other => panic!("the answer has no text body: {other:?}"),
    }
}

/// Runs the handler on `req` and checks everything the module docs promise. Returns the
/// answer for further checks.
fn check(req: &ApiGatewayProxyRequest, cfg: &Config) -> ApiGatewayProxyResponse {
    let body_len = req.body.as_deref().map_or(0, str::len);
    let what = preview(req.body.as_deref().unwrap_or("").as_bytes());
    let sink = CountingSink::default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let (resp, peak) = measure(|| rt.block_on(handle(req, cfg, &sink)));
    assert_memory_bounded(&what, peak, body_len, PER_BYTE);
    let text = match &resp.body {
        Some(Body::Text(t)) => t,
        other => panic!("{what}: no text body: {other:?}"),
    };
    assert!(
        text.len() <= MAX_ANSWER_BYTES,
        "{what}: a {} byte answer",
        text.len()
    );
    let v = answer_json(&resp);
    match resp.status_code {
        202 => {
            let accepted = v["accepted"].as_u64().expect("accepted");
            let rejected = v["rejected"].as_u64().expect("rejected");
            assert_eq!(accepted as usize, sink.0.load(Ordering::Relaxed), "{what}");
            let by_reason: u64 = v["rejected_by_reason"]
                .as_object()
                .expect("rejected_by_reason")
                .values()
                .map(|n| n.as_u64().unwrap())
                .sum();
            assert_eq!(by_reason, rejected, "{what}: counts do not add up");
            // Every rejected row is stored, in one object, or there is none.
            assert_eq!(
                sink.2.load(Ordering::Relaxed) as u64,
                rejected,
                "{what}: rejects"
            );
            assert_eq!(
                sink.1.load(Ordering::Relaxed),
                usize::from(rejected > 0),
                "{what}: rejects objects"
            );
            let listed = v["rejections"].as_array().expect("rejections");
            assert_eq!(
                listed.len() as u64,
                rejected.min(MAX_LISTED_REJECTIONS as u64)
            );
            for r in listed {
                let detail = r["detail"].as_str().unwrap();
                assert!(!detail.is_empty(), "{what}: empty detail");
                assert!(
                    detail.chars().count() <= MAX_ECHO_CHARS + 40,
                    "{what}: {detail:.80}"
                );
            }
        }
        403 => {
            let message = v["message"]
                .as_str()
                .unwrap_or_else(|| panic!("{what}: {v}"));
            assert!(message.starts_with("forbidden: "), "{what}: {message}");
            assert!(message.chars().count() <= 300, "{what}: {message:.80}");
            assert!(
                !message.chars().any(char::is_control),
                "{what}: {message:?}"
            );
            assert_eq!(
                sink.0.load(Ordering::Relaxed) + sink.1.load(Ordering::Relaxed),
                0,
                "{what}: sent or stored despite a 403"
            );
        }
        400 | 413 | 415 => {
            let error = v["error"].as_str().unwrap_or_else(|| panic!("{what}: {v}"));
            assert!(error.len() > 10, "{what}: unclear error {error:?}");
            assert!(
                error.chars().count() <= MAX_ECHO_CHARS + 40,
                "{what}: {error:.80}"
            );
            assert_eq!(
                sink.0.load(Ordering::Relaxed) + sink.1.load(Ordering::Relaxed),
                0,
                "{what}: sent or stored despite a 4xx"
            );
        }
        other => panic!("{what}: status {other}: {v}"),
    }
    resp
}

fn status_and_error(req: &ApiGatewayProxyRequest) -> (i64, String) {
    let resp = check(req, &cfg());
    let v = answer_json(&resp);
    (
        resp.status_code,
        v["error"].as_str().unwrap_or("").to_owned(),
    )
}

fn seeds() -> Vec<Vec<u8>> {
    let rows: Vec<&[u8]> = SAMPLE.split(|&b| b == b'\n').skip(1).collect();
    let mut out: Vec<Vec<u8>> = rows
        .chunks(9)
        .map(|chunk| {
            let mut v = format!("{HEADER}\n").into_bytes();
            for r in chunk {
                v.extend_from_slice(r);
                v.push(b'\n');
            }
            v
        })
        .collect();
    let json: ApiGatewayProxyRequest = serde_json::from_str(JSON_EVENT).unwrap();
    out.push(json.body.unwrap().into_bytes());
    out
}

fn content_type() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        4 => proptest::sample::select(vec![
            None,
            Some("text/csv"),
            Some("text/csv; charset=utf-8"),
            Some("text/csv; charset=ISO-8859-1"),
            Some("application/json"),
            Some("application/json; charset=latin1"),
            Some("application/vnd.api+json"),
            Some("text/plain"),
            Some("application/xml"),
            Some("application/x-www-form-urlencoded"),
            Some("multipart/form-data; boundary=x"),
            Some("text/csv; charset=utf-16"),
            Some(";;;=="),
            Some("TEXT/CSV ; CHARSET=\"UTF-8\""),
        ])
        .prop_map(|c| c.map(str::to_owned)),
        1 => "[ -~]{0,40}".prop_map(Some),
    ]
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => mutated(seeds(), 8),
        2 => fuzzkit::hostile_bytes(40),
        1 => (1usize..3000, any::<bool>()).prop_map(|(d, obj)| if obj {
            format!("{}1{}", "{\"a\":".repeat(d), "}".repeat(d)).into_bytes()
        } else {
            format!("{}{}", "[".repeat(d), "]".repeat(d)).into_bytes()
        }),
    ]
}

proptest! {
    #![proptest_config(fuzzkit::config(512))]

    #[test]
    fn generated_requests(ct in content_type(), body in body(), b64 in any::<bool>()) {
        check(&request(&body, ct.as_deref(), b64), &cfg());
    }

    #[test]
    fn generated_requests_with_every_row_kept(ct in content_type(), body in body()) {
        let mut c = cfg();
        c.rules = CleaningRules {
            keep_cancellations: true,
            keep_non_product_codes: true,
            keep_missing_customer: true,
            drop_duplicates: false,
        };
        check(&request(&body, ct.as_deref(), false), &c);
    }
}

/// The claims of the fixture's producer (`cognito:groups` = `producers`).
fn producer_claims() -> Value {
    let req: ApiGatewayProxyRequest = serde_json::from_str(JSON_EVENT).unwrap();
    req.request_context.authorizer.fields["claims"].clone()
}

fn has_groups_claim(req: &ApiGatewayProxyRequest) -> bool {
    req.request_context
        .authorizer
        .fields
        .get("claims")
        .and_then(|c| c.get("cognito:groups"))
        .is_some()
}

#[test]
fn corpus_replays() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    for (path, bytes) in corpus(&dir) {
        eprintln!("{}", path.display());
        let mut req: ApiGatewayProxyRequest = serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("{} is not a proxy event: {e}", path.display()));
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let status = check(&req, &cfg()).status_code;
        if name.starts_with("denied-") || !has_groups_claim(&req) {
            // Nobody is allowed by default: no groups, no entry.
            assert_eq!(status, 403, "{name}");
        } else {
            assert_ne!(status, 403, "{name}");
        }
        if !has_groups_claim(&req) {
            // The same event from a producer: the body's own checks.
            req.request_context
                .authorizer
                .fields
                .insert("claims".into(), producer_claims());
            assert_ne!(check(&req, &cfg()).status_code, 403, "{name}");
        }
    }
}

/// Callers: the `cognito:groups` claim in its forms, and whether it names `producers`.
fn caller() -> impl Strategy<Value = (Option<Value>, bool)> {
    use serde_json::json;
    prop_oneof![
        3 => proptest::sample::select(vec![
            (Some(json!("producers")), true),
            (Some(json!("analysts,producers")), true),
            (Some(json!(" producers , analysts")), true),
            (Some(json!("[analysts producers]")), true),
            (Some(json!(["analysts", "producers"])), true),
            (Some(json!(r#"["producers"]"#)), true),
            (Some(json!("analysts")), false),
            (Some(json!("Producers")), false),
            (Some(json!("producers2,xproducers")), false),
            (Some(json!("[producers,analysts")), false),
            (Some(json!("")), false),
            (Some(json!([])), false),
            (Some(json!(17)), false),
            (Some(json!({"producers": true})), false),
            (None, false),
        ]),
        // Arbitrary text without a `p`: it can never name `producers`.
        1 => "[a-oq-z ,\\[\\]\"]{0,30}".prop_map(|t| (Some(Value::String(t)), false)),
    ]
}

/// Routes as (method, resource), mostly ingest's own `POST /records`.
fn route() -> impl Strategy<Value = (String, Option<String>)> {
    let method = prop_oneof![
        3 => Just("POST"),
        1 => proptest::sample::select(vec!["GET", "PUT", "DELETE", "PATCH"]),
    ];
    let resource = prop_oneof![
        3 => Just(Some("/records")),
        1 => proptest::sample::select(vec![
            Some("/records/"),
            Some("/invoices/{invoiceNo}"),
            Some("/customers/{customerId}/invoices"),
            Some(""),
            None,
        ]),
    ];
    (method, resource).prop_map(|(m, r)| (m.to_owned(), r.map(str::to_owned)))
}

proptest! {
    #![proptest_config(fuzzkit::config(256))]

    /// The group check decides alone, before the body: a producer calling `POST /records`
    /// gets the body's answer, anyone or anything else a 403 with nothing sent.
    #[test]
    fn generated_callers(
        (groups, producer) in caller(),
        (method, resource) in route(),
        ct in content_type(),
        body in body(),
    ) {
        let mut req = request(&body, ct.as_deref(), false);
        req.http_method = method.parse().unwrap();
        req.resource = resource.clone();
        req.request_context.resource_path = resource.clone();
        let claims = req
            .request_context
            .authorizer
            .fields
            .get_mut("claims")
            .and_then(Value::as_object_mut)
            .unwrap();
        match groups {
            Some(g) => claims.insert("cognito:groups".into(), g),
            None => claims.remove("cognito:groups"),
        };
        let allowed = producer && method == "POST" && resource.as_deref() == Some("/records");
        let status = check(&req, &cfg()).status_code;
        prop_assert_eq!(status == 403, !allowed, "{} {:?}: {}", method, resource, status);
    }
}

#[test]
fn the_fixture_events_pass_the_checks() {
    for event in [JSON_EVENT, CSV_EVENT] {
        let req: ApiGatewayProxyRequest = serde_json::from_str(event).unwrap();
        assert_eq!(check(&req, &cfg()).status_code, 202);
    }
}

#[test]
fn oversized_bodies_are_413() {
    let c = cfg();
    let over = vec![b'x'; c.max_body_bytes + 1];
    for (ct, b64) in [(Some("text/csv"), false), (None, true)] {
        let (status, error) = status_and_error(&request(&over, ct, b64));
        assert_eq!(status, 413, "{error}");
        assert!(error.contains("6291456 byte limit"), "{error}");
    }
    // API Gateway's own ceiling, base64-encoded: refused before decoding.
    let ten_mb = vec![b'['; 10 << 20];
    let (status, error) = status_and_error(&request(&ten_mb, Some("application/json"), true));
    assert_eq!(status, 413, "{error}");
    // Exactly the limit is fine (and, being no CSV, a 400 for its header).
    let at = vec![b'x'; c.max_body_bytes];
    assert_eq!(
        status_and_error(&request(&at, Some("text/csv"), false)).0,
        400
    );
}

#[test]
fn wrong_content_types_are_415() {
    let csv = format!("{HEADER}\n536365,85123A,X,6,12/1/2010 8:26,2.55,17850,United Kingdom\n");
    for ct in [
        "application/xml",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=----x",
        "image/png",
        "text/html",
        "application/octet-stream",
        "text/csv; charset=utf-16",
        "application/json; charset=iso-8859-1",
    ] {
        let (status, error) = status_and_error(&request(csv.as_bytes(), Some(ct), false));
        assert_eq!(status, 415, "{ct}: {error}");
        assert!(
            error.contains("application/json") || error.contains("UTF-8"),
            "{ct}: {error}"
        );
    }
    // A header value that is not text at all.
    let mut req = request(csv.as_bytes(), None, false);
    req.headers.insert(
        "content-type",
        aws_lambda_events::http::HeaderValue::from_bytes(b"text/\xffcsv").unwrap(),
    );
    assert_eq!(status_and_error(&req).0, 415);
    // What producers send is accepted.
    for ct in [
        None,
        Some("text/csv"),
        Some("text/csv; charset=utf-8"),
        Some("application/csv"),
        Some("text/plain"),
        Some("TEXT/CSV ; Charset=\"UTF-8\""),
    ] {
        assert_eq!(
            status_and_error(&request(csv.as_bytes(), ct, false)).0,
            202,
            "{ct:?}"
        );
    }
}

#[test]
fn invalid_utf8_is_400_where_utf8_is_required() {
    let json = b"{\"InvoiceNo\":\"536365\",\"StockCode\":\"85123A\",\"Description\":\"\xa3\",\"Quantity\":6,\"InvoiceDate\":\"12/1/2010 8:26\",\"UnitPrice\":\"2.55\",\"Country\":\"UK\"}";
    for ct in [None, Some("application/json")] {
        let (status, error) = status_and_error(&request(json, ct, true));
        assert_eq!(status, 400, "{error}");
        assert!(
            error.contains("not valid UTF-8 (byte 0xA3 at offset 58)"),
            "{error}"
        );
    }
    let latin1 = format!(
        "{HEADER}\n536365,85123A,HAND WARMER \u{a3},6,12/1/2010 8:26,2.55,17850,United Kingdom\n"
    );
    let latin1: Vec<u8> = latin1.chars().map(|c| c as u8).collect();
    let (status, error) =
        status_and_error(&request(&latin1, Some("text/csv; charset=utf-8"), true));
    assert_eq!(status, 400, "{error}");
    assert!(error.contains("charset=utf-8"), "{error}");
    // The dataset's own encoding, undeclared or declared, is read as Latin-1.
    for ct in [Some("text/csv"), Some("text/csv; charset=iso-8859-1"), None] {
        assert_eq!(
            status_and_error(&request(&latin1, ct, true)).0,
            202,
            "{ct:?}"
        );
    }
    // Bytes that are neither UTF-8 nor anything, flagged base64.
    let garbage = [0xff, 0xfe, 0x00, 0xc3, 0x28, 0xed, 0xa0, 0x80];
    let (status, _) = status_and_error(&request(&garbage, Some("application/json"), true));
    assert_eq!(status, 400);
    // A UTF-8 byte-order mark before JSON is not an error.
    let bom = [&b"\xEF\xBB\xBF"[..], br#"{"InvoiceNo":"536365","StockCode":"85123A","Quantity":6,"InvoiceDate":"12/1/2010 8:26","UnitPrice":"2.55","CustomerID":17850,"Country":"UK"}"#].concat();
    for ct in [None, Some("application/json")] {
        assert_eq!(status_and_error(&request(&bom, ct, false)).0, 202, "{ct:?}");
    }
}

#[test]
fn deep_json_is_400() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let (status, error) =
        status_and_error(&request(deep.as_bytes(), Some("application/json"), false));
    assert_eq!(status, 400);
    assert!(error.contains("recursion limit exceeded"), "{error}");
    let deep_field = format!(
        r#"[{{"InvoiceNo":{}"536365"{},"StockCode":"85123A"}}]"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let (status, error) = status_and_error(&request(deep_field.as_bytes(), None, false));
    assert_eq!(status, 400);
    assert!(error.contains("recursion limit exceeded"), "{error}");
}

/// Regression: a rejection's detail quotes the field, and the answer listed up to 100 of them
/// in full, so a body of rows with huge bad fields made an answer far over Lambda's 6 MB
/// response limit (and API Gateway then answers 502).
#[test]
fn answers_stay_small_whatever_the_body_holds() {
    let field = "\0".repeat(60_000);
    let mut body = format!("{HEADER}\n");
    for _ in 0..100 {
        body.push_str(&format!(
            "536365,85123A,X,{field},12/1/2010 8:26,2.55,17850,UK\n"
        ));
    }
    let resp = check(&request(body.as_bytes(), Some("text/csv"), false), &cfg());
    assert_eq!(resp.status_code, 202);
    // The same for a whole-request error quoting a huge header line.
    let header = format!("{}\n", "\u{1b}".repeat(1 << 20));
    let (status, error) = status_and_error(&request(header.as_bytes(), Some("text/csv"), false));
    assert_eq!(status, 400);
    assert!(error.contains("more characters"), "{error:.100}");
    assert!(error.ends_with(&format!("expected {HEADER}")), "{error}");
}

/// Regression: every rejection was kept in full and a JSON body was parsed into one tree
/// before cleaning, so small records cost hundreds of bytes each: a 6 MiB body of
/// `[0,0,...]` or of one-byte CSV rows needed over a gigabyte, far over the function's
/// 256 MB. These are checked at 1 MiB against the same linear bound.
#[test]
fn memory_stays_linear_for_many_tiny_records() {
    let n = 1 << 19;
    let mut zeros = String::with_capacity(2 * n + 2);
    zeros.push('[');
    for i in 0..n {
        zeros.push_str(if i == 0 { "0" } else { ",0" });
    }
    zeros.push(']');
    let resp = check(
        &request(zeros.as_bytes(), Some("application/json"), false),
        &cfg(),
    );
    assert_eq!(answer_json(&resp)["rejected"], n);
    let ones = format!("{HEADER}\n{}", "1\n".repeat(n));
    let resp = check(&request(ones.as_bytes(), Some("text/csv"), false), &cfg());
    assert_eq!(answer_json(&resp)["rejected"], n);
    let objects = format!("[{}{{}}]", "{},".repeat(n / 2));
    check(&request(objects.as_bytes(), None, false), &cfg());
}

/// Many small valid rows, all kept: what is held per row is its clean line.
#[test]
fn memory_stays_linear_for_many_accepted_rows() {
    let mut body = format!("{HEADER}\n");
    for i in 0..20_000 {
        body.push_str(&format!("{},11111,,1,1/1/2010 1:00,1,1,X\n", 100_000 + i));
    }
    let resp = check(&request(body.as_bytes(), Some("text/csv"), false), &cfg());
    assert_eq!(answer_json(&resp)["accepted"], 20_000);
}
