//! The data-lake bucket and its configurations. Its policy denies plain HTTP, and lets
//! Redshift manage the bucket's notifications when the warehouse loads the lake.

use crate::config::StackConfig;
use crate::model::policy::{self, Statement};
use crate::model::s3::*;
use crate::model::{address, Kind, Resource, Tags};
use crate::names::Names;
use serde_json::json;

/// Logical name of the lake bucket.
pub const LAKE: &str = "lake";

/// The lake bucket, public access blocked, encrypted, TLS-only, versioned, with lifecycle rules.
pub fn resources(config: &StackConfig, names: &Names, tags: &Tags) -> Vec<Resource> {
    let bucket = names.lake_bucket();
    let owner = address(Kind::S3Bucket, LAKE);
    let arn = Names::bucket_arn(&bucket);
    let tls_only = Statement {
        sid: "DenyInsecureTransport".into(),
        deny: true,
        principal: Some(json!("*")),
        actions: vec!["s3:*".into()],
        resources: vec![arn.clone(), format!("{arn}/*")],
        condition: Some(json!({"Bool": {"aws:SecureTransport": "false"}})),
    };
    let mut rules = vec![LifecycleRule {
        id: "expire-rejects".into(),
        prefix: "rejects/".into(),
        expire_days: Some(config.bucket.rejects_expire_days as i32),
        noncurrent_expire_days: None,
        abort_multipart_days: None,
    }];
    rules.push(LifecycleRule {
        id: "tidy-whole-bucket".into(),
        prefix: String::new(),
        expire_days: None,
        noncurrent_expire_days: config
            .bucket
            .versioning
            .then_some(config.bucket.noncurrent_expire_days as i32),
        abort_multipart_days: Some(7),
    });
    rules.sort();
    let mut out = vec![
        Resource::new(
            LAKE,
            &BucketSpec {
                name: bucket.clone(),
                tags: tags.clone(),
            },
        ),
        Resource::new(
            LAKE,
            &PublicAccessBlockSpec {
                bucket: bucket.clone(),
                block_public_acls: true,
                ignore_public_acls: true,
                block_public_policy: true,
                restrict_public_buckets: true,
            },
        )
        .owned_by(&owner),
        // ACLs off: access to the lake is decided by policies alone. AWS's default for new
        // buckets, declared so that older buckets converge too.
        Resource::new(
            LAKE,
            &OwnershipControlsSpec {
                bucket: bucket.clone(),
                object_ownership: "BucketOwnerEnforced".into(),
            },
        )
        .owned_by(&owner),
        Resource::new(
            LAKE,
            &EncryptionSpec {
                bucket: bucket.clone(),
                algorithm: if config.bucket.kms {
                    "aws:kms"
                } else {
                    "AES256"
                }
                .into(),
                kms_key: None,
            },
        )
        .owned_by(&owner),
        Resource::new(
            LAKE,
            &VersioningSpec {
                bucket: bucket.clone(),
                enabled: config.bucket.versioning,
            },
        )
        .owned_by(&owner),
        Resource::new(
            LAKE,
            &LifecycleSpec {
                bucket: bucket.clone(),
                rules,
            },
        )
        .owned_by(&owner)
        .after(&[&address(Kind::S3Versioning, LAKE)]),
    ];
    let statements: Vec<Statement> = [
        config.bucket.deny_insecure_transport.then_some(tls_only),
        config
            .warehouse
            .enabled
            .then(|| super::warehouse::notification_grant(names)),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !statements.is_empty() {
        out.push(
            Resource::new(
                LAKE,
                &BucketPolicySpec {
                    bucket: bucket.clone(),
                    policy: policy::document(&statements),
                },
            )
            .owned_by(&owner)
            .after(&[&address(Kind::S3PublicAccessBlock, LAKE)]),
        );
    }
    out
}
