//! Event notifications of a bucket (to SNS topics).

use super::{misnamed_root, BucketSetting, S3};
use crate::aws::{built, Aws, AwsError, Gone};
use crate::model::s3::{NotificationSpec, TopicNotification};
use async_trait::async_trait;
use aws_sdk_s3::operation::get_bucket_notification_configuration::GetBucketNotificationConfigurationOutput as Configuration;
use aws_sdk_s3::types as t;

/// Event notifications of a bucket (to SNS topics).
pub struct Notification;

fn topic_configuration(n: &TopicNotification) -> Result<t::TopicConfiguration, AwsError> {
    let filter = t::NotificationConfigurationFilter::builder()
        .key(
            t::S3KeyFilter::builder()
                .filter_rules(
                    t::FilterRule::builder()
                        .name(t::FilterRuleName::Prefix)
                        .value(&n.prefix)
                        .build(),
                )
                .build(),
        )
        .build();
    built(
        t::TopicConfiguration::builder()
            .id(&n.id)
            .topic_arn(&n.topic_arn)
            .set_events(Some(
                n.events
                    .iter()
                    .map(|e| t::Event::from(e.as_str()))
                    .collect(),
            ))
            .filter(filter)
            .build(),
    )
}

/// Replaces the bucket's notification configuration with `topics` (none: no notifications).
async fn put_notifications(
    aws: &Aws,
    bucket: &str,
    topics: &[TopicNotification],
) -> Result<(), AwsError> {
    let configs = topics
        .iter()
        .map(topic_configuration)
        .collect::<Result<Vec<_>, _>>()?;
    let call = aws
        .s3
        .put_bucket_notification_configuration()
        .bucket(bucket)
        .notification_configuration(
            t::NotificationConfiguration::builder()
                .set_topic_configurations(Some(configs))
                .build(),
        )
        .send();
    let what = format!("failed to set notifications of S3 bucket {bucket}");
    aws.mutate(S3, what, call).await?;
    Ok(())
}

fn read_topic(c: &t::TopicConfiguration) -> TopicNotification {
    let prefix = c
        .filter()
        .and_then(|f| f.key())
        .map(|k| k.filter_rules())
        .unwrap_or_default()
        .iter()
        .find(|r| {
            r.name()
                .map(|n| n.as_str().eq_ignore_ascii_case("prefix"))
                .unwrap_or(false)
        })
        .and_then(|r| r.value())
        .unwrap_or_default()
        .to_string();
    let mut events: Vec<String> = c.events().iter().map(|e| e.as_str().to_string()).collect();
    events.sort();
    TopicNotification {
        id: c.id().unwrap_or_default().to_string(),
        topic_arn: c.topic_arn().to_string(),
        events,
        prefix,
    }
}

#[async_trait]
impl BucketSetting for Notification {
    type Spec = NotificationSpec;

    /// `None` when the bucket notifies no topic: an empty configuration is no configuration.
    async fn get(&self, aws: &Aws, bucket: &str) -> Result<Option<NotificationSpec>, AwsError> {
        let call = aws
            .s3
            .get_bucket_notification_configuration()
            .bucket(bucket)
            .send()
            .await;
        let out = match call {
            Ok(out) => out,
            Err(e) => match misnamed_root(&e, "GetBucketNotificationResponse") {
                // An empty configuration under the misnamed root: nothing configured.
                Some(body) if !body.contains("Configuration>") => Configuration::builder().build(),
                _ => return Err(AwsError::from(e)),
            },
        };
        let mut topics: Vec<TopicNotification> =
            out.topic_configurations().iter().map(read_topic).collect();
        if topics.is_empty() {
            return Ok(None);
        }
        topics.sort();
        Ok(Some(NotificationSpec {
            bucket: bucket.to_string(),
            topics,
        }))
    }

    async fn put(&self, aws: &Aws, s: &NotificationSpec) -> Result<(), AwsError> {
        put_notifications(aws, &s.bucket, &s.topics).await
    }

    async fn remove(&self, aws: &Aws, gone: &Gone<NotificationSpec>) -> Result<(), AwsError> {
        put_notifications(aws, &gone.physical, &[]).await
    }
}
