//! The Redshift warehouse: the cluster (master password managed by AWS Secrets Manager, TLS
//! required by its parameter group, audit logs in CloudWatch Logs), the role it COPYs from
//! the lake with, the `invoice_lines` table created through the Data API, and how the table
//! is loaded. Declared only when `warehouse.enabled`.
//!
//! Both load paths go through one COPY job with `AUTO ON` over `clean/`
//! (<https://docs.aws.amazon.com/redshift/latest/dg/loading-data-copy-job.html>): Redshift
//! loads each Parquet object that lands there, once, whether Firehose delivered it (streaming)
//! or the Glue job wrote it (batch; `load` also runs the job at once). The cluster stays
//! private: Redshift reads S3 itself, so nothing needs a network path to the cluster, where
//! Firehose's Redshift destination needs a publicly accessible one
//! (<https://docs.aws.amazon.com/firehose/latest/dev/controlling-access.html#using-iam-rs>)
//! and the Glue JDBC write a VPC route, security-group rules and ENI permissions.
//!
//! The job is told of new objects by an S3 event integration of the lake into the cluster,
//! which needs the bucket policy's [`notification_grant`] and the cluster's resource policy
//! (put by the integration's provider).

use super::catalog::role_arn;
use super::storage::LAKE;
use super::trust::{trust, Assumer};
use super::Context;
use crate::config::StackConfig;
use crate::model::catalog::sha256_hex;
use crate::model::iam::RoleSpec;
use crate::model::policy::{self, Statement};
use crate::model::redshift::{
    ClusterSpec, IntegrationSpec, ParameterGroupSpec, SchemaSpec, INVOICE_LINES_DDL,
};
use crate::model::{address, Kind, Resource, Tags};
use crate::names::Names;
use serde_json::json;
use std::collections::BTreeMap;

/// Logical name of the cluster.
pub const CLUSTER: &str = "warehouse";
/// Logical name of the COPY role.
pub const COPY_ROLE: &str = "redshift-copy";
/// Logical name (and Redshift name) of the clean lines table.
pub const TABLE: &str = "invoice_lines";
/// Logical name of the cluster's parameter group.
pub const PARAMETERS: &str = "warehouse-parameters";
/// Logical name of the S3 event integration.
pub const INTEGRATION: &str = "lake-autocopy";
/// Logical name (and Redshift name) of the COPY job that loads `clean/`.
pub const COPY_JOB: &str = "invoice_lines_autocopy";
/// Where the Parquet the COPY job loads lands.
pub const CLEAN_PREFIX: &str = "clean/";

/// The cluster identifier.
pub fn cluster_identifier(names: &Names) -> String {
    names.resource(CLUSTER)
}

/// The bucket-policy statement an S3 event integration needs: Redshift may read and set the
/// bucket's notifications, on behalf of this account's integrations only.
pub fn notification_grant(names: &Names) -> Statement {
    Statement {
        sid: "RedshiftAutoCopyNotifications".into(),
        deny: false,
        principal: Some(json!({"Service": "redshift.amazonaws.com"})),
        actions: vec![
            "s3:GetBucketLocation".into(),
            "s3:GetBucketNotification".into(),
            "s3:PutBucketNotification".into(),
        ],
        resources: vec![Names::bucket_arn(&names.lake_bucket())],
        condition: Some(json!({
            "ArnLike": {"aws:SourceArn": format!(
                "arn:aws:redshift:{}:{}:integration:*", names.region, names.account
            )},
            "StringEquals": {"aws:SourceAccount": names.account},
        })),
    }
}

/// The COPY job's statement: Parquet under `clean/`, columns by position (the Glue table's,
/// which the table's columns follow), loaded as new objects arrive.
pub fn copy_job_sql(bucket: &str, role_arn: &str) -> String {
    format!(
        "COPY {TABLE} FROM 's3://{bucket}/{CLEAN_PREFIX}' IAM_ROLE '{role_arn}' \
         FORMAT AS PARQUET JOB CREATE {COPY_JOB} AUTO ON"
    )
}

