//! DynamoDB tables.

use super::legacy::{LegacyProvider as Provider, Listed};
use super::{built, Aws, AwsError};
use crate::model::dynamodb::{KeyAttribute, TableSpec};
use crate::model::{Resource, Service, Tags};
use async_trait::async_trait;
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::types as t;
use serde_json::Value;
use std::time::Duration;

const NOT_FOUND: &[&str] = &["ResourceNotFoundException"];
const WAIT: Duration = Duration::from_secs(600);

fn spec(v: &Value) -> Result<TableSpec, AwsError> {
    serde_json::from_value(v.clone())
        .map_err(|e| AwsError::msg(format!("malformed dynamodb_table spec: {e}")))
}

fn arn(aws: &Aws, table: &str) -> String {
    format!(
        "arn:aws:dynamodb:{}:{}:table/{table}",
        aws.region, aws.account
    )
}

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

async fn set_pitr(aws: &Aws, name: &str, enabled: bool) -> Result<(), AwsError> {
    aws.throttle(Service::DynamoDb).await;
    aws.dynamodb
        .update_continuous_backups()
        .table_name(name)
        .point_in_time_recovery_specification(built(
            t::PointInTimeRecoverySpecification::builder()
                .point_in_time_recovery_enabled(enabled)
                .build(),
        )?)
        .send()
        .await
        .map_err(|e| {
            AwsError::from(e).context(format!(
                "failed to set point-in-time recovery of DynamoDB table {name}"
            ))
        })?;
    Ok(())
}

