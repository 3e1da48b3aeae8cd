//! Providers of the warehouse kinds: the Redshift cluster and the tables created in it
//! through the Data API.
//!
//! The applied DDL of a table is remembered in a tag on the cluster
//! (`ecomflow:schema-sha256:<database>.<table>` = SHA-256 of the DDL), set only after the
//! statement FINISHED. Reading it costs the one DescribeClusters call a plan makes anyway and
//! works while the cluster is paused; reading the table through the Data API would need an
//! asynchronous statement (several calls and polling) per plan, and moto has no DescribeTable.
//!
//! Emulator gaps (moto 5.2): `ManageMasterPassword` is accepted but ignored (no
//! `MasterPasswordSecretArn` is reported), `ModifyClusterIamRoles` is not implemented, and
//! Data API statements stay `STARTED` forever; the tests' emulator
//! (`tests/testkit/moto_ext.py`) adds the last two.

use super::legacy::{LegacyProvider as Provider, Listed};
use super::{Aws, AwsError};
use crate::model::catalog::sha256_hex;
use crate::model::redshift::*;
use crate::model::{Kind, Resource, Service, Tags};
use async_trait::async_trait;
use aws_sdk_redshift::client::Waiters;
use aws_sdk_redshift::types as rt;
use serde_json::Value;
use std::time::{Duration, Instant};

const NOT_FOUND: &[&str] = &["ClusterNotFound", "ClusterNotFoundFault"];

fn typed<S: serde::de::DeserializeOwned>(v: &Value, kind: Kind) -> Result<S, AwsError> {
    serde_json::from_value(v.clone())
        .map_err(|e| AwsError::msg(format!("malformed {kind} spec: {e}")))
}

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

