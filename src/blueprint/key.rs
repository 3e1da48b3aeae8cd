//! The stack's customer-managed KMS key (`kms_key.enabled`): it encrypts what has no
//! AWS-managed key fit for it, the Glue job's output, CloudWatch logs and bookmarks, the
//! API's access logs and the alerts topic.
//!
//! Its policy lets the account administer it through IAM (which also keeps it manageable:
//! KMS refuses a policy that would lock its caller out), CloudWatch Logs encrypt the Glue
//! job's log groups and the API's access-log group, and the roles that use it directly encrypt and decrypt with it: the Glue
//! job's (what it writes to the lake, its bookmarks), `process`'s (publishing to the
//! encrypted topic) and the warehouse's COPY role (reading what the job wrote). Roles are
//! named, not granted through their own policies, because a role's policy would need the
//! key's ARN, which KMS assigns; a key policy may only name principals that exist, so the key
//! is made after them.
//! <https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html>
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html>
//! <https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html>

use super::catalog::{role_arn, GLUE_ROLE};
use super::compute::PROCESS;
use super::warehouse::COPY_ROLE;
use crate::config::StackConfig;
use crate::model::kms::KeySpec;
use crate::model::policy::{self, Statement};
use crate::model::{address, Kind, Resource, Tags};
use crate::names::Names;
use serde_json::json;

/// Logical name of the key.
pub const KEY: &str = "stack";

/// The key's alias, `alias/<instance>`, by which the tool finds it.
pub fn alias(names: &Names) -> String {
    format!("alias/{}", names.instance)
}

/// The alias's ARN: what a spec declares where AWS wants the key's ARN, which KMS assigns;
/// the provider puts the key's own ARN, from the key's outputs, in its place.
pub fn alias_arn(names: &Names) -> String {
    format!(
        "arn:aws:kms:{}:{}:{}",
        names.region,
        names.account,
        alias(names)
    )
}

/// The log groups a Glue job's runs write to when its security configuration encrypts them:
/// `/aws-glue/jobs-<role>-<security configuration>/...`.
/// <https://docs.aws.amazon.com/glue/latest/webapi/API_JobRun.html> (LogGroupName)
pub fn glue_log_groups(names: &Names, role: &str, security: &str) -> String {
    format!(
        "arn:aws:logs:{}:{}:log-group:/aws-glue/jobs-{role}-{security}*",
        names.region, names.account
    )
}

/// The key, if `kms_key.enabled`. `security` is the Glue security configuration's name.
pub fn resources(
    config: &StackConfig,
    names: &Names,
    security: &str,
    tags: &Tags,
) -> Vec<Resource> {
    if !config.kms_key.enabled {
        return Vec::new();
    }
    let glue_role = names.role(GLUE_ROLE);
    let mut log_groups = vec![glue_log_groups(names, &glue_role, security)];
    if config.api.access_log_retention_days.is_some() {
        log_groups.push(format!(
            "arn:aws:logs:{}:{}:log-group:{}",
            names.region,
            names.account,
            super::api::access_log_group(names)
        ));
    }
    let administer = Statement {
        sid: "AccountAdministers".into(),
        principal: Some(json!({"AWS": format!("arn:aws:iam::{}:root", names.account)})),
        actions: vec!["kms:*".into()],
        resources: vec!["*".into()],
        ..Statement::default()
    };
    let logs = Statement {
        sid: "CloudWatchLogsEncryptsGlueLogs".into(),
        principal: Some(json!({"Service": format!("logs.{}.amazonaws.com", names.region)})),
        actions: [
            "kms:Decrypt*",
            "kms:Describe*",
            "kms:Encrypt*",
            "kms:GenerateDataKey*",
            "kms:ReEncrypt*",
        ]
        .map(String::from)
        .to_vec(),
        resources: vec!["*".into()],
        condition: Some(json!({"ArnLike": {
            "kms:EncryptionContext:aws:logs:arn": log_groups
        }})),
        ..Statement::default()
    };
    let mut users = vec![GLUE_ROLE, PROCESS];
    if config.warehouse.enabled {
        users.push(COPY_ROLE);
    }
    let roles = Statement {
        sid: "StackRolesUseTheKey".into(),
        principal: Some(json!({"AWS": users
            .iter()
            .map(|r| role_arn(names, &names.role(r)))
            .collect::<Vec<_>>()})),
        actions: [
            "kms:Decrypt",
            "kms:DescribeKey",
            "kms:Encrypt",
            "kms:GenerateDataKey*",
            "kms:ReEncrypt*",
        ]
        .map(String::from)
        .to_vec(),
        resources: vec!["*".into()],
        ..Statement::default()
    };
    vec![Resource::new(
        KEY,
        &KeySpec {
            alias: alias(names),
            description: format!("ecomflow-infra key of {}", names.instance),
            policy: policy::document(&[administer, logs, roles]),
            rotation: true,
            deletion_window_days: config.kms_key.deletion_window_days as i32,
            tags: tags.clone(),
        },
    )
    .after(
        &users
            .iter()
            .map(|r| address(Kind::IamRole, r))
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    )]
}
