//! Providers of the redshift resource kinds (being written).

use super::Provider;
use crate::model::Kind;

/// The provider of a redshift kind.
pub(super) fn provider(kind: Kind) -> &'static dyn Provider {
    unimplemented!("{kind:?}: the redshift providers are being written")
}
