//! Lambda: functions (zip code, configuration, reserved concurrency, tags), the Kinesis
//! event source mapping of `process`, and the invoke permissions of API Gateway.

mod event_source_mapping;
mod function;
mod permission;

pub use event_source_mapping::EventSourceMapping;
pub use function::Function;
pub use permission::Permission;

use super::Aws;
use crate::model::Service;
use std::time::Duration;

const NOT_FOUND: &[&str] = &["ResourceNotFoundException"];
const WAIT: Duration = Duration::from_secs(300);
const LAMBDA: Service = Service::Lambda;

/// Per-call configuration that turns the SDK's own retries off, for the creates that
/// [`create_checked`](super::checked::create_checked) retries itself.
fn no_sdk_retries() -> aws_sdk_lambda::config::Builder {
    aws_sdk_lambda::config::Builder::default()
        .retry_config(aws_sdk_lambda::config::retry::RetryConfig::disabled())
}

/// A function's ARN follows from its name.
pub(super) fn function_arn(aws: &Aws, name: &str) -> String {
    format!(
        "arn:aws:lambda:{}:{}:function:{name}",
        aws.region, aws.account
    )
}
