//! EcomFlow ingest Lambda: API Gateway (REST, proxy integration) -> validate -> Kinesis,
//! rejected rows to S3.
//!
//! The body is one JSON record, a JSON array of records, or CSV text with the dataset
//! header. Base64-encoded bodies are decoded first. Every record is cleaned with
//! [`records`] (duplicates inside one request dropped).
//!
//! 1. The rejected rows, if any, are stored first, as one gzip object per request:
//!    `s3://BUCKET/rejects/ingest/dt=YYYY-MM-DD/{body digest}.jsonl.gz`, one JSON line per
//!    row in the shape `process` stores under `rejects/` ([`Rejection`]: `reason`, `detail`,
//!    `input` (the raw CSV line or JSON text) and `index`, the row's 0-based position in the
//!    body). The day is the request's time (API Gateway's `requestTimeEpoch`, else now); the
//!    name is the SHA-256 of the decoded body, so a retried request overwrites its own
//!    object instead of counting its rejects twice. Compressed because a rejection line
//!    costs about 60 bytes more than its row: a 6 MiB body of tiny rejected rows would
//!    otherwise need several hundred MB, while compressed the lines stay a small fraction of
//!    the body (Athena and Glue read `.gz` objects as they are).
//! 2. Valid records are then sent to the stream with `PutRecords` (at most 500 records and
//!    5 MB a call, partition key = InvoiceNo, data = the clean JSON line), and records the
//!    stream refuses are retried with exponential backoff.
//!
//! If the rejects cannot be stored, nothing is sent to the stream and the answer is a `503`
//! (so the producer sends the request again): a `202` promises that every row is either on
//! the stream or under `rejects/`.
//!
//! # Who may post
//!
//! Before anything else, [`handle`] checks the caller's Cognito groups against the route's
//! (`ROUTE_GROUPS`, [`Config::route_groups`]; by default only `producers` may
//! `POST /records`): a caller in none of them gets `403` `{"message":"..."}` and the body is
//! not read. The API's authorizer only verifies the token; why the group check is here is in
//! the [`access`] crate's documentation. [`ingest`] is the same work without the check, for
//! callers that write the stream with AWS credentials of their own (`stream --direct`).
//!
//! # What a body may be
//!
//! * **Content-Type** ([`body_type`]): `text/csv` or `application/csv` for CSV;
//!   `application/json`, `text/json` or any `+json` type for JSON; none, or `text/plain`,
//!   to have it sniffed (a body starting with `{` or `[` is JSON, anything else CSV).
//!   Any other type is refused with `415`.
//! * **Charset**: JSON is UTF-8 (a leading byte-order mark is ignored). CSV is read as
//!   UTF-8 when it is, otherwise as ISO-8859-1, the dataset's own encoding; a CSV
//!   declared `charset=utf-8` must be valid UTF-8. Charsets other than UTF-8 (and
//!   US-ASCII), and ISO-8859-1 for CSV, are refused with `415`.
//! * **Size**: at most [`Config::max_body_bytes`] (`MAX_BODY_BYTES`, default 6 MiB, the
//!   Lambda payload limit; API Gateway itself stops at 10 MB), after base64 decoding;
//!   larger bodies are refused with `413` before anything is parsed.
//! * **Nesting**: JSON nested deeper than 128 levels is refused (`400`), without
//!   recursion deep enough to hurt the stack.
//!
//! Memory stays proportional to what is kept, not to what is sent: JSON arrays are
//! cleaned one element at a time as they are parsed, and only the first
//! [`MAX_LISTED_REJECTIONS`] rejections are kept in full (the rest are counted).
//!
//! # Answers
//!
//! * `403` `{"message":"..."}` for a caller not allowed on the route (see above);
//! * `202` `{"accepted":N,"rejected":M,"rejected_by_reason":{...},"rejections":[...]}`
//!   (at most 100 rejections listed, each with its index, reason and detail, the detail
//!   cut to [`MAX_ECHO_CHARS`] characters);
//! * `400` `{"error":"..."}` for an empty, undecodable or unparseable body, invalid UTF-8
//!   where UTF-8 is required, a JSON body that is not an object or array, or a CSV without
//!   the header; `413` for a body over the limit; `415` for a refused Content-Type or
//!   charset (every error message is cut to [`MAX_ECHO_CHARS`] characters);
//! * `503` with the same counts plus `"failed"` when the stream kept refusing records;
//! * `503` `{"error":"..."}` when the rejected rows could not be stored (nothing was sent:
//!   send the request again).

