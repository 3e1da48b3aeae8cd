//! The apply and destroy workflows: lock, plan, execute, leak sweep, journal, release.
//!
//! A workflow never prints: what it shows and asks goes through an [`Observer`], which the
//! command line implements with its renderings and its confirmation prompt, and `gc` with its
//! own. The lock is released on every exit by one release point ([`locked`]) that never hides
//! the workflow's own error behind a failed release.

use super::execute::RunReport;
use super::lock::Lock;
use super::progress::Progress;
use super::{check_stateful, EngineError, Session};
use crate::config::StackConfig;
use crate::model::Kind;
use crate::names::{instance_name, TAG_STACK};
use crate::plan::{Conflict, Plan};

/// Why a workflow stopped.
#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    /// Planning, the lock, the journal or an AWS call failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The observer did not confirm (no terminal, or another answer than yes).
    #[error(transparent)]
    Declined(anyhow::Error),
    /// Steps of the run failed or were not started.
    #[error(
        "{verb} failed; rerun it to converge (every step is idempotent):\n{}",
        failed_steps(.run)
    )]
    Failed {
        /// `Apply` or `Destroy`.
        verb: &'static str,
        /// The run, failures included.
        run: RunReport,
    },
    /// Destroy deleted what it could, but could not read or delete some resources.
    #[error(
        "Destroy failed; rerun it to converge once the cause is fixed (every step is idempotent):\n{}{}\nleak sweep: {}",
        unread(.unreadable),
        failed_steps(.run),
        remaining(.instance, .left)
    )]
    Incomplete {
        /// The run, failures included.
        run: RunReport,
        /// Declared resources that could not be read: address and why.
        unreadable: Vec<(String, String)>,
        /// The stack instance.
        instance: String,
        /// What the leak sweep found afterwards.
        left: Vec<(Kind, String)>,
    },
    /// After destroy, resources tagged as the instance's are still there.
    #[error(
        "leak sweep: these resources are still tagged {TAG_STACK}={instance}:\n{}",
        leaked(.left)
    )]
    Leaked {
        /// The stack instance.
        instance: String,
        /// What the sweep found: kind and physical name.
        left: Vec<(Kind, String)>,
    },
}

fn failed_steps(run: &RunReport) -> String {
    let errors: Vec<String> = run
        .steps
        .iter()
        .filter_map(|s| s.error.as_ref().map(|e| format!("  {}: {e}", s.address)))
        .collect();
    errors.join("\n")
}

fn unread(unreadable: &[(String, String)]) -> String {
    let lines: Vec<String> = unreadable
        .iter()
        .map(|(address, why)| format!("  {address}: could not be read: {why}\n"))
        .collect();
    lines.concat()
}

fn remaining(instance: &str, left: &[(Kind, String)]) -> String {
    if left.is_empty() {
        format!("nothing tagged {TAG_STACK}={instance} remains")
    } else {
        format!(
            "these resources are still tagged {TAG_STACK}={instance}:\n{}",
            leaked(left)
        )
    }
}

fn leaked(left: &[(Kind, String)]) -> String {
    let names: Vec<String> = left.iter().map(|(k, n)| format!("  {k} {n}")).collect();
    names.join("\n")
}

impl From<super::lock::LockError> for WorkflowError {
    fn from(e: super::lock::LockError) -> Self {
        WorkflowError::Engine(e.into())
    }
}

impl From<crate::aws::AwsError> for WorkflowError {
    fn from(e: crate::aws::AwsError) -> Self {
        WorkflowError::Engine(e.into())
    }
}

/// What a workflow shows and asks on its way; the caller renders it.
pub trait Observer {
    /// The plan made under the lock, and the declared resources destroy leaves alone because
    /// they are not this instance's (none for apply).
    fn show_plan(&self, plan: &Plan, left_alone: &[Conflict]);
    /// Asks to go ahead with `what` (e.g. `apply these changes`); an error stops the workflow
    /// before any change.
    fn confirm(&self, what: &str) -> anyhow::Result<()>;
    /// Where the run's step progress goes.
    fn progress(&self) -> Progress;
    /// The run is over, before the workflow judges it: an empty report when the plan had
    /// nothing to do.
    fn ran(&self, plan: &Plan, run: &RunReport);
}

