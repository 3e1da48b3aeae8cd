//! The public side: the Cognito user pool, its app client and groups, the REST API with its
//! stage, and the permissions that let the API invoke `ingest` and `query`.

use super::key;
use super::Context;
use crate::config::{Mfa, StackConfig};
use crate::model::apigateway::{AccessLogSpec, AuthorizerSpec, RestApiSpec, RouteSpec, StageSpec};
use crate::model::cognito::{
    AppClientSpec, ClientLifetimes, GroupSpec, PasswordPolicy, TokenValidity, UserPoolSpec,
};
use crate::model::lambda::PermissionSpec;
use crate::model::logs::LogGroupSpec;
use crate::model::waf::WebAclSpec;
use crate::model::{address, Kind, Resource, Tags};
use crate::names::Names;
use std::collections::BTreeMap;

/// Logical name of the user pool.
pub const USERS: &str = "users";
/// Logical name of the REST API.
pub const API: &str = "api";
/// Name of the API's Cognito authorizer.
pub const AUTHORIZER: &str = "cognito";

/// The routes of the API: (method, path, function).
pub const ROUTES: [(&str, &str, &str); 4] = [
    ("POST", "/records", "ingest"),
    ("GET", "/invoices/{invoiceNo}", "query"),
    ("GET", "/invoices/{invoiceNo}/items/{stockCode}", "query"),
    ("GET", "/customers/{customerId}/invoices", "query"),
];

/// Pool, client, groups, API, stage and invoke permissions.
pub fn resources(config: &StackConfig, ctx: &Context, tags: &Tags) -> Vec<Resource> {
    let names = &ctx.names;
    let pool_name = names.resource(USERS);
    let pool_addr = address(Kind::CognitoUserPool, USERS);
    let c = &config.cognito;
    let mfa = match c.mfa {
        Mfa::Off => "OFF",
        Mfa::Optional => "OPTIONAL",
        Mfa::On => "ON",
    };
    let mut out = vec![Resource::new(
        USERS,
        &UserPoolSpec {
            name: pool_name.clone(),
            password: PasswordPolicy {
                min_length: c.password_min_length as i32,
                require_symbols: c.password_require_symbols,
                // No knobs for these (yet): the strong default.
                require_numbers: true,
                require_uppercase: true,
                require_lowercase: true,
            },
            mfa: mfa.into(),
            software_token_mfa: c.mfa != Mfa::Off,
            deletion_protection: if config.protected {
                "ACTIVE"
            } else {
                "INACTIVE"
            }
            .into(),
            username_case_sensitive: false,
            alias_attributes: vec!["email".into()],
            auto_verified_attributes: vec!["email".into()],
            custom_attributes: {
                // The sync stamp of `users sync`, plus what the stack declares.
                let mut a = c.custom_attributes.clone();
                a.push(crate::names::SYNC_ATTRIBUTE_NAME.to_string());
                a.sort();
                a.dedup();
                a
            },
            // No self-registration: users come from `users sync` (AdminCreateUser) only.
            admin_create_user_only: true,
            tags: tags.clone(),
        },
    )];
    let mut flows = vec![
        "ALLOW_USER_PASSWORD_AUTH".to_string(),
        "ALLOW_USER_SRP_AUTH".to_string(),
        "ALLOW_REFRESH_TOKEN_AUTH".to_string(),
    ];
    flows.sort();
    out.push(
        Resource::new(
            "app",
            &AppClientSpec {
                name: names.resource("app"),
                user_pool: pool_name.clone(),
                explicit_auth_flows: flows,
                generate_secret: false,
                prevent_user_existence_errors: "ENABLED".into(),
                enable_token_revocation: true,
                lifetimes: ClientLifetimes {
                    id: TokenValidity::minutes(ID_TOKEN_MINUTES),
                    access: TokenValidity::minutes(ACCESS_TOKEN_MINUTES),
                    refresh: TokenValidity::days(REFRESH_TOKEN_DAYS),
                    auth_session_minutes: AUTH_SESSION_MINUTES,
                },
            },
        )
        .owned_by(&pool_addr),
    );
    for g in &c.groups {
        out.push(
            Resource::new(
                &g.name,
                &GroupSpec {
                    name: g.name.clone(),
                    user_pool: pool_name.clone(),
                    description: g.description.clone(),
                    precedence: g.precedence as i32,
                },
            )
            .owned_by(&pool_addr),
        );
    }

    let api_name = names.resource(API);
    let api_addr = address(Kind::ApigwRestApi, API);
    let routes: BTreeMap<String, RouteSpec> = ROUTES
        .iter()
        .map(|(method, path, function)| {
            (
                format!("{method} {path}"),
                RouteSpec {
                    function: names.resource(function),
                    integration: "AWS_PROXY".into(),
                    authorization: "COGNITO_USER_POOLS".into(),
                    authorizer: AUTHORIZER.into(),
                },
            )
        })
        .collect();
    let api = RestApiSpec {
        name: api_name.clone(),
        endpoint_type: "REGIONAL".into(),
        authorizers: BTreeMap::from([(
            AUTHORIZER.to_string(),
            AuthorizerSpec {
                kind: "COGNITO_USER_POOLS".into(),
                user_pools: vec![pool_name],
                identity_source: "method.request.header.Authorization".into(),
            },
        )]),
        routes,
        tags: tags.clone(),
    };
    let mut invoked: Vec<&str> = ROUTES.iter().map(|(_, _, f)| *f).collect();
    invoked.sort();
    invoked.dedup();
    // The API waits for the user pool (its authorizer names the pool's ARN) but not for the
    // functions: an integration names its function by ARN, which follows from the name, and
    // API Gateway resolves it per request, not when the integration is put (its documented
    // stage-variable URIs name functions that are only known at request time). So the API
    // and the functions are created side by side; each invoke permission waits for both, and
    // the apply ends only after every function exists.
    // With a web ACL, a destroy deletes the API (its stage and the association with it)
    // first: WAF refuses to delete an ACL still associated.
    let acl_addr = address(Kind::WafWebAcl, API);
    let api_after: &[&str] = match config.api.waf_rate_limit {
        Some(_) => &[&pool_addr, &acl_addr],
        None => &[&pool_addr],
    };
    out.push(Resource::new(API, &api).after(api_after));
    let access_log = config.api.access_log_retention_days.map(|_| AccessLogSpec {
        destination_arn: format!(
            "arn:aws:logs:{}:{}:log-group:{}",
            names.region,
            names.account,
            access_log_group(names)
        ),
        format: ACCESS_LOG_FORMAT.into(),
    });
    let mut stage_after = Vec::new();
    if access_log.is_some() {
        stage_after.push(address(Kind::LogGroup, ACCESS_LOGS));
    }
    // A rate limit per IP address in front of the API, and AWS's rule group of request
    // patterns known to be malicious (Log4j and Java deserialization exploits, ...). AWS's
    // common rule set is left out: its body-size rule blocks request bodies over 8 KB, which
    // the ingest route's batches exceed.
    // https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based.html
    // https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-baseline.html
    let web_acl = config.api.waf_rate_limit.map(|limit| WebAclSpec {
        name: api_name.clone(),
        rate_limit: i64::from(limit),
        managed_rule_groups: vec!["AWSManagedRulesKnownBadInputsRuleSet".into()],
        tags: tags.clone(),
    });
    if let Some(acl) = &web_acl {
        out.push(Resource::new(API, acl));
        stage_after.push(address(Kind::WafWebAcl, API));
    }
    out.push(
        Resource::new(
            API,
            &StageSpec {
                api: api_name.clone(),
                stage: config.api.stage.clone(),
                throttling_rate_limit: Some(config.api.throttling_rate_limit),
                throttling_burst_limit: Some(config.api.throttling_burst_limit as i32),
                deployment_fingerprint: Some(api.definition_fingerprint()),
                access_log,
                tracing: config.api.tracing,
                web_acl: web_acl.map(|acl| acl.name),
            },
        )
        .owned_by(&api_addr)
        .after(&stage_after.iter().map(String::as_str).collect::<Vec<_>>()),
    );
    for function in invoked {
        let function_addr = address(Kind::LambdaFunction, function);
        out.push(
            Resource::new(
                function,
                &PermissionSpec {
                    function_name: names.resource(function),
                    statement_id: "apigateway-invoke".into(),
                    action: "lambda:InvokeFunction".into(),
                    principal: "apigateway.amazonaws.com".into(),
                    source_api: api_name.clone(),
                    source_path: "/*/*/*".into(),
                },
            )
            .owned_by(&function_addr)
            .after(&[&api_addr]),
        );
    }
    if let Some(days) = config.api.access_log_retention_days {
        // Under the stack's key where there is one (CloudWatch Logs' own encryption else).
        let keyed = config.kms_key.enabled;
        let key_addr = address(Kind::KmsKey, key::KEY);
        let after: &[&str] = if keyed { &[&key_addr] } else { &[] };
        out.push(
            Resource::new(
                ACCESS_LOGS,
                &LogGroupSpec {
                    name: access_log_group(names),
                    retention_days: Some(days as i32),
                    kms_key: keyed.then(|| key::alias_arn(names)),
                    tags: tags.clone(),
                },
            )
            .after(after),
        );
    }
    out
}

