//! `ecomflow-infra outputs`: what users connect with, read from the live account.

use crate::engine::{EngineError, Session};
use crate::model::Kind;
use crate::plan::Plan;
use serde::Serialize;
use std::fmt;

/// The Redshift endpoint and how to connect to it.
#[derive(Debug, Clone, Serialize)]
pub struct Warehouse {
    /// Cluster identifier.
    pub cluster: String,
    /// Endpoint host name.
    pub host: String,
    /// Port.
    pub port: i32,
    /// Database.
    pub database: String,
    /// JDBC URL for Tableau, Power BI and SQL clients.
    pub jdbc_url: String,
    /// ARN of the Secrets Manager secret holding the master password (never its value).
    pub master_password_secret_arn: Option<String>,
}

/// Everything a user of the stack connects with. Absent values were not found live.
#[derive(Debug, Clone, Serialize)]
pub struct Outputs {
    /// Stack instance.
    pub stack: String,
    /// API invoke URL (`POST /records`, `GET /invoices/...`).
    pub api_url: Option<String>,
    /// Cognito user pool ID.
    pub user_pool_id: Option<String>,
    /// Cognito app client ID (no secret; USER_PASSWORD_AUTH, SRP and refresh).
    pub app_client_id: Option<String>,
    /// Kinesis stream name.
    pub stream: Option<String>,
    /// DynamoDB invoices table.
    pub invoices_table: Option<String>,
    /// DynamoDB customers table.
    pub customers_table: Option<String>,
    /// Data-lake bucket.
    pub bucket: Option<String>,
    /// Athena (Glue) database.
    pub athena_database: Option<String>,
    /// Athena (Glue) table of the clean Parquet.
    pub athena_table: Option<String>,
    /// The warehouse, when declared and live.
    pub warehouse: Option<Warehouse>,
}

fn live_of<'a>(plan: &'a Plan, address: &str) -> Option<&'a serde_json::Value> {
    plan.changes
        .iter()
        .find(|c| c.address == address)
        .and_then(|c| c.live.as_ref())
}

fn live_physical(plan: &Plan, address: &str) -> Option<String> {
    plan.changes
        .iter()
        .find(|c| c.address == address && c.live.is_some())
        .map(|c| c.physical.clone())
}

fn field(v: Option<&serde_json::Value>, key: &str) -> Option<String> {
    v.and_then(|v| v.get(key))
        .and_then(|x| x.as_str())
        .map(str::to_string)
}

/// Reads the outputs of the session's stack instance.
pub async fn read(session: &Session) -> Result<Outputs, EngineError> {
    let plan = session.plan(10).await?;
    let region = &session.aws.region;
    let api_url = field(live_of(&plan, "apigw_rest_api.api"), "_id").map(|id| {
        format!(
            "https://{id}.execute-api.{region}.amazonaws.com/{}",
            session.config.api.stage
        )
    });
    let table = live_of(&plan, "glue_table.invoice_lines").map(|_| "invoice_lines".to_string());
    let mut warehouse = None;
    if let Some(change) = plan
        .changes
        .iter()
        .find(|c| c.kind == Kind::RedshiftCluster && c.live.is_some())
    {
        let described = session
            .aws
            .redshift
            .describe_clusters()
            .cluster_identifier(&change.physical)
            .send()
            .await
            .map_err(|e| {
                crate::aws::AwsError::from(e).context("failed to read the Redshift endpoint")
            })?;
        if let Some(c) = described.clusters().first() {
            let host = c
                .endpoint()
                .and_then(|e| e.address())
                .unwrap_or_default()
                .to_string();
            let port = c.endpoint().and_then(|e| e.port()).unwrap_or(5439);
            let database = c.db_name().unwrap_or_default().to_string();
            warehouse = Some(Warehouse {
                cluster: change.physical.clone(),
                jdbc_url: format!("jdbc:redshift://{host}:{port}/{database}"),
                host,
                port,
                database,
                master_password_secret_arn: c.master_password_secret_arn().map(str::to_string),
            });
        }
    }
    Ok(Outputs {
        stack: plan.stack.clone(),
        api_url,
        user_pool_id: field(live_of(&plan, "cognito_user_pool.users"), "_id"),
        // The client's `_id` is `[pool ID, client ID]`.
        app_client_id: live_of(&plan, "cognito_app_client.app")
            .and_then(|v| v.get("_id"))
            .and_then(|id| id.get(1))
            .and_then(|c| c.as_str())
            .map(str::to_string),
        stream: live_physical(&plan, "kinesis_stream.orders"),
        invoices_table: live_physical(&plan, "dynamodb_table.invoices"),
        customers_table: live_physical(&plan, "dynamodb_table.customers"),
        bucket: live_physical(&plan, "s3_bucket.lake"),
        athena_database: live_physical(&plan, "glue_database.lake"),
        athena_table: table,
        warehouse,
    })
}

impl fmt::Display for Outputs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show =
            |v: &Option<String>| v.clone().unwrap_or_else(|| "(not found: run apply)".into());
        writeln!(f, "Stack {}", self.stack)?;
        writeln!(f, "  api url            {}", show(&self.api_url))?;
        writeln!(f, "  user pool id       {}", show(&self.user_pool_id))?;
        writeln!(f, "  app client id      {}", show(&self.app_client_id))?;
        writeln!(f, "  kinesis stream     {}", show(&self.stream))?;
        writeln!(f, "  invoices table     {}", show(&self.invoices_table))?;
        writeln!(f, "  customers table    {}", show(&self.customers_table))?;
        writeln!(f, "  lake bucket        {}", show(&self.bucket))?;
        writeln!(f, "  athena database    {}", show(&self.athena_database))?;
        writeln!(f, "  athena table       {}", show(&self.athena_table))?;
        match &self.warehouse {
            None => writeln!(f, "  redshift           (not declared or not found)"),
            Some(w) => {
                writeln!(f, "  redshift endpoint  {}:{}", w.host, w.port)?;
                writeln!(f, "  redshift database  {}", w.database)?;
                writeln!(f, "  jdbc url           {}", w.jdbc_url)?;
                match &w.master_password_secret_arn {
                    Some(arn) => writeln!(
                        f,
                        "  master password    in Secrets Manager: aws secretsmanager get-secret-value --secret-id {arn}"
                    ),
                    None => writeln!(f, "  master password    managed by AWS (no secret ARN reported)"),
                }
            }
        }
    }
}
