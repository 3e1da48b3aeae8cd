//! The query handler under hostile requests: property tests over generated API Gateway
//! proxy events (paths, keys, query parameters, methods and bodies), a replayed corpus of
//! events, and one test per hostile key shape the API must answer with a clear 4xx.
//!
//! For every request (the store is the in-memory fake of `common`, which never fails, so no
//! answer may be a 502):
//! - no panic, and the status is 200, 400, 403, 404 or 405, never a 5xx;
//! - the answer is a JSON object: a 403 (a caller or method not allowed on the route) carries
//!   a short `message` and no table was read; another error carries a non-empty `error` that
//!   stays short
//!   (keys are quoted cut to [`MAX_SHOWN_CHARS`] characters) and holds no raw control
//!   character; a 200 for one stock code lists only lines of exactly that code;
//! - memory stays linear: peak live bytes during the call at most
//!   `MEMORY_BASE + PER_BYTE x request size` (path, query string and body).
//!
//! # The corpus
//!
//! `tests/corpus/` holds proxy events (JSON, as the Lambda receives them), each replayed by
//! `corpus_replays` through the same checks. An event without a `cognito:groups` claim must
//! get the 403 as it is, and is then replayed again as sent by an analyst, for the path and
//! parameter checks; an event named `denied-*` must get the 403. To add a case, copy an event there (`bug-`
//! prefix for a regression). A failing property prints the shrunk request and proptest
//! records its seed under `proptest-regressions/`: check that in, and add the request to
//! the corpus.
//!
//! `PROPTEST_CASES=100000 cargo test -p query --test hostile` runs a longer session.

#[path = "../../records/tests/fuzzkit/mod.rs"]
mod fuzzkit;

mod common;

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_lambda_events::http::Method;
use base64::Engine;
use common::{body, fake, get, handle, line, with_groups, Fake, GET_ROUTES};
use fuzzkit::{assert_memory_bounded, corpus, measure};
use proptest::prelude::*;
use query::{Item, Store, MAX_SHOWN_CHARS};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

#[global_allocator]
static ALLOC: fuzzkit::PeakAlloc = fuzzkit::PeakAlloc;

/// Bytes live per request byte: the path is split and decoded once, the query parameters
/// are read in place, and the body is never read.
const PER_BYTE: usize = 8;

/// Longest error message: a fixed text around at most two quoted keys of
/// [`MAX_SHOWN_CHARS`] characters, each escaped to at most 10 characters (`\u{10ffff}`).
const MAX_ERROR_CHARS: usize = 200 + 2 * 10 * MAX_SHOWN_CHARS;

/// The fake store, plus a line whose stock code holds the sort key's separator.
fn store() -> Fake {
    let mut f = fake();
    f.lines.push(line("536365", "85123A#EVIL", 1, "9.99"));
    f.lines.push(line("536366", "A#B", 1, "1.00"));
    f
}

fn request_size(req: &ApiGatewayProxyRequest) -> usize {
    let q: usize = req
        .query_string_parameters
        .iter()
        .map(|(k, v)| k.len() + v.len())
        .sum();
    req.path.as_deref().map_or(0, str::len) + q + req.body.as_deref().map_or(0, str::len)
}

/// The fake store, counting the reads.
struct Counting(Fake, AtomicUsize);

#[async_trait::async_trait]
impl Store for Counting {
    async fn invoice_lines(&self, inv: &str) -> Result<Vec<Item>, String> {
        self.1.fetch_add(1, Ordering::Relaxed);
        self.0.invoice_lines(inv).await
    }
    async fn invoice_item(&self, inv: &str, sc: &str) -> Result<Vec<Item>, String> {
        self.1.fetch_add(1, Ordering::Relaxed);
        self.0.invoice_item(inv, sc).await
    }
    async fn customer_invoices(
        &self,
        c: u32,
        limit: i32,
        start: Option<Item>,
    ) -> Result<(Vec<Item>, Option<Item>), String> {
        self.1.fetch_add(1, Ordering::Relaxed);
        self.0.customer_invoices(c, limit, start).await
    }
}

