//! The provider contract: one typed [`Provider`] per resource kind, and the one adapter
//! ([`DynProvider`]) through which the engine drives every kind alike. JSON conversion of
//! specs happens here and nowhere else.

use super::{Aws, AwsError};
pub use crate::model::Outputs;
use crate::model::{Kind, Resource, Spec};
use crate::plan::attribute_changes;
use async_trait::async_trait;
use serde_json::Value;
use std::collections::BTreeMap;

/// A live resource as read: its spec in the declared shape, and its outputs.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed<S> {
    /// The live spec, normalised to the declared shape.
    pub spec: S,
    /// What AWS assigned (IDs, ARNs, endpoints).
    pub outputs: Outputs,
}

impl<S> Observed<S> {
    /// A live spec with no outputs (kinds found by name alone).
    pub fn bare(spec: S) -> Self {
        Self {
            spec,
            outputs: Outputs::new(),
        }
    }

    /// A live spec with one output.
    pub fn with(spec: S, key: &str, value: impl Into<String>) -> Self {
        Self {
            spec,
            outputs: Outputs::from([(key.to_string(), value.into())]),
        }
    }
}

/// What a read answers: the live resource, or `None` if it does not exist.
pub type Found<S> = Result<Option<Observed<S>>, AwsError>;

/// The outputs of a resource's dependencies, by address, as the engine knows them.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    by_address: BTreeMap<String, Outputs>,
}

impl Inputs {
    /// Inputs from `(address, outputs)` pairs.
    pub fn new(by_address: BTreeMap<String, Outputs>) -> Self {
        Self { by_address }
    }

    /// The output `key` of the one dependency of `kind`, if that dependency exists live.
    pub fn get(&self, kind: Kind, key: &str) -> Option<&str> {
        let prefix = format!("{}.", kind.info().name);
        self.by_address
            .iter()
            .find(|(address, _)| address.starts_with(&prefix))
            .and_then(|(_, outputs)| outputs.get(key))
            .map(String::as_str)
    }

    /// [`Inputs::get`], for steps that cannot run without it: the executor only starts a
    /// step once its dependencies are done, so a miss is a blueprint edge that is missing.
    pub fn require(&self, kind: Kind, key: &str) -> Result<&str, AwsError> {
        self.get(kind, key).ok_or_else(|| {
            AwsError::msg(format!(
                "internal error: no {key} of a {kind} among this resource's dependencies"
            ))
        })
    }
}

/// The attributes a plan found different (dotted paths such as `retention_hours` or
/// `tags.team`), so an update changes only those.
#[derive(Debug, Clone, Default)]
pub struct Changes(Vec<String>);

impl Changes {
    /// The changed paths of a plan's change.
    pub fn new(paths: Vec<String>) -> Self {
        Self(paths)
    }

    /// What differs between a declared spec and a live one (e.g. read back after a create).
    pub fn between<S: Spec>(desired: &S, live: &S) -> Self {
        let (d, l) = (to_value(desired), to_value(live));
        Self(
            attribute_changes(S::KIND, Some(&l), Some(&d))
                .into_iter()
                .map(|a| a.path)
                .collect(),
        )
    }

    /// True if `field` or anything under it changed.
    pub fn touches(&self, field: &str) -> bool {
        self.0.iter().any(|p| {
            p == field
                || p.strip_prefix(field)
                    .is_some_and(|rest| rest.starts_with('.'))
        })
    }

    /// True if nothing changed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A live resource to delete: declared and read (its spec known), or found by listing (only
/// name and tags known, so `spec` is `None`).
#[derive(Debug, Clone)]
pub struct Gone<S> {
    /// Physical identity.
    pub physical: String,
    /// The live spec, when it was read in full.
    pub spec: Option<S>,
    /// What AWS assigned.
    pub outputs: Outputs,
}

/// A live resource found by listing a service.
#[derive(Debug, Clone, Default)]
pub struct Listed {
    /// Physical identity.
    pub physical: String,
    /// Live spec; at least `name` and `tags`.
    pub spec: Value,
    /// What AWS assigned.
    pub outputs: Outputs,
}

/// Read, create, update, delete and list for one resource kind, on its typed spec. Every step
/// is idempotent: create tolerates "already exists" and delete tolerates "not found", so a
/// rerun after a crash converges.
#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// The kind's spec.
    type Spec: Spec + Send + Sync;

