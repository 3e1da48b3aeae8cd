//! Kinesis Data Stream spec.

use super::{Kind, Spec, Tags};
use serde::{Deserialize, Serialize};

/// A Kinesis Data Stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamSpec {
    /// Stream name.
    pub name: String,
    /// `ON_DEMAND` or `PROVISIONED`.
    pub mode: String,
    /// Open shards; only declared (and compared) in provisioned mode.
    pub shard_count: Option<i32>,
    /// Retention period in hours.
    pub retention_hours: i32,
    /// KMS key of server-side encryption; `None` = not encrypted.
    pub kms_key: Option<String>,
    /// Tags, ownership tags included.
    pub tags: Tags,
}

impl Spec for StreamSpec {
    const KIND: Kind = Kind::KinesisStream;
    fn physical(&self) -> String {
        self.name.clone()
    }
}
