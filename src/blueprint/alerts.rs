//! The alerts topic and its e-mail subscriptions.
//!
//! Storage updates reach the topic as digests, never one message per object: `load` publishes
//! one message per run, and `process` at most one per `alerts.digest_minutes` while streaming.
//! The lake's bucket therefore has no event notification to the topic.

use super::key;
use crate::config::StackConfig;
use crate::model::policy::{self, Statement};
use crate::model::sns::{SubscriptionsSpec, TopicSpec};
use crate::model::{address, Kind, Resource, Tags};
use crate::names::Names;
use serde_json::json;

/// Logical name of the alerts topic.
pub const ALERTS: &str = "alerts";

/// Topic and subscriptions.
pub fn resources(config: &StackConfig, names: &Names, tags: &Tags) -> Vec<Resource> {
    let topic = names.alerts_topic();
    let topic_arn = names.topic_arn(&topic);
    let topic_addr = address(Kind::SnsTopic, ALERTS);
    // Publishers are this account's own roles (`process`, the tool for `load`), which their
    // identity policies allow; the topic grants nothing, and refuses every other account.
    let other_accounts = Statement {
        sid: "OnlyThisAccountPublishes".into(),
        deny: true,
        principal: Some(json!("*")),
        actions: vec!["sns:Publish".into()],
        resources: vec![topic_arn.clone()],
        condition: Some(json!({"StringNotEquals": {"aws:PrincipalAccount": names.account}})),
    };
    // Under the stack's key where there is one, else SNS's AWS-managed key (which serves
    // this account's own publishers, but no service such as S3 that publishes for itself).
    let keyed = config.kms_key.enabled;
    let kms_key = config.alerts.encrypted.then(|| match keyed {
        true => key::alias(names),
        false => "alias/aws/sns".to_string(),
    });
    let key_addr = address(Kind::KmsKey, key::KEY);
    let after: &[&str] = if keyed && kms_key.is_some() {
        &[&key_addr]
    } else {
        &[]
    };
    let mut out = vec![Resource::new(
        ALERTS,
        &TopicSpec {
            name: topic,
            kms_key,
            policy: policy::document(&[other_accounts]),
            tags: tags.clone(),
        },
    )
    .after(after)];
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
    out
}
