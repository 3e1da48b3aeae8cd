//! Customer-managed KMS keys, found by their alias. KMS assigns a key's ID and has no
//! idempotent create, so the key is made before its alias: a run killed in between leaves a
//! key without one, which the next create finds by its description and ownership tag instead
//! of making a second key. A destroy deletes the alias and schedules the key's deletion after
//! the declared waiting period.

use super::checked::create_checked;
use super::kit::{converge_tags, policy_doc, Absent};
use super::{Aws, AwsError, Changes, Found, Gone, Inputs, Listed, Observed, Outputs, Provider};
use crate::model::kms::KeySpec;
use crate::model::{policy, Kind, Service, Tags};
use crate::names::TAG_STACK;
use async_trait::async_trait;
use aws_sdk_kms::types::{AliasListEntry, KeyManagerType, KeyMetadata, KeyState, Tag};

const KMS: Service = Service::Kms;
const NOT_FOUND: &[&str] = &["NotFoundException"];

fn tag_list(tags: &Tags) -> Result<Vec<Tag>, AwsError> {
    tags.iter()
        .map(|(k, v)| {
            Tag::builder()
                .tag_key(k)
                .tag_value(v)
                .build()
                .map_err(|e| AwsError::msg(format!("invalid tag {k}: {e}")))
        })
        .collect()
}

/// Every alias of the account (KMS lists its own AWS-managed ones too).
async fn aliases(aws: &Aws) -> Result<Vec<AliasListEntry>, AwsError> {
    let all: Result<Vec<_>, _> = aws
        .kms
        .list_aliases()
        .into_paginator()
        .items()
        .send()
        .collect()
        .await;
    all.map_err(|e| AwsError::from(e).context("failed to list the KMS aliases"))
}

/// The ID of the key `alias` names, if the alias exists.
async fn aliased(aws: &Aws, alias: &str) -> Result<Option<String>, AwsError> {
    Ok(aliases(aws)
        .await?
        .into_iter()
        .find(|a| a.alias_name() == Some(alias))
        .and_then(|a| a.target_key_id))
}

/// The key's metadata; `None` if it is gone or going (deletion pending).
async fn usable(aws: &Aws, key: &str) -> Result<Option<KeyMetadata>, AwsError> {
    let out = aws
        .kms
        .describe_key()
        .key_id(key)
        .send()
        .await
        .map_err(AwsError::from)
        .or_absent(NOT_FOUND)
        .map_err(|e| e.context(format!("failed to describe KMS key {key}")))?;
    Ok(out.and_then(|o| o.key_metadata).filter(|m| {
        !matches!(
            m.key_state(),
            Some(KeyState::PendingDeletion | KeyState::PendingReplicaDeletion)
        )
    }))
}

async fn tags_of(aws: &Aws, key: &str) -> Result<Tags, AwsError> {
    let all: Result<Vec<_>, _> = aws
        .kms
        .list_resource_tags()
        .key_id(key)
        .into_paginator()
        .items()
        .send()
        .collect()
        .await;
    let all = all.map_err(|e| {
        AwsError::from(e).context(format!("failed to read the tags of KMS key {key}"))
    })?;
    Ok(all.into_iter().map(|t| (t.tag_key, t.tag_value)).collect())
}

/// The live key `key` in the declared shape of `s` (alias and waiting period are the
/// declaration's).
async fn observe(aws: &Aws, s: &KeySpec, m: &KeyMetadata) -> Found<KeySpec> {
    let key = m.key_id();
    let raw = aws
        .kms
        .get_key_policy()
        .key_id(key)
        .policy_name("default")
        .send()
        .await
        .map_err(|e| AwsError::from(e).context(format!("failed to read the policy of {key}")))?;
    let doc = policy_doc(raw.policy(), format_args!("KMS key {key}"))?;
    let rotation = aws
        .kms
        .get_key_rotation_status()
        .key_id(key)
        .send()
        .await
        .map_err(|e| AwsError::from(e).context(format!("failed to read the rotation of {key}")))?
        .key_rotation_enabled();
    let spec = KeySpec {
        alias: s.alias.clone(),
        description: m.description().unwrap_or_default().to_string(),
        policy: policy::normalize(&doc),
        rotation,
        deletion_window_days: s.deletion_window_days,
        tags: tags_of(aws, key).await?,
    };
    let outputs = Outputs::from([
        ("id".to_string(), key.to_string()),
        ("arn".to_string(), m.arn().unwrap_or_default().to_string()),
    ]);
    Ok(Some(Observed { spec, outputs }))
}

