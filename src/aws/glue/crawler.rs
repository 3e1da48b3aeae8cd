//! The Glue crawler that keeps the partitions of catalog tables up to date.

use super::{arn, glue_tags, hash_tags, Found, Named, GLUE, NOT_FOUND};
use crate::aws::kit::{all_pages, poll_until, sent, Absent};
use crate::aws::{built, Aws, AwsError, Inputs, Observed};
use crate::model::catalog::CrawlerSpec;
use crate::model::Tags;
use async_trait::async_trait;
use aws_sdk_glue::types as gt;
use serde_json::Value;
use std::time::Duration;

/// JSON numbers as floats, so `1` and `1.0` compare equal.
fn normalize_numbers(v: &mut Value) {
    match v {
        Value::Number(n) => {
            if let Some(f) = n.as_f64().and_then(serde_json::Number::from_f64) {
                *n = f;
            }
        }
        Value::Array(a) => a.iter_mut().for_each(normalize_numbers),
        Value::Object(o) => o.values_mut().for_each(normalize_numbers),
        _ => {}
    }
}

fn crawler_targets(s: &CrawlerSpec) -> Result<gt::CrawlerTargets, AwsError> {
    Ok(gt::CrawlerTargets::builder()
        .catalog_targets(built(
            gt::CatalogTarget::builder()
                .database_name(&s.database)
                .set_tables(Some(s.tables.clone()))
                .build(),
        )?)
        .build())
}

fn schema_policy(s: &CrawlerSpec) -> gt::SchemaChangePolicy {
    gt::SchemaChangePolicy::builder()
        .update_behavior(gt::UpdateBehavior::from(s.update_behavior.as_str()))
        .delete_behavior(gt::DeleteBehavior::from(s.delete_behavior.as_str()))
        .build()
}

/// A Glue crawler.
pub struct Crawler;

#[async_trait]
impl Named for Crawler {
    type Spec = CrawlerSpec;
    const NOUN: &'static str = "Glue crawler";
    const ARN_TYPE: &'static str = "crawler";
    const SETTINGS: &'static [&'static str] = &[
        "role",
        "database",
        "tables",
        "schedule",
        "update_behavior",
        "delete_behavior",
        "configuration",
    ];

    fn tags(s: &CrawlerSpec) -> &Tags {
        &s.tags
    }

    async fn read_named(aws: &Aws, name: &str, _inputs: &Inputs) -> Found<CrawlerSpec> {
        let out = aws
            .glue
            .get_crawler()
            .name(name)
            .send()
            .await
            .map_err(AwsError::from)
            .or_absent(NOT_FOUND)
            .map_err(|e| e.context(format!("failed to read Glue crawler {name}")))?;
        let Some(c) = out.and_then(|o| o.crawler) else {
            return Ok(None);
        };
        let target = c.targets().and_then(|t| t.catalog_targets().first());
        let mut configuration = c
            .configuration()
            .and_then(|j| serde_json::from_str::<Value>(j).ok())
            .unwrap_or(Value::Null);
        normalize_numbers(&mut configuration);
        let policy = c.schema_change_policy();
        let arn = arn::<Self>(aws, name);
        let spec = CrawlerSpec {
            name: name.to_string(),
            role: c.role().unwrap_or_default().to_string(),
            database: c.database_name().unwrap_or_default().to_string(),
            tables: target.map(|t| t.tables().to_vec()).unwrap_or_default(),
            schedule: c
                .schedule()
                .and_then(|s| s.schedule_expression())
                .filter(|e| !e.is_empty())
                .map(str::to_string),
            update_behavior: policy
                .and_then(|p| p.update_behavior())
                .map(|b| b.as_str().to_string())
                .unwrap_or_default(),
            delete_behavior: policy
                .and_then(|p| p.delete_behavior())
                .map(|b| b.as_str().to_string())
                .unwrap_or_default(),
            configuration,
            tags: glue_tags(aws, &arn).await?,
        };
        Ok(Some(Observed::with(spec, "arn", arn)))
    }

    async fn create_call(aws: &Aws, s: &CrawlerSpec, _inputs: &Inputs) -> Result<(), AwsError> {
        let call = aws
            .glue
            .create_crawler()
            .name(&s.name)
            .role(&s.role)
            .database_name(&s.database)
            .targets(crawler_targets(s)?)
            .set_schedule(s.schedule.clone())
            .schema_change_policy(schema_policy(s))
            .configuration(s.configuration.to_string())
            .set_tags(Some(hash_tags(&s.tags)));
        sent(call.send()).await
    }

    async fn put_settings(aws: &Aws, s: &CrawlerSpec, _inputs: &Inputs) -> Result<(), AwsError> {
        let call = aws
            .glue
            .update_crawler()
            .name(&s.name)
            .role(&s.role)
            .database_name(&s.database)
            .targets(crawler_targets(s)?)
            // An empty expression removes the schedule (on demand only).
            .schedule(s.schedule.clone().unwrap_or_default())
            .schema_change_policy(schema_policy(s))
            .configuration(s.configuration.to_string());
        sent(call.send()).await
    }

    /// A running crawler cannot be deleted: it is stopped, and the delete retried for up to
    /// ten minutes.
    async fn delete_named(aws: &Aws, name: &str) -> Result<(), AwsError> {
        let what = format!("Glue crawler {name} is deleted");
        poll_until(
            what,
            Duration::from_secs(600),
            Duration::from_secs(10),
            || async {
                aws.throttle(GLUE).await;
                match sent(aws.glue.delete_crawler().name(name).send())
                    .await
                    .tolerate(NOT_FOUND)
                {
                    Ok(()) => Ok(Some(())),
                    Err(e)
                        if e.is(&[
                            "CrawlerRunningException",
                            "SchedulerTransitioningException",
                        ]) =>
                    {
                        let _ = aws.glue.stop_crawler().name(name).send().await;
                        Ok(None)
                    }
                    Err(e) => Err(e),
                }
            },
        )
        .await
    }

    async fn names(aws: &Aws) -> Result<Vec<String>, AwsError> {
        let pages = aws.glue.list_crawlers().into_paginator().send();
        let pages = all_pages(pages, "failed to list Glue crawlers").await?;
        Ok(pages
            .iter()
            .flat_map(|p| p.crawler_names())
            .cloned()
            .collect())
    }
}
