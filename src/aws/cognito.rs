//! Providers of the cognito resource kinds (being written).

use super::Provider;
use crate::model::Kind;

/// The provider of a cognito kind.
pub(super) fn provider(kind: Kind) -> &'static dyn Provider {
    unimplemented!("{kind:?}: the cognito providers are being written")
}
