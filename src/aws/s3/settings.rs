//! The bucket's own configurations, each a kind: public access block, Object Ownership,
//! default encryption, bucket policy, versioning, lifecycle rules and server access logging.

use super::{misnamed_root, BucketSetting, S3};
use crate::aws::kit::{policy_doc, Absent};
use crate::aws::{built, Aws, AwsError, Gone};
use crate::model::policy;
use crate::model::s3::*;
use async_trait::async_trait;
use aws_sdk_s3::types as t;

/// The public access block of a bucket.
pub struct PublicAccessBlock;

#[async_trait]
impl BucketSetting for PublicAccessBlock {
    type Spec = PublicAccessBlockSpec;

    async fn get(
        &self,
        aws: &Aws,
        bucket: &str,
    ) -> Result<Option<PublicAccessBlockSpec>, AwsError> {
        let out = aws
            .s3
            .get_public_access_block()
            .bucket(bucket)
            .send()
            .await
            .map_err(AwsError::from)
            .or_absent(&["NoSuchPublicAccessBlockConfiguration"])?;
        Ok(out.map(|out| {
            let c = out.public_access_block_configuration();
            let on = |switch: fn(&t::PublicAccessBlockConfiguration) -> Option<bool>| {
                c.and_then(switch).unwrap_or(false)
            };
            PublicAccessBlockSpec {
                bucket: bucket.to_string(),
                block_public_acls: on(|c| c.block_public_acls()),
                ignore_public_acls: on(|c| c.ignore_public_acls()),
                block_public_policy: on(|c| c.block_public_policy()),
                restrict_public_buckets: on(|c| c.restrict_public_buckets()),
            }
        }))
    }

    async fn put(&self, aws: &Aws, s: &PublicAccessBlockSpec) -> Result<(), AwsError> {
        let call = aws
            .s3
            .put_public_access_block()
            .bucket(&s.bucket)
            .public_access_block_configuration(
                t::PublicAccessBlockConfiguration::builder()
                    .block_public_acls(s.block_public_acls)
                    .ignore_public_acls(s.ignore_public_acls)
                    .block_public_policy(s.block_public_policy)
                    .restrict_public_buckets(s.restrict_public_buckets)
                    .build(),
            )
            .send();
        let what = format!("failed to block public access to S3 bucket {}", s.bucket);
        aws.mutate(S3, what, call).await?;
        Ok(())
    }

    async fn remove(&self, aws: &Aws, gone: &Gone<PublicAccessBlockSpec>) -> Result<(), AwsError> {
        let bucket = &gone.physical;
        let call = aws.s3.delete_public_access_block().bucket(bucket).send();
        let what = format!("failed to remove the public access block of S3 bucket {bucket}");
        aws.mutate(S3, what, call).await?;
        Ok(())
    }
}

/// The Object Ownership of a bucket.
pub struct OwnershipControls;

#[async_trait]
impl BucketSetting for OwnershipControls {
    type Spec = OwnershipControlsSpec;

    async fn get(
        &self,
        aws: &Aws,
        bucket: &str,
    ) -> Result<Option<OwnershipControlsSpec>, AwsError> {
        let out = aws
            .s3
            .get_bucket_ownership_controls()
            .bucket(bucket)
            .send()
            .await
            .map_err(AwsError::from)
            .or_absent(&["OwnershipControlsNotFoundError"])?;
        Ok(out.map(|out| OwnershipControlsSpec {
            bucket: bucket.to_string(),
            object_ownership: out
                .ownership_controls()
                .and_then(|c| c.rules().first())
                .map(|r| r.object_ownership().as_str().to_string())
                .unwrap_or_default(),
        }))
    }

