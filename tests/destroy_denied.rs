//! Destroy goes on past what it cannot read. The stack is applied, then destroyed with role
//! credentials that may do everything except read the Glue script object (the emulator
//! evaluates IAM for role credentials as AWS does): destroy deletes everything else, names the
//! object it could not read with the classified reason, ends with exit code 1, and its leak
//! sweep says what remains.

mod support;

use serde_json::json;
use support::{command, leftovers, run, Moto};

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// Role credentials allowed everything but `s3:GetObject` on the script's prefix.
fn credentials_denied_the_script(moto: &Moto, bucket: &str) -> (String, String, String) {
    block_on(async {
        let conf = moto.sdk_config().await;
        let iam = aws_sdk_iam::Client::new(&conf);
        let trust = json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
            "Action": "sts:AssumeRole"
        }]});
        iam.create_role()
            .role_name("destroyer")
            .assume_role_policy_document(trust.to_string())
            .send()
            .await
            .unwrap();
        let policy = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:GetObject",
             "Resource": format!("arn:aws:s3:::{bucket}/scripts/*")}
        ]});
        iam.put_role_policy()
            .role_name("destroyer")
            .policy_name("all-but-the-script")
            .policy_document(policy.to_string())
            .send()
            .await
            .unwrap();
        let sts = aws_sdk_sts::Client::new(&conf);
        let c = sts
            .assume_role()
            .role_arn("arn:aws:iam::123456789012:role/destroyer")
            .role_session_name("destroy")
            .send()
            .await
            .unwrap()
            .credentials
            .unwrap();
        (c.access_key_id, c.secret_access_key, c.session_token)
    })
}

#[test]
fn destroy_deletes_what_it_can_and_names_what_it_could_not_read() {
    let moto = Moto::start();
    let instance = "ecomflow-dev-denied";
    run(&moto.endpoint, &["apply", "--yes", "--instance", "denied"]).expect(0);
    let bucket = format!("{instance}-lake-123456789012-us-east-1");
    let (key, secret, token) = credentials_denied_the_script(&moto, &bucket);

    let out = command(
        &moto.endpoint,
        &["destroy", "--yes", "--instance", "denied"],
    )
    .env("AWS_ACCESS_KEY_ID", key)
    .env("AWS_SECRET_ACCESS_KEY", secret)
    .env("AWS_SESSION_TOKEN", token)
    .output()
    .expect("run the tool");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("s3_object.glue_script: could not be read"),
        "{stderr}"
    );
    assert!(
        stderr.contains("access denied (HTTP 403) on HeadObject"),
        "{stderr}"
    );
    assert!(stderr.contains("leak sweep:"), "{stderr}");
    assert!(
        !stderr.contains("service error") && !stderr.contains("Error {"),
        "no SDK debug dump: {stderr}"
    );
    // Everything else went: only what is in or under the bucket may be left.
    let left = leftovers(&moto, instance);
    assert!(
        left.iter().all(|l| l.contains("-lake-")),
        "destroy stopped short: {left:?}"
    );
}
