//! The Kinesis event source mapping, played locally: one reader per shard gets records after
//! the checkpoint (or from the mapping's starting position), gathers batches as the mapping's
//! batch size and batching window say, and invokes `process` with the `KinesisEvent` Lambda
//! would send.
//!
//! Failures follow the mapping's settings:
//!
//! * With `ReportBatchItemFailures`, the answer's `batchItemFailures` name the records that
//!   failed. The checkpoint moves to the record before the first failure (an unknown or
//!   empty identifier fails the whole batch), and the batch is retried from that record;
//!   without it, only a function error (panic, timeout) fails a batch, as a whole.
//! * A retry covers the same records, never more; with `bisect_on_error` it covers the first
//!   half of them, so retries close in on a poison record.
//! * After `maximum_retries` retries of the same first record (-1: no limit), the failing
//!   records are described to the on-failure destination (an SNS message or an S3 object
//!   with AWS's invocation-record JSON: shard, sequence range, arrival times, plus the error
//!   and the failed sequence numbers) and the checkpoint moves past them. If the destination
//!   cannot be reached, the reader keeps trying it and does not move on; with no destination
//!   configured, the skipped range is logged as an error. Records are never skipped silently.
//!
//! The checkpoint is written after every batch. An expired shard iterator is replaced by one
//! from the checkpoint (records fetched but not processed are fetched again). A closed shard
//! ends its reader once read to its end; its children start only after their parents ended.
//! Calls use the SDK's retries; errors that remain are logged and retried after a pause.

use super::checkpoint::Checkpoint;
use super::functions::StreamFunction;
use async_trait::async_trait;
use aws_lambda_events::encodings::SecondTimestamp;
use aws_lambda_events::kinesis::{
    KinesisEncryptionType, KinesisEvent, KinesisEventRecord, KinesisRecord,
};
use aws_lambda_events::streams::KinesisEventResponse;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// Pause after an AWS error that the SDK's own retries did not overcome.
const ERROR_PAUSE: Duration = Duration::from_secs(2);
/// Longest pause between retries of a failing batch (or destination).
const MAX_RETRY_PAUSE: Duration = Duration::from_secs(30);
/// How often the shard list is read again (new shards after a reshard).
const SHARD_REFRESH: Duration = Duration::from_secs(60);

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

/// One record read from a shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamRecord {
    /// Sequence number.
    pub sequence_number: String,
    /// Partition key.
    pub partition_key: String,
    /// Payload.
    pub data: Vec<u8>,
    /// When Kinesis received it.
    pub arrival: DateTime<Utc>,
    /// Encrypted at rest with KMS.
    pub kms: bool,
}

/// A shard and its parents (after a reshard, children are read after their parents).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shard {
    /// Shard ID.
    pub id: String,
    /// Parent shard, if any.
    pub parent: Option<String>,
    /// The other parent of a merged shard, if any.
    pub adjacent_parent: Option<String>,
}

/// One `GetRecords` answer.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The records, in order.
    pub records: Vec<StreamRecord>,
    /// Where to continue; `None` once a closed shard is read to its end.
    pub next_iterator: Option<String>,
    /// How far behind the tip of the shard the answer is.
    pub millis_behind: i64,
}

/// Why a stream call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceError {
    /// The shard iterator expired: get a new one.
    Expired,
    /// The sequence number to start after is not valid for the shard.
    BadPosition(String),
    /// The shard (or stream) no longer exists.
    Gone(String),
    /// Anything else (after the SDK's retries).
    Other(String),
}

impl std::fmt::Display for SourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SourceError::Expired => write!(f, "the shard iterator expired"),
            SourceError::BadPosition(m) | SourceError::Gone(m) | SourceError::Other(m) => {
                write!(f, "{m}")
            }
        }
    }
}

/// The stream calls a shard reader makes.
#[async_trait]
pub trait ShardSource: Send + Sync {
    /// Every shard of the stream (open and closed).
    async fn list_shards(&self) -> Result<Vec<Shard>, SourceError>;
    /// An iterator after `after`, or at `start` when `after` is `None`.
    async fn iterator(
        &self,
        shard: &str,
        after: Option<&str>,
        start: StartingPosition,
    ) -> Result<String, SourceError>;
    /// Up to `limit` records from `iterator`.
    async fn get_records(&self, iterator: &str, limit: usize) -> Result<Fetched, SourceError>;
}

