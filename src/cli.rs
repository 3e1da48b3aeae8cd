//! The command line (clap derive), its exit codes and its confirmation prompt. `main.rs`
//! parses it and dispatches to [`crate::commands`].

use anyhow::{bail, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

/// Exit code of a successful run.
pub const EXIT_OK: i32 = 0;
/// Exit code of `plan --detailed-exitcode` when there are changes.
pub const EXIT_CHANGES: i32 = 2;

/// Asks for confirmation on a terminal; refuses without one unless `--yes`.
pub fn confirm(yes: bool, what: &str) -> Result<()> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        bail!("refusing to {what} without a terminal to confirm on; pass --yes");
    }
    eprint!("Do you want to {what}? Only 'yes' will be accepted: ");
    std::io::stderr().flush().ok();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if answer.trim() != "yes" {
        bail!("{what} cancelled");
    }
    Ok(())
}

/// Plan, apply and destroy the EcomFlow data pipeline on AWS.
#[derive(Debug, Parser)]
#[command(name = "ecomflow-infra", version, about, propagate_version = true)]
pub struct Cli {
    /// Flags every command accepts, before or after the subcommand.
    #[command(flatten)]
    pub global: Global,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Output {
    /// Human-readable text.
    #[default]
    Text,
    /// JSON on stdout (schema in the README).
    Json,
}

/// Global flags.
#[derive(Debug, Args, Clone)]
pub struct Global {
    /// Stack file with the per-environment knobs.
    #[arg(
        short = 's',
        long = "stack",
        global = true,
        env = "ECOMFLOW_STACK",
        default_value = "stacks/dev.yaml"
    )]
    pub stack: PathBuf,
    /// Ephemeral instance suffix (e.g. `pr-123`): every name and tag gets it.
    #[arg(long, global = true)]
    pub instance: Option<String>,
    /// AWS region (overrides the stack file's).
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// AWS named profile.
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// AWS endpoint override, e.g. a local emulator (`AWS_ENDPOINT_URL` also works).
    #[arg(long, global = true)]
    pub endpoint_url: Option<String>,
    /// More log output (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors and the result.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// Directory of the Lambda packages (`<function>/bootstrap.zip`). Default: where
    /// `ecomflow-infra build` puts them, `target/lambda-packages/lambda-<arch>`.
    #[arg(long, global = true, env = "ECOMFLOW_PACKAGES")]
    pub packages: Option<PathBuf>,
    /// How long to wait for the stack lock while another run holds it (e.g. `5m`; `0s`
    /// fails at once, naming the holder).
    #[arg(long, global = true, env = "ECOMFLOW_LOCK_TIMEOUT", default_value = "0s", value_parser = humantime::parse_duration)]
    pub lock_timeout: std::time::Duration,
    /// The stack lock's lease (at least `3s`): apply and destroy renew it while they run, and
    /// a run that stopped renewing it this long ago (killed, cut off) is taken over.
    #[arg(long, global = true, env = "ECOMFLOW_LOCK_LEASE", default_value = "60s", value_parser = lease)]
    pub lock_lease: std::time::Duration,
    /// Whether `--stack` was given (flag or `ECOMFLOW_STACK`) rather than defaulted; set by
    /// `main` from the parser's value source. A saved plan names its stack file only for
    /// runs that did not choose one.
    #[arg(skip)]
    pub stack_given: bool,
}

