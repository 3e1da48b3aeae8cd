//! Hostile requests through `local serve`'s HTTP front (`src/local/http.rs`) to the real
//! `ingest` and `query` handlers: what a client sees over HTTP, after the front has turned
//! the request into a proxy event (base64 for bodies that are not UTF-8 text, the raw path).
//!
//! No emulator: the functions' AWS clients point at a closed loopback port, and every request
//! here is refused before the handlers would call AWS (a call would fail and show up as a
//! 502 or 503, which the checks refuse). The routes are open (no authorizer), as the
//! Cognito checks are `tests/local_serve.rs`'s subject; the handlers see a caller in both
//! groups (the claims the authorizer would pass are added on the way), as their group check
//! is `tests/access.rs`'s.

use async_trait::async_trait;
use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_sdk_kinesis::config::retry::RetryConfig;
use aws_sdk_kinesis::config::{Credentials, Region};
use axum::http::Method;
use ecomflow_infra::local::auth::Authorizer;
use ecomflow_infra::local::functions::{ApiFunction, Ingest, Query};
use ecomflow_infra::local::http::{router, Api, Route, MAX_PAYLOAD_BYTES};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// A loopback address nothing listens on.
const NOWHERE: &str = "http://127.0.0.1:9";

/// A function called by a member of `producers` and `analysts`: the claims the Cognito
/// authorizer passes (comma-joined groups) are put into each event.
struct AsMember(Arc<dyn ApiFunction>);

#[async_trait]
impl ApiFunction for AsMember {
    async fn invoke(&self, mut event: ApiGatewayProxyRequest) -> ApiGatewayProxyResponse {
        event.request_context.authorizer.fields.insert(
            "claims".into(),
            serde_json::json!({"cognito:username": "tester", "cognito:groups": "analysts,producers"}),
        );
        self.0.invoke(event).await
    }
}

