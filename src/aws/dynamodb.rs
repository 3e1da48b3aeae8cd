//! DynamoDB tables.

use super::kit::{converge_tags, listed, poll_until, Absent};
use super::{built, Aws, AwsError, Changes, Gone, Inputs, Listed, Observed, Outputs, Provider};
use crate::aws::Found;
use crate::model::dynamodb::{KeyAttribute, TableSpec};
use crate::model::{Service, Tags};
use async_trait::async_trait;
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::types as t;
use std::time::Duration;

const NOT_FOUND: &[&str] = &["ResourceNotFoundException"];
const WAIT: Duration = Duration::from_secs(600);
const DYNAMODB: Service = Service::DynamoDb;

fn arn(aws: &Aws, table: &str) -> String {
    format!(
        "arn:aws:dynamodb:{}:{}:table/{table}",
        aws.region, aws.account
    )
}

/// The table's tags. ListTagsOfResource has no paginator in the SDK: it pages by token.
async fn table_tags(aws: &Aws, table_arn: &str) -> Result<Tags, AwsError> {
    let mut tags = Tags::new();
    let mut token: Option<String> = None;
    loop {
        let out = aws
            .dynamodb
            .list_tags_of_resource()
            .resource_arn(table_arn)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| {
                AwsError::from(e)
                    .context(format!("failed to list tags of DynamoDB table {table_arn}"))
            })?;
        for tag in out.tags() {
            tags.insert(tag.key().to_string(), tag.value().to_string());
        }
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(tags);
        }
    }
}

async fn wait_active(aws: &Aws, name: &str) -> Result<(), AwsError> {
    aws.dynamodb
        .wait_until_table_exists()
        .table_name(name)
        .wait(WAIT)
        .await
        .map_err(|e| AwsError::msg(format!("DynamoDB table {name} did not become ACTIVE: {e}")))?;
    Ok(())
}

fn throughput(s: &TableSpec) -> Result<Option<t::ProvisionedThroughput>, AwsError> {
    match (s.read_capacity, s.write_capacity) {
        (Some(r), Some(w)) => Ok(Some(built(
            t::ProvisionedThroughput::builder()
                .read_capacity_units(r)
                .write_capacity_units(w)
                .build(),
        )?)),
        _ => Ok(None),
    }
}

fn billing(s: &TableSpec) -> t::BillingMode {
    t::BillingMode::from(s.billing_mode.as_str())
}

fn sse(s: &TableSpec) -> t::SseSpecification {
    let b = t::SseSpecification::builder().enabled(s.sse_kms);
    if s.sse_kms {
        b.sse_type(t::SseType::Kms).build()
    } else {
        b.build()
    }
}

fn tag(k: &str, v: &str) -> Result<t::Tag, AwsError> {
    built(t::Tag::builder().key(k).value(v).build())
}

/// Turns point-in-time recovery on or off. Right after CreateTable DynamoDB may still be
/// enabling the table's continuous backups and answer ContinuousBackupsUnavailableException
/// ("Backups have not yet been enabled for this table"): that is retried for a minute.
/// <https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateContinuousBackups.html>
pub(crate) async fn update_pitr(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
    enabled: bool,
) -> Result<(), AwsError> {
    let spec = built(
        t::PointInTimeRecoverySpecification::builder()
            .point_in_time_recovery_enabled(enabled)
            .build(),
    )?;
    let what = format!("the continuous backups of DynamoDB table {name} are available");
    poll_until(
        what,
        Duration::from_secs(60),
        Duration::from_secs(2),
        || async {
            let call = client
                .update_continuous_backups()
                .table_name(name)
                .point_in_time_recovery_specification(spec.clone())
                .send()
                .await;
            match call.map_err(AwsError::from) {
                Ok(_) => Ok(Some(())),
                Err(e) if e.is(&["ContinuousBackupsUnavailableException"]) => Ok(None),
                Err(e) => Err(e),
            }
        },
    )
    .await
}

async fn set_pitr(aws: &Aws, name: &str, enabled: bool) -> Result<(), AwsError> {
    let what = format!("failed to set point-in-time recovery of DynamoDB table {name}");
    aws.mutate(DYNAMODB, what, update_pitr(&aws.dynamodb, name, enabled))
        .await
}

async fn set_deletion_protection(aws: &Aws, name: &str, on: bool) -> Result<(), AwsError> {
    let call = aws
        .dynamodb
        .update_table()
        .table_name(name)
        .deletion_protection_enabled(on)
        .send();
    let what = format!("failed to set the deletion protection of DynamoDB table {name}");
    aws.mutate(DYNAMODB, what, call).await?;
    wait_active(aws, name).await
}

