//! The catalog, delivery and warehouse kinds against moto: for each kind, create -> read equals
//! the declaration -> a changed knob diffs as exactly that change -> the update converges ->
//! delete -> nothing left (read is None, the leak listing finds nothing).
//!
//! Where moto 5.2 does not implement the API real AWS needs (Glue UpdateCrawler, UpdateJob,
//! UpdateConnection, DeleteConnection; Redshift ModifyClusterIamRoles; Data API statements
//! never finish), the test requires exactly the emulator's "not implemented" answer for that
//! call and says so on stderr; if moto gains the call, the test requires convergence instead.

use ecomflow_infra::aws::{provider, Aws, Changes, ConnectOptions, Inputs, Outputs};
use ecomflow_infra::blueprint::{self, Blueprint, Context, LambdaCode, FUNCTIONS};
use ecomflow_infra::config::{load_str, StackConfig};
use ecomflow_infra::model::{Kind, Resource};
use ecomflow_infra::names::{instance_name, Names};
use ecomflow_infra::plan::attribute_changes;
use ecomflow_testkit::Moto;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// The clients, and the outputs (IDs, ARNs) of what the test made, handed to dependents as
/// the engine hands them.
struct Harness {
    aws: Aws,
    outputs: Mutex<BTreeMap<String, Outputs>>,
}

impl std::ops::Deref for Harness {
    type Target = Aws;
    fn deref(&self) -> &Aws {
        &self.aws
    }
}

impl Harness {
    fn inputs(&self, r: &Resource) -> Inputs {
        let known = self.outputs.lock().unwrap();
        Inputs::new(
            r.depends_on
                .iter()
                .filter_map(|d| Some((d.clone(), known.get(d)?.clone())))
                .collect(),
        )
    }

    fn record(&self, r: &Resource, outputs: Outputs) {
        self.outputs.lock().unwrap().insert(r.address(), outputs);
    }

    fn outputs_of(&self, r: &Resource) -> Outputs {
        self.outputs
            .lock()
            .unwrap()
            .get(&r.address())
            .cloned()
            .unwrap_or_default()
    }
}

const DEV: &str = include_str!("../stacks/dev.yaml");

fn config(extra: &str) -> StackConfig {
    load_str("dev.yaml", &format!("{DEV}\n{extra}"), Some("cw")).expect("valid stack")
}

fn build(config: &StackConfig, aws_account: &str) -> Blueprint {
    let names = Names::new(
        instance_name(&config.app, &config.env, Some("cw")),
        aws_account,
        "us-east-1",
    );
    blueprint::build(
        config,
        &Context {
            names,
            expires_at: None,
            created_at: None,
            lambda_code: FUNCTIONS
                .iter()
                .map(|f| {
                    let code = LambdaCode {
                        zip_path: format!("target/lambda/{f}/bootstrap.zip"),
                        code_sha256: "c2hhMjU2".into(),
                    };
                    (f.to_string(), code)
                })
                .collect(),
        },
    )
}

async fn connect() -> (Moto, Harness) {
    std::env::set_var("AWS_ACCESS_KEY_ID", "test");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
    std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    let moto = tokio::task::spawn_blocking(Moto::start).await.unwrap();
    let aws = Aws::connect(
        &ConnectOptions {
            endpoint_url: Some(moto.endpoint.clone()),
            region: Some("us-east-1".into()),
            ..ConnectOptions::default()
        },
        "us-east-1",
    )
    .await
    .expect("connect to moto");
    let harness = Harness {
        aws,
        outputs: Mutex::default(),
    };
    (moto, harness)
}

fn res<'b>(bp: &'b Blueprint, address: &str) -> &'b Resource {
    bp.get(address)
        .unwrap_or_else(|| panic!("{address} is not declared"))
}

async fn read(aws: &Harness, r: &Resource) -> Option<Value> {
    let live = provider(r.kind)
        .read(aws, r, &aws.inputs(r))
        .await
        .unwrap_or_else(|e| panic!("read {}: {e}", r.address()))?;
    aws.record(r, live.1);
    Some(live.0)
}

fn changed_paths(r: &Resource, live: &Value) -> Vec<String> {
    attribute_changes(r.kind, Some(live), Some(&r.spec))
        .into_iter()
        .map(|c| c.path)
        .collect()
}

