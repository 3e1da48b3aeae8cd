//! IAM: roles with inline policies.

use super::legacy::{LegacyProvider as Provider, Listed};
use super::{Aws, AwsError};
use crate::model::iam::RoleSpec;
use crate::model::{policy, Resource, Service, Tags};
use async_trait::async_trait;
use aws_sdk_iam::client::Waiters;
use aws_sdk_iam::types::Tag;
use serde_json::Value;
use std::collections::BTreeMap;

const NOT_FOUND: &[&str] = &["NoSuchEntity"];

fn parse_doc(raw: &str, what: &str) -> Result<Value, AwsError> {
    // IAM returns policy documents URL-encoded.
    let decoded = urlencoding::decode(raw)
        .map(|s| s.into_owned())
        .unwrap_or_else(|_| raw.to_string());
    serde_json::from_str::<Value>(&decoded)
        .map(|v| policy::normalize(&v))
        .map_err(|e| AwsError::msg(format!("{what} is not valid JSON: {e}")))
}

fn spec(desired: &Resource) -> Result<RoleSpec, AwsError> {
    desired
        .typed()
        .map_err(|e| AwsError::msg(format!("malformed iam_role spec: {e}")))
}

fn tag_list(tags: &Tags) -> Result<Vec<Tag>, AwsError> {
    tags.iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| AwsError::msg(format!("invalid IAM tag: {e}")))
        })
        .collect()
}

async fn inline_policies(aws: &Aws, role: &str) -> Result<BTreeMap<String, Value>, AwsError> {
    let mut names = Vec::new();
    let mut pages = aws
        .iam
        .list_role_policies()
        .role_name(role)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            AwsError::from(e).context(format!("failed to list policies of IAM role {role}"))
        })?;
        names.extend(page.policy_names().iter().cloned());
    }
    let mut out = BTreeMap::new();
    for name in names {
        let p = aws
            .iam
            .get_role_policy()
            .role_name(role)
            .policy_name(&name)
            .send()
            .await
            .map_err(|e| {
                AwsError::from(e)
                    .context(format!("failed to read policy {name} of IAM role {role}"))
            })?;
        let doc = parse_doc(
            p.policy_document(),
            &format!("policy {name} of IAM role {role}"),
        )?;
        out.insert(name, doc);
    }
    Ok(out)
}

async fn role_tags(aws: &Aws, role: &str) -> Result<Tags, AwsError> {
    let mut tags = Tags::new();
    let mut pages = aws
        .iam
        .list_role_tags()
        .role_name(role)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            AwsError::from(e).context(format!("failed to list tags of IAM role {role}"))
        })?;
        for t in page.tags() {
            tags.insert(t.key().to_string(), t.value().to_string());
        }
    }
    Ok(tags)
}

async fn put_policies(
    aws: &Aws,
    role: &str,
    wanted: &BTreeMap<String, Value>,
    live: &BTreeMap<String, Value>,
) -> Result<(), AwsError> {
    for (name, doc) in wanted {
        if live.get(name) == Some(doc) {
            continue;
        }
        aws.throttle(Service::Iam).await;
        aws.iam
            .put_role_policy()
            .role_name(role)
            .policy_name(name)
            .policy_document(doc.to_string())
            .send()
            .await
            .map_err(|e| {
                AwsError::from(e).context(format!("failed to put policy {name} on IAM role {role}"))
            })?;
    }
    for name in live.keys().filter(|n| !wanted.contains_key(*n)) {
        aws.throttle(Service::Iam).await;
        if let Err(e) = aws
            .iam
            .delete_role_policy()
            .role_name(role)
            .policy_name(name)
            .send()
            .await
        {
            let e = AwsError::from(e);
            if !e.is(NOT_FOUND) {
                return Err(e.context(format!("failed to delete policy {name} of IAM role {role}")));
            }
        }
    }
    Ok(())
}

/// An IAM role.
pub struct Role;

