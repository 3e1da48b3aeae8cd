//! The API Gateway front: the stack's REST routes on an axum router. Each request is
//! authorized (Cognito), turned into the proxy event API Gateway's `AWS_PROXY` integration
//! builds, handed to the route's function, and its proxy response becomes the HTTP response.
//!
//! Gateway answers (JSON, like API Gateway's own): unknown path 404, known path with another
//! method 405, missing or bad token 401 `{"message":"Unauthorized"}` (the function is not
//! called), body over 10 MB 413, a function that panics or answers a malformed response 502,
//! one that outlasts its timeout (at most API Gateway's 29 s) 504.

use super::auth::{AuthError, Authorizer, Claims};
use super::functions::{spawn_with_timeout, ApiFunction, InvokeError};
use aws_lambda_events::apigw::{
    ApiGatewayProxyRequest, ApiGatewayProxyRequestContext, ApiGatewayProxyResponse,
};
use aws_lambda_events::encodings::Body as LambdaBody;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequest, RawPathParams, Request};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter};
use axum::Router;
use base64::Engine as _;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// API Gateway's largest request payload.
pub const MAX_PAYLOAD_BYTES: usize = 10 * 1024 * 1024;

/// API Gateway's longest integration wait.
pub const MAX_INTEGRATION_TIMEOUT: Duration = Duration::from_secs(29);

/// One route of the API.
#[derive(Clone)]
pub struct Route {
    /// HTTP method.
    pub method: Method,
    /// The resource template, e.g. `/invoices/{invoiceNo}` (also the axum path).
    pub resource: String,
    /// Name of the Lambda function behind it (for logs).
    pub function_name: String,
    /// The function.
    pub function: Arc<dyn ApiFunction>,
    /// Whether the route is behind the Cognito authorizer (`COGNITO_USER_POOLS`).
    pub authorized: bool,
    /// How long the function may take (its timeout, at most [`MAX_INTEGRATION_TIMEOUT`]).
    pub timeout: Duration,
}

/// Everything the front needs: the stage, the account, the routes and the authorizer.
pub struct Api {
    /// Stage name (`requestContext.stage`, and the prefix of `requestContext.path`).
    pub stage: String,
    /// The account ID (`requestContext.accountId`).
    pub account: String,
    /// The routes.
    pub routes: Vec<Route>,
    /// The Cognito authorizer of the authorized routes.
    pub authorizer: Arc<Authorizer>,
}

