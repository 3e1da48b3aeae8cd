//! The stack lock and the creation journal, in one DynamoDB table shared by the account and
//! region (`ecomflow-infra-locks`, created on first use).
//!
//! One item per stack instance holds the lock, as a lease the holder renews in the background:
//! a holder that stops renewing (killed, cut off) loses the lock once the lease runs out, and
//! the next run takes it over without `force-unlock`. The holder's own writes pass the lease's
//! fence ([`Fence`]), so a run that lost the lock stops writing. A second item per instance
//! (the journal) lists resources whose create began but whose ownership tags may not be on
//! yet (S3 cannot tag a bucket in the call that creates it), so a rerun after a crash adopts
//! them instead of refusing them as foreign.

use crate::aws::{Aws, AwsError, Fence};
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ReturnValue,
    ScalarAttributeType, SseSpecification, SseType,
};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// Name of the lock table.
pub const LOCK_TABLE: &str = "ecomflow-infra-locks";
const KEY: &str = "LockID";

/// The lock is held by someone else.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "stack {stack} is locked by {holder} since {since} ({operation}); {lease}. If that run is \
     dead, wait for its lease to run out (`--lock-timeout` waits) or run \
     `ecomflow-infra force-unlock {stack}`"
)]
pub struct LockHeld {
    /// The locked stack instance.
    pub stack: String,
    /// Who holds it (user@host pid).
    pub holder: String,
    /// Since when (RFC 3339).
    pub since: String,
    /// What the holder is doing.
    pub operation: String,
    /// When the holder last renewed its lease and until when it runs.
    pub lease: String,
}

/// Failure to take the lock.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Someone else holds it.
    #[error(transparent)]
    Held(#[from] LockHeld),
    /// DynamoDB failed.
    #[error(transparent)]
    Aws(#[from] AwsError),
}

/// A held lock, its lease renewed in the background; release it with [`Lock::release`].
/// Dropping it stops the renewals, so the lease runs out as if the run had died.
pub struct Lock {
    client: aws_sdk_dynamodb::Client,
    stack: String,
    token: String,
    fence: Fence,
    renewals: tokio::task::JoinHandle<()>,
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// Attribute of a stack lock holding the random token of the acquisition that wrote it.
const TOKEN: &str = "Token";
/// When the holder last renewed its lease (RFC 3339).
const RENEWED: &str = "Renewed";
/// When the lease runs out unless renewed, in milliseconds since the Unix epoch by the
/// holder's clock: a run whose clock is past it may take the lock over. The lease leaves
/// far more room than the clock skew of NTP-synchronised hosts.
const EXPIRES: &str = "Expires";
/// How often a run waiting for the lock (`--lock-timeout`) tries again.
const WAIT_POLL: Duration = Duration::from_millis(500);

fn holder_id() -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into());
    format!("{user}@{host} pid {}", std::process::id())
}

/// `now + lease` in milliseconds since the Unix epoch.
fn expiry(now: chrono::DateTime<chrono::Utc>, lease: Duration) -> i64 {
    now.timestamp_millis()
        .saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX))
}

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The lease's end as stored, and the instant before which this run may still write: a
/// tenth of the lease earlier, so that its last call lands before anyone may take over.
fn lease_ends(lease: Duration, sent: Instant) -> (i64, Instant) {
    (expiry(chrono::Utc::now(), lease), sent + lease - lease / 10)
}

async fn ensure_table(client: &aws_sdk_dynamodb::Client) -> Result<(), AwsError> {
    let built = |e: aws_smithy_types::error::operation::BuildError| AwsError::msg(e.to_string());
    let created = client
        .create_table()
        .table_name(LOCK_TABLE)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(KEY)
                .key_type(KeyType::Hash)
                .build()
                .map_err(built)?,
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(KEY)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(built)?,
        )
        // Shared by every stack of the account: encrypted under DynamoDB's AWS-managed KMS
        // key (auditable in CloudTrail) and protected from deletion by accident.
        .sse_specification(
            SseSpecification::builder()
                .enabled(true)
                .sse_type(SseType::Kms)
                .build(),
        )
        .deletion_protection_enabled(true)
        .tags(
            aws_sdk_dynamodb::types::Tag::builder()
                .key(crate::names::TAG_MANAGED_BY)
                .value(crate::names::MANAGED_BY)
                .build()
                .map_err(built)?,
        )
        .send()
        .await;
    if let Err(e) = created {
        let e = AwsError::from(e);
        if !e.is(&["ResourceInUseException"]) {
            return Err(e.context(format!("failed to create the lock table {LOCK_TABLE}")));
        }
    }
    client
        .wait_until_table_exists()
        .table_name(LOCK_TABLE)
        .wait(Duration::from_secs(120))
        .await
        .map_err(|e| AwsError::msg(format!("lock table {LOCK_TABLE} did not become ready: {e}")))?;
    // The journal and the interrupted-sync flags are what a rerun recovers from: keep them
    // restorable (a table made by an older version keeps what it has).
    crate::aws::update_pitr(client, LOCK_TABLE, true)
        .await
        .map_err(|e| {
            e.context(format!(
                "failed to turn on point-in-time recovery of the lock table {LOCK_TABLE}"
            ))
        })?;
    Ok(())
}