/// A lock lease: long enough to renew every third of it over a slow link.
fn lease(text: &str) -> Result<std::time::Duration, String> {
    let lease = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    if lease < std::time::Duration::from_secs(3) {
        return Err(format!("a lease of {text} is shorter than the least, 3s"));
    }
    Ok(lease)
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what apply would change in the live account.
    Plan(PlanArgs),
    /// Converge the live account to the stack (or apply a saved plan).
    Apply(ApplyArgs),
    /// Delete every resource of the stack instance, then check nothing tagged is left.
    Destroy(DestroyArgs),
    /// Remove a stale lock left by a killed run.
    ForceUnlock(ForceUnlockArgs),
    /// Destroy the stack's ephemeral `--instance` copies that are due: expired, or older than
    /// `--older-than`. Found through their resources' tags; each goes as `destroy` would.
    Gc(GcArgs),
    /// Work with data files before they enter the pipeline.
    #[command(subcommand)]
    Data(DataCommand),
    /// Manage the Cognito users of the stack instance.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Build the Lambda functions and package them under `target/lambda-packages/`.
    Build(BuildArgs),
    /// Show what users connect with (API URL, pool and client IDs, names, JDBC URL), read live.
    Outputs(OutputsArgs),
    /// Run the pipeline's Lambda handlers on this machine, wired as AWS wires them.
    #[command(subcommand)]
    Local(LocalCommand),
    /// Replay a CSV into the pipeline: through the API as a Cognito user, or straight to Kinesis.
    Stream(StreamArgs),
    /// The batch path: upload a raw CSV to `raw/`, run the Glue ETL job on it, announce it.
    Load(LoadArgs),
    /// Query the lake.
    #[command(subcommand)]
    Lake(LakeCommand),
    /// Query the warehouse.
    #[command(subcommand)]
    Warehouse(WarehouseCommand),
    /// Write the declared stack in another tool's format.
    #[command(subcommand)]
    Export(ExportCommand),
}

/// `export` subcommands.
#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Write the declared stack instance as a CloudFormation template (no AWS call, unless
    /// `--validate`). What has no CloudFormation equivalent is named in the template's
    /// `Metadata` and listed on stderr, with what to run instead.
    Cloudformation(ExportCloudFormationArgs),
}

/// Template format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TemplateFormat {
    /// JSON.
    Json,
    /// YAML.
    Yaml,
}

/// `export cloudformation` flags.
#[derive(Debug, Args)]
pub struct ExportCloudFormationArgs {
    /// Write the template to this file instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Template format.
    #[arg(long, value_enum, default_value_t = TemplateFormat::Json)]
    pub format: TemplateFormat,
    /// Also send the template to CloudFormation's ValidateTemplate (at the configured
    /// endpoint) and print its answer.
    #[arg(long)]
    pub validate: bool,
}

/// `warehouse` subcommands.
#[derive(Debug, Subcommand)]
pub enum WarehouseCommand {
    /// Run SQL (Redshift's dialect) in the warehouse through the Redshift Data API, as the
    /// master user with its AWS-managed secret, and print the rows as a table (or JSON with
    /// `--output json`).
    Query(LakeQueryArgs),
}

/// `lake` subcommands.
#[derive(Debug, Subcommand)]
pub enum LakeCommand {
    /// Run SQL (Athena's dialect) on the lake through Athena, in the stack's workgroup, and
    /// print the rows as a table (or JSON with `--output json`).
    Query(LakeQueryArgs),
}

/// `lake query` arguments.
#[derive(Debug, Args)]
pub struct LakeQueryArgs {
    /// The SQL; `-` reads it from stdin. Unqualified tables are the stack's lake database
    /// (`lake query`) or the warehouse's database (`warehouse query`).
    #[arg(required_unless_present = "file")]
    pub sql: Option<String>,
    /// Read the SQL from this file instead.
    #[arg(long, conflicts_with = "sql")]
    pub file: Option<PathBuf>,
    /// Give up waiting for the query after this many seconds.
    #[arg(long, default_value_t = 300)]
    pub timeout: u64,
}

/// `local` subcommands.
#[derive(Debug, Subcommand)]
pub enum LocalCommand {
    /// Serve the API routes on 127.0.0.1 and poll the stream into `process`.
    Serve(LocalServeArgs),
}

