//! EcomFlow process Lambda: Kinesis batch -> clean -> DynamoDB + Firehose, rejects to S3,
//! an SNS alert when too many records are rejected.
//!
//! For each Kinesis event:
//!
//! 1. Every record's data is decoded (UTF-8, else Latin-1) and split into lines; each
//!    non-empty line is one JSON record, cleaned with [`records`] (duplicates dropped
//!    within the event).
//! 2. Accepted lines go to the **invoices** table with `BatchWriteItem` (25 a call,
//!    `UnprocessedItems` retried with backoff). Key: `InvoiceNo` (S) and `LineKey` (S) =
//!    `"{StockCode}#{16 hex digits}"`, where the digits are a stable FNV-1a hash of the
//!    line's other fields. An invoice can hold several different lines with the same
//!    StockCode (5,199 such pairs in the dataset), so StockCode alone cannot be the sort
//!    key without losing lines; the content hash keeps them apart while making a
//!    redelivered line overwrite itself. Attributes: `StockCode`, `Description`,
//!    `InvoiceDate`, `Country` (S), `Quantity`, `UnitPrice` (exact decimal text),
//!    `CustomerID` (N), `IsCancellation` (BOOL).
//! 3. For every (CustomerID, InvoiceNo) touched, the **customers** item is recomputed
//!    from the invoices table (a consistent `Query` of all the invoice's lines) and
//!    written with `PutItem`: `CustomerID` (N), `InvoiceNo` (S), `InvoiceTotal` (N, exact
//!    sum of Quantity x UnitPrice), `LineCount` (N), `InvoiceDate`, `Country` (S),
//!    `IsCancellation` (BOOL). Recomputing from the stored lines makes the item correct
//!    when an invoice's lines arrive in several batches and idempotent on redelivery.
//!    Kinesis keeps one partition key (= InvoiceNo) on one shard, processed in order, so
//!    two invocations do not race on one invoice.
//! 4. Clean lines go to Firehose as newline-terminated JSON (`PutRecordBatch`, at most
//!    500 records and 4 MiB a call, failed records retried). Firehose is at least once:
//!    a redelivered Kinesis record may be delivered twice there.
//! 5. Rejections go to `s3://BUCKET/rejects/dt=YYYY-MM-DD/{first sequence number}.jsonl`
//!    as JSON lines (reason, detail, original input, sequence number); the key comes
//!    from the event, so a redelivery overwrites the same object.
//! 6. When rejected / (accepted + rejected) exceeds `REJECT_ALERT_THRESHOLD` (default
//!    0.2), a message with the counts per reason is published to the SNS topic.
//! 7. What was stored is added to the storage-update digest, which goes to the same topic
//!    at most once per `DIGEST_MINUTES` (see [`digest`]).
//!
//! The answer lists in `batchItemFailures` the sequence numbers of the records some of
//! whose work failed after retries (a rejected record is not a failure: it is stored
//! under `rejects/`).

use async_trait::async_trait;
use aws_lambda_events::kinesis::KinesisEvent;
use aws_lambda_events::streams::{KinesisBatchItemFailure, KinesisEventResponse};
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use futures::StreamExt;
use records::{Cleaner, CleaningRules, InvoiceLine, RejectReason, Rejection};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

pub mod digest;
pub use digest::{Counts, DigestConfig};

/// Customer summaries recomputed at once (each is a Query and a PutItem).
const CUSTOMER_WRITES_IN_FLIGHT: usize = 8;

/// A DynamoDB item.
pub type Item = HashMap<String, AttributeValue>;

