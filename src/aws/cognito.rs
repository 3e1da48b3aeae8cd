//! Cognito user pools: the pool behind the API, its app client and its groups.
//!
//! Pool names are not unique in Cognito and pool IDs are AWS-assigned: a pool is found by
//! listing pools with its name and preferring the one tagged with this stack instance.

use super::checked::create_checked;
use super::legacy::{LegacyProvider as Provider, Listed};
use super::{spec, Aws, AwsError};
use crate::model::cognito::{
    AppClientSpec, ClientLifetimes, GroupSpec, PasswordPolicy, TokenValidity, UserPoolSpec,
};
use crate::model::{Resource, Service, Tags};
use crate::names::TAG_STACK;
use async_trait::async_trait;
use aws_sdk_cognitoidentityprovider::types::{
    AdminCreateUserConfigType, AliasAttributeType, DeletionProtectionType, ExplicitAuthFlowsType,
    PasswordPolicyType, PreventUserExistenceErrorTypes, SoftwareTokenMfaConfigType, TimeUnitsType,
    TokenValidityUnitsType, UserPoolClientType, UserPoolMfaType, UserPoolPolicyType, UserPoolType,
    UsernameConfigurationType, VerifiedAttributeType,
};
use serde_json::{json, Value};

const NOT_FOUND: &[&str] = &["ResourceNotFoundException"];

/// Per-call configuration that turns the SDK's own retries off, for the creates that
/// [`create_checked`] retries itself.
fn no_sdk_retries() -> aws_sdk_cognitoidentityprovider::config::Builder {
    aws_sdk_cognitoidentityprovider::config::Builder::default()
        .retry_config(aws_sdk_cognitoidentityprovider::config::retry::RetryConfig::disabled())
}

/// IDs of the pools named `name` (ListUserPools, 60 per page).
async fn pool_ids(aws: &Aws, name: &str) -> Result<Vec<String>, AwsError> {
    let mut ids = Vec::new();
    let mut pages = aws
        .cognito
        .list_user_pools()
        .max_results(60)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::from(e).context("failed to list user pools"))?;
        for p in page.user_pools() {
            if p.name() == Some(name) {
                ids.extend(p.id().map(str::to_string));
            }
        }
    }
    Ok(ids)
}

async fn describe(aws: &Aws, id: &str) -> Result<Option<UserPoolType>, AwsError> {
    match aws
        .cognito
        .describe_user_pool()
        .user_pool_id(id)
        .send()
        .await
    {
        Ok(out) => Ok(out.user_pool),
        Err(e) => {
            let e = AwsError::from(e);
            if e.is(NOT_FOUND) {
                Ok(None)
            } else {
                Err(e.context(format!("failed to read user pool {id}")))
            }
        }
    }
}

fn tagged(pool: &UserPoolType, stack: &str) -> bool {
    pool.user_pool_tags()
        .and_then(|t| t.get(TAG_STACK))
        .is_some_and(|s| s == stack)
}