async fn read_table(aws: &Aws, name: &str) -> Result<Option<Observed<TableSpec>>, AwsError> {
    let found = aws
        .dynamodb
        .describe_table()
        .table_name(name)
        .send()
        .await
        .map_err(AwsError::from)
        .or_absent(NOT_FOUND)
        .map_err(|e| e.context(format!("failed to read DynamoDB table {name}")))?;
    let Some(table) = found.and_then(|out| out.table) else {
        return Ok(None);
    };
    if table.table_status() == Some(&t::TableStatus::Deleting) {
        return Ok(None);
    }
    let attr_type = |attr: &str| {
        table
            .attribute_definitions()
            .iter()
            .find(|d| d.attribute_name() == attr)
            .map(|d| d.attribute_type().as_str().to_string())
            .unwrap_or_default()
    };
    let key = |kt: t::KeyType| {
        table
            .key_schema()
            .iter()
            .find(|k| k.key_type() == &kt)
            .map(|k| KeyAttribute {
                name: k.attribute_name().to_string(),
                kind: attr_type(k.attribute_name()),
            })
    };
    let pay_per_request = table
        .billing_mode_summary()
        .and_then(|b| b.billing_mode())
        .map(|m| m == &t::BillingMode::PayPerRequest)
        .unwrap_or(false);
    let sse_kms = table
        .sse_description()
        .map(|d| {
            d.status() == Some(&t::SseStatus::Enabled) && d.sse_type() == Some(&t::SseType::Kms)
        })
        .unwrap_or(false);
    let pitr = aws
        .dynamodb
        .describe_continuous_backups()
        .table_name(name)
        .send()
        .await
        .map_err(|e| {
            AwsError::from(e).context(format!("failed to read backups of DynamoDB table {name}"))
        })?
        .continuous_backups_description()
        .and_then(|d| d.point_in_time_recovery_description())
        .and_then(|p| p.point_in_time_recovery_status())
        .map(|s| s == &t::PointInTimeRecoveryStatus::Enabled)
        .unwrap_or(false);
    let table_arn = table
        .table_arn()
        .map(str::to_string)
        .unwrap_or_else(|| arn(aws, name));
    let provisioned = table.provisioned_throughput().filter(|_| !pay_per_request);
    let spec = TableSpec {
        name: name.to_string(),
        partition_key: key(t::KeyType::Hash).unwrap_or(KeyAttribute {
            name: String::new(),
            kind: String::new(),
        }),
        sort_key: key(t::KeyType::Range),
        billing_mode: if pay_per_request {
            "PAY_PER_REQUEST"
        } else {
            "PROVISIONED"
        }
        .into(),
        read_capacity: provisioned.and_then(|p| p.read_capacity_units()),
        write_capacity: provisioned.and_then(|p| p.write_capacity_units()),
        pitr,
        sse_kms,
        deletion_protection: table.deletion_protection_enabled().unwrap_or(false),
        tags: table_tags(aws, &table_arn).await?,
    };
    Ok(Some(Observed::with(spec, "arn", table_arn)))
}

/// A DynamoDB table.
pub struct Table;

#[async_trait]
impl Provider for Table {
    type Spec = TableSpec;

    async fn read(&self, aws: &Aws, desired: &TableSpec, _: &Inputs) -> Found<TableSpec> {
        read_table(aws, &desired.name).await
    }

    async fn create(&self, aws: &Aws, s: &TableSpec, inputs: &Inputs) -> Result<Outputs, AwsError> {
        // A table still being deleted (e.g. during a replace) must be gone first.
        aws.dynamodb
            .wait_until_table_not_exists()
            .table_name(&s.name)
            .wait(WAIT)
            .await
            .ok();
        let mut keys = vec![(&s.partition_key, t::KeyType::Hash)];
        if let Some(sk) = &s.sort_key {
            keys.push((sk, t::KeyType::Range));
        }
        let mut req = aws
            .dynamodb
            .create_table()
            .table_name(&s.name)
            .billing_mode(billing(s))
            .set_provisioned_throughput(throughput(s)?)
            .sse_specification(sse(s))
            .deletion_protection_enabled(s.deletion_protection);
        for (k, kt) in keys {
            req = req
                .key_schema(built(
                    t::KeySchemaElement::builder()
                        .attribute_name(&k.name)
                        .key_type(kt)
                        .build(),
                )?)
                .attribute_definitions(built(
                    t::AttributeDefinition::builder()
                        .attribute_name(&k.name)
                        .attribute_type(t::ScalarAttributeType::from(k.kind.as_str()))
                        .build(),
                )?);
        }
        for (k, v) in &s.tags {
            req = req.tags(tag(k, v)?);
        }
        let what = format!("failed to create DynamoDB table {}", s.name);
        aws.mutate(DYNAMODB, what, req.send())
            .await
            .tolerate(&["ResourceInUseException"])?;
        wait_active(aws, &s.name).await?;
        self.settle(aws, s, inputs).await
    }