use async_trait::async_trait;
use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_lambda_events::encodings::Body;
use base64::Engine;
use records::{BatchCleaner, Cleaner, CleaningRules, InvoiceLine, RejectReason, Rejection};
use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

/// Largest body accepted, after base64 decoding.
pub const DEFAULT_MAX_BODY_BYTES: usize = 6 * 1024 * 1024;
/// `PutRecords` limits.
pub const MAX_RECORDS_PER_CALL: usize = 500;
/// `PutRecords` byte limit per call (data plus partition keys).
pub const MAX_BYTES_PER_CALL: usize = 5 * 1024 * 1024;
/// How many rejections a response lists in full.
pub const MAX_LISTED_REJECTIONS: usize = 100;
/// Longest error message or rejection detail an answer carries, in characters: they may
/// quote the body, and an answer must stay small and readable.
pub const MAX_ECHO_CHARS: usize = 300;

/// Settings, normally from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// Kinesis stream name (`STREAM_NAME`).
    pub stream_name: String,
    /// The lake bucket, where rejected rows go under [`REJECTS_PREFIX`] (`BUCKET`).
    pub bucket: String,
    /// Cleaning rules (`KEEP_CANCELLATIONS`, ...).
    pub rules: CleaningRules,
    /// Body size limit in bytes (`MAX_BODY_BYTES`, default 6 MiB).
    pub max_body_bytes: usize,
    /// Attempts for records the stream refuses (first try included).
    pub max_attempts: u32,
    /// First backoff delay; doubled after every attempt.
    pub base_backoff: Duration,
    /// The Cognito groups allowed on each route (`ROUTE_GROUPS`, required).
    pub route_groups: access::RouteGroups,
}

