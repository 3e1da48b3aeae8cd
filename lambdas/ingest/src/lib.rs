//! EcomFlow ingest Lambda: API Gateway (REST, proxy integration) -> validate -> Kinesis.
//!
//! The body is one JSON record, a JSON array of records, or CSV text with the dataset
//! header (`Content-Type: text/csv`, or sniffed: a body starting with `{` or `[` is
//! JSON, anything else CSV). Base64-encoded bodies are decoded first. Every record is
//! cleaned with [`records`] (duplicates inside one request dropped); valid ones are
//! sent to the stream with `PutRecords` (at most 500 records and 5 MB a call,
//! partition key = InvoiceNo, data = the clean JSON line), and records the stream
//! refuses are retried with exponential backoff.
//!
//! Answers:
//! * `202` `{"accepted":N,"rejected":M,"rejected_by_reason":{...},"rejections":[...]}`
//!   (at most 100 rejections listed, each with its index, reason and detail);
//! * `400` `{"error":"..."}` for an empty, undecodable, unparseable or too large body,
//!   a JSON body that is not an object or array, or a CSV without the header;
//! * `503` with the same counts plus `"failed"` when the stream kept refusing records.

use async_trait::async_trait;
use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_lambda_events::encodings::Body;
use base64::Engine;
use records::{CleanBatch, Cleaner, CleaningRules, InputError, RejectReason};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// Largest body accepted, after base64 decoding.
pub const DEFAULT_MAX_BODY_BYTES: usize = 6 * 1024 * 1024;
/// `PutRecords` limits.
pub const MAX_RECORDS_PER_CALL: usize = 500;
/// `PutRecords` byte limit per call (data plus partition keys).
pub const MAX_BYTES_PER_CALL: usize = 5 * 1024 * 1024;
/// How many rejections a response lists in full.
pub const MAX_LISTED_REJECTIONS: usize = 100;

/// Settings, normally from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// Kinesis stream name (`STREAM_NAME`).
    pub stream_name: String,
    /// Cleaning rules (`KEEP_CANCELLATIONS`, ...).
    pub rules: CleaningRules,
    /// Body size limit in bytes (`MAX_BODY_BYTES`, default 6 MiB).
    pub max_body_bytes: usize,
    /// Attempts for records the stream refuses (first try included).
    pub max_attempts: u32,
    /// First backoff delay; doubled after every attempt.
    pub base_backoff: Duration,
}

impl Config {
    /// Reads the configuration through `lookup` (e.g. `|k| std::env::var(k).ok()`).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, String> {
        let stream_name = lookup("STREAM_NAME")
            .filter(|s| !s.is_empty())
            .ok_or("STREAM_NAME is not set")?;
        let rules = CleaningRules::from_lookup(&lookup)?;
        let max_body_bytes = match lookup("MAX_BODY_BYTES") {
            Some(v) if !v.is_empty() => v
                .parse()
                .map_err(|_| format!("MAX_BODY_BYTES {v:?} is not a number"))?,
            _ => DEFAULT_MAX_BODY_BYTES,
        };
        Ok(Config {
            stream_name,
            rules,
            max_body_bytes,
            max_attempts: 5,
            base_backoff: Duration::from_millis(100),
        })
    }
}

/// One record for the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamRecord {
    /// Partition key (the InvoiceNo).
    pub partition_key: String,
    /// Payload (one clean JSON line, no trailing newline).
    pub data: Vec<u8>,
}

/// The part of Kinesis the handler needs.
#[async_trait]
pub trait StreamSink: Send + Sync {
    /// Puts up to 500 records in one call. Returns, for each record in order, `None`
    /// when it was stored or `Some(error code)` when it was refused. `Err` means the
    /// whole call failed.
    async fn put_records(
        &self,
        stream: &str,
        records: &[StreamRecord],
    ) -> Result<Vec<Option<String>>, String>;
}

/// The `StreamSink` over the AWS SDK.
#[derive(Debug, Clone)]
pub struct KinesisSink {
    client: aws_sdk_kinesis::Client,
}

