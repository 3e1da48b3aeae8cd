//! A Lambda function: zip code, configuration, reserved concurrency and tags.

use super::event_source_mapping::delete_function_mappings;
use super::{function_arn, LAMBDA, NOT_FOUND, WAIT};
use crate::aws::kit::{converge_tags, listed, Absent};
use crate::aws::{
    Aws, AwsError, Changes, Found, Gone, Inputs, Listed, Observed, Outputs, Provider,
};
use crate::model::lambda::FunctionSpec;
use crate::model::Tags;
use async_trait::async_trait;
use aws_sdk_lambda::client::Waiters;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Architecture, Environment, FunctionCode, Runtime};
use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};

/// How long a create keeps retrying while a new role is not yet assumable (IAM is
/// eventually consistent: a role can take seconds to be usable by Lambda).
const ROLE_PROPAGATION: Duration = Duration::from_secs(120);

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

async fn read_function(aws: &Aws, name: &str) -> Result<Option<Observed<FunctionSpec>>, AwsError> {
    let out = aws
        .lambda
        .get_function()
        .function_name(name)
        .send()
        .await
        .map_err(AwsError::from)
        .or_absent(NOT_FOUND)
        .map_err(|e| e.context(format!("failed to read Lambda function {name}")))?;
    let Some(out) = out else {
        return Ok(None);
    };
    let Some(c) = out.configuration() else {
        return Ok(None);
    };
    let tags: Tags = out
        .tags()
        .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let spec = FunctionSpec {
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
    };
    let arn = c
        .function_arn()
        .map(str::to_string)
        .unwrap_or_else(|| function_arn(aws, name));
    Ok(Some(Observed::with(spec, "arn", arn)))
}

/// CreateFunction, retried while the new execution role is not yet assumable; a function
/// that exists already is left to the converging that follows.
async fn create_function(aws: &Aws, s: &FunctionSpec) -> Result<(), AwsError> {
    let bytes = package(s)?;
    let started = Instant::now();
    let mut delay = Duration::from_secs(2);
    loop {
        let call = aws
            .lambda
            .create_function()
            .function_name(&s.name)
            .role(&s.role_arn)
            .runtime(Runtime::from(s.runtime.as_str()))
            .handler(&s.handler)
            .architectures(Architecture::from(s.architecture.as_str()))
            .memory_size(s.memory_mb)
            .timeout(s.timeout_seconds)
            .environment(environment(s))
            .code(
                FunctionCode::builder()
                    .zip_file(Blob::new(bytes.clone()))
                    .build(),
            )
            .set_tags(Some(s.tags.clone().into_iter().collect()))
            .send();
        let what = format!("failed to create Lambda function {}", s.name);
        match aws.mutate(LAMBDA, what, call).await {
            Ok(_) => return Ok(()),
            Err(e) if e.is(&["ResourceConflictException"]) => return Ok(()),
            Err(e) => {
                let role_not_ready = e.is(&["InvalidParameterValueException"])
                    && e.message.contains("cannot be assumed");
                if !(role_not_ready && started.elapsed() < ROLE_PROPAGATION) {
                    return Err(e);
                }
                tracing::debug!(
                    "the role of Lambda function {} is not assumable yet; retrying in {delay:?}",
                    s.name
                );
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(20));
            }
        }
    }
}

/// A Lambda function.
pub struct Function;

#[async_trait]
impl Provider for Function {
    type Spec = FunctionSpec;

    async fn read(&self, aws: &Aws, desired: &FunctionSpec, _: &Inputs) -> Found<FunctionSpec> {
        read_function(aws, &desired.name).await
    }

    async fn create(
        &self,
        aws: &Aws,
        s: &FunctionSpec,
        inputs: &Inputs,
    ) -> Result<Outputs, AwsError> {
        create_function(aws, s).await?;
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
        self.settle(aws, s, inputs).await
    }

