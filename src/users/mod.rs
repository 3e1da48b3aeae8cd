//! `ecomflow-infra users sync`: make the Cognito users and groups of a stack instance match
//! `cognito-users.yaml`, for ten thousand users as easily as for ten.
//!
//! The file is validated before any API call ([`file`]). The plan is computed from listings
//! (ListUsers, ListGroups, and AdminListGroupsForUser only for users whose sync stamp does not
//! match, see [`diff`]), then applied under client-side rate limits per Cognito quota category
//! ([`cognito`]). The run is resumable: a rerun recomputes the plan and does only what is left.

pub mod cognito;
pub mod diff;
pub mod file;
pub mod passwords;

pub use diff::{PruneMode, UsersPlan, SYNC_ATTRIBUTE};

use crate::aws::{Aws, AwsError};
use cognito::{Limiters, Pool, Welcome};
use futures::stream::{self, StreamExt};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use std::collections::HashMap;
use std::io::IsTerminal;

/// Invitations Cognito's default e-mail sender delivers per day.
pub const DEFAULT_SENDER_DAILY_LIMIT: usize = 50;

/// Computes the plan: groups and users to create, update, enable/disable, prune.
pub async fn plan(
    aws: &Aws,
    pool: &Pool,
    file: &file::UsersFile,
    prune: PruneMode,
    limits: &Limiters,
    concurrency: usize,
) -> Result<UsersPlan, AwsError> {
    let live_groups = cognito::list_groups(aws, &pool.id, limits).await?;
    let live_users = cognito::list_users(aws, &pool.id, limits).await?;
    let (groups_create, groups_update) = diff::group_changes(&file.groups, &live_groups);
    // After an interrupted run, stamps may claim groups that were never added: read every
    // group's members instead (one listing per 60 members), and trust nothing.
    let thorough = pool.sync_interrupted;
    let t = diff::triage(file, &live_users, prune, thorough);
    let mut memberships: HashMap<String, Vec<String>> = HashMap::new();
    if thorough {
        for g in &live_groups {
            for member in cognito::members(aws, &pool.id, &g.name, limits).await? {
                memberships.entry(member).or_default().push(g.name.clone());
            }
        }
    }
    let memberships = &memberships;
    let inspected: Vec<Result<diff::UserUpdate, AwsError>> =
        stream::iter(t.inspect.iter().map(|(decl, live)| async move {
            let groups = if thorough {
                memberships
                    .get(&live.username.to_lowercase())
                    .cloned()
                    .unwrap_or_default()
            } else {
                cognito::groups_of(aws, &pool.id, &live.username, limits).await?
            };
            Ok(diff::user_update(decl, live, &groups))
        }))
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut unchanged = t.unchanged;
    let mut update = Vec::new();
    for (u, (_, live)) in inspected.into_iter().zip(&t.inspect) {
        let u = u?;
        if u.is_noop(live.stamp()) {
            unchanged += 1;
        } else {
            update.push(u);
        }
    }
    update.sort_by(|a, b| a.username.cmp(&b.username));
    Ok(UsersPlan {
        groups_create,
        groups_update,
        create: t.missing.iter().map(|u| diff::user_create(u)).collect(),
        update,
        prune: t.prune,
        unchanged,
        resume: thorough,
    })
}

/// A user whose sync failed, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    /// Username.
    pub username: String,
    /// The error.
    pub reason: String,
}

/// What a sync did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SyncReport {
    /// Users created.
    pub created: usize,
    /// Users updated (attributes, groups or status).
    pub updated: usize,
    /// Users disabled (by the file or by `--prune`).
    pub disabled: usize,
    /// Users deleted by `--prune=delete`.
    pub deleted: usize,
    /// Declared users already as declared.
    pub unchanged: usize,
    /// Users that failed, with reasons.
    pub failed: Vec<Failure>,
}

impl SyncReport {
    /// The one-line summary.
    pub fn summary(&self) -> String {
        format!(
            "Users: {} created, {} updated, {} disabled, {} deleted, {} unchanged, {} failed.",
            self.created,
            self.updated,
            self.disabled,
            self.deleted,
            self.unchanged,
            self.failed.len()
        )
    }
}

/// Progress of a sync: a bar on a terminal, a plain line per tenth otherwise.
struct Progress {
    bar: ProgressBar,
    plain: bool,
    total: u64,
}

impl Progress {
    fn new(total: u64, quiet: bool) -> Self {
        let terminal = !quiet && std::io::stderr().is_terminal();
        let bar = if terminal {
            ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} users {msg} [{elapsed}, {per_sec}]")
                .expect("static template is valid"),
        );
        Self {
            bar,
            plain: !terminal && !quiet,
            total,
        }
    }

    fn tick(&self, phase: &str) {
        self.bar.inc(1);
        let done = self.bar.position();
        let step = (self.total / 10).max(1);
        if self.plain && (done % step == 0 || done == self.total) {
            eprintln!("users sync: {done}/{} ({phase})", self.total);
        }
    }
}

/// How to apply a users plan.
pub struct Settings<'a> {
    /// Have Cognito e-mail invitations (else suppress messages and record passwords).
    pub invite: bool,
    /// Rate limits per quota category.
    pub limits: &'a Limiters,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// No progress output.
    pub quiet: bool,
}

