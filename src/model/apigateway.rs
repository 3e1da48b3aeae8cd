//! Specs of the apigateway resource kinds (being written).

use super::{Kind, KindInfo};

/// What the engine knows about the apigateway kinds.
pub(super) fn info(kind: Kind) -> KindInfo {
    unimplemented!("{kind:?}: the apigateway kinds are being written")
}
