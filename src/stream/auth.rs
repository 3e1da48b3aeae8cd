//! Signing in to the stack's Cognito user pool as a user, and keeping the ID token fresh.

use anyhow::{bail, Context, Result};
use aws_sdk_cognitoidentityprovider::types::{
    AuthFlowType, AuthenticationResultType, ChallengeNameType,
};
use aws_sdk_cognitoidentityprovider::Client;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// Renew the ID token this long before it expires.
const RENEW_BEFORE: Duration = Duration::from_secs(300);

/// A user's password. Its `Debug` never shows the value.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// Wraps a password.
    pub fn new(s: String) -> Self {
        Password(s)
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

struct Tokens {
    id_token: String,
    refresh_token: Option<String>,
    renew_at: Instant,
}

/// A signed-in user: hands out a valid ID token (what API Gateway's Cognito authorizer
/// checks), refreshing it with the refresh token before it expires.
pub struct CognitoSession {
    client: Client,
    client_id: String,
    username: String,
    password: Mutex<Password>,
    tokens: Mutex<Tokens>,
}

impl std::fmt::Debug for CognitoSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CognitoSession")
            .field("client_id", &self.client_id)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl CognitoSession {
    /// Signs in with USER_PASSWORD_AUTH. A first sign-in that Cognito answers with the
    /// new-password challenge is completed with `new_password` when given.
    pub async fn sign_in(
        client: Client,
        client_id: String,
        username: String,
        password: Password,
        new_password: Option<Password>,
    ) -> Result<Self> {
        let (tokens, password) = sign_in(
            &client,
            &client_id,
            &username,
            password,
            new_password.as_ref(),
        )
        .await?;
        Ok(CognitoSession {
            client,
            client_id,
            username,
            password: Mutex::new(password),
            tokens: Mutex::new(tokens),
        })
    }

    /// A valid ID token, renewed first when it is about to expire (or when `force`).
    pub async fn id_token(&self, force: bool) -> Result<String> {
        let mut tokens = self.tokens.lock().await;
        if force || Instant::now() >= tokens.renew_at {
            *tokens = self.renew(tokens.refresh_token.clone()).await?;
        }
        Ok(tokens.id_token.clone())
    }

    async fn renew(&self, refresh_token: Option<String>) -> Result<Tokens> {
        if let Some(refresh) = refresh_token {
            let refreshed = self
                .client
                .initiate_auth()
                .client_id(&self.client_id)
                .auth_flow(AuthFlowType::RefreshTokenAuth)
                .auth_parameters("REFRESH_TOKEN", refresh.clone())
                .send()
                .await;
            match refreshed {
                Ok(out) => {
                    if let Some(result) = out.authentication_result() {
                        // A refresh does not return a new refresh token: keep the old one.
                        return tokens(result, Some(refresh));
                    }
                }
                Err(e) => tracing::warn!(
                    error = %aws_sdk_cognitoidentityprovider::error::DisplayErrorContext(e),
                    "token refresh failed; signing in again"
                ),
            }
        }
        let password = self.password.lock().await.clone();
        let (tokens, _) = sign_in(
            &self.client,
            &self.client_id,
            &self.username,
            password,
            None,
        )
        .await?;
        Ok(tokens)
    }
}

async fn sign_in(
    client: &Client,
    client_id: &str,
    username: &str,
    password: Password,
    new_password: Option<&Password>,
) -> Result<(Tokens, Password)> {
    let out = client
        .initiate_auth()
        .client_id(client_id)
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .auth_parameters("USERNAME", username)
        .auth_parameters("PASSWORD", password.0.clone())
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "Cognito sign-in of {username:?} failed: {}",
                aws_sdk_cognitoidentityprovider::error::DisplayErrorContext(e)
            )
        })?;
    if let Some(result) = out.authentication_result() {
        return Ok((tokens(result, None)?, password));
    }
    match out.challenge_name() {
        Some(ChallengeNameType::NewPasswordRequired) => {
            let Some(new_password) = new_password else {
                bail!(
                    "Cognito asks {username:?} to choose a new password (first sign-in): set \
                     ECOMFLOW_NEW_PASSWORD to the password to choose"
                );
            };
            let answered = client
                .respond_to_auth_challenge()
                .client_id(client_id)
                .challenge_name(ChallengeNameType::NewPasswordRequired)
                .set_session(out.session().map(str::to_string))
                .challenge_responses("USERNAME", username)
                .challenge_responses("NEW_PASSWORD", new_password.0.clone())
                .send()
                .await
                .map_err(|e| {
                    anyhow::anyhow!(
                        "setting the new password of {username:?} failed: {}",
                        aws_sdk_cognitoidentityprovider::error::DisplayErrorContext(e)
                    )
                })?;
            let result = answered
                .authentication_result()
                .context("Cognito answered the new password with another challenge")?;
            Ok((tokens(result, None)?, new_password.clone()))
        }
        Some(other) => bail!(
            "Cognito answered the sign-in of {username:?} with the {} challenge, which this \
             tool does not handle",
            other.as_str()
        ),
        None => bail!("Cognito answered the sign-in of {username:?} without tokens"),
    }
}

