//! `ecomflow-infra outputs`: what users connect with, read from the live account.

use crate::engine::{EngineError, Session};
use crate::model::Kind;
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
    /// Athena workgroup to run queries in (results location and encryption enforced).
    pub athena_workgroup: Option<String>,
    /// ARN of the alerts topic, which also carries the storage updates: what a queue or an
    /// endpoint of one's own subscribes to.
    pub alerts_topic_arn: Option<String>,
    /// The warehouse, when declared and live.
    pub warehouse: Option<Warehouse>,
}

/// Reads the outputs of the session's stack instance: the IDs and endpoints its providers
/// returned, from one read of the live state.
pub async fn read(session: &Session) -> Result<Outputs, EngineError> {
    let live = session.live_state(10).await?;
    let found = |address: &str| live.declared.get(address).and_then(Option::as_ref);
    let output =
        |address: &str, key: &str| found(address).and_then(|l| l.outputs.get(key)).cloned();
    let physical = |address: &str| found(address).map(|l| l.physical.clone());
    let region = &session.aws.region;
    let api_url = output("apigw_rest_api.api", "id").map(|id| {
        format!(
            "https://{id}.execute-api.{region}.amazonaws.com/{}",
            session.config.api.stage
        )
    });
    let warehouse = live
        .declared
        .values()
        .flatten()
        .find(|l| l.kind == Kind::RedshiftCluster)
        .and_then(|l| {
            let o = &l.outputs;
            let host = o.get("endpoint")?.clone();
            let port = o.get("port")?.parse().ok()?;
            let database = o.get("database").cloned().unwrap_or_default();
            Some(Warehouse {
                cluster: l.physical.clone(),
                jdbc_url: format!("jdbc:redshift://{host}:{port}/{database}"),
                host,
                port,
                database,
                master_password_secret_arn: o.get("master_password_secret_arn").cloned(),
            })
        });
    Ok(Outputs {
        stack: session.instance().to_string(),
        api_url,
        user_pool_id: output("cognito_user_pool.users", "id"),
        app_client_id: output("cognito_app_client.app", "id"),
        stream: physical("kinesis_stream.orders"),
        invoices_table: physical("dynamodb_table.invoices"),
        customers_table: physical("dynamodb_table.customers"),
        bucket: physical("s3_bucket.lake"),
        athena_database: physical("glue_database.lake"),
        athena_table: found("glue_table.invoice_lines").map(|_| "invoice_lines".to_string()),
        athena_workgroup: physical("athena_workgroup.analytics"),
        alerts_topic_arn: output("sns_topic.alerts", "arn"),
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
        writeln!(f, "  athena workgroup   {}", show(&self.athena_workgroup))?;
        writeln!(f, "  alerts topic       {}", show(&self.alerts_topic_arn))?;
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
