//! S3: the bucket and each of its configurations as a resource kind.

use super::legacy::{LegacyProvider as Provider, Listed};
use super::{built, Aws, AwsError};
use crate::model::s3::*;
use crate::model::{policy, Resource, Service, Spec, Tags};
use async_trait::async_trait;
use aws_sdk_s3::client::Waiters;
use aws_sdk_s3::types as t;
use serde_json::{json, Value};

const NO_BUCKET: &[&str] = &["NoSuchBucket", "NotFound"];

fn typed<S: Spec>(v: &Value) -> Result<S, AwsError> {
    serde_json::from_value(v.clone())
        .map_err(|e| AwsError::msg(format!("malformed {} spec: {e}", S::KIND)))
}

fn to_value<S: Spec>(spec: &S) -> Value {
    serde_json::to_value(spec).expect("specs serialise")
}

/// Reads a bucket's tags: `None` if the bucket does not exist, empty if it has none.
pub(super) async fn bucket_tags(aws: &Aws, bucket: &str) -> Result<Option<Tags>, AwsError> {
    match aws.s3.get_bucket_tagging().bucket(bucket).send().await {
        Ok(out) => Ok(Some(
            out.tag_set()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect(),
        )),
        Err(e) => {
            let e = AwsError::from(e);
            if e.is(NO_BUCKET) {
                Ok(None)
            } else if e.is(&["NoSuchTagSet", "NoSuchTagSetError"]) {
                Ok(Some(Tags::new()))
            } else if e.is(&["AccessDenied", "AllAccessDisabled"]) {
                // Someone else's bucket: it exists, and it carries none of our tags.
                Ok(Some(Tags::new()))
            } else {
                Err(e.context(format!("failed to read tags of S3 bucket {bucket}")))
            }
        }
    }
}

async fn put_tags(aws: &Aws, bucket: &str, tags: &Tags) -> Result<(), AwsError> {
    let tag_set = tags
        .iter()
        .map(|(k, v)| built(t::Tag::builder().key(k).value(v).build()))
        .collect::<Result<Vec<_>, _>>()?;
    aws.throttle(Service::S3).await;
    aws.s3
        .put_bucket_tagging()
        .bucket(bucket)
        .tagging(built(
            t::Tagging::builder().set_tag_set(Some(tag_set)).build(),
        )?)
        .send()
        .await
        .map_err(|e| AwsError::from(e).context(format!("failed to tag S3 bucket {bucket}")))?;
    Ok(())
}

/// Deletes every object version and delete marker, so the bucket can be deleted.
async fn empty_bucket(aws: &Aws, bucket: &str) -> Result<(), AwsError> {
    loop {
        let page = match aws
            .s3
            .list_object_versions()
            .bucket(bucket)
            .max_keys(1000)
            .send()
            .await
        {
            Ok(p) => p,
            Err(e) => {
                let e = AwsError::from(e);
                if e.is(NO_BUCKET) {
                    return Ok(());
                }
                return Err(e.context(format!("failed to list objects of S3 bucket {bucket}")));
            }
        };
        let mut ids = Vec::new();
        for v in page.versions() {
            ids.push(built(
                t::ObjectIdentifier::builder()
                    .key(v.key().unwrap_or_default())
                    .set_version_id(v.version_id().map(str::to_string))
                    .build(),
            )?);
        }
        for m in page.delete_markers() {
            ids.push(built(
                t::ObjectIdentifier::builder()
                    .key(m.key().unwrap_or_default())
                    .set_version_id(m.version_id().map(str::to_string))
                    .build(),
            )?);
        }
        if ids.is_empty() {
            return Ok(());
        }
        aws.throttle(Service::S3).await;
        let out = aws
            .s3
            .delete_objects()
            .bucket(bucket)
            .delete(built(
                t::Delete::builder()
                    .set_objects(Some(ids))
                    .quiet(true)
                    .build(),
            )?)
            .send()
            .await
            .map_err(|e| {
                AwsError::from(e).context(format!("failed to delete objects of S3 bucket {bucket}"))
            })?;
        if let Some(err) = out.errors().first() {
            return Err(AwsError::msg(format!(
                "failed to delete s3://{bucket}/{}: {}",
                err.key().unwrap_or_default(),
                err.message().unwrap_or_default()
            )));
        }
    }
}

