//! The user pool with its app client and groups, the REST API (its resources, methods and
//! authorizers), its stage with the deployment it serves, and the web ACL in front of it.

use super::{logical_id, tag_list, typed, CfnResource, Mapped, Scope};
use crate::model::apigateway::{RestApiSpec, StageSpec};
use crate::model::cognito::{AppClientSpec, GroupSpec, UserPoolSpec};
use crate::model::waf::{WebAclSpec, RATE_RULE};
use crate::model::{Kind, Resource};
use serde_json::{json, Value};
use std::collections::BTreeSet;

pub(super) fn map(r: &Resource, scope: &Scope) -> Mapped {
    let logical = logical_id(&r.address());
    let made = match r.kind {
        Kind::CognitoUserPool => vec![user_pool(logical, &typed(r))],
        Kind::CognitoAppClient => {
            let c: AppClientSpec = typed(r);
            let l = &c.lifetimes;
            vec![CfnResource::new(
                logical,
                "AWS::Cognito::UserPoolClient",
                json!({
                    "ClientName": c.name,
                    "UserPoolId": scope.reference(Kind::CognitoUserPool, &c.user_pool, &c.user_pool),
                    "ExplicitAuthFlows": c.explicit_auth_flows,
                    "GenerateSecret": c.generate_secret,
                    "PreventUserExistenceErrors": c.prevent_user_existence_errors,
                    "EnableTokenRevocation": c.enable_token_revocation,
                    "IdTokenValidity": l.id.value,
                    "AccessTokenValidity": l.access.value,
                    "RefreshTokenValidity": l.refresh.value,
                    "TokenValidityUnits": {
                        "IdToken": l.id.unit,
                        "AccessToken": l.access.unit,
                        "RefreshToken": l.refresh.unit,
                    },
                    "AuthSessionValidity": l.auth_session_minutes,
                }),
            )]
        }
        Kind::CognitoGroup => {
            let g: GroupSpec = typed(r);
            vec![CfnResource::new(
                logical,
                "AWS::Cognito::UserPoolGroup",
                json!({
                    "GroupName": g.name,
                    "UserPoolId": scope.reference(Kind::CognitoUserPool, &g.user_pool, &g.user_pool),
                    "Description": g.description,
                    "Precedence": g.precedence,
                }),
            )]
        }
        Kind::ApigwRestApi => rest_api(&logical, &typed(r), scope),
        Kind::ApigwStage => stage(&logical, &typed(r), scope),
        Kind::WafWebAcl => {
            let a: WebAclSpec = typed(r);
            let mut rules = vec![json!({
                "Name": RATE_RULE,
                "Priority": 0,
                "Statement": { "RateBasedStatement": { "Limit": a.rate_limit, "AggregateKeyType": "IP" } },
                "Action": { "Block": {} },
                "VisibilityConfig": visibility(RATE_RULE),
            })];
            for (i, group) in a.managed_rule_groups.iter().enumerate() {
                rules.push(json!({
                    "Name": group,
                    "Priority": i + 1,
                    "Statement": { "ManagedRuleGroupStatement": { "VendorName": "AWS", "Name": group } },
                    "OverrideAction": { "None": {} },
                    "VisibilityConfig": visibility(group),
                }));
            }
            vec![CfnResource::new(
                logical,
                "AWS::WAFv2::WebACL",
                json!({
                    "Name": a.name,
                    "Scope": "REGIONAL",
                    "DefaultAction": { "Allow": {} },
                    "VisibilityConfig": visibility(&a.name),
                    "Rules": rules,
                    "Tags": tag_list(&a.tags),
                }),
            )]
        }
        other => unreachable!("{other} is not an API kind"),
    };
    Mapped::Resources(made)
}

