//! API Gateway (REST): the API as one route table (resources, methods, Lambda proxy
//! integrations, Cognito authorizers), and its stage (throttling and deployment).
//!
//! REST API names are not unique and IDs are AWS-assigned: an API is found by listing APIs
//! with its name and preferring the one tagged with this stack instance.

use super::checked::{create_checked, CONFLICT};
use super::legacy::{LegacyProvider as Provider, Listed};
use super::{spec, Aws, AwsError};
use crate::model::apigateway::{AuthorizerSpec, RestApiSpec, RouteSpec, StageSpec};
use crate::model::{Resource, Service, Spec, Tags};
use crate::names::TAG_STACK;
use async_trait::async_trait;
use aws_sdk_apigateway::types::{
    AuthorizerType, EndpointConfiguration, EndpointType, IntegrationType, Op, PatchOperation,
    RestApi,
};
use futures::future::{join_all, BoxFuture};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroU32;
use std::sync::OnceLock;
use std::time::Duration;

const NOT_FOUND: &[&str] = &["NotFoundException"];

/// API Gateway's documented per-operation control-plane quotas (per account and region), on
/// top of the service-wide limiter of [`Aws::throttle`] (the "total operations" quota of 10
/// requests per second). Process-wide: the account's quota is shared by everything the process
/// does.
struct OperationLimits {
    /// CreateResource: 5 requests per second.
    create_resource: DefaultDirectRateLimiter,
    /// DeleteResource: 5 requests per second.
    delete_resource: DefaultDirectRateLimiter,
    /// CreateRestApi (regional): 1 request every 3 seconds.
    create_rest_api: DefaultDirectRateLimiter,
    /// CreateDeployment: 1 request every 5 seconds.
    create_deployment: DefaultDirectRateLimiter,
    /// GetResources: 5 requests every 2 seconds.
    get_resources: DefaultDirectRateLimiter,
}

fn limits() -> &'static OperationLimits {
    static LIMITS: OnceLock<OperationLimits> = OnceLock::new();
    LIMITS.get_or_init(|| {
        let five = NonZeroU32::new(5).expect("positive");
        let every = |period: Duration| {
            RateLimiter::direct(Quota::with_period(period).expect("positive period"))
        };
        OperationLimits {
            create_resource: RateLimiter::direct(Quota::per_second(five)),
            delete_resource: RateLimiter::direct(Quota::per_second(five)),
            create_rest_api: every(Duration::from_secs(3)),
            create_deployment: every(Duration::from_secs(5)),
            get_resources: RateLimiter::direct(
                Quota::with_period(Duration::from_millis(400))
                    .expect("positive period")
                    .allow_burst(five),
            ),
        }
    })
}

/// Per-call configuration that turns the SDK's own retries off, for the creates that
/// [`create_checked`] retries itself.
fn no_sdk_retries() -> aws_sdk_apigateway::config::Builder {
    aws_sdk_apigateway::config::Builder::default()
        .retry_config(aws_sdk_apigateway::config::retry::RetryConfig::disabled())
}

/// Prefix of a deployment's description before the definition fingerprint.
const DEPLOYED: &str = "ecomflow-infra definition ";

fn tags_of(api: &RestApi) -> Tags {
    api.tags()
        .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

async fn all_apis(aws: &Aws) -> Result<Vec<RestApi>, AwsError> {
    let mut out = Vec::new();
    let mut pages = aws
        .apigateway
        .get_rest_apis()
        .limit(500)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::from(e).context("failed to list REST APIs"))?;
        out.extend(page.items().iter().cloned());
    }
    Ok(out)
}

/// The REST API named `name`: the one tagged with `stack` if several share the name, else
/// the first one (whose tags then tell the engine it is foreign).
pub(super) async fn find_api(
    aws: &Aws,
    name: &str,
    stack: &str,
) -> Result<Option<(String, RestApi)>, AwsError> {
    let named: Vec<RestApi> = all_apis(aws)
        .await?
        .into_iter()
        .filter(|a| a.name() == Some(name))
        .collect();
    let pick = named
        .iter()
        .find(|a| tags_of(a).get(TAG_STACK).is_some_and(|s| s == stack))
        .or(named.first())
        .cloned();
    Ok(pick.and_then(|a| a.id().map(|id| (id.to_string(), a.clone()))))
}

fn api_arn(aws: &Aws, id: &str) -> String {
    format!("arn:aws:apigateway:{}::/restapis/{id}", aws.region)
}

fn function_arn(aws: &Aws, name: &str) -> String {
    format!(
        "arn:aws:lambda:{}:{}:function:{name}",
        aws.region, aws.account
    )
}

/// The Lambda proxy integration URI of a function.
fn invocation_uri(aws: &Aws, function: &str) -> String {
    format!(
        "arn:aws:apigateway:{}:lambda:path/2015-03-31/functions/{}/invocations",
        aws.region,
        function_arn(aws, function)
    )
}

/// The function name in an integration URI of this account and region, else the raw URI.
fn function_of(aws: &Aws, uri: &str) -> String {
    let prefix = format!(
        "arn:aws:apigateway:{}:lambda:path/2015-03-31/functions/{}",
        aws.region,
        function_arn(aws, "")
    );
    uri.strip_prefix(&prefix)
        .and_then(|rest| rest.strip_suffix("/invocations"))
        .filter(|name| !name.contains(':') && !name.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| uri.to_string())
}