/// The pool named `name`: the one tagged with `stack` if several share the name, else the
/// only (or first) one, whose tags then tell the engine it is foreign.
pub(super) async fn find_pool(
    aws: &Aws,
    name: &str,
    stack: &str,
) -> Result<Option<UserPoolType>, AwsError> {
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

/// The ID of the pool named `name` (one list call when the name is unique).
pub(super) async fn find_pool_id(
    aws: &Aws,
    name: &str,
    stack: &str,
) -> Result<Option<String>, AwsError> {
    let ids = pool_ids(aws, name).await?;
    if ids.len() <= 1 {
        return Ok(ids.into_iter().next());
    }
    Ok(find_pool(aws, name, stack).await?.and_then(|p| p.id))
}

/// ARN of a user pool.
pub(super) fn pool_arn(aws: &Aws, id: &str) -> String {
    format!(
        "arn:aws:cognito-idp:{}:{}:userpool/{id}",
        aws.region, aws.account
    )
}

fn stack_of(tags: &Tags) -> String {
    tags.get(TAG_STACK).cloned().unwrap_or_default()
}

async fn pool_spec(aws: &Aws, pool: &UserPoolType) -> Result<UserPoolSpec, AwsError> {
    let id = pool.id().unwrap_or_default().to_string();
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
            .user_pool_id(&id)
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
    let mut alias: Vec<String> = pool
        .alias_attributes()
        .iter()
        .map(|a| a.as_str().to_string())
        .collect();
    alias.sort();
    let mut verified: Vec<String> = pool
        .auto_verified_attributes()
        .iter()
        .map(|a| a.as_str().to_string())
        .collect();
    verified.sort();
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
        alias_attributes: alias,
        auto_verified_attributes: verified,
        custom_attributes: {
            let mut c: Vec<String> = pool
                .schema_attributes()
                .iter()
                .filter_map(|a| {
                    a.name()
                        .and_then(|n| n.strip_prefix("custom:"))
                        .map(str::to_string)
                })
                .collect();
            c.sort();
            c
        },
        // Without the setting Cognito allows self-service sign-up.
        admin_create_user_only: pool
            .admin_create_user_config()
            .is_some_and(|c| c.allow_admin_create_user_only()),
        tags: pool
            .user_pool_tags()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
        id: Some(id),
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

async fn set_mfa(aws: &Aws, id: &str, s: &UserPoolSpec) -> Result<(), AwsError> {
    aws.throttle(Service::Cognito).await;
    aws.cognito
        .set_user_pool_mfa_config()
        .user_pool_id(id)
        .software_token_mfa_configuration(
            SoftwareTokenMfaConfigType::builder()
                .enabled(s.software_token_mfa)
                .build(),
        )
        .mfa_configuration(UserPoolMfaType::from(s.mfa.as_str()))
        .send()
        .await
        .map_err(|e| {
            AwsError::from(e).context(format!("failed to set the MFA of user pool {}", s.name))
        })?;
    Ok(())
}

/// A mutable custom string attribute of a pool schema.
fn custom_attribute(name: &str) -> aws_sdk_cognitoidentityprovider::types::SchemaAttributeType {
    aws_sdk_cognitoidentityprovider::types::SchemaAttributeType::builder()
        .name(name)
        .attribute_data_type(aws_sdk_cognitoidentityprovider::types::AttributeDataType::String)
        .mutable(true)
        .build()
}

/// Brings a live pool to the declaration. UpdateUserPool resets every setting it is not
/// given to its default, so it always gets every mutable setting the spec declares (password
/// policy, MFA, deletion protection, auto-verified attributes, admin-only user creation and
/// tags); the settings the spec leaves out are left out at creation too, so they stay at
/// their defaults. Alias attributes and the username configuration are fixed at creation;
/// custom attributes are only added (AddCustomAttributes).
/// <https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pool-updating.html>
async fn converge_pool(
    aws: &Aws,
    id: &str,
    s: &UserPoolSpec,
    l: &UserPoolSpec,
) -> Result<(), AwsError> {
    let removed: Vec<&String> = l
        .custom_attributes
        .iter()
        .filter(|a| !s.custom_attributes.contains(a))
        .collect();
    if !removed.is_empty() {
        return Err(AwsError::msg(format!(
            "user pool {id}: custom attributes cannot be removed from a Cognito pool ({}); keep them in `cognito.custom_attributes`",
            removed.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(", ")
        )));
    }
    let added: Vec<_> = s
        .custom_attributes
        .iter()
        .filter(|a| !l.custom_attributes.contains(a))
        .map(|a| custom_attribute(a))
        .collect();
    if !added.is_empty() {
        aws.throttle(Service::Cognito).await;
        aws.cognito
            .add_custom_attributes()
            .user_pool_id(id)
            .set_custom_attributes(Some(added))
            .send()
            .await
            .map_err(|e| {
                AwsError::from(e)
                    .context(format!("failed to add custom attributes to user pool {id}"))
            })?;
    }
    let mfa_changed = s.mfa != l.mfa || s.software_token_mfa != l.software_token_mfa;
    if mfa_changed {
        // Before UpdateUserPool: MFA ON/OPTIONAL needs an enabled MFA method first.
        set_mfa(aws, id, s).await?;
    }
    let rest_changed = s.password != l.password
        || s.deletion_protection != l.deletion_protection
        || s.auto_verified_attributes != l.auto_verified_attributes
        || s.admin_create_user_only != l.admin_create_user_only
        || s.tags != l.tags;
    if rest_changed || mfa_changed {
        aws.throttle(Service::Cognito).await;
        aws.cognito
            .update_user_pool()
            .user_pool_id(id)
            .policies(policies(s))
            .mfa_configuration(UserPoolMfaType::from(s.mfa.as_str()))
            .deletion_protection(DeletionProtectionType::from(s.deletion_protection.as_str()))
            .set_auto_verified_attributes(Some(
                s.auto_verified_attributes
                    .iter()
                    .map(|a| VerifiedAttributeType::from(a.as_str()))
                    .collect(),
            ))
            .admin_create_user_config(admin_create_user_config(s))
            .set_user_pool_tags(Some(s.tags.clone().into_iter().collect()))
            .send()
            .await
            .map_err(|e| {
                AwsError::from(e).context(format!("failed to update user pool {}", s.name))
            })?;
    }
    Ok(())
}

/// A Cognito user pool.
pub struct UserPool;

#[async_trait]
impl Provider for UserPool {
    async fn read(&self, aws: &Aws, desired: &Resource) -> Result<Option<Value>, AwsError> {
        let s: UserPoolSpec = spec(&desired.spec)?;
        let Some(pool) = find_pool(aws, &s.name, &stack_of(&s.tags)).await? else {
            return Ok(None);
        };
        Ok(Some(
            serde_json::to_value(pool_spec(aws, &pool).await?).expect("specs serialise"),
        ))
    }

    async fn create(&self, aws: &Aws, desired: &Resource) -> Result<(), AwsError> {
        let s: UserPoolSpec = spec(&desired.spec)?;
        let stack = stack_of(&s.tags);
        // Names are not unique: "already exists" is a pool of ours found by name and tag.
        if let Some(pool) = find_pool(aws, &s.name, &stack).await? {
            if tagged(&pool, &stack) {
                let id = pool.id().unwrap_or_default().to_string();
                let live = pool_spec(aws, &pool).await?;
                return converge_pool(aws, &id, &s, &live).await;
            }
        }
        // A lost answer is looked up by name and tag before any retry (see `create_checked`).
        let s = &s;
        let stack = &stack;
        let id = create_checked(
            &format!("create user pool {}", s.name),
            || async move {
                aws.throttle(Service::Cognito).await;
                let out = aws
                    .cognito
                    .create_user_pool()
                    .pool_name(&s.name)
                    .policies(policies(s))
                    .deletion_protection(DeletionProtectionType::from(
                        s.deletion_protection.as_str(),
                    ))
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
                    .set_auto_verified_attributes(Some(
                        s.auto_verified_attributes
                            .iter()
                            .map(|a| VerifiedAttributeType::from(a.as_str()))
                            .collect(),
                    ))
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
                out.user_pool()
                    .and_then(|p| p.id())
                    .map(str::to_string)
                    .ok_or_else(|| {
                        AwsError::msg(format!("user pool {} was created without an ID", s.name))
                    })
            },
            || async move {
                let pool = find_pool(aws, &s.name, stack).await?;
                Ok(pool.filter(|p| tagged(p, stack)).and_then(|p| p.id))
            },
        )
        .await?;
        if s.mfa != "OFF" || s.software_token_mfa {
            // The TOTP method and the MFA mode are set once the pool exists.
            set_mfa(aws, &id, s).await?;
        }
        Ok(())
    }

    async fn update(&self, aws: &Aws, desired: &Resource, live: &Value) -> Result<(), AwsError> {
        let s: UserPoolSpec = spec(&desired.spec)?;
        let l: UserPoolSpec = spec(live)?;
        let id =
            l.id.clone()
                .ok_or_else(|| AwsError::msg(format!("user pool {} has no known ID", s.name)))?;
        converge_pool(aws, &id, &s, &l).await
    }

    async fn delete(&self, aws: &Aws, physical: &str, live: &Value) -> Result<(), AwsError> {
        // `live` is a full read, or only name, tags and `_id` when found by the leak sweep.
        let Some(id) = live.get("_id").and_then(Value::as_str).map(str::to_string) else {
            return Ok(());
        };
        let Some(pool) = describe(aws, &id).await? else {
            return Ok(());
        };
        let l = pool_spec(aws, &pool).await?;
        // The engine only deletes pools tagged as ours: lift our own deletion protection. The
        // update resets what it is not given, so it gets the live settings back (should the
        // delete then fail, the pool keeps them, admin-only user creation included).
        if l.deletion_protection == "ACTIVE" {
            aws.throttle(Service::Cognito).await;
            if let Err(e) = aws
                .cognito
                .update_user_pool()
                .user_pool_id(&id)
                .policies(policies(&l))
                .mfa_configuration(UserPoolMfaType::from(l.mfa.as_str()))
                .deletion_protection(DeletionProtectionType::Inactive)
                .set_auto_verified_attributes(Some(
                    l.auto_verified_attributes
                        .iter()
                        .map(|a| VerifiedAttributeType::from(a.as_str()))
                        .collect(),
                ))
                .admin_create_user_config(admin_create_user_config(&l))
                .set_user_pool_tags(Some(l.tags.clone().into_iter().collect()))
                .send()
                .await
            {
                let e = AwsError::from(e);
                if e.is(NOT_FOUND) {
                    return Ok(());
                }
                return Err(e.context(format!(
                    "failed to lift the deletion protection of user pool {physical}"
                )));
            }
        }
        aws.throttle(Service::Cognito).await;
        if let Err(e) = aws
            .cognito
            .delete_user_pool()
            .user_pool_id(&id)
            .send()
            .await
        {
            let e = AwsError::from(e);
            if !e.is(NOT_FOUND) {
                return Err(e.context(format!("failed to delete user pool {physical}")));
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
        let mut pages = aws
            .cognito
            .list_user_pools()
            .max_results(60)
            .into_paginator()
            .send();
        let mut found = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| AwsError::from(e).context("failed to list user pools"))?;
            for p in page.user_pools() {
                let name = p.name().unwrap_or_default();
                if name.starts_with(prefix) {
                    found.push((name.to_string(), p.id().unwrap_or_default().to_string()));
                }
            }
        }
        // The declared pool of each skipped name is the first one tagged with this stack
        // (as `find_pool` picks it); any other pool sharing the name is listed.
        let stack = prefix.strip_suffix('-').unwrap_or(prefix);
        let mut declared_seen: Vec<String> = Vec::new();
        for (name, id) in found {
            let Some(pool) = describe(aws, &id).await? else {
                continue;
            };
            let tags: Tags = pool
                .user_pool_tags()
                .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default();
            if skip.contains(&name) && tagged(&pool, stack) && !declared_seen.contains(&name) {
                declared_seen.push(name);
                continue;
            }
            out.push(Listed {
                physical: name.clone(),
                spec: json!({"name": name, "tags": tags, "_id": id}),
            });
        }
        Ok(out)
    }
}

/// The client named `name` of a pool: its ID, if any.
async fn find_client(aws: &Aws, pool_id: &str, name: &str) -> Result<Option<String>, AwsError> {
    let mut pages = aws
        .cognito
        .list_user_pool_clients()
        .user_pool_id(pool_id)
        .max_results(60)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = match page {
            Ok(p) => p,
            Err(e) => {
                let e = AwsError::from(e);
                if e.is(NOT_FOUND) {
                    return Ok(None);
                }
                return Err(e.context(format!("failed to list the clients of user pool {pool_id}")));
            }
        };
        if let Some(c) = page
            .user_pool_clients()
            .iter()
            .find(|c| c.client_name() == Some(name))
        {
            return Ok(c.client_id().map(str::to_string));
        }
    }
    Ok(None)
}

fn flows(s: &AppClientSpec) -> Vec<ExplicitAuthFlowsType> {
    s.explicit_auth_flows
        .iter()
        .map(|f| ExplicitAuthFlowsType::from(f.as_str()))
        .collect()
}

/// The units of the declared token lifetimes.
fn validity_units(s: &AppClientSpec) -> TokenValidityUnitsType {
    TokenValidityUnitsType::builder()
        .id_token(TimeUnitsType::from(s.lifetimes.id.unit.as_str()))
        .access_token(TimeUnitsType::from(s.lifetimes.access.unit.as_str()))
        .refresh_token(TimeUnitsType::from(s.lifetimes.refresh.unit.as_str()))
        .build()
}

/// The spec of a live app client (`declared` gives the fields Cognito does not report).
///
/// Settings a client does not report read as Cognito's documented defaults: ID and access
/// tokens 1 hour, refresh tokens 30 days (a reported 0 means the default too), units hours,
/// hours and days, `AuthSessionValidity` 3 minutes, `PreventUserExistenceErrors` `LEGACY`.
/// A client without explicit units or values thus plans as an update to the declared ones.
/// <https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_TokenValidityUnitsType.html>
fn client_spec(
    client: &UserPoolClientType,
    declared: AppClientSpec,
    pool_id: String,
    client_id: String,
) -> AppClientSpec {
    let mut flows: Vec<String> = client
        .explicit_auth_flows()
        .iter()
        .map(|f| f.as_str().to_string())
        .collect();
    flows.sort();
    let units = client.token_validity_units();
    let unit = |u: Option<&TimeUnitsType>, default: &str| {
        u.map(|u| u.as_str().to_string())
            .unwrap_or_else(|| default.to_string())
    };
    let refresh = match client.refresh_token_validity() {
        0 => 30,
        v => v,
    };
    AppClientSpec {
        explicit_auth_flows: flows,
        generate_secret: client.client_secret().is_some(),
        prevent_user_existence_errors: client
            .prevent_user_existence_errors()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "LEGACY".into()),
        enable_token_revocation: client.enable_token_revocation().unwrap_or(false),
        lifetimes: ClientLifetimes {
            id: TokenValidity {
                value: client.id_token_validity().unwrap_or(1),
                unit: unit(units.and_then(|u| u.id_token()), "hours"),
            },
            access: TokenValidity {
                value: client.access_token_validity().unwrap_or(1),
                unit: unit(units.and_then(|u| u.access_token()), "hours"),
            },
            refresh: TokenValidity {
                value: refresh,
                unit: unit(units.and_then(|u| u.refresh_token()), "days"),
            },
            auth_session_minutes: client.auth_session_validity().unwrap_or(3),
        },
        id: Some((pool_id, client_id)),
        ..declared
    }
}

