//! The packaged functions run as Lambda runs them: each function's `bootstrap`, taken from the
//! very `bootstrap.zip` that `apply` uploads, runs as a child process behind a Lambda Runtime
//! API served here, with the environment Lambda gives it and its execution role's temporary
//! credentials. So a permission missing from a role, an environment variable the blueprint
//! forgot, or a bootstrap that cannot start shows up locally, not only once deployed.
//!
//! What follows Lambda's documentation:
//!
//! * the Runtime API (version `2018-06-01`): next invocation, invocation response, invocation
//!   error and init error, with the `Lambda-Runtime-*` headers
//!   (<https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html>);
//! * one invocation at a time per execution environment; more environments are started for
//!   concurrent invocations, up to the function's reserved concurrency
//!   (<https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html>);
//! * the defined runtime environment variables, and nothing else of this process's environment
//!   (<https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime>);
//! * the execution role's credentials, from `sts:AssumeRole` with the function name as the
//!   session name (<https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html>);
//! * the timeout: an invocation still running at the deadline fails with `Task timed out after
//!   N.NN seconds` and its environment is stopped
//!   (<https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html>);
//! * the init phase is limited to 10 seconds, and a runtime that reports an init error or exits
//!   fails the invocation (<https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html>);
//! * a response payload of at most 6 MB (<https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html>).
//!
//! Against real AWS, `AssumeRole` on an execution role is refused unless its trust policy
//! lets the caller in (it trusts `lambda.amazonaws.com` only): `local serve --in-process`
//! runs the handlers with the caller's own credentials instead.

use super::functions::{ApiFunction, InvokeError, StreamFunction};
use anyhow::{anyhow, bail, Context as _, Result};
use async_trait::async_trait;
use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_lambda_events::kinesis::KinesisEvent;
use aws_lambda_events::streams::KinesisEventResponse;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::AsyncBufReadExt;
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot, Semaphore};

/// The init phase's limit.
pub const INIT_LIMIT: Duration = Duration::from_secs(10);
/// The largest response payload of a synchronous invocation (6 MB).
pub const MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024;
/// How long role credentials are asked for; an environment is retired well before they end.
const CREDENTIALS_SECONDS: i32 = 3600;
const RETIRE_AFTER: Duration = Duration::from_secs(50 * 60);
/// Execution environments per function when no reserved concurrency is declared.
pub const DEFAULT_ENVIRONMENTS: usize = 10;

/// Temporary credentials of a role.
#[derive(Clone)]
pub struct RoleCredentials {
    /// Access key ID.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
    /// Session token.
    pub session_token: String,
}

impl std::fmt::Debug for RoleCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret parts.
        write!(f, "RoleCredentials({})", self.access_key_id)
    }
}

/// Where an environment's credentials come from: `sts:AssumeRole` on the execution role.
#[async_trait]
pub trait Credentials: Send + Sync {
    /// Credentials of `role_arn` for the session `session`.
    async fn assume(&self, role_arn: &str, session: &str) -> Result<RoleCredentials>;
}

/// `sts:AssumeRole` through the SDK.
pub struct StsCredentials(pub aws_sdk_sts::Client);

#[async_trait]
impl Credentials for StsCredentials {
    async fn assume(&self, role_arn: &str, session: &str) -> Result<RoleCredentials> {
        let out = self
            .0
            .assume_role()
            .role_arn(role_arn)
            .role_session_name(session)
            .duration_seconds(CREDENTIALS_SECONDS)
            .send()
            .await
            .map_err(|e| {
                anyhow!(
                    "cannot assume the execution role {role_arn}: {}. On AWS the role trusts \
                     only lambda.amazonaws.com; use `local serve --in-process` to run the \
                     handlers with your own credentials",
                    aws_smithy_types::error::display::DisplayErrorContext(&e)
                )
            })?;
        let c = out
            .credentials()
            .ok_or_else(|| anyhow!("AssumeRole on {role_arn} returned no credentials"))?;
        Ok(RoleCredentials {
            access_key_id: c.access_key_id().to_string(),
            secret_access_key: c.secret_access_key().to_string(),
            session_token: c.session_token().to_string(),
        })
    }
}

