//! The storage-update digest: while rows stream in, subscribers of the alerts topic get at
//! most one message per interval, and every stored row is counted in one of them.
//!
//! The state is one DynamoDB item (key `Digest` = [`ITEM`]) in the `updates` table:
//! - each invocation adds what it stored to the item's counts with an `ADD` update, which
//!   DynamoDB applies atomically, so concurrent shards never lose a count;
//! - the first invocation that finds the interval passed since `SentAt` claims the counts:
//!   one conditional update sets `SentAt` to now and zeroes the counts, and `ALL_OLD` gives
//!   back exactly the counts it zeroed. The condition (`SentAt` absent or older than the
//!   interval) lets only one of several concurrent invocations through, without a lock;
//! - the claimer publishes those counts. If the publish fails, the counts are added back and
//!   `SentAt` removed, so the next batch sends them.
//!
//! Rows stored after a message wait for the next claim: they are reported late (by the first
//! batch after the interval), never left out. Interval 0 sends one message per batch.

use crate::Backend;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// The key of the digest's item.
pub const ITEM: &str = "storage-update";

/// What was stored since the last message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Clean rows written to the tables and handed to Firehose.
    pub rows: u64,
    /// Rejected lines written under `rejects/`.
    pub rejected: u64,
    /// Invocations that stored them.
    pub batches: u64,
    /// When the first of them was stored (seconds since the epoch).
    pub since: Option<i64>,
}

/// The digest's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct DigestConfig {
    /// `UPDATES_TABLE`.
    pub table: String,
    /// `DIGEST_MINUTES`, as seconds.
    pub interval_seconds: i64,
    /// `STACK`, the stack instance named in the message.
    pub stack: String,
}

