//! `gc`: the safety net that reaps a stack's ephemeral `--instance` copies.
//!
//! Every taggable resource of a copy made with `--instance` carries `ecomflow:stack=<instance>`,
//! `ecomflow:expires-at=<RFC 3339>`: the time of the apply that wrote the tags plus the stack
//! file's `ephemeral_ttl_hours` (apply writes tags when it creates a resource, and again
//! whenever it updates one), and `ecomflow:created-at=<RFC 3339>`: the time of the apply that
//! created the resource (stamped once; later applies write the live value back). `gc` lists
//! every taggable kind under the name prefix `<app>-<env>-` with the providers' own listing
//! (the one the leak sweep uses), groups what it finds by the `ecomflow:stack` tag, and
//! destroys the copies that are due, one at a time, through the engine path of `destroy`: a
//! [`Session`] for the copy's suffix, its stack lock, the destroy plan (which only ever deletes
//! resources tagged as that copy's), the run, and the leak sweep.
//!
//! When a copy is due:
//!
//! - By default, when its expiry has passed. The resources of one copy can carry different
//!   expiries (apply rewrites the tag only on the resources it updates); the latest counts, so
//!   a copy is due only once every one of its resources has expired.
//! - With `--older-than D`, when it was created at least `D` ago, however recently it was
//!   applied again. Its creation time is the earliest creation tag among its resources (a
//!   resource added to the copy by a later apply carries that apply's time, and so does a
//!   resource of an older copy that a later update stamped; the copy is as old as its oldest
//!   stamp, which is never earlier than its creation). The listing carries no creation time of
//!   its own (that would mean a describe call per resource in every provider): the tags are
//!   what every resource has. A copy made before the creation tag existed has none; its age is
//!   then derived from the expiry, as the latest expiry minus the stack file's TTL, i.e. the
//!   time of the latest apply that wrote tags, and the reason says so. For such a copy updated
//!   since its creation the age counts from the update, so `gc` errs towards keeping it, never
//!   towards reaping it early; if the file's TTL changed after the tags were written, the
//!   derived time moves by the difference. An unreadable creation tag keeps the copy under
//!   this rule.
//!
//! Never collected: the stack's own instance (`<app>-<env>`, no suffix), instances without an
//! expiry tag, instances with an unreadable one, and every instance of a protected stack file.
//! Just before destroying a copy, `gc` lists it again under its lock and checks it is still
//! due, so an apply that refreshed its expiry in the meantime wins under the default rule (an
//! apply leaves its creation tags as they are, so under `--older-than` it stays due).

use crate::aws::{provider, Aws, AwsError, CallCounts};
use crate::cli::{GcArgs, Global, Output};
use crate::config;
use crate::engine::lock::{Lock, LockError};
use crate::engine::progress::Progress;
use crate::engine::{EngineError, Packages, Session};
use crate::model::{spec_tags, Kind, Tags};
use crate::names::{instance_name, TAG_CREATED, TAG_ENV, TAG_EXPIRES, TAG_STACK};
use crate::session;
use anyhow::{bail, Context as _};
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use futures::stream::{self, StreamExt, TryStreamExt};
use serde::Serialize;
use std::collections::BTreeMap;

/// A taggable resource found by listing its kind, with its tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaggedResource {
    /// Its kind.
    pub kind: Kind,
    /// Its physical name.
    pub physical: String,
    /// Its tags.
    pub tags: Tags,
}

/// One stack instance of the stack file's app and env, as its resources' tags describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundInstance {
    /// The instance name (the `ecomflow:stack` tag), e.g. `ecomflow-ci-pr-7`.
    pub instance: String,
    /// The `--instance` suffix (`pr-7`); `None` for the stack's own instance.
    pub suffix: Option<String>,
    /// Its resources, as `<kind> <physical>`, sorted.
    pub resources: Vec<String>,
    /// The expiry tags found: (`<kind> <physical>`, tag value), sorted.
    pub expiry_tags: Vec<(String, String)>,
    /// The creation tags found: (`<kind> <physical>`, tag value), sorted.
    pub created_tags: Vec<(String, String)>,
}

/// Which copies `gc` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Those whose expiry tag has passed.
    Expired,
    /// Those created at least this long ago: at their earliest creation tag or, for copies
    /// without one, at their last tag stamp (latest expiry minus the TTL).
    OlderThan(std::time::Duration),
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rule::Expired => write!(f, "expired (their {TAG_EXPIRES} tag has passed)"),
            Rule::OlderThan(d) => write!(f, "older than {}", humantime::format_duration(*d)),
        }
    }
}

/// What `gc` makes of one found instance at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    /// The latest expiry among its resources, if it has a readable one.
    pub expires_at: Option<DateTime<Utc>>,
    /// When its tags were last written: `expires_at` minus the TTL.
    pub tagged_at: Option<DateTime<Utc>>,
    /// The earliest creation tag among its resources, if it has any and all are readable.
    pub created_at: Option<DateTime<Utc>>,
    /// Whether it is to be destroyed.
    pub due: bool,
    /// Why, in words.
    pub reason: String,
}

