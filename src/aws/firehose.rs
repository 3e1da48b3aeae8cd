//! The provider of Firehose delivery streams: DirectPut into the lake (optionally converted
//! to Parquet with a Glue table's schema), or through an S3 staging prefix into a Redshift
//! table by COPY, authenticated with the cluster's AWS-managed master-password secret.
//!
//! Emulator gap (moto 5.2): a Redshift destination is stored and described but never
//! delivered to (records put are acknowledged and dropped).

use super::catalog::{parse_jdbc, resolve_cluster, to_value, tolerate, typed};
use super::legacy::{LegacyProvider as Provider, Listed};
use super::{built, Aws, AwsError};
use crate::model::catalog::*;
use crate::model::{Resource, Service, Tags};
use async_trait::async_trait;
use aws_sdk_firehose::types as fh;
use serde_json::Value;
use std::time::{Duration, Instant};

const FIREHOSE_NOT_FOUND: &[&str] = &["ResourceNotFoundException"];

/// A Firehose delivery stream.
pub struct DeliveryStream;

async fn firehose_tags(aws: &Aws, name: &str) -> Result<Tags, AwsError> {
    let mut tags = Tags::new();
    let mut start: Option<String> = None;
    loop {
        let out = aws
            .firehose
            .list_tags_for_delivery_stream()
            .delivery_stream_name(name)
            .set_exclusive_start_tag_key(start.clone())
            .send()
            .await
            .map_err(|e| {
                AwsError::from(e).context(format!("failed to list tags of delivery stream {name}"))
            })?;
        for t in out.tags() {
            tags.insert(
                t.key().to_string(),
                t.value().unwrap_or_default().to_string(),
            );
        }
        if !out.has_more_tags() || out.tags().is_empty() {
            return Ok(tags);
        }
        start = out.tags().last().map(|t| t.key().to_string());
    }
}

/// Where a stream's objects go: the destination bucket, or the staging bucket of a COPY.
#[derive(Default)]
struct Staging<'a> {
    bucket_arn: &'a str,
    role_arn: &'a str,
    prefix: Option<&'a str>,
    error_prefix: Option<&'a str>,
    hints: Option<&'a fh::BufferingHints>,
    compression: Option<&'a fh::CompressionFormat>,
}

/// Firehose's documented default for how long a failed COPY is retried.
const DEFAULT_COPY_RETRY_SECONDS: i32 = 3600;

/// The COPY settings of a Redshift destination, and whether its URL and secret are the
/// cluster's as it is now.
async fn read_copy(
    aws: &Aws,
    r: &fh::RedshiftDestinationDescription,
) -> Result<RedshiftCopy, AwsError> {
    let url = r.cluster_jdbcurl();
    let (host, port, database) = parse_jdbc(url).unwrap_or_default();
    let cluster = host.split('.').next().unwrap_or_default().to_string();
    let secret = r
        .secrets_manager_configuration()
        .filter(|c| c.enabled())
        .and_then(|c| c.secret_arn());
    let matches_cluster = match resolve_cluster(aws, &cluster, &database, port).await? {
        Some(now) => now.url == url && now.secret.as_deref() == secret,
        None => false,
    };
    let copy = r.copy_command();
    Ok(RedshiftCopy {
        cluster,
        database,
        port,
        table: copy.map_or("", |c| c.data_table_name()).to_string(),
        columns: copy
            .and_then(|c| c.data_table_columns())
            .unwrap_or_default()
            .to_string(),
        copy_options: copy
            .and_then(|c| c.copy_options())
            .unwrap_or_default()
            .to_string(),
        retry_seconds: r
            .retry_options()
            .and_then(|o| o.duration_in_seconds())
            .unwrap_or(DEFAULT_COPY_RETRY_SECONDS),
        matches_cluster,
    })
}

/// The JDBC URL and credentials of a COPY, resolved from the cluster as it is now.
async fn copy_target(
    aws: &Aws,
    s: &DeliveryStreamSpec,
    c: &RedshiftCopy,
) -> Result<
    (
        String,
        Option<fh::SecretsManagerConfiguration>,
        fh::CopyCommand,
    ),
    AwsError,