/// Serves the stack's four routes with the real handlers; returns the base URL.
async fn serve() -> (String, tokio::task::JoinHandle<()>) {
    let creds = Credentials::new("x", "x", None, None, "test");
    let kinesis = aws_sdk_kinesis::Client::from_conf(
        aws_sdk_kinesis::Config::builder()
            .behavior_version_latest()
            .region(Region::new("us-east-1"))
            .endpoint_url(NOWHERE)
            .credentials_provider(creds.clone())
            .retry_config(RetryConfig::disabled())
            .build(),
    );
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::Config::builder()
            .behavior_version_latest()
            .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
            .endpoint_url(NOWHERE)
            .credentials_provider(creds.clone())
            .build(),
    );
    let mut config = ingest::Config::from_lookup(|k| match k {
        "STREAM_NAME" => Some("orders".into()),
        "BUCKET" => Some("lake".into()),
        "ROUTE_GROUPS" => Some(r#"{"POST /records":["producers"]}"#.into()),
        _ => None,
    })
    .expect("an ingest config");
    config.max_attempts = 1;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::Config::builder()
            .behavior_version_latest()
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .endpoint_url(NOWHERE)
            .credentials_provider(creds.clone())
            .build(),
    );
    let ingest: Arc<dyn ApiFunction> =
        Arc::new(AsMember(Arc::new(Ingest::new(config, kinesis, s3))));
    let query_config = query::Config::from_lookup(|k| match k {
        "INVOICES_TABLE" => Some("invoices".into()),
        "CUSTOMERS_TABLE" => Some("customers".into()),
        "ROUTE_GROUPS" => Some(
            concat!(
                r#"{"GET /customers/{customerId}/invoices":["analysts"],"#,
                r#""GET /invoices/{invoiceNo}":["analysts"],"#,
                r#""GET /invoices/{invoiceNo}/items/{stockCode}":["analysts"]}"#
            )
            .into(),
        ),
        _ => None,
    })
    .expect("a query config");
    let query: Arc<dyn ApiFunction> =
        Arc::new(AsMember(Arc::new(Query::new(query_config, dynamodb))));
    let route = |method: Method, resource: &str, function: &Arc<dyn ApiFunction>| Route {
        method,
        resource: resource.into(),
        function_name: resource.into(),
        function: function.clone(),
        authorized: false,
        timeout: Duration::from_secs(29),
    };
    let api = Arc::new(Api {
        stage: "v1".into(),
        account: "123456789012".into(),
        routes: vec![
            route(Method::POST, "/records", &ingest),
            route(Method::GET, "/invoices/{invoiceNo}", &query),
            route(
                Method::GET,
                "/invoices/{invoiceNo}/items/{stockCode}",
                &query,
            ),
            route(Method::GET, "/customers/{customerId}/invoices", &query),
        ],
        authorizer: Arc::new(Authorizer::with_keys(
            "https://issuer.invalid".into(),
            Vec::new(),
            jsonwebtoken::jwk::JwkSet { keys: Vec::new() },
        )),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = router(api)
        .unwrap()
        .into_make_service_with_connect_info::<SocketAddr>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (base, task)
}

/// The status and the message (`error` from a handler, `message` from the front).
async fn answer(r: reqwest::RequestBuilder) -> (u16, String) {
    let resp = r.send().await.expect("a response");
    let status = resp.status().as_u16();
    let v: Value = resp.json().await.expect("a JSON answer");
    let message = v["error"]
        .as_str()
        .or_else(|| v["message"].as_str())
        .unwrap_or_else(|| panic!("no message in {v}"))
        .to_owned();
    assert!(message.len() < 1000, "{status}: {message:.200}");
    (status, message)
}

#[tokio::test]
async fn hostile_requests_get_a_clear_4xx_over_http() {
    let (base, server) = serve().await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let post = |ct: Option<&str>, body: Vec<u8>| {
        let mut r = http.post(format!("{base}/records")).body(body);
        if let Some(ct) = ct {
            r = r.header("content-type", ct);
        }
        r
    };
    let header =
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n";
    let latin1_csv = [
        header.as_bytes(),
        b"536365,85123A,HAND WARMER \xa3,6,12/1/2010 8:26,2.55,17850,United Kingdom\n",
    ]
    .concat();

    let cases: Vec<(&str, reqwest::RequestBuilder, u16, &str)> = vec![
        (
            "wrong content type",
            post(Some("application/xml"), b"<a/>".to_vec()),
            415,
            "send text/csv or application/json",
        ),
        (
            "declared UTF-8, sent Latin-1",
            post(Some("text/csv; charset=utf-8"), latin1_csv.clone()),
            400,
            "byte 0xA3",
        ),
        (
            "invalid UTF-8 JSON",
            post(
                Some("application/json"),
                b"{\"InvoiceNo\":\"\xff\"}".to_vec(),
            ),
            400,
            "not valid UTF-8",
        ),
        (
            "deep JSON",
            post(
                Some("application/json"),
                format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes(),
            ),
            400,
            "recursion limit exceeded",
        ),
        (
            "over the function's limit",
            post(Some("text/csv"), vec![b'a'; 7 << 20]),
            413,
            "6291456 byte limit",
        ),
        (
            "over API Gateway's limit",
            post(Some("text/csv"), vec![b'a'; MAX_PAYLOAD_BYTES + 1]),
            413,
            "Request Too Long",
        ),
        (
            "encoded traversal in an invoice number",
            http.get(format!("{base}/invoices/..%2F..%2Fetc%2Fpasswd")),
            400,
            "is not an invoice number",
        ),
        (
            "encoded traversal in a stock code",
            http.get(format!(
                "{base}/invoices/536365/items/..%2F..%2Fetc%2Fpasswd"
            )),
            400,
            "is not a stock code",
        ),
        (
            "the sort key separator in a stock code",
            http.get(format!("{base}/invoices/536365/items/85123A%23x")),
            400,
            "is not a stock code",
        ),
        (
            "NUL in a key",
            http.get(format!("{base}/invoices/536365%00")),
            400,
            "\\0",
        ),
        (
            "an over-long key",
            http.get(format!("{base}/invoices/536365/items/{}", "A".repeat(5000))),
            400,
            "more characters",
        ),
        (
            "a customer id past 32 bits",
            http.get(format!("{base}/customers/4294967296/invoices")),
            400,
            "is not a customer id",
        ),
    ];
    for (what, request, status, fragment) in cases {
        let (got, message) = answer(request).await;
        assert_eq!(got, status, "{what}: {message:.200}");
        assert!(message.contains(fragment), "{what}: {message:.200}");
    }
    // The dataset's own encoding, undeclared, is read as Latin-1: refused here only because
    // the stream is unreachable, after cleaning (503 with the counts, not a 4xx).
    let resp = post(Some("text/csv"), latin1_csv).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 503);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["failed"], 1);
    server.abort();
}
