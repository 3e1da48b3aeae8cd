//! Who may call which route of the EcomFlow API: the Cognito groups allowed on each route,
//! checked by the Lambda handlers behind the API (`ingest`, `query`) before any other work.
//!
//! # Why the handlers check
//!
//! The REST API's `COGNITO_USER_POOLS` authorizer only verifies the token (signature,
//! issuer, expiry, client): every user of the pool gets through, whatever their groups.
//! Authorising by group takes either a Lambda authorizer or a check in the handler. This is
//! the handler check, chosen because API Gateway hands the handler the token's claims
//! already verified (`requestContext.authorizer.claims`), so reading `cognito:groups` there
//! needs no second verification, no key download and no extra function on the request path.
//! OAuth scopes on the methods would not do: they need access tokens carrying custom scopes
//! of a resource server, and the `USER_PASSWORD_AUTH` sign-in that producers and analysts
//! use issues access tokens with only `aws.cognito.signin.user.admin` (the API is called
//! with ID tokens). `local serve` builds the same proxy events (`resource`, `httpMethod`, the
//! claims comma-joined), so the same check runs locally and deployed.
//!
//! # `ROUTE_GROUPS`
//!
//! The functions' environment variable ([`ENV_VAR`]), written by the blueprint from the
//! stack's `cognito.groups[].routes`: a compact JSON object from each route key the function
//! serves (`"<METHOD> <resource template>"`, as the REST API names its routes) to the sorted
//! names of the groups whose members may call it, e.g.
//! `{"POST /records":["producers"]}`. A function without it (or with a value that is not
//! such an object) does not start: [`RouteGroups::from_lookup`] is a configuration error.
//!
//! # The decision ([`RouteGroups::decide`], [`Denied::response`])
//!
//! The route is the event's `httpMethod` and `resource`: the template, such as
//! `/invoices/{invoiceNo}`, never the concrete path. The caller's groups are the
//! `cognito:groups` claim ([`parse_groups`]): a comma-separated string as the REST API passes
//! it (`analysts,producers`), or the HTTP API's bracketed, space-separated `[analysts
//! producers]`, or a JSON array. The request is allowed when the caller is in at least one
//! group of its route. Otherwise the answer is `403` with `{"message": "..."}` naming the
//! route and the groups that may call it, and nothing else about the caller. Nothing is
//! allowed by default: a route absent from `ROUTE_GROUPS` (or given no group), an event that
//! names no route, and a caller without groups are all refused.

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_lambda_events::encodings::Body;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The environment variable holding the allowed groups of each route.
pub const ENV_VAR: &str = "ROUTE_GROUPS";

/// The claim holding the caller's groups, in `requestContext.authorizer.claims`.
pub const GROUPS_CLAIM: &str = "cognito:groups";

/// Longest route an answer quotes, in characters (the route comes from the event).
pub const MAX_SHOWN_CHARS: usize = 100;

/// The Cognito groups allowed on each route of one function.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteGroups {
    routes: BTreeMap<String, BTreeSet<String>>,
}

impl RouteGroups {
    /// No route: everything is refused.
    pub fn new() -> RouteGroups {
        RouteGroups::default()
    }

    /// Allows the members of `groups` on `route` (in addition to any groups it already
    /// has). A route given no group is kept, and refuses every caller.
    pub fn allow<S: Into<String>>(
        &mut self,
        route: impl Into<String>,
        groups: impl IntoIterator<Item = S>,
    ) -> &mut RouteGroups {
        self.routes
            .entry(route.into())
            .or_default()
            .extend(groups.into_iter().map(Into::into));
        self
    }

    /// The groups allowed on `route`, if the route is listed.
    pub fn groups(&self, route: &str) -> Option<&BTreeSet<String>> {
        self.routes.get(route)
    }

    /// The listed routes, sorted.
    pub fn routes(&self) -> impl Iterator<Item = &str> {
        self.routes.keys().map(String::as_str)
    }

    /// The value of [`ENV_VAR`]: compact JSON, routes and groups sorted.
    pub fn to_env_value(&self) -> String {
        serde_json::to_string(&self.routes).unwrap_or_else(|_| "{}".into())
    }