/// Where on-failure records are sent.
#[async_trait]
pub trait FailureSink: Send + Sync {
    /// Delivers one on-failure record for `shard`.
    async fn send(&self, shard: &str, record: &Value) -> Result<(), String>;
}

/// The outcome of one invocation, as the mapping judges it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every record succeeded.
    Success,
    /// The records from this index on must be retried; the error says why.
    FailedFrom(usize, String),
}

/// Judges an invocation of a batch with sequence numbers `seqs`.
pub fn judge(
    result: &Result<KinesisEventResponse, String>,
    seqs: &[&str],
    report_batch_item_failures: bool,
) -> Verdict {
    let response = match result {
        Err(e) => return Verdict::FailedFrom(0, e.clone()),
        Ok(r) => r,
    };
    if !report_batch_item_failures || response.batch_item_failures.is_empty() {
        return Verdict::Success;
    }
    let mut first = None;
    for f in &response.batch_item_failures {
        let found = f
            .item_identifier
            .as_deref()
            .filter(|id| !id.is_empty())
            .and_then(|id| seqs.iter().position(|s| *s == id));
        match found {
            Some(i) => first = Some(first.map_or(i, |f: usize| f.min(i))),
            None => {
                return Verdict::FailedFrom(
                    0,
                    format!(
                        "batchItemFailures names {:?}, not a record of the batch: the whole batch failed",
                        f.item_identifier
                    ),
                )
            }
        }
    }
    let failed = response.batch_item_failures.len();
    Verdict::FailedFrom(
        first.unwrap_or(0),
        format!("the function reported {failed} failed record(s)"),
    )
}

/// What to do after an invocation of `n` records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// All `n` records are done.
    Done,
    /// The first `processed` records are done; retry the rest after a pause.
    Retry {
        /// Records done before the first failure.
        processed: usize,
    },
    /// The first `processed` records are done; the next `failed` records ran out of retries:
    /// send them to the on-failure destination, then they are done too.
    Exhausted {
        /// Records done before the first failure.
        processed: usize,
        /// Records given up on.
        failed: usize,
    },
}

/// A shard reader's retry state: how many records the next invocation may take, and how many
/// times the batch starting at the current first record has failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryState {
    /// Records the next invocation takes at most.
    pub window: usize,
    /// Failed invocations of the batch starting at the current first record.
    pub attempts: u32,
}

impl RetryState {
    /// The state of a fresh shard.
    pub fn new(batch_size: usize) -> RetryState {
        RetryState {
            window: batch_size.max(1),
            attempts: 0,
        }
    }

    /// Moves on after an invocation of `n` records judged `verdict`.
    pub fn after(&mut self, verdict: &Verdict, n: usize, s: &Settings) -> Step {
        let f = match verdict {
            Verdict::Success => {
                *self = RetryState::new(s.batch_size);
                return Step::Done;
            }
            Verdict::FailedFrom(f, _) => (*f).min(n.saturating_sub(1)),
        };
        if f > 0 {
            // A new first record: its retries start now.
            self.attempts = 0;
        }
        self.attempts += 1;
        let rest = n - f;
        let retries = u32::try_from(s.maximum_retries).ok();
        if retries.is_some_and(|max| self.attempts > max) {
            *self = RetryState::new(s.batch_size);
            return Step::Exhausted {
                processed: f,
                failed: rest,
            };
        }
        self.window = if s.bisect_on_error && rest > 1 {
            rest.div_ceil(2)
        } else {
            rest
        };
        Step::Retry { processed: f }
    }

    /// The pause before the next retry: `base` doubled per failed attempt, at most 30 s.
    pub fn pause(&self, base: Duration) -> Duration {
        let doublings = self.attempts.saturating_sub(1).min(16);
        base.saturating_mul(1 << doublings).min(MAX_RETRY_PAUSE)
    }
}

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

/// How a shard reader ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardEnd {
    /// The shard is closed and every record of it is done.
    Finished,
    /// The shard no longer exists.
    Gone,
    /// Shutdown was asked for.
    Stopped,
}

