//! The stack engine against a real AWS API emulator (`emulator/`): plan, apply, destroy,
//! ownership, locks, saved plans and safety refusals.

mod support;

use support::{command, leftovers, run, stack_file, ConnectionCounter, Moto};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn apply_plan_update_destroy_lifecycle() {
    let moto = Moto::start();
    let ep = &moto.endpoint;
    let dir = tempfile::tempdir().unwrap();

    // From nothing: the plan lists every resource of the full stack as a create; exit 2.
    let first = run(
        ep,
        &[
            "plan",
            "--detailed-exitcode",
            "--instance",
            "t-life",
            "--output",
            "json",
        ],
    )
    .expect(2);
    let first: serde_json::Value = serde_json::from_str(&first.stdout).unwrap();
    let changes = first["changes"].as_array().unwrap();
    let declared = changes.len();
    assert!(changes.iter().all(|c| c["action"] == "create"));
    assert_eq!(first["summary"]["add"], declared);
    for kind in [
        "s3_bucket",
        "s3_object",
        "kinesis_stream",
        "dynamodb_table",
        "sns_topic",
        "iam_role",
        "lambda_function",
        "lambda_event_source_mapping",
        "lambda_permission",
        "cognito_user_pool",
        "cognito_app_client",
        "cognito_group",
        "apigw_rest_api",
        "apigw_stage",
        "glue_database",
        "glue_table",
        "glue_crawler",
        "glue_job",
        "firehose_delivery_stream",
    ] {
        assert!(
            changes.iter().any(|c| c["kind"] == kind),
            "no {kind} declared"
        );
    }

    let applied = run(ep, &["apply", "--yes", "--instance", "t-life"]).expect(0);
    assert!(
        applied
            .stdout
            .contains(&format!("Apply: {declared} succeeded, 0 failed")),
        "{}",
        applied.stdout
    );
    assert!(
        applied
            .stderr
            .contains("kinesis_stream.orders: creating -> created after"),
        "{}",
        applied.stderr
    );

    // What users connect with, read live.
    let out = run(ep, &["outputs", "--json", "--instance", "t-life"]).expect(0);
    let out: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(
        out["api_url"]
            .as_str()
            .unwrap()
            .contains(".execute-api.us-east-1.amazonaws.com/v1"),
        "{out:#}"
    );
    assert!(
        out["user_pool_id"]
            .as_str()
            .unwrap()
            .starts_with("us-east-1_"),
        "{out:#}"
    );
    assert!(!out["app_client_id"].as_str().unwrap().is_empty());
    assert_eq!(out["stream"], "ecomflow-dev-t-life-orders");
    assert_eq!(out["invoices_table"], "ecomflow-dev-t-life-invoices");
    assert_eq!(
        out["bucket"],
        "ecomflow-dev-t-life-lake-123456789012-us-east-1"
    );
    assert_eq!(out["athena_table"], "invoice_lines");
    // The warehouse: where the emulator's cluster listens, and the secret's ARN, never its value.
    assert_eq!(out["warehouse"]["cluster"], "ecomflow-dev-t-life-warehouse");
    assert!(
        out["warehouse"]["jdbc_url"].as_str().is_some_and(|u| u
            .starts_with("jdbc:redshift://127.0.0.1:")
            && u.ends_with("/ecomflow")),
        "{out:#}"
    );
    assert!(
        out["warehouse"]["master_password_secret_arn"]
            .as_str()
            .is_some_and(|a| a.contains(":secret:redshift!ecomflow-dev-t-life-warehouse-")),
        "{out:#}"
    );

    // Converged: no changes, and a second apply makes no mutating call.
    let again = run(ep, &["plan", "--detailed-exitcode", "--instance", "t-life"]).expect(0);
    assert!(again.stdout.starts_with("No changes."), "{}", again.stdout);
    assert!(
        again.reads() as usize <= 3 * declared,
        "{} reads for {declared} resources",
        again.reads()
    );
    let noop = run(ep, &["apply", "--yes", "--instance", "t-life"]).expect(0);
    assert_eq!(noop.mutations(), 0, "{}", noop.stderr);

    // Change one knob: the plan shows exactly that update.
    let edited = stack_file(dir.path(), "dev.yaml", |s| {
        s.replace("retention_hours: 24", "retention_hours: 72")
    });
    let edited = edited.to_str().unwrap();
    let plan = run(
        ep,
        &[
            "plan",
            "-s",
            edited,
            "--instance",
            "t-life",
            "--output",
            "json",
        ],
    )
    .expect(0);
    let plan: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    let changed: Vec<&serde_json::Value> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "no_op")
        .collect();
    assert_eq!(changed.len(), 1, "{plan:#}");
    assert_eq!(changed[0]["address"], "kinesis_stream.orders");
    assert_eq!(changed[0]["action"], "update");
    assert_eq!(changed[0]["attributes"][0]["path"], "retention_hours");
    assert_eq!(changed[0]["attributes"][0]["before"], 24);
    assert_eq!(changed[0]["attributes"][0]["after"], 72);
    assert_eq!(plan["summary"]["change"], 1);

    run(
        ep,
        &["apply", "-s", edited, "--yes", "--instance", "t-life"],
    )
    .expect(0);
    run(
        ep,
        &[
            "plan",
            "-s",
            edited,
            "--detailed-exitcode",
            "--instance",
            "t-life",
        ],
    )
    .expect(0);

    // Destroy: dry run lists, then everything goes and the sweep is clean.
    let dry = run(ep, &["destroy", "--dry-run", "--instance", "t-life"]).expect(0);
    assert!(dry.stdout.contains("to destroy."), "{}", dry.stdout);
    assert!(!leftovers(&moto, "t-life").is_empty());
    let gone = run(ep, &["destroy", "--yes", "--instance", "t-life"]).expect(0);
    assert!(
        gone.stderr.contains("Leak sweep: nothing tagged"),
        "{}",
        gone.stderr
    );
    assert_eq!(leftovers(&moto, "t-life"), Vec::<String>::new());
    let twice = run(ep, &["destroy", "--yes", "--instance", "t-life"]).expect(0);
    assert!(
        twice.stdout.contains("Nothing to destroy"),
        "{}",
        twice.stdout
    );
    assert_eq!(twice.mutations(), 0);
}

