//! The provisioned Redshift cluster. Its outputs are what clients connect with (`endpoint`,
//! `port`, `database`, `jdbc_url`, the managed `master_password_secret_arn`) and what an S3
//! event integration targets (`namespace_arn`), so that they take it from the graph instead
//! of describing the cluster themselves.

use super::{
    all_tags, cluster_arn, clusters, converge_arn_tags, describe, is_schema_tag, jdbc_url, output,
    tag, NOT_FOUND, REDSHIFT,
};
use crate::aws::kit::{listed_with_tags, Absent};
use crate::aws::Found;
use crate::aws::{Aws, AwsError, Changes, Gone, Inputs, Listed, Observed, Outputs, Provider};
use crate::model::redshift::ClusterSpec;
use async_trait::async_trait;
use aws_sdk_redshift::client::Waiters;
use aws_sdk_redshift::types as rt;
use std::time::Duration;

/// The cluster as declared; `audit_logs` comes from DescribeLoggingStatus.
fn cluster_spec(c: &rt::Cluster, audit_logs: Vec<String>, wait_minutes: u64) -> ClusterSpec {
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
        parameter_group: c
            .cluster_parameter_groups()
            .first()
            .and_then(|g| g.parameter_group_name())
            .unwrap_or_default()
            .to_string(),
        audit_logs,
        tags: all_tags(c)
            .into_iter()
            .filter(|(k, _)| !is_schema_tag(k))
            .collect(),
        wait_minutes,
    }
}

/// The cluster's outputs.
fn cluster_outputs(aws: &Aws, c: &rt::Cluster) -> Outputs {
    let id = c.cluster_identifier().unwrap_or_default();
    let mut out = Outputs::from([("arn".to_string(), cluster_arn(aws, id))]);
    let mut put = |key: &str, value: Option<String>| {
        if let Some(v) = value {
            out.insert(key.to_string(), v);
        }
    };
    let database = c.db_name().unwrap_or_default();
    put("database", Some(database.to_string()));
    if let Some(e) = c.endpoint() {
        let port = e.port();
        put(output::PORT, port.map(|p| p.to_string()));
        if let (Some(host), Some(port)) = (e.address(), port) {
            put("jdbc_url", Some(jdbc_url(host, port, database)));
        }
        put(output::ENDPOINT, e.address().map(str::to_string));
    }
    put(
        output::SECRET,
        c.master_password_secret_arn().map(str::to_string),
    );
    put(
        output::NAMESPACE,
        c.cluster_namespace_arn().map(str::to_string),
    );
    // The record of each table created in it (see `schema.rs`), so a table's read needs no
    // call of its own.
    for (key, sha) in all_tags(c).into_iter().filter(|(k, _)| is_schema_tag(k)) {
        put(&key, Some(sha));
    }
    out
}

async fn read_cluster(
    aws: &Aws,
    id: &str,
    wait_minutes: u64,
) -> Result<Option<Observed<ClusterSpec>>, AwsError> {
    let Some(mut c) = describe(aws, id).await? else {
        return Ok(None);
    };
    if c.cluster_status() == Some("creating") {
        // Made by an interrupted run: its endpoint, managed secret and namespace, which
        // dependents take from the outputs, come only once it is available. The waiter's
        // last answer is the cluster as it is now (the shared listing is the earlier one).
        c = wait_available(aws, id, wait_minutes).await?;
    }
    Ok(Some(Observed {
        spec: cluster_spec(&c, audit_logs(aws, id).await?, wait_minutes),
        outputs: cluster_outputs(aws, &c),
    }))
}

/// The logs the cluster exports to CloudWatch Logs, sorted; none when audit logging is off
/// or goes to S3 (which this tool never sets up).
async fn audit_logs(aws: &Aws, id: &str) -> Result<Vec<String>, AwsError> {
    let status = aws
        .redshift
        .describe_logging_status()
        .cluster_identifier(id)
        .send()
        .await
        .map_err(|e| {
            AwsError::from(e).context(format!("failed to read the audit logging of {id}"))
        })?;
    let to_cloudwatch = status.logging_enabled() == Some(true)
        && status.log_destination_type() == Some(&rt::LogDestinationType::Cloudwatch);
    let mut logs = if to_cloudwatch {
        status.log_exports().to_vec()
    } else {
        Vec::new()
    };
    logs.sort();
    Ok(logs)
}