/// `local serve` flags.
#[derive(Debug, Args)]
pub struct LocalServeArgs {
    /// Port on 127.0.0.1 (0 picks a free one; the chosen port is printed).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Where the stream poller keeps its per-shard checkpoint. Default:
    /// `target/ecomflow-local/<stack instance>.checkpoint.json`.
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Pause between empty polls of a shard.
    #[arg(long, default_value = "1s")]
    pub poll_interval: humantime::Duration,
    /// Serve the API only; do not poll the stream.
    #[arg(long)]
    pub no_poller: bool,
    /// Run the handlers' library code inside this process with your own credentials,
    /// instead of each function's packaged bootstrap as a child process under its execution
    /// role (faster to start; a permission missing from a role does not show).
    #[arg(long)]
    pub in_process: bool,
}

/// `stream` flags.
#[derive(Debug, Args)]
pub struct StreamArgs {
    /// The CSV (UCI Online Retail layout, Latin-1 or UTF-8; `.gz` is decompressed).
    #[arg(long)]
    pub csv: PathBuf,
    /// Rows per second at most (default: as fast as the pipeline takes them).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Rows per request (API) or per `PutRecords` call (`--direct`, at most 500).
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub batch: u32,
    /// Send at most this many rows.
    #[arg(long)]
    pub limit: Option<u64>,
    /// Skip the first N data rows (resume where an earlier run stopped).
    #[arg(long, default_value_t = 0)]
    pub from_row: u64,
    /// Put the rows straight on the Kinesis stream (cleaned as `ingest` does) instead of the API.
    #[arg(long)]
    pub direct: bool,
    /// API base URL (default: the stack's live API invoke URL; `local serve` prints its own).
    #[arg(long)]
    pub api_url: Option<String>,
    /// Cognito user to authenticate as (API mode). The password comes from
    /// `ECOMFLOW_PASSWORD`; on a first login, `ECOMFLOW_NEW_PASSWORD` answers Cognito's
    /// new-password challenge.
    #[arg(long, env = "ECOMFLOW_USERNAME")]
    pub username: Option<String>,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
}

/// `load` flags.
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// The raw CSV (or `.csv.gz`) to load.
    pub csv: PathBuf,
    /// Object key under `raw/` (default: the file name).
    #[arg(long)]
    pub key: Option<String>,
    /// Multipart upload part size in MiB (at least 5).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(5..=512))]
    pub part_size_mib: u32,
    /// Give up waiting for the Glue job run after this long.
    #[arg(long, default_value = "30m")]
    pub timeout: humantime::Duration,
    /// Start the job run and return without waiting for it.
    #[arg(long)]
    pub no_wait: bool,
}

/// `users` subcommands.
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Make the pool's users and groups match the users file.
    Sync(UsersSyncArgs),
}

/// What `--prune` does to users no longer in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PruneArg {
    /// Disable them.
    Disable,
    /// Delete them.
    Delete,
}

/// `users sync` flags.
#[derive(Debug, Args)]
pub struct UsersSyncArgs {
    /// The users file.
    #[arg(long, default_value = "cognito-users.yaml")]
    pub users: PathBuf,
    /// Show the plan and stop.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
    /// Have Cognito e-mail each new user an invitation (default: no message; temporary
    /// passwords go to the `--passwords-out` file).
    #[arg(long)]
    pub invite: bool,
    /// File (created with mode 0600) for new users' temporary passwords.
    #[arg(long, default_value = "cognito-temporary-passwords.csv")]
    pub passwords_out: PathBuf,
    /// Users in the pool that this tool created but the file no longer lists: `--prune`
    /// disables them, `--prune=delete` deletes them. Others are never touched.
    #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "disable", require_equals = true)]
    pub prune: Option<PruneArg>,
    /// AdminCreateUser calls per second (Cognito's UserCreation quota).
    #[arg(long, default_value_t = 50)]
    pub rate_create: u32,
    /// User update calls per second (Cognito's UserUpdate quota).
    #[arg(long, default_value_t = 25)]
    pub rate_update: u32,
    /// ListUsers/ListGroups calls per second (Cognito's UserList quota).
    #[arg(long, default_value_t = 30)]
    pub rate_list: u32,
    /// AdminListGroupsForUser calls per second (Cognito's UserRead quota).
    #[arg(long, default_value_t = 120)]
    pub rate_read: u32,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
}