fn patch(op: Op, path: impl Into<String>, value: Option<String>) -> PatchOperation {
    PatchOperation::builder()
        .op(op)
        .path(path)
        .set_value(value)
        .build()
}

/// A live resource: its ID, and its methods by HTTP method.
struct LiveResource {
    id: String,
    methods: BTreeMap<String, aws_sdk_apigateway::types::Method>,
}

/// Every resource of an API by path, methods embedded.
async fn resources(aws: &Aws, api_id: &str) -> Result<BTreeMap<String, LiveResource>, AwsError> {
    let mut out = BTreeMap::new();
    limits().get_resources.until_ready().await;
    let mut pages = aws
        .apigateway
        .get_resources()
        .rest_api_id(api_id)
        .embed("methods")
        .limit(500)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            AwsError::from(e).context(format!("failed to read the resources of REST API {api_id}"))
        })?;
        for r in page.items() {
            let methods = r
                .resource_methods()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default();
            out.insert(
                r.path().unwrap_or_default().to_string(),
                LiveResource {
                    id: r.id().unwrap_or_default().to_string(),
                    methods,
                },
            );
        }
    }
    Ok(out)
}

/// Every authorizer of an API.
async fn authorizers(
    aws: &Aws,
    api_id: &str,
) -> Result<Vec<aws_sdk_apigateway::types::Authorizer>, AwsError> {
    let mut out = Vec::new();
    let mut position: Option<String> = None;
    loop {
        let page = aws
            .apigateway
            .get_authorizers()
            .rest_api_id(api_id)
            .limit(500)
            .set_position(position.clone())
            .send()
            .await
            .map_err(|e| {
                AwsError::from(e).context(format!(
                    "failed to read the authorizers of REST API {api_id}"
                ))
            })?;
        out.extend(page.items().iter().cloned());
        match page.position() {
            Some(p) if !page.items().is_empty() && Some(p) != position.as_deref() => {
                position = Some(p.to_string());
            }
            _ => return Ok(out),
        }
    }
}

/// The user pool ID in a pool ARN of this account and region.
fn pool_id_of<'a>(aws: &Aws, arn: &'a str) -> Option<&'a str> {
    arn.strip_prefix(&super::cognito::pool_arn(aws, ""))
}

/// Reads an API's whole definition into the declared shape.
async fn read_api(
    aws: &Aws,
    id: &str,
    api: &RestApi,
    stack: &str,
) -> Result<RestApiSpec, AwsError> {
    Ok(read_api_parts(aws, id, api, stack).await?.0)
}

/// [`read_api`], also returning the authorizers and resources it read.
async fn read_api_parts(
    aws: &Aws,
    id: &str,
    api: &RestApi,
    stack: &str,
) -> Result<
    (
        RestApiSpec,
        Vec<aws_sdk_apigateway::types::Authorizer>,
        BTreeMap<String, LiveResource>,
    ),
    AwsError,
> {
    // The authorizers (and their pools' names) and the resources are read side by side.
    let (auths, live_resources) =
        futures::future::try_join(authorizers(aws, id), resources(aws, id)).await?;
    let mut auth_names = BTreeMap::new();
    let mut auth_specs = BTreeMap::new();
    for a in &auths {
        let name = a.name().unwrap_or_default().to_string();
        auth_names.insert(a.id().unwrap_or_default().to_string(), name.clone());
        let mut pools = Vec::new();
        for arn in a.provider_arns() {
            let name = match pool_id_of(aws, arn) {
                Some(pool_id) => super::cognito::pool_name(aws, pool_id).await?,
                None => None,
            };
            pools.push(name.unwrap_or_else(|| arn.clone()));
        }
        pools.sort();
        auth_specs.insert(
            name,
            AuthorizerSpec {
                kind: a
                    .r#type()
                    .map(|t| t.as_str().to_string())
                    .unwrap_or_default(),
                user_pools: pools,
                identity_source: a.identity_source().unwrap_or_default().to_string(),
            },
        );
    }
    let mut routes = BTreeMap::new();
    for (path, r) in &live_resources {
        for (method, m) in &r.methods {
            let integration = m.method_integration();
            routes.insert(
                format!("{method} {path}"),
                RouteSpec {
                    function: integration
                        .and_then(|i| i.uri())
                        .map(|u| function_of(aws, u))
                        .unwrap_or_default(),
                    integration: integration
                        .and_then(|i| i.r#type())
                        .map(|t| t.as_str().to_string())
                        .unwrap_or_default(),
                    authorization: m.authorization_type().unwrap_or_default().to_string(),
                    authorizer: m
                        .authorizer_id()
                        .map(|a| auth_names.get(a).cloned().unwrap_or_else(|| a.to_string()))
                        .unwrap_or_default(),
                },
            );
        }
    }
    let spec = RestApiSpec {
        name: api.name().unwrap_or_default().to_string(),
        endpoint_type: api
            .endpoint_configuration()
            .and_then(|e| e.types().first())
            .map(|t| t.as_str().to_string())
            .unwrap_or_default(),
        authorizers: auth_specs,
        routes,
        tags: tags_of(api),
        stack: stack.to_string(),
        id: Some(id.to_string()),
    };
    Ok((spec, auths, live_resources))
}

/// Splits a route key `"GET /a/b"` into method and path.
fn route_parts(key: &str) -> Result<(&str, &str), AwsError> {
    key.split_once(' ')
        .ok_or_else(|| AwsError::msg(format!("malformed route {key:?}: want \"METHOD /path\"")))
}

/// Every path the routes need, parents first.
fn needed_paths(s: &RestApiSpec) -> Result<Vec<String>, AwsError> {
    let mut paths = BTreeSet::new();
    for key in s.routes.keys() {
        let (_, path) = route_parts(key)?;
        let mut prefix = String::new();
        for part in path.split('/').filter(|p| !p.is_empty()) {
            prefix.push('/');
            prefix.push_str(part);
            paths.insert(prefix.clone());
        }
    }
    let mut paths: Vec<String> = paths.into_iter().collect();
    paths.sort_by_key(|p| (p.matches('/').count(), p.clone()));
    Ok(paths)
}

/// What converging the routes of one API needs; see [`RouteTree::converge`].
struct RouteTree<'a> {
    aws: &'a Aws,
    api_id: &'a str,
    spec: &'a RestApiSpec,
    /// The API as read before converging.
    live: &'a RestApiSpec,
    /// Its resources by path, as read before converging.
    live_resources: &'a BTreeMap<String, LiveResource>,
    /// Authorizer IDs by name, after the authorizers were converged.
    auth_ids: &'a BTreeMap<String, String>,
    /// Every path the routes need, parents first.
    needed: &'a [String],
}