/// Turns audit logging to CloudWatch Logs on for `logs`, or off when there are none. Redshift
/// makes the log groups (`/aws/redshift/cluster/<id>/<log>`) itself.
/// https://docs.aws.amazon.com/redshift/latest/mgmt/db-auditing-manage-log-files.html
async fn set_audit_logs(aws: &Aws, id: &str, logs: &[String]) -> Result<(), AwsError> {
    let what = format!("failed to set the audit logging of Redshift cluster {id}");
    if logs.is_empty() {
        let call = aws.redshift.disable_logging().cluster_identifier(id).send();
        aws.mutate(REDSHIFT, what, call).await?;
    } else {
        let call = aws
            .redshift
            .enable_logging()
            .cluster_identifier(id)
            .log_destination_type(rt::LogDestinationType::Cloudwatch)
            .set_log_exports(Some(logs.to_vec()))
            .send();
        aws.mutate(REDSHIFT, what, call).await?;
    }
    Ok(())
}

/// Waits until the cluster is available; returns it as the last poll described it.
async fn wait_available(aws: &Aws, id: &str, minutes: u64) -> Result<rt::Cluster, AwsError> {
    let polled = aws
        .redshift
        .wait_until_cluster_available()
        .cluster_identifier(id)
        .wait(Duration::from_secs(minutes.max(1) * 60))
        .await
        .map_err(|e| {
            AwsError::msg(format!(
                "Redshift cluster {id} did not become available within {minutes} minutes: {e}"
            ))
        })?;
    let described = polled
        .into_result()
        .map_err(|e| AwsError::msg(format!("Redshift cluster {id} is not available: {e}")))?;
    described.clusters().first().cloned().ok_or_else(|| {
        AwsError::msg(format!(
            "Redshift cluster {id} vanished while being created"
        ))
    })
}

fn cluster_type(nodes: i32) -> &'static str {
    if nodes > 1 {
        "multi-node"
    } else {
        "single-node"
    }
}

/// A provisioned Redshift cluster.
pub struct Cluster;

#[async_trait]
impl Provider for Cluster {
    type Spec = ClusterSpec;

    async fn read(&self, aws: &Aws, desired: &ClusterSpec, _: &Inputs) -> Found<ClusterSpec> {
        read_cluster(aws, &desired.identifier, desired.wait_minutes).await
    }

    async fn create(
        &self,
        aws: &Aws,
        s: &ClusterSpec,
        inputs: &Inputs,
    ) -> Result<Outputs, AwsError> {
        let id = &s.identifier;
        let call = aws
            .redshift
            .create_cluster()
            .cluster_identifier(id)
            .node_type(&s.node_type)
            .cluster_type(cluster_type(s.nodes))
            .set_number_of_nodes((s.nodes > 1).then_some(s.nodes))
            .db_name(&s.database)
            .master_username(&s.master_username)
            // The password is generated and kept by AWS Secrets Manager; it never passes
            // through this tool.
            .manage_master_password(true)
            .encrypted(s.encrypted)
            .publicly_accessible(s.publicly_accessible)
            .set_iam_roles(Some(s.iam_roles.clone()))
            .cluster_parameter_group_name(&s.parameter_group)
            .set_tags(Some(s.tags.iter().map(|(k, v)| tag(k, v)).collect()))
            .send();
        let created = aws
            .mutate(
                REDSHIFT,
                format!("failed to create Redshift cluster {id}"),
                call,
            )
            .await
            .or_absent(&["ClusterAlreadyExists", "ClusterAlreadyExistsFault"])?
            .is_some();
        let available = wait_available(aws, id, s.wait_minutes).await?;
        if !created {
            // Adopted after an interrupted run: bring it to the declaration.
            return self.settle(aws, s, inputs).await;
        }
        if !s.audit_logs.is_empty() {
            set_audit_logs(aws, id, &s.audit_logs).await?;
        }
        Ok(cluster_outputs(aws, &available))
    }

