//! Providers of the Glue kinds: the database, table, crawler, job and security configuration;
//! and what they share (ARNs, tags, the leak listing).
//!
//! Emulator gaps (moto 5.2): Glue `UpdateCrawler` and `UpdateJob` are not implemented (HTTP
//! 500), and a job run runs nothing. The project's emulator
//! (`emulator/ecomflow_emulator/glue.py`) adds them, as documented for AWS.

mod crawler;
mod database;
mod job;
mod security_configuration;
mod table;

pub use crawler::Crawler;
pub use database::Database;
pub use job::Job;
pub use security_configuration::SecurityConfiguration;
pub use table::Table;

use super::kit::{converge_tags, Absent};
use super::{Aws, AwsError, Changes, Found, Gone, Inputs, Listed, Observed, Outputs, Provider};
use crate::model::{Service, Spec, Tags};
use async_trait::async_trait;
use std::collections::HashMap;

const NOT_FOUND: &[&str] = &["EntityNotFoundException"];
const EXISTS: &[&str] = &["AlreadyExistsException"];
const GLUE: Service = Service::Glue;

/// A Glue kind named by its spec's physical name, with tags of its own and an Update call
/// that takes every setting at once (database, crawler, job): its calls alone.
/// The lifecycle around them (adoption of a leftover, convergence, not-found tolerance, the
/// leak listing) is the one [`Provider`] impl below, on [`Catalog`].
#[async_trait]
pub trait Named: Send + Sync + 'static {
    type Spec: Spec + Send + Sync;
    /// What it is called in messages (`Glue database`, ...).
    const NOUN: &'static str;
    /// Its resource type in an ARN (`database`, `crawler`, ...).
    const ARN_TYPE: &'static str;
    /// The spec fields its Update call sets.
    const SETTINGS: &'static [&'static str];
    /// The error codes with which its Create call says it is there already.
    const EXISTS: &'static [&'static str] = &["AlreadyExistsException"];
    fn tags(s: &Self::Spec) -> &Tags;
    /// The live resource named `name`; `None` if absent.
    async fn read_named(aws: &Aws, name: &str, inputs: &Inputs) -> Found<Self::Spec>;
    /// The Create call, with every declared setting and the tags.
    async fn create_call(aws: &Aws, s: &Self::Spec, inputs: &Inputs) -> Result<(), AwsError>;
    /// The Update call, with every declared setting.
    async fn put_settings(aws: &Aws, s: &Self::Spec, inputs: &Inputs) -> Result<(), AwsError>;
    /// Deletes `name`; a resource already gone is success.
    async fn delete_named(aws: &Aws, name: &str) -> Result<(), AwsError>;
    /// The names of every resource of the kind in the account.
    async fn names(aws: &Aws) -> Result<Vec<String>, AwsError>;
}

/// The provider of a [`Named`] kind. A wrapper rather than a blanket impl over `Named`, which
/// would overlap with the one over S3's bucket settings.
pub struct Catalog<K>(pub K);

#[async_trait]
impl<K: Named> Provider for Catalog<K> {
    type Spec = K::Spec;

    async fn read(&self, aws: &Aws, desired: &K::Spec, inputs: &Inputs) -> Found<K::Spec> {
        K::read_named(aws, &desired.physical(), inputs).await
    }

    /// A resource found there already (left by an interrupted run) is brought to the
    /// declaration.
    async fn create(&self, aws: &Aws, s: &K::Spec, inputs: &Inputs) -> Result<Outputs, AwsError> {
        let name = s.physical();
        aws.throttle(GLUE).await;
        let created = K::create_call(aws, s, inputs)
            .await
            .map_err(|e| e.context(format!("failed to create {} {name}", K::NOUN)))
            .or_absent(K::EXISTS)?
            .is_some();
        if !created {
            if let Some(live) = K::read_named(aws, &name, inputs).await? {
                let changes = Changes::between(s, &live.spec);
                self.update(aws, s, &live, &changes, inputs).await?;
            }
        }
        Ok(Outputs::from([("arn".to_string(), arn::<K>(aws, &name))]))
    }

    async fn update(
        &self,
        aws: &Aws,
        s: &K::Spec,
        live: &Observed<K::Spec>,
        changes: &Changes,
        inputs: &Inputs,
    ) -> Result<(), AwsError> {
        if K::SETTINGS.iter().any(|f| changes.touches(f)) {
            aws.throttle(GLUE).await;
            K::put_settings(aws, s, inputs)
                .await
                .map_err(|e| e.context(format!("failed to update {} {}", K::NOUN, s.physical())))?;
        }
        if changes.touches("tags") {
            let arn = arn::<K>(aws, &s.physical());
            converge_glue_tags(aws, &arn, K::tags(s), K::tags(&live.spec)).await?;
        }
        Ok(())
    }

    async fn delete(&self, aws: &Aws, gone: &Gone<K::Spec>) -> Result<(), AwsError> {
        K::delete_named(aws, &gone.physical)
            .await
            .map_err(|e| e.context(format!("failed to delete {} {}", K::NOUN, gone.physical)))
    }

    /// Resources named with the instance prefix (in either alphabet: Glue catalog names use
    /// `_` for `-`), with their tags.
    async fn list(
        &self,
        aws: &Aws,
        prefix: &str,
        skip: &[String],
    ) -> Result<Vec<Listed>, AwsError> {
        let glue_prefix = prefix.to_ascii_lowercase().replace('-', "_");
        let mut out = Vec::new();
        for name in K::names(aws).await? {
            if !(name.starts_with(prefix) || name.starts_with(&glue_prefix)) || skip.contains(&name)
            {
                continue;
            }
            let arn = arn::<K>(aws, &name);
            let Some(tags) = glue_tags(aws, &arn).await.or_absent(NOT_FOUND)? else {
                continue;
            };
            out.push(Listed {
                spec: serde_json::json!({"name": name, "tags": tags}),
                physical: name,
                outputs: Outputs::new(),
            });
        }
        Ok(out)
    }
}

/// The ARN of the `K` named `name`.
fn arn<K: Named>(aws: &Aws, name: &str) -> String {
    format!(
        "arn:aws:glue:{}:{}:{}/{name}",
        aws.region,
        aws.account,
        K::ARN_TYPE
    )
}

async fn glue_tags(aws: &Aws, arn: &str) -> Result<Tags, AwsError> {
    let out = aws
        .glue
        .get_tags()
        .resource_arn(arn)
        .send()
        .await
        .map_err(|e| AwsError::from(e).context(format!("failed to read tags of {arn}")))?;
    Ok(out
        .tags()
        .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default())
}

async fn converge_glue_tags(
    aws: &Aws,
    arn: &str,
    desired: &Tags,
    live: &Tags,
) -> Result<(), AwsError> {
    converge_tags(
        aws,
        GLUE,
        arn,
        (desired, live),
        |stale| {
            aws.glue
                .untag_resource()
                .resource_arn(arn)
                .set_tags_to_remove(Some(stale))
                .send()
        },
        |set| {
            aws.glue
                .tag_resource()
                .resource_arn(arn)
                .set_tags_to_add(Some(hash_tags(&set)))
                .send()
        },
    )
    .await
}

fn hash_tags(tags: &Tags) -> HashMap<String, String> {
    tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}
