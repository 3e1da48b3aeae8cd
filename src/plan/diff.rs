//! The one generic diff: normalised desired and live specs compared field by field.

use super::{Action, AttributeChange, Change, Plan, Summary, PLAN_FORMAT_VERSION};
use crate::model::{address, Kind, KindInfo, Outputs, Resource};
use crate::names::{TAG_CREATED, TAG_EXPIRES};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The expiry tag's path. Every plan of an ephemeral instance declares "now + TTL", so the
/// tag is compared loosely: see [`expiry_is_stale`].
const EXPIRY_PATH: &str = "tags.ecomflow:expires-at";

/// How far the live expiry may lag behind the declared one before an apply refreshes it:
/// a moving clock alone must not make every plan dirty, but an instance that is applied again
/// (a pull request pushed to the next day) must get its lifetime extended.
const EXPIRY_SLACK_HOURS: i64 = 1;

/// True when the live expiry tag is missing, unreadable, or more than the slack earlier than
/// the declared one.
fn expiry_is_stale(live: Option<&Value>, declared: Option<&Value>) -> bool {
    let parse = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
    };
    match (parse(live), parse(declared)) {
        (Some(l), Some(d)) => d - l > chrono::Duration::hours(EXPIRY_SLACK_HOURS),
        (None, None) => false,
        _ => live != declared,
    }
}

/// The creation tag's path. It records when a resource was made, so it is stamped once: the
/// diff keeps the live value (see [`with_live_creation`]), and a live resource without one
/// (made before the tag existed) is no reason for an update on its own.
const CREATED_PATH: &str = "tags.ecomflow:created-at";

/// The declared resource with its creation tag set to the live resource's, when both carry
/// one: no plan shows the stamp changing, and an update that writes the declared tags writes
/// the live stamp back.
fn with_live_creation(declared: &Resource, live: &Value) -> Resource {
    let mut declared = declared.clone();
    let stamp = live.get("tags").and_then(|t| t.get(TAG_CREATED));
    let mine = declared
        .spec
        .get_mut("tags")
        .and_then(|t| t.get_mut(TAG_CREATED));
    if let (Some(stamp), Some(mine)) = (stamp, mine) {
        *mine = stamp.clone();
    }
    declared
}

/// Text shown instead of a secret value.
pub const REDACTED: &str = "(sensitive)";

/// Whose a live resource is, judged by its (or its owner's) tags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "owner", content = "stack")]
pub enum Ownership {
    /// Tagged with this stack instance.
    Ours,
    /// Tagged with another stack instance, or not tagged by this tool (`None`).
    Foreign(Option<String>),
}

/// A resource as read from the account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveResource {
    /// Its kind.
    pub kind: Kind,
    /// Physical identity.
    pub physical: String,
    /// Normalised spec, same shape as the declared one.
    pub spec: Value,
    /// What AWS assigned (IDs, ARNs, endpoints), handed to dependents.
    #[serde(default, skip_serializing_if = "Outputs::is_empty")]
    pub outputs: Outputs,
    /// Whose it is.
    pub ownership: Ownership,
}

/// Everything read from the account for one plan.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LiveState {
    /// The read of each declared address (`None` = does not exist).
    pub declared: BTreeMap<String, Option<LiveResource>>,
    /// Resources tagged as this instance's that the blueprint does not declare.
    pub undeclared: Vec<LiveResource>,
    /// Declared resources that could not be read, with why (only when reading for destroy,
    /// which goes on past them; they count as absent).
    #[serde(skip)]
    pub unreadable: Vec<(String, String)>,
}

/// A declared resource that exists but is not this stack's: apply must not touch it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// Address of the declared resource.
    pub address: String,
    /// Physical identity of the live one.
    pub physical: String,
    /// The stack it belongs to, if any.
    pub owner: Option<String>,
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.owner {
            Some(other) => write!(
                f,
                "{} `{}` already exists and belongs to stack `{other}`; refusing to take it over",
                self.address, self.physical
            ),
            None => write!(
                f,
                "{} `{}` already exists and is not tagged as managed by this stack; refusing to take it over \
                 (rename the stack with --instance, or remove the foreign resource yourself)",
                self.address, self.physical
            ),
        }
    }
}

/// SHA-256 over a JSON value in canonical form (ignored paths removed).
pub fn fingerprint(value: &Value) -> String {
    let mut v = value.clone();
    strip_ignored(&mut v);
    hex::encode(Sha256::digest(
        serde_json::to_vec(&v).expect("JSON serialises"),
    ))
}

fn strip_ignored(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.remove(TAG_EXPIRES);
            map.remove(TAG_CREATED);
            map.values_mut().for_each(strip_ignored);
        }
        Value::Array(list) => list.iter_mut().for_each(strip_ignored),
        _ => {}
    }
}

