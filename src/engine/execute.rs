//! Walking a plan's graph with bounded concurrency: each step starts as soon as what it
//! waits for is done.

use super::graph::Graph;
use super::lock::Journal;
use super::progress::Progress;
use crate::aws::{provider, Aws, AwsError, Changes, Inputs, Outputs};
use crate::plan::{Action, Change};
use futures::stream::{FuturesUnordered, StreamExt};
use serde::Serialize;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

/// How one step went.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    /// Resource address.
    pub address: String,
    /// What was done.
    pub action: Action,
    /// Seconds it took.
    pub seconds: f64,
    /// The error, if it failed.
    pub error: Option<String>,
}

/// How a whole run went.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunReport {
    /// Steps that ran, in completion order.
    pub steps: Vec<StepReport>,
    /// Steps not started because an earlier step failed.
    pub not_started: Vec<String>,
}

impl RunReport {
    /// True if every step succeeded and none was left out.
    pub fn succeeded(&self) -> bool {
        self.not_started.is_empty() && self.steps.iter().all(|s| s.error.is_none())
    }
}

fn verbs(action: Action) -> (&'static str, &'static str) {
    match action {
        Action::Create => ("creating", "created"),
        Action::Update => ("updating", "updated"),
        Action::Replace => ("replacing", "replaced"),
        Action::Delete => ("destroying", "destroyed"),
        Action::NoOp => ("checking", "unchanged"),
    }
}

async fn create(
    aws: &Aws,
    change: &Change,
    inputs: &Inputs,
    journal: Option<&Journal>,
) -> Result<Outputs, AwsError> {
    let desired = change
        .desired
        .as_ref()
        .ok_or_else(|| AwsError::msg("internal error: a create without a declared spec"))?;
    // Journal the create of taggable kinds, so that a crash between creating and tagging
    // leaves a resource the rerun recognises as ours.
    let journaled = journal.filter(|_| change.kind.info().taggable);
    if let Some(j) = journaled {
        j.begin(&change.physical).await?;
    }
    let outputs = provider(change.kind).create(aws, desired, inputs).await?;
    if let Some(j) = journaled {
        j.end(&change.physical).await?;
    }
    Ok(outputs)
}

/// Runs one step; returns the resource's outputs as they are after it.
async fn run_step(
    aws: &Aws,
    change: &Change,
    inputs: &Inputs,
    journal: Option<&Journal>,
) -> Result<Outputs, AwsError> {
    let p = provider(change.kind);
    let live = (
        change.live.clone().unwrap_or(serde_json::Value::Null),
        change.outputs.clone(),
    );
    match change.action {
        Action::Create => create(aws, change, inputs, journal).await,
        Action::Update => {
            let desired = change.desired.as_ref().ok_or_else(|| {
                AwsError::msg("internal error: an update without a declared spec")
            })?;
            let changes = Changes::new(change.attributes.iter().map(|a| a.path.clone()).collect());
            p.update(aws, desired, &live, &changes, inputs).await?;
            Ok(change.outputs.clone())
        }
        Action::Replace => {
            p.delete(aws, &change.physical, &live).await?;
            create(aws, change, inputs, journal).await
        }
        Action::Delete => {
            p.delete(aws, &change.physical, &live).await?;
            Ok(Outputs::new())
        }
        Action::NoOp => Ok(change.outputs.clone()),
    }
}

/// [`execute_with`] where the changes themselves are all that is known of the live outputs.
pub async fn execute(
    aws: &Aws,
    changes: &[&Change],
    parallelism: usize,
    journal: Option<&Journal>,
    progress: &Progress,
) -> Result<RunReport, super::graph::Cycle> {
    let known = changes
        .iter()
        .map(|c| (c.address.clone(), c.outputs.clone()))
        .collect();
    let walk = Walk {
        parallelism,
        journal,
        keep_going: false,
    };
    execute_with(aws, changes, known, walk, progress).await
}

/// How to walk a plan.
#[derive(Clone, Copy)]
pub struct Walk<'a> {
    /// Steps at most at once.
    pub parallelism: usize,
    /// The lock's journal, for creates of taggable kinds.
    pub journal: Option<&'a Journal>,
    /// After a failure, still start the steps that do not depend on the failed one.
    pub keep_going: bool,
}

/// Runs the actionable changes, at most `parallelism` at once. After a failure no new step
/// starts (unless the walk keeps going, when only what depends on the failed step is left
/// out); the running ones finish. Every step is idempotent, so a rerun converges.
///
/// `known` holds the live outputs (IDs, ARNs) of every resource of the plan, by address; each
/// step gets those of its dependencies, and a create's outputs replace its entry before its
/// dependents start.
pub async fn execute_with(
    aws: &Aws,
    changes: &[&Change],
    mut known: BTreeMap<String, Outputs>,
    walk: Walk<'_>,
    progress: &Progress,
) -> Result<RunReport, super::graph::Cycle> {
    let Walk {
        parallelism,
        journal,
        keep_going,
    } = walk;
    let graph = Graph::new(changes)?;
    let dependents = graph.dependents();
    // Among the steps ready to start, those with the longest chains behind them go first
    // (then plan order), so a slot never goes to a leaf while the critical path waits.
    let depths = graph.depths();
    let mut pending: Vec<usize> = graph.waits_for.iter().map(Vec::len).collect();
    let mut ready: BinaryHeap<(usize, Reverse<usize>)> = (0..changes.len())
        .filter(|&i| pending[i] == 0)
        .map(|i| (depths[i], Reverse(i)))
        .collect();
    let mut started = vec![false; changes.len()];
    let mut running = FuturesUnordered::new();
    let mut report = RunReport::default();
    let mut failed = false;
    loop {
        while (keep_going || !failed) && running.len() < parallelism.max(1) {
            let Some((_, Reverse(i))) = ready.pop() else {
                break;
            };
            started[i] = true;
            let change = changes[i];
            let (doing, _) = verbs(change.action);
            let step = progress.start(&change.address, doing);
            let inputs = Inputs::new(
                change
                    .depends_on
                    .iter()
                    .filter_map(|d| Some((d.clone(), known.get(d)?.clone())))
                    .collect(),
            );
            running.push(async move {
                let result = run_step(aws, change, &inputs, journal).await;
                (i, step, result)
            });
        }
        let Some((i, step, result)) = running.next().await else {
            break;
        };
        let change = changes[i];
        let (_, done) = verbs(change.action);
        let error = match result {
            Ok(outputs) => {
                known.insert(change.address.clone(), outputs);
                None
            }
            Err(e) => Some(e.to_string()),
        };
        let elapsed = step.finish(match &error {
            None => Ok(done),
            Some(e) => Err(e.as_str()),
        });
        if error.is_some() {
            failed = true;
        } else {
            for &d in &dependents[i] {
                pending[d] -= 1;
                if pending[d] == 0 {
                    ready.push((depths[d], Reverse(d)));
                }
            }
        }
        report.steps.push(StepReport {
            address: change.address.clone(),
            action: change.action,
            seconds: elapsed.as_secs_f64(),
            error,
        });
    }
    report.not_started = (0..changes.len())
        .filter(|&i| !started[i])
        .map(|i| changes[i].address.clone())
        .collect();
    Ok(report)
}
