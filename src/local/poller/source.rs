//! What a shard reader reads from and sends failures to: the stream's records and calls,
//! behind traits so the reader runs against Kinesis or a fake.

use super::settings::StartingPosition;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

/// One record read from a shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamRecord {
    /// Sequence number.
    pub sequence_number: String,
    /// Partition key.
    pub partition_key: String,
    /// Payload.
    pub data: Vec<u8>,
    /// When Kinesis received it.
    pub arrival: DateTime<Utc>,
    /// Encrypted at rest with KMS.
    pub kms: bool,
}

/// A shard and its parents (after a reshard, children are read after their parents).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shard {
    /// Shard ID.
    pub id: String,
    /// Parent shard, if any.
    pub parent: Option<String>,
    /// The other parent of a merged shard, if any.
    pub adjacent_parent: Option<String>,
}

/// One `GetRecords` answer.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The records, in order.
    pub records: Vec<StreamRecord>,
    /// Where to continue; `None` once a closed shard is read to its end.
    pub next_iterator: Option<String>,
    /// How far behind the tip of the shard the answer is.
    pub millis_behind: i64,
}

/// Why a stream call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceError {
    /// The shard iterator expired: get a new one.
    Expired,
    /// The sequence number to start after is not valid for the shard.
    BadPosition(String),
    /// The shard (or stream) no longer exists.
    Gone(String),
    /// Anything else (after the SDK's retries).
    Other(String),
}

impl std::fmt::Display for SourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SourceError::Expired => write!(f, "the shard iterator expired"),
            SourceError::BadPosition(m) | SourceError::Gone(m) | SourceError::Other(m) => {
                write!(f, "{m}")
            }
        }
    }
}

/// The stream calls a shard reader makes.
#[async_trait]
pub trait ShardSource: Send + Sync {
    /// Every shard of the stream (open and closed).
    async fn list_shards(&self) -> Result<Vec<Shard>, SourceError>;
    /// An iterator after `after`, or at `start` when `after` is `None`.
    async fn iterator(
        &self,
        shard: &str,
        after: Option<&str>,
        start: StartingPosition,
    ) -> Result<String, SourceError>;
    /// Up to `limit` records from `iterator`.
    async fn get_records(&self, iterator: &str, limit: usize) -> Result<Fetched, SourceError>;
}

/// Where on-failure records are sent.
#[async_trait]
pub trait FailureSink: Send + Sync {
    /// Delivers one on-failure record for `shard`.
    async fn send(&self, shard: &str, record: &Value) -> Result<(), String>;
}
