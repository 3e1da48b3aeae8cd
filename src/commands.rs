//! What each subcommand does, between parsing (main) and the library.

use crate::aws::Aws;
use crate::cli::{
    confirm, ApplyArgs, BuildArgs, DataCheckArgs, DestroyArgs, ExportCloudFormationArgs,
    ForceUnlockArgs, GcArgs, Global, LakeQueryArgs, Output, OutputsArgs, PlanArgs, PruneArg,
    TemplateFormat, UsersSyncArgs, EXIT_CHANGES, EXIT_OK,
};
use crate::engine::execute::RunReport;
use crate::engine::lock;
use crate::engine::progress::Progress;
use crate::engine::workflow::{self, ApplyOptions, Observer};
use crate::engine::{EngineError, Session};
use crate::gc::{self, Rule};
use crate::names::TAG_STACK;
use crate::plan::{parse_saved, render_json, render_saved, render_text, Conflict, Plan};
use crate::session::{connect_options, load, open, open_config, open_session, open_without_code};
use anyhow::{bail, Context, Result};
use std::path::Path;

fn print_calls(g: &Global, session: &Session) {
    print_stats(g, &session.aws);
}

/// `plan`.
pub async fn plan(g: &Global, args: &PlanArgs) -> Result<i32> {
    let session = open(g, &g.stack).await?;
    let plan = session.plan(args.parallelism.into()).await?;
    match g.output {
        Output::Text => print!("{}", render_text(&plan)),
        Output::Json => println!("{}", render_json(&plan)),
    }
    if let Some(out) = &args.out {
        std::fs::write(out, render_saved(&plan))
            .with_context(|| format!("failed to write {}", out.display()))?;
        if !g.quiet {
            eprintln!(
                "Saved the plan to {}; apply it with `ecomflow-infra apply {}`.",
                out.display(),
                out.display()
            );
        }
    }
    print_calls(g, &session);
    Ok(if args.detailed_exitcode && !plan.is_empty() {
        EXIT_CHANGES
    } else {
        EXIT_OK
    })
}

fn read_saved_plan(path: &Path) -> Result<Plan> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("failed to read the plan {}", path.display()))?;
    parse_saved(&text).map_err(|e| anyhow::anyhow!("{} {e}", path.display()))
}

#[derive(serde::Serialize)]
struct ApplyOutput<'a> {
    plan: &'a Plan,
    run: &'a RunReport,
    calls: crate::aws::CallCounts,
}

/// Which workflow a [`Terminal`] shows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Verb {
    Apply,
    Destroy,
}

/// How `apply` and `destroy` show their plan, ask, and report their run on the command line.
struct Terminal<'a> {
    g: &'a Global,
    session: &'a Session,
    verb: Verb,
    yes: bool,
}

impl Observer for Terminal<'_> {
    fn show_plan(&self, plan: &Plan, left_alone: &[Conflict]) {
        match self.verb {
            Verb::Destroy => report_destroy_plan(self.g, plan, left_alone),
            // Apply's JSON carries the plan with the run, once it is over.
            Verb::Apply if self.g.output == Output::Text => print!("{}", render_text(plan)),
            Verb::Apply => {}
        }
    }

    fn confirm(&self, what: &str) -> Result<()> {
        confirm(self.yes, what)
    }

    fn progress(&self) -> Progress {
        Progress::new(self.g.quiet || self.g.output == Output::Json)
    }

    fn ran(&self, plan: &Plan, run: &RunReport) {
        // Nothing ran: only apply's JSON reports it, as an empty run.
        if plan.is_empty() && (self.verb == Verb::Destroy || self.g.output == Output::Text) {
            print_calls(self.g, self.session);
            return;
        }
        let verb = match self.verb {
            Verb::Apply => "Apply",
            Verb::Destroy => "Destroy",
        };
        print_run(self.g, self.session, plan, run, verb);
    }
}

fn print_run(g: &Global, session: &Session, plan: &Plan, run: &RunReport, verb: &str) {
    match g.output {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(&ApplyOutput {
                plan,
                run,
                calls: session.aws.stats.snapshot()
            })
            .expect("a plan and a run report are plain data")
        ),
        Output::Text => {
            let failed = run.steps.iter().filter(|s| s.error.is_some()).count();
            println!(
                "{verb}: {} succeeded, {failed} failed, {} not started.",
                run.steps.len() - failed,
                run.not_started.len()
            );
        }
    }
    print_calls(g, session);
}

