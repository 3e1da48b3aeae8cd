//! The Cognito side of `users sync`: finding the pool by its tags, listing, and applying the
//! plan under client-side rate limits per Cognito quota category.

use super::diff::{LiveGroup, LiveUser, Prune, UserCreate, UserUpdate, SYNC_ATTRIBUTE};
use super::file::GroupDecl;
use crate::aws::{Aws, AwsError};
use crate::names::{SYNC_ATTRIBUTE_NAME, TAG_STACK};
use aws_sdk_cognitoidentityprovider::types::{
    AttributeDataType, AttributeType, DeliveryMediumType, MessageActionType, SchemaAttributeType,
    StringAttributeConstraintsType,
};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::num::NonZeroU32;

/// Requests per second per Cognito quota category. The defaults are Cognito's documented
/// default quotas; accounts with raised quotas pass higher ones.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// UserCreation: AdminCreateUser.
    pub create: u32,
    /// UserUpdate: AdminUpdateUserAttributes, AdminAddUserToGroup, AdminRemoveUserFromGroup,
    /// AdminDisableUser, AdminEnableUser, AdminDeleteUser.
    pub update: u32,
    /// UserList: ListUsers, ListUsersInGroup.
    pub list: u32,
    /// UserRead: AdminListGroupsForUser (documented default 120).
    pub read: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            create: 50,
            update: 25,
            list: 30,
            read: 120,
        }
    }
}

/// One limiter per quota category.
pub struct Limiters {
    create: DefaultDirectRateLimiter,
    update: DefaultDirectRateLimiter,
    list: DefaultDirectRateLimiter,
    read: DefaultDirectRateLimiter,
}

fn limiter(per_second: u32) -> DefaultDirectRateLimiter {
    let n = NonZeroU32::new(per_second.max(1)).expect("at least one");
    // Smooth: a burst of a tenth of a second's worth, so calls arrive evenly and the service's
    // own token bucket never runs dry (a full second's burst invites throttling answers).
    let burst = NonZeroU32::new(per_second.div_ceil(10).max(1)).expect("at least one");
    RateLimiter::direct(Quota::per_second(n).allow_burst(burst))
}

impl Limiters {
    /// Limiters at `limits`.
    pub fn new(limits: Limits) -> Self {
        Self {
            create: limiter(limits.create),
            update: limiter(limits.update),
            list: limiter(limits.list),
            read: limiter(limits.read),
        }
    }
}

/// The user pool of a stack instance.
#[derive(Debug, Clone)]
pub struct Pool {
    /// Pool ID.
    pub id: String,
    /// The previous sync did not finish (its flag is still set, see [`sync_flag_key`]).
    pub sync_interrupted: bool,
    /// Pool name.
    pub name: String,
    /// Custom attributes the pool declares (without `custom:`).
    pub custom_attributes: Vec<String>,
}

impl Pool {
    /// True if the pool can hold the sync stamp.
    pub fn has_stamp_attribute(&self) -> bool {
        self.custom_attributes
            .iter()
            .any(|a| a == SYNC_ATTRIBUTE_NAME)
    }
}

/// Finds the pool named `name` that carries `ecomflow:stack=<instance>`. A pool of that name
/// with another owner is refused.
pub async fn find_pool(aws: &Aws, name: &str, instance: &str) -> Result<Pool, AwsError> {
    let candidates = crate::aws::cognito::pool_ids(aws, name).await?;
    let mut foreign = Vec::new();
    for id in candidates {
        let pool = aws
            .cognito
            .describe_user_pool()
            .user_pool_id(&id)
            .send()
            .await
            .map_err(|e| {
                AwsError::from(e).context(format!("failed to read Cognito user pool {id}"))
            })?
            .user_pool
            .ok_or_else(|| AwsError::msg(format!("Cognito user pool {id} vanished")))?;
        let owner = pool
            .user_pool_tags()
            .and_then(|t| t.get(TAG_STACK))
            .cloned();
        if owner.as_deref() == Some(instance) {
            let custom_attributes = pool
                .schema_attributes()
                .iter()
                .filter_map(|a| {
                    a.name()
                        .and_then(|n| n.strip_prefix("custom:"))
                        .map(str::to_string)
                })
                .collect();
            let sync_interrupted = crate::engine::lock::flag(aws, &sync_flag_key(&id)).await?;
            return Ok(Pool {
                id,
                name: name.to_string(),
                sync_interrupted,
                custom_attributes,
            });
        }
        foreign.push(format!(
            "{id} (ecomflow:stack={})",
            owner.as_deref().unwrap_or("none")
        ));
    }
    if foreign.is_empty() {
        Err(AwsError::msg(format!(
            "no Cognito user pool `{name}` tagged ecomflow:stack={instance}; run `ecomflow-infra apply` for this stack first"
        )))
    } else {
        Err(AwsError::msg(format!(
            "refusing to sync users into user pool `{name}`: {} is not this stack instance's ({instance})",
            foreign.join(", ")
        )))
    }
}

