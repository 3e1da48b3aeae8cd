//! Specs of the Lambda kinds: functions, the Kinesis event source mapping, and the
//! resource-policy statements that let API Gateway invoke a function.

use super::{Kind, Spec, Tags};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A Lambda function with zip code built by `ecomflow-infra build`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionSpec {
    /// Function name.
    pub name: String,
    /// ARN of the execution role.
    pub role_arn: String,
    /// Runtime, `provided.al2023` for the Rust bootstraps.
    pub runtime: String,
    /// Handler (`bootstrap`).
    pub handler: String,
    /// `x86_64` or `arm64`.
    pub architecture: String,
    /// Memory in MB.
    pub memory_mb: i32,
    /// Timeout in seconds.
    pub timeout_seconds: i32,
    /// Reserved concurrency; `None` = unreserved.
    pub reserved_concurrency: Option<i32>,
    /// Environment variables.
    pub environment: BTreeMap<String, String>,
    /// Base64 SHA-256 of the deployment package, exactly as Lambda reports `CodeSha256`.
    pub code_sha256: String,
    /// Path of the deployment package (`_`: never compared; only the SHA-256 is).
    #[serde(rename = "_zip_path", default, skip_serializing_if = "Option::is_none")]
    pub zip_path: Option<String>,
    /// Tags, ownership tags included.
    pub tags: Tags,
}

impl Spec for FunctionSpec {
    const KIND: Kind = Kind::LambdaFunction;
    fn physical(&self) -> String {
        self.name.clone()
    }
}

/// A Kinesis stream -> function event source mapping. AWS identifies it by a UUID (an
/// output); the tool finds it by function name and event source ARN.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventSourceMappingSpec {
    /// Name of the function invoked.
    pub function_name: String,
    /// ARN of the Kinesis stream.
    pub event_source_arn: String,
    /// `TRIM_HORIZON` or `LATEST`; fixed at creation.
    pub starting_position: String,
    /// Records per invocation.
    pub batch_size: i32,
    /// Seconds to gather a batch.
    pub batching_window_seconds: i32,
    /// Concurrent batches per shard.
    pub parallelization_factor: i32,
    /// Split a failing batch in two.
    pub bisect_on_error: bool,
    /// Retries of a failing batch (-1 = until the record expires).
    pub maximum_retries: i32,
    /// `ReportBatchItemFailures`, sorted.
    pub function_response_types: Vec<String>,
    /// ARN of the on-failure destination (SNS topic or S3 bucket).
    pub on_failure_destination: Option<String>,
    /// Polling enabled.
    pub enabled: bool,
}

impl Spec for EventSourceMappingSpec {
    const KIND: Kind = Kind::LambdaEventSourceMapping;
    fn physical(&self) -> String {
        format!("{} -> {}", self.event_source_arn, self.function_name)
    }
}

/// One statement of a function's resource policy letting API Gateway invoke it, scoped to one
/// REST API. The spec names the API; its AWS-assigned ID is the API's output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PermissionSpec {
    /// Function name.
    pub function_name: String,
    /// Statement ID.
    pub statement_id: String,
    /// Action allowed, `lambda:InvokeFunction`.
    pub action: String,
    /// Service principal, `apigateway.amazonaws.com`.
    pub principal: String,
    /// Name of the REST API allowed to invoke (the `SourceArn` condition names its ID).
    pub source_api: String,
    /// Stage/method/path part of the source ARN after the API ID, e.g. `/*/*/*`.
    pub source_path: String,
}

impl Spec for PermissionSpec {
    const KIND: Kind = Kind::LambdaPermission;
    fn physical(&self) -> String {
        format!("{}/{}", self.function_name, self.statement_id)
    }
}
