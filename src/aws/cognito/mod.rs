//! Cognito user pools: the pool behind the API, its app client and its groups. The pool's
//! ID and ARN are its outputs; the client and the groups get the pool ID from them.

mod app_client;
mod group;
mod user_pool;

pub(crate) use app_client::clients;
pub use app_client::AppClient;
pub use group::Group;
pub(crate) use user_pool::pool_ids;
pub use user_pool::UserPool;

use crate::model::Service;

const NOT_FOUND: &[&str] = &["ResourceNotFoundException"];
const COGNITO: Service = Service::Cognito;

/// Per-call configuration that turns the SDK's own retries off, for the creates that
/// [`create_checked`](super::checked::create_checked) retries itself.
fn no_sdk_retries() -> aws_sdk_cognitoidentityprovider::config::Builder {
    aws_sdk_cognitoidentityprovider::config::Builder::default()
        .retry_config(aws_sdk_cognitoidentityprovider::config::retry::RetryConfig::disabled())
}