/// The bucket itself: name and tags.
pub struct Bucket;

#[async_trait]
impl Provider for Bucket {
    async fn read(&self, aws: &Aws, desired: &Resource) -> Result<Option<Value>, AwsError> {
        let name = &desired.physical;
        Ok(bucket_tags(aws, name).await?.map(|tags| {
            to_value(&BucketSpec {
                name: name.clone(),
                tags,
            })
        }))
    }

    async fn create(&self, aws: &Aws, desired: &Resource) -> Result<(), AwsError> {
        let spec: BucketSpec = typed(&desired.spec)?;
        let mut req = aws.s3.create_bucket().bucket(&spec.name);
        if aws.region != "us-east-1" {
            req = req.create_bucket_configuration(
                t::CreateBucketConfiguration::builder()
                    .location_constraint(t::BucketLocationConstraint::from(aws.region.as_str()))
                    .build(),
            );
        }
        aws.throttle(Service::S3).await;
        if let Err(e) = req.send().await {
            let e = AwsError::from(e);
            // Our own earlier, interrupted create: carry on and tag it.
            if !e.is(&["BucketAlreadyOwnedByYou"]) {
                return Err(e.context(format!("failed to create S3 bucket {}", spec.name)));
            }
        }
        aws.s3
            .wait_until_bucket_exists()
            .bucket(&spec.name)
            .wait(std::time::Duration::from_secs(120))
            .await
            .map_err(|e| {
                AwsError::msg(format!("S3 bucket {} did not become ready: {e}", spec.name))
            })?;
        put_tags(aws, &spec.name, &spec.tags).await
    }

    async fn update(&self, aws: &Aws, desired: &Resource, _live: &Value) -> Result<(), AwsError> {
        let spec: BucketSpec = typed(&desired.spec)?;
        put_tags(aws, &spec.name, &spec.tags).await
    }

    async fn delete(&self, aws: &Aws, physical: &str, _live: &Value) -> Result<(), AwsError> {
        empty_bucket(aws, physical).await?;
        aws.throttle(Service::S3).await;
        if let Err(e) = aws.s3.delete_bucket().bucket(physical).send().await {
            let e = AwsError::from(e);
            if !e.is(NO_BUCKET) {
                return Err(e.context(format!("failed to delete S3 bucket {physical}")));
            }
        }
        aws.s3
            .wait_until_bucket_not_exists()
            .bucket(physical)
            .wait(std::time::Duration::from_secs(120))
            .await
            .map_err(|e| AwsError::msg(format!("S3 bucket {physical} did not go away: {e}")))?;
        Ok(())
    }

    async fn list(
        &self,
        aws: &Aws,
        prefix: &str,
        skip: &[String],
    ) -> Result<Vec<Listed>, AwsError> {
        let mut out = Vec::new();
        let mut pages = aws.s3.list_buckets().prefix(prefix).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| AwsError::from(e).context("failed to list S3 buckets"))?;
            for b in page.buckets() {
                let name = b.name().unwrap_or_default();
                if !name.starts_with(prefix) || skip.iter().any(|s| s == name) {
                    continue;
                }
                if let Some(tags) = bucket_tags(aws, name).await? {
                    out.push(Listed {
                        physical: name.to_string(),
                        spec: to_value(&BucketSpec {
                            name: name.to_string(),
                            tags,
                        }),
                    });
                }
            }
        }
        Ok(out)
    }
}