impl<'a> RouteTree<'a> {
    fn fail(&self, what: String) -> impl FnOnce(AwsError) -> AwsError {
        let name = self.spec.name.clone();
        move |e: AwsError| e.context(format!("failed to {what} of REST API {name}"))
    }

    /// Converges the routes on `path` (whose resource is `resource_id`) and, concurrently,
    /// the subtree of each of its children. Returns the resources it created, by path.
    fn converge(
        &'a self,
        path: String,
        resource_id: String,
    ) -> BoxFuture<'a, Result<Vec<(String, String)>, AwsError>> {
        Box::pin(async move {
            let routes = self.spec.routes.keys().filter(|key| {
                route_parts(key).is_ok_and(|(_, p)| p == path || (p.is_empty() && path == "/"))
            });
            let routes = join_all(routes.map(|key| self.route(key, &resource_id)));
            let children = self.needed.iter().filter(|p| parent_of(p) == path);
            let children = join_all(children.map(|child| async {
                let (child_id, created) = match self.live_resources.get(child) {
                    Some(r) => (r.id.clone(), false),
                    None => (self.create_resource(child, &resource_id).await?, true),
                };
                let mut made = self.converge(child.clone(), child_id.clone()).await?;
                if created {
                    made.push((child.clone(), child_id));
                }
                Ok::<_, AwsError>(made)
            }));
            let (routes, children) = futures::join!(routes, children);
            routes.into_iter().collect::<Result<Vec<()>, AwsError>>()?;
            let mut made = Vec::new();
            for c in children {
                made.extend(c?);
            }
            Ok(made)
        })
    }

    /// Creates the resource at `path` under `parent_id`; a create whose answer was lost is
    /// found by reading the API's resources back, never made twice.
    async fn create_resource(&self, path: &str, parent_id: &str) -> Result<String, AwsError> {
        let (_, part) = path.rsplit_once('/').unwrap_or(("", path));
        let (aws, api_id) = (self.aws, self.api_id);
        let what = format!("create resource {path} of REST API {}", self.spec.name);
        create_checked(
            &what,
            || async move {
                aws.throttle(Service::ApiGateway).await;
                limits().create_resource.until_ready().await;
                let created = aws
                    .apigateway
                    .create_resource()
                    .rest_api_id(api_id)
                    .parent_id(parent_id)
                    .path_part(part)
                    .customize()
                    .config_override(no_sdk_retries())
                    .send()
                    .await
                    .map_err(AwsError::from)?;
                Ok(created.id().unwrap_or_default().to_string())
            },
            || async move {
                Ok(resources(aws, api_id)
                    .await?
                    .get(path)
                    .map(|r| r.id.clone()))
            },
        )
        .await
    }

    /// Converges one route (`"METHOD /path"`) on its resource: the method with its
    /// authorization, then its Lambda proxy integration.
    async fn route(&self, key: &str, resource_id: &str) -> Result<(), AwsError> {
        let (aws, id, s) = (self.aws, self.api_id, self.spec);
        let want = &s.routes[key];
        let (method, _) = route_parts(key)?;
        let have = self.live.routes.get(key);
        let auth_differs = have.is_some_and(|h| {
            h.authorization != want.authorization || h.authorizer != want.authorizer
        });
        let authorizer_id = if want.authorizer.is_empty() {
            None
        } else {
            Some(
                self.auth_ids
                    .get(&want.authorizer)
                    .cloned()
                    .ok_or_else(|| {
                        AwsError::msg(format!(
                            "route {key} of REST API {} names an undeclared authorizer {}",
                            s.name, want.authorizer
                        ))
                    })?,
            )
        };
        if auth_differs {
            // PutMethod refuses an existing method: take it down and put it back.
            aws.throttle(Service::ApiGateway).await;
            if let Err(e) = aws
                .apigateway
                .delete_method()
                .rest_api_id(id)
                .resource_id(resource_id)
                .http_method(method)
                .send()
                .await
            {
                // A retry after a lost answer finds it gone already.
                let e = AwsError::from(e);
                if !e.is(NOT_FOUND) {
                    return Err(self.fail(format!("delete method {key}"))(e));
                }
            }
        }
        if have.is_none() || auth_differs {
            aws.throttle(Service::ApiGateway).await;
            let put = aws
                .apigateway
                .put_method()
                .rest_api_id(id)
                .resource_id(resource_id)
                .http_method(method)
                .authorization_type(&want.authorization)
                .set_authorizer_id(authorizer_id.clone())
                .send()
                .await;
            if let Err(e) = put {
                let e = AwsError::from(e);
                // A conflict is the method already there: the answer to an earlier attempt of
                // this very call was lost. Fine if it is the method wanted.
                if !(e.is(CONFLICT)
                    && self
                        .method_is(resource_id, method, want, &authorizer_id)
                        .await?)
                {
                    return Err(self.fail(format!("put method {key}"))(e));
                }
            }
        }
        let integration_differs = have.is_none_or(|h| {
            auth_differs || h.function != want.function || h.integration != want.integration
        });
        if integration_differs {
            // PutIntegration replaces: repeating it is harmless.
            aws.throttle(Service::ApiGateway).await;
            aws.apigateway
                .put_integration()
                .rest_api_id(id)
                .resource_id(resource_id)
                .http_method(method)
                .r#type(IntegrationType::from(want.integration.as_str()))
                // Lambda is always invoked with POST, whatever the route's method.
                .integration_http_method("POST")
                .uri(invocation_uri(aws, &want.function))
                .send()
                .await
                .map_err(|e| self.fail(format!("put the integration of {key}"))(e.into()))?;
        }
        Ok(())
    }

    /// True if the live method `method` of the resource has the authorization wanted.
    async fn method_is(
        &self,
        resource_id: &str,
        method: &str,
        want: &RouteSpec,
        authorizer_id: &Option<String>,
    ) -> Result<bool, AwsError> {
        let live = self
            .aws
            .apigateway
            .get_method()
            .rest_api_id(self.api_id)
            .resource_id(resource_id)
            .http_method(method)
            .send()
            .await
            .map_err(|e| self.fail(format!("read method {method} {resource_id}"))(e.into()))?;
        Ok(
            live.authorization_type() == Some(want.authorization.as_str())
                && live.authorizer_id().map(str::to_string) == *authorizer_id,
        )
    }
}

