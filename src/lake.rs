//! `lake query`: SQL over the lake through Athena's API, the same calls against AWS and the
//! local emulator. The query runs in the stack's workgroup, whose enforced settings decide
//! where results go and how they are encrypted. [`QueryResult`] also renders `warehouse
//! query`'s rows.

use crate::aws::kit::poll_until;
use crate::aws::{Aws, AwsError};
use aws_sdk_athena::types::{QueryExecutionContext, QueryExecutionState};
use serde::Serialize;
use std::fmt;
use std::time::Duration;

/// A finished query: its columns, its rows, and where Athena put the result file.
#[derive(Debug, Clone, Serialize)]
pub struct QueryResult {
    /// Athena's ID of the execution (the Data API's statement ID for the warehouse).
    pub query_execution_id: String,
    /// Column names and Athena types (`varchar`, `bigint`, `decimal`, ...), in order.
    pub columns: Vec<Column>,
    /// Rows, as Athena returns values: text, `None` for NULL.
    pub rows: Vec<Vec<Option<String>>>,
    /// The result CSV in S3.
    pub output_location: Option<String>,
    /// Bytes the query read.
    pub data_scanned_bytes: Option<i64>,
}

/// A result column.
#[derive(Debug, Clone, Serialize)]
pub struct Column {
    /// Name.
    pub name: String,
    /// Athena's type name.
    #[serde(rename = "type")]
    pub kind: String,
}

/// Runs `sql` in `workgroup` with `database` as the default schema, waits up to `timeout`
/// for it to finish, and reads every row of its result.
pub async fn query(
    aws: &Aws,
    workgroup: &str,
    database: &str,
    sql: &str,
    timeout: Duration,
) -> Result<QueryResult, AwsError> {
    let context = QueryExecutionContext::builder().database(database).build();
    let started = aws
        .athena
        .start_query_execution()
        .query_string(sql)
        .work_group(workgroup)
        .query_execution_context(context)
        .send()
        .await
        .map_err(|e| AwsError::from(e).context("failed to start the Athena query"))?;
    let id = started.query_execution_id().unwrap_or_default().to_string();
    let what = format!("Athena query {id} finishes");
    let execution = poll_until(what, timeout, Duration::from_millis(250), || async {
        let out = aws
            .athena
            .get_query_execution()
            .query_execution_id(&id)
            .send()
            .await
            .map_err(|e| AwsError::from(e).context(format!("failed to read Athena query {id}")))?;
        let Some(execution) = out.query_execution else {
            return Ok(None);
        };
        let status = execution.status();
        match status.and_then(|s| s.state()) {
            Some(QueryExecutionState::Succeeded) => Ok(Some(execution)),
            Some(QueryExecutionState::Failed) | Some(QueryExecutionState::Cancelled) => {
                let reason = status
                    .and_then(|s| s.athena_error().and_then(|e| e.error_message()))
                    .or_else(|| status.and_then(|s| s.state_change_reason()))
                    .unwrap_or("no reason given");
                Err(AwsError::msg(format!("Athena query {id} failed: {reason}")))
            }
            _ => Ok(None),
        }
    })
    .await?;
    let mut columns = Vec::new();
    let mut rows = Vec::new();
    let mut pages = aws
        .athena
        .get_query_results()
        .query_execution_id(&id)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            AwsError::from(e).context(format!("failed to read the results of Athena query {id}"))
        })?;
        let Some(set) = page.result_set() else {
            continue;
        };
        if columns.is_empty() {
            columns = set
                .result_set_metadata()
                .map(|m| m.column_info())
                .unwrap_or_default()
                .iter()
                .map(|c| Column {
                    name: c.name().to_string(),
                    kind: c.r#type().to_string(),
                })
                .collect();
        }
        for row in set.rows() {
            rows.push(
                row.data()
                    .iter()
                    .map(|d| d.var_char_value().map(str::to_string))
                    .collect::<Vec<_>>(),
            );
        }
    }
    // Athena's first row of a SELECT's results repeats the column names.
    let names: Vec<Option<String>> = columns.iter().map(|c| Some(c.name.clone())).collect();
    if rows.first() == Some(&names) {
        rows.remove(0);
    }
    let configuration = execution.result_configuration();
    Ok(QueryResult {
        query_execution_id: id,
        columns,
        rows,
        output_location: configuration
            .and_then(|c| c.output_location())
            .map(str::to_string),
        data_scanned_bytes: execution
            .statistics()
            .and_then(|s| s.data_scanned_in_bytes()),
    })
}

/// A warehouse statement's rows, shown and serialised as the lake's are.
impl From<crate::aws::ResultSet> for QueryResult {
    fn from(set: crate::aws::ResultSet) -> Self {
        QueryResult {
            query_execution_id: set.statement,
            columns: set
                .columns
                .into_iter()
                .map(|(name, kind)| Column { name, kind })
                .collect(),
            rows: set.rows,
            output_location: None,
            data_scanned_bytes: None,
        }
    }
}

impl QueryResult {
    /// The rows as JSON objects by column name: integers and booleans as JSON numbers and
    /// booleans, decimals and everything else as text (a decimal stays exact), NULL as null.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        let rows = self.rows.iter().map(|row| {
            let fields = self.columns.iter().zip(row).map(|(c, v)| {
                let value = match (c.kind.as_str(), v) {
                    (_, None) => Value::Null,
                    ("tinyint" | "smallint" | "integer" | "bigint", Some(v)) => v
                        .parse::<i64>()
                        .map(Value::from)
                        .unwrap_or_else(|_| Value::from(v.clone())),
                    ("boolean", Some(v)) => Value::from(v == "true"),
                    (_, Some(v)) => Value::from(v.clone()),
                };
                (c.name.clone(), value)
            });
            Value::Object(fields.collect())
        });
        serde_json::json!({
            "query_execution_id": self.query_execution_id,
            "columns": self.columns,
            "rows": rows.collect::<Vec<_>>(),
            "output_location": self.output_location,
            "data_scanned_bytes": self.data_scanned_bytes,
        })
    }
}

/// A text table: one header line, then one line per row, columns padded to their widest
/// value (numbers right-aligned).
impl fmt::Display for QueryResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cell = |v: &Option<String>| v.clone().unwrap_or_else(|| "NULL".into());
        let widths: Vec<usize> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let widest = self
                    .rows
                    .iter()
                    .map(|r| r.get(i).map_or(0, |v| cell(v).len()));
                widest.chain([c.name.len()]).max().unwrap_or(0)
            })
            .collect();
        let numeric = |kind: &str| {
            [
                "tinyint", "smallint", "integer", "bigint", "double", "float", "real",
            ]
            .contains(&kind)
                || kind.starts_with("decimal")
        };
        let line = |f: &mut fmt::Formatter<'_>, values: Vec<String>| -> fmt::Result {
            let padded: Vec<String> = values
                .iter()
                .zip(&self.columns)
                .zip(&widths)
                .map(|((v, c), &w)| {
                    if numeric(&c.kind) {
                        format!("{v:>w$}")
                    } else {
                        format!("{v:<w$}")
                    }
                })
                .collect();
            writeln!(f, "{}", padded.join("  ").trim_end())
        };
        line(f, self.columns.iter().map(|c| c.name.clone()).collect())?;
        let rule: Vec<String> = widths.iter().map(|&w| "-".repeat(w)).collect();
        writeln!(f, "{}", rule.join("  "))?;
        for row in &self.rows {
            line(f, row.iter().map(cell).collect())?;
        }
        write!(f, "({} rows)", self.rows.len())
    }
}
