//! API Gateway (REST): the API itself (`api`), its route table of resources, methods, Lambda
//! proxy integrations and Cognito authorizers (`routes`), its stage with throttling and
//! deployment (`stage`), the account's CloudWatch role the stage logs with (`account`), and the
//! per-operation quotas every call here keeps to (`limits`).

mod account;
mod api;
mod limits;
mod routes;
mod stage;

pub use api::Api;
pub use stage::Stage;

use crate::model::Service;
use aws_sdk_apigateway::types::{Op, PatchOperation};

const NOT_FOUND: &[&str] = &["NotFoundException"];
const APIGW: Service = Service::ApiGateway;

/// Per-call configuration that turns the SDK's own retries off, for the creates that
/// [`create_checked`](super::checked::create_checked) retries itself.
fn no_sdk_retries() -> aws_sdk_apigateway::config::Builder {
    aws_sdk_apigateway::config::Builder::default()
        .retry_config(aws_sdk_apigateway::config::retry::RetryConfig::disabled())
}

fn patch(op: Op, path: impl Into<String>, value: Option<String>) -> PatchOperation {
    PatchOperation::builder()
        .op(op)
        .path(path)
        .set_value(value)
        .build()
}