/// What apply is asked to do.
#[derive(Debug, Clone, Copy)]
pub struct ApplyOptions<'a> {
    /// Steps and reads at a time.
    pub parallelism: usize,
    /// Whether replacing or deleting a stateful resource is allowed.
    pub allow_replace: bool,
    /// A saved plan to apply: the fresh plan must match it, and it was confirmed when made.
    pub saved: Option<&'a Plan>,
}

/// What destroy did.
#[derive(Debug, Clone)]
pub struct Destroyed {
    /// Resources the destroy plan deleted.
    pub deleted: usize,
    /// Declared names that exist without this instance's tag, left alone.
    pub left_alone: Vec<Conflict>,
}

/// Refuses a saved plan made for another instance than the loaded stack file's, before any
/// call: the instance is known from the file and the suffix alone.
pub fn check_saved_instance(
    config: &StackConfig,
    suffix: Option<&str>,
    saved: &Plan,
) -> Result<(), EngineError> {
    let instance = instance_name(&config.app, &config.env, suffix);
    if saved.stack != instance {
        return Err(EngineError::StalePlan(format!(
            "it was made for stack {}, not {instance}",
            saved.stack
        )));
    }
    Ok(())
}

/// Runs `body` under the stack lock of the session's instance, for `operation`, and releases
/// the lock whatever the body's outcome. If both fail, the body's error is returned and the
/// release's is logged: the first failure is what the user must act on.
pub async fn locked<T>(
    session: &Session,
    operation: &str,
    body: impl AsyncFnOnce(&Lock) -> Result<T, WorkflowError>,
) -> Result<T, WorkflowError> {
    let lock = Lock::acquire(&session.aws, session.instance(), operation).await?;
    let outcome = body(&lock).await;
    first_error(outcome, lock.release().await, session.instance())
}

fn first_error<T>(
    outcome: Result<T, WorkflowError>,
    release: Result<(), crate::aws::AwsError>,
    instance: &str,
) -> Result<T, WorkflowError> {
    match (outcome, release) {
        (outcome, Ok(())) => outcome,
        (Ok(_), Err(e)) => Err(e.into()),
        (Err(first), Err(e)) => {
            tracing::warn!("failed to release the lock of {instance} after an error: {e}");
            Err(first)
        }
    }
}

/// `apply`: checks a saved plan's declaration, then under the lock plans, checks the saved
/// plan against the live account, refuses unsafe changes, confirms (unless the plan was
/// saved), executes under the journal and clears it once everything converged.
pub async fn apply(
    session: &Session,
    options: &ApplyOptions<'_>,
    ui: &dyn Observer,
) -> Result<RunReport, WorkflowError> {
    if let Some(saved) = options.saved {
        // Account, region and declaration are judged before the lock is taken.
        session.check_saved_declared(saved)?;
    }
    locked(session, "apply", async |lock| {
        apply_locked(session, lock, options, ui).await
    })
    .await
}

async fn apply_locked(
    session: &Session,
    lock: &Lock,
    options: &ApplyOptions<'_>,
    ui: &dyn Observer,
) -> Result<RunReport, WorkflowError> {
    let plan = session.plan(options.parallelism).await?;
    if let Some(saved) = options.saved {
        session.check_saved(saved, &plan)?;
    }
    ui.show_plan(&plan, &[]);
    let journal = lock.journal();
    if plan.is_empty() {
        // Converged already (perhaps by a run killed before it could clear the journal).
        journal.clear().await?;
        let run = RunReport::default();
        ui.ran(&plan, &run);
        return Ok(run);
    }
    check_stateful(&plan, options.allow_replace)?;
    if options.saved.is_none() {
        ui.confirm("apply these changes")
            .map_err(WorkflowError::Declined)?;
    }
    let run = session
        .execute(
            &plan,
            options.parallelism,
            Some(&journal),
            &ui.progress(),
            false,
        )
        .await?;
    // Every declared resource carries its tags now: the journal has served its purpose.
    if run.succeeded() {
        journal.clear().await?;
    }
    ui.ran(&plan, &run);
    if !run.succeeded() {
        return Err(WorkflowError::Failed { verb: "Apply", run });
    }
    Ok(run)
}