impl Config {
    /// Reads the configuration through `lookup` (e.g. `|k| std::env::var(k).ok()`).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, String> {
        let stream_name = lookup("STREAM_NAME")
            .filter(|s| !s.is_empty())
            .ok_or("STREAM_NAME is not set")?;
        let bucket = lookup("BUCKET")
            .filter(|s| !s.is_empty())
            .ok_or("BUCKET is not set")?;
        let route_groups = access::RouteGroups::from_lookup(&lookup)?;
        let rules = CleaningRules::from_lookup(&lookup)?;
        let max_body_bytes = match lookup("MAX_BODY_BYTES") {
            Some(v) if !v.is_empty() => v
                .parse()
                .map_err(|_| format!("MAX_BODY_BYTES {v:?} is not a number"))?,
            _ => DEFAULT_MAX_BODY_BYTES,
        };
        Ok(Config {
            stream_name,
            bucket,
            rules,
            max_body_bytes,
            max_attempts: 5,
            base_backoff: Duration::from_millis(100),
            route_groups,
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

/// Where `ingest` puts its rejected rows in the lake bucket (the role may write only here).
pub const REJECTS_PREFIX: &str = "rejects/ingest/";

/// The AWS calls the handler needs: Kinesis for clean rows, S3 for rejected ones.
#[async_trait]
pub trait Backend: Send + Sync {
    /// Puts up to 500 records in one call. Returns, for each record in order, `None`
    /// when it was stored or `Some(error code)` when it was refused. `Err` means the
    /// whole call failed.
    async fn put_records(
        &self,
        stream: &str,
        records: &[StreamRecord],
    ) -> Result<Vec<Option<String>>, String>;

    /// `PutObject` of a gzip-compressed JSON-lines body.
    async fn put_object(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), String>;
}

/// The [`Backend`] over the AWS SDK.
#[derive(Debug, Clone)]
pub struct AwsBackend {
    kinesis: aws_sdk_kinesis::Client,
    s3: aws_sdk_s3::Client,
}

impl AwsBackend {
    /// Wraps a Kinesis and an S3 client.
    pub fn new(kinesis: aws_sdk_kinesis::Client, s3: aws_sdk_s3::Client) -> Self {
        AwsBackend { kinesis, s3 }
    }
}

#[async_trait]
impl Backend for AwsBackend {
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
            .kinesis
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

    async fn put_object(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), String> {
        self.s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type("application/gzip")
            .body(body.into())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                format!(
                    "PutObject failed: {}",
                    aws_sdk_s3::error::DisplayErrorContext(e)
                )
            })
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

/// A failure of the request as a whole: the HTTP status (4xx) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// `400`, `413` or `415`.
    pub status: i64,
    /// What is wrong, for the `error` field of the answer.
    pub message: String,
}

impl Refusal {
    /// `400 Bad Request`.
    pub fn bad(message: impl Into<String>) -> Self {
        Refusal {
            status: 400,
            message: message.into(),
        }
    }

    /// `413 Payload Too Large`.
    pub fn too_large(message: impl Into<String>) -> Self {
        Refusal {
            status: 413,
            message: message.into(),
        }
    }

    /// `415 Unsupported Media Type`.
    pub fn unsupported(message: impl Into<String>) -> Self {
        Refusal {
            status: 415,
            message: message.into(),
        }
    }
}

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
    json_response(status, &serde_json::json!({ "error": clip(message) }))
}

/// `text` cut to [`MAX_ECHO_CHARS`] characters, saying how much was left out.
pub fn clip(text: &str) -> Cow<'_, str> {
    clip_to(text, MAX_ECHO_CHARS)
}

/// `text` cut to `max` characters, saying how much was left out.
fn clip_to(text: &str, max: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => Cow::Borrowed(text),
        Some((end, _)) => {
            let rest = text[end..].chars().count();
            Cow::Owned(format!("{}... ({rest} more characters)", &text[..end]))
        }
    }
}

/// Decodes (base64 if flagged) and size-checks the body. A text body is borrowed.
pub fn body_bytes(req: &ApiGatewayProxyRequest, max: usize) -> Result<Cow<'_, [u8]>, Refusal> {
    let raw = req.body.as_deref().unwrap_or("");
    let too_large = |len: &dyn std::fmt::Display| {
        Refusal::too_large(format!(
            "body is {len} bytes, larger than the {max} byte limit"
        ))
    };
    let bytes = if req.is_base64_encoded {
        // Base64 is 4/3 of the decoded size: refuse early when it cannot fit.
        if raw.len() / 4 * 3 > max + 3 {
            return Err(too_large(&format_args!("about {}", raw.len() / 4 * 3)));
        }
        Cow::Owned(
            base64::engine::general_purpose::STANDARD
                .decode(raw.trim())
                .map_err(|e| {
                    Refusal::bad(format!("body is flagged base64 but does not decode: {e}"))
                })?,
        )
    } else {
        Cow::Borrowed(raw.as_bytes())
    };
    if bytes.len() > max {
        return Err(too_large(&bytes.len()));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Refusal::bad("body is empty"));
    }
    Ok(bytes)
}

/// How a body is to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    /// CSV with the dataset header.
    Csv,
    /// A JSON object or array of objects.
    Json,
    /// Not said: JSON if the body starts with `{` or `[`, CSV otherwise.
    Sniff,
}

