//! Lambda: functions (zip code, configuration, reserved concurrency, tags), the Kinesis
//! event source mapping of `process`, and the invoke permissions of API Gateway.

use super::checked::create_checked;
use super::legacy::{LegacyProvider as Provider, Listed};
use super::{spec, Aws, AwsError};
use crate::model::lambda::{EventSourceMappingSpec, FunctionSpec, PermissionSpec};
use crate::model::{Resource, Service, Spec, Tags};
use async_trait::async_trait;
use aws_sdk_lambda::client::Waiters;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    Architecture, DestinationConfig, Environment, EventSourcePosition, FunctionCode,
    FunctionResponseType, OnFailure, Runtime,
};
use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};

const NOT_FOUND: &[&str] = &["ResourceNotFoundException"];
const WAIT: Duration = Duration::from_secs(300);
/// How long a create keeps retrying while a new role is not yet assumable (IAM is
/// eventually consistent: a role can take seconds to be usable by Lambda).
const ROLE_PROPAGATION: Duration = Duration::from_secs(120);

/// Per-call configuration that turns the SDK's own retries off, for the creates that
/// [`create_checked`] retries itself.
fn no_sdk_retries() -> aws_sdk_lambda::config::Builder {
    aws_sdk_lambda::config::Builder::default()
        .retry_config(aws_sdk_lambda::config::retry::RetryConfig::disabled())
}

fn function_arn(aws: &Aws, name: &str) -> String {
    format!(
        "arn:aws:lambda:{}:{}:function:{name}",
        aws.region, aws.account
    )
}

fn architecture(name: &str) -> Architecture {
    Architecture::from(name)
}

/// Reads the deployment package and checks it is still the one planned.
fn package(s: &FunctionSpec) -> Result<Vec<u8>, AwsError> {
    let path = s.zip_path.as_deref().ok_or_else(|| {
        AwsError::msg(format!(
            "no deployment package declared for Lambda function {}",
            s.name
        ))
    })?;
    let bytes = std::fs::read(path).map_err(|e| {
        AwsError::msg(format!(
            "cannot read the deployment package {path} of {} ({e}); run `ecomflow-infra build`",
            s.name
        ))
    })?;
    let sha = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&bytes));
    if sha != s.code_sha256 {
        return Err(AwsError::msg(format!(
            "the deployment package {path} changed since the plan was made \
             (SHA-256 {sha}, planned {}); plan again",
            s.code_sha256
        )));
    }
    Ok(bytes)
}

fn environment(s: &FunctionSpec) -> Environment {
    Environment::builder()
        .set_variables(Some(s.environment.clone().into_iter().collect()))
        .build()
}

async fn wait_updated(aws: &Aws, name: &str) -> Result<(), AwsError> {
    aws.lambda
        .wait_until_function_updated_v2()
        .function_name(name)
        .wait(WAIT)
        .await
        .map_err(|e| {
            AwsError::msg(format!(
                "Lambda function {name} did not finish updating: {e}"
            ))
        })?;
    Ok(())
}

async fn read_function(aws: &Aws, name: &str) -> Result<Option<FunctionSpec>, AwsError> {
    let out = match aws.lambda.get_function().function_name(name).send().await {
        Ok(out) => out,
        Err(e) => {
            let e = AwsError::from(e);
            return if e.is(NOT_FOUND) {
                Ok(None)
            } else {
                Err(e.context(format!("failed to read Lambda function {name}")))
            };
        }
    };
    let Some(c) = out.configuration() else {
        return Ok(None);
    };
    let tags: Tags = out
        .tags()
        .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    Ok(Some(FunctionSpec {
        name: name.to_string(),
        role_arn: c.role().unwrap_or_default().to_string(),
        runtime: c
            .runtime()
            .map(|r| r.as_str().to_string())
            .unwrap_or_default(),
        handler: c.handler().unwrap_or_default().to_string(),
        architecture: c
            .architectures()
            .first()
            .map(|a| a.as_str().to_string())
            .unwrap_or_else(|| "x86_64".into()),
        memory_mb: c.memory_size().unwrap_or_default(),
        timeout_seconds: c.timeout().unwrap_or_default(),
        reserved_concurrency: out
            .concurrency()
            .and_then(|c| c.reserved_concurrent_executions()),
        environment: c
            .environment()
            .and_then(|e| e.variables())
            .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
        code_sha256: c.code_sha256().unwrap_or_default().to_string(),
        zip_path: None,
        tags,
    }))
}

