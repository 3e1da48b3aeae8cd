//! The Glue Data Catalog database.

use super::{adopt, arn, converge, glue_tags, hash_tags, listed_with_tags, Named};
use super::{EXISTS, GLUE, NOT_FOUND};
use crate::aws::kit::Absent;
use crate::aws::Provider;
use crate::aws::{built, Aws, AwsError, Changes, Gone, Inputs, Listed, Observed, Outputs};
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
    const ARN_TYPE: &'static str = "database";
    const SETTINGS: &'static [&'static str] = &["description"];

    fn tags(s: &DatabaseSpec) -> &Tags {
        &s.tags
    }

    async fn read_named(
        aws: &Aws,
        name: &str,
        _inputs: &Inputs,
    ) -> Result<Option<Observed<DatabaseSpec>>, AwsError> {
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

    async fn put_settings(aws: &Aws, s: &DatabaseSpec, _inputs: &Inputs) -> Result<(), AwsError> {
        let call = aws
            .glue
            .update_database()
            .name(&s.name)
            .database_input(database_input(s)?)
            .send();
        aws.mutate(
            GLUE,
            format!("failed to update Glue database {}", s.name),
            call,
        )
        .await?;
        Ok(())
    }
}

#[async_trait]
impl Provider for Database {
    type Spec = DatabaseSpec;

    async fn read(
        &self,
        aws: &Aws,
        desired: &DatabaseSpec,
        inputs: &Inputs,
    ) -> Result<Option<Observed<DatabaseSpec>>, AwsError> {
        Self::read_named(aws, &desired.name, inputs).await
    }

    async fn create(
        &self,
        aws: &Aws,
        s: &DatabaseSpec,
        inputs: &Inputs,
    ) -> Result<Outputs, AwsError> {
        let call = aws
            .glue
            .create_database()
            .database_input(database_input(s)?)
            .set_tags(Some(hash_tags(&s.tags)))
            .send();
        let created = aws
            .mutate(
                GLUE,
                format!("failed to create Glue database {}", s.name),
                call,
            )
            .await
            .or_absent(EXISTS)?
            .is_some();
        adopt::<Self>(aws, s, inputs, created).await
    }

    async fn update(
        &self,
        aws: &Aws,
        desired: &DatabaseSpec,
        live: &Observed<DatabaseSpec>,
        changes: &Changes,
        inputs: &Inputs,
    ) -> Result<(), AwsError> {
        converge::<Self>(aws, desired, &live.spec, changes, inputs).await
    }

    async fn delete(&self, aws: &Aws, gone: &Gone<DatabaseSpec>) -> Result<(), AwsError> {
        let name = &gone.physical;
        let call = aws.glue.delete_database().name(name).send();
        aws.mutate(GLUE, format!("failed to delete Glue database {name}"), call)
            .await
            .tolerate(NOT_FOUND)
    }

    async fn list(
        &self,
        aws: &Aws,
        prefix: &str,
        skip: &[String],
    ) -> Result<Vec<Listed>, AwsError> {
        let mut names = Vec::new();
        let mut pages = aws.glue.get_databases().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| AwsError::from(e).context("failed to list Glue databases"))?;
            names.extend(page.database_list().iter().map(|d| d.name().to_string()));
        }
        listed_with_tags(aws, names, prefix, skip, |n| arn::<Self>(aws, n)).await
    }
}