/// An app client of the user pool.
pub struct AppClient;

#[async_trait]
impl Provider for AppClient {
    async fn read(&self, aws: &Aws, desired: &Resource) -> Result<Option<Value>, AwsError> {
        let s: AppClientSpec = spec(&desired.spec)?;
        let Some(pool_id) = find_pool_id(aws, &s.user_pool, &s.stack).await? else {
            return Ok(None);
        };
        let Some(client_id) = find_client(aws, &pool_id, &s.name).await? else {
            return Ok(None);
        };
        let client = match aws
            .cognito
            .describe_user_pool_client()
            .user_pool_id(&pool_id)
            .client_id(&client_id)
            .send()
            .await
        {
            Ok(out) => match out.user_pool_client {
                Some(c) => c,
                None => return Ok(None),
            },
            Err(e) => {
                let e = AwsError::from(e);
                return if e.is(NOT_FOUND) {
                    Ok(None)
                } else {
                    Err(e.context(format!("failed to read app client {}", s.name)))
                };
            }
        };
        Ok(Some(
            serde_json::to_value(client_spec(&client, s, pool_id, client_id))
                .expect("specs serialise"),
        ))
    }

    async fn create(&self, aws: &Aws, desired: &Resource) -> Result<(), AwsError> {
        let s: AppClientSpec = spec(&desired.spec)?;
        let pool_id = find_pool_id(aws, &s.user_pool, &s.stack)
            .await?
            .ok_or_else(|| AwsError::msg(format!("user pool {} not found", s.user_pool)))?;
        if let Some(client_id) = find_client(aws, &pool_id, &s.name).await? {
            return update_client(aws, &pool_id, &client_id, &s).await;
        }
        // A lost answer is looked up by name before any retry (see `create_checked`).
        let (s, pool_id) = (&s, &pool_id);
        create_checked(
            &format!("create app client {}", s.name),
            || async move {
                aws.throttle(Service::Cognito).await;
                aws.cognito
                    .create_user_pool_client()
                    .user_pool_id(pool_id)
                    .client_name(&s.name)
                    .generate_secret(s.generate_secret)
                    .set_explicit_auth_flows(Some(flows(s)))
                    .prevent_user_existence_errors(PreventUserExistenceErrorTypes::from(
                        s.prevent_user_existence_errors.as_str(),
                    ))
                    .enable_token_revocation(s.enable_token_revocation)
                    .id_token_validity(s.lifetimes.id.value)
                    .access_token_validity(s.lifetimes.access.value)
                    .refresh_token_validity(s.lifetimes.refresh.value)
                    .token_validity_units(validity_units(s))
                    .auth_session_validity(s.lifetimes.auth_session_minutes)
                    .customize()
                    .config_override(no_sdk_retries())
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(AwsError::from)
            },
            || async move { Ok(find_client(aws, pool_id, &s.name).await?.map(|_| ())) },
        )
        .await
    }