/// Settings, normally from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// `INVOICES_TABLE`.
    pub invoices_table: String,
    /// `CUSTOMERS_TABLE`.
    pub customers_table: String,
    /// `DELIVERY_STREAM` (Firehose, into the lake).
    pub delivery_stream: String,
    /// `BUCKET` for rejects.
    pub bucket: String,
    /// `TOPIC_ARN` for alerts.
    pub topic_arn: String,
    /// `REJECT_ALERT_THRESHOLD`, a fraction in 0..=1 (default 0.2).
    pub reject_alert_threshold: f64,
    /// The storage-update digest, when `UPDATES_TABLE` is set.
    pub digest: Option<DigestConfig>,
    /// Cleaning rules (`KEEP_CANCELLATIONS`, ...).
    pub rules: CleaningRules,
    /// Attempts for throttled or failed writes (first try included).
    pub max_attempts: u32,
    /// First backoff delay, doubled after each attempt.
    pub base_backoff: Duration,
}

impl Config {
    /// Reads the configuration through `lookup` (e.g. `|k| std::env::var(k).ok()`).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, String> {
        let need = |k: &str| {
            lookup(k)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| format!("{k} is not set"))
        };
        let threshold = match lookup("REJECT_ALERT_THRESHOLD") {
            Some(v) if !v.is_empty() => v
                .parse::<f64>()
                .ok()
                .filter(|t| (0.0..=1.0).contains(t))
                .ok_or_else(|| {
                format!("REJECT_ALERT_THRESHOLD {v:?} is not a number in 0..=1")
            })?,
            _ => 0.2,
        };
        let minutes = match lookup("DIGEST_MINUTES") {
            Some(v) if !v.is_empty() => v
                .parse::<u32>()
                .ok()
                .filter(|m| *m <= 1440)
                .ok_or_else(|| format!("DIGEST_MINUTES {v:?} is not a number in 0..=1440"))?,
            _ => 60,
        };
        let digest = lookup("UPDATES_TABLE")
            .filter(|v| !v.is_empty())
            .map(|table| DigestConfig {
                table,
                interval_seconds: i64::from(minutes) * 60,
                stack: lookup("STACK").unwrap_or_default(),
            });
        Ok(Config {
            invoices_table: need("INVOICES_TABLE")?,
            customers_table: need("CUSTOMERS_TABLE")?,
            delivery_stream: need("DELIVERY_STREAM")?,
            bucket: need("BUCKET")?,
            topic_arn: need("TOPIC_ARN")?,
            reject_alert_threshold: threshold,
            digest,
            rules: CleaningRules::from_lookup(&lookup)?,
            max_attempts: 5,
            base_backoff: Duration::from_millis(100),
        })
    }
}

/// The AWS calls the processor needs.
#[async_trait]
pub trait Backend: Send + Sync {
    /// One `BatchWriteItem` of at most 25 puts; returns the items left unprocessed.
    async fn batch_put(&self, table: &str, items: Vec<Item>) -> Result<Vec<Item>, String>;
    /// All lines of one invoice (consistent read, every page), with at least the
    /// attributes in [`SUMMARY_ATTRIBUTES`].
    async fn query_invoice(&self, table: &str, invoice_no: &str) -> Result<Vec<Item>, String>;
    /// `PutItem`.
    async fn put_item(&self, table: &str, item: Item) -> Result<(), String>;
    /// One `PutRecordBatch`; returns for each record whether it failed.
    async fn firehose_put(&self, stream: &str, records: Vec<Vec<u8>>) -> Result<Vec<bool>, String>;
    /// `PutObject`.
    async fn s3_put(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), String>;
    /// `Publish`.
    async fn publish(&self, topic_arn: &str, subject: &str, message: &str) -> Result<(), String>;
    /// Adds `counts` to the digest item of `table` (creating it), setting its `since` when
    /// unset; returns the item's `SentAt`, the time of the last message.
    async fn digest_add(
        &self,
        table: &str,
        counts: &Counts,
        now: i64,
    ) -> Result<Option<i64>, String>;
    /// When the item's `SentAt` is absent or at most `cutoff`: sets it to `now`, zeroes the
    /// counts and returns them as they were. `None` when the condition does not hold.
    async fn digest_claim(
        &self,
        table: &str,
        now: i64,
        cutoff: i64,
    ) -> Result<Option<Counts>, String>;
    /// Undoes a claim made at `claimed_at` whose message was not published: adds `counts`
    /// back, and removes `SentAt` unless another claim came since.
    async fn digest_return(
        &self,
        table: &str,
        counts: &Counts,
        claimed_at: i64,
    ) -> Result<(), String>;
}

