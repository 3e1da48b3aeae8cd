//! The Glue Data Catalog database.

use super::{converge_glue_tags, glue_arn, glue_tags, hash_tags, listed_with_tags};
use super::{EXISTS, GLUE, NOT_FOUND};
use crate::aws::kit::Absent;
use crate::aws::Provider;
use crate::aws::{built, Aws, AwsError, Changes, Gone, Inputs, Listed, Observed, Outputs};
use crate::model::catalog::DatabaseSpec;
use async_trait::async_trait;
use aws_sdk_glue::types as gt;

fn arn(aws: &Aws, name: &str) -> String {
    glue_arn(aws, &format!("database/{name}"))
}

fn database_input(s: &DatabaseSpec) -> Result<gt::DatabaseInput, AwsError> {
    built(
        gt::DatabaseInput::builder()
            .name(&s.name)
            .description(&s.description)
            .build(),
    )
}

async fn read_database(aws: &Aws, name: &str) -> Result<Option<Observed<DatabaseSpec>>, AwsError> {
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
    let arn = arn(aws, name);
    let spec = DatabaseSpec {
        name: name.to_string(),
        description: db.description().unwrap_or_default().to_string(),
        tags: glue_tags(aws, &arn).await?,
    };
    Ok(Some(Observed::with(spec, "arn", arn)))
}

/// Brings a live database to the declaration where `changes` says they differ.
async fn converge(
    aws: &Aws,
    s: &DatabaseSpec,
    l: &DatabaseSpec,
    changes: &Changes,
) -> Result<(), AwsError> {
    if changes.touches("description") {
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
    }
    if changes.touches("tags") {
        converge_glue_tags(aws, &arn(aws, &s.name), &s.tags, &l.tags).await?;
    }
    Ok(())
}

/// A Glue database.
pub struct Database;

#[async_trait]
impl Provider for Database {
    type Spec = DatabaseSpec;

    async fn read(
        &self,
        aws: &Aws,
        desired: &DatabaseSpec,
        _inputs: &Inputs,
    ) -> Result<Option<Observed<DatabaseSpec>>, AwsError> {
        read_database(aws, &desired.name).await
    }

    async fn create(
        &self,
        aws: &Aws,
        s: &DatabaseSpec,
        _inputs: &Inputs,
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
        if !created {
            // Adopted after an interrupted run: bring it to the declaration.
            if let Some(live) = read_database(aws, &s.name).await? {
                converge(aws, s, &live.spec, &Changes::between(s, &live.spec)).await?;
            }
        }
        Ok(Outputs::from([("arn".to_string(), arn(aws, &s.name))]))
    }

    async fn update(
        &self,
        aws: &Aws,
        desired: &DatabaseSpec,
        live: &Observed<DatabaseSpec>,
        changes: &Changes,
        _inputs: &Inputs,
    ) -> Result<(), AwsError> {
        converge(aws, desired, &live.spec, changes).await
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
        listed_with_tags(aws, names, prefix, skip, |n| arn(aws, n)).await
    }
}
