//! The whole pipeline as one stack, warehouse included: `stacks/dev.yaml` itself, plus the
//! optional Firehose stream into Redshift, on the emulator (with its additions to moto, in
//! `emulator/ecomflow_emulator`: Glue connection updates and deletes, and Data API statements
//! that finish).
//!
//! One change to the file, for the emulator's sake (see `ecomflow_testkit::full_dev_stack`):
//! the lake's TLS-only bucket policy is off, as the emulator is reached over plain HTTP.
//!
//! Plan lists every resource, apply creates them all, a second plan finds no change (exit 0
//! under `--detailed-exitcode`), the warehouse switched off later shows as exactly its
//! resources' deletions, and destroy leaves nothing of the instance behind.

mod support;

use std::collections::BTreeSet;
use support::{inventory, run, Moto};

const INSTANCE: &str = "full";
const STACK: &str = "ecomflow-dev-full";

/// The addresses a plan adds (its `+ kind.name (physical)` lines).
fn planned(stdout: &str) -> BTreeSet<String> {
    stdout
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("  + ")?;
            let (address, physical) = rest.split_once(' ')?;
            physical.starts_with('(').then(|| address.to_string())
        })
        .collect()
}

/// The warehouse's own resources of the instance, read straight from the emulator
/// ([`support::inventory`]): clusters, integrations and delivery streams.
fn warehouse_leftovers(moto: &Moto) -> Vec<String> {
    let kinds = [
        "redshift_cluster ",
        "redshift_integration ",
        "firehose_delivery_stream ",
    ];
    let mut left = inventory(moto, STACK);
    left.retain(|l| kinds.iter().any(|k| l.starts_with(k)));
    left
}

/// The addresses the blueprint declares for the stack file's instance.
fn declared_addresses(file: &str) -> BTreeSet<String> {
    blueprint_of(file).iter().map(|r| r.address()).collect()
}

/// The resources the blueprint declares for the stack file's instance.
fn blueprint_of(file: &str) -> Vec<ecomflow_infra::model::Resource> {
    use ecomflow_infra::blueprint::{self, Context, LambdaCode, FUNCTIONS};
    use ecomflow_infra::names::{instance_name, Names};
    let config =
        ecomflow_infra::config::load_file(std::path::Path::new(file), Some(INSTANCE)).unwrap();
    let names = Names::new(
        instance_name(&config.app, &config.env, Some(INSTANCE)),
        "123456789012",
        config.region.clone(),
    );
    let lambda_code = FUNCTIONS
        .iter()
        .map(|f| (f.to_string(), LambdaCode::default()))
        .collect();
    let context = Context {
        names,
        expires_at: None,
        created_at: None,
        lambda_code,
    };
    blueprint::build(&config, &context).resources
}