/// Everything a shard reader uses.
pub struct Poller {
    /// The stream.
    pub source: Arc<dyn ShardSource>,
    /// The function.
    pub function: Arc<dyn StreamFunction>,
    /// The on-failure destination, if the mapping has one.
    pub failures: Option<Arc<dyn FailureSink>>,
    /// The checkpoint.
    pub checkpoint: Arc<Checkpoint>,
    /// The mapping's settings.
    pub settings: Settings,
}

/// Resolves when shutdown is asked for (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    while !*stop.borrow_and_update() {
        if stop.changed().await.is_err() {
            return;
        }
    }
}

/// Sleeps `d`; false if shutdown was asked for meanwhile.
async fn pause(d: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => !*stop.borrow(),
        _ = stopped(stop) => false,
    }
}

impl Poller {
    /// Reads `shard` until it is finished, gone, or shutdown is asked for.
    pub async fn read_shard(&self, shard: &str, mut stop: watch::Receiver<bool>) -> ShardEnd {
        let s = &self.settings;
        let batch_size = s.batch_size.max(1);
        let mut pending: VecDeque<StreamRecord> = VecDeque::new();
        let mut iterator: Option<String> = None;
        let mut closed = false;
        let mut retry = RetryState::new(batch_size);
        let mut last_fetch_empty = false;
        let mut gather_until: Option<Instant> = None;
        loop {
            if *stop.borrow() {
                return ShardEnd::Stopped;
            }
            // Fill the buffer up to one batch.
            if !closed && pending.len() < batch_size {
                if iterator.is_none() {
                    // Restart after the checkpoint: what was buffered comes again.
                    pending.clear();
                    gather_until = None;
                    match self.start_iterator(shard).await {
                        Ok(it) => iterator = Some(it),
                        Err(SourceError::Gone(m)) => {
                            tracing::warn!(shard, error = %m, "shard gone");
                            return ShardEnd::Gone;
                        }
                        Err(e) => {
                            tracing::warn!(shard, error = %e, "GetShardIterator failed; retrying");
                            if !pause(ERROR_PAUSE, &mut stop).await {
                                return ShardEnd::Stopped;
                            }
                            continue;
                        }
                    }
                }
                let it = iterator.clone().unwrap_or_default();
                match self.source.get_records(&it, batch_size).await {
                    Ok(f) => {
                        last_fetch_empty = f.records.is_empty() || f.millis_behind == 0;
                        if !f.records.is_empty() {
                            tracing::debug!(shard, records = f.records.len(), "fetched");
                        }
                        pending.extend(f.records);
                        match f.next_iterator {
                            Some(next) => iterator = Some(next),
                            None => closed = true,
                        }
                    }
                    Err(SourceError::Expired) => {
                        tracing::info!(
                            shard,
                            "shard iterator expired; resuming from the checkpoint"
                        );
                        iterator = None;
                        continue;
                    }
                    Err(SourceError::Gone(m)) => {
                        tracing::warn!(shard, error = %m, "shard gone");
                        return ShardEnd::Gone;
                    }
                    Err(e) => {
                        tracing::warn!(shard, error = %e, "GetRecords failed; resuming from the checkpoint");
                        iterator = None;
                        if !pause(ERROR_PAUSE, &mut stop).await {
                            return ShardEnd::Stopped;
                        }
                        continue;
                    }
                }
            }
            if pending.is_empty() {
                if closed {
                    tracing::info!(shard, "shard closed and read to its end");
                    return ShardEnd::Finished;
                }
                if !pause(s.poll_interval, &mut stop).await {
                    return ShardEnd::Stopped;
                }
                continue;
            }
            // The batching window: wait for a fuller batch (not while retrying).
            if pending.len() < batch_size && !closed && retry.attempts == 0 {
                let until = *gather_until.get_or_insert_with(|| Instant::now() + s.batching_window);
                let now = Instant::now();
                if now < until {
                    if last_fetch_empty && !pause(s.poll_interval.min(until - now), &mut stop).await
                    {
                        return ShardEnd::Stopped;
                    }
                    continue;
                }
            }
            gather_until = None;

            let n = pending.len().min(retry.window).min(batch_size);
            let batch: Vec<StreamRecord> = pending.iter().take(n).cloned().collect();
            let seqs: Vec<&str> = batch.iter().map(|r| r.sequence_number.as_str()).collect();
            let event = build_event(&batch, shard, s);
            let result = self.function.invoke(event).await;
            let verdict = judge(&result, &seqs, s.report_batch_item_failures);
            let attempts_before = retry.attempts;
            match retry.after(&verdict, n, s) {
                Step::Done => {
                    self.commit(shard, &batch[n - 1]);
                    pending.drain(..n);
                    tracing::info!(
                        shard,
                        records = n,
                        first = seqs[0],
                        last = seqs[n - 1],
                        "batch processed"
                    );
                }
                Step::Retry { processed } => {
                    if processed > 0 {
                        self.commit(shard, &batch[processed - 1]);
                        pending.drain(..processed);
                    }
                    let Verdict::FailedFrom(_, why) = &verdict else {
                        unreachable!("a retry follows a failure")
                    };
                    tracing::warn!(
                        shard,
                        done = processed,
                        retrying = retry.window,
                        from = seqs[processed],
                        attempt = retry.attempts,
                        error = %why,
                        "batch failed; retrying"
                    );
                    if !pause(retry.pause(s.retry_pause), &mut stop).await {
                        return ShardEnd::Stopped;
                    }
                }
                Step::Exhausted { processed, failed } => {
                    if processed > 0 {
                        self.commit(shard, &batch[processed - 1]);
                        pending.drain(..processed);
                    }
                    let Verdict::FailedFrom(_, why) = &verdict else {
                        unreachable!("exhaustion follows a failure")
                    };
                    let attempts = if processed > 0 {
                        1
                    } else {
                        attempts_before + 1
                    };
                    let given_up = &batch[processed..processed + failed];
                    let reported = reported_failures(&result, given_up);
                    if !self
                        .give_up(shard, given_up, attempts, why, &reported, &mut stop)
                        .await
                    {
                        return ShardEnd::Stopped;
                    }
                    self.commit(shard, &given_up[given_up.len() - 1]);
                    pending.drain(..failed);
                }
            }
        }
    }

