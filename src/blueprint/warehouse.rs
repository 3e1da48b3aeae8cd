//! The Redshift warehouse: the cluster (master password managed by AWS Secrets Manager), the
//! role it COPYs from the lake with, and the `invoice_lines` table created through the Data
//! API. Declared only when `warehouse.enabled`.
//!
//! With `warehouse.firehose_copy`, also a second Firehose stream (`copy`, fed by `process`
//! next to the lake's `clean` stream) that stages the clean JSON lines under `staging/` and
//! COPYs them into `invoice_lines`, mapping keys to columns with an uploaded JSONPaths file,
//! under a role of its own.

use super::catalog::role_arn;
use super::storage::LAKE;
use super::trust::{trust, Assumer};
use super::Context;
use crate::config::StackConfig;
use crate::model::catalog::{
    sha256_hex, DeliveryStreamSpec, ObjectSpec, RedshiftCopy, REDSHIFT_JSONPATHS,
    REDSHIFT_JSONPATHS_SOURCE,
};
use crate::model::iam::RoleSpec;
use crate::model::policy::{self, Statement};
use crate::model::redshift::{ClusterSpec, SchemaSpec, COPY_COLUMNS, INVOICE_LINES_DDL};
use crate::model::{address, Kind, Resource, Tags};
use crate::names::Names;
use std::collections::BTreeMap;

/// Logical name of the cluster.
pub const CLUSTER: &str = "warehouse";
/// Logical name of the COPY role.
pub const COPY_ROLE: &str = "redshift-copy";
/// Logical name (and Redshift name) of the clean lines table.
pub const TABLE: &str = "invoice_lines";
/// The cluster's port.
pub const PORT: i32 = 5439;
/// Logical name of the Firehose stream that COPYs into the warehouse.
pub const COPY_STREAM: &str = "copy";
/// Logical name of that stream's role.
pub const COPY_STREAM_ROLE: &str = "firehose-copy";
/// Logical name of the uploaded JSONPaths file.
pub const JSONPATHS: &str = "copy_jsonpaths";
/// Key of the JSONPaths file in the lake.
pub const JSONPATHS_KEY: &str = "scripts/redshift_jsonpaths.json";
/// Where the stream stages objects before each COPY.
pub const STAGING_PREFIX: &str = "staging/";
/// How long Firehose retries a failed COPY (its documented default).
pub const COPY_RETRY_SECONDS: i32 = 3600;

/// Whether the stack declares the Firehose stream into the warehouse.
pub fn copies(config: &StackConfig) -> bool {
    config.warehouse.enabled && config.warehouse.firehose_copy
}

/// The name of the Firehose stream into the warehouse.
pub fn copy_stream_name(names: &Names) -> String {
    names.resource(COPY_STREAM)
}

/// The cluster identifier.
pub fn cluster_identifier(names: &Names) -> String {
    names.resource(CLUSTER)
}

/// The ARNs the secret of the cluster's AWS-managed master password can have: Redshift names
/// it `redshift!<cluster>-<master user>` plus a random suffix, unknown before it exists.
pub fn master_secret_arn_pattern(names: &Names) -> String {
    format!(
        "arn:aws:secretsmanager:{}:{}:secret:redshift!{}-*",
        names.region,
        names.account,
        cluster_identifier(names)
    )
}

/// The warehouse resources.
pub fn resources(config: &StackConfig, ctx: &Context, tags: &Tags) -> Vec<Resource> {
    let w = &config.warehouse;
    if !w.enabled {
        return Vec::new();
    }
    let names = &ctx.names;
    let bucket_arn = Names::bucket_arn(&names.lake_bucket());
    let copy_role = names.role(COPY_ROLE);
    let statements = vec![
        Statement::allow(
            "ListLake",
            &["s3:ListBucket", "s3:GetBucketLocation"],
            &[&bucket_arn],
        ),
        Statement::allow(
            "ReadCleanAndStaging",
            &["s3:GetObject"],
            &[
                format!("{bucket_arn}/clean/*"),
                format!("{bucket_arn}/staging/*"),
            ],
        ),
    ];
    let cluster_addr = address(Kind::RedshiftCluster, CLUSTER);
    let identifier = cluster_identifier(names);
    let mut out = vec![
        Resource::new(
            COPY_ROLE,
            &RoleSpec {
                name: copy_role.clone(),
                path: names.iam_path(),
                assume_role_policy: trust(Assumer::Redshift, names),
                policies: BTreeMap::from([(
                    "redshift-copy-least-privilege".to_string(),
                    policy::document(&statements),
                )]),
                tags: tags.clone(),
            },
        ),
        Resource::new(
            CLUSTER,
            &ClusterSpec {
                identifier: identifier.clone(),
                node_type: w.node_type.clone(),
                nodes: w.nodes as i32,
                database: w.database.clone(),
                master_username: w.master_username.clone(),
                encrypted: true,
                publicly_accessible: false,
                iam_roles: vec![role_arn(names, &copy_role)],
                tags: tags.clone(),
                wait_minutes: u64::from(w.wait_timeout_minutes),
            },
        )
        .after(&[&address(Kind::IamRole, COPY_ROLE)]),
        Resource::new(
            TABLE,
            &SchemaSpec {
                cluster: identifier,
                database: w.database.clone(),
                table: TABLE.into(),
                ddl_sha256: sha256_hex(INVOICE_LINES_DDL.as_bytes()),
                ddl: INVOICE_LINES_DDL.into(),
                statement_timeout_seconds: 300,
            },
        )
        .owned_by(&cluster_addr),
    ];
    if copies(config) {
        out.extend(copy_stream(config, ctx, tags));
    }
    out
}

