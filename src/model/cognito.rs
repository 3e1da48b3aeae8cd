//! Specs of the cognito resource kinds (being written).

use super::{Kind, KindInfo};

/// What the engine knows about the cognito kinds.
pub(super) fn info(kind: Kind) -> KindInfo {
    unimplemented!("{kind:?}: the cognito kinds are being written")
}