/// Runs the handler on `req` and checks everything the module docs promise.
fn check(req: &ApiGatewayProxyRequest) -> ApiGatewayProxyResponse {
    let path = req.path.clone().unwrap_or_default();
    let what = format!("{} {:.120}", req.http_method, path);
    let f = Counting(store(), AtomicUsize::new(0));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let (resp, peak) = measure(|| rt.block_on(handle(req, &f)));
    assert_memory_bounded(&what, peak, request_size(req), PER_BYTE);
    let v = body(&resp);
    match resp.status_code {
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
            assert_eq!(f.1.load(Ordering::Relaxed), 0, "{what}: read despite a 403");
        }
        200 => {
            if let Some(sc) = v.get("StockCode") {
                for l in v["lines"].as_array().expect("lines") {
                    assert_eq!(&l["StockCode"], sc, "{what}: another code's line");
                }
            }
        }
        400 | 404 | 405 => {
            let error = v["error"].as_str().unwrap_or_else(|| panic!("{what}: {v}"));
            assert!(error.len() > 8, "{what}: unclear error {error:?}");
            assert!(
                error.chars().count() <= MAX_ERROR_CHARS,
                "{what}: a {} character error",
                error.chars().count()
            );
            assert!(
                !error.chars().any(char::is_control),
                "{what}: raw control character in {error:?}"
            );
        }
        other => panic!("{what}: status {other}: {v}"),
    }
    resp
}

fn status_and_error(path: &str) -> (i64, String) {
    let resp = check(&get(path, &[]));
    let v = body(&resp);
    (
        resp.status_code,
        v["error"].as_str().unwrap_or("").to_owned(),
    )
}

/// Path segments: real keys, hostile ones, and arbitrary text.
fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(vec![
            "536365", "C536379", "A563185", "17850", "85123A", "71053", "85123A%23EVIL",
            "A%23B", "A", "..", "%2e%2e", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "%00", "%",
            "%+1", "%zz", "%C3%28", "%ED%A0%80", "%F0%9F%98%80", "85123A%00", "%20", "+",
            "0", "4294967296", "-1", "99999999999999", "C", "%0a", "%1b%5b2J", "a b",
            "85123A ", "%2F", "#", "?", "%3F", "%25", "%2525",
        ])
        .prop_map(str::to_owned),
        2 => "[ -~]{0,40}",
        1 => "\\PC{0,20}",
        1 => (1usize..5000).prop_map(|n| "9".repeat(n)),
    ]
}

fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => segment().prop_map(|s| format!("/invoices/{s}")),
        3 => (segment(), segment()).prop_map(|(a, b)| format!("/invoices/{a}/items/{b}")),
        2 => segment().prop_map(|s| format!("/customers/{s}/invoices")),
        1 => proptest::collection::vec(segment(), 0..6).prop_map(|s| format!("/{}", s.join("/"))),
        1 => "\\PC{0,60}",
    ]
}

fn query_value() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(vec![
            "1",
            "100",
            "101",
            "0",
            "-1",
            "+5",
            "2147483648",
            "",
            " 5"
        ])
        .prop_map(str::to_owned),
        "\\PC{0,30}",
        // Continuation tokens: base64 of arbitrary (often JSON-looking) text.
        "[{}\\[\\]\":,0-9a-zA-Z]{0,60}"
            .prop_map(|t| { base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(t) }),
    ]
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        8 => Just(Method::GET),
        1 => proptest::sample::select(vec![
            Method::POST, Method::PUT, Method::DELETE, Method::HEAD, Method::OPTIONS, Method::PATCH,
        ]),
    ]
}

proptest! {
    #![proptest_config(fuzzkit::config(1024))]

    #[test]
    fn generated_requests(
        method in method(),
        path in path(),
        limit in proptest::option::of(query_value()),
        next in proptest::option::of(query_value()),
        body in proptest::option::of(fuzzkit::hostile_bytes(10)),
    ) {
        let mut q = Vec::new();
        if let Some(l) = &limit {
            q.push(("limit", l.as_str()));
        }
        if let Some(n) = &next {
            q.push(("next", n.as_str()));
        }
        let mut req = get("/", &[]);
        req.http_method = method;
        req.path = Some(path);
        req.query_string_parameters = q
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<std::collections::HashMap<_, _>>()
            .into();
        if let Some(b) = body {
            req.body = Some(base64::engine::general_purpose::STANDARD.encode(b));
            req.is_base64_encoded = true;
        }
        check(&req);
    }
}