#[test]
fn a_foreign_bucket_with_our_name_is_refused() {
    let moto = Moto::start();
    let bucket = "ecomflow-dev-t-foreign-lake-123456789012-us-east-1";
    rt().block_on(async {
        moto.s3()
            .await
            .create_bucket()
            .bucket(bucket)
            .send()
            .await
            .unwrap()
    });
    let plan = run(&moto.endpoint, &["plan", "--instance", "t-foreign"]).expect(1);
    assert!(
        plan.stderr.contains("refusing to take it over"),
        "{}",
        plan.stderr
    );
    assert!(plan.stderr.contains(bucket), "{}", plan.stderr);
    let apply = run(
        &moto.endpoint,
        &["apply", "--yes", "--instance", "t-foreign"],
    )
    .expect(1);
    assert_eq!(apply.stdout, "");
    // Nothing was created, and the foreign bucket was not tagged.
    assert_eq!(leftovers(&moto, "t-foreign"), vec![bucket.to_string()]);
    let tagging = rt().block_on(async {
        moto.s3()
            .await
            .get_bucket_tagging()
            .bucket(bucket)
            .send()
            .await
    });
    assert!(tagging.map(|t| t.tag_set().is_empty()).unwrap_or(true));
    // Destroy leaves it alone too.
    let destroy = run(
        &moto.endpoint,
        &["destroy", "--yes", "--instance", "t-foreign"],
    )
    .expect(0);
    assert!(destroy.stderr.contains("left alone"), "{}", destroy.stderr);
    assert_eq!(leftovers(&moto, "t-foreign"), vec![bucket.to_string()]);
}

