//! The api resources of the pipeline (being written).

use super::Context;
use crate::config::StackConfig;
use crate::model::{Resource, Tags};

/// The api resources.
pub fn resources(_config: &StackConfig, _ctx: &Context, _tags: &Tags) -> Vec<Resource> {
    Vec::new()
}
