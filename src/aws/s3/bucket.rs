//! The S3 bucket itself: name and tags.

use super::{NO_BUCKET, S3};
use crate::aws::kit::{converge_tag_set, listed, Absent};
use crate::aws::{
    built, Aws, AwsError, Changes, Found, Gone, Inputs, Listed, Observed, Outputs, Provider,
};
use crate::model::s3::BucketSpec;
use crate::model::Tags;
use crate::names::Names;
use async_trait::async_trait;
use aws_sdk_s3::client::Waiters;
use aws_sdk_s3::types as t;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(120);

/// Reads a bucket's tags: `None` if the bucket does not exist, empty if it has none.
async fn bucket_tags(aws: &Aws, bucket: &str) -> Result<Option<Tags>, AwsError> {
    let tagging = aws
        .s3
        .get_bucket_tagging()
        .bucket(bucket)
        .send()
        .await
        .map_err(AwsError::from);
    match tagging {
        Ok(out) => Ok(Some(
            out.tag_set()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect(),
        )),
        Err(e) if e.is(NO_BUCKET) => Ok(None),
        Err(e) if e.is(&["NoSuchTagSet", "NoSuchTagSetError"]) => Ok(Some(Tags::new())),
        // Someone else's bucket: it exists, and it carries none of our tags.
        Err(e) if e.is(&["AccessDenied", "AllAccessDisabled"]) => Ok(Some(Tags::new())),
        Err(e) => Err(e.context(format!("failed to read tags of S3 bucket {bucket}"))),
    }
}

fn observed(name: &str, tags: Tags) -> Observed<BucketSpec> {
    let spec = BucketSpec {
        name: name.to_string(),
        tags,
    };
    Observed::with(spec, "arn", Names::bucket_arn(name))
}

/// Replaces the bucket's tag set (PutBucketTagging sets the whole set).
async fn put_tags(aws: &Aws, bucket: &str, tags: Tags) -> Result<(), AwsError> {
    let tag_set = tags
        .iter()
        .map(|(k, v)| built(t::Tag::builder().key(k).value(v).build()))
        .collect::<Result<Vec<_>, _>>()?;
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
        let page = aws
            .s3
            .list_object_versions()
            .bucket(bucket)
            .max_keys(1000)
            .send()
            .await
            .map_err(AwsError::from)
            .or_absent(NO_BUCKET)
            .map_err(|e| e.context(format!("failed to list objects of S3 bucket {bucket}")))?;
        let Some(page) = page else {
            return Ok(());
        };
        let versions = page.versions().iter().map(|v| (v.key(), v.version_id()));
        let markers = page
            .delete_markers()
            .iter()
            .map(|m| (m.key(), m.version_id()));
        let ids = versions
            .chain(markers)
            .map(|(key, version)| {
                built(
                    t::ObjectIdentifier::builder()
                        .key(key.unwrap_or_default())
                        .set_version_id(version.map(str::to_string))
                        .build(),
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        if ids.is_empty() {
            return Ok(());
        }
        let delete = built(
            t::Delete::builder()
                .set_objects(Some(ids))
                .quiet(true)
                .build(),
        )?;
        let call = aws.s3.delete_objects().bucket(bucket).delete(delete).send();
        let out = aws
            .mutate(
                S3,
                format!("failed to delete objects of S3 bucket {bucket}"),
                call,
            )
            .await?;
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
    type Spec = BucketSpec;

    async fn read(&self, aws: &Aws, desired: &BucketSpec, _: &Inputs) -> Found<BucketSpec> {
        let name = &desired.name;
        Ok(bucket_tags(aws, name)
            .await?
            .map(|tags| observed(name, tags)))
    }

    async fn create(&self, aws: &Aws, s: &BucketSpec, _: &Inputs) -> Result<Outputs, AwsError> {
        let name = &s.name;
        let mut req = aws.s3.create_bucket().bucket(name);
        if aws.region != "us-east-1" {
            req = req.create_bucket_configuration(
                t::CreateBucketConfiguration::builder()
                    .location_constraint(t::BucketLocationConstraint::from(aws.region.as_str()))
                    .build(),
            );
        }
        aws.mutate(S3, format!("failed to create S3 bucket {name}"), req.send())
            .await
            // Our own earlier, interrupted create: carry on and tag it.
            .tolerate(&["BucketAlreadyOwnedByYou"])?;
        aws.s3
            .wait_until_bucket_exists()
            .bucket(name)
            .wait(WAIT)
            .await
            .map_err(|e| AwsError::msg(format!("S3 bucket {name} did not become ready: {e}")))?;
        // A new bucket has no tags; one left by an interrupted create gets the whole set too.
        converge_tag_set(aws, S3, &s.tags, &Tags::new(), |tags| {
            put_tags(aws, name, tags)
        })
        .await?;
        Ok(observed(name, s.tags.clone()).outputs)
    }

    async fn update(
        &self,
        aws: &Aws,
        s: &BucketSpec,
        live: &Observed<BucketSpec>,
        changes: &Changes,
        _: &Inputs,
    ) -> Result<(), AwsError> {
        if !changes.touches("tags") {
            return Ok(());
        }
        converge_tag_set(aws, S3, &s.tags, &live.spec.tags, |tags| {
            put_tags(aws, &s.name, tags)
        })
        .await
    }

    async fn delete(&self, aws: &Aws, gone: &Gone<BucketSpec>) -> Result<(), AwsError> {
        let name = &gone.physical;
        // What lands while the bucket is emptied (S3's access-log deliveries, which trail
        // the requests they record) is emptied again, a few times.
        for attempt in 1..=3 {
            empty_bucket(aws, name).await?;
            let call = aws.s3.delete_bucket().bucket(name).send();
            match aws
                .mutate(S3, format!("failed to delete S3 bucket {name}"), call)
                .await
                .tolerate(NO_BUCKET)
            {
                Err(e) if e.is(&["BucketNotEmpty"]) && attempt < 3 => continue,
                done => {
                    done?;
                    break;
                }
            }
        }
        aws.s3
            .wait_until_bucket_not_exists()
            .bucket(name)
            .wait(WAIT)
            .await
            .map_err(|e| AwsError::msg(format!("S3 bucket {name} did not go away: {e}")))?;
        Ok(())
    }

    async fn list(
        &self,
        aws: &Aws,
        prefix: &str,
        skip: &[String],
    ) -> Result<Vec<Listed>, AwsError> {
        let pages = aws.s3.list_buckets().prefix(prefix).into_paginator();
        let buckets: Result<Vec<_>, _> = pages.items().send().collect().await;
        let buckets =
            buckets.map_err(|e| AwsError::from(e).context("failed to list S3 buckets"))?;
        let names = buckets.iter().filter_map(|b| b.name()).map(|name| {
            let arn = Names::bucket_arn(name);
            (name.to_string(), Outputs::from([("arn".to_string(), arn)]))
        });
        listed(names.collect(), prefix, skip, |name, _| async move {
            bucket_tags(aws, &name).await
        })
        .await
    }
}