    async fn update(&self, aws: &Aws, desired: &Resource, live: &Value) -> Result<(), AwsError> {
        let s: AppClientSpec = spec(&desired.spec)?;
        let l: AppClientSpec = spec(live)?;
        let (pool_id, client_id) =
            l.id.ok_or_else(|| AwsError::msg(format!("app client {} has no known ID", s.name)))?;
        update_client(aws, &pool_id, &client_id, &s).await
    }

    async fn delete(&self, aws: &Aws, physical: &str, live: &Value) -> Result<(), AwsError> {
        let l: AppClientSpec = spec(live)?;
        let Some((pool_id, client_id)) = l.id else {
            return Ok(());
        };
        aws.throttle(Service::Cognito).await;
        if let Err(e) = aws
            .cognito
            .delete_user_pool_client()
            .user_pool_id(&pool_id)
            .client_id(&client_id)
            .send()
            .await
        {
            let e = AwsError::from(e);
            if !e.is(NOT_FOUND) {
                return Err(e.context(format!("failed to delete app client {physical}")));
            }
        }
        Ok(())
    }
}

/// UpdateUserPoolClient resets what it is not given to its default: it gets every declared
/// setting, the same ones CreateUserPoolClient gets (what neither sends, such as OAuth and
/// read/write attributes, stays at its default).
/// <https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pool-updating.html>
async fn update_client(
    aws: &Aws,
    pool_id: &str,
    client_id: &str,
    s: &AppClientSpec,
) -> Result<(), AwsError> {
    aws.throttle(Service::Cognito).await;
    aws.cognito
        .update_user_pool_client()
        .user_pool_id(pool_id)
        .client_id(client_id)
        .client_name(&s.name)
        .set_explicit_auth_flows(Some(flows(s)))
        .prevent_user_existence_errors(PreventUserExistenceErrorTypes::from(
            s.prevent_user_existence_errors.as_str(),
        ))
        .enable_token_revocation(s.enable_token_revocation)
        .id_token_validity(s.lifetimes.id.value)
        .access_token_validity(s.lifetimes.access.value)
        .refresh_token_validity(s.lifetimes.refresh.value)
        .token_validity_units(validity_units(s))
        .auth_session_validity(s.lifetimes.auth_session_minutes)
        .send()
        .await
        .map_err(|e| {
            AwsError::from(e).context(format!("failed to update app client {}", s.name))
        })?;
    Ok(())
}

