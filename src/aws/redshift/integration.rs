//! The S3 event integration of the lake into the cluster: what lets a COPY job with
//! `AUTO ON` load each new object under its prefix (auto-copy). Creating one takes three
//! grants, per <https://docs.aws.amazon.com/redshift/latest/dg/loading-data-copy-job.html>:
//! the bucket policy lets `redshift.amazonaws.com` manage the bucket's notifications (declared
//! with the bucket policy), the cluster's role may read the objects (the COPY role), and the
//! cluster's resource policy authorizes the bucket as an inbound integration source, which
//! this provider puts on the cluster's namespace before it creates the integration.

use super::{converge_arn_tags, output, tag, REDSHIFT};
use crate::aws::kit::{all_pages, listed, poll_until, Absent};
use crate::aws::{
    Aws, AwsError, Changes, Found, Gone, Inputs, Listed, Observed, Outputs, Provider,
};
use crate::model::redshift::IntegrationSpec;
use crate::model::{Kind, Tags};
use async_trait::async_trait;
use aws_sdk_redshift::types as rt;
use std::sync::Arc;
use std::time::Duration;

const NOT_FOUND: &[&str] = &["IntegrationNotFoundFault", "IntegrationNotFound"];
/// How long creating or deleting an integration may take.
const WAIT: Duration = Duration::from_secs(600);
const POLL: Duration = Duration::from_secs(2);

/// Every integration of the account: one listing shared within a live-state read (which never
/// mutates; create and delete poll outside any scope, so each poll lists afresh).
async fn integrations(aws: &Aws) -> Result<Arc<Vec<rt::Integration>>, AwsError> {
    aws.listings
        .shared("redshift:integrations", || async {
            let pages = aws.redshift.describe_integrations().into_paginator().send();
            let pages = all_pages(pages, "failed to list Redshift integrations").await?;
            Ok(pages
                .iter()
                .flat_map(|p| p.integrations())
                .cloned()
                .collect())
        })
        .await
}

async fn find(aws: &Aws, name: &str) -> Result<Option<rt::Integration>, AwsError> {
    Ok(integrations(aws)
        .await?
        .iter()
        .find(|i| i.integration_name() == Some(name))
        .cloned())
}

fn integration_tags(i: &rt::Integration) -> Tags {
    i.tags()
        .iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
        .collect()
}

fn observe(i: &rt::Integration, s: &IntegrationSpec, inputs: &Inputs) -> Observed<IntegrationSpec> {
    let namespace = inputs.get(Kind::RedshiftCluster, output::NAMESPACE);
    Observed::with(
        IntegrationSpec {
            name: i.integration_name().unwrap_or_default().to_string(),
            source_arn: i.source_arn().unwrap_or_default().to_string(),
            cluster: s.cluster.clone(),
            targets_cluster: namespace.is_some() && i.target_arn() == namespace,
            tags: integration_tags(i),
        },
        "arn",
        i.integration_arn().unwrap_or_default(),
    )
}

/// The cluster's resource policy: the bucket may be the source of an inbound integration.
fn resource_policy(namespace: &str, source: &str, account: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "LakeIsAnIntegrationSource",
            "Effect": "Allow",
            "Principal": {"Service": "redshift.amazonaws.com"},
            "Action": "redshift:AuthorizeInboundIntegration",
            "Resource": namespace,
            "Condition": {"StringEquals": {"aws:SourceArn": source, "aws:SourceAccount": account}}
        }]
    })
    .to_string()
}

/// Waits until the integration is `active`; a `failed` or `needs_attention` one is an
/// error naming what Redshift reports.
async fn wait_active(aws: &Aws, name: &str) -> Result<rt::Integration, AwsError> {
    poll_until(
        format!("integration {name} is active"),
        WAIT,
        POLL,
        || async {
            let i = find(aws, name)
                .await?
                .ok_or_else(|| AwsError::msg(format!("integration {name} vanished")))?;
            let status = i
                .status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default();
            match status.as_str() {
                "active" => Ok(Some(i)),
                "failed" | "needs_attention" => {
                    let errors: Vec<String> = i
                        .errors()
                        .iter()
                        .map(|e| {
                            format!(
                                "{}: {}",
                                e.error_code().unwrap_or(""),
                                e.error_message().unwrap_or("")
                            )
                        })
                        .collect();
                    Err(AwsError::msg(format!(
                        "integration {name} is {status}: {}",
                        errors.join("; ")
                    )))
                }
                _ => Ok(None),
            }
        },
    )
    .await
}

