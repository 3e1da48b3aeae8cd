//! A loopback HTTP proxy in front of the emulator that delays every call.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// A running proxy; stops when dropped.
pub struct LatencyProxy {
    /// `http://127.0.0.1:<port>`: point the SDK here.
    pub endpoint: String,
    calls: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

type ProxyClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

async fn forward(
    client: ProxyClient,
    upstream: Arc<str>,
    delay: Duration,
    calls: Arc<AtomicU64>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    calls.fetch_add(1, Ordering::Relaxed);
    tokio::time::sleep(delay).await;
    let (mut parts, body) = req.into_parts();
    let body = body.collect().await?.to_bytes();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    parts.uri = format!("{upstream}{path}")
        .parse::<Uri>()
        .expect("upstream URI");
    let answer = client
        .request(Request::from_parts(parts, Full::new(body)))
        .await;
    match answer {
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
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let endpoint = format!("http://{}", listener.local_addr().expect("local address"));
        let upstream: Arc<str> = Arc::from(upstream.trim_end_matches('/'));
        let calls = Arc::new(AtomicU64::new(0));
        let client: ProxyClient = Client::builder(TokioExecutor::new()).build_http();
        let counter = calls.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (client, upstream, calls) = (client.clone(), upstream.clone(), counter.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        forward(client.clone(), upstream.clone(), delay, calls.clone(), req)
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        LatencyProxy {
            endpoint,
            calls,
            task,
        }
    }

    /// Calls forwarded so far.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
}

impl Drop for LatencyProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}
