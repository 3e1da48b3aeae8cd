//! The provider of Firehose delivery streams: DirectPut into the lake, optionally converted
//! to Parquet with a Glue table's schema. The stream's outputs are its `arn`, and the
//! `version` and `destination_id` that UpdateDestination needs.
//!
//! No stream delivers to Redshift: Firehose's Redshift destination needs a publicly
//! accessible cluster
//! (<https://docs.aws.amazon.com/firehose/latest/dev/controlling-access.html#using-iam-rs>),
//! and the warehouse is private; its COPY job loads the lake instead.

use super::kit::{converge_tags, listed, poll_until, tags_by_last_key, Absent};
use super::{built, Aws, AwsError, Changes, Gone, Inputs, Listed, Observed, Outputs, Provider};
use crate::aws::Found;
use crate::model::catalog::*;
use crate::model::{Service, Tags};
use async_trait::async_trait;
use aws_sdk_firehose::types as fh;
use std::time::{Duration, Instant};

const NOT_FOUND: &[&str] = &["ResourceNotFoundException"];
const FIREHOSE: Service = Service::Firehose;

async fn firehose_tags(aws: &Aws, name: &str) -> Result<Tags, AwsError> {
    tags_by_last_key(|start| async move {
        let call = aws.firehose.list_tags_for_delivery_stream();
        let call = call
            .delivery_stream_name(name)
            .set_exclusive_start_tag_key(start);
        let out = call.send().await.map_err(|e| {
            AwsError::from(e).context(format!("failed to list tags of delivery stream {name}"))
        })?;
        let pair = |t: &fh::Tag| {
            (
                t.key().to_string(),
                t.value().unwrap_or_default().to_string(),
            )
        };
        Ok((out.tags().iter().map(pair).collect(), out.has_more_tags()))
    })
    .await
}

/// The stream as DescribeDeliveryStream reports it; `None` if absent or being deleted.
async fn describe(
    aws: &Aws,
    name: &str,
) -> Result<Option<fh::DeliveryStreamDescription>, AwsError> {
    let out = aws
        .firehose
        .describe_delivery_stream()
        .delivery_stream_name(name)
        .send()
        .await
        .map_err(AwsError::from)
        .or_absent(NOT_FOUND)
        .map_err(|e| e.context(format!("failed to read delivery stream {name}")))?;
    Ok(out
        .and_then(|o| o.delivery_stream_description)
        .filter(|d| d.delivery_stream_status() != &fh::DeliveryStreamStatus::Deleting))
}

fn stream_outputs(d: &fh::DeliveryStreamDescription) -> Outputs {
    Outputs::from([
        ("arn".to_string(), d.delivery_stream_arn().to_string()),
        ("version".to_string(), d.version_id().to_string()),
        (
            "destination_id".to_string(),
            d.destinations()
                .first()
                .map(|x| x.destination_id().to_string())
                .unwrap_or_default(),
        ),
    ])
}

/// The live spec (its tags read too) and outputs of a described stream.
async fn observe(
    aws: &Aws,
    d: &fh::DeliveryStreamDescription,
) -> Result<Observed<DeliveryStreamSpec>, AwsError> {
    let name = d.delivery_stream_name();
    let ext = d
        .destinations()
        .first()
        .and_then(|x| x.extended_s3_destination_description());
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
        bucket_arn: ext.map(|x| x.bucket_arn()).unwrap_or_default().to_string(),
        role_arn: ext.map(|x| x.role_arn()).unwrap_or_default().to_string(),
        prefix: ext.and_then(|x| x.prefix()).unwrap_or_default().to_string(),
        error_prefix: ext
            .and_then(|x| x.error_output_prefix())
            .unwrap_or_default()
            .to_string(),
        buffer_seconds: hints_of(ext)
            .and_then(|h| h.interval_in_seconds())
            .unwrap_or_default(),
        buffer_mb: hints_of(ext)
            .and_then(|h| h.size_in_mbs())
            .unwrap_or_default(),
        compression: ext
            .map(|x| x.compression_format().as_str().to_string())
            .unwrap_or_default(),
        parquet,
        encryption,
        tags: firehose_tags(aws, name).await?,
    };
    Ok(Observed {
        spec,
        outputs: stream_outputs(d),
    })
}