/// A group of the user pool.
pub struct Group;

#[async_trait]
impl Provider for Group {
    async fn read(&self, aws: &Aws, desired: &Resource) -> Result<Option<Value>, AwsError> {
        let s: GroupSpec = spec(&desired.spec)?;
        let Some(pool_id) = find_pool_id(aws, &s.user_pool, &s.stack).await? else {
            return Ok(None);
        };
        let group = match aws
            .cognito
            .get_group()
            .user_pool_id(&pool_id)
            .group_name(&s.name)
            .send()
            .await
        {
            Ok(out) => match out.group {
                Some(g) => g,
                None => return Ok(None),
            },
            Err(e) => {
                let e = AwsError::from(e);
                return if e.is(NOT_FOUND) {
                    Ok(None)
                } else {
                    Err(e.context(format!("failed to read group {}", s.name)))
                };
            }
        };
        Ok(Some(
            serde_json::to_value(GroupSpec {
                description: group.description().unwrap_or_default().to_string(),
                precedence: group.precedence().unwrap_or_default(),
                pool_id: Some(pool_id),
                ..s
            })
            .expect("specs serialise"),
        ))
    }

    async fn create(&self, aws: &Aws, desired: &Resource) -> Result<(), AwsError> {
        let s: GroupSpec = spec(&desired.spec)?;
        let pool_id = find_pool_id(aws, &s.user_pool, &s.stack)
            .await?
            .ok_or_else(|| AwsError::msg(format!("user pool {} not found", s.user_pool)))?;
        aws.throttle(Service::Cognito).await;
        let created = aws
            .cognito
            .create_group()
            .user_pool_id(&pool_id)
            .group_name(&s.name)
            .description(&s.description)
            .precedence(s.precedence)
            .send()
            .await;
        if let Err(e) = created {
            let e = AwsError::from(e);
            if !e.is(&["GroupExistsException"]) {
                return Err(e.context(format!("failed to create group {}", s.name)));
            }
            return update_group(aws, &pool_id, &s).await;
        }
        Ok(())
    }

