//! Providers of the Glue kinds: the database, table, crawler, JDBC connection and job; and
//! what they share (ARNs, tags, the leak listing).
//!
//! Emulator gaps (moto 5.2): Glue `UpdateCrawler`, `UpdateJob`, `UpdateConnection` and
//! `DeleteConnection` are not implemented (HTTP 500). The tests' emulator
//! (`tests/testkit/moto_ext.py`) adds them, as documented for AWS.

mod connection;
mod crawler;
mod database;
mod job;
mod table;

pub use connection::Connection;
pub use crawler::Crawler;
pub use database::Database;
pub use job::Job;
pub use table::Table;

use super::kit::{converge_tags, Absent};
use super::{Aws, AwsError, Changes, Inputs, Listed, Observed, Outputs};
use crate::model::{Service, Spec, Tags};
use async_trait::async_trait;
use std::collections::HashMap;

const NOT_FOUND: &[&str] = &["EntityNotFoundException"];
const EXISTS: &[&str] = &["AlreadyExistsException"];
const GLUE: Service = Service::Glue;

/// A Glue kind named by its spec's physical name, with tags of its own and an Update call
/// that takes every setting at once (database, crawler, connection, job): how it is read and
/// how its settings are put. Convergence and adoption are shared ([`converge`], [`adopt`]).
#[async_trait]
trait Named: Send + Sync {
    type Spec: Spec + Send + Sync;
    /// Its resource type in an ARN (`database`, `crawler`, ...).
    const ARN_TYPE: &'static str;
    /// The spec fields its Update call sets.
    const SETTINGS: &'static [&'static str];
    fn tags(s: &Self::Spec) -> &Tags;
    /// The live resource named `name`; `None` if absent.
    async fn read_named(
        aws: &Aws,
        name: &str,
        inputs: &Inputs,
    ) -> Result<Option<Observed<Self::Spec>>, AwsError>;
    /// The Update call, with every declared setting.
    async fn put_settings(aws: &Aws, s: &Self::Spec, inputs: &Inputs) -> Result<(), AwsError>;
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

/// Brings a live `K` to the declaration where `changes` says they differ.
async fn converge<K: Named>(
    aws: &Aws,
    s: &K::Spec,
    l: &K::Spec,
    changes: &Changes,
    inputs: &Inputs,
) -> Result<(), AwsError> {
    if K::SETTINGS.iter().any(|f| changes.touches(f)) {
        K::put_settings(aws, s, inputs).await?;
    }
    if changes.touches("tags") {
        let arn = arn::<K>(aws, &s.physical());
        converge_glue_tags(aws, &arn, K::tags(s), K::tags(l)).await?;
    }
    Ok(())
}

/// The outputs of a create. If the create found the resource already there (left by an
/// interrupted run), it is read and brought to the declaration first.
async fn adopt<K: Named>(
    aws: &Aws,
    s: &K::Spec,
    inputs: &Inputs,
    created: bool,
) -> Result<Outputs, AwsError> {
    let name = s.physical();
    if !created {
        if let Some(live) = K::read_named(aws, &name, inputs).await? {
            let changes = Changes::between(s, &live.spec);
            converge::<K>(aws, s, &live.spec, &changes, inputs).await?;
        }
    }
    Ok(Outputs::from([("arn".to_string(), arn::<K>(aws, &name))]))
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
        desired,
        live,
        |stale| async move {
            aws.glue
                .untag_resource()
                .resource_arn(arn)
                .set_tags_to_remove(Some(stale))
                .send()
                .await
                .map_err(|e| AwsError::from(e).context(format!("failed to untag {arn}")))?;
            Ok(())
        },
        |changed| async move {
            aws.glue
                .tag_resource()
                .resource_arn(arn)
                .set_tags_to_add(Some(hash_tags(&changed)))
                .send()
                .await
                .map_err(|e| AwsError::from(e).context(format!("failed to tag {arn}")))?;
            Ok(())
        },
    )
    .await
}

fn hash_tags(tags: &Tags) -> HashMap<String, String> {
    tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// Lists Glue resources named with the instance prefix (in either alphabet: Glue catalog
/// names use `_` for `-`), with their tags.
async fn listed_with_tags(
    aws: &Aws,
    names: Vec<String>,
    prefix: &str,
    skip: &[String],
    arn_of: impl Fn(&str) -> String,
) -> Result<Vec<Listed>, AwsError> {
    let glue_prefix = prefix.to_ascii_lowercase().replace('-', "_");
    let mut out = Vec::new();
    for name in names {
        if !(name.starts_with(prefix) || name.starts_with(&glue_prefix)) || skip.contains(&name) {
            continue;
        }
        let Some(tags) = glue_tags(aws, &arn_of(&name)).await.or_absent(NOT_FOUND)? else {
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