#[test]
fn the_full_dev_stack_plans_applies_settles_and_destroys_to_nothing() {
    let moto = Moto::start();
    let ep = &moto.endpoint;
    let dir = tempfile::tempdir().unwrap();
    let file = ecomflow_testkit::full_dev_stack(env!("CARGO_MANIFEST_DIR").as_ref(), dir.path());
    let file = file.to_str().unwrap();
    let args = |cmd: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = cmd.iter().map(|s| s.to_string()).collect();
        v.extend(["--stack", file, "--instance", INSTANCE].map(String::from));
        v
    };
    let go = |cmd: &[&str]| {
        let a = args(cmd);
        run(ep, &a.iter().map(String::as_str).collect::<Vec<_>>())
    };

    // An empty account: every resource of the stack is to be added.
    let plan = go(&["plan", "--detailed-exitcode"]).expect(2);
    let listed = planned(&plan.stdout);
    for a in [
        "kinesis_stream.orders",
        "dynamodb_table.invoices",
        "dynamodb_table.customers",
        "s3_bucket.lake",
        "sns_topic.alerts",
        "lambda_function.ingest",
        "lambda_function.process",
        "lambda_function.query",
        "lambda_event_source_mapping.process",
        "cognito_user_pool.users",
        "apigw_rest_api.api",
        "apigw_stage.api",
        "glue_table.invoice_lines",
        "glue_job.clean",
        "firehose_delivery_stream.clean",
        "redshift_cluster.warehouse",
        "redshift_integration.lake-autocopy",
        "redshift_schema.invoice_lines",
        "redshift_schema.invoice_lines_autocopy",
    ] {
        assert!(
            listed.contains(a),
            "plan does not list {a}:\n{}",
            plan.stdout
        );
    }

    // Every declared resource, not only those named above.
    let declared = declared_addresses(file);
    assert!(declared.len() >= 40, "{declared:?}");
    assert_eq!(
        listed, declared,
        "the plan adds exactly the declared resources"
    );

    go(&["apply", "--yes"]).expect(0);
    // What a user connects with, the warehouse included (JDBC for Tableau and Power BI).
    let json = go(&["outputs", "--output", "json"]).expect(0);
    let out: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let w = &out["warehouse"];
    let (host, port, db) = (
        w["host"].as_str().unwrap(),
        w["port"].as_i64().unwrap(),
        w["database"].as_str().unwrap(),
    );
    assert!(!host.is_empty() && port > 0 && db == "ecomflow", "{out:#}");
    let jdbc = w["jdbc_url"].as_str().unwrap();
    assert_eq!(jdbc, format!("jdbc:redshift://{host}:{port}/{db}"));
    for key in [
        "api_url",
        "user_pool_id",
        "app_client_id",
        "stream",
        "invoices_table",
        "customers_table",
        "bucket",
        "athena_database",
        "athena_table",
        "athena_workgroup",
        "alerts_topic_arn",
    ] {
        assert!(
            out[key].as_str().is_some_and(|v| !v.is_empty()),
            "{key}: {out:#}"
        );
    }
    // The cluster was created with ManageMasterPassword: Redshift keeps the password in a
    // secret of its own, and outputs name that secret, never a value.
    let secret = w["master_password_secret_arn"].as_str().unwrap_or_default();
    assert!(
        secret.starts_with("arn:aws:secretsmanager:") && secret.contains(":secret:redshift!"),
        "no AWS-managed master password secret: {out:#}"
    );
    let text = go(&["outputs"]).expect(0);
    let fetch = format!("aws secretsmanager get-secret-value --secret-id {secret}");
    for shown in [
        jdbc,
        out["api_url"].as_str().unwrap(),
        out["athena_table"].as_str().unwrap(),
        fetch.as_str(),
    ] {
        assert!(
            text.stdout.contains(shown),
            "{shown} not in:\n{}",
            text.stdout
        );
    }
    assert!(
        warehouse_leftovers(&moto).len() >= 3,
        "cluster, integration and the lake's stream exist"
    );
    let again = go(&["plan", "--detailed-exitcode"]).expect(0);
    assert!(
        planned(&again.stdout).is_empty(),
        "a second plan adds nothing:\n{}",
        again.stdout
    );

    // The warehouse switched off later: the plan deletes exactly what only the warehouse
    // declared (cluster, table, COPY job, integration and the COPY role) and adds nothing;
    // what stays only loses its links to the warehouse (the bucket policy's grant to Redshift).
    let off = dir.path().join("dev-no-warehouse.yaml");
    let full = std::fs::read_to_string(file).unwrap();
    let warehouse = "warehouse:\n  enabled: true\n";
    assert!(full.ends_with(warehouse), "{full}");
    std::fs::write(
        &off,
        full.replace(warehouse, "warehouse:\n  enabled: false\n"),
    )
    .unwrap();
    let off = off.to_str().unwrap();
    let kept: BTreeSet<String> = declared_addresses(off);
    assert!(kept.is_subset(&declared), "{kept:?}");
    // Deletions of resources no longer declared are shown as `kind.physical`. The table and
    // the COPY job live inside the cluster and go with it. This stack's bucket policy held
    // only the grant to Redshift (its TLS-only deny is off for the emulator): undeclared now,
    // it is a sub-resource the plan does not sweep, so it is left as it is (with the TLS-only
    // deny, as in every real stack, the policy stays declared and loses the grant).
    let dropped: BTreeSet<String> = blueprint_of(file)
        .iter()
        .filter(|r| !kept.contains(&r.address()))
        .filter(|r| {
            !matches!(
                r.kind.to_string().as_str(),
                "redshift_schema" | "s3_bucket_policy"
            )
        })
        .map(|r| format!("{} {}", r.kind, r.physical))
        .collect();
    let plan = run(
        ep,
        &[
            "plan",
            "--output",
            "json",
            "--stack",
            off,
            "--instance",
            INSTANCE,
        ],
    )
    .expect(0);
    let plan: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    let of = |action: &str| -> BTreeSet<String> {
        plan["changes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["action"] == action)
            .map(|c| {
                format!(
                    "{} {}",
                    c["kind"].as_str().unwrap(),
                    c["physical"].as_str().unwrap()
                )
            })
            .collect()
    };
    assert_eq!(of("delete"), dropped, "{plan:#}");
    assert!(
        of("create").is_empty() && of("replace").is_empty(),
        "{plan:#}"
    );
    for a in [
        "redshift_cluster ecomflow-dev-full-warehouse",
        "redshift_integration ecomflow-dev-full-lake-autocopy",
        "iam_role ecomflow-dev-full-redshift-copy",
    ] {
        assert!(dropped.contains(a), "{a} not among {dropped:?}");
    }

    go(&["destroy", "--yes"]).expect(0);
    assert_eq!(warehouse_leftovers(&moto), Vec::<String>::new());
    // destroy ends with the tool's own tag sweep over every kind; a fresh plan would add
    // everything again.
    let after = go(&["plan", "--detailed-exitcode"]).expect(2);
    assert_eq!(planned(&after.stdout), listed);
}
