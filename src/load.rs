//! `ecomflow-infra load`: the batch path. Uploads a raw CSV to `raw/` in the lake bucket
//! (multipart, with progress), starts the Glue ETL job on it, waits for the run with a
//! timeout while reporting its state, runs the warehouse's COPY job so the new Parquet is in
//! the warehouse when `load` returns, and publishes a storage-update message to the alerts
//! topic.
//!
//! A rerun of the same content changes nothing: each load leaves a record
//! `loads/<sha256 of the file>.json` naming its Glue run, and a file whose record names a run
//! that succeeded or still runs is neither uploaded nor run again (that run is waited for
//! instead). A failed run's file is loaded again. The warehouse follows the lake: its COPY job
//! loads each Parquet object once, by name.

use crate::aws::AwsError;
use crate::cli::{Global, LoadArgs, Output};
use crate::model::Kind;
use anyhow::{bail, Context, Result};
use aws_sdk_glue::types::JobRunState;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use futures::stream::{self, StreamExt, TryStreamExt};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{IsTerminal, Read};
use std::path::Path;
use std::time::{Duration, Instant};

/// Parts uploaded at once.
const PARTS_IN_FLIGHT: usize = 4;
/// Longest pause between two polls of the job run: a run takes minutes on AWS, and a few
/// seconds of GetJobRun calls are cheap next to a late answer.
const MAX_POLL: Duration = Duration::from_secs(5);
/// Where the record of each load is kept in the lake.
pub const LOADS_PREFIX: &str = "loads/";

/// What a load did.
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    /// Where the raw file went.
    pub s3_uri: String,
    /// SHA-256 of the file, which names its load record.
    pub sha256: String,
    /// Bytes uploaded (0 when the file was loaded before).
    pub bytes: u64,
    /// Parts of the multipart upload (1 for a single PutObject, 0 when not uploaded).
    pub parts: usize,
    /// True when an earlier load of the same content succeeded or still runs: nothing was
    /// uploaded or started, and `job_run_id` is that load's run.
    pub loaded_before: bool,
    /// The Glue job.
    pub job: String,
    /// The run ID.
    pub job_run_id: String,
    /// The run's last known state (`RUNNING` with `--no-wait`).
    pub state: String,
    /// The run's error message, if it failed.
    pub error: Option<String>,
    /// The Data API statement that ran the warehouse's COPY job, when the stack has one.
    pub warehouse_statement: Option<String>,
    /// Seconds from start to end.
    pub seconds: f64,
    /// Seconds of each stage: `upload`, `glue_run` (start to its end), `warehouse` (the COPY
    /// job's run).
    pub stage_seconds: std::collections::BTreeMap<&'static str, f64>,
    /// Message ID of the storage-update notification, when published.
    pub notification: Option<String>,
}

/// The record of a load, `loads/<sha256>.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct LoadRecord {
    sha256: String,
    raw: String,
    job_run_id: String,
}

