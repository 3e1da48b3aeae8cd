//! DynamoDB table spec.

use super::{Kind, Spec, Tags};
use serde::{Deserialize, Serialize};

/// A key attribute: name and scalar type (`S`, `N` or `B`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyAttribute {
    /// Attribute name.
    pub name: String,
    /// Attribute type.
    #[serde(rename = "type")]
    pub kind: String,
}

/// A DynamoDB table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableSpec {
    /// Table name.
    pub name: String,
    /// Partition (hash) key.
    pub partition_key: KeyAttribute,
    /// Sort (range) key.
    pub sort_key: Option<KeyAttribute>,
    /// `PAY_PER_REQUEST` or `PROVISIONED`.
    pub billing_mode: String,
    /// Read capacity units (provisioned only).
    pub read_capacity: Option<i64>,
    /// Write capacity units (provisioned only).
    pub write_capacity: Option<i64>,
    /// Point-in-time recovery enabled.
    pub pitr: bool,
    /// Encrypted with the AWS-managed KMS key (`true`) or the AWS-owned key (`false`).
    pub sse_kms: bool,
    /// DeleteTable is refused until this is lifted (protected stacks; `destroy` lifts it).
    pub deletion_protection: bool,
    /// Tags, ownership tags included.
    pub tags: Tags,
}

impl Spec for TableSpec {
    const KIND: Kind = Kind::DynamodbTable;
    fn physical(&self) -> String {
        self.name.clone()
    }
}