/// What one attempt to take the lock found.
enum Attempt {
    /// Taken by the put sent at this instant; from a holder whose lease had run out, if
    /// there was one.
    Taken(Instant, Option<HashMap<String, AttributeValue>>),
    /// Held by another run.
    Held(LockHeld),
}

fn text(item: &HashMap<String, AttributeValue>, key: &str) -> String {
    item.get(key)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_else(|| "?".into())
}

/// The lease part of a held lock's description.
fn lease_of(item: &HashMap<String, AttributeValue>) -> String {
    let expires = item
        .get(EXPIRES)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse::<i64>().ok())
        .and_then(chrono::DateTime::from_timestamp_millis);
    match expires {
        Some(t) => format!(
            "its lease was last renewed {} and runs until {}",
            text(item, RENEWED),
            rfc3339(t)
        ),
        // Written by a version of this tool without leases: only force-unlock frees it.
        None => "it has no lease".to_string(),
    }
}

impl Lock {
    /// Takes the lock of `stack` for `operation`, waiting up to the session's lock timeout
    /// while another run holds it. A lock whose lease has run out (its holder stopped
    /// renewing it: killed, or cut off) is taken over, with a warning naming that holder.
    pub async fn acquire(aws: &Aws, stack: &str, operation: &str) -> Result<Lock, LockError> {
        let client = aws.lock_dynamodb.clone();
        let options = aws.lock_options;
        let holder = holder_id();
        // Tells this acquisition's item from any other: when the put landed but its answer
        // was lost, the SDK's retry fails the condition on our own item, which is then ours.
        let token = format!("{:016x}", rand::random::<u64>());
        let deadline = Instant::now() + options.timeout;
        loop {
            match attempt(&client, stack, operation, &holder, &token, options.lease).await? {
                Attempt::Taken(sent, previous) => {
                    if let Some(p) = previous {
                        tracing::warn!(
                            "took over the lock of {stack} from {} (since {}, {}): its lease, last \
                             renewed {}, had run out",
                            text(&p, "Holder"),
                            text(&p, "Since"),
                            text(&p, "Operation"),
                            text(&p, RENEWED),
                        );
                    }
                    let fence = aws.fence.clone();
                    fence.hold_until(lease_ends(options.lease, sent).1);
                    let renewals = tokio::spawn(renew(
                        client.clone(),
                        stack.to_string(),
                        token.clone(),
                        options.lease,
                        fence.clone(),
                    ));
                    return Ok(Lock {
                        client,
                        stack: stack.to_string(),
                        token,
                        fence,
                        renewals,
                    });
                }
                Attempt::Held(held) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return Err(held.into());
                    }
                    tokio::time::sleep(WAIT_POLL.min(deadline - now)).await;
                }
            }
        }
    }

    /// Stops the renewals and releases the lock (only if this run still holds it).
    pub async fn release(self) -> Result<(), AwsError> {
        self.renewals.abort();
        self.fence.open();
        let r = self
            .client
            .delete_item()
            .table_name(LOCK_TABLE)
            .key(KEY, s(&self.stack))
            .condition_expression("#t = :mine")
            .expression_attribute_names("#t", TOKEN)
            .expression_attribute_values(":mine", s(&self.token))
            .send()
            .await;
        match r {
            Ok(_) => Ok(()),
            Err(e) => {
                let e = AwsError::from(e);
                if e.is(&["ConditionalCheckFailedException"]) {
                    tracing::warn!(
                        "the lock of {} was taken over (force-unlock, or a lapsed lease) while \
                         this run held it",
                        self.stack
                    );
                    Ok(())
                } else {
                    Err(e.context(format!("failed to release the lock of {}", self.stack)))
                }
            }
        }
    }

    /// The creation journal of this stack.
    pub fn journal(&self) -> Journal {
        Journal {
            client: self.client.clone(),
            stack: self.stack.clone(),
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        self.renewals.abort();
    }
}