/// The log group of the stage's access logs.
const ACCESS_LOGS: &str = "api-access-logs";

/// The name of the stage's access-log group.
pub fn access_log_group(names: &Names) -> String {
    names.resource(ACCESS_LOGS)
}

/// One JSON line per request: who called what, how it ended and how long the function took.
/// The request ID ties a line to the function's own logs.
/// <https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-variables-for-access-logging.html>
pub const ACCESS_LOG_FORMAT: &str = concat!(
    r#"{"requestId":"$context.requestId","sourceIp":"$context.identity.sourceIp","#,
    r#""requestTime":"$context.requestTime","httpMethod":"$context.httpMethod","#,
    r#""resourcePath":"$context.resourcePath","status":"$context.status","#,
    r#""responseLength":"$context.responseLength","user":"$context.authorizer.claims.sub","#,
    r#""integrationLatency":"$context.integrationLatency"}"#
);

// The app client's token and session lifetimes are fixed secure values, not stack knobs: no
// environment needs others (the producer refreshes its tokens, `stream` signs in again when a
// refresh token expires), and a knob would be one more thing to validate and get wrong. Each
// is inside the range Cognito documents, which `user_pool_and_app_client_are_locked_down` in
// the blueprint tests checks:
// - ID and access tokens: 5 minutes to 1 day, default 1 hour;
//   <https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_TokenValidityUnitsType.html>
// - refresh tokens: 60 minutes to 10 years, default 30 days (same page);
// - AuthSessionValidity: 3 to 15 minutes, default 3.
//   <https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_CreateUserPoolClient.html>

/// Lifetime of the app client's ID tokens, in minutes (Cognito's default hour, made explicit).
pub const ID_TOKEN_MINUTES: i32 = 60;
/// Lifetime of the app client's access tokens, in minutes (Cognito's default hour, explicit).
pub const ACCESS_TOKEN_MINUTES: i32 = 60;
/// Lifetime of the app client's refresh tokens, in days (Cognito's default, explicit).
pub const REFRESH_TOKEN_DAYS: i32 = 30;
/// Minutes a user has to answer each sign-in challenge (Cognito's minimum and default).
pub const AUTH_SESSION_MINUTES: i32 = 3;
