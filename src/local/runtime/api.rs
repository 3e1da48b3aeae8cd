//! The Runtime API of one execution environment (version `2018-06-01`): next invocation,
//! invocation response and error, init error, with the `Lambda-Runtime-*` headers.

use super::MAX_RESPONSE_BYTES;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};

/// One invocation handed to an environment's runtime.
pub(super) struct Invocation {
    pub(super) id: String,
    pub(super) payload: Bytes,
    pub(super) deadline_ms: u128,
    pub(super) reply: oneshot::Sender<Reply>,
}

pub(super) enum Reply {
    Response(Bytes),
    Error(Bytes),
    TooLarge(usize),
}

/// The Runtime API of one execution environment.
pub(super) struct RuntimeApi {
    pub(super) function_arn: String,
    pub(super) next: tokio::sync::Mutex<mpsc::Receiver<Invocation>>,
    pub(super) pending: Mutex<Option<(String, oneshot::Sender<Reply>)>>,
    pub(super) ready: Mutex<Option<oneshot::Sender<Result<(), String>>>>,
}

fn runtime_error(status: StatusCode, kind: &str, message: &str) -> Response {
    (
        status,
        [("content-type", "application/json")],
        serde_json::json!({"errorMessage": message, "errorType": kind}).to_string(),
    )
        .into_response()
}

fn accepted() -> Response {
    (
        StatusCode::ACCEPTED,
        [("content-type", "application/json")],
        r#"{"status":"OK"}"#,
    )
        .into_response()
}

async fn next(State(api): State<Arc<RuntimeApi>>) -> Response {
    if let Some(ready) = api.ready.lock().expect("ready lock").take() {
        let _ = ready.send(Ok(()));
    }
    let Some(inv) = api.next.lock().await.recv().await else {
        return runtime_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Runtime.Shutdown",
            "the execution environment is shutting down",
        );
    };
    let mut headers = HeaderMap::new();
    let mut put = |k: &'static str, v: &str| {
        if let Ok(v) = HeaderValue::from_str(v) {
            headers.insert(k, v);
        }
    };
    put("lambda-runtime-aws-request-id", &inv.id);
    put("lambda-runtime-deadline-ms", &inv.deadline_ms.to_string());
    put("lambda-runtime-invoked-function-arn", &api.function_arn);
    put(
        "lambda-runtime-trace-id",
        &format!(
            "Root=1-{:08x}-{}",
            inv.deadline_ms / 1000,
            &inv.id.replace('-', "")[..24]
        ),
    );
    put("content-type", "application/json");
    *api.pending.lock().expect("pending lock") = Some((inv.id, inv.reply));
    (StatusCode::OK, headers, inv.payload).into_response()
}

fn settle(api: &RuntimeApi, id: &str, reply: impl FnOnce() -> Reply) -> Response {
    let mut pending = api.pending.lock().expect("pending lock");
    match pending.take() {
        Some((current, tx)) if current == id => {
            let reply = reply();
            let too_large = matches!(reply, Reply::TooLarge(_));
            let _ = tx.send(reply);
            if too_large {
                return runtime_error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "RequestEntityTooLarge",
                    "response payload exceeds the maximum size",
                );
            }
            accepted()
        }
        other => {
            *pending = other;
            runtime_error(
                StatusCode::BAD_REQUEST,
                "InvalidRequestID",
                &format!("no invocation {id} is in progress"),
            )
        }
    }
}

async fn respond(
    State(api): State<Arc<RuntimeApi>>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> Response {
    settle(&api, &id, || {
        if body.len() > MAX_RESPONSE_BYTES {
            Reply::TooLarge(body.len())
        } else {
            Reply::Response(body)
        }
    })
}

async fn fail(
    State(api): State<Arc<RuntimeApi>>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> Response {
    settle(&api, &id, || Reply::Error(body))
}

async fn init_error(State(api): State<Arc<RuntimeApi>>, body: Bytes) -> Response {
    if let Some(ready) = api.ready.lock().expect("ready lock").take() {
        let _ = ready.send(Err(String::from_utf8_lossy(&body).into_owned()));
    }
    accepted()
}

/// The routes of the Runtime API, served to one runtime process.
pub(super) fn router(api: Arc<RuntimeApi>) -> Router {
    Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(respond),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(fail))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        // Larger bodies are read so that the invocation fails as Lambda fails it.
        .layer(DefaultBodyLimit::max(MAX_RESPONSE_BYTES * 2))
        .with_state(api)
}
