//! The pipeline's Lambda handlers run in-process: the same library code the deployed
//! bootstraps run (`lambdas/*/src/main.rs`), with the same configuration, behind the two
//! shapes of invocation the local front ends need.

use async_trait::async_trait;
use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_lambda_events::kinesis::KinesisEvent;
use aws_lambda_events::streams::KinesisEventResponse;
use std::sync::Arc;
use std::time::Duration;

/// A function behind an API Gateway proxy integration.
#[async_trait]
pub trait ApiFunction: Send + Sync {
    /// Handles one proxy event.
    async fn invoke(&self, event: ApiGatewayProxyRequest) -> ApiGatewayProxyResponse;
}

/// A function fed by a Kinesis event source mapping.
#[async_trait]
pub trait StreamFunction: Send + Sync {
    /// Handles one batch. `Err` is a function error (the whole batch failed): a panic, or the
    /// function's timeout.
    async fn invoke(&self, event: KinesisEvent) -> Result<KinesisEventResponse, String>;
}

/// `ingest`: `POST /records` -> Kinesis, rejected rows to the lake bucket.
pub struct Ingest {
    config: ingest::Config,
    sink: ingest::AwsBackend,
}

impl Ingest {
    /// The handler with its configuration, stream client and S3 client.
    pub fn new(
        config: ingest::Config,
        kinesis: aws_sdk_kinesis::Client,
        s3: aws_sdk_s3::Client,
    ) -> Ingest {
        Ingest {
            config,
            sink: ingest::AwsBackend::new(kinesis, s3),
        }
    }
}

#[async_trait]
impl ApiFunction for Ingest {
    async fn invoke(&self, event: ApiGatewayProxyRequest) -> ApiGatewayProxyResponse {
        ingest::handle(&event, &self.config, &self.sink).await
    }
}

/// `query`: the `GET` routes -> DynamoDB.
pub struct Query {
    config: query::Config,
    store: query::DynamoStore,
}

impl Query {
    /// The handler with its configuration, over its tables.
    pub fn new(config: query::Config, client: aws_sdk_dynamodb::Client) -> Query {
        let store = query::DynamoStore::new(client, &config);
        Query { config, store }
    }
}

#[async_trait]
impl ApiFunction for Query {
    async fn invoke(&self, event: ApiGatewayProxyRequest) -> ApiGatewayProxyResponse {
        query::handle(&event, &self.config, &self.store).await
    }
}

/// `process`: Kinesis batches -> DynamoDB, Firehose, S3 rejects, SNS alerts. Each invocation
/// runs as its own task under the function's timeout, so a panic or a hang fails the batch
/// the way a crashed or timed-out Lambda invocation does, instead of the poller.
pub struct Process {
    config: Arc<process::Config>,
    backend: Arc<process::AwsBackend>,
    timeout: Duration,
}

impl Process {
    /// The handler with its configuration, clients and timeout.
    pub fn new(config: process::Config, backend: process::AwsBackend, timeout: Duration) -> Self {
        Process {
            config: Arc::new(config),
            backend: Arc::new(backend),
            timeout,
        }
    }
}

#[async_trait]
impl StreamFunction for Process {
    async fn invoke(&self, event: KinesisEvent) -> Result<KinesisEventResponse, String> {
        let (config, backend) = (self.config.clone(), self.backend.clone());
        run_isolated(self.timeout, async move {
            process::process(&event, &config, backend.as_ref()).await
        })
        .await
    }
}

/// How an isolated invocation ended badly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvokeError {
    /// The handler panicked.
    Panicked(String),
    /// The handler ran longer than the function's timeout (and was stopped).
    TimedOut(Duration),
}

impl std::fmt::Display for InvokeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InvokeError::Panicked(m) => write!(f, "the function panicked: {m}"),
            InvokeError::TimedOut(t) => {
                write!(f, "Task timed out after {:.2} seconds", t.as_secs_f64())
            }
        }
    }
}

/// Runs `work` as its own task, stopped after `timeout`.
pub async fn spawn_with_timeout<T: Send + 'static>(
    timeout: Duration,
    work: impl std::future::Future<Output = T> + Send + 'static,
) -> Result<T, InvokeError> {
    let task = tokio::spawn(work);
    let abort = task.abort_handle();
    match tokio::time::timeout(timeout, task).await {
        Ok(Ok(out)) => Ok(out),
        Ok(Err(e)) => Err(InvokeError::Panicked(e.to_string())),
        Err(_) => {
            abort.abort();
            Err(InvokeError::TimedOut(timeout))
        }
    }
}

async fn run_isolated<T: Send + 'static>(
    timeout: Duration,
    work: impl std::future::Future<Output = T> + Send + 'static,
) -> Result<T, String> {
    spawn_with_timeout(timeout, work)
        .await
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn panics_and_hangs_become_invocation_errors() {
        let t = Duration::from_millis(50);
        assert_eq!(spawn_with_timeout(t, async { 7 }).await, Ok(7));
        let panicked = spawn_with_timeout(t, async move {
            if t > Duration::ZERO {
                panic!("boom");
            }
        })
        .await;
        assert!(matches!(panicked, Err(InvokeError::Panicked(_))));
        let hung = spawn_with_timeout(t, tokio::time::sleep(Duration::from_secs(60))).await;
        assert_eq!(hung, Err(InvokeError::TimedOut(t)));
        assert_eq!(
            InvokeError::TimedOut(Duration::from_secs(30)).to_string(),
            "Task timed out after 30.00 seconds"
        );
    }
}
