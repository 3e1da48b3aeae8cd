//! The provider of the uploaded script object (S3). The Glue kinds are in `glue/`.

use super::legacy::{LegacyProvider as Provider, Listed};
use super::{Aws, AwsError};
use crate::model::catalog::*;
use crate::model::{Kind, Resource, Service, Spec};
use async_trait::async_trait;
use serde_json::Value;

pub(super) fn typed<S: serde::de::DeserializeOwned>(v: &Value, kind: Kind) -> Result<S, AwsError> {
    serde_json::from_value(v.clone())
        .map_err(|e| AwsError::msg(format!("malformed {kind} spec: {e}")))
}

pub(super) fn to_value<S: serde::Serialize>(s: &S) -> Value {
    serde_json::to_value(s).expect("specs serialise")
}

/// Tolerates the codes in `ok` (e.g. "not found" on delete).
pub(super) fn tolerate<T>(r: Result<T, AwsError>, ok: &[&str]) -> Result<(), AwsError> {
    match r {
        Ok(_) => Ok(()),
        Err(e) if e.is(ok) => Ok(()),
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------------------------------------
// S3 object

/// An object uploaded from a file embedded in the tool.
pub struct Object;

async fn read_object(aws: &Aws, bucket: &str, key: &str) -> Result<Option<ObjectSpec>, AwsError> {
    match aws.s3.head_object().bucket(bucket).key(key).send().await {
        Ok(out) => {
            let meta = out.metadata().cloned().unwrap_or_default();
            Ok(Some(ObjectSpec {
                bucket: bucket.to_string(),
                key: key.to_string(),
                source: meta.get("source").cloned().unwrap_or_default(),
                sha256: meta.get("sha256").cloned().unwrap_or_default(),
                content_type: out.content_type().unwrap_or_default().to_string(),
            }))
        }
        Err(e) => {
            let e = AwsError::from(e);
            if e.is(&["NotFound", "NoSuchKey", "NoSuchBucket"]) {
                Ok(None)
            } else {
                Err(e.context(format!("failed to read s3://{bucket}/{key}")))
            }
        }
    }
}

async fn put_object(aws: &Aws, s: &ObjectSpec) -> Result<(), AwsError> {
    let body = embedded(&s.source)
        .ok_or_else(|| AwsError::msg(format!("no embedded file named {:?}", s.source)))?;
    let sha = sha256_hex(body.as_bytes());
    if sha != s.sha256 {
        return Err(AwsError::msg(format!(
            "the embedded {} has SHA-256 {sha}, the declaration says {}",
            s.source, s.sha256
        )));
    }
    aws.throttle(Service::S3).await;
    aws.s3
        .put_object()
        .bucket(&s.bucket)
        .key(&s.key)
        .content_type(&s.content_type)
        .metadata("sha256", &sha)
        .metadata("source", &s.source)
        .body(aws_sdk_s3::primitives::ByteStream::from(
            body.as_bytes().to_vec(),
        ))
        .send()
        .await
        .map_err(|e| {
            AwsError::from(e).context(format!("failed to upload s3://{}/{}", s.bucket, s.key))
        })?;
    Ok(())
}

#[async_trait]
impl Provider for Object {
    async fn read(&self, aws: &Aws, desired: &Resource) -> Result<Option<Value>, AwsError> {
        let s: ObjectSpec = typed(&desired.spec, desired.kind)?;
        Ok(read_object(aws, &s.bucket, &s.key)
            .await?
            .map(|o| to_value(&o)))
    }

    async fn create(&self, aws: &Aws, desired: &Resource) -> Result<(), AwsError> {
        put_object(aws, &typed(&desired.spec, desired.kind)?).await
    }

    async fn update(&self, aws: &Aws, desired: &Resource, _live: &Value) -> Result<(), AwsError> {
        put_object(aws, &typed(&desired.spec, desired.kind)?).await
    }

    /// The objects under [`OBJECTS_PREFIX`] of the bucket that this tool uploaded: those whose
    /// `source` metadata names one of its embedded files. Anything else there is left alone.
    async fn members(
        &self,
        aws: &Aws,
        parent: &Resource,
        _parent_live: &Value,
        _instance: &str,
    ) -> Result<Vec<Listed>, AwsError> {
        let bucket = &parent.physical;
        let mut keys = Vec::new();
        let mut pages = aws
            .s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix(OBJECTS_PREFIX)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                AwsError::from(e).context(format!("failed to list s3://{bucket}/{OBJECTS_PREFIX}"))
            })?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_string)),
            );
        }
        let heads = keys.iter().map(|key| read_object(aws, bucket, key));
        Ok(futures::future::try_join_all(heads)
            .await?
            .into_iter()
            .flatten()
            .filter(|o| embedded(&o.source).is_some())
            .map(|o| Listed {
                physical: o.physical(),
                spec: to_value(&o),
            })
            .collect())
    }

    /// Deletes every version and delete marker of the key (the lake is versioned), so that
    /// nothing of the object is left.
    async fn delete(&self, aws: &Aws, physical: &str, live: &Value) -> Result<(), AwsError> {
        let s: ObjectSpec = typed(live, Kind::S3Object)?;
        let mut versions: Vec<Option<String>> = Vec::new();
        let (mut key_marker, mut version_marker): (Option<String>, Option<String>) = (None, None);
        loop {
            let page = match aws
                .s3
                .list_object_versions()
                .bucket(&s.bucket)
                .prefix(&s.key)
                .set_key_marker(key_marker.clone())
                .set_version_id_marker(version_marker.clone())
                .send()
                .await
            {
                Ok(p) => p,
                Err(e) => {
                    let e = AwsError::from(e);
                    if e.is(&["NoSuchBucket"]) {
                        return Ok(());
                    }
                    return Err(e.context(format!("failed to list versions of {physical}")));
                }
            };
            for v in page.versions() {
                if v.key() == Some(s.key.as_str()) {
                    versions.push(v.version_id().map(str::to_string));
                }
            }
            for m in page.delete_markers() {
                if m.key() == Some(s.key.as_str()) {
                    versions.push(m.version_id().map(str::to_string));
                }
            }
            if page.is_truncated() != Some(true) {
                break;
            }
            key_marker = page.next_key_marker().map(str::to_string);
            version_marker = page.next_version_id_marker().map(str::to_string);
        }
        for version in versions {
            aws.throttle(Service::S3).await;
            let r = aws
                .s3
                .delete_object()
                .bucket(&s.bucket)
                .key(&s.key)
                .set_version_id(version)
                .send()
                .await
                .map_err(AwsError::from);
            tolerate(r, &["NoSuchKey", "NoSuchBucket", "NoSuchVersion"])
                .map_err(|e| e.context(format!("failed to delete {physical}")))?;
        }
        Ok(())
    }
}
