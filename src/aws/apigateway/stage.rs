//! A stage of the REST API: its throttling, access logs and tracing, the WAF web ACL in front
//! of it, and the deployment of the current definition.
//! The API's ID comes from the API's outputs; the stage keeps it as its output `api_id` for
//! its delete.

use super::account::ensure_logging_role;
use super::limits::limits;
use super::{no_sdk_retries, patch, APIGW, NOT_FOUND};
use crate::aws::checked::{create_checked, CONFLICT};
use crate::aws::kit::{all_pages, Absent};
use crate::aws::provider::to_value;
use crate::aws::{
    Aws, AwsError, Changes, Found, Gone, Inputs, Listed, Observed, Outputs, Provider,
};
use crate::model::apigateway::{AccessLogSpec, StageSpec};
use crate::model::{Kind, Resource, Service, Spec};
use async_trait::async_trait;
use aws_sdk_apigateway::types::{Op, PatchOperation};

/// Prefix of a deployment's description before the definition fingerprint.
const DEPLOYED: &str = "ecomflow-infra definition ";

fn api_output(api_id: &str) -> Outputs {
    Outputs::from([("api_id".to_string(), api_id.to_string())])
}

/// The stage's ARN, as WAF names the resources it protects.
fn stage_arn(aws: &Aws, api_id: &str, stage: &str) -> String {
    format!(
        "arn:aws:apigateway:{}::/restapis/{api_id}/stages/{stage}",
        aws.region
    )
}

/// The name of the web ACL in front of the stage, if any.
async fn web_acl_of(aws: &Aws, stage_arn: &str) -> Result<Option<String>, AwsError> {
    let out = aws
        .waf
        .get_web_acl_for_resource()
        .resource_arn(stage_arn)
        .send()
        .await
        .map_err(AwsError::from)
        .or_absent(&["WAFNonexistentItemException"])
        .map_err(|e| e.context(format!("failed to read the web ACL of {stage_arn}")))?;
    Ok(out
        .and_then(|o| o.web_acl)
        .map(|acl| acl.name().to_string()))
}

/// Puts the declared web ACL (its ARN from the ACL's outputs) in front of the stage, or
/// takes the live one away.
async fn set_web_acl(
    aws: &Aws,
    api_id: &str,
    s: &StageSpec,
    inputs: &Inputs,
) -> Result<(), AwsError> {
    let arn = stage_arn(aws, api_id, &s.stage);
    let what = format!("failed to set the web ACL of stage {}/{}", s.api, s.stage);
    match &s.web_acl {
        Some(_) => {
            let acl = inputs.require(Kind::WafWebAcl, "arn")?;
            let call = aws
                .waf
                .associate_web_acl()
                .web_acl_arn(acl)
                .resource_arn(&arn)
                .send();
            aws.mutate(Service::Waf, what, call).await?;
        }
        None => {
            let call = aws.waf.disassociate_web_acl().resource_arn(&arn).send();
            aws.mutate(Service::Waf, what, call)
                .await
                .tolerate(&["WAFNonexistentItemException"])?;
        }
    }
    Ok(())
}

async fn read_stage(aws: &Aws, api_id: &str, s: &StageSpec) -> Result<Option<StageSpec>, AwsError> {
    let what = |of: &str| format!("failed to read {of}stage {}/{}", s.api, s.stage);
    let stage = aws
        .apigateway
        .get_stage()
        .rest_api_id(api_id)
        .stage_name(&s.stage)
        .send()
        .await
        .map_err(AwsError::from)
        .or_absent(NOT_FOUND)
        .map_err(|e| e.context(what("")))?;
    let Some(stage) = stage else {
        return Ok(None);
    };
    let all = stage.method_settings().and_then(|m| m.get("*/*"));
    let fingerprint = match stage.deployment_id() {
        Some(deployment) => aws
            .apigateway
            .get_deployment()
            .rest_api_id(api_id)
            .deployment_id(deployment)
            .send()
            .await
            .map_err(AwsError::from)
            .or_absent(NOT_FOUND)
            .map_err(|e| e.context(what("the deployment of ")))?
            .and_then(|d| {
                d.description()
                    .map(|text| text.strip_prefix(DEPLOYED).unwrap_or(text).to_string())
            }),
        None => None,
    };
    let access_log = stage.access_log_settings().and_then(|a| {
        Some(AccessLogSpec {
            destination_arn: a.destination_arn()?.to_string(),
            format: a.format().unwrap_or_default().to_string(),
        })
    });
    Ok(Some(StageSpec {
        api: s.api.clone(),
        stage: s.stage.clone(),
        throttling_rate_limit: all.map(|m| m.throttling_rate_limit()),
        throttling_burst_limit: all.map(|m| m.throttling_burst_limit()),
        deployment_fingerprint: fingerprint,
        access_log,
        tracing: stage.tracing_enabled(),
        // Read only where one is declared, so a stack without WAF makes no WAF call; a
        // web ACL that is no longer declared leaves its stages when it is deleted.
        web_acl: match &s.web_acl {
            Some(_) => web_acl_of(aws, &stage_arn(aws, api_id, &s.stage)).await?,
            None => None,
        },
    }))
}