/// Whether two paths name the same file (compared as given when either cannot be resolved).
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// `apply` (fresh or saved plan).
pub async fn apply(g: &Global, args: &ApplyArgs) -> Result<i32> {
    let saved = args.plan_file.as_deref().map(read_saved_plan).transpose()?;
    let stack = match &saved {
        Some(p) if !g.stack_given => Path::new(&p.stack_file).to_path_buf(),
        Some(p) if !same_file(Path::new(&p.stack_file), &g.stack) => bail!(
            "{} was planned from {}, not from {}: apply it without --stack, or make a new plan",
            args.plan_file.as_deref().unwrap_or(Path::new("")).display(),
            p.stack_file,
            g.stack.display()
        ),
        _ => g.stack.clone(),
    };
    let config = load(g, &stack)?;
    if let Some(p) = &saved {
        workflow::check_saved_instance(&config, g.instance.as_deref(), p)?;
    }
    let session = open_config(g, config, &stack).await?;
    let options = ApplyOptions {
        parallelism: args.parallelism.into(),
        allow_replace: args.allow_replace,
        saved: saved.as_ref(),
    };
    let ui = Terminal {
        g,
        session: &session,
        verb: Verb::Apply,
        yes: args.yes,
    };
    workflow::apply(&session, &options, &ui).await?;
    Ok(EXIT_OK)
}

/// `destroy`.
pub async fn destroy(g: &Global, args: &DestroyArgs) -> Result<i32> {
    let config = load(g, &g.stack)?;
    if config.protected && !args.allow_protected {
        bail!(
            "{} is a protected environment (`protected: true`); destroy refuses it without --allow-protected",
            g.stack.display()
        );
    }
    let session = open_without_code(g, config).await?;
    if args.dry_run {
        let teardown = session.destroy_plan(args.parallelism.into()).await?;
        report_destroy_plan(g, &teardown.plan, &teardown.left_alone);
        for (address, why) in &teardown.unreadable {
            eprintln!("warning: could not read {address}: {why}");
        }
        print_calls(g, &session);
        return Ok(EXIT_OK);
    }
    let ui = Terminal {
        g,
        session: &session,
        verb: Verb::Destroy,
        yes: args.yes,
    };
    workflow::destroy(&session, args.parallelism.into(), &ui).await?;
    if !g.quiet {
        eprintln!(
            "Leak sweep: nothing tagged ecomflow:stack={} remains.",
            session.instance()
        );
    }
    Ok(EXIT_OK)
}

fn report_destroy_plan(g: &Global, plan: &Plan, skipped: &[Conflict]) {
    match g.output {
        Output::Json => println!("{}", render_json(plan)),
        Output::Text => {
            if plan.is_empty() {
                println!(
                    "Nothing to destroy: no resource of stack {} exists.",
                    plan.stack
                );
            } else {
                print!("{}", render_text(plan));
            }
        }
    }
    for c in skipped {
        eprintln!("warning: left alone: {c}");
    }
}

/// `force-unlock`.
pub async fn force_unlock(g: &Global, args: &ForceUnlockArgs) -> Result<i32> {
    let config = load(g, &g.stack)?;
    let aws = crate::aws::Aws::connect(&connect_options(g), &config.region)
        .await
        .map_err(EngineError::from)?;
    match lock::force_unlock(&aws, &args.lock_id).await? {
        Some(holder) => println!("Removed the lock of {} held by {holder}.", args.lock_id),
        None => println!("{} was not locked.", args.lock_id),
    }
    Ok(EXIT_OK)
}

/// `data check`: the pipeline's cleaning code over a file, as a data-quality report.
pub fn data_check(g: &Global, args: &DataCheckArgs) -> Result<i32> {
    let rules = records::CleaningRules {
        keep_cancellations: !args.drop_cancellations,
        keep_missing_customer: !args.drop_missing_customer,
        keep_non_product_codes: args.keep_non_product_codes,
        drop_duplicates: !args.keep_duplicates,
    };
    let input = crate::datafile::open(&args.csv)?;
    let report = records::report::check(input, &rules)
        .with_context(|| format!("failed to check {}", args.csv.display()))?;
    if args.accepted.is_some() || args.rejected.is_some() {
        let batch = records::Cleaner::new(rules)
            .clean_csv(crate::datafile::open(&args.csv)?)
            .with_context(|| format!("failed to clean {}", args.csv.display()))?;
        if let Some(path) = &args.accepted {
            crate::datafile::write_json_lines(path, &batch.accepted)?;
        }
        if let Some(path) = &args.rejected {
            crate::datafile::write_json_lines(path, &batch.rejected)?;
        }
    }
    if args.json || g.output == Output::Json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{report}");
    }
    Ok(EXIT_OK)
}