/// The parent path of a resource path (`/` for a top-level one).
fn parent_of(path: &str) -> &str {
    match path.rsplit_once('/') {
        Some(("", _)) | None => "/",
        Some((parent, _)) => parent,
    }
}

/// Brings a live API to the declaration in place: API settings and tags, authorizers,
/// resources, methods and integrations; what is not declared is deleted.
async fn converge_api(aws: &Aws, id: &str, s: &RestApiSpec) -> Result<(), AwsError> {
    let fail = |what: String| {
        let name = s.name.clone();
        move |e: AwsError| e.context(format!("failed to {what} of REST API {name}"))
    };
    let api = aws
        .apigateway
        .get_rest_api()
        .rest_api_id(id)
        .send()
        .await
        .map_err(|e| fail("read".into())(e.into()))?;
    let api = RestApi::builder()
        .set_id(api.id)
        .set_name(api.name)
        .set_endpoint_configuration(api.endpoint_configuration)
        .set_tags(api.tags)
        .build();
    let (live, live_auths, mut live_resources) = read_api_parts(aws, id, &api, &s.stack).await?;

    if live.endpoint_type != s.endpoint_type && !live.endpoint_type.is_empty() {
        aws.throttle(Service::ApiGateway).await;
        aws.apigateway
            .update_rest_api()
            .rest_api_id(id)
            .patch_operations(patch(
                Op::Replace,
                format!("/endpointConfiguration/types/{}", live.endpoint_type),
                Some(s.endpoint_type.clone()),
            ))
            .send()
            .await
            .map_err(|e| fail("change the endpoint type".into())(e.into()))?;
    }
    converge_tags(aws, id, s, &live.tags).await?;

    // Authorizers: create missing, fix changed (extras go after the methods stop using them).
    let mut auth_ids: BTreeMap<String, String> = BTreeMap::new();
    for a in &live_auths {
        auth_ids.insert(
            a.name().unwrap_or_default().to_string(),
            a.id().unwrap_or_default().to_string(),
        );
    }
    for (name, want) in &s.authorizers {
        let mut arns = Vec::new();
        for pool in &want.user_pools {
            let pool_id = super::cognito::find_pool_id(aws, pool, &s.stack)
                .await?
                .ok_or_else(|| {
                    AwsError::msg(format!(
                        "user pool {pool} not found: it must exist before REST API {}",
                        s.name
                    ))
                })?;
            arns.push(super::cognito::pool_arn(aws, &pool_id));
        }
        match (auth_ids.get(name), live.authorizers.get(name)) {
            (Some(auth_id), Some(have)) if have != want => {
                let current = live_auths
                    .iter()
                    .find(|a| a.id() == Some(auth_id.as_str()))
                    .map(|a| a.provider_arns().to_vec())
                    .unwrap_or_default();
                let mut ops = Vec::new();
                if have.identity_source != want.identity_source {
                    ops.push(patch(
                        Op::Replace,
                        "/identitySource",
                        Some(want.identity_source.clone()),
                    ));
                }
                if have.kind != want.kind {
                    ops.push(patch(Op::Replace, "/type", Some(want.kind.clone())));
                }
                for arn in arns.iter().filter(|a| !current.contains(a)) {
                    ops.push(patch(Op::Add, format!("/providerARNs/{arn}"), None));
                }
                for arn in current.iter().filter(|a| !arns.contains(a)) {
                    ops.push(patch(Op::Remove, format!("/providerARNs/{arn}"), None));
                }
                if !ops.is_empty() {
                    aws.throttle(Service::ApiGateway).await;
                    aws.apigateway
                        .update_authorizer()
                        .rest_api_id(id)
                        .authorizer_id(auth_id)
                        .set_patch_operations(Some(ops))
                        .send()
                        .await
                        .map_err(|e| fail(format!("update authorizer {name}"))(e.into()))?;
                }
            }
            (Some(_), _) => {}
            (None, _) => {
                // A second CreateAuthorizer makes a second authorizer: a lost answer is looked
                // up by name before any retry.
                let arns = &arns;
                let created = create_checked(
                    &format!("create authorizer {name} of REST API {}", s.name),
                    || async move {
                        aws.throttle(Service::ApiGateway).await;
                        let created = aws
                            .apigateway
                            .create_authorizer()
                            .rest_api_id(id)
                            .name(name)
                            .r#type(AuthorizerType::from(want.kind.as_str()))
                            .set_provider_arns(Some(arns.clone()))
                            .identity_source(&want.identity_source)
                            .customize()
                            .config_override(no_sdk_retries())
                            .send()
                            .await
                            .map_err(AwsError::from)?;
                        Ok(created.id().unwrap_or_default().to_string())
                    },
                    || async move {
                        Ok(authorizers(aws, id)
                            .await?
                            .iter()
                            .find(|a| a.name() == Some(name.as_str()))
                            .and_then(|a| a.id().map(str::to_string)))
                    },
                )
                .await?;
                auth_ids.insert(name.clone(), created);
            }
        }
    }

    // Resources, methods and integrations: each resource's routes and its children are
    // converged concurrently, every child after its parent exists.
    let needed = needed_paths(s)?;
    let root = live_resources
        .get("/")
        .map(|r| r.id.clone())
        .ok_or_else(|| AwsError::msg(format!("REST API {} has no root resource", s.name)))?;
    let tree = RouteTree {
        aws,
        api_id: id,
        spec: s,
        live: &live,
        live_resources: &live_resources,
        auth_ids: &auth_ids,
        needed: &needed,
    };
    let made = tree.converge("/".to_string(), root).await?;
    for (path, id) in made {
        live_resources.entry(path).or_insert(LiveResource {
            id,
            methods: BTreeMap::new(),
        });
    }

    // What is not declared goes: methods, then resources (deepest first), then authorizers.
    for key in live.routes.keys().filter(|k| !s.routes.contains_key(*k)) {
        let (method, path) = route_parts(key)?;
        let Some(r) = live_resources.get(path) else {
            continue;
        };
        aws.throttle(Service::ApiGateway).await;
        if let Err(e) = aws
            .apigateway
            .delete_method()
            .rest_api_id(id)
            .resource_id(&r.id)
            .http_method(method)
            .send()
            .await
        {
            let e = AwsError::from(e);
            if !e.is(NOT_FOUND) {
                return Err(fail(format!("delete method {key}"))(e));
            }
        }
    }
    let mut extra: Vec<(&String, &LiveResource)> = live_resources
        .iter()
        .filter(|(p, _)| p.as_str() != "/" && !needed.contains(p))
        .collect();
    extra.sort_by_key(|(p, _)| std::cmp::Reverse(p.matches('/').count()));
    for (path, r) in extra {
        aws.throttle(Service::ApiGateway).await;
        limits().delete_resource.until_ready().await;
        if let Err(e) = aws
            .apigateway
            .delete_resource()
            .rest_api_id(id)
            .resource_id(&r.id)
            .send()
            .await
        {
            // Deleting a resource deletes its children: they may be gone already.
            let e = AwsError::from(e);
            if !e.is(NOT_FOUND) {
                return Err(fail(format!("delete resource {path}"))(e));
            }
        }
    }
    for (name, auth_id) in auth_ids
        .iter()
        .filter(|(n, _)| !s.authorizers.contains_key(*n))
    {
        aws.throttle(Service::ApiGateway).await;
        if let Err(e) = aws
            .apigateway
            .delete_authorizer()
            .rest_api_id(id)
            .authorizer_id(auth_id)
            .send()
            .await
        {
            let e = AwsError::from(e);
            if !e.is(NOT_FOUND) {
                return Err(fail(format!("delete authorizer {name}"))(e));
            }
        }
    }
    Ok(())
}

