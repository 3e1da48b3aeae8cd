//! CloudWatch Logs log group spec.

use super::{Kind, Spec, Tags};
use serde::{Deserialize, Serialize};

/// A CloudWatch Logs log group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogGroupSpec {
    /// Log group name.
    pub name: String,
    /// Days events are kept; `None` = forever.
    pub retention_days: Option<i32>,
    /// ARN of the KMS key that encrypts the events; `None` = CloudWatch Logs' own encryption.
    pub kms_key: Option<String>,
    /// Tags, ownership tags included.
    pub tags: Tags,
}

impl Spec for LogGroupSpec {
    const KIND: Kind = Kind::LogGroup;
    fn physical(&self) -> String {
        self.name.clone()
    }
}
