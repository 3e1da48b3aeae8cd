//! How an invocation is judged and what is retried: `batchItemFailures`, bisection, and the
//! retry limit.

use super::settings::Settings;
use super::source::StreamRecord;
use aws_lambda_events::streams::KinesisEventResponse;
use std::time::Duration;

/// Longest pause between retries of a failing batch (or destination).
pub(super) const MAX_RETRY_PAUSE: Duration = Duration::from_secs(30);

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

/// The reported failed sequence numbers that fall in `records`.
pub(super) fn reported_failures(
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