/// Flattens a spec into dotted paths; arrays and scalars are leaves.
fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, Value>) {
    match v {
        Value::Object(map) if !map.is_empty() => {
            // Top-level keys starting with `_` are computed by AWS (IDs, ARNs): providers keep
            // them in the live spec for their own use; they are never compared.
            for (k, child) in map
                .iter()
                .filter(|(k, _)| !(prefix.is_empty() && k.starts_with('_')))
            {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&path, child, out);
            }
        }
        Value::Null => {}
        other => {
            out.insert(prefix.to_string(), other.clone());
        }
    }
}

fn matches_field(path: &str, field: &str) -> bool {
    path == field || path.starts_with(&format!("{field}."))
}

/// The attribute differences between two specs of a kind (secrets redacted).
pub fn attribute_changes(
    kind: Kind,
    before: Option<&Value>,
    after: Option<&Value>,
) -> Vec<AttributeChange> {
    changes_of(&kind.info(), before, after)
}

/// [`attribute_changes`] for the facts of a kind.
fn changes_of(
    info: &KindInfo,
    before: Option<&Value>,
    after: Option<&Value>,
) -> Vec<AttributeChange> {
    let (mut b, mut a) = (BTreeMap::new(), BTreeMap::new());
    if let Some(v) = before {
        flatten("", v, &mut b);
    }
    if let Some(v) = after {
        flatten("", v, &mut a);
    }
    let mut paths: Vec<&String> = b.keys().chain(a.keys()).collect();
    paths.sort();
    paths.dedup();
    let secret = |path: &str, v: Option<&Value>| -> Option<Value> {
        v.map(|v| {
            if info.secret.iter().any(|s| matches_field(path, s)) {
                Value::String(REDACTED.into())
            } else {
                v.clone()
            }
        })
    };
    let changes: Vec<AttributeChange> = paths
        .into_iter()
        .filter(|p| {
            if crate::model::is_reserved_tag_path(p) {
                false
            } else if p.as_str() == EXPIRY_PATH {
                expiry_is_stale(b.get(*p), a.get(*p))
            } else {
                b.get(*p) != a.get(*p)
            }
        })
        .map(|p| AttributeChange {
            path: p.clone(),
            before: secret(p, b.get(p)),
            after: secret(p, a.get(p)),
            forces_replacement: before.is_some()
                && after.is_some()
                && info.replace.iter().any(|f| matches_field(p, f)),
        })
        .collect();
    // A live resource made before the creation tag existed: stamping it now is no reason for
    // an update, only something an update for another reason does along the way.
    let stamp_only = changes
        .iter()
        .all(|c| c.path == CREATED_PATH && c.before.is_none());
    if before.is_some() && after.is_some() && stamp_only {
        return Vec::new();
    }
    changes
}

/// Compares the declared resources with the live state. Fails, naming every conflict, if a
/// declared resource exists but belongs to someone else.
pub fn diff(
    stack: &str,
    account: &str,
    region: &str,
    stack_file: &str,
    desired: &[Resource],
    live: &LiveState,
) -> Result<Plan, Vec<Conflict>> {
    let mut conflicts = Vec::new();
    let mut changes = Vec::new();
    for res in desired {
        let addr = res.address();
        let info = res.kind.info();
        let current = live.declared.get(&addr).cloned().flatten();
        // The declared resource as apply is to write it (a live creation tag kept).
        let (action, attributes, desired, live_spec, outputs) = match current {
            None => (
                Action::Create,
                attribute_changes(res.kind, None, Some(&res.spec)),
                res.clone(),
                None,
                Outputs::new(),
            ),
            Some(l) => {
                if let Ownership::Foreign(owner) = &l.ownership {
                    conflicts.push(Conflict {
                        address: addr.clone(),
                        physical: l.physical.clone(),
                        owner: owner.clone(),
                    });
                    continue;
                }
                let kept = with_live_creation(res, &l.spec);
                let attrs = attribute_changes(res.kind, Some(&l.spec), Some(&kept.spec));
                let action = if attrs.is_empty() {
                    Action::NoOp
                } else if attrs.iter().any(|a| a.forces_replacement) {
                    Action::Replace
                } else {
                    Action::Update
                };
                (action, attrs, kept, Some(l.spec), l.outputs)
            }
        };
        changes.push(Change {
            address: addr,
            kind: res.kind,
            physical: res.physical.clone(),
            action,
            stateful: info.stateful,
            attributes,
            depends_on: res.depends_on.clone(),
            desired: Some(desired),
            live: live_spec,
            outputs,
        });
    }
    for l in &live.undeclared {
        changes.push(Change {
            address: address(l.kind, &l.physical),
            kind: l.kind,
            physical: l.physical.clone(),
            action: Action::Delete,
            stateful: l.kind.info().stateful,
            attributes: attribute_changes(l.kind, Some(&l.spec), None),
            depends_on: Vec::new(),
            desired: None,
            live: Some(l.spec.clone()),
            outputs: l.outputs.clone(),
        });
    }
    if !conflicts.is_empty() {
        return Err(conflicts);
    }
    Ok(Plan {
        format_version: PLAN_FORMAT_VERSION,
        stack: stack.to_string(),
        account: account.to_string(),
        region: region.to_string(),
        stack_file: stack_file.to_string(),
        desired_fingerprint: desired_fingerprint(desired),
        live_fingerprint: fingerprint(&serde_json::to_value(live).expect("serialises")),
        summary: summarize(&changes),
        changes,
    })
}

