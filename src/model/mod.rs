//! Resource specs: plain serde data, their kinds, addresses and dependency edges.
//!
//! Each kind has a typed spec struct (in the module named for its service). The engine and the
//! diff see specs as normalised JSON values, so one generic mechanism serves every kind.

pub mod apigateway;
pub mod athena;
pub mod catalog;
pub mod cognito;
pub mod dynamodb;
pub mod iam;
mod kind;
pub mod kinesis;
pub mod kms;
pub mod lambda;
pub mod logs;
pub mod policy;
pub mod redshift;
pub mod s3;
pub mod sns;
pub mod waf;

pub(crate) use kind::kind_table;
pub use kind::{Kind, KindInfo, Service};

use serde::{de::DeserializeOwned, Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// A typed resource spec of one kind.
pub trait Spec: Serialize + DeserializeOwned {
    /// The kind this spec declares.
    const KIND: Kind;
    /// The physical identity of the resource (name, or parent name for sub-resources).
    fn physical(&self) -> String;
}

/// What AWS assigns to a resource that dependents need: `id`, `arn`, `endpoint`, ... Returned
/// by a provider's create and read, kept in the live state, and handed to dependents by the
/// engine.
pub type Outputs = BTreeMap<String, String>;

/// Tags on a resource, sorted by key.
pub type Tags = BTreeMap<String, String>;

/// One declared resource: kind, logical name, physical identity, spec and edges.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    /// What kind of AWS resource this is.
    pub kind: Kind,
    /// The logical name within the stack, e.g. `lake` or `invoices`.
    pub name: String,
    /// The physical identity the provider reads it by (name, ARN, or parent bucket).
    pub physical: String,
    /// The normalised spec (the typed spec serialised).
    pub spec: Value,
    /// Addresses this resource needs to exist first.
    pub depends_on: Vec<String>,
    /// For sub-resources without tags of their own: the address whose tags carry ownership.
    pub owner: Option<String>,
}

impl Resource {
    /// Builds a resource from a typed spec.
    pub fn new<S: Spec>(name: &str, spec: &S) -> Self {
        Self {
            kind: S::KIND,
            name: name.to_string(),
            physical: spec.physical(),
            spec: serde_json::to_value(spec).expect("specs serialise to JSON"),
            depends_on: Vec::new(),
            owner: None,
        }
    }

    /// Adds dependency edges.
    pub fn after(mut self, addresses: &[&str]) -> Self {
        self.depends_on
            .extend(addresses.iter().map(|a| a.to_string()));
        self
    }

    /// Marks this as a sub-resource owned through `parent`'s tags; also depends on it.
    pub fn owned_by(mut self, parent: &str) -> Self {
        self.owner = Some(parent.to_string());
        if !self.depends_on.iter().any(|d| d == parent) {
            self.depends_on.push(parent.to_string());
        }
        self
    }

    /// `kind.name`, the address used in plans and edges.
    pub fn address(&self) -> String {
        address(self.kind, &self.name)
    }

    /// The spec as its typed struct.
    pub fn typed<S: Spec>(&self) -> Result<S, serde_json::Error> {
        serde_json::from_value(self.spec.clone())
    }
}

/// The address of a resource: `kind.name`.
pub fn address(kind: Kind, name: &str) -> String {
    format!("{}.{name}", kind.info().name)
}

/// The tags in a spec value (`spec.tags`), if the kind has any.
pub fn spec_tags(spec: &Value) -> Option<Tags> {
    spec.get("tags")
        .and_then(|t| serde_json::from_value(t.clone()).ok())
}

/// The prefix of the tag keys AWS reserves for itself (CloudFormation's
/// `aws:cloudformation:stack-name`, ...): no caller can set or remove them, so the diff never
/// compares them and tag convergence leaves them.
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-resource-tags.html>
pub const RESERVED_TAG_PREFIX: &str = "aws:";

/// True for the path of a reserved tag in a spec (`tags.aws:...`).
pub fn is_reserved_tag_path(path: &str) -> bool {
    path.strip_prefix("tags.")
        .is_some_and(|key| key.starts_with(RESERVED_TAG_PREFIX))
}

/// Tag keys on a live resource that the declaration no longer has (to remove); AWS's
/// reserved tags are never among them.
pub fn stale_tags(desired: &Tags, live: &Tags) -> Vec<String> {
    live.keys()
        .filter(|k| !desired.contains_key(*k) && !k.starts_with(RESERVED_TAG_PREFIX))
        .cloned()
        .collect()
}

/// Declared tags that are missing or different on a live resource (to set).
pub fn changed_tags(desired: &Tags, live: &Tags) -> Tags {
    desired
        .iter()
        .filter(|(k, v)| live.get(*k) != Some(v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[cfg(test)]
mod tag_tests {
    use super::*;

    #[test]
    fn tag_deltas() {
        let live = Tags::from([("a".into(), "1".into()), ("b".into(), "2".into())]);
        let want = Tags::from([("b".into(), "3".into()), ("c".into(), "4".into())]);
        assert_eq!(stale_tags(&want, &live), ["a"]);
        assert_eq!(changed_tags(&want, &live), want);
        assert!(changed_tags(&live, &live).is_empty());
        let cfn = Tags::from([("aws:cloudformation:stack-name".into(), "s".into())]);
        assert!(stale_tags(&want, &cfn).is_empty());
        assert!(is_reserved_tag_path("tags.aws:cloudformation:logical-id"));
        assert!(!is_reserved_tag_path("tags.ecomflow:stack"));
    }
}