/// A deployment of the API's current definition, its fingerprint in the description. One
/// that an earlier run made for the same definition but never pointed a stage at (it was
/// killed between the two calls) is reused rather than made again.
async fn deploy(aws: &Aws, api_id: &str, s: &StageSpec) -> Result<String, AwsError> {
    let description = format!(
        "{DEPLOYED}{}",
        s.deployment_fingerprint.as_deref().unwrap_or_default()
    );
    if let Some(id) = find_deployment(aws, api_id, &description).await? {
        return Ok(id);
    }
    // CreateDeployment is not idempotent: made once per attempt (SDK retries off), and a lost
    // answer is looked up by its description before any retry.
    let description = &description;
    create_checked(
        &format!("deploy REST API {}", s.api),
        || async move {
            aws.throttle(APIGW).await;
            limits().create_deployment.until_ready().await;
            // No stage name here: the stage is pointed at the deployment separately, so that
            // an existing stage keeps its settings.
            let out = aws
                .apigateway
                .create_deployment()
                .rest_api_id(api_id)
                .description(description)
                .customize()
                .config_override(no_sdk_retries())
                .send()
                .await
                .map_err(AwsError::from)?;
            out.id()
                .map(str::to_string)
                .ok_or_else(|| AwsError::msg(format!("the deployment of {} has no ID", s.api)))
        },
        || find_deployment(aws, api_id, description),
    )
    .await
}

/// The newest deployment of the API with exactly this description, if any.
async fn find_deployment(
    aws: &Aws,
    api_id: &str,
    description: &str,
) -> Result<Option<String>, AwsError> {
    let pages = aws.apigateway.get_deployments().rest_api_id(api_id);
    let what = format!("failed to list the deployments of {api_id}");
    let pages = all_pages(pages.into_paginator().send(), what).await?;
    let mut newest: Option<(Option<aws_smithy_types::DateTime>, String)> = None;
    for page in &pages {
        for d in page.items() {
            if d.description() == Some(description) {
                let (Some(id), created) = (d.id(), d.created_date().copied()) else {
                    continue;
                };
                if newest.as_ref().is_none_or(|(at, _)| created > *at) {
                    newest = Some((created, id.to_string()));
                }
            }
        }
    }
    Ok(newest.map(|(_, id)| id))
}

/// Throttling, logging, tracing and deployment of a stage, as patch operations: the settings
/// `changes` names, or all that is declared when there are none to go by (a new stage).
fn stage_patches(
    s: &StageSpec,
    changes: Option<&Changes>,
    deployment: Option<String>,
) -> Vec<PatchOperation> {
    let changed = |field: &str| changes.is_none_or(|c| c.touches(field));
    let mut ops = Vec::new();
    if let Some(d) = deployment {
        ops.push(patch(Op::Replace, "/deploymentId", Some(d)));
    }
    if let Some(rate) = s
        .throttling_rate_limit
        .filter(|_| changed("throttling_rate_limit"))
    {
        ops.push(patch(
            Op::Replace,
            "/*/*/throttling/rateLimit",
            Some(rate.to_string()),
        ));
    }
    if let Some(burst) = s
        .throttling_burst_limit
        .filter(|_| changed("throttling_burst_limit"))
    {
        ops.push(patch(
            Op::Replace,
            "/*/*/throttling/burstLimit",
            Some(burst.to_string()),
        ));
    }
    if changed("access_log") {
        match &s.access_log {
            Some(log) => {
                let arn = Some(log.destination_arn.clone());
                ops.push(patch(Op::Replace, "/accessLogSettings/destinationArn", arn));
                let format = Some(log.format.clone());
                ops.push(patch(Op::Replace, "/accessLogSettings/format", format));
            }
            // A new stage has none to remove.
            None if changes.is_some() => ops.push(patch(Op::Remove, "/accessLogSettings", None)),
            None => {}
        }
    }
    if changed("tracing") && (s.tracing || changes.is_some()) {
        ops.push(patch(
            Op::Replace,
            "/tracingEnabled",
            Some(s.tracing.to_string()),
        ));
    }
    ops
}

async fn patch_stage(
    aws: &Aws,
    api_id: &str,
    s: &StageSpec,
    ops: Vec<PatchOperation>,
) -> Result<(), AwsError> {
    if ops.is_empty() {
        return Ok(());
    }
    if ops.iter().any(|o| {
        o.path()
            .is_some_and(|p| p.starts_with("/accessLogSettings/"))
    }) {
        // API Gateway refuses access logs until the account has a CloudWatch role.
        ensure_logging_role(aws).await?;
    }
    let call = aws
        .apigateway
        .update_stage()
        .rest_api_id(api_id)
        .stage_name(&s.stage)
        .set_patch_operations(Some(ops))
        .send();
    let what = format!("failed to update stage {}/{}", s.api, s.stage);
    aws.mutate(APIGW, what, call).await?;
    Ok(())
}

