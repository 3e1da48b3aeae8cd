//! A Cognito user pool. Pool names are not unique in Cognito and pool IDs are AWS-assigned:
//! a pool is found by listing pools with its name and preferring the one tagged with this
//! stack instance; its ID and ARN are its outputs.

use super::{no_sdk_retries, COGNITO, NOT_FOUND};
use crate::aws::checked::create_checked;
use crate::aws::kit::{all_pages, listed_sharing_names, Absent};
use crate::aws::{
    Aws, AwsError, Changes, Found, Gone, Inputs, Listed, Observed, Outputs, Provider,
};
use crate::model::cognito::{PasswordPolicy, UserPoolSpec};
use crate::model::Tags;
use crate::names::TAG_STACK;
use async_trait::async_trait;
use aws_sdk_cognitoidentityprovider::types::{
    AdminCreateUserConfigType, AliasAttributeType, AttributeDataType, DeletionProtectionType,
    PasswordPolicyType, SchemaAttributeType, SoftwareTokenMfaConfigType, UserPoolMfaType,
    UserPoolPolicyType, UserPoolType, UsernameConfigurationType, VerifiedAttributeType,
};

/// Name and ID of every pool whose name `keep` accepts (ListUserPools, 60 per page; one
/// listing shared by a live-state read's pool read and leak sweep).
async fn pools(aws: &Aws, keep: impl Fn(&str) -> bool) -> Result<Vec<(String, String)>, AwsError> {
    let all = aws
        .listings
        .shared("cognito:user-pools", || async {
            let pages = aws
                .cognito
                .list_user_pools()
                .max_results(60)
                .into_paginator();
            let pages = all_pages(pages.send(), "failed to list Cognito user pools").await?;
            let pools = pages.iter().flat_map(|p| p.user_pools());
            let named = pools.filter_map(|p| Some((p.name()?.to_string(), p.id()?.to_string())));
            Ok(named.collect::<Vec<_>>())
        })
        .await?;
    Ok(all.iter().filter(|(name, _)| keep(name)).cloned().collect())
}

/// IDs of the pools named `name` (also `users sync`'s way to its pool).
pub(crate) async fn pool_ids(aws: &Aws, name: &str) -> Result<Vec<String>, AwsError> {
    let found = pools(aws, |n| n == name).await?;
    Ok(found.into_iter().map(|(_, id)| id).collect())
}

async fn describe(aws: &Aws, id: &str) -> Result<Option<UserPoolType>, AwsError> {
    let out = aws
        .cognito
        .describe_user_pool()
        .user_pool_id(id)
        .send()
        .await
        .map_err(AwsError::from)
        .or_absent(NOT_FOUND)
        .map_err(|e| e.context(format!("failed to read user pool {id}")))?;
    Ok(out.and_then(|o| o.user_pool))
}

