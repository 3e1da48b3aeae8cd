//! Kinesis Data Streams.

use super::{Aws, AwsError, Listed, Provider};
use crate::model::kinesis::StreamSpec;
use crate::model::{Resource, Service, Tags};
use async_trait::async_trait;
use aws_sdk_kinesis::client::Waiters;
use aws_sdk_kinesis::types::{
    EncryptionType, ScalingType, StreamMode, StreamModeDetails, StreamStatus,
};
use serde_json::Value;
use std::time::Duration;

const NOT_FOUND: &[&str] = &["ResourceNotFoundException"];
const WAIT: Duration = Duration::from_secs(300);

fn spec(v: &Value) -> Result<StreamSpec, AwsError> {
    serde_json::from_value(v.clone())
        .map_err(|e| AwsError::msg(format!("malformed kinesis_stream spec: {e}")))
}

async fn stream_tags(aws: &Aws, name: &str) -> Result<Tags, AwsError> {
    let mut tags = Tags::new();
    let mut start: Option<String> = None;
    loop {
        let out = aws
            .kinesis
            .list_tags_for_stream()
            .stream_name(name)
            .set_exclusive_start_tag_key(start.clone())
            .send()
            .await
            .map_err(|e| {
                AwsError::from(e).context(format!("failed to list tags of Kinesis stream {name}"))
            })?;
        for t in out.tags() {
            tags.insert(
                t.key().to_string(),
                t.value().unwrap_or_default().to_string(),
            );
        }
        if !out.has_more_tags() || out.tags().is_empty() {
            return Ok(tags);
        }
        start = out.tags().last().map(|t| t.key().to_string());
    }
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

fn mode(s: &StreamSpec) -> StreamMode {
    if s.mode == "PROVISIONED" {
        StreamMode::Provisioned
    } else {
        StreamMode::OnDemand
    }
}

/// Brings a live stream's settings to the declaration; shared by create and update.
async fn converge(aws: &Aws, s: &StreamSpec, l: &StreamSpec) -> Result<(), AwsError> {
    let name = &s.name;
    let fail = |what: &'static str| {
        move |e: AwsError| e.context(format!("failed to {what} of Kinesis stream {name}"))
    };
    if s.mode != l.mode {
        let arn = aws
            .kinesis
            .describe_stream_summary()
            .stream_name(name)
            .send()
            .await
            .map_err(|e| {
                AwsError::from(e).context(format!("failed to read Kinesis stream {name}"))
            })?
            .stream_description_summary
            .map(|d| d.stream_arn)
            .unwrap_or_default();
        aws.throttle(Service::Kinesis).await;
        aws.kinesis
            .update_stream_mode()
            .stream_arn(arn)
            .stream_mode_details(
                StreamModeDetails::builder()
                    .stream_mode(mode(s))
                    .build()
                    .map_err(|e| AwsError::msg(e.to_string()))?,
            )
            .send()
            .await
            .map_err(|e| fail("change the capacity mode")(e.into()))?;
        wait_active(aws, name).await?;
    }
    if let Some(shards) = s.shard_count {
        if l.shard_count != Some(shards) {
            aws.throttle(Service::Kinesis).await;
            aws.kinesis
                .update_shard_count()
                .stream_name(name)
                .target_shard_count(shards)
                .scaling_type(ScalingType::UniformScaling)
                .send()
                .await
                .map_err(|e| fail("change the shard count")(e.into()))?;
            wait_active(aws, name).await?;
        }
    }
    if s.retention_hours > l.retention_hours {
        aws.throttle(Service::Kinesis).await;
        aws.kinesis
            .increase_stream_retention_period()
            .stream_name(name)
            .retention_period_hours(s.retention_hours)
            .send()
            .await
            .map_err(|e| fail("increase the retention")(e.into()))?;
        wait_active(aws, name).await?;
    } else if s.retention_hours < l.retention_hours {
        aws.throttle(Service::Kinesis).await;
        aws.kinesis
            .decrease_stream_retention_period()
            .stream_name(name)
            .retention_period_hours(s.retention_hours)
            .send()
            .await
            .map_err(|e| fail("decrease the retention")(e.into()))?;
        wait_active(aws, name).await?;
    }
    if s.kms_key != l.kms_key {
        aws.throttle(Service::Kinesis).await;
        match (&s.kms_key, &l.kms_key) {
            (Some(key), _) => {
                aws.kinesis
                    .start_stream_encryption()
                    .stream_name(name)
                    .encryption_type(EncryptionType::Kms)
                    .key_id(key)
                    .send()
                    .await
                    .map_err(|e| fail("start encryption")(e.into()))?;
            }
            (None, Some(key)) => {
                aws.kinesis
                    .stop_stream_encryption()
                    .stream_name(name)
                    .encryption_type(EncryptionType::Kms)
                    .key_id(key)
                    .send()
                    .await
                    .map_err(|e| fail("stop encryption")(e.into()))?;
            }
            (None, None) => {}
        }
        wait_active(aws, name).await?;
    }
    let stale = crate::model::stale_tags(&s.tags, &l.tags);
    if !stale.is_empty() {
        aws.throttle(Service::Kinesis).await;
        aws.kinesis
            .remove_tags_from_stream()
            .stream_name(name)
            .set_tag_keys(Some(stale))
            .send()
            .await
            .map_err(|e| fail("untag")(e.into()))?;
    }
    let changed: std::collections::HashMap<String, String> =
        crate::model::changed_tags(&s.tags, &l.tags)
            .into_iter()
            .collect();
    if !changed.is_empty() {
        aws.throttle(Service::Kinesis).await;
        aws.kinesis
            .add_tags_to_stream()
            .stream_name(name)
            .set_tags(Some(changed))
            .send()
            .await
            .map_err(|e| fail("tag")(e.into()))?;
    }
    Ok(())
}