/// How an invocation failed, as Lambda reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The function reported an error (`/invocation/{id}/error`): its JSON document.
    Function(String),
    /// The runtime failed to start: init error reported, exit or init past its limit.
    Init(String),
    /// The runtime exited during the invocation.
    Exited(String),
    /// The invocation ran past the function's timeout.
    TimedOut(Duration),
    /// The response was larger than Lambda accepts.
    TooLarge(usize),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Function(doc) => write!(f, "function error: {doc}"),
            Failure::Init(why) => write!(f, "Runtime.InitError: {why}"),
            Failure::Exited(why) => write!(f, "Runtime exited with error: {why}"),
            Failure::TimedOut(t) => InvokeError::TimedOut(*t).fmt(f),
            Failure::TooLarge(n) => write!(
                f,
                "Response payload size ({n} bytes) exceeded maximum allowed payload size \
                 ({MAX_RESPONSE_BYTES} bytes)."
            ),
        }
    }
}

/// What a function runs with.
#[derive(Debug, Clone)]
pub struct FunctionSetup {
    /// Function name.
    pub name: String,
    /// Function ARN.
    pub arn: String,
    /// Execution role ARN.
    pub role_arn: String,
    /// Memory in MB.
    pub memory_mb: i32,
    /// Timeout.
    pub timeout: Duration,
    /// Execution environments at most (reserved concurrency, else [`DEFAULT_ENVIRONMENTS`]).
    pub max_environments: usize,
    /// The declared environment variables.
    pub environment: BTreeMap<String, String>,
    /// Region.
    pub region: String,
    /// The endpoint the SDK in the function is pointed at (the emulator), if any.
    pub endpoint_url: Option<String>,
    /// The extracted `bootstrap` (in its task root).
    pub bootstrap: PathBuf,
}

/// Extracts the `bootstrap` entry of a deployment package into `dir` (mode 0755), as
/// Lambda unpacks the package into `/var/task`.
pub fn extract_bootstrap(zip_path: &Path, dir: &Path) -> Result<PathBuf> {
    let file = std::fs::File::open(zip_path).with_context(|| {
        format!(
            "cannot read the deployment package {}; run `ecomflow-infra build` first",
            zip_path.display()
        )
    })?;
    let mut archive = zip::ZipArchive::new(file)
        .with_context(|| format!("{} is not a zip archive", zip_path.display()))?;
    let mut entry = archive
        .by_name("bootstrap")
        .with_context(|| format!("{} holds no `bootstrap`", zip_path.display()))?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // Absolute: the process runs in its task root, where a relative path means something else.
    let path = std::fs::canonicalize(dir)?.join("bootstrap");
    // A fresh file each time: overwriting a binary another process runs fails (ETXTBSY).
    let _ = std::fs::remove_file(&path);
    let mut out =
        std::fs::File::create(&path).with_context(|| format!("cannot write {}", path.display()))?;
    std::io::copy(&mut entry, &mut out)?;
    drop(out);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(path)
}

/// One invocation handed to an environment's runtime.
struct Invocation {
    id: String,
    payload: Bytes,
    deadline_ms: u128,
    reply: oneshot::Sender<Reply>,
}

enum Reply {
    Response(Bytes),
    Error(Bytes),
    TooLarge(usize),
}

