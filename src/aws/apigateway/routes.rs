//! The route table of a REST API: its resources, methods, Lambda proxy integrations and
//! Cognito authorizers, read into the declared shape and converged to it.

use super::limits::limits;
use super::{no_sdk_retries, patch, APIGW, NOT_FOUND};
use crate::aws::checked::{create_checked, CONFLICT};
use crate::aws::kit::{all_pages, Absent};
use crate::aws::lambda::function_arn;
use crate::aws::{Aws, AwsError, Inputs};
use crate::model::apigateway::{AuthorizerSpec, RestApiSpec, RouteSpec};
use crate::model::Kind;
use aws_sdk_apigateway::types::{Authorizer, AuthorizerType, IntegrationType, Method, Op};
use futures::future::{join_all, BoxFuture};
use std::collections::{BTreeMap, BTreeSet};

/// A live resource: its ID, and its methods by HTTP method.
pub(super) struct LiveResource {
    id: String,
    methods: BTreeMap<String, Method>,
}

/// An API's routes and authorizers as read, with what converging them needs besides.
pub(super) struct Definition {
    /// Authorizers by name, in the declared shape.
    pub authorizers: BTreeMap<String, AuthorizerSpec>,
    /// Routes by `"<METHOD> <path>"`, in the declared shape.
    pub routes: BTreeMap<String, RouteSpec>,
    /// The authorizers as AWS has them.
    live_authorizers: Vec<Authorizer>,
    /// The resources by path.
    resources: BTreeMap<String, LiveResource>,
}

