//! StackConfig -> the typed resources of the pipeline, with dependency edges.
//!
//! Pure: the caller passes in the account, region and clock-derived values. One file per area
//! of the pipeline; a new kind adds its resources in the file of its area.

mod access;
mod alerts;
mod analytics;
mod api;
mod catalog;
mod compute;
mod key;
mod storage;
mod streaming;
mod tables;
mod trust;
mod warehouse;

pub use access::FUNCTIONS;
pub use analytics::workgroup_name;
pub use api::ROUTES;
pub use catalog::{database_name, TABLE as LAKE_TABLE};
pub use compute::{declared_environment, stream_mapping};
pub use warehouse::COPY_JOB as WAREHOUSE_COPY_JOB;

use crate::config::StackConfig;
use crate::model::{Resource, Tags};
use crate::names::{
    Names, MANAGED_BY, TAG_CREATED, TAG_ENV, TAG_EXPIRES, TAG_MANAGED_BY, TAG_STACK,
};
use std::collections::BTreeMap;

/// What the blueprint needs besides the config.
#[derive(Debug, Clone)]
pub struct Context {
    /// Names of the stack instance (account and region included).
    pub names: Names,
    /// For ephemeral `--instance` copies: the RFC 3339 expiry put in the expiry tag.
    pub expires_at: Option<String>,
    /// For ephemeral `--instance` copies: the RFC 3339 time of this run (the one `expires_at`
    /// is computed from), put in the creation tag. Set exactly when `expires_at` is. The diff
    /// keeps a live resource's own creation tag instead, so only a creation writes this one.
    pub created_at: Option<String>,
    /// The packaged code of each Lambda function, by function name (`ingest`, ...).
    pub lambda_code: BTreeMap<String, LambdaCode>,
}

/// A function's deployment package, as `ecomflow-infra build` wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LambdaCode {
    /// Path of `bootstrap.zip`.
    pub zip_path: String,
    /// Base64 SHA-256 of the zip, as Lambda reports `CodeSha256`.
    pub code_sha256: String,
}

/// The declared resources of one stack instance.
#[derive(Debug, Clone)]
pub struct Blueprint {
    /// Names of the stack instance.
    pub names: Names,
    /// Every declared resource, dependencies before dependents.
    pub resources: Vec<Resource>,
}

impl Blueprint {
    /// The resource at an address.
    pub fn get(&self, address: &str) -> Option<&Resource> {
        self.resources.iter().find(|r| r.address() == address)
    }
}

/// Builds the blueprint of a stack instance.
pub fn build(config: &StackConfig, ctx: &Context) -> Blueprint {
    let tags = base_tags(config, ctx);
    let mut resources = Vec::new();
    resources.extend(storage::resources(config, &ctx.names, &tags));
    resources.extend(streaming::resources(config, &ctx.names, &tags));
    resources.extend(tables::resources(config, &ctx.names, &tags));
    resources.extend(alerts::resources(config, &ctx.names, &tags));
    resources.extend(access::resources(config, &ctx.names, &tags));
    resources.extend(compute::resources(config, ctx, &tags));
    resources.extend(api::resources(config, ctx, &tags));
    resources.extend(catalog::resources(config, ctx, &tags));
    resources.extend(warehouse::resources(config, ctx, &tags));
    resources.extend(analytics::resources(&ctx.names, &tags));
    let security = catalog::security_configuration_name(&ctx.names);
    resources.extend(key::resources(config, &ctx.names, &security, &tags));
    Blueprint {
        names: ctx.names.clone(),
        resources,
    }
}

/// The tags every taggable resource of the instance carries.
fn base_tags(config: &StackConfig, ctx: &Context) -> Tags {
    let mut tags = config.tags.clone();
    tags.insert(TAG_STACK.into(), ctx.names.instance.clone());
    tags.insert(TAG_MANAGED_BY.into(), MANAGED_BY.into());
    tags.insert(TAG_ENV.into(), config.env.clone());
    if let Some(expiry) = &ctx.expires_at {
        tags.insert(TAG_EXPIRES.into(), expiry.clone());
    }
    if let Some(created) = &ctx.created_at {
        tags.insert(TAG_CREATED.into(), created.clone());
    }
    tags
}

/// The blueprint of a stack file of the repository in `account`, as the unit tests build it:
/// an ephemeral copy's stamps fixed, and every function's code the same made-up package.
#[cfg(test)]
pub(crate) fn fixture(file: &str, suffix: Option<&str>, account: &str) -> Blueprint {
    use crate::names::{instance_name, Names};
    let path = format!("{}/stacks/{file}", env!("CARGO_MANIFEST_DIR"));
    let yaml = std::fs::read_to_string(path).unwrap();
    let config = crate::config::load_str(file, &yaml, suffix).unwrap();
    let names = Names::new(
        instance_name(&config.app, &config.env, suffix),
        account,
        config.region.clone(),
    );
    let code = LambdaCode {
        zip_path: "target/lambda/bootstrap.zip".into(),
        code_sha256: "c2hhMjU2".into(),
    };
    build(
        &config,
        &Context {
            names,
            expires_at: suffix.map(|_| "2030-01-01T00:00:00Z".to_string()),
            created_at: suffix.map(|_| "2029-12-31T00:00:00Z".to_string()),
            lambda_code: FUNCTIONS
                .iter()
                .map(|f| (f.to_string(), code.clone()))
                .collect(),
        },
    )
}

#[cfg(test)]
mod tests;