/// A JSON `{"message": ...}` answer, the shape of API Gateway's own errors.
pub fn message(status: StatusCode, text: &str) -> Response {
    let mut r = (status, serde_json::json!({ "message": text }).to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// The router of the API's routes (serve it with connect info: the source IP goes into the
/// event). A route with a method axum cannot route (e.g. API Gateway's `ANY`) is an error.
pub fn router(api: Arc<Api>) -> anyhow::Result<Router> {
    let mut by_path: BTreeMap<String, MethodRouter> = BTreeMap::new();
    for route in &api.routes {
        let filter = MethodFilter::try_from(route.method.clone()).map_err(|_| {
            anyhow::anyhow!(
                "route {} {}: method not supported locally",
                route.method,
                route.resource
            )
        })?;
        let resource = route.resource.clone();
        let (api, route) = (api.clone(), Arc::new(route.clone()));
        let handler = move |ConnectInfo(peer): ConnectInfo<SocketAddr>,
                            params: RawPathParams,
                            req: Request| {
            let (api, route) = (api.clone(), route.clone());
            async move { call(&api, &route, peer, &params, req).await }
        };
        let methods = by_path.remove(&resource).unwrap_or_default();
        by_path.insert(resource, methods.on(filter, handler));
    }
    let mut router = Router::new();
    for (path, methods) in by_path {
        router = router.route(&path, methods);
    }
    Ok(router
        .fallback(|| async { message(StatusCode::NOT_FOUND, "Not Found") })
        .method_not_allowed_fallback(|| async {
            message(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
        })
        .layer(DefaultBodyLimit::max(MAX_PAYLOAD_BYTES)))
}

/// One request through the route: authorize, read the body, build the event, invoke.
async fn call(
    api: &Api,
    route: &Route,
    peer: SocketAddr,
    params: &RawPathParams,
    req: Request,
) -> Response {
    let started = Instant::now();
    let (method, uri) = (req.method().clone(), req.uri().clone());
    let response = answer(api, route, peer, params, req).await;
    tracing::info!(
        method = %method,
        path = uri.path(),
        function = route.function_name,
        status = response.status().as_u16(),
        millis = started.elapsed().as_millis() as u64,
        "request"
    );
    response
}

async fn answer(
    api: &Api,
    route: &Route,
    peer: SocketAddr,
    params: &RawPathParams,
    req: Request,
) -> Response {
    let claims = if route.authorized {
        match api.authorizer.authorize(req.headers()).await {
            Ok(c) => Some(c),
            Err(e) => {
                match &e {
                    AuthError::Keys(_) => tracing::warn!(error = %e, "unauthorized"),
                    _ => tracing::info!(error = %e, "unauthorized"),
                }
                return message(StatusCode::UNAUTHORIZED, "Unauthorized");
            }
        }
    } else {
        None
    };
    let (method, uri, headers) = (
        req.method().clone(),
        req.uri().clone(),
        req.headers().clone(),
    );
    let body = match Bytes::from_request(req, &()).await {
        Ok(b) => b,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return message(StatusCode::PAYLOAD_TOO_LARGE, "Request Too Long");
        }
        Err(rejection) => {
            return message(StatusCode::BAD_REQUEST, &rejection.body_text());
        }
    };
    let path_parameters = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let incoming = Incoming {
        method,
        uri,
        headers,
        body,
        peer,
        path_parameters,
    };
    let event = build_event(
        &incoming,
        &route.resource,
        &api.stage,
        &api.account,
        claims.as_ref(),
        chrono::Utc::now(),
    );
    let function = route.function.clone();
    match spawn_with_timeout(route.timeout, async move { function.invoke(event).await }).await {
        Ok(r) => proxy_response(r),
        Err(e @ InvokeError::Panicked(_)) => {
            tracing::error!(function = route.function_name, error = %e, "function failed");
            message(StatusCode::BAD_GATEWAY, "Internal server error")
        }
        Err(e @ InvokeError::TimedOut(_)) => {
            tracing::error!(function = route.function_name, error = %e, "function timed out");
            message(StatusCode::GATEWAY_TIMEOUT, "Endpoint request timed out")
        }
    }
}

/// A request as received, before it becomes a proxy event.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// Method.
    pub method: Method,
    /// URI (path and query as sent).
    pub uri: Uri,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Bytes,
    /// The client's address.
    pub peer: SocketAddr,
    /// Path parameters of the matched resource (percent-decoded).
    pub path_parameters: HashMap<String, String>,
}

/// Whether API Gateway would pass this body as text: no content encoding, valid UTF-8, and a
/// textual (or no) content type. Anything else is passed base64-encoded.
pub fn is_text_body(headers: &HeaderMap, body: &[u8]) -> bool {
    let encoded = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| !v.trim().is_empty() && !v.trim().eq_ignore_ascii_case("identity"));
    if encoded || std::str::from_utf8(body).is_err() {
        return false;
    }
    let Some(ct) = headers.get(header::CONTENT_TYPE) else {
        return true;
    };
    let ct = ct.to_str().unwrap_or("").to_ascii_lowercase();
    ct.starts_with("text/")
        || [
            "json",
            "xml",
            "csv",
            "javascript",
            "x-www-form-urlencoded",
            "yaml",
        ]
        .iter()
        .any(|t| ct.contains(t))
}

/// Decodes a query string as API Gateway does: values percent-decoded (`+` as a space);
/// single-value parameters keep the last value, multi-value ones every value in order.
pub fn query_parameters(
    query: Option<&str>,
) -> (HashMap<String, String>, HashMap<String, Vec<String>>) {
    let decode = |s: &str| {
        let spaced = s.replace('+', " ");
        urlencoding::decode(&spaced)
            .map(|c| c.into_owned())
            .unwrap_or(spaced)
    };
    let mut single = HashMap::new();
    let mut multi: HashMap<String, Vec<String>> = HashMap::new();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (decode(k), decode(v));
        single.insert(k.clone(), v.clone());
        multi.entry(k).or_default().push(v);
    }
    (single, multi)
}

