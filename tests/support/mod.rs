//! Test support: an emulator per test on a free loopback port (`ecomflow_testkit::Moto`), and
//! running the tool.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

pub use ecomflow_testkit::Moto;

pub mod cognito;
pub mod harness;
pub mod inventory;
pub mod parquet;
pub mod serve;
#[allow(unused_imports)] // each test binary uses its own subset
pub use cognito::{sign_in, user_in_groups};
#[allow(unused_imports)] // each test binary uses its own subset
pub use inventory::{duplicates, inventory, leftovers};
#[allow(unused_imports)] // each test binary uses its own subset
pub use serve::Server;

/// The result of one run of the tool.
pub struct Run {
    /// Exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Mutating calls reported on the `api calls:` line.
    pub fn mutations(&self) -> u64 {
        self.calls("mutations")
    }

    /// Read calls reported on the `api calls:` line.
    pub fn reads(&self) -> u64 {
        self.calls("reads")
    }

    fn calls(&self, what: &str) -> u64 {
        let line = self
            .stderr
            .lines()
            .rev()
            .find(|l| l.starts_with("api calls:"))
            .unwrap_or_else(|| panic!("no api calls line in:\n{}", self.stderr));
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{what}=")))
            .unwrap()
            .parse()
            .unwrap()
    }

    /// Panics with the output unless the exit code is `code`.
    pub fn expect(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "exit code {} (wanted {code})\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }
}

/// The tool binary.
pub fn tool() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ecomflow-infra"))
}

/// Builds the Lambda deployment packages once per test process (quick `dev` profile): every
/// stack declares the functions, and the tool reads their code hashes.
pub fn lambda_packages() {
    static BUILT: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        let opts = ecomflow_infra::package::BuildOptions {
            profile: "dev".into(),
            ..ecomflow_infra::package::BuildOptions::new(env!("CARGO_MANIFEST_DIR"))
        };
        ecomflow_infra::package::build(&opts).expect("build the Lambda packages");
    });
}

/// A command for the tool pointed at `endpoint`, with dummy credentials and the repo as cwd.
pub fn command(endpoint: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(tool());
    cmd.args(args);
    with_tool_env(&mut cmd, endpoint);
    cmd
}

/// Gives `cmd` (the tool, or a script that runs it) the tool's test environment: the repo as
/// cwd, the emulator at `endpoint`, dummy credentials, the local stack and the packages.
pub fn with_tool_env(cmd: &mut Command, endpoint: &str) {
    lambda_packages();
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        // The dev stack as adapted to the emulator (see the comments in the file).
        .env("ECOMFLOW_STACK", "stacks/local.yaml")
        .env(
            "ECOMFLOW_PACKAGES",
            Path::new(env!("CARGO_MANIFEST_DIR")).join("target/lambda-packages/dev-x86_64"),
        )
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .stdin(Stdio::null());
}

/// Runs the tool to completion.
pub fn run(endpoint: &str, args: &[&str]) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = command(endpoint, args).output().expect("run the tool");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// A stack file in a temp dir: the dev stack with `edit` applied to its text.
pub fn stack_file(dir: &Path, name: &str, edit: impl Fn(String) -> String) -> PathBuf {
    let base =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("stacks/local.yaml"))
            .unwrap();
    let path = dir.join(name);
    std::fs::write(&path, edit(base)).unwrap();
    path
}

/// A loopback listener that only counts connections: proof that nothing reached an API.
pub struct ConnectionCounter {
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    count: Arc<AtomicUsize>,
}

impl ConnectionCounter {
    /// Starts counting.
    pub fn start() -> ConnectionCounter {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let count = Arc::new(AtomicUsize::new(0));
        let c = count.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                c.fetch_add(1, Ordering::SeqCst);
                drop(conn);
            }
        });
        ConnectionCounter { endpoint, count }
    }

    /// Connections seen so far.
    pub fn connections(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }
}

/// The fault mix of issue 7 (10% throttling, 3% HTTP 500/503, 1% dropped connections) with
/// `seed` (`ECOMFLOW_FAULT_SEED` still overrides it).
pub fn fault_mix(seed: u64) -> ecomflow_testkit::Faults {
    ecomflow_testkit::Faults {
        throttle: 0.10,
        server_error: 0.03,
        drop: 0.01,
        seed: Some(seed),
        ..ecomflow_testkit::Faults::default()
    }
}

/// A runtime whose worker serves a proxy while the test thread runs the tool.
pub fn proxy_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

/// Every record on every shard of the stream, as (partition key, data).
pub async fn stream_records(moto: &Moto, stream: &str) -> Vec<(String, Vec<u8>)> {
    use aws_sdk_kinesis::types::ShardIteratorType;
    let k = aws_sdk_kinesis::Client::new(&moto.sdk_config().await);
    let shards = k.list_shards().stream_name(stream).send().await.unwrap();
    let mut out = vec![];
    for shard in shards.shards() {
        let mut it = k
            .get_shard_iterator()
            .stream_name(stream)
            .shard_id(shard.shard_id())
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .unwrap()
            .shard_iterator
            .unwrap();
        loop {
            let page = k
                .get_records()
                .shard_iterator(&it)
                .limit(10_000)
                .send()
                .await
                .unwrap();
            if page.records().is_empty() {
                break;
            }
            for r in page.records() {
                out.push((
                    r.partition_key().unwrap_or_default().to_string(),
                    r.data().as_ref().to_vec(),
                ));
            }
            match page.next_shard_iterator() {
                Some(next) => it = next.to_string(),
                None => break,
            }
        }
    }
    out
}

// ---- wt-b: a loopback endpoint that hangs up (security, engine, gc tests) ----

/// A loopback listener that reads the head of each request (request line and headers) and
/// closes the connection without answering: an API that is reachable but never replies. What
/// the client sent is kept, so a test can see which credentials it signed with.
pub struct HangUp {
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    heads: Arc<std::sync::Mutex<Vec<String>>>,
}

impl HangUp {
    /// Starts listening.
    pub fn start() -> HangUp {
        use std::io::Read;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let heads = Arc::new(std::sync::Mutex::new(Vec::new()));
        let h = heads.clone();
        std::thread::spawn(move || {
            for mut conn in listener.incoming().flatten() {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                // Up to the blank line that ends the head (or the client giving up).
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                h.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&head).into_owned());
                drop(conn);
            }
        });
        HangUp { endpoint, heads }
    }

    /// The heads of the requests received so far.
    pub fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}