async fn read_stream(aws: &Aws, name: &str) -> Result<Option<StreamSpec>, AwsError> {
    let summary = match aws
        .kinesis
        .describe_stream_summary()
        .stream_name(name)
        .send()
        .await
    {
        Ok(out) => match out.stream_description_summary {
            Some(d) => d,
            None => return Ok(None),
        },
        Err(e) => {
            let e = AwsError::from(e);
            return if e.is(NOT_FOUND) {
                Ok(None)
            } else {
                Err(e.context(format!("failed to read Kinesis stream {name}")))
            };
        }
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
    Ok(Some(StreamSpec {
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
    }))
}

/// A Kinesis Data Stream.
pub struct Stream;

#[async_trait]
impl Provider for Stream {
    async fn read(&self, aws: &Aws, desired: &Resource) -> Result<Option<Value>, AwsError> {
        Ok(read_stream(aws, &desired.physical)
            .await?
            .map(|s| serde_json::to_value(s).expect("specs serialise")))
    }

    async fn create(&self, aws: &Aws, desired: &Resource) -> Result<(), AwsError> {
        let s = spec(&desired.spec)?;
        // A stream still being deleted (e.g. during a replace) must be gone first.
        aws.kinesis
            .wait_until_stream_not_exists()
            .stream_name(&s.name)
            .wait(WAIT)
            .await
            .ok();
        aws.throttle(Service::Kinesis).await;
        let created = aws
            .kinesis
            .create_stream()
            .stream_name(&s.name)
            .stream_mode_details(
                StreamModeDetails::builder()
                    .stream_mode(mode(&s))
                    .build()
                    .map_err(|e| AwsError::msg(e.to_string()))?,
            )
            .set_shard_count(s.shard_count)
            .set_tags(Some(s.tags.clone().into_iter().collect()))
            .send()
            .await;
        if let Err(e) = created {
            let e = AwsError::from(e);
            if !e.is(&["ResourceInUseException"]) {
                return Err(e.context(format!("failed to create Kinesis stream {}", s.name)));
            }
        }
        wait_active(aws, &s.name).await?;
        let live = read_stream(aws, &s.name).await?.ok_or_else(|| {
            AwsError::msg(format!("Kinesis stream {} vanished after creation", s.name))
        })?;
        converge(aws, &s, &live).await
    }

    async fn update(&self, aws: &Aws, desired: &Resource, live: &Value) -> Result<(), AwsError> {
        converge(aws, &spec(&desired.spec)?, &spec(live)?).await
    }

    async fn delete(&self, aws: &Aws, physical: &str, _live: &Value) -> Result<(), AwsError> {
        aws.throttle(Service::Kinesis).await;
        if let Err(e) = aws
            .kinesis
            .delete_stream()
            .stream_name(physical)
            .enforce_consumer_deletion(true)
            .send()
            .await
        {
            let e = AwsError::from(e);
            if !e.is(NOT_FOUND) {
                return Err(e.context(format!("failed to delete Kinesis stream {physical}")));
            }
        }
        aws.kinesis
            .wait_until_stream_not_exists()
            .stream_name(physical)
            .wait(WAIT)
            .await
            .map_err(|e| {
                AwsError::msg(format!("Kinesis stream {physical} did not go away: {e}"))
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
        let mut pages = aws.kinesis.list_streams().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| AwsError::from(e).context("failed to list Kinesis streams"))?;
            for name in page.stream_names() {
                if !name.starts_with(prefix) || skip.iter().any(|s| s == name) {
                    continue;
                }
                let tags = match stream_tags(aws, name).await {
                    Ok(t) => t,
                    Err(e) if e.is(NOT_FOUND) => continue,
                    Err(e) => return Err(e),
                };
                out.push(Listed {
                    physical: name.to_string(),
                    spec: serde_json::json!({"name": name, "tags": tags}),
                });
            }
        }
        Ok(out)
    }
}