/// `build` flags.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Cargo profile: `lambda` (release, LTO, stripped) or `dev` for quick test builds.
    #[arg(long, default_value = "lambda")]
    pub profile: String,
    /// CPU architecture (overrides the stack's `functions.architecture`).
    #[arg(long)]
    pub arch: Option<String>,
}

/// `data` subcommands.
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Run the pipeline's cleaning rules over a CSV (or .csv.gz) and print a data-quality report.
    Check(DataCheckArgs),
}

/// `data check` arguments. The flags mirror the Lambda's cleaning-rule environment variables.
#[derive(Debug, Args)]
pub struct DataCheckArgs {
    /// The CSV file (UCI Online Retail layout, Latin-1 or UTF-8; `.gz` is decompressed).
    pub csv: PathBuf,
    /// Print the report as JSON (same as `--output json`).
    #[arg(long)]
    pub json: bool,
    /// Reject cancellations (invoices starting with `C`) instead of keeping them.
    #[arg(long)]
    pub drop_cancellations: bool,
    /// Reject rows without a CustomerID instead of keeping them.
    #[arg(long)]
    pub drop_missing_customer: bool,
    /// Keep non-product stock codes (POST, M, BANK CHARGES, ...) instead of rejecting them.
    #[arg(long)]
    pub keep_non_product_codes: bool,
    /// Keep exact duplicate rows instead of rejecting the repeats.
    #[arg(long)]
    pub keep_duplicates: bool,
    /// Also write the accepted lines, as JSON lines (the pipeline's clean records), here.
    #[arg(long)]
    pub accepted: Option<PathBuf>,
    /// Also write the rejected rows, as JSON lines with their reason, here.
    #[arg(long)]
    pub rejected: Option<PathBuf>,
}

/// `plan` flags.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Exit 0 when there are no changes, 2 when there are, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Save the plan as JSON, for `apply <file>`.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Concurrent reads.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallelism: u16,
}

/// `apply` flags.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan saved with `plan --out`; refused if the stack or the account changed since.
    pub plan_file: Option<PathBuf>,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
    /// Allow replacing or deleting stateful resources (tables, buckets, streams): data loss.
    #[arg(long)]
    pub allow_replace: bool,
    /// Concurrent steps.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallelism: u16,
}

/// `destroy` flags.
#[derive(Debug, Args)]
pub struct DestroyArgs {
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
    /// Allow destroying an environment marked `protected: true`.
    #[arg(long)]
    pub allow_protected: bool,
    /// List what would be deleted, and stop.
    #[arg(long)]
    pub dry_run: bool,
    /// Concurrent steps.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallelism: u16,
}

/// `gc` flags.
#[derive(Debug, Args)]
pub struct GcArgs {
    /// Collect the copies created longer ago than this (e.g. `24h`, `90m`, `0s`: their earliest
    /// `ecomflow:created-at` tag; for copies made without one, their last tag stamp, expiry
    /// minus `ephemeral_ttl_hours`), instead of those whose expiry has passed.
    #[arg(long, value_name = "DURATION")]
    pub older_than: Option<humantime::Duration>,
    /// List the instances found and what would be done, and stop.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
    /// Concurrent reads and steps within one instance.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallelism: u16,
}

/// `force-unlock` arguments.
#[derive(Debug, Args)]
pub struct ForceUnlockArgs {
    /// The locked stack instance, as the lock error names it (e.g. `ecomflow-ci-pr-123`).
    #[arg(value_name = "STACK_INSTANCE")]
    pub lock_id: String,
}

/// `outputs` flags.
#[derive(Debug, Args)]
pub struct OutputsArgs {
    /// Print JSON (same as `--output json`).
    #[arg(long)]
    pub json: bool,
}
