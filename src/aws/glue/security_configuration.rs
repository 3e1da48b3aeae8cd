//! The Glue security configuration: how the ETL job's runs encrypt what they write to S3,
//! their CloudWatch logs and their bookmarks. Glue neither updates nor tags one, so a change
//! replaces it (every field is a replacement field) and it is found by its name alone.

use super::{GLUE, NOT_FOUND};
use crate::aws::kit::{sent, Absent};
use crate::aws::kms::{as_declared, key_arn};
use crate::aws::{Aws, AwsError, Changes, Found, Gone, Inputs, Observed, Outputs, Provider};
use crate::model::catalog::SecurityConfigurationSpec;
use async_trait::async_trait;
use aws_sdk_glue::types as gt;

fn encryption(s: &SecurityConfigurationSpec, inputs: &Inputs) -> gt::EncryptionConfiguration {
    let key = key_arn(s.kms_key.as_deref(), inputs);
    gt::EncryptionConfiguration::builder()
        .s3_encryption(
            gt::S3Encryption::builder()
                .s3_encryption_mode(gt::S3EncryptionMode::from(s.s3_encryption.as_str()))
                .set_kms_key_arn(key.clone().filter(|_| s.s3_encryption.ends_with("KMS")))
                .build(),
        )
        .cloud_watch_encryption(
            gt::CloudWatchEncryption::builder()
                .cloud_watch_encryption_mode(gt::CloudWatchEncryptionMode::from(
                    s.cloudwatch_encryption.as_str(),
                ))
                .set_kms_key_arn(
                    key.clone()
                        .filter(|_| s.cloudwatch_encryption.ends_with("KMS")),
                )
                .build(),
        )
        .job_bookmarks_encryption(
            gt::JobBookmarksEncryption::builder()
                .job_bookmarks_encryption_mode(gt::JobBookmarksEncryptionMode::from(
                    s.bookmarks_encryption.as_str(),
                ))
                .set_kms_key_arn(key.filter(|_| s.bookmarks_encryption.ends_with("KMS")))
                .build(),
        )
        .build()
}

/// The declared shape of a live configuration; an absent mode reads as Glue's default,
/// `DISABLED`.
fn observed(name: &str, e: Option<&gt::EncryptionConfiguration>) -> SecurityConfigurationSpec {
    let s3 = e.and_then(|e| e.s3_encryption().first());
    let cloudwatch = e.and_then(|e| e.cloud_watch_encryption());
    let bookmarks = e.and_then(|e| e.job_bookmarks_encryption());
    let mode = |m: Option<&str>| m.unwrap_or("DISABLED").to_string();
    let key = s3
        .and_then(|x| x.kms_key_arn())
        .or_else(|| cloudwatch.and_then(|x| x.kms_key_arn()))
        .or_else(|| bookmarks.and_then(|x| x.kms_key_arn()));
    SecurityConfigurationSpec {
        name: name.to_string(),
        s3_encryption: mode(s3.and_then(|x| x.s3_encryption_mode()).map(|m| m.as_str())),
        cloudwatch_encryption: mode(
            cloudwatch
                .and_then(|x| x.cloud_watch_encryption_mode())
                .map(|m| m.as_str()),
        ),
        bookmarks_encryption: mode(
            bookmarks
                .and_then(|x| x.job_bookmarks_encryption_mode())
                .map(|m| m.as_str()),
        ),
        kms_key: key.map(str::to_string),
    }
}

/// A Glue security configuration.
pub struct SecurityConfiguration;

#[async_trait]
impl Provider for SecurityConfiguration {
    type Spec = SecurityConfigurationSpec;

    async fn read(
        &self,
        aws: &Aws,
        desired: &SecurityConfigurationSpec,
        inputs: &Inputs,
    ) -> Found<SecurityConfigurationSpec> {
        let name = &desired.name;
        let out = aws
            .glue
            .get_security_configuration()
            .name(name)
            .send()
            .await
            .map_err(AwsError::from)
            .or_absent(NOT_FOUND)
            .map_err(|e| e.context(format!("failed to read Glue security configuration {name}")))?;
        Ok(out.and_then(|o| o.security_configuration).map(|c| {
            let mut live = observed(name, c.encryption_configuration());
            live.kms_key = as_declared(live.kms_key, desired.kms_key.as_deref(), inputs);
            Observed::bare(live)
        }))
    }

    /// One made by an interrupted run is taken as it is: a difference is the plan's to
    /// replace.
    async fn create(
        &self,
        aws: &Aws,
        s: &SecurityConfigurationSpec,
        inputs: &Inputs,
    ) -> Result<Outputs, AwsError> {
        let call = aws
            .glue
            .create_security_configuration()
            .name(&s.name)
            .encryption_configuration(encryption(s, inputs))
            .send();
        let what = format!("failed to create Glue security configuration {}", s.name);
        aws.mutate(GLUE, what, call)
            .await
            .tolerate(&["AlreadyExistsException"])?;
        Ok(Outputs::new())
    }

    /// Nothing changes in place: every field is a replacement field.
    async fn update(
        &self,
        _: &Aws,
        _: &SecurityConfigurationSpec,
        _: &Observed<SecurityConfigurationSpec>,
        _: &Changes,
        _: &Inputs,
    ) -> Result<(), AwsError> {
        Ok(())
    }

    async fn delete(
        &self,
        aws: &Aws,
        gone: &Gone<SecurityConfigurationSpec>,
    ) -> Result<(), AwsError> {
        aws.throttle(GLUE).await;
        sent(
            aws.glue
                .delete_security_configuration()
                .name(&gone.physical)
                .send(),
        )
        .await
        .tolerate(NOT_FOUND)
        .map_err(|e| {
            e.context(format!(
                "failed to delete Glue security configuration {}",
                gone.physical
            ))
        })
    }
}
