//! The AWS side of the stream poller: shards and records from the Kinesis API, on-failure
//! records to SNS or S3.

use super::poller::{
    Destination, FailureSink, Fetched, Shard, ShardSource, SourceError, StartingPosition,
    StreamRecord,
};
use crate::aws::AwsError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

/// [`ShardSource`] over the Kinesis API.
pub struct KinesisSource {
    client: aws_sdk_kinesis::Client,
    stream_name: String,
}

impl KinesisSource {
    /// Reads `stream_name` with `client`.
    pub fn new(client: aws_sdk_kinesis::Client, stream_name: String) -> Self {
        KinesisSource {
            client,
            stream_name,
        }
    }
}

fn classify(e: AwsError) -> SourceError {
    if e.is(&["ExpiredIteratorException"]) {
        SourceError::Expired
    } else if e.is(&["ResourceNotFoundException"]) {
        SourceError::Gone(e.message)
    } else if e.is(&["InvalidArgumentException"]) {
        SourceError::BadPosition(e.message)
    } else {
        SourceError::Other(e.message)
    }
}

#[async_trait]
impl ShardSource for KinesisSource {
    async fn list_shards(&self) -> Result<Vec<Shard>, SourceError> {
        // ListShards has no SDK paginator; a NextToken replaces the stream name.
        let mut shards = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let req = match &token {
                Some(t) => self.client.list_shards().next_token(t),
                None => self.client.list_shards().stream_name(&self.stream_name),
            };
            let out = req.send().await.map_err(|e| {
                classify(AwsError::from(e).context(format!(
                    "failed to list the shards of Kinesis stream {}",
                    self.stream_name
                )))
            })?;
            shards.extend(out.shards().iter().map(|s| Shard {
                id: s.shard_id().to_string(),
                parent: s.parent_shard_id().map(str::to_string),
                adjacent_parent: s.adjacent_parent_shard_id().map(str::to_string),
            }));
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => return Ok(shards),
            }
        }
    }

    async fn iterator(
        &self,
        shard: &str,
        after: Option<&str>,
        start: StartingPosition,
    ) -> Result<String, SourceError> {
        use aws_sdk_kinesis::types::ShardIteratorType;
        let req = self
            .client
            .get_shard_iterator()
            .stream_name(&self.stream_name)
            .shard_id(shard);
        let req = match (after, start) {
            (Some(seq), _) => req
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .starting_sequence_number(seq),
            (None, StartingPosition::TrimHorizon) => {
                req.shard_iterator_type(ShardIteratorType::TrimHorizon)
            }
            (None, StartingPosition::Latest) => req.shard_iterator_type(ShardIteratorType::Latest),
        };
        let out = req.send().await.map_err(|e| classify(AwsError::from(e)))?;
        out.shard_iterator
            .ok_or_else(|| SourceError::Other("GetShardIterator returned no iterator".into()))
    }

    async fn get_records(&self, iterator: &str, limit: usize) -> Result<Fetched, SourceError> {
        use aws_sdk_kinesis::types::EncryptionType;
        let out = self
            .client
            .get_records()
            .shard_iterator(iterator)
            .limit(i32::try_from(limit).unwrap_or(10_000).clamp(1, 10_000))
            .send()
            .await
            .map_err(|e| classify(AwsError::from(e)))?;
        let records = out
            .records()
            .iter()
            .map(|r| StreamRecord {
                sequence_number: r.sequence_number().to_string(),
                partition_key: r.partition_key().unwrap_or_default().to_string(),
                data: r.data().as_ref().to_vec(),
                arrival: r
                    .approximate_arrival_timestamp()
                    .and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos()))
                    .unwrap_or_else(Utc::now),
                kms: r.encryption_type() == Some(&EncryptionType::Kms),
            })
            .collect();
        Ok(Fetched {
            records,
            next_iterator: out.next_shard_iterator,
            millis_behind: out.millis_behind_latest.unwrap_or(0),
        })
    }
}

/// [`FailureSink`] over SNS or S3, as the mapping's destination says.
pub struct AwsFailureSink {
    destination: Destination,
    function_name: String,
    sns: aws_sdk_sns::Client,
    s3: aws_sdk_s3::Client,
}

impl AwsFailureSink {
    /// Sends to `destination` with these clients; `function_name` names the S3 key prefix.
    pub fn new(
        destination: Destination,
        function_name: String,
        sns: aws_sdk_sns::Client,
        s3: aws_sdk_s3::Client,
    ) -> Self {
        AwsFailureSink {
            destination,
            function_name,
            sns,
            s3,
        }
    }
}

#[async_trait]
impl FailureSink for AwsFailureSink {
    async fn send(&self, shard: &str, record: &Value) -> Result<(), String> {
        let body = record.to_string();
        match &self.destination {
            Destination::Sns(topic) => self
                .sns
                .publish()
                .topic_arn(topic)
                .message(body)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| AwsError::from(e).message),
            Destination::S3(bucket) => {
                // Lambda's key layout, with the function name where AWS puts the mapping's
                // UUID (the local mapping has none).
                let now = Utc::now();
                let key = format!(
                    "aws/lambda/{}/{shard}/{}/{}-{}",
                    self.function_name,
                    now.format("%Y/%m/%d"),
                    now.format("%Y-%m-%dT%H.%M.%S"),
                    hex::encode(rand::random::<[u8; 16]>())
                );
                self.s3
                    .put_object()
                    .bucket(bucket)
                    .key(key)
                    .content_type("application/json")
                    .body(body.into_bytes().into())
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| AwsError::from(e).message)
            }
        }
    }
}
