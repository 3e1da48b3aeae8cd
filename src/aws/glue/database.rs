//! The Glue Data Catalog database.

use super::{arn, glue_tags, hash_tags, Found, Named, NOT_FOUND};
use crate::aws::kit::{all_pages, sent, Absent};
use crate::aws::{built, Aws, AwsError, Inputs, Observed};
use crate::model::catalog::DatabaseSpec;
use crate::model::Tags;
use async_trait::async_trait;
use aws_sdk_glue::types as gt;

fn database_input(s: &DatabaseSpec) -> Result<gt::DatabaseInput, AwsError> {
    built(
        gt::DatabaseInput::builder()
            .name(&s.name)
            .description(&s.description)
            .build(),
    )
}

/// A Glue database.
pub struct Database;

#[async_trait]
impl Named for Database {
    type Spec = DatabaseSpec;
    const NOUN: &'static str = "Glue database";
    const ARN_TYPE: &'static str = "database";
    const SETTINGS: &'static [&'static str] = &["description"];

    fn tags(s: &DatabaseSpec) -> &Tags {
        &s.tags
    }

    async fn read_named(aws: &Aws, name: &str, _inputs: &Inputs) -> Found<DatabaseSpec> {
        let out = aws
            .glue
            .get_database()
            .name(name)
            .send()
            .await
            .map_err(AwsError::from)
            .or_absent(NOT_FOUND)
            .map_err(|e| e.context(format!("failed to read Glue database {name}")))?;
        let Some(db) = out.and_then(|o| o.database) else {
            return Ok(None);
        };
        let arn = arn::<Self>(aws, name);
        let spec = DatabaseSpec {
            name: name.to_string(),
            description: db.description().unwrap_or_default().to_string(),
            tags: glue_tags(aws, &arn).await?,
        };
        Ok(Some(Observed::with(spec, "arn", arn)))
    }

    async fn create_call(aws: &Aws, s: &DatabaseSpec, _inputs: &Inputs) -> Result<(), AwsError> {
        let call = aws
            .glue
            .create_database()
            .database_input(database_input(s)?);
        sent(call.set_tags(Some(hash_tags(&s.tags))).send()).await
    }

    async fn put_settings(aws: &Aws, s: &DatabaseSpec, _inputs: &Inputs) -> Result<(), AwsError> {
        let call = aws.glue.update_database().name(&s.name);
        sent(call.database_input(database_input(s)?).send()).await
    }

    async fn delete_named(aws: &Aws, name: &str) -> Result<(), AwsError> {
        sent(aws.glue.delete_database().name(name).send())
            .await
            .tolerate(NOT_FOUND)
    }

    async fn names(aws: &Aws) -> Result<Vec<String>, AwsError> {
        let pages = aws.glue.get_databases().into_paginator().send();
        let pages = all_pages(pages, "failed to list Glue databases").await?;
        let databases = pages.iter().flat_map(|p| p.database_list());
        Ok(databases.map(|d| d.name().to_string()).collect())
    }
}
