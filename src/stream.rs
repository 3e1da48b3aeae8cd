//! Work in progress.

use crate::cli::{Global, StreamArgs};

/// Work in progress.
pub async fn run(_g: &Global, _args: &StreamArgs) -> anyhow::Result<i32> {
    anyhow::bail!("not built yet")
}