/// The warehouse resources.
pub fn resources(config: &StackConfig, ctx: &Context, tags: &Tags) -> Vec<Resource> {
    let w = &config.warehouse;
    if !w.enabled {
        return Vec::new();
    }
    let names = &ctx.names;
    let bucket = names.lake_bucket();
    let bucket_arn = Names::bucket_arn(&bucket);
    let copy_role = names.role(COPY_ROLE);
    let copy_role_arn = role_arn(names, &copy_role);
    let statements = vec![
        Statement::allow(
            "ListLake",
            &["s3:ListBucket", "s3:GetBucketLocation"],
            &[&bucket_arn],
        ),
        Statement::allow(
            "ReadClean",
            &["s3:GetObject"],
            &[format!("{bucket_arn}/{CLEAN_PREFIX}*")],
        ),
    ];
    let cluster_addr = address(Kind::RedshiftCluster, CLUSTER);
    let table_addr = address(Kind::RedshiftSchema, TABLE);
    let integration_addr = address(Kind::RedshiftIntegration, INTEGRATION);
    let identifier = cluster_identifier(names);
    // Clients must connect over TLS; queries are logged when audit logs are on, whose
    // user-activity log needs `enable_user_activity_logging`.
    // https://docs.aws.amazon.com/redshift/latest/mgmt/connecting-ssl-support.html
    // https://docs.aws.amazon.com/redshift/latest/mgmt/db-auditing.html
    let parameters = ParameterGroupSpec {
        name: names.resource(PARAMETERS),
        family: "redshift-2.0".into(),
        description: format!("{}: TLS only, activity logged", identifier),
        parameters: BTreeMap::from([
            ("require_ssl".to_string(), "true".to_string()),
            (
                "enable_user_activity_logging".to_string(),
                w.audit_logging.to_string(),
            ),
        ]),
        tags: tags.clone(),
    };
    let audit_logs = if w.audit_logging {
        ["connectionlog", "useractivitylog", "userlog"]
            .map(String::from)
            .to_vec()
    } else {
        Vec::new()
    };
    let object = |name: &str, ddl: String, drop: String| SchemaSpec {
        cluster: identifier.clone(),
        database: w.database.clone(),
        table: name.into(),
        ddl_sha256: sha256_hex(ddl.as_bytes()),
        ddl,
        drop,
        statement_timeout_seconds: 300,
    };
    vec![
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
        Resource::new(PARAMETERS, &parameters),
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
                iam_roles: vec![copy_role_arn.clone()],
                parameter_group: parameters.name.clone(),
                audit_logs,
                tags: tags.clone(),
                wait_minutes: u64::from(w.wait_timeout_minutes),
            },
        )
        .after(&[
            &address(Kind::IamRole, COPY_ROLE),
            &address(Kind::RedshiftParameterGroup, PARAMETERS),
        ]),
        Resource::new(
            TABLE,
            &object(TABLE, INVOICE_LINES_DDL.into(), String::new()),
        )
        .owned_by(&cluster_addr),
        Resource::new(
            INTEGRATION,
            &IntegrationSpec {
                name: names.resource(INTEGRATION),
                source_arn: bucket_arn.clone(),
                cluster: identifier.clone(),
                targets_cluster: true,
                tags: tags.clone(),
            },
        )
        .after(&[
            &cluster_addr,
            &address(Kind::S3Bucket, LAKE),
            &address(Kind::S3BucketPolicy, LAKE),
        ]),
        Resource::new(
            COPY_JOB,
            &object(
                COPY_JOB,
                copy_job_sql(&bucket, &copy_role_arn),
                format!("COPY JOB DROP {COPY_JOB}"),
            ),
        )
        .owned_by(&cluster_addr)
        .after(&[&table_addr, &integration_addr]),
    ]
}