/// The body of a successful answer that the SDK refused only because its XML root element is
/// `root` instead of the documented one. Some S3-compatible endpoints (emulators) name the
/// root after the operation; the elements inside are the documented ones, so the caller reads
/// what it needs from the body. Real S3 never takes this path.
pub(crate) fn misnamed_root<E>(
    e: &aws_smithy_runtime_api::client::result::SdkError<E, aws_smithy_runtime_api::http::Response>,
    root: &str,
) -> Option<String> {
    let raw = e.raw_response()?;
    if !raw.status().is_success() {
        return None;
    }
    let body = std::str::from_utf8(raw.body().bytes()?).ok()?;
    body.contains(&format!("<{root}")).then(|| body.to_string())
}

/// Treats "no such bucket" and the configuration's own not-found codes as absence.
fn absent<T>(r: Result<T, AwsError>, not_found: &[&str]) -> Result<Option<T>, AwsError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is(NO_BUCKET) || e.is(not_found) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Ignores "no such bucket" on deletes of configurations.
fn gone(r: Result<(), AwsError>) -> Result<(), AwsError> {
    match r {
        Err(e) if !e.is(NO_BUCKET) => Err(e),
        _ => Ok(()),
    }
}

/// The public access block of a bucket.
pub struct PublicAccessBlock;

#[async_trait]
impl Provider for PublicAccessBlock {
    async fn read(&self, aws: &Aws, desired: &Resource) -> Result<Option<Value>, AwsError> {
        let bucket = &desired.physical;
        let r = aws
            .s3
            .get_public_access_block()
            .bucket(bucket)
            .send()
            .await
            .map_err(AwsError::from);
        Ok(
            absent(r, &["NoSuchPublicAccessBlockConfiguration"])?.map(|out| {
                let c = out.public_access_block_configuration();
                to_value(&PublicAccessBlockSpec {
                    bucket: bucket.clone(),
                    block_public_acls: c.and_then(|c| c.block_public_acls()).unwrap_or(false),
                    ignore_public_acls: c.and_then(|c| c.ignore_public_acls()).unwrap_or(false),
                    block_public_policy: c.and_then(|c| c.block_public_policy()).unwrap_or(false),
                    restrict_public_buckets: c
                        .and_then(|c| c.restrict_public_buckets())
                        .unwrap_or(false),
                })
            }),
        )
    }

    async fn create(&self, aws: &Aws, desired: &Resource) -> Result<(), AwsError> {
        let s: PublicAccessBlockSpec = typed(&desired.spec)?;
        aws.throttle(Service::S3).await;
        aws.s3
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
            .send()
            .await
            .map_err(|e| {
                AwsError::from(e).context(format!(
                    "failed to block public access to S3 bucket {}",
                    s.bucket
                ))
            })?;
        Ok(())
    }

    async fn update(&self, aws: &Aws, desired: &Resource, _live: &Value) -> Result<(), AwsError> {
        self.create(aws, desired).await
    }

    async fn delete(&self, aws: &Aws, physical: &str, _live: &Value) -> Result<(), AwsError> {
        aws.throttle(Service::S3).await;
        gone(
            aws.s3
                .delete_public_access_block()
                .bucket(physical)
                .send()
                .await
                .map(|_| ())
                .map_err(AwsError::from),
        )
    }
}

/// Default encryption of a bucket.
pub struct Encryption;

#[async_trait]
impl Provider for Encryption {
    async fn read(&self, aws: &Aws, desired: &Resource) -> Result<Option<Value>, AwsError> {
        let bucket = &desired.physical;
        let r = aws
            .s3
            .get_bucket_encryption()
            .bucket(bucket)
            .send()
            .await
            .map_err(AwsError::from);
        Ok(
            absent(r, &["ServerSideEncryptionConfigurationNotFoundError"])?.map(|out| {
                let rule = out
                    .server_side_encryption_configuration()
                    .and_then(|c| c.rules().first())
                    .and_then(|r| r.apply_server_side_encryption_by_default());
                to_value(&EncryptionSpec {
                    bucket: bucket.clone(),
                    algorithm: rule
                        .map(|r| r.sse_algorithm().as_str().to_string())
                        .unwrap_or_default(),
                    kms_key: rule.and_then(|r| r.kms_master_key_id()).map(str::to_string),
                })
            }),
        )
    }