/// Stable 64-bit FNV-1a, used for the line key (must never change between releases).
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for &b in p.iter() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        // Separator so that field boundaries count.
        h ^= 0xff;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The sort key of a line in the invoices table: `"{StockCode}#{hash}"`.
pub fn line_key(line: &InvoiceLine) -> String {
    let q = line.quantity.to_string();
    let p = line.unit_price.to_string();
    let d = line.invoice_date_string();
    let c = line.customer_id.map(|c| c.to_string()).unwrap_or_default();
    let h = fnv1a(&[
        line.stock_code.as_bytes(),
        line.description.as_bytes(),
        q.as_bytes(),
        p.as_bytes(),
        d.as_bytes(),
        c.as_bytes(),
        line.country.as_bytes(),
    ]);
    format!("{}#{h:016x}", line.stock_code)
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// The invoices-table item of a line.
pub fn invoice_item(line: &InvoiceLine) -> Item {
    let mut item = Item::new();
    item.insert("InvoiceNo".into(), s(&line.invoice_no));
    item.insert("LineKey".into(), s(&line_key(line)));
    item.insert("StockCode".into(), s(&line.stock_code));
    item.insert("Description".into(), s(&line.description));
    item.insert("Quantity".into(), n(line.quantity));
    item.insert("InvoiceDate".into(), s(&line.invoice_date_string()));
    item.insert("UnitPrice".into(), n(line.unit_price));
    if let Some(c) = line.customer_id {
        item.insert("CustomerID".into(), n(c));
    }
    item.insert("Country".into(), s(&line.country));
    item.insert(
        "IsCancellation".into(),
        AttributeValue::Bool(line.is_cancellation),
    );
    item
}

/// The attributes of an invoice's lines that [`customer_item`] reads (the query for them
/// fetches only these).
pub const SUMMARY_ATTRIBUTES: [&str; 4] = ["Quantity", "UnitPrice", "InvoiceDate", "Country"];

/// The customers-table item for one invoice, from all its stored lines.
pub fn customer_item(customer_id: u32, invoice_no: &str, lines: &[Item]) -> Result<Item, String> {
    let mut total = Decimal::ZERO;
    let mut date: Option<String> = None;
    let mut country = String::new();
    for l in lines {
        let num = |k: &str| match l.get(k) {
            Some(AttributeValue::N(v)) => v
                .parse::<Decimal>()
                .map_err(|e| format!("{k} {v:?} in invoice {invoice_no}: {e}")),
            _ => Err(format!("{k} missing in a line of invoice {invoice_no}")),
        };
        total += num("Quantity")? * num("UnitPrice")?;
        if let Some(AttributeValue::S(d)) = l.get("InvoiceDate") {
            if date.as_ref().is_none_or(|x| d < x) {
                date = Some(d.clone());
            }
        }
        if let Some(AttributeValue::S(c)) = l.get("Country") {
            country.clone_from(c);
        }
    }
    let mut item = Item::new();
    item.insert("CustomerID".into(), n(customer_id));
    item.insert("InvoiceNo".into(), s(invoice_no));
    item.insert("InvoiceTotal".into(), n(total));
    item.insert("LineCount".into(), n(lines.len()));
    item.insert("InvoiceDate".into(), s(&date.unwrap_or_default()));
    item.insert("Country".into(), s(&country));
    item.insert(
        "IsCancellation".into(),
        AttributeValue::Bool(invoice_no.starts_with('C')),
    );
    Ok(item)
}

/// A rejected line as stored under `rejects/`.
#[derive(Debug, Serialize)]
struct StoredReject<'a> {
    #[serde(flatten)]
    rejection: &'a Rejection,
    sequence_number: &'a str,
}

