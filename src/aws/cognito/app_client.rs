//! An app client of the user pool (no secret: used from browsers and scripts). Its pool's ID
//! comes from the pool's outputs; its own ID is its output `id`.

use super::{no_sdk_retries, COGNITO, NOT_FOUND};
use crate::aws::checked::create_checked;
use crate::aws::kit::{all_pages, Absent};
use crate::aws::{Aws, AwsError, Changes, Found, Gone, Inputs, Observed, Outputs, Provider};
use crate::model::cognito::{AppClientSpec, ClientLifetimes, TokenValidity};
use crate::model::Kind;
use async_trait::async_trait;
use aws_sdk_cognitoidentityprovider::types::{
    ExplicitAuthFlowsType, PreventUserExistenceErrorTypes, TimeUnitsType, TokenValidityUnitsType,
    UserPoolClientType,
};

/// Every declared setting on a CreateUserPoolClient or UpdateUserPoolClient builder: the
/// update resets what it is not given to its default, so both get the same settings (what
/// neither sends, such as OAuth and read/write attributes, stays at its default). The two
/// builders share no trait, hence a macro.
/// <https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pool-updating.html>
macro_rules! with_settings {
    ($builder:expr, $s:expr) => {
        $builder
            .client_name(&$s.name)
            .set_explicit_auth_flows(Some(flows($s)))
            .prevent_user_existence_errors(PreventUserExistenceErrorTypes::from(
                $s.prevent_user_existence_errors.as_str(),
            ))
            .enable_token_revocation($s.enable_token_revocation)
            .id_token_validity($s.lifetimes.id.value)
            .access_token_validity($s.lifetimes.access.value)
            .refresh_token_validity($s.lifetimes.refresh.value)
            .token_validity_units(validity_units($s))
            .auth_session_validity($s.lifetimes.auth_session_minutes)
    };
}

/// The app clients of a pool as `(name, ID)`; `None` if the pool does not exist.
pub(crate) async fn clients(
    aws: &Aws,
    pool_id: &str,
) -> Result<Option<Vec<(String, String)>>, AwsError> {
    let pages = aws.cognito.list_user_pool_clients().user_pool_id(pool_id);
    let pages = pages.max_results(60).into_paginator().send();
    let what = format!("failed to list the clients of user pool {pool_id}");
    let pages = all_pages(pages, what).await.or_absent(NOT_FOUND)?;
    Ok(pages.map(|pages| {
        let clients = pages.iter().flat_map(|p| p.user_pool_clients());
        let named = clients.filter_map(|c| Some((c.client_name()?, c.client_id()?)));
        named
            .map(|(n, id)| (n.to_string(), id.to_string()))
            .collect()
    }))
}

/// The client named `name` of a pool: its ID, if any.
async fn find_client(aws: &Aws, pool_id: &str, name: &str) -> Result<Option<String>, AwsError> {
    let clients = clients(aws, pool_id).await?.unwrap_or_default();
    Ok(clients
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, id)| id))
}

fn flows(s: &AppClientSpec) -> Vec<ExplicitAuthFlowsType> {
    s.explicit_auth_flows
        .iter()
        .map(|f| ExplicitAuthFlowsType::from(f.as_str()))
        .collect()
}

/// The units of the declared token lifetimes.
fn validity_units(s: &AppClientSpec) -> TokenValidityUnitsType {
    TokenValidityUnitsType::builder()
        .id_token(TimeUnitsType::from(s.lifetimes.id.unit.as_str()))
        .access_token(TimeUnitsType::from(s.lifetimes.access.unit.as_str()))
        .refresh_token(TimeUnitsType::from(s.lifetimes.refresh.unit.as_str()))
        .build()
}

/// The spec of a live app client (`declared` gives the fields Cognito does not report).
///
/// Settings a client does not report read as Cognito's documented defaults: ID and access
/// tokens 1 hour, refresh tokens 30 days (a reported 0 means the default too), units hours,
/// hours and days, `AuthSessionValidity` 3 minutes, `PreventUserExistenceErrors` `LEGACY`.
/// A client without explicit units or values thus plans as an update to the declared ones.
/// <https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_TokenValidityUnitsType.html>
fn client_spec(client: &UserPoolClientType, declared: &AppClientSpec) -> AppClientSpec {
    let mut flows: Vec<String> = client
        .explicit_auth_flows()
        .iter()
        .map(|f| f.as_str().to_string())
        .collect();
    flows.sort();
    let units = client.token_validity_units();
    let unit = |u: Option<&TimeUnitsType>, default: &str| {
        u.map(|u| u.as_str().to_string())
            .unwrap_or_else(|| default.to_string())
    };
    let refresh = match client.refresh_token_validity() {
        0 => 30,
        v => v,
    };
    AppClientSpec {
        explicit_auth_flows: flows,
        generate_secret: client.client_secret().is_some(),
        prevent_user_existence_errors: client
            .prevent_user_existence_errors()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "LEGACY".into()),
        enable_token_revocation: client.enable_token_revocation().unwrap_or(false),
        lifetimes: ClientLifetimes {
            id: TokenValidity {
                value: client.id_token_validity().unwrap_or(1),
                unit: unit(units.and_then(|u| u.id_token()), "hours"),
            },
            access: TokenValidity {
                value: client.access_token_validity().unwrap_or(1),
                unit: unit(units.and_then(|u| u.access_token()), "hours"),
            },
            refresh: TokenValidity {
                value: refresh,
                unit: unit(units.and_then(|u| u.refresh_token()), "days"),
            },
            auth_session_minutes: client.auth_session_validity().unwrap_or(3),
        },
        ..declared.clone()
    }
}

