//! The typed shape of a `stacks/*.yaml` file.
//!
//! Every struct denies unknown keys so that a misspelled knob is an error, not a silent default.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Per-environment knobs of one EcomFlow stack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StackConfig {
    /// Application name, the first part of every resource name (e.g. `ecomflow`).
    pub app: String,
    /// Environment name (e.g. `dev`, `ci`, `prod`).
    pub env: String,
    /// AWS region the stack lives in.
    pub region: String,
    /// A protected environment refuses `destroy` without `--allow-protected`.
    #[serde(default)]
    pub protected: bool,
    /// Extra tags put on every taggable resource.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Hours an ephemeral `--instance` copy lives before its expiry tag says it may be reaped.
    #[serde(default = "default_ttl")]
    pub ephemeral_ttl_hours: u32,
    /// The Kinesis Data Stream that buffers posted rows.
    #[serde(default)]
    pub stream: StreamConfig,
    /// The DynamoDB tables `invoices` and `customers`.
    #[serde(default)]
    pub tables: TablesConfig,
    /// The S3 data-lake bucket.
    #[serde(default)]
    pub bucket: BucketConfig,
    /// The SNS alerts topic.
    #[serde(default)]
    pub alerts: AlertsConfig,
}

fn default_ttl() -> u32 {
    24
}

/// Capacity mode of the Kinesis stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum StreamMode {
    /// Kinesis scales shards itself.
    #[default]
    OnDemand,
    /// A fixed number of shards (`shards`).
    Provisioned,
}

/// Kinesis stream knobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamConfig {
    /// On-demand or provisioned capacity.
    #[serde(default)]
    pub mode: StreamMode,
    /// Shard count; only used (and required to be 1..=500) in provisioned mode.
    #[serde(default = "one")]
    pub shards: u32,
    /// How long records stay in the stream, 24 to 8760 hours.
    #[serde(default = "default_retention")]
    pub retention_hours: u32,
    /// Server-side encryption with the AWS-managed KMS key `alias/aws/kinesis`.
    #[serde(default = "yes")]
    pub encrypted: bool,
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self {
            mode: StreamMode::OnDemand,
            shards: 1,
            retention_hours: default_retention(),
            encrypted: true,
        }
    }
}

fn one() -> u32 {
    1
}
fn yes() -> bool {
    true
}
fn default_retention() -> u32 {
    24
}

/// Billing mode of the DynamoDB tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Billing {
    /// Pay per request.
    #[default]
    OnDemand,
    /// Fixed read and write capacity units.
    Provisioned,
}

/// DynamoDB knobs shared by both tables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TablesConfig {
    /// On-demand or provisioned billing.
    #[serde(default)]
    pub billing: Billing,
    /// Read capacity units in provisioned mode (1..=40000).
    #[serde(default = "five")]
    pub read_capacity: u32,
    /// Write capacity units in provisioned mode (1..=40000).
    #[serde(default = "five")]
    pub write_capacity: u32,
    /// Point-in-time recovery.
    #[serde(default = "yes")]
    pub pitr: bool,
    /// Encrypt with the AWS-managed KMS key (`true`) or the AWS-owned key (`false`).
    /// DynamoDB always encrypts at rest; this picks the key.
    #[serde(default = "yes")]
    pub kms: bool,
}

fn five() -> u32 {
    5
}

impl Default for TablesConfig {
    fn default() -> Self {
        Self {
            billing: Billing::OnDemand,
            read_capacity: 5,
            write_capacity: 5,
            pitr: true,
            kms: true,
        }
    }
}

/// S3 lake bucket knobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BucketConfig {
    /// Keep every object version.
    #[serde(default = "yes")]
    pub versioning: bool,
    /// Days after which objects under `rejects/` expire (1..=3650).
    #[serde(default = "default_rejects_days")]
    pub rejects_expire_days: u32,
    /// Days after which non-current versions expire (1..=3650).
    #[serde(default = "default_noncurrent_days")]
    pub noncurrent_expire_days: u32,
    /// Encrypt with the AWS-managed KMS key (`true`) or SSE-S3 AES-256 (`false`).
    #[serde(default)]
    pub kms: bool,
}

fn default_rejects_days() -> u32 {
    30
}
fn default_noncurrent_days() -> u32 {
    90
}

impl Default for BucketConfig {
    fn default() -> Self {
        Self {
            versioning: true,
            rejects_expire_days: default_rejects_days(),
            noncurrent_expire_days: default_noncurrent_days(),
            kms: false,
        }
    }
}

/// Alerts topic knobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsConfig {
    /// E-mail addresses subscribed to the alerts topic.
    #[serde(default)]
    pub emails: Vec<String>,
    /// Encrypt the topic with the AWS-managed KMS key `alias/aws/sns`.
    #[serde(default = "yes")]
    pub encrypted: bool,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        Self {
            emails: Vec::new(),
            encrypted: true,
        }
    }
}