    async fn create(&self, aws: &Aws, desired: &Resource) -> Result<(), AwsError> {
        let s: EncryptionSpec = typed(&desired.spec)?;
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
        aws.throttle(Service::S3).await;
        aws.s3
            .put_bucket_encryption()
            .bucket(&s.bucket)
            .server_side_encryption_configuration(config)
            .send()
            .await
            .map_err(|e| {
                AwsError::from(e).context(format!(
                    "failed to set encryption of S3 bucket {}",
                    s.bucket
                ))
            })?;
        Ok(())
    }

    async fn update(&self, aws: &Aws, desired: &Resource, _live: &Value) -> Result<(), AwsError> {
        self.create(aws, desired).await
    }

    async fn delete(&self, aws: &Aws, physical: &str, _live: &Value) -> Result<(), AwsError> {
        aws.throttle(Service::S3).await;
        gone(
            aws.s3
                .delete_bucket_encryption()
                .bucket(physical)
                .send()
                .await
                .map(|_| ())
                .map_err(AwsError::from),
        )
    }
}

/// The bucket policy.
pub struct BucketPolicy;

#[async_trait]
impl Provider for BucketPolicy {
    async fn read(&self, aws: &Aws, desired: &Resource) -> Result<Option<Value>, AwsError> {
        let bucket = &desired.physical;
        let r = aws
            .s3
            .get_bucket_policy()
            .bucket(bucket)
            .send()
            .await
            .map_err(AwsError::from);
        match absent(r, &["NoSuchBucketPolicy"])? {
            None => Ok(None),
            Some(out) => {
                let doc: Value =
                    serde_json::from_str(out.policy().unwrap_or("{}")).map_err(|e| {
                        AwsError::msg(format!("S3 bucket {bucket} has an unreadable policy: {e}"))
                    })?;
                Ok(Some(to_value(&BucketPolicySpec {
                    bucket: bucket.clone(),
                    policy: policy::normalize(&doc),
                })))
            }
        }
    }

    async fn create(&self, aws: &Aws, desired: &Resource) -> Result<(), AwsError> {
        let s: BucketPolicySpec = typed(&desired.spec)?;
        aws.throttle(Service::S3).await;
        aws.s3
            .put_bucket_policy()
            .bucket(&s.bucket)
            .policy(s.policy.to_string())
            .send()
            .await
            .map_err(|e| {
                AwsError::from(e).context(format!(
                    "failed to set the policy of S3 bucket {}",
                    s.bucket
                ))
            })?;
        Ok(())
    }

    async fn update(&self, aws: &Aws, desired: &Resource, _live: &Value) -> Result<(), AwsError> {
        self.create(aws, desired).await
    }

    async fn delete(&self, aws: &Aws, physical: &str, _live: &Value) -> Result<(), AwsError> {
        aws.throttle(Service::S3).await;
        gone(
            aws.s3
                .delete_bucket_policy()
                .bucket(physical)
                .send()
                .await
                .map(|_| ())
                .map_err(AwsError::from),
        )
    }
}

/// Bucket versioning. A bucket always has a versioning state, so this exists with its bucket.
pub struct Versioning;

