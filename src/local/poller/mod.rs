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

mod event;
mod retry;
mod settings;
mod source;
#[cfg(test)]
mod tests;

pub use event::{build_event, failure_record};
pub use retry::{judge, RetryState, Step, Verdict};
pub use settings::{Destination, Settings, StartingPosition};
pub use source::{FailureSink, Fetched, Shard, ShardSource, SourceError, StreamRecord};

use super::checkpoint::Checkpoint;
use super::functions::StreamFunction;
use chrono::Utc;
use retry::{reported_failures, MAX_RETRY_PAUSE};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// Pause after an AWS error that the SDK's own retries did not overcome.
const ERROR_PAUSE: Duration = Duration::from_secs(2);
/// How often the shard list is read again (new shards after a reshard).
const SHARD_REFRESH: Duration = Duration::from_secs(60);

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
