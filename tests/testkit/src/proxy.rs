//! A loopback HTTP proxy in front of the emulator: it adds latency to every call and can
//! enforce per-operation rate quotas, answering beyond them the way the service does.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

/// A rate quota shared by a set of operations (a quota category), enforced as a token bucket
/// holding at most one second of calls.
#[derive(Debug, Clone)]
pub struct Quota {
    /// Category name, e.g. `UserCreation`.
    pub category: &'static str,
    /// Operations it covers (the part of `X-Amz-Target` after the dot, e.g. `AdminCreateUser`).
    pub operations: Vec<&'static str>,
    /// Calls per second.
    pub per_second: f64,
}

impl Quota {
    /// Cognito user pool quotas at their documented defaults: UserCreation 50, UserUpdate 25,
    /// UserList 30, UserRead 120 requests per second.
    pub fn cognito_defaults() -> Vec<Quota> {
        vec![
            Quota {
                category: "UserCreation",
                operations: vec!["AdminCreateUser"],
                per_second: 50.0,
            },
            Quota {
                category: "UserUpdate",
                operations: vec![
                    "AdminUpdateUserAttributes",
                    "AdminAddUserToGroup",
                    "AdminRemoveUserFromGroup",
                    "AdminDisableUser",
                    "AdminEnableUser",
                    "AdminDeleteUser",
                ],
                per_second: 25.0,
            },
            Quota {
                category: "UserList",
                operations: vec!["ListUsers", "ListUsersInGroup"],
                per_second: 30.0,
            },
            Quota {
                category: "UserRead",
                operations: vec!["AdminListGroupsForUser", "AdminGetUser"],
                per_second: 120.0,
            },
        ]
    }
}

/// What the proxy saw, per operation.
#[derive(Debug, Clone, Default)]
pub struct OperationStats {
    /// Calls forwarded to the emulator.
    pub forwarded: u64,
    /// Calls answered with a throttling error.
    pub throttled: u64,
    /// Time of the first and last forwarded call.
    pub first: Option<Instant>,
    /// See `first`.
    pub last: Option<Instant>,
}

impl OperationStats {
    /// Forwarded calls per second between the first and the last one.
    pub fn rate(&self) -> f64 {
        match (self.first, self.last) {
            (Some(a), Some(b)) if b > a && self.forwarded > 1 => {
                (self.forwarded - 1) as f64 / (b - a).as_secs_f64()
            }
            _ => 0.0,
        }
    }
}

struct Bucket {
    tokens: f64,
    per_second: f64,
    at: Instant,
}

#[derive(Default)]
struct State {
    buckets: HashMap<&'static str, Bucket>,
    category_of: HashMap<&'static str, &'static str>,
    stats: HashMap<String, OperationStats>,
    total: u64,
}

impl State {
    /// Takes a token for `op`'s category; false if the quota is exhausted.
    fn admit(&mut self, op: &str) -> bool {
        let Some(category) = self.category_of.get(op) else {
            return true;
        };
        let b = self.buckets.get_mut(category).expect("bucket per category");
        let now = Instant::now();
        b.tokens =
            (b.tokens + (now - b.at).as_secs_f64() * b.per_second).min(b.per_second.max(1.0));
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// A running proxy; stops when dropped.
pub struct LatencyProxy {
    /// `http://127.0.0.1:<port>`: point the SDK here.
    pub endpoint: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

type ProxyClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

/// The operation of a request: the `X-Amz-Target` suffix (JSON protocols), the `Action`
/// query or form parameter (query protocols), else method and path.
fn operation(parts: &hyper::http::request::Parts, body: &[u8]) -> String {
    if let Some(target) = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
    {
        return target.rsplit('.').next().unwrap_or(target).to_string();
    }
    let query = parts.uri.query().unwrap_or("");
    let form = std::str::from_utf8(body).unwrap_or("");
    for pair in query.split('&').chain(form.split('&')) {
        if let Some(action) = pair.strip_prefix("Action=") {
            return action.to_string();
        }
    }
    format!("{} {}", parts.method, parts.uri.path())
}

fn throttled() -> Response<Full<Bytes>> {
    Response::builder()
        .status(400)
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amzn-errortype", "TooManyRequestsException")
        .body(Full::new(Bytes::from_static(
            br#"{"__type":"TooManyRequestsException","message":"Rate exceeded"}"#,
        )))
        .expect("static response")
}

async fn forward(
    client: ProxyClient,
    upstream: Arc<str>,
    delay: Duration,
    state: Arc<Mutex<State>>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    tokio::time::sleep(delay).await;
    let (mut parts, body) = req.into_parts();
    let body = body.collect().await?.to_bytes();
    let op = operation(&parts, &body);
    {
        let mut s = state.lock().expect("proxy state");
        s.total += 1;
        let admitted = s.admit(&op);
        let stats = s.stats.entry(op).or_default();
        if !admitted {
            stats.throttled += 1;
            return Ok(throttled());
        }
        let now = Instant::now();
        stats.forwarded += 1;
        stats.first.get_or_insert(now);
        stats.last = Some(now);
    }
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    parts.uri = format!("{upstream}{path}")
        .parse::<Uri>()
        .expect("upstream URI");
    match client
        .request(Request::from_parts(parts, Full::new(body)))
        .await
    {
        Ok(resp) => {
            let (parts, body) = resp.into_parts();
            let body = body.collect().await?.to_bytes();
            Ok(Response::from_parts(parts, Full::new(body)))
        }
        Err(e) => Ok(Response::builder()
            .status(502)
            .body(Full::new(Bytes::from(format!(
                "proxy: upstream failed: {e}"
            ))))
            .expect("static response")),
    }
}

impl LatencyProxy {
    /// Starts a proxy to `upstream` (e.g. `http://127.0.0.1:5000`) adding `delay` per call.
    pub async fn start(upstream: &str, delay: Duration) -> LatencyProxy {
        Self::with_quotas(upstream, delay, Vec::new()).await
    }

    /// Like [`LatencyProxy::start`], also enforcing `quotas`.
    pub async fn with_quotas(upstream: &str, delay: Duration, quotas: Vec<Quota>) -> LatencyProxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let endpoint = format!("http://{}", listener.local_addr().expect("local address"));
        let upstream: Arc<str> = Arc::from(upstream.trim_end_matches('/'));
        let mut state = State::default();
        for q in &quotas {
            state.buckets.insert(
                q.category,
                Bucket {
                    tokens: q.per_second.max(1.0),
                    per_second: q.per_second,
                    at: Instant::now(),
                },
            );
            for op in &q.operations {
                state.category_of.insert(op, q.category);
            }
        }
        let state = Arc::new(Mutex::new(state));
        let client: ProxyClient = Client::builder(TokioExecutor::new()).build_http();
        let shared = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (client, upstream, state) = (client.clone(), upstream.clone(), shared.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        forward(client.clone(), upstream.clone(), delay, state.clone(), req)
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        LatencyProxy {
            endpoint,
            state,
            task,
        }
    }

    /// Calls received so far (throttled ones included).
    pub fn calls(&self) -> u64 {
        self.state.lock().expect("proxy state").total
    }

    /// What happened per operation so far.
    pub fn stats(&self) -> HashMap<String, OperationStats> {
        self.state.lock().expect("proxy state").stats.clone()
    }

    /// Forgets the counts (quotas keep their state).
    pub fn reset_stats(&self) {
        let mut s = self.state.lock().expect("proxy state");
        s.stats.clear();
        s.total = 0;
    }
}

impl Drop for LatencyProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}
