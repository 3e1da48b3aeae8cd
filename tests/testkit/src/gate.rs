//! A gate in the proxy that stops a client's call sequence at a chosen call, so that a test can
//! kill the client exactly there (crash tests).
//!
//! Armed with a [`GatePoint`], the gate lets requests through until the `at`-th request that
//! the point's filter counts arrives. That request closes the gate: it is either held before
//! it is forwarded (the call never happens) or forwarded and its answer held (the call takes
//! effect, the client never learns). Every request arriving after that is held unforwarded.
//! [`Gate::release`] disarms the gate and drops whatever it held (connections closed without
//! an answer, nothing more forwarded), so a client killed meanwhile leaves no stray call behind.

use std::fmt;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// Decides which requests a gate counts, from the SigV4 service name (e.g. `dynamodb`) and the
/// operation as [`crate::LatencyProxy::stats`] names it (e.g. `PutItem`, `PUT /bucket`).
pub type CallFilter = Arc<dyn Fn(&str, &str) -> bool + Send + Sync>;

/// Where a gate closes.
#[derive(Clone)]
pub struct GatePoint {
    /// The counted request that closes the gate (1-based, counted from arming).
    pub at: u64,
    /// Forward that request and hold its answer (else hold it unforwarded).
    pub forward: bool,
    /// Which requests count.
    pub counts: CallFilter,
}

impl fmt::Debug for GatePoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatePoint")
            .field("at", &self.at)
            .field("forward", &self.forward)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Inner {
    point: Option<GatePoint>,
    counted: u64,
    closed_at: Option<String>,
    held: u64,
}

/// The gate of one proxy ([`crate::LatencyProxy::gate`]); open (passing everything) until armed.
pub struct Gate {
    inner: Mutex<Inner>,
    /// Bumped by every release; held requests wait for it to move.
    release: watch::Sender<u64>,
}

/// What the handler does with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pass {
    /// Handle it normally.
    Through,
    /// Hold it unforwarded until the release after generation `.0`.
    Hold(u64),
    /// Forward it, then hold its answer until the release after generation `.0`.
    ForwardThenHold(u64),
}

/// The error a handler returns for a held request when it is released: hyper then closes the
/// connection without an answer.
#[derive(Debug)]
pub(crate) struct Held;

impl fmt::Display for Held {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("proxy gate: request held, then dropped")
    }
}

impl std::error::Error for Held {}

impl Gate {
    pub(crate) fn new() -> Arc<Gate> {
        Arc::new(Gate {
            inner: Mutex::new(Inner::default()),
            release: watch::channel(0).0,
        })
    }

    /// Decides a request's fate (and counts it).
    pub(crate) fn check(&self, service: &str, op: &str) -> Pass {
        let mut g = self.inner.lock().expect("gate state");
        let generation = *self.release.borrow();
        if g.closed_at.is_some() {
            g.held += 1;
            return Pass::Hold(generation);
        }
        let Some(point) = g.point.clone() else {
            return Pass::Through;
        };
        if !(point.counts)(service, op) {
            return Pass::Through;
        }
        g.counted += 1;
        if g.counted < point.at {
            return Pass::Through;
        }
        g.closed_at = Some(format!("{service}:{op}"));
        g.held += 1;
        if point.forward {
            Pass::ForwardThenHold(generation)
        } else {
            Pass::Hold(generation)
        }
    }

    /// Waits for the release that follows `generation`.
    pub(crate) async fn wait(&self, generation: u64) {
        let mut rx = self.release.subscribe();
        let _ = rx.wait_for(|g| *g > generation).await;
    }

    /// Arms the gate at `point`, releasing (dropping) anything an earlier arming held.
    pub fn arm(&self, point: GatePoint) {
        let mut g = self.inner.lock().expect("gate state");
        *g = Inner {
            point: Some(point),
            ..Inner::default()
        };
        self.release.send_modify(|n| *n += 1);
    }

    /// `service:operation` of the request that closed the gate, once one has.
    pub fn closed_at(&self) -> Option<String> {
        self.inner.lock().expect("gate state").closed_at.clone()
    }