/// What one invocation did, for logs and tests.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Outcome {
    /// Lines accepted.
    pub accepted: usize,
    /// Lines rejected.
    pub rejected: usize,
    /// Rejections per reason.
    pub rejected_by_reason: BTreeMap<RejectReason, u64>,
    /// Customer items written.
    pub customers_written: usize,
    /// S3 key of the rejects object, if any.
    pub rejects_key: Option<String>,
    /// Whether an alert was published.
    pub alerted: bool,
    /// Whether a storage-update digest was published.
    pub digested: bool,
    /// Sequence numbers reported as failed.
    pub failed_sequence_numbers: Vec<String>,
}

/// Processes one Kinesis event; the response lists records to retry.
pub async fn process(
    event: &KinesisEvent,
    cfg: &Config,
    backend: &dyn Backend,
) -> KinesisEventResponse {
    let outcome = process_outcome(event, cfg, backend).await;
    let mut resp = KinesisEventResponse::default();
    for seq in outcome.failed_sequence_numbers {
        let mut f = KinesisBatchItemFailure::default();
        f.item_identifier = Some(seq);
        resp.batch_item_failures.push(f);
    }
    resp
}

/// [`process`], returning the full [`Outcome`].
pub async fn process_outcome(event: &KinesisEvent, cfg: &Config, backend: &dyn Backend) -> Outcome {
    let cleaner = Cleaner::new(cfg.rules);
    let mut batch = cleaner.batch();
    let mut accepted: Vec<(InvoiceLine, usize)> = Vec::new();
    let mut rejected: Vec<(Rejection, usize)> = Vec::new();
    let seqs: Vec<&str> = event
        .records
        .iter()
        .map(|r| r.kinesis.sequence_number.as_str())
        .collect();
    for (ri, rec) in event.records.iter().enumerate() {
        let text = records::parse::decode_text(&rec.kinesis.data.0);
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            match batch.json_str(line) {
                Ok(l) => accepted.push((l, ri)),
                Err(r) => rejected.push((r, ri)),
            }
        }
    }
    let mut outcome = Outcome {
        accepted: accepted.len(),
        rejected: rejected.len(),
        ..Outcome::default()
    };
    for (r, _) in &rejected {
        *outcome.rejected_by_reason.entry(r.reason).or_insert(0) += 1;
    }
    let mut failed: BTreeSet<usize> = BTreeSet::new();

    // 2. Invoices table, one item per distinct line key.
    let mut by_key: BTreeMap<(String, String), (Item, Vec<usize>)> = BTreeMap::new();
    for (line, ri) in &accepted {
        let item = invoice_item(line);
        let key = (line.invoice_no.clone(), line_key(line));
        by_key
            .entry(key)
            .or_insert_with(|| (item, Vec::new()))
            .1
            .push(*ri);
    }
    let entries: Vec<_> = by_key.into_values().collect();
    let mut failed_invoices: BTreeSet<String> = BTreeSet::new();
    for chunk in entries.chunks(25) {
        let items: Vec<Item> = chunk.iter().map(|(i, _)| i.clone()).collect();
        let left = put_with_retry(backend, cfg, &cfg.invoices_table, items).await;
        for item in left {
            if let Some((_, ris)) = chunk.iter().find(|(i, _)| *i == item) {
                failed.extend(ris.iter().copied());
            }
            if let Some(AttributeValue::S(inv)) = item.get("InvoiceNo") {
                failed_invoices.insert(inv.clone());
            }
        }
    }

    // 3. Customers table, recomputed per touched invoice.
    let mut touched: BTreeMap<(u32, String), Vec<usize>> = BTreeMap::new();
    for (line, ri) in &accepted {
        if let Some(c) = line.customer_id {
            touched
                .entry((c, line.invoice_no.clone()))
                .or_default()
                .push(*ri);
        }
    }
    // Invoices are independent: their summaries are recomputed a few at a time.
    let mut pending = Vec::new();
    for ((customer, invoice), ris) in touched {
        if failed_invoices.contains(&invoice) {
            failed.extend(ris);
        } else {
            pending.push((customer, invoice, ris));
        }
    }
    let results: Vec<_> = futures::stream::iter(pending)
        .map(|(customer, invoice, ris)| async move {
            let result = async {
                let lines = backend.query_invoice(&cfg.invoices_table, &invoice).await?;
                let item = customer_item(customer, &invoice, &lines)?;
                backend.put_item(&cfg.customers_table, item).await
            }
            .await;
            (customer, invoice, ris, result)
        })
        .buffer_unordered(CUSTOMER_WRITES_IN_FLIGHT)
        .collect()
        .await;
    for (customer, invoice, ris, result) in results {
        match result {
            Ok(()) => outcome.customers_written += 1,
            Err(e) => {
                tracing::warn!(error = %e, invoice, customer, "customer item not written");
                failed.extend(ris);
            }
        }
    }

    // 4. Firehose.
    let lines: Vec<(Vec<u8>, usize)> = accepted
        .iter()
        .map(|(l, ri)| {
            let mut buf = Vec::with_capacity(256);
            l.write_json_line(&mut buf);
            (buf, *ri)
        })
        .collect();
    for ri in firehose_with_retry(backend, cfg, &cfg.delivery_stream, lines).await {
        failed.insert(ri);
    }

    // 5. Rejects to S3.
    if !rejected.is_empty() {
        let mut body = Vec::new();
        for (r, ri) in &rejected {
            let stored = StoredReject {
                rejection: r,
                sequence_number: seqs[*ri],
            };
            if serde_json::to_writer(&mut body, &stored).is_ok() {
                body.push(b'\n');
            }
        }
        let first = &event.records[rejected[0].1];
        let day = first
            .kinesis
            .approximate_arrival_timestamp
            .0
            .format("%Y-%m-%d")
            .to_string();
        let key = format!("rejects/dt={day}/{}.jsonl", seqs[rejected[0].1]);
        match backend.s3_put(&cfg.bucket, &key, body).await {
            Ok(()) => outcome.rejects_key = Some(key),
            Err(e) => {
                tracing::warn!(error = %e, "rejects not stored");
                failed.extend(rejected.iter().map(|(_, ri)| *ri));
            }
        }
    }

    // 6. Alert.
    let total = outcome.accepted + outcome.rejected;
    if total > 0 && outcome.rejected as f64 / total as f64 > cfg.reject_alert_threshold {
        let message = serde_json::json!({
            "rejected": outcome.rejected,
            "total": total,
            "reject_rate": outcome.rejected as f64 / total as f64,
            "threshold": cfg.reject_alert_threshold,
            "rejected_by_reason": outcome.rejected_by_reason,
            "rejects_key": outcome.rejects_key,
        });
        match backend
            .publish(
                &cfg.topic_arn,
                "EcomFlow: high reject rate",
                &message.to_string(),
            )
            .await
        {
            Ok(()) => outcome.alerted = true,
            Err(e) => tracing::warn!(error = %e, "alert not published"),
        }
    }

    // 7. Storage-update digest, of what records that did not fail stored.
    let counts = Counts {
        rows: accepted
            .iter()
            .filter(|(_, ri)| !failed.contains(ri))
            .count() as u64,
        rejected: rejected
            .iter()
            .filter(|(_, ri)| !failed.contains(ri))
            .count() as u64,
        batches: 1,
        since: None,
    };
    match digest::record(backend, cfg, counts, chrono::Utc::now().timestamp()).await {
        Ok(sent) => outcome.digested = sent,
        // The rows are stored: a lost digest is not a reason to process them again.
        Err(e) => tracing::warn!(error = %e, "storage-update digest not published"),
    }

    outcome.failed_sequence_numbers = failed.into_iter().map(|ri| seqs[ri].to_owned()).collect();
    tracing::info!(
        accepted = outcome.accepted,
        rejected = outcome.rejected,
        failed = outcome.failed_sequence_numbers.len(),
        "processed"
    );
    outcome
}

