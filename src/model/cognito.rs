//! Specs of the Cognito kinds: the user pool behind the API, its app client and its groups.
//!
//! Pools and clients get AWS-assigned IDs; specs name them, and providers resolve the IDs
//! by name (and, for pools, whose names need not be unique, by the `ecomflow:stack` tag).

use super::{Kind, KindInfo, Service, Spec, Tags};
use serde::{Deserialize, Serialize};

/// Password rules of a user pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordPolicy {
    /// Minimum length.
    pub min_length: i32,
    /// Require a symbol.
    pub require_symbols: bool,
    /// Require a digit.
    pub require_numbers: bool,
    /// Require an upper-case letter.
    pub require_uppercase: bool,
    /// Require a lower-case letter.
    pub require_lowercase: bool,
}

/// A Cognito user pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserPoolSpec {
    /// Pool name.
    pub name: String,
    /// Password rules.
    pub password: PasswordPolicy,
    /// `OFF`, `OPTIONAL` or `ON`.
    pub mfa: String,
    /// TOTP (software token) MFA enabled; required by `OPTIONAL` and `ON`.
    pub software_token_mfa: bool,
    /// `ACTIVE` or `INACTIVE`.
    pub deletion_protection: String,
    /// User names are case-sensitive (fixed at creation).
    pub username_case_sensitive: bool,
    /// Attributes users may sign in with besides the user name (fixed at creation), sorted.
    pub alias_attributes: Vec<String>,
    /// Attributes Cognito verifies automatically, sorted.
    pub auto_verified_attributes: Vec<String>,
    /// Custom string attributes (without `custom:`), sorted; they can be added, never removed.
    #[serde(default)]
    pub custom_attributes: Vec<String>,
    /// Tags, ownership tags included.
    pub tags: Tags,
    /// The pool ID AWS assigned (live specs only; never compared).
    #[serde(rename = "_id", default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

impl Spec for UserPoolSpec {
    const KIND: Kind = Kind::CognitoUserPool;
    fn physical(&self) -> String {
        self.name.clone()
    }
}

/// An app client of a user pool (no secret: used from browsers and scripts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppClientSpec {
    /// Client name.
    pub name: String,
    /// Name of the user pool.
    pub user_pool: String,
    /// Explicit auth flows, sorted.
    pub explicit_auth_flows: Vec<String>,
    /// A client secret is generated (fixed at creation).
    pub generate_secret: bool,
    /// The stack instance whose pool is meant when several share the name (never compared).
    #[serde(rename = "_stack", default)]
    pub stack: String,
    /// `[pool ID, client ID]` AWS assigned (live specs only; never compared).
    #[serde(rename = "_id", default, skip_serializing_if = "Option::is_none")]
    pub id: Option<(String, String)>,
}

impl Spec for AppClientSpec {
    const KIND: Kind = Kind::CognitoAppClient;
    fn physical(&self) -> String {
        format!("{}/{}", self.user_pool, self.name)
    }
}

/// A group of a user pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupSpec {
    /// Group name.
    pub name: String,
    /// Name of the user pool.
    pub user_pool: String,
    /// What the group is for.
    pub description: String,
    /// Precedence (lower wins).
    pub precedence: i32,
    /// The stack instance whose pool is meant when several share the name (never compared).
    #[serde(rename = "_stack", default)]
    pub stack: String,
    /// The pool ID AWS assigned (live specs only; never compared).
    #[serde(rename = "_pool_id", default, skip_serializing_if = "Option::is_none")]
    pub pool_id: Option<String>,
}

impl Spec for GroupSpec {
    const KIND: Kind = Kind::CognitoGroup;
    fn physical(&self) -> String {
        format!("{}/{}", self.user_pool, self.name)
    }
}

/// What the engine knows about the cognito kinds.
pub(super) fn info(kind: Kind) -> KindInfo {
    match kind {
        Kind::CognitoUserPool => KindInfo {
            name: "cognito_user_pool",
            service: Service::Cognito,
            replace: &["name", "username_case_sensitive", "alias_attributes"],
            secret: &[],
            stateful: true,
            taggable: true,
        },
        Kind::CognitoAppClient => KindInfo {
            name: "cognito_app_client",
            service: Service::Cognito,
            replace: &["name", "user_pool", "generate_secret"],
            secret: &[],
            stateful: false,
            taggable: false,
        },
        Kind::CognitoGroup => KindInfo {
            name: "cognito_group",
            service: Service::Cognito,
            replace: &["name", "user_pool"],
            secret: &[],
            stateful: false,
            taggable: false,
        },
        other => unreachable!("{other:?} is not a cognito kind"),
    }
}