    /// The live resource, normalised to the declared shape; `None` if absent.
    async fn read(
        &self,
        aws: &Aws,
        desired: &Self::Spec,
        inputs: &Inputs,
    ) -> Result<Option<Observed<Self::Spec>>, AwsError>;

    /// Creates the resource, waits until it is usable, and returns what AWS assigned.
    async fn create(
        &self,
        aws: &Aws,
        desired: &Self::Spec,
        inputs: &Inputs,
    ) -> Result<Outputs, AwsError>;

    /// The end of a create: reads the new resource back and brings what the create call could
    /// not set (or a leftover it found in place) to the declaration; its outputs.
    async fn settle(
        &self,
        aws: &Aws,
        desired: &Self::Spec,
        inputs: &Inputs,
    ) -> Result<Outputs, AwsError> {
        let live = self.read(aws, desired, inputs).await?.ok_or_else(|| {
            let kind = <Self::Spec as Spec>::KIND;
            AwsError::msg(format!(
                "{kind} {} vanished after creation",
                desired.physical()
            ))
        })?;
        let changes = Changes::between(desired, &live.spec);
        self.update(aws, desired, &live, &changes, inputs).await?;
        Ok(live.outputs)
    }

    /// Changes the live resource in place where the plan found `changes`.
    async fn update(
        &self,
        aws: &Aws,
        desired: &Self::Spec,
        live: &Observed<Self::Spec>,
        changes: &Changes,
        inputs: &Inputs,
    ) -> Result<(), AwsError>;

    /// Deletes the resource and waits until it is gone.
    async fn delete(&self, aws: &Aws, gone: &Gone<Self::Spec>) -> Result<(), AwsError>;

    /// Taggable kinds: resources whose name starts with `prefix`, except those in `skip`,
    /// with their tags. Sub-resources return nothing: they go with their parent.
    async fn list(
        &self,
        _aws: &Aws,
        _prefix: &str,
        _skip: &[String],
    ) -> Result<Vec<Listed>, AwsError> {
        Ok(Vec::new())
    }

    /// Sub-resource kinds that a config adds and removes under a parent (see
    /// [`Kind::members_of`]): the live members under `parent`, a declared resource of the
    /// parent kind found live with `parent_outputs` and owned by `instance`, each with a spec
    /// that `delete` takes. Only members this tool could have made are returned; the engine
    /// drops the declared ones and plans the rest as deletions. `declared` holds the physical
    /// identities of the declared members of the kind, which a provider need not read again.
    async fn members(
        &self,
        _aws: &Aws,
        _parent: &Resource,
        _parent_outputs: &Outputs,
        _instance: &str,
        _declared: &[String],
    ) -> Result<Vec<Listed>, AwsError> {
        Ok(Vec::new())
    }
}

/// A live resource in the engine's dynamic form.
pub type LiveValue = (Value, Outputs);

/// What the engine walks: every [`Provider`] on JSON specs, through the blanket impl below.
#[async_trait]
pub trait DynProvider: Send + Sync {
    /// See [`Provider::read`].
    async fn read(
        &self,
        aws: &Aws,
        desired: &Resource,
        inputs: &Inputs,
    ) -> Result<Option<LiveValue>, AwsError>;
    /// See [`Provider::create`].
    async fn create(
        &self,
        aws: &Aws,
        desired: &Resource,
        inputs: &Inputs,
    ) -> Result<Outputs, AwsError>;
    /// See [`Provider::update`]; `live` is the planned live resource.
    async fn update(
        &self,
        aws: &Aws,
        desired: &Resource,
        live: &LiveValue,
        changes: &Changes,
        inputs: &Inputs,
    ) -> Result<(), AwsError>;
    /// See [`Provider::delete`]; `live` is a full read or what a listing found.
    async fn delete(&self, aws: &Aws, physical: &str, live: &LiveValue) -> Result<(), AwsError>;
    /// See [`Provider::list`].
    async fn list(&self, aws: &Aws, prefix: &str, skip: &[String])
        -> Result<Vec<Listed>, AwsError>;
    /// See [`Provider::members`].
    async fn members(
        &self,
        aws: &Aws,
        parent: &Resource,
        parent_outputs: &Outputs,
        instance: &str,
        declared: &[String],
    ) -> Result<Vec<Listed>, AwsError>;
}