/// Points the stage at a new deployment only when the definition changed, and sets the
/// settings and web ACL that changed.
async fn converge(
    aws: &Aws,
    api_id: &str,
    s: &StageSpec,
    changes: &Changes,
    inputs: &Inputs,
) -> Result<(), AwsError> {
    let deployment = if changes.touches("deployment_fingerprint") {
        Some(deploy(aws, api_id, s).await?)
    } else {
        None
    };
    patch_stage(aws, api_id, s, stage_patches(s, Some(changes), deployment)).await?;
    if changes.touches("web_acl") {
        set_web_acl(aws, api_id, s, inputs).await?;
    }
    Ok(())
}

/// A stage of the REST API: throttling, and the deployment of the current definition.
pub struct Stage;

#[async_trait]
impl Provider for Stage {
    type Spec = StageSpec;

    async fn read(&self, aws: &Aws, s: &StageSpec, inputs: &Inputs) -> Found<StageSpec> {
        let Some(api_id) = inputs.get(Kind::ApigwRestApi, "id") else {
            return Ok(None);
        };
        Ok(read_stage(aws, api_id, s).await?.map(|l| Observed {
            spec: l,
            outputs: api_output(api_id),
        }))
    }

    async fn create(&self, aws: &Aws, s: &StageSpec, inputs: &Inputs) -> Result<Outputs, AwsError> {
        let api_id = inputs.require(Kind::ApigwRestApi, "id")?;
        if let Some(live) = read_stage(aws, api_id, s).await? {
            converge(aws, api_id, s, &Changes::between(s, &live), inputs).await?;
            return Ok(api_output(api_id));
        }
        let deployment = deploy(aws, api_id, s).await?;
        let call = aws
            .apigateway
            .create_stage()
            .rest_api_id(api_id)
            .stage_name(&s.stage)
            .deployment_id(&deployment)
            .send();
        let what = format!("failed to create stage {}/{}", s.api, s.stage);
        // A conflict is the stage made by an earlier attempt whose answer was lost (or by
        // another run): point it at this deployment along with the settings.
        let created = aws.mutate(APIGW, what, call).await.or_absent(CONFLICT)?;
        let deployment_patch = created.is_none().then_some(deployment);
        patch_stage(aws, api_id, s, stage_patches(s, None, deployment_patch)).await?;
        if s.web_acl.is_some() {
            set_web_acl(aws, api_id, s, inputs).await?;
        }
        Ok(api_output(api_id))
    }

    async fn update(
        &self,
        aws: &Aws,
        desired: &StageSpec,
        _live: &Observed<StageSpec>,
        changes: &Changes,
        inputs: &Inputs,
    ) -> Result<(), AwsError> {
        let api_id = inputs.require(Kind::ApigwRestApi, "id")?;
        converge(aws, api_id, desired, changes, inputs).await
    }

    async fn delete(&self, aws: &Aws, gone: &Gone<StageSpec>) -> Result<(), AwsError> {
        let (Some(api_id), Some(l)) = (gone.outputs.get("api_id"), &gone.spec) else {
            return Ok(());
        };
        let call = aws
            .apigateway
            .delete_stage()
            .rest_api_id(api_id)
            .stage_name(&l.stage)
            .send();
        aws.mutate(
            APIGW,
            format!("failed to delete stage {}", gone.physical),
            call,
        )
        .await
        .tolerate(NOT_FOUND)
    }

    /// Every stage of the instance's API (a renamed `api.stage` leaves the old one here).
    async fn members(
        &self,
        aws: &Aws,
        parent: &Resource,
        parent_outputs: &Outputs,
        _instance: &str,
        _declared: &[String],
    ) -> Result<Vec<Listed>, AwsError> {
        let Some(api_id) = parent_outputs.get("id") else {
            return Ok(Vec::new());
        };
        let stages = aws
            .apigateway
            .get_stages()
            .rest_api_id(api_id)
            .send()
            .await
            .map_err(AwsError::from)
            .or_absent(NOT_FOUND)
            .map_err(|e| e.context(format!("failed to list the stages of {}", parent.physical)))?;
        Ok(stages
            .and_then(|s| s.item)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|st| st.stage_name)
            .map(|stage| {
                let live = StageSpec {
                    api: parent.physical.clone(),
                    stage,
                    throttling_rate_limit: None,
                    throttling_burst_limit: None,
                    deployment_fingerprint: None,
                    access_log: None,
                    tracing: false,
                    web_acl: None,
                };
                Listed {
                    physical: live.physical(),
                    spec: to_value(&live),
                    outputs: api_output(api_id),
                }
            })
            .collect())
    }
}
