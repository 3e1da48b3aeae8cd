//! A running `local serve` for tests.

use super::command;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running `local serve`, killed by its PID when dropped (also when a test panics).
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

/// Collects a child's output on a thread, so its pipe never fills.
fn drain(
    pipe: impl Read + Send + 'static,
    into: Arc<Mutex<String>>,
    first_line: Option<mpsc::Sender<String>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut first_line = first_line;
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if let Some(tx) = first_line.take() {
                let _ = tx.send(line.clone());
            }
            let mut s = into.lock().unwrap();
            s.push_str(&line);
            s.push('\n');
        }
    })
}

impl Server {
    /// `local serve --port 0` of `instance` with its checkpoint at `checkpoint`, polling
    /// every 100 ms, plus `extra` flags; waits for its `listening on` line.
    pub fn start(endpoint: &str, instance: &str, checkpoint: &Path, extra: &[&str]) -> Server {
        let mut args = vec![
            "local",
            "serve",
            "--port",
            "0",
            "--instance",
            instance,
            "--checkpoint",
            checkpoint.to_str().unwrap(),
            "--poll-interval",
            "100ms",
        ];
        args.extend_from_slice(extra);
        let mut cmd = command(endpoint, &args);
        cmd.env("RUST_LOG", "warn,ecomflow_infra=debug")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start local serve");
        let (stdout, stderr) = (Arc::default(), Arc::default());
        let (tx, rx) = mpsc::channel();
        let readers = vec![
            drain(child.stdout.take().unwrap(), Arc::clone(&stdout), Some(tx)),
            drain(child.stderr.take().unwrap(), Arc::clone(&stderr), None),
        ];
        let mut server = Server {
            child,
            base: String::new(),
            stdout,
            stderr,
            readers,
        };
        let line = match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(line) => line,
            Err(_) => panic!(
                "local serve printed no address; stderr:\n{}",
                server.stderr.lock().unwrap()
            ),
        };
        let port: u16 = line
            .strip_prefix("listening on http://127.0.0.1:")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .unwrap();
        assert_ne!(port, 0);
        server.base = format!("http://127.0.0.1:{port}");
        server
    }

    /// Its standard error so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Sends SIGTERM (by PID) and waits for the exit: (exit code, stdout, stderr).
    pub fn stop(mut self) -> (Option<i32>, String, String) {
        let pid = self.child.id().to_string();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM {pid} failed");
        let deadline = Instant::now() + Duration::from_secs(180);
        let code = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s.code();
            }
            assert!(
                Instant::now() < deadline,
                "local serve did not stop on SIGTERM; stderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        for r in self.readers.drain(..) {
            r.join().unwrap();
        }
        let out = self.stdout.lock().unwrap().clone();
        (code, out, self.stderr())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