    async fn start_iterator(&self, shard: &str) -> Result<String, SourceError> {
        let s = &self.settings;
        let after = self.checkpoint.get(shard);
        match self
            .source
            .iterator(shard, after.as_deref(), s.starting_position)
            .await
        {
            Err(SourceError::BadPosition(m)) if after.is_some() => {
                // A checkpoint from an older stream of the same name: nothing after it can be
                // found, so the whole shard is read (records may be processed again, never
                // skipped).
                tracing::error!(
                    shard,
                    checkpoint = after.as_deref().unwrap_or_default(),
                    error = %m,
                    "the checkpoint does not fit the shard (was the stream recreated?); reading the shard from its start"
                );
                self.source
                    .iterator(shard, None, StartingPosition::TrimHorizon)
                    .await
            }
            other => other,
        }
    }

    fn commit(&self, shard: &str, last: &StreamRecord) {
        if let Err(e) = self.checkpoint.commit(shard, &last.sequence_number) {
            // The records are done; a restart before the next successful write processes
            // them again (at least once, never lost).
            tracing::error!(shard, error = format!("{e:#}"), "checkpoint not written");
        }
    }

    /// Describes exhausted records to the destination, retrying until it takes them; false
    /// if shutdown came first (they stay unprocessed and are retried after a restart).
    async fn give_up(
        &self,
        shard: &str,
        records: &[StreamRecord],
        attempts: u32,
        error: &str,
        reported: &[String],
        stop: &mut watch::Receiver<bool>,
    ) -> bool {
        let s = &self.settings;
        let (first, last) = (
            &records[0].sequence_number,
            &records[records.len() - 1].sequence_number,
        );
        let Some(sink) = &self.failures else {
            tracing::error!(
                shard,
                first,
                last,
                records = records.len(),
                attempts,
                error,
                "retries exhausted and the mapping has no on-failure destination: records skipped"
            );
            return true;
        };
        let record = failure_record(records, shard, s, attempts, error, reported, Utc::now());
        let mut wait = s.retry_pause;
        loop {
            match sink.send(shard, &record).await {
                Ok(()) => {
                    tracing::error!(
                        shard,
                        first,
                        last,
                        records = records.len(),
                        attempts,
                        error,
                        destination = ?s.on_failure,
                        "retries exhausted: records sent to the on-failure destination"
                    );
                    return true;
                }
                Err(e) => {
                    tracing::error!(shard, first, last, error = %e, "on-failure destination refused the record; retrying");
                    if !pause(wait, stop).await {
                        return false;
                    }
                    wait = wait.saturating_mul(2).min(MAX_RETRY_PAUSE);
                }
            }
        }
    }