/// A key of this stack with the declared description but no alias: made by a run killed
/// before it named it. Lists every key of the account, so only creates call it.
async fn unnamed(aws: &Aws, s: &KeySpec) -> Result<Option<String>, AwsError> {
    let keys: Result<Vec<_>, _> = aws
        .kms
        .list_keys()
        .into_paginator()
        .items()
        .send()
        .collect()
        .await;
    let keys = keys.map_err(|e| AwsError::from(e).context("failed to list the KMS keys"))?;
    let owner = s.tags.get(TAG_STACK);
    for key in keys.iter().filter_map(|k| k.key_id()) {
        let Some(m) = usable(aws, key).await? else {
            continue;
        };
        let ours = m.key_manager() == Some(&KeyManagerType::Customer)
            && m.description() == Some(s.description.as_str())
            && tags_of(aws, key).await?.get(TAG_STACK) == owner;
        if ours {
            return Ok(Some(key.to_string()));
        }
    }
    Ok(None)
}

/// The key ARN to send where a spec names the stack's key by its alias's ARN (what the
/// blueprint can know): the key's own ARN, from the key's outputs, as Glue and CloudWatch Logs
/// want it. Any other value is sent as declared.
pub(crate) fn key_arn(declared: Option<&str>, inputs: &Inputs) -> Option<String> {
    match (declared, inputs.get(Kind::KmsKey, "arn")) {
        (Some(d), Some(arn)) if d.contains(":alias/") => Some(arn.to_string()),
        (d, _) => d.map(str::to_string),
    }
}

/// A live key ARN as declared: the alias's ARN where it is the stack's key.
pub(crate) fn as_declared(
    live: Option<String>,
    declared: Option<&str>,
    inputs: &Inputs,
) -> Option<String> {
    match &live {
        Some(_) if live == key_arn(declared, inputs) => declared.map(str::to_string),
        _ => live,
    }
}

/// A customer-managed KMS key.
pub struct Key;

#[async_trait]
impl Provider for Key {
    type Spec = KeySpec;

    async fn read(&self, aws: &Aws, desired: &KeySpec, _: &Inputs) -> Found<KeySpec> {
        let Some(key) = aliased(aws, &desired.alias).await? else {
            return Ok(None);
        };
        match usable(aws, &key).await? {
            Some(m) => observe(aws, desired, &m).await,
            None => Ok(None),
        }
    }

    async fn create(&self, aws: &Aws, s: &KeySpec, inputs: &Inputs) -> Result<Outputs, AwsError> {
        let key = match unnamed(aws, s).await? {
            Some(key) => key,
            // CreateKey is made once per attempt and a lost answer looked up before another.
            None => {
                let policy = policy::wire(&s.policy);
                let tags = tag_list(&s.tags)?;
                create_checked(
                    &format!("create KMS key {}", s.alias),
                    || async {
                        aws.throttle(KMS).await;
                        let out = aws
                            .kms
                            .create_key()
                            .description(&s.description)
                            .policy(&policy)
                            .set_tags(Some(tags.clone()))
                            .customize()
                            .config_override(
                                aws_sdk_kms::config::Builder::default().retry_config(
                                    aws_sdk_kms::config::retry::RetryConfig::disabled(),
                                ),
                            )
                            .send()
                            .await
                            .map_err(AwsError::from)?;
                        out.key_metadata
                            .map(|m| m.key_id)
                            .ok_or_else(|| AwsError::msg("CreateKey answered no key"))
                    },
                    || unnamed(aws, s),
                )
                .await?
            }
        };
        let call = aws
            .kms
            .create_alias()
            .alias_name(&s.alias)
            .target_key_id(&key)
            .send();
        aws.mutate(KMS, format!("failed to create alias {}", s.alias), call)
            .await
            .tolerate(&["AlreadyExistsException"])?;
        self.settle(aws, s, inputs).await
    }