/// Lists every taggable kind for resources named with `prefix`, with their tags (the listing
/// of the leak sweep, for many instances at once). At most `parallelism` kinds at a time.
pub async fn list_tagged(
    aws: &Aws,
    prefix: &str,
    parallelism: usize,
) -> Result<Vec<TaggedResource>, AwsError> {
    let lists = stream::iter(Kind::ALL.into_iter().filter(|k| k.info().taggable).map(
        |kind| async move {
            let found = provider(kind).list(aws, prefix, &[]).await?;
            Ok::<_, AwsError>(
                found
                    .into_iter()
                    .map(|l| TaggedResource {
                        kind,
                        tags: spec_tags(&l.spec).unwrap_or_default(),
                        physical: l.physical,
                    })
                    .collect::<Vec<_>>(),
            )
        },
    ))
    .buffer_unordered(parallelism.max(1))
    .try_collect::<Vec<_>>()
    .await?;
    Ok(lists.into_iter().flatten().collect())
}

/// Groups resources into the instances of `app`/`env` by their `ecomflow:stack` tag. A
/// resource counts only if that tag is `<app>-<env>` or `<app>-<env>-<suffix>` and its
/// `ecomflow:env` tag is `env` (so env `ci` never claims the instances of an env `ci-x`);
/// resources without the ownership tag are ignored, whatever their name.
pub fn group(
    app: &str,
    env: &str,
    resources: impl IntoIterator<Item = TaggedResource>,
) -> Vec<FoundInstance> {
    let base = instance_name(app, env, None);
    let copies = format!("{base}-");
    let mut found: BTreeMap<String, FoundInstance> = BTreeMap::new();
    for r in resources {
        let Some(stack) = r.tags.get(TAG_STACK) else {
            continue;
        };
        if r.tags.get(TAG_ENV).map(String::as_str) != Some(env) {
            continue;
        }
        let suffix = if *stack == base {
            None
        } else if let Some(suffix) = stack.strip_prefix(&copies) {
            Some(suffix.to_string())
        } else {
            continue;
        };
        let entry = found.entry(stack.clone()).or_insert_with(|| FoundInstance {
            instance: stack.clone(),
            suffix,
            resources: Vec::new(),
            expiry_tags: Vec::new(),
            created_tags: Vec::new(),
        });
        let label = format!("{} {}", r.kind, r.physical);
        if let Some(expiry) = r.tags.get(TAG_EXPIRES) {
            entry.expiry_tags.push((label.clone(), expiry.clone()));
        }
        if let Some(created) = r.tags.get(TAG_CREATED) {
            entry.created_tags.push((label.clone(), created.clone()));
        }
        entry.resources.push(label);
    }
    found
        .into_values()
        .map(|mut f| {
            f.resources.sort();
            f.expiry_tags.sort();
            f.created_tags.sort();
            f
        })
        .collect()
}

