//! Packaged functions over a runtime written against the documented Runtime API.

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
