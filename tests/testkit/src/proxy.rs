//! A loopback HTTP proxy in front of the emulator: it adds latency (fixed or jittered) to every
//! call, can enforce per-operation rate quotas, and can inject faults (throttling, HTTP 500 and
//! 503, dropped connections) at given rates, each answered the way the real service answers,
//! in its own wire format. Fault decisions come from a seeded generator (see
//! [`crate::faults`]), so a failing run replays with the same seed.
//!
//! A dropped connection is closed in one of three places: after the whole request was read,
//! before forwarding it ([`Fault::DropRequest`]); after forwarding, before any byte of the
//! answer ([`Fault::DropResponse`]); or after forwarding, mid-answer ([`Fault::CutResponse`]):
//! the real status line and headers, with the real `Content-Length`, then the first half of
//! the body, then the close, so the client sees a body shorter than announced. An answer whose
//! body is under 2 bytes cannot be cut and is dropped before any byte instead (and counted so).

use crate::faults::{decide, fnv1a, Fault, Faults, Latency};
use crate::gate::{Gate, Held, Pass};
use crate::wire::{self, ErrorKind};
use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::header::{HeaderValue, CONTENT_LENGTH, TRANSFER_ENCODING};
use hyper::service::service_fn;
use hyper::{Request, Response, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
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
    /// Calls forwarded to the emulator (including those whose answer was then dropped).
    pub forwarded: u64,
    /// Calls answered with a throttling error (quota or injected).
    pub throttled: u64,
    /// Calls answered with an injected HTTP 500 or 503.
    pub server_errors: u64,
    /// Connections closed before forwarding.
    pub dropped_requests: u64,
    /// Connections closed after forwarding, before any byte of the answer.
    pub dropped_responses: u64,
    /// Connections closed after forwarding, mid-answer (status, headers, part of the body).
    pub cut_responses: u64,
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

/// Everything a proxy can do besides forwarding: latency, quotas and the fault mix.
#[derive(Debug, Clone, Default)]
pub struct ProxyConfig {
    /// Added before each request is handled.
    pub latency: Latency,
    /// Per-operation rate quotas.
    pub quotas: Vec<Quota>,
    /// Injected faults.
    pub faults: Faults,
    /// Services forwarded to another upstream than the proxy's own: (SigV4 service name,
    /// upstream), e.g. `("kinesis", "http://127.0.0.1:5001")`.
    pub routes: Vec<(String, String)>,
}

/// One request's fate, in the order the proxy decided them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// SigV4 service name, e.g. `dynamodb`.
    pub service: String,
    /// Operation, as in [`LatencyProxy::stats`].
    pub operation: String,
    /// What the proxy did.
    pub fault: Fault,
}

/// What the proxy did so far: the seed, and counts per fault kind and per operation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultReport {
    /// The seed of the decisions (replay with `ECOMFLOW_FAULT_SEED=<seed>`).
    pub seed: u64,
    /// Requests received.
    pub calls: u64,
    /// Requests per fault kind ([`Fault::None`]: forwarded untouched).
    pub by_kind: BTreeMap<Fault, u64>,
    /// Requests per `service:operation` and fault kind (faulted requests only).
    pub by_operation: BTreeMap<String, BTreeMap<Fault, u64>>,
}

impl FaultReport {
    /// Requests of kind `fault`.
    pub fn count(&self, fault: Fault) -> u64 {
        self.by_kind.get(&fault).copied().unwrap_or(0)
    }

    /// Requests that got any fault (quota throttles included).
    pub fn faulted(&self) -> u64 {
        self.by_kind
            .iter()
            .filter(|(k, _)| **k != Fault::None)
            .map(|(_, n)| n)
            .sum()
    }
}

impl fmt::Display for FaultReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "seed {}: {} calls", self.seed, self.calls)?;
        for k in Fault::ALL {
            write!(f, ", {} {}", k.name(), self.count(k))?;
        }
        Ok(())
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
    /// Sightings per request content hash (the decisions' counter).
    seen: HashMap<u64, u64>,
    report: FaultReport,
    log: Vec<Decision>,
    /// Bumped by every [`LatencyProxy::reset_stats`], so a late correction of a decision
    /// recorded before a reset is not applied to the counts after it.
    epoch: u64,
}

/// Where [`State::record`] put a decision, for [`State::uncut`].
#[derive(Debug, Clone, Copy)]
struct Ticket {
    epoch: u64,
    index: usize,
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