    /// Brings a live table's settings to the declaration where `changes` says they differ;
    /// shared by create (against the read-back) and update (against the plan).
    async fn update(
        &self,
        aws: &Aws,
        s: &TableSpec,
        live: &Observed<TableSpec>,
        changes: &Changes,
        _: &Inputs,
    ) -> Result<(), AwsError> {
        let l = live;
        let name = &s.name;
        let fail = |what: &str| format!("failed to {what} of DynamoDB table {name}");
        if ["billing_mode", "read_capacity", "write_capacity"]
            .iter()
            .any(|f| changes.touches(f))
        {
            let call = aws
                .dynamodb
                .update_table()
                .table_name(name)
                .billing_mode(billing(s))
                .set_provisioned_throughput(throughput(s)?)
                .send();
            aws.mutate(DYNAMODB, fail("change billing"), call).await?;
            wait_active(aws, name).await?;
        }
        if changes.touches("sse_kms") {
            let call = aws
                .dynamodb
                .update_table()
                .table_name(name)
                .sse_specification(sse(s))
                .send();
            aws.mutate(DYNAMODB, fail("change encryption"), call)
                .await?;
            wait_active(aws, name).await?;
        }
        if changes.touches("pitr") {
            set_pitr(aws, name, s.pitr).await?;
        }
        if changes.touches("deletion_protection") {
            set_deletion_protection(aws, name, s.deletion_protection).await?;
        }
        if changes.touches("tags") {
            let table_arn = &arn(aws, name);
            converge_tags(
                aws,
                DYNAMODB,
                &format!("DynamoDB table {name}"),
                (&s.tags, &l.spec.tags),
                |stale| {
                    let call = aws.dynamodb.untag_resource().resource_arn(table_arn);
                    call.set_tag_keys(Some(stale)).send()
                },
                |set| async move {
                    let tags = set
                        .iter()
                        .map(|(k, v)| tag(k, v))
                        .collect::<Result<_, _>>()?;
                    let call = aws.dynamodb.tag_resource().resource_arn(table_arn);
                    Ok::<_, AwsError>(call.set_tags(Some(tags)).send().await?)
                },
            )
            .await?;
        }
        Ok(())
    }

    async fn delete(&self, aws: &Aws, gone: &Gone<TableSpec>) -> Result<(), AwsError> {
        let name = &gone.physical;
        // The engine deletes only tables tagged as ours (and a protected stack's only under
        // `--allow-protected`): lift our own deletion protection first.
        if gone.spec.as_ref().is_none_or(|l| l.deletion_protection) {
            match set_deletion_protection(aws, name, false).await {
                Err(e) if e.is(NOT_FOUND) => return Ok(()),
                other => other?,
            }
        }
        let call = aws.dynamodb.delete_table().table_name(name).send();
        aws.mutate(
            DYNAMODB,
            format!("failed to delete DynamoDB table {name}"),
            call,
        )
        .await
        .tolerate(NOT_FOUND)?;
        aws.dynamodb
            .wait_until_table_not_exists()
            .table_name(name)
            .wait(WAIT)
            .await
            .map_err(|e| AwsError::msg(format!("DynamoDB table {name} did not go away: {e}")))?;
        Ok(())
    }

    async fn list(
        &self,
        aws: &Aws,
        prefix: &str,
        skip: &[String],
    ) -> Result<Vec<Listed>, AwsError> {
        let pages = aws.dynamodb.list_tables().into_paginator().items().send();
        let names: Result<Vec<_>, _> = pages.collect().await;
        let names =
            names.map_err(|e| AwsError::from(e).context("failed to list DynamoDB tables"))?;
        let names: Vec<_> = names
            .into_iter()
            .map(|n| {
                let outputs = Outputs::from([("arn".to_string(), arn(aws, &n))]);
                (n, outputs)
            })
            .collect();
        listed(names, prefix, skip, |_, outputs| async move {
            table_tags(aws, &outputs["arn"]).await.or_absent(NOT_FOUND)
        })
        .await
    }
}