/// The Runtime API of one execution environment.
struct RuntimeApi {
    function_arn: String,
    next: tokio::sync::Mutex<mpsc::Receiver<Invocation>>,
    pending: Mutex<Option<(String, oneshot::Sender<Reply>)>>,
    ready: Mutex<Option<oneshot::Sender<Result<(), String>>>>,
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

/// One execution environment: the runtime process and its Runtime API.
struct Environment {
    child: Child,
    invocations: mpsc::Sender<Invocation>,
    server: tokio::task::JoinHandle<()>,
    started: Instant,
    /// Init duration, reported once on the first invocation's REPORT line as Lambda does.
    init: Option<Duration>,
}

impl Drop for Environment {
    fn drop(&mut self) {
        self.server.abort();
        // `kill_on_drop` stops the process with the child handle.
    }
}

/// A packaged function: its environments, started on demand and reused.
pub struct PackagedFunction {
    setup: FunctionSetup,
    credentials: Arc<dyn Credentials>,
    idle: Mutex<Vec<Environment>>,
    slots: Semaphore,
}

fn request_id() -> String {
    let h = hex::encode(rand::random::<[u8; 16]>());
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn epoch_ms(at: SystemTime) -> u128 {
    at.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
}

impl PackagedFunction {
    /// A function whose environments start on demand.
    pub fn new(setup: FunctionSetup, credentials: Arc<dyn Credentials>) -> Self {
        let slots = Semaphore::new(setup.max_environments.max(1));
        PackagedFunction {
            setup,
            credentials,
            idle: Mutex::new(Vec::new()),
            slots,
        }
    }

    /// The function's name.
    pub fn name(&self) -> &str {
        &self.setup.name
    }

    /// Starts one environment ahead of the first request (so a runtime that cannot start is
    /// reported at once) and returns its init duration.
    pub async fn warm_up(&self) -> Result<Duration> {
        let env = self
            .start()
            .await
            .map_err(|e| anyhow!("{}: {e}", self.setup.name))?;
        let init = env.init.unwrap_or_default();
        self.idle.lock().expect("idle lock").push(env);
        Ok(init)
    }

    /// The environment Lambda gives the runtime: the defined runtime variables, the role's
    /// credentials and the declared variables (which cannot override the reserved ones).
    fn process_env(&self, runtime_api: &str, creds: &RoleCredentials) -> Vec<(String, String)> {
        let s = &self.setup;
        let task_root = s
            .bootstrap
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let mut env: Vec<(String, String)> = s
            .environment
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let stream = format!(
            "{}/[$LATEST]{}",
            chrono::Utc::now().format("%Y/%m/%d"),
            hex::encode(rand::random::<[u8; 16]>())
        );
        let reserved = [
            ("_HANDLER", "bootstrap".to_string()),
            ("AWS_REGION", s.region.clone()),
            ("AWS_DEFAULT_REGION", s.region.clone()),
            ("AWS_LAMBDA_FUNCTION_NAME", s.name.clone()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", s.memory_mb.to_string()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_string()),
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_string()),
            (
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{}", s.name),
            ),
            ("AWS_LAMBDA_LOG_STREAM_NAME", stream),
            ("AWS_LAMBDA_RUNTIME_API", runtime_api.to_string()),
            ("AWS_ACCESS_KEY_ID", creds.access_key_id.clone()),
            ("AWS_SECRET_ACCESS_KEY", creds.secret_access_key.clone()),
            ("AWS_SESSION_TOKEN", creds.session_token.clone()),
            ("LAMBDA_TASK_ROOT", task_root.clone()),
            ("LAMBDA_RUNTIME_DIR", task_root),
            ("TZ", ":UTC".to_string()),
            ("LANG", "en_US.UTF-8".to_string()),
            ("PATH", "/usr/local/bin:/usr/bin/:/bin".to_string()),
        ];
        env.retain(|(k, _)| !reserved.iter().any(|(r, _)| r == k));
        env.extend(reserved.into_iter().map(|(k, v)| (k.to_string(), v)));
        if let Some(url) = &s.endpoint_url {
            // Not a Lambda variable: it points the function's SDK at the emulator.
            env.push(("AWS_ENDPOINT_URL".into(), url.clone()));
        }
        // Let a user see the functions' debug logs locally.
        if let Ok(filter) = std::env::var("RUST_LOG") {
            env.push(("RUST_LOG".into(), filter));
        }
        env
    }

    /// Starts an environment: its Runtime API, the role's credentials, the process; then
    /// waits for the runtime's first request for work (the end of its init phase).
    async fn start(&self) -> Result<Environment, Failure> {
        let s = &self.setup;
        let creds = self
            .credentials
            .assume(&s.role_arn, &s.name)
            .await
            .map_err(|e| Failure::Init(e.to_string()))?;
        let (tx, rx) = mpsc::channel(1);
        let (ready_tx, ready_rx) = oneshot::channel();
        let api = Arc::new(RuntimeApi {
            function_arn: s.arn.clone(),
            next: tokio::sync::Mutex::new(rx),
            pending: Mutex::new(None),
            ready: Mutex::new(Some(ready_tx)),
        });
        let router = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(respond),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(fail))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            // Larger bodies are read so that the invocation fails as Lambda fails it.
            .layer(DefaultBodyLimit::max(MAX_RESPONSE_BYTES * 2))
            .with_state(api);
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(|e| Failure::Init(format!("cannot serve the Runtime API: {e}")))?;
        let address = listener
            .local_addr()
            .map_err(|e| Failure::Init(e.to_string()))?;
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        let started = Instant::now();
        let mut child = Command::new(&s.bootstrap)
            .env_clear()
            .envs(self.process_env(&address.to_string(), &creds))
            .current_dir(s.bootstrap.parent().unwrap_or(Path::new(".")))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                server.abort();
                Failure::Init(format!("cannot start {}: {e}", s.bootstrap.display()))
            })?;
        relay_logs(&s.name, &mut child);
        let mut env = Environment {
            child,
            invocations: tx,
            server,
            started,
            init: None,
        };
        let outcome = tokio::select! {
            ready = ready_rx => ready.unwrap_or_else(|_| Err("the Runtime API stopped".into())),
            status = env.child.wait() => Err(format!(
                "the runtime exited during init ({})",
                status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string())
            )),
            _ = tokio::time::sleep(INIT_LIMIT) => Err(format!(
                "the init phase took longer than {} seconds", INIT_LIMIT.as_secs()
            )),
        };
        outcome.map_err(Failure::Init)?;
        let init = started.elapsed();
        tracing::info!(
            function = s.name,
            init_ms = format!("{:.2}", init.as_secs_f64() * 1e3),
            "INIT: the runtime asked for work"
        );
        env.init = Some(init);
        Ok(env)
    }

    /// An idle environment still fit for work, or a new one.
    async fn environment(&self) -> Result<Environment, Failure> {
        loop {
            let candidate = self.idle.lock().expect("idle lock").pop();
            match candidate {
                Some(mut env) => {
                    let alive = matches!(env.child.try_wait(), Ok(None));
                    if alive && env.started.elapsed() < RETIRE_AFTER {
                        return Ok(env);
                    }
                }
                None => return self.start().await,
            }
        }
    }

    /// Invokes the function with `payload`: the answer's bytes, or how it failed.
    pub async fn invoke(&self, payload: Vec<u8>) -> Result<Bytes, Failure> {
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|_| Failure::Init("the function is shutting down".into()))?;
        let mut env = self.environment().await?;
        let id = request_id();
        let timeout = self.setup.timeout;
        let begun = Instant::now();
        let (reply_tx, reply_rx) = oneshot::channel();
        let sent = env
            .invocations
            .send(Invocation {
                id: id.clone(),
                payload: Bytes::from(payload),
                deadline_ms: epoch_ms(SystemTime::now() + timeout),
                reply: reply_tx,
            })
            .await;
        if sent.is_err() {
            return Err(Failure::Exited("the Runtime API stopped".into()));
        }
        let outcome = tokio::select! {
            reply = reply_rx => match reply {
                Ok(Reply::Response(body)) => Ok(body),
                Ok(Reply::Error(doc)) => Err(Failure::Function(String::from_utf8_lossy(&doc).into_owned())),
                Ok(Reply::TooLarge(n)) => Err(Failure::TooLarge(n)),
                Err(_) => Err(Failure::Exited("the Runtime API stopped".into())),
            },
            status = env.child.wait() => Err(Failure::Exited(
                status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string())
            )),
            _ = tokio::time::sleep(timeout) => Err(Failure::TimedOut(timeout)),
        };
        let duration = begun.elapsed();
        let init = env.init.take();
        tracing::info!(
            function = self.setup.name,
            request_id = id,
            duration_ms = format!("{:.2}", duration.as_secs_f64() * 1e3),
            init_duration_ms = init.map(|i| format!("{:.2}", i.as_secs_f64() * 1e3)),
            error = outcome.as_ref().err().map(|e| e.to_string()),
            "REPORT"
        );
        match &outcome {
            // The environment goes on serving, as Lambda's does after a handled error.
            Ok(_) | Err(Failure::Function(_)) => {
                self.idle.lock().expect("idle lock").push(env);
            }
            // Timed out, exited, or too large: the environment is stopped (dropped: killed).
            Err(_) => {}
        }
        outcome
    }
}