/// The message published for `counts`, claimed at `now`.
fn message(
    cfg: &crate::Config,
    digest: &DigestConfig,
    counts: &Counts,
    now: i64,
) -> serde_json::Value {
    let at = |t: i64| {
        DateTime::<Utc>::from_timestamp(t, 0)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    serde_json::json!({
        "event": "ecomflow.storage_update",
        "stack": digest.stack,
        "source": "stream",
        "rows": counts.rows,
        "rejected": counts.rejected,
        "batches": counts.batches,
        "since": at(counts.since.unwrap_or(now)),
        "until": at(now),
        "stored": {
            "tables": [cfg.invoices_table, cfg.customers_table],
            "lake": format!(
                "s3://{}/clean/ as Parquet, through {} within its buffer interval",
                cfg.bucket, cfg.delivery_stream
            ),
            "rejects": format!("s3://{}/rejects/", cfg.bucket),
        },
        "next_message_after": at(now + digest.interval_seconds),
    })
}

/// Adds `stored` to the digest and publishes the digest when its interval has passed.
/// Returns whether a message went out.
pub async fn record(
    backend: &dyn Backend,
    cfg: &crate::Config,
    stored: Counts,
    now: i64,
) -> Result<bool, String> {
    let Some(digest) = &cfg.digest else {
        return Ok(false);
    };
    if stored.rows == 0 && stored.rejected == 0 {
        return Ok(false);
    }
    let last_sent = backend.digest_add(&digest.table, &stored, now).await?;
    let cutoff = now - digest.interval_seconds;
    if last_sent.is_some_and(|t| t > cutoff) {
        return Ok(false);
    }
    let Some(claimed) = backend.digest_claim(&digest.table, now, cutoff).await? else {
        // Another invocation claimed it first.
        return Ok(false);
    };
    let subject = format!("EcomFlow storage update: {}", digest.stack);
    let body = message(cfg, digest, &claimed, now).to_string();
    if let Err(e) = backend.publish(&cfg.topic_arn, &subject, &body).await {
        backend
            .digest_return(&digest.table, &claimed, now)
            .await
            .map_err(|r| format!("{e}; the counts were not put back either: {r}"))?;
        return Err(e);
    }
    Ok(true)
}

/// The DynamoDB side of [`Backend::digest_add`], [`Backend::digest_claim`] and
/// [`Backend::digest_return`] for [`crate::AwsBackend`]. Every attribute goes through a
/// placeholder: `Rows` is among DynamoDB's reserved words.
pub(crate) mod dynamodb {
    use super::{Counts, ITEM};
    use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
    use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
    use aws_sdk_dynamodb::Client;
    use std::collections::HashMap;

    fn n(v: impl ToString) -> AttributeValue {
        AttributeValue::N(v.to_string())
    }

    fn update(db: &Client, table: &str, expression: &str) -> UpdateItemFluentBuilder {
        let names = [
            ("#rows", "Rows"),
            ("#rejected", "Rejected"),
            ("#batches", "Batches"),
            ("#since", "Since"),
            ("#sent", "SentAt"),
        ];
        // Only the placeholders the expression uses: DynamoDB refuses unused ones.
        let used: HashMap<String, String> = names
            .iter()
            .filter(|(p, _)| expression.contains(p))
            .map(|(p, a)| (p.to_string(), a.to_string()))
            .collect();
        db.update_item()
            .table_name(table)
            .key("Digest", AttributeValue::S(ITEM.into()))
            .update_expression(expression)
            .set_expression_attribute_names(Some(used))
    }

    fn counts_values(b: UpdateItemFluentBuilder, c: &Counts) -> UpdateItemFluentBuilder {
        b.expression_attribute_values(":rows", n(c.rows))
            .expression_attribute_values(":rejected", n(c.rejected))
            .expression_attribute_values(":batches", n(c.batches))
    }

    fn number(item: Option<&HashMap<String, AttributeValue>>, name: &str) -> Option<i64> {
        match item?.get(name)? {
            AttributeValue::N(v) => v.parse().ok(),
            _ => None,
        }
    }

    fn failed<E: std::error::Error>(what: &str, e: E) -> String {
        format!(
            "{what} of the storage-update digest: {}",
            aws_sdk_dynamodb::error::DisplayErrorContext(e)
        )
    }

    fn conditional_failed<E>(e: &aws_sdk_dynamodb::error::SdkError<E>) -> bool
    where
        E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
    {
        e.as_service_error()
            .and_then(|s| s.code())
            .is_some_and(|c| c == "ConditionalCheckFailedException")
    }

    pub(crate) async fn add(
        db: &Client,
        table: &str,
        c: &Counts,
        now: i64,
    ) -> Result<Option<i64>, String> {
        let out = counts_values(
            update(
                db,
                table,
                "ADD #rows :rows, #rejected :rejected, #batches :batches \
                 SET #since = if_not_exists(#since, :now)",
            ),
            c,
        )
        .expression_attribute_values(":now", n(now))
        .return_values(ReturnValue::AllNew)
        .send()
        .await
        .map_err(|e| failed("UpdateItem (add)", e))?;
        Ok(number(out.attributes(), "SentAt"))
    }

    pub(crate) async fn claim(
        db: &Client,
        table: &str,
        now: i64,
        cutoff: i64,
    ) -> Result<Option<Counts>, String> {
        let zero = Counts::default();
        let call = counts_values(
            update(
                db,
                table,
                "SET #sent = :now, #rows = :rows, #rejected = :rejected, #batches = :batches \
                 REMOVE #since",
            ),
            &zero,
        )
        .condition_expression("attribute_not_exists(#sent) OR #sent <= :cutoff")
        .expression_attribute_values(":now", n(now))
        .expression_attribute_values(":cutoff", n(cutoff))
        .return_values(ReturnValue::AllOld)
        .send()
        .await;
        let out = match call {
            Ok(out) => out,
            Err(e) if conditional_failed(&e) => return Ok(None),
            Err(e) => return Err(failed("UpdateItem (claim)", e)),
        };
        let old = out.attributes();
        let count = |name| number(old, name).unwrap_or(0).max(0) as u64;
        Ok(Some(Counts {
            rows: count("Rows"),
            rejected: count("Rejected"),
            batches: count("Batches"),
            since: number(old, "Since"),
        }))
    }

    pub(crate) async fn give_back(
        db: &Client,
        table: &str,
        c: &Counts,
        claimed_at: i64,
    ) -> Result<(), String> {
        let call = counts_values(
            update(
                db,
                table,
                "ADD #rows :rows, #rejected :rejected, #batches :batches \
                 SET #since = :since REMOVE #sent",
            ),
            c,
        )
        .condition_expression("#sent = :claimed")
        .expression_attribute_values(":since", n(c.since.unwrap_or(claimed_at)))
        .expression_attribute_values(":claimed", n(claimed_at))
        .send()
        .await;
        match call {
            // Another invocation claimed since, and its message left these counts out: they
            // are added back alone, for the message after it.
            Err(e) if conditional_failed(&e) => {
                counts_values(
                    update(
                        db,
                        table,
                        "ADD #rows :rows, #rejected :rejected, #batches :batches",
                    ),
                    c,
                )
                .send()
                .await
                .map_err(|e| failed("UpdateItem (give back)", e))?;
                Ok(())
            }
            Err(e) => Err(failed("UpdateItem (give back)", e)),
            Ok(_) => Ok(()),
        }
    }
}
