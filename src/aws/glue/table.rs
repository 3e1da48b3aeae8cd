//! The Glue table over files in S3.

use super::{Found, EXISTS, GLUE, NOT_FOUND};
use crate::aws::kit::Absent;
use crate::aws::{built, Aws, AwsError, Changes, Gone, Inputs, Observed, Outputs, Provider};
use crate::model::catalog::{Column, TableSpec};
use async_trait::async_trait;
use aws_sdk_glue::types as gt;
use std::collections::BTreeMap;

fn columns(cols: &[Column]) -> Result<Vec<gt::Column>, AwsError> {
    cols.iter()
        .map(|c| built(gt::Column::builder().name(&c.name).r#type(&c.kind).build()))
        .collect()
}

fn table_input(s: &TableSpec) -> Result<gt::TableInput, AwsError> {
    let sd = gt::StorageDescriptor::builder()
        .set_columns(Some(columns(&s.columns)?))
        .location(&s.location)
        .input_format(&s.input_format)
        .output_format(&s.output_format)
        .serde_info(
            gt::SerDeInfo::builder()
                .serialization_library(&s.serde)
                .set_parameters(Some(
                    s.serde_parameters
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                ))
                .build(),
        )
        .build();
    built(
        gt::TableInput::builder()
            .name(&s.name)
            .table_type(&s.table_type)
            .storage_descriptor(sd)
            .set_partition_keys(Some(columns(&s.partition_keys)?))
            .set_parameters(Some(
                s.parameters
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ))
            .build(),
    )
}

fn read_columns(cols: &[gt::Column]) -> Vec<Column> {
    cols.iter()
        .map(|c| Column {
            name: c.name().to_string(),
            kind: c.r#type().unwrap_or_default().to_string(),
        })
        .collect()
}

/// Replaces the table's definition with the declared one (UpdateTable takes it whole).
async fn put_definition(aws: &Aws, s: &TableSpec) -> Result<(), AwsError> {
    let call = aws
        .glue
        .update_table()
        .database_name(&s.database)
        .table_input(table_input(s)?)
        .send();
    aws.mutate(
        GLUE,
        format!("failed to update Glue table {}.{}", s.database, s.name),
        call,
    )
    .await?;
    Ok(())
}

/// A Glue table.
pub struct Table;

#[async_trait]
impl Provider for Table {
    type Spec = TableSpec;

    async fn read(&self, aws: &Aws, s: &TableSpec, _: &Inputs) -> Found<TableSpec> {
        let out = aws
            .glue
            .get_table()
            .database_name(&s.database)
            .name(&s.name)
            .send()
            .await
            .map_err(AwsError::from)
            .or_absent(NOT_FOUND)
            .map_err(|e| {
                e.context(format!(
                    "failed to read Glue table {}.{}",
                    s.database, s.name
                ))
            })?;
        let Some(t) = out.and_then(|o| o.table) else {
            return Ok(None);
        };
        let sd = t.storage_descriptor();
        let serde = sd.and_then(|d| d.serde_info());
        // Crawlers and Athena add bookkeeping parameters (`UPDATED_BY_CRAWLER`, counts...):
        // only the declared keys are compared.
        let parameters: BTreeMap<String, String> = t
            .parameters()
            .map(|p| {
                p.iter()
                    .filter(|(k, _)| s.parameters.contains_key(*k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Some(Observed::bare(TableSpec {
            database: s.database.clone(),
            name: t.name().to_string(),
            table_type: t.table_type().unwrap_or_default().to_string(),
            location: sd
                .and_then(|d| d.location())
                .unwrap_or_default()
                .to_string(),
            columns: read_columns(sd.map(|d| d.columns()).unwrap_or_default()),
            partition_keys: read_columns(t.partition_keys()),
            input_format: sd
                .and_then(|d| d.input_format())
                .unwrap_or_default()
                .to_string(),
            output_format: sd
                .and_then(|d| d.output_format())
                .unwrap_or_default()
                .to_string(),
            serde: serde
                .and_then(|i| i.serialization_library())
                .unwrap_or_default()
                .to_string(),
            serde_parameters: serde
                .and_then(|i| i.parameters())
                .map(|p| p.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            parameters,
        })))
    }

    async fn create(&self, aws: &Aws, s: &TableSpec, _: &Inputs) -> Result<Outputs, AwsError> {
        let call = aws
            .glue
            .create_table()
            .database_name(&s.database)
            .table_input(table_input(s)?)
            .send();
        let created = aws
            .mutate(
                GLUE,
                format!("failed to create Glue table {}.{}", s.database, s.name),
                call,
            )
            .await
            .or_absent(EXISTS)?
            .is_some();
        if !created {
            put_definition(aws, s).await?;
        }
        Ok(Outputs::new())
    }

    async fn update(
        &self,
        aws: &Aws,
        desired: &TableSpec,
        _live: &Observed<TableSpec>,
        _changes: &Changes,
        _: &Inputs,
    ) -> Result<(), AwsError> {
        put_definition(aws, desired).await
    }

    async fn delete(&self, aws: &Aws, gone: &Gone<TableSpec>) -> Result<(), AwsError> {
        let (database, name) = match &gone.spec {
            Some(s) => (s.database.clone(), s.name.clone()),
            None => gone
                .physical
                .split_once('.')
                .map(|(d, n)| (d.to_string(), n.to_string()))
                .ok_or_else(|| {
                    AwsError::msg(format!("malformed Glue table name {:?}", gone.physical))
                })?,
        };
        let call = aws
            .glue
            .delete_table()
            .database_name(&database)
            .name(&name)
            .send();
        aws.mutate(
            GLUE,
            format!("failed to delete Glue table {}", gone.physical),
            call,
        )
        .await
        .tolerate(NOT_FOUND)
    }
}