/// The ARN of each user pool the authorizers name. An API has one pool among its
/// dependencies, and its authorizers name that pool; without it, no name has an ARN.
pub(super) fn pool_arns(s: &RestApiSpec, inputs: &Inputs) -> BTreeMap<String, String> {
    let names: BTreeSet<&String> = s.authorizers.values().flat_map(|a| &a.user_pools).collect();
    match inputs.get(Kind::CognitoUserPool, "arn") {
        Some(arn) if names.len() == 1 => names
            .into_iter()
            .map(|n| (n.clone(), arn.to_string()))
            .collect(),
        _ => BTreeMap::new(),
    }
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

/// Every resource of an API by path, methods embedded.
async fn resources(aws: &Aws, api_id: &str) -> Result<BTreeMap<String, LiveResource>, AwsError> {
    let mut out = BTreeMap::new();
    limits().get_resources.until_ready().await;
    let pages = aws.apigateway.get_resources().rest_api_id(api_id);
    let pages = pages.embed("methods").limit(500).into_paginator().send();
    let what = format!("failed to read the resources of REST API {api_id}");
    for page in all_pages(pages, what).await? {
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

/// Every authorizer of an API. GetAuthorizers has no paginator in the SDK: it pages by
/// position.
async fn authorizers(aws: &Aws, api_id: &str) -> Result<Vec<Authorizer>, AwsError> {
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

/// Reads an API's routes and authorizers into the declared shape; a pool ARN in `pools`
/// reads as its name, any other as the raw ARN (so that the diff shows it).
pub(super) async fn read_definition(
    aws: &Aws,
    id: &str,
    pools: &BTreeMap<String, String>,
) -> Result<Definition, AwsError> {
    // The authorizers and the resources are read side by side.
    let (live_authorizers, resources) =
        futures::future::try_join(authorizers(aws, id), resources(aws, id)).await?;
    let mut auth_names = BTreeMap::new();
    let mut auth_specs = BTreeMap::new();
    for a in &live_authorizers {
        let name = a.name().unwrap_or_default().to_string();
        auth_names.insert(a.id().unwrap_or_default().to_string(), name.clone());
        let mut user_pools: Vec<String> = a
            .provider_arns()
            .iter()
            .map(|arn| {
                pools
                    .iter()
                    .find(|(_, known)| *known == arn)
                    .map(|(name, _)| name.clone())
                    .unwrap_or_else(|| arn.clone())
            })
            .collect();
        user_pools.sort();
        auth_specs.insert(
            name,
            AuthorizerSpec {
                kind: a
                    .r#type()
                    .map(|t| t.as_str().to_string())
                    .unwrap_or_default(),
                user_pools,
                identity_source: a.identity_source().unwrap_or_default().to_string(),
            },
        );
    }
    let mut routes = BTreeMap::new();
    for (path, r) in &resources {
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
    Ok(Definition {
        authorizers: auth_specs,
        routes,
        live_authorizers,
        resources,
    })
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

/// The parent path of a resource path (`/` for a top-level one).
fn parent_of(path: &str) -> &str {
    match path.rsplit_once('/') {
        Some(("", _)) | None => "/",
        Some((parent, _)) => parent,
    }
}

/// Converging one API's route table: what every step needs.
pub(super) struct Converge<'a> {
    aws: &'a Aws,
    api_id: &'a str,
    spec: &'a RestApiSpec,
    /// The route table as read before converging.
    live: &'a Definition,
}

impl<'a> Converge<'a> {
    /// Converging `live` (as read from the API `api_id`) to `spec`.
    pub(super) fn new(
        aws: &'a Aws,
        api_id: &'a str,
        spec: &'a RestApiSpec,
        live: &'a Definition,
    ) -> Self {
        Self {
            aws,
            api_id,
            spec,
            live,
        }
    }

    /// The context of a failed call: what was being done, naming the API.
    fn what(&self, what: impl std::fmt::Display) -> String {
        format!("failed to {what} of REST API {}", self.spec.name)
    }

    /// Authorizers, then resources, methods and integrations; then what is not declared
    /// goes: methods, resources (deepest first) and authorizers, in that order, so that
    /// nothing still in use is deleted.
    pub(super) async fn run(&self, pools: &BTreeMap<String, String>) -> Result<(), AwsError> {
        let auth_ids = self.authorizers(pools).await?;
        let needed = needed_paths(self.spec)?;
        let root = self
            .live
            .resources
            .get("/")
            .map(|r| r.id.clone())
            .ok_or_else(|| {
                AwsError::msg(format!("REST API {} has no root resource", self.spec.name))
            })?;
        let tree = RouteTree {
            run: self,
            auth_ids: &auth_ids,
            needed: &needed,
        };
        // Resources made here have no undeclared methods or children: only those read
        // before converging can have any.
        tree.converge("/".to_string(), root).await?;
        self.remove_methods().await?;
        self.remove_resources(&needed).await?;
        self.remove_authorizers(&auth_ids).await
    }

    /// Creates missing authorizers and fixes changed ones (extras go after the methods stop
    /// using them). Returns every authorizer's ID by name.
    async fn authorizers(
        &self,
        pools: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, AwsError> {
        let mut auth_ids: BTreeMap<String, String> = self
            .live
            .live_authorizers
            .iter()
            .map(|a| {
                (
                    a.name().unwrap_or_default().to_string(),
                    a.id().unwrap_or_default().to_string(),
                )
            })
            .collect();
        for (name, want) in &self.spec.authorizers {
            let arns = want
                .user_pools
                .iter()
                .map(|pool| {
                    pools.get(pool).cloned().ok_or_else(|| {
                        AwsError::msg(format!(
                            "user pool {pool} not found: it must exist before REST API {}",
                            self.spec.name
                        ))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            match (auth_ids.get(name), self.live.authorizers.get(name)) {
                (Some(auth_id), Some(have)) if have != want => {
                    self.update_authorizer(name, auth_id, have, want, &arns)
                        .await?;
                }
                (Some(_), _) => {}
                (None, _) => {
                    let created = self.create_authorizer(name, want, &arns).await?;
                    auth_ids.insert(name.clone(), created);
                }
            }
        }
        Ok(auth_ids)
    }

    async fn update_authorizer(
        &self,
        name: &str,
        auth_id: &str,
        have: &AuthorizerSpec,
        want: &AuthorizerSpec,
        arns: &[String],
    ) -> Result<(), AwsError> {
        let current = self
            .live
            .live_authorizers
            .iter()
            .find(|a| a.id() == Some(auth_id))
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
        if ops.is_empty() {
            return Ok(());
        }
        let call = self
            .aws
            .apigateway
            .update_authorizer()
            .rest_api_id(self.api_id)
            .authorizer_id(auth_id)
            .set_patch_operations(Some(ops))
            .send();
        let what = self.what(format_args!("update authorizer {name}"));
        self.aws.mutate(APIGW, what, call).await?;
        Ok(())
    }

    /// A second CreateAuthorizer makes a second authorizer: a lost answer is looked up by
    /// name before any retry.
    async fn create_authorizer(
        &self,
        name: &str,
        want: &AuthorizerSpec,
        arns: &[String],
    ) -> Result<String, AwsError> {
        let (aws, id) = (self.aws, self.api_id);
        create_checked(
            &format!("create authorizer {name} of REST API {}", self.spec.name),
            || async move {
                aws.throttle(APIGW).await;
                let created = aws
                    .apigateway
                    .create_authorizer()
                    .rest_api_id(id)
                    .name(name)
                    .r#type(AuthorizerType::from(want.kind.as_str()))
                    .set_provider_arns(Some(arns.to_vec()))
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
                    .find(|a| a.name() == Some(name))
                    .and_then(|a| a.id().map(str::to_string)))
            },
        )
        .await
    }

    /// Deletes the live methods no route declares.
    async fn remove_methods(&self) -> Result<(), AwsError> {
        for key in self
            .live
            .routes
            .keys()
            .filter(|k| !self.spec.routes.contains_key(*k))
        {
            let (method, path) = route_parts(key)?;
            if let Some(r) = self.live.resources.get(path) {
                self.delete_method(key, method, &r.id).await?;
            }
        }
        Ok(())
    }

    /// DeleteMethod; one already gone (a retry after a lost answer) is fine.
    async fn delete_method(
        &self,
        key: &str,
        method: &str,
        resource_id: &str,
    ) -> Result<(), AwsError> {
        let call = self
            .aws
            .apigateway
            .delete_method()
            .rest_api_id(self.api_id)
            .resource_id(resource_id)
            .http_method(method)
            .send();
        let what = self.what(format_args!("delete method {key}"));
        self.aws.mutate(APIGW, what, call).await.tolerate(NOT_FOUND)
    }

    /// Deletes the live resources no route needs, deepest first.
    async fn remove_resources(&self, needed: &[String]) -> Result<(), AwsError> {
        let mut extra: Vec<(&String, &LiveResource)> = self
            .live
            .resources
            .iter()
            .filter(|(p, _)| p.as_str() != "/" && !needed.contains(p))
            .collect();
        extra.sort_by_key(|(p, _)| std::cmp::Reverse(p.matches('/').count()));
        for (path, r) in extra {
            limits().delete_resource.until_ready().await;
            let call = self
                .aws
                .apigateway
                .delete_resource()
                .rest_api_id(self.api_id)
                .resource_id(&r.id)
                .send();
            // Deleting a resource deletes its children: they may be gone already.
            let what = self.what(format_args!("delete resource {path}"));
            self.aws
                .mutate(APIGW, what, call)
                .await
                .tolerate(NOT_FOUND)?;
        }
        Ok(())
    }

    /// Deletes the authorizers not declared (no method uses them any more).
    async fn remove_authorizers(
        &self,
        auth_ids: &BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        for (name, auth_id) in auth_ids
            .iter()
            .filter(|(n, _)| !self.spec.authorizers.contains_key(*n))
        {
            let call = self
                .aws
                .apigateway
                .delete_authorizer()
                .rest_api_id(self.api_id)
                .authorizer_id(auth_id)
                .send();
            let what = self.what(format_args!("delete authorizer {name}"));
            self.aws
                .mutate(APIGW, what, call)
                .await
                .tolerate(NOT_FOUND)?;
        }
        Ok(())
    }
}

/// The resources, methods and integrations of a [`Converge`], walked from the root.
struct RouteTree<'a> {
    run: &'a Converge<'a>,
    /// Authorizer IDs by name, after the authorizers were converged.
    auth_ids: &'a BTreeMap<String, String>,
    /// Every path the routes need, parents first.
    needed: &'a [String],
}

impl<'a> RouteTree<'a> {
    /// Converges the routes on `path` (whose resource is `resource_id`) and, concurrently,
    /// the subtree of each of its children, every child after its parent exists.
    fn converge(
        &'a self,
        path: String,
        resource_id: String,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        Box::pin(async move {
            let routes = self.run.spec.routes.keys().filter(|key| {
                route_parts(key).is_ok_and(|(_, p)| p == path || (p.is_empty() && path == "/"))
            });
            let routes = join_all(routes.map(|key| self.route(key, &resource_id)));
            let children = self.needed.iter().filter(|p| parent_of(p) == path);
            let children = join_all(children.map(|child| async {
                let child_id = match self.run.live.resources.get(child) {
                    Some(r) => r.id.clone(),
                    None => self.create_resource(child, &resource_id).await?,
                };
                self.converge(child.clone(), child_id).await
            }));
            let (routes, children) = futures::join!(routes, children);
            routes.into_iter().chain(children).collect()
        })
    }

    /// Creates the resource at `path` under `parent_id`; a create whose answer was lost is
    /// found by reading the API's resources back, never made twice.
    async fn create_resource(&self, path: &str, parent_id: &str) -> Result<String, AwsError> {
        let (_, part) = path.rsplit_once('/').unwrap_or(("", path));
        let (aws, api_id) = (self.run.aws, self.run.api_id);
        let what = format!("create resource {path} of REST API {}", self.run.spec.name);
        create_checked(
            &what,
            || async move {
                aws.throttle(APIGW).await;
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

    /// The ID of the authorizer a route names, if any.
    fn authorizer_id(&self, key: &str, want: &RouteSpec) -> Result<Option<String>, AwsError> {
        if want.authorizer.is_empty() {
            return Ok(None);
        }
        self.auth_ids
            .get(&want.authorizer)
            .cloned()
            .map(Some)
            .ok_or_else(|| {
                AwsError::msg(format!(
                    "route {key} of REST API {} names an undeclared authorizer {}",
                    self.run.spec.name, want.authorizer
                ))
            })
    }

    /// Converges one route (`"METHOD /path"`) on its resource: the method with its
    /// authorization, then its Lambda proxy integration.
    async fn route(&self, key: &str, resource_id: &str) -> Result<(), AwsError> {
        let want = &self.run.spec.routes[key];
        let (method, _) = route_parts(key)?;
        let have = self.run.live.routes.get(key);
        let auth_differs = have.is_some_and(|h| {
            h.authorization != want.authorization || h.authorizer != want.authorizer
        });
        let authorizer_id = self.authorizer_id(key, want)?;
        if auth_differs {
            // PutMethod refuses an existing method: take it down and put it back.
            self.run.delete_method(key, method, resource_id).await?;
        }
        if have.is_none() || auth_differs {
            self.put_method(key, resource_id, want, &authorizer_id)
                .await?;
        }
        let integration_differs = have.is_none_or(|h| {
            auth_differs || h.function != want.function || h.integration != want.integration
        });
        if integration_differs {
            self.put_integration(key, resource_id, want).await?;
        }
        Ok(())
    }

    async fn put_method(
        &self,
        key: &str,
        resource_id: &str,
        want: &RouteSpec,
        authorizer_id: &Option<String>,
    ) -> Result<(), AwsError> {
        let (method, _) = route_parts(key)?;
        let call = self
            .run
            .aws
            .apigateway
            .put_method()
            .rest_api_id(self.run.api_id)
            .resource_id(resource_id)
            .http_method(method)
            .authorization_type(&want.authorization)
            .set_authorizer_id(authorizer_id.clone())
            .send();
        let what = self.run.what(format_args!("put method {key}"));
        match self.run.aws.mutate(APIGW, what, call).await {
            Ok(_) => Ok(()),
            // A conflict is the method already there: the answer to an earlier attempt of
            // this very call was lost. Fine if it is the method wanted.
            Err(e) if e.is(CONFLICT) => {
                match self
                    .method_is(resource_id, method, want, authorizer_id)
                    .await?
                {
                    true => Ok(()),
                    false => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// PutIntegration replaces: repeating it is harmless.
    async fn put_integration(
        &self,
        key: &str,
        resource_id: &str,
        want: &RouteSpec,
    ) -> Result<(), AwsError> {
        let (method, _) = route_parts(key)?;
        let aws = self.run.aws;
        let call = aws
            .apigateway
            .put_integration()
            .rest_api_id(self.run.api_id)
            .resource_id(resource_id)
            .http_method(method)
            .r#type(IntegrationType::from(want.integration.as_str()))
            // Lambda is always invoked with POST, whatever the route's method.
            .integration_http_method("POST")
            .uri(invocation_uri(aws, &want.function))
            .send();
        let what = self.run.what(format_args!("put the integration of {key}"));
        aws.mutate(APIGW, what, call).await?;
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
            .run
            .aws
            .apigateway
            .get_method()
            .rest_api_id(self.run.api_id)
            .resource_id(resource_id)
            .http_method(method)
            .send()
            .await
            .map_err(|e| {
                AwsError::from(e).context(
                    self.run
                        .what(format_args!("read method {method} {resource_id}")),
                )
            })?;
        Ok(
            live.authorization_type() == Some(want.authorization.as_str())
                && live.authorizer_id().map(str::to_string) == *authorizer_id,
        )
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
