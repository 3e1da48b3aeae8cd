//! Providers of the apigateway resource kinds (being written).

use super::Provider;
use crate::model::Kind;

/// The provider of a apigateway kind.
pub(super) fn provider(kind: Kind) -> &'static dyn Provider {
    unimplemented!("{kind:?}: the apigateway providers are being written")
}