/// Brings a live function to the declaration, one kind of call at a time: code only when
/// the SHA-256 (or the architecture) differs, configuration only when it differs.
async fn converge_function(aws: &Aws, s: &FunctionSpec, l: &FunctionSpec) -> Result<(), AwsError> {
    let name = &s.name;
    let fail = |what: &'static str| {
        move |e: AwsError| e.context(format!("failed to {what} of Lambda function {name}"))
    };
    if s.code_sha256 != l.code_sha256 || s.architecture != l.architecture {
        let bytes = package(s)?;
        aws.throttle(Service::Lambda).await;
        aws.lambda
            .update_function_code()
            .function_name(name)
            .zip_file(Blob::new(bytes))
            .architectures(architecture(&s.architecture))
            .send()
            .await
            .map_err(|e| fail("update the code")(e.into()))?;
        wait_updated(aws, name).await?;
    }
    if s.role_arn != l.role_arn
        || s.runtime != l.runtime
        || s.handler != l.handler
        || s.memory_mb != l.memory_mb
        || s.timeout_seconds != l.timeout_seconds
        || s.environment != l.environment
    {
        aws.throttle(Service::Lambda).await;
        aws.lambda
            .update_function_configuration()
            .function_name(name)
            .role(&s.role_arn)
            .runtime(Runtime::from(s.runtime.as_str()))
            .handler(&s.handler)
            .memory_size(s.memory_mb)
            .timeout(s.timeout_seconds)
            .environment(environment(s))
            .send()
            .await
            .map_err(|e| fail("update the configuration")(e.into()))?;
        wait_updated(aws, name).await?;
    }
    if s.reserved_concurrency != l.reserved_concurrency {
        aws.throttle(Service::Lambda).await;
        match s.reserved_concurrency {
            Some(n) => {
                aws.lambda
                    .put_function_concurrency()
                    .function_name(name)
                    .reserved_concurrent_executions(n)
                    .send()
                    .await
                    .map_err(|e| fail("reserve the concurrency")(e.into()))?;
            }
            None => {
                aws.lambda
                    .delete_function_concurrency()
                    .function_name(name)
                    .send()
                    .await
                    .map_err(|e| fail("release the reserved concurrency")(e.into()))?;
            }
        }
    }
    let arn = function_arn(aws, name);
    let stale = crate::model::stale_tags(&s.tags, &l.tags);
    if !stale.is_empty() {
        aws.throttle(Service::Lambda).await;
        aws.lambda
            .untag_resource()
            .resource(&arn)
            .set_tag_keys(Some(stale))
            .send()
            .await
            .map_err(|e| fail("untag")(e.into()))?;
    }
    let changed: std::collections::HashMap<String, String> =
        crate::model::changed_tags(&s.tags, &l.tags)
            .into_iter()
            .collect();
    if !changed.is_empty() {
        aws.throttle(Service::Lambda).await;
        aws.lambda
            .tag_resource()
            .resource(&arn)
            .set_tags(Some(changed))
            .send()
            .await
            .map_err(|e| fail("tag")(e.into()))?;
    }
    Ok(())
}

/// A Lambda function.
pub struct Function;

#[async_trait]
impl Provider for Function {
    async fn read(&self, aws: &Aws, desired: &Resource) -> Result<Option<Value>, AwsError> {
        Ok(read_function(aws, &desired.physical)
            .await?
            .map(|s| serde_json::to_value(s).expect("specs serialise")))
    }

