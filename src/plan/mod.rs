//! diff(desired, live) -> [`Plan`]: a pure value that apply consumes and render prints.

mod diff;
mod render;
mod saved;

pub use diff::{
    attribute_changes, desired_fingerprint, diff, fingerprint, teardown, Conflict, LiveResource,
    LiveState, Ownership, REDACTED,
};
pub use render::{render_json, render_text};
pub use saved::{parse_saved, render_saved, SavedPlanError};

use crate::model::{Kind, Outputs, Resource};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Version of the plan JSON schema (documented in the README). Bumped on any breaking change.
pub const PLAN_FORMAT_VERSION: u32 = 1;

/// What apply will do to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Create it.
    Create,
    /// Update it in place.
    Update,
    /// Delete and create it again (a field that cannot change in place changed).
    Replace,
    /// Delete it (tagged as this stack's but no longer declared, or `destroy`).
    Delete,
    /// Nothing to do.
    NoOp,
}

/// One attribute's change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributeChange {
    /// Dotted path in the spec, e.g. `retention_hours` or `tags.team`.
    pub path: String,
    /// Live value (absent on create).
    pub before: Option<Value>,
    /// Declared value (absent on delete).
    pub after: Option<Value>,
    /// This attribute cannot change in place.
    pub forces_replacement: bool,
}

/// The planned change to one resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// `kind.name`.
    pub address: String,
    /// The kind.
    pub kind: Kind,
    /// Physical identity (name, ARN or parent bucket).
    pub physical: String,
    /// What will be done.
    pub action: Action,
    /// The holds-data flag of the kind.
    pub stateful: bool,
    /// Attribute-level differences, secrets redacted.
    pub attributes: Vec<AttributeChange>,
    /// Addresses this resource depends on.
    pub depends_on: Vec<String>,
    /// The declared resource (create, update, replace, no-op). Not serialised.
    #[serde(skip)]
    pub desired: Option<Resource>,
    /// The live spec (update, replace, delete, no-op). Not serialised.
    #[serde(skip)]
    pub live: Option<Value>,
    /// The live outputs (IDs, ARNs) of what exists. Not serialised.
    #[serde(skip)]
    pub outputs: Outputs,
}

/// Counts of a plan's actions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Resources to create.
    pub add: usize,
    /// Resources to update in place.
    pub change: usize,
    /// Resources to replace.
    pub replace: usize,
    /// Resources to delete.
    pub destroy: usize,
    /// Resources already as declared.
    pub unchanged: usize,
}

/// A plan: every change, plus fingerprints that detect a stale saved plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// [`PLAN_FORMAT_VERSION`].
    pub format_version: u32,
    /// Stack instance name.
    pub stack: String,
    /// AWS account ID.
    pub account: String,
    /// AWS region.
    pub region: String,
    /// Path of the stack file the plan was made from.
    pub stack_file: String,
    /// SHA-256 of the declared resources.
    pub desired_fingerprint: String,
    /// SHA-256 of the live state that was read.
    pub live_fingerprint: String,
    /// Counts by action.
    pub summary: Summary,
    /// Every resource, in dependency order; no-ops included.
    pub changes: Vec<Change>,
}

impl Plan {
    /// True when there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.changes.iter().all(|c| c.action == Action::NoOp)
    }

    /// The changes that do something.
    pub fn actionable(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| c.action != Action::NoOp)
    }
}

#[cfg(test)]
mod tests;
