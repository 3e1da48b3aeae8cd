//! IAM role spec.

use super::{Kind, Spec, Tags};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// An IAM role with its trust policy and inline policies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleSpec {
    /// Role name.
    pub name: String,
    /// IAM path, `/ecomflow-infra/<instance>/`.
    pub path: String,
    /// Who may assume the role (normalised policy document).
    pub assume_role_policy: Value,
    /// Inline policies by name (normalised documents).
    pub policies: BTreeMap<String, Value>,
    /// Tags, ownership tags included.
    pub tags: Tags,
}

impl Spec for RoleSpec {
    const KIND: Kind = Kind::IamRole;
    fn physical(&self) -> String {
        self.name.clone()
    }
}
