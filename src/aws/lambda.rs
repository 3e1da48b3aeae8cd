//! Providers of the lambda resource kinds (being written).

use super::Provider;
use crate::model::Kind;

/// The provider of a lambda kind.
pub(super) fn provider(kind: Kind) -> &'static dyn Provider {
    unimplemented!("{kind:?}: the lambda providers are being written")
}