#[async_trait]
impl Provider for Versioning {
    async fn read(&self, aws: &Aws, desired: &Resource) -> Result<Option<Value>, AwsError> {
        let bucket = &desired.physical;
        let r = match aws.s3.get_bucket_versioning().bucket(bucket).send().await {
            Ok(out) => Ok(out.status() == Some(&t::BucketVersioningStatus::Enabled)),
            Err(e) => match misnamed_root(&e, "GetBucketVersioningResponse") {
                Some(body) => Ok(body.contains("<Status>Enabled</Status>")),
                None => Err(AwsError::from(e)),
            },
        };
        Ok(absent(r, &[])?.map(|enabled| {
            to_value(&VersioningSpec {
                bucket: bucket.clone(),
                enabled,
            })
        }))
    }

    async fn create(&self, aws: &Aws, desired: &Resource) -> Result<(), AwsError> {
        let s: VersioningSpec = typed(&desired.spec)?;
        let status = if s.enabled {
            t::BucketVersioningStatus::Enabled
        } else {
            t::BucketVersioningStatus::Suspended
        };
        aws.throttle(Service::S3).await;
        aws.s3
            .put_bucket_versioning()
            .bucket(&s.bucket)
            .versioning_configuration(t::VersioningConfiguration::builder().status(status).build())
            .send()
            .await
            .map_err(|e| {
                AwsError::from(e).context(format!(
                    "failed to set versioning of S3 bucket {}",
                    s.bucket
                ))
            })?;
        Ok(())
    }

    async fn update(&self, aws: &Aws, desired: &Resource, _live: &Value) -> Result<(), AwsError> {
        self.create(aws, desired).await
    }

    async fn delete(&self, aws: &Aws, physical: &str, live: &Value) -> Result<(), AwsError> {
        // Versioning cannot be removed, only suspended; deleting the bucket removes it.
        if live.get("enabled") == Some(&json!(true)) {
            aws.throttle(Service::S3).await;
            let r = aws
                .s3
                .put_bucket_versioning()
                .bucket(physical)
                .versioning_configuration(
                    t::VersioningConfiguration::builder()
                        .status(t::BucketVersioningStatus::Suspended)
                        .build(),
                )
                .send()
                .await
                .map(|_| ())
                .map_err(AwsError::from);
            return gone(r);
        }
        Ok(())
    }
}

/// Lifecycle rules of a bucket.
pub struct Lifecycle;

#[async_trait]
impl Provider for Lifecycle {
    async fn read(&self, aws: &Aws, desired: &Resource) -> Result<Option<Value>, AwsError> {
        let bucket = &desired.physical;
        let r = aws
            .s3
            .get_bucket_lifecycle_configuration()
            .bucket(bucket)
            .send()
            .await
            .map_err(AwsError::from);
        Ok(absent(r, &["NoSuchLifecycleConfiguration"])?.map(|out| {
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
            to_value(&LifecycleSpec {
                bucket: bucket.clone(),
                rules,
            })
        }))
    }

    async fn create(&self, aws: &Aws, desired: &Resource) -> Result<(), AwsError> {
        let s: LifecycleSpec = typed(&desired.spec)?;
        let mut rules = Vec::new();
        for r in &s.rules {
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
            rules.push(built(b.build())?);
        }
        aws.throttle(Service::S3).await;
        aws.s3
            .put_bucket_lifecycle_configuration()
            .bucket(&s.bucket)
            .lifecycle_configuration(built(
                t::BucketLifecycleConfiguration::builder()
                    .set_rules(Some(rules))
                    .build(),
            )?)
            .send()
            .await
            .map_err(|e| {
                AwsError::from(e).context(format!(
                    "failed to set lifecycle rules of S3 bucket {}",
                    s.bucket
                ))
            })?;
        Ok(())
    }

    async fn update(&self, aws: &Aws, desired: &Resource, _live: &Value) -> Result<(), AwsError> {
        self.create(aws, desired).await
    }

    async fn delete(&self, aws: &Aws, physical: &str, _live: &Value) -> Result<(), AwsError> {
        aws.throttle(Service::S3).await;
        gone(
            aws.s3
                .delete_bucket_lifecycle()
                .bucket(physical)
                .send()
                .await
                .map(|_| ())
                .map_err(AwsError::from),
        )
    }
}

