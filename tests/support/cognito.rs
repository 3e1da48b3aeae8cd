//! Cognito users for tests: made by the administrator, signed in with the stack's app client.

use aws_sdk_cognitoidentityprovider::types::{AuthFlowType, MessageActionType};
use aws_sdk_cognitoidentityprovider::Client;

/// An ID token of `user` (USER_PASSWORD_AUTH with a permanent password).
pub async fn sign_in(idp: &Client, client: &str, user: &str, password: &str) -> String {
    let auth = idp
        .initiate_auth()
        .client_id(client)
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .auth_parameters("USERNAME", user)
        .auth_parameters("PASSWORD", password)
        .send()
        .await
        .unwrap();
    auth.authentication_result()
        .and_then(|r| r.id_token())
        .unwrap_or_else(|| panic!("no ID token for {user}"))
        .to_string()
}

/// Makes `user` in `pool` as an administrator does, with a permanent `password` and in
/// `groups`, and signs it in: its ID token.
pub async fn user_in_groups(
    idp: &Client,
    pool: &str,
    client: &str,
    user: &str,
    password: &str,
    groups: &[&str],
) -> String {
    idp.admin_create_user()
        .user_pool_id(pool)
        .username(user)
        .message_action(MessageActionType::Suppress)
        .send()
        .await
        .unwrap();
    idp.admin_set_user_password()
        .user_pool_id(pool)
        .username(user)
        .password(password)
        .permanent(true)
        .send()
        .await
        .unwrap();
    for group in groups {
        idp.admin_add_user_to_group()
            .user_pool_id(pool)
            .username(user)
            .group_name(*group)
            .send()
            .await
            .unwrap();
    }
    sign_in(idp, client, user, password).await
}