impl KinesisSink {
    /// Wraps a Kinesis client.
    pub fn new(client: aws_sdk_kinesis::Client) -> Self {
        KinesisSink { client }
    }
}

#[async_trait]
impl StreamSink for KinesisSink {
    async fn put_records(
        &self,
        stream: &str,
        records: &[StreamRecord],
    ) -> Result<Vec<Option<String>>, String> {
        use aws_sdk_kinesis::primitives::Blob;
        use aws_sdk_kinesis::types::PutRecordsRequestEntry;
        let entries = records
            .iter()
            .map(|r| {
                PutRecordsRequestEntry::builder()
                    .partition_key(&r.partition_key)
                    .data(Blob::new(r.data.clone()))
                    .build()
                    .map_err(|e| e.to_string())
            })
            .collect::<Result<Vec<_>, _>>()?;
        let out = self
            .client
            .put_records()
            .stream_name(stream)
            .set_records(Some(entries))
            .send()
            .await
            .map_err(|e| {
                format!(
                    "PutRecords failed: {}",
                    aws_sdk_kinesis::error::DisplayErrorContext(e)
                )
            })?;
        Ok(out
            .records()
            .iter()
            .map(|r| r.error_code().map(str::to_owned))
            .collect())
    }
}

/// The JSON body of a 202/503 answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IngestSummary {
    /// Valid records delivered to the stream.
    pub accepted: usize,
    /// Records rejected by the cleaning rules.
    pub rejected: usize,
    /// Valid records the stream refused even after retries (only in a 503).
    #[serde(skip_serializing_if = "is_zero")]
    pub failed: usize,
    /// Rejections per reason.
    pub rejected_by_reason: BTreeMap<RejectReason, u64>,
    /// The first rejections: index in the body, reason, detail.
    pub rejections: Vec<ListedRejection>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// One rejection in an answer (without the full input).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ListedRejection {
    /// 0-based position of the record in the body (data rows for CSV).
    pub index: Option<usize>,
    /// Machine-readable reason.
    pub reason: RejectReason,
    /// Human detail.
    pub detail: String,
}

/// A 400-style failure of the request as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRequest(pub String);

/// Builds a JSON response.
pub fn json_response(status: i64, body: &impl Serialize) -> ApiGatewayProxyResponse {
    let mut r = ApiGatewayProxyResponse::default();
    r.status_code = status;
    r.headers.insert(
        "content-type",
        aws_lambda_events::http::HeaderValue::from_static("application/json"),
    );
    r.body = Some(Body::Text(
        serde_json::to_string(body).unwrap_or_else(|_| "{}".to_owned()),
    ));
    r
}

fn error_response(status: i64, message: &str) -> ApiGatewayProxyResponse {
    json_response(status, &serde_json::json!({ "error": message }))
}

/// Decodes (base64 if flagged) and size-checks the body.
pub fn body_bytes(req: &ApiGatewayProxyRequest, max: usize) -> Result<Vec<u8>, BadRequest> {
    let raw = req.body.as_deref().unwrap_or("");
    let bytes = if req.is_base64_encoded {
        // Base64 is 4/3 of the decoded size: refuse early when it cannot fit.
        if raw.len() / 4 * 3 > max + 3 {
            return Err(BadRequest(format!("body is larger than {max} bytes")));
        }
        base64::engine::general_purpose::STANDARD
            .decode(raw.trim())
            .map_err(|e| BadRequest(format!("body is flagged base64 but does not decode: {e}")))?
    } else {
        raw.as_bytes().to_vec()
    };
    if bytes.len() > max {
        return Err(BadRequest(format!(
            "body is {} bytes, larger than the {max} byte limit",
            bytes.len()
        )));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(BadRequest("body is empty".into()));
    }
    Ok(bytes)
}

/// Whether a body is CSV (`true`) or JSON, from Content-Type or by sniffing.
pub fn is_csv(req: &ApiGatewayProxyRequest, body: &[u8]) -> bool {
    let ct = req
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ct.contains("csv") {
        return true;
    }
    if ct.contains("json") {
        return false;
    }
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    !matches!(first, Some(b'{') | Some(b'['))
}