/// What the `Content-Type` header says about the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyType {
    /// The format.
    pub format: BodyFormat,
    /// A charset was given: `Some(true)` for UTF-8 (or US-ASCII), `Some(false)` for
    /// ISO-8859-1.
    pub utf8: Option<bool>,
}

/// Reads the `Content-Type` header; refuses (`415`) a media type or charset the handler
/// does not read.
pub fn body_type(req: &ApiGatewayProxyRequest) -> Result<BodyType, Refusal> {
    let Some(value) = req.headers.get("content-type") else {
        return Ok(BodyType {
            format: BodyFormat::Sniff,
            utf8: None,
        });
    };
    let value = value.to_str().map_err(|_| {
        Refusal::unsupported(
            "the Content-Type header is not plain text; send text/csv or application/json",
        )
    })?;
    let mut parts = value.split(';');
    let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let format = match media.as_str() {
        "" | "text/plain" => BodyFormat::Sniff,
        "text/csv" | "application/csv" => BodyFormat::Csv,
        "application/json" | "text/json" => BodyFormat::Json,
        m if m.starts_with("application/") && m.ends_with("+json") => BodyFormat::Json,
        _ => {
            return Err(Refusal::unsupported(format!(
                "Content-Type {:?} is not accepted; send text/csv or application/json",
                clip(&media)
            )))
        }
    };
    let mut utf8 = None;
    for param in parts {
        let Some((name, charset)) = param.split_once('=') else {
            continue;
        };
        if !name.trim().eq_ignore_ascii_case("charset") {
            continue;
        }
        let charset = charset.trim().trim_matches('"').to_ascii_lowercase();
        utf8 = match charset.as_str() {
            "utf-8" | "utf8" | "us-ascii" => Some(true),
            "iso-8859-1" | "latin1" | "latin-1" | "iso_8859-1" if format != BodyFormat::Json => {
                Some(false)
            }
            _ => {
                return Err(Refusal::unsupported(format!(
                    "charset {:?} is not accepted; send UTF-8 (CSV may also be ISO-8859-1)",
                    clip(&charset)
                )))
            }
        };
    }
    Ok(BodyType { format, utf8 })
}

/// Whether a body is CSV (`true`) or JSON, from Content-Type or by sniffing.
pub fn is_csv(ty: BodyType, body: &[u8]) -> bool {
    match ty.format {
        BodyFormat::Csv => true,
        BodyFormat::Json => false,
        BodyFormat::Sniff => {
            let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
            let first = body.iter().find(|b| !b.is_ascii_whitespace());
            !matches!(first, Some(b'{') | Some(b'['))
        }
    }
}

/// `Err` naming the first byte that is not UTF-8, and why UTF-8 was required.
fn require_utf8(body: &[u8], why: &str) -> Result<(), Refusal> {
    std::str::from_utf8(body).map(drop).map_err(|e| {
        let at = e.valid_up_to();
        Refusal::bad(format!(
            "body is not valid UTF-8 (byte 0x{:02X} at offset {at}); {why}",
            body[at]
        ))
    })
}

/// Every rejection of a request as gzip-compressed JSON lines, compressed as they come
/// ([`Rejection::write_json_line`], the line `process` stores).
#[derive(Debug, Default)]
pub struct RejectsBody {
    /// Created at the first rejection (the compressor's state is a few hundred KB).
    gz: Option<flate2::write::GzEncoder<Vec<u8>>>,
    /// One line, reused.
    line: Vec<u8>,
}

impl RejectsBody {
    fn push(&mut self, r: &Rejection) {
        self.line.clear();
        r.write_json_line(&mut self.line);
        let gz = self.gz.get_or_insert_with(|| {
            flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default())
        });
        // Writing to a Vec cannot fail.
        let _ = gz.write_all(&self.line);
    }

    /// The finished gzip body (empty when nothing was rejected).
    pub fn finish(self) -> Vec<u8> {
        self.gz.and_then(|gz| gz.finish().ok()).unwrap_or_default()
    }
}