    async fn put(&self, aws: &Aws, s: &OwnershipControlsSpec) -> Result<(), AwsError> {
        let rule = built(
            t::OwnershipControlsRule::builder()
                .object_ownership(t::ObjectOwnership::from(s.object_ownership.as_str()))
                .build(),
        )?;
        let controls = built(t::OwnershipControls::builder().rules(rule).build())?;
        let call = aws
            .s3
            .put_bucket_ownership_controls()
            .bucket(&s.bucket)
            .ownership_controls(controls)
            .send();
        let what = format!(
            "failed to set the Object Ownership of S3 bucket {}",
            s.bucket
        );
        aws.mutate(S3, what, call).await?;
        Ok(())
    }

    async fn remove(&self, aws: &Aws, gone: &Gone<OwnershipControlsSpec>) -> Result<(), AwsError> {
        let bucket = &gone.physical;
        let call = aws
            .s3
            .delete_bucket_ownership_controls()
            .bucket(bucket)
            .send();
        let what = format!("failed to remove the Object Ownership of S3 bucket {bucket}");
        aws.mutate(S3, what, call).await?;
        Ok(())
    }
}

/// Default encryption of a bucket.
pub struct Encryption;

#[async_trait]
impl BucketSetting for Encryption {
    type Spec = EncryptionSpec;

    async fn get(&self, aws: &Aws, bucket: &str) -> Result<Option<EncryptionSpec>, AwsError> {
        let out = aws
            .s3
            .get_bucket_encryption()
            .bucket(bucket)
            .send()
            .await
            .map_err(AwsError::from)
            .or_absent(&["ServerSideEncryptionConfigurationNotFoundError"])?;
        Ok(out.map(|out| {
            let rule = out
                .server_side_encryption_configuration()
                .and_then(|c| c.rules().first())
                .and_then(|r| r.apply_server_side_encryption_by_default());
            EncryptionSpec {
                bucket: bucket.to_string(),
                algorithm: rule
                    .map(|r| r.sse_algorithm().as_str().to_string())
                    .unwrap_or_default(),
                kms_key: rule.and_then(|r| r.kms_master_key_id()).map(str::to_string),
            }
        }))
    }

    async fn put(&self, aws: &Aws, s: &EncryptionSpec) -> Result<(), AwsError> {
        let by_default = built(
            t::ServerSideEncryptionByDefault::builder()
                .sse_algorithm(t::ServerSideEncryption::from(s.algorithm.as_str()))
                .set_kms_master_key_id(s.kms_key.clone())
                .build(),
        )?;
        let config = built(
            t::ServerSideEncryptionConfiguration::builder()
                .rules(
                    t::ServerSideEncryptionRule::builder()
                        .apply_server_side_encryption_by_default(by_default)
                        .build(),
                )
                .build(),
        )?;
        let call = aws
            .s3
            .put_bucket_encryption()
            .bucket(&s.bucket)
            .server_side_encryption_configuration(config)
            .send();
        let what = format!("failed to set encryption of S3 bucket {}", s.bucket);
        aws.mutate(S3, what, call).await?;
        Ok(())
    }

    async fn remove(&self, aws: &Aws, gone: &Gone<EncryptionSpec>) -> Result<(), AwsError> {
        let bucket = &gone.physical;
        let call = aws.s3.delete_bucket_encryption().bucket(bucket).send();
        let what = format!("failed to remove encryption of S3 bucket {bucket}");
        aws.mutate(S3, what, call).await?;
        Ok(())
    }
}

/// The bucket policy.
pub struct BucketPolicy;

#[async_trait]
impl BucketSetting for BucketPolicy {
    type Spec = BucketPolicySpec;

    async fn get(&self, aws: &Aws, bucket: &str) -> Result<Option<BucketPolicySpec>, AwsError> {
        let out = aws
            .s3
            .get_bucket_policy()
            .bucket(bucket)
            .send()
            .await
            .map_err(AwsError::from)
            .or_absent(&["NoSuchBucketPolicy"])?;
        let Some(out) = out else {
            return Ok(None);
        };
        let doc = policy_doc(out.policy(), format_args!("S3 bucket {bucket}"))?;
        Ok(Some(BucketPolicySpec {
            bucket: bucket.to_string(),
            policy: policy::normalize(&doc),
        }))
    }

