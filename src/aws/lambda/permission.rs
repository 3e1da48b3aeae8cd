//! A statement of a function's resource policy letting API Gateway invoke it, scoped to one
//! REST API whose ID comes from the API's outputs.

use super::{LAMBDA, NOT_FOUND};
use crate::aws::kit::{policy_doc, Absent};
use crate::aws::{Aws, AwsError, Changes, Found, Gone, Inputs, Observed, Outputs, Provider};
use crate::model::lambda::PermissionSpec;
use crate::model::Kind;
use async_trait::async_trait;
use serde_json::Value;

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
    let out = aws
        .lambda
        .get_policy()
        .function_name(function)
        .send()
        .await
        .map_err(AwsError::from)
        .or_absent(NOT_FOUND)
        .map_err(|e| {
            e.context(format!(
                "failed to read the policy of Lambda function {function}"
            ))
        })?;
    let Some(out) = out else {
        return Ok(None);
    };
    let doc = policy_doc(out.policy(), format_args!("Lambda function {function}"))?;
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

fn action(st: &Value) -> String {
    match &st["Action"] {
        Value::Array(a) => a
            .first()
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        v => v.as_str().unwrap_or_default().to_string(),
    }
}

/// A statement of a function's resource policy letting API Gateway invoke it.
pub struct Permission;

#[async_trait]
impl Provider for Permission {
    type Spec = PermissionSpec;

    /// The statement lives in the function's policy, so it is read even when the API is not
    /// live: a statement naming another API's ID then reads as its raw source ARN, which the
    /// plan shows as a change.
    async fn read(&self, aws: &Aws, s: &PermissionSpec, inputs: &Inputs) -> Found<PermissionSpec> {
        let Some(st) = statement(aws, &s.function_name, &s.statement_id).await? else {
            return Ok(None);
        };
        let source = condition(&st, "AWS:SourceArn").unwrap_or_default();
        // The spec names the API; the statement names its ID.
        let path = inputs
            .get(Kind::ApigwRestApi, "id")
            .and_then(|id| source.strip_prefix(&execute_api_arn(aws, id)));
        let (source_api, source_path) = match path {
            Some(path) => (s.source_api.clone(), path.to_string()),
            None => (source.clone(), String::new()),
        };
        Ok(Some(Observed::bare(PermissionSpec {
            action: action(&st),
            principal: principal(&st),
            source_api,
            source_path,
            ..s.clone()
        })))
    }

    async fn create(
        &self,
        aws: &Aws,
        s: &PermissionSpec,
        inputs: &Inputs,
    ) -> Result<Outputs, AwsError> {
        let api_id = inputs.require(Kind::ApigwRestApi, "id")?;
        let call = aws
            .lambda
            .add_permission()
            .function_name(&s.function_name)
            .statement_id(&s.statement_id)
            .action(&s.action)
            .principal(&s.principal)
            .source_arn(format!("{}{}", execute_api_arn(aws, api_id), s.source_path))
            .source_account(&aws.account)
            .send();
        let what = format!(
            "failed to let API Gateway invoke Lambda function {}",
            s.function_name
        );
        aws.mutate(LAMBDA, what, call)
            .await
            .tolerate(&["ResourceConflictException"])?;
        Ok(Outputs::new())
    }

    async fn update(
        &self,
        aws: &Aws,
        desired: &PermissionSpec,
        live: &Observed<PermissionSpec>,
        _changes: &Changes,
        inputs: &Inputs,
    ) -> Result<(), AwsError> {
        // A statement cannot be edited: replace it.
        let gone = Gone {
            physical: crate::model::Spec::physical(desired),
            spec: Some(live.spec.clone()),
            outputs: live.outputs.clone(),
        };
        self.delete(aws, &gone).await?;
        self.create(aws, desired, inputs).await.map(|_| ())
    }

    async fn delete(&self, aws: &Aws, gone: &Gone<PermissionSpec>) -> Result<(), AwsError> {
        let (function, sid) = match &gone.spec {
            Some(l) => (l.function_name.as_str(), l.statement_id.as_str()),
            None => gone
                .physical
                .split_once('/')
                .ok_or_else(|| AwsError::msg(format!("malformed permission {}", gone.physical)))?,
        };
        let call = aws
            .lambda
            .remove_permission()
            .function_name(function)
            .statement_id(sid)
            .send();
        aws.mutate(
            LAMBDA,
            format!("failed to remove the permission {}", gone.physical),
            call,
        )
        .await
        .tolerate(NOT_FOUND)
    }
}
