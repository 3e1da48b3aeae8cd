//! The lake's catalog and delivery: the Glue database and `invoice_lines` table over the
//! clean Parquet, the crawler that registers its partitions, the batch ETL job and its
//! script, and the Firehose stream that writes clean rows as Parquet. The job writes only the
//! lake; the warehouse's COPY job loads what lands under `clean/` (see `warehouse`), so no
//! network path from Glue to the cluster is needed.
//!
//! Layout of `clean/`: hive-style partitions `clean/dt=yyyy-MM-dd/` (the day the rows were
//! delivered, from Firehose's `!{timestamp:...}` or the job's run date). The table declares
//! the partition key `dt`, so Athena can prune by day; Athena finds partitions by projection
//! (see [`table_parameters`]), and the crawler (targeting the declared table, with schema
//! changes only logged) registers each new `dt=` partition for other readers without ever
//! rewriting the declared schema. Non-hive prefixes (`clean/2024/01/02/`) would make the
//! crawler invent `partition_0..2` columns instead.

use super::key;
use super::storage::LAKE;
use super::trust::{trust, Assumer};
use super::Context;
use crate::config::StackConfig;
use crate::model::catalog::*;
use crate::model::iam::RoleSpec;
use crate::model::policy::{self, Statement};
use crate::model::{address, Kind, Resource, Tags};
use crate::names::Names;
use serde_json::json;
use std::collections::BTreeMap;

/// Logical name of the Glue database (and of the table's owner).
pub const DATABASE: &str = "lake";
/// The Glue table of clean invoice lines.
pub const TABLE: &str = "invoice_lines";
/// Logical name of the crawler, the job, the delivery stream and the Glue role's users.
pub const CLEAN: &str = "clean";
/// Logical name of the uploaded job script.
pub const SCRIPT: &str = "glue_script";
/// Logical name of the Glue service role.
pub const GLUE_ROLE: &str = "glue";
/// Logical name of the Firehose role.
pub const FIREHOSE_ROLE: &str = "firehose";
/// Glue 5.0: Spark 3.5 and Python 3.11, what the emulator runs the script under.
/// <https://docs.aws.amazon.com/glue/latest/dg/release-notes.html>
pub const GLUE_VERSION: &str = "5.0";
/// Key of the job script in the lake.
pub const SCRIPT_KEY: &str = "scripts/clean_invoices.py";

/// The Glue database name: the instance in Glue's alphabet (lower case, `_`), plus `_lake`,
/// e.g. `ecomflow_dev_pr_1_lake`. It starts with the instance prefix in that alphabet, so the
/// leak sweep finds it.
pub fn database_name(names: &Names) -> String {
    format!("{}_lake", glue_name(&names.instance))
}

/// `s` in Glue's catalog alphabet: lower case, `-` as `_`.
pub fn glue_name(s: &str) -> String {
    s.to_ascii_lowercase().replace('-', "_")
}

/// The Firehose delivery stream of clean rows.
pub fn delivery_stream_name(names: &Names) -> String {
    names.resource(CLEAN)
}

/// The Glue security configuration's name.
pub fn security_configuration_name(names: &Names) -> String {
    names.resource("etl-security")
}

/// ARN of an IAM role of this instance (roles live under the instance's path).
pub fn role_arn(names: &Names, role: &str) -> String {
    format!(
        "arn:aws:iam::{}:role{}{role}",
        names.account,
        names.iam_path()
    )
}

fn glue_arn(names: &Names, what: &str) -> String {
    format!("arn:aws:glue:{}:{}:{what}", names.region, names.account)
}

/// The columns of the clean Parquet: the JSON keys of `records::InvoiceLine`, lower-cased
/// (Firehose's OpenX JSON SerDe matches keys case-insensitively), typed as the crate types
/// them. `invoicedate` is a `timestamp`: Firehose parses `yyyy-MM-dd HH:mm:ss` into one.
/// `customerid` is a `bigint` as the crate allows any positive `u32`.
pub fn clean_columns() -> Vec<Column> {
    [
        ("invoiceno", "string"),
        ("stockcode", "string"),
        ("description", "string"),
        ("quantity", "bigint"),
        ("invoicedate", "timestamp"),
        ("unitprice", "decimal(10,3)"),
        ("customerid", "bigint"),
        ("country", "string"),
        ("iscancellation", "boolean"),
    ]
    .into_iter()
    .map(|(name, kind)| Column {
        name: name.into(),
        kind: kind.into(),
    })
    .collect()
}

