//! An execution environment's credentials: the execution role's, from `sts:AssumeRole` with
//! the function name as the session name.

use anyhow::{anyhow, Result};
use async_trait::async_trait;

/// How long role credentials are asked for; an environment is retired well before they end.
pub(super) const CREDENTIALS_SECONDS: i32 = 3600;

/// Temporary credentials of a role.
#[derive(Clone)]
pub struct RoleCredentials {
    /// Access key ID.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
    /// Session token.
    pub session_token: String,
}

impl std::fmt::Debug for RoleCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret parts.
        write!(f, "RoleCredentials({})", self.access_key_id)
    }
}

/// Where an environment's credentials come from: `sts:AssumeRole` on the execution role.
#[async_trait]
pub trait Credentials: Send + Sync {
    /// Credentials of `role_arn` for the session `session`.
    async fn assume(&self, role_arn: &str, session: &str) -> Result<RoleCredentials>;
}

/// `sts:AssumeRole` through the SDK.
pub struct StsCredentials(pub aws_sdk_sts::Client);

#[async_trait]
impl Credentials for StsCredentials {
    async fn assume(&self, role_arn: &str, session: &str) -> Result<RoleCredentials> {
        let out = self
            .0
            .assume_role()
            .role_arn(role_arn)
            .role_session_name(session)
            .duration_seconds(CREDENTIALS_SECONDS)
            .send()
            .await
            .map_err(|e| {
                anyhow!(
                    "cannot assume the execution role {role_arn}: {}. On AWS the role trusts \
                     only lambda.amazonaws.com; use `local serve --in-process` to run the \
                     handlers with your own credentials",
                    aws_smithy_types::error::display::DisplayErrorContext(&e)
                )
            })?;
        let c = out
            .credentials()
            .ok_or_else(|| anyhow!("AssumeRole on {role_arn} returned no credentials"))?;
        Ok(RoleCredentials {
            access_key_id: c.access_key_id().to_string(),
            secret_access_key: c.secret_access_key().to_string(),
            session_token: c.session_token().to_string(),
        })
    }
}