> {
    let now = resolve_cluster(aws, &c.cluster, &c.database, c.port)
        .await?
        .ok_or_else(|| {
            AwsError::msg(format!(
                "Redshift cluster {} has no endpoint yet; the delivery stream {} needs it",
                c.cluster, s.name
            ))
        })?;
    // The password is never in the stream: Firehose reads the cluster's AWS-managed secret.
    // Real AWS always reports it for a cluster with ManageMasterPassword; moto does not.
    let secret = match &now.secret {
        Some(arn) => Some(built(
            fh::SecretsManagerConfiguration::builder()
                .enabled(true)
                .secret_arn(arn)
                .role_arn(&s.role_arn)
                .build(),
        )?),
        None => None,
    };
    let copy = built(
        fh::CopyCommand::builder()
            .data_table_name(&c.table)
            .data_table_columns(&c.columns)
            .copy_options(&c.copy_options)
            .build(),
    )?;
    Ok((now.url, secret, copy))
}

/// The live spec, or `None`; also the version and destination IDs UpdateDestination needs.
async fn read_stream(aws: &Aws, name: &str) -> Result<Option<(Value, String)>, AwsError> {
    let d = match aws
        .firehose
        .describe_delivery_stream()
        .delivery_stream_name(name)
        .send()
        .await
    {
        Ok(out) => match out.delivery_stream_description {
            Some(d) => d,
            None => return Ok(None),
        },
        Err(e) => {
            let e = AwsError::from(e);
            return if e.is(FIREHOSE_NOT_FOUND) {
                Ok(None)
            } else {
                Err(e.context(format!("failed to read delivery stream {name}")))
            };
        }
    };
    if d.delivery_stream_status() == &fh::DeliveryStreamStatus::Deleting {
        return Ok(None);
    }
    let status = d.delivery_stream_status().as_str().to_string();
    let dest = d.destinations().first();
    let ext = dest.and_then(|x| x.extended_s3_destination_description());
    let to_redshift = dest.and_then(|x| x.redshift_destination_description());
    let staging = match (ext, to_redshift) {
        (Some(x), _) => Staging {
            bucket_arn: x.bucket_arn(),
            role_arn: x.role_arn(),
            prefix: x.prefix(),
            error_prefix: x.error_output_prefix(),
            hints: x.buffering_hints(),
            compression: Some(x.compression_format()),
        },
        (None, Some(r)) => {
            let x = r.s3_destination_description();
            Staging {
                bucket_arn: x.map_or("", |x| x.bucket_arn()),
                // The role of the destination; the staging role is declared the same.
                role_arn: r.role_arn(),
                prefix: x.and_then(|x| x.prefix()),
                error_prefix: x.and_then(|x| x.error_output_prefix()),
                hints: x.and_then(|x| x.buffering_hints()),
                compression: x.map(|x| x.compression_format()),
            }
        }
        (None, None) => Staging::default(),
    };
    let conv = ext
        .and_then(|x| x.data_format_conversion_configuration())
        .filter(|c| c.enabled().unwrap_or(true));
    let parquet = conv.and_then(|c| {
        let schema = c.schema_configuration()?;
        Some(ParquetConversion {
            database: schema.database_name().unwrap_or_default().to_string(),
            table: schema.table_name().unwrap_or_default().to_string(),
            region: schema.region().unwrap_or_default().to_string(),
            role_arn: schema.role_arn().unwrap_or_default().to_string(),
            compression: c
                .output_format_configuration()
                .and_then(|o| o.serializer())
                .and_then(|s| s.parquet_ser_de())
                .and_then(|p| p.compression())
                .map(|c| c.as_str().to_string())
                // Firehose's documented default.
                .unwrap_or_else(|| "SNAPPY".into()),
        })
    });
    let redshift = match to_redshift {
        Some(r) => Some(read_copy(aws, r).await?),
        None => None,
    };
    // Real AWS reports ENABLED/ENABLING/...; moto keeps only the key type it was given.
    let encryption = d.delivery_stream_encryption_configuration().and_then(|e| {
        let on = !matches!(
            e.status(),
            Some(fh::DeliveryStreamEncryptionStatus::Disabled)
                | Some(fh::DeliveryStreamEncryptionStatus::Disabling)
        );
        e.key_type().filter(|_| on).map(|k| k.as_str().to_string())
    });
    let spec = DeliveryStreamSpec {
        name: name.to_string(),
        stream_type: d.delivery_stream_type().as_str().to_string(),
        bucket_arn: staging.bucket_arn.to_string(),
        role_arn: staging.role_arn.to_string(),
        prefix: staging.prefix.unwrap_or_default().to_string(),
        error_prefix: staging.error_prefix.unwrap_or_default().to_string(),
        buffer_seconds: staging
            .hints
            .and_then(|h| h.interval_in_seconds())
            .unwrap_or_default(),
        buffer_mb: staging
            .hints
            .and_then(|h| h.size_in_mbs())
            .unwrap_or_default(),
        compression: staging
            .compression
            .map(|c| c.as_str().to_string())
            .unwrap_or_default(),
        parquet,
        redshift,
        encryption,
        tags: firehose_tags(aws, name).await?,
    };
    let mut v = to_value(&spec);
    v["_version"] = Value::String(d.version_id().to_string());
    v["_destination_id"] = Value::String(
        dest.map(|x| x.destination_id().to_string())
            .unwrap_or_default(),
    );
    Ok(Some((v, status)))
}