/// Declares the stamp attribute on a pool of ours that lacks it.
pub async fn add_stamp_attribute(aws: &Aws, pool: &Pool) -> Result<(), AwsError> {
    let attr = SchemaAttributeType::builder()
        .name(SYNC_ATTRIBUTE_NAME)
        .attribute_data_type(AttributeDataType::String)
        .mutable(true)
        .string_attribute_constraints(
            StringAttributeConstraintsType::builder()
                .min_length("1")
                .max_length("64")
                .build(),
        )
        .build();
    aws.cognito
        .add_custom_attributes()
        .user_pool_id(&pool.id)
        .custom_attributes(attr)
        .send()
        .await
        .map_err(|e| {
            AwsError::from(e).context(format!(
                "failed to add {SYNC_ATTRIBUTE} to user pool {}",
                pool.id
            ))
        })?;
    Ok(())
}

/// Key of the flag (in the tool's lock table) set while a sync of `pool` applies changes and
/// cleared when a run ends without failures.
pub fn sync_flag_key(pool: &str) -> String {
    format!("users-sync#{pool}")
}

/// Marks the pool as being synced (before the first change) or done (after a clean run).
pub async fn mark_sync(aws: &Aws, pool: &Pool, in_progress: bool) -> Result<(), AwsError> {
    crate::engine::lock::set_flag(aws, &sync_flag_key(&pool.id), in_progress).await
}

/// The members of a group (ListUsersInGroup, 60 per page), by lower-case username.
pub async fn members(
    aws: &Aws,
    pool: &str,
    group: &str,
    limits: &Limiters,
) -> Result<Vec<String>, AwsError> {
    let mut out = Vec::new();
    let mut pages = aws
        .cognito
        .list_users_in_group()
        .user_pool_id(pool)
        .group_name(group)
        .limit(60)
        .into_paginator()
        .send();
    loop {
        limits.list.until_ready().await;
        let Some(page) = pages.next().await else {
            break;
        };
        let page = page.map_err(|e| {
            AwsError::from(e).context(format!("failed to list the members of {group}"))
        })?;
        out.extend(
            page.users()
                .iter()
                .filter_map(|u| u.username().map(str::to_lowercase)),
        );
    }
    Ok(out)
}

/// Every user of the pool (ListUsers, 60 per page), by lower-case username.
pub async fn list_users(
    aws: &Aws,
    pool: &str,
    limits: &Limiters,
) -> Result<HashMap<String, LiveUser>, AwsError> {
    let mut users = HashMap::new();
    let mut token: Option<String> = None;
    loop {
        limits.list.until_ready().await;
        let page = aws
            .cognito
            .list_users()
            .user_pool_id(pool)
            .limit(60)
            .set_pagination_token(token.clone())
            .send()
            .await
            .map_err(|e| AwsError::from(e).context("failed to list the pool's users"))?;
        for u in page.users() {
            let username = u.username().unwrap_or_default().to_string();
            let attributes = u
                .attributes()
                .iter()
                .map(|a| {
                    (
                        a.name().to_string(),
                        a.value().unwrap_or_default().to_string(),
                    )
                })
                .collect();
            users.insert(
                username.to_lowercase(),
                LiveUser {
                    username,
                    attributes,
                    enabled: u.enabled(),
                },
            );
        }
        token = page
            .pagination_token()
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        if token.is_none() {
            return Ok(users);
        }
    }
}