/// One conditional put of the lock item: it lands if there is no lock or its lease has run
/// out by this host's clock.
async fn attempt(
    client: &aws_sdk_dynamodb::Client,
    stack: &str,
    operation: &str,
    holder: &str,
    token: &str,
    lease: Duration,
) -> Result<Attempt, AwsError> {
    for first in [true, false] {
        let sent = Instant::now();
        let now = chrono::Utc::now();
        let put = client
            .put_item()
            .table_name(LOCK_TABLE)
            .item(KEY, s(stack))
            .item("Holder", s(holder))
            .item(TOKEN, s(token))
            .item("Since", s(&rfc3339(now)))
            .item(RENEWED, s(&rfc3339(now)))
            .item(EXPIRES, n(expiry(now, lease)))
            .item("Operation", s(operation))
            .condition_expression("attribute_not_exists(#k) OR #x < :now")
            .expression_attribute_names("#k", KEY)
            .expression_attribute_names("#x", EXPIRES)
            .expression_attribute_values(":now", n(now.timestamp_millis()))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        let e = match put {
            Ok(out) => {
                let previous = out.attributes.filter(|p| text(p, TOKEN) != token);
                return Ok(Attempt::Taken(sent, previous));
            }
            Err(e) => AwsError::from(e),
        };
        if e.is(&["ResourceNotFoundException"]) && first {
            ensure_table(client).await?;
            continue;
        }
        if !e.is(&["ConditionalCheckFailedException"]) {
            return Err(e.context(format!("failed to lock stack {stack}")));
        }
        let item = client
            .get_item()
            .table_name(LOCK_TABLE)
            .key(KEY, s(stack))
            .consistent_read(true)
            .send()
            .await
            .map_err(AwsError::from)?
            .item
            .unwrap_or_default();
        if text(&item, TOKEN) == token {
            return Ok(Attempt::Taken(sent, None));
        }
        return Ok(Attempt::Held(LockHeld {
            stack: stack.to_string(),
            holder: text(&item, "Holder"),
            since: text(&item, "Since"),
            operation: text(&item, "Operation"),
            lease: lease_of(&item),
        }));
    }
    unreachable!("the loop returns on its second attempt")
}

/// Renews the lease every third of it while the lock is held. A renewal that finds the item
/// no longer ours (force-unlocked, or taken over after a lapse) closes the fence for good; a
/// failed one is retried at the next tick, and the fence closes by itself if none is
/// confirmed before the lease would run out.
async fn renew(
    client: aws_sdk_dynamodb::Client,
    stack: String,
    token: String,
    lease: Duration,
    fence: Fence,
) {
    let mut ticks = tokio::time::interval(lease / 3);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let sent = Instant::now();
        let (expires, until) = lease_ends(lease, sent);
        let renewed = client
            .update_item()
            .table_name(LOCK_TABLE)
            .key(KEY, s(&stack))
            .update_expression("SET #r = :r, #x = :x")
            .condition_expression("#t = :mine")
            .expression_attribute_names("#r", RENEWED)
            .expression_attribute_names("#x", EXPIRES)
            .expression_attribute_names("#t", TOKEN)
            .expression_attribute_values(":r", s(&rfc3339(chrono::Utc::now())))
            .expression_attribute_values(":x", n(expires))
            .expression_attribute_values(":mine", s(&token))
            .send()
            .await;
        match renewed.map_err(AwsError::from) {
            Ok(_) => fence.hold_until(until),
            Err(e) if e.is(&["ConditionalCheckFailedException"]) => {
                fence.lose(format!(
                    "the lock of {stack} was taken from this run (force-unlock, or a lease \
                     that lapsed); it stops before changing anything more"
                ));
                return;
            }
            Err(e) => tracing::warn!("failed to renew the lease on the lock of {stack}: {e}"),
        }
    }
}

/// Removes the lock of `stack` whoever holds it; returns the removed holder, if any.
pub async fn force_unlock(aws: &Aws, stack: &str) -> Result<Option<String>, AwsError> {
    let out = aws
        .lock_dynamodb
        .delete_item()
        .table_name(LOCK_TABLE)
        .key(KEY, s(stack))
        .return_values(ReturnValue::AllOld)
        .send()
        .await;
    match out {
        Ok(out) => Ok(out
            .attributes
            .and_then(|a| a.get("Holder").and_then(|h| h.as_s().ok()).cloned())),
        Err(e) => {
            let e = AwsError::from(e);
            if e.is(&["ResourceNotFoundException"]) {
                Ok(None)
            } else {
                Err(e.context(format!("failed to remove the lock of {stack}")))
            }
        }
    }
}

/// Names whose create began in this stack but may lack ownership tags.
#[derive(Clone)]
pub struct Journal {
    client: aws_sdk_dynamodb::Client,
    stack: String,
}

fn journal_key(stack: &str) -> AttributeValue {
    s(&format!("{stack}#creating"))
}

impl Journal {
    /// Records that `physical` is about to be created.
    pub async fn begin(&self, physical: &str) -> Result<(), AwsError> {
        self.client
            .update_item()
            .table_name(LOCK_TABLE)
            .key(KEY, journal_key(&self.stack))
            .update_expression("ADD #n :n")
            .expression_attribute_names("#n", "Pending")
            .expression_attribute_values(":n", AttributeValue::Ss(vec![physical.to_string()]))
            .send()
            .await
            .map_err(|e| AwsError::from(e).context("failed to write the creation journal"))?;
        Ok(())
    }

