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

mod api;
mod credentials;
#[cfg(test)]
mod tests;

pub use credentials::{Credentials, RoleCredentials, StsCredentials};

use super::functions::{ApiFunction, InvokeError, StreamFunction};
use anyhow::{anyhow, bail, Context as _, Result};
use api::{Invocation, Reply, RuntimeApi};
use async_trait::async_trait;
use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_lambda_events::kinesis::KinesisEvent;
use aws_lambda_events::streams::KinesisEventResponse;
use axum::body::Bytes;
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
/// An environment is retired this long after it started, well before its role credentials
/// (asked for [`credentials::CREDENTIALS_SECONDS`]) end.
const RETIRE_AFTER: Duration = Duration::from_secs(50 * 60);
/// Execution environments per function when no reserved concurrency is declared.
pub const DEFAULT_ENVIRONMENTS: usize = 10;

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
        let router = api::router(api);
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
