//! AWS WAF web ACL spec.

use super::{Kind, Spec, Tags};
use serde::{Deserialize, Serialize};

/// The rate rule's name; the managed groups' rules are named after the groups.
pub const RATE_RULE: &str = "rate-per-ip";

/// A regional web ACL in front of the API: requests pass unless a rule blocks them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebAclSpec {
    /// Web ACL name (unique per Region).
    pub name: String,
    /// Requests one IP address may make in five minutes before it is blocked.
    pub rate_limit: i64,
    /// AWS managed rule groups evaluated after the rate rule, in order, by name.
    pub managed_rule_groups: Vec<String>,
    /// Tags, ownership tags included.
    pub tags: Tags,
}

impl Spec for WebAclSpec {
    const KIND: Kind = Kind::WafWebAcl;
    fn physical(&self) -> String {
        self.name.clone()
    }
}
