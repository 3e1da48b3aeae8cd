//! Work in progress.

use crate::cli::{Global, LoadArgs};

/// Work in progress.
pub async fn run(_g: &Global, _args: &LoadArgs) -> anyhow::Result<i32> {
    anyhow::bail!("not built yet")
}