/// Relays the runtime's standard output and error to this process's log, a line at a time,
/// as Lambda sends them to CloudWatch Logs.
fn relay_logs(function: &str, child: &mut Child) {
    fn relay(function: String, stream: impl tokio::io::AsyncRead + Unpin + Send + 'static) {
        tokio::spawn(async move {
            let mut lines = tokio::io::BufReader::new(stream).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                // The bootstraps log JSON lines; keep each line's own level.
                let level = serde_json::from_str::<serde_json::Value>(&line)
                    .ok()
                    .and_then(|v| v.get("level").and_then(|l| l.as_str()).map(str::to_owned));
                match level.as_deref() {
                    Some("ERROR") => tracing::error!(target: "function", function, "{line}"),
                    Some("WARN") => tracing::warn!(target: "function", function, "{line}"),
                    Some(_) => tracing::info!(target: "function", function, "{line}"),
                    // Not the runtime's own log: a panic message or the like.
                    None => tracing::warn!(target: "function", function, "{line}"),
                }
            }
        });
    }
    if let Some(out) = child.stdout.take() {
        relay(function.to_string(), out);
    }
    if let Some(err) = child.stderr.take() {
        relay(function.to_string(), err);
    }
}

/// An API Gateway proxy answer for a failed invocation: API Gateway answers 502 `Internal
/// server error` when the Lambda integration fails.
fn bad_gateway() -> ApiGatewayProxyResponse {
    let mut r = ApiGatewayProxyResponse::default();
    r.status_code = 502;
    r.body = Some(aws_lambda_events::encodings::Body::Text(
        r#"{"message": "Internal server error"}"#.into(),
    ));
    r
}