/// The Firehose stream into the warehouse, its role and its JSONPaths file.
fn copy_stream(config: &StackConfig, ctx: &Context, tags: &Tags) -> Vec<Resource> {
    let names = &ctx.names;
    let w = &config.warehouse;
    let bucket = names.lake_bucket();
    let bucket_arn = Names::bucket_arn(&bucket);
    let lake = address(Kind::S3Bucket, LAKE);
    let stream = copy_stream_name(names);
    let role = names.role(COPY_STREAM_ROLE);
    let role_addr = address(Kind::IamRole, COPY_STREAM_ROLE);
    let jsonpaths_addr = address(Kind::S3Object, JSONPATHS);
    let statements = vec![
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
            "Staging",
            &["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"],
            &[format!("{bucket_arn}/{STAGING_PREFIX}*")],
        ),
        Statement::allow(
            "JsonPaths",
            &["s3:GetObject"],
            &[format!("{bucket_arn}/{JSONPATHS_KEY}")],
        ),
        Statement::allow(
            "MasterSecret",
            &["secretsmanager:GetSecretValue"],
            &[master_secret_arn_pattern(names)],
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
    vec![
        Resource::new(
            JSONPATHS,
            &ObjectSpec {
                bucket: bucket.clone(),
                key: JSONPATHS_KEY.into(),
                source: REDSHIFT_JSONPATHS_SOURCE.into(),
                sha256: sha256_hex(REDSHIFT_JSONPATHS.as_bytes()),
                content_type: "application/json".into(),
            },
        )
        .owned_by(&lake)
        .after(&[&address(Kind::S3Encryption, LAKE)]),
        Resource::new(
            COPY_STREAM_ROLE,
            &RoleSpec {
                name: role.clone(),
                path: names.iam_path(),
                assume_role_policy: trust(Assumer::Firehose, names),
                policies: BTreeMap::from([(
                    "firehose-copy-least-privilege".to_string(),
                    policy::document(&statements),
                )]),
                tags: tags.clone(),
            },
        ),
        Resource::new(
            COPY_STREAM,
            &DeliveryStreamSpec {
                name: stream,
                stream_type: "DirectPut".into(),
                bucket_arn,
                role_arn: role_arn(names, &role),
                prefix: STAGING_PREFIX.into(),
                // Firehose refuses an error output prefix when the destination is Redshift.
                // https://docs.aws.amazon.com/firehose/latest/dev/s3-prefixes.html
                error_prefix: String::new(),
                buffer_seconds: config.delivery.buffer_seconds as i32,
                buffer_mb: config.delivery.buffer_mb as i32,
                // COPY reads the staged objects as they are.
                compression: "UNCOMPRESSED".into(),
                parquet: None,
                redshift: Some(RedshiftCopy {
                    cluster: cluster_identifier(names),
                    database: w.database.clone(),
                    port: PORT,
                    table: TABLE.into(),
                    columns: COPY_COLUMNS.into(),
                    copy_options: format!(
                        "FORMAT AS JSON 's3://{bucket}/{JSONPATHS_KEY}' TIMEFORMAT 'YYYY-MM-DD HH:MI:SS'"
                    ),
                    retry_seconds: COPY_RETRY_SECONDS,
                    matches_cluster: true,
                }),
                encryption: Some("AWS_OWNED_CMK".into()),
                tags: tags.clone(),
            },
        )
        .after(&[
            &lake,
            &role_addr,
            &jsonpaths_addr,
            &address(Kind::RedshiftCluster, CLUSTER),
            &address(Kind::RedshiftSchema, TABLE),
        ]),
    ]
}