/// Every group of the pool.
pub async fn list_groups(
    aws: &Aws,
    pool: &str,
    limits: &Limiters,
) -> Result<Vec<LiveGroup>, AwsError> {
    let mut groups = Vec::new();
    let mut pages = aws
        .cognito
        .list_groups()
        .user_pool_id(pool)
        .limit(60)
        .into_paginator()
        .send();
    loop {
        limits.list.until_ready().await;
        let Some(page) = pages.next().await else {
            break;
        };
        let page =
            page.map_err(|e| AwsError::from(e).context("failed to list the pool's groups"))?;
        for g in page.groups() {
            groups.push(LiveGroup {
                name: g.group_name().unwrap_or_default().to_string(),
                description: g.description().unwrap_or_default().to_string(),
                precedence: g.precedence().map(|p| p as u32),
            });
        }
    }
    Ok(groups)
}

/// The groups a user is in.
pub async fn groups_of(
    aws: &Aws,
    pool: &str,
    username: &str,
    limits: &Limiters,
) -> Result<Vec<String>, AwsError> {
    let mut groups = Vec::new();
    let mut pages = aws
        .cognito
        .admin_list_groups_for_user()
        .user_pool_id(pool)
        .username(username)
        .limit(60)
        .into_paginator()
        .send();
    loop {
        limits.read.until_ready().await;
        let Some(page) = pages.next().await else {
            break;
        };
        let page = page.map_err(|e| {
            AwsError::from(e).context(format!("failed to list the groups of {username}"))
        })?;
        groups.extend(
            page.groups()
                .iter()
                .filter_map(|g| g.group_name().map(str::to_string)),
        );
    }
    Ok(groups)
}

/// Creates or updates a group.
pub async fn put_group(
    aws: &Aws,
    pool: &str,
    g: &GroupDecl,
    exists: bool,
    limits: &Limiters,
) -> Result<(), AwsError> {
    limits.update.until_ready().await;
    let precedence = g.precedence.map(|p| p as i32);
    let r = if exists {
        aws.cognito
            .update_group()
            .user_pool_id(pool)
            .group_name(&g.name)
            .description(&g.description)
            .set_precedence(precedence)
            .send()
            .await
            .map(|_| ())
            .map_err(AwsError::from)
    } else {
        aws.cognito
            .create_group()
            .user_pool_id(pool)
            .group_name(&g.name)
            .description(&g.description)
            .set_precedence(precedence)
            .send()
            .await
            .map(|_| ())
            .map_err(AwsError::from)
    };
    match r {
        Err(e) if !e.is(&["GroupExistsException"]) => {
            Err(e.context(format!("failed to write group {}", g.name)))
        }
        _ => Ok(()),
    }
}

fn attribute(name: &str, value: &str) -> AttributeType {
    AttributeType::builder()
        .name(name)
        .value(value)
        .build()
        .expect("name is set")
}

async fn add_to_group(
    aws: &Aws,
    pool: &str,
    user: &str,
    group: &str,
    limits: &Limiters,
) -> Result<(), AwsError> {
    limits.update.until_ready().await;
    aws.cognito
        .admin_add_user_to_group()
        .user_pool_id(pool)
        .username(user)
        .group_name(group)
        .send()
        .await
        .map_err(|e| AwsError::from(e).context(format!("failed to add {user} to {group}")))?;
    Ok(())
}

async fn set_enabled(
    aws: &Aws,
    pool: &str,
    user: &str,
    enabled: bool,
    limits: &Limiters,
) -> Result<(), AwsError> {
    limits.update.until_ready().await;
    let r = if enabled {
        aws.cognito
            .admin_enable_user()
            .user_pool_id(pool)
            .username(user)
            .send()
            .await
            .map(|_| ())
            .map_err(AwsError::from)
    } else {
        aws.cognito
            .admin_disable_user()
            .user_pool_id(pool)
            .username(user)
            .send()
            .await
            .map(|_| ())
            .map_err(AwsError::from)
    };
    r.map_err(|e| {
        e.context(format!(
            "failed to {} {user}",
            if enabled { "enable" } else { "disable" }
        ))
    })
}

