//! A group of the user pool, whose ID comes from the pool's outputs.

use super::{COGNITO, NOT_FOUND};
use crate::aws::kit::Absent;
use crate::aws::{Aws, AwsError, Changes, Found, Gone, Inputs, Observed, Outputs, Provider};
use crate::model::cognito::GroupSpec;
use crate::model::Kind;
use async_trait::async_trait;

/// The group's output: the `pool_id` a delete needs (a group has no ID of its own).
fn outputs(pool_id: &str) -> Outputs {
    Outputs::from([("pool_id".to_string(), pool_id.to_string())])
}

async fn update_group(aws: &Aws, pool_id: &str, s: &GroupSpec) -> Result<(), AwsError> {
    let call = aws
        .cognito
        .update_group()
        .user_pool_id(pool_id)
        .group_name(&s.name)
        .description(&s.description)
        .precedence(s.precedence)
        .send();
    let what = format!("failed to update group {}", s.name);
    aws.mutate(COGNITO, what, call).await?;
    Ok(())
}

/// A group of the user pool.
pub struct Group;

#[async_trait]
impl Provider for Group {
    type Spec = GroupSpec;

    async fn read(&self, aws: &Aws, s: &GroupSpec, inputs: &Inputs) -> Found<GroupSpec> {
        let Some(pool_id) = inputs.get(Kind::CognitoUserPool, "id") else {
            return Ok(None);
        };
        let out = aws
            .cognito
            .get_group()
            .user_pool_id(pool_id)
            .group_name(&s.name)
            .send()
            .await
            .map_err(AwsError::from)
            .or_absent(NOT_FOUND)
            .map_err(|e| e.context(format!("failed to read group {}", s.name)))?;
        let Some(group) = out.and_then(|o| o.group) else {
            return Ok(None);
        };
        Ok(Some(Observed {
            spec: GroupSpec {
                description: group.description().unwrap_or_default().to_string(),
                precedence: group.precedence().unwrap_or_default(),
                ..s.clone()
            },
            outputs: outputs(pool_id),
        }))
    }

    async fn create(&self, aws: &Aws, s: &GroupSpec, inputs: &Inputs) -> Result<Outputs, AwsError> {
        let pool_id = inputs.require(Kind::CognitoUserPool, "id")?;
        let call = aws
            .cognito
            .create_group()
            .user_pool_id(pool_id)
            .group_name(&s.name)
            .description(&s.description)
            .precedence(s.precedence)
            .send();
        let what = format!("failed to create group {}", s.name);
        match aws.mutate(COGNITO, what, call).await {
            Ok(_) => {}
            Err(e) if e.is(&["GroupExistsException"]) => update_group(aws, pool_id, s).await?,
            Err(e) => return Err(e),
        }
        Ok(outputs(pool_id))
    }

    async fn update(
        &self,
        aws: &Aws,
        desired: &GroupSpec,
        _live: &Observed<GroupSpec>,
        _changes: &Changes,
        inputs: &Inputs,
    ) -> Result<(), AwsError> {
        let pool_id = inputs.require(Kind::CognitoUserPool, "id")?;
        update_group(aws, pool_id, desired).await
    }

    async fn delete(&self, aws: &Aws, gone: &Gone<GroupSpec>) -> Result<(), AwsError> {
        let (Some(pool_id), Some(l)) = (gone.outputs.get("pool_id"), &gone.spec) else {
            return Ok(());
        };
        let call = aws
            .cognito
            .delete_group()
            .user_pool_id(pool_id)
            .group_name(&l.name)
            .send();
        aws.mutate(
            COGNITO,
            format!("failed to delete group {}", gone.physical),
            call,
        )
        .await
        .tolerate(NOT_FOUND)
    }
}