/// The fingerprint of the declared resources that a plan records (and a saved plan is
/// checked against before the live account is read).
pub fn desired_fingerprint(desired: &[Resource]) -> String {
    fingerprint(&serde_json::to_value(desired).expect("serialises"))
}

/// Counts changes by action.
pub fn summarize(changes: &[Change]) -> Summary {
    let mut s = Summary::default();
    for c in changes {
        match c.action {
            Action::Create => s.add += 1,
            Action::Update => s.change += 1,
            Action::Replace => s.replace += 1,
            Action::Delete => s.destroy += 1,
            Action::NoOp => s.unchanged += 1,
        }
    }
    s
}

/// The plan of `destroy`: delete every live resource of this instance, declared or not.
/// Declared resources that exist but are not ours are left alone and returned separately.
pub fn teardown(
    stack: &str,
    account: &str,
    region: &str,
    stack_file: &str,
    desired: &[Resource],
    live: &LiveState,
) -> (Plan, Vec<Conflict>) {
    let mut skipped = Vec::new();
    let mut changes = Vec::new();
    for res in desired {
        let addr = res.address();
        let Some(Some(l)) = live.declared.get(&addr) else {
            continue;
        };
        if let Ownership::Foreign(owner) = &l.ownership {
            skipped.push(Conflict {
                address: addr,
                physical: l.physical.clone(),
                owner: owner.clone(),
            });
            continue;
        }
        changes.push(Change {
            address: addr,
            kind: res.kind,
            physical: l.physical.clone(),
            action: Action::Delete,
            stateful: res.kind.info().stateful,
            attributes: attribute_changes(res.kind, Some(&l.spec), None),
            depends_on: res.depends_on.clone(),
            desired: None,
            live: Some(l.spec.clone()),
            outputs: l.outputs.clone(),
        });
    }
    let mut plan = diff(
        stack,
        account,
        region,
        stack_file,
        &[],
        &LiveState {
            undeclared: live.undeclared.clone(),
            ..LiveState::default()
        },
    )
    .expect("an empty declaration has no conflicts");
    changes.append(&mut plan.changes);
    plan.summary = summarize(&changes);
    plan.changes = changes;
    plan.live_fingerprint = fingerprint(&serde_json::to_value(live).expect("serialises"));
    (plan, skipped)
}

#[cfg(test)]
mod redaction_tests {
    use super::*;
    use crate::model::Service;
    use serde_json::json;

    #[test]
    fn the_loosely_compared_paths_are_the_tags_of_the_names_module() {
        assert_eq!(EXPIRY_PATH, format!("tags.{TAG_EXPIRES}"));
        assert_eq!(CREATED_PATH, format!("tags.{TAG_CREATED}"));
    }

    #[test]
    fn secret_fields_are_redacted_on_both_sides() {
        let info = KindInfo {
            name: "test_kind",
            service: Service::S3,
            replace: &["name"],
            secret: &["credentials.password"],
            stateful: false,
            taggable: false,
        };
        let before = json!({"name": "a", "credentials": {"user": "u", "password": "old-secret"}});
        let after = json!({"name": "a", "credentials": {"user": "u", "password": "new-secret"}});
        let changes = changes_of(&info, Some(&before), Some(&after));
        assert_eq!(changes.len(), 1, "the change itself is still seen");
        assert_eq!(changes[0].path, "credentials.password");
        assert_eq!(changes[0].before, Some(json!(REDACTED)));
        assert_eq!(changes[0].after, Some(json!(REDACTED)));
        let text = serde_json::to_string(&changes).unwrap();
        assert!(!text.contains("secret"), "{text}");
        let created = changes_of(&info, None, Some(&after));
        assert!(!serde_json::to_string(&created)
            .unwrap()
            .contains("new-secret"));
    }
}
