//! Destroying one due copy: the destroy workflow under the copy's stack lock, after checking
//! under that lock that it is still due.

use super::assessment::{assess, Rule};
use super::listing::{group, list_tagged};
use super::report::Action;
use crate::aws::{CallCounts, ConnectOptions};
use crate::config;
use crate::engine::workflow::{self, Observer, WorkflowError};
use crate::engine::{EngineError, Packages, Session};
use crate::names::TAG_STACK;
use chrono::Utc;
use std::path::Path;

/// How collecting one due instance went.
#[derive(Debug, Clone)]
pub struct Collected {
    /// What was done with it.
    pub action: Action,
    /// Resources the destroy plan deleted.
    pub deleted: usize,
    /// Declared names that exist without this instance's tag, left alone.
    pub left_alone: Vec<String>,
    /// Why it failed or was skipped.
    pub error: Option<String>,
    /// The API calls it took.
    pub calls: CallCounts,
}

impl Collected {
    fn new(action: Action) -> Self {
        Collected {
            action,
            deleted: 0,
            left_alone: Vec::new(),
            error: None,
            calls: CallCounts::default(),
        }
    }

    fn failed(error: String) -> Self {
        Collected {
            error: Some(error),
            ..Collected::new(Action::Failed)
        }
    }
}

/// Destroys the copy `suffix` of the stack file `stack` the way `destroy` does, under its
/// stack lock (taken as `gc`), if it is still due under `rule` once the lock is held. Every
/// failure is in the result: one copy failing does not stop the others.
pub async fn collect(
    stack: &Path,
    connect: &ConnectOptions,
    suffix: &str,
    rule: Rule,
    parallelism: usize,
    ui: &dyn Observer,
) -> Collected {
    let config = match config::load_file(stack, Some(suffix)) {
        Ok(c) => c,
        Err(e) => return Collected::failed(e.to_string()),
    };
    let session = match Session::open(
        config,
        &stack.display().to_string(),
        Some(suffix.to_string()),
        connect,
        &Packages::NotNeeded,
    )
    .await
    {
        Ok(s) => s,
        Err(e) => return Collected::failed(format!("{e:#}")),
    };
    let outcome = workflow::locked(&session, "gc", async |lock| {
        if let Some(skipped) = not_due(&session, rule, parallelism).await? {
            return Ok(skipped);
        }
        let destroyed = workflow::destroy_locked(&session, lock, parallelism, ui).await?;
        Ok(Collected {
            deleted: destroyed.deleted,
            left_alone: destroyed.left_alone.iter().map(|c| c.to_string()).collect(),
            ..Collected::new(Action::Destroyed)
        })
    })
    .await;
    let mut out = match outcome {
        Ok(out) => out,
        Err(WorkflowError::Engine(EngineError::Locked(held))) => Collected {
            error: Some(held.to_string()),
            ..Collected::new(Action::Locked)
        },
        Err(e) => Collected::failed(reason(e)),
    };
    out.calls = session.aws.stats.snapshot();
    out
}

/// Lists the copy again under its lock: an apply may have refreshed it since the listing.
/// `None` if it is still due.
async fn not_due(
    session: &Session,
    rule: Rule,
    parallelism: usize,
) -> Result<Option<Collected>, WorkflowError> {
    let listed = list_tagged(
        &session.aws,
        &session.blueprint.names.all_prefix(),
        parallelism,
    )
    .await?;
    let Some(again) = group(&session.config.app, &session.config.env, listed)
        .into_iter()
        .find(|f| f.instance == session.instance())
    else {
        return Ok(Some(Collected::new(Action::Gone)));
    };
    let now_due = assess(&again, rule, session.config.ephemeral_ttl_hours, Utc::now());
    if now_due.due {
        return Ok(None);
    }
    Ok(Some(Collected {
        error: Some(format!("no longer due: {}", now_due.reason)),
        ..Collected::new(Action::NoLongerDue)
    }))
}

/// Why collecting failed, in one line for the report.
fn reason(e: WorkflowError) -> String {
    match e {
        WorkflowError::Failed { run, .. } => {
            let mut errors: Vec<String> = run
                .steps
                .iter()
                .filter_map(|s| s.error.as_ref().map(|e| format!("{}: {e}", s.address)))
                .collect();
            if !run.not_started.is_empty() {
                errors.push(format!("not started: {}", run.not_started.join(", ")));
            }
            format!("destroy failed: {}", errors.join("; "))
        }
        WorkflowError::Leaked { instance, left } => {
            let names: Vec<String> = left.iter().map(|(k, n)| format!("{k} {n}")).collect();
            format!(
                "leak sweep: still tagged {TAG_STACK}={instance}: {}",
                names.join(", ")
            )
        }
        e => format!("{:#}", anyhow::Error::from(e)),
    }
}
