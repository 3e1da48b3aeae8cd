//! The REST API itself: found by name (names are not unique, so the one tagged with this
//! stack instance is preferred), its endpoint type and tags; its ID is its output `id`. The
//! route table it holds is converged by [`super::routes`].

use super::limits::limits;
use super::routes::{pool_arns, read_definition, Converge};
use super::{no_sdk_retries, patch, APIGW, NOT_FOUND};
use crate::aws::checked::create_checked;
use crate::aws::kit::{all_pages, converge_tags, listed_sharing_names, Absent};
use crate::aws::{
    Aws, AwsError, Changes, Found, Gone, Inputs, Listed, Observed, Outputs, Provider,
};
use crate::model::apigateway::RestApiSpec;
use crate::model::Tags;
use crate::names::TAG_STACK;
use async_trait::async_trait;
use aws_sdk_apigateway::types::{EndpointConfiguration, EndpointType, Op, RestApi};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

fn tags_of(api: &RestApi) -> Tags {
    api.tags()
        .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

/// The stack instance a declared API belongs to, from its ownership tag.
fn stack_of(s: &RestApiSpec) -> &str {
    s.tags
        .get(TAG_STACK)
        .map(String::as_str)
        .unwrap_or_default()
}

fn id_output(id: &str) -> Outputs {
    Outputs::from([("id".to_string(), id.to_string())])
}

/// Every REST API of the account (one listing shared by a live-state read's API read and
/// leak sweep).
async fn all_apis(aws: &Aws) -> Result<Arc<Vec<RestApi>>, AwsError> {
    aws.listings
        .shared("apigateway:rest-apis", || async {
            let pages = aws.apigateway.get_rest_apis().limit(500).into_paginator();
            let pages = all_pages(pages.send(), "failed to list REST APIs").await?;
            Ok(pages.iter().flat_map(|p| p.items()).cloned().collect())
        })
        .await
}

/// The REST API named `name`: the one tagged with `stack` if several share the name, else
/// the first one (whose tags then tell the engine it is foreign).
async fn find_api(aws: &Aws, name: &str, stack: &str) -> Result<Option<RestApi>, AwsError> {
    let all = all_apis(aws).await?;
    let named: Vec<&RestApi> = all
        .iter()
        .filter(|a| a.name() == Some(name) && a.id().is_some())
        .collect();
    let ours = named
        .iter()
        .position(|a| tags_of(a).get(TAG_STACK).is_some_and(|s| s == stack));
    Ok(named.get(ours.unwrap_or(0)).map(|a| (*a).clone()))
}

/// The API named in `s` if it is this stack's: what a create finds "already existing".
async fn find_ours(aws: &Aws, s: &RestApiSpec) -> Result<Option<String>, AwsError> {
    let stack = stack_of(s);
    Ok(find_api(aws, &s.name, stack)
        .await?
        .filter(|a| tags_of(a).get(TAG_STACK).is_some_and(|t| t == stack))
        .and_then(|a| a.id))
}

fn api_arn(aws: &Aws, id: &str) -> String {
    format!("arn:aws:apigateway:{}::/restapis/{id}", aws.region)
}

/// Reads an API's whole definition into the declared shape.
async fn read_api(
    aws: &Aws,
    id: &str,
    api: &RestApi,
    pools: &BTreeMap<String, String>,
) -> Result<RestApiSpec, AwsError> {
    let definition = read_definition(aws, id, pools).await?;
    Ok(RestApiSpec {
        name: api.name().unwrap_or_default().to_string(),
        endpoint_type: api
            .endpoint_configuration()
            .and_then(|e| e.types().first())
            .map(|t| t.as_str().to_string())
            .unwrap_or_default(),
        authorizers: definition.authorizers,
        routes: definition.routes,
        tags: tags_of(api),
    })
}

/// CreateRestApi, made once per attempt: a second one makes a second API of the same name,
/// so a lost answer is looked up by name and tag before any retry.
async fn create_api(aws: &Aws, s: &RestApiSpec) -> Result<String, AwsError> {
    create_checked(
        &format!("create REST API {}", s.name),
        || async move {
            aws.throttle(APIGW).await;
            limits().create_rest_api.until_ready().await;
            let created = aws
                .apigateway
                .create_rest_api()
                .name(&s.name)
                .endpoint_configuration(
                    EndpointConfiguration::builder()
                        .types(EndpointType::from(s.endpoint_type.as_str()))
                        .build(),
                )
                .set_tags(Some(s.tags.clone().into_iter().collect()))
                .customize()
                .config_override(no_sdk_retries())
                .send()
                .await
                .map_err(AwsError::from)?;
            created.id().map(str::to_string).ok_or_else(|| {
                AwsError::msg(format!("REST API {} was created without an ID", s.name))
            })
        },
        || find_ours(aws, s),
    )
    .await
}

/// The endpoint type and the tags of the API.
async fn converge_settings(
    aws: &Aws,
    id: &str,
    s: &RestApiSpec,
    live: &RestApi,
) -> Result<(), AwsError> {
    let fail = |what: &str| format!("failed to {what} of REST API {}", s.name);
    let live_type = live
        .endpoint_configuration()
        .and_then(|e| e.types().first())
        .map(|t| t.as_str())
        .unwrap_or_default();
    if live_type != s.endpoint_type && !live_type.is_empty() {
        let call = aws
            .apigateway
            .update_rest_api()
            .rest_api_id(id)
            .patch_operations(patch(
                Op::Replace,
                format!("/endpointConfiguration/types/{live_type}"),
                Some(s.endpoint_type.clone()),
            ))
            .send();
        aws.mutate(APIGW, fail("change the endpoint type"), call)
            .await?;
    }
    let arn = &api_arn(aws, id);
    converge_tags(
        aws,
        APIGW,
        &format!("REST API {}", s.name),
        (&s.tags, &tags_of(live)),
        |stale| {
            let call = aws.apigateway.untag_resource().resource_arn(arn);
            call.set_tag_keys(Some(stale)).send()
        },
        |set| {
            let call = aws.apigateway.tag_resource().resource_arn(arn);
            call.set_tags(Some(set.into_iter().collect())).send()
        },
    )
    .await
}

/// Brings a live API to the declaration in place: API settings and tags, then its route
/// table; what is not declared is deleted.
async fn converge_api(
    aws: &Aws,
    id: &str,
    s: &RestApiSpec,
    pools: &BTreeMap<String, String>,
) -> Result<(), AwsError> {
    let api = aws
        .apigateway
        .get_rest_api()
        .rest_api_id(id)
        .send()
        .await
        .map_err(|e| AwsError::from(e).context(format!("failed to read REST API {}", s.name)))?;
    let api = RestApi::builder()
        .set_id(api.id)
        .set_name(api.name)
        .set_endpoint_configuration(api.endpoint_configuration)
        .set_tags(api.tags)
        .build();
    converge_settings(aws, id, s, &api).await?;
    let live = read_definition(aws, id, pools).await?;
    Converge::new(aws, id, s, &live).run(pools).await
}

/// Converges the API, then reads it back: a stage deployed from it must find every route and
/// authorizer declared. Anything missing or different (say, a call whose lost answer hid a
/// failure) gets one more converging pass; if that does not do, it is an error naming what.
async fn converge_verified(
    aws: &Aws,
    id: &str,
    s: &RestApiSpec,
    inputs: &Inputs,
) -> Result<(), AwsError> {
    let pools = pool_arns(s, inputs);
    let mut differences = Vec::new();
    for pass in 0..2 {
        if pass > 0 {
            tracing::warn!(
                "REST API {} differs from its declaration after converging ({}); converging again",
                s.name,
                differences.join(", ")
            );
        }
        converge_api(aws, id, s, &pools).await?;
        differences = definition_differences(aws, id, s, &pools).await?;
        if differences.is_empty() {
            return Ok(());
        }
    }
    Err(AwsError::msg(format!(
        "REST API {} still differs from its declaration after converging twice: {}",
        s.name,
        differences.join(", ")
    )))
}

/// The routes and authorizers of the live API that differ from `s` (missing, extra or
/// changed), read back from AWS.
async fn definition_differences(
    aws: &Aws,
    id: &str,
    s: &RestApiSpec,
    pools: &BTreeMap<String, String>,
) -> Result<Vec<String>, AwsError> {
    let live = read_definition(aws, id, pools).await?;
    let mut out = Vec::new();
    let keys: BTreeSet<&String> = s.routes.keys().chain(live.routes.keys()).collect();
    for key in keys {
        match (s.routes.get(key), live.routes.get(key)) {
            (Some(_), None) => out.push(format!("route {key} missing")),
            (None, Some(_)) => out.push(format!("route {key} not declared")),
            (Some(a), Some(b)) if a != b => out.push(format!("route {key} differs")),
            _ => {}
        }
    }
    let names: BTreeSet<&String> = s
        .authorizers
        .keys()
        .chain(live.authorizers.keys())
        .collect();
    for name in names {
        if s.authorizers.get(name) != live.authorizers.get(name) {
            out.push(format!("authorizer {name} missing or different"));
        }
    }
    Ok(out)
}

/// A REST API with its whole route table.
pub struct Api;

#[async_trait]
impl Provider for Api {
    type Spec = RestApiSpec;

    async fn read(&self, aws: &Aws, s: &RestApiSpec, inputs: &Inputs) -> Found<RestApiSpec> {
        let Some(api) = find_api(aws, &s.name, stack_of(s)).await? else {
            return Ok(None);
        };
        let id = api.id().unwrap_or_default();
        let spec = read_api(aws, id, &api, &pool_arns(s, inputs)).await?;
        Ok(Some(Observed::with(spec, "id", id)))
    }

    async fn create(
        &self,
        aws: &Aws,
        s: &RestApiSpec,
        inputs: &Inputs,
    ) -> Result<Outputs, AwsError> {
        // Names are not unique: "already exists" is an API of ours found by name and tag.
        let id = match find_ours(aws, s).await? {
            Some(id) => id,
            None => create_api(aws, s).await?,
        };
        converge_verified(aws, &id, s, inputs).await?;
        Ok(id_output(&id))
    }

    async fn update(
        &self,
        aws: &Aws,
        desired: &RestApiSpec,
        live: &Observed<RestApiSpec>,
        _changes: &Changes,
        inputs: &Inputs,
    ) -> Result<(), AwsError> {
        let id = live
            .outputs
            .get("id")
            .ok_or_else(|| AwsError::msg(format!("REST API {} has no known ID", desired.name)))?;
        converge_verified(aws, id, desired, inputs).await
    }

    async fn delete(&self, aws: &Aws, gone: &Gone<RestApiSpec>) -> Result<(), AwsError> {
        let Some(id) = gone.outputs.get("id") else {
            return Ok(());
        };
        let call = aws.apigateway.delete_rest_api().rest_api_id(id).send();
        aws.mutate(
            APIGW,
            format!("failed to delete REST API {}", gone.physical),
            call,
        )
        .await
        .tolerate(NOT_FOUND)
    }

    async fn list(
        &self,
        aws: &Aws,
        prefix: &str,
        skip: &[String],
    ) -> Result<Vec<Listed>, AwsError> {
        let all = all_apis(aws).await?;
        let found = all.iter().filter_map(|a| Some((a.name()?.to_string(), a)));
        listed_sharing_names(found.collect(), prefix, skip, |api| async move {
            Ok(Some((
                tags_of(api),
                api.id().map(id_output).unwrap_or_default(),
            )))
        })
        .await
    }
}
