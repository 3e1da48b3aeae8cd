//! Opening a stack instance from the command line's global flags: the one way every command
//! (and `local serve`, `stream`, `load`, `gc`) loads the stack file and connects.

use crate::aws::{ConnectOptions, LockOptions};
use crate::cli::Global;
use crate::config::{self, StackConfig};
use crate::engine::{Packages, Session};
use anyhow::Result;
use std::path::Path;

/// The AWS connection options the global flags ask for.
pub fn connect_options(g: &Global) -> ConnectOptions {
    ConnectOptions {
        region: g.region.clone(),
        profile: g.profile.clone(),
        endpoint_url: g.endpoint_url.clone(),
        lock: LockOptions {
            lease: g.lock_lease,
            timeout: g.lock_timeout,
        },
    }
}

/// Loads and validates the stack file (no API call happens before this succeeds).
pub fn load(g: &Global, stack: &Path) -> Result<StackConfig> {
    Ok(config::load_file(stack, g.instance.as_deref())?)
}

/// Opens a session whose blueprint carries the packaged Lambda code.
pub async fn open(g: &Global, stack: &Path) -> Result<Session> {
    open_config(g, load(g, stack)?, stack).await
}

/// Opens a session of an already loaded stack file, with the packaged Lambda code.
pub async fn open_config(g: &Global, config: StackConfig, stack: &Path) -> Result<Session> {
    connect(g, config, stack, &packages(g)).await
}

/// Opens the session of the global flags' stack instance for commands that do not deploy
/// code (so the Lambda packages need not exist).
pub async fn open_session(g: &Global) -> Result<Session> {
    open_without_code(g, load(g, &g.stack)?).await
}

/// Opens a session of an already loaded `--stack` file without the Lambda packages.
pub async fn open_without_code(g: &Global, config: StackConfig) -> Result<Session> {
    connect(g, config, &g.stack, &Packages::NotNeeded).await
}

async fn connect(
    g: &Global,
    config: StackConfig,
    stack: &Path,
    packages: &Packages,
) -> Result<Session> {
    Ok(Session::open(
        config,
        &stack.display().to_string(),
        g.instance.clone(),
        &connect_options(g),
        packages,
    )
    .await?)
}

fn packages(g: &Global) -> Packages {
    match &g.packages {
        Some(dir) => Packages::Dir(dir.clone()),
        None => Packages::Default,
    }
}
