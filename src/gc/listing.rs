//! Finding a stack's instances: every taggable kind listed under the name prefix, grouped by
//! the ownership tag.

use crate::aws::{provider, Aws, AwsError};
use crate::model::{spec_tags, Kind, Tags};
use crate::names::{instance_name, TAG_CREATED, TAG_ENV, TAG_EXPIRES, TAG_STACK};
use futures::stream::{self, StreamExt, TryStreamExt};
use std::collections::BTreeMap;

/// A taggable resource found by listing its kind, with its tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaggedResource {
    /// Its kind.
    pub kind: Kind,
    /// Its physical name.
    pub physical: String,
    /// Its tags.
    pub tags: Tags,
}

/// One stack instance of the stack file's app and env, as its resources' tags describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundInstance {
    /// The instance name (the `ecomflow:stack` tag), e.g. `ecomflow-ci-pr-7`.
    pub instance: String,
    /// The `--instance` suffix (`pr-7`); `None` for the stack's own instance.
    pub suffix: Option<String>,
    /// Its resources, as `<kind> <physical>`, sorted.
    pub resources: Vec<String>,
    /// The expiry tags found: (`<kind> <physical>`, tag value), sorted.
    pub expiry_tags: Vec<(String, String)>,
    /// The creation tags found: (`<kind> <physical>`, tag value), sorted.
    pub created_tags: Vec<(String, String)>,
}

/// Lists every taggable kind for resources named with `prefix`, with their tags (the listing
/// of the leak sweep, for many instances at once). At most `parallelism` kinds at a time.
pub async fn list_tagged(
    aws: &Aws,
    prefix: &str,
    parallelism: usize,
) -> Result<Vec<TaggedResource>, AwsError> {
    let lists = stream::iter(Kind::ALL.into_iter().filter(|k| k.info().taggable).map(
        |kind| async move {
            let found = provider(kind).list(aws, prefix, &[]).await?;
            Ok::<_, AwsError>(
                found
                    .into_iter()
                    .map(|l| TaggedResource {
                        kind,
                        tags: spec_tags(&l.spec).unwrap_or_default(),
                        physical: l.physical,
                    })
                    .collect::<Vec<_>>(),
            )
        },
    ))
    .buffer_unordered(parallelism.max(1))
    .try_collect::<Vec<_>>()
    .await?;
    Ok(lists.into_iter().flatten().collect())
}

/// Groups resources into the instances of `app`/`env` by their `ecomflow:stack` tag. A
/// resource counts only if that tag is `<app>-<env>` or `<app>-<env>-<suffix>` and its
/// `ecomflow:env` tag is `env` (so env `ci` never claims the instances of an env `ci-x`);
/// resources without the ownership tag are ignored, whatever their name.
pub fn group(
    app: &str,
    env: &str,
    resources: impl IntoIterator<Item = TaggedResource>,
) -> Vec<FoundInstance> {
    let base = instance_name(app, env, None);
    let copies = format!("{base}-");
    let mut found: BTreeMap<String, FoundInstance> = BTreeMap::new();
    for r in resources {
        let Some(stack) = r.tags.get(TAG_STACK) else {
            continue;
        };
        if r.tags.get(TAG_ENV).map(String::as_str) != Some(env) {
            continue;
        }
        let suffix = if *stack == base {
            None
        } else if let Some(suffix) = stack.strip_prefix(&copies) {
            Some(suffix.to_string())
        } else {
            continue;
        };
        let entry = found.entry(stack.clone()).or_insert_with(|| FoundInstance {
            instance: stack.clone(),
            suffix,
            resources: Vec::new(),
            expiry_tags: Vec::new(),
            created_tags: Vec::new(),
        });
        let label = format!("{} {}", r.kind, r.physical);
        if let Some(expiry) = r.tags.get(TAG_EXPIRES) {
            entry.expiry_tags.push((label.clone(), expiry.clone()));
        }
        if let Some(created) = r.tags.get(TAG_CREATED) {
            entry.created_tags.push((label.clone(), created.clone()));
        }
        entry.resources.push(label);
    }
    found
        .into_values()
        .map(|mut f| {
            f.resources.sort();
            f.expiry_tags.sort();
            f.created_tags.sort();
            f
        })
        .collect()
}