/// The SQL of `lake query` or `warehouse query`: the argument, stdin for `-`, or a file.
fn query_sql(args: &LakeQueryArgs) -> Result<String> {
    Ok(match (&args.sql, &args.file) {
        (_, Some(file)) => std::fs::read_to_string(file)
            .with_context(|| format!("failed to read {}", file.display()))?,
        (Some(sql), None) if sql == "-" => std::io::read_to_string(std::io::stdin())
            .context("failed to read the SQL from stdin")?,
        (Some(sql), None) => sql.clone(),
        (None, None) => bail!("no SQL given"),
    })
}

fn print_rows(g: &Global, result: &crate::lake::QueryResult) -> Result<()> {
    match g.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&result.to_json())?),
        Output::Text => println!("{result}"),
    }
    Ok(())
}

/// `lake query`.
pub async fn lake_query(g: &Global, args: &LakeQueryArgs) -> Result<i32> {
    let sql = query_sql(args)?;
    let session = open_session(g).await?;
    let names = &session.blueprint.names;
    let result = crate::lake::query(
        &session.aws,
        &crate::blueprint::workgroup_name(names),
        &crate::blueprint::database_name(names),
        &sql,
        std::time::Duration::from_secs(args.timeout),
    )
    .await?;
    print_rows(g, &result)?;
    Ok(EXIT_OK)
}

/// `warehouse query`.
pub async fn warehouse_query(g: &Global, args: &LakeQueryArgs) -> Result<i32> {
    let sql = query_sql(args)?;
    let session = open_session(g).await?;
    let cluster = session
        .blueprint
        .resources
        .iter()
        .find(|r| r.kind == crate::model::Kind::RedshiftCluster)
        .context("the stack declares no warehouse (warehouse.enabled is false)")?;
    let database = cluster.spec["database"].as_str().unwrap_or_default();
    let set = crate::aws::redshift_query(
        &session.aws,
        &cluster.physical,
        database,
        &sql,
        std::time::Duration::from_secs(args.timeout),
    )
    .await?;
    print_rows(g, &crate::lake::QueryResult::from(set))?;
    Ok(EXIT_OK)
}

/// `users sync`.
pub async fn users_sync(g: &Global, args: &UsersSyncArgs) -> Result<i32> {
    use crate::users::{self, cognito, PruneMode};
    let config = load(g, &g.stack)?;
    let users_file = users::file::load_file(&args.users, &config.cognito.custom_attributes)?;
    let connect = connect_options(g);
    let aws = crate::aws::Aws::connect(&connect, &config.region)
        .await
        .map_err(EngineError::from)?;
    let instance = crate::names::instance_name(&config.app, &config.env, g.instance.as_deref());
    let names = crate::names::Names::new(instance.clone(), aws.account.clone(), aws.region.clone());
    let pool = cognito::find_pool(&aws, &names.resource("users"), &instance).await?;
    let limiters = cognito::Limiters::new(cognito::Limits {
        create: args.rate_create,
        update: args.rate_update,
        list: args.rate_list,
        read: args.rate_read,
    });
    let prune = match args.prune {
        None => PruneMode::Off,
        Some(PruneArg::Disable) => PruneMode::Disable,
        Some(PruneArg::Delete) => PruneMode::Delete,
    };
    let concurrency = usize::from(args.concurrency);
    let plan = users::plan(&aws, &pool, &users_file, prune, &limiters, concurrency).await?;
    if g.output == Output::Json && args.dry_run {
        println!("{}", serde_json::to_string_pretty(&plan)?);
    } else if g.output == Output::Text {
        print!(
            "{}",
            plan.render(if g.verbose > 0 { usize::MAX } else { 20 })
        );
    }
    if args.invite && plan.invitations() > users::DEFAULT_SENDER_DAILY_LIMIT {
        eprintln!(
            "warning: {} invitations exceed the {} e-mails a day that Cognito's default sender delivers; \
             configure SES for the pool, or sync in daily batches",
            plan.invitations(),
            users::DEFAULT_SENDER_DAILY_LIMIT
        );
    }
    if args.dry_run || plan.is_empty() {
        print_stats(g, &aws);
        return Ok(EXIT_OK);
    }
    confirm(args.yes, "apply these user changes")?;
    let mut passwords = if !args.invite && !plan.create.is_empty() {
        Some(
            users::passwords::PasswordFile::open(&args.passwords_out).with_context(|| {
                format!(
                    "failed to open {} for the temporary passwords",
                    args.passwords_out.display()
                )
            })?,
        )
    } else {
        None
    };
    let settings = users::Settings {
        invite: args.invite,
        limits: &limiters,
        concurrency,
        quiet: g.quiet || g.output == Output::Json,
    };
    let report = users::apply(&aws, &pool, &plan, &settings, passwords.as_mut()).await?;
    match g.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Output::Text => {
            println!("{}", report.summary());
            for f in &report.failed {
                println!("  failed: {}: {}", f.username, f.reason);
            }
        }
    }
    if let Some(p) = &passwords {
        if report.created > 0 && !g.quiet {
            eprintln!(
                "Temporary passwords of new users are in {} (mode 0600).",
                p.path().display()
            );
        }
    }
    print_stats(g, &aws);
    Ok(if report.failed.is_empty() { EXIT_OK } else { 1 })
}

