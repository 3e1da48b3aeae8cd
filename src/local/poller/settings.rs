//! The event source mapping's settings: batching, retries and the on-failure destination.

use std::time::Duration;

/// Where records go when their retries are exhausted (the mapping's on-failure destination).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// An SNS topic, by ARN: the record is the message.
    Sns(String),
    /// An S3 bucket, by name: the record is an object under `aws/lambda/`.
    S3(String),
}

impl Destination {
    /// The destination of an on-failure ARN (SNS topic or S3 bucket).
    pub fn from_arn(arn: &str) -> Option<Destination> {
        // arn:<partition>:<service>:<region>:<account>:<resource>
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        match parts.as_slice() {
            ["arn", _, "s3", "", "", bucket] if !bucket.is_empty() => {
                Some(Destination::S3(bucket.to_string()))
            }
            ["arn", _, "sns", _, _, topic] if !topic.is_empty() => {
                Some(Destination::Sns(arn.to_string()))
            }
            _ => None,
        }
    }
}

/// Where a shard is read from when there is no checkpoint for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartingPosition {
    /// The oldest record kept.
    TrimHorizon,
    /// Records put from now on.
    Latest,
}

/// The event source mapping's settings, and what the records are stamped with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Stream name.
    pub stream_name: String,
    /// Stream ARN (`eventSourceARN`).
    pub stream_arn: String,
    /// Region (`awsRegion`).
    pub region: String,
    /// ARN of the function (in on-failure records).
    pub function_arn: String,
    /// Role the function runs as (`invokeIdentityArn`).
    pub invoke_identity_arn: String,
    /// Where to start a shard without a checkpoint.
    pub starting_position: StartingPosition,
    /// Records per invocation at most (also the `GetRecords` limit).
    pub batch_size: usize,
    /// How long to gather records for a batch that is not full yet.
    pub batching_window: Duration,
    /// Retries of a failing batch; -1 = no limit.
    pub maximum_retries: i32,
    /// Split a failing batch in two before retrying.
    pub bisect_on_error: bool,
    /// The function reports failed records in `batchItemFailures`.
    pub report_batch_item_failures: bool,
    /// Where exhausted records are described.
    pub on_failure: Option<Destination>,
    /// Pause after an empty `GetRecords`.
    pub poll_interval: Duration,
    /// First pause before retrying a failed batch; doubled per attempt, at most 30 s.
    pub retry_pause: Duration,
}