/// A fresh request ID in UUID form.
fn request_id() -> String {
    let b: [u8; 16] = rand::random();
    let h = hex::encode(b);
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

/// The proxy event API Gateway's `AWS_PROXY` integration sends for `incoming` on the route
/// `resource` of `stage`: resource, path, method, headers (last value and every value), query
/// parameters (likewise), path parameters, body (base64 when not text), and the request
/// context with stage, resource path, method, identity and the authorizer's claims.
pub fn build_event(
    incoming: &Incoming,
    resource: &str,
    stage: &str,
    account: &str,
    claims: Option<&Claims>,
    now: chrono::DateTime<chrono::Utc>,
) -> ApiGatewayProxyRequest {
    let path = incoming.uri.path().to_string();
    let mut headers = HeaderMap::new();
    for name in incoming.headers.keys() {
        if let Some(last) = incoming.headers.get_all(name).iter().next_back() {
            headers.insert(name.clone(), last.clone());
        }
    }
    let (single, multi) = query_parameters(incoming.uri.query());
    let (body, is_base64_encoded) = if incoming.body.is_empty() {
        (None, false)
    } else if is_text_body(&incoming.headers, &incoming.body) {
        (
            Some(String::from_utf8_lossy(&incoming.body).into_owned()),
            false,
        )
    } else {
        (
            Some(base64::engine::general_purpose::STANDARD.encode(&incoming.body)),
            true,
        )
    };

    let mut context = ApiGatewayProxyRequestContext::default();
    context.account_id = Some(account.to_string());
    context.stage = Some(stage.to_string());
    context.resource_path = Some(resource.to_string());
    context.path = Some(format!("/{stage}{path}"));
    context.http_method = incoming.method.clone();
    context.request_id = Some(request_id());
    context.protocol = Some("HTTP/1.1".into());
    context.domain_name = incoming
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string);
    context.request_time = Some(now.format("%d/%b/%Y:%H:%M:%S +0000").to_string());
    context.request_time_epoch = now.timestamp_millis();
    context.identity.source_ip = Some(incoming.peer.ip().to_string());
    context.identity.user_agent = incoming
        .headers
        .get(header::USER_AGENT)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string);
    if let Some(claims) = claims {
        context.authorizer.fields.insert(
            "claims".into(),
            serde_json::to_value(claims).unwrap_or_default(),
        );
    }

    let mut event = ApiGatewayProxyRequest::default();
    event.resource = Some(resource.to_string());
    event.path = Some(path);
    event.http_method = incoming.method.clone();
    event.headers = headers;
    event.multi_value_headers = incoming.headers.clone();
    event.query_string_parameters = single.into();
    event.multi_value_query_string_parameters = multi.into();
    event.path_parameters = incoming.path_parameters.clone();
    event.request_context = context;
    event.body = body;
    event.is_base64_encoded = is_base64_encoded;
    event
}

