//! The local AWS emulator per test (`emulator/`: `moto_server` plus what AWS does that moto
//! does not; see `emulator/ecomflow_emulator/__init__.py`), started as the quickstart and a
//! user start it: `scripts/emulator --host 127.0.0.1 --port N`, with the project venv's python.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The repository root (this crate is `tests/testkit`).
const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// A running emulator, killed (by its PID) when dropped.
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
}

/// The python of the emulator's venv, which has the emulator's package and every dependency
/// it pins (boto3 included): `$ECOMFLOW_EMULATOR_PYTHON` (scripts/test and scripts/report set
/// it), else what `scripts/ensure-emulator` prints, run once per test process (it makes or
/// updates `target/emulator-venv` when needed, so a plain `cargo test` works too). Panics if
/// that fails: tests that need the emulator must not pass without it.
pub fn emulator_python() -> &'static str {
    static PYTHON: OnceLock<String> = OnceLock::new();
    PYTHON.get_or_init(|| {
        if let Ok(python) = std::env::var("ECOMFLOW_EMULATOR_PYTHON") {
            if !python.is_empty() {
                return python;
            }
        }
        let script = format!("{ROOT}/scripts/ensure-emulator");
        let out = Command::new(&script)
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {script}: {e}"));
        let python = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(
            out.status.success() && !python.is_empty(),
            "{script} failed ({}): the emulator's venv could not be made",
            out.status
        );
        python
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn answers(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    s.set_read_timeout(Some(Duration::from_secs(2))).ok();
    let _ = s.write_all(b"GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
    let mut buf = [0u8; 12];
    matches!(s.read(&mut buf), Ok(n) if n >= 12 && buf.starts_with(b"HTTP/1."))
}

impl Moto {
    /// Starts an emulator on a free port and waits until it answers: `scripts/emulator`, run
    /// with [`emulator_python`]. Panics if it cannot start: tests that need it must not pass
    /// without it.
    pub fn start() -> Moto {
        let python = emulator_python();
        let script = format!("{ROOT}/scripts/emulator");
        for _ in 0..5 {
            let port = free_port();
            let child = Command::new(&script)
                .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                .env("ECOMFLOW_EMULATOR_PYTHON", python)
                // Its output is discarded: spare it the access log.
                .env("MOTO_ACCESS_LOG", "0")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run {script}: {e}"));
            let mut moto = Moto {
                child,
                endpoint: format!("http://127.0.0.1:{port}"),
            };
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = moto.child.try_wait() {
                    break; // the port was taken meanwhile: try another
                }
                if answers(port) {
                    return moto;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        panic!("the emulator did not start: try `scripts/emulator --port 0` to see why");
    }

    /// An SDK config for this emulator: dummy credentials, `us-east-1`.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "test", "test", None, None, "testkit",
            ))
            .load()
            .await
    }

    /// An S3 client for this emulator (path-style addressing).
    pub async fn s3(&self) -> aws_sdk_s3::Client {
        let conf = self.sdk_config().await;
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&conf)
                .force_path_style(true)
                .build(),
        )
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
