//! Work in progress.

use crate::cli::{Global, LocalServeArgs};

/// Work in progress.
pub async fn serve(_g: &Global, _args: &LocalServeArgs) -> anyhow::Result<i32> {
    anyhow::bail!("not built yet")
}