    /// Records what was decided for one request.
    fn record(&mut self, service: &str, op: &str, fault: Fault) -> Ticket {
        self.total += 1;
        self.report.calls += 1;
        *self.report.by_kind.entry(fault).or_default() += 1;
        if fault != Fault::None {
            *self
                .report
                .by_operation
                .entry(format!("{service}:{op}"))
                .or_default()
                .entry(fault)
                .or_default() += 1;
        }
        self.log.push(Decision {
            service: service.to_string(),
            operation: op.to_string(),
            fault,
        });
        let stats = self.stats.entry(op.to_string()).or_default();
        match fault {
            Fault::None | Fault::DropResponse | Fault::CutResponse => {
                let now = Instant::now();
                stats.forwarded += 1;
                stats.first.get_or_insert(now);
                stats.last = Some(now);
                if fault == Fault::DropResponse {
                    stats.dropped_responses += 1;
                } else if fault == Fault::CutResponse {
                    stats.cut_responses += 1;
                }
            }
            Fault::Quota | Fault::Throttle => stats.throttled += 1,
            Fault::InternalError | Fault::Unavailable => stats.server_errors += 1,
            Fault::DropRequest => stats.dropped_requests += 1,
        }
        Ticket {
            epoch: self.epoch,
            index: self.log.len() - 1,
        }
    }

    /// Turns the [`Fault::CutResponse`] recorded at `ticket` into the [`Fault::DropResponse`]
    /// it became (an answer too short to cut), unless the counts were reset since.
    fn uncut(&mut self, ticket: Ticket) {
        if ticket.epoch != self.epoch {
            return;
        }
        let decision = &mut self.log[ticket.index];
        debug_assert_eq!(decision.fault, Fault::CutResponse);
        decision.fault = Fault::DropResponse;
        let key = format!("{}:{}", decision.service, decision.operation);
        let op = decision.operation.clone();
        for kinds in [
            Some(&mut self.report.by_kind),
            self.report.by_operation.get_mut(&key),
        ]
        .into_iter()
        .flatten()
        {
            if let Some(n) = kinds.get_mut(&Fault::CutResponse) {
                *n -= 1;
                if *n == 0 {
                    kinds.remove(&Fault::CutResponse);
                }
            }
            *kinds.entry(Fault::DropResponse).or_default() += 1;
        }
        if let Some(stats) = self.stats.get_mut(&op) {
            stats.cut_responses -= 1;
            stats.dropped_responses += 1;
        }
    }
}

/// A running proxy; stops when dropped. Also known as [`FaultProxy`].
pub struct LatencyProxy {
    /// `http://127.0.0.1:<port>`: point the SDK here.
    pub endpoint: String,
    seed: u64,
    state: Arc<Mutex<State>>,
    gate: Arc<Gate>,
    task: tokio::task::JoinHandle<()>,
}

/// The proxy under the name the reliability tests use.
pub type FaultProxy = LatencyProxy;

type ProxyClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

/// The body of the proxy's answers: a whole one, or a cut one ([`CutBody`]).
type ProxyBody = UnsyncBoxBody<Bytes, HandlerError>;

/// A whole answer's body.
fn whole(body: Full<Bytes>) -> ProxyBody {
    body.map_err(|never| match never {}).boxed_unsync()
}

/// How long a cut answer's connection stays open after its part of the body, so that hyper
/// flushes that part to the socket before the body's error makes it close the connection
/// (an error right after the data would drop the still-buffered bytes with the connection).
const CUT_PAUSE: Duration = Duration::from_millis(50);

/// The body of a [`Fault::CutResponse`]: `part` (a prefix of a body of `len` bytes), then,
/// after [`CUT_PAUSE`], an error that makes hyper close the connection mid-body.
struct CutBody {
    part: Option<Bytes>,
    len: u64,
    pause: Pin<Box<tokio::time::Sleep>>,
}

impl Body for CutBody {
    type Data = Bytes;
    type Error = HandlerError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, HandlerError>>> {
        if let Some(part) = self.part.take() {
            // The pause starts when the part is handed over.
            let deadline = tokio::time::Instant::now() + CUT_PAUSE;
            self.pause.as_mut().reset(deadline);
            return Poll::Ready(Some(Ok(Frame::data(part))));
        }
        match self.pause.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(Dropped(Fault::CutResponse))))),
        }
    }

    fn is_end_stream(&self) -> bool {
        false
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.len)
    }
}

