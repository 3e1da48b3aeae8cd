//! The Kinesis -> `process` event source mapping. AWS identifies a mapping by a UUID (its
//! `uuid` output); the declaration by function name and event source ARN.

use super::{no_sdk_retries, LAMBDA, NOT_FOUND, WAIT};
use crate::aws::checked::create_checked;
use crate::aws::kit::{all_pages, poll_until, Absent};
use crate::aws::provider::to_value;
use crate::aws::{
    Aws, AwsError, Changes, Found, Gone, Inputs, Listed, Observed, Outputs, Provider,
};
use crate::model::lambda::EventSourceMappingSpec;
use crate::model::{Resource, Spec};
use async_trait::async_trait;
use aws_sdk_lambda::types::{
    DestinationConfig, EventSourceMappingConfiguration, EventSourcePosition, FunctionResponseType,
    OnFailure,
};
use std::sync::Arc;
use std::time::Duration;

/// States of a mapping in transition: no update or delete is accepted meanwhile.
const TRANSITIONS: &[&str] = &["Creating", "Enabling", "Disabling", "Updating", "Deleting"];

/// A live mapping: its spec, its UUID, and whether it is being deleted.
#[derive(Clone)]
struct LiveMapping {
    spec: EventSourceMappingSpec,
    uuid: String,
    deleting: bool,
}

impl LiveMapping {
    fn observed(self) -> Observed<EventSourceMappingSpec> {
        Observed::with(self.spec, "uuid", self.uuid)
    }
}

fn mapping_spec(function: &str, m: &EventSourceMappingConfiguration) -> EventSourceMappingSpec {
    let mut types: Vec<String> = m
        .function_response_types()
        .iter()
        .map(|t| t.as_str().to_string())
        .collect();
    types.sort();
    EventSourceMappingSpec {
        function_name: function.to_string(),
        event_source_arn: m.event_source_arn().unwrap_or_default().to_string(),
        starting_position: m
            .starting_position()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default(),
        batch_size: m.batch_size().unwrap_or_default(),
        batching_window_seconds: m.maximum_batching_window_in_seconds().unwrap_or(0),
        parallelization_factor: m.parallelization_factor().unwrap_or(1),
        bisect_on_error: m.bisect_batch_on_function_error().unwrap_or(false),
        maximum_retries: m.maximum_retry_attempts().unwrap_or(-1),
        function_response_types: types,
        on_failure_destination: m
            .destination_config()
            .and_then(|d| d.on_failure())
            .and_then(|o| o.destination())
            .map(str::to_string),
        enabled: !matches!(m.state(), Some("Disabled") | Some("Disabling")),
    }
}

/// Every event source mapping of a function; none if the function does not exist. One
/// listing a function, shared by a live-state read's mapping read and the function's members.
async fn mappings(aws: &Aws, function: &str) -> Result<Arc<Vec<LiveMapping>>, AwsError> {
    aws.listings
        .shared(
            &format!("lambda:event-source-mappings:{function}"),
            || async {
                let pages = aws.lambda.list_event_source_mappings();
                let pages = pages.function_name(function).into_paginator().send();
                let what = format!(
                    "failed to list the event source mappings of Lambda function {function}"
                );
                // None: the function does not exist, nor then its mappings.
                let pages = all_pages(pages, what).await.or_absent(NOT_FOUND)?;
                let mappings = pages
                    .iter()
                    .flatten()
                    .flat_map(|p| p.event_source_mappings());
                let live = mappings.map(|m| LiveMapping {
                    spec: mapping_spec(function, m),
                    uuid: m.uuid().unwrap_or_default().to_string(),
                    deleting: m.state() == Some("Deleting"),
                });
                Ok(live.collect())
            },
        )
        .await
}

/// The live mapping of a function from a source, if any.
async fn find_mapping(
    aws: &Aws,
    function: &str,
    source: &str,
) -> Result<Option<LiveMapping>, AwsError> {
    Ok(mappings(aws, function)
        .await?
        .iter()
        .find(|m| !m.deleting && m.spec.event_source_arn == source)
        .cloned())
}