#[test]
fn a_held_lock_stops_a_second_run_until_force_unlocked() {
    let moto = Moto::start();
    let ep = &moto.endpoint;
    // Another run holds the lock (as a killed run would leave it).
    rt().block_on(async {
        let ddb = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
        use aws_sdk_dynamodb::types::*;
        ddb.create_table()
            .table_name("ecomflow-infra-locks")
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("LockID")
                    .key_type(KeyType::Hash)
                    .build()
                    .unwrap(),
            )
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("LockID")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        ddb.put_item()
            .table_name("ecomflow-infra-locks")
            .item("LockID", AttributeValue::S("ecomflow-dev-t-lock".into()))
            .item("Holder", AttributeValue::S("ci@runner-7 pid 4242".into()))
            .item("Since", AttributeValue::S("2026-11-25T08:00:00Z".into()))
            .item("Operation", AttributeValue::S("apply".into()))
            .send()
            .await
            .unwrap();
    });
    let blocked = run(ep, &["apply", "--yes", "--instance", "t-lock"]).expect(1);
    assert!(
        blocked
            .stderr
            .contains("locked by ci@runner-7 pid 4242 since 2026-11-25T08:00:00Z"),
        "{}",
        blocked.stderr
    );
    assert!(
        blocked.stderr.contains("force-unlock ecomflow-dev-t-lock"),
        "{}",
        blocked.stderr
    );
    assert!(
        leftovers(&moto, "t-lock").is_empty(),
        "nothing applied while locked"
    );
    run(ep, &["destroy", "--yes", "--instance", "t-lock"]).expect(1);

    let unlocked = run(ep, &["force-unlock", "ecomflow-dev-t-lock"]).expect(0);
    assert!(
        unlocked.stdout.contains("held by ci@runner-7 pid 4242"),
        "{}",
        unlocked.stdout
    );
    run(ep, &["apply", "--yes", "--instance", "t-lock"]).expect(0);
    // The lock is released after a run: the next one proceeds.
    run(ep, &["destroy", "--yes", "--instance", "t-lock"]).expect(0);
}