/// Creates `r` and proves the read equals the declaration.
async fn create(aws: &Harness, r: &Resource) -> Value {
    assert!(
        read(aws, r).await.is_none(),
        "{} exists before create",
        r.address()
    );
    let outputs = provider(r.kind)
        .create(aws, r, &aws.inputs(r))
        .await
        .unwrap_or_else(|e| panic!("create {}: {e}", r.address()));
    aws.record(r, outputs);
    let live = read(aws, r).await.expect("exists after create");
    assert_eq!(
        changed_paths(r, &live),
        Vec::<String>::new(),
        "{}: a fresh read differs from the declaration\nlive: {live:#}",
        r.address()
    );
    live
}

/// Updates `r` to `wanted` (whose diff against `live` must be exactly `paths`) and proves
/// convergence.
async fn update(aws: &Harness, wanted: &Resource, live: &Value, paths: &[&str]) {
    let changed = changed_paths(wanted, live);
    assert_eq!(changed, paths, "{}", wanted.address());
    let live = (live.clone(), aws.outputs_of(wanted));
    provider(wanted.kind)
        .update(
            aws,
            wanted,
            &live,
            &Changes::new(changed),
            &aws.inputs(wanted),
        )
        .await
        .unwrap_or_else(|e| panic!("update {}: {e}", wanted.address()));
    let after = read(aws, wanted).await.expect("exists after update");
    assert_eq!(
        changed_paths(wanted, &after),
        Vec::<String>::new(),
        "{}: the update did not converge\nlive: {after:#}",
        wanted.address()
    );
}

/// Deletes `r` and proves nothing is left: read is None and `list` finds nothing.
async fn delete(aws: &Harness, r: &Resource, live: &Value, prefix: &str) {
    provider(r.kind)
        .delete(aws, &r.physical, &(live.clone(), aws.outputs_of(r)))
        .await
        .unwrap_or_else(|e| panic!("delete {}: {e}", r.address()));
    assert!(read(aws, r).await.is_none(), "{} still there", r.address());
    let listed = provider(r.kind).list(aws, prefix, &[]).await.unwrap();
    assert!(
        listed.iter().all(|l| l.physical != r.physical),
        "{} still listed",
        r.address()
    );
}

fn with(r: &Resource, edit: impl FnOnce(&mut Value)) -> Resource {
    let mut r = r.clone();
    edit(&mut r.spec);
    r
}

/// Creates the resources at `addresses` in order (the dependencies of the kinds under test).
async fn create_all(aws: &Harness, bp: &Blueprint, addresses: &[&str]) {
    for a in addresses {
        let r = res(bp, a);
        let outputs = provider(r.kind)
            .create(aws, r, &aws.inputs(r))
            .await
            .unwrap_or_else(|e| panic!("create {a}: {e}"));
        aws.record(r, outputs);
    }
}

const LAKE: &[&str] = &["s3_bucket.lake", "s3_versioning.lake", "s3_encryption.lake"];