/// Converges the API, then reads it back: a stage deployed from it must find every route and
/// authorizer declared. Anything missing or different (say, a call whose lost answer hid a
/// failure) gets one more converging pass; if that does not do, it is an error naming what.
async fn converge_verified(aws: &Aws, id: &str, s: &RestApiSpec) -> Result<(), AwsError> {
    let mut differences = Vec::new();
    for pass in 0..2 {
        if pass > 0 {
            tracing::warn!(
                "REST API {} differs from its declaration after converging ({}); converging again",
                s.name,
                differences.join(", ")
            );
        }
        converge_api(aws, id, s).await?;
        differences = definition_differences(aws, id, s).await?;
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
) -> Result<Vec<String>, AwsError> {
    let api = RestApi::builder().id(id).name(&s.name).build();
    let live = read_api(aws, id, &api, &s.stack).await?;
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

async fn converge_tags(aws: &Aws, id: &str, s: &RestApiSpec, live: &Tags) -> Result<(), AwsError> {
    let arn = api_arn(aws, id);
    let stale: Vec<String> = live
        .keys()
        .filter(|k| !s.tags.contains_key(*k))
        .cloned()
        .collect();
    if !stale.is_empty() {
        aws.throttle(Service::ApiGateway).await;
        aws.apigateway
            .untag_resource()
            .resource_arn(&arn)
            .set_tag_keys(Some(stale))
            .send()
            .await
            .map_err(|e| {
                AwsError::from(e).context(format!("failed to untag REST API {}", s.name))
            })?;
    }
    let changed: std::collections::HashMap<String, String> = s
        .tags
        .iter()
        .filter(|(k, v)| live.get(*k) != Some(v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !changed.is_empty() {
        aws.throttle(Service::ApiGateway).await;
        aws.apigateway
            .tag_resource()
            .resource_arn(&arn)
            .set_tags(Some(changed))
            .send()
            .await
            .map_err(|e| AwsError::from(e).context(format!("failed to tag REST API {}", s.name)))?;
    }
    Ok(())
}

/// A REST API with its whole route table.
pub struct Api;

#[async_trait]
impl Provider for Api {
    async fn read(&self, aws: &Aws, desired: &Resource) -> Result<Option<Value>, AwsError> {
        let s: RestApiSpec = spec(&desired.spec)?;
        let Some((id, api)) = find_api(aws, &s.name, &s.stack).await? else {
            return Ok(None);
        };
        let live = read_api(aws, &id, &api, &s.stack).await?;
        Ok(Some(serde_json::to_value(live).expect("specs serialise")))
    }

    async fn create(&self, aws: &Aws, desired: &Resource) -> Result<(), AwsError> {
        let s: RestApiSpec = spec(&desired.spec)?;
        // Names are not unique: "already exists" is an API of ours found by name and tag.
        let ours = find_api(aws, &s.name, &s.stack)
            .await?
            .filter(|(_, a)| tags_of(a).get(TAG_STACK) == Some(&s.stack));
        let id = match ours {
            Some((id, _)) => id,
            None => {
                // A second CreateRestApi makes a second API of the same name: a lost answer is
                // looked up by name and tag before any retry.
                let s = &s;
                create_checked(
                    &format!("create REST API {}", s.name),
                    || async move {
                        aws.throttle(Service::ApiGateway).await;
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
                    || async move {
                        Ok(find_api(aws, &s.name, &s.stack)
                            .await?
                            .filter(|(_, a)| tags_of(a).get(TAG_STACK) == Some(&s.stack))
                            .map(|(id, _)| id))
                    },
                )
                .await?
            }
        };
        converge_verified(aws, &id, &s).await
    }

    async fn update(&self, aws: &Aws, desired: &Resource, live: &Value) -> Result<(), AwsError> {
        let s: RestApiSpec = spec(&desired.spec)?;
        let l: RestApiSpec = spec(live)?;
        let id =
            l.id.ok_or_else(|| AwsError::msg(format!("REST API {} has no known ID", s.name)))?;
        converge_verified(aws, &id, &s).await
    }

    async fn delete(&self, aws: &Aws, physical: &str, live: &Value) -> Result<(), AwsError> {
        // `live` is a full read, or only name, tags and `_id` when found by the leak sweep.
        let Some(id) = live.get("_id").and_then(Value::as_str) else {
            return Ok(());
        };
        aws.throttle(Service::ApiGateway).await;
        if let Err(e) = aws
            .apigateway
            .delete_rest_api()
            .rest_api_id(id)
            .send()
            .await
        {
            let e = AwsError::from(e);
            if !e.is(NOT_FOUND) {
                return Err(e.context(format!("failed to delete REST API {physical}")));
            }
        }
        Ok(())
    }

    async fn list(
        &self,
        aws: &Aws,
        prefix: &str,
        skip: &[String],
    ) -> Result<Vec<Listed>, AwsError> {
        // The declared API of a skipped name is the first one tagged with this stack (as
        // `find_api` picks it); any other API sharing the name is listed.
        let stack = prefix.strip_suffix('-').unwrap_or(prefix);
        let mut declared_seen: Vec<String> = Vec::new();
        let mut out = Vec::new();
        for api in all_apis(aws).await? {
            let name = api.name().unwrap_or_default().to_string();
            if !name.starts_with(prefix) {
                continue;
            }
            let tags = tags_of(&api);
            if skip.contains(&name)
                && tags.get(TAG_STACK).is_some_and(|s| s == stack)
                && !declared_seen.contains(&name)
            {
                declared_seen.push(name);
                continue;
            }
            out.push(Listed {
                physical: name.clone(),
                spec: json!({"name": name, "tags": tags, "_id": api.id()}),
            });
        }
        Ok(out)
    }
}

async fn read_stage(aws: &Aws, s: &StageSpec) -> Result<Option<StageSpec>, AwsError> {
    let Some((api_id, _)) = find_api(aws, &s.api, &s.stack).await? else {
        return Ok(None);
    };
    let stage = match aws
        .apigateway
        .get_stage()
        .rest_api_id(&api_id)
        .stage_name(&s.stage)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) => {
            let e = AwsError::from(e);
            return if e.is(NOT_FOUND) {
                Ok(None)
            } else {
                Err(e.context(format!("failed to read stage {}/{}", s.api, s.stage)))
            };
        }
    };
    let all = stage.method_settings().and_then(|m| m.get("*/*"));
    let fingerprint = match stage.deployment_id() {
        Some(deployment) => match aws
            .apigateway
            .get_deployment()
            .rest_api_id(&api_id)
            .deployment_id(deployment)
            .send()
            .await
        {
            Ok(d) => d
                .description()
                .map(|text| text.strip_prefix(DEPLOYED).unwrap_or(text).to_string()),
            Err(e) => {
                let e = AwsError::from(e);
                if !e.is(NOT_FOUND) {
                    return Err(e.context(format!(
                        "failed to read the deployment of stage {}/{}",
                        s.api, s.stage
                    )));
                }
                None
            }
        },
        None => None,
    };
    Ok(Some(StageSpec {
        api: s.api.clone(),
        stage: s.stage.clone(),
        throttling_rate_limit: all.map(|m| m.throttling_rate_limit()),
        throttling_burst_limit: all.map(|m| m.throttling_burst_limit()),
        deployment_fingerprint: fingerprint,
        stack: s.stack.clone(),
        api_id: Some(api_id),
    }))
}

/// A deployment of the API's current definition, its fingerprint in the description. One
/// that an earlier run made for the same definition but never pointed a stage at (it was
/// killed between the two calls) is reused rather than made again.
async fn deploy(aws: &Aws, api_id: &str, s: &StageSpec) -> Result<String, AwsError> {
    let description = format!(
        "{DEPLOYED}{}",
        s.deployment_fingerprint.as_deref().unwrap_or_default()
    );
    if let Some(id) = find_deployment(aws, api_id, &description).await? {
        return Ok(id);
    }
    aws.throttle(Service::ApiGateway).await;
    limits().create_deployment.until_ready().await;
    // No stage name here: the stage is pointed at the deployment separately, so that an
    // existing stage keeps its settings.
    let out = aws
        .apigateway
        .create_deployment()
        .rest_api_id(api_id)
        .description(description)
        .send()
        .await
        .map_err(|e| AwsError::from(e).context(format!("failed to deploy REST API {}", s.api)))?;
    out.id()
        .map(str::to_string)
        .ok_or_else(|| AwsError::msg(format!("the deployment of {} has no ID", s.api)))
}

/// The newest deployment of the API with exactly this description, if any.
async fn find_deployment(
    aws: &Aws,
    api_id: &str,
    description: &str,
) -> Result<Option<String>, AwsError> {
    let mut pages = aws
        .apigateway
        .get_deployments()
        .rest_api_id(api_id)
        .into_paginator()
        .send();
    let mut newest: Option<(Option<aws_smithy_types::DateTime>, String)> = None;
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            AwsError::from(e).context(format!("failed to list the deployments of {api_id}"))
        })?;
        for d in page.items() {
            if d.description() == Some(description) {
                let (Some(id), created) = (d.id(), d.created_date().copied()) else {
                    continue;
                };
                if newest.as_ref().is_none_or(|(at, _)| created > *at) {
                    newest = Some((created, id.to_string()));
                }
            }
        }
    }
    Ok(newest.map(|(_, id)| id))
}

