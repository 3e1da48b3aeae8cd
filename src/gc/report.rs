//! The report of one `gc` run (`--output json`): what was found, how it was assessed and
//! what was done with it.

use super::assessment::{assess, rfc3339, Rule};
use super::collect::Collected;
use super::listing::{group, list_tagged};
use crate::aws::{Aws, CallCounts};
use crate::config::StackConfig;
use crate::names::instance_name;
use anyhow::Context as _;
use chrono::Utc;
use serde::Serialize;

/// What `gc` did with one instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Not due: left alone.
    Kept,
    /// Due, and `--dry-run` was given.
    WouldDestroy,
    /// Destroyed, and the leak sweep found nothing left.
    Destroyed,
    /// Due at listing time, but not any more when checked again under its lock.
    NoLongerDue,
    /// Due at listing time, but nothing tagged with it was left when checked under its lock.
    Gone,
    /// Another run holds its lock.
    Locked,
    /// Destroying it failed, or the leak sweep found something left.
    Failed,
}

impl Action {
    /// The action in words, as the text output shows it.
    pub fn text(self) -> &'static str {
        match self {
            Action::Kept => "kept",
            Action::WouldDestroy => "would destroy",
            Action::Destroyed => "destroyed",
            Action::NoLongerDue => "skipped",
            Action::Gone => "already gone",
            Action::Locked => "locked",
            Action::Failed => "FAILED",
        }
    }
}

/// One instance in the report (`--output json`: `instances[]`).
#[derive(Debug, Clone, Serialize)]
pub struct InstanceReport {
    /// The instance name.
    pub instance: String,
    /// Its `--instance` suffix; `None` for the stack's own instance.
    pub suffix: Option<String>,
    /// How many resources are tagged as its.
    pub resources: usize,
    /// Its latest expiry (RFC 3339).
    pub expires_at: Option<String>,
    /// When its tags were last written (RFC 3339).
    pub tagged_at: Option<String>,
    /// Its earliest creation tag (RFC 3339).
    pub created_at: Option<String>,
    /// Whether it was due at listing time.
    pub due: bool,
    /// Why it is due or kept.
    pub reason: String,
    /// What was done with it.
    pub action: Action,
    /// Resources the destroy plan deleted.
    pub deleted: usize,
    /// Declared names that exist without this instance's tag, left alone.
    pub left_alone: Vec<String>,
    /// Why collecting it failed or was skipped.
    pub error: Option<String>,
}

/// Counts of the report (`--output json`: `summary`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Instances found.
    pub found: usize,
    /// Instances due at listing time.
    pub due: usize,
    /// Instances destroyed.
    pub destroyed: usize,
    /// Instances a dry run would destroy.
    pub would_destroy: usize,
    /// Due instances found no longer due, or gone, under their lock.
    pub skipped: usize,
    /// Due instances that could not be collected.
    pub failed: usize,
    /// Instances not due.
    pub kept: usize,
}

/// The whole report (`--output json`).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The stack file given.
    pub stack_file: String,
    /// The stack's own instance name, `<app>-<env>`.
    pub stack: String,
    /// The account listed.
    pub account: String,
    /// The region listed.
    pub region: String,
    /// When the instances were assessed (RFC 3339).
    pub now: String,
    /// The rule, in words.
    pub rule: String,
    /// The minimum age of `--older-than`, in seconds.
    pub older_than_seconds: Option<u64>,
    /// Whether nothing is to be destroyed.
    pub dry_run: bool,
    /// Every instance found, in name order.
    pub instances: Vec<InstanceReport>,
    /// The counts, once [`Report::summarise`] ran.
    pub summary: Summary,
    /// The API calls of the whole run.
    pub calls: CallCounts,
}

/// Lists and assesses every instance of the stack file's app and env: the report before
/// anything is collected (every due instance says [`Action::WouldDestroy`]).
pub async fn survey(
    aws: &Aws,
    config: &StackConfig,
    stack_file: &str,
    rule: Rule,
    parallelism: usize,
    dry_run: bool,
) -> anyhow::Result<Report> {
    let base = instance_name(&config.app, &config.env, None);
    let listed = list_tagged(aws, &format!("{base}-"), parallelism)
        .await
        .with_context(|| format!("failed to list the instances of {base}"))?;
    let found = group(&config.app, &config.env, listed);
    let now = Utc::now();
    let instances = found
        .iter()
        .map(|f| {
            let a = assess(f, rule, config.ephemeral_ttl_hours, now);
            InstanceReport {
                instance: f.instance.clone(),
                suffix: f.suffix.clone(),
                resources: f.resources.len(),
                expires_at: a.expires_at.map(rfc3339),
                tagged_at: a.tagged_at.map(rfc3339),
                created_at: a.created_at.map(rfc3339),
                due: a.due,
                reason: a.reason,
                action: if a.due {
                    Action::WouldDestroy
                } else {
                    Action::Kept
                },
                deleted: 0,
                left_alone: Vec::new(),
                error: None,
            }
        })
        .collect();
    let mut report = Report {
        stack_file: stack_file.to_string(),
        stack: base,
        account: aws.account.clone(),
        region: aws.region.clone(),
        now: rfc3339(now),
        rule: rule.to_string(),
        older_than_seconds: match rule {
            Rule::OlderThan(d) => Some(d.as_secs()),
            Rule::Expired => None,
        },
        dry_run,
        instances,
        summary: Summary::default(),
        calls: CallCounts::default(),
    };
    add_calls(&mut report.calls, &aws.stats.snapshot());
    Ok(report)
}

impl Report {
    /// The positions in [`Report::instances`] of the instances due.
    pub fn due(&self) -> Vec<usize> {
        (0..self.instances.len())
            .filter(|&i| self.instances[i].due)
            .collect()
    }

    /// Records how collecting the instance at `index` went.
    pub fn record(&mut self, index: usize, collected: Collected) {
        add_calls(&mut self.calls, &collected.calls);
        let entry = &mut self.instances[index];
        entry.action = collected.action;
        entry.deleted = collected.deleted;
        entry.left_alone = collected.left_alone;
        entry.error = collected.error;
    }

    /// Counts the instances by what was done with them.
    pub fn summarise(&mut self) {
        let mut s = Summary {
            found: self.instances.len(),
            ..Summary::default()
        };
        for i in &self.instances {
            s.due += usize::from(i.due);
            match i.action {
                Action::Kept => s.kept += 1,
                Action::WouldDestroy => s.would_destroy += 1,
                Action::Destroyed => s.destroyed += 1,
                Action::NoLongerDue | Action::Gone => s.skipped += 1,
                Action::Locked | Action::Failed => s.failed += 1,
            }
        }
        self.summary = s;
    }

    /// The summary in one line, as the text output ends.
    pub fn summary_line(&self) -> String {
        let s = &self.summary;
        let done = if self.dry_run {
            format!("{} would be destroyed", s.would_destroy)
        } else {
            format!(
                "{} destroyed, {} skipped, {} failed",
                s.destroyed, s.skipped, s.failed
            )
        };
        format!(
            "Gc: {} instance(s) found, {} due: {done}, {} kept.",
            s.found, s.due, s.kept
        )
    }
}

fn add_calls(total: &mut CallCounts, more: &CallCounts) {
    total.reads += more.reads;
    total.mutations += more.mutations;
    for (op, n) in &more.by_operation {
        *total.by_operation.entry(op.clone()).or_default() += n;
    }
}