fn conversion(p: &ParquetConversion) -> fh::DataFormatConversionConfiguration {
    fh::DataFormatConversionConfiguration::builder()
        .enabled(true)
        .schema_configuration(
            fh::SchemaConfiguration::builder()
                .database_name(&p.database)
                .table_name(&p.table)
                .region(&p.region)
                .role_arn(&p.role_arn)
                .version_id("LATEST")
                .build(),
        )
        .input_format_configuration(
            fh::InputFormatConfiguration::builder()
                .deserializer(
                    fh::Deserializer::builder()
                        .open_x_json_ser_de(fh::OpenXJsonSerDe::builder().build())
                        .build(),
                )
                .build(),
        )
        .output_format_configuration(
            fh::OutputFormatConfiguration::builder()
                .serializer(
                    fh::Serializer::builder()
                        .parquet_ser_de(
                            fh::ParquetSerDe::builder()
                                .compression(fh::ParquetCompression::from(p.compression.as_str()))
                                .build(),
                        )
                        .build(),
                )
                .build(),
        )
        .build()
}

fn hints(s: &DeliveryStreamSpec) -> fh::BufferingHints {
    fh::BufferingHints::builder()
        .interval_in_seconds(s.buffer_seconds)
        .size_in_mbs(s.buffer_mb)
        .build()
}