/// Throttling and deployment of a stage, as patch operations against `l`.
fn stage_patches(
    s: &StageSpec,
    l: Option<&StageSpec>,
    deployment: Option<String>,
) -> Vec<PatchOperation> {
    let mut ops = Vec::new();
    if let Some(d) = deployment {
        ops.push(patch(Op::Replace, "/deploymentId", Some(d)));
    }
    if let Some(rate) = s.throttling_rate_limit {
        if l.and_then(|l| l.throttling_rate_limit) != Some(rate) {
            ops.push(patch(
                Op::Replace,
                "/*/*/throttling/rateLimit",
                Some(rate.to_string()),
            ));
        }
    }
    if let Some(burst) = s.throttling_burst_limit {
        if l.and_then(|l| l.throttling_burst_limit) != Some(burst) {
            ops.push(patch(
                Op::Replace,
                "/*/*/throttling/burstLimit",
                Some(burst.to_string()),
            ));
        }
    }
    ops
}

async fn patch_stage(
    aws: &Aws,
    api_id: &str,
    s: &StageSpec,
    ops: Vec<PatchOperation>,
) -> Result<(), AwsError> {
    if ops.is_empty() {
        return Ok(());
    }
    aws.throttle(Service::ApiGateway).await;
    aws.apigateway
        .update_stage()
        .rest_api_id(api_id)
        .stage_name(&s.stage)
        .set_patch_operations(Some(ops))
        .send()
        .await
        .map_err(|e| {
            AwsError::from(e).context(format!("failed to update stage {}/{}", s.api, s.stage))
        })?;
    Ok(())
}