fn print_stats(g: &Global, aws: &crate::aws::Aws) {
    let c = aws.stats.snapshot();
    if !g.quiet {
        eprintln!("api calls: reads={} mutations={}", c.reads, c.mutations);
    }
    if g.verbose > 0 {
        for (op, n) in &c.by_operation {
            eprintln!("  {op}: {n}");
        }
    }
}

/// `build`: compile and package the Lambda functions.
pub fn build(g: &Global, args: &BuildArgs) -> Result<i32> {
    use crate::package::{self, Arch, BuildOptions};
    let arch = match &args.arch {
        Some(a) => a.parse::<Arch>().map_err(anyhow::Error::msg)?,
        None => match load(g, &g.stack) {
            Ok(c) if c.functions.architecture == crate::config::Architecture::Arm64 => Arch::Arm64,
            _ => Arch::X86_64,
        },
    };
    let root = std::env::current_dir()?;
    let opts = BuildOptions {
        arch,
        profile: args.profile.clone(),
        ..BuildOptions::new(root)
    };
    let artifacts = package::build(&opts)?;
    print!("{}", package::render_artifacts(&artifacts));
    Ok(EXIT_OK)
}

/// `outputs`: what users connect with, read from the live account.
pub async fn outputs(g: &Global, args: &OutputsArgs) -> Result<i32> {
    let session = open_session(g).await?;
    let out = crate::outputs::read(&session).await?;
    if args.json || g.output == Output::Json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print!("{out}");
    }
    Ok(EXIT_OK)
}

/// How `gc` shows each copy's destroy: the plan only with `-v`, no prompt (the copies were
/// confirmed together, before the first was destroyed), and no run summary (the outcome line
/// says it).
struct GcTerminal<'a> {
    g: &'a Global,
}

impl Observer for GcTerminal<'_> {
    fn show_plan(&self, plan: &Plan, _left_alone: &[Conflict]) {
        if self.g.verbose > 0 && self.g.output == Output::Text {
            print!("{}", render_text(plan));
        }
    }

    fn confirm(&self, _what: &str) -> Result<()> {
        Ok(())
    }

    fn progress(&self) -> Progress {
        Progress::new(self.g.quiet || self.g.output == Output::Json)
    }

    fn ran(&self, _plan: &Plan, _run: &RunReport) {}
}