    /// Reads every shard until shutdown: children after their parents, new shards found by
    /// listing again every minute and whenever a shard ends.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut running: BTreeMap<String, tokio::task::JoinHandle<()>> = BTreeMap::new();
        let mut done: BTreeSet<String> = BTreeSet::new();
        let (ended_tx, mut ended_rx) = mpsc::unbounded_channel::<(String, ShardEnd)>();
        loop {
            match self.source.list_shards().await {
                Ok(shards) => {
                    let listed: BTreeSet<&str> = shards.iter().map(|s| s.id.as_str()).collect();
                    for shard in &shards {
                        if running.contains_key(&shard.id) || done.contains(&shard.id) {
                            continue;
                        }
                        let waiting = [&shard.parent, &shard.adjacent_parent]
                            .into_iter()
                            .flatten()
                            .any(|p| listed.contains(p.as_str()) && !done.contains(p));
                        if waiting {
                            continue;
                        }
                        tracing::info!(
                            shard = shard.id,
                            after = self.checkpoint.get(&shard.id).unwrap_or_default(),
                            "reading shard"
                        );
                        let (me, id, tx, rx) = (
                            self.clone(),
                            shard.id.clone(),
                            ended_tx.clone(),
                            stop.clone(),
                        );
                        running.insert(
                            shard.id.clone(),
                            tokio::spawn(async move {
                                let end = me.read_shard(&id, rx).await;
                                let _ = tx.send((id, end));
                            }),
                        );
                    }
                }
                Err(e) => tracing::warn!(error = %e, "ListShards failed; trying again later"),
            }
            tokio::select! {
                _ = stopped(&mut stop) => break,
                Some((id, end)) = ended_rx.recv() => {
                    running.remove(&id);
                    if end != ShardEnd::Stopped {
                        done.insert(id);
                    }
                }
                _ = tokio::time::sleep(SHARD_REFRESH) => {}
            }
        }
        for (id, task) in running {
            if let Err(e) = task.await {
                tracing::error!(shard = id, error = %e, "shard reader failed");
            }
        }
    }
}