/// The client's outputs: its `id`, and the `pool_id` a delete needs.
fn outputs(pool_id: &str, client_id: String) -> Outputs {
    Outputs::from([
        ("id".to_string(), client_id),
        ("pool_id".to_string(), pool_id.to_string()),
    ])
}

async fn update_client(
    aws: &Aws,
    pool_id: &str,
    client_id: &str,
    s: &AppClientSpec,
) -> Result<(), AwsError> {
    let builder = aws
        .cognito
        .update_user_pool_client()
        .user_pool_id(pool_id)
        .client_id(client_id);
    let call = with_settings!(builder, s).send();
    let what = format!("failed to update app client {}", s.name);
    aws.mutate(COGNITO, what, call).await?;
    Ok(())
}

/// An app client of the user pool.
pub struct AppClient;

#[async_trait]
impl Provider for AppClient {
    type Spec = AppClientSpec;

    async fn read(&self, aws: &Aws, s: &AppClientSpec, inputs: &Inputs) -> Found<AppClientSpec> {
        let Some(pool_id) = inputs.get(Kind::CognitoUserPool, "id") else {
            return Ok(None);
        };
        let Some(client_id) = find_client(aws, pool_id, &s.name).await? else {
            return Ok(None);
        };
        let out = aws
            .cognito
            .describe_user_pool_client()
            .user_pool_id(pool_id)
            .client_id(&client_id)
            .send()
            .await
            .map_err(AwsError::from)
            .or_absent(NOT_FOUND)
            .map_err(|e| e.context(format!("failed to read app client {}", s.name)))?;
        let Some(client) = out.and_then(|o| o.user_pool_client) else {
            return Ok(None);
        };
        Ok(Some(Observed {
            spec: client_spec(&client, s),
            outputs: outputs(pool_id, client_id),
        }))
    }

    async fn create(
        &self,
        aws: &Aws,
        s: &AppClientSpec,
        inputs: &Inputs,
    ) -> Result<Outputs, AwsError> {
        let pool_id = inputs.require(Kind::CognitoUserPool, "id")?;
        if let Some(client_id) = find_client(aws, pool_id, &s.name).await? {
            update_client(aws, pool_id, &client_id, s).await?;
            return Ok(outputs(pool_id, client_id));
        }
        // A lost answer is looked up by name before any retry (see `create_checked`).
        let client_id = create_checked(
            &format!("create app client {}", s.name),
            || async move {
                aws.throttle(COGNITO).await;
                let builder = aws
                    .cognito
                    .create_user_pool_client()
                    .user_pool_id(pool_id)
                    .generate_secret(s.generate_secret);
                let out = with_settings!(builder, s)
                    .customize()
                    .config_override(no_sdk_retries())
                    .send()
                    .await
                    .map_err(AwsError::from)?;
                out.user_pool_client()
                    .and_then(|c| c.client_id())
                    .map(str::to_string)
                    .ok_or_else(|| {
                        AwsError::msg(format!("app client {} was created without an ID", s.name))
                    })
            },
            || async move { find_client(aws, pool_id, &s.name).await },
        )
        .await?;
        Ok(outputs(pool_id, client_id))
    }

    async fn update(
        &self,
        aws: &Aws,
        desired: &AppClientSpec,
        live: &Observed<AppClientSpec>,
        _changes: &Changes,
        _: &Inputs,
    ) -> Result<(), AwsError> {
        let (Some(pool_id), Some(client_id)) =
            (live.outputs.get("pool_id"), live.outputs.get("id"))
        else {
            return Err(AwsError::msg(format!(
                "app client {} has no known ID",
                desired.name
            )));
        };
        update_client(aws, pool_id, client_id, desired).await
    }

    async fn delete(&self, aws: &Aws, gone: &Gone<AppClientSpec>) -> Result<(), AwsError> {
        let (Some(pool_id), Some(client_id)) =
            (gone.outputs.get("pool_id"), gone.outputs.get("id"))
        else {
            return Ok(());
        };
        let call = aws
            .cognito
            .delete_user_pool_client()
            .user_pool_id(pool_id)
            .client_id(client_id)
            .send();
        aws.mutate(
            COGNITO,
            format!("failed to delete app client {}", gone.physical),
            call,
        )
        .await
        .tolerate(NOT_FOUND)
    }
}