/// A stage of the REST API: throttling, and the deployment of the current definition.
pub struct Stage;

#[async_trait]
impl Provider for Stage {
    async fn read(&self, aws: &Aws, desired: &Resource) -> Result<Option<Value>, AwsError> {
        let s: StageSpec = spec(&desired.spec)?;
        Ok(read_stage(aws, &s)
            .await?
            .map(|l| serde_json::to_value(l).expect("specs serialise")))
    }

    async fn create(&self, aws: &Aws, desired: &Resource) -> Result<(), AwsError> {
        let s: StageSpec = spec(&desired.spec)?;
        if let Some(live) = read_stage(aws, &s).await? {
            return self
                .update(
                    aws,
                    desired,
                    &serde_json::to_value(live).expect("specs serialise"),
                )
                .await;
        }
        let (api_id, _) = find_api(aws, &s.api, &s.stack).await?.ok_or_else(|| {
            AwsError::msg(format!(
                "REST API {} not found: it must exist before its stage",
                s.api
            ))
        })?;
        let deployment = deploy(aws, &api_id, &s).await?;
        aws.throttle(Service::ApiGateway).await;
        let created = aws
            .apigateway
            .create_stage()
            .rest_api_id(&api_id)
            .stage_name(&s.stage)
            .deployment_id(&deployment)
            .send()
            .await;
        let mut deployment_patch = None;
        if let Err(e) = created {
            // A conflict is the stage made by an earlier attempt whose answer was lost (or by
            // another run): point it at this deployment along with the settings.
            let e = AwsError::from(e);
            if !e.is(CONFLICT) {
                return Err(e.context(format!("failed to create stage {}/{}", s.api, s.stage)));
            }
            deployment_patch = Some(deployment);
        }
        patch_stage(aws, &api_id, &s, stage_patches(&s, None, deployment_patch)).await
    }

