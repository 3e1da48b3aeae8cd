//! Tables and COPY jobs created in the cluster through the Data API.
//!
//! The applied DDL of an object is remembered in a tag on the cluster
//! (`ecomflow:schema-sha256:<database>.<table>` = SHA-256 of the DDL), set only after the
//! statement FINISHED. Reading it costs one DescribeClusters call and works while the cluster
//! is paused; reading the table through the Data API would need an asynchronous statement
//! (several calls and polling) per plan, and moto has no DescribeTable.

use super::{all_tags, cluster_arn, describe, tag, REDSHIFT};
use crate::aws::kit::poll_until;
use crate::aws::{Aws, AwsError, Changes, Found, Gone, Inputs, Observed, Outputs, Provider};
use crate::model::catalog::sha256_hex;
use crate::model::redshift::{schema_tag, SchemaSpec};
use crate::model::Kind;
use async_trait::async_trait;
use aws_sdk_redshift::types as rt;
use std::time::Duration;

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

/// Runs one statement through the Data API and waits until it FINISHED; returns its ID.
/// Authenticates with the cluster's AWS-managed master-password secret when the cluster
/// reports one, else with temporary credentials of the master user (`DbUser`).
pub(super) async fn run_sql(
    aws: &Aws,
    cluster: &rt::Cluster,
    database: &str,
    sql: &str,
    timeout: Duration,
) -> Result<String, AwsError> {
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
    let statement = aws
        .mutate(
            REDSHIFT,
            format!("failed to run a statement on Redshift cluster {id}"),
            req.send(),
        )
        .await?
        .id()
        .unwrap_or_default()
        .to_string();
    let what = format!("statement {statement} on Redshift cluster {id} finished");
    poll_until(what, timeout, Duration::from_millis(500), || async {
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
            "FINISHED" => Ok(Some(statement.clone())),
            "FAILED" | "ABORTED" => Err(AwsError::msg(format!(
                "statement {statement} on Redshift cluster {id} {status}: {}",
                d.error().unwrap_or("no error message")
            ))),
            _ => Ok(None),
        }
    })
    .await
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
    let ran = run_sql(
        aws,
        &cluster,
        &s.database,
        &s.ddl,
        Duration::from_secs(s.statement_timeout_seconds.max(1)),
    )
    .await;
    match ran {
        Ok(_) => {}
        // An object with a drop statement of its own (a COPY job) has no `IF NOT EXISTS`:
        // Redshift refuses a second `JOB CREATE` of its name. One that exists was made by an
        // interrupted run of this create (a changed one is replaced: dropped first), so the
        // rerun only records it.
        Err(e) if !s.drop.is_empty() && e.message.contains("already exists") => {}
        Err(e) => return Err(e),
    }
    let call = aws
        .redshift
        .create_tags()
        .resource_name(cluster_arn(aws, &s.cluster))
        .tags(tag(&schema_tag(&s.database, &s.table), &s.ddl_sha256))
        .send();
    aws.mutate(
        REDSHIFT,
        format!(
            "failed to record the schema of {} on Redshift cluster {}",
            s.table, s.cluster
        ),
        call,
    )
    .await?;
    Ok(())
}

/// Tables and COPY jobs created in the cluster through the Data API.
pub struct Schema;

#[async_trait]
impl Provider for Schema {
    type Spec = SchemaSpec;

    /// The table as recorded on its cluster: the record is a tag of the cluster. The cluster's
    /// read hands its tags over among its outputs; when they already record the declared DDL
    /// (a plan of an applied stack), that is the answer, else the cluster is read afresh (its
    /// outputs may predate a create or update made since). No cluster, no table in it.
    async fn read(&self, aws: &Aws, s: &SchemaSpec, inputs: &Inputs) -> Found<SchemaSpec> {
        if inputs.get(Kind::RedshiftCluster, "arn").is_none() {
            return Ok(None);
        }
        let tag = schema_tag(&s.database, &s.table);
        let applied = match inputs.get(Kind::RedshiftCluster, &tag) {
            Some(sha) if sha == s.ddl_sha256 => Some(sha.to_string()),
            _ => match describe(aws, &s.cluster).await? {
                Some(cluster) => all_tags(&cluster).remove(&tag),
                None => return Ok(None),
            },
        };
        Ok(applied.map(|sha| {
            Observed::bare(SchemaSpec {
                ddl_sha256: sha,
                ddl: String::new(),
                ..s.clone()
            })
        }))
    }

    async fn create(&self, aws: &Aws, s: &SchemaSpec, _: &Inputs) -> Result<Outputs, AwsError> {
        apply_ddl(aws, s).await?;
        Ok(Outputs::new())
    }

    async fn update(
        &self,
        aws: &Aws,
        s: &SchemaSpec,
        _live: &Observed<SchemaSpec>,
        _changes: &Changes,
        _: &Inputs,
    ) -> Result<(), AwsError> {
        apply_ddl(aws, s).await
    }

    async fn delete(&self, aws: &Aws, gone: &Gone<SchemaSpec>) -> Result<(), AwsError> {
        let s = gone.spec.as_ref().ok_or_else(|| {
            AwsError::msg(format!(
                "internal error: the table {} to drop was not read",
                gone.physical
            ))
        })?;
        let table = checked_identifier(&s.table)?;
        let Some(cluster) = describe(aws, &s.cluster).await? else {
            return Ok(()); // the object went with its cluster
        };
        let drop = match s.drop.as_str() {
            "" => format!("DROP TABLE IF EXISTS {table}"),
            sql => sql.to_string(),
        };
        run_sql(
            aws,
            &cluster,
            &s.database,
            &drop,
            Duration::from_secs(s.statement_timeout_seconds.max(1)),
        )
        .await?;
        let call = aws
            .redshift
            .delete_tags()
            .resource_name(cluster_arn(aws, &s.cluster))
            .tag_keys(schema_tag(&s.database, &s.table))
            .send();
        aws.mutate(
            REDSHIFT,
            format!(
                "failed to remove the schema record of {table} from {}",
                s.cluster
            ),
            call,
        )
        .await?;
        Ok(())
    }
}