fn tags_of(pool: &UserPoolType) -> Tags {
    pool.user_pool_tags()
        .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

fn tagged(pool: &UserPoolType, stack: &str) -> bool {
    pool.user_pool_tags()
        .and_then(|t| t.get(TAG_STACK))
        .is_some_and(|s| s == stack)
}

/// The pool named `name`: the one tagged with `stack` if several share the name, else the
/// only (or first) one, whose tags then tell the engine it is foreign.
async fn find_pool(aws: &Aws, name: &str, stack: &str) -> Result<Option<UserPoolType>, AwsError> {
    let mut first = None;
    for id in pool_ids(aws, name).await? {
        if let Some(pool) = describe(aws, &id).await? {
            if tagged(&pool, stack) {
                return Ok(Some(pool));
            }
            first.get_or_insert(pool);
        }
    }
    Ok(first)
}

/// ARN of a user pool.
fn pool_arn(aws: &Aws, id: &str) -> String {
    format!(
        "arn:aws:cognito-idp:{}:{}:userpool/{id}",
        aws.region, aws.account
    )
}

/// The pool's outputs: `id` and `arn`.
fn outputs_of(aws: &Aws, pool: &UserPoolType) -> Outputs {
    let id = pool.id().unwrap_or_default().to_string();
    let arn = pool
        .arn()
        .map(str::to_string)
        .unwrap_or_else(|| pool_arn(aws, &id));
    Outputs::from([("id".to_string(), id), ("arn".to_string(), arn)])
}

fn stack_of(tags: &Tags) -> String {
    tags.get(TAG_STACK).cloned().unwrap_or_default()
}

fn sorted(names: impl Iterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = names.collect();
    v.sort();
    v
}

async fn pool_spec(aws: &Aws, pool: &UserPoolType) -> Result<UserPoolSpec, AwsError> {
    let id = pool.id().unwrap_or_default();
    let mfa = pool
        .mfa_configuration()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "OFF".into());
    // Whether TOTP is enabled is only in the MFA configuration: read it when MFA is used.
    let software_token_mfa = if mfa == "OFF" {
        false
    } else {
        aws.cognito
            .get_user_pool_mfa_config()
            .user_pool_id(id)
            .send()
            .await
            .map_err(|e| {
                AwsError::from(e)
                    .context(format!("failed to read the MFA settings of user pool {id}"))
            })?
            .software_token_mfa_configuration()
            .is_some_and(|c| c.enabled())
    };
    let p = pool.policies().and_then(|p| p.password_policy());
    Ok(UserPoolSpec {
        name: pool.name().unwrap_or_default().to_string(),
        password: PasswordPolicy {
            min_length: p.and_then(|p| p.minimum_length()).unwrap_or(8),
            require_symbols: p.is_some_and(|p| p.require_symbols()),
            require_numbers: p.is_some_and(|p| p.require_numbers()),
            require_uppercase: p.is_some_and(|p| p.require_uppercase()),
            require_lowercase: p.is_some_and(|p| p.require_lowercase()),
        },
        mfa,
        software_token_mfa,
        deletion_protection: pool
            .deletion_protection()
            .map(|d| d.as_str().to_string())
            .unwrap_or_else(|| "INACTIVE".into()),
        // A pool created without a username configuration is case-sensitive.
        username_case_sensitive: pool
            .username_configuration()
            .map(|u| u.case_sensitive())
            .unwrap_or(true),
        alias_attributes: sorted(
            pool.alias_attributes()
                .iter()
                .map(|a| a.as_str().to_string()),
        ),
        auto_verified_attributes: sorted(
            pool.auto_verified_attributes()
                .iter()
                .map(|a| a.as_str().to_string()),
        ),
        custom_attributes: sorted(pool.schema_attributes().iter().filter_map(|a| {
            a.name()
                .and_then(|n| n.strip_prefix("custom:"))
                .map(str::to_string)
        })),
        // Without the setting Cognito allows self-service sign-up.
        admin_create_user_only: pool
            .admin_create_user_config()
            .is_some_and(|c| c.allow_admin_create_user_only()),
        tags: tags_of(pool),
    })
}

fn policies(s: &UserPoolSpec) -> UserPoolPolicyType {
    UserPoolPolicyType::builder()
        .password_policy(
            PasswordPolicyType::builder()
                .minimum_length(s.password.min_length)
                .require_symbols(s.password.require_symbols)
                .require_numbers(s.password.require_numbers)
                .require_uppercase(s.password.require_uppercase)
                .require_lowercase(s.password.require_lowercase)
                .build(),
        )
        .build()
}

/// Who may create users: administrators only when `admin_create_user_only` (no `SignUp`).
/// Only `AllowAdminCreateUserOnly` is set; the invitation template and the deprecated
/// `UnusedAccountValidityDays` keep Cognito's defaults, as at creation.
/// <https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminCreateUserConfigType.html>
fn admin_create_user_config(s: &UserPoolSpec) -> AdminCreateUserConfigType {
    AdminCreateUserConfigType::builder()
        .allow_admin_create_user_only(s.admin_create_user_only)
        .build()
}

fn verified(s: &UserPoolSpec) -> Vec<VerifiedAttributeType> {
    s.auto_verified_attributes
        .iter()
        .map(|a| VerifiedAttributeType::from(a.as_str()))
        .collect()
}

async fn set_mfa(aws: &Aws, id: &str, s: &UserPoolSpec) -> Result<(), AwsError> {
    let call = aws
        .cognito
        .set_user_pool_mfa_config()
        .user_pool_id(id)
        .software_token_mfa_configuration(
            SoftwareTokenMfaConfigType::builder()
                .enabled(s.software_token_mfa)
                .build(),
        )
        .mfa_configuration(UserPoolMfaType::from(s.mfa.as_str()))
        .send();
    let what = format!("failed to set the MFA of user pool {}", s.name);
    aws.mutate(COGNITO, what, call).await?;
    Ok(())
}