/// The answer `parts` with `body` cut: the status and headers as they are, `Content-Length`
/// the whole body's length (never chunked), and only the first half of the body; `None` if
/// the body is too short to cut (under 2 bytes).
fn cut(mut parts: hyper::http::response::Parts, body: Bytes) -> Option<Response<ProxyBody>> {
    if body.len() < 2 {
        return None;
    }
    parts.headers.remove(TRANSFER_ENCODING);
    parts
        .headers
        .insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    let cut = CutBody {
        part: Some(body.slice(..body.len() / 2)),
        len: body.len() as u64,
        pause: Box::pin(tokio::time::sleep(CUT_PAUSE)),
    };
    Some(Response::from_parts(parts, cut.boxed_unsync()))
}

/// What every connection's handler shares.
struct Shared {
    client: ProxyClient,
    upstream: Arc<str>,
    routes: HashMap<String, Arc<str>>,
    latency: Latency,
    faults: Faults,
    seed: u64,
    state: Arc<Mutex<State>>,
    gate: Arc<Gate>,
}

/// The error a handler (or a [`CutBody`]) returns to make hyper close the connection without
/// an answer (or mid-answer).
#[derive(Debug)]
struct Dropped(Fault);

impl fmt::Display for Dropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fault proxy: connection dropped ({})", self.0.name())
    }
}

impl std::error::Error for Dropped {}

type HandlerError = Box<dyn std::error::Error + Send + Sync>;

/// The operation of a request: the `X-Amz-Target` suffix (JSON protocols), the `Action`
/// query or form parameter (query protocols), API Gateway's or Lambda's operation name (from
/// method and path), else method and path.
fn operation(parts: &hyper::http::request::Parts, service: &str, body: &[u8]) -> String {
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
    let (method, path) = (parts.method.as_str(), parts.uri.path());
    let named = match service {
        "apigateway" => wire::apigateway_operation(method, path),
        "lambda" => wire::lambda_operation(method, path),
        _ => None,
    };
    if let Some(op) = named {
        return op.to_string();
    }
    format!("{} {}", parts.method, parts.uri.path())
}

/// A hash of what identifies a request across runs: service, operation, method, path, query
/// and body (never the date or signature headers).
fn request_key(service: &str, op: &str, parts: &hyper::http::request::Parts, body: &[u8]) -> u64 {
    let mut bytes = Vec::with_capacity(body.len() + 128);
    for piece in [
        service.as_bytes(),
        op.as_bytes(),
        parts.method.as_str().as_bytes(),
        parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
            .as_bytes(),
    ] {
        bytes.extend_from_slice(piece);
        bytes.push(0);
    }
    bytes.extend_from_slice(body);
    fnv1a(&bytes)
}

async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<ProxyBody>, HandlerError> {
    let (mut parts, body) = req.into_parts();
    let body = body.collect().await?.to_bytes();
    let service = wire::service(&parts);
    let op = operation(&parts, &service, &body);
    let pass = shared.gate.check(&service, &op);
    if let Pass::Hold(generation) = pass {
        shared.gate.wait(generation).await;
        return Err(Box::new(Held));
    }
    let key = request_key(&service, &op, &parts, &body);
    let (fault, jitter, request_id, ticket) = {
        let mut s = shared.state.lock().expect("proxy state");
        let seen = s.seen.entry(key).or_insert(0);
        let occurrence = *seen;
        *seen += 1;
        let draw = decide(&shared.faults, shared.seed, key, occurrence, &op);
        let fault = if s.admit(&op) {
            draw.fault
        } else {
            Fault::Quota
        };
        let request_id = format!("fault-proxy-{:x}-{}", shared.seed, s.total);
        let ticket = s.record(&service, &op, fault);
        (fault, draw.jitter, request_id, ticket)
    };
    tokio::time::sleep(shared.latency.delay(jitter)).await;
    let error = |kind| {
        let protocol = wire::protocol(&service, &parts);
        Ok(wire::error_response(&service, protocol, &op, kind, &request_id).map(whole))
    };
    match fault {
        Fault::Quota | Fault::Throttle => return error(ErrorKind::Throttle),
        Fault::InternalError => return error(ErrorKind::Internal),
        Fault::Unavailable => return error(ErrorKind::Unavailable),
        Fault::DropRequest => return Err(Box::new(Dropped(fault))),
        Fault::None | Fault::DropResponse | Fault::CutResponse => {}
    }
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let upstream = shared.routes.get(&service).unwrap_or(&shared.upstream);
    parts.uri = format!("{upstream}{path}")
        .parse::<Uri>()
        .expect("upstream URI");
    match shared
        .client
        .request(Request::from_parts(parts, Full::new(body)))
        .await
    {
        Ok(resp) => {
            let (parts, body) = resp.into_parts();
            let body = body.collect().await?.to_bytes();
            if let Pass::ForwardThenHold(generation) = pass {
                shared.gate.wait(generation).await;
                return Err(Box::new(Held));
            }
            match fault {
                Fault::DropResponse => Err(Box::new(Dropped(fault))),
                Fault::CutResponse => cut(parts, body).ok_or_else(|| {
                    shared.state.lock().expect("proxy state").uncut(ticket);
                    Box::new(Dropped(Fault::DropResponse)) as HandlerError
                }),
                _ => Ok(Response::from_parts(parts, whole(Full::new(body)))),
            }
        }
        Err(e) => {
            // The tool reports only the status of an answer without an AWS error code, so the
            // cause (refused, reset, closed early) is written where the test's output shows it.
            eprintln!("proxy: upstream failed on {service} {op}: {e:?}");
            Ok(Response::builder()
                .status(502)
                .body(whole(Full::new(Bytes::from(format!(
                    "proxy: upstream failed: {e}"
                )))))
                .expect("static response"))
        }
    }
}