/// The S3 event integration of a bucket into a cluster.
pub struct Integration;

#[async_trait]
impl Provider for Integration {
    type Spec = IntegrationSpec;

    async fn read(
        &self,
        aws: &Aws,
        s: &IntegrationSpec,
        inputs: &Inputs,
    ) -> Found<IntegrationSpec> {
        Ok(find(aws, &s.name).await?.map(|i| observe(&i, s, inputs)))
    }

    async fn create(
        &self,
        aws: &Aws,
        s: &IntegrationSpec,
        inputs: &Inputs,
    ) -> Result<Outputs, AwsError> {
        let namespace = inputs.require(Kind::RedshiftCluster, output::NAMESPACE)?;
        let call = aws
            .redshift
            .put_resource_policy()
            .resource_arn(namespace)
            .policy(resource_policy(namespace, &s.source_arn, &aws.account))
            .send();
        aws.mutate(
            REDSHIFT,
            format!(
                "failed to authorize {} as an integration source of {}",
                s.source_arn, s.cluster
            ),
            call,
        )
        .await?;
        let call = aws
            .redshift
            .create_integration()
            .integration_name(&s.name)
            .source_arn(&s.source_arn)
            .target_arn(namespace)
            .set_tag_list(Some(s.tags.iter().map(|(k, v)| tag(k, v)).collect()))
            .send();
        let created = aws
            .mutate(
                REDSHIFT,
                format!("failed to create integration {}", s.name),
                call,
            )
            .await
            .or_absent(&["IntegrationAlreadyExistsFault"])?
            .is_some();
        let live = wait_active(aws, &s.name).await?;
        let arn = live.integration_arn().unwrap_or_default().to_string();
        if !created {
            // Adopted after an interrupted run: bring its tags to the declaration.
            let observed = observe(&live, s, inputs);
            let changes = Changes::between(s, &observed.spec);
            self.update(aws, s, &observed, &changes, inputs).await?;
        }
        Ok(Outputs::from([("arn".to_string(), arn)]))
    }

    /// Only the tags change in place; the rest is replaced.
    async fn update(
        &self,
        aws: &Aws,
        s: &IntegrationSpec,
        live: &Observed<IntegrationSpec>,
        changes: &Changes,
        _: &Inputs,
    ) -> Result<(), AwsError> {
        if !changes.touches("tags") {
            return Ok(());
        }
        let arn = live.outputs.get("arn").cloned().unwrap_or_default();
        let what = format!("integration {}", s.name);
        converge_arn_tags(aws, &what, &arn, &s.tags, &live.spec.tags).await
    }

    /// Deletes the integration, then the cluster's grant to its source.
    async fn delete(&self, aws: &Aws, gone: &Gone<IntegrationSpec>) -> Result<(), AwsError> {
        let name = &gone.physical;
        let Some(live) = find(aws, name).await? else {
            return Ok(());
        };
        let call = aws
            .redshift
            .delete_integration()
            .integration_arn(live.integration_arn().unwrap_or_default())
            .send();
        aws.mutate(
            REDSHIFT,
            format!("failed to delete integration {name}"),
            call,
        )
        .await
        .tolerate(NOT_FOUND)?;
        poll_until(
            format!("integration {name} is gone"),
            WAIT,
            POLL,
            || async { Ok(find(aws, name).await?.is_none().then_some(())) },
        )
        .await?;
        if let Some(namespace) = live.target_arn() {
            let call = aws
                .redshift
                .delete_resource_policy()
                .resource_arn(namespace)
                .send();
            aws.mutate(
                REDSHIFT,
                format!("failed to remove the resource policy of {namespace}"),
                call,
            )
            .await
            .tolerate(&["ResourceNotFoundFault", "ClusterNotFoundFault"])?;
        }
        Ok(())
    }

    async fn list(
        &self,
        aws: &Aws,
        prefix: &str,
        skip: &[String],
    ) -> Result<Vec<Listed>, AwsError> {
        let all = integrations(aws).await?;
        let named = all.iter().filter_map(|i| {
            let arn = i.integration_arn().unwrap_or_default().to_string();
            Some((
                i.integration_name()?.to_string(),
                Outputs::from([("arn".to_string(), arn)]),
            ))
        });
        listed(named.collect(), prefix, skip, |name, _| {
            let tags = all
                .iter()
                .find(|i| i.integration_name() == Some(name.as_str()))
                .map(integration_tags);
            async move { Ok(tags) }
        })
        .await
    }
}
