//! Test support: a `moto_server` per test on a free loopback port, and running the tool.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A running `moto_server`, killed (by its PID) when dropped.
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Moto {
    /// Starts an emulator and waits until it answers.
    pub fn start() -> Moto {
        for _ in 0..5 {
            let port = free_port();
            let child = Command::new("moto_server")
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("moto_server must be installed (pip install 'moto[server]')");
            let mut moto = Moto {
                child,
                endpoint: format!("http://127.0.0.1:{port}"),
            };
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = moto.child.try_wait() {
                    break; // port taken in the meantime: try another
                }
                if http_ok(port) {
                    return moto;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        panic!("moto_server did not start");
    }

    /// An SDK config pointing at this emulator.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_s3::config::Credentials::new("test", "test", None, None, "tests"))
            .load()
            .await
    }

    /// An S3 client for this emulator (path-style addressing).
    pub async fn s3(&self) -> aws_sdk_s3::Client {
        let conf = self.sdk_config().await;
        aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&conf).force_path_style(true).build())
    }
}

fn http_ok(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    s.set_read_timeout(Some(Duration::from_secs(2))).ok();
    let _ = s.write_all(b"GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
    let mut buf = [0u8; 12];
    matches!(s.read(&mut buf), Ok(n) if n >= 12 && buf.starts_with(b"HTTP/1."))
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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

/// A command for the tool pointed at `endpoint`, with dummy credentials and the repo as cwd.
pub fn command(endpoint: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(tool());
    cmd.args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .stdin(Stdio::null());
    cmd
}

/// Runs the tool to completion.
pub fn run(endpoint: &str, args: &[&str]) -> Run {
    let Output { status, stdout, stderr } = command(endpoint, args).output().expect("run the tool");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// A stack file in a temp dir: the dev stack with `edit` applied to its text.
pub fn stack_file(dir: &Path, name: &str, edit: impl Fn(String) -> String) -> PathBuf {
    let base = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("stacks/dev.yaml")).unwrap();
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