/// `load`.
pub async fn run(g: &Global, args: &LoadArgs) -> Result<i32> {
    let started = Instant::now();
    let key = raw_key(&args.csv, args.key.as_deref())?;
    let sha256 = file_sha256(&args.csv)?;
    let session = crate::session::open_session(g).await?;
    let names = &session.blueprint.names;
    let bucket = names.lake_bucket();
    let job = session
        .blueprint
        .resources
        .iter()
        .find(|r| r.kind == Kind::GlueJob)
        .map(|r| r.physical.clone())
        .context("the stack declares no Glue ETL job")?;
    let topic_arn = names.topic_arn(&names.alerts_topic());
    let s3 = &session.aws.s3;
    let glue = &session.aws.glue;
    let record_key = format!("{LOADS_PREFIX}{sha256}.json");

    let mut stages = std::collections::BTreeMap::new();
    let mut stage = Instant::now();
    let mut lap = |name: &'static str| {
        stages.insert(name, stage.elapsed().as_secs_f64());
        stage = Instant::now();
    };
    let earlier = match read_record(s3, &bucket, &record_key).await? {
        Some(r) => match run_state(glue, &job, &r.job_run_id).await? {
            Some(state) if !ended_badly(&state) => Some((r, state)),
            _ => None,
        },
        None => None,
    };
    let (s3_uri, bytes, parts, run_id) = match &earlier {
        Some((r, state)) => {
            eprintln!(
                "{} was loaded before ({} by Glue run {}, {}): not uploaded or run again",
                args.csv.display(),
                r.raw,
                r.job_run_id,
                state.as_str()
            );
            (r.raw.clone(), 0, 0, r.job_run_id.clone())
        }
        None => {
            let (bytes, parts) = upload(
                s3,
                &bucket,
                &key,
                &args.csv,
                u64::from(args.part_size_mib) << 20,
                g.quiet,
            )
            .await?;
            let s3_uri = format!("s3://{bucket}/{key}");
            eprintln!(
                "uploaded {} ({bytes} bytes, {parts} parts) to {s3_uri}",
                args.csv.display()
            );
            lap("upload");
            let run = glue
                .start_job_run()
                .job_name(&job)
                .arguments("--input", &s3_uri)
                .send()
                .await
                .map_err(|e| {
                    AwsError::from(e).context(format!("failed to start the Glue job {job}"))
                })?;
            let run_id = run.job_run_id().unwrap_or_default().to_string();
            eprintln!("started Glue job {job}, run {run_id}");
            let record = LoadRecord {
                sha256: sha256.clone(),
                raw: s3_uri.clone(),
                job_run_id: run_id.clone(),
            };
            write_record(s3, &bucket, &record_key, &record).await?;
            (s3_uri, bytes, parts, run_id)
        }
    };

    let (state, error) = if args.no_wait {
        ("RUNNING".to_string(), None)
    } else {
        wait_for_run(glue, &job, &run_id, args.timeout.into()).await?
    };
    lap("glue_run");
    let succeeded = state == JobRunState::Succeeded.as_str();
    let warehouse_statement = if succeeded {
        load_warehouse(&session, args.timeout.into()).await?
    } else {
        None
    };
    if warehouse_statement.is_some() {
        lap("warehouse");
    }
    let mut report = LoadReport {
        s3_uri,
        sha256,
        bytes,
        parts,
        loaded_before: earlier.is_some(),
        job,
        job_run_id: run_id,
        state,
        error,
        warehouse_statement,
        seconds: 0.0,
        stage_seconds: stages,
        notification: None,
    };
    if !report.loaded_before {
        let message = serde_json::json!({
            "event": "ecomflow.storage_update",
            "stack": session.instance(),
            "source": "load",
            "raw_object": report.s3_uri,
            "bytes": report.bytes,
            "glue_job": report.job,
            "glue_job_run": report.job_run_id,
            "glue_state": report.state,
        });
        let published = session
            .aws
            .sns
            .publish()
            .topic_arn(&topic_arn)
            .subject(format!("EcomFlow storage update: {}", session.instance()))
            .message(message.to_string())
            .send()
            .await
            .map_err(|e| AwsError::from(e).context("failed to publish the storage update"))?;
        report.notification = published.message_id().map(str::to_string);
    }
    report.seconds = started.elapsed().as_secs_f64();
    if g.output == Output::Json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "{} {} ({} bytes) in {:.1} s; Glue run {} of {}: {}{}",
            if report.loaded_before {
                "Already loaded"
            } else {
                "Loaded"
            },
            report.s3_uri,
            report.bytes,
            report.seconds,
            report.job_run_id,
            report.job,
            report.state,
            report
                .error
                .as_deref()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default()
        );
    }
    Ok(if succeeded || args.no_wait { 0 } else { 1 })
}