fn has_groups_claim(req: &ApiGatewayProxyRequest) -> bool {
    req.request_context
        .authorizer
        .fields
        .get("claims")
        .and_then(|c| c.get("cognito:groups"))
        .is_some()
}

/// Whether the event is one of the query function's routes: a GET of one of its templates.
fn is_query_route(req: &ApiGatewayProxyRequest) -> bool {
    req.http_method == Method::GET
        && req
            .resource
            .as_deref()
            .is_some_and(|r| GET_ROUTES.contains(&r))
}

#[test]
fn corpus_replays() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    for (path, bytes) in corpus(&dir) {
        eprintln!("{}", path.display());
        let req: ApiGatewayProxyRequest = serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("{} is not a proxy event: {e}", path.display()));
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let status = check(&req).status_code;
        if name.starts_with("denied-") || !has_groups_claim(&req) {
            // Nobody is allowed by default: no groups, no entry.
            assert_eq!(status, 403, "{name}");
        } else {
            assert_ne!(status, 403, "{name}");
        }
        if !has_groups_claim(&req) {
            // The same event from an analyst: the path and parameter checks, and a 403 only
            // for a method that is not a route (the old 405).
            let status = check(&with_groups(req.clone(), Some(json!("analysts")))).status_code;
            assert_eq!(status == 403, !is_query_route(&req), "{name}: {status}");
        }
    }
}

