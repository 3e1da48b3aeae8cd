//! Athena workgroups.

use super::kit::{all_pages, converge_tags, listed, sent};
use super::{Aws, AwsError, Changes, Found, Gone, Inputs, Listed, Observed, Outputs, Provider};
use crate::model::athena::WorkgroupSpec;
use crate::model::{Service, Tags};
use async_trait::async_trait;
use aws_sdk_athena::types as at;

const ATHENA: Service = Service::Athena;

/// Athena answers a workgroup that does not exist with `InvalidRequestException` ("WorkGroup
/// x is not found"), the code it also gives malformed requests: only that message is absence.
fn is_missing(e: &AwsError) -> bool {
    e.is(&["InvalidRequestException"]) && e.message.contains("not found")
}

fn arn(aws: &Aws, name: &str) -> String {
    format!(
        "arn:aws:athena:{}:{}:workgroup/{name}",
        aws.region, aws.account
    )
}

fn encryption(s: &WorkgroupSpec) -> Result<at::EncryptionConfiguration, AwsError> {
    at::EncryptionConfiguration::builder()
        .encryption_option(at::EncryptionOption::from(s.encryption.as_str()))
        .set_kms_key(s.kms_key.clone())
        .build()
        .map_err(|e| AwsError::msg(format!("invalid workgroup encryption: {e}")))
}

fn tag_list(tags: &Tags) -> Vec<at::Tag> {
    let tag = |(k, v): (&String, &String)| at::Tag::builder().key(k).value(v).build();
    tags.iter().map(tag).collect()
}

async fn tags_of(aws: &Aws, arn: &str) -> Result<Option<Tags>, AwsError> {
    let pages = aws.athena.list_tags_for_resource().resource_arn(arn);
    let tags: Result<Vec<_>, _> = pages.into_paginator().items().send().collect().await;
    match tags.map_err(AwsError::from) {
        Ok(tags) => Ok(Some(
            tags.into_iter()
                .map(|t| (t.key.unwrap_or_default(), t.value.unwrap_or_default()))
                .collect(),
        )),
        Err(e) if is_missing(&e) || e.is(&["ResourceNotFoundException"]) => Ok(None),
        Err(e) => Err(e.context(format!("failed to read the tags of Athena workgroup {arn}"))),
    }
}

/// An Athena workgroup.
pub struct Workgroup;

#[async_trait]
impl Provider for Workgroup {
    type Spec = WorkgroupSpec;

    async fn read(&self, aws: &Aws, desired: &WorkgroupSpec, _: &Inputs) -> Found<WorkgroupSpec> {
        let name = &desired.name;
        let out = match aws.athena.get_work_group().work_group(name).send().await {
            Ok(out) => out,
            Err(e) => {
                let e = AwsError::from(e);
                if is_missing(&e) {
                    return Ok(None);
                }
                return Err(e.context(format!("failed to read Athena workgroup {name}")));
            }
        };
        let Some(wg) = out.work_group else {
            return Ok(None);
        };
        let arn = arn(aws, name);
        let Some(tags) = tags_of(aws, &arn).await? else {
            return Ok(None);
        };
        let config = wg.configuration();
        let result = config.and_then(|c| c.result_configuration());
        let enc = result.and_then(|r| r.encryption_configuration());
        let spec = WorkgroupSpec {
            name: name.clone(),
            description: wg.description().unwrap_or_default().to_string(),
            output_location: result
                .and_then(|r| r.output_location())
                .unwrap_or_default()
                .to_string(),
            encryption: enc
                .map(|e| e.encryption_option().as_str().to_string())
                .unwrap_or_default(),
            kms_key: enc.and_then(|e| e.kms_key()).map(str::to_string),
            expected_bucket_owner: result
                .and_then(|r| r.expected_bucket_owner())
                .unwrap_or_default()
                .to_string(),
            enforce: config
                .and_then(|c| c.enforce_work_group_configuration())
                .unwrap_or(false),
            publish_metrics: config
                .and_then(|c| c.publish_cloud_watch_metrics_enabled())
                .unwrap_or(false),
            bytes_scanned_cutoff: config.and_then(|c| c.bytes_scanned_cutoff_per_query()),
            tags,
        };
        Ok(Some(Observed::with(spec, "arn", arn)))
    }