/// Two applies of one instance that truly overlap: exactly one proceeds. The first runs through
/// a proxy whose gate holds it at its first S3 write (the lake bucket's create, which comes
/// after it took the lock); while it is held there, the second runs to the end straight
/// against the emulator and must fail at once, naming the first as the holder. Released, the
/// first completes, and the instance has converged with its lock gone.
#[test]
fn concurrent_applies_of_one_instance_never_both_proceed() {
    use ecomflow_testkit::{GatePoint, LatencyProxy};
    use std::process::Stdio;
    let moto = Moto::start();
    let ep = &moto.endpoint;
    let args = ["apply", "--yes", "--instance", "t-race2"];
    let proxy_rt = support::proxy_runtime();
    let proxy = proxy_rt.block_on(LatencyProxy::start(ep, std::time::Duration::ZERO));
    proxy.gate().arm(GatePoint {
        at: 1,
        forward: false,
        counts: std::sync::Arc::new(|service: &str, op: &str| {
            service == "s3" && op.starts_with("PUT ")
        }),
    });
    let mut first = command(&proxy.endpoint, &args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let show = |o: &std::process::Output| {
        format!(
            "{}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };
    // The gate's closing is the signal; there is no event to wait on, so poll it.
    while proxy.gate().closed_at().is_none() {
        if first.try_wait().unwrap().is_some() {
            panic!(
                "the first apply ended before its first S3 write:\n{}",
                show(&first.wait_with_output().unwrap())
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }

    let second = run(ep, &args).expect(1);
    assert!(
        second
            .stderr
            .contains("stack ecomflow-dev-t-race2 is locked by "),
        "{}",
        second.stderr
    );
    assert!(
        second
            .stderr
            .contains(&format!(" pid {} since ", first.id())),
        "the lock error names another holder than the first run (pid {}):\n{}",
        first.id(),
        second.stderr
    );
    assert!(second.stderr.contains("(apply)"), "{}", second.stderr);
    // The runs overlapped: the first is still held at its write.
    assert!(first.try_wait().unwrap().is_none(), "the first apply ended");
    assert!(
        proxy.gate().closed_at().unwrap().starts_with("s3:PUT "),
        "{:?}",
        proxy.gate().closed_at()
    );

    // Released (the held request dropped unanswered, so the SDK retries it), the first
    // completes.
    proxy.gate().release();
    let first = first.wait_with_output().unwrap();
    assert!(first.status.success(), "{}", show(&first));
    assert!(
        String::from_utf8_lossy(&first.stdout).contains("Apply: "),
        "{}",
        show(&first)
    );
    run(
        ep,
        &["plan", "--detailed-exitcode", "--instance", "t-race2"],
    )
    .expect(0);
    // Its lock is gone: the next run proceeds.
    run(ep, &["destroy", "--yes", "--instance", "t-race2"]).expect(0);
    assert!(leftovers(&moto, "t-race2").is_empty());
}

#[test]
fn a_stale_saved_plan_is_refused() {
    let moto = Moto::start();
    let ep = &moto.endpoint;
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("plan.json");
    let saved = saved.to_str().unwrap();

    // A fresh saved plan applies without a prompt.
    run(ep, &["plan", "--instance", "t-stale", "--out", saved]).expect(0);
    run(ep, &["apply", saved, "--instance", "t-stale"]).expect(0);
    run(
        ep,
        &["plan", "--detailed-exitcode", "--instance", "t-stale"],
    )
    .expect(0);

    // Plan a change, then someone changes the live stream before it is applied.
    let edited = stack_file(dir.path(), "dev.yaml", |s| {
        s.replace("retention_hours: 24", "retention_hours: 48")
    });
    let edited = edited.to_str().unwrap();
    run(
        ep,
        &[
            "plan",
            "-s",
            edited,
            "--instance",
            "t-stale",
            "--out",
            saved,
        ],
    )
    .expect(0);
    rt().block_on(async {
        aws_sdk_kinesis::Client::new(&moto.sdk_config().await)
            .increase_stream_retention_period()
            .stream_name("ecomflow-dev-t-stale-orders")
            .retention_period_hours(36)
            .send()
            .await
            .unwrap();
    });
    let stale = run(ep, &["apply", saved, "-s", edited, "--instance", "t-stale"]).expect(1);
    assert!(
        stale
            .stderr
            .contains("the saved plan is stale: the live account changed"),
        "{}",
        stale.stderr
    );

    // A plan of another instance, or an edited file, is refused too.
    let foreign = dir.path().join("other.json");
    let foreign = foreign.to_str().unwrap();
    run(
        ep,
        &[
            "plan",
            "-s",
            edited,
            "--instance",
            "t-other",
            "--out",
            foreign,
        ],
    )
    .expect(0);
    let other = run(
        ep,
        &["apply", foreign, "-s", edited, "--instance", "t-stale"],
    )
    .expect(1);
    assert!(
        other
            .stderr
            .contains("it was made for stack ecomflow-dev-t-other, not ecomflow-dev-t-stale"),
        "{}",
        other.stderr
    );
    let text = std::fs::read_to_string(saved).unwrap();
    std::fs::write(
        saved,
        text.replace("ecomflow-dev-t-stale", "ecomflow-dev-other"),
    )
    .unwrap();
    let renamed = run(ep, &["apply", saved, "-s", edited, "--instance", "t-stale"]).expect(1);
    assert!(
        renamed
            .stderr
            .contains("was edited after `ecomflow-infra plan --out` wrote it"),
        "{}",
        renamed.stderr
    );
    std::fs::write(saved, &text[..text.len() / 2]).unwrap();
    let truncated = run(ep, &["apply", saved]).expect(1);
    assert!(
        truncated.stderr.contains("is not a plan saved by"),
        "{}",
        truncated.stderr
    );
}

#[test]
fn destroying_a_protected_env_needs_a_flag() {
    let moto = Moto::start();
    let ep = &moto.endpoint;
    let dir = tempfile::tempdir().unwrap();
    let prot = stack_file(dir.path(), "prot.yaml", |s| {
        s.replace("protected: false", "protected: true")
    });
    let prot = prot.to_str().unwrap();
    run(ep, &["apply", "-s", prot, "--yes", "--instance", "t-prot"]).expect(0);
    // Its tables are protected against deletion itself, not just by the tool's flag.
    rt().block_on(async {
        let ddb = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
        let tables = ddb.list_tables().send().await.unwrap().table_names.unwrap();
        let ours: Vec<_> = tables.iter().filter(|t| t.contains("t-prot")).collect();
        assert_eq!(ours.len(), 3, "{tables:?}");
        for t in ours {
            let d = ddb.describe_table().table_name(t).send().await.unwrap();
            assert_eq!(
                d.table.unwrap().deletion_protection_enabled,
                Some(true),
                "{t}"
            );
            let refused = ddb.delete_table().table_name(t).send().await;
            assert!(refused.is_err(), "{t} was deleted despite its protection");
        }
    });
    let before = leftovers(&moto, "t-prot").len();
    let refused = run(
        ep,
        &["destroy", "-s", prot, "--yes", "--instance", "t-prot"],
    )
    .expect(1);
    assert!(
        refused.stderr.contains("--allow-protected"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        leftovers(&moto, "t-prot").len(),
        before,
        "nothing was deleted"
    );
    run(
        ep,
        &[
            "destroy",
            "-s",
            prot,
            "--yes",
            "--allow-protected",
            "--instance",
            "t-prot",
        ],
    )
    .expect(0);
    assert!(leftovers(&moto, "t-prot").is_empty());
}

#[test]
fn a_bad_stack_file_reaches_no_api() {
    let counter = ConnectionCounter::start();
    let dir = tempfile::tempdir().unwrap();
    let bad = stack_file(dir.path(), "bad.yaml", |s| {
        s.replace("retention_hours: 24", "retention_hours: 2")
            .replace("pitr: true", "pitr: sometimes")
    });
    let text = std::fs::read_to_string(&bad).unwrap();
    let pitr_line = 1 + text.lines().position(|l| l.contains("pitr:")).unwrap();
    for args in [
        vec!["plan", "-s", bad.to_str().unwrap()],
        vec!["apply", "--yes", "-s", bad.to_str().unwrap()],
        vec!["destroy", "--yes", "-s", bad.to_str().unwrap()],
    ] {
        let r = run(&counter.endpoint, &args).expect(1);
        assert!(
            r.stderr.contains(&format!(
                "2 errors in {}; nothing was applied",
                bad.display()
            )),
            "{}",
            r.stderr
        );
        assert!(
            r.stderr
                .contains(&format!("bad.yaml:{pitr_line}:9: tables.pitr")),
            "{}",
            r.stderr
        );
        assert!(
            r.stderr
                .contains("stream.retention_hours: must be between 24 and 8760 (got 2)"),
            "{}",
            r.stderr
        );
    }
    assert_eq!(
        counter.connections(),
        0,
        "a bad config must not reach any API"
    );
}

#[test]
fn apply_without_a_terminal_or_yes_refuses() {
    let moto = Moto::start();
    let r = run(&moto.endpoint, &["apply", "--instance", "t-tty"]).expect(1);
    assert!(r.stderr.contains("without a terminal"), "{}", r.stderr);
    assert!(leftovers(&moto, "t-tty").is_empty());
}

#[test]
fn an_apply_killed_midway_converges_when_rerun() {
    let moto = Moto::start();
    let ep = &moto.endpoint;
    for (round, delay_ms) in [40u64, 90, 150, 220].into_iter().enumerate() {
        let inst = format!("t-kill{round}");
        let mut child = command(
            ep,
            &["apply", "--yes", "--parallelism", "2", "--instance", &inst],
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        // A killed run may leave its lock: the rerun names it, force-unlock clears it.
        let rerun = run(ep, &["apply", "--yes", "--instance", &inst]);
        if rerun.code != 0 {
            assert!(rerun.stderr.contains("is locked by"), "{}", rerun.stderr);
            run(ep, &["force-unlock", &format!("ecomflow-dev-{inst}")]).expect(0);
            run(ep, &["apply", "--yes", "--instance", &inst]).expect(0);
        }
        run(ep, &["plan", "--detailed-exitcode", "--instance", &inst]).expect(0);
        run(ep, &["destroy", "--yes", "--instance", &inst]).expect(0);
        assert!(leftovers(&moto, &inst).is_empty());
    }
}

#[test]
fn global_flags_go_before_or_after_the_subcommand() {
    let moto = Moto::start();
    for args in [
        vec![
            "--endpoint-url",
            moto.endpoint.as_str(),
            "--instance",
            "t-flags",
            "plan",
            "--detailed-exitcode",
        ],
        vec![
            "plan",
            "--detailed-exitcode",
            "--endpoint-url",
            moto.endpoint.as_str(),
            "--instance",
            "t-flags",
        ],
    ] {
        let out = command("http://127.0.0.1:9", &args)
            .env_remove("AWS_ENDPOINT_URL")
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("ecomflow-dev-t-flags-orders"));
    }
}
