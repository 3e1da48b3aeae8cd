//! The alerts topic, its e-mail subscriptions, and the lake's `clean/` notifications to it.

use super::storage::LAKE;
use crate::config::StackConfig;
use crate::model::policy::{self, Statement};
use crate::model::s3::{NotificationSpec, TopicNotification};
use crate::model::sns::{SubscriptionsSpec, TopicSpec};
use crate::model::{address, Kind, Resource, Tags};
use crate::names::Names;
use serde_json::json;

/// Logical name of the alerts topic.
pub const ALERTS: &str = "alerts";

/// Topic, subscriptions and bucket notification.
pub fn resources(config: &StackConfig, names: &Names, tags: &Tags) -> Vec<Resource> {
    let topic = names.alerts_topic();
    let topic_arn = names.topic_arn(&topic);
    let bucket = names.lake_bucket();
    let topic_addr = address(Kind::SnsTopic, ALERTS);
    let from_lake = Statement {
        sid: "AllowLakeNotifications".into(),
        principal: Some(json!({"Service": "s3.amazonaws.com"})),
        actions: vec!["sns:Publish".into()],
        resources: vec![topic_arn.clone()],
        condition: Some(json!({
            "ArnLike": {"aws:SourceArn": Names::bucket_arn(&bucket)},
            "StringEquals": {"aws:SourceAccount": names.account},
        })),
        ..Statement::default()
    };
    let mut out = vec![Resource::new(
        ALERTS,
        &TopicSpec {
            name: topic,
            kms_key: config.alerts.encrypted.then(|| "alias/aws/sns".to_string()),
            policy: policy::document(&[from_lake]),
            tags: tags.clone(),
        },
    )];
    let mut endpoints: Vec<String> = config
        .alerts
        .emails
        .iter()
        .map(|e| e.to_ascii_lowercase())
        .collect();
    endpoints.sort();
    endpoints.dedup();
    out.push(
        Resource::new(
            ALERTS,
            &SubscriptionsSpec {
                topic_arn: topic_arn.clone(),
                protocol: "email".into(),
                endpoints,
            },
        )
        .owned_by(&topic_addr),
    );
    out.push(
        Resource::new(
            LAKE,
            &NotificationSpec {
                bucket,
                topics: vec![TopicNotification {
                    id: "clean-objects-to-alerts".into(),
                    topic_arn,
                    events: vec!["s3:ObjectCreated:*".into()],
                    prefix: "clean/".into(),
                }],
            },
        )
        .owned_by(&address(Kind::S3Bucket, LAKE))
        .after(&[&topic_addr]),
    );
    out
}