    /// Requests counted since arming (the closing one included).
    pub fn counted(&self) -> u64 {
        self.inner.lock().expect("gate state").counted
    }

    /// Requests held since the gate closed (the closing one included).
    pub fn held(&self) -> u64 {
        self.inner.lock().expect("gate state").held
    }

    /// Disarms the gate: held requests are dropped without an answer (none is forwarded), and
    /// requests pass again.
    pub fn release(&self) {
        let mut g = self.inner.lock().expect("gate state");
        *g = Inner::default();
        self.release.send_modify(|n| *n += 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LatencyProxy;
    use bytes::Bytes;
    use http_body_util::{BodyExt, Full};
    use hyper::body::Incoming;
    use hyper::service::service_fn;
    use hyper::{Request, Response};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;
    use tokio::net::TcpListener;

    /// An upstream answering 200 that counts what reached it.
    async fn upstream() -> (String, Arc<AtomicU64>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(AtomicU64::new(0));
        let h = hits.clone();
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let h = h.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |_req: Request<Incoming>| {
                        h.fetch_add(1, Ordering::SeqCst);
                        async { Ok::<_, hyper::Error>(Response::new(Full::new(Bytes::from("ok")))) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        (endpoint, hits)
    }

    /// A DynamoDB-looking request for `op`; its status, or `None` if dropped unanswered.
    async fn call(endpoint: &str, op: &str) -> Option<u16> {
        let req = Request::builder()
            .method("POST")
            .uri(format!("{endpoint}/"))
            .header("x-amz-target", format!("DynamoDB_20120810.{op}"))
            .body(Full::new(Bytes::from("{}")))
            .unwrap();
        let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        let resp = client.request(req).await.ok()?;
        let status = resp.status().as_u16();
        resp.into_body().collect().await.ok()?;
        Some(status)
    }

    fn writes() -> CallFilter {
        Arc::new(|_service: &str, op: &str| !op.starts_with("Get"))
    }

    /// Waits (without a deadline: the test harness has one) until `n` requests are held.
    async fn until_held(gate: &Gate, n: u64) {
        while gate.held() < n {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    async fn closes_at_the_second_write(forward: bool) -> (u64, Option<String>) {
        let (up, hits) = upstream().await;
        let proxy = Arc::new(LatencyProxy::start(&up, Duration::ZERO).await);
        proxy.gate().arm(GatePoint {
            at: 2,
            forward,
            counts: writes(),
        });
        assert_eq!(call(&proxy.endpoint, "PutItem").await, Some(200));
        assert_eq!(call(&proxy.endpoint, "GetItem").await, Some(200));
        let ep = proxy.endpoint.clone();
        let second = tokio::spawn(async move { call(&ep, "DeleteItem").await });
        until_held(proxy.gate(), 1).await;
        // Once closed, reads are held too.
        let ep = proxy.endpoint.clone();
        let third = tokio::spawn(async move { call(&ep, "GetItem").await });
        until_held(proxy.gate(), 2).await;
        let closed = proxy.gate().closed_at();
        assert_eq!(proxy.gate().counted(), 2);
        proxy.gate().release();
        assert_eq!(second.await.unwrap(), None);
        assert_eq!(third.await.unwrap(), None);
        // Released: requests pass again.
        assert_eq!(call(&proxy.endpoint, "PutItem").await, Some(200));
        (hits.load(Ordering::SeqCst), closed)
    }

    #[tokio::test]
    async fn a_gate_holds_its_closing_call_unforwarded_and_everything_after() {
        let (hits, closed) = closes_at_the_second_write(false).await;
        // PutItem, GetItem, and the PutItem after the release.
        assert_eq!(hits, 3);
        assert_eq!(closed.as_deref(), Some("dynamodb:DeleteItem"));
    }

    #[tokio::test]
    async fn a_forwarding_gate_lets_its_closing_call_happen_but_not_its_answer() {
        let (hits, closed) = closes_at_the_second_write(true).await;
        // The DeleteItem reached the upstream too; the held GetItem never did.
        assert_eq!(hits, 4);
        assert_eq!(closed.as_deref(), Some("dynamodb:DeleteItem"));
    }
}
