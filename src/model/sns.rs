//! SNS topic and subscription specs.

use super::{Kind, Spec, Tags};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An SNS topic with its access policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopicSpec {
    /// Topic name.
    pub name: String,
    /// KMS key for server-side encryption; `None` = not encrypted.
    pub kms_key: Option<String>,
    /// The normalised topic access policy.
    pub policy: Value,
    /// Tags, ownership tags included.
    pub tags: Tags,
}

impl Spec for TopicSpec {
    const KIND: Kind = Kind::SnsTopic;
    fn physical(&self) -> String {
        self.name.clone()
    }
}

/// The e-mail subscriptions of a topic, as one set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionsSpec {
    /// Topic ARN.
    pub topic_arn: String,
    /// Protocol, e.g. `email`.
    pub protocol: String,
    /// Endpoints (e-mail addresses), lowercase and sorted.
    pub endpoints: Vec<String>,
}

impl Spec for SubscriptionsSpec {
    const KIND: Kind = Kind::SnsSubscriptions;
    fn physical(&self) -> String {
        self.topic_arn.clone()
    }
}