/// A spec value as its typed struct. Specs are built by the tool, so a failure is an internal
/// error; it names the kind.
pub(crate) fn from_value<S: Spec>(v: &Value) -> Result<S, AwsError> {
    serde_json::from_value(v.clone())
        .map_err(|e| AwsError::msg(format!("malformed {} spec: {e}", S::KIND)))
}

/// A typed spec as the engine's JSON form.
pub(crate) fn to_value<S: serde::Serialize>(s: &S) -> Value {
    serde_json::to_value(s).expect("specs serialise to JSON")
}

#[async_trait]
impl<P: Provider> DynProvider for P {
    async fn read(
        &self,
        aws: &Aws,
        desired: &Resource,
        inputs: &Inputs,
    ) -> Result<Option<LiveValue>, AwsError> {
        let desired: P::Spec = from_value(&desired.spec)?;
        Ok(Provider::read(self, aws, &desired, inputs)
            .await?
            .map(|o| (to_value(&o.spec), o.outputs)))
    }

    async fn create(
        &self,
        aws: &Aws,
        desired: &Resource,
        inputs: &Inputs,
    ) -> Result<Outputs, AwsError> {
        let desired: P::Spec = from_value(&desired.spec)?;
        Provider::create(self, aws, &desired, inputs).await
    }

    async fn update(
        &self,
        aws: &Aws,
        desired: &Resource,
        live: &LiveValue,
        changes: &Changes,
        inputs: &Inputs,
    ) -> Result<(), AwsError> {
        let desired: P::Spec = from_value(&desired.spec)?;
        let live = Observed {
            spec: from_value(&live.0)?,
            outputs: live.1.clone(),
        };
        Provider::update(self, aws, &desired, &live, changes, inputs).await
    }

    async fn delete(&self, aws: &Aws, physical: &str, live: &LiveValue) -> Result<(), AwsError> {
        let gone = Gone {
            physical: physical.to_string(),
            // A listing finds only name and tags, which do not make a whole spec.
            spec: serde_json::from_value(live.0.clone()).ok(),
            outputs: live.1.clone(),
        };
        Provider::delete(self, aws, &gone).await
    }

    async fn list(
        &self,
        aws: &Aws,
        prefix: &str,
        skip: &[String],
    ) -> Result<Vec<Listed>, AwsError> {
        Provider::list(self, aws, prefix, skip).await
    }

    async fn members(
        &self,
        aws: &Aws,
        parent: &Resource,
        parent_outputs: &Outputs,
        instance: &str,
        declared: &[String],
    ) -> Result<Vec<Listed>, AwsError> {
        Provider::members(self, aws, parent, parent_outputs, instance, declared).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_touch_a_field_and_what_is_under_it_only() {
        let c = Changes::new(vec!["tags.team".into(), "retention_hours".into()]);
        assert!(c.touches("tags"));
        assert!(c.touches("tags.team"));
        assert!(c.touches("retention_hours"));
        assert!(!c.touches("retention"));
        assert!(!c.touches("tag"));
        assert!(!c.touches("mode"));
    }

    #[test]
    fn inputs_are_found_by_the_dependency_kind() {
        let inputs = Inputs::new(BTreeMap::from([(
            "apigw_rest_api.api".to_string(),
            Outputs::from([("id".to_string(), "abc123".to_string())]),
        )]));
        assert_eq!(inputs.get(Kind::ApigwRestApi, "id"), Some("abc123"));
        assert_eq!(inputs.get(Kind::ApigwStage, "id"), None);
        assert!(inputs.require(Kind::CognitoUserPool, "id").is_err());
    }
}