/// UpdateUserPool with every mutable setting of `s` (it resets what it is not given to its
/// default), deletion protection as `protection`. The settings the spec leaves out are left
/// out at creation too, so they stay at their defaults.
/// <https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pool-updating.html>
async fn update_pool(
    aws: &Aws,
    id: &str,
    s: &UserPoolSpec,
    protection: DeletionProtectionType,
    what: String,
) -> Result<(), AwsError> {
    let call = aws
        .cognito
        .update_user_pool()
        .user_pool_id(id)
        .policies(policies(s))
        .mfa_configuration(UserPoolMfaType::from(s.mfa.as_str()))
        .deletion_protection(protection)
        .set_auto_verified_attributes(Some(verified(s)))
        .admin_create_user_config(admin_create_user_config(s))
        .set_user_pool_tags(Some(s.tags.clone().into_iter().collect()))
        .send();
    aws.mutate(COGNITO, what, call).await?;
    Ok(())
}

/// A mutable custom string attribute of a pool schema.
fn custom_attribute(name: &str) -> SchemaAttributeType {
    SchemaAttributeType::builder()
        .name(name)
        .attribute_data_type(AttributeDataType::String)
        .mutable(true)
        .build()
}

/// Brings a live pool to the declaration where `changes` says it differs. Alias attributes
/// and the username configuration are fixed at creation; custom attributes are only added
/// (AddCustomAttributes); everything else goes whole through [`update_pool`].
async fn converge(
    aws: &Aws,
    id: &str,
    s: &UserPoolSpec,
    l: &UserPoolSpec,
    changes: &Changes,
) -> Result<(), AwsError> {
    if changes.touches("custom_attributes") {
        add_custom_attributes(aws, id, s, l).await?;
    }
    let mfa_changed = changes.touches("mfa") || changes.touches("software_token_mfa");
    if mfa_changed {
        // Before UpdateUserPool: MFA ON/OPTIONAL needs an enabled MFA method first.
        set_mfa(aws, id, s).await?;
    }
    let rest_changed = [
        "password",
        "deletion_protection",
        "auto_verified_attributes",
        "admin_create_user_only",
        "tags",
    ]
    .iter()
    .any(|f| changes.touches(f));
    if rest_changed || mfa_changed {
        let protection = DeletionProtectionType::from(s.deletion_protection.as_str());
        let what = format!("failed to update user pool {}", s.name);
        update_pool(aws, id, s, protection, what).await?;
    }
    Ok(())
}

/// Adds the declared custom attributes the pool lacks; refuses to drop any (Cognito cannot).
async fn add_custom_attributes(
    aws: &Aws,
    id: &str,
    s: &UserPoolSpec,
    l: &UserPoolSpec,
) -> Result<(), AwsError> {
    let removed: Vec<&str> = l
        .custom_attributes
        .iter()
        .filter(|a| !s.custom_attributes.contains(a))
        .map(String::as_str)
        .collect();
    if !removed.is_empty() {
        return Err(AwsError::msg(format!(
            "user pool {id}: custom attributes cannot be removed from a Cognito pool ({}); keep them in `cognito.custom_attributes`",
            removed.join(", ")
        )));
    }
    let added: Vec<_> = s
        .custom_attributes
        .iter()
        .filter(|a| !l.custom_attributes.contains(a))
        .map(|a| custom_attribute(a))
        .collect();
    if !added.is_empty() {
        let call = aws
            .cognito
            .add_custom_attributes()
            .user_pool_id(id)
            .set_custom_attributes(Some(added))
            .send();
        let what = format!("failed to add custom attributes to user pool {id}");
        aws.mutate(COGNITO, what, call).await?;
    }
    Ok(())
}