/// The cluster as DescribeClusters reports it; `None` if absent or being deleted.
async fn describe(aws: &Aws, id: &str) -> Result<Option<rt::Cluster>, AwsError> {
    match aws
        .redshift
        .describe_clusters()
        .cluster_identifier(id)
        .send()
        .await
    {
        Ok(out) => Ok(out
            .clusters()
            .first()
            .filter(|c| c.cluster_status() != Some("deleting"))
            .cloned()),
        Err(e) => {
            let e = AwsError::from(e);
            if e.is(NOT_FOUND) {
                Ok(None)
            } else {
                Err(e.context(format!("failed to read Redshift cluster {id}")))
            }
        }
    }
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

fn cluster_spec(c: &rt::Cluster, wait_minutes: u64) -> ClusterSpec {
    let mut iam_roles: Vec<String> = c
        .iam_roles()
        .iter()
        .filter_map(|r| r.iam_role_arn().map(str::to_string))
        .collect();
    iam_roles.sort();
    ClusterSpec {
        identifier: c.cluster_identifier().unwrap_or_default().to_string(),
        node_type: c.node_type().unwrap_or_default().to_string(),
        nodes: c.number_of_nodes().unwrap_or(1),
        database: c.db_name().unwrap_or_default().to_string(),
        master_username: c.master_username().unwrap_or_default().to_string(),
        encrypted: c.encrypted().unwrap_or(false),
        publicly_accessible: c.publicly_accessible().unwrap_or(false),
        iam_roles,
        tags: all_tags(c)
            .into_iter()
            .filter(|(k, _)| !is_schema_tag(k))
            .collect(),
        wait_minutes,
    }
}

async fn wait_available(aws: &Aws, id: &str, minutes: u64) -> Result<(), AwsError> {
    aws.redshift
        .wait_until_cluster_available()
        .cluster_identifier(id)
        .wait(Duration::from_secs(minutes.max(1) * 60))
        .await
        .map_err(|e| {
            AwsError::msg(format!(
                "Redshift cluster {id} did not become available within {minutes} minutes: {e}"
            ))
        })?;
    Ok(())
}

/// A provisioned Redshift cluster.
pub struct Cluster;

#[async_trait]
impl Provider for Cluster {
    async fn read(&self, aws: &Aws, desired: &Resource) -> Result<Option<Value>, AwsError> {
        let s: ClusterSpec = typed(&desired.spec, desired.kind)?;
        Ok(describe(aws, &desired.physical).await?.map(|c| {
            let mut v =
                serde_json::to_value(cluster_spec(&c, s.wait_minutes)).expect("specs serialise");
            // For the record only (never compared): where the managed password lives.
            v["_master_password_secret_arn"] = c
                .master_password_secret_arn()
                .map(|a| Value::String(a.to_string()))
                .unwrap_or(Value::Null);
            v
        }))
    }

    async fn create(&self, aws: &Aws, desired: &Resource) -> Result<(), AwsError> {
        let s: ClusterSpec = typed(&desired.spec, desired.kind)?;
        aws.throttle(Service::Redshift).await;
        let r = aws
            .redshift
            .create_cluster()
            .cluster_identifier(&s.identifier)
            .node_type(&s.node_type)
            .cluster_type(if s.nodes > 1 {
                "multi-node"
            } else {
                "single-node"
            })
            .set_number_of_nodes((s.nodes > 1).then_some(s.nodes))
            .db_name(&s.database)
            .master_username(&s.master_username)
            // The password is generated and kept by AWS Secrets Manager; it never passes
            // through this tool.
            .manage_master_password(true)
            .encrypted(s.encrypted)
            .publicly_accessible(s.publicly_accessible)
            .set_iam_roles(Some(s.iam_roles.clone()))
            .set_tags(Some(s.tags.iter().map(|(k, v)| tag(k, v)).collect()))
            .send()
            .await
            .map_err(AwsError::from);
        match r {
            Ok(_) => {}
            Err(e) if e.is(&["ClusterAlreadyExists", "ClusterAlreadyExistsFault"]) => {
                wait_available(aws, &s.identifier, s.wait_minutes).await?;
                let live = self.read(aws, desired).await?.unwrap_or(Value::Null);
                return self.update(aws, desired, &live).await;
            }
            Err(e) => {
                return Err(e.context(format!(
                    "failed to create Redshift cluster {}",
                    s.identifier
                )))
            }
        }
        wait_available(aws, &s.identifier, s.wait_minutes).await
    }

    async fn update(&self, aws: &Aws, desired: &Resource, live: &Value) -> Result<(), AwsError> {
        let s: ClusterSpec = typed(&desired.spec, desired.kind)?;
        let l: ClusterSpec = typed(live, desired.kind)?;
        let id = &s.identifier;
        let fail = |what: &'static str| {
            move |e: AwsError| e.context(format!("failed to {what} of Redshift cluster {id}"))
        };
        if s.node_type != l.node_type || s.nodes != l.nodes {
            aws.throttle(Service::Redshift).await;
            aws.redshift
                .modify_cluster()
                .cluster_identifier(id)
                .node_type(&s.node_type)
                .cluster_type(if s.nodes > 1 {
                    "multi-node"
                } else {
                    "single-node"
                })
                .set_number_of_nodes((s.nodes > 1).then_some(s.nodes))
                .send()
                .await
                .map_err(|e| fail("resize")(e.into()))?;
            wait_available(aws, id, s.wait_minutes).await?;
        }
        if s.publicly_accessible != l.publicly_accessible {
            aws.throttle(Service::Redshift).await;
            aws.redshift
                .modify_cluster()
                .cluster_identifier(id)
                .publicly_accessible(s.publicly_accessible)
                .send()
                .await
                .map_err(|e| fail("change the public accessibility")(e.into()))?;
            wait_available(aws, id, s.wait_minutes).await?;
        }
        if s.iam_roles != l.iam_roles {
            let add: Vec<String> = s
                .iam_roles
                .iter()
                .filter(|r| !l.iam_roles.contains(r))
                .cloned()
                .collect();
            let remove: Vec<String> = l
                .iam_roles
                .iter()
                .filter(|r| !s.iam_roles.contains(r))
                .cloned()
                .collect();
            aws.throttle(Service::Redshift).await;
            aws.redshift
                .modify_cluster_iam_roles()
                .cluster_identifier(id)
                .set_add_iam_roles(Some(add))
                .set_remove_iam_roles(Some(remove))
                .send()
                .await
                .map_err(|e| fail("change the IAM roles")(e.into()))?;
            wait_available(aws, id, s.wait_minutes).await?;
        }
        let arn = cluster_arn(aws, id);
        // Schema tags belong to the redshift_schema resources: never removed here.
        let stale: Vec<String> = l
            .tags
            .keys()
            .filter(|k| !s.tags.contains_key(*k) && !is_schema_tag(k))
            .cloned()
            .collect();
        if !stale.is_empty() {
            aws.throttle(Service::Redshift).await;
            aws.redshift
                .delete_tags()
                .resource_name(&arn)
                .set_tag_keys(Some(stale))
                .send()
                .await
                .map_err(|e| fail("untag")(e.into()))?;
        }
        let changed: Vec<rt::Tag> = s
            .tags
            .iter()
            .filter(|(k, v)| l.tags.get(*k) != Some(v))
            .map(|(k, v)| tag(k, v))
            .collect();
        if !changed.is_empty() {
            aws.throttle(Service::Redshift).await;
            aws.redshift
                .create_tags()
                .resource_name(&arn)
                .set_tags(Some(changed))
                .send()
                .await
                .map_err(|e| fail("tag")(e.into()))?;
        }
        Ok(())
    }

    /// Deletes the cluster without a final snapshot: deleting a stateful resource already
    /// needs `--allow-replace` or `destroy` (and `--allow-protected` on protected stacks).
    async fn delete(&self, aws: &Aws, physical: &str, live: &Value) -> Result<(), AwsError> {
        let wait = live
            .get("_wait_minutes")
            .and_then(Value::as_u64)
            .unwrap_or(45);
        aws.throttle(Service::Redshift).await;
        if let Err(e) = aws
            .redshift
            .delete_cluster()
            .cluster_identifier(physical)
            .skip_final_cluster_snapshot(true)
            .send()
            .await
        {
            let e = AwsError::from(e);
            if !e.is(NOT_FOUND) {
                return Err(e.context(format!("failed to delete Redshift cluster {physical}")));
            }
        }
        aws.redshift
            .wait_until_cluster_deleted()
            .cluster_identifier(physical)
            .wait(Duration::from_secs(wait.max(1) * 60))
            .await
            .map_err(|e| {
                AwsError::msg(format!("Redshift cluster {physical} did not go away: {e}"))
            })?;
        Ok(())
    }

    async fn list(
        &self,
        aws: &Aws,
        prefix: &str,
        skip: &[String],
    ) -> Result<Vec<Listed>, AwsError> {
        let mut out = Vec::new();
        let mut pages = aws.redshift.describe_clusters().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| AwsError::from(e).context("failed to list Redshift clusters"))?;
            for c in page.clusters() {
                let id = c.cluster_identifier().unwrap_or_default();
                if !id.starts_with(prefix)
                    || skip.iter().any(|s| s == id)
                    || c.cluster_status() == Some("deleting")
                {
                    continue;
                }
                out.push(Listed {
                    physical: id.to_string(),
                    spec: serde_json::json!({"name": id, "tags": all_tags(c)}),
                });
            }
        }
        Ok(out)
    }
}

