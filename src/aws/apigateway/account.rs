//! API Gateway's account settings: the CloudWatch role every stage of the account and region
//! logs with. A stage refuses access logs until one is set, so the stage sets it first, only
//! where none is: a role someone else set serves as well and is never replaced.

use super::APIGW;
use crate::aws::iam::Role;
use crate::aws::kit::poll_until;
use crate::aws::{Aws, AwsError, Changes, Inputs, Provider};
use crate::model::apigateway::account_logging_role;
use aws_sdk_apigateway::types::Op;
use std::time::Duration;

/// Sets the account's CloudWatch role to the shared [`account_logging_role`] (made or brought
/// to its declaration first) unless a role is set already.
pub(super) async fn ensure_logging_role(aws: &Aws) -> Result<(), AwsError> {
    let account = aws.apigateway.get_account().send().await.map_err(|e| {
        AwsError::from(e).context("failed to read the API Gateway account settings")
    })?;
    if account.cloudwatch_role_arn().is_some_and(|a| !a.is_empty()) {
        return Ok(());
    }
    let role = account_logging_role(&aws.account);
    let none = Inputs::default();
    let arn = match Role.read(aws, &role, &none).await? {
        Some(live) => {
            let changes = Changes::between(&role, &live.spec);
            Role.update(aws, &role, &live, &changes, &none).await?;
            live.outputs.get("arn").cloned()
        }
        None => Role.create(aws, &role, &none).await?.get("arn").cloned(),
    }
    .ok_or_else(|| AwsError::msg(format!("IAM role {} has no ARN", role.name)))?;
    // A role just made is refused ("does not have required permissions") until IAM has
    // propagated it, typically seconds.
    poll_until(
        "API Gateway accepts the CloudWatch role",
        Duration::from_secs(90),
        Duration::from_secs(3),
        || async {
            let call = aws
                .apigateway
                .update_account()
                .patch_operations(super::patch(
                    Op::Replace,
                    "/cloudwatchRoleArn",
                    Some(arn.clone()),
                ))
                .send();
            let what = "failed to set the API Gateway account's CloudWatch role";
            match aws.mutate(APIGW, what, call).await {
                Ok(_) => Ok(Some(())),
                Err(e) if e.is(&["BadRequestException"]) => Ok(None),
                Err(e) => Err(e),
            }
        },
    )
    .await
}
