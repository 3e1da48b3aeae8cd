//! Providers not yet moved to the typed [`Provider`](super::Provider) contract, adapted to
//! what the engine walks. Their reads keep AWS-assigned IDs under `_id` in the live spec; the
//! adapter hands that on as the `id` output.

use super::provider::{self, Changes, DynProvider, Inputs, LiveValue, Outputs};
use super::{Aws, AwsError};
use crate::model::Resource;
use async_trait::async_trait;
use serde_json::Value;

/// A live resource found by listing: physical identity and a spec of at least name and tags.
#[derive(Debug, Clone)]
pub struct Listed {
    /// Physical identity.
    pub physical: String,
    /// Live spec, with the ID under `_id` where the kind has one.
    pub spec: Value,
}

/// The untyped contract: specs as JSON, nothing returned by create.
#[async_trait]
pub trait LegacyProvider: Send + Sync {
    /// The live spec, normalised to the declared shape; `None` if absent.
    async fn read(&self, aws: &Aws, desired: &Resource) -> Result<Option<Value>, AwsError>;
    /// Creates the resource and waits until it is usable.
    async fn create(&self, aws: &Aws, desired: &Resource) -> Result<(), AwsError>;
    /// Changes the live resource in place to match the declaration.
    async fn update(&self, aws: &Aws, desired: &Resource, live: &Value) -> Result<(), AwsError>;
    /// Deletes the resource and waits until it is gone.
    async fn delete(&self, aws: &Aws, physical: &str, live: &Value) -> Result<(), AwsError>;
    /// See [`super::Provider::list`].
    async fn list(
        &self,
        _aws: &Aws,
        _prefix: &str,
        _skip: &[String],
    ) -> Result<Vec<Listed>, AwsError> {
        Ok(Vec::new())
    }
    /// See [`super::Provider::members`]; `parent_live` carries the parent's `_id`.
    async fn members(
        &self,
        _aws: &Aws,
        _parent: &Resource,
        _parent_live: &Value,
        _instance: &str,
    ) -> Result<Vec<Listed>, AwsError> {
        Ok(Vec::new())
    }
}

/// A [`LegacyProvider`] as the engine walks it.
pub struct Legacy<P>(pub P);

fn outputs_of(spec: &Value) -> Outputs {
    spec.get("_id")
        .and_then(Value::as_str)
        .map(|id| Outputs::from([("id".to_string(), id.to_string())]))
        .unwrap_or_default()
}

fn with_outputs(found: Vec<Listed>) -> Vec<provider::Listed> {
    found
        .into_iter()
        .map(|l| provider::Listed {
            outputs: outputs_of(&l.spec),
            physical: l.physical,
            spec: l.spec,
        })
        .collect()
}

#[async_trait]
impl<P: LegacyProvider> DynProvider for Legacy<P> {
    async fn read(
        &self,
        aws: &Aws,
        desired: &Resource,
        _inputs: &Inputs,
    ) -> Result<Option<LiveValue>, AwsError> {
        Ok(self.0.read(aws, desired).await?.map(|v| {
            let outputs = outputs_of(&v);
            (v, outputs)
        }))
    }

    async fn create(
        &self,
        aws: &Aws,
        desired: &Resource,
        _inputs: &Inputs,
    ) -> Result<Outputs, AwsError> {
        self.0.create(aws, desired).await?;
        // Legacy creates return nothing: read the IDs back for dependents.
        Ok(self
            .0
            .read(aws, desired)
            .await?
            .map(|v| outputs_of(&v))
            .unwrap_or_default())
    }

    async fn update(
        &self,
        aws: &Aws,
        desired: &Resource,
        live: &LiveValue,
        _changes: &Changes,
        _inputs: &Inputs,
    ) -> Result<(), AwsError> {
        self.0.update(aws, desired, &live.0).await
    }

    async fn delete(&self, aws: &Aws, physical: &str, live: &LiveValue) -> Result<(), AwsError> {
        self.0.delete(aws, physical, &live.0).await
    }

    async fn list(
        &self,
        aws: &Aws,
        prefix: &str,
        skip: &[String],
    ) -> Result<Vec<provider::Listed>, AwsError> {
        Ok(with_outputs(self.0.list(aws, prefix, skip).await?))
    }

    async fn members(
        &self,
        aws: &Aws,
        parent: &Resource,
        parent_outputs: &Outputs,
        instance: &str,
    ) -> Result<Vec<provider::Listed>, AwsError> {
        let parent_live = serde_json::json!({ "_id": parent_outputs.get("id") });
        Ok(with_outputs(
            self.0.members(aws, parent, &parent_live, instance).await?,
        ))
    }
}
