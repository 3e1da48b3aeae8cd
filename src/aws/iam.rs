//! IAM: roles with inline policies.

use super::kit::{all_pages, converge_tags, listed, Absent};
use super::{
    built, Aws, AwsError, Changes, Found, Gone, Inputs, Listed, Observed, Outputs, Provider,
};
use crate::model::iam::RoleSpec;
use crate::model::{policy, Service, Tags};
use async_trait::async_trait;
use aws_sdk_iam::client::Waiters;
use aws_sdk_iam::types::Tag;
use serde_json::Value;
use std::collections::BTreeMap;

const NOT_FOUND: &[&str] = &["NoSuchEntity"];
const IAM: Service = Service::Iam;

fn parse_doc(raw: &str, what: &str) -> Result<Value, AwsError> {
    // IAM returns policy documents URL-encoded.
    let decoded = urlencoding::decode(raw)
        .map(|s| s.into_owned())
        .unwrap_or_else(|_| raw.to_string());
    serde_json::from_str::<Value>(&decoded)
        .map(|v| policy::normalize(&v))
        .map_err(|e| AwsError::msg(format!("{what} is not valid JSON: {e}")))
}

/// The role's ARN, which IAM derives from the account, path and name.
fn role_arn(aws: &Aws, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{}:role{path}{name}", aws.account)
}

fn tag_list(tags: &Tags) -> Result<Vec<Tag>, AwsError> {
    let tag = |(k, v): (&String, &String)| built(Tag::builder().key(k).value(v).build());
    tags.iter().map(tag).collect()
}

async fn inline_policies(aws: &Aws, role: &str) -> Result<BTreeMap<String, Value>, AwsError> {
    let pages = aws
        .iam
        .list_role_policies()
        .role_name(role)
        .into_paginator();
    let what = format!("failed to list policies of IAM role {role}");
    let pages = all_pages(pages.send(), what).await?;
    let mut out = BTreeMap::new();
    for name in pages.iter().flat_map(|p| p.policy_names()).cloned() {
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
    let pages = aws.iam.list_role_tags().role_name(role).into_paginator();
    let what = format!("failed to list tags of IAM role {role}");
    let pages = all_pages(pages.send(), what).await?;
    let tags = pages.iter().flat_map(|p| p.tags());
    Ok(tags
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect())
}

/// Puts the inline policies that are missing or different, and deletes those not wanted.
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
        let call = aws
            .iam
            .put_role_policy()
            .role_name(role)
            .policy_name(name)
            .policy_document(policy::wire(doc))
            .send();
        let what = format!("failed to put policy {name} on IAM role {role}");
        aws.mutate(IAM, what, call).await?;
    }
    for name in live.keys().filter(|n| !wanted.contains_key(*n)) {
        let call = aws
            .iam
            .delete_role_policy()
            .role_name(role)
            .policy_name(name)
            .send();
        let what = format!("failed to delete policy {name} of IAM role {role}");
        aws.mutate(IAM, what, call).await.tolerate(NOT_FOUND)?;
    }
    Ok(())
}

/// An IAM role.
pub struct Role;

#[async_trait]
impl Provider for Role {
    type Spec = RoleSpec;

    async fn read(&self, aws: &Aws, desired: &RoleSpec, _: &Inputs) -> Found<RoleSpec> {
        let name = &desired.name;
        let found = aws
            .iam
            .get_role()
            .role_name(name)
            .send()
            .await
            .map_err(AwsError::from)
            .or_absent(NOT_FOUND)
            .map_err(|e| e.context(format!("failed to read IAM role {name}")))?;
        let Some(role) = found.and_then(|out| out.role) else {
            return Ok(None);
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
        Ok(Some(Observed::with(spec, "arn", role.arn())))
    }

    async fn create(&self, aws: &Aws, s: &RoleSpec, _inputs: &Inputs) -> Result<Outputs, AwsError> {
        let call = aws
            .iam
            .create_role()
            .role_name(&s.name)
            .path(&s.path)
            .assume_role_policy_document(policy::wire(&s.assume_role_policy))
            .set_tags(Some(tag_list(&s.tags)?))
            .send();
        aws.mutate(IAM, format!("failed to create IAM role {}", s.name), call)
            .await
            .tolerate(&["EntityAlreadyExists"])?;
        aws.iam
            .wait_until_role_exists()
            .role_name(&s.name)
            .wait(std::time::Duration::from_secs(120))
            .await
            .map_err(|e| AwsError::msg(format!("IAM role {} did not appear: {e}", s.name)))?;
        let live = inline_policies(aws, &s.name).await?;
        put_policies(aws, &s.name, &s.policies, &live).await?;
        Ok(Outputs::from([(
            "arn".to_string(),
            role_arn(aws, &s.path, &s.name),
        )]))
    }

    async fn update(
        &self,
        aws: &Aws,
        s: &RoleSpec,
        live: &Observed<RoleSpec>,
        changes: &Changes,
        _: &Inputs,
    ) -> Result<(), AwsError> {
        let name = &s.name;
        let l = &live.spec;
        if changes.touches("assume_role_policy") {
            let call = aws
                .iam
                .update_assume_role_policy()
                .role_name(name)
                .policy_document(policy::wire(&s.assume_role_policy))
                .send();
            let what = format!("failed to update trust policy of IAM role {name}");
            aws.mutate(IAM, what, call).await?;
        }
        if changes.touches("policies") {
            put_policies(aws, name, &s.policies, &l.policies).await?;
        }
        if changes.touches("tags") {
            converge_tags(
                aws,
                IAM,
                &format!("IAM role {name}"),
                (&s.tags, &l.tags),
                |stale| {
                    aws.iam
                        .untag_role()
                        .role_name(name)
                        .set_tag_keys(Some(stale))
                        .send()
                },
                |set| async move {
                    let call = aws.iam.tag_role().role_name(name);
                    Ok::<_, AwsError>(call.set_tags(Some(tag_list(&set)?)).send().await?)
                },
            )
            .await?;
        }
        Ok(())
    }

    /// Inline policies go first: IAM refuses to delete a role that still has any.
    async fn delete(&self, aws: &Aws, gone: &Gone<RoleSpec>) -> Result<(), AwsError> {
        let name = &gone.physical;
        let Some(policies) = inline_policies(aws, name).await.or_absent(NOT_FOUND)? else {
            return Ok(());
        };
        put_policies(aws, name, &BTreeMap::new(), &policies).await?;
        let call = aws.iam.delete_role().role_name(name).send();
        aws.mutate(IAM, format!("failed to delete IAM role {name}"), call)
            .await
            .tolerate(NOT_FOUND)
    }

    async fn list(
        &self,
        aws: &Aws,
        prefix: &str,
        skip: &[String],
    ) -> Result<Vec<Listed>, AwsError> {
        let pages = aws.iam.list_roles().path_prefix("/ecomflow-infra/");
        let pages = all_pages(pages.into_paginator().send(), "failed to list IAM roles").await?;
        let roles = pages.iter().flat_map(|p| p.roles()).map(|role| {
            let arn = Outputs::from([("arn".to_string(), role.arn().to_string())]);
            (role.role_name().to_string(), arn)
        });
        listed(roles.collect(), prefix, skip, |name, _| async move {
            role_tags(aws, &name).await.or_absent(NOT_FOUND)
        })
        .await
    }
}
