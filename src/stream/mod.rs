//! `ecomflow-infra stream`: replays a dataset CSV into the pipeline in batches (never one
//! request per row), through the API as a Cognito user or with `--direct` straight to
//! Kinesis, at an optional steady rate, and reports what the pipeline accepted and refused.

mod auth;
mod batches;
mod send;

pub use auth::{CognitoSession, Password};
pub use batches::{Batch, BatchReader};
pub use send::{Answer, SendError, Sender};

use crate::cli::{Global, Output, StreamArgs};
use crate::engine::Session;
use anyhow::{bail, Context, Result};
use futures::stream::{FuturesUnordered, StreamExt};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// Kinesis takes at most 500 records per `PutRecords` call.
const DIRECT_MAX_BATCH: u32 = 500;

/// What a replay did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    /// `api` or `direct`.
    pub mode: String,
    /// Rows sent (each in exactly one batch).
    pub sent: u64,
    /// Rows the pipeline accepted onto the stream.
    pub accepted: u64,
    /// Rows refused by the cleaning rules.
    pub rejected: u64,
    /// Refused rows by reason.
    pub rejected_by_reason: BTreeMap<String, u64>,
    /// Valid rows the stream kept refusing, plus rows of batches that never got through.
    pub failed: u64,
    /// Requests (API) or handler calls (`--direct`) that succeeded.
    pub batches: u64,
    /// Wall time in seconds.
    pub seconds: f64,
    /// Rows sent per second.
    pub rows_per_second: f64,
    /// Where to resume (`--from-row`) if some batches did not get through.
    pub resume_from_row: Option<u64>,
}

/// `stream`.
pub async fn run(g: &Global, args: &StreamArgs) -> Result<i32> {
    if args.direct && args.batch > DIRECT_MAX_BATCH {
        bail!("--batch {} is too large for --direct: Kinesis takes at most {DIRECT_MAX_BATCH} records per call", args.batch);
    }
    if args.rate.is_some_and(|r| !(r > 0.0 && r.is_finite())) {
        bail!("--rate must be a positive number of rows per second");
    }
    let reader = BatchReader::new(
        crate::datafile::open(&args.csv)?,
        args.batch as usize,
        args.from_row,
        args.limit,
    )
    .with_context(|| format!("failed to read {}", args.csv.display()))?;
    let session = crate::session::open_session(g).await?;
    let sender = if args.direct {
        direct_sender(&session)?
    } else {
        api_sender(&session, args).await?
    };
    let progress = progress_bar(g.quiet, args.limit);
    let mut summary = replay(
        reader,
        &sender,
        args.rate,
        usize::from(args.concurrency),
        &progress,
    )
    .await?;
    progress.finish_and_clear();
    summary.mode = if args.direct { "direct" } else { "api" }.into();
    if g.output == Output::Json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print!("{}", render(&summary));
    }
    Ok(if summary.resume_from_row.is_some() || summary.failed > 0 {
        1
    } else {
        0
    })
}

fn direct_sender(session: &Session) -> Result<Sender> {
    let env = crate::blueprint::declared_environment(&session.blueprint, "ingest")
        .context("the stack declares no ingest function")?;
    let config =
        ingest::Config::from_lookup(|k| env.get(k).cloned()).map_err(anyhow::Error::msg)?;
    Ok(Sender::Direct {
        config,
        sink: ingest::AwsBackend::new(session.aws.kinesis.clone(), session.aws.s3.clone()),
    })
}

