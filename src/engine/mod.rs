//! Apply and destroy: reading live state, walking the graph, locks, progress.

pub mod execute;
pub mod graph;
pub mod live;
pub mod lock;
pub mod progress;
pub mod workflow;

use crate::aws::{Aws, AwsError, ConnectOptions};
use crate::blueprint::{self, Blueprint, Context, LambdaCode};
use crate::config::StackConfig;
use crate::model::Kind;
use crate::names::{instance_name, Names};
use crate::plan::{self, Action, Conflict, Plan};
use base64::Engine as _;
use execute::RunReport;
use lock::{Journal, LockHeld};
use progress::Progress;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

/// Why an engine operation stopped.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// An AWS call failed.
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// Declared resources exist but belong to someone else.
    #[error("{}", conflicts_text(.0))]
    Conflicts(Vec<Conflict>),
    /// Another run holds the stack lock.
    #[error(transparent)]
    Locked(#[from] LockHeld),
    /// A saved plan no longer matches the stack or the account.
    #[error("the saved plan is stale: {0}. Run `ecomflow-infra plan` again")]
    StalePlan(String),
    /// The plan would replace or delete a stateful resource without `--allow-replace`.
    #[error("{0}")]
    Unsafe(String),
    /// The Lambda deployment packages have not been built.
    #[error("{0}")]
    MissingBuild(String),
    /// The dependency graph has a cycle (a blueprint bug).
    #[error(transparent)]
    Cycle(#[from] graph::Cycle),
}

fn conflicts_text(conflicts: &[Conflict]) -> String {
    let lines: Vec<String> = conflicts.iter().map(|c| format!("  {c}")).collect();
    format!(
        "refusing to touch resources this stack does not own:\n{}",
        lines.join("\n")
    )
}

impl From<lock::LockError> for EngineError {
    fn from(e: lock::LockError) -> Self {
        match e {
            lock::LockError::Held(h) => EngineError::Locked(h),
            lock::LockError::Aws(a) => EngineError::Aws(a),
        }
    }
}

/// A loaded stack instance connected to an account: config, blueprint and clients.
pub struct Session {
    /// AWS clients.
    pub aws: Aws,
    /// The validated config.
    pub config: StackConfig,
    /// The stack file it came from.
    pub file: String,
    /// The `--instance` suffix, if any.
    pub suffix: Option<String>,
    /// The declared resources.
    pub blueprint: Blueprint,
}

impl Session {
    /// Connects to the account and builds the blueprint of the instance.
    pub async fn open(
        config: StackConfig,
        file: &str,
        suffix: Option<String>,
        connect: &ConnectOptions,
        packages: &Packages,
    ) -> Result<Session, EngineError> {
        let aws = Aws::connect(connect, &config.region).await?;
        let names = Names::new(
            instance_name(&config.app, &config.env, suffix.as_deref()),
            aws.account.clone(),
            aws.region.clone(),
        );
        let blueprint = declare(&config, names, suffix.is_some(), packages)?;
        Ok(Session {
            aws,
            config,
            file: file.to_string(),
            suffix,
            blueprint,
        })
    }

    /// The stack instance name.
    pub fn instance(&self) -> &str {
        &self.blueprint.names.instance
    }

    async fn live(&self, parallelism: usize, go_on: bool) -> Result<plan::LiveState, EngineError> {
        let adopt = lock::journal_names(&self.aws, self.instance()).await?;
        Ok(live::read_live(&self.aws, &self.blueprint, parallelism, &adopt, go_on).await?)
    }

    /// Reads the account and diffs it against the blueprint.
    pub async fn plan(&self, parallelism: usize) -> Result<Plan, EngineError> {
        let live = self.live(parallelism, false).await?;
        self.plan_of(&live)
    }

    /// Reads the live state of the instance: every declared resource with its outputs, and
    /// what is tagged as the instance's without being declared. Fails, as a plan does, if a
    /// declared resource exists but is not this instance's.
    pub async fn live_state(&self, parallelism: usize) -> Result<plan::LiveState, EngineError> {
        let live = self.live(parallelism, false).await?;
        self.plan_of(&live)?;
        Ok(live)
    }

    fn plan_of(&self, live: &plan::LiveState) -> Result<Plan, EngineError> {
        plan::diff(
            self.instance(),
            &self.aws.account,
            &self.aws.region,
            &self.file,
            &self.blueprint.resources,
            live,
        )
        .map_err(EngineError::Conflicts)
    }

    /// The plan of `destroy`, the declared resources left alone because they are not ours,
    /// and those that could not be read (address and why): destroy goes on past them.
    pub async fn destroy_plan(&self, parallelism: usize) -> Result<Teardown, EngineError> {
        let live = self.live(parallelism, true).await?;
        // Sub-resources (bucket configurations, subscriptions) go with their owner.
        let owners_only: Vec<_> = self
            .blueprint
            .resources
            .iter()
            .filter(|r| r.owner.is_none() || !r.kind.goes_with_owner())
            .cloned()
            .collect();
        let (plan, left_alone) = plan::teardown(
            self.instance(),
            &self.aws.account,
            &self.aws.region,
            &self.file,
            &owners_only,
            &live,
        );
        Ok(Teardown {
            plan,
            left_alone,
            unreadable: live.unreadable,
        })
    }

    /// Checks what a saved plan says of the declaration against this session, before any
    /// live read: the instance, account and region it was made for, and the fingerprint of
    /// the declared resources (the stack file changed since if it differs).
    pub fn check_saved_declared(&self, saved: &Plan) -> Result<(), EngineError> {
        let (stack, account, region) = (self.instance(), &self.aws.account, &self.aws.region);
        if saved.stack != stack || &saved.account != account || &saved.region != region {
            return Err(EngineError::StalePlan(format!(
                "it was made for stack {} in {}/{}, not {stack} in {account}/{region}",
                saved.stack, saved.account, saved.region
            )));
        }
        if saved.desired_fingerprint != plan::desired_fingerprint(&self.blueprint.resources) {
            return Err(EngineError::StalePlan(
                "the stack config changed since it was made".into(),
            ));
        }
        Ok(())
    }

    /// Checks a saved plan against a fresh one made now (under the lock): everything
    /// [`Session::check_saved_declared`] checks, and the live state it was made from.
    pub fn check_saved(&self, saved: &Plan, fresh: &Plan) -> Result<(), EngineError> {
        self.check_saved_declared(saved)?;
        if saved.desired_fingerprint != fresh.desired_fingerprint {
            return Err(EngineError::StalePlan(
                "the stack config changed since it was made".into(),
            ));
        }
        if saved.live_fingerprint != fresh.live_fingerprint {
            return Err(EngineError::StalePlan(
                "the live account changed since it was made".into(),
            ));
        }
        Ok(())
    }

    /// Runs a plan's changes under the lock's journal. With `keep_going`, a failed step stops
    /// only what depends on it (destroy deletes everything it can).
    pub async fn execute(
        &self,
        plan: &Plan,
        parallelism: usize,
        journal: Option<&Journal>,
        progress: &Progress,
        keep_going: bool,
    ) -> Result<RunReport, EngineError> {
        let changes: Vec<_> = plan.actionable().collect();
        let known = plan
            .changes
            .iter()
            .map(|c| (c.address.clone(), c.outputs.clone()))
            .collect();
        Ok(execute::execute_with(
            &self.aws,
            &changes,
            known,
            execute::Walk {
                parallelism,
                journal,
                keep_going,
            },
            progress,
        )
        .await?)
    }

    /// Anything still tagged with this instance (the leak sweep after destroy).
    pub async fn sweep(&self) -> Result<Vec<(Kind, String)>, EngineError> {
        Ok(live::sweep(
            &self.aws,
            self.instance(),
            &self.blueprint.names.all_prefix(),
        )
        .await?)
    }
}

/// What `destroy` would do.
#[derive(Debug)]
pub struct Teardown {
    /// Delete every live resource of the instance.
    pub plan: Plan,
    /// Declared resources that exist but are not this instance's.
    pub left_alone: Vec<Conflict>,
    /// Declared resources that could not be read: address and why.
    pub unreadable: Vec<(String, String)>,
}

/// Where the Lambda deployment packages come from.
#[derive(Debug, Clone)]
pub enum Packages {
    /// `<dir>/<function>/bootstrap.zip`.
    Dir(std::path::PathBuf),
    /// Where `ecomflow-infra build` puts them: see [`default_packages_dir`].
    Default,
    /// Not needed (destroy): the code hashes are left empty.
    NotNeeded,
}

/// The blueprint of a stack instance with these names: the ephemeral copies' stamps from one
/// reading of the clock, and the Lambda code of `packages`.
pub fn declare(
    config: &StackConfig,
    names: Names,
    ephemeral: bool,
    packages: &Packages,
) -> Result<Blueprint, EngineError> {
    // An ephemeral copy's stamps: this run's time, and when the copy may be reaped. Both
    // from one reading of the clock, so the expiry is exactly the creation plus the TTL.
    let stamp =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let now = chrono::Utc::now();
    let ttl = chrono::Duration::hours(i64::from(config.ephemeral_ttl_hours));
    let created_at = ephemeral.then(|| stamp(now));
    let expires_at = ephemeral.then(|| stamp(now + ttl));
    let lambda_code = match packages {
        Packages::Dir(dir) => load_lambda_code(dir)?,
        Packages::Default => load_lambda_code(&default_packages_dir(config))?,
        Packages::NotNeeded => blueprint::FUNCTIONS
            .iter()
            .map(|f| (f.to_string(), LambdaCode::default()))
            .collect(),
    };
    Ok(blueprint::build(
        config,
        &Context {
            names,
            expires_at,
            created_at,
            lambda_code,
        },
    ))
}

/// `target/lambda-packages/lambda-<arch>`, relative to the working directory: where
/// `ecomflow-infra build` (profile `lambda`) writes the packages for the stack's architecture.
pub fn default_packages_dir(config: &StackConfig) -> std::path::PathBuf {
    let arch = match config.functions.architecture {
        crate::config::Architecture::X86_64 => "x86_64",
        crate::config::Architecture::Arm64 => "arm64",
    };
    Path::new("target/lambda-packages").join(format!("lambda-{arch}"))
}

/// The packaged code of every Lambda function of the pipeline. A missing package is an error
/// that says how to make it.
pub fn load_lambda_code(dir: &Path) -> Result<BTreeMap<String, LambdaCode>, EngineError> {
    let mut code = BTreeMap::new();
    for function in blueprint::FUNCTIONS {
        let zip = dir.join(function).join("bootstrap.zip");
        let bytes = std::fs::read(&zip).map_err(|e| {
            EngineError::MissingBuild(format!(
                "cannot read the deployment package {} ({e}); run `ecomflow-infra build` first",
                zip.display()
            ))
        })?;
        code.insert(
            function.to_string(),
            LambdaCode {
                zip_path: zip.display().to_string(),
                code_sha256: base64::engine::general_purpose::STANDARD
                    .encode(Sha256::digest(&bytes)),
            },
        );
    }
    Ok(code)
}

/// Refuses a plan that replaces or deletes a stateful resource unless allowed.
pub fn check_stateful(plan: &Plan, allow_replace: bool) -> Result<(), EngineError> {
    if allow_replace {
        return Ok(());
    }
    let risky: Vec<String> = plan
        .actionable()
        .filter(|c| c.stateful && matches!(c.action, Action::Replace | Action::Delete))
        .map(|c| {
            let why: Vec<&str> = c
                .attributes
                .iter()
                .filter(|a| a.forces_replacement)
                .map(|a| a.path.as_str())
                .collect();
            if c.action == Action::Replace {
                format!(
                    "  {} would be replaced (data lost) because {} changed",
                    c.address,
                    why.join(", ")
                )
            } else {
                format!("  {} would be deleted with its data", c.address)
            }
        })
        .collect();
    if risky.is_empty() {
        Ok(())
    } else {
        Err(EngineError::Unsafe(format!(
            "refusing to lose data without --allow-replace:\n{}",
            risky.join("\n")
        )))
    }
}