#[test]
fn warehouse_disabled_declares_none_of_its_kinds() {
    let on = build(&config(""), "123456789012");
    let off = build(&config("warehouse:\n  enabled: false\n"), "123456789012");
    for a in [
        "redshift_cluster.warehouse",
        "redshift_schema.invoice_lines",
        "redshift_schema.invoice_lines_autocopy",
        "redshift_integration.lake-autocopy",
        "iam_role.redshift-copy",
    ] {
        assert!(on.get(a).is_some(), "{a} declared when enabled");
        assert!(off.get(a).is_none(), "{a} not declared when disabled");
    }
    for bp in [&on, &off] {
        for a in [
            "s3_object.glue_script",
            "glue_database.lake",
            "glue_table.invoice_lines",
            "glue_crawler.clean",
            "glue_job.clean",
            "firehose_delivery_stream.clean",
            "iam_role.glue",
            "iam_role.firehose",
        ] {
            assert!(bp.get(a).is_some(), "{a} declared");
        }
        for r in &bp.resources {
            for d in &r.depends_on {
                assert!(
                    bp.get(d).is_some(),
                    "{} depends on undeclared {d}",
                    r.address()
                );
            }
        }
    }
    // The job writes the lake only, whether or not there is a warehouse: no connection.
    for bp in [&on, &off] {
        let job = res(bp, "glue_job.clean");
        assert_eq!(job.spec["connections"], serde_json::json!([]));
        assert!(job.spec["default_arguments"].get("--connection").is_none());
    }
    let job = res(&on, "glue_job.clean");
    assert!(job
        .depends_on
        .contains(&"s3_object.glue_script".to_string()));
    // Least privilege: no wildcard resource on any data action of the new roles.
    for role in [
        "iam_role.glue",
        "iam_role.firehose",
        "iam_role.redshift-copy",
    ] {
        let doc = &res(&on, role).spec["policies"];
        for (_, policy) in doc.as_object().unwrap() {
            for (_, actions, resources) in ecomflow_infra::model::policy::statements(policy) {
                assert!(
                    !actions.iter().any(|a| a.contains('*')),
                    "{role}: {actions:?}"
                );
                assert!(!resources.iter().any(|r| r == "*"), "{role}: {resources:?}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn script_object_is_uploaded_only_when_its_hash_changes() {
    let (_moto, aws) = connect().await;
    let bp = build(&config(""), &aws.account);
    create_all(&aws, &bp, LAKE).await;
    let script = res(&bp, "s3_object.glue_script");
    let live = create(&aws, script).await;
    let bucket = script.spec["bucket"].as_str().unwrap();
    let key = script.spec["key"].as_str().unwrap();
    let body = aws
        .s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    assert_eq!(
        &body[..],
        ecomflow_infra::model::catalog::GLUE_ETL_SCRIPT.as_bytes()
    );

    // No change: a plan reads, nothing is uploaded.
    aws.stats.reset();
    let again = read(&aws, script).await.unwrap();
    assert!(changed_paths(script, &again).is_empty());
    assert_eq!(aws.stats.snapshot().mutations, 0);

    // Someone overwrites the script: only its hash differs, and the update re-uploads it.
    aws.s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .metadata("sha256", "0000")
        .metadata("source", "glue_etl.py")
        .content_type("text/x-python")
        .body(b"print('tampered')".to_vec().into())
        .send()
        .await
        .unwrap();
    let tampered = read(&aws, script).await.unwrap();
    update(&aws, script, &tampered, &["sha256"]).await;

    delete(&aws, script, &live, &bp.names.all_prefix()).await;
    let versions = aws
        .s3
        .list_object_versions()
        .bucket(bucket)
        .prefix(key)
        .send()
        .await
        .unwrap();
    assert!(versions.versions().is_empty() && versions.delete_markers().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn glue_catalog_crawler_and_job_converge() {
    let (_moto, aws) = connect().await;
    let base = build(&config(""), &aws.account);
    let knobs = build(
        &config("catalog:\n  crawler_schedule: \"cron(0 3 * * ? *)\"\n  job_workers: 4\n"),
        &aws.account,
    );
    let prefix = base.names.all_prefix();
    create_all(&aws, &base, LAKE).await;
    create_all(
        &aws,
        &base,
        &[
            "iam_role.glue",
            "s3_object.glue_script",
            "glue_security_configuration.clean",
        ],
    )
    .await;

    let db = res(&base, "glue_database.lake");
    let db_live = create(&aws, db).await;
    let db2 = with(db, |s| s["tags"]["team"] = "platform".into());
    update(&aws, &db2, &db_live, &["tags.team"]).await;

    let table = res(&base, "glue_table.invoice_lines");
    let table_live = create(&aws, table).await;
    let table2 = with(table, |s| s["columns"][6]["type"] = "int".into());
    update(&aws, &table2, &table_live, &["columns"]).await;

    let crawler = res(&base, "glue_crawler.clean");
    let crawler_live = create(&aws, crawler).await;
    let crawler_tagged = with(crawler, |s| s["tags"]["team"] = "platform".into());
    update(&aws, &crawler_tagged, &crawler_live, &["tags.team"]).await;
    let crawler_live = read(&aws, &crawler_tagged).await.unwrap();
    let crawler2 = with(res(&knobs, "glue_crawler.clean"), |s| {
        s["tags"]["team"] = "platform".into()
    });
    update(&aws, &crawler2, &crawler_live, &["schedule"]).await;

    let wh_off = build(&config("warehouse:\n  enabled: false\n"), &aws.account);
    let job = res(&wh_off, "glue_job.clean");
    let job_live = create(&aws, job).await;
    let job_tagged = with(job, |s| s["tags"]["team"] = "platform".into());
    update(&aws, &job_tagged, &job_live, &["tags.team"]).await;
    let job_live = read(&aws, &job_tagged).await.unwrap();
    let job2 = with(job, |s| {
        s["workers"] = res(&knobs, "glue_job.clean").spec["workers"].clone();
        s["tags"]["team"] = "platform".into();
    });
    update(&aws, &job2, &job_live, &["workers"]).await;

    delete(&aws, job, &job_live, &prefix).await;
    delete(&aws, crawler, &crawler_live, &prefix).await;
    let table_live = read(&aws, table).await.unwrap();
    delete(&aws, table, &table_live, &prefix).await;
    let db_live = read(&aws, db).await.unwrap();
    delete(&aws, db, &db_live, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firehose_delivery_stream_converges() {
    let (_moto, aws) = connect().await;
    let base = build(&config(""), &aws.account);
    let knobs = build(&config("delivery:\n  buffer_seconds: 120\n"), &aws.account);
    let prefix = base.names.all_prefix();
    create_all(&aws, &base, LAKE).await;
    create_all(
        &aws,
        &base,
        &[
            "iam_role.firehose",
            "glue_database.lake",
            "glue_table.invoice_lines",
        ],
    )
    .await;
    let stream = res(&base, "firehose_delivery_stream.clean");
    let live = create(&aws, stream).await;
    assert_eq!(live["parquet"]["table"], "invoice_lines");
    assert_eq!(live["encryption"], "AWS_OWNED_CMK");
    let version = aws.outputs_of(stream).get("version").cloned();
    assert!(
        version.is_some(),
        "the version id is kept for UpdateDestination"
    );
    let stream2 = res(&knobs, "firehose_delivery_stream.clean");
    update(&aws, stream2, &live, &["buffer_seconds"]).await;
    let live2 = read(&aws, stream2).await.unwrap();
    assert_ne!(
        aws.outputs_of(stream2).get("version").cloned(),
        version,
        "UpdateDestination bumped the version"
    );
    let stream3 = with(stream2, |s| s["tags"]["team"] = "platform".into());
    update(&aws, &stream3, &live2, &["tags.team"]).await;
    let live3 = read(&aws, &stream3).await.unwrap();
    delete(&aws, stream, &live3, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redshift_cluster_table_integration_and_copy_job() {
    let (_moto, aws) = connect().await;
    let base = build(&config(""), &aws.account);
    let knobs = build(&config("warehouse:\n  nodes: 2\n"), &aws.account);
    let prefix = base.names.all_prefix();
    create_all(
        &aws,
        &base,
        &[
            "iam_role.redshift-copy",
            "redshift_parameter_group.warehouse-parameters",
        ],
    )
    .await;

    let cluster = res(&base, "redshift_cluster.warehouse");
    let live = create(&aws, cluster).await;
    assert_eq!(live["encrypted"], true);
    assert_eq!(live["publicly_accessible"], false);
    let cluster2 = res(&knobs, "redshift_cluster.warehouse");
    update(&aws, cluster2, &live, &["nodes"]).await;
    let live = read(&aws, cluster2).await.unwrap();

    // Its roles change in place (ModifyClusterIamRoles).
    let cluster3 = with(cluster2, |s| {
        s["iam_roles"] = serde_json::json!([format!(
            "arn:aws:iam::{}:role/ecomflow-infra/other",
            aws.account
        )])
    });
    update(&aws, &cluster3, &live, &["iam_roles"]).await;
    update(
        &aws,
        cluster2,
        &read(&aws, &cluster3).await.unwrap(),
        &["iam_roles"],
    )
    .await;
    let live = read(&aws, cluster2).await.unwrap();

    // The table, through the Data API: recorded on the cluster once the statement finished.
    let schema = res(&base, "redshift_schema.invoice_lines");
    let schema_live = create(&aws, schema).await;

    // The S3 event integration of the lake (the bucket policy grants Redshift its
    // notifications first), then the COPY job over clean/ that needs both.
    create_all(&aws, &base, LAKE).await;
    create_all(
        &aws,
        &base,
        &["s3_public_access_block.lake", "s3_bucket_policy.lake"],
    )
    .await;
    let integration = res(&base, "redshift_integration.lake-autocopy");
    let int_live = create(&aws, integration).await;
    assert_eq!(int_live["targets_cluster"], true);
    assert_eq!(int_live["source_arn"], integration.spec["source_arn"]);
    let int2 = with(integration, |s| s["tags"]["team"] = "platform".into());
    update(&aws, &int2, &int_live, &["tags.team"]).await;
    let int_live = read(&aws, &int2).await.unwrap();
    // The leak sweep lists it under the instance's prefix, with its tags, and skips it when told.
    let listed = provider(integration.kind)
        .list(&aws, &prefix, &[])
        .await
        .unwrap();
    let found = listed
        .iter()
        .find(|l| l.physical == integration.physical)
        .expect("the integration is listed");
    assert_eq!(found.spec["tags"]["team"], "platform");
    assert!(found.outputs["arn"].contains(":integration:"));
    let skipped = provider(integration.kind)
        .list(&aws, &prefix, std::slice::from_ref(&integration.physical))
        .await
        .unwrap();
    assert!(skipped.iter().all(|l| l.physical != integration.physical));
    let job = res(&base, "redshift_schema.invoice_lines_autocopy");
    let job_live = create(&aws, job).await;

    // Dropped in turn: the job (COPY JOB DROP), the integration, the table.
    for (r, live) in [(job, &job_live), (schema, &schema_live)] {
        provider(r.kind)
            .delete(&aws, &r.physical, &(live.clone(), aws.outputs_of(r)))
            .await
            .unwrap_or_else(|e| panic!("drop {}: {e}", r.address()));
        assert!(read(&aws, r).await.is_none(), "{} is gone", r.address());
        if r.address() == job.address() {
            delete(&aws, integration, &int_live, &prefix).await;
        }
    }

    delete(&aws, cluster, &live, &prefix).await;
}

#[test]
fn the_copy_job_loads_clean_parquet_through_the_integration() {
    let on = build(&config(""), "123456789012");
    let bucket = on.names.lake_bucket();
    let copy_role = format!(
        "arn:aws:iam::123456789012:role{}{}",
        on.names.iam_path(),
        on.names.role("redshift-copy")
    );
    let job = res(&on, "redshift_schema.invoice_lines_autocopy");
    assert_eq!(
        job.spec["_ddl"],
        format!(
            "COPY invoice_lines FROM 's3://{bucket}/clean/' IAM_ROLE '{copy_role}' \
             FORMAT AS PARQUET JOB CREATE invoice_lines_autocopy AUTO ON"
        )
    );
    assert_eq!(job.spec["_drop"], "COPY JOB DROP invoice_lines_autocopy");
    for d in [
        "redshift_schema.invoice_lines",
        "redshift_integration.lake-autocopy",
    ] {
        assert!(job.depends_on.contains(&d.to_string()), "after {d}");
    }
    let integration = res(&on, "redshift_integration.lake-autocopy");
    assert_eq!(
        integration.spec["source_arn"],
        format!("arn:aws:s3:::{bucket}")
    );
    assert!(integration
        .depends_on
        .contains(&"s3_bucket_policy.lake".to_string()));
    // The copy role reads clean/ only.
    let reads: Vec<String> = res(&on, "iam_role.redshift-copy").spec["policies"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(ecomflow_infra::model::policy::statements)
        .filter(|(_, actions, _)| actions.iter().any(|a| a == "s3:GetObject"))
        .flat_map(|(_, _, resources)| resources)
        .collect();
    assert_eq!(reads, [format!("arn:aws:s3:::{bucket}/clean/*")]);
    // The bucket policy lets Redshift manage notifications for this account's integrations
    // only, and only when there is a warehouse.
    let grant = |bp: &Blueprint| {
        bp.get("s3_bucket_policy.lake").and_then(|p| {
            p.spec["policy"]["Statement"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["Sid"] == "RedshiftAutoCopyNotifications")
                .cloned()
        })
    };
    let g = grant(&on).expect("the grant");
    assert_eq!(
        g["Principal"]["Service"],
        serde_json::json!(["redshift.amazonaws.com"])
    );
    assert_eq!(
        g["Condition"]["StringEquals"]["aws:SourceAccount"],
        serde_json::json!(["123456789012"])
    );
    let off = build(&config("warehouse:\n  enabled: false\n"), "123456789012");
    assert!(grant(&off).is_none());
    // No Firehose stream into Redshift: it would need a publicly accessible cluster.
    assert_eq!(
        on.resources
            .iter()
            .filter(|r| r.kind == Kind::FirehoseDeliveryStream)
            .count(),
        1
    );
    let err = load_str(
        "dev.yaml",
        &format!("{DEV}\nwarehouse:\n  firehose_copy: true\n"),
        Some("cw"),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("warehouse.firehose_copy"), "{err}");
    assert!(err.contains("publicly accessible"), "{err}");
}