#[async_trait]
impl ApiFunction for PackagedFunction {
    async fn invoke(&self, event: ApiGatewayProxyRequest) -> ApiGatewayProxyResponse {
        let payload = match serde_json::to_vec(&event) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(function = self.setup.name, error = %e, "cannot encode the event");
                return bad_gateway();
            }
        };
        match PackagedFunction::invoke(self, payload).await {
            Ok(body) => serde_json::from_slice(&body).unwrap_or_else(|e| {
                tracing::error!(function = self.setup.name, error = %e, "malformed Lambda proxy response");
                bad_gateway()
            }),
            Err(e) => {
                tracing::error!(function = self.setup.name, error = %e, "invocation failed");
                bad_gateway()
            }
        }
    }
}

#[async_trait]
impl StreamFunction for PackagedFunction {
    async fn invoke(&self, event: KinesisEvent) -> Result<KinesisEventResponse, String> {
        let payload = serde_json::to_vec(&event).map_err(|e| e.to_string())?;
        let body = PackagedFunction::invoke(self, payload)
            .await
            .map_err(|e| e.to_string())?;
        serde_json::from_slice(&body).map_err(|e| format!("malformed batch response: {e}"))
    }
}

/// Extracts every function's bootstrap before any process starts (a file being written while
/// another thread forks can make `exec` fail with ETXTBSY), under `root`.
pub fn extract_all(
    packages: &[(String, PathBuf)],
    root: &Path,
) -> Result<BTreeMap<String, PathBuf>> {
    let mut out = BTreeMap::new();
    for (name, zip) in packages {
        out.insert(name.clone(), extract_bootstrap(zip, &root.join(name))?);
    }
    if out.is_empty() {
        bail!("no function to run");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A runtime written against the documented Runtime API only (not the Rust runtime
    /// crate), so the protocol itself is what is tested. The payload says what to do.
    const RUNTIME: &str = r#"#!/usr/bin/env python3
import json, os, sys, time, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"
def post(path, body):
    urllib.request.urlopen(urllib.request.Request(api + path, data=body, method="POST")).read()
if os.environ.get("FAIL_INIT"):
    post("/init/error", json.dumps({"errorMessage": "no config", "errorType": "Config"}).encode())
    sys.exit(1)
while True:
    with urllib.request.urlopen(api + "/invocation/next") as r:
        rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
        deadline = int(r.headers["Lambda-Runtime-Deadline-Ms"])
        arn = r.headers["Lambda-Runtime-Invoked-Function-Arn"]
        event = json.loads(r.read())
    what = event["do"]
    if what == "env":
        keys = ["AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN", "AWS_LAMBDA_FUNCTION_NAME", "TABLE", "HOME", "AWS_REGION"]
        out = {k: os.environ.get(k) for k in keys}
        out.update(arn=arn, left_ms=deadline - int(time.time() * 1000), pid=os.getpid())
        post("/invocation/" + rid + "/response", json.dumps(out).encode())
    elif what == "fail":
        post("/invocation/" + rid + "/error", json.dumps({"errorMessage": "boom", "errorType": "Oops"}).encode())
    elif what == "hang":
        time.sleep(60)
    elif what == "exit":
        sys.exit(3)
    elif what == "big":
        post("/invocation/" + rid + "/response", b"x" * (6 * 1024 * 1024 + 1))
"#;

    struct Fixed;

    #[async_trait]
    impl Credentials for Fixed {
        async fn assume(&self, role_arn: &str, session: &str) -> Result<RoleCredentials> {
            Ok(RoleCredentials {
                access_key_id: format!("ASIA-{session}"),
                secret_access_key: "secret".into(),
                session_token: role_arn.to_string(),
            })
        }
    }

    fn function(dir: &Path, env: &[(&str, &str)], timeout: Duration) -> PackagedFunction {
        let path = dir.join("bootstrap");
        std::fs::write(&path, RUNTIME).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        PackagedFunction::new(
            FunctionSetup {
                name: "fn-a".into(),
                arn: "arn:aws:lambda:eu-west-1:123456789012:function:fn-a".into(),
                role_arn: "arn:aws:iam::123456789012:role/fn-a".into(),
                memory_mb: 128,
                timeout,
                max_environments: 2,
                environment: env
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                region: "eu-west-1".into(),
                endpoint_url: None,
                bootstrap: path,
            },
            Arc::new(Fixed),
        )
    }

    async fn call(f: &PackagedFunction, what: &str) -> Result<serde_json::Value, Failure> {
        let body = f
            .invoke(serde_json::to_vec(&serde_json::json!({ "do": what })).unwrap())
            .await?;
        Ok(serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null))
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_runtime_gets_lambdas_environment_and_its_role_and_nothing_of_ours() {
        let dir = tempfile::tempdir().unwrap();
        let f = function(
            dir.path(),
            &[("TABLE", "t1"), ("AWS_REGION", "overridden?")],
            Duration::from_secs(20),
        );
        let env = call(&f, "env").await.unwrap();
        assert_eq!(env["AWS_ACCESS_KEY_ID"], "ASIA-fn-a");
        assert_eq!(
            env["AWS_SESSION_TOKEN"],
            "arn:aws:iam::123456789012:role/fn-a"
        );
        assert_eq!(env["AWS_LAMBDA_FUNCTION_NAME"], "fn-a");
        assert_eq!(env["TABLE"], "t1");
        // Reserved variables cannot be overridden, and this process's own are not passed.
        assert_eq!(env["AWS_REGION"], "eu-west-1");
        assert_eq!(env["HOME"], serde_json::Value::Null);
        assert_eq!(
            env["arn"],
            "arn:aws:lambda:eu-west-1:123456789012:function:fn-a"
        );
        let left = env["left_ms"].as_i64().unwrap();
        assert!((15_000..=20_000).contains(&left), "deadline {left} ms away");
        // The environment is reused for the next invocation.
        let again = call(&f, "env").await.unwrap();
        assert_eq!(again["pid"], env["pid"]);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn errors_timeouts_exits_and_oversized_answers_fail_as_lambda_fails_them() {
        let dir = tempfile::tempdir().unwrap();
        let f = function(dir.path(), &[], Duration::from_millis(1500));
        let first = call(&f, "env").await.unwrap();
        // A reported error keeps the environment.
        let err = call(&f, "fail").await.unwrap_err();
        assert!(
            matches!(&err, Failure::Function(doc) if doc.contains("boom")),
            "{err}"
        );
        assert_eq!(call(&f, "env").await.unwrap()["pid"], first["pid"]);
        // A timeout stops the environment; the next invocation gets a new one.
        let started = Instant::now();
        let err = call(&f, "hang").await.unwrap_err();
        assert_eq!(err, Failure::TimedOut(Duration::from_millis(1500)));
        assert_eq!(err.to_string(), "Task timed out after 1.50 seconds");
        assert!(started.elapsed() < Duration::from_secs(5));
        let after = call(&f, "env").await.unwrap();
        assert_ne!(after["pid"], first["pid"]);
        // An exit fails the invocation.
        let err = call(&f, "exit").await.unwrap_err();
        assert!(
            matches!(&err, Failure::Exited(why) if why.contains('3')),
            "{err}"
        );
        // More than 6 MB is refused.
        let err = call(&f, "big").await.unwrap_err();
        assert_eq!(err, Failure::TooLarge(6 * 1024 * 1024 + 1));
        assert!(call(&f, "env").await.is_ok());
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn an_init_error_is_reported_and_nothing_is_invoked() {
        let dir = tempfile::tempdir().unwrap();
        let f = function(dir.path(), &[("FAIL_INIT", "1")], Duration::from_secs(5));
        let err = f.warm_up().await.unwrap_err().to_string();
        assert!(
            err.contains("Runtime.InitError") && err.contains("no config"),
            "{err}"
        );
        let err = call(&f, "env").await.unwrap_err();
        assert!(matches!(err, Failure::Init(_)), "{err}");
    }

    #[test]
    fn the_bootstrap_is_extracted_executable_from_its_package() {
        let dir = tempfile::tempdir().unwrap();
        let zip = dir.path().join("bootstrap.zip");
        std::fs::write(
            &zip,
            crate::package::archive::zip_bootstrap(b"#!/bin/sh\n").unwrap(),
        )
        .unwrap();
        let path = extract_bootstrap(&zip, &dir.path().join("task")).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"#!/bin/sh\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o755);
        }
        let err = extract_bootstrap(&dir.path().join("missing.zip"), dir.path()).unwrap_err();
        assert!(err.to_string().contains("ecomflow-infra build"), "{err}");
    }
}