    /// Brings a live function to the declaration where `changes` says it differs, one kind of
    /// call at a time: code (with the architecture), configuration, reserved concurrency, tags.
    async fn update(
        &self,
        aws: &Aws,
        s: &FunctionSpec,
        live: &Observed<FunctionSpec>,
        changes: &Changes,
        _: &Inputs,
    ) -> Result<(), AwsError> {
        let live = &live.spec;
        let name = &s.name;
        let fail = |what: &str| format!("failed to {what} of Lambda function {name}");
        if changes.touches("code_sha256") || changes.touches("architecture") {
            let call = aws
                .lambda
                .update_function_code()
                .function_name(name)
                .zip_file(Blob::new(package(s)?))
                .architectures(Architecture::from(s.architecture.as_str()))
                .send();
            aws.mutate(LAMBDA, fail("update the code"), call).await?;
            wait_updated(aws, name).await?;
        }
        let configuration = [
            "role_arn",
            "runtime",
            "handler",
            "memory_mb",
            "timeout_seconds",
            "environment",
        ];
        if configuration.iter().any(|f| changes.touches(f)) {
            let call = aws
                .lambda
                .update_function_configuration()
                .function_name(name)
                .role(&s.role_arn)
                .runtime(Runtime::from(s.runtime.as_str()))
                .handler(&s.handler)
                .memory_size(s.memory_mb)
                .timeout(s.timeout_seconds)
                .environment(environment(s))
                .send();
            aws.mutate(LAMBDA, fail("update the configuration"), call)
                .await?;
            wait_updated(aws, name).await?;
        }
        if changes.touches("reserved_concurrency") {
            match s.reserved_concurrency {
                Some(n) => {
                    let call = aws
                        .lambda
                        .put_function_concurrency()
                        .function_name(name)
                        .reserved_concurrent_executions(n)
                        .send();
                    aws.mutate(LAMBDA, fail("reserve the concurrency"), call)
                        .await?;
                }
                None => {
                    let call = aws
                        .lambda
                        .delete_function_concurrency()
                        .function_name(name)
                        .send();
                    aws.mutate(LAMBDA, fail("release the reserved concurrency"), call)
                        .await?;
                }
            }
        }
        if changes.touches("tags") {
            let arn = &function_arn(aws, name);
            converge_tags(
                aws,
                LAMBDA,
                &format!("Lambda function {name}"),
                (&s.tags, &live.tags),
                |stale| {
                    aws.lambda
                        .untag_resource()
                        .resource(arn)
                        .set_tag_keys(Some(stale))
                        .send()
                },
                |set| {
                    aws.lambda
                        .tag_resource()
                        .resource(arn)
                        .set_tags(Some(set.into_iter().collect()))
                        .send()
                },
            )
            .await?;
        }
        Ok(())
    }

    async fn delete(&self, aws: &Aws, gone: &Gone<FunctionSpec>) -> Result<(), AwsError> {
        let name = &gone.physical;
        // Event source mappings outlive their function in AWS; as sub-resources of the
        // function (the engine does not delete those separately) they go with it. The
        // resource policy (permissions) is part of the function and goes by itself.
        delete_function_mappings(aws, name).await?;
        let call = aws.lambda.delete_function().function_name(name).send();
        aws.mutate(
            LAMBDA,
            format!("failed to delete Lambda function {name}"),
            call,
        )
        .await
        .tolerate(NOT_FOUND)
    }

    async fn list(
        &self,
        aws: &Aws,
        prefix: &str,
        skip: &[String],
    ) -> Result<Vec<Listed>, AwsError> {
        let pages = aws.lambda.list_functions().into_paginator().items().send();
        let functions: Result<Vec<_>, _> = pages.collect().await;
        let functions =
            functions.map_err(|e| AwsError::from(e).context("failed to list Lambda functions"))?;
        let names: Vec<_> = functions
            .iter()
            .map(|f| {
                let name = f.function_name().unwrap_or_default().to_string();
                let arn = f.function_arn().map(str::to_string);
                let arn = arn.unwrap_or_else(|| function_arn(aws, &name));
                (name, Outputs::from([("arn".to_string(), arn)]))
            })
            .collect();
        listed(names, prefix, skip, |name, outputs| async move {
            let call = aws.lambda.list_tags().resource(&outputs["arn"]).send();
            let out = call.await.map_err(AwsError::from).or_absent(NOT_FOUND);
            let out = out.map_err(|e| e.context(format!("failed to list tags of {name}")))?;
            Ok(out.map(|o| o.tags.unwrap_or_default().into_iter().collect()))
        })
        .await
    }
}
