//! The objects this tool uploads from files embedded in it (the Glue job script, the Redshift
//! COPY's JSONPaths file).

use super::S3;
use crate::aws::kit::{all_pages, Absent};
use crate::aws::provider::to_value;
use crate::aws::Found;
use crate::aws::{Aws, AwsError, Changes, Gone, Inputs, Listed, Observed, Outputs, Provider};
use crate::model::catalog::{embedded, sha256_hex, ObjectSpec, OBJECTS_PREFIX};
use crate::model::{Resource, Spec};
use async_trait::async_trait;

const NO_OBJECT: &[&str] = &["NotFound", "NoSuchKey", "NoSuchBucket"];

/// An object uploaded from a file embedded in the tool.
pub struct Object;

/// The object's spec, from its metadata (one HEAD); `None` if it does not exist. A HEAD
/// answer has no body, so a refusal reads as the classified status, named by the object.
async fn head(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<Option<ObjectSpec>, AwsError> {
    let out = s3
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(AwsError::from)
        .or_absent(NO_OBJECT)
        .map_err(|e| e.context(format!("failed to read s3://{bucket}/{key}")))?;
    Ok(out.map(|out| {
        let meta = out.metadata().cloned().unwrap_or_default();
        ObjectSpec {
            bucket: bucket.to_string(),
            key: key.to_string(),
            source: meta.get("source").cloned().unwrap_or_default(),
            sha256: meta.get("sha256").cloned().unwrap_or_default(),
            content_type: out.content_type().unwrap_or_default().to_string(),
        }
    }))
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
    let call = aws
        .s3
        .put_object()
        .bucket(&s.bucket)
        .key(&s.key)
        .content_type(&s.content_type)
        .metadata("sha256", &sha)
        .metadata("source", &s.source)
        .body(aws_sdk_s3::primitives::ByteStream::from(
            body.as_bytes().to_vec(),
        ))
        .send();
    aws.mutate(S3, format!("failed to upload {}", s.physical()), call)
        .await?;
    Ok(())
}

/// Every version ID (and delete marker) of exactly `key`; `None` if the bucket is gone.
/// ListObjectVersions has no paginator in the SDK: it pages by key and version markers.
async fn versions_of(
    aws: &Aws,
    bucket: &str,
    key: &str,
) -> Result<Option<Vec<Option<String>>>, AwsError> {
    let mut versions = Vec::new();
    let (mut key_marker, mut version_marker): (Option<String>, Option<String>) = (None, None);
    loop {
        let page = aws
            .s3
            .list_object_versions()
            .bucket(bucket)
            .prefix(key)
            .set_key_marker(key_marker.clone())
            .set_version_id_marker(version_marker.clone())
            .send()
            .await
            .map_err(AwsError::from)
            .or_absent(&["NoSuchBucket"])
            .map_err(|e| e.context(format!("failed to list versions of s3://{bucket}/{key}")))?;
        let Some(page) = page else {
            return Ok(None);
        };
        let found = page
            .versions()
            .iter()
            .map(|v| (v.key(), v.version_id()))
            .chain(
                page.delete_markers()
                    .iter()
                    .map(|m| (m.key(), m.version_id())),
            );
        versions.extend(
            found
                .filter(|(k, _)| *k == Some(key))
                .map(|(_, version)| version.map(str::to_string)),
        );
        if page.is_truncated() != Some(true) {
            return Ok(Some(versions));
        }
        key_marker = page.next_key_marker().map(str::to_string);
        version_marker = page.next_version_id_marker().map(str::to_string);
    }
}

/// `(bucket, key)` of `s3://bucket/key`.
fn location(physical: &str) -> Option<(String, String)> {
    let (bucket, key) = physical.strip_prefix("s3://")?.split_once('/')?;
    Some((bucket.to_string(), key.to_string()))
}

#[async_trait]
impl Provider for Object {
    type Spec = ObjectSpec;

    async fn read(&self, aws: &Aws, desired: &ObjectSpec, _: &Inputs) -> Found<ObjectSpec> {
        Ok(head(&aws.s3, &desired.bucket, &desired.key)
            .await?
            .map(Observed::bare))
    }

    async fn create(
        &self,
        aws: &Aws,
        desired: &ObjectSpec,
        _: &Inputs,
    ) -> Result<Outputs, AwsError> {
        put_object(aws, desired).await?;
        Ok(Outputs::new())
    }

    async fn update(
        &self,
        aws: &Aws,
        desired: &ObjectSpec,
        _live: &Observed<ObjectSpec>,
        _changes: &Changes,
        _: &Inputs,
    ) -> Result<(), AwsError> {
        put_object(aws, desired).await
    }

    /// Deletes every version and delete marker of the key (the lake is versioned), so that
    /// nothing of the object is left.
    async fn delete(&self, aws: &Aws, gone: &Gone<ObjectSpec>) -> Result<(), AwsError> {
        let physical = &gone.physical;
        let (bucket, key) = match &gone.spec {
            Some(s) => (s.bucket.clone(), s.key.clone()),
            None => location(physical)
                .ok_or_else(|| AwsError::msg(format!("not an S3 object: {physical}")))?,
        };
        let Some(versions) = versions_of(aws, &bucket, &key).await? else {
            return Ok(());
        };
        for version in versions {
            let call = aws
                .s3
                .delete_object()
                .bucket(&bucket)
                .key(&key)
                .set_version_id(version)
                .send();
            aws.mutate(S3, format!("failed to delete {physical}"), call)
                .await
                .tolerate(&["NoSuchKey", "NoSuchBucket", "NoSuchVersion"])?;
        }
        Ok(())
    }

    /// The objects under [`OBJECTS_PREFIX`] of the bucket that this tool uploaded: those whose
    /// `source` metadata names one of its embedded files. Anything else there is left alone.
    async fn members(
        &self,
        aws: &Aws,
        parent: &Resource,
        _parent_outputs: &Outputs,
        _instance: &str,
        declared: &[String],
    ) -> Result<Vec<Listed>, AwsError> {
        let bucket = &parent.physical;
        let pages = aws
            .s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix(OBJECTS_PREFIX);
        let what = format!("failed to list s3://{bucket}/{OBJECTS_PREFIX}");
        let pages = all_pages(pages.into_paginator().send(), what).await?;
        let objects = pages.iter().flat_map(|p| p.contents());
        let mut keys: Vec<String> = objects
            .filter_map(|o| o.key().map(str::to_string))
            .collect();
        // Declared objects are the engine's to read; only the others need a HEAD.
        keys.retain(|key| !declared.contains(&format!("s3://{bucket}/{key}")));
        let heads = keys.iter().map(|key| head(&aws.s3, bucket, key));
        Ok(futures::future::try_join_all(heads)
            .await?
            .into_iter()
            .flatten()
            .filter(|o| embedded(&o.source).is_some())
            .map(|o| Listed {
                physical: o.physical(),
                spec: to_value(&o),
                outputs: Outputs::new(),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn an_object_is_located_by_its_url() {
        assert_eq!(
            location("s3://lake/scripts/a.py"),
            Some(("lake".into(), "scripts/a.py".into()))
        );
        assert_eq!(location("lake/scripts/a.py"), None);
    }

    /// S3 refuses a HEAD with a bare 403 (a HEAD answer has no body): the error must still
    /// say what happened, where and what to check.
    #[tokio::test]
    async fn a_refused_head_names_the_object_and_what_to_check() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let mut request = [0u8; 4096];
                let _ = conn.read(&mut request).await;
                let answer =
                    "HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
                let _ = conn.write_all(answer.as_bytes()).await;
            }
        });
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .endpoint_url(endpoint)
            .force_path_style(true)
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "AKIDTEST", "secret", None, None, "test",
            ))
            .build();
        let e = head(
            &aws_sdk_s3::Client::from_conf(config),
            "lake",
            "scripts/a.py",
        )
        .await
        .unwrap_err();
        assert_eq!(e.status, Some(403));
        assert_eq!(
            e.to_string(),
            "failed to read s3://lake/scripts/a.py: access denied (HTTP 403) on HeadObject: \
             check the resource's policy (bucket, key or topic policy) and the caller's permissions"
        );
    }
}
