//! Roles, the Lambda functions with their event source mapping and invoke permissions, and
//! log groups.

use super::{
    code_key_parameter, tag_list, typed, CfnResource, Mapped, Scope, CODE_BUCKET_PARAMETER,
};
use crate::model::iam::RoleSpec;
use crate::model::lambda::{EventSourceMappingSpec, FunctionSpec, PermissionSpec};
use crate::model::logs::LogGroupSpec;
use crate::model::{Kind, Resource};
use crate::names::Names;
use serde_json::json;

pub(super) fn map(r: &Resource, scope: &Scope) -> Mapped {
    let logical = super::logical_id(&r.address());
    let made = match r.kind {
        Kind::IamRole => {
            let role: RoleSpec = typed(r);
            let policies: Vec<_> = role
                .policies
                .iter()
                .map(|(name, document)| json!({ "PolicyName": name, "PolicyDocument": document }))
                .collect();
            CfnResource::new(
                logical,
                "AWS::IAM::Role",
                json!({
                    "RoleName": role.name,
                    "Path": role.path,
                    "AssumeRolePolicyDocument": role.assume_role_policy,
                    "Policies": policies,
                    "Tags": tag_list(&role.tags),
                }),
            )
        }
        Kind::LambdaFunction => {
            let f: FunctionSpec = typed(r);
            let short = function_short_name(scope.names(), &f.name);
            let mut p = json!({
                "FunctionName": f.name,
                "Role": f.role_arn,
                "Runtime": f.runtime,
                "Handler": f.handler,
                "Architectures": [f.architecture],
                "MemorySize": f.memory_mb,
                "Timeout": f.timeout_seconds,
                "Code": {
                    "S3Bucket": { "Ref": CODE_BUCKET_PARAMETER },
                    "S3Key": { "Ref": code_key_parameter(&short) },
                },
                "Tags": tag_list(&f.tags),
            });
            if let Some(reserved) = f.reserved_concurrency {
                p["ReservedConcurrentExecutions"] = json!(reserved);
            }
            if !f.environment.is_empty() {
                p["Environment"] = json!({ "Variables": f.environment });
            }
            CfnResource::new(logical, "AWS::Lambda::Function", p)
        }
        Kind::LambdaEventSourceMapping => {
            let m: EventSourceMappingSpec = typed(r);
            let function =
                scope.reference(Kind::LambdaFunction, &m.function_name, &m.function_name);
            let mut p = json!({
                "FunctionName": function,
                "EventSourceArn": m.event_source_arn,
                "StartingPosition": m.starting_position,
                "BatchSize": m.batch_size,
                "MaximumBatchingWindowInSeconds": m.batching_window_seconds,
                "ParallelizationFactor": m.parallelization_factor,
                "BisectBatchOnFunctionError": m.bisect_on_error,
                "MaximumRetryAttempts": m.maximum_retries,
                "Enabled": m.enabled,
            });
            if !m.function_response_types.is_empty() {
                p["FunctionResponseTypes"] = json!(m.function_response_types);
            }
            if let Some(destination) = m.on_failure_destination {
                p["DestinationConfig"] = json!({ "OnFailure": { "Destination": destination } });
            }
            CfnResource::new(logical, "AWS::Lambda::EventSourceMapping", p)
        }
        Kind::LambdaPermission => {
            let p: PermissionSpec = typed(r);
            // The API's ID is assigned by API Gateway: only the template's own API can name
            // it. CloudFormation names the statement itself (no `statement_id`).
            let api = scope
                .logical_of(Kind::ApigwRestApi, &p.source_api)
                .map(|l| format!("${{{l}}}"))
                .unwrap_or_else(|| "*".into());
            CfnResource::new(
                logical,
                "AWS::Lambda::Permission",
                json!({
                    "FunctionName": scope.reference(Kind::LambdaFunction, &p.function_name, &p.function_name),
                    "Action": p.action,
                    "Principal": p.principal,
                    "SourceArn": { "Fn::Sub": format!(
                        "arn:aws:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:{api}{}",
                        p.source_path
                    )},
                }),
            )
        }
        Kind::LogGroup => {
            let g: LogGroupSpec = typed(r);
            let mut p = json!({ "LogGroupName": g.name, "Tags": tag_list(&g.tags) });
            if let Some(days) = g.retention_days {
                p["RetentionInDays"] = json!(days);
            }
            if let Some(key) = g.kms_key {
                p["KmsKeyId"] = json!(key);
            }
            CfnResource::new(logical, "AWS::Logs::LogGroup", p)
        }
        other => unreachable!("{other} is not a compute kind"),
    };
    Mapped::Resources(vec![made])
}

/// A function's name in the pipeline (`ingest`, ...) from its full name.
pub(super) fn function_short_name(names: &Names, full: &str) -> String {
    full.strip_prefix(&format!("{}-", names.instance))
        .unwrap_or(full)
        .to_string()
}