/// CreateUserPool, made once per attempt with the SDK's retries off: a lost answer is looked
/// up by name and tag before any retry (see `create_checked`).
async fn create_pool(aws: &Aws, s: &UserPoolSpec, stack: &str) -> Result<UserPoolType, AwsError> {
    create_checked(
        &format!("create user pool {}", s.name),
        || async move {
            aws.throttle(COGNITO).await;
            let out = aws
                .cognito
                .create_user_pool()
                .pool_name(&s.name)
                .policies(policies(s))
                .deletion_protection(DeletionProtectionType::from(s.deletion_protection.as_str()))
                .username_configuration(
                    UsernameConfigurationType::builder()
                        .case_sensitive(s.username_case_sensitive)
                        .build()
                        .map_err(|e| AwsError::msg(e.to_string()))?,
                )
                .set_alias_attributes(Some(
                    s.alias_attributes
                        .iter()
                        .map(|a| AliasAttributeType::from(a.as_str()))
                        .collect(),
                ))
                .set_auto_verified_attributes(Some(verified(s)))
                .admin_create_user_config(admin_create_user_config(s))
                .set_user_pool_tags(Some(s.tags.clone().into_iter().collect()))
                .set_schema(Some(
                    s.custom_attributes
                        .iter()
                        .map(|a| custom_attribute(a))
                        .collect(),
                ))
                .customize()
                .config_override(no_sdk_retries())
                .send()
                .await
                .map_err(AwsError::from)?;
            out.user_pool.filter(|p| p.id().is_some()).ok_or_else(|| {
                AwsError::msg(format!("user pool {} was created without an ID", s.name))
            })
        },
        || async move {
            let pool = find_pool(aws, &s.name, stack).await?;
            Ok(pool.filter(|p| tagged(p, stack)))
        },
    )
    .await
}

/// A Cognito user pool.
pub struct UserPool;

#[async_trait]
impl Provider for UserPool {
    type Spec = UserPoolSpec;

    async fn read(&self, aws: &Aws, s: &UserPoolSpec, _: &Inputs) -> Found<UserPoolSpec> {
        let Some(pool) = find_pool(aws, &s.name, &stack_of(&s.tags)).await? else {
            return Ok(None);
        };
        Ok(Some(Observed {
            spec: pool_spec(aws, &pool).await?,
            outputs: outputs_of(aws, &pool),
        }))
    }

    async fn create(&self, aws: &Aws, s: &UserPoolSpec, _: &Inputs) -> Result<Outputs, AwsError> {
        let stack = stack_of(&s.tags);
        // Names are not unique: "already exists" is a pool of ours found by name and tag.
        if let Some(pool) = find_pool(aws, &s.name, &stack).await? {
            if tagged(&pool, &stack) {
                let id = pool.id().unwrap_or_default();
                let live = pool_spec(aws, &pool).await?;
                converge(aws, id, s, &live, &Changes::between(s, &live)).await?;
                return Ok(outputs_of(aws, &pool));
            }
        }
        let pool = create_pool(aws, s, &stack).await?;
        if s.mfa != "OFF" || s.software_token_mfa {
            // The TOTP method and the MFA mode are set once the pool exists.
            set_mfa(aws, pool.id().unwrap_or_default(), s).await?;
        }
        Ok(outputs_of(aws, &pool))
    }

    async fn update(
        &self,
        aws: &Aws,
        desired: &UserPoolSpec,
        live: &Observed<UserPoolSpec>,
        changes: &Changes,
        _: &Inputs,
    ) -> Result<(), AwsError> {
        let id = live
            .outputs
            .get("id")
            .ok_or_else(|| AwsError::msg(format!("user pool {} has no known ID", desired.name)))?;
        converge(aws, id, desired, &live.spec, changes).await
    }

    async fn delete(&self, aws: &Aws, gone: &Gone<UserPoolSpec>) -> Result<(), AwsError> {
        let physical = &gone.physical;
        let Some(id) = gone.outputs.get("id") else {
            return Ok(());
        };
        let Some(pool) = describe(aws, id).await? else {
            return Ok(());
        };
        let l = pool_spec(aws, &pool).await?;
        // The engine only deletes pools tagged as ours: lift our own deletion protection. The
        // update resets what it is not given, so it gets the live settings back (should the
        // delete then fail, the pool keeps them, admin-only user creation included).
        if l.deletion_protection == "ACTIVE" {
            let what = format!("failed to lift the deletion protection of user pool {physical}");
            let lifted = update_pool(aws, id, &l, DeletionProtectionType::Inactive, what)
                .await
                .or_absent(NOT_FOUND)?;
            if lifted.is_none() {
                return Ok(());
            }
        }
        let call = aws.cognito.delete_user_pool().user_pool_id(id).send();
        aws.mutate(
            COGNITO,
            format!("failed to delete user pool {physical}"),
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
        let found = pools(aws, |n| n.starts_with(prefix)).await?;
        listed_sharing_names(found, prefix, skip, |id| async move {
            let pool = describe(aws, &id).await?;
            Ok(pool.map(|p| (tags_of(&p), outputs_of(aws, &p))))
        })
        .await
    }
}