/// Event notifications of a bucket (to SNS topics).
pub struct Notification;

async fn put_notifications(
    aws: &Aws,
    bucket: &str,
    topics: &[TopicNotification],
) -> Result<(), AwsError> {
    let mut configs = Vec::new();
    for n in topics {
        let filter = t::NotificationConfigurationFilter::builder()
            .key(
                t::S3KeyFilter::builder()
                    .filter_rules(
                        t::FilterRule::builder()
                            .name(t::FilterRuleName::Prefix)
                            .value(&n.prefix)
                            .build(),
                    )
                    .build(),
            )
            .build();
        configs.push(built(
            t::TopicConfiguration::builder()
                .id(&n.id)
                .topic_arn(&n.topic_arn)
                .set_events(Some(
                    n.events
                        .iter()
                        .map(|e| t::Event::from(e.as_str()))
                        .collect(),
                ))
                .filter(filter)
                .build(),
        )?);
    }
    aws.throttle(Service::S3).await;
    aws.s3
        .put_bucket_notification_configuration()
        .bucket(bucket)
        .notification_configuration(
            t::NotificationConfiguration::builder()
                .set_topic_configurations(Some(configs))
                .build(),
        )
        .send()
        .await
        .map_err(|e| {
            AwsError::from(e).context(format!("failed to set notifications of S3 bucket {bucket}"))
        })?;
    Ok(())
}

#[async_trait]
impl Provider for Notification {
    async fn read(&self, aws: &Aws, desired: &Resource) -> Result<Option<Value>, AwsError> {
        let bucket = &desired.physical;
        let r = match aws.s3.get_bucket_notification_configuration().bucket(bucket).send().await {
            Ok(out) => Ok(out),
            Err(e) => match misnamed_root(&e, "GetBucketNotificationResponse") {
                // An empty configuration under the misnamed root: nothing configured.
                Some(body) if !body.contains("Configuration>") => {
                    Ok(aws_sdk_s3::operation::get_bucket_notification_configuration::GetBucketNotificationConfigurationOutput::builder().build())
                }
                _ => Err(AwsError::from(e)),
            },
        };
        let Some(out) = absent(r, &[])? else {
            return Ok(None);
        };
        let mut topics: Vec<TopicNotification> = out
            .topic_configurations()
            .iter()
            .map(|c| {
                let prefix = c
                    .filter()
                    .and_then(|f| f.key())
                    .map(|k| k.filter_rules())
                    .unwrap_or_default()
                    .iter()
                    .find(|r| {
                        r.name()
                            .map(|n| n.as_str().eq_ignore_ascii_case("prefix"))
                            .unwrap_or(false)
                    })
                    .and_then(|r| r.value())
                    .unwrap_or_default()
                    .to_string();
                let mut events: Vec<String> =
                    c.events().iter().map(|e| e.as_str().to_string()).collect();
                events.sort();
                TopicNotification {
                    id: c.id().unwrap_or_default().to_string(),
                    topic_arn: c.topic_arn().to_string(),
                    events,
                    prefix,
                }
            })
            .collect();
        if topics.is_empty() {
            return Ok(None);
        }
        topics.sort();
        Ok(Some(to_value(&NotificationSpec {
            bucket: bucket.clone(),
            topics,
        })))
    }

    async fn create(&self, aws: &Aws, desired: &Resource) -> Result<(), AwsError> {
        let s: NotificationSpec = typed(&desired.spec)?;
        put_notifications(aws, &s.bucket, &s.topics).await
    }

    async fn update(&self, aws: &Aws, desired: &Resource, _live: &Value) -> Result<(), AwsError> {
        self.create(aws, desired).await
    }

    async fn delete(&self, aws: &Aws, physical: &str, _live: &Value) -> Result<(), AwsError> {
        gone(put_notifications(aws, physical, &[]).await)
    }
}