async fn api_sender(session: &Session, args: &StreamArgs) -> Result<Sender> {
    let username = args
        .username
        .clone()
        .context("API mode needs a Cognito user: pass --username (or use --direct)")?;
    let password = std::env::var("ECOMFLOW_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty())
        .context("API mode reads the user's password from ECOMFLOW_PASSWORD, which is not set")?;
    let new_password = std::env::var("ECOMFLOW_NEW_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty())
        .map(Password::new);
    let outputs = crate::outputs::read(session).await?;
    let client_id = outputs
        .app_client_id
        .context("the stack's Cognito app client was not found: run apply first")?;
    let base = match &args.api_url {
        Some(u) => u.clone(),
        None => outputs
            .api_url
            .context("the stack's API was not found: run apply first, or pass --api-url")?,
    };
    let auth = CognitoSession::sign_in(
        session.aws.cognito.clone(),
        client_id,
        username,
        Password::new(password),
        new_password,
    )
    .await?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .context("failed to set up the HTTP client")?;
    Ok(Sender::Api {
        http,
        url: format!("{}/records", base.trim_end_matches('/')),
        auth,
    })
}

fn progress_bar(quiet: bool, limit: Option<u64>) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = match limit {
        Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr()),
        None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {pos} rows sent [{elapsed_precise}] {per_sec} {wide_msg}",
        )
        .expect("valid progress template"),
    );
    bar
}

/// Sends every batch of `reader` through `sender`, at most `concurrency` at a time, and at
/// most `rate` rows per second. A batch that does not get through stops further sending;
/// the summary says where to resume.
pub async fn replay<R: std::io::Read>(
    mut reader: BatchReader<R>,
    sender: &Sender,
    rate: Option<f64>,
    concurrency: usize,
    progress: &ProgressBar,
) -> Result<Summary> {
    let started = Instant::now();
    let mut summary = Summary::default();
    let mut inflight = FuturesUnordered::new();
    let mut produced: u64 = 0;
    let mut first_failure: Option<(u64, SendError)> = None;
    let mut exhausted = false;
    loop {
        while !exhausted && first_failure.is_none() && inflight.len() < concurrency.max(1) {
            let Some(batch) = reader.next_batch()? else {
                exhausted = true;
                break;
            };
            if let Some(rate) = rate {
                // A fixed schedule (row n leaves at start + n/rate) keeps the average rate
                // exact whatever the batch size; a token bucket would add nothing here.
                let due = started + Duration::from_secs_f64(produced as f64 / rate);
                tokio::time::sleep_until(due.into()).await;
            }
            produced += batch.rows as u64;
            inflight.push(async move {
                let answer = sender.send(&batch).await;
                (batch, answer)
            });
        }
        let Some((batch, answer)) = inflight.next().await else {
            break;
        };
        summary.sent += batch.rows as u64;
        match answer {
            Ok(a) => {
                summary.batches += 1;
                summary.accepted += a.accepted;
                summary.rejected += a.rejected;
                summary.failed += a.failed;
                for (reason, n) in a.rejected_by_reason {
                    *summary.rejected_by_reason.entry(reason).or_insert(0) += n;
                }
                progress.inc(batch.rows as u64);
                progress.set_message(format!(
                    "accepted {} rejected {}",
                    summary.accepted, summary.rejected
                ));
            }
            Err(e) => {
                summary.failed += batch.rows as u64;
                tracing::error!(first_row = batch.first_row, rows = batch.rows, error = %e, "batch did not get through");
                if first_failure
                    .as_ref()
                    .is_none_or(|(row, _)| batch.first_row < *row)
                {
                    first_failure = Some((batch.first_row, e));
                }
            }
        }
    }
    summary.seconds = started.elapsed().as_secs_f64();
    summary.rows_per_second = summary.sent as f64 / summary.seconds.max(1e-9);
    if let Some((row, e)) = first_failure {
        summary.resume_from_row = Some(row);
        eprintln!("error: {e}");
    }
    Ok(summary)
}

/// The summary as text.
pub fn render(s: &Summary) -> String {
    let mut out = format!(
        "Streamed {} rows ({}) in {:.1} s, {:.0} rows/s: {} accepted, {} rejected, {} failed\n",
        s.sent, s.mode, s.seconds, s.rows_per_second, s.accepted, s.rejected, s.failed
    );
    for (reason, n) in &s.rejected_by_reason {
        if *n > 0 {
            out.push_str(&format!("  rejected {reason}: {n}\n"));
        }
    }
    if let Some(row) = s.resume_from_row {
        out.push_str(&format!(
            "Some batches did not get through: rerun with --from-row {row} to resume\n"
        ));
    }
    out
}