    async fn create(&self, aws: &Aws, desired: &Resource) -> Result<(), AwsError> {
        let s: FunctionSpec = spec(&desired.spec)?;
        let bytes = package(&s)?;
        let started = Instant::now();
        let mut delay = Duration::from_secs(2);
        loop {
            aws.throttle(Service::Lambda).await;
            let created = aws
                .lambda
                .create_function()
                .function_name(&s.name)
                .role(&s.role_arn)
                .runtime(Runtime::from(s.runtime.as_str()))
                .handler(&s.handler)
                .architectures(architecture(&s.architecture))
                .memory_size(s.memory_mb)
                .timeout(s.timeout_seconds)
                .environment(environment(&s))
                .code(
                    FunctionCode::builder()
                        .zip_file(Blob::new(bytes.clone()))
                        .build(),
                )
                .set_tags(Some(s.tags.clone().into_iter().collect()))
                .send()
                .await;
            match created {
                Ok(_) => break,
                Err(e) => {
                    let e = AwsError::from(e);
                    if e.is(&["ResourceConflictException"]) {
                        break; // exists already: converged below
                    }
                    let role_not_ready = e.is(&["InvalidParameterValueException"])
                        && e.message.contains("cannot be assumed");
                    if role_not_ready && started.elapsed() < ROLE_PROPAGATION {
                        tracing::debug!(
                            "the role of Lambda function {} is not assumable yet; retrying in {delay:?}",
                            s.name
                        );
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(Duration::from_secs(20));
                        continue;
                    }
                    return Err(e.context(format!("failed to create Lambda function {}", s.name)));
                }
            }
        }
        aws.lambda
            .wait_until_function_active_v2()
            .function_name(&s.name)
            .wait(WAIT)
            .await
            .map_err(|e| {
                AwsError::msg(format!(
                    "Lambda function {} did not become Active: {e}",
                    s.name
                ))
            })?;
        let live = read_function(aws, &s.name).await?.ok_or_else(|| {
            AwsError::msg(format!(
                "Lambda function {} vanished after creation",
                s.name
            ))
        })?;
        converge_function(aws, &s, &live).await
    }

    async fn update(&self, aws: &Aws, desired: &Resource, live: &Value) -> Result<(), AwsError> {
        converge_function(aws, &spec(&desired.spec)?, &spec(live)?).await
    }

    async fn delete(&self, aws: &Aws, physical: &str, _live: &Value) -> Result<(), AwsError> {
        // Event source mappings outlive their function in AWS; as sub-resources of the
        // function (the engine does not delete those separately) they go with it. The
        // resource policy (permissions) is part of the function and goes by itself.
        for uuid in mapping_uuids(aws, physical).await? {
            delete_mapping(aws, &uuid).await?;
        }
        aws.throttle(Service::Lambda).await;
        if let Err(e) = aws
            .lambda
            .delete_function()
            .function_name(physical)
            .send()
            .await
        {
            let e = AwsError::from(e);
            if !e.is(NOT_FOUND) {
                return Err(e.context(format!("failed to delete Lambda function {physical}")));
            }
        }
        Ok(())
    }

    async fn list(
        &self,
        aws: &Aws,
        prefix: &str,
        skip: &[String],
    ) -> Result<Vec<Listed>, AwsError> {
        let mut out = Vec::new();
        let mut pages = aws.lambda.list_functions().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| AwsError::from(e).context("failed to list Lambda functions"))?;
            for f in page.functions() {
                let name = f.function_name().unwrap_or_default();
                if !name.starts_with(prefix) || skip.iter().any(|s| s == name) {
                    continue;
                }
                let arn = f
                    .function_arn()
                    .map(str::to_string)
                    .unwrap_or_else(|| function_arn(aws, name));
                let tags: Tags = match aws.lambda.list_tags().resource(&arn).send().await {
                    Ok(t) => t
                        .tags()
                        .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                        .unwrap_or_default(),
                    Err(e) => {
                        let e = AwsError::from(e);
                        if e.is(NOT_FOUND) {
                            continue;
                        }
                        return Err(
                            e.context(format!("failed to list tags of Lambda function {name}"))
                        );
                    }
                };
                out.push(Listed {
                    physical: name.to_string(),
                    spec: json!({"name": name, "tags": tags}),
                });
            }
        }
        Ok(out)
    }
}

/// States of a mapping in transition: no update or delete is accepted meanwhile.
const TRANSITIONS: &[&str] = &["Creating", "Enabling", "Disabling", "Updating", "Deleting"];

/// The live mapping of a function from a source, if any (one `ListEventSourceMappings`).
async fn find_mapping(
    aws: &Aws,
    function: &str,
    source: &str,
) -> Result<Option<EventSourceMappingSpec>, AwsError> {
    Ok(mappings(aws, function, Some(source))
        .await?
        .into_iter()
        .find(|(m, deleting)| !deleting && m.event_source_arn == source)
        .map(|(m, _)| m))
}

