//! Specs of the API Gateway kinds: the REST API as one route table, and its stage. The API's
//! ID is its output; the stage and the authorizers' user pools come from dependencies.

use super::iam::RoleSpec;
use super::policy::{self, Statement};
use super::{Kind, Spec, Tags};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// One route: a method on a resource path, proxied to a Lambda function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteSpec {
    /// Name of the Lambda function invoked (else the raw integration URI, when read).
    pub function: String,
    /// Integration type, `AWS_PROXY`.
    pub integration: String,
    /// Method authorization type, `COGNITO_USER_POOLS`.
    pub authorization: String,
    /// Name of the method's authorizer (empty if none).
    pub authorizer: String,
}

/// An authorizer of the API backed by a Cognito user pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizerSpec {
    /// Authorizer type, `COGNITO_USER_POOLS`.
    pub kind: String,
    /// Name of the user pool, the API's pool dependency (else the provider ARN, when read and
    /// not that pool's), sorted.
    pub user_pools: Vec<String>,
    /// Where the token is, `method.request.header.Authorization`.
    pub identity_source: String,
}

/// A REST API with its routes, Lambda proxy integrations and authorizers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestApiSpec {
    /// API name.
    pub name: String,
    /// Endpoint type, `REGIONAL`.
    pub endpoint_type: String,
    /// Authorizers by name.
    pub authorizers: BTreeMap<String, AuthorizerSpec>,
    /// Routes by `"<METHOD> <path>"`, e.g. `"POST /records"`.
    pub routes: BTreeMap<String, RouteSpec>,
    /// Tags, ownership tags included.
    pub tags: Tags,
}

impl RestApiSpec {
    /// SHA-256 (hex) of what a deployment freezes: routes and authorizers. Tags and IDs are
    /// not part of it, so only a change of the API definition asks for a new deployment.
    pub fn definition_fingerprint(&self) -> String {
        let definition = serde_json::json!({
            "endpoint_type": self.endpoint_type,
            "authorizers": self.authorizers,
            "routes": self.routes,
        });
        hex::encode(Sha256::digest(
            serde_json::to_vec(&definition).expect("JSON serialises"),
        ))
    }
}

impl Spec for RestApiSpec {
    const KIND: Kind = Kind::ApigwRestApi;
    fn physical(&self) -> String {
        self.name.clone()
    }
}

/// A stage of a REST API: its throttling, and the deployment it serves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageSpec {
    /// Name of the REST API.
    pub api: String,
    /// Stage name.
    pub stage: String,
    /// Steady-state requests per second of every method (`*/*`).
    pub throttling_rate_limit: Option<f64>,
    /// Burst of every method (`*/*`).
    pub throttling_burst_limit: Option<i32>,
    /// [`RestApiSpec::definition_fingerprint`] of the definition deployed; kept in the
    /// deployment's description. A difference means: deploy again.
    pub deployment_fingerprint: Option<String>,
    /// Where and how each request is logged; `None` = no access logs.
    pub access_log: Option<AccessLogSpec>,
    /// Requests are traced with AWS X-Ray.
    pub tracing: bool,
    /// Name of the WAF web ACL in front of the stage; `None` = none.
    pub web_acl: Option<String>,
}

/// A stage's access logging.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessLogSpec {
    /// ARN of the CloudWatch Logs group (without the trailing `:*`).
    pub destination_arn: String,
    /// The line logged per request, with `$context` variables.
    pub format: String,
}

/// The role API Gateway writes stage logs to CloudWatch Logs with. It is set once per account
/// and region (API Gateway's account settings), not per API, so it is shared by every stack
/// of the account and owned by none: no stack's destroy removes it, and it is only set where
/// no role is. Its permissions are those of the AWS managed policy
/// `AmazonAPIGatewayPushToCloudWatchLogs`, written inline.
/// <https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html>
pub fn account_logging_role(account: &str) -> RoleSpec {
    let push = Statement::allow(
        "PushToCloudWatchLogs",
        &[
            "logs:CreateLogGroup",
            "logs:CreateLogStream",
            "logs:DescribeLogGroups",
            "logs:DescribeLogStreams",
            "logs:PutLogEvents",
            "logs:GetLogEvents",
            "logs:FilterLogEvents",
        ],
        &[format!("arn:aws:logs:*:{account}:*")],
    );
    RoleSpec {
        name: ACCOUNT_LOGGING_ROLE.into(),
        path: "/ecomflow-infra/".into(),
        // The trust policy the guide gives, without the `aws:SourceAccount` condition of the
        // stack's roles: API Gateway is not documented to send the key when it assumes this
        // role, and a condition on a key not sent never matches.
        assume_role_policy: policy::document(&[Statement {
            sid: "ApiGatewayAssumes".into(),
            principal: Some(json!({"Service": "apigateway.amazonaws.com"})),
            actions: vec!["sts:AssumeRole".into()],
            ..Statement::default()
        }]),
        policies: BTreeMap::from([(
            "push-to-cloudwatch-logs".to_string(),
            policy::document(&[push]),
        )]),
        tags: Tags::from([(
            "ecomflow-infra:shared".to_string(),
            "apigateway-account".to_string(),
        )]),
    }
}

/// Name of [`account_logging_role`].
pub const ACCOUNT_LOGGING_ROLE: &str = "ecomflow-infra-apigateway-cloudwatch";

impl Spec for StageSpec {
    const KIND: Kind = Kind::ApigwStage;
    fn physical(&self) -> String {
        format!("{}/{}", self.api, self.stage)
    }
}