async fn write_attributes(
    aws: &Aws,
    pool: &str,
    user: &str,
    attrs: Vec<AttributeType>,
    limits: &Limiters,
) -> Result<(), AwsError> {
    limits.update.until_ready().await;
    aws.cognito
        .admin_update_user_attributes()
        .user_pool_id(pool)
        .username(user)
        .set_user_attributes(Some(attrs))
        .send()
        .await
        .map_err(|e| {
            AwsError::from(e).context(format!("failed to update the attributes of {user}"))
        })?;
    Ok(())
}

/// How a new user learns their password.
pub enum Welcome<'a> {
    /// Cognito e-mails an invitation with a temporary password.
    Invite,
    /// No message; the user is created with this temporary password, which the caller has
    /// already written to a private file (before the call, so that a run killed after Cognito
    /// created the user but before the answer arrived does not lose it).
    Suppress(&'a str),
}

/// Creates a user. A user that already exists (an earlier interrupted run) is not an error:
/// the follow-up converges it.
pub async fn create_user(
    aws: &Aws,
    pool: &str,
    c: &UserCreate,
    welcome: &Welcome<'_>,
    limits: &Limiters,
) -> Result<(), AwsError> {
    let attrs: Vec<AttributeType> = c.attributes.iter().map(|(k, v)| attribute(k, v)).collect();
    let mut req = aws
        .cognito
        .admin_create_user()
        .user_pool_id(pool)
        .username(&c.username)
        .set_user_attributes(Some(attrs));
    match welcome {
        Welcome::Invite => {
            req = req.desired_delivery_mediums(DeliveryMediumType::Email);
        }
        Welcome::Suppress(password) => {
            req = req
                .message_action(MessageActionType::Suppress)
                .temporary_password(*password);
        }
    }
    limits.create.until_ready().await;
    match req.send().await {
        Ok(_) => Ok(()),
        Err(e) => {
            let e = AwsError::from(e);
            if e.is(&["UsernameExistsException"]) {
                Ok(())
            } else {
                Err(e.context(format!("failed to create {}", c.username)))
            }
        }
    }
}

/// What follows a create: groups, then disabling.
pub async fn finish_create(
    aws: &Aws,
    pool: &str,
    c: &UserCreate,
    limits: &Limiters,
) -> Result<(), AwsError> {
    for g in &c.groups {
        add_to_group(aws, pool, &c.username, g, limits).await?;
    }
    if c.disable {
        set_enabled(aws, pool, &c.username, false, limits).await?;
    }
    Ok(())
}

/// Applies an update: group changes and status first, attributes and the stamp last.
pub async fn update_user(
    aws: &Aws,
    pool: &str,
    u: &UserUpdate,
    limits: &Limiters,
) -> Result<(), AwsError> {
    for g in &u.add_groups {
        add_to_group(aws, pool, &u.username, g, limits).await?;
    }
    for g in &u.remove_groups {
        limits.update.until_ready().await;
        aws.cognito
            .admin_remove_user_from_group()
            .user_pool_id(pool)
            .username(&u.username)
            .group_name(g)
            .send()
            .await
            .map_err(|e| {
                AwsError::from(e).context(format!("failed to remove {} from {g}", u.username))
            })?;
    }
    if let Some(enabled) = u.enable {
        set_enabled(aws, pool, &u.username, enabled, limits).await?;
    }
    let mut attrs: Vec<AttributeType> = u
        .attributes
        .iter()
        .map(|(k, _, v)| attribute(k, v))
        .collect();
    attrs.push(attribute(SYNC_ATTRIBUTE, &u.stamp));
    write_attributes(aws, pool, &u.username, attrs, limits).await
}

/// Disables or deletes a user no longer in the file.
pub async fn prune_user(
    aws: &Aws,
    pool: &str,
    p: &Prune,
    limits: &Limiters,
) -> Result<(), AwsError> {
    if !p.delete {
        return set_enabled(aws, pool, &p.username, false, limits).await;
    }
    limits.update.until_ready().await;
    match aws
        .cognito
        .admin_delete_user()
        .user_pool_id(pool)
        .username(&p.username)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) => {
            let e = AwsError::from(e);
            if e.is(&["UserNotFoundException"]) {
                Ok(())
            } else {
                Err(e.context(format!("failed to delete {}", p.username)))
            }
        }
    }
}