/// Callers: the `cognito:groups` claim in its forms, and whether it names `analysts`.
fn caller() -> impl Strategy<Value = (Option<Value>, bool)> {
    prop_oneof![
        3 => proptest::sample::select(vec![
            (Some(json!("analysts")), true),
            (Some(json!("producers,analysts")), true),
            (Some(json!("[producers analysts]")), true),
            (Some(json!(["analysts"])), true),
            (Some(json!(r#"["producers","analysts"]"#)), true),
            (Some(json!("producers")), false),
            (Some(json!("Analysts")), false),
            (Some(json!("analysts2")), false),
            (Some(json!("")), false),
            (Some(json!(null)), false),
            (Some(json!(1)), false),
            (None, false),
        ]),
        // Arbitrary text without an `l`: it can never name `analysts`.
        1 => "[a-km-z ,\\[\\]\"]{0,30}".prop_map(|t| (Some(Value::String(t)), false)),
    ]
}

/// Resources: mostly the function's own templates.
fn resource() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        3 => proptest::sample::select(GET_ROUTES.to_vec()).prop_map(|r| Some(r.to_owned())),
        1 => proptest::sample::select(vec![
            Some("/records"),
            Some("/invoices/{invoiceNo}/"),
            Some("/invoices/{id}"),
            Some(""),
            None,
        ])
        .prop_map(|r| r.map(str::to_owned)),
    ]
}

proptest! {
    #![proptest_config(fuzzkit::config(256))]

    /// The group check decides alone, before any read: an analyst's GET of one of the routes
    /// gets the route's answer, anyone or anything else a 403.
    #[test]
    fn generated_callers(
        (groups, analyst) in caller(),
        method in method(),
        resource in resource(),
        path in path(),
    ) {
        let mut req = with_groups(get("/", &[]), groups);
        req.http_method = method.clone();
        req.resource = resource.clone();
        req.request_context.resource_path = resource.clone();
        req.path = Some(path);
        let allowed = analyst && is_query_route(&req);
        let status = check(&req).status_code;
        prop_assert_eq!(status == 403, !allowed, "{} {:?}: {}", method, resource, status);
    }
}

#[test]
fn traversal_and_malformed_keys_are_400() {
    for path in [
        "/invoices/..%2F..%2Fetc%2Fpasswd",
        "/invoices/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/invoices/536365/items/..%2F..%2Fetc%2Fpasswd",
        "/invoices/536365/items/%2e%2e%2f",
        "/invoices/536365/items/..",
        "/invoices/536365/items/%2e%2e",
        "/invoices/536365%00",
        "/invoices/536365/items/85123A%00",
        "/invoices/536365/items/85123A%23",
        "/invoices/536365/items/%23",
        "/invoices/536365/items/85123A%0a",
        "/invoices/536365/items/%C2%A3",
        "/invoices/536365/items/%2F",
        "/invoices/536365/items/%2525",
        "/invoices/536365/items/%20",
        "/invoices/536365/items/85123A%20",
        "/customers/..%2F17850/invoices",
        "/customers/17850%00/invoices",
        "/invoices/%C3%28",
        "/invoices/%+1",
        "/invoices/%",
        "/invoices//items/85123A",
    ] {
        let (status, error) = status_and_error(path);
        assert_eq!(status, 400, "{path}: {error}");
        assert!(
            error.contains("is not") || error.contains("percent-encoded"),
            "{path}: {error}"
        );
    }
    // Unescaped traversal never matches a route: API Gateway would not route it either.
    for path in [
        "/invoices/../../etc/passwd",
        "/../invoices/536365/x",
        "/invoices/",
    ] {
        assert_eq!(status_and_error(path).0, 404, "{path}");
    }
}

/// Regression: the item query is `begins_with(LineKey, "A#")`, and the line key is
/// `<StockCode>#<hash>`, so asking for stock code `A` also returned a line whose own code was
/// `A#B` (the records crate accepts such codes when non-product codes are kept).
#[test]
fn a_stock_code_answers_only_for_itself() {
    let mut f = store();
    f.lines.push(line("536366", "A", 2, "2.00"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let r = rt.block_on(handle(&get("/invoices/536366/items/A", &[]), &f));
    assert_eq!(r.status_code, 200);
    let lines = body(&r)["lines"].as_array().unwrap().clone();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["StockCode"], "A");
    // Only `85123A#EVIL` exists under this prefix besides `85123A` itself.
    let r = rt.block_on(handle(&get("/invoices/536365/items/85123A", &[]), &f));
    let lines = body(&r)["lines"].as_array().unwrap().clone();
    assert_eq!(lines.len(), 1, "{lines:?}");
    // Nothing of its own: 404, not the other code's line.
    let mut f = store();
    f.lines.retain(|l| common::s(l, "StockCode") != "85123A");
    let r = rt.block_on(handle(&get("/invoices/536365/items/85123A", &[]), &f));
    assert_eq!(r.status_code, 404);
}

#[test]
fn over_long_keys_get_a_short_400() {
    for path in [
        format!("/invoices/{}", "9".repeat(100_000)),
        format!("/invoices/536365/items/{}", "A".repeat(100_000)),
        format!("/customers/{}/invoices", "1".repeat(100_000)),
        format!("/invoices/536365/items/{}", "%00".repeat(10_000)),
    ] {
        let (status, error) = status_and_error(&path);
        assert_eq!(status, 400, "{error:.100}");
        assert!(error.contains("more characters"), "{error}");
    }
    let (status, error) = status_and_error(&format!("/{}", "x/".repeat(50_000)));
    assert_eq!(status, 404);
    assert!(error.len() < 300, "{error}");
    // The longest accepted keys are still keys.
    assert_eq!(
        status_and_error(&format!("/invoices/C{}", "1".repeat(12))).0,
        404
    );
    assert_eq!(
        status_and_error(&format!("/invoices/536365/items/{}", "A".repeat(64))).0,
        404
    );
    assert_eq!(
        status_and_error(&format!("/invoices/{}", "1".repeat(13))).0,
        400
    );
}

#[test]
fn every_dataset_stock_code_shape_is_a_key() {
    for sc in [
        "85123A",
        "POST",
        "BANK%20CHARGES",
        "gift_0001_40",
        "DCGS0003",
        "m",
        "C2",
    ] {
        let (status, error) = status_and_error(&format!("/invoices/536399/items/{sc}"));
        assert_eq!(status, 404, "{sc}: {error}");
    }
}

#[test]
fn bodies_and_methods_do_not_matter_to_a_get() {
    let f = store();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let plain = rt.block_on(handle(&get("/invoices/536365", &[]), &f));
    let mut req = get("/invoices/536365", &[]);
    req.body = Some(base64::engine::general_purpose::STANDARD.encode(vec![0xff; 10 << 20]));
    req.is_base64_encoded = true;
    let with_body = check(&req);
    assert_eq!(with_body.status_code, plain.status_code);
    assert_eq!(body(&with_body), body(&plain));
    // Another method is another route, which no group may call.
    for m in [Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
        let mut req = get("/invoices/536365", &[]);
        req.http_method = m.clone();
        assert_eq!(check(&req).status_code, 403, "{m}");
    }
}