async fn wait_stream(aws: &Aws, name: &str, gone: bool) -> Result<(), AwsError> {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let state = read_stream(aws, name).await?;
        match (&state, gone) {
            (None, true) => return Ok(()),
            (Some((_, status)), false) if status == "ACTIVE" => return Ok(()),
            (Some((_, status)), false) if status.ends_with("FAILED") => {
                return Err(AwsError::msg(format!("delivery stream {name} is {status}")))
            }
            (None, false) => return Err(AwsError::msg(format!("delivery stream {name} vanished"))),
            _ => {}
        }
        if Instant::now() > deadline {
            return Err(AwsError::msg(format!(
                "delivery stream {name} did not become {} in time",
                if gone { "deleted" } else { "ACTIVE" }
            )));
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}

#[async_trait]
impl Provider for DeliveryStream {
    async fn read(&self, aws: &Aws, desired: &Resource) -> Result<Option<Value>, AwsError> {
        Ok(read_stream(aws, &desired.physical).await?.map(|(v, _)| v))
    }

    async fn create(&self, aws: &Aws, desired: &Resource) -> Result<(), AwsError> {
        let s: DeliveryStreamSpec = typed(&desired.spec, desired.kind)?;
        let (to_s3, to_redshift) = match &s.redshift {
            None => {
                let mut dest = fh::ExtendedS3DestinationConfiguration::builder()
                    .bucket_arn(&s.bucket_arn)
                    .role_arn(&s.role_arn)
                    .prefix(&s.prefix)
                    .error_output_prefix(&s.error_prefix)
                    .buffering_hints(hints(&s))
                    .compression_format(fh::CompressionFormat::from(s.compression.as_str()));
                if let Some(p) = &s.parquet {
                    dest = dest.data_format_conversion_configuration(conversion(p));
                }
                (Some(built(dest.build())?), None)
            }
            Some(c) => {
                let (url, secret, copy) = copy_target(aws, &s, c).await?;
                let staging = built(
                    fh::S3DestinationConfiguration::builder()
                        .bucket_arn(&s.bucket_arn)
                        .role_arn(&s.role_arn)
                        .prefix(&s.prefix)
                        .error_output_prefix(&s.error_prefix)
                        .buffering_hints(hints(&s))
                        .compression_format(fh::CompressionFormat::from(s.compression.as_str()))
                        .build(),
                )?;
                let dest = fh::RedshiftDestinationConfiguration::builder()
                    .role_arn(&s.role_arn)
                    .cluster_jdbcurl(url)
                    .copy_command(copy)
                    .s3_configuration(staging)
                    .retry_options(
                        fh::RedshiftRetryOptions::builder()
                            .duration_in_seconds(c.retry_seconds)
                            .build(),
                    )
                    .set_secrets_manager_configuration(secret);
                (None, Some(built(dest.build())?))
            }
        };
        let tags = s
            .tags
            .iter()
            .map(|(k, v)| built(fh::Tag::builder().key(k).value(v).build()))
            .collect::<Result<Vec<_>, _>>()?;
        let encryption = match &s.encryption {
            Some(k) => Some(built(
                fh::DeliveryStreamEncryptionConfigurationInput::builder()
                    .key_type(fh::KeyType::from(k.as_str()))
                    .build(),
            )?),
            None => None,
        };
        // A role created moments ago may not be assumable by Firehose yet (IAM is
        // eventually consistent): retry for up to two minutes on that error only.
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            aws.throttle(Service::Firehose).await;
            let r = aws
                .firehose
                .create_delivery_stream()
                .delivery_stream_name(&s.name)
                .delivery_stream_type(fh::DeliveryStreamType::from(s.stream_type.as_str()))
                .set_extended_s3_destination_configuration(to_s3.clone())
                .set_redshift_destination_configuration(to_redshift.clone())
                .set_delivery_stream_encryption_configuration_input(encryption.clone())
                .set_tags(Some(tags.clone()))
                .send()
                .await
                .map_err(AwsError::from);
            match r {
                Ok(_) => break,
                Err(e) if e.is(&["ResourceInUseException"]) => {
                    wait_stream(aws, &s.name, false).await?;
                    let live = self.read(aws, desired).await?.unwrap_or(Value::Null);
                    return self.update(aws, desired, &live).await;
                }
                Err(e)
                    if e.is(&["InvalidArgumentException"])
                        && e.message.contains("role")
                        && Instant::now() < deadline =>
                {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
                Err(e) => {
                    return Err(e.context(format!("failed to create delivery stream {}", s.name)))
                }
            }
        }
        wait_stream(aws, &s.name, false).await
    }

    async fn update(&self, aws: &Aws, desired: &Resource, live: &Value) -> Result<(), AwsError> {
        let s: DeliveryStreamSpec = typed(&desired.spec, desired.kind)?;
        let l: DeliveryStreamSpec = typed(live, desired.kind)?;
        let name = &s.name;
        let mut dest_s = s.clone();
        dest_s.tags = l.tags.clone();
        dest_s.encryption = l.encryption.clone();
        if dest_s != l {
            let version = live["_version"].as_str().unwrap_or_default();
            let destination = live["_destination_id"].as_str().unwrap_or_default();
            let mut request = aws
                .firehose
                .update_destination()
                .delivery_stream_name(name)
                .current_delivery_stream_version_id(version)
                .destination_id(destination);
            request = match &s.redshift {
                None => {
                    let update = fh::ExtendedS3DestinationUpdate::builder()
                        .bucket_arn(&s.bucket_arn)
                        .role_arn(&s.role_arn)
                        .prefix(&s.prefix)
                        .error_output_prefix(&s.error_prefix)
                        .buffering_hints(hints(&s))
                        .compression_format(fh::CompressionFormat::from(s.compression.as_str()))
                        .data_format_conversion_configuration(match &s.parquet {
                            Some(p) => conversion(p),
                            None => fh::DataFormatConversionConfiguration::builder()
                                .enabled(false)
                                .build(),
                        });
                    request.extended_s3_destination_update(update.build())
                }
                Some(c) => {
                    let (url, secret, copy) = copy_target(aws, &s, c).await?;
                    let staging = fh::S3DestinationUpdate::builder()
                        .bucket_arn(&s.bucket_arn)
                        .role_arn(&s.role_arn)
                        .prefix(&s.prefix)
                        .error_output_prefix(&s.error_prefix)
                        .buffering_hints(hints(&s))
                        .compression_format(fh::CompressionFormat::from(s.compression.as_str()))
                        .build();
                    let update = fh::RedshiftDestinationUpdate::builder()
                        .role_arn(&s.role_arn)
                        .cluster_jdbcurl(url)
                        .copy_command(copy)
                        .s3_update(staging)
                        .retry_options(
                            fh::RedshiftRetryOptions::builder()
                                .duration_in_seconds(c.retry_seconds)
                                .build(),
                        )
                        .set_secrets_manager_configuration(secret);
                    request.redshift_destination_update(update.build())
                }
            };
            aws.throttle(Service::Firehose).await;
            request.send().await.map_err(|e| {
                AwsError::from(e).context(format!("failed to update the destination of {name}"))
            })?;
            wait_stream(aws, name, false).await?;
        }
        if s.encryption != l.encryption {
            aws.throttle(Service::Firehose).await;
            match &s.encryption {
                Some(k) => {
                    aws.firehose
                        .start_delivery_stream_encryption()
                        .delivery_stream_name(name)
                        .delivery_stream_encryption_configuration_input(built(
                            fh::DeliveryStreamEncryptionConfigurationInput::builder()
                                .key_type(fh::KeyType::from(k.as_str()))
                                .build(),
                        )?)
                        .send()
                        .await
                        .map_err(|e| {
                            AwsError::from(e).context(format!("failed to encrypt {name}"))
                        })?;
                }
                None => {
                    aws.firehose
                        .stop_delivery_stream_encryption()
                        .delivery_stream_name(name)
                        .send()
                        .await
                        .map_err(|e| {
                            AwsError::from(e)
                                .context(format!("failed to stop encryption of {name}"))
                        })?;
                }
            }
        }
        let stale = crate::model::stale_tags(&s.tags, &l.tags);
        if !stale.is_empty() {
            aws.throttle(Service::Firehose).await;
            aws.firehose
                .untag_delivery_stream()
                .delivery_stream_name(name)
                .set_tag_keys(Some(stale))
                .send()
                .await
                .map_err(|e| AwsError::from(e).context(format!("failed to untag {name}")))?;
        }
        let changed = crate::model::changed_tags(&s.tags, &l.tags)
            .iter()
            .map(|(k, v)| built(fh::Tag::builder().key(k).value(v).build()))
            .collect::<Result<Vec<_>, _>>()?;
        if !changed.is_empty() {
            aws.throttle(Service::Firehose).await;
            aws.firehose
                .tag_delivery_stream()
                .delivery_stream_name(name)
                .set_tags(Some(changed))
                .send()
                .await
                .map_err(|e| AwsError::from(e).context(format!("failed to tag {name}")))?;
        }
        Ok(())
    }

    async fn delete(&self, aws: &Aws, physical: &str, _live: &Value) -> Result<(), AwsError> {
        aws.throttle(Service::Firehose).await;
        let r = aws
            .firehose
            .delete_delivery_stream()
            .delivery_stream_name(physical)
            .send()
            .await
            .map_err(AwsError::from);
        tolerate(r, FIREHOSE_NOT_FOUND)
            .map_err(|e| e.context(format!("failed to delete delivery stream {physical}")))?;
        wait_stream(aws, physical, true).await
    }

    async fn list(
        &self,
        aws: &Aws,
        prefix: &str,
        skip: &[String],
    ) -> Result<Vec<Listed>, AwsError> {
        let mut out = Vec::new();
        let mut start: Option<String> = None;
        loop {
            let page = aws
                .firehose
                .list_delivery_streams()
                .set_exclusive_start_delivery_stream_name(start.clone())
                .send()
                .await
                .map_err(|e| AwsError::from(e).context("failed to list delivery streams"))?;
            for name in page.delivery_stream_names() {
                if !name.starts_with(prefix) || skip.iter().any(|s| s == name) {
                    continue;
                }
                let tags = match firehose_tags(aws, name).await {
                    Ok(t) => t,
                    Err(e) if e.is(FIREHOSE_NOT_FOUND) => continue,
                    Err(e) => return Err(e),
                };
                out.push(Listed {
                    physical: name.clone(),
                    spec: serde_json::json!({"name": name, "tags": tags}),
                });
            }
            if !page.has_more_delivery_streams() || page.delivery_stream_names().is_empty() {
                return Ok(out);
            }
            start = page.delivery_stream_names().last().cloned();
        }
    }
}