    async fn update(
        &self,
        aws: &Aws,
        s: &KeySpec,
        live: &Observed<KeySpec>,
        changes: &Changes,
        _: &Inputs,
    ) -> Result<(), AwsError> {
        let key = live.outputs.get("id").cloned().unwrap_or_default();
        let what = |of: &str| format!("failed to {of} KMS key {}", s.alias);
        if changes.touches("policy") {
            let call = aws
                .kms
                .put_key_policy()
                .key_id(&key)
                .policy_name("default")
                .policy(policy::wire(&s.policy))
                .send();
            aws.mutate(KMS, what("set the policy of"), call).await?;
        }
        if changes.touches("description") {
            let call = aws
                .kms
                .update_key_description()
                .key_id(&key)
                .description(&s.description)
                .send();
            aws.mutate(KMS, what("describe"), call).await?;
        }
        if changes.touches("rotation") {
            if s.rotation {
                let call = aws.kms.enable_key_rotation().key_id(&key).send();
                aws.mutate(KMS, what("rotate"), call).await?;
            } else {
                let call = aws.kms.disable_key_rotation().key_id(&key).send();
                aws.mutate(KMS, what("stop rotating"), call).await?;
            }
        }
        if changes.touches("tags") {
            let tags = tag_list(&crate::model::changed_tags(&s.tags, &live.spec.tags))?;
            converge_tags(
                aws,
                KMS,
                &format!("KMS key {}", s.alias),
                (&s.tags, &live.spec.tags),
                |stale| {
                    aws.kms
                        .untag_resource()
                        .key_id(&key)
                        .set_tag_keys(Some(stale))
                        .send()
                },
                |_| {
                    aws.kms
                        .tag_resource()
                        .key_id(&key)
                        .set_tags(Some(tags))
                        .send()
                },
            )
            .await?;
        }
        Ok(())
    }

    /// The alias goes at once; the key after its waiting period.
    async fn delete(&self, aws: &Aws, gone: &Gone<KeySpec>) -> Result<(), AwsError> {
        let alias = &gone.physical;
        let key = match gone.outputs.get("id") {
            Some(key) => Some(key.clone()),
            None => aliased(aws, alias).await?,
        };
        let call = aws.kms.delete_alias().alias_name(alias).send();
        aws.mutate(KMS, format!("failed to delete alias {alias}"), call)
            .await
            .tolerate(NOT_FOUND)?;
        let Some(key) = key else {
            return Ok(());
        };
        let days = gone.spec.as_ref().map_or(30, |s| s.deletion_window_days);
        let call = aws
            .kms
            .schedule_key_deletion()
            .key_id(&key)
            .pending_window_in_days(days)
            .send();
        // A key already pending deletion answers KMSInvalidStateException.
        aws.mutate(
            KMS,
            format!("failed to schedule the deletion of {alias}"),
            call,
        )
        .await
        .tolerate(&["NotFoundException", "KMSInvalidStateException"])
    }

    async fn list(
        &self,
        aws: &Aws,
        prefix: &str,
        skip: &[String],
    ) -> Result<Vec<Listed>, AwsError> {
        let wanted = format!("alias/{prefix}");
        let mut out = Vec::new();
        for a in aliases(aws).await? {
            let (Some(alias), Some(key)) = (a.alias_name(), a.target_key_id()) else {
                continue;
            };
            if !alias.starts_with(&wanted) || skip.iter().any(|s| s == alias) {
                continue;
            }
            let Some(m) = usable(aws, key).await? else {
                continue;
            };
            out.push(Listed {
                physical: alias.to_string(),
                spec: serde_json::json!({"name": alias, "tags": tags_of(aws, key).await?}),
                outputs: Outputs::from([
                    ("id".to_string(), key.to_string()),
                    ("arn".to_string(), m.arn().unwrap_or_default().to_string()),
                ]),
            });
        }
        Ok(out)
    }
}