/// The reported failed sequence numbers that fall in `records`.
fn reported_failures(
    result: &Result<KinesisEventResponse, String>,
    records: &[StreamRecord],
) -> Vec<String> {
    let Ok(r) = result else {
        return Vec::new();
    };
    r.batch_item_failures
        .iter()
        .filter_map(|f| f.item_identifier.clone())
        .filter(|id| records.iter().any(|r| &r.sequence_number == id))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::streams::KinesisBatchItemFailure;
    use std::sync::Mutex;

    fn settings() -> Settings {
        Settings {
            stream_name: "s".into(),
            stream_arn: "arn:aws:kinesis:us-east-1:123456789012:stream/s".into(),
            region: "us-east-1".into(),
            function_arn: "arn:aws:lambda:us-east-1:123456789012:function:p".into(),
            invoke_identity_arn: "arn:aws:iam::123456789012:role/p".into(),
            starting_position: StartingPosition::TrimHorizon,
            batch_size: 4,
            batching_window: Duration::ZERO,
            maximum_retries: 2,
            bisect_on_error: false,
            report_batch_item_failures: true,
            on_failure: Some(Destination::Sns("arn:aws:sns:us-east-1:1:t".into())),
            poll_interval: Duration::from_millis(5),
            retry_pause: Duration::from_millis(1),
        }
    }

    fn rec(seq: u32) -> StreamRecord {
        StreamRecord {
            sequence_number: format!("{seq:05}"),
            partition_key: format!("pk{seq}"),
            data: format!("{{\"n\":{seq}}}").into_bytes(),
            arrival: DateTime::from_timestamp(1_291_191_960 + i64::from(seq), 0).unwrap(),
            kms: true,
        }
    }

    fn failing(ids: &[Option<&str>]) -> Result<KinesisEventResponse, String> {
        let mut r = KinesisEventResponse::default();
        for id in ids {
            let mut f = KinesisBatchItemFailure::default();
            f.item_identifier = id.map(str::to_string);
            r.batch_item_failures.push(f);
        }
        Ok(r)
    }

    #[test]
    fn the_event_is_what_lambda_sends() {
        let e = build_event(&[rec(1), rec(2)], "shardId-000000000003", &settings());
        let v = serde_json::to_value(&e).unwrap();
        let r = &v["Records"][1];
        assert_eq!(r["eventSource"], "aws:kinesis");
        assert_eq!(r["eventName"], "aws:kinesis:record");
        assert_eq!(r["eventID"], "shardId-000000000003:00002");
        assert_eq!(r["eventSourceARN"], settings().stream_arn);
        assert_eq!(r["awsRegion"], "us-east-1");
        assert_eq!(r["invokeIdentityArn"], "arn:aws:iam::123456789012:role/p");
        assert_eq!(r["kinesis"]["sequenceNumber"], "00002");
        assert_eq!(r["kinesis"]["partitionKey"], "pk2");
        assert_eq!(r["kinesis"]["encryptionType"], "KMS");
        use base64::Engine as _;
        assert_eq!(
            r["kinesis"]["data"],
            base64::engine::general_purpose::STANDARD.encode(b"{\"n\":2}")
        );
        // What the process Lambda reads back.
        let back: KinesisEvent = serde_json::from_value(v).unwrap();
        assert_eq!(back.records[0].kinesis.data.0, b"{\"n\":1}");
        assert_eq!(
            back.records[1].kinesis.approximate_arrival_timestamp.0,
            rec(2).arrival
        );
    }

    #[test]
    fn verdicts_follow_batch_item_failures() {
        let seqs = ["a", "b", "c", "d"];
        assert_eq!(judge(&failing(&[]), &seqs, true), Verdict::Success);
        assert!(matches!(
            judge(&failing(&[Some("d"), Some("b")]), &seqs, true),
            Verdict::FailedFrom(1, _)
        ));
        // Unknown, empty or missing identifiers fail the whole batch.
        for bad in [Some("zz"), Some(""), None] {
            assert!(matches!(
                judge(&failing(&[Some("c"), bad]), &seqs, true),
                Verdict::FailedFrom(0, _)
            ));
        }
        // Without ReportBatchItemFailures the answer is not read.
        assert_eq!(
            judge(&failing(&[Some("c")]), &seqs, false),
            Verdict::Success
        );
        assert!(matches!(
            judge(&Err("Task timed out".into()), &seqs, false),
            Verdict::FailedFrom(0, m) if m == "Task timed out"
        ));
    }

    #[test]
    fn retries_narrow_and_run_out() {
        let mut s = settings();
        s.batch_size = 8;
        s.maximum_retries = 2;
        s.bisect_on_error = true;
        let mut st = RetryState::new(8);
        let fail = |i| Verdict::FailedFrom(i, "x".into());
        // Records 0..3 done, 3..8 retried: bisected to 3.
        assert_eq!(st.after(&fail(3), 8, &s), Step::Retry { processed: 3 });
        assert_eq!((st.window, st.attempts), (3, 1));
        assert_eq!(st.after(&fail(0), 3, &s), Step::Retry { processed: 0 });
        assert_eq!((st.window, st.attempts), (2, 2));
        assert_eq!(
            st.after(&fail(0), 2, &s),
            Step::Exhausted {
                processed: 0,
                failed: 2
            }
        );
        assert_eq!(st, RetryState::new(8));
        // Without bisecting, the retry takes exactly the failed rest.
        s.bisect_on_error = false;
        assert_eq!(st.after(&fail(5), 8, &s), Step::Retry { processed: 5 });
        assert_eq!(st.window, 3);
        assert_eq!(st.after(&Verdict::Success, 3, &s), Step::Done);
        assert_eq!(st, RetryState::new(8));
        // -1: retried forever.
        s.maximum_retries = -1;
        for _ in 0..100 {
            assert_eq!(st.after(&fail(0), 1, &s), Step::Retry { processed: 0 });
        }
        assert_eq!(st.pause(Duration::from_secs(1)), MAX_RETRY_PAUSE);
        // 0 retries: the first failure is final.
        s.maximum_retries = 0;
        let mut st = RetryState::new(8);
        assert_eq!(
            st.after(&fail(2), 4, &s),
            Step::Exhausted {
                processed: 2,
                failed: 2
            }
        );
    }

    #[test]
    fn destinations_and_failure_records() {
        assert_eq!(
            Destination::from_arn("arn:aws:s3:::my-lake"),
            Some(Destination::S3("my-lake".into()))
        );
        assert_eq!(
            Destination::from_arn("arn:aws:sns:us-east-1:1:t"),
            Some(Destination::Sns("arn:aws:sns:us-east-1:1:t".into()))
        );
        assert_eq!(
            Destination::from_arn("arn:aws-cn:s3:::lake"),
            Some(Destination::S3("lake".into()))
        );
        assert_eq!(Destination::from_arn("arn:aws:sqs:us-east-1:1:q"), None);
        assert_eq!(Destination::from_arn("arn:aws:s3:::"), None);
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let v = failure_record(
            &[rec(3), rec(4)],
            "shardId-000000000001",
            &settings(),
            3,
            "boom",
            &["00004".into()],
            now,
        );
        let b = &v["KinesisBatchInfo"];
        assert_eq!(b["shardId"], "shardId-000000000001");
        assert_eq!(b["startSequenceNumber"], "00003");
        assert_eq!(b["endSequenceNumber"], "00004");
        assert_eq!(b["batchSize"], 2);
        assert_eq!(
            b["approximateArrivalOfFirstRecord"],
            "2010-12-01T08:26:03.000Z"
        );
        assert_eq!(v["requestContext"]["condition"], "RetryAttemptsExhausted");
        assert_eq!(v["requestContext"]["approximateInvokeCount"], 3);
        assert_eq!(v["errorMessage"], "boom");
        assert_eq!(v["failedSequenceNumbers"], json!(["00004"]));
    }

    /// A shard of fixed records served in pages, with an optional expiry of the first iterator.
    struct FakeShard {
        records: Vec<StreamRecord>,
        expire_once: Mutex<bool>,
        iterators: Mutex<Vec<Option<String>>>,
    }

    #[async_trait]
    impl ShardSource for FakeShard {
        async fn list_shards(&self) -> Result<Vec<Shard>, SourceError> {
            Ok(vec![Shard {
                id: "shardId-0".into(),
                parent: None,
                adjacent_parent: None,
            }])
        }
        async fn iterator(
            &self,
            _shard: &str,
            after: Option<&str>,
            _start: StartingPosition,
        ) -> Result<String, SourceError> {
            self.iterators
                .lock()
                .unwrap()
                .push(after.map(str::to_string));
            let pos = match after {
                None => 0,
                Some(a) => {
                    self.records
                        .iter()
                        .position(|r| r.sequence_number == a)
                        .unwrap()
                        + 1
                }
            };
            Ok(pos.to_string())
        }
        async fn get_records(&self, iterator: &str, limit: usize) -> Result<Fetched, SourceError> {
            {
                let mut e = self.expire_once.lock().unwrap();
                if *e && iterator != "0" {
                    *e = false;
                    return Err(SourceError::Expired);
                }
            }
            let pos: usize = iterator.parse().unwrap();
            let end = (pos + limit).min(self.records.len());
            Ok(Fetched {
                records: self.records[pos..end].to_vec(),
                next_iterator: Some(end.to_string()),
                millis_behind: 0,
            })
        }
    }

    /// Fails (by batchItemFailures) every record in `poison`; remembers every invocation.
    struct Flaky {
        poison: BTreeSet<String>,
        calls: Mutex<Vec<Vec<String>>>,
        done: Mutex<Vec<String>>,
    }

    #[async_trait]
    impl StreamFunction for Flaky {
        async fn invoke(&self, event: KinesisEvent) -> Result<KinesisEventResponse, String> {
            let seqs: Vec<String> = event
                .records
                .iter()
                .map(|r| r.kinesis.sequence_number.clone())
                .collect();
            self.calls.lock().unwrap().push(seqs.clone());
            let mut r = KinesisEventResponse::default();
            for s in seqs {
                if self.poison.contains(&s) {
                    let mut f = KinesisBatchItemFailure::default();
                    f.item_identifier = Some(s);
                    r.batch_item_failures.push(f);
                } else {
                    self.done.lock().unwrap().push(s);
                }
            }
            Ok(r)
        }
    }

    #[derive(Default)]
    struct Sink(Mutex<Vec<Value>>);

    #[async_trait]
    impl FailureSink for Sink {
        async fn send(&self, _shard: &str, record: &Value) -> Result<(), String> {
            self.0.lock().unwrap().push(record.clone());
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_poison_record_is_retried_then_sent_away_and_nothing_else_is_lost() {
        let dir = tempfile::tempdir().unwrap();
        let checkpoint = Arc::new(Checkpoint::open(&dir.path().join("cp.json")).unwrap());
        let source = Arc::new(FakeShard {
            records: (1..=10).map(rec).collect(),
            expire_once: Mutex::new(true),
            iterators: Mutex::new(Vec::new()),
        });
        let function = Arc::new(Flaky {
            poison: BTreeSet::from(["00006".to_string()]),
            calls: Mutex::new(Vec::new()),
            done: Mutex::new(Vec::new()),
        });
        let sink = Arc::new(Sink::default());
        let mut s = settings();
        s.bisect_on_error = true;
        let poller = Arc::new(Poller {
            source: source.clone(),
            function: function.clone(),
            failures: Some(sink.clone()),
            checkpoint: checkpoint.clone(),
            settings: s,
        });
        let (stop_tx, stop_rx) = watch::channel(false);
        let task = tokio::spawn(poller.clone().run(stop_rx));
        let deadline = Instant::now() + Duration::from_secs(10);
        while checkpoint.get("shardId-0").as_deref() != Some("00010") {
            assert!(
                Instant::now() < deadline,
                "the shard was not read to its end"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        stop_tx.send(true).unwrap();
        task.await.unwrap();

        // The expired iterator was replaced by one from the checkpoint.
        let iterators = source.iterators.lock().unwrap().clone();
        assert_eq!(iterators[0], None);
        assert!(iterators.len() >= 2, "{iterators:?}");
        // Every record but the poison one was processed; the poison one was tried
        // 1 + maximum_retries times, then described to the destination, alone.
        let mut done = function.done.lock().unwrap().clone();
        done.sort();
        done.dedup();
        let want: Vec<String> = (1..=10)
            .filter(|&i| i != 6)
            .map(|i| format!("{i:05}"))
            .collect();
        assert_eq!(done, want);
        let calls = function.calls.lock().unwrap().clone();
        let poison_tries = calls
            .iter()
            .filter(|c| c.contains(&"00006".to_string()))
            .count();
        assert_eq!(poison_tries, 3, "{calls:?}");
        let sent = sink.0.lock().unwrap().clone();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0]["KinesisBatchInfo"]["startSequenceNumber"], "00006");
        assert_eq!(sent[0]["KinesisBatchInfo"]["endSequenceNumber"], "00006");
        assert_eq!(sent[0]["failedSequenceNumbers"], json!(["00006"]));
        // No batch is larger than the batch size.
        assert!(calls.iter().all(|c| c.len() <= 4));
    }

    #[tokio::test]
    async fn a_restart_resumes_after_the_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp.json");
        std::fs::write(&path, r#"{"shardId-0": "00007"}"#).unwrap();
        let checkpoint = Arc::new(Checkpoint::open(&path).unwrap());
        let source = Arc::new(FakeShard {
            records: (1..=9).map(rec).collect(),
            expire_once: Mutex::new(false),
            iterators: Mutex::new(Vec::new()),
        });
        let function = Arc::new(Flaky {
            poison: BTreeSet::new(),
            calls: Mutex::new(Vec::new()),
            done: Mutex::new(Vec::new()),
        });
        let poller = Arc::new(Poller {
            source: source.clone(),
            function: function.clone(),
            failures: None,
            checkpoint: checkpoint.clone(),
            settings: settings(),
        });
        let (stop_tx, stop_rx) = watch::channel(false);
        let task = tokio::spawn(poller.run(stop_rx));
        let deadline = Instant::now() + Duration::from_secs(10);
        while checkpoint.get("shardId-0").as_deref() != Some("00009") {
            assert!(Instant::now() < deadline);
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        stop_tx.send(true).unwrap();
        task.await.unwrap();
        assert_eq!(
            source.iterators.lock().unwrap()[0].as_deref(),
            Some("00007")
        );
        assert_eq!(
            function.done.lock().unwrap().clone(),
            vec!["00008".to_string(), "00009".to_string()]
        );
    }
}
