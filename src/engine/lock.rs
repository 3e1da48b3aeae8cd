//! The stack lock and the creation journal, in one DynamoDB table shared by the account and
//! region (`ecomflow-infra-locks`, created on first use).
//!
//! One item per stack instance holds the lock. A second item per instance (the journal)
//! lists resources whose create began but whose ownership tags may not be on yet (S3 cannot
//! tag a bucket in the call that creates it), so a rerun after a crash adopts them instead of
//! refusing them as foreign.

use crate::aws::{Aws, AwsError};
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ReturnValue,
    ScalarAttributeType,
};
use std::collections::HashSet;
use std::time::Duration;

/// Name of the lock table.
pub const LOCK_TABLE: &str = "ecomflow-infra-locks";
const KEY: &str = "LockID";

/// The lock is held by someone else.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "stack {stack} is locked by {holder} since {since} ({operation}); if that run is dead, \
     run `ecomflow-infra force-unlock {stack}`"
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

/// A held lock; release it with [`Lock::release`].
pub struct Lock {
    client: aws_sdk_dynamodb::Client,
    stack: String,
    holder: String,
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

/// Attribute of a stack lock holding the random token of the acquisition that wrote it.
const TOKEN: &str = "Token";

fn holder_id() -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into());
    format!("{user}@{host} pid {}", std::process::id())
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
    Ok(())
}

impl Lock {
    /// Takes the lock of `stack` for `operation`, or fails at once naming the holder.
    pub async fn acquire(aws: &Aws, stack: &str, operation: &str) -> Result<Lock, LockError> {
        let client = aws.lock_dynamodb.clone();
        let holder = holder_id();
        // Tells this acquisition's item from any other: when the put landed but its answer
        // was lost, the SDK's retry fails the condition on our own item, which is then ours.
        let token = format!("{:016x}", rand::random::<u64>());
        for attempt in 0..2 {
            let put = client
                .put_item()
                .table_name(LOCK_TABLE)
                .item(KEY, s(stack))
                .item("Holder", s(&holder))
                .item(TOKEN, s(&token))
                .item(
                    "Since",
                    s(&chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                )
                .item("Operation", s(operation))
                .condition_expression("attribute_not_exists(#k)")
                .expression_attribute_names("#k", KEY)
                .send()
                .await;
            match put {
                Ok(_) => {
                    return Ok(Lock {
                        client,
                        stack: stack.to_string(),
                        holder,
                    })
                }
                Err(e) => {
                    let e = AwsError::from(e);
                    if e.is(&["ResourceNotFoundException"]) && attempt == 0 {
                        ensure_table(&client).await?;
                        continue;
                    }
                    if e.is(&["ConditionalCheckFailedException"]) {
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
                        let get = |k: &str| {
                            item.get(k)
                                .and_then(|v| v.as_s().ok())
                                .cloned()
                                .unwrap_or_else(|| "?".into())
                        };
                        if get(TOKEN) == token {
                            return Ok(Lock {
                                client,
                                stack: stack.to_string(),
                                holder,
                            });
                        }
                        return Err(LockHeld {
                            stack: stack.to_string(),
                            holder: get("Holder"),
                            since: get("Since"),
                            operation: get("Operation"),
                        }
                        .into());
                    }
                    return Err(e.context(format!("failed to lock stack {stack}")).into());
                }
            }
        }
        unreachable!("the loop returns on its second attempt")
    }

    /// Releases the lock (only if this process still holds it).
    pub async fn release(self) -> Result<(), AwsError> {
        let r = self
            .client
            .delete_item()
            .table_name(LOCK_TABLE)
            .key(KEY, s(&self.stack))
            .condition_expression("Holder = :me")
            .expression_attribute_values(":me", s(&self.holder))
            .send()
            .await;
        match r {
            Ok(_) => Ok(()),
            Err(e) => {
                let e = AwsError::from(e);
                if e.is(&["ConditionalCheckFailedException"]) {
                    tracing::warn!(
                        "the lock of {} was taken over (force-unlock?) while this run held it",
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
