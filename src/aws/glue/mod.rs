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
use super::{Aws, AwsError, Listed, Outputs};
use crate::model::{Service, Tags};
use std::collections::HashMap;

const NOT_FOUND: &[&str] = &["EntityNotFoundException"];
const EXISTS: &[&str] = &["AlreadyExistsException"];
const GLUE: Service = Service::Glue;

/// The ARN of a Glue resource, e.g. `database/<name>`.
fn glue_arn(aws: &Aws, what: &str) -> String {
    format!("arn:aws:glue:{}:{}:{what}", aws.region, aws.account)
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