    /// Brings a live cluster to the declaration where `changes` says they differ.
    async fn update(
        &self,
        aws: &Aws,
        s: &ClusterSpec,
        live: &Observed<ClusterSpec>,
        changes: &Changes,
        _: &Inputs,
    ) -> Result<(), AwsError> {
        let l = &live.spec;
        let id = &s.identifier;
        let fail = |what: &str| format!("failed to {what} of Redshift cluster {id}");
        if changes.touches("node_type") || changes.touches("nodes") {
            let call = aws
                .redshift
                .modify_cluster()
                .cluster_identifier(id)
                .node_type(&s.node_type)
                .cluster_type(cluster_type(s.nodes))
                .set_number_of_nodes((s.nodes > 1).then_some(s.nodes))
                .send();
            aws.mutate(REDSHIFT, fail("resize"), call).await?;
            wait_available(aws, id, s.wait_minutes).await?;
        }
        if changes.touches("publicly_accessible") {
            let call = aws
                .redshift
                .modify_cluster()
                .cluster_identifier(id)
                .publicly_accessible(s.publicly_accessible)
                .send();
            aws.mutate(REDSHIFT, fail("change the public accessibility"), call)
                .await?;
            wait_available(aws, id, s.wait_minutes).await?;
        }
        if changes.touches("iam_roles") {
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
            let call = aws
                .redshift
                .modify_cluster_iam_roles()
                .cluster_identifier(id)
                .set_add_iam_roles(Some(add))
                .set_remove_iam_roles(Some(remove))
                .send();
            aws.mutate(REDSHIFT, fail("change the IAM roles"), call)
                .await?;
            wait_available(aws, id, s.wait_minutes).await?;
        }
        if changes.touches("parameter_group") {
            let call = aws
                .redshift
                .modify_cluster()
                .cluster_identifier(id)
                .cluster_parameter_group_name(&s.parameter_group)
                .send();
            aws.mutate(REDSHIFT, fail("change the parameter group"), call)
                .await?;
            let c = wait_available(aws, id, s.wait_minutes).await?;
            // Static parameters (require_ssl among them) take effect at the next reboot.
            let pending = c
                .cluster_parameter_groups()
                .iter()
                .any(|g| g.parameter_apply_status() == Some("pending-reboot"));
            if pending {
                let call = aws.redshift.reboot_cluster().cluster_identifier(id).send();
                aws.mutate(
                    REDSHIFT,
                    fail("reboot (to apply the parameter group)"),
                    call,
                )
                .await?;
                wait_available(aws, id, s.wait_minutes).await?;
            }
        }
        if changes.touches("audit_logs") {
            set_audit_logs(aws, id, &s.audit_logs).await?;
        }
        if changes.touches("tags") {
            let arn = cluster_arn(aws, id);
            // The live tags leave out the schema tags, which belong to the redshift_schema
            // resources: they are never removed here.
            converge_arn_tags(
                aws,
                &format!("Redshift cluster {id}"),
                &arn,
                &s.tags,
                &l.tags,
            )
            .await?;
        }
        Ok(())
    }

    /// Deletes the cluster without a final snapshot: deleting a stateful resource already
    /// needs `--allow-replace` or `destroy` (and `--allow-protected` on protected stacks).
    async fn delete(&self, aws: &Aws, gone: &Gone<ClusterSpec>) -> Result<(), AwsError> {
        let id = &gone.physical;
        let wait = gone.spec.as_ref().map_or(45, |s| s.wait_minutes);
        let call = aws
            .redshift
            .delete_cluster()
            .cluster_identifier(id)
            .skip_final_cluster_snapshot(true)
            .send();
        aws.mutate(
            REDSHIFT,
            format!("failed to delete Redshift cluster {id}"),
            call,
        )
        .await
        .tolerate(NOT_FOUND)?;
        aws.redshift
            .wait_until_cluster_deleted()
            .cluster_identifier(id)
            .wait(Duration::from_secs(wait.max(1) * 60))
            .await
            .map_err(|e| AwsError::msg(format!("Redshift cluster {id} did not go away: {e}")))?;
        Ok(())
    }

    async fn list(
        &self,
        aws: &Aws,
        prefix: &str,
        skip: &[String],
    ) -> Result<Vec<Listed>, AwsError> {
        let found = clusters(aws).await?;
        let found = found.iter().map(|c| {
            let id = c.cluster_identifier().unwrap_or_default().to_string();
            let arn = Outputs::from([("arn".to_string(), cluster_arn(aws, &id))]);
            (id, all_tags(c), arn)
        });
        Ok(listed_with_tags(found, prefix, skip))
    }
}
