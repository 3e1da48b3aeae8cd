//! Kinesis Data Streams.

use super::kit::{all_pages, converge_tags, listed, tags_by_last_key, Absent};
use super::{Aws, AwsError, Changes, Gone, Inputs, Listed, Observed, Outputs, Provider};
use crate::aws::Found;
use crate::model::kinesis::StreamSpec;
use crate::model::{Service, Tags};
use async_trait::async_trait;
use aws_sdk_kinesis::client::Waiters;
use aws_sdk_kinesis::types::{
    EncryptionType, ScalingType, StreamMode, StreamModeDetails, StreamStatus,
};
use std::time::Duration;

const NOT_FOUND: &[&str] = &["ResourceNotFoundException"];
const WAIT: Duration = Duration::from_secs(300);
const KINESIS: Service = Service::Kinesis;

/// The stream's tags (paged by the last key seen).
async fn stream_tags(aws: &Aws, name: &str) -> Result<Tags, AwsError> {
    tags_by_last_key(|start| async move {
        let call = aws.kinesis.list_tags_for_stream().stream_name(name);
        let out = call
            .set_exclusive_start_tag_key(start)
            .send()
            .await
            .map_err(|e| {
                AwsError::from(e).context(format!("failed to list tags of Kinesis stream {name}"))
            })?;
        let pair = |t: &aws_sdk_kinesis::types::Tag| {
            (
                t.key().to_string(),
                t.value().unwrap_or_default().to_string(),
            )
        };
        Ok((out.tags().iter().map(pair).collect(), out.has_more_tags()))
    })
    .await
}

async fn wait_active(aws: &Aws, name: &str) -> Result<(), AwsError> {
    aws.kinesis
        .wait_until_stream_exists()
        .stream_name(name)
        .wait(WAIT)
        .await
        .map_err(|e| AwsError::msg(format!("Kinesis stream {name} did not become ACTIVE: {e}")))?;
    Ok(())
}

fn mode(s: &StreamSpec) -> Result<StreamModeDetails, AwsError> {
    let mode = if s.mode == "PROVISIONED" {
        StreamMode::Provisioned
    } else {
        StreamMode::OnDemand
    };
    StreamModeDetails::builder()
        .stream_mode(mode)
        .build()
        .map_err(|e| AwsError::msg(e.to_string()))
}

async fn read_stream(aws: &Aws, name: &str) -> Result<Option<Observed<StreamSpec>>, AwsError> {
    let summary = aws
        .kinesis
        .describe_stream_summary()
        .stream_name(name)
        .send()
        .await
        .map_err(AwsError::from)
        .or_absent(NOT_FOUND)
        .map_err(|e| e.context(format!("failed to read Kinesis stream {name}")))?;
    let Some(summary) = summary.and_then(|o| o.stream_description_summary) else {
        return Ok(None);
    };
    if summary.stream_status == StreamStatus::Deleting {
        return Ok(None);
    }
    let provisioned = summary
        .stream_mode_details
        .as_ref()
        .map(|m| m.stream_mode == StreamMode::Provisioned)
        .unwrap_or(true);
    let encrypted = summary.encryption_type == Some(EncryptionType::Kms);
    let spec = StreamSpec {
        name: name.to_string(),
        mode: if provisioned {
            "PROVISIONED"
        } else {
            "ON_DEMAND"
        }
        .into(),
        shard_count: if provisioned {
            Some(summary.open_shard_count)
        } else {
            None
        },
        retention_hours: summary.retention_period_hours,
        kms_key: if encrypted {
            summary.key_id.clone()
        } else {
            None
        },
        tags: stream_tags(aws, name).await?,
    };
    Ok(Some(Observed::with(spec, "arn", summary.stream_arn)))
}

/// A Kinesis Data Stream.
pub struct Stream;

#[async_trait]
impl Provider for Stream {
    type Spec = StreamSpec;

    async fn read(&self, aws: &Aws, desired: &StreamSpec, _: &Inputs) -> Found<StreamSpec> {
        read_stream(aws, &desired.name).await
    }

    async fn create(
        &self,
        aws: &Aws,
        s: &StreamSpec,
        inputs: &Inputs,
    ) -> Result<Outputs, AwsError> {
        // A stream still being deleted (e.g. during a replace) must be gone first.
        aws.kinesis
            .wait_until_stream_not_exists()
            .stream_name(&s.name)
            .wait(WAIT)
            .await
            .ok();
        let call = aws
            .kinesis
            .create_stream()
            .stream_name(&s.name)
            .stream_mode_details(mode(s)?)
            .set_shard_count(s.shard_count)
            .set_tags(Some(s.tags.clone().into_iter().collect()))
            .send();
        aws.mutate(
            KINESIS,
            format!("failed to create Kinesis stream {}", s.name),
            call,
        )
        .await
        .tolerate(&["ResourceInUseException"])?;
        wait_active(aws, &s.name).await?;
        self.settle(aws, s, inputs).await
    }

