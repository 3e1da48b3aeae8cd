//! Customer-managed KMS key spec.

use super::{Kind, Spec, Tags};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A customer-managed KMS key, found by its alias (KMS assigns the key's ID).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeySpec {
    /// The alias naming it, `alias/<instance>`.
    pub alias: String,
    /// Description; it also finds a key whose alias an interrupted run never made.
    pub description: String,
    /// The key policy (normalised).
    pub policy: Value,
    /// Yearly automatic rotation of the key material.
    pub rotation: bool,
    /// Days KMS waits before deleting the key once a destroy schedules its deletion (7..=30):
    /// until then `CancelKeyDeletion` brings it back, and with it what it encrypted. Not
    /// compared (KMS keeps it only while a deletion is pending).
    #[serde(rename = "_deletion_window_days", default = "default_window")]
    pub deletion_window_days: i32,
    /// Tags, ownership tags included.
    pub tags: Tags,
}

fn default_window() -> i32 {
    30
}

impl Spec for KeySpec {
    const KIND: Kind = Kind::KmsKey;
    fn physical(&self) -> String {
        self.alias.clone()
    }
}