async fn put_with_retry(
    backend: &dyn Backend,
    cfg: &Config,
    table: &str,
    items: Vec<Item>,
) -> Vec<Item> {
    let mut pending = items;
    let mut delay = cfg.base_backoff;
    for attempt in 1..=cfg.max_attempts.max(1) {
        match backend.batch_put(table, pending.clone()).await {
            Ok(left) if left.is_empty() => return Vec::new(),
            Ok(left) => pending = left,
            Err(e) => tracing::warn!(error = %e, attempt, "BatchWriteItem failed"),
        }
        if attempt < cfg.max_attempts {
            tokio::time::sleep(delay).await;
            delay = delay.saturating_mul(2);
        }
    }
    pending
}

/// Firehose limits per `PutRecordBatch`.
const FIREHOSE_MAX_RECORDS: usize = 500;
const FIREHOSE_MAX_BYTES: usize = 4 * 1024 * 1024;

/// Sends lines to a Firehose stream; returns the record indices whose lines kept failing.
async fn firehose_with_retry(
    backend: &dyn Backend,
    cfg: &Config,
    stream: &str,
    lines: Vec<(Vec<u8>, usize)>,
) -> BTreeSet<usize> {
    let mut pending = lines;
    let mut delay = cfg.base_backoff;
    for attempt in 1..=cfg.max_attempts.max(1) {
        let mut again = Vec::new();
        let mut start = 0;
        while start < pending.len() {
            let mut end = start;
            let mut bytes = 0;
            while end < pending.len()
                && end - start < FIREHOSE_MAX_RECORDS
                && (end == start || bytes + pending[end].0.len() <= FIREHOSE_MAX_BYTES)
            {
                bytes += pending[end].0.len();
                end += 1;
            }
            let chunk = &pending[start..end];
            let data: Vec<Vec<u8>> = chunk.iter().map(|(d, _)| d.clone()).collect();
            match backend.firehose_put(stream, data).await {
                Ok(failed) => {
                    for (i, c) in chunk.iter().enumerate() {
                        if failed.get(i).copied().unwrap_or(true) {
                            again.push(c.clone());
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, attempt, "PutRecordBatch failed");
                    again.extend_from_slice(chunk);
                }
            }
            start = end;
        }
        if again.is_empty() {
            return BTreeSet::new();
        }
        pending = again;
        if attempt < cfg.max_attempts {
            tokio::time::sleep(delay).await;
            delay = delay.saturating_mul(2);
        }
    }
    pending.into_iter().map(|(_, ri)| ri).collect()
}

/// The [`Backend`] over the AWS SDK clients.
#[derive(Debug, Clone)]
pub struct AwsBackend {
    /// DynamoDB client.
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// Firehose client.
    pub firehose: aws_sdk_firehose::Client,
    /// S3 client.
    pub s3: aws_sdk_s3::Client,
    /// SNS client.
    pub sns: aws_sdk_sns::Client,
}

impl AwsBackend {
    /// Clients from one SDK configuration.
    pub fn new(cfg: &aws_config::SdkConfig) -> Self {
        AwsBackend {
            dynamodb: aws_sdk_dynamodb::Client::new(cfg),
            firehose: aws_sdk_firehose::Client::new(cfg),
            s3: aws_sdk_s3::Client::new(cfg),
            sns: aws_sdk_sns::Client::new(cfg),
        }
    }
}

fn err<E: std::error::Error>(what: &str, e: E) -> String {
    format!(
        "{what}: {}",
        aws_sdk_dynamodb::error::DisplayErrorContext(e)
    )
}

#[async_trait]
impl Backend for AwsBackend {
    async fn batch_put(&self, table: &str, items: Vec<Item>) -> Result<Vec<Item>, String> {
        let writes = items
            .into_iter()
            .map(|i| {
                PutRequest::builder()
                    .set_item(Some(i))
                    .build()
                    .map(|p| WriteRequest::builder().put_request(p).build())
                    .map_err(|e| e.to_string())
            })
            .collect::<Result<Vec<_>, _>>()?;
        let out = self
            .dynamodb
            .batch_write_item()
            .request_items(table, writes)
            .send()
            .await
            .map_err(|e| err("BatchWriteItem", e))?;
        Ok(out
            .unprocessed_items()
            .and_then(|m| m.get(table))
            .map(|ws| {
                ws.iter()
                    .filter_map(|w| w.put_request().map(|p| p.item().clone()))
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn query_invoice(&self, table: &str, invoice_no: &str) -> Result<Vec<Item>, String> {
        // Placeholders for every name: none can clash with a reserved word.
        let names: HashMap<String, String> = SUMMARY_ATTRIBUTES
            .iter()
            .enumerate()
            .map(|(i, a)| (format!("#a{i}"), a.to_string()))
            .collect();
        let projection = (0..SUMMARY_ATTRIBUTES.len())
            .map(|i| format!("#a{i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .dynamodb
                .query()
                .table_name(table)
                .consistent_read(true)
                .key_condition_expression("InvoiceNo = :i")
                .expression_attribute_values(":i", s(invoice_no))
                .set_projection_expression(Some(projection.clone()))
                .set_expression_attribute_names(Some(names.clone()))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| err("Query", e))?;
            items.extend(out.items().iter().cloned());
            match out.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => return Ok(items),
            }
        }
    }

    async fn put_item(&self, table: &str, item: Item) -> Result<(), String> {
        self.dynamodb
            .put_item()
            .table_name(table)
            .set_item(Some(item))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| err("PutItem", e))
    }

    async fn firehose_put(&self, stream: &str, records: Vec<Vec<u8>>) -> Result<Vec<bool>, String> {
        use aws_sdk_firehose::primitives::Blob;
        use aws_sdk_firehose::types::Record;
        let recs = records
            .into_iter()
            .map(|d| {
                Record::builder()
                    .data(Blob::new(d))
                    .build()
                    .map_err(|e| e.to_string())
            })
            .collect::<Result<Vec<_>, _>>()?;
        let out = self
            .firehose
            .put_record_batch()
            .delivery_stream_name(stream)
            .set_records(Some(recs))
            .send()
            .await
            .map_err(|e| err("PutRecordBatch", e))?;
        Ok(out
            .request_responses()
            .iter()
            .map(|r| r.error_code().is_some())
            .collect())
    }

    async fn s3_put(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), String> {
        self.s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type("application/x-ndjson")
            .body(body.into())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| err("PutObject", e))
    }

    async fn digest_add(
        &self,
        table: &str,
        counts: &Counts,
        now: i64,
    ) -> Result<Option<i64>, String> {
        digest::dynamodb::add(&self.dynamodb, table, counts, now).await
    }

    async fn digest_claim(
        &self,
        table: &str,
        now: i64,
        cutoff: i64,
    ) -> Result<Option<Counts>, String> {
        digest::dynamodb::claim(&self.dynamodb, table, now, cutoff).await
    }

    async fn digest_return(
        &self,
        table: &str,
        counts: &Counts,
        claimed_at: i64,
    ) -> Result<(), String> {
        digest::dynamodb::give_back(&self.dynamodb, table, counts, claimed_at).await
    }

    async fn publish(&self, topic_arn: &str, subject: &str, message: &str) -> Result<(), String> {
        self.sns
            .publish()
            .topic_arn(topic_arn)
            .subject(subject)
            .message(message)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| err("Publish", e))
    }
}
