//! The CI example's smoke check (`examples/ci/smoke`), the very script the pull-request
//! workflow runs, against a stack copy on the local emulator with `local serve` as its API:
//! a second plan finds no change, a CI producer streams a fixture through the API and a CI
//! analyst reads an invoice back, while the producer's GET is refused.

mod support;

use std::path::Path;
use support::{run, with_tool_env, Moto, Server};

const INSTANCE: &str = "pr-1";

#[test]
fn the_ci_smoke_script_passes_through_the_api() {
    let moto = Moto::start();
    let ep = moto.endpoint.clone();
    let dir = tempfile::tempdir().unwrap();
    run(&ep, &["apply", "--yes", "--instance", INSTANCE]).expect(0);
    let server = Server::start(&ep, INSTANCE, &dir.path().join("checkpoint.json"), &[]);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ci/smoke");
    let mut cmd = std::process::Command::new("bash");
    cmd.arg(&script);
    with_tool_env(&mut cmd, &ep);
    let out = cmd
        .env("TOOL", support::tool())
        .env("INSTANCE", INSTANCE)
        .env("API_URL", &server.base)
        .env("AWS_REGION", "us-east-1")
        .output()
        .expect("run examples/ci/smoke");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success(),
        "the smoke script failed\nstdout:\n{stdout}\nstderr:\n{stderr}\nlocal serve:\n{}",
        server.stderr()
    );
    // It did its job, not just exit 0.
    assert!(stdout.contains("as ci-producer: HTTP 403"), "{stdout}");
    assert!(stdout.contains("as ci-analyst: HTTP 200"), "{stdout}");
    assert!(stdout.contains("smoke check passed"), "{stdout}");
}