/// Waits until a mapping is out of its transitional states (or gone, if `gone`).
async fn wait_mapping(aws: &Aws, uuid: &str, gone: bool) -> Result<(), AwsError> {
    let what = if gone {
        format!("event source mapping {uuid} is gone")
    } else {
        format!("event source mapping {uuid} is out of transition")
    };
    poll_until(what, WAIT, Duration::from_secs(2), || async {
        let state = aws
            .lambda
            .get_event_source_mapping()
            .uuid(uuid)
            .send()
            .await
            .map_err(AwsError::from)
            .or_absent(NOT_FOUND)
            .map_err(|e| e.context(format!("failed to read event source mapping {uuid}")))?;
        let Some(state) = state else {
            return Ok(Some(()));
        };
        let settled = !state.state().is_some_and(|s| TRANSITIONS.contains(&s));
        Ok((settled && !gone).then_some(()))
    })
    .await
}

/// Deletes a mapping once it is out of transition, and waits until it is gone.
async fn delete_mapping(aws: &Aws, uuid: &str) -> Result<(), AwsError> {
    wait_mapping(aws, uuid, false).await?;
    let call = aws.lambda.delete_event_source_mapping().uuid(uuid).send();
    aws.mutate(
        LAMBDA,
        format!("failed to delete event source mapping {uuid}"),
        call,
    )
    .await
    .tolerate(NOT_FOUND)?;
    wait_mapping(aws, uuid, true).await
}

/// Deletes every event source mapping of a function (they outlive it in AWS).
pub(super) async fn delete_function_mappings(aws: &Aws, function: &str) -> Result<(), AwsError> {
    for m in mappings(aws, function).await?.iter() {
        delete_mapping(aws, &m.uuid).await?;
    }
    Ok(())
}

fn destination(s: &EventSourceMappingSpec) -> DestinationConfig {
    DestinationConfig::builder()
        .on_failure(
            OnFailure::builder()
                .set_destination(s.on_failure_destination.clone())
                .build(),
        )
        .build()
}

fn response_types(s: &EventSourceMappingSpec) -> Vec<FunctionResponseType> {
    s.function_response_types
        .iter()
        .map(|t| FunctionResponseType::from(t.as_str()))
        .collect()
}

/// Every setting both CreateEventSourceMapping and UpdateEventSourceMapping take, on either
/// builder (they share no trait, hence a macro).
macro_rules! with_settings {
    ($builder:expr, $s:expr) => {
        $builder
            .function_name(&$s.function_name)
            .batch_size($s.batch_size)
            .maximum_batching_window_in_seconds($s.batching_window_seconds)
            .parallelization_factor($s.parallelization_factor)
            .bisect_batch_on_function_error($s.bisect_on_error)
            .maximum_retry_attempts($s.maximum_retries)
            .set_function_response_types(Some(response_types($s)))
            .destination_config(destination($s))
            .enabled($s.enabled)
    };
}

/// UpdateEventSourceMapping with every declared setting, then waits until it is applied.
async fn converge(aws: &Aws, s: &EventSourceMappingSpec, uuid: &str) -> Result<(), AwsError> {
    let builder = aws.lambda.update_event_source_mapping().uuid(uuid);
    let call = with_settings!(builder, s).send();
    let what = format!(
        "failed to update event source mapping {uuid} of {}",
        s.function_name
    );
    aws.mutate(LAMBDA, what, call).await?;
    wait_mapping(aws, uuid, false).await
}

fn uuid_output(uuid: String) -> Outputs {
    Outputs::from([("uuid".to_string(), uuid)])
}

/// The Kinesis -> `process` event source mapping.
pub struct EventSourceMapping;

#[async_trait]
impl Provider for EventSourceMapping {
    type Spec = EventSourceMappingSpec;