fn tokens(result: &AuthenticationResultType, refresh: Option<String>) -> Result<Tokens> {
    let id_token = result
        .id_token()
        .context("Cognito returned no ID token")?
        .to_string();
    let lifetime = Duration::from_secs(u64::try_from(result.expires_in()).unwrap_or(0));
    Ok(Tokens {
        id_token,
        refresh_token: result.refresh_token().map(str::to_string).or(refresh),
        renew_at: Instant::now() + lifetime.saturating_sub(RENEW_BEFORE),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cognitoidentityprovider::types::{ExplicitAuthFlowsType, MessageActionType};

    const USER: &str = "producer";

    /// A pool with an app client allowing USER_PASSWORD_AUTH and refresh, and one user with
    /// a permanent password, on a fresh emulator.
    async fn pool(moto: &ecomflow_testkit::Moto) -> (Client, String, String) {
        let idp = Client::new(&moto.sdk_config().await);
        let pool = idp
            .create_user_pool()
            .pool_name("auth-test")
            .send()
            .await
            .unwrap();
        let pool_id = pool.user_pool().unwrap().id().unwrap().to_string();
        let client = idp
            .create_user_pool_client()
            .user_pool_id(&pool_id)
            .client_name("app")
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
            .send()
            .await
            .unwrap();
        let client_id = client
            .user_pool_client()
            .unwrap()
            .client_id()
            .unwrap()
            .to_string();
        idp.admin_create_user()
            .user_pool_id(&pool_id)
            .username(USER)
            .message_action(MessageActionType::Suppress)
            .send()
            .await
            .unwrap();
        set_password(&idp, &pool_id, "First-password-1!").await;
        (idp, pool_id, client_id)
    }

    async fn set_password(idp: &Client, pool_id: &str, password: &str) {
        idp.admin_set_user_password()
            .user_pool_id(pool_id)
            .username(USER)
            .password(password)
            .permanent(true)
            .send()
            .await
            .unwrap();
    }

    /// The token is renewed once its renewal time has come, through the refresh token (the
    /// password has changed meanwhile, so a new sign-in would fail), and not before; a
    /// refresh token Cognito refuses falls back to signing in with the password.
    #[tokio::test]
    async fn the_id_token_is_refreshed_before_it_expires() {
        std::env::set_var("AWS_ACCESS_KEY_ID", "test");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        let moto = tokio::task::spawn_blocking(ecomflow_testkit::Moto::start)
            .await
            .unwrap();
        let (idp, pool_id, client_id) = pool(&moto).await;
        let session = CognitoSession::sign_in(
            idp.clone(),
            client_id,
            USER.into(),
            Password::new("First-password-1!".into()),
            None,
        )
        .await
        .unwrap();
        let first_renewal = session.tokens.lock().await.renew_at;
        let lifetime = first_renewal.saturating_duration_since(Instant::now());
        assert!(
            lifetime > Duration::from_secs(600),
            "renewal planned {lifetime:?} ahead"
        );
        // Not yet due: the same token, no renewal.
        session.id_token(false).await.unwrap();
        assert_eq!(session.tokens.lock().await.renew_at, first_renewal);

        // Due: renewed with the refresh token, although the password is no longer valid.
        set_password(&idp, &pool_id, "Second-password-2!").await;
        session.tokens.lock().await.renew_at = Instant::now();
        let renewed = session.id_token(false).await.unwrap();
        assert!(!renewed.is_empty());
        let next = session.tokens.lock().await.renew_at;
        assert!(next > Instant::now() + Duration::from_secs(600), "renewed");
        assert!(session.tokens.lock().await.refresh_token.is_some());

        // A refused refresh token: sign in again with the password (now valid again).
        set_password(&idp, &pool_id, "First-password-1!").await;
        {
            let mut t = session.tokens.lock().await;
            t.refresh_token = Some("not-a-refresh-token".into());
            t.renew_at = Instant::now();
        }
        session.id_token(false).await.unwrap();
        let t = session.tokens.lock().await;
        assert!(t.renew_at > Instant::now() + Duration::from_secs(600));
        assert_ne!(t.refresh_token.as_deref(), Some("not-a-refresh-token"));
    }
}
