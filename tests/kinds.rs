//! The conformance harness: every resource kind, one row each, through the same steps on the
//! emulator. Create, read equals the declaration, change one setting, the change converges
//! (in place, or by delete and create where the setting forces replacement), delete, and the
//! resource is gone: read finds nothing and neither the listing nor its parent's members
//! name it.
//!
//! A new kind gets its row here; `every_kind_has_a_row` fails until it does.

mod support;

use ecomflow_infra::blueprint::{self, Blueprint, Context};
use ecomflow_infra::config::load_str;
use ecomflow_infra::engine::load_lambda_code;
use ecomflow_infra::model::{Kind, Resource};
use ecomflow_infra::names::{instance_name, Names};
use serde_json::{json, Value};
use std::path::Path;
use support::harness::{changed_paths, with_dependencies, Harness};

/// One kind's case: the declared resource of the dev stack it runs on, the one setting it
/// changes, and the paths a plan must then show.
struct Row {
    address: &'static str,
    change: fn(&mut Value),
    paths: &'static [&'static str],
    /// A state its parent always has, so it reads as present before its create and after its
    /// delete (a bucket's versioning is unversioned or suspended; a topic's subscription set
    /// may be empty): those two checks are left out.
    inherent: bool,
}

const ROW: Row = Row {
    address: "",
    change: team,
    paths: TAGS,
    inherent: false,
};

fn team(s: &mut Value) {
    s["tags"]["team"] = json!("platform");
}

const TAGS: &[&str] = &["tags.team"];

const ROWS: &[Row] = &[
    Row {
        address: "s3_bucket.lake",
        ..ROW
    },
    Row {
        address: "s3_public_access_block.lake",
        change: |s| s["block_public_acls"] = json!(false),
        paths: &["block_public_acls"],
        ..ROW
    },
    Row {
        address: "s3_ownership_controls.lake",
        change: |s| s["object_ownership"] = json!("BucketOwnerPreferred"),
        paths: &["object_ownership"],
        inherent: true,
    },
    Row {
        address: "s3_encryption.lake",
        change: |s| s["algorithm"] = json!("aws:kms"),
        paths: &["algorithm"],
        ..ROW
    },
    Row {
        address: "s3_bucket_policy.lake",
        change: |s| s["policy"]["Statement"][0]["Sid"] = json!("Changed"),
        paths: &["policy.Statement"],
        ..ROW
    },
    Row {
        address: "s3_versioning.lake",
        change: |s| s["enabled"] = json!(false),
        paths: &["enabled"],
        inherent: true,
    },
    Row {
        address: "s3_lifecycle.lake",
        change: |s| s["rules"][0]["expire_days"] = json!(31),
        paths: &["rules"],
        ..ROW
    },
    Row {
        address: "kms_key.stack",
        change: |s| s["rotation"] = json!(false),
        paths: &["rotation"],
        ..ROW
    },
    Row {
        address: "s3_logging.lake",
        change: |s| s["target_prefix"] = json!("lake-requests/"),
        paths: &["target_prefix"],
        ..ROW
    },
    Row {
        address: "iam_role.ingest",
        ..ROW
    },
    Row {
        address: "kinesis_stream.orders",
        change: |s| s["retention_hours"] = json!(48),
        paths: &["retention_hours"],
        ..ROW
    },
    Row {
        address: "dynamodb_table.invoices",
        ..ROW
    },
    Row {
        address: "sns_topic.alerts",
        ..ROW
    },
    Row {
        address: "sns_subscriptions.alerts",
        change: |s| s["endpoints"] = json!(["data-team@example.com", "ops@example.com"]),
        paths: &["endpoints"],
        inherent: true,
    },
    Row {
        address: "lambda_function.query",
        change: |s| s["memory_mb"] = json!(512),
        paths: &["memory_mb"],
        ..ROW
    },
    Row {
        address: "lambda_event_source_mapping.process",
        change: |s| s["batch_size"] = json!(100),
        paths: &["batch_size"],
        ..ROW
    },
    Row {
        address: "lambda_permission.query",
        change: |s| s["source_path"] = json!("/*/GET/*"),
        paths: &["source_path"],
        ..ROW
    },
    Row {
        address: "cognito_user_pool.users",
        ..ROW
    },
    Row {
        address: "cognito_app_client.app",
        change: |s| s["lifetimes"]["auth_session_minutes"] = json!(5),
        paths: &["lifetimes.auth_session_minutes"],
        ..ROW
    },
    Row {
        address: "cognito_group.analysts",
        change: |s| s["precedence"] = json!(21),
        paths: &["precedence"],
        ..ROW
    },
    Row {
        address: "apigw_rest_api.api",
        ..ROW
    },
    Row {
        address: "waf_web_acl.api",
        change: |s| s["rate_limit"] = json!(500),
        paths: &["rate_limit"],
        ..ROW
    },
    Row {
        address: "apigw_stage.api",
        change: |s| s["throttling_burst_limit"] = json!(150),
        paths: &["throttling_burst_limit"],
        ..ROW
    },
    Row {
        address: "s3_object.glue_script",
        change: |s| s["content_type"] = json!("text/plain"),
        paths: &["content_type"],
        ..ROW
    },
    Row {
        address: "glue_database.lake",
        ..ROW
    },
    Row {
        address: "glue_table.invoice_lines",
        change: |s| s["parameters"]["comment"] = json!("clean invoice lines"),
        paths: &["parameters.comment"],
        ..ROW
    },
    Row {
        address: "glue_crawler.clean",
        ..ROW
    },
    Row {
        address: "glue_security_configuration.clean",
        change: |s| s["s3_encryption"] = json!("DISABLED"),
        paths: &["s3_encryption"],
        ..ROW
    },
    Row {
        address: "glue_job.clean",
        ..ROW
    },
    Row {
        address: "firehose_delivery_stream.clean",
        change: |s| s["buffer_seconds"] = json!(120),
        paths: &["buffer_seconds"],
        ..ROW
    },
    Row {
        address: "log_group.api-access-logs",
        change: |s| s["retention_days"] = json!(90),
        paths: &["retention_days"],
        ..ROW
    },
    Row {
        address: "athena_workgroup.analytics",
        change: |s| s["bytes_scanned_cutoff"] = json!(1_073_741_824),
        paths: &["bytes_scanned_cutoff"],
        ..ROW
    },
    Row {
        address: "redshift_parameter_group.warehouse-parameters",
        change: |s| s["parameters"]["statement_timeout"] = json!("60000"),
        paths: &["parameters.statement_timeout"],
        ..ROW
    },
    Row {
        address: "redshift_cluster.warehouse",
        change: |s| s["nodes"] = json!(2),
        paths: &["nodes"],
        ..ROW
    },
    Row {
        address: "redshift_integration.lake-autocopy",
        ..ROW
    },
    Row {
        address: "redshift_schema.invoice_lines",
        change: new_ddl,
        paths: &["ddl_sha256"],
        ..ROW
    },
];