/// Tables created in the cluster through the Data API.
pub struct Schema;

/// A plain SQL identifier (the table name is put into `DROP TABLE`).
fn checked_identifier(name: &str) -> Result<&str, AwsError> {
    let ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(name)
    } else {
        Err(AwsError::msg(format!(
            "{name:?} is not a plain SQL identifier"
        )))
    }
}

/// Runs one statement through the Data API and waits until it FINISHED. Authenticates with
/// the cluster's AWS-managed master-password secret when the cluster reports one, else with
/// temporary credentials of the master user (`DbUser`).
async fn run_sql(
    aws: &Aws,
    cluster: &rt::Cluster,
    database: &str,
    sql: &str,
    timeout: Duration,
) -> Result<(), AwsError> {
    let id = cluster.cluster_identifier().unwrap_or_default();
    let mut req = aws
        .redshift_data
        .execute_statement()
        .cluster_identifier(id)
        .database(database)
        .sql(sql);
    req = match cluster.master_password_secret_arn() {
        Some(secret) => req.secret_arn(secret),
        None => req.db_user(cluster.master_username().unwrap_or_default()),
    };
    aws.throttle(Service::Redshift).await;
    let statement = req
        .send()
        .await
        .map_err(|e| {
            AwsError::from(e).context(format!(
                "failed to run a statement on Redshift cluster {id}"
            ))
        })?
        .id()
        .unwrap_or_default()
        .to_string();
    let deadline = Instant::now() + timeout;
    loop {
        let d = aws
            .redshift_data
            .describe_statement()
            .id(&statement)
            .send()
            .await
            .map_err(|e| {
                AwsError::from(e).context(format!("failed to read statement {statement}"))
            })?;
        let status = d
            .status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default();
        match status.as_str() {
            "FINISHED" => return Ok(()),
            "FAILED" | "ABORTED" => {
                return Err(AwsError::msg(format!(
                    "statement {statement} on Redshift cluster {id} {status}: {}",
                    d.error().unwrap_or("no error message")
                )))
            }
            _ => {}
        }
        if Instant::now() >= deadline {
            return Err(AwsError::msg(format!(
                "statement {statement} on Redshift cluster {id} still {status} after {}s",
                timeout.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn apply_ddl(aws: &Aws, s: &SchemaSpec) -> Result<(), AwsError> {
    checked_identifier(&s.table)?;
    if sha256_hex(s.ddl.as_bytes()) != s.ddl_sha256 {
        return Err(AwsError::msg(format!(
            "the DDL of {} does not match its declared SHA-256",
            s.table
        )));
    }
    let cluster = describe(aws, &s.cluster)
        .await?
        .ok_or_else(|| AwsError::msg(format!("Redshift cluster {} does not exist", s.cluster)))?;
    run_sql(
        aws,
        &cluster,
        &s.database,
        &s.ddl,
        Duration::from_secs(s.statement_timeout_seconds.max(1)),
    )
    .await?;
    aws.throttle(Service::Redshift).await;
    aws.redshift
        .create_tags()
        .resource_name(cluster_arn(aws, &s.cluster))
        .tags(tag(&schema_tag(&s.database, &s.table), &s.ddl_sha256))
        .send()
        .await
        .map_err(|e| {
            AwsError::from(e).context(format!(
                "failed to record the schema of {} on Redshift cluster {}",
                s.table, s.cluster
            ))
        })?;
    Ok(())
}

#[async_trait]
impl Provider for Schema {
    async fn read(&self, aws: &Aws, desired: &Resource) -> Result<Option<Value>, AwsError> {
        let s: SchemaSpec = typed(&desired.spec, desired.kind)?;
        let Some(cluster) = describe(aws, &s.cluster).await? else {
            return Ok(None);
        };
        let applied = all_tags(&cluster).remove(&schema_tag(&s.database, &s.table));
        Ok(applied.map(|sha| {
            serde_json::to_value(SchemaSpec {
                ddl_sha256: sha,
                ddl: String::new(),
                ..s
            })
            .expect("specs serialise")
        }))
    }

    async fn create(&self, aws: &Aws, desired: &Resource) -> Result<(), AwsError> {
        apply_ddl(aws, &typed(&desired.spec, desired.kind)?).await
    }

    async fn update(&self, aws: &Aws, desired: &Resource, _live: &Value) -> Result<(), AwsError> {
        apply_ddl(aws, &typed(&desired.spec, desired.kind)?).await
    }

    async fn delete(&self, aws: &Aws, _physical: &str, live: &Value) -> Result<(), AwsError> {
        let s: SchemaSpec = typed(live, Kind::RedshiftSchema)?;
        let table = checked_identifier(&s.table)?;
        let Some(cluster) = describe(aws, &s.cluster).await? else {
            return Ok(()); // the table went with its cluster
        };
        run_sql(
            aws,
            &cluster,
            &s.database,
            &format!("DROP TABLE IF EXISTS {table}"),
            Duration::from_secs(s.statement_timeout_seconds.max(1)),
        )
        .await?;
        aws.throttle(Service::Redshift).await;
        aws.redshift
            .delete_tags()
            .resource_name(cluster_arn(aws, &s.cluster))
            .tag_keys(schema_tag(&s.database, &s.table))
            .send()
            .await
            .map_err(|e| {
                AwsError::from(e).context(format!(
                    "failed to remove the schema record of {table} from {}",
                    s.cluster
                ))
            })?;
        Ok(())
    }
}