fn user_pool(logical: String, p: &UserPoolSpec) -> CfnResource {
    let mut props = json!({
        "UserPoolName": p.name,
        "Policies": { "PasswordPolicy": {
            "MinimumLength": p.password.min_length,
            "RequireSymbols": p.password.require_symbols,
            "RequireNumbers": p.password.require_numbers,
            "RequireUppercase": p.password.require_uppercase,
            "RequireLowercase": p.password.require_lowercase,
        }},
        "MfaConfiguration": p.mfa,
        "DeletionProtection": p.deletion_protection,
        "UsernameConfiguration": { "CaseSensitive": p.username_case_sensitive },
        "AdminCreateUserConfig": { "AllowAdminCreateUserOnly": p.admin_create_user_only },
        "UserPoolTags": p.tags,
    });
    if p.software_token_mfa {
        props["EnabledMfas"] = json!(["SOFTWARE_TOKEN_MFA"]);
    }
    if !p.alias_attributes.is_empty() {
        props["AliasAttributes"] = json!(p.alias_attributes);
    }
    if !p.auto_verified_attributes.is_empty() {
        props["AutoVerifiedAttributes"] = json!(p.auto_verified_attributes);
    }
    if !p.custom_attributes.is_empty() {
        props["Schema"] = Value::Array(
            p.custom_attributes
                .iter()
                .map(|name| json!({ "Name": name, "AttributeDataType": "String", "Mutable": true }))
                .collect(),
        );
    }
    CfnResource::new(logical, "AWS::Cognito::UserPool", props)
}

/// The API, its authorizers, a resource per path segment and a method per route.
fn rest_api(logical: &str, api: &RestApiSpec, scope: &Scope) -> Vec<CfnResource> {
    let id = json!({ "Ref": logical });
    let mut out = vec![CfnResource::new(
        logical,
        "AWS::ApiGateway::RestApi",
        json!({
            "Name": api.name,
            "EndpointConfiguration": { "Types": [api.endpoint_type] },
            "Tags": tag_list(&api.tags),
        }),
    )];
    for (name, a) in &api.authorizers {
        let pools: Vec<Value> = a
            .user_pools
            .iter()
            .map(|pool| scope.attribute(Kind::CognitoUserPool, pool, "Arn", pool))
            .collect();
        out.push(CfnResource::new(
            format!("{logical}Authorizer{}", logical_id(name)),
            "AWS::ApiGateway::Authorizer",
            json!({
                "Name": name,
                "RestApiId": id,
                "Type": a.kind,
                "ProviderARNs": pools,
                "IdentitySource": a.identity_source,
            }),
        ));
    }
    let mut paths = BTreeSet::new();
    for (route, r) in &api.routes {
        let (method, path) = route.split_once(' ').unwrap_or((route, "/"));
        // Every prefix of the path is a resource of its own, under its parent.
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        for depth in 1..=segments.len() {
            let prefix = format!("/{}", segments[..depth].join("/"));
            if !paths.insert(prefix.clone()) {
                continue;
            }
            let parent = if depth == 1 {
                json!({ "Fn::GetAtt": [logical, "RootResourceId"] })
            } else {
                json!({ "Ref": resource_logical(logical, &format!("/{}", segments[..depth - 1].join("/"))) })
            };
            out.push(CfnResource::new(
                resource_logical(logical, &prefix),
                "AWS::ApiGateway::Resource",
                json!({ "RestApiId": id, "ParentId": parent, "PathPart": segments[depth - 1] }),
            ));
        }
        // The function's ARN, written as a reference by the substitution that follows.
        let names = scope.names();
        let function_arn = format!(
            "arn:aws:lambda:{}:{}:function:{}",
            names.region, names.account, r.function
        );
        let mut method_props = json!({
            "RestApiId": id,
            "ResourceId": { "Ref": resource_logical(logical, path) },
            "HttpMethod": method,
            "AuthorizationType": r.authorization,
            "Integration": {
                "Type": r.integration,
                "IntegrationHttpMethod": "POST",
                "Uri": format!(
                    "arn:aws:apigateway:{}:lambda:path/2015-03-31/functions/{function_arn}/invocations",
                    names.region
                ),
            },
        });
        if !r.authorizer.is_empty() {
            method_props["AuthorizerId"] =
                json!({ "Ref": format!("{logical}Authorizer{}", logical_id(&r.authorizer)) });
        }
        out.push(CfnResource::new(
            method_logical(logical, route),
            "AWS::ApiGateway::Method",
            method_props,
        ));
    }
    out
}

fn resource_logical(api: &str, path: &str) -> String {
    format!("{api}Resource{}", logical_id(path))
}