impl LatencyProxy {
    /// Starts a proxy to `upstream` (e.g. `http://127.0.0.1:5000`) adding `delay` per call.
    pub async fn start(upstream: &str, delay: Duration) -> LatencyProxy {
        Self::with_quotas(upstream, delay, Vec::new()).await
    }

    /// Like [`LatencyProxy::start`], also enforcing `quotas`.
    pub async fn with_quotas(upstream: &str, delay: Duration, quotas: Vec<Quota>) -> LatencyProxy {
        Self::with_config(
            upstream,
            ProxyConfig {
                latency: Latency::fixed(delay),
                quotas,
                ..ProxyConfig::default()
            },
        )
        .await
    }

    /// Starts a fault proxy to `upstream` injecting `faults` (no latency, no quotas). Prints
    /// the seed to stderr when the mix can inject anything.
    pub async fn with_faults(upstream: &str, faults: Faults) -> LatencyProxy {
        Self::with_config(
            upstream,
            ProxyConfig {
                faults,
                ..ProxyConfig::default()
            },
        )
        .await
    }

    /// Starts a proxy to `upstream` with latency, quotas and faults as `config` says.
    pub async fn with_config(upstream: &str, config: ProxyConfig) -> LatencyProxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let endpoint = format!("http://{}", listener.local_addr().expect("local address"));
        let seed = config.faults.resolve_seed();
        if !config.faults.is_none() {
            eprintln!(
                "fault proxy {endpoint}: seed {seed} (replay with {}={seed})",
                crate::faults::SEED_ENV
            );
        }
        let mut state = State::default();
        state.report.seed = seed;
        for q in &config.quotas {
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
        let gate = Gate::new();
        let shared = Arc::new(Shared {
            client: Client::builder(TokioExecutor::new()).build_http(),
            upstream: Arc::from(upstream.trim_end_matches('/')),
            routes: config
                .routes
                .iter()
                .map(|(service, to)| (service.clone(), Arc::from(to.trim_end_matches('/'))))
                .collect(),
            latency: config.latency,
            faults: config.faults,
            seed,
            state: state.clone(),
            gate: gate.clone(),
        });
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let shared = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| handle(shared.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        LatencyProxy {
            endpoint,
            seed,
            state,
            gate,
            task,
        }
    }

    /// The gate that can stop the call sequence at a chosen call (see [`Gate`]).
    pub fn gate(&self) -> &Gate {
        &self.gate
    }

    /// The seed of the fault decisions.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Calls received so far (throttled and dropped ones included).
    pub fn calls(&self) -> u64 {
        self.state.lock().expect("proxy state").total
    }

    /// What happened per operation so far.
    pub fn stats(&self) -> HashMap<String, OperationStats> {
        self.state.lock().expect("proxy state").stats.clone()
    }

    /// Faults injected so far, per kind and per operation.
    pub fn report(&self) -> FaultReport {
        self.state.lock().expect("proxy state").report.clone()
    }

    /// Every decision so far, in the order they were made.
    pub fn decisions(&self) -> Vec<Decision> {
        self.state.lock().expect("proxy state").log.clone()
    }

    /// Forgets the counts and the decision log (quotas keep their state, and so does the
    /// decisions' counter of sightings per request, so a replay stays a replay).
    pub fn reset_stats(&self) {
        let mut s = self.state.lock().expect("proxy state");
        s.stats.clear();
        s.total = 0;
        s.log.clear();
        s.epoch += 1;
        let seed = s.report.seed;
        s.report = FaultReport {
            seed,
            ..FaultReport::default()
        };
    }
}

impl Drop for LatencyProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// An upstream that answers 200 `ok` and counts the requests it got.
    async fn upstream() -> (String, Arc<AtomicU64>, tokio::task::JoinHandle<()>) {
        upstream_answering(Some(Bytes::from("ok"))).await
    }