/// The table's parameters. Partition projection on `dt`: Athena computes the partitions of a
/// query from these instead of reading them from the catalog, so a `dt=` prefix Firehose or
/// the job has just written is queryable at once, with no crawl or `ALTER TABLE ADD
/// PARTITION` first (and no catalog call per partition). Readers without projection (Redshift
/// Spectrum, Glue ETL) use the partitions the nightly crawl registers.
/// https://docs.aws.amazon.com/athena/latest/ug/partition-projection.html
/// https://docs.aws.amazon.com/athena/latest/ug/partition-projection-supported-types.html
pub fn table_parameters(bucket: &str) -> BTreeMap<String, String> {
    [
        ("classification", "parquet".to_string()),
        ("EXTERNAL", "TRUE".to_string()),
        ("projection.enabled", "true".to_string()),
        ("projection.dt.type", "date".to_string()),
        ("projection.dt.format", "yyyy-MM-dd".to_string()),
        // The delivery day, never before the tool existed; NOW is the query's time.
        ("projection.dt.range", "2024-01-01,NOW".to_string()),
        ("projection.dt.interval", "1".to_string()),
        ("projection.dt.interval.unit", "DAYS".to_string()),
        (
            "storage.location.template",
            format!("s3://{bucket}/clean/dt=${{dt}}/"),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// The catalog resources.
pub fn resources(config: &StackConfig, ctx: &Context, tags: &Tags) -> Vec<Resource> {
    let names = &ctx.names;
    let bucket = names.lake_bucket();
    let bucket_arn = Names::bucket_arn(&bucket);
    let lake = address(Kind::S3Bucket, LAKE);
    let database = database_name(names);
    let db_addr = address(Kind::GlueDatabase, DATABASE);
    let table_addr = address(Kind::GlueTable, TABLE);
    let glue_role = names.role(GLUE_ROLE);
    let glue_role_addr = address(Kind::IamRole, GLUE_ROLE);
    let firehose_role = names.role(FIREHOSE_ROLE);
    let firehose_role_addr = address(Kind::IamRole, FIREHOSE_ROLE);
    let script_addr = address(Kind::S3Object, SCRIPT);
    let catalog_arn = glue_arn(names, "catalog");
    let database_arn = glue_arn(names, &format!("database/{database}"));
    let table_arn = glue_arn(names, &format!("table/{database}/{TABLE}"));
    let objects = |prefixes: &[&str]| -> Vec<String> {
        prefixes
            .iter()
            .map(|p| format!("{bucket_arn}/{p}*"))
            .collect()
    };

    let mut out = Vec::new();
    out.push(
        Resource::new(
            SCRIPT,
            &ObjectSpec {
                bucket: bucket.clone(),
                key: SCRIPT_KEY.into(),
                source: GLUE_ETL_SOURCE.into(),
                sha256: sha256_hex(GLUE_ETL_SCRIPT.as_bytes()),
                content_type: "text/x-python".into(),
            },
        )
        .owned_by(&lake)
        .after(&[&address(Kind::S3Encryption, LAKE)]),
    );
    out.push(
        Resource::new(
            DATABASE,
            &DatabaseSpec {
                name: database.clone(),
                description: format!("EcomFlow lake of {}", names.instance),
                tags: tags.clone(),
            },
        )
        .after(&[&lake]),
    );
    out.push(
        Resource::new(
            TABLE,
            &TableSpec {
                database: database.clone(),
                name: TABLE.into(),
                table_type: "EXTERNAL_TABLE".into(),
                location: format!("s3://{bucket}/clean/"),
                columns: clean_columns(),
                partition_keys: vec![Column {
                    name: "dt".into(),
                    kind: "string".into(),
                }],
                input_format: "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
                    .into(),
                output_format: "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
                    .into(),
                serde: "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe".into(),
                serde_parameters: BTreeMap::from([(
                    "serialization.format".to_string(),
                    "1".to_string(),
                )]),
                parameters: table_parameters(&bucket),
            },
        )
        .owned_by(&db_addr)
        .after(&[&lake]),
    );

    // The Glue service role: crawler and job.
    let security_name = security_configuration_name(names);
    let mut glue_statements = vec![
        Statement::allow(
            "ListLake",
            &["s3:ListBucket", "s3:GetBucketLocation"],
            &[&bucket_arn],
        ),
        Statement::allow(
            "ReadInputs",
            &["s3:GetObject"],
            &objects(&["raw/", "clean/", "scripts/"]),
        ),
        Statement::allow(
            "WriteOutputs",
            &["s3:PutObject", "s3:DeleteObject"],
            &objects(&["clean/", "rejects/", "tmp/glue/"]),
        ),
        Statement::allow("ReadTemp", &["s3:GetObject"], &objects(&["tmp/glue/"])),
        Statement::allow(
            "Catalog",
            &[
                "glue:GetDatabase",
                "glue:GetTable",
                "glue:GetTables",
                "glue:UpdateTable",
                "glue:GetPartition",
                "glue:GetPartitions",
                "glue:BatchGetPartition",
                "glue:CreatePartition",
                "glue:BatchCreatePartition",
                "glue:UpdatePartition",
                "glue:BatchUpdatePartition",
            ],
            &[&catalog_arn, &database_arn, &table_arn],
        ),
        Statement::allow(
            "Logs",
            &[
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
            ],
            &[
                "/aws-glue/crawlers",
                "/aws-glue/jobs/output",
                "/aws-glue/jobs/error",
                "/aws-glue/jobs/logs-v2",
            ]
            .map(|g| {
                format!(
                    "arn:aws:logs:{}:{}:log-group:{g}:*",
                    names.region, names.account
                )
            }),
        ),
    ];
    if config.kms_key.enabled {
        // Logs encrypted by the security configuration go to groups of their own, which the
        // job's role associates with the key.
        glue_statements.push(Statement::allow(
            "EncryptedLogs",
            &[
                "logs:AssociateKmsKey",
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
            ],
            &[key::glue_log_groups(names, &glue_role, &security_name)],
        ));
    }
    out.push(Resource::new(
        GLUE_ROLE,
        &RoleSpec {
            name: glue_role.clone(),
            path: names.iam_path(),
            assume_role_policy: trust(Assumer::Glue, names),
            policies: BTreeMap::from([(
                "glue-least-privilege".to_string(),
                policy::document(&glue_statements),
            )]),
            tags: tags.clone(),
        },
    ));

    // The Firehose role: write clean/ and errors/, read the table's schema.
    let stream = delivery_stream_name(names);
    let firehose_statements = vec![
        Statement::allow(
            "Bucket",
            &[
                "s3:GetBucketLocation",
                "s3:ListBucket",
                "s3:ListBucketMultipartUploads",
            ],
            &[&bucket_arn],
        ),
        Statement::allow(
            "Objects",
            &["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"],
            &objects(&["clean/", "errors/"]),
        ),
        Statement::allow(
            "Schema",
            &[
                "glue:GetTable",
                "glue:GetTableVersion",
                "glue:GetTableVersions",
            ],
            &[&catalog_arn, &database_arn, &table_arn],
        ),
        Statement::allow(
            "Logs",
            &["logs:PutLogEvents"],
            &[format!(
                "arn:aws:logs:{}:{}:log-group:/aws/kinesisfirehose/{stream}:*",
                names.region, names.account
            )],
        ),
    ];
    out.push(Resource::new(
        FIREHOSE_ROLE,
        &RoleSpec {
            name: firehose_role.clone(),
            path: names.iam_path(),
            assume_role_policy: trust(Assumer::Firehose, names),
            policies: BTreeMap::from([(
                "firehose-least-privilege".to_string(),
                policy::document(&firehose_statements),
            )]),
            tags: tags.clone(),
        },
    ));

    out.push(
        Resource::new(
            CLEAN,
            &CrawlerSpec {
                name: names.resource("clean-crawler"),
                role: role_arn(names, &glue_role),
                database: database.clone(),
                tables: vec![TABLE.into()],
                schedule: config.catalog.crawler_schedule.clone(),
                update_behavior: "LOG".into(),
                delete_behavior: "LOG".into(),
                configuration: json!({
                    "Version": 1.0,
                    "CrawlerOutput": {"Partitions": {"AddOrUpdateBehavior": "InheritFromTable"}},
                }),
                tags: tags.clone(),
            },
        )
        .after(&[&lake, &glue_role_addr, &db_addr, &table_addr]),
    );

    let arguments = BTreeMap::from([
        ("--input".to_string(), format!("s3://{bucket}/raw/")),
        ("--output".to_string(), format!("s3://{bucket}/clean/")),
        ("--rejects".to_string(), format!("s3://{bucket}/rejects/")),
        ("--TempDir".to_string(), format!("s3://{bucket}/tmp/glue/")),
        ("--job-language".to_string(), "python".to_string()),
        ("--enable-metrics".to_string(), "true".to_string()),
        // The driver's and executors' logs stream to CloudWatch while the run lasts
        // (`/aws-glue/jobs/logs-v2`), not only its final output.
        // https://docs.aws.amazon.com/glue/latest/dg/monitor-continuous-logging-enable.html
        (
            "--enable-continuous-cloudwatch-log".to_string(),
            "true".to_string(),
        ),
        (
            "--keep_cancellations".to_string(),
            config.cleaning.keep_cancellations.to_string(),
        ),
        (
            "--keep_missing_customer".to_string(),
            config.cleaning.keep_missing_customer.to_string(),
        ),
        (
            "--keep_non_product_codes".to_string(),
            config.cleaning.keep_non_product_codes.to_string(),
        ),
        (
            "--drop_duplicates".to_string(),
            config.cleaning.drop_duplicates.to_string(),
        ),
    ]);
    // With the stack's KMS key, the job's runs encrypt what they write to the lake, their
    // logs and their bookmarks with it. Without, what they write is encrypted as the
    // bucket's default encrypts: SSE-S3 said explicitly; or, for a bucket under its
    // AWS-managed KMS key, no mode of the job's own, since Glue's SSE-KMS mode wants a
    // customer-managed key and sending SSE-S3 would weaken the bucket's default. Logs and
    // bookmarks need a customer-managed key.
    // https://docs.aws.amazon.com/glue/latest/dg/encryption-security-configuration.html
    let keyed = config.kms_key.enabled;
    let security = SecurityConfigurationSpec {
        name: security_name,
        s3_encryption: match (keyed, config.bucket.kms) {
            (true, _) => "SSE-KMS",
            (false, true) => "DISABLED",
            (false, false) => "SSE-S3",
        }
        .into(),
        cloudwatch_encryption: if keyed { "SSE-KMS" } else { "DISABLED" }.into(),
        bookmarks_encryption: if keyed { "CSE-KMS" } else { "DISABLED" }.into(),
        kms_key: keyed.then(|| key::alias_arn(names)),
    };
    let security_addr = address(Kind::GlueSecurityConfiguration, CLEAN);
    let security_name = security.name.clone();
    let key_addr = address(Kind::KmsKey, key::KEY);
    let security_after: &[&str] = if keyed { &[&key_addr] } else { &[] };
    // Glue does not tag security configurations: it is the Glue role's, whose job runs use it.
    out.push(
        Resource::new(CLEAN, &security)
            .owned_by(&glue_role_addr)
            .after(security_after),
    );
    let job_after = [
        lake.as_str(),
        &glue_role_addr,
        &db_addr,
        &table_addr,
        &script_addr,
        &security_addr,
    ];
    out.push(
        Resource::new(
            CLEAN,
            &JobSpec {
                name: names.resource("clean-invoices"),
                role: role_arn(names, &glue_role),
                command: "glueetl".into(),
                script_location: format!("s3://{bucket}/{SCRIPT_KEY}"),
                python_version: "3".into(),
                glue_version: GLUE_VERSION.into(),
                worker_type: config.catalog.job_worker_type.clone(),
                workers: config.catalog.job_workers as i32,
                timeout_minutes: config.catalog.job_timeout_minutes as i32,
                max_retries: 0,
                default_arguments: arguments,
                connections: Vec::new(),
                security_configuration: Some(security_name),
                tags: tags.clone(),
            },
        )
        .after(&job_after),
    );

    out.push(
        Resource::new(
            CLEAN,
            &DeliveryStreamSpec {
                name: stream,
                stream_type: "DirectPut".into(),
                bucket_arn: bucket_arn.clone(),
                role_arn: role_arn(names, &firehose_role),
                prefix: "clean/dt=!{timestamp:yyyy-MM-dd}/".into(),
                error_prefix: "errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/"
                    .into(),
                buffer_seconds: config.delivery.buffer_seconds as i32,
                buffer_mb: config.delivery.buffer_mb as i32,
                compression: "UNCOMPRESSED".into(),
                parquet: Some(ParquetConversion {
                    database,
                    table: TABLE.into(),
                    region: names.region.clone(),
                    role_arn: role_arn(names, &firehose_role),
                    compression: "SNAPPY".into(),
                }),
                encryption: Some("AWS_OWNED_CMK".into()),
                tags: tags.clone(),
            },
        )
        .after(&[&lake, &firehose_role_addr, &db_addr, &table_addr]),
    );
    out
}