/// Every event source mapping of a function (only those from `source`, if given), each with
/// whether it is being deleted; none if the function does not exist.
async fn mappings(
    aws: &Aws,
    function: &str,
    source: Option<&str>,
) -> Result<Vec<(EventSourceMappingSpec, bool)>, AwsError> {
    let mut out = Vec::new();
    let mut pages = aws
        .lambda
        .list_event_source_mappings()
        .function_name(function)
        .set_event_source_arn(source.map(str::to_string))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = match page {
            Ok(p) => p,
            Err(e) => {
                let e = AwsError::from(e);
                if e.is(NOT_FOUND) {
                    break; // the function does not exist
                }
                return Err(e.context(format!(
                    "failed to list the event source mappings of Lambda function {function}"
                )));
            }
        };
        for m in page.event_source_mappings() {
            let mut types: Vec<String> = m
                .function_response_types()
                .iter()
                .map(|t| t.as_str().to_string())
                .collect();
            types.sort();
            let spec = EventSourceMappingSpec {
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
                uuid: m.uuid().map(str::to_string),
            };
            out.push((spec, m.state() == Some("Deleting")));
        }
    }
    Ok(out)
}

/// Waits until a mapping is out of its transitional states (or gone, if `gone`).
async fn wait_mapping(aws: &Aws, uuid: &str, gone: bool) -> Result<(), AwsError> {
    let deadline = Instant::now() + WAIT;
    loop {
        let state = match aws
            .lambda
            .get_event_source_mapping()
            .uuid(uuid)
            .send()
            .await
        {
            Ok(m) => m.state().map(str::to_string),
            Err(e) => {
                let e = AwsError::from(e);
                if e.is(NOT_FOUND) {
                    return Ok(());
                }
                return Err(e.context(format!("failed to read event source mapping {uuid}")));
            }
        };
        let settled = !state.as_deref().is_some_and(|s| TRANSITIONS.contains(&s));
        if settled && !gone {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(AwsError::msg(format!(
                "event source mapping {uuid} is still {}",
                state.unwrap_or_default()
            )));
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
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

/// The Kinesis -> `process` event source mapping.
pub struct EventSourceMapping;

impl EventSourceMapping {
    async fn converge(
        &self,
        aws: &Aws,
        s: &EventSourceMappingSpec,
        uuid: &str,
    ) -> Result<(), AwsError> {
        aws.throttle(Service::Lambda).await;
        aws.lambda
            .update_event_source_mapping()
            .uuid(uuid)
            .function_name(&s.function_name)
            .batch_size(s.batch_size)
            .maximum_batching_window_in_seconds(s.batching_window_seconds)
            .parallelization_factor(s.parallelization_factor)
            .bisect_batch_on_function_error(s.bisect_on_error)
            .maximum_retry_attempts(s.maximum_retries)
            .set_function_response_types(Some(response_types(s)))
            .destination_config(destination(s))
            .enabled(s.enabled)
            .send()
            .await
            .map_err(|e| {
                AwsError::from(e).context(format!(
                    "failed to update event source mapping {uuid} of {}",
                    s.function_name
                ))
            })?;
        wait_mapping(aws, uuid, false).await
    }
}

#[async_trait]
impl Provider for EventSourceMapping {
    async fn read(&self, aws: &Aws, desired: &Resource) -> Result<Option<Value>, AwsError> {
        let s: EventSourceMappingSpec = spec(&desired.spec)?;
        Ok(find_mapping(aws, &s.function_name, &s.event_source_arn)
            .await?
            .map(|m| serde_json::to_value(m).expect("specs serialise")))
    }

    async fn create(&self, aws: &Aws, desired: &Resource) -> Result<(), AwsError> {
        let s: EventSourceMappingSpec = spec(&desired.spec)?;
        if let Some(live) = find_mapping(aws, &s.function_name, &s.event_source_arn).await? {
            let uuid = live.uuid.clone().unwrap_or_default();
            wait_mapping(aws, &uuid, false).await?;
            if (EventSourceMappingSpec { uuid: None, ..live }) != s {
                self.converge(aws, &s, &uuid).await?;
            }
            return Ok(());
        }
        // A lost answer is looked up by function and source before any retry (see
        // `create_checked`): AWS refuses a second mapping of the pair, some emulators make one.
        let s = &s;
        let uuid = create_checked(
            &format!(
                "create the event source mapping {} -> {}",
                s.event_source_arn, s.function_name
            ),
            || async move {
                aws.throttle(Service::Lambda).await;
                let out = aws
                    .lambda
                    .create_event_source_mapping()
                    .function_name(&s.function_name)
                    .event_source_arn(&s.event_source_arn)
                    .starting_position(EventSourcePosition::from(s.starting_position.as_str()))
                    .batch_size(s.batch_size)
                    .maximum_batching_window_in_seconds(s.batching_window_seconds)
                    .parallelization_factor(s.parallelization_factor)
                    .bisect_batch_on_function_error(s.bisect_on_error)
                    .maximum_retry_attempts(s.maximum_retries)
                    .set_function_response_types(Some(response_types(s)))
                    .destination_config(destination(s))
                    .enabled(s.enabled)
                    .customize()
                    .config_override(no_sdk_retries())
                    .send()
                    .await
                    .map_err(AwsError::from)?;
                Ok(out.uuid().map(str::to_string))
            },
            || async move {
                let found = find_mapping(aws, &s.function_name, &s.event_source_arn).await?;
                Ok(found.map(|m| m.uuid))
            },
        )
        .await?;
        if let Some(uuid) = uuid {
            wait_mapping(aws, &uuid, false).await?;
        }
        Ok(())
    }

    async fn update(&self, aws: &Aws, desired: &Resource, live: &Value) -> Result<(), AwsError> {
        let s: EventSourceMappingSpec = spec(&desired.spec)?;
        let l: EventSourceMappingSpec = spec(live)?;
        let uuid = match l.uuid {
            Some(u) => u,
            None => find_mapping(aws, &s.function_name, &s.event_source_arn)
                .await?
                .and_then(|m| m.uuid)
                .ok_or_else(|| {
                    AwsError::msg(format!(
                        "the event source mapping {} -> {} is gone",
                        s.event_source_arn, s.function_name
                    ))
                })?,
        };
        wait_mapping(aws, &uuid, false).await?;
        self.converge(aws, &s, &uuid).await
    }

    async fn delete(&self, aws: &Aws, _physical: &str, live: &Value) -> Result<(), AwsError> {
        let l: EventSourceMappingSpec = spec(live)?;
        let uuid = match l.uuid {
            Some(u) => Some(u),
            None => find_mapping(aws, &l.function_name, &l.event_source_arn)
                .await?
                .and_then(|m| m.uuid),
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
        _parent_live: &Value,
        instance: &str,
    ) -> Result<Vec<Listed>, AwsError> {
        let ours = format!("{instance}-");
        Ok(mappings(aws, &parent.physical, None)
            .await?
            .into_iter()
            .filter(|(m, deleting)| {
                !deleting
                    && m.event_source_arn
                        .rsplit_once(":stream/")
                        .is_some_and(|(_, name)| name.starts_with(&ours))
            })
            .map(|(m, _)| Listed {
                physical: m.physical(),
                spec: serde_json::to_value(&m).expect("specs serialise"),
            })
            .collect())
    }
}

/// The UUIDs of every event source mapping of a function.
async fn mapping_uuids(aws: &Aws, function: &str) -> Result<Vec<String>, AwsError> {
    Ok(mappings(aws, function, None)
        .await?
        .into_iter()
        .filter_map(|(m, _)| m.uuid)
        .collect())
}

/// Deletes a mapping once it is out of transition, and waits until it is gone.
async fn delete_mapping(aws: &Aws, uuid: &str) -> Result<(), AwsError> {
    wait_mapping(aws, uuid, false).await?;
    aws.throttle(Service::Lambda).await;
    if let Err(e) = aws
        .lambda
        .delete_event_source_mapping()
        .uuid(uuid)
        .send()
        .await
    {
        let e = AwsError::from(e);
        if !e.is(NOT_FOUND) {
            return Err(e.context(format!("failed to delete event source mapping {uuid}")));
        }
    }
    wait_mapping(aws, uuid, true).await
}

/// `arn:aws:execute-api:<region>:<account>:<api id>`.
fn execute_api_arn(aws: &Aws, api_id: &str) -> String {
    format!(
        "arn:aws:execute-api:{}:{}:{api_id}",
        aws.region, aws.account
    )
}

/// The statement `sid` of a function's resource policy; `Ok(None)` if the function or the
/// statement does not exist.
async fn statement(aws: &Aws, function: &str, sid: &str) -> Result<Option<Value>, AwsError> {
    let out = match aws.lambda.get_policy().function_name(function).send().await {
        Ok(out) => out,
        Err(e) => {
            let e = AwsError::from(e);
            return if e.is(NOT_FOUND) {
                Ok(None)
            } else {
                Err(e.context(format!(
                    "failed to read the policy of Lambda function {function}"
                )))
            };
        }
    };
    let doc: Value = serde_json::from_str(out.policy().unwrap_or("{}")).map_err(|e| {
        AwsError::msg(format!(
            "malformed policy of Lambda function {function}: {e}"
        ))
    })?;
    Ok(doc["Statement"]
        .as_array()
        .and_then(|list| list.iter().find(|st| st["Sid"] == sid))
        .cloned())
}

/// The value of the first condition key named `key` (case-insensitive), in any operator.
fn condition(st: &Value, key: &str) -> Option<String> {
    st["Condition"].as_object()?.values().find_map(|op| {
        op.as_object()?
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .and_then(|(_, v)| v.as_str().map(str::to_string))
    })
}

fn principal(st: &Value) -> String {
    match &st["Principal"] {
        Value::String(s) => s.clone(),
        Value::Object(m) => m
            .get("Service")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        _ => String::new(),
    }
}

/// A statement of a function's resource policy letting API Gateway invoke it.
pub struct Permission;

#[async_trait]
impl Provider for Permission {
    async fn read(&self, aws: &Aws, desired: &Resource) -> Result<Option<Value>, AwsError> {
        let s: PermissionSpec = spec(&desired.spec)?;
        let Some(st) = statement(aws, &s.function_name, &s.statement_id).await? else {
            return Ok(None);
        };
        let source = condition(&st, "AWS:SourceArn").unwrap_or_default();
        // The spec names the API; the statement names its ID. Report the API's name when the
        // ARN is this stack's API, and the raw ARN otherwise (so that the diff shows it).
        let api_id = super::apigateway::find_api(aws, &s.source_api, &s.stack)
            .await?
            .map(|a| a.0);
        let (source_api, source_path) = match api_id
            .map(|id| execute_api_arn(aws, &id))
            .and_then(|prefix| source.strip_prefix(&prefix).map(str::to_string))
        {
            Some(path) => (s.source_api.clone(), path),
            None => (source, String::new()),
        };
        let action = match &st["Action"] {
            Value::Array(a) => a
                .first()
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            v => v.as_str().unwrap_or_default().to_string(),
        };
        Ok(Some(
            serde_json::to_value(PermissionSpec {
                action,
                principal: principal(&st),
                source_api,
                source_path,
                ..s
            })
            .expect("specs serialise"),
        ))
    }

    async fn create(&self, aws: &Aws, desired: &Resource) -> Result<(), AwsError> {
        let s: PermissionSpec = spec(&desired.spec)?;
        let (api_id, _) = super::apigateway::find_api(aws, &s.source_api, &s.stack)
            .await?
            .ok_or_else(|| {
                AwsError::msg(format!(
                    "REST API {} not found: it must exist before the permission of {}",
                    s.source_api, s.function_name
                ))
            })?;
        aws.throttle(Service::Lambda).await;
        let added = aws
            .lambda
            .add_permission()
            .function_name(&s.function_name)
            .statement_id(&s.statement_id)
            .action(&s.action)
            .principal(&s.principal)
            .source_arn(format!(
                "{}{}",
                execute_api_arn(aws, &api_id),
                s.source_path
            ))
            .source_account(&aws.account)
            .send()
            .await;
        if let Err(e) = added {
            let e = AwsError::from(e);
            if !e.is(&["ResourceConflictException"]) {
                return Err(e.context(format!(
                    "failed to let API Gateway invoke Lambda function {}",
                    s.function_name
                )));
            }
        }
        Ok(())
    }

    async fn update(&self, aws: &Aws, desired: &Resource, live: &Value) -> Result<(), AwsError> {
        // A statement cannot be edited: replace it.
        self.delete(aws, &desired.physical, live).await?;
        self.create(aws, desired).await
    }

    async fn delete(&self, aws: &Aws, physical: &str, live: &Value) -> Result<(), AwsError> {
        let l: PermissionSpec = spec(live)?;
        aws.throttle(Service::Lambda).await;
        if let Err(e) = aws
            .lambda
            .remove_permission()
            .function_name(&l.function_name)
            .statement_id(&l.statement_id)
            .send()
            .await
        {
            let e = AwsError::from(e);
            if !e.is(NOT_FOUND) {
                return Err(e.context(format!("failed to remove the permission {physical}")));
            }
        }
        Ok(())
    }
}