/// What a request's records came to: the records for the stream, every rejection for
/// `rejects/`, the rejection counts, and the first [`MAX_LISTED_REJECTIONS`] rejections for
/// the answer.
#[derive(Debug, Default)]
pub struct Tally {
    /// Clean records for the stream, in body order.
    pub records: Vec<StreamRecord>,
    /// Rejections per reason.
    pub rejected_by_reason: BTreeMap<RejectReason, u64>,
    /// How many records were rejected.
    pub rejected: usize,
    /// The first rejections, details cut to [`MAX_ECHO_CHARS`].
    pub listed: Vec<ListedRejection>,
    /// Every rejection in full.
    pub rejects: RejectsBody,
}

impl Tally {
    fn accept(&mut self, line: &InvoiceLine) {
        let mut data = Vec::new();
        line.write_json_line(&mut data);
        data.pop();
        data.shrink_to_fit();
        self.records.push(StreamRecord {
            partition_key: line.invoice_no.clone(),
            data,
        });
    }

    fn reject(&mut self, r: Rejection) {
        self.rejects.push(&r);
        self.rejected += 1;
        *self.rejected_by_reason.entry(r.reason).or_insert(0) += 1;
        if self.listed.len() < MAX_LISTED_REJECTIONS {
            self.listed.push(ListedRejection {
                index: r.index,
                reason: r.reason,
                detail: clip(&r.detail).into_owned(),
            });
        }
    }

    fn push(&mut self, r: Result<InvoiceLine, Rejection>) {
        match r {
            Ok(line) => self.accept(&line),
            Err(r) => self.reject(r),
        }
    }
}

/// Cleans a body into stream records and rejections. `csv` says which reader to use.
pub fn clean_body(cleaner: &Cleaner, body: &[u8], csv: bool) -> Result<Tally, Refusal> {
    let mut batch = cleaner.batch();
    let mut tally = Tally::default();
    if csv {
        let mut reader = records::csv_reader(body);
        let mut rec = records::ByteRecord::new();
        records::read_header(&mut reader, &mut rec).map_err(|e| match e {
            // The header found is quoted cut short, so the expected one stays in sight.
            records::InputError::BadHeader { found } => Refusal::bad(format!(
                "body is not the dataset's CSV: its first line is {}, expected {}",
                clip_to(&format!("{:?}", clip_to(&found, 80)), 100),
                records::COLUMNS.join(",")
            )),
            other => Refusal::bad(format!("body is not the dataset's CSV: {other}")),
        })?;
        let mut line = InvoiceLine::default();
        loop {
            match reader.read_byte_record(&mut rec) {
                Ok(false) => break,
                Ok(true) => match batch.csv_record_into(&rec, &mut line) {
                    Ok(()) => tally.accept(&line),
                    Err(r) => tally.reject(r),
                },
                Err(e) => return Err(Refusal::bad(format!("body is not readable CSV: {e}"))),
            }
        }
        return Ok(tally);
    }
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let mut de = serde_json::Deserializer::from_slice(body);
    let seed = Records {
        batch: &mut batch,
        tally: &mut tally,
    };
    seed.deserialize(&mut de)
        .and_then(|()| de.end())
        .map_err(|e| Refusal::bad(format!("body is not valid JSON: {e}")))?;
    Ok(tally)
}

/// Cleans a JSON object, or each element of a JSON array as soon as it is parsed (so a
/// large array never exists as one tree in memory).
struct Records<'a, 'c> {
    batch: &'a mut BatchCleaner<'c>,
    tally: &'a mut Tally,
}