/// `destroy`: under the lock, [`destroy_locked`].
pub async fn destroy(
    session: &Session,
    parallelism: usize,
    ui: &dyn Observer,
) -> Result<Destroyed, WorkflowError> {
    locked(session, "destroy", async |lock| {
        destroy_locked(session, lock, parallelism, ui).await
    })
    .await
}

/// Destroy under a lock already held: plans the teardown of what is tagged as the instance's,
/// confirms, executes, sweeps for anything still tagged, and clears the journal once nothing
/// is left.
pub async fn destroy_locked(
    session: &Session,
    lock: &Lock,
    parallelism: usize,
    ui: &dyn Observer,
) -> Result<Destroyed, WorkflowError> {
    let super::Teardown {
        plan,
        left_alone,
        unreadable,
    } = session.destroy_plan(parallelism).await?;
    ui.show_plan(&plan, &left_alone);
    let mut run = RunReport::default();
    if !plan.is_empty() {
        ui.confirm(&format!("destroy every resource of {}", session.instance()))
            .map_err(WorkflowError::Declined)?;
        run = session
            .execute(&plan, parallelism, None, &ui.progress(), true)
            .await?;
    }
    ui.ran(&plan, &run);
    // Destroy went on past what it could not read or delete: the sweep says what remains.
    let left = session.sweep().await?;
    if !run.succeeded() || !unreadable.is_empty() {
        return Err(WorkflowError::Incomplete {
            run,
            unreadable,
            instance: session.instance().to_string(),
            left,
        });
    }
    if !left.is_empty() {
        return Err(WorkflowError::Leaked {
            instance: session.instance().to_string(),
            left,
        });
    }
    // Nothing of the instance is left: names journaled by a killed apply must not let a later,
    // untagged resource of that name pass for ours.
    lock.journal().clear().await?;
    Ok(Destroyed {
        deleted: plan.actionable().count(),
        left_alone,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::AwsError;

    fn stale(what: &str) -> WorkflowError {
        EngineError::StalePlan(what.into()).into()
    }

    #[test]
    fn a_failed_release_never_hides_the_first_error() {
        let both = first_error::<()>(Err(stale("body")), Err(AwsError::msg("release")), "s");
        assert!(both.unwrap_err().to_string().contains("body"));
        let release = first_error(Ok(1), Err(AwsError::msg("release")), "s");
        assert!(release.unwrap_err().to_string().contains("release"));
        let body = first_error::<()>(Err(stale("body")), Ok(()), "s");
        assert!(body.unwrap_err().to_string().contains("body"));
        assert_eq!(first_error(Ok(1), Ok(()), "s").unwrap(), 1);
    }

    #[test]
    fn failures_name_what_failed_and_what_is_left() {
        let run = RunReport {
            steps: vec![super::super::execute::StepReport {
                address: "s3_bucket.lake".into(),
                action: crate::plan::Action::Create,
                seconds: 1.0,
                error: Some("boom".into()),
            }],
            not_started: vec![],
        };
        let e = WorkflowError::Leaked {
            instance: "ecomflow-ci-pr-1".into(),
            left: vec![(Kind::S3Bucket, "ecomflow-ci-pr-1-lake".into())],
        };
        assert_eq!(
            e.to_string(),
            "leak sweep: these resources are still tagged ecomflow:stack=ecomflow-ci-pr-1:\n  \
             s3_bucket ecomflow-ci-pr-1-lake"
        );
        let e = WorkflowError::Failed { verb: "Apply", run };
        assert_eq!(
            e.to_string(),
            "Apply failed; rerun it to converge (every step is idempotent):\n  \
             s3_bucket.lake: boom"
        );
    }
}