/// The HTTP response of a function's proxy response. A status outside 100..=599 or a body
/// flagged base64 that does not decode is a malformed answer: 502, as API Gateway says.
pub fn proxy_response(r: ApiGatewayProxyResponse) -> Response {
    let malformed = |why: &str| {
        tracing::error!(why, "malformed Lambda proxy response");
        message(StatusCode::BAD_GATEWAY, "Internal server error")
    };
    let status = match u16::try_from(r.status_code)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
    {
        Some(s) => s,
        None => return malformed("status code out of range"),
    };
    let bytes = match r.body {
        None | Some(LambdaBody::Empty) => Vec::new(),
        Some(LambdaBody::Binary(b)) => b,
        Some(LambdaBody::Text(t)) if r.is_base64_encoded => {
            match base64::engine::general_purpose::STANDARD.decode(t.trim()) {
                Ok(b) => b,
                Err(_) => return malformed("body flagged base64 does not decode"),
            }
        }
        Some(LambdaBody::Text(t)) => t.into_bytes(),
        Some(_) => Vec::new(),
    };
    let mut out = Response::new(Body::from(bytes));
    *out.status_mut() = status;
    let h = out.headers_mut();
    for (name, value) in &r.headers {
        h.insert(name.clone(), value.clone());
    }
    for name in r.multi_value_headers.keys() {
        h.remove(name);
        for value in r.multi_value_headers.get_all(name) {
            h.append(name.clone(), value.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::auth::{self, tests as keys};
    use super::*;
    use async_trait::async_trait;
    use serde_json::{json, Value};

    fn incoming(method: Method, uri: &str, headers: &[(&str, &str)], body: &[u8]) -> Incoming {
        let mut h = HeaderMap::new();
        for (k, v) in headers {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        Incoming {
            method,
            uri: uri.parse().unwrap(),
            headers: h,
            body: Bytes::copy_from_slice(body),
            peer: "127.0.0.1:54321".parse().unwrap(),
            path_parameters: HashMap::from([("invoiceNo".into(), "536365".into())]),
        }
    }

    #[test]
    fn the_event_is_what_the_proxy_integration_sends() {
        let i = incoming(
            Method::GET,
            "/invoices/536365?limit=5&tag=a&tag=b%20c&q=x+y",
            &[
                ("host", "127.0.0.1:8080"),
                ("user-agent", "curl/8"),
                ("x-multi", "one"),
                ("x-multi", "two"),
            ],
            b"",
        );
        let claims = Claims::from([("cognito:username".into(), "alice".into())]);
        let now = chrono::DateTime::from_timestamp(1_291_191_960, 0).unwrap();
        let e = build_event(
            &i,
            "/invoices/{invoiceNo}",
            "v1",
            "123456789012",
            Some(&claims),
            now,
        );
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["resource"], "/invoices/{invoiceNo}");
        assert_eq!(v["path"], "/invoices/536365");
        assert_eq!(v["httpMethod"], "GET");
        assert_eq!(v["headers"]["x-multi"], "two");
        assert_eq!(v["multiValueHeaders"]["x-multi"], json!(["one", "two"]));
        assert_eq!(v["pathParameters"]["invoiceNo"], "536365");
        assert_eq!(v["queryStringParameters"]["limit"], "5");
        assert_eq!(v["queryStringParameters"]["tag"], "b c");
        assert_eq!(v["queryStringParameters"]["q"], "x y");
        assert_eq!(
            v["multiValueQueryStringParameters"]["tag"],
            json!(["a", "b c"])
        );
        assert_eq!(v["body"], Value::Null);
        assert_eq!(v["isBase64Encoded"], false);
        let c = &v["requestContext"];
        assert_eq!(c["stage"], "v1");
        assert_eq!(c["resourcePath"], "/invoices/{invoiceNo}");
        assert_eq!(c["path"], "/v1/invoices/536365");
        assert_eq!(c["httpMethod"], "GET");
        assert_eq!(c["accountId"], "123456789012");
        assert_eq!(c["requestTime"], "01/Dec/2010:08:26:00 +0000");
        assert_eq!(c["requestTimeEpoch"], 1_291_191_960_000_i64);
        assert_eq!(c["identity"]["sourceIp"], "127.0.0.1");
        assert_eq!(c["identity"]["userAgent"], "curl/8");
        assert_eq!(c["authorizer"]["claims"]["cognito:username"], "alice");
        assert_eq!(c["requestId"].as_str().unwrap().len(), 36);
        // The handler reads the single-value map with `first`.
        assert_eq!(e.query_string_parameters.first("tag"), Some("b c"));
    }

    #[test]
    fn bodies_are_text_unless_binary_or_encoded() {
        let csv = "InvoiceNo,StockCode\n536365,85123A\n";
        let text = build_event(
            &incoming(
                Method::POST,
                "/records",
                &[("content-type", "text/csv")],
                csv.as_bytes(),
            ),
            "/records",
            "v1",
            "1",
            None,
            chrono::Utc::now(),
        );
        assert_eq!(text.body.as_deref(), Some(csv));
        assert!(!text.is_base64_encoded);
        assert!(text.request_context.authorizer.fields.is_empty());
        // Latin-1 bytes are not UTF-8: base64, which the handler decodes.
        let latin1 = b"536365,85123A,CAF\xc9\n";
        let bin = build_event(
            &incoming(
                Method::POST,
                "/records",
                &[("content-type", "text/csv")],
                latin1,
            ),
            "/records",
            "v1",
            "1",
            None,
            chrono::Utc::now(),
        );
        assert!(bin.is_base64_encoded);
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(bin.body.unwrap())
                .unwrap(),
            latin1
        );
        let mut h = HeaderMap::new();
        assert!(is_text_body(&h, b"{}"));
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        assert!(!is_text_body(&h, b"{}"));
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        assert!(is_text_body(&h, b"{}"));
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        assert!(!is_text_body(&h, b"{}"));
    }

    #[tokio::test]
    async fn proxy_responses_become_http_responses() {
        let mut r = ApiGatewayProxyResponse::default();
        r.status_code = 202;
        r.headers
            .insert("content-type", HeaderValue::from_static("application/json"));
        r.multi_value_headers
            .append("x-a", HeaderValue::from_static("1"));
        r.multi_value_headers
            .append("x-a", HeaderValue::from_static("2"));
        r.body = Some(LambdaBody::Text("{\"accepted\":1}".into()));
        let out = proxy_response(r);
        assert_eq!(out.status(), StatusCode::ACCEPTED);
        assert_eq!(out.headers()["content-type"], "application/json");
        assert_eq!(out.headers().get_all("x-a").iter().count(), 2);
        let body = axum::body::to_bytes(out.into_body(), 1024).await.unwrap();
        assert_eq!(&body[..], b"{\"accepted\":1}");

        let mut b64 = ApiGatewayProxyResponse::default();
        b64.status_code = 200;
        b64.is_base64_encoded = true;
        b64.body = Some(LambdaBody::Text("AAEC".into()));
        let out = proxy_response(b64);
        let body = axum::body::to_bytes(out.into_body(), 1024).await.unwrap();
        assert_eq!(&body[..], [0u8, 1, 2]);

        let mut bad = ApiGatewayProxyResponse::default();
        bad.status_code = 1000;
        assert_eq!(proxy_response(bad).status(), StatusCode::BAD_GATEWAY);
    }

    /// Answers with the event it got, as JSON.
    struct Echo;

    #[async_trait]
    impl ApiFunction for Echo {
        async fn invoke(&self, event: ApiGatewayProxyRequest) -> ApiGatewayProxyResponse {
            let mut r = ApiGatewayProxyResponse::default();
            r.status_code = 200;
            r.body = Some(LambdaBody::Text(serde_json::to_string(&event).unwrap()));
            r
        }
    }

    /// Serves the router with an echo function on the stack's four routes, plus an open one.
    async fn serve_echo() -> (String, tokio::task::JoinHandle<()>) {
        let route = |method: Method, resource: &str, function: &str, authorized: bool| Route {
            method,
            resource: resource.into(),
            function_name: function.into(),
            function: Arc::new(Echo),
            authorized,
            timeout: Duration::from_secs(5),
        };
        let api = Arc::new(Api {
            stage: "v1".into(),
            account: "123456789012".into(),
            routes: vec![
                route(Method::POST, "/records", "ingest", true),
                route(Method::GET, "/invoices/{invoiceNo}", "query", true),
                route(
                    Method::GET,
                    "/invoices/{invoiceNo}/items/{stockCode}",
                    "query",
                    true,
                ),
                route(
                    Method::GET,
                    "/customers/{customerId}/invoices",
                    "query",
                    true,
                ),
                route(Method::GET, "/health", "open", false),
            ],
            authorizer: Arc::new(Authorizer::with_keys(
                auth::issuer("us-east-1", keys::POOL),
                vec![keys::CLIENT.into()],
                keys::test_keys(),
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

    #[tokio::test]
    async fn routes_methods_auth_and_limits() {
        let (base, server) = serve_echo().await;
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let token = keys::sign(&keys::id_claims());
        let get = |path: &str, auth: Option<&str>| {
            let mut r = http.get(format!("{base}{path}"));
            if let Some(a) = auth {
                r = r.header("authorization", a);
            }
            r.send()
        };

        let r = get("/invoices/536365/items/85123A", Some(&token))
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["resource"], "/invoices/{invoiceNo}/items/{stockCode}");
        assert_eq!(e["pathParameters"]["stockCode"], "85123A");
        assert_eq!(
            e["requestContext"]["authorizer"]["claims"]["aud"],
            keys::CLIENT
        );

        let r = get(
            "/customers/17850/invoices?limit=2",
            Some(&format!("Bearer {token}")),
        )
        .await
        .unwrap();
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["resource"], "/customers/{customerId}/invoices");
        assert_eq!(e["queryStringParameters"]["limit"], "2");

        for auth in [None, Some("garbage"), Some(&token[..token.len() - 4])] {
            let r = get("/invoices/536365", auth).await.unwrap();
            assert_eq!(r.status(), 401);
            assert_eq!(
                r.json::<Value>().await.unwrap(),
                json!({"message": "Unauthorized"})
            );
        }
        assert_eq!(get("/health", None).await.unwrap().status(), 200);

        let r = get("/nope", Some(&token)).await.unwrap();
        assert_eq!(r.status(), 404);
        assert_eq!(r.json::<Value>().await.unwrap()["message"], "Not Found");
        let r = get("/records", Some(&token)).await.unwrap();
        assert_eq!(r.status(), 405);
        assert_eq!(
            r.json::<Value>().await.unwrap()["message"],
            "Method Not Allowed"
        );

        let r = http
            .post(format!("{base}/records"))
            .header("authorization", &token)
            .header("content-type", "text/csv")
            .body("InvoiceNo\n1\n")
            .send()
            .await
            .unwrap();
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["body"], "InvoiceNo\n1\n");
        assert_eq!(e["requestContext"]["resourcePath"], "/records");

        let r = http
            .post(format!("{base}/records"))
            .header("authorization", &token)
            .body(vec![b'a'; MAX_PAYLOAD_BYTES + 1])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 413);
        server.abort();
    }
}