impl<'de> DeserializeSeed<'de> for Records<'_, '_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Records<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object or an array of objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(v) = seq.next_element::<serde_json::Value>()? {
            self.tally.push(self.batch.json_value(&v));
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let v = serde_json::Value::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
        self.tally.push(self.batch.json_value(&v));
        Ok(())
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
pub async fn deliver(sink: &dyn Backend, cfg: &Config, records: Vec<StreamRecord>) -> usize {
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

/// The key of a request's rejects object: under [`REJECTS_PREFIX`], by the request's day
/// (`requestTimeEpoch`, in milliseconds, else now) and the SHA-256 of its decoded body.
pub fn rejects_key(req: &ApiGatewayProxyRequest, body: &[u8]) -> String {
    let at = chrono::DateTime::from_timestamp_millis(req.request_context.request_time_epoch)
        .filter(|_| req.request_context.request_time_epoch > 0)
        .unwrap_or_else(chrono::Utc::now);
    format!(
        "{REJECTS_PREFIX}dt={}/{:x}.jsonl.gz",
        at.format("%Y-%m-%d"),
        Sha256::digest(body)
    )
}

/// Handles one API Gateway request: checks that the caller may call the route (`403`
/// otherwise), then [`ingest`]s it.
pub async fn handle(
    req: &ApiGatewayProxyRequest,
    cfg: &Config,
    backend: &dyn Backend,
) -> ApiGatewayProxyResponse {
    if let Some(refused) = cfg.route_groups.refusal(req) {
        return refused;
    }
    ingest(req, cfg, backend).await
}

/// The work of [`handle`] without the group check: stores the rejected rows, then sends the
/// clean ones. Only for callers outside the API, whose own AWS credentials (IAM) decide
/// whether they may write the stream, such as `stream --direct`; it has no Cognito identity
/// to check.
pub async fn ingest(
    req: &ApiGatewayProxyRequest,
    cfg: &Config,
    backend: &dyn Backend,
) -> ApiGatewayProxyResponse {
    let (tally, key) = match read_request(req, cfg) {
        Ok(t) => t,
        Err(Refusal { status, message }) => return error_response(status, &message),
    };
    if tally.rejected > 0 {
        let body = tally.rejects.finish();
        if let Err(e) = backend.put_object(&cfg.bucket, &key, body).await {
            tracing::warn!(error = %e, key, "rejects not stored; nothing sent");
            return error_response(
                503,
                &format!(
                    "the {} rejected rows could not be stored under rejects/, so nothing was \
                     sent; send the request again ({e})",
                    tally.rejected
                ),
            );
        }
        tracing::info!(
            key,
            request_id = req.request_context.request_id.as_deref().unwrap_or(""),
            rejected = tally.rejected,
            "rejects stored"
        );
    }
    let total = tally.records.len();
    let failed = deliver(backend, cfg, tally.records).await;
    let summary = IngestSummary {
        accepted: total - failed,
        rejected: tally.rejected,
        failed,
        rejected_by_reason: tally.rejected_by_reason,
        rejections: tally.listed,
    };
    tracing::info!(
        accepted = summary.accepted,
        rejected = summary.rejected,
        failed,
        "ingested"
    );
    json_response(if failed == 0 { 202 } else { 503 }, &summary)
}

/// Everything before S3 and the stream: the body's type, size, encoding and records, and
/// the key its rejects go to ([`rejects_key`]).
pub fn read_request(
    req: &ApiGatewayProxyRequest,
    cfg: &Config,
) -> Result<(Tally, String), Refusal> {
    let ty = body_type(req)?;
    let body = body_bytes(req, cfg.max_body_bytes)?;
    let csv = is_csv(ty, &body);
    if !csv {
        require_utf8(&body, "JSON must be UTF-8")?;
    } else if ty.utf8 == Some(true) {
        require_utf8(
            &body,
            "the Content-Type says charset=utf-8 (send ISO-8859-1 text as charset=iso-8859-1)",
        )?;
    }
    let tally = clean_body(&Cleaner::new(cfg.rules), &body, csv)?;
    Ok((tally, rejects_key(req, &body)))
}