fn hints_of(ext: Option<&fh::ExtendedS3DestinationDescription>) -> Option<&fh::BufferingHints> {
    ext.and_then(|x| x.buffering_hints())
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

/// Waits until the stream is ACTIVE and returns it as described then.
async fn wait_active(aws: &Aws, name: &str) -> Result<fh::DeliveryStreamDescription, AwsError> {
    let what = format!("delivery stream {name} is ACTIVE");
    poll_until(what, WAIT, POLL, || async {
        let d = describe(aws, name)
            .await?
            .ok_or_else(|| AwsError::msg(format!("delivery stream {name} vanished")))?;
        let status = d.delivery_stream_status().as_str();
        if status.ends_with("FAILED") {
            return Err(AwsError::msg(format!("delivery stream {name} is {status}")));
        }
        Ok((d.delivery_stream_status() == &fh::DeliveryStreamStatus::Active).then_some(d))
    })
    .await
}

const WAIT: Duration = Duration::from_secs(600);
const POLL: Duration = Duration::from_secs(5);

/// The S3 destination's settings, set alike on a new stream's destination and on
/// UpdateDestination's: two SDK builder types with the same setters and no common trait,
/// hence a macro.
macro_rules! destination_settings {
    ($builder:expr, $s:expr) => {
        $builder
            .bucket_arn(&$s.bucket_arn)
            .role_arn(&$s.role_arn)
            .prefix(&$s.prefix)
            .error_output_prefix(&$s.error_prefix)
            .buffering_hints(hints($s))
            .compression_format(fh::CompressionFormat::from($s.compression.as_str()))
    };
}

/// The destination of a new stream.
fn destination(s: &DeliveryStreamSpec) -> Result<fh::ExtendedS3DestinationConfiguration, AwsError> {
    let mut dest = destination_settings!(fh::ExtendedS3DestinationConfiguration::builder(), s);
    if let Some(p) = &s.parquet {
        dest = dest.data_format_conversion_configuration(conversion(p));
    }
    built(dest.build())
}

fn encryption_input(
    key_type: &str,
) -> Result<fh::DeliveryStreamEncryptionConfigurationInput, AwsError> {
    built(
        fh::DeliveryStreamEncryptionConfigurationInput::builder()
            .key_type(fh::KeyType::from(key_type))
            .build(),
    )
}

fn firehose_tag_list(tags: &Tags) -> Result<Vec<fh::Tag>, AwsError> {
    tags.iter()
        .map(|(k, v)| built(fh::Tag::builder().key(k).value(v).build()))
        .collect()
}

/// The settings that UpdateDestination changes.
const DESTINATION: &[&str] = &[
    "bucket_arn",
    "role_arn",
    "prefix",
    "error_prefix",
    "buffer_seconds",
    "buffer_mb",
    "compression",
    "parquet",
];

/// Brings a live stream to the declaration where `changes` says they differ; shared by
/// create (against the read-back) and update (against the plan).
async fn converge(
    aws: &Aws,
    s: &DeliveryStreamSpec,
    live: &Observed<DeliveryStreamSpec>,
    changes: &Changes,
) -> Result<(), AwsError> {
    let name = &s.name;
    if DESTINATION.iter().any(|f| changes.touches(f)) {
        let output = |key: &str| live.outputs.get(key).cloned().unwrap_or_default();
        let mut request = aws
            .firehose
            .update_destination()
            .delivery_stream_name(name)
            .current_delivery_stream_version_id(output("version"))
            .destination_id(output("destination_id"));
        let update = destination_settings!(fh::ExtendedS3DestinationUpdate::builder(), s)
            .data_format_conversion_configuration(match &s.parquet {
                Some(p) => conversion(p),
                None => fh::DataFormatConversionConfiguration::builder()
                    .enabled(false)
                    .build(),
            });
        request = request.extended_s3_destination_update(update.build());
        aws.mutate(
            FIREHOSE,
            format!("failed to update the destination of {name}"),
            request.send(),
        )
        .await?;
        wait_active(aws, name).await?;
    }
    if changes.touches("encryption") {
        match &s.encryption {
            Some(k) => {
                let call = aws
                    .firehose
                    .start_delivery_stream_encryption()
                    .delivery_stream_name(name)
                    .delivery_stream_encryption_configuration_input(encryption_input(k)?)
                    .send();
                aws.mutate(FIREHOSE, format!("failed to encrypt {name}"), call)
                    .await?;
            }
            None => {
                let call = aws
                    .firehose
                    .stop_delivery_stream_encryption()
                    .delivery_stream_name(name)
                    .send();
                aws.mutate(
                    FIREHOSE,
                    format!("failed to stop encryption of {name}"),
                    call,
                )
                .await?;
            }
        }
    }
    if changes.touches("tags") {
        converge_tags(
            aws,
            FIREHOSE,
            &format!("delivery stream {name}"),
            (&s.tags, &live.spec.tags),
            |stale| {
                let call = aws.firehose.untag_delivery_stream();
                call.delivery_stream_name(name)
                    .set_tag_keys(Some(stale))
                    .send()
            },
            |set| async move {
                let call = aws.firehose.tag_delivery_stream();
                let call = call.delivery_stream_name(name);
                Ok::<_, AwsError>(call.set_tags(Some(firehose_tag_list(&set)?)).send().await?)
            },
        )
        .await?;
    }
    Ok(())
}

/// A Firehose delivery stream.
pub struct DeliveryStream;

#[async_trait]
impl Provider for DeliveryStream {
    type Spec = DeliveryStreamSpec;

    async fn read(
        &self,
        aws: &Aws,
        desired: &DeliveryStreamSpec,
        _: &Inputs,
    ) -> Found<DeliveryStreamSpec> {
        match describe(aws, &desired.name).await? {
            Some(d) => Ok(Some(observe(aws, &d).await?)),
            None => Ok(None),
        }
    }

    async fn create(
        &self,
        aws: &Aws,
        s: &DeliveryStreamSpec,
        _: &Inputs,
    ) -> Result<Outputs, AwsError> {
        let to_s3 = destination(s)?;
        let tags = firehose_tag_list(&s.tags)?;
        let encryption = s.encryption.as_deref().map(encryption_input).transpose()?;
        // A role created moments ago may not be assumable by Firehose yet (IAM is
        // eventually consistent): retry for up to two minutes on that error only.
        let deadline = Instant::now() + Duration::from_secs(120);
        let created = loop {
            let call = aws
                .firehose
                .create_delivery_stream()
                .delivery_stream_name(&s.name)
                .delivery_stream_type(fh::DeliveryStreamType::from(s.stream_type.as_str()))
                .extended_s3_destination_configuration(to_s3.clone())
                .set_delivery_stream_encryption_configuration_input(encryption.clone())
                .set_tags(Some(tags.clone()))
                .send();
            let what = format!("failed to create delivery stream {}", s.name);
            match aws.mutate(FIREHOSE, what, call).await {
                Ok(_) => break true,
                Err(e) if e.is(&["ResourceInUseException"]) => break false,
                Err(e)
                    if e.is(&["InvalidArgumentException"])
                        && e.message.contains("role")
                        && Instant::now() < deadline =>
                {
                    tokio::time::sleep(POLL).await;
                }
                Err(e) => return Err(e),
            }
        };
        let mut d = wait_active(aws, &s.name).await?;
        if !created {
            // Adopted after an interrupted run: bring it to the declaration.
            let live = observe(aws, &d).await?;
            let changes = Changes::between(s, &live.spec);
            if !changes.is_empty() {
                converge(aws, s, &live, &changes).await?;
                d = wait_active(aws, &s.name).await?;
            }
        }
        Ok(stream_outputs(&d))
    }

    async fn update(
        &self,
        aws: &Aws,
        desired: &DeliveryStreamSpec,
        live: &Observed<DeliveryStreamSpec>,
        changes: &Changes,
        _: &Inputs,
    ) -> Result<(), AwsError> {
        converge(aws, desired, live, changes).await
    }

    async fn delete(&self, aws: &Aws, gone: &Gone<DeliveryStreamSpec>) -> Result<(), AwsError> {
        let name = &gone.physical;
        let call = aws
            .firehose
            .delete_delivery_stream()
            .delivery_stream_name(name)
            .send();
        aws.mutate(
            FIREHOSE,
            format!("failed to delete delivery stream {name}"),
            call,
        )
        .await
        .tolerate(NOT_FOUND)?;
        poll_until(
            format!("delivery stream {name} is deleted"),
            WAIT,
            POLL,
            || async { Ok(describe(aws, name).await?.is_none().then_some(())) },
        )
        .await
    }

    async fn list(
        &self,
        aws: &Aws,
        prefix: &str,
        skip: &[String],
    ) -> Result<Vec<Listed>, AwsError> {
        let mut names = Vec::new();
        // ListDeliveryStreams has no paginator in the SDK: it pages by the last name seen.
        let mut start: Option<String> = None;
        loop {
            let page = aws
                .firehose
                .list_delivery_streams()
                .set_exclusive_start_delivery_stream_name(start.clone())
                .send()
                .await
                .map_err(|e| AwsError::from(e).context("failed to list delivery streams"))?;
            let batch = page.delivery_stream_names();
            names.extend(batch.iter().map(|n| (n.clone(), Outputs::new())));
            if !page.has_more_delivery_streams() || batch.is_empty() {
                break;
            }
            start = batch.last().cloned();
        }
        listed(names, prefix, skip, |name, _| async move {
            firehose_tags(aws, &name).await.or_absent(NOT_FOUND)
        })
        .await
    }
}
