//! The data-lake bucket and its configurations, and the bucket of its server access logs.
//! Both are private, encrypted, owner-enforced and TLS-only; the lake's policy also lets
//! Redshift manage the bucket's notifications when the warehouse loads the lake, and the log
//! bucket's lets S3 deliver the lake's access logs.

use crate::config::StackConfig;
use crate::model::policy::{self, Statement};
use crate::model::s3::*;
use crate::model::{address, Kind, Resource, Tags};
use crate::names::Names;
use serde_json::json;

/// Logical name of the lake bucket.
pub const LAKE: &str = "lake";
/// Logical name of the bucket of the lake's server access logs.
pub const ACCESS_LOGS: &str = "access-logs";
/// Where the lake's access logs go in their bucket.
const LAKE_LOGS_PREFIX: &str = "lake/";

/// The lake bucket, public access blocked, encrypted, TLS-only, versioned, with lifecycle
/// rules; and, with `bucket.access_log_days`, its access-log bucket and logging.
pub fn resources(config: &StackConfig, names: &Names, tags: &Tags) -> Vec<Resource> {
    let lake = names.lake_bucket();
    let mut rules = vec![LifecycleRule {
        id: "expire-rejects".into(),
        prefix: "rejects/".into(),
        expire_days: Some(config.bucket.rejects_expire_days as i32),
        noncurrent_expire_days: None,
        abort_multipart_days: None,
    }];
    rules.push(tidy_whole_bucket(config));
    let grants: Vec<Statement> = config
        .warehouse
        .enabled
        .then(|| super::warehouse::notification_grant(names))
        .into_iter()
        .collect();
    let algorithm = if config.bucket.kms {
        "aws:kms"
    } else {
        "AES256"
    };
    // The log bucket outlives the lake in a destroy: the lake's last requests are still
    // logged into it while the lake is emptied.
    let logs_addr = address(Kind::S3Bucket, ACCESS_LOGS);
    let lake_after: &[&str] = match config.bucket.access_log_days {
        Some(_) => &[&logs_addr],
        None => &[],
    };
    let mut out = guarded_bucket(
        config, LAKE, &lake, algorithm, rules, grants, lake_after, tags,
    );
    let Some(days) = config.bucket.access_log_days else {
        return out;
    };
    // The log bucket, under SSE-S3: S3's log delivery cannot write under the AWS-managed
    // aws/s3 key that `bucket.kms` selects. Its records expire after the declared days.
    // https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html
    let logs = names.bucket("logs");
    let expire = LifecycleRule {
        id: "expire-access-logs".into(),
        prefix: String::new(),
        expire_days: Some(days as i32),
        noncurrent_expire_days: None,
        abort_multipart_days: None,
    };
    let mut tidy = tidy_whole_bucket(config);
    tidy.id = "tidy-versions".into();
    let delivery = Statement {
        sid: "S3DeliversLakeAccessLogs".into(),
        deny: false,
        principal: Some(json!({"Service": "logging.s3.amazonaws.com"})),
        actions: vec!["s3:PutObject".into()],
        resources: vec![format!("{}/{LAKE_LOGS_PREFIX}*", Names::bucket_arn(&logs))],
        condition: Some(json!({
            "ArnLike": {"aws:SourceArn": Names::bucket_arn(&lake)},
            "StringEquals": {"aws:SourceAccount": names.account},
        })),
    };
    out.extend(guarded_bucket(
        config,
        ACCESS_LOGS,
        &logs,
        "AES256",
        vec![expire, tidy],
        vec![delivery],
        &[],
        tags,
    ));
    out.push(
        Resource::new(
            LAKE,
            &LoggingSpec {
                bucket: lake,
                target_bucket: logs,
                target_prefix: LAKE_LOGS_PREFIX.into(),
            },
        )
        .owned_by(&address(Kind::S3Bucket, LAKE))
        .after(&[&address(Kind::S3BucketPolicy, ACCESS_LOGS)]),
    );
    out
}

/// Old versions expire (when versioned) and stale multipart uploads are aborted, bucket-wide.
fn tidy_whole_bucket(config: &StackConfig) -> LifecycleRule {
    LifecycleRule {
        id: "tidy-whole-bucket".into(),
        prefix: String::new(),
        expire_days: None,
        noncurrent_expire_days: config
            .bucket
            .versioning
            .then_some(config.bucket.noncurrent_expire_days as i32),
        abort_multipart_days: Some(7),
    }
}

/// A bucket and its settings: public access blocked, ACLs off, encrypted with `algorithm`,
/// versioned as configured, `rules`, and a policy of the TLS-only deny (unless the stack file
/// turns it off) and `grants`. The bucket comes after the resources of `after`.
#[allow(clippy::too_many_arguments)]
fn guarded_bucket(
    config: &StackConfig,
    logical: &str,
    bucket: &str,
    algorithm: &str,
    mut rules: Vec<LifecycleRule>,
    grants: Vec<Statement>,
    after: &[&str],
    tags: &Tags,
) -> Vec<Resource> {
    let owner = address(Kind::S3Bucket, logical);
    let arn = Names::bucket_arn(bucket);
    let tls_only = Statement {
        sid: "DenyInsecureTransport".into(),
        deny: true,
        principal: Some(json!("*")),
        actions: vec!["s3:*".into()],
        resources: vec![arn.clone(), format!("{arn}/*")],
        condition: Some(json!({"Bool": {"aws:SecureTransport": "false"}})),
    };
    rules.sort();
    let settings = [
        Resource::new(
            logical,
            &PublicAccessBlockSpec {
                bucket: bucket.to_string(),
                block_public_acls: true,
                ignore_public_acls: true,
                block_public_policy: true,
                restrict_public_buckets: true,
            },
        ),
        // ACLs off: access is decided by policies alone. AWS's default for new buckets,
        // declared so that older buckets converge too.
        Resource::new(
            logical,
            &OwnershipControlsSpec {
                bucket: bucket.to_string(),
                object_ownership: "BucketOwnerEnforced".into(),
            },
        ),
        Resource::new(
            logical,
            &EncryptionSpec {
                bucket: bucket.to_string(),
                algorithm: algorithm.into(),
                kms_key: None,
            },
        ),
        Resource::new(
            logical,
            &VersioningSpec {
                bucket: bucket.to_string(),
                enabled: config.bucket.versioning,
            },
        ),
        Resource::new(
            logical,
            &LifecycleSpec {
                bucket: bucket.to_string(),
                rules,
            },
        )
        .after(&[&address(Kind::S3Versioning, logical)]),
    ];
    let statements: Vec<Statement> = config
        .bucket
        .deny_insecure_transport
        .then_some(tls_only)
        .into_iter()
        .chain(grants)
        .collect();
    let policy = (!statements.is_empty()).then(|| {
        Resource::new(
            logical,
            &BucketPolicySpec {
                bucket: bucket.to_string(),
                policy: policy::document(&statements),
            },
        )
        .after(&[&address(Kind::S3PublicAccessBlock, logical)])
    });
    let bucket = Resource::new(
        logical,
        &BucketSpec {
            name: bucket.to_string(),
            tags: tags.clone(),
        },
    )
    .after(after);
    let mut out = vec![bucket];
    out.extend(
        settings
            .into_iter()
            .chain(policy)
            .map(|r| r.owned_by(&owner)),
    );
    out
}