    /// Parses a value of [`ENV_VAR`]. Refuses anything but a non-empty JSON object of route
    /// keys (`"<METHOD> /<path>"`) to arrays of group names (non-empty, without `,`).
    pub fn parse(value: &str) -> Result<RouteGroups, String> {
        let map: BTreeMap<String, Vec<String>> = serde_json::from_str(value).map_err(|e| {
            format!("{ENV_VAR} is not a JSON object of route keys to lists of group names ({e})")
        })?;
        if map.is_empty() {
            return Err(format!(
                "{ENV_VAR} names no route, so every request would be refused"
            ));
        }
        let mut out = RouteGroups::new();
        for (route, groups) in map {
            if !is_route_key(&route) {
                return Err(format!(
                    "{ENV_VAR}: {} is not a route key such as \"GET /invoices/{{invoiceNo}}\"",
                    shown(&route)
                ));
            }
            if let Some(bad) = groups.iter().find(|g| !is_group_name(g)) {
                return Err(format!(
                    "{ENV_VAR}: {} (for {route}) is not a group name: it must be non-empty, \
                     without spaces, `,`, `[` or `]`",
                    shown(bad)
                ));
            }
            out.allow(route, groups);
        }
        Ok(out)
    }

    /// Reads [`ENV_VAR`] through `lookup` (e.g. `|k| std::env::var(k).ok()`); unset or empty
    /// is an error, so a function deployed without its access rules never starts.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<RouteGroups, String> {
        let value = lookup(ENV_VAR)
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| {
                format!(
                    "{ENV_VAR} is not set (the Cognito groups allowed on each API route, \
                     which the stack's blueprint declares)"
                )
            })?;
        RouteGroups::parse(&value)
    }

    /// Whether the caller of `req` may call its route.
    pub fn decide(&self, req: &ApiGatewayProxyRequest) -> Result<Allowed, Denied> {
        let Some(route) = route_key(req) else {
            return Err(Denied {
                route: None,
                allowed: Vec::new(),
                reason: Reason::NoRoute,
            });
        };
        let allowed = match self.routes.get(&route) {
            Some(groups) if !groups.is_empty() => groups,
            _ => {
                return Err(Denied {
                    route: Some(route),
                    allowed: Vec::new(),
                    reason: Reason::RouteNotAllowed,
                })
            }
        };
        let caller = caller_groups(req);
        match caller.iter().find(|g| allowed.contains(*g)) {
            Some(group) => Ok(Allowed {
                group: group.clone(),
                route,
            }),
            None => Err(Denied {
                route: Some(route),
                allowed: allowed.iter().cloned().collect(),
                reason: if caller.is_empty() {
                    Reason::NoGroups
                } else {
                    Reason::NotAMember
                },
            }),
        }
    }

    /// What each handler does first: the `403` answer when [`decide`](Self::decide) refuses
    /// the caller, with the refusal logged (route, reason, request ID); `None` when allowed.
    pub fn refusal(&self, req: &ApiGatewayProxyRequest) -> Option<ApiGatewayProxyResponse> {
        let denied = self.decide(req).err()?;
        tracing::warn!(
            route = denied.route.as_deref().unwrap_or(""),
            reason = denied.reason.as_str(),
            request_id = req.request_context.request_id.as_deref().unwrap_or(""),
            "refused: the caller is not allowed on the route"
        );
        Some(denied.response())
    }
}

/// A request the caller may make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowed {
    /// The route key, e.g. `POST /records`.
    pub route: String,
    /// The first of the caller's groups that may call it.
    pub group: String,
}

/// Why a request is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The event has no `resource` (nor `requestContext.resourcePath`).
    NoRoute,
    /// The route is not in `ROUTE_GROUPS`, or no group is allowed on it.
    RouteNotAllowed,
    /// The caller's token names no group (no `cognito:groups` claim, or an empty one).
    NoGroups,
    /// The caller is in groups, none of them allowed on the route.
    NotAMember,
}

impl Reason {
    /// A short name for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::NoRoute => "no_route",
            Reason::RouteNotAllowed => "route_not_allowed",
            Reason::NoGroups => "no_groups",
            Reason::NotAMember => "not_a_member",
        }
    }
}

/// A refused request: its route, the groups that may call it, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    /// The route key, when the event names one.
    pub route: Option<String>,
    /// The groups allowed on the route, sorted (empty when none is).
    pub allowed: Vec<String>,
    /// Why.
    pub reason: Reason,
}