    /// Records that `physical` carries its tags now.
    pub async fn end(&self, physical: &str) -> Result<(), AwsError> {
        self.client
            .update_item()
            .table_name(LOCK_TABLE)
            .key(KEY, journal_key(&self.stack))
            .update_expression("DELETE #n :n")
            .expression_attribute_names("#n", "Pending")
            .expression_attribute_values(":n", AttributeValue::Ss(vec![physical.to_string()]))
            .send()
            .await
            .map_err(|e| AwsError::from(e).context("failed to write the creation journal"))?;
        Ok(())
    }
}

impl Journal {
    /// Forgets every name, after a run that converged under the lock: each declared resource
    /// then carries its tags (apply), or is gone (destroy). A name left behind would make a
    /// later, untagged resource of that name look like ours: someone else's bucket created
    /// after a destroy would be taken over instead of refused. Writes only if the journal
    /// lists anything, so a converged no-op run stays free of writes.
    pub async fn clear(&self) -> Result<(), AwsError> {
        let out = self
            .client
            .get_item()
            .table_name(LOCK_TABLE)
            .key(KEY, journal_key(&self.stack))
            .consistent_read(true)
            .send()
            .await;
        let pending = match out {
            Ok(out) => out
                .item
                .and_then(|i| i.get("Pending").and_then(|n| n.as_ss().ok()).cloned())
                .unwrap_or_default(),
            Err(e) => {
                let e = AwsError::from(e);
                if e.is(&["ResourceNotFoundException"]) {
                    return Ok(());
                }
                return Err(e.context("failed to read the creation journal"));
            }
        };
        if pending.is_empty() {
            return Ok(());
        }
        self.client
            .delete_item()
            .table_name(LOCK_TABLE)
            .key(KEY, journal_key(&self.stack))
            .send()
            .await
            .map_err(|e| AwsError::from(e).context("failed to clear the creation journal"))?;
        Ok(())
    }
}

/// The names in the creation journal of `stack` (empty if there is no table yet).
pub async fn journal_names(aws: &Aws, stack: &str) -> Result<HashSet<String>, AwsError> {
    let out = aws
        .lock_dynamodb
        .get_item()
        .table_name(LOCK_TABLE)
        .key(KEY, journal_key(stack))
        .consistent_read(true)
        .send()
        .await;
    match out {
        Ok(out) => Ok(out
            .item
            .and_then(|i| i.get("Pending").and_then(|n| n.as_ss().ok()).cloned())
            .unwrap_or_default()
            .into_iter()
            .collect()),
        Err(e) => {
            let e = AwsError::from(e);
            if e.is(&["ResourceNotFoundException"]) {
                Ok(HashSet::new())
            } else {
                Err(e.context("failed to read the creation journal"))
            }
        }
    }
}

/// Whether the flag item `key` is set in the lock table (false if there is no table yet).
/// Flags record that an operation is under way, so a rerun after a crash knows it.
pub async fn flag(aws: &Aws, key: &str) -> Result<bool, AwsError> {
    let out = aws
        .lock_dynamodb
        .get_item()
        .table_name(LOCK_TABLE)
        .key(KEY, s(key))
        .consistent_read(true)
        .send()
        .await;
    match out {
        Ok(out) => Ok(out.item.is_some()),
        Err(e) => {
            let e = AwsError::from(e);
            if e.is(&["ResourceNotFoundException"]) {
                Ok(false)
            } else {
                Err(e.context(format!("failed to read the flag {key}")))
            }
        }
    }
}

/// Sets or clears the flag item `key` (creating the lock table on first use).
pub async fn set_flag(aws: &Aws, key: &str, on: bool) -> Result<(), AwsError> {
    let client = &aws.lock_dynamodb;
    for attempt in 0..2 {
        let r = if on {
            client
                .put_item()
                .table_name(LOCK_TABLE)
                .item(KEY, s(key))
                .item("Holder", s(&holder_id()))
                .item(
                    "Since",
                    s(&chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                )
                .send()
                .await
                .map(|_| ())
                .map_err(AwsError::from)
        } else {
            client
                .delete_item()
                .table_name(LOCK_TABLE)
                .key(KEY, s(key))
                .send()
                .await
                .map(|_| ())
                .map_err(AwsError::from)
        };
        match r {
            Err(e) if e.is(&["ResourceNotFoundException"]) && on && attempt == 0 => {
                ensure_table(client).await?
            }
            Err(e) if e.is(&["ResourceNotFoundException"]) && !on => return Ok(()),
            other => {
                return other.map_err(|e| e.context(format!("failed to write the flag {key}")))
            }
        }
    }
    Ok(())
}