fn method_logical(api: &str, route: &str) -> String {
    format!("{api}Method{}", logical_id(route))
}

/// The stage, the deployment it serves (named after the definition's fingerprint, so a
/// changed API is deployed anew), and its association with the web ACL.
fn stage(logical: &str, s: &StageSpec, scope: &Scope) -> Vec<CfnResource> {
    let Some(api) = scope.logical_of(Kind::ApigwRestApi, &s.api) else {
        return Vec::new();
    };
    let fingerprint = s.deployment_fingerprint.clone().unwrap_or_default();
    let deployment_logical = format!(
        "{logical}Deployment{}",
        logical_id(&fingerprint.chars().take(12).collect::<String>())
    );
    let mut deployment = CfnResource::new(
        deployment_logical.clone(),
        "AWS::ApiGateway::Deployment",
        json!({ "RestApiId": { "Ref": api }, "Description": fingerprint }),
    );
    // A deployment freezes the methods there are when it is made.
    if let Some(spec) = scope.spec_of::<RestApiSpec>(Kind::ApigwRestApi, &s.api) {
        for route in spec.routes.keys() {
            deployment = deployment.after(&method_logical(&api, route));
        }
    }
    let mut settings = json!({ "ResourcePath": "/*", "HttpMethod": "*" });
    if let Some(rate) = s.throttling_rate_limit {
        settings["ThrottlingRateLimit"] = json!(rate);
    }
    if let Some(burst) = s.throttling_burst_limit {
        settings["ThrottlingBurstLimit"] = json!(burst);
    }
    let mut props = json!({
        "RestApiId": { "Ref": api },
        "StageName": s.stage,
        "DeploymentId": { "Ref": deployment_logical },
        "MethodSettings": [settings],
        "TracingEnabled": s.tracing,
    });
    if let Some(log) = &s.access_log {
        props["AccessLogSetting"] =
            json!({ "DestinationArn": log.destination_arn, "Format": log.format });
    }
    let mut out = vec![
        deployment,
        CfnResource::new(logical, "AWS::ApiGateway::Stage", props),
    ];
    if let Some(acl) = &s.web_acl {
        out.push(CfnResource::new(
            format!("{logical}WebAcl"),
            "AWS::WAFv2::WebACLAssociation",
            json!({
                "ResourceArn": { "Fn::Sub": format!(
                    "arn:aws:apigateway:${{AWS::Region}}::/restapis/${{{api}}}/stages/${{{logical}}}"
                )},
                "WebACLArn": scope.attribute(Kind::WafWebAcl, acl, "Arn", acl),
            }),
        ));
    }
    out
}

fn visibility(metric: &str) -> Value {
    json!({
        "SampledRequestsEnabled": true,
        "CloudWatchMetricsEnabled": true,
        "MetricName": metric,
    })
}

/// What the API's side needs that no declared resource holds: the pool's users, and the
/// account's CloudWatch role for stage logs. As (what it is for, what, what to run instead).
pub(super) fn outside_the_blueprint(scope: &Scope) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for r in &scope.blueprint.resources {
        if r.kind == Kind::CognitoUserPool {
            out.push((
                r.address(),
                format!(
                    "the users and groups of the pool {} (cognito-users.yaml)",
                    r.physical
                ),
                "ecomflow-infra users sync --users cognito-users.yaml".to_string(),
            ));
        }
        let logged = r.kind == Kind::ApigwStage
            && r.typed::<StageSpec>().is_ok_and(|s| s.access_log.is_some());
        if logged {
            let role =
                crate::model::apigateway::account_logging_role(crate::names::PLACEHOLDER_ACCOUNT);
            out.push((
                r.address(),
                format!(
                    "API Gateway's account-wide CloudWatch role, which stage access logs need (one per account and Region, shared by its stacks: a stack must not own it): the role {} with the permissions of AmazonAPIGatewayPushToCloudWatchLogs",
                    role.name
                ),
                "ecomflow-infra apply sets it where none is set; or: aws apigateway update-account --patch-operations op=replace,path=/cloudwatchRoleArn,value=<the role's ARN>".to_string(),
            ));
        }
    }
    out
}
