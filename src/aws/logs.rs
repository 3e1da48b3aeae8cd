//! CloudWatch Logs log groups.

use super::kit::{converge_tags, listed, Absent};
use super::{Aws, AwsError, Changes, Gone, Inputs, Listed, Observed, Outputs, Provider};
use crate::aws::kms::{as_declared, key_arn};
use crate::aws::Found;
use crate::model::logs::LogGroupSpec;
use crate::model::{Service, Tags};
use async_trait::async_trait;
use aws_sdk_cloudwatchlogs::types::LogGroup as Described;

const LOGS: Service = Service::Logs;
const NOT_FOUND: &[&str] = &["ResourceNotFoundException"];

/// The group's ARN as the tagging calls take it: DescribeLogGroups reports it with a trailing
/// `:*`, which TagResource, UntagResource and ListTagsForResource refuse.
fn tagging_arn(group: &Described) -> String {
    let arn = group.arn().unwrap_or_default();
    arn.strip_suffix(":*").unwrap_or(arn).to_string()
}

/// The groups whose names start with `prefix` (DescribeLogGroups matches by prefix only).
async fn groups(aws: &Aws, prefix: &str) -> Result<Vec<Described>, AwsError> {
    let pages: Result<Vec<_>, _> = aws
        .logs
        .describe_log_groups()
        .log_group_name_prefix(prefix)
        .into_paginator()
        .items()
        .send()
        .collect()
        .await;
    pages.map_err(|e| AwsError::from(e).context(format!("failed to list log groups {prefix}*")))
}

async fn tags_of(aws: &Aws, arn: &str) -> Result<Option<Tags>, AwsError> {
    let out = aws
        .logs
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .map_err(AwsError::from)
        .or_absent(NOT_FOUND)
        .map_err(|e| e.context(format!("failed to read the tags of log group {arn}")))?;
    Ok(out.map(|o| o.tags.unwrap_or_default().into_iter().collect()))
}

async fn read_group(
    aws: &Aws,
    desired: &LogGroupSpec,
    inputs: &Inputs,
) -> Result<Option<Observed<LogGroupSpec>>, AwsError> {
    let name = desired.name.as_str();
    let found = groups(aws, name).await?;
    let Some(group) = found.into_iter().find(|g| g.log_group_name() == Some(name)) else {
        return Ok(None);
    };
    let arn = tagging_arn(&group);
    let Some(tags) = tags_of(aws, &arn).await? else {
        return Ok(None);
    };
    let spec = LogGroupSpec {
        name: name.to_string(),
        retention_days: group.retention_in_days(),
        kms_key: as_declared(
            group.kms_key_id().map(str::to_string),
            desired.kms_key.as_deref(),
            inputs,
        ),
        tags,
    };
    Ok(Some(Observed::with(spec, "arn", arn)))
}

/// A CloudWatch Logs log group.
pub struct LogGroup;

#[async_trait]
impl Provider for LogGroup {
    type Spec = LogGroupSpec;

    async fn read(
        &self,
        aws: &Aws,
        desired: &LogGroupSpec,
        inputs: &Inputs,
    ) -> Found<LogGroupSpec> {
        read_group(aws, desired, inputs).await
    }

    async fn create(
        &self,
        aws: &Aws,
        s: &LogGroupSpec,
        inputs: &Inputs,
    ) -> Result<Outputs, AwsError> {
        let call = aws
            .logs
            .create_log_group()
            .log_group_name(&s.name)
            .set_kms_key_id(key_arn(s.kms_key.as_deref(), inputs))
            .set_tags(Some(s.tags.clone().into_iter().collect()))
            .send();
        aws.mutate(LOGS, format!("failed to create log group {}", s.name), call)
            .await
            .tolerate(&["ResourceAlreadyExistsException"])?;
        self.settle(aws, s, inputs).await
    }

    /// Brings a live group to the declaration where `changes` says they differ.
    async fn update(
        &self,
        aws: &Aws,
        s: &LogGroupSpec,
        live: &Observed<LogGroupSpec>,
        changes: &Changes,
        inputs: &Inputs,
    ) -> Result<(), AwsError> {
        let name = &s.name;
        if changes.touches("retention_days") {
            match s.retention_days {
                Some(days) => {
                    let call = aws
                        .logs
                        .put_retention_policy()
                        .log_group_name(name)
                        .retention_in_days(days)
                        .send();
                    aws.mutate(
                        LOGS,
                        format!("failed to set the retention of log group {name}"),
                        call,
                    )
                    .await?;
                }
                None => {
                    let call = aws
                        .logs
                        .delete_retention_policy()
                        .log_group_name(name)
                        .send();
                    aws.mutate(
                        LOGS,
                        format!("failed to remove the retention of log group {name}"),
                        call,
                    )
                    .await?;
                }
            }
        }
        if changes.touches("kms_key") {
            match key_arn(s.kms_key.as_deref(), inputs) {
                Some(key) => {
                    let call = aws
                        .logs
                        .associate_kms_key()
                        .log_group_name(name)
                        .kms_key_id(key)
                        .send();
                    aws.mutate(LOGS, format!("failed to encrypt log group {name}"), call)
                        .await?;
                }
                None => {
                    let call = aws.logs.disassociate_kms_key().log_group_name(name).send();
                    aws.mutate(
                        LOGS,
                        format!("failed to stop encrypting log group {name}"),
                        call,
                    )
                    .await?;
                }
            }
        }
        if changes.touches("tags") {
            let arn = live.outputs.get("arn").cloned().unwrap_or_default();
            converge_tags(
                aws,
                LOGS,
                &format!("log group {name}"),
                (&s.tags, &live.spec.tags),
                |stale| {
                    aws.logs
                        .untag_resource()
                        .resource_arn(&arn)
                        .set_tag_keys(Some(stale))
                        .send()
                },
                |set| {
                    aws.logs
                        .tag_resource()
                        .resource_arn(&arn)
                        .set_tags(Some(set.into_iter().collect()))
                        .send()
                },
            )
            .await?;
        }
        Ok(())
    }

    async fn delete(&self, aws: &Aws, gone: &Gone<LogGroupSpec>) -> Result<(), AwsError> {
        let call = aws
            .logs
            .delete_log_group()
            .log_group_name(&gone.physical)
            .send();
        aws.mutate(
            LOGS,
            format!("failed to delete log group {}", gone.physical),
            call,
        )
        .await
        .tolerate(NOT_FOUND)
    }

    async fn list(
        &self,
        aws: &Aws,
        prefix: &str,
        skip: &[String],
    ) -> Result<Vec<Listed>, AwsError> {
        let found = groups(aws, prefix).await?;
        let names: Vec<_> = found
            .iter()
            .map(|g| {
                let outputs = Outputs::from([("arn".to_string(), tagging_arn(g))]);
                (g.log_group_name().unwrap_or_default().to_string(), outputs)
            })
            .collect();
        listed(names, prefix, skip, |_, outputs| async move {
            tags_of(aws, &outputs["arn"]).await
        })
        .await
    }
}