/// Applies a plan. Every user is attempted; failures are collected, never fatal for the rest.
pub async fn apply(
    aws: &Aws,
    pool: &Pool,
    plan: &UsersPlan,
    settings: &Settings<'_>,
    passwords: Option<&mut passwords::PasswordFile>,
) -> Result<SyncReport, AwsError> {
    let (invite, limits, concurrency, quiet) = (
        settings.invite,
        settings.limits,
        settings.concurrency,
        settings.quiet,
    );
    if !pool.has_stamp_attribute() {
        cognito::add_stamp_attribute(aws, pool).await?;
    }
    if !pool.sync_interrupted {
        cognito::mark_sync(aws, pool, true).await?;
    }
    for g in &plan.groups_create {
        cognito::put_group(aws, &pool.id, g, false, limits).await?;
    }
    for (g, _) in &plan.groups_update {
        cognito::put_group(aws, &pool.id, g, true, limits).await?;
    }
    let mut report = SyncReport {
        unchanged: plan.unchanged + plan.update.iter().filter(|u| u.stamp_only()).count(),
        ..SyncReport::default()
    };
    let total = (plan.create.len() + plan.update.len() + plan.prune.len()) as u64;
    let progress = Progress::new(total, quiet);
    // Without invitations, a new user's temporary password is written to the passwords file
    // before the call that creates the user: a run killed after Cognito created it but before
    // the answer arrived must not lose the password (the rerun finds the user and leaves it
    // be). A username whose create was retried by a rerun appears more than once; its last
    // line is the password in force.
    let password_file = std::sync::Mutex::new(passwords);

    // Creates first, at the UserCreation rate, so they are not held back by the slower
    // UserUpdate category; follow-ups (groups, status, stamps) come after. The outer result
    // is fatal (the passwords file could not be written), the inner one is this user's.
    let mut created = Vec::new();
    let mut creates = stream::iter(plan.create.iter().map(|c| {
        let password_file = &password_file;
        async move {
            let password = (!invite).then(|| passwords::generate(20));
            if let Some(p) = &password {
                let mut file = password_file.lock().expect("passwords file");
                if let Some(file) = file.as_deref_mut() {
                    if let Err(e) = file.record(&c.username, p) {
                        let e = format!("failed to write {}: {e}", file.path().display());
                        return (c, Err(AwsError::msg(e)));
                    }
                }
            }
            let welcome = match &password {
                Some(p) => Welcome::Suppress(p),
                None => Welcome::Invite,
            };
            let result = cognito::create_user(aws, &pool.id, c, &welcome, limits).await;
            (c, Ok(result))
        }
    }))
    .buffer_unordered(concurrency.max(1));
    while let Some((c, result)) = creates.next().await {
        match result? {
            Ok(()) => created.push(c),
            Err(e) => {
                progress.tick("creating");
                report.failed.push(Failure {
                    username: c.username.clone(),
                    reason: e.to_string(),
                })
            }
        }
    }
    drop(creates);

    enum Step<'a> {
        Finish(&'a diff::UserCreate),
        Update(&'a diff::UserUpdate),
        Prune(&'a diff::Prune),
    }
    let steps = created
        .iter()
        .filter(|c| c.has_follow_ups())
        .map(|c| Step::Finish(c))
        .chain(plan.update.iter().map(Step::Update))
        .chain(plan.prune.iter().map(Step::Prune));
    let mut results = stream::iter(steps.map(|step| async move {
        let r = match &step {
            Step::Finish(c) => cognito::finish_create(aws, &pool.id, c, limits).await,
            Step::Update(u) => cognito::update_user(aws, &pool.id, u, limits).await,
            Step::Prune(p) => cognito::prune_user(aws, &pool.id, p, limits).await,
        };
        (step, r)
    }))
    .buffer_unordered(concurrency.max(1));
    while let Some((step, result)) = results.next().await {
        let (username, phase) = match &step {
            Step::Finish(c) => (&c.username, "creating"),
            Step::Update(u) => (&u.username, "updating"),
            Step::Prune(p) => (&p.username, "pruning"),
        };
        progress.tick(phase);
        if let Err(e) = result {
            report.failed.push(Failure {
                username: username.clone(),
                reason: e.to_string(),
            });
            continue;
        }
        match step {
            Step::Finish(c) => {
                report.created += 1;
                report.disabled += usize::from(c.disable);
            }
            Step::Update(u) if !u.stamp_only() => {
                report.updated += 1;
                report.disabled += usize::from(u.enable == Some(false));
            }
            Step::Update(_) => {}
            Step::Prune(p) if p.delete => report.deleted += 1,
            Step::Prune(_) => report.disabled += 1,
        }
    }
    // Creates finished at creation (no follow-up step) are counted here.
    for _ in created.iter().filter(|c| !c.has_follow_ups()) {
        progress.tick("creating");
        report.created += 1;
    }
    progress.bar.finish_and_clear();
    report.failed.sort_by(|a, b| a.username.cmp(&b.username));
    if report.failed.is_empty() {
        cognito::mark_sync(aws, pool, false).await?;
    }
    Ok(report)
}