    async fn update(&self, aws: &Aws, desired: &Resource, live: &Value) -> Result<(), AwsError> {
        let s: GroupSpec = spec(&desired.spec)?;
        let l: GroupSpec = spec(live)?;
        let pool_id = l
            .pool_id
            .ok_or_else(|| AwsError::msg(format!("group {} has no known pool ID", s.name)))?;
        update_group(aws, &pool_id, &s).await
    }

    async fn delete(&self, aws: &Aws, physical: &str, live: &Value) -> Result<(), AwsError> {
        let l: GroupSpec = spec(live)?;
        let Some(pool_id) = l.pool_id else {
            return Ok(());
        };
        aws.throttle(Service::Cognito).await;
        if let Err(e) = aws
            .cognito
            .delete_group()
            .user_pool_id(&pool_id)
            .group_name(&l.name)
            .send()
            .await
        {
            let e = AwsError::from(e);
            if !e.is(NOT_FOUND) {
                return Err(e.context(format!("failed to delete group {physical}")));
            }
        }
        Ok(())
    }
}

async fn update_group(aws: &Aws, pool_id: &str, s: &GroupSpec) -> Result<(), AwsError> {
    aws.throttle(Service::Cognito).await;
    aws.cognito
        .update_group()
        .user_pool_id(pool_id)
        .group_name(&s.name)
        .description(&s.description)
        .precedence(s.precedence)
        .send()
        .await
        .map_err(|e| AwsError::from(e).context(format!("failed to update group {}", s.name)))?;
    Ok(())
}

/// The name of the pool with ID `id`, if it exists.
pub(super) async fn pool_name(aws: &Aws, id: &str) -> Result<Option<String>, AwsError> {
    Ok(describe(aws, id).await?.and_then(|p| p.name))
}