    async fn update(&self, aws: &Aws, desired: &Resource, live: &Value) -> Result<(), AwsError> {
        let s: StageSpec = spec(&desired.spec)?;
        let l: StageSpec = spec(live)?;
        let api_id = l.api_id.clone().ok_or_else(|| {
            AwsError::msg(format!("stage {}/{} has no known API ID", s.api, s.stage))
        })?;
        // A new deployment only when the definition changed.
        let deployment = if s.deployment_fingerprint != l.deployment_fingerprint {
            Some(deploy(aws, &api_id, &s).await?)
        } else {
            None
        };
        patch_stage(aws, &api_id, &s, stage_patches(&s, Some(&l), deployment)).await
    }

    async fn delete(&self, aws: &Aws, physical: &str, live: &Value) -> Result<(), AwsError> {
        let l: StageSpec = spec(live)?;
        let Some(api_id) = l.api_id else {
            return Ok(());
        };
        aws.throttle(Service::ApiGateway).await;
        if let Err(e) = aws
            .apigateway
            .delete_stage()
            .rest_api_id(&api_id)
            .stage_name(&l.stage)
            .send()
            .await
        {
            let e = AwsError::from(e);
            if !e.is(NOT_FOUND) {
                return Err(e.context(format!("failed to delete stage {physical}")));
            }
        }
        Ok(())
    }

    /// Every stage of the instance's API (a renamed `api.stage` leaves the old one here).
    async fn members(
        &self,
        aws: &Aws,
        parent: &Resource,
        parent_live: &Value,
        _instance: &str,
    ) -> Result<Vec<Listed>, AwsError> {
        let api: RestApiSpec = spec(&parent.spec)?;
        let Some(api_id) = parent_live.get("_id").and_then(Value::as_str) else {
            return Ok(Vec::new());
        };
        let stages = match aws.apigateway.get_stages().rest_api_id(api_id).send().await {
            Ok(out) => out.item,
            Err(e) => {
                let e = AwsError::from(e);
                if e.is(NOT_FOUND) {
                    return Ok(Vec::new());
                }
                return Err(e.context(format!("failed to list the stages of {}", api.name)));
            }
        };
        Ok(stages
            .unwrap_or_default()
            .into_iter()
            .filter_map(|st| st.stage_name)
            .map(|stage| {
                let live = StageSpec {
                    api: api.name.clone(),
                    stage,
                    throttling_rate_limit: None,
                    throttling_burst_limit: None,
                    deployment_fingerprint: None,
                    stack: api.stack.clone(),
                    api_id: Some(api_id.to_string()),
                };
                Listed {
                    physical: live.physical(),
                    spec: serde_json::to_value(&live).expect("specs serialise"),
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_of_paths() {
        assert_eq!(parent_of("/records"), "/");
        assert_eq!(
            parent_of("/invoices/{invoiceNo}/items"),
            "/invoices/{invoiceNo}"
        );
    }
}