/// Cleans a body into accepted lines and rejections.
pub fn clean_body(cleaner: &Cleaner, body: &[u8], csv: bool) -> Result<CleanBatch, BadRequest> {
    if csv {
        return cleaner.clean_csv(body).map_err(|e| match e {
            InputError::Csv(e) => BadRequest(format!("body is not readable CSV: {e}")),
            other => BadRequest(other.to_string()),
        });
    }
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| BadRequest(format!("body is not valid JSON: {e}")))?;
    match &value {
        serde_json::Value::Array(items) => Ok(cleaner.clean_json_values(items)),
        serde_json::Value::Object(_) => Ok(cleaner.clean_json_values([&value])),
        _ => Err(BadRequest(
            "JSON body must be an object or an array of objects".into(),
        )),
    }
}

/// Splits records into `PutRecords` calls of at most 500 records and 5 MB.
pub fn chunk_records(records: &[StreamRecord]) -> Vec<&[StreamRecord]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, r) in records.iter().enumerate() {
        let size = r.data.len() + r.partition_key.len();
        if i > start && (i - start == MAX_RECORDS_PER_CALL || bytes + size > MAX_BYTES_PER_CALL) {
            out.push(&records[start..i]);
            start = i;
            bytes = 0;
        }
        bytes += size;
    }
    if start < records.len() {
        out.push(&records[start..]);
    }
    out
}

/// Sends records, retrying refused ones with exponential backoff. Returns how many
/// could not be delivered after `cfg.max_attempts` attempts.
pub async fn deliver(sink: &dyn StreamSink, cfg: &Config, records: Vec<StreamRecord>) -> usize {
    let mut pending = records;
    let mut delay = cfg.base_backoff;
    for attempt in 1..=cfg.max_attempts.max(1) {
        let mut refused = Vec::new();
        for chunk in chunk_records(&pending) {
            match sink.put_records(&cfg.stream_name, chunk).await {
                Ok(results) => {
                    for (i, r) in chunk.iter().enumerate() {
                        // A missing result counts as refused.
                        if !matches!(results.get(i), Some(None)) {
                            refused.push(r.clone());
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, attempt, "PutRecords call failed");
                    refused.extend_from_slice(chunk);
                }
            }
        }
        if refused.is_empty() {
            return 0;
        }
        tracing::warn!(refused = refused.len(), attempt, "retrying refused records");
        pending = refused;
        if attempt < cfg.max_attempts {
            tokio::time::sleep(delay).await;
            delay = delay.saturating_mul(2);
        }
    }
    pending.len()
}

/// Handles one API Gateway request.
pub async fn handle(
    req: &ApiGatewayProxyRequest,
    cfg: &Config,
    sink: &dyn StreamSink,
) -> ApiGatewayProxyResponse {
    let body = match body_bytes(req, cfg.max_body_bytes) {
        Ok(b) => b,
        Err(BadRequest(m)) => return error_response(400, &m),
    };
    let cleaner = Cleaner::new(cfg.rules);
    let batch = match clean_body(&cleaner, &body, is_csv(req, &body)) {
        Ok(b) => b,
        Err(BadRequest(m)) => return error_response(400, &m),
    };
    let records: Vec<StreamRecord> = batch
        .accepted
        .iter()
        .map(|l| StreamRecord {
            partition_key: l.invoice_no.clone(),
            data: l.to_json().into_bytes(),
        })
        .collect();
    let total = records.len();
    let failed = deliver(sink, cfg, records).await;
    let summary = IngestSummary {
        accepted: total - failed,
        rejected: batch.rejected.len(),
        failed,
        rejected_by_reason: batch.rejected_by_reason(),
        rejections: batch
            .rejected
            .iter()
            .take(MAX_LISTED_REJECTIONS)
            .map(|r| ListedRejection {
                index: r.index,
                reason: r.reason,
                detail: r.detail.clone(),
            })
            .collect(),
    };
    tracing::info!(
        accepted = summary.accepted,
        rejected = summary.rejected,
        failed,
        "ingested"
    );
    json_response(if failed == 0 { 202 } else { 503 }, &summary)
}