    async fn create(
        &self,
        aws: &Aws,
        s: &WorkgroupSpec,
        inputs: &Inputs,
    ) -> Result<Outputs, AwsError> {
        let result = at::ResultConfiguration::builder()
            .output_location(&s.output_location)
            .encryption_configuration(encryption(s)?)
            .expected_bucket_owner(&s.expected_bucket_owner)
            .build();
        let config = at::WorkGroupConfiguration::builder()
            .result_configuration(result)
            .enforce_work_group_configuration(s.enforce)
            .publish_cloud_watch_metrics_enabled(s.publish_metrics)
            .set_bytes_scanned_cutoff_per_query(s.bytes_scanned_cutoff)
            .build();
        let call = aws
            .athena
            .create_work_group()
            .name(&s.name)
            .description(&s.description)
            .configuration(config)
            .set_tags(Some(tag_list(&s.tags)));
        let what = format!("failed to create Athena workgroup {}", s.name);
        match aws.mutate(ATHENA, what, call.send()).await {
            Ok(_) => {}
            // Left by an interrupted run: the settle below brings it to the declaration.
            Err(e) if e.is(&["InvalidRequestException"]) && e.message.contains("exists") => {}
            Err(e) => return Err(e),
        }
        self.settle(aws, s, inputs).await
    }

    async fn update(
        &self,
        aws: &Aws,
        s: &WorkgroupSpec,
        live: &Observed<WorkgroupSpec>,
        changes: &Changes,
        _: &Inputs,
    ) -> Result<(), AwsError> {
        let name = &s.name;
        let settings = [
            "description",
            "output_location",
            "encryption",
            "kms_key",
            "expected_bucket_owner",
            "enforce",
            "publish_metrics",
            "bytes_scanned_cutoff",
        ];
        if settings.iter().any(|f| changes.touches(f)) {
            let result = at::ResultConfigurationUpdates::builder()
                .output_location(&s.output_location)
                .encryption_configuration(encryption(s)?)
                .expected_bucket_owner(&s.expected_bucket_owner)
                .build();
            let updates = at::WorkGroupConfigurationUpdates::builder()
                .result_configuration_updates(result)
                .enforce_work_group_configuration(s.enforce)
                .publish_cloud_watch_metrics_enabled(s.publish_metrics)
                .set_bytes_scanned_cutoff_per_query(s.bytes_scanned_cutoff)
                .remove_bytes_scanned_cutoff_per_query(s.bytes_scanned_cutoff.is_none())
                .build();
            let call = aws.athena.update_work_group().work_group(name);
            let call = call
                .description(&s.description)
                .configuration_updates(updates);
            let what = format!("failed to update Athena workgroup {name}");
            aws.mutate(ATHENA, what, call.send()).await?;
        }
        if changes.touches("tags") {
            let arn = &arn(aws, name);
            converge_tags(
                aws,
                ATHENA,
                &format!("Athena workgroup {name}"),
                (&s.tags, &live.spec.tags),
                |stale| {
                    let call = aws.athena.untag_resource().resource_arn(arn);
                    call.set_tag_keys(Some(stale)).send()
                },
                |set| {
                    let call = aws.athena.tag_resource().resource_arn(arn);
                    call.set_tags(Some(tag_list(&set))).send()
                },
            )
            .await?;
        }
        Ok(())
    }

    /// Recursive: the workgroup's saved queries and history go with it.
    async fn delete(&self, aws: &Aws, gone: &Gone<WorkgroupSpec>) -> Result<(), AwsError> {
        let name = &gone.physical;
        aws.throttle(ATHENA).await;
        let call = aws.athena.delete_work_group().work_group(name);
        match sent(call.recursive_delete_option(true).send()).await {
            Err(e) if !is_missing(&e) => {
                Err(e.context(format!("failed to delete Athena workgroup {name}")))
            }
            _ => Ok(()),
        }
    }

    async fn list(
        &self,
        aws: &Aws,
        prefix: &str,
        skip: &[String],
    ) -> Result<Vec<Listed>, AwsError> {
        let pages = aws.athena.list_work_groups().into_paginator().send();
        let pages = all_pages(pages, "failed to list Athena workgroups").await?;
        let groups = pages.iter().flat_map(|p| p.work_groups());
        let names = groups.filter_map(|g| g.name()).map(|name| {
            let outputs = Outputs::from([("arn".to_string(), arn(aws, name))]);
            (name.to_string(), outputs)
        });
        listed(names.collect(), prefix, skip, |_, outputs| async move {
            tags_of(aws, &outputs["arn"]).await
        })
        .await
    }
}
