//! The Redshift warehouse: the cluster (master password managed by AWS Secrets Manager), the
//! role it COPYs from the lake with, and the `invoice_lines` table created through the Data
//! API. Declared only when `warehouse.enabled`.

use super::catalog::{role_arn, trust};
use super::Context;
use crate::config::StackConfig;
use crate::model::iam::RoleSpec;
use crate::model::policy::{self, Statement};
use crate::model::redshift::{ClusterSpec, SchemaSpec, INVOICE_LINES_DDL};
use crate::model::{address, catalog::sha256_hex, Kind, Resource, Tags};
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
    vec![
        Resource::new(
            COPY_ROLE,
            &RoleSpec {
                name: copy_role.clone(),
                path: names.iam_path(),
                assume_role_policy: trust("redshift.amazonaws.com"),
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
    ]
}