    /// Brings a live stream's settings to the declaration where `changes` says they differ;
    /// shared by create (against the read-back) and update (against the plan).
    async fn update(
        &self,
        aws: &Aws,
        s: &StreamSpec,
        live: &Observed<StreamSpec>,
        changes: &Changes,
        _: &Inputs,
    ) -> Result<(), AwsError> {
        let l = live;
        let name = &s.name;
        let fail = |what: &str| format!("failed to {what} of Kinesis stream {name}");
        if changes.touches("mode") {
            let arn = l.outputs.get("arn").cloned().unwrap_or_default();
            let call = aws
                .kinesis
                .update_stream_mode()
                .stream_arn(arn)
                .stream_mode_details(mode(s)?)
                .send();
            aws.mutate(KINESIS, fail("change the capacity mode"), call)
                .await?;
            wait_active(aws, name).await?;
        }
        if let Some(shards) = s.shard_count.filter(|_| changes.touches("shard_count")) {
            let call = aws
                .kinesis
                .update_shard_count()
                .stream_name(name)
                .target_shard_count(shards)
                .scaling_type(ScalingType::UniformScaling)
                .send();
            aws.mutate(KINESIS, fail("change the shard count"), call)
                .await?;
            wait_active(aws, name).await?;
        }
        if changes.touches("retention_hours") {
            if s.retention_hours > l.spec.retention_hours {
                let call = aws
                    .kinesis
                    .increase_stream_retention_period()
                    .stream_name(name)
                    .retention_period_hours(s.retention_hours)
                    .send();
                aws.mutate(KINESIS, fail("increase the retention"), call)
                    .await?;
            } else {
                let call = aws
                    .kinesis
                    .decrease_stream_retention_period()
                    .stream_name(name)
                    .retention_period_hours(s.retention_hours)
                    .send();
                aws.mutate(KINESIS, fail("decrease the retention"), call)
                    .await?;
            }
            wait_active(aws, name).await?;
        }
        if changes.touches("kms_key") {
            match (&s.kms_key, &l.spec.kms_key) {
                (Some(key), _) => {
                    let call = aws
                        .kinesis
                        .start_stream_encryption()
                        .stream_name(name)
                        .encryption_type(EncryptionType::Kms)
                        .key_id(key)
                        .send();
                    aws.mutate(KINESIS, fail("start encryption"), call).await?;
                }
                (None, Some(key)) => {
                    let call = aws
                        .kinesis
                        .stop_stream_encryption()
                        .stream_name(name)
                        .encryption_type(EncryptionType::Kms)
                        .key_id(key)
                        .send();
                    aws.mutate(KINESIS, fail("stop encryption"), call).await?;
                }
                (None, None) => {}
            }
            wait_active(aws, name).await?;
        }
        if changes.touches("tags") {
            converge_tags(
                aws,
                KINESIS,
                &format!("Kinesis stream {name}"),
                (&s.tags, &l.spec.tags),
                |stale| {
                    let call = aws.kinesis.remove_tags_from_stream().stream_name(name);
                    call.set_tag_keys(Some(stale)).send()
                },
                |set| {
                    let call = aws.kinesis.add_tags_to_stream().stream_name(name);
                    call.set_tags(Some(set.into_iter().collect())).send()
                },
            )
            .await?;
        }
        Ok(())
    }

    async fn delete(&self, aws: &Aws, gone: &Gone<StreamSpec>) -> Result<(), AwsError> {
        let name = &gone.physical;
        let call = aws
            .kinesis
            .delete_stream()
            .stream_name(name)
            .enforce_consumer_deletion(true)
            .send();
        aws.mutate(
            KINESIS,
            format!("failed to delete Kinesis stream {name}"),
            call,
        )
        .await
        .tolerate(NOT_FOUND)?;
        aws.kinesis
            .wait_until_stream_not_exists()
            .stream_name(name)
            .wait(WAIT)
            .await
            .map_err(|e| AwsError::msg(format!("Kinesis stream {name} did not go away: {e}")))?;
        Ok(())
    }

    async fn list(
        &self,
        aws: &Aws,
        prefix: &str,
        skip: &[String],
    ) -> Result<Vec<Listed>, AwsError> {
        let pages = aws.kinesis.list_streams().into_paginator().send();
        let pages = all_pages(pages, "failed to list Kinesis streams").await?;
        let names = pages.iter().flat_map(|p| p.stream_names());
        let names = names.map(|n| (n.clone(), Outputs::new())).collect();
        listed(names, prefix, skip, |name, _| async move {
            stream_tags(aws, &name).await.or_absent(NOT_FOUND)
        })
        .await
    }
}
