//! Providers of the warehouse kinds: the Redshift cluster and the tables created in it
//! through the Data API; and what the cluster's JDBC clients (the Glue connection,
//! Firehose's COPY) take from its outputs.
//!
//! moto 5.2 ignores `ManageMasterPassword` (no `MasterPasswordSecretArn`), lacks
//! `ModifyClusterIamRoles`, and leaves Data API statements `STARTED` for ever; the project's
//! emulator (`emulator/ecomflow_emulator/redshift.py`) fills all three.

mod cluster;
mod schema;

pub use cluster::Cluster;
pub use schema::Schema;

use super::{Aws, AwsError, Inputs};
use crate::model::redshift::SCHEMA_TAG_PREFIX;
use crate::model::{Kind, Service, Tags};
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

/// Every cluster of the account but those being deleted: one listing shared by a live-state
/// read's cluster and schema reads and its leak sweep.
async fn clusters(aws: &Aws) -> Result<Arc<Vec<rt::Cluster>>, AwsError> {
    aws.listings
        .shared("redshift:clusters", || async {
            let mut out = Vec::new();
            let mut pages = aws.redshift.describe_clusters().into_paginator().send();
            while let Some(page) = pages.next().await {
                let page = page
                    .map_err(|e| AwsError::from(e).context("failed to list Redshift clusters"))?;
                out.extend(
                    page.clusters()
                        .iter()
                        .filter(|c| c.cluster_status() != Some("deleting"))
                        .cloned(),
                );
            }
            Ok(out)
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

fn all_tags(c: &rt::Cluster) -> Tags {
    c.tags()
        .iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_string(),
                t.value().unwrap_or_default().to_string(),
            ))
        })
        .collect()
}

/// Output keys of a cluster that its JDBC clients read.
mod output {
    pub const ENDPOINT: &str = "endpoint";
    pub const PORT: &str = "port";
    pub const SECRET: &str = "master_password_secret_arn";
    pub const AVAILABILITY_ZONE: &str = "availability_zone";
    pub const SUBNET: &str = "subnet_id";
    /// Comma-separated, sorted.
    pub const SECURITY_GROUPS: &str = "security_group_ids";
}

/// What a JDBC client of the cluster (the Glue connection, Firehose's COPY) points at, from
/// the cluster's outputs as the engine hands them over.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct JdbcTarget {
    /// `jdbc:redshift://host:port/database`.
    pub url: String,
    /// ARN of the cluster's AWS-managed master-password secret.
    pub secret: Option<String>,
    /// Where the cluster runs, for a client that needs a network placement.
    pub availability_zone: Option<String>,
    /// Its VPC security groups, sorted.
    pub security_groups: Vec<String>,
    /// The subnet of its subnet group in its availability zone.
    pub subnet: Option<String>,
}

/// The JDBC target of `database` in the cluster among `inputs`; `None` if the cluster does
/// not exist or has no endpoint yet. `port` is used if the cluster reports none.
pub(crate) fn jdbc_target(inputs: &Inputs, database: &str, port: i32) -> Option<JdbcTarget> {
    let get = |key| inputs.get(Kind::RedshiftCluster, key).map(str::to_string);
    let host = get(output::ENDPOINT)?;
    let port = get(output::PORT)
        .and_then(|p| p.parse().ok())
        .unwrap_or(port);
    Some(JdbcTarget {
        url: jdbc_url(&host, port, database),
        secret: get(output::SECRET),
        availability_zone: get(output::AVAILABILITY_ZONE),
        security_groups: get(output::SECURITY_GROUPS)
            .map(|g| {
                g.split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        subnet: get(output::SUBNET),
    })
}

fn jdbc_url(host: &str, port: i32, database: &str) -> String {
    format!("jdbc:redshift://{host}:{port}/{database}")
}

/// `(host, port, database)` of `jdbc:redshift://host:port/database`.
pub(crate) fn parse_jdbc(url: &str) -> Option<(String, i32, String)> {
    let rest = url.strip_prefix("jdbc:redshift://")?;
    let (hostport, db) = rest.split_once('/')?;
    let (host, port) = hostport.rsplit_once(':')?;
    Some((host.to_string(), port.parse().ok()?, db.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Outputs;
    use std::collections::BTreeMap;

    #[test]
    fn a_jdbc_url_parses_back_to_its_parts() {
        let url = jdbc_url("c.abc.us-east-1.redshift.amazonaws.com", 5439, "ecomflow");
        assert_eq!(
            parse_jdbc(&url),
            Some((
                "c.abc.us-east-1.redshift.amazonaws.com".into(),
                5439,
                "ecomflow".into()
            ))
        );
        assert_eq!(parse_jdbc("jdbc:postgresql://h:1/d"), None);
    }

    #[test]
    fn the_jdbc_target_comes_from_the_cluster_outputs() {
        let cluster = |outputs: &[(&str, &str)]| {
            Inputs::new(BTreeMap::from([(
                "redshift_cluster.warehouse".to_string(),
                outputs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<Outputs>(),
            )]))
        };
        assert_eq!(jdbc_target(&Inputs::default(), "db", 5439), None);
        assert_eq!(jdbc_target(&cluster(&[("port", "5439")]), "db", 5439), None);
        let t = jdbc_target(
            &cluster(&[
                ("endpoint", "h"),
                ("security_group_ids", "sg-1,sg-2"),
                ("master_password_secret_arn", "arn:s"),
            ]),
            "analytics",
            5440,
        )
        .unwrap();
        assert_eq!(t.url, "jdbc:redshift://h:5440/analytics");
        assert_eq!(t.secret.as_deref(), Some("arn:s"));
        assert_eq!(t.security_groups, ["sg-1", "sg-2"]);
        assert_eq!(t.subnet, None);
    }
}