    async fn put(&self, aws: &Aws, s: &BucketPolicySpec) -> Result<(), AwsError> {
        let call = aws
            .s3
            .put_bucket_policy()
            .bucket(&s.bucket)
            .policy(policy::wire(&s.policy))
            .send();
        let what = format!("failed to set the policy of S3 bucket {}", s.bucket);
        aws.mutate(S3, what, call).await?;
        Ok(())
    }

    async fn remove(&self, aws: &Aws, gone: &Gone<BucketPolicySpec>) -> Result<(), AwsError> {
        let bucket = &gone.physical;
        let call = aws.s3.delete_bucket_policy().bucket(bucket).send();
        let what = format!("failed to delete the policy of S3 bucket {bucket}");
        aws.mutate(S3, what, call).await?;
        Ok(())
    }
}

/// Bucket versioning. A bucket always has a versioning state, so this exists with its bucket.
pub struct Versioning;

async fn put_versioning(aws: &Aws, bucket: &str, enabled: bool) -> Result<(), AwsError> {
    let status = if enabled {
        t::BucketVersioningStatus::Enabled
    } else {
        t::BucketVersioningStatus::Suspended
    };
    let call = aws
        .s3
        .put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(t::VersioningConfiguration::builder().status(status).build())
        .send();
    let what = format!("failed to set versioning of S3 bucket {bucket}");
    aws.mutate(S3, what, call).await?;
    Ok(())
}

#[async_trait]
impl BucketSetting for Versioning {
    type Spec = VersioningSpec;

    async fn get(&self, aws: &Aws, bucket: &str) -> Result<Option<VersioningSpec>, AwsError> {
        let enabled = match aws.s3.get_bucket_versioning().bucket(bucket).send().await {
            Ok(out) => out.status() == Some(&t::BucketVersioningStatus::Enabled),
            Err(e) => match misnamed_root(&e, "GetBucketVersioningResponse") {
                Some(body) => body.contains("<Status>Enabled</Status>"),
                None => return Err(AwsError::from(e)),
            },
        };
        Ok(Some(VersioningSpec {
            bucket: bucket.to_string(),
            enabled,
        }))
    }

    async fn put(&self, aws: &Aws, s: &VersioningSpec) -> Result<(), AwsError> {
        put_versioning(aws, &s.bucket, s.enabled).await
    }

    /// Versioning cannot be removed, only suspended; deleting the bucket removes it.
    async fn remove(&self, aws: &Aws, gone: &Gone<VersioningSpec>) -> Result<(), AwsError> {
        if gone.spec.as_ref().is_some_and(|s| s.enabled) {
            put_versioning(aws, &gone.physical, false).await?;
        }
        Ok(())
    }
}

/// Lifecycle rules of a bucket.
pub struct Lifecycle;

fn lifecycle_rule(r: &LifecycleRule) -> Result<t::LifecycleRule, AwsError> {
    let mut b = t::LifecycleRule::builder()
        .id(&r.id)
        .status(t::ExpirationStatus::Enabled)
        .filter(t::LifecycleRuleFilter::builder().prefix(&r.prefix).build());
    if let Some(days) = r.expire_days {
        b = b.expiration(t::LifecycleExpiration::builder().days(days).build());
    }
    if let Some(days) = r.noncurrent_expire_days {
        b = b.noncurrent_version_expiration(
            t::NoncurrentVersionExpiration::builder()
                .noncurrent_days(days)
                .build(),
        );
    }
    if let Some(days) = r.abort_multipart_days {
        b = b.abort_incomplete_multipart_upload(
            t::AbortIncompleteMultipartUpload::builder()
                .days_after_initiation(days)
                .build(),
        );
    }
    built(b.build())
}

#[async_trait]
impl BucketSetting for Lifecycle {
    type Spec = LifecycleSpec;