/// `gc`.
pub async fn gc(g: &Global, args: &GcArgs) -> Result<i32> {
    if let Some(suffix) = &g.instance {
        bail!("gc finds the stack's instances itself; drop `--instance {suffix}`");
    }
    let config = load(g, &g.stack)?;
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
    let aws = Aws::connect(&connect_options(g), &config.region)
        .await
        .map_err(EngineError::from)?;
    let stack_file = g.stack.display().to_string();
    let mut report =
        gc::survey(&aws, &config, &stack_file, rule, parallelism, args.dry_run).await?;
    let text = g.output == Output::Text;
    if text {
        print_listing(&report, &rule);
    }
    let due = report.due();
    if !args.dry_run && !due.is_empty() {
        let names: Vec<&str> = due
            .iter()
            .map(|&i| report.instances[i].instance.as_str())
            .collect();
        confirm(
            args.yes,
            &format!(
                "destroy {} ephemeral instance(s) of {} ({})",
                due.len(),
                report.stack,
                names.join(", ")
            ),
        )?;
        let ui = GcTerminal { g };
        for &i in &due {
            let entry = &report.instances[i];
            let suffix = entry.suffix.clone().expect("due instances have a suffix");
            if text {
                println!("\nDestroying {} ({})...", entry.instance, entry.reason);
            }
            let collected = gc::collect(
                &g.stack,
                &connect_options(g),
                &suffix,
                rule,
                parallelism,
                &ui,
            )
            .await;
            report.record(i, collected);
            if text {
                print_outcome(&report.instances[i]);
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
        .filter(|i| matches!(i.action, gc::Action::Failed | gc::Action::Locked))
        .map(|i| {
            format!(
                "  {}: {}",
                i.instance,
                i.error.as_deref().unwrap_or("failed")
            )
        })
        .collect();
    if failed.is_empty() {
        Ok(EXIT_OK)
    } else {
        eprintln!(
            "error: gc could not collect {} due instance(s); rerun it once the cause is fixed:\n{}",
            failed.len(),
            failed.join("\n")
        );
        Ok(1)
    }
}

fn print_listing(report: &gc::Report, rule: &Rule) {
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

fn print_outcome(i: &gc::InstanceReport) {
    match (i.action, &i.error) {
        (gc::Action::Destroyed, _) => println!(
            "{}: destroyed {} resource(s); leak sweep: nothing tagged {TAG_STACK}={} remains.",
            i.instance, i.deleted, i.instance
        ),
        (action, Some(error)) => println!("{}: {}: {error}", i.instance, action.text()),
        (action, None) => println!("{}: {}.", i.instance, action.text()),
    }
}

/// `export cloudformation`: the declared stack instance as a template, built for a
/// placeholder account (the template names the account and region through pseudo
/// parameters). The Lambda packages' keys default to those of the packages `build` made, when
/// there are some.
pub async fn export_cloudformation(g: &Global, args: &ExportCloudFormationArgs) -> Result<i32> {
    use crate::cloudformation::{self, Selection};
    use crate::engine::{declare, default_packages_dir, Packages};
    let config = load(g, &g.stack)?;
    let names = crate::names::Names::new(
        crate::names::instance_name(&config.app, &config.env, g.instance.as_deref()),
        crate::names::PLACEHOLDER_ACCOUNT,
        config.region.clone(),
    );
    let packages = match &g.packages {
        Some(dir) => Packages::Dir(dir.clone()),
        None if default_packages_dir(&config).exists() => Packages::Default,
        None => Packages::NotNeeded,
    };
    let blueprint = declare(&config, names, g.instance.is_some(), &packages)?;
    let stack_file = g.stack.display().to_string();
    let export = cloudformation::template(&blueprint, &stack_file, &Selection::all());
    let body = match args.format {
        TemplateFormat::Json => format!("{}\n", serde_json::to_string_pretty(&export.template)?),
        TemplateFormat::Yaml => cloudformation::to_yaml(&export.template),
    };
    match &args.out {
        Some(path) => std::fs::write(path, &body)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => print!("{body}"),
    }
    if !export.elsewhere.is_empty() {
        eprintln!("Not in the template (no CloudFormation equivalent); run instead:");
        for (address, what, instead) in &export.elsewhere {
            eprintln!("  {address}: {what}\n      {instead}");
        }
    }
    if args.validate {
        let aws = Aws::connect(&connect_options(g), &config.region).await?;
        // The smallest form of the same template: ValidateTemplate takes a body of at most
        // 51,200 bytes.
        // https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ValidateTemplate.html
        let compact = serde_json::to_string(&export.template)?;
        if compact.len() > cloudformation::TEMPLATE_BODY_LIMIT {
            bail!(
                "the template is {} bytes even without white space, over the {} bytes CloudFormation takes inline: \
                 upload it to S3 and validate it with `aws cloudformation validate-template --template-url`",
                compact.len(),
                cloudformation::TEMPLATE_BODY_LIMIT
            );
        }
        let answer = aws
            .cloudformation
            .validate_template()
            .template_body(compact)
            .send()
            .await
            .map_err(|e| crate::aws::AwsError::from(e).context("ValidateTemplate"))?;
        eprintln!("ValidateTemplate: valid");
        if let Some(description) = answer.description() {
            eprintln!("  description: {description}");
        }
        for p in answer.parameters() {
            eprintln!(
                "  parameter {}{}",
                p.parameter_key().unwrap_or_default(),
                p.default_value()
                    .map(|d| format!(" (default {d})"))
                    .unwrap_or_default()
            );
        }
        for c in answer.capabilities() {
            eprintln!("  needs capability {}", c.as_str());
        }
    }
    Ok(EXIT_OK)
}