/// A whole number of seconds, as humantime writes it (`1h 2m 3s`).
fn span(d: TimeDelta) -> String {
    let seconds = u64::try_from(d.num_seconds()).unwrap_or(0);
    humantime::format_duration(std::time::Duration::from_secs(seconds)).to_string()
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Decides whether `found` is due under `rule` at `now`, for a stack whose copies live
/// `ttl_hours`. Pure: the clock is an argument.
pub fn assess(found: &FoundInstance, rule: Rule, ttl_hours: u32, now: DateTime<Utc>) -> Assessment {
    let keep = |reason: String| Assessment {
        expires_at: None,
        tagged_at: None,
        created_at: None,
        due: false,
        reason,
    };
    let Some(suffix) = &found.suffix else {
        return keep("the stack's own instance, not an --instance copy: never collected".into());
    };
    if let Err(e) = config::validate_instance_suffix(suffix) {
        return keep(format!(
            "`{suffix}` is not an --instance suffix this tool makes ({e}): never collected"
        ));
    }
    if found.expiry_tags.is_empty() {
        return keep(format!(
            "no {TAG_EXPIRES} tag: not ephemeral, never collected"
        ));
    }
    let mut latest: Option<DateTime<Utc>> = None;
    for (resource, value) in &found.expiry_tags {
        match DateTime::parse_from_rfc3339(value) {
            Ok(t) => latest = latest.max(Some(t.with_timezone(&Utc))),
            Err(_) => {
                return keep(format!(
                "unreadable {TAG_EXPIRES} tag `{value}` on {resource}: left for a person to check"
            ))
            }
        }
    }
    let expires_at = latest.expect("there is at least one expiry tag");
    let tagged_at = expires_at - TimeDelta::hours(i64::from(ttl_hours));
    let mut earliest: Option<DateTime<Utc>> = None;
    let mut unreadable: Option<(&String, &String)> = None;
    for (resource, value) in &found.created_tags {
        match DateTime::parse_from_rfc3339(value) {
            Ok(t) => {
                let t = t.with_timezone(&Utc);
                earliest = Some(earliest.map_or(t, |e| e.min(t)));
            }
            Err(_) => {
                unreadable.get_or_insert((resource, value));
            }
        }
    }
    let created_at = earliest.filter(|_| unreadable.is_none());
    if let (Rule::OlderThan(_), Some((resource, value))) = (rule, unreadable) {
        return Assessment {
            expires_at: Some(expires_at),
            tagged_at: Some(tagged_at),
            created_at,
            due: false,
            reason: format!(
                "unreadable {TAG_CREATED} tag `{value}` on {resource}: left for a person to check"
            ),
        };
    }
    let (due, reason) = match rule {
        Rule::Expired if expires_at <= now => (
            true,
            format!(
                "expired at {} ({} ago)",
                rfc3339(expires_at),
                span(now - expires_at)
            ),
        ),
        Rule::Expired => (
            false,
            format!(
                "expires at {} (in {})",
                rfc3339(expires_at),
                span(expires_at - now)
            ),
        ),
        Rule::OlderThan(min) => {
            let wanted = humantime::format_duration(min);
            // The creation time, or for a copy made before the creation tag, the last apply's.
            let (born, stamp) = match created_at {
                Some(t) => (t, format!("created at {}", rfc3339(t))),
                None => (
                    tagged_at,
                    format!(
                        "no {TAG_CREATED} tag, so counted from the latest expiry minus the TTL: \
                         tagged at {}",
                        rfc3339(tagged_at)
                    ),
                ),
            };
            let age = now - born;
            if age < TimeDelta::zero() {
                (false, format!("{stamp}, in the future (clock skew?)"))
            } else {
                // A minimum age too large for the clock's range is never reached.
                let old_enough = TimeDelta::from_std(min).is_ok_and(|min| age >= min);
                let verdict = if old_enough { "older" } else { "not older" };
                (
                    old_enough,
                    format!("{stamp} ({} ago), {verdict} than {wanted}", span(age)),
                )
            }
        }
    };
    Assessment {
        expires_at: Some(expires_at),
        tagged_at: Some(tagged_at),
        created_at,
        due,
        reason,
    }
}

/// What `gc` did with one instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Action {
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
    fn text(self) -> &'static str {
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
struct InstanceReport {
    instance: String,
    suffix: Option<String>,
    resources: usize,
    expires_at: Option<String>,
    tagged_at: Option<String>,
    created_at: Option<String>,
    due: bool,
    reason: String,
    action: Action,
    /// Resources the destroy plan deleted.
    deleted: usize,
    /// Declared names that exist without this instance's tag, left alone.
    left_alone: Vec<String>,
    error: Option<String>,
}

/// Counts of the report (`--output json`: `summary`).
#[derive(Debug, Clone, Default, Serialize)]
struct Summary {
    found: usize,
    due: usize,
    destroyed: usize,
    would_destroy: usize,
    skipped: usize,
    failed: usize,
    kept: usize,
}

/// The whole report (`--output json`).
#[derive(Debug, Clone, Serialize)]
struct Report {
    stack_file: String,
    stack: String,
    account: String,
    region: String,
    now: String,
    rule: String,
    older_than_seconds: Option<u64>,
    dry_run: bool,
    instances: Vec<InstanceReport>,
    summary: Summary,
    calls: CallCounts,
}

impl Report {
    fn summarise(&mut self) {
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

    fn summary_line(&self) -> String {
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

/// How destroying one due instance went.
struct Collected {
    action: Action,
    deleted: usize,
    left_alone: Vec<String>,
    error: Option<String>,
    calls: CallCounts,
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

/// `gc`.
pub async fn run(g: &Global, args: &GcArgs) -> anyhow::Result<i32> {
    if let Some(suffix) = &g.instance {
        bail!("gc finds the stack's instances itself; drop `--instance {suffix}`");
    }
    let config = session::load(g, &g.stack)?;
    if config.protected {
        bail!(
            "{} is a protected environment (`protected: true`); gc never destroys its instances",
            g.stack.display()
        );
    }
    let rule = match args.older_than {
        Some(d) => Rule::OlderThan(d.into()),
        None => Rule::Expired,
    };
    let parallelism = usize::from(args.parallelism);
    let aws = Aws::connect(&session::connect_options(g), &config.region)
        .await
        .map_err(EngineError::from)?;
    let base = instance_name(&config.app, &config.env, None);
    let listed = list_tagged(&aws, &format!("{base}-"), parallelism)
        .await
        .with_context(|| format!("failed to list the instances of {base}"))?;
    let found = group(&config.app, &config.env, listed);
    let now = Utc::now();
    let mut report = Report {
        stack_file: g.stack.display().to_string(),
        stack: base.clone(),
        account: aws.account.clone(),
        region: aws.region.clone(),
        now: rfc3339(now),
        rule: rule.to_string(),
        older_than_seconds: args
            .older_than
            .map(|d| std::time::Duration::from(d).as_secs()),
        dry_run: args.dry_run,
        instances: Vec::new(),
        summary: Summary::default(),
        calls: CallCounts::default(),
    };
    for f in &found {
        let a = assess(f, rule, config.ephemeral_ttl_hours, now);
        report.instances.push(InstanceReport {
            instance: f.instance.clone(),
            suffix: f.suffix.clone(),
            resources: f.resources.len(),
            expires_at: a.expires_at.map(rfc3339),
            tagged_at: a.tagged_at.map(rfc3339),
            created_at: a.created_at.map(rfc3339),
            due: a.due,
            reason: a.reason,
            action: if !a.due {
                Action::Kept
            } else {
                Action::WouldDestroy
            },
            deleted: 0,
            left_alone: Vec::new(),
            error: None,
        });
    }
    let text = g.output == Output::Text;
    if text {
        print_listing(&report, &rule);
    }
    let due: Vec<usize> = (0..report.instances.len())
        .filter(|&i| report.instances[i].due)
        .collect();
    add_calls(&mut report.calls, &aws.stats.snapshot());
    if !args.dry_run && !due.is_empty() {
        let names: Vec<&str> = due
            .iter()
            .map(|&i| report.instances[i].instance.as_str())
            .collect();
        crate::cli::confirm(
            args.yes,
            &format!(
                "destroy {} ephemeral instance(s) of {base} ({})",
                due.len(),
                names.join(", ")
            ),
        )?;
        for &i in &due {
            let entry = &report.instances[i];
            let suffix = entry.suffix.clone().expect("due instances have a suffix");
            if text {
                println!("\nDestroying {} ({})...", entry.instance, entry.reason);
            }
            let c = collect(g, args, rule, &suffix).await;
            add_calls(&mut report.calls, &c.calls);
            let entry = &mut report.instances[i];
            entry.action = c.action;
            entry.deleted = c.deleted;
            entry.left_alone = c.left_alone;
            entry.error = c.error;
            if text {
                print_outcome(entry);
            }
        }
    }
    report.summarise();
    match g.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Output::Text => {
            if args.dry_run && !due.is_empty() {
                println!("\nDry run: nothing was destroyed.");
            }
            println!("\n{}", report.summary_line());
        }
    }
    if !g.quiet {
        for i in &report.instances {
            for name in &i.left_alone {
                eprintln!("warning: {}: left alone: {name}", i.instance);
            }
        }
        eprintln!(
            "api calls: reads={} mutations={}",
            report.calls.reads, report.calls.mutations
        );
    }
    if g.verbose > 0 {
        for (op, n) in &report.calls.by_operation {
            eprintln!("  {op}: {n}");
        }
    }
    let failed: Vec<String> = report
        .instances
        .iter()
        .filter(|i| matches!(i.action, Action::Failed | Action::Locked))
        .map(|i| {
            format!(
                "  {}: {}",
                i.instance,
                i.error.as_deref().unwrap_or("failed")
            )
        })
        .collect();
    if failed.is_empty() {
        Ok(crate::cli::EXIT_OK)
    } else {
        eprintln!(
            "error: gc could not collect {} due instance(s); rerun it once the cause is fixed:\n{}",
            failed.len(),
            failed.join("\n")
        );
        Ok(1)
    }
}

fn print_listing(report: &Report, rule: &Rule) {
    if report.instances.is_empty() {
        println!(
            "No instance of {} found in {}/{}.",
            report.stack, report.account, report.region
        );
        return;
    }
    println!(
        "Instances of {} in {}/{} ({}); collecting those {rule}:",
        report.stack, report.account, report.region, report.stack_file
    );
    let width = report
        .instances
        .iter()
        .map(|i| i.instance.len())
        .max()
        .unwrap_or(0);
    for i in &report.instances {
        let verdict = if i.due { "due" } else { "kept" };
        println!(
            "  {:<width$}  {:>3} resources  {verdict}: {}",
            i.instance, i.resources, i.reason
        );
    }
}

fn print_outcome(i: &InstanceReport) {
    match (i.action, &i.error) {
        (Action::Destroyed, _) => println!(
            "{}: destroyed {} resource(s); leak sweep: nothing tagged {TAG_STACK}={} remains.",
            i.instance, i.deleted, i.instance
        ),
        (action, Some(error)) => println!("{}: {}: {error}", i.instance, action.text()),
        (action, None) => println!("{}: {}.", i.instance, action.text()),
    }
}

/// Destroys one due copy the way `destroy` does, under its stack lock.
async fn collect(g: &Global, args: &GcArgs, rule: Rule, suffix: &str) -> Collected {
    let config = match config::load_file(&g.stack, Some(suffix)) {
        Ok(c) => c,
        Err(e) => return Collected::failed(e.to_string()),
    };
    let session = match Session::open(
        config,
        &g.stack.display().to_string(),
        Some(suffix.to_string()),
        &session::connect_options(g),
        &Packages::NotNeeded,
    )
    .await
    {
        Ok(s) => s,
        Err(e) => return Collected::failed(format!("{e:#}")),
    };
    let mut out = match Lock::acquire(&session.aws, session.instance(), "gc").await {
        Err(LockError::Held(held)) => Collected {
            error: Some(held.to_string()),
            ..Collected::new(Action::Locked)
        },
        Err(LockError::Aws(e)) => Collected::failed(e.to_string()),
        Ok(lock) => {
            let mut out = match collect_locked(g, args, rule, &session).await {
                Ok(out) => out,
                Err(e) => Collected::failed(format!("{e:#}")),
            };
            // Destroyed with a clean sweep: as after `destroy`, names journaled by a killed
            // apply must not let a later, untagged resource of that name pass for ours.
            if out.action == Action::Destroyed {
                if let Err(e) = lock.journal().clear().await {
                    out.action = Action::Failed;
                    out.error = Some(e.to_string());
                }
            }
            if let Err(e) = lock.release().await {
                out.action = Action::Failed;
                out.error = Some(match out.error {
                    Some(earlier) => format!("{earlier}; and {e}"),
                    None => e.to_string(),
                });
            }
            out
        }
    };
    out.calls = session.aws.stats.snapshot();
    out
}

async fn collect_locked(
    g: &Global,
    args: &GcArgs,
    rule: Rule,
    session: &Session,
) -> anyhow::Result<Collected> {
    let parallelism = usize::from(args.parallelism);
    // Check again under the lock: an apply may have refreshed the copy since the listing.
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
        return Ok(Collected::new(Action::Gone));
    };
    let now_due = assess(&again, rule, session.config.ephemeral_ttl_hours, Utc::now());
    if !now_due.due {
        return Ok(Collected {
            error: Some(format!("no longer due: {}", now_due.reason)),
            ..Collected::new(Action::NoLongerDue)
        });
    }
    let (plan, skipped) = session.destroy_plan(parallelism).await?;
    let deleted = plan.actionable().count();
    if g.verbose > 0 && g.output == Output::Text {
        print!("{}", crate::plan::render_text(&plan));
    }
    if !plan.is_empty() {
        let progress = Progress::new(g.quiet || g.output == Output::Json);
        let run = session.execute(&plan, parallelism, None, &progress).await?;
        if !run.succeeded() {
            let mut errors: Vec<String> = run
                .steps
                .iter()
                .filter_map(|s| s.error.as_ref().map(|e| format!("{}: {e}", s.address)))
                .collect();
            if !run.not_started.is_empty() {
                errors.push(format!("not started: {}", run.not_started.join(", ")));
            }
            bail!("destroy failed: {}", errors.join("; "));
        }
    }
    let left = session.sweep().await?;
    if !left.is_empty() {
        let names: Vec<String> = left.iter().map(|(k, n)| format!("{k} {n}")).collect();
        bail!(
            "leak sweep: still tagged {TAG_STACK}={}: {}",
            session.instance(),
            names.join(", ")
        );
    }
    Ok(Collected {
        deleted,
        left_alone: skipped.iter().map(|c| c.to_string()).collect(),
        ..Collected::new(Action::Destroyed)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn resource(kind: Kind, physical: &str, tags: &[(&str, &str)]) -> TaggedResource {
        TaggedResource {
            kind,
            physical: physical.into(),
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    /// A resource of `instance` in env `ci`, with an expiry tag if given.
    fn of(instance: &str, what: &str, expires: Option<&str>) -> TaggedResource {
        let mut tags = vec![(TAG_STACK, instance), (TAG_ENV, "ci")];
        if let Some(e) = expires {
            tags.push((TAG_EXPIRES, e));
        }
        resource(Kind::KinesisStream, &format!("{instance}-{what}"), &tags)
    }

    /// A resource of `instance` in env `ci` with an expiry and a creation tag.
    fn made(instance: &str, what: &str, expires: &str, created: &str) -> TaggedResource {
        let mut r = of(instance, what, Some(expires));
        r.tags.insert(TAG_CREATED.into(), created.into());
        r
    }

    fn one(resources: Vec<TaggedResource>) -> FoundInstance {
        let mut found = group("ecomflow", "ci", resources);
        assert_eq!(found.len(), 1, "{found:?}");
        found.remove(0)
    }

    const NOW: &str = "2026-11-25T12:00:00Z";

    #[test]
    fn resources_group_by_their_ownership_tag() {
        let found = group(
            "ecomflow",
            "ci",
            vec![
                of("ecomflow-ci-pr-1", "orders", Some("2026-11-25T10:00:00Z")),
                made(
                    "ecomflow-ci-pr-1",
                    "alerts",
                    "2026-11-25T11:00:00Z",
                    "2026-11-24T09:00:00Z",
                ),
                of("ecomflow-ci-pr-2", "orders", Some("2026-11-26T10:00:00Z")),
                of("ecomflow-ci", "orders", None),
                // Named like pr-3's, but without the ownership tag: not anyone's.
                resource(
                    Kind::S3Bucket,
                    "ecomflow-ci-pr-3-lake",
                    &[(TAG_ENV, "ci"), (TAG_EXPIRES, "2000-01-01T00:00:00Z")],
                ),
                // Env `ci-x` shares the name prefix; its env tag tells it apart.
                resource(
                    Kind::S3Bucket,
                    "ecomflow-ci-x-pr-1-lake",
                    &[
                        (TAG_STACK, "ecomflow-ci-x-pr-1"),
                        (TAG_ENV, "ci-x"),
                        (TAG_EXPIRES, "2000-01-01T00:00:00Z"),
                    ],
                ),
                // Another app's instance.
                resource(
                    Kind::S3Bucket,
                    "other-ci-pr-1-lake",
                    &[(TAG_STACK, "other-ci-pr-1"), (TAG_ENV, "ci")],
                ),
            ],
        );
        let names: Vec<(&str, Option<&str>, usize)> = found
            .iter()
            .map(|f| (f.instance.as_str(), f.suffix.as_deref(), f.resources.len()))
            .collect();
        assert_eq!(
            names,
            vec![
                ("ecomflow-ci", None, 1),
                ("ecomflow-ci-pr-1", Some("pr-1"), 2),
                ("ecomflow-ci-pr-2", Some("pr-2"), 1),
            ]
        );
        assert_eq!(
            found[1].expiry_tags,
            vec![
                (
                    "kinesis_stream ecomflow-ci-pr-1-alerts".to_string(),
                    "2026-11-25T11:00:00Z".to_string()
                ),
                (
                    "kinesis_stream ecomflow-ci-pr-1-orders".to_string(),
                    "2026-11-25T10:00:00Z".to_string()
                ),
            ]
        );
        assert_eq!(
            found[1].created_tags,
            vec![(
                "kinesis_stream ecomflow-ci-pr-1-alerts".to_string(),
                "2026-11-24T09:00:00Z".to_string()
            )]
        );
        assert!(found[2].created_tags.is_empty());
    }

    #[test]
    fn an_expired_copy_is_due_and_a_live_one_is_not() {
        let expired = one(vec![of(
            "ecomflow-ci-pr-1",
            "orders",
            Some("2026-11-25T10:00:00Z"),
        )]);
        let a = assess(&expired, Rule::Expired, 24, at(NOW));
        assert!(a.due, "{a:?}");
        assert_eq!(a.expires_at, Some(at("2026-11-25T10:00:00Z")));
        assert_eq!(a.tagged_at, Some(at("2026-11-24T10:00:00Z")));
        assert!(a.reason.contains("(2h ago)"), "{}", a.reason);

        let live = one(vec![of(
            "ecomflow-ci-pr-2",
            "orders",
            Some("2026-11-25T12:00:01Z"),
        )]);
        let a = assess(&live, Rule::Expired, 24, at(NOW));
        assert!(!a.due, "{a:?}");
        assert!(a.reason.contains("in 1s"), "{}", a.reason);

        // Exactly at the expiry time: due.
        let edge = one(vec![of("ecomflow-ci-pr-3", "orders", Some(NOW))]);
        assert!(assess(&edge, Rule::Expired, 24, at(NOW)).due);
    }

    #[test]
    fn the_latest_expiry_of_an_instance_counts() {
        // One resource expired, another refreshed by a later apply: not due yet.
        let mixed = one(vec![
            of("ecomflow-ci-pr-1", "orders", Some("2026-11-25T10:00:00Z")),
            of("ecomflow-ci-pr-1", "alerts", Some("2026-11-25T13:00:00Z")),
        ]);
        let a = assess(&mixed, Rule::Expired, 24, at(NOW));
        assert!(!a.due, "{a:?}");
        assert_eq!(a.expires_at, Some(at("2026-11-25T13:00:00Z")));
        // A resource without the tag (e.g. one that could not be tagged yet) does not make an
        // instance non-ephemeral when others carry it.
        let partly = one(vec![
            of("ecomflow-ci-pr-1", "orders", Some("2026-11-25T10:00:00Z")),
            of("ecomflow-ci-pr-1", "alerts", None),
        ]);
        assert!(assess(&partly, Rule::Expired, 24, at(NOW)).due);
    }

    #[test]
    fn non_ephemeral_instances_are_never_due() {
        let rules = [
            Rule::Expired,
            Rule::OlderThan(Duration::ZERO),
            Rule::OlderThan(Duration::from_secs(3600)),
        ];
        // The stack's own instance has no expiry tag.
        let own = one(vec![of("ecomflow-ci", "orders", None)]);
        // A copy without any expiry tag.
        let untagged = one(vec![of("ecomflow-ci-keep", "orders", None)]);
        // The stack's own instance even if someone tagged it with an expiry.
        let own_tagged = one(vec![of(
            "ecomflow-ci",
            "orders",
            Some("2000-01-01T00:00:00Z"),
        )]);
        // A suffix this tool never makes.
        let odd = one(vec![of(
            "ecomflow-ci-PR_1",
            "orders",
            Some("2000-01-01T00:00:00Z"),
        )]);
        for found in [&own, &untagged, &own_tagged, &odd] {
            for rule in rules {
                let a = assess(found, rule, 24, at(NOW));
                assert!(!a.due, "{} under {rule}: {a:?}", found.instance);
            }
        }
        assert!(assess(&untagged, Rule::Expired, 24, at(NOW))
            .reason
            .contains("not ephemeral"));
        assert!(assess(&own_tagged, Rule::Expired, 24, at(NOW))
            .reason
            .contains("stack's own instance"));
    }

    #[test]
    fn an_unreadable_expiry_keeps_the_instance() {
        let bad = one(vec![
            of("ecomflow-ci-pr-1", "orders", Some("2000-01-01T00:00:00Z")),
            of("ecomflow-ci-pr-1", "alerts", Some("tomorrow")),
        ]);
        for rule in [Rule::Expired, Rule::OlderThan(Duration::ZERO)] {
            let a = assess(&bad, rule, 24, at(NOW));
            assert!(!a.due, "{a:?}");
            assert!(a.reason.contains("`tomorrow`"), "{}", a.reason);
        }
    }

    #[test]
    fn older_than_counts_from_the_creation_tag() {
        // Created 3 h before NOW; its expiry is creation plus the 24 h TTL.
        let copy = one(vec![
            made(
                "ecomflow-ci-pr-1",
                "orders",
                "2026-11-26T09:00:00Z",
                "2026-11-25T09:00:00Z",
            ),
            made(
                "ecomflow-ci-pr-1",
                "alerts",
                "2026-11-26T09:00:00Z",
                "2026-11-25T09:00:00Z",
            ),
        ]);
        let now = at(NOW);
        let hours = |h: u64| Rule::OlderThan(Duration::from_secs(h * 3600));
        let a = assess(&copy, hours(2), 24, now);
        assert!(a.due, "{a:?}");
        assert_eq!(a.created_at, Some(at("2026-11-25T09:00:00Z")));
        assert_eq!(
            a.reason,
            "created at 2026-11-25T09:00:00Z (3h ago), older than 2h"
        );
        assert!(assess(&copy, hours(3), 24, now).due);
        let a = assess(&copy, hours(4), 24, now);
        assert!(!a.due, "{a:?}");
        assert!(a.reason.ends_with("(3h ago), not older than 4h"), "{a:?}");
        // The TTL plays no part when the creation tag is there.
        assert!(!assess(&copy, hours(4), 1, now).due);
        // Under the default rule only the expiry counts; the creation time is still reported.
        let a = assess(&copy, Rule::Expired, 24, now);
        assert!(!a.due, "{a:?}");
        assert_eq!(a.created_at, Some(at("2026-11-25T09:00:00Z")));
        // A creation in the future (clock skew) is not old, even for 0s.
        let a = assess(
            &copy,
            Rule::OlderThan(Duration::ZERO),
            24,
            at("2026-11-25T08:00:00Z"),
        );
        assert!(!a.due, "{a:?}");
        assert_eq!(
            a.reason,
            "created at 2026-11-25T09:00:00Z, in the future (clock skew?)"
        );
    }

    #[test]
    fn the_earliest_creation_tag_of_an_instance_counts() {
        // A resource added by a later apply carries that apply's time; one made by an older
        // version carries none. The copy is as old as its oldest stamped resource: 5 h.
        let copy = one(vec![
            made(
                "ecomflow-ci-pr-1",
                "orders",
                "2026-11-26T10:00:00Z",
                "2026-11-25T10:00:00Z",
            ),
            made(
                "ecomflow-ci-pr-1",
                "alerts",
                "2026-11-26T10:00:00Z",
                "2026-11-25T07:00:00Z",
            ),
            made(
                "ecomflow-ci-pr-1",
                "rejects",
                "2026-11-26T11:00:00Z",
                "2026-11-25T11:00:00Z",
            ),
            of("ecomflow-ci-pr-1", "legacy", Some("2026-11-26T10:00:00Z")),
        ]);
        let now = at(NOW);
        let hours = |h: u64| Rule::OlderThan(Duration::from_secs(h * 3600));
        let a = assess(&copy, hours(5), 24, now);
        assert!(a.due, "{a:?}");
        assert_eq!(a.created_at, Some(at("2026-11-25T07:00:00Z")));
        assert!(a
            .reason
            .starts_with("created at 2026-11-25T07:00:00Z (5h ago)"));
        assert!(!assess(&copy, hours(6), 24, now).due);
    }

    #[test]
    fn a_copy_applied_again_recently_but_created_long_ago_is_due() {
        // Created five days ago; applied again half an hour ago, which refreshed every expiry
        // but left the creation tags as they were.
        let copy = one(vec![
            made(
                "ecomflow-ci-pr-1",
                "orders",
                "2026-11-26T11:30:00Z",
                "2026-11-20T12:00:00Z",
            ),
            made(
                "ecomflow-ci-pr-1",
                "alerts",
                "2026-11-26T11:30:00Z",
                "2026-11-20T12:00:00Z",
            ),
        ]);
        let now = at(NOW);
        let day = Rule::OlderThan(Duration::from_secs(86400));
        let a = assess(&copy, day, 24, now);
        assert!(a.due, "{a:?}");
        assert_eq!(
            a.reason,
            "created at 2026-11-20T12:00:00Z (5days ago), older than 1day"
        );
        // Its last tag stamp is recent: it is neither expired nor, by that stamp, old.
        assert_eq!(a.tagged_at, Some(at("2026-11-25T11:30:00Z")));
        assert!(!assess(&copy, Rule::Expired, 24, now).due);
        // Without the creation tags, the same copy would have counted from the last apply.
        let mut untagged = copy.clone();
        untagged.created_tags.clear();
        assert!(!assess(&untagged, day, 24, now).due);
    }

    #[test]
    fn an_unreadable_creation_tag_keeps_the_instance_under_older_than() {
        let bad = one(vec![
            made(
                "ecomflow-ci-pr-1",
                "orders",
                "2000-01-02T00:00:00Z",
                "2000-01-01T00:00:00Z",
            ),
            made(
                "ecomflow-ci-pr-1",
                "alerts",
                "2000-01-02T00:00:00Z",
                "long ago",
            ),
        ]);
        let a = assess(&bad, Rule::OlderThan(Duration::ZERO), 24, at(NOW));
        assert!(!a.due, "{a:?}");
        assert!(
            a.reason
                .contains("unreadable ecomflow:created-at tag `long ago` on "),
            "{}",
            a.reason
        );
        assert_eq!(a.created_at, None);
        // The default rule does not read it.
        assert!(assess(&bad, Rule::Expired, 24, at(NOW)).due);
    }

    #[test]
    fn without_creation_tags_older_than_counts_from_the_latest_stamp() {
        // Made before the creation tag existed. Tagged (expiry minus 24 h TTL) at
        // 2026-11-24T13:00:00Z, i.e. 23 h before NOW.
        let copy = one(vec![
            of("ecomflow-ci-pr-1", "orders", Some("2026-11-25T09:00:00Z")),
            of("ecomflow-ci-pr-1", "alerts", Some("2026-11-25T13:00:00Z")),
        ]);
        let now = at(NOW);
        let hours = |h: u64| Rule::OlderThan(Duration::from_secs(h * 3600));
        let a = assess(&copy, hours(24), 24, now);
        assert!(!a.due, "{a:?}");
        assert_eq!(a.tagged_at, Some(at("2026-11-24T13:00:00Z")));
        assert_eq!(a.created_at, None);
        assert_eq!(
            a.reason,
            "no ecomflow:created-at tag, so counted from the latest expiry minus the TTL: \
             tagged at 2026-11-24T13:00:00Z (23h ago), not older than 1day"
        );
        assert!(assess(&copy, hours(23), 24, now).due);
        assert!(assess(&copy, Rule::OlderThan(Duration::ZERO), 24, now).due);
        // The TTL is the stack file's: a 1 h TTL puts the stamp at 12:00 on the 25th.
        let a = assess(&copy, Rule::OlderThan(Duration::ZERO), 1, now);
        assert!(a.due);
        assert_eq!(a.tagged_at, Some(now));
        assert!(!assess(&copy, Rule::OlderThan(Duration::from_secs(1)), 1, now).due);
        // Not expired under the default rule, whatever its age.
        assert!(!assess(&copy, Rule::Expired, 24, now).due);
        // A stamp in the future (clock skew) is not old, even for 0s.
        let a = assess(
            &copy,
            Rule::OlderThan(Duration::ZERO),
            24,
            at("2026-11-24T12:00:00Z"),
        );
        assert!(!a.due && a.reason.contains("future"), "{a:?}");
        // An age beyond the clock's range is never reached, and does not panic.
        assert!(
            !assess(
                &copy,
                Rule::OlderThan(Duration::from_secs(u64::MAX)),
                24,
                now
            )
            .due
        );
    }

    #[test]
    fn rules_read_well() {
        assert_eq!(
            Rule::OlderThan(Duration::from_secs(86400)).to_string(),
            "older than 1day"
        );
        assert!(Rule::Expired.to_string().contains(TAG_EXPIRES));
    }
}