    async fn get(&self, aws: &Aws, bucket: &str) -> Result<Option<LifecycleSpec>, AwsError> {
        let out = aws
            .s3
            .get_bucket_lifecycle_configuration()
            .bucket(bucket)
            .send()
            .await
            .map_err(AwsError::from)
            .or_absent(&["NoSuchLifecycleConfiguration"])?;
        Ok(out.map(|out| {
            let mut rules: Vec<LifecycleRule> = out
                .rules()
                .iter()
                .map(|r| LifecycleRule {
                    id: r.id().unwrap_or_default().to_string(),
                    prefix: r
                        .filter()
                        .and_then(|f| f.prefix())
                        .unwrap_or_default()
                        .to_string(),
                    expire_days: r.expiration().and_then(|e| e.days()),
                    noncurrent_expire_days: r
                        .noncurrent_version_expiration()
                        .and_then(|e| e.noncurrent_days()),
                    abort_multipart_days: r
                        .abort_incomplete_multipart_upload()
                        .and_then(|a| a.days_after_initiation()),
                })
                .collect();
            rules.sort();
            LifecycleSpec {
                bucket: bucket.to_string(),
                rules,
            }
        }))
    }

    async fn put(&self, aws: &Aws, s: &LifecycleSpec) -> Result<(), AwsError> {
        let rules = s
            .rules
            .iter()
            .map(lifecycle_rule)
            .collect::<Result<Vec<_>, _>>()?;
        let call = aws
            .s3
            .put_bucket_lifecycle_configuration()
            .bucket(&s.bucket)
            .lifecycle_configuration(built(
                t::BucketLifecycleConfiguration::builder()
                    .set_rules(Some(rules))
                    .build(),
            )?)
            .send();
        let what = format!("failed to set lifecycle rules of S3 bucket {}", s.bucket);
        aws.mutate(S3, what, call).await?;
        Ok(())
    }

    async fn remove(&self, aws: &Aws, gone: &Gone<LifecycleSpec>) -> Result<(), AwsError> {
        let bucket = &gone.physical;
        let call = aws.s3.delete_bucket_lifecycle().bucket(bucket).send();
        let what = format!("failed to remove lifecycle rules of S3 bucket {bucket}");
        aws.mutate(S3, what, call).await?;
        Ok(())
    }
}

/// Server access logging of a bucket.
pub struct Logging;

async fn put_logging(
    aws: &Aws,
    bucket: &str,
    status: t::BucketLoggingStatus,
) -> Result<(), AwsError> {
    let call = aws
        .s3
        .put_bucket_logging()
        .bucket(bucket)
        .bucket_logging_status(status)
        .send();
    let what = format!("failed to set the access logging of S3 bucket {bucket}");
    aws.mutate(S3, what, call).await?;
    Ok(())
}

#[async_trait]
impl BucketSetting for Logging {
    type Spec = LoggingSpec;

    async fn get(&self, aws: &Aws, bucket: &str) -> Result<Option<LoggingSpec>, AwsError> {
        let out = aws
            .s3
            .get_bucket_logging()
            .bucket(bucket)
            .send()
            .await
            .map_err(AwsError::from)?;
        Ok(out.logging_enabled().map(|l| LoggingSpec {
            bucket: bucket.to_string(),
            target_bucket: l.target_bucket().to_string(),
            target_prefix: l.target_prefix().to_string(),
        }))
    }

    async fn put(&self, aws: &Aws, s: &LoggingSpec) -> Result<(), AwsError> {
        let enabled = built(
            t::LoggingEnabled::builder()
                .target_bucket(&s.target_bucket)
                .target_prefix(&s.target_prefix)
                .build(),
        )?;
        let status = t::BucketLoggingStatus::builder()
            .logging_enabled(enabled)
            .build();
        put_logging(aws, &s.bucket, status).await
    }

    /// An empty logging status turns logging off.
    async fn remove(&self, aws: &Aws, gone: &Gone<LoggingSpec>) -> Result<(), AwsError> {
        let status = t::BucketLoggingStatus::builder().build();
        put_logging(aws, &gone.physical, status).await
    }
}
