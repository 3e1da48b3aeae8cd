//! What Lambda sends: the `KinesisEvent` of a batch, and the on-failure record of records
//! given up on.

use super::settings::Settings;
use super::source::StreamRecord;
use aws_lambda_events::encodings::SecondTimestamp;
use aws_lambda_events::kinesis::{
    KinesisEncryptionType, KinesisEvent, KinesisEventRecord, KinesisRecord,
};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

/// The `KinesisEvent` Lambda sends for `records` of `shard`.
pub fn build_event(records: &[StreamRecord], shard: &str, s: &Settings) -> KinesisEvent {
    let mut event = KinesisEvent::default();
    event.records = records
        .iter()
        .map(|r| {
            let mut k = KinesisRecord::default();
            k.approximate_arrival_timestamp = SecondTimestamp(r.arrival);
            k.data.0 = r.data.clone();
            k.encryption_type = if r.kms {
                KinesisEncryptionType::Kms
            } else {
                KinesisEncryptionType::None
            };
            k.partition_key = r.partition_key.clone();
            k.sequence_number = r.sequence_number.clone();
            k.kinesis_schema_version = Some("1.0".into());
            let mut e = KinesisEventRecord::default();
            e.aws_region = Some(s.region.clone());
            e.event_id = Some(format!("{shard}:{}", r.sequence_number));
            e.event_name = Some("aws:kinesis:record".into());
            e.event_source = Some("aws:kinesis".into());
            e.event_source_arn = Some(s.stream_arn.clone());
            e.event_version = Some("1.0".into());
            e.invoke_identity_arn = Some(s.invoke_identity_arn.clone());
            e.kinesis = k;
            e
        })
        .collect();
    event
}

fn millis(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The on-failure record of `records` (non-empty) of `shard`, in the shape Lambda sends to a
/// destination (`requestContext`, `responseContext`, `KinesisBatchInfo`), plus the error and
/// the sequence numbers the function reported as failed.
pub fn failure_record(
    records: &[StreamRecord],
    shard: &str,
    s: &Settings,
    attempts: u32,
    error: &str,
    failed_sequence_numbers: &[String],
    now: DateTime<Utc>,
) -> Value {
    let (first, last) = (&records[0], &records[records.len() - 1]);
    json!({
        "requestContext": {
            "requestId": hex::encode(rand::random::<[u8; 16]>()),
            "functionArn": s.function_arn,
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": attempts,
        },
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        },
        "version": "1.0",
        "timestamp": millis(&now),
        "KinesisBatchInfo": {
            "shardId": shard,
            "startSequenceNumber": first.sequence_number,
            "endSequenceNumber": last.sequence_number,
            "approximateArrivalOfFirstRecord": millis(&first.arrival),
            "approximateArrivalOfLastRecord": millis(&last.arrival),
            "batchSize": records.len(),
            "streamArn": s.stream_arn,
        },
        "errorMessage": error,
        "failedSequenceNumbers": failed_sequence_numbers,
    })
}