/// Hex SHA-256 of the file, read in blocks.
fn file_sha256(path: &Path) -> Result<String> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("failed to open {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("failed to read {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

async fn read_record(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<Option<LoadRecord>> {
    let out = match s3.get_object().bucket(bucket).key(key).send().await {
        Ok(out) => out,
        Err(e) => {
            let e = AwsError::from(e);
            if e.is(&["NoSuchKey", "NotFound"]) {
                return Ok(None);
            }
            return Err(e
                .context(format!("failed to read s3://{bucket}/{key}"))
                .into());
        }
    };
    let body = out
        .body
        .collect()
        .await
        .with_context(|| format!("failed to read s3://{bucket}/{key}"))?;
    // A record this tool cannot read is no record: the file is loaded again.
    Ok(serde_json::from_slice(&body.into_bytes()).ok())
}

async fn write_record(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    record: &LoadRecord,
) -> Result<()> {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .content_type("application/json")
        .body(ByteStream::from(serde_json::to_vec(record)?))
        .send()
        .await
        .map_err(|e| AwsError::from(e).context(format!("failed to write s3://{bucket}/{key}")))?;
    Ok(())
}

/// The state of a job run; `None` when Glue no longer knows it.
async fn run_state(
    glue: &aws_sdk_glue::Client,
    job: &str,
    run_id: &str,
) -> Result<Option<JobRunState>> {
    match glue.get_job_run().job_name(job).run_id(run_id).send().await {
        Ok(out) => Ok(out.job_run().and_then(|r| r.job_run_state().cloned())),
        Err(e) => {
            let e = AwsError::from(e);
            if e.is(&["EntityNotFoundException"]) {
                Ok(None)
            } else {
                Err(e
                    .context(format!("failed to read Glue job run {run_id}"))
                    .into())
            }
        }
    }
}

/// A run that ended without its output: its file is to be loaded again.
fn ended_badly(state: &JobRunState) -> bool {
    matches!(
        state,
        JobRunState::Failed
            | JobRunState::Stopped
            | JobRunState::Timeout
            | JobRunState::Error
            | JobRunState::Expired
    )
}

/// Runs the warehouse's COPY job now (`COPY JOB RUN`), so the run's Parquet is in the warehouse
/// when `load` returns; Redshift would load it by itself shortly after. A file the job loaded
/// before is not loaded again. `None` when the stack has no warehouse.
async fn load_warehouse(
    session: &crate::engine::Session,
    timeout: Duration,
) -> Result<Option<String>> {
    use crate::blueprint::WAREHOUSE_COPY_JOB as COPY_JOB;
    let Some(job) = session
        .blueprint
        .resources
        .iter()
        .find(|r| r.kind == Kind::RedshiftSchema && r.name == COPY_JOB)
    else {
        return Ok(None);
    };
    let field = |k: &str| job.spec[k].as_str().unwrap_or_default().to_string();
    let (cluster, database) = (field("cluster"), field("database"));
    let statement = crate::aws::redshift_execute(
        &session.aws,
        &cluster,
        &database,
        &format!("COPY JOB RUN {COPY_JOB}"),
        timeout,
    )
    .await
    .map_err(|e| {
        e.context(format!(
            "failed to run the COPY job {COPY_JOB} on {cluster}"
        ))
    })?;
    eprintln!("ran the warehouse's COPY job {COPY_JOB} on {cluster} (statement {statement})");
    Ok(Some(statement))
}

/// The object key under `raw/`: the given name or the file's own.
fn raw_key(path: &Path, key: Option<&str>) -> Result<String> {
    let name = match key {
        Some(k) => k.trim_start_matches('/').to_string(),
        None => path
            .file_name()
            .and_then(|n| n.to_str())
            .context("the file name is not valid UTF-8; pass --key")?
            .to_string(),
    };
    if name.is_empty() || name.split('/').any(|s| s == ".." || s == ".") {
        bail!("object key {name:?} is not a plain relative key");
    }
    Ok(format!("raw/{}", name.trim_start_matches("raw/")))
}

fn byte_bar(quiet: bool, total: u64) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("uploading {bar:30} {bytes}/{total_bytes} {bytes_per_sec}")
            .expect("valid progress template"),
    );
    bar
}

/// Uploads the file as is (compressed files stay compressed: Glue and Spark read gzip).
/// Files larger than one part go up as a multipart upload, aborted on failure so no
/// half-uploaded parts are left to bill. Returns (bytes, parts).
async fn upload(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    path: &Path,
    part_size: u64,
    quiet: bool,
) -> Result<(u64, usize)> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("failed to read {}", path.display()))?
        .len();
    let bar = byte_bar(quiet, size);
    if size <= part_size {
        let body = ByteStream::from_path(path)
            .await
            .with_context(|| format!("failed to read {}", path.display()))?;
        s3.put_object()
            .bucket(bucket)
            .key(key)
            .body(body)
            .send()
            .await
            .map_err(|e| {
                AwsError::from(e).context(format!("failed to upload s3://{bucket}/{key}"))
            })?;
        bar.finish_and_clear();
        return Ok((size, 1));
    }
    let created = s3
        .create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| {
            AwsError::from(e).context(format!("failed to start uploading s3://{bucket}/{key}"))
        })?;
    let upload_id = created
        .upload_id()
        .context("S3 returned no multipart upload ID")?
        .to_string();
    let result = upload_parts(s3, bucket, key, &upload_id, path, part_size, &bar).await;
    bar.finish_and_clear();
    match result {
        Ok(parts) => {
            let count = parts.len();
            let done = s3
                .complete_multipart_upload()
                .bucket(bucket)
                .key(key)
                .upload_id(&upload_id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(parts))
                        .build(),
                )
                .send()
                .await;
            match done {
                Ok(_) => Ok((size, count)),
                // Emulators may name the answer's root element after the operation.
                Err(e)
                    if crate::aws::misnamed_root(&e, "CompleteMultipartUploadResponse")
                        .is_some_and(|body| body.contains("<ETag>")) =>
                {
                    Ok((size, count))
                }
                Err(e) => Err(AwsError::from(e)
                    .context(format!("failed to finish uploading s3://{bucket}/{key}"))
                    .into()),
            }
        }
        Err(e) => {
            if let Err(abort) = s3
                .abort_multipart_upload()
                .bucket(bucket)
                .key(key)
                .upload_id(&upload_id)
                .send()
                .await
            {
                tracing::warn!(error = %AwsError::from(abort), "failed to abort the multipart upload");
            }
            Err(e)
        }
    }
}