async fn read_table(aws: &Aws, name: &str) -> Result<Option<TableSpec>, AwsError> {
    let table = match aws.dynamodb.describe_table().table_name(name).send().await {
        Ok(out) => match out.table {
            Some(t) => t,
            None => return Ok(None),
        },
        Err(e) => {
            let e = AwsError::from(e);
            return if e.is(NOT_FOUND) {
                Ok(None)
            } else {
                Err(e.context(format!("failed to read DynamoDB table {name}")))
            };
        }
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
    let provisioned = table.provisioned_throughput();
    Ok(Some(TableSpec {
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
        read_capacity: if pay_per_request {
            None
        } else {
            provisioned.and_then(|p| p.read_capacity_units())
        },
        write_capacity: if pay_per_request {
            None
        } else {
            provisioned.and_then(|p| p.write_capacity_units())
        },
        pitr,
        sse_kms,
        tags: table_tags(aws, &table_arn).await?,
    }))
}

/// A DynamoDB table.
pub struct Table;

#[async_trait]
impl Provider for Table {
    async fn read(&self, aws: &Aws, desired: &Resource) -> Result<Option<Value>, AwsError> {
        Ok(read_table(aws, &desired.physical)
            .await?
            .map(|s| serde_json::to_value(s).expect("specs serialise")))
    }

    async fn create(&self, aws: &Aws, desired: &Resource) -> Result<(), AwsError> {
        let s = spec(&desired.spec)?;
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
            .billing_mode(billing(&s))
            .set_provisioned_throughput(throughput(&s)?)
            .sse_specification(sse(&s));
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
            req = req.tags(built(t::Tag::builder().key(k).value(v).build())?);
        }
        aws.throttle(Service::DynamoDb).await;
        if let Err(e) = req.send().await {
            let e = AwsError::from(e);
            if !e.is(&["ResourceInUseException"]) {
                return Err(e.context(format!("failed to create DynamoDB table {}", s.name)));
            }
        }
        wait_active(aws, &s.name).await?;
        let live = read_table(aws, &s.name).await?.ok_or_else(|| {
            AwsError::msg(format!("DynamoDB table {} vanished after creation", s.name))
        })?;
        self.update(
            aws,
            desired,
            &serde_json::to_value(live).expect("specs serialise"),
        )
        .await
    }

    async fn update(&self, aws: &Aws, desired: &Resource, live: &Value) -> Result<(), AwsError> {
        let s = spec(&desired.spec)?;
        let l = spec(live)?;
        let name = &s.name;
        if s.billing_mode != l.billing_mode
            || s.read_capacity != l.read_capacity
            || s.write_capacity != l.write_capacity
        {
            aws.throttle(Service::DynamoDb).await;
            aws.dynamodb
                .update_table()
                .table_name(name)
                .billing_mode(billing(&s))
                .set_provisioned_throughput(throughput(&s)?)
                .send()
                .await
                .map_err(|e| {
                    AwsError::from(e)
                        .context(format!("failed to change billing of DynamoDB table {name}"))
                })?;
            wait_active(aws, name).await?;
        }
        if s.sse_kms != l.sse_kms {
            aws.throttle(Service::DynamoDb).await;
            aws.dynamodb
                .update_table()
                .table_name(name)
                .sse_specification(sse(&s))
                .send()
                .await
                .map_err(|e| {
                    AwsError::from(e).context(format!(
                        "failed to change encryption of DynamoDB table {name}"
                    ))
                })?;
            wait_active(aws, name).await?;
        }
        if s.pitr != l.pitr {
            set_pitr(aws, name, s.pitr).await?;
        }
        let table_arn = arn(aws, name);
        let stale = crate::model::stale_tags(&s.tags, &l.tags);
        if !stale.is_empty() {
            aws.throttle(Service::DynamoDb).await;
            aws.dynamodb
                .untag_resource()
                .resource_arn(&table_arn)
                .set_tag_keys(Some(stale))
                .send()
                .await
                .map_err(|e| {
                    AwsError::from(e).context(format!("failed to untag DynamoDB table {name}"))
                })?;
        }
        let changed = crate::model::changed_tags(&s.tags, &l.tags)
            .iter()
            .map(|(k, v)| built(t::Tag::builder().key(k).value(v).build()))
            .collect::<Result<Vec<_>, _>>()?;
        if !changed.is_empty() {
            aws.throttle(Service::DynamoDb).await;
            aws.dynamodb
                .tag_resource()
                .resource_arn(&table_arn)
                .set_tags(Some(changed))
                .send()
                .await
                .map_err(|e| {
                    AwsError::from(e).context(format!("failed to tag DynamoDB table {name}"))
                })?;
        }
        Ok(())
    }

    async fn delete(&self, aws: &Aws, physical: &str, _live: &Value) -> Result<(), AwsError> {
        aws.throttle(Service::DynamoDb).await;
        if let Err(e) = aws
            .dynamodb
            .delete_table()
            .table_name(physical)
            .send()
            .await
        {
            let e = AwsError::from(e);
            if !e.is(NOT_FOUND) {
                return Err(e.context(format!("failed to delete DynamoDB table {physical}")));
            }
        }
        aws.dynamodb
            .wait_until_table_not_exists()
            .table_name(physical)
            .wait(WAIT)
            .await
            .map_err(|e| {
                AwsError::msg(format!("DynamoDB table {physical} did not go away: {e}"))
            })?;
        Ok(())
    }

    async fn list(
        &self,
        aws: &Aws,
        prefix: &str,
        skip: &[String],
    ) -> Result<Vec<Listed>, AwsError> {
        let mut out = Vec::new();
        let mut pages = aws.dynamodb.list_tables().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| AwsError::from(e).context("failed to list DynamoDB tables"))?;
            for name in page.table_names() {
                if !name.starts_with(prefix) || skip.iter().any(|s| s == name) {
                    continue;
                }
                let tags = match table_tags(aws, &arn(aws, name)).await {
                    Ok(t) => t,
                    Err(e) if e.is(NOT_FOUND) => continue,
                    Err(e) => return Err(e),
                };
                out.push(Listed {
                    physical: name.to_string(),
                    spec: serde_json::json!({"name": name, "tags": tags}),
                });
            }
        }
        Ok(out)
    }
}