    /// An upstream that answers 200 with `reply` (`None`: the request's own body) and counts
    /// the requests it got.
    async fn upstream_answering(
        reply: Option<Bytes>,
    ) -> (String, Arc<AtomicU64>, tokio::task::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(AtomicU64::new(0));
        let h = hits.clone();
        let task = tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let (h, reply) = (h.clone(), reply.clone());
                tokio::spawn(async move {
                    let svc = service_fn(move |req: Request<Incoming>| {
                        h.fetch_add(1, Ordering::SeqCst);
                        let reply = reply.clone();
                        async move {
                            let body = match reply {
                                Some(b) => b,
                                None => req.into_body().collect().await?.to_bytes(),
                            };
                            Ok::<_, hyper::Error>(Response::new(Full::new(body)))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        (endpoint, hits, task)
    }

    /// A signed-looking Kinesis request with target `op` and body `body`.
    fn kinesis(endpoint: &str, op: &str, body: &str) -> Request<Full<Bytes>> {
        Request::builder()
            .method("POST")
            .uri(format!("{endpoint}/"))
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/kinesis/aws4_request, \
                 SignedHeaders=host, Signature=0",
            )
            .header("x-amz-target", format!("Kinesis_20131202.{op}"))
            .header("content-type", "application/x-amz-json-1.1")
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap()
    }

    /// Sends `req`; the status and body, or `None` if the connection closed without an answer.
    async fn send(req: Request<Full<Bytes>>) -> Option<(u16, String)> {
        let client: ProxyClient = Client::builder(TokioExecutor::new()).build_http();
        let resp = client.request(req).await.ok()?;
        let status = resp.status().as_u16();
        let body = resp.into_body().collect().await.ok()?.to_bytes();
        Some((status, String::from_utf8_lossy(&body).into_owned()))
    }

    fn mix(seed: u64) -> Faults {
        Faults {
            throttle: 0.2,
            server_error: 0.1,
            drop: 0.1,
            seed: Some(seed),
            ..Faults::default()
        }
    }

    #[tokio::test]
    async fn injected_throttles_use_the_service_format_and_never_reach_upstream() {
        let (up, hits, _t) = upstream().await;
        let proxy = LatencyProxy::with_faults(
            &up,
            Faults {
                throttle: 1.0,
                ..Faults::default()
            },
        )
        .await;
        let (status, body) = send(kinesis(&proxy.endpoint, "CreateStream", "{}"))
            .await
            .unwrap();
        assert_eq!(status, 400);
        assert!(
            body.contains(r#""__type":"LimitExceededException""#),
            "{body}"
        );
        assert_eq!(hits.load(Ordering::SeqCst), 0);
        let r = proxy.report();
        assert_eq!((r.calls, r.count(Fault::Throttle)), (1, 1));
        assert_eq!(r.by_operation["kinesis:CreateStream"][&Fault::Throttle], 1);
        assert_eq!(proxy.stats()["CreateStream"].throttled, 1);
    }

    #[tokio::test]
    async fn drops_close_the_connection_before_or_after_forwarding() {
        let (up, hits, _t) = upstream().await;
        let proxy = LatencyProxy::with_faults(
            &up,
            Faults {
                drop: 1.0,
                seed: Some(5),
                ..Faults::default()
            },
        )
        .await;
        let n = 60;
        for i in 0..n {
            let answer = send(kinesis(
                &proxy.endpoint,
                "PutRecord",
                &format!("{{\"i\":{i}}}"),
            ))
            .await;
            assert_eq!(answer, None, "request {i} got an answer");
        }
        let r = proxy.report();
        let (before, after, cut) = (
            r.count(Fault::DropRequest),
            r.count(Fault::DropResponse),
            r.count(Fault::CutResponse),
        );
        assert_eq!(before + after + cut, n);
        assert!(before > 0 && after > 0 && cut > 0, "{r}");
        // Only the calls dropped after forwarding reached the emulator.
        assert_eq!(hits.load(Ordering::SeqCst), after + cut);
        let s = &proxy.stats()["PutRecord"];
        assert_eq!(
            (
                s.dropped_requests,
                s.dropped_responses,
                s.cut_responses,
                s.forwarded
            ),
            (before, after, cut, after + cut)
        );
        assert!(
            r.to_string().contains(&format!("cut-response {cut}")),
            "{r}"
        );
    }

    /// What a raw TCP client got for one request.
    #[derive(Debug)]
    struct Raw {
        /// Bytes received in all.
        received: usize,
        /// The status, if a whole head arrived.
        status: Option<u16>,
        /// The head's `Content-Length`.
        content_length: Option<usize>,
        /// The body bytes that arrived after the head.
        body: Vec<u8>,
        /// The connection was closed (end of file or reset) before a whole answer arrived.
        closed: bool,
    }

    /// The head's length (up to the blank line), status and `Content-Length`, once whole.
    fn parse_head(got: &[u8]) -> Option<(usize, u16, Option<usize>)> {
        let end = got.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
        let head = std::str::from_utf8(&got[..end]).expect("an ASCII head");
        let mut lines = head.split("\r\n");
        let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
        let content_length = lines.find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().expect("a number"))
        });
        Some((end, status, content_length))
    }

    /// Sends a Kinesis `PutRecord` with `body` over a plain TCP connection (keep-alive, so a
    /// whole answer leaves it open) and reads until a whole answer is in or the connection
    /// closes.
    async fn raw(endpoint: &str, body: &[u8]) -> Raw {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = endpoint.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let head = format!(
            "POST / HTTP/1.1\r\nhost: {addr}\r\nauthorization: AWS4-HMAC-SHA256 \
             Credential=test/20240101/us-east-1/kinesis/aws4_request, SignedHeaders=host, \
             Signature=0\r\nx-amz-target: Kinesis_20131202.PutRecord\r\n\
             content-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(body).await.unwrap();
        let mut got = Vec::new();
        let mut buf = vec![0u8; 1 << 16];
        let closed = loop {
            if let Some((end, _, Some(len))) = parse_head(&got) {
                if got.len() >= end + len {
                    break false;
                }
            }
            let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
                .await
                .expect("the proxy neither answered whole nor closed");
            match read {
                Ok(0) | Err(_) => break true,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        };
        let head = parse_head(&got);
        Raw {
            received: got.len(),
            status: head.map(|h| h.1),
            content_length: head.and_then(|h| h.2),
            body: head.map(|h| got[h.0..].to_vec()).unwrap_or_default(),
            closed,
        }
    }

    /// Lost answers come in two shapes: closed before any byte, or cut mid-body (the real
    /// status and headers, `Content-Length` the whole body's, then the first half of the body
    /// and the close), even for a body larger than the socket buffers. A hyper client then
    /// gets the head and fails reading the body. Without faults the same client gets it whole.
    #[tokio::test]
    async fn cut_answers_send_the_head_and_half_the_body_then_close() {
        let (up, hits, _t) = upstream_answering(None).await;
        let clean = LatencyProxy::with_faults(&up, Faults::none()).await;
        let sent = b"{\"whole\":true}";
        let whole = raw(&clean.endpoint, sent).await;
        assert!(!whole.closed, "{whole:?}");
        assert_eq!(
            (whole.status, whole.content_length, &whole.body[..]),
            (Some(200), Some(sent.len()), &sent[..])
        );

        let lost = Faults {
            drop: 1.0,
            drops: crate::Drops::AfterForwarding,
            seed: Some(3),
            ..Faults::default()
        };
        let proxy = LatencyProxy::with_faults(&up, lost).await;
        let n = 40;
        for i in 0..n {
            let body = format!("{{\"i\":{i},\"pad\":\"{}\"}}", "x".repeat(i * 7));
            let r = raw(&proxy.endpoint, body.as_bytes()).await;
            let fault = proxy.decisions()[i].fault;
            assert!(r.closed, "request {i} ({fault:?}): {r:?}");
            match fault {
                Fault::DropResponse => assert_eq!(r.received, 0, "request {i}: {r:?}"),
                Fault::CutResponse => {
                    assert_eq!(r.status, Some(200), "request {i}: {r:?}");
                    assert_eq!(r.content_length, Some(body.len()), "request {i}");
                    assert_eq!(r.body, body.as_bytes()[..body.len() / 2], "request {i}");
                }
                other => panic!("request {i}: {other:?}"),
            }
        }
        let r = proxy.report();
        let (dropped, cut) = (r.count(Fault::DropResponse), r.count(Fault::CutResponse));
        assert_eq!(dropped + cut, n as u64);
        assert!(dropped > 5 && cut > 5, "{r}");
        assert_eq!(hits.load(Ordering::SeqCst), 1 + n as u64);

        // A body far larger than the socket buffers still arrives half, then the close.
        let big = vec![b'b'; 4 << 20];
        let mut cuts = 0;
        for attempt in 0..20 {
            let r = raw(&proxy.endpoint, &big).await;
            if proxy.decisions().last().unwrap().fault == Fault::CutResponse {
                assert!(r.closed, "attempt {attempt}");
                assert_eq!((r.status, r.content_length), (Some(200), Some(big.len())));
                assert_eq!(r.body.len(), big.len() / 2, "attempt {attempt}");
                cuts += 1;
            } else {
                assert_eq!((r.closed, r.received), (true, 0), "attempt {attempt}");
            }
        }
        assert!(cuts > 0);

        // A hyper client sees the status and headers, then fails reading the body.
        let client: ProxyClient = Client::builder(TokioExecutor::new()).build_http();
        let mut seen_cut = false;
        for i in 0..20 {
            let resp = client
                .request(kinesis(
                    &proxy.endpoint,
                    "PutRecord",
                    &format!("{{\"h\":{i}}}"),
                ))
                .await;
            if proxy.decisions().last().unwrap().fault == Fault::CutResponse {
                let resp = resp.expect("a cut answer has a head");
                assert_eq!(resp.status(), 200);
                assert!(resp.into_body().collect().await.is_err());
                seen_cut = true;
            } else {
                assert!(resp.is_err());
            }
        }
        assert!(seen_cut);
    }

    /// An answer under 2 bytes cannot be cut: where the draw said cut, the connection closes
    /// before any byte, and the report, the stats and the log count it as a drop-response.
    /// The same requests with a cuttable answer show that the draw did say cut.
    #[tokio::test]
    async fn answers_too_short_to_cut_are_dropped_before_any_byte() {
        async fn run(reply: &'static str) -> (Vec<Decision>, FaultReport, OperationStats) {
            let (up, _hits, _t) = upstream_answering(Some(Bytes::from(reply))).await;
            let proxy = LatencyProxy::with_faults(
                &up,
                Faults {
                    drop: 1.0,
                    drops: crate::Drops::AfterForwarding,
                    seed: Some(11),
                    ..Faults::default()
                },
            )
            .await;
            for i in 0..30 {
                let r = raw(&proxy.endpoint, format!("{i}").as_bytes()).await;
                if reply.len() < 2 {
                    assert_eq!((r.closed, r.received), (true, 0), "{reply:?} {i}: {r:?}");
                }
            }
            let stats = proxy.stats()["PutRecord"].clone();
            (proxy.decisions(), proxy.report(), stats)
        }
        let (cuttable, report, stats) = run("abc").await;
        let cuts = report.count(Fault::CutResponse);
        assert!(cuts > 0, "{report}");
        assert_eq!(stats.cut_responses, cuts);
        for reply in ["", "x"] {
            let (decisions, short, stats) = run(reply).await;
            assert_eq!(short.count(Fault::CutResponse), 0, "{short}");
            assert_eq!(short.count(Fault::DropResponse), 30, "{short}");
            assert_eq!(short.by_operation["kinesis:PutRecord"].len(), 1, "{short}");
            assert_eq!((stats.dropped_responses, stats.cut_responses), (30, 0));
            let uncut: Vec<_> = cuttable
                .iter()
                .map(|d| Decision {
                    fault: Fault::DropResponse,
                    ..d.clone()
                })
                .collect();
            assert_eq!(decisions, uncut);
        }
    }

    #[tokio::test]
    async fn a_routed_service_goes_to_its_own_upstream() {
        let (up, hits, _t) = upstream().await;
        let (kinesis_up, kinesis_hits, _k) = upstream().await;
        let proxy = LatencyProxy::with_config(
            &up,
            ProxyConfig {
                routes: vec![("kinesis".to_string(), format!("{kinesis_up}/"))],
                ..ProxyConfig::default()
            },
        )
        .await;
        for i in 0..3 {
            let answer = send(kinesis(&proxy.endpoint, "PutRecord", &format!("{i}"))).await;
            assert_eq!(answer, Some((200, "ok".to_string())));
        }
        let mut dynamodb = kinesis(&proxy.endpoint, "GetItem", "{}");
        dynamodb.headers_mut().insert(
            "authorization",
            HeaderValue::from_static(
                "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/dynamodb/aws4_request, \
                 SignedHeaders=host, Signature=0",
            ),
        );
        assert_eq!(send(dynamodb).await, Some((200, "ok".to_string())));
        assert_eq!(kinesis_hits.load(Ordering::SeqCst), 3);
        assert_eq!(hits.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn server_errors_answer_500_or_503() {
        let (up, hits, _t) = upstream().await;
        let proxy = LatencyProxy::with_faults(
            &up,
            Faults {
                server_error: 1.0,
                seed: Some(9),
                ..Faults::default()
            },
        )
        .await;
        let mut statuses = std::collections::BTreeSet::new();
        for i in 0..40 {
            let (status, body) = send(kinesis(&proxy.endpoint, "ListStreams", &format!("{i}")))
                .await
                .unwrap();
            let code = if status == 500 {
                "InternalFailure"
            } else {
                "ServiceUnavailable"
            };
            assert!(body.contains(code), "{status} {body}");
            statuses.insert(status);
        }
        assert_eq!(statuses.into_iter().collect::<Vec<_>>(), vec![500, 503]);
        assert_eq!(hits.load(Ordering::SeqCst), 0);
        let r = proxy.report();
        assert_eq!(
            r.count(Fault::InternalError) + r.count(Fault::Unavailable),
            40
        );
    }

    /// The same seed gives the same sequence of decisions for the same requests (a repeated
    /// request gets a fresh draw each time), another seed another one; the counters agree with
    /// the log and with what the upstream saw.
    #[tokio::test]
    async fn same_seed_same_decisions_and_counters_agree() {
        async fn run(seed: u64) -> (Vec<Decision>, FaultReport, u64) {
            let (up, hits, _t) = upstream().await;
            let proxy = LatencyProxy::with_faults(&up, mix(seed)).await;
            for i in 0..150 {
                // Every third request repeats an earlier one (as a retry does).
                let body = format!("{{\"n\":{}}}", if i % 3 == 0 { 0 } else { i });
                let op = ["PutRecord", "DescribeStream", "ListShards"][i % 3];
                let _ = send(kinesis(&proxy.endpoint, op, &body)).await;
            }
            (
                proxy.decisions(),
                proxy.report(),
                hits.load(Ordering::SeqCst),
            )
        }
        let (a, ra, hits_a) = run(1234).await;
        let (b, rb, hits_b) = run(1234).await;
        let (c, _, _) = run(4321).await;
        assert_eq!(a, b);
        assert_eq!(ra, rb);
        assert_eq!(hits_a, hits_b);
        assert_ne!(a, c);
        assert_eq!(ra.seed, 1234);
        assert_eq!(ra.calls, 150);
        assert_eq!(ra.by_kind.values().sum::<u64>(), 150);
        for k in Fault::ALL {
            assert_eq!(
                ra.count(k),
                a.iter().filter(|d| d.fault == k).count() as u64,
                "{k:?}"
            );
        }
        assert_eq!(
            hits_a,
            a.iter().filter(|d| d.fault.forwarded()).count() as u64
        );
        assert!(ra.count(Fault::Throttle) > 10 && ra.faulted() < 150, "{ra}");
        assert!(a.iter().all(|d| d.service == "kinesis"));
    }

    #[tokio::test]
    async fn quotas_still_throttle_and_latency_applies() {
        let (up, hits, _t) = upstream().await;
        let proxy = LatencyProxy::with_config(
            &up,
            ProxyConfig {
                latency: Latency::jittered(Duration::from_millis(20), Duration::from_millis(10)),
                quotas: vec![Quota {
                    category: "Put",
                    operations: vec!["PutRecord"],
                    per_second: 2.0,
                }],
                ..ProxyConfig::default()
            },
        )
        .await;
        let started = Instant::now();
        let mut codes = Vec::new();
        for i in 0..4 {
            let (s, body) = send(kinesis(&proxy.endpoint, "PutRecord", &format!("{i}")))
                .await
                .unwrap();
            if s != 200 {
                assert!(
                    body.contains("ProvisionedThroughputExceededException"),
                    "{body}"
                );
            }
            codes.push(s);
        }
        assert!(started.elapsed() >= Duration::from_millis(80));
        assert_eq!(codes[..2], [200, 200]);
        assert!(codes[2..].contains(&400), "{codes:?}");
        let r = proxy.report();
        assert_eq!(r.count(Fault::Quota), 4 - hits.load(Ordering::SeqCst));
        assert_eq!(proxy.calls(), 4);
    }
}
