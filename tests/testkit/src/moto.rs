//! A `moto_server` per test, with the few additions of `moto_ext.py` (operations of the full
//! dev stack that moto lacks; see that file).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `moto_server`, killed (by its PID) when dropped.
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
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
    /// Starts an emulator on a free port and waits until it answers: `moto_ext.py` run by
    /// `$MOTO_PYTHON` (default `python3`, the interpreter `scripts/ensure-moto` installs moto
    /// into). Panics if that cannot start: tests that need it must not pass without it.
    pub fn start() -> Moto {
        let ext = concat!(env!("CARGO_MANIFEST_DIR"), "/moto_ext.py");
        for _ in 0..5 {
            let port = free_port();
            let program = std::env::var("MOTO_PYTHON").unwrap_or_else(|_| "python3".into());
            let child = Command::new(program)
                .args([ext, "-H", "127.0.0.1", "-p", &port.to_string()])
                // Its output is discarded: spare it the access log.
                .env("MOTO_ACCESS_LOG", "0")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("python3 (or $MOTO_PYTHON) with moto[server] installed must be on PATH");
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
        panic!("the emulator did not start: is moto[server] installed for python3 (scripts/ensure-moto)?");
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
