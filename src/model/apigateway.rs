//! Specs of the API Gateway kinds: the REST API as one route table, and its stage. The API's
//! ID is its output; the stage and the authorizers' user pools come from dependencies.

use super::{Kind, Spec, Tags};
use serde::{Deserialize, Serialize};
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
}

impl Spec for StageSpec {
    const KIND: Kind = Kind::ApigwStage;
    fn physical(&self) -> String {
        format!("{}/{}", self.api, self.stage)
    }
}