    async fn read(
        &self,
        aws: &Aws,
        s: &EventSourceMappingSpec,
        _: &Inputs,
    ) -> Found<EventSourceMappingSpec> {
        Ok(find_mapping(aws, &s.function_name, &s.event_source_arn)
            .await?
            .map(LiveMapping::observed))
    }

    async fn create(
        &self,
        aws: &Aws,
        s: &EventSourceMappingSpec,
        _: &Inputs,
    ) -> Result<Outputs, AwsError> {
        if let Some(live) = find_mapping(aws, &s.function_name, &s.event_source_arn).await? {
            wait_mapping(aws, &live.uuid, false).await?;
            if !Changes::between(s, &live.spec).is_empty() {
                converge(aws, s, &live.uuid).await?;
            }
            return Ok(uuid_output(live.uuid));
        }
        // A lost answer is looked up by function and source before any retry (see
        // `create_checked`): AWS refuses a second mapping of the pair, some emulators make one.
        let uuid = create_checked(
            &format!(
                "create the event source mapping {} -> {}",
                s.event_source_arn, s.function_name
            ),
            || async move {
                aws.throttle(LAMBDA).await;
                let builder = aws
                    .lambda
                    .create_event_source_mapping()
                    .event_source_arn(&s.event_source_arn)
                    .starting_position(EventSourcePosition::from(s.starting_position.as_str()));
                let out = with_settings!(builder, s)
                    .customize()
                    .config_override(no_sdk_retries())
                    .send()
                    .await
                    .map_err(AwsError::from)?;
                Ok(out.uuid().unwrap_or_default().to_string())
            },
            || async move {
                let found = find_mapping(aws, &s.function_name, &s.event_source_arn).await?;
                Ok(found.map(|m| m.uuid))
            },
        )
        .await?;
        wait_mapping(aws, &uuid, false).await?;
        Ok(uuid_output(uuid))
    }

    async fn update(
        &self,
        aws: &Aws,
        s: &EventSourceMappingSpec,
        live: &Observed<EventSourceMappingSpec>,
        _changes: &Changes,
        _: &Inputs,
    ) -> Result<(), AwsError> {
        let uuid = match live.outputs.get("uuid") {
            Some(u) => u.clone(),
            None => find_mapping(aws, &s.function_name, &s.event_source_arn)
                .await?
                .map(|m| m.uuid)
                .ok_or_else(|| {
                    AwsError::msg(format!(
                        "the event source mapping {} -> {} is gone",
                        s.event_source_arn, s.function_name
                    ))
                })?,
        };
        wait_mapping(aws, &uuid, false).await?;
        converge(aws, s, &uuid).await
    }

    async fn delete(&self, aws: &Aws, gone: &Gone<EventSourceMappingSpec>) -> Result<(), AwsError> {
        let uuid = match (gone.outputs.get("uuid"), &gone.spec) {
            (Some(u), _) => Some(u.clone()),
            (None, Some(l)) => find_mapping(aws, &l.function_name, &l.event_source_arn)
                .await?
                .map(|m| m.uuid),
            (None, None) => None,
        };
        match uuid {
            Some(uuid) => delete_mapping(aws, &uuid).await,
            None => Ok(()),
        }
    }

    /// The function's mappings from this instance's Kinesis streams (named `<instance>-...`);
    /// mappings from anyone else's sources are left alone.
    async fn members(
        &self,
        aws: &Aws,
        parent: &Resource,
        _parent_outputs: &Outputs,
        instance: &str,
        _declared: &[String],
    ) -> Result<Vec<Listed>, AwsError> {
        let ours = format!("{instance}-");
        Ok(mappings(aws, &parent.physical)
            .await?
            .iter()
            .filter(|m| {
                !m.deleting
                    && m.spec
                        .event_source_arn
                        .rsplit_once(":stream/")
                        .is_some_and(|(_, name)| name.starts_with(&ours))
            })
            .map(|m| Listed {
                physical: m.spec.physical(),
                spec: to_value(&m.spec),
                outputs: uuid_output(m.uuid.clone()),
            })
            .collect())
    }
}