impl Denied {
    /// What the `403` says: the route and who may call it.
    pub fn message(&self) -> String {
        let route = self.route.as_deref().map(shown).unwrap_or_default();
        match self.reason {
            Reason::NoRoute => {
                "forbidden: the request names no API route (httpMethod and resource)".into()
            }
            Reason::RouteNotAllowed => format!("forbidden: no Cognito group may call {route}"),
            Reason::NoGroups | Reason::NotAMember => {
                let (noun, list) = match self.allowed.as_slice() {
                    [one] => ("group", one.clone()),
                    [rest @ .., last] => ("groups", format!("{} or {last}", rest.join(", "))),
                    [] => ("groups", String::new()),
                };
                let caller = match (self.reason, self.allowed.len()) {
                    (Reason::NoGroups, _) => "the caller is in no group",
                    (_, 1) => "the caller is not a member",
                    _ => "the caller is a member of none of them",
                };
                format!(
                    "forbidden: {route} may be called only by members of the Cognito {noun} \
                     {list}; {caller}"
                )
            }
        }
    }

    /// The `403` answer: `{"message": "..."}`, as API Gateway words its own refusals.
    pub fn response(&self) -> ApiGatewayProxyResponse {
        let mut r = ApiGatewayProxyResponse::default();
        r.status_code = 403;
        r.headers.insert(
            "content-type",
            aws_lambda_events::http::HeaderValue::from_static("application/json"),
        );
        r.body = Some(Body::Text(
            serde_json::json!({ "message": self.message() }).to_string(),
        ));
        r
    }
}

/// The route key of a proxy event: `"<httpMethod> <resource>"`, the resource being the
/// route's template (falling back to `requestContext.resourcePath`, the same template).
/// `None` when the event names neither.
pub fn route_key(req: &ApiGatewayProxyRequest) -> Option<String> {
    let resource = [
        req.resource.as_deref(),
        req.request_context.resource_path.as_deref(),
    ]
    .into_iter()
    .flatten()
    .find(|r| !r.is_empty())?;
    Some(format!("{} {resource}", req.http_method))
}

/// The caller's groups: the `cognito:groups` claim of `requestContext.authorizer.claims`
/// ([`parse_groups`]); empty when there are no claims or no such claim.
pub fn caller_groups(req: &ApiGatewayProxyRequest) -> Vec<String> {
    req.request_context
        .authorizer
        .fields
        .get("claims")
        .and_then(|claims| claims.get(GROUPS_CLAIM))
        .map(parse_groups)
        .unwrap_or_default()
}

/// The group names of a `cognito:groups` claim, in each form it arrives in:
///
/// * the REST API (v1 proxy events) passes claims as strings, a list comma-separated:
///   `"analysts,producers"`;
/// * the HTTP API (v2) passes `"[analysts producers]"`;
/// * the token itself, and some tools, hold a JSON array: `["analysts","producers"]` (also
///   accepted as the text of a string).
///
/// Names are trimmed and empty ones dropped. Anything else (a number, an object) names no
/// group.
pub fn parse_groups(claim: &Value) -> Vec<String> {
    match claim {
        Value::Array(items) => clean(items.iter().filter_map(Value::as_str)),
        Value::String(text) => {
            let text = text.trim();
            if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
                if let Ok(list) = serde_json::from_str::<Vec<String>>(text) {
                    return clean(list.iter().map(String::as_str));
                }
                clean(inner.split(|c: char| c.is_whitespace() || c == ','))
            } else {
                clean(text.split(','))
            }
        }
        _ => Vec::new(),
    }
}

fn clean<'a>(names: impl Iterator<Item = &'a str>) -> Vec<String> {
    names
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `"<METHOD> /<path>"`: an upper-case method, one space, a path starting with `/`.
fn is_route_key(route: &str) -> bool {
    match route.split_once(' ') {
        Some((method, path)) => {
            !method.is_empty()
                && method.bytes().all(|b| b.is_ascii_uppercase())
                && path.starts_with('/')
                && !path.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    }
}

/// A name the claim's forms can carry unambiguously.
fn is_group_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, ',' | '[' | ']'))
}

/// Text from an event as a message quotes it: control characters escaped, cut to
/// [`MAX_SHOWN_CHARS`] characters.
fn shown(text: &str) -> String {
    let mut out = String::new();
    for (n, c) in text.chars().enumerate() {
        if n == MAX_SHOWN_CHARS {
            out.push_str(&format!(
                "... ({} more characters)",
                text.chars().count() - n
            ));
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests;