async fn upload_parts(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    upload_id: &str,
    path: &Path,
    part_size: u64,
    bar: &ProgressBar,
) -> Result<Vec<CompletedPart>> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("failed to open {}", path.display()))?;
    // Parts are read one after another (the file is read once, in order) and sent with a
    // few in flight; memory stays at PARTS_IN_FLIGHT parts.
    let chunks = stream::iter(1..=10_000i32)
        .map(move |number| -> Result<Option<(i32, Vec<u8>)>> {
            let mut buf = Vec::with_capacity(part_size as usize);
            (&mut file)
                .take(part_size)
                .read_to_end(&mut buf)
                .context("failed to read the file")?;
            Ok((!buf.is_empty()).then_some((number, buf)))
        })
        .take_while(|r| futures::future::ready(!matches!(r, Ok(None))))
        .map_ok(|chunk| chunk.expect("empty chunks end the stream"));
    let mut parts: Vec<CompletedPart> = chunks
        .map_ok(|(number, buf)| async move {
            let len = buf.len() as u64;
            let out = s3
                .upload_part()
                .bucket(bucket)
                .key(key)
                .upload_id(upload_id)
                .part_number(number)
                .body(ByteStream::from(buf))
                .send()
                .await
                .map_err(|e| {
                    AwsError::from(e).context(format!("failed to upload part {number}"))
                })?;
            bar.inc(len);
            Ok::<_, anyhow::Error>(
                CompletedPart::builder()
                    .part_number(number)
                    .set_e_tag(out.e_tag().map(str::to_string))
                    .build(),
            )
        })
        .try_buffer_unordered(PARTS_IN_FLIGHT)
        .try_collect()
        .await?;
    parts.sort_by_key(|p| p.part_number());
    Ok(parts)
}

/// Polls the job run until it ends or `timeout` passes, printing each new state.
/// Glue has no waiter for job runs in the SDK, hence the loop.
async fn wait_for_run(
    glue: &aws_sdk_glue::Client,
    job: &str,
    run_id: &str,
    timeout: Duration,
) -> Result<(String, Option<String>)> {
    let deadline = Instant::now() + timeout;
    let mut delay = Duration::from_secs(1);
    let mut last = None;
    loop {
        let out = glue
            .get_job_run()
            .job_name(job)
            .run_id(run_id)
            .send()
            .await
            .map_err(|e| {
                AwsError::from(e).context(format!("failed to read Glue job run {run_id}"))
            })?;
        let run = out.job_run().context("Glue returned no job run")?;
        let state = run.job_run_state().cloned();
        if state != last {
            eprintln!(
                "Glue run {run_id}: {}",
                state.as_ref().map(|s| s.as_str()).unwrap_or("UNKNOWN")
            );
            last = state.clone();
        }
        if let Some(
            s @ (JobRunState::Succeeded
            | JobRunState::Failed
            | JobRunState::Stopped
            | JobRunState::Timeout
            | JobRunState::Error
            | JobRunState::Expired),
        ) = state
        {
            return Ok((
                s.as_str().to_string(),
                run.error_message().map(str::to_string),
            ));
        }
        if Instant::now() + delay > deadline {
            bail!(
                "Glue run {run_id} of {job} did not finish within {}; it is still {} (check it in \
                 the Glue console or rerun with a longer --timeout)",
                humantime::format_duration(timeout),
                last.as_ref().map(|s| s.as_str()).unwrap_or("UNKNOWN")
            );
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(MAX_POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_go_under_raw() {
        let p = Path::new("/data/online_retail.csv.gz");
        assert_eq!(raw_key(p, None).unwrap(), "raw/online_retail.csv.gz");
        assert_eq!(raw_key(p, Some("2010/12.csv")).unwrap(), "raw/2010/12.csv");
        assert_eq!(raw_key(p, Some("raw/x.csv")).unwrap(), "raw/x.csv");
        assert!(raw_key(p, Some("../etc/passwd")).is_err());
        assert!(raw_key(p, Some("")).is_err());
    }
}
