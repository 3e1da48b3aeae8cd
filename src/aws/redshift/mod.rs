//! Providers of the warehouse kinds: the Redshift cluster and its parameter group, the S3
//! event integration of the lake into it, and the tables and COPY jobs created in it through
//! the Data API.
//!
//! moto 5.2 ignores `ManageMasterPassword` (no `MasterPasswordSecretArn`), lacks
//! `ModifyClusterIamRoles` and integrations, and runs no SQL; the project's emulator
//! (`emulator/ecomflow_emulator/redshift.py`) fills all of it, with PostgreSQL behind each
//! cluster.

mod cluster;
mod integration;
mod parameter_group;
mod schema;

pub use cluster::Cluster;
pub use integration::Integration;
pub use parameter_group::ParameterGroup;
pub use schema::Schema;

use super::kit::all_pages;
use super::{Aws, AwsError};
use crate::model::redshift::SCHEMA_TAG_PREFIX;
use crate::model::{Service, Tags};
use aws_sdk_redshift::types as rt;
use std::sync::Arc;

const NOT_FOUND: &[&str] = &["ClusterNotFound", "ClusterNotFoundFault"];
const REDSHIFT: Service = Service::Redshift;

fn cluster_arn(aws: &Aws, id: &str) -> String {
    format!(
        "arn:aws:redshift:{}:{}:cluster:{id}",
        aws.region, aws.account
    )
}

fn is_schema_tag(key: &str) -> bool {
    key.starts_with(SCHEMA_TAG_PREFIX)
}

fn tag(k: &str, v: &str) -> rt::Tag {
    rt::Tag::builder().key(k).value(v).build()
}

/// Brings the tags of the Redshift resource `arn` (a cluster, an integration) from `live` to
/// `desired`.
async fn converge_arn_tags(
    aws: &Aws,
    what: &str,
    arn: &str,
    desired: &Tags,
    live: &Tags,
) -> Result<(), AwsError> {
    super::kit::converge_tags(
        aws,
        REDSHIFT,
        what,
        (desired, live),
        |stale| {
            let call = aws.redshift.delete_tags().resource_name(arn);
            call.set_tag_keys(Some(stale)).send()
        },
        |set| {
            let tags = set.iter().map(|(k, v)| tag(k, v)).collect();
            let call = aws.redshift.create_tags().resource_name(arn);
            call.set_tags(Some(tags)).send()
        },
    )
    .await
}

/// Every cluster of the account but those being deleted: one listing shared by a live-state
/// read's cluster and schema reads and its leak sweep.
async fn clusters(aws: &Aws) -> Result<Arc<Vec<rt::Cluster>>, AwsError> {
    aws.listings
        .shared("redshift:clusters", || async {
            let pages = aws.redshift.describe_clusters().into_paginator().send();
            let pages = all_pages(pages, "failed to list Redshift clusters").await?;
            let clusters = pages.iter().flat_map(|p| p.clusters());
            let live = clusters.filter(|c| c.cluster_status() != Some("deleting"));
            Ok(live.cloned().collect())
        })
        .await
}

/// The cluster as DescribeClusters reports it; `None` if absent or being deleted.
async fn describe(aws: &Aws, id: &str) -> Result<Option<rt::Cluster>, AwsError> {
    Ok(clusters(aws)
        .await?
        .iter()
        .find(|c| c.cluster_identifier() == Some(id))
        .cloned())
}

/// Runs `sql` in `database` of the cluster through the Data API and waits until it finished;
/// returns the statement's ID. For the commands that load the warehouse (`load`).
pub async fn execute(
    aws: &Aws,
    cluster: &str,
    database: &str,
    sql: &str,
    timeout: std::time::Duration,
) -> Result<String, AwsError> {
    let c = describe(aws, cluster)
        .await?
        .ok_or_else(|| AwsError::msg(format!("Redshift cluster {cluster} does not exist")))?;
    schema::run_sql(aws, &c, database, sql, timeout).await
}

/// A statement's result set: columns as (name, type) in the Athena-style names the renderers
/// know (`bigint`, `decimal`, `boolean`, `varchar`, ...), rows as text, `None` for NULL.
pub struct ResultSet {
    /// The Data API's ID of the statement.
    pub statement: String,
    /// Column names and types, in order.
    pub columns: Vec<(String, String)>,
    /// Every row.
    pub rows: Vec<Vec<Option<String>>>,
}

/// Runs `sql` like [`execute`] and reads every row of its result (`GetStatementResult`,
/// paginated).
pub async fn query(
    aws: &Aws,
    cluster: &str,
    database: &str,
    sql: &str,
    timeout: std::time::Duration,
) -> Result<ResultSet, AwsError> {
    use aws_sdk_redshiftdata::types::Field;
    let statement = execute(aws, cluster, database, sql, timeout).await?;
    let mut columns = Vec::new();
    let mut rows = Vec::new();
    let mut pages = aws
        .redshift_data
        .get_statement_result()
        .id(&statement)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            AwsError::from(e).context(format!(
                "failed to read the result of statement {statement}"
            ))
        })?;
        if columns.is_empty() {
            columns = page
                .column_metadata()
                .iter()
                .map(|c| {
                    let name = c.name().unwrap_or_default().to_string();
                    (
                        name,
                        common_type(c.type_name().unwrap_or_default()).to_string(),
                    )
                })
                .collect();
        }
        for record in page.records() {
            rows.push(
                record
                    .iter()
                    .map(|f| match f {
                        Field::IsNull(true) => None,
                        Field::StringValue(s) => Some(s.clone()),
                        Field::LongValue(n) => Some(n.to_string()),
                        Field::DoubleValue(d) => Some(d.to_string()),
                        Field::BooleanValue(b) => Some(b.to_string()),
                        other => Some(format!("{other:?}")),
                    })
                    .collect(),
            );
        }
    }
    Ok(ResultSet {
        statement,
        columns,
        rows,
    })
}

/// Redshift's type names (PostgreSQL's internal ones) as Athena spells them.
fn common_type(redshift: &str) -> &str {
    match redshift {
        "int8" => "bigint",
        "int4" => "integer",
        "int2" => "smallint",
        "numeric" => "decimal",
        "float8" => "double",
        "float4" => "real",
        "bool" => "boolean",
        "bpchar" => "char",
        other => other,
    }
}

/// Redshift's tag list (on clusters and parameter groups alike) as a map.
fn tags_of(tags: &[rt::Tag]) -> Tags {
    tags.iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_string(),
                t.value().unwrap_or_default().to_string(),
            ))
        })
        .collect()
}

fn all_tags(c: &rt::Cluster) -> Tags {
    tags_of(c.tags())
}

/// Output keys of a cluster that others read.
mod output {
    pub const ENDPOINT: &str = "endpoint";
    pub const PORT: &str = "port";
    pub const SECRET: &str = "master_password_secret_arn";
    /// The namespace ARN, what an S3 event integration targets.
    pub const NAMESPACE: &str = "namespace_arn";
}

fn jdbc_url(host: &str, port: i32, database: &str) -> String {
    format!("jdbc:redshift://{host}:{port}/{database}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jdbc_url_names_host_port_and_database() {
        assert_eq!(
            jdbc_url("c.abc.us-east-1.redshift.amazonaws.com", 5439, "ecomflow"),
            "jdbc:redshift://c.abc.us-east-1.redshift.amazonaws.com:5439/ecomflow"
        );
    }
}
