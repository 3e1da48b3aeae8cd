//! Specs of the lambda resource kinds (being written).

use super::{Kind, KindInfo};

/// What the engine knows about the lambda kinds.
pub(super) fn info(kind: Kind) -> KindInfo {
    unimplemented!("{kind:?}: the lambda kinds are being written")
}