#[async_trait]
impl Provider for Role {
    async fn read(&self, aws: &Aws, desired: &Resource) -> Result<Option<Value>, AwsError> {
        let name = &desired.physical;
        let role = match aws.iam.get_role().role_name(name).send().await {
            Ok(out) => match out.role {
                Some(r) => r,
                None => return Ok(None),
            },
            Err(e) => {
                let e = AwsError::from(e);
                return if e.is(NOT_FOUND) {
                    Ok(None)
                } else {
                    Err(e.context(format!("failed to read IAM role {name}")))
                };
            }
        };
        let trust = parse_doc(
            role.assume_role_policy_document().unwrap_or("{}"),
            &format!("trust policy of IAM role {name}"),
        )?;
        let tags: Tags = role
            .tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect();
        let spec = RoleSpec {
            name: name.clone(),
            path: role.path().to_string(),
            assume_role_policy: trust,
            policies: inline_policies(aws, name).await?,
            tags,
        };
        Ok(Some(serde_json::to_value(spec).expect("specs serialise")))
    }

    async fn create(&self, aws: &Aws, desired: &Resource) -> Result<(), AwsError> {
        let s = spec(desired)?;
        aws.throttle(Service::Iam).await;
        let created = aws
            .iam
            .create_role()
            .role_name(&s.name)
            .path(&s.path)
            .assume_role_policy_document(s.assume_role_policy.to_string())
            .set_tags(Some(tag_list(&s.tags)?))
            .send()
            .await;
        if let Err(e) = created {
            let e = AwsError::from(e);
            if !e.is(&["EntityAlreadyExists"]) {
                return Err(e.context(format!("failed to create IAM role {}", s.name)));
            }
        }
        aws.iam
            .wait_until_role_exists()
            .role_name(&s.name)
            .wait(std::time::Duration::from_secs(120))
            .await
            .map_err(|e| AwsError::msg(format!("IAM role {} did not appear: {e}", s.name)))?;
        let live = inline_policies(aws, &s.name).await?;
        put_policies(aws, &s.name, &s.policies, &live).await
    }

    async fn update(&self, aws: &Aws, desired: &Resource, live: &Value) -> Result<(), AwsError> {
        let s = spec(desired)?;
        let l: RoleSpec =
            serde_json::from_value(live.clone()).map_err(|e| AwsError::msg(e.to_string()))?;
        if s.assume_role_policy != l.assume_role_policy {
            aws.throttle(Service::Iam).await;
            aws.iam
                .update_assume_role_policy()
                .role_name(&s.name)
                .policy_document(s.assume_role_policy.to_string())
                .send()
                .await
                .map_err(|e| {
                    AwsError::from(e).context(format!(
                        "failed to update trust policy of IAM role {}",
                        s.name
                    ))
                })?;
        }
        put_policies(aws, &s.name, &s.policies, &l.policies).await?;
        let stale = crate::model::stale_tags(&s.tags, &l.tags);
        if !stale.is_empty() {
            aws.throttle(Service::Iam).await;
            aws.iam
                .untag_role()
                .role_name(&s.name)
                .set_tag_keys(Some(stale))
                .send()
                .await
                .map_err(|e| {
                    AwsError::from(e).context(format!("failed to untag IAM role {}", s.name))
                })?;
        }
        if s.tags != l.tags {
            aws.throttle(Service::Iam).await;
            aws.iam
                .tag_role()
                .role_name(&s.name)
                .set_tags(Some(tag_list(&s.tags)?))
                .send()
                .await
                .map_err(|e| {
                    AwsError::from(e).context(format!("failed to tag IAM role {}", s.name))
                })?;
        }
        Ok(())
    }

    async fn delete(&self, aws: &Aws, physical: &str, _live: &Value) -> Result<(), AwsError> {
        let policies = match inline_policies(aws, physical).await {
            Ok(p) => p,
            Err(e) if e.is(NOT_FOUND) => return Ok(()),
            Err(e) => return Err(e),
        };
        put_policies(aws, physical, &BTreeMap::new(), &policies).await?;
        aws.throttle(Service::Iam).await;
        if let Err(e) = aws.iam.delete_role().role_name(physical).send().await {
            let e = AwsError::from(e);
            if !e.is(NOT_FOUND) {
                return Err(e.context(format!("failed to delete IAM role {physical}")));
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
            .iam
            .list_roles()
            .path_prefix("/ecomflow-infra/")
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| AwsError::from(e).context("failed to list IAM roles"))?;
            for role in page.roles() {
                let name = role.role_name();
                if !name.starts_with(prefix) || skip.iter().any(|s| s == name) {
                    continue;
                }
                let tags = role_tags(aws, name).await?;
                out.push(Listed {
                    physical: name.to_string(),
                    spec: serde_json::json!({"name": name, "path": role.path(), "tags": tags}),
                });
            }
        }
        Ok(out)
    }
}