/// A table declared by another DDL: a comment added, its hash with it.
fn new_ddl(s: &mut Value) {
    use sha2::Digest;
    let ddl = format!("{}\n-- conformance", s["_ddl"].as_str().expect("the DDL"));
    s["ddl_sha256"] = json!(hex::encode(sha2::Sha256::digest(ddl.as_bytes())));
    s["_ddl"] = json!(ddl);
}

/// The dev stack, with the knobs that declare the kinds it leaves off.
fn blueprint(suffix: &str, account: &str) -> Blueprint {
    let dev = format!(
        "{}\nkms_key:\n  enabled: true\n  deletion_window_days: 7\n",
        include_str!("../stacks/dev.yaml").replacen("api:\n", "api:\n  waf_rate_limit: 2000\n", 1)
    );
    let config = load_str("dev.yaml", &dev, Some(suffix)).expect("valid stack");
    let names = Names::new(
        instance_name(&config.app, &config.env, Some(suffix)),
        account,
        "us-east-1",
    );
    support::lambda_packages();
    let packages = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/lambda-packages/dev-x86_64");
    blueprint::build(
        &config,
        &Context {
            names,
            expires_at: None,
            created_at: None,
            lambda_code: load_lambda_code(&packages).expect("the Lambda packages"),
        },
    )
}

fn kind_of(address: &str) -> Kind {
    Kind::from_name(address.split('.').next().unwrap()).expect("a kind")
}

#[test]
fn every_kind_has_a_row() {
    let missing: Vec<Kind> = Kind::ALL
        .into_iter()
        .filter(|k| !ROWS.iter().any(|r| kind_of(r.address) == *k))
        .collect();
    assert!(
        missing.is_empty(),
        "kinds without a conformance row: {missing:?}"
    );
}

fn edited(r: &Resource, change: fn(&mut Value)) -> Resource {
    let mut r = r.clone();
    change(&mut r.spec);
    r
}

/// The steps of one row, on a stack instance of its own.
async fn conform(h: &Harness, row: &Row, suffix: &str) -> Result<(), String> {
    let bp = blueprint(suffix, &h.account);
    let r = bp
        .get(row.address)
        .ok_or_else(|| format!("{} is not declared in dev.yaml", row.address))?;
    let needs = with_dependencies(&bp, r);
    for dep in &needs[..needs.len() - 1] {
        h.create(dep).await?;
    }
    if !row.inherent && h.read(r).await?.is_some() {
        return Err("exists before create".into());
    }
    h.create(r).await?;
    let live = h.read(r).await?.ok_or("absent after create")?;
    let drift = changed_paths(r, &live);
    if !drift.is_empty() {
        return Err(format!(
            "a fresh read differs from the declaration at {drift:?}: {live:#}"
        ));
    }
    let wanted = edited(r, row.change);
    let paths = changed_paths(&wanted, &live);
    if paths != row.paths {
        return Err(format!(
            "the change shows as {paths:?}, not {:?}",
            row.paths
        ));
    }
    let replaces = paths.iter().any(|p| {
        r.kind
            .info()
            .replace
            .iter()
            .any(|f| p == f || p.starts_with(&format!("{f}.")))
    });
    if replaces {
        h.delete(r, &live).await?;
        h.create(&wanted).await?;
    } else {
        h.update(&wanted, &live).await?;
    }
    let live = h.read(&wanted).await?.ok_or("absent after the change")?;
    let left = changed_paths(&wanted, &live);
    if !left.is_empty() {
        return Err(format!("the change did not converge at {left:?}: {live:#}"));
    }
    h.delete(&wanted, &live).await?;
    if !row.inherent && h.read(&wanted).await?.is_some() {
        return Err("still there after delete".into());
    }
    if h.listed(&bp, r)
        .await?
        .iter()
        .any(|l| l.physical == r.physical)
    {
        return Err("still listed after delete".into());
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_conforms() {
    let moto = tokio::task::spawn_blocking(support::Moto::start)
        .await
        .unwrap();
    let h = Harness::connect(&moto.endpoint).await;
    let mut failures = Vec::new();
    for (i, row) in ROWS.iter().enumerate() {
        if let Err(e) = conform(&h, row, &format!("k{i}")).await {
            failures.push(format!("{}: {e}", row.address));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
