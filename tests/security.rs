//! Security properties of the blueprint of every stack file in `stacks/` (dev, ci, prod and
//! local, each built as itself and as an ephemeral `--instance` copy), checked without AWS.
//!
//! What it proves:
//! - **IAM.** No Allow statement has a wildcard action (`*`, `s3:*`, `s3:Get*`) or a
//!   `NotAction`/`NotResource`/`NotPrincipal`. Every ARN an Allow statement names (and every ARN
//!   or `s3://` URL anywhere in any spec) is one of this instance's own resources, named exactly,
//!   in this account and region; the only exceptions are in [`EXCEPTIONS`], each with the reason
//!   AWS imposes it, and each must still be in use. Trust policies let exactly one AWS service
//!   assume the role, only for this account's resources (`aws:SourceAccount`); the topic
//!   policy admits one service, pinned to this instance's bucket and account; the Lambda
//!   permissions admit API Gateway from this instance's API only.
//! - **API.** Every route requires the `COGNITO_USER_POOLS` authorizer, and the authorizer is
//!   backed by this instance's user pool.
//! - **Buckets.** Public access blocked (all four switches), encrypted at rest, and TLS-only (a
//!   Deny of `s3:*` when `aws:SecureTransport` is false), except in `local.yaml`, which says why.
//! - **Data stores.** Stream, tables, topic and delivery stream are encrypted; the Redshift
//!   cluster (dev and prod) is encrypted, not publicly accessible, and declares no password.
//! - **Secrets.** No spec field that looks secret escapes `KindInfo::secret`; the plan of every
//!   stack against an empty account, and its destroy plan, rendered as text and JSON, show no
//!   secret field's value; credentials handed to the binary never appear in anything it prints
//!   or saves, even at `-vv` (against the emulator).
//!
//! The checks return violations instead of asserting inline, so that
//! `every_check_catches_its_violation` can break each rule in a copy of a real blueprint and
//! show the check notices: no assertion here can pass vacuously.
//!
//! Not repeated here: that `destroy` never touches a resource without this instance's ownership
//! tag is proven against the emulator by `a_foreign_bucket_with_our_name_is_refused` in
//! `tests/engine.rs` (a foreign bucket carrying the lake's name is refused by plan and apply,
//! stays untagged, and survives destroy with a "left alone" warning).

mod support;

use ecomflow_infra::blueprint::{self, Blueprint, Context, LambdaCode, FUNCTIONS};
use ecomflow_infra::config::{self, StackConfig};
use ecomflow_infra::model::apigateway::RestApiSpec;
use ecomflow_infra::model::iam::RoleSpec;
use ecomflow_infra::model::lambda::PermissionSpec;
use ecomflow_infra::model::{Kind, Resource};
use ecomflow_infra::names::{instance_name, Names};
use ecomflow_infra::plan::{self, LiveResource, LiveState, Ownership};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The account the blueprints are built for.
const ACCOUNT: &str = "123456789012";
/// The stack files under `stacks/`.
const STACK_FILES: [&str; 4] = ["dev", "ci", "prod", "local"];
/// The suffix of the ephemeral copy of each stack. A policy scoped to `<app>-<env>*` would reach
/// the copies too; building a copy makes such a prefix visible to the exact-name checks.
const SUFFIX: &str = "sec-7";

/// An ARN that names no resource of the instance, yet must be granted.
struct Exception {
    /// The one action service it is granted for (`glue`, `logs`).
    service: &'static str,
    /// The exact ARN, for an instance's names.
    arn: fn(&Names) -> String,
}

/// Every ARN an Allow statement may name although it is not one of the instance's resources.
/// There is no `*` resource among them: no statement of the pipeline uses an action without
/// resource-level permissions. Should one ever be needed (say `cloudwatch:PutMetricData`, which
/// only accepts `*`), add it here with the reason, scoped to that one service.
const EXCEPTIONS: &[Exception] = &[
    // Glue authorises every Data Catalog call on a table against the catalog as well as the
    // database and the table ("Specifying AWS Glue resource ARNs", AWS Glue developer guide:
    // GetTable needs the catalog, database and table ARNs). The catalog is one per account and
    // region and has no name; only `glue:` actions may use it.
    Exception {
        service: "glue",
        arn: |n| format!("arn:aws:glue:{}:{}:catalog", n.region, n.account),
    },
    // Glue crawlers and jobs write to fixed, account-wide log groups (crawlers to
    // `/aws-glue/crawlers`, jobs to `/aws-glue/jobs/{output,error}` and, with continuous
    // logging, `/aws-glue/jobs/logs-v2`); only a Glue security configuration could move them.
    Exception {
        service: "logs",
        arn: |n| glue_log_group(n, "crawlers"),
    },
    Exception {
        service: "logs",
        arn: |n| glue_log_group(n, "jobs/output"),
    },
    Exception {
        service: "logs",
        arn: |n| glue_log_group(n, "jobs/error"),
    },
    Exception {
        service: "logs",
        arn: |n| glue_log_group(n, "jobs/logs-v2"),
    },
    // The lake's bucket policy lets Redshift manage the bucket's notifications on behalf of an
    // S3 event integration, which Redshift names `integration:<uuid>` when it creates it, and
    // it validates the policy during that create: the policy cannot name the one integration,
    // so it names this account's, as AWS documents ("Prerequisites to creating an S3 event
    // integration", Amazon Redshift database developer guide). Only as the `aws:SourceArn` of
    // the bucket policy's Redshift statement; the statement pins `aws:SourceAccount` too.
    Exception {
        service: "s3",
        arn: |n| format!("arn:aws:redshift:{}:{}:integration:*", n.region, n.account),
    },
];

fn glue_log_group(n: &Names, group: &str) -> String {
    format!(
        "arn:aws:logs:{}:{}:log-group:/aws-glue/{group}:*",
        n.region, n.account
    )
}

/// One stack file built into a blueprint.
#[derive(Clone)]
struct Stack {
    /// e.g. `dev.yaml` or `dev.yaml --instance sec-7`.
    label: String,
    /// The file name, e.g. `local.yaml`.
    file: String,
    config: StackConfig,
    bp: Blueprint,
}

fn stack_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("stacks")
        .join(format!("{name}.yaml"))
}

fn build(name: &str, suffix: Option<&str>) -> Stack {
    build_with(name, suffix, "")
}

/// [`build`] with `extra` YAML appended to the stack file (knobs it leaves off).
fn build_with(name: &str, suffix: Option<&str>, extra: &str) -> Stack {
    let text = std::fs::read_to_string(stack_path(name)).unwrap() + extra;
    let config =
        config::load_str(&format!("{name}.yaml"), &text, suffix).unwrap_or_else(|e| panic!("{e}"));
    let names = Names::new(
        instance_name(&config.app, &config.env, suffix),
        ACCOUNT,
        config.region.clone(),
    );
    let lambda_code = FUNCTIONS
        .iter()
        .map(|f| {
            let code = LambdaCode {
                zip_path: format!("target/lambda-packages/dev-x86_64/{f}/bootstrap.zip"),
                code_sha256: "c2hhMjU2IG9mIGEgdGVzdCBwYWNrYWdl".into(),
            };
            (f.to_string(), code)
        })
        .collect();
    let bp = blueprint::build(
        &config,
        &Context {
            names,
            expires_at: suffix.map(|_| "2030-01-01T00:00:00Z".to_string()),
            created_at: suffix.map(|_| "2029-12-31T00:00:00Z".to_string()),
            lambda_code,
        },
    );
    Stack {
        label: match suffix {
            Some(s) => format!("{name}.yaml --instance {s}"),
            None => format!("{name}.yaml"),
        },
        file: format!("{name}.yaml"),
        config,
        bp,
    }
}

/// Every stack file, as itself and as an ephemeral copy.
fn stacks() -> Vec<Stack> {
    STACK_FILES
        .iter()
        .flat_map(|name| [build(name, None), build(name, Some(SUFFIX))])
        .collect()
}

fn of_kind(bp: &Blueprint, kind: Kind) -> impl Iterator<Item = &Resource> {
    bp.resources.iter().filter(move |r| r.kind == kind)
}

/// True if `r` waits for a resource of `kind` of this blueprint (whose outputs it then gets).
fn depends_on_own(bp: &Blueprint, r: &Resource, kind: Kind) -> bool {
    r.depends_on
        .iter()
        .any(|d| of_kind(bp, kind).any(|o| o.address() == *d))
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
            .collect(),
        Some(other) => vec![other.to_string()],
        None => Vec::new(),
    }
}

/// What the instance owns, by kind: the only resources its policies may name.
struct Own {
    names: Names,
    buckets: BTreeSet<String>,
    tables: BTreeSet<String>,
    streams: BTreeSet<String>,
    deliveries: BTreeSet<String>,
    topics: BTreeSet<String>,
    functions: BTreeSet<String>,
    databases: BTreeSet<String>,
    /// `<database>/<table>`, as in Glue table ARNs.
    glue_tables: BTreeSet<String>,
    clusters: BTreeSet<String>,
    /// Full role ARNs.
    roles: BTreeSet<String>,
    pools: BTreeSet<String>,
    apis: BTreeSet<String>,
    log_groups: BTreeSet<String>,
    /// KMS key aliases, `alias/<instance>`.
    keys: BTreeSet<String>,
    /// `<role>-<security configuration>`: the log groups a Glue job's encrypted runs write
    /// to are named `/aws-glue/jobs-<role>-<security configuration>...`.
    glue_encrypted_logs: BTreeSet<String>,
}

impl Own {
    fn of(bp: &Blueprint) -> Own {
        let physical =
            |kind| -> BTreeSet<String> { of_kind(bp, kind).map(|r| r.physical.clone()).collect() };
        let roles = of_kind(bp, Kind::IamRole)
            .filter_map(|r| r.typed::<RoleSpec>().ok())
            .map(|s| format!("arn:aws:iam::{}:role{}{}", bp.names.account, s.path, s.name))
            .collect();
        Own {
            names: bp.names.clone(),
            buckets: physical(Kind::S3Bucket),
            tables: physical(Kind::DynamodbTable),
            streams: physical(Kind::KinesisStream),
            deliveries: physical(Kind::FirehoseDeliveryStream),
            topics: physical(Kind::SnsTopic),
            functions: physical(Kind::LambdaFunction),
            databases: physical(Kind::GlueDatabase),
            glue_tables: physical(Kind::GlueTable)
                .iter()
                .map(|t| t.replacen('.', "/", 1))
                .collect(),
            clusters: physical(Kind::RedshiftCluster),
            roles,
            pools: physical(Kind::CognitoUserPool),
            apis: physical(Kind::ApigwRestApi),
            log_groups: physical(Kind::LogGroup),
            keys: physical(Kind::KmsKey),
            glue_encrypted_logs: physical(Kind::IamRole)
                .iter()
                .flat_map(|role| {
                    physical(Kind::GlueSecurityConfiguration)
                        .into_iter()
                        .map(move |sc| format!("{role}-{sc}"))
                })
                .collect(),
        }
    }

    /// `Ok(Some(i))` when `arn` is exception `i`, `Ok(None)` when it names one of the instance's
    /// resources exactly (wildcards only below the name: object keys, log streams, the random
    /// suffix of a secret), else why not.
    fn check_arn(&self, arn: &str) -> Result<Option<usize>, String> {
        let n = &self.names;
        if let Some(i) = EXCEPTIONS.iter().position(|e| (e.arn)(n) == arn) {
            return Ok(Some(i));
        }
        let not_ours = || Err(format!("`{arn}` is not a resource of {}", n.instance));
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let [_, partition, service, region, account, rest] = parts[..] else {
            return not_ours();
        };
        if !arn.starts_with("arn:") || partition != "aws" {
            return not_ours();
        }
        let (want_region, want_account) = match service {
            "s3" => ("", ""),
            "iam" => ("", n.account.as_str()),
            _ => (n.region.as_str(), n.account.as_str()),
        };
        if region != want_region || account != want_account {
            return Err(format!(
                "`{arn}` is outside account {} / region {}",
                n.account, n.region
            ));
        }
        let named = |prefix: &str, set: &BTreeSet<String>| {
            rest.strip_prefix(prefix).is_some_and(|s| set.contains(s))
        };
        let ours = match service {
            "s3" => match rest.split_once('/') {
                Some((bucket, key)) => self.buckets.contains(bucket) && !key.is_empty(),
                None => self.buckets.contains(rest),
            },
            "dynamodb" => rest
                .strip_prefix("table/")
                .map(|t| t.split('/').next().unwrap_or(t))
                .is_some_and(|t| self.tables.contains(t)),
            "kinesis" => named("stream/", &self.streams),
            "firehose" => named("deliverystream/", &self.deliveries),
            "sns" => self.topics.contains(rest),
            "lambda" => named("function:", &self.functions),
            "redshift" => named("cluster:", &self.clusters),
            "glue" => named("database/", &self.databases) || named("table/", &self.glue_tables),
            "logs" => rest.strip_prefix("log-group:").is_some_and(|group| {
                let streams = group.strip_suffix(":*");
                streams.is_some_and(|g| {
                    g.strip_prefix("/aws/lambda/")
                        .is_some_and(|f| self.functions.contains(f))
                        || g.strip_prefix("/aws/kinesisfirehose/")
                            .is_some_and(|d| self.deliveries.contains(d))
                }) || self.log_groups.contains(group)
                    || group
                        .strip_prefix("/aws-glue/jobs-")
                        .and_then(|g| g.strip_suffix('*'))
                        .is_some_and(|g| self.glue_encrypted_logs.contains(g))
            }),
            "kms" => self.keys.contains(rest),
            "iam" => self.roles.contains(arn),
            // Redshift names the secret of its managed master password
            // `redshift!<cluster>-<master user>` plus a random suffix, unknown before the
            // cluster exists: the wildcard may only stand after the cluster's own name.
            "secretsmanager" => rest
                .strip_prefix("secret:redshift!")
                .and_then(|s| s.strip_suffix("-*"))
                .is_some_and(|c| self.clusters.contains(c)),
            _ => false,
        };
        if ours {
            Ok(None)
        } else {
            not_ours()
        }
    }
}

/// Every policy document (an object with a `Statement`) anywhere in a spec, with its path.
fn policies(v: &Value, path: &str, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(map) if map.contains_key("Statement") => {
            out.push((path.to_string(), v.clone()));
        }
        Value::Object(map) => {
            for (k, child) in map {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                policies(child, &p, out);
            }
        }
        Value::Array(list) => {
            for (i, child) in list.iter().enumerate() {
                policies(child, &format!("{path}.{i}"), out);
            }
        }
        _ => {}
    }
}

/// Every string leaf of a spec, with its dotted path.
fn leaves(v: &Value, path: &str, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                leaves(child, &p, out);
            }
        }
        Value::Array(list) => {
            for (i, child) in list.iter().enumerate() {
                leaves(child, &format!("{path}.{i}"), out);
            }
        }
        other => out.push((path.to_string(), other.clone())),
    }
}

/// Counts of what a check looked at, so that a check over nothing fails.
#[derive(Default)]
struct Seen {
    statements: usize,
    arns: usize,
    routes: usize,
    buckets: usize,
    encrypted: usize,
    exceptions_used: BTreeSet<usize>,
}

/// IAM: statements of every policy document, role ARNs, Lambda permissions; every ARN and
/// `s3://` URL anywhere in the blueprint.
fn iam_violations(s: &Stack, seen: &mut Seen) -> Vec<String> {
    let own = Own::of(&s.bp);
    let mut v = BTreeSet::new();
    for r in &s.bp.resources {
        let at = format!("{}: {}", s.label, r.address());
        let mut docs = Vec::new();
        // A key policy follows KMS's own rules (`key_violations`): `*` there is the key.
        if r.kind != Kind::KmsKey {
            policies(&r.spec, "", &mut docs);
        }
        for (path, doc) in &docs {
            let trust = path == "assume_role_policy";
            let list = match doc.get("Statement") {
                Some(Value::Array(list)) if !list.is_empty() => list.clone(),
                _ => {
                    v.insert(format!("{at} {path}: no statements"));
                    continue;
                }
            };
            for st in &list {
                seen.statements += 1;
                let sid = st.get("Sid").and_then(Value::as_str).unwrap_or("");
                let at = format!("{at} {path} `{sid}`");
                for inverted in ["NotAction", "NotResource", "NotPrincipal"] {
                    if st.get(inverted).is_some() {
                        v.insert(format!("{at}: uses {inverted}, which grants by exclusion"));
                    }
                }
                let actions = strings(st.get("Action"));
                if actions.is_empty() {
                    v.insert(format!("{at}: no actions"));
                }
                match st.get("Effect").and_then(Value::as_str) {
                    Some("Allow") => {}
                    // A Deny only takes away: the TLS-only statement denies `s3:*` on purpose.
                    // Its resources must still be ours (it must not reach other buckets).
                    Some("Deny") => {
                        for arn in strings(st.get("Resource")) {
                            if let Err(e) = own.check_arn(&arn) {
                                v.insert(format!("{at}: {e}"));
                            }
                        }
                        continue;
                    }
                    other => {
                        v.insert(format!("{at}: effect {other:?} is neither Allow nor Deny"));
                        continue;
                    }
                }
                for a in &actions {
                    let service = a.split_once(':').map(|(s, _)| s).unwrap_or("");
                    if a.contains('*') || a.contains('?') || service.is_empty() {
                        v.insert(format!("{at}: wildcard action `{a}`"));
                    }
                }
                if trust {
                    if actions != ["sts:AssumeRole"] {
                        v.insert(format!(
                            "{at}: a trust policy may only allow sts:AssumeRole"
                        ));
                    }
                    let services = st
                        .get("Principal")
                        .and_then(|p| p.as_object())
                        .filter(|p| p.len() == 1)
                        .map(|p| strings(p.get("Service")))
                        .unwrap_or_default();
                    if services.len() != 1 || !services[0].ends_with(".amazonaws.com") {
                        v.insert(format!(
                            "{at}: the role must be assumable by exactly one AWS service, not {:?}",
                            st.get("Principal")
                        ));
                    }
                    if st.get("Resource").is_some() {
                        v.insert(format!("{at}: unexpected Resource in a trust policy"));
                    }
                    // The confused-deputy pin (src/blueprint/trust.rs): the service may assume
                    // the role only on behalf of this account's resources, and nothing else
                    // is conditioned (no service here sends aws:SourceArn for it to match).
                    let want = serde_json::json!({
                        "StringEquals": {"aws:SourceAccount": [s.bp.names.account]}
                    });
                    if st.get("Condition") != Some(&want) {
                        v.insert(format!(
                            "{at}: aws:SourceAccount is not pinned to {} alone: {:?}",
                            s.bp.names.account,
                            st.get("Condition")
                        ));
                    }
                    continue;
                }
                let resources = strings(st.get("Resource"));
                if resources.is_empty() {
                    v.insert(format!("{at}: no resources"));
                }
                for arn in &resources {
                    if arn == "*" {
                        v.insert(format!("{at}: `*` resource"));
                        continue;
                    }
                    match own.check_arn(arn) {
                        Err(e) => {
                            v.insert(format!("{at}: {e}"));
                        }
                        Ok(exception) => {
                            let arn_service = arn.split(':').nth(2).unwrap_or("");
                            for a in &actions {
                                let service = a.split(':').next().unwrap_or("");
                                if service != arn_service {
                                    v.insert(format!("{at}: `{a}` granted on `{arn}`"));
                                }
                            }
                            if let Some(i) = exception {
                                for a in &actions {
                                    if !a.starts_with(&format!("{}:", EXCEPTIONS[i].service)) {
                                        v.insert(format!("{at}: exception `{arn}` used for `{a}`"));
                                    }
                                }
                                seen.exceptions_used.insert(i);
                            }
                        }
                    }
                }
                // A resource policy: one AWS service, pinned to our source and account (no
                // confused deputy).
                if let Some(p) = st.get("Principal") {
                    let services = p
                        .as_object()
                        .filter(|p| p.len() == 1)
                        .map(|p| strings(p.get("Service")))
                        .unwrap_or_default();
                    if services.len() != 1 || !services[0].ends_with(".amazonaws.com") {
                        v.insert(format!("{at}: principal {p} is not one AWS service"));
                    }
                    let cond = st.get("Condition").cloned().unwrap_or(Value::Null);
                    let source_arns: Vec<String> = ["ArnLike", "ArnEquals"]
                        .iter()
                        .flat_map(|op| strings(cond.get(op).and_then(|c| c.get("aws:SourceArn"))))
                        .collect();
                    let accounts = strings(
                        cond.get("StringEquals")
                            .and_then(|c| c.get("aws:SourceAccount")),
                    );
                    for a in &source_arns {
                        if let Ok(Some(i)) = own.check_arn(a) {
                            seen.exceptions_used.insert(i);
                        }
                    }
                    if source_arns.is_empty()
                        || source_arns.iter().any(|a| own.check_arn(a).is_err())
                    {
                        v.insert(format!(
                            "{at}: aws:SourceArn is not pinned to our resources"
                        ));
                    }
                    if accounts != [own.names.account.clone()] {
                        v.insert(format!(
                            "{at}: aws:SourceAccount is not pinned to our account"
                        ));
                    }
                }
            }
        }
        // Every ARN and s3:// URL anywhere in the spec refers to the instance's own resources.
        let mut all = Vec::new();
        leaves(&r.spec, "", &mut all);
        for (path, value) in all {
            let Some(text) = value.as_str() else { continue };
            if r.kind == Kind::KmsKey && path.starts_with("policy.") {
                continue; // `key_violations`
            }
            if text.starts_with("arn:") {
                seen.arns += 1;
                if let Err(e) = own.check_arn(text) {
                    v.insert(format!("{at} {path}: {e}"));
                }
            } else if let Some(url) = text.strip_prefix("s3://") {
                let bucket = url.split('/').next().unwrap_or("");
                if !own.buckets.contains(bucket) {
                    v.insert(format!("{at} {path}: `{text}` is not in our bucket"));
                }
            }
        }
        if r.kind == Kind::IamRole {
            match r.typed::<RoleSpec>() {
                Ok(role) if role.path == own.names.iam_path() => {}
                Ok(role) => {
                    v.insert(format!(
                        "{at}: role path {} is not the instance's",
                        role.path
                    ));
                }
                Err(e) => {
                    v.insert(format!("{at}: not a role spec: {e}"));
                }
            }
        }
        if r.kind == Kind::LambdaPermission {
            match r.typed::<PermissionSpec>() {
                Ok(p) => {
                    if p.action != "lambda:InvokeFunction"
                        || p.principal != "apigateway.amazonaws.com"
                    {
                        v.insert(format!(
                            "{at}: grants {} to {}, not lambda:InvokeFunction to API Gateway",
                            p.action, p.principal
                        ));
                    }
                    // The API's ID comes from the dependency the permission waits for.
                    if !own.apis.contains(&p.source_api)
                        || !depends_on_own(&s.bp, r, Kind::ApigwRestApi)
                    {
                        v.insert(format!(
                            "{at}: invocable from API `{}` of {:?}, not ours",
                            p.source_api, r.depends_on
                        ));
                    }
                    if !own.functions.contains(&p.function_name) {
                        v.insert(format!("{at}: function `{}` is not ours", p.function_name));
                    }
                }
                Err(e) => {
                    v.insert(format!("{at}: not a permission spec: {e}"));
                }
            }
        }
    }
    v.into_iter().collect()
}

/// Every route requires the Cognito authorizer, backed by this instance's pool.
fn api_violations(s: &Stack, seen: &mut Seen) -> Vec<String> {
    let own = Own::of(&s.bp);
    let mut v = Vec::new();
    if own.pools.len() != 1 || own.apis.is_empty() {
        v.push(format!(
            "{}: expected one user pool and an API, got {:?} and {:?}",
            s.label, own.pools, own.apis
        ));
    }
    // Access logs, where the stack keeps them, go to the stack's own log group; the web ACL,
    // where the stack declares one, is its own.
    for r in of_kind(&s.bp, Kind::ApigwStage) {
        let acl = r.spec["web_acl"].as_str();
        let own_acl = acl.is_some_and(|a| find(&s.bp, Kind::WafWebAcl, a).is_some());
        if acl.is_some() != own_acl || s.config.api.waf_rate_limit.is_some() != acl.is_some() {
            v.push(format!(
                "{}: {}: web ACL {acl:?} is not the stack's (api.waf_rate_limit {:?})",
                s.label,
                r.address(),
                s.config.api.waf_rate_limit
            ));
        }
        let destination = r.spec["access_log"]["destination_arn"].as_str();
        let group = destination.and_then(|d| d.rsplit(':').next());
        let own_group = group.is_some_and(|g| find(&s.bp, Kind::LogGroup, g).is_some());
        if s.config.api.access_log_retention_days.is_some() && !own_group {
            v.push(format!(
                "{}: {}: access logs go to {destination:?}",
                s.label,
                r.address()
            ));
        }
    }
    for r in of_kind(&s.bp, Kind::ApigwRestApi) {
        let at = format!("{}: {}", s.label, r.address());
        let api: RestApiSpec = match r.typed() {
            Ok(api) => api,
            Err(e) => {
                v.push(format!("{at}: not a REST API spec: {e}"));
                continue;
            }
        };
        // The pools' ARNs come from the dependencies the API waits for.
        if !depends_on_own(&s.bp, r, Kind::CognitoUserPool) {
            v.push(format!("{at}: resolves pools of {:?}", r.depends_on));
        }
        if api.routes.is_empty() {
            v.push(format!("{at}: no routes"));
        }
        for (route, spec) in &api.routes {
            seen.routes += 1;
            if spec.authorization != "COGNITO_USER_POOLS" {
                v.push(format!(
                    "{at} `{route}`: authorization is {}, not COGNITO_USER_POOLS",
                    spec.authorization
                ));
            }
            if !own.functions.contains(&spec.function) {
                v.push(format!(
                    "{at} `{route}`: calls `{}`, not ours",
                    spec.function
                ));
            }
            match api.authorizers.get(&spec.authorizer) {
                None => v.push(format!(
                    "{at} `{route}`: authorizer `{}` is not declared",
                    spec.authorizer
                )),
                Some(a) => {
                    if a.kind != "COGNITO_USER_POOLS" {
                        v.push(format!("{at} `{route}`: authorizer type is {}", a.kind));
                    }
                    if a.user_pools.is_empty()
                        || a.user_pools.iter().any(|p| !own.pools.contains(p))
                    {
                        v.push(format!(
                            "{at} `{route}`: authorizer pools {:?} are not this stack's {:?}",
                            a.user_pools, own.pools
                        ));
                    }
                    if a.identity_source != "method.request.header.Authorization" {
                        v.push(format!(
                            "{at} `{route}`: token read from {}",
                            a.identity_source
                        ));
                    }
                }
            }
        }
    }
    v
}

fn find<'a>(bp: &'a Blueprint, kind: Kind, physical: &str) -> Option<&'a Resource> {
    bp.resources
        .iter()
        .find(|r| r.kind == kind && r.physical == physical)
}

/// Public access blocked, encrypted, TLS-only (except where the stack file says why not).
fn bucket_violations(s: &Stack, seen: &mut Seen) -> Vec<String> {
    let mut v = Vec::new();
    // Only local.yaml may go without the TLS-only policy, because the emulator is reached over
    // plain HTTP, so the policy would refuse every object request; the file must say so.
    let tls_exempt = s.file == "local.yaml";
    if tls_exempt {
        let text = std::fs::read_to_string(stack_path("local")).unwrap();
        if !(text.contains("plain HTTP") && text.contains("TLS-only deny")) {
            v.push(format!(
                "{}: no longer explains why it has no TLS-only policy",
                s.label
            ));
        }
    } else if !s.config.bucket.deny_insecure_transport {
        v.push(format!(
            "{}: bucket.deny_insecure_transport is off",
            s.label
        ));
    }
    for bucket in of_kind(&s.bp, Kind::S3Bucket) {
        seen.buckets += 1;
        let name = &bucket.physical;
        let at = format!("{}: bucket {name}", s.label);
        match find(&s.bp, Kind::S3PublicAccessBlock, name) {
            None => v.push(format!("{at}: no public access block")),
            Some(r) => {
                for switch in [
                    "block_public_acls",
                    "ignore_public_acls",
                    "block_public_policy",
                    "restrict_public_buckets",
                ] {
                    if r.spec.get(switch) != Some(&json!(true)) {
                        v.push(format!("{at}: public access block {switch} is not on"));
                    }
                }
            }
        }
        match find(&s.bp, Kind::S3OwnershipControls, name) {
            None => v.push(format!("{at}: no Object Ownership (ACLs may be on)")),
            Some(r) if r.spec.get("object_ownership") != Some(&json!("BucketOwnerEnforced")) => v
                .push(format!(
                    "{at}: ACLs enabled: Object Ownership is not BucketOwnerEnforced"
                )),
            Some(_) => {}
        }
        match find(&s.bp, Kind::S3Encryption, name) {
            None => v.push(format!("{at}: no default encryption")),
            Some(r) => {
                let algorithm = r.spec.get("algorithm").and_then(Value::as_str);
                if !matches!(algorithm, Some("AES256" | "aws:kms" | "aws:kms:dsse")) {
                    v.push(format!("{at}: encryption algorithm {algorithm:?}"));
                }
            }
        }
        if tls_exempt {
            continue;
        }
        let arn = Names::bucket_arn(name);
        let tls_only = find(&s.bp, Kind::S3BucketPolicy, name)
            .and_then(|r| r.spec.get("policy"))
            .and_then(|p| p.get("Statement"))
            .and_then(Value::as_array)
            .is_some_and(|list| {
                list.iter().any(|st| {
                    st.get("Effect") == Some(&json!("Deny"))
                        && st.get("Principal") == Some(&json!("*"))
                        && strings(st.get("Action")).contains(&"s3:*".to_string())
                        && {
                            let res = strings(st.get("Resource"));
                            res.contains(&arn) && res.contains(&format!("{arn}/*"))
                        }
                        && strings(
                            st.get("Condition")
                                .and_then(|c| c.get("Bool"))
                                .and_then(|b| b.get("aws:SecureTransport")),
                        ) == ["false"]
                })
            });
        if !tls_only {
            v.push(format!(
                "{at}: no Deny of s3:* on the bucket and its objects when aws:SecureTransport is false"
            ));
        }
    }
    v
}

/// Stream, tables, topic, delivery stream and warehouse encrypted; the warehouse private.
fn encryption_violations(s: &Stack, seen: &mut Seen) -> Vec<String> {
    let mut v = Vec::new();
    let set = |spec: &Value, key: &str| {
        spec.get(key)
            .and_then(Value::as_str)
            .is_some_and(|k| !k.is_empty())
    };
    for r in &s.bp.resources {
        let at = format!("{}: {}", s.label, r.address());
        let ok = match r.kind {
            Kind::KinesisStream | Kind::SnsTopic => set(&r.spec, "kms_key"),
            Kind::FirehoseDeliveryStream => set(&r.spec, "encryption"),
            // DynamoDB encrypts every table at rest; the flag only picks the key (the AWS-managed
            // KMS key, or the AWS-owned key when false). A missing flag would be a schema change
            // this test has to look at again.
            Kind::DynamodbTable => {
                // A protected stack's tables resist deletion by anyone, not just this tool; an
                // unprotected stack's need no lifting before a destroy.
                let protection = r.spec.get("deletion_protection");
                if protection != Some(&json!(s.config.protected)) {
                    v.push(format!(
                        "{at}: deletion protection {protection:?} on a stack with protected: {}",
                        s.config.protected
                    ));
                }
                r.spec.get("sse_kms").is_some_and(Value::is_boolean)
            }
            Kind::RedshiftCluster => {
                if r.spec.get("publicly_accessible") != Some(&json!(false)) {
                    v.push(format!("{at}: publicly accessible"));
                }
                // The master password is managed by AWS Secrets Manager: nothing in the spec
                // may carry one.
                let mut all = Vec::new();
                leaves(&r.spec, "", &mut all);
                for (path, _) in all {
                    if path.to_ascii_lowercase().contains("password") {
                        v.push(format!("{at}: declares a password field `{path}`"));
                    }
                }
                // In transit: the cluster's parameter group is the stack's, and requires TLS.
                let group = r.spec.get("parameter_group").and_then(Value::as_str);
                let tls = group
                    .and_then(|g| find(&s.bp, Kind::RedshiftParameterGroup, g))
                    .is_some_and(|g| g.spec["parameters"]["require_ssl"] == json!("true"));
                if !tls {
                    v.push(format!(
                        "{at}: TLS not required (parameter group {group:?})"
                    ));
                }
                let logs = r.spec.get("audit_logs").and_then(Value::as_array);
                if s.config.warehouse.audit_logging && logs.is_none_or(|l| l.len() != 3) {
                    v.push(format!("{at}: audit logs {logs:?}"));
                }
                r.spec.get("encrypted") == Some(&json!(true))
            }
            // What its runs write is encrypted by its security configuration, and their logs
            // stream to CloudWatch.
            Kind::GlueJob => {
                let name = r.spec.get("security_configuration").and_then(Value::as_str);
                let config = name.and_then(|n| find(&s.bp, Kind::GlueSecurityConfiguration, n));
                let logged = &r.spec["default_arguments"]["--enable-continuous-cloudwatch-log"];
                if *logged != json!("true") {
                    v.push(format!("{at}: no continuous logging"));
                }
                // SSE-S3 said explicitly, or nothing said so that the bucket's SSE-KMS applies.
                let s3 = config.map(|c| &c.spec["s3_encryption"]);
                let bucket_kms = s.config.bucket.kms;
                s3 == Some(&json!(if bucket_kms { "DISABLED" } else { "SSE-S3" }))
                    || s3 == Some(&json!("SSE-KMS"))
            }
            // The stack's key is rotated, outlives a destroy by its waiting period, and its
            // policy grants only what `key_violations` allows.
            Kind::KmsKey => {
                v.extend(key_violations(s, r));
                let window = r.spec["_deletion_window_days"].as_i64();
                if r.spec["rotation"] != json!(true)
                    || !window.is_some_and(|d| (7..=30).contains(&d))
                {
                    v.push(format!(
                        "{at}: not rotated, or deleted without a waiting period"
                    ));
                }
                continue;
            }
            _ => continue,
        };
        seen.encrypted += 1;
        if !ok {
            v.push(format!("{at}: not encrypted at rest"));
        }
    }
    let clusters = of_kind(&s.bp, Kind::RedshiftCluster).count();
    if clusters != usize::from(s.config.warehouse.enabled) {
        v.push(format!(
            "{}: {clusters} clusters declared with warehouse.enabled = {}",
            s.label, s.config.warehouse.enabled
        ));
    }
    v
}

/// A key policy: the account administers the key through IAM (the root principal, the only
/// `kms:*`); CloudWatch Logs uses it only for the instance's log groups (by encryption
/// context); otherwise only the instance's own roles, with cryptographic actions.
fn key_violations(s: &Stack, r: &Resource) -> Vec<String> {
    let own = Own::of(&s.bp);
    let at = format!("{}: {}", s.label, r.address());
    let root = json!({"AWS": [format!("arn:aws:iam::{}:root", s.bp.names.account)]});
    let logs = json!({"Service": [format!("logs.{}.amazonaws.com", s.bp.names.region)]});
    let mut v = Vec::new();
    for st in r.spec["policy"]["Statement"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let sid = st["Sid"].as_str().unwrap_or("");
        let actions = strings(st.get("Action"));
        if st["Effect"] != json!("Allow") || strings(st.get("Resource")) != ["*"] {
            v.push(format!("{at} `{sid}`: not an Allow on the key"));
        }
        let principal = &st["Principal"];
        if *principal == root {
            continue;
        }
        if actions
            .iter()
            .any(|a| a == "kms:*" || a.contains("Policy") || a.contains("Delete"))
        {
            v.push(format!("{at} `{sid}`: administers the key"));
        }
        if *principal == logs {
            let context =
                strings(st["Condition"]["ArnLike"].get("kms:EncryptionContext:aws:logs:arn"));
            if context.is_empty() || context.iter().any(|g| own.check_arn(g).is_err()) {
                v.push(format!(
                    "{at} `{sid}`: CloudWatch Logs not held to our log groups"
                ));
            }
            continue;
        }
        let roles = strings(principal.get("AWS"));
        if roles.is_empty() || roles.iter().any(|role| !own.roles.contains(role)) {
            v.push(format!(
                "{at} `{sid}`: principal {principal} is not our roles"
            ));
        }
    }
    v
}

/// Key names that suggest a secret value.
const SECRETISH: [&str; 6] = [
    "password",
    "secret",
    "token",
    "credential",
    "private_key",
    "api_key",
];

fn flagged(kind: Kind, path: &str) -> bool {
    kind.info()
        .secret
        .iter()
        .any(|s| path == *s || path.starts_with(&format!("{s}.")))
}

/// No secret-looking string escapes `KindInfo::secret`, and no secret field's value shows in the
/// plan (create and destroy) rendered as text and JSON.
fn secret_violations(s: &Stack) -> Vec<String> {
    let mut v = Vec::new();
    let mut secrets = Vec::new();
    for r in &s.bp.resources {
        let mut all = Vec::new();
        leaves(&r.spec, "", &mut all);
        for (path, value) in all {
            let key = path.to_ascii_lowercase();
            let Some(text) = value.as_str().filter(|t| !t.is_empty()) else {
                continue;
            };
            if flagged(r.kind, &path) {
                secrets.push((r.address(), path, text.to_string()));
            } else if SECRETISH.iter().any(|w| key.contains(w)) {
                v.push(format!(
                    "{}: {} `{path}` looks secret but is not in KindInfo::secret of {}",
                    s.label,
                    r.address(),
                    r.kind
                ));
            }
        }
    }
    let names = &s.bp.names;
    let create = plan::diff(
        &names.instance,
        &names.account,
        &names.region,
        &s.file,
        &s.bp.resources,
        &LiveState::default(),
    )
    .expect("an empty account has no conflicts");
    // The destroy plan of the same resources, all live and ours: every value shows as "before".
    let live = LiveState {
        declared: s
            .bp
            .resources
            .iter()
            .map(|r| {
                let l = LiveResource {
                    kind: r.kind,
                    physical: r.physical.clone(),
                    spec: r.spec.clone(),
                    outputs: Default::default(),
                    ownership: Ownership::Ours,
                };
                (r.address(), Some(l))
            })
            .collect(),
        ..LiveState::default()
    };
    let (destroy, _) = plan::teardown(
        &names.instance,
        &names.account,
        &names.region,
        &s.file,
        &s.bp.resources,
        &live,
    );
    let outputs = [
        ("plan text", plan::render_text(&create)),
        ("plan JSON", plan::render_json(&create)),
        ("destroy text", plan::render_text(&destroy)),
        ("destroy JSON", plan::render_json(&destroy)),
    ];
    if create.summary.add != s.bp.resources.len() {
        v.push(format!("{}: the plan does not create everything", s.label));
    }
    for (what, out) in &outputs {
        for (address, path, secret) in &secrets {
            if out.contains(secret.as_str()) {
                v.push(format!(
                    "{}: the {what} shows secret {address} `{path}`",
                    s.label
                ));
            }
        }
        for marker in ["AKIA", "ASIA", "-----BEGIN", "aws_secret_access_key"] {
            if out.contains(marker) {
                v.push(format!("{}: the {what} contains `{marker}`", s.label));
            }
        }
    }
    v
}

fn assert_clean(what: &str, violations: &[String]) {
    assert!(
        violations.is_empty(),
        "{what}: {} violations:\n  {}",
        violations.len(),
        violations.join("\n  ")
    );
}

#[test]
fn iam_policies_are_least_privilege_and_scoped_to_the_instance() {
    let mut seen = Seen::default();
    let mut all = Vec::new();
    for s in stacks() {
        all.extend(iam_violations(&s, &mut seen));
    }
    assert_clean("IAM", &all);
    // 6 roles with trust and inline policy in dev/prod, the topic policy, the TLS policy...
    assert!(seen.statements >= 40, "only {} statements", seen.statements);
    assert!(seen.arns >= 40, "only {} ARNs", seen.arns);
    let unused: Vec<String> = (0..EXCEPTIONS.len())
        .filter(|i| !seen.exceptions_used.contains(i))
        .map(|i| (EXCEPTIONS[i].arn)(&Names::new("x", ACCOUNT, "us-east-1")))
        .collect();
    assert!(
        unused.is_empty(),
        "exceptions no statement needs any more (remove them): {unused:?}"
    );
}

#[test]
fn every_api_route_requires_this_stacks_cognito_authorizer() {
    let mut seen = Seen::default();
    let mut all = Vec::new();
    for s in stacks() {
        all.extend(api_violations(&s, &mut seen));
    }
    assert_clean("API", &all);
    assert_eq!(seen.routes, 4 * 2 * STACK_FILES.len(), "4 routes per stack");
}

#[test]
fn buckets_are_private_encrypted_and_tls_only() {
    let mut seen = Seen::default();
    let mut all = Vec::new();
    for s in stacks() {
        all.extend(bucket_violations(&s, &mut seen));
    }
    assert_clean("buckets", &all);
    // A lake per stack, and a bucket of its access logs where the stack keeps them (all but
    // ci.yaml).
    let logged = STACK_FILES.len() - 1;
    assert_eq!(
        seen.buckets,
        2 * (STACK_FILES.len() + logged),
        "the lake and its log bucket"
    );
}

#[test]
fn data_stores_are_encrypted_and_the_warehouse_is_private() {
    let mut seen = Seen::default();
    let mut all = Vec::new();
    let mut clusters = 0;
    for s in stacks() {
        all.extend(encryption_violations(&s, &mut seen));
        clusters += of_kind(&s.bp, Kind::RedshiftCluster).count();
    }
    assert_clean("encryption", &all);
    assert_eq!(
        clusters, 6,
        "dev, prod and local (and their copies) declare the warehouse"
    );
    // Stream, 3 tables, topic, delivery stream and ETL job per stack, plus the clusters.
    assert_eq!(seen.encrypted, 7 * 2 * STACK_FILES.len() + clusters);
}

#[test]
fn no_secret_reaches_plan_output() {
    let mut all = Vec::new();
    for s in stacks() {
        all.extend(secret_violations(&s));
    }
    assert_clean("secrets", &all);
}

/// A synthetic secret access key handed to the binary.
const SECRET_KEY: &str = "canarySecretKey0123456789abcdefCANARY";
/// A synthetic session token handed to the binary.
const SESSION_TOKEN: &str = "canarySessionToken9876543210zyxwvCANARY";
/// The instance the scan applies, syncs and destroys.
const CANARY: &str = "sec-canary";

/// One command of [`credentials_never_reach_the_output`].
struct Step {
    /// Its arguments (`-vv` is added).
    args: Vec<String>,
    /// The exit code it must end with.
    code: i32,
    /// What its stdout or stderr must contain: proof that it did what it should (and that a
    /// failing one failed on its error path, not earlier).
    shows: String,
    /// Where it sends its calls, when not to the emulator.
    endpoint: Option<String>,
    /// Done just before it runs.
    before: Option<fn(&support::Moto)>,
    /// Whether it gets as far as calling an API (and so logs at debug level).
    calls: bool,
}

fn step(args: &[&str], code: i32, shows: &str) -> Step {
    Step {
        args: args.iter().map(|a| a.to_string()).collect(),
        code,
        shows: shows.to_string(),
        endpoint: None,
        before: None,
        calls: true,
    }
}

/// Another run holds the canary's lock (as a killed one would leave it).
fn hold_lock(moto: &support::Moto) {
    use aws_sdk_dynamodb::types::AttributeValue;
    let s = |v: &str| AttributeValue::S(v.into());
    support::proxy_runtime().block_on(async {
        aws_sdk_dynamodb::Client::new(&moto.sdk_config().await)
            .put_item()
            .table_name("ecomflow-infra-locks")
            .item("LockID", s(&format!("ecomflow-dev-{CANARY}")))
            .item("Holder", s("ci@runner-9 pid 999"))
            .item("Since", s("2026-11-25T08:00:00Z"))
            .item("Operation", s("apply"))
            .send()
            .await
            .unwrap();
    });
}

/// Which of `secrets` (named) occur in `text`.
fn leaks<'a>(text: &str, secrets: &'a [(String, String)]) -> Vec<&'a str> {
    secrets
        .iter()
        .filter(|(_, s)| text.contains(s.as_str()))
        .map(|(name, _)| name.as_str())
        .collect()
}

/// Credentials given to the binary (a synthetic secret access key and session token) and the
/// temporary passwords `users sync` makes appear nowhere in what the tool prints, at the most
/// verbose log level, through a whole lifecycle of one instance against the emulator: `plan`
/// (text and JSON, and the saved plan), `apply`, a no-change `plan`, `outputs` (text and JSON),
/// `users sync` (whose passwords go only to its `--passwords-out` file), `destroy`, and three
/// error paths: a stack file with errors, a lock held by another run, an API that hangs up.
#[test]
fn credentials_never_reach_the_output() {
    let moto = support::Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let (saved, users, passwords) = (path("plan.json"), path("users.yaml"), path("pw.csv"));
    std::fs::write(
        &users,
        "groups:\n  - name: analysts\n    description: the analysts\n    precedence: 1\nusers:\n"
            .to_string()
            + &(1..=3)
                .map(|i| {
                    format!(
                        "  - username: canary{i}\n    email: canary{i}@example.com\n    \
                         groups: [analysts]\n    enabled: true\n"
                    )
                })
                .collect::<String>(),
    )
    .unwrap();
    let bad = support::stack_file(dir.path(), "bad.yaml", |s| {
        s.replace("pitr: true", "pitr: sometimes")
    });
    let text = std::fs::read_to_string(&bad).unwrap();
    let pitr_line = 1 + text.lines().position(|l| l.contains("pitr:")).unwrap();
    let bad_pitr = format!("bad.yaml:{pitr_line}:9: tables.pitr");
    let hang_up = support::HangUp::start();
    let stack = format!("ecomflow-dev-{CANARY}");
    let i = ["--instance", CANARY];
    let pw = ["--passwords-out", passwords.as_str()];
    let steps = vec![
        step(&[&["plan", "--out", &saved][..], &i].concat(), 0, &stack),
        step(
            &[&["plan", "--output", "json", "--out", &saved][..], &i].concat(),
            0,
            "\"create\"",
        ),
        step(&[&["apply", "--yes"][..], &i].concat(), 0, "Apply: "),
        step(
            &[&["plan", "--detailed-exitcode"][..], &i].concat(),
            0,
            "No changes.",
        ),
        step(&[&["outputs"][..], &i].concat(), 0, "user pool id"),
        step(
            &[&["outputs", "--output", "json"][..], &i].concat(),
            0,
            "user_pool_id",
        ),
        step(
            &[&["users", "sync", "--yes", "--users", &users][..], &pw, &i].concat(),
            0,
            "Users: 3 created",
        ),
        Step {
            calls: false,
            ..step(
                &[&["apply", "--yes", "-s", bad.to_str().unwrap()][..], &i].concat(),
                1,
                &bad_pitr,
            )
        },
        Step {
            before: Some(hold_lock),
            ..step(
                &[&["apply", "--yes"][..], &i].concat(),
                1,
                "locked by ci@runner-9 pid 999",
            )
        },
        step(&["force-unlock", &stack], 0, "held by ci@runner-9 pid 999"),
        Step {
            endpoint: Some(hang_up.endpoint.clone()),
            ..step(&[&["apply", "--yes"][..], &i].concat(), 1, "error")
        },
        step(&[&["destroy", "--yes"][..], &i].concat(), 0, "Destroy: "),
    ];

    let mut seen = Vec::new();
    for st in &steps {
        if let Some(before) = &st.before {
            before(&moto);
        }
        let mut args = vec!["-vv"];
        args.extend(st.args.iter().map(String::as_str));
        let endpoint = st.endpoint.as_deref().unwrap_or(&moto.endpoint);
        let mut cmd = support::command(endpoint, &args);
        cmd.env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("AWS_SESSION_TOKEN", SESSION_TOKEN)
            // `-vv` alone decides the log level.
            .env_remove("RUST_LOG");
        // The credentials really are in the tool's environment.
        let envs: Vec<_> = cmd.get_envs().collect();
        for (k, v) in [
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
            ("AWS_SESSION_TOKEN", SESSION_TOKEN),
        ] {
            assert!(
                envs.contains(&(k.as_ref(), Some(v.as_ref()))),
                "{k} not set"
            );
        }
        let out = cmd.output().unwrap();
        let r = support::Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        let label = args.join(" ");
        assert_eq!(r.code, st.code, "{label}\n{}\n{}", r.stdout, r.stderr);
        assert!(
            r.stdout.contains(&st.shows) || r.stderr.contains(&st.shows),
            "{label}: wanted `{}` in\n{}\n{}",
            st.shows,
            r.stdout,
            r.stderr
        );
        // At -vv the tool logs at debug level: there is something to leak through.
        if st.calls {
            assert!(
                r.stderr.contains("DEBUG"),
                "{label}: no debug log\n{}",
                r.stderr
            );
        }
        if st.args.contains(&"--out".to_string()) {
            seen.push((
                format!("{label}: the saved plan"),
                std::fs::read_to_string(&saved).unwrap(),
            ));
        }
        seen.push((format!("{label}: stdout"), r.stdout));
        seen.push((format!("{label}: stderr"), r.stderr));
    }

    // The tool signed its calls with these credentials: the token went on the wire (to the
    // endpoint that hung up), in the one header AWS reads it from.
    let heads = hang_up.heads();
    assert!(!heads.is_empty(), "the hang-up endpoint saw no request");
    assert!(
        heads
            .iter()
            .all(|h| h.to_ascii_lowercase().contains(&format!(
                "x-amz-security-token: {}",
                SESSION_TOKEN.to_ascii_lowercase()
            ))),
        "a request without the session token:\n{heads:#?}"
    );

    // Every user got a temporary password, written to the 0600 file only.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&passwords).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let written = std::fs::read_to_string(&passwords).unwrap();
    let mut secrets = vec![
        ("the secret access key".to_string(), SECRET_KEY.to_string()),
        ("the session token".to_string(), SESSION_TOKEN.to_string()),
    ];
    for line in written.lines() {
        let (user, password) = line.split_once(',').unwrap();
        assert!(password.len() >= 16, "{user}: a short password");
        secrets.push((format!("{user}'s temporary password"), password.to_string()));
    }
    assert_eq!(secrets.len(), 2 + 3, "one password per user:\n{written}");
    // The scan finds what is there: the passwords file holds every password.
    assert_eq!(leaks(&written, &secrets).len(), 3);

    let found: Vec<String> = seen
        .iter()
        .flat_map(|(what, text)| {
            leaks(text, &secrets)
                .into_iter()
                .map(move |s| format!("{what} shows {s}"))
        })
        .collect();
    assert!(found.is_empty(), "{}", found.join("\n"));
    assert!(support::leftovers(&moto, CANARY).is_empty());
}

/// A rule broken in a copy of the dev blueprint (which declares every kind, the warehouse
/// included), and the fragment of the violation the checks must then report.
type Break = (&'static str, fn(&mut Blueprint), &'static str);

fn spec_mut<'a>(bp: &'a mut Blueprint, address: &str) -> &'a mut Value {
    &mut bp
        .resources
        .iter_mut()
        .find(|r| r.address() == address)
        .unwrap_or_else(|| panic!("no {address}"))
        .spec
}

/// Adds to the alerts topic's policy an Allow of sns:Publish to `principal`, pinned to this
/// account, and to the lake bucket as its source when `pinned`.
fn topic_grant(bp: &mut Blueprint, principal: Value, pinned: bool) {
    let topic = "arn:aws:sns:us-east-1:123456789012:ecomflow-dev-alerts";
    let mut condition = json!({"StringEquals": {"aws:SourceAccount": ["123456789012"]}});
    if pinned {
        condition["ArnLike"] =
            json!({"aws:SourceArn": ["arn:aws:s3:::ecomflow-dev-lake-123456789012-us-east-1"]});
    }
    spec_mut(bp, "sns_topic.alerts")["policy"]["Statement"]
        .as_array_mut()
        .unwrap()
        .push(json!({
            "Sid": "Grant",
            "Effect": "Allow",
            "Principal": principal,
            "Action": ["sns:Publish"],
            "Resource": [topic],
            "Condition": condition,
        }));
}

fn first_statement<'a>(bp: &'a mut Blueprint, role: &str) -> &'a mut Value {
    let policies = spec_mut(bp, &format!("iam_role.{role}"))
        .get_mut("policies")
        .and_then(Value::as_object_mut)
        .unwrap();
    let doc = policies.values_mut().next().unwrap();
    &mut doc["Statement"][0]
}

const BREAKS: &[Break] = &[
    (
        "a service-wide action",
        |bp| first_statement(bp, "process")["Action"] = json!(["kinesis:*"]),
        "wildcard action `kinesis:*`",
    ),
    (
        "the star action",
        |bp| first_statement(bp, "ingest")["Action"] = json!(["*"]),
        "wildcard action `*`",
    ),
    (
        "a prefix action",
        |bp| first_statement(bp, "query")["Action"] = json!(["dynamodb:Get*"]),
        "wildcard action `dynamodb:Get*`",
    ),
    (
        "the star resource",
        |bp| first_statement(bp, "ingest")["Resource"] = json!(["*"]),
        "`*` resource",
    ),
    (
        "another instance's table",
        |bp| {
            first_statement(bp, "query")["Resource"] =
                json!(["arn:aws:dynamodb:us-east-1:123456789012:table/ecomflow-prod-invoices"])
        },
        "is not a resource of ecomflow-dev",
    ),
    (
        "a name-prefix wildcard",
        |bp| {
            first_statement(bp, "query")["Resource"] =
                json!(["arn:aws:dynamodb:us-east-1:123456789012:table/ecomflow-dev*"])
        },
        "is not a resource of ecomflow-dev",
    ),
    (
        "another account",
        |bp| {
            first_statement(bp, "ingest")["Resource"] =
                json!(["arn:aws:kinesis:us-east-1:999999999999:stream/ecomflow-dev-orders"])
        },
        "is outside account 123456789012",
    ),
    (
        "an action on another service's ARN",
        |bp| first_statement(bp, "ingest")["Action"] = json!(["s3:PutObject"]),
        "`s3:PutObject` granted on",
    ),
    (
        "the Glue catalog exception used for S3",
        |bp| {
            first_statement(bp, "ingest")["Resource"] =
                json!(["arn:aws:glue:us-east-1:123456789012:catalog"])
        },
        "exception `arn:aws:glue:us-east-1:123456789012:catalog` used for `kinesis:PutRecords`",
    ),
    (
        "NotAction",
        |bp| first_statement(bp, "query")["NotAction"] = json!(["iam:*"]),
        "uses NotAction",
    ),
    (
        "a trust policy open to everyone",
        |bp| {
            spec_mut(bp, "iam_role.ingest")["assume_role_policy"]["Statement"][0]["Principal"] =
                json!({"AWS": ["*"]})
        },
        "assumable by exactly one AWS service",
    ),
    (
        "a trust policy without its account pin",
        |bp| {
            let st = &mut spec_mut(bp, "iam_role.glue")["assume_role_policy"]["Statement"][0];
            st.as_object_mut().unwrap().remove("Condition");
        },
        "aws:SourceAccount is not pinned",
    ),
    (
        "a trust policy pinned to another account",
        |bp| {
            spec_mut(bp, "iam_role.process")["assume_role_policy"]["Statement"][0]["Condition"]
                ["StringEquals"]["aws:SourceAccount"] = json!(["999999999999"])
        },
        "aws:SourceAccount is not pinned",
    ),
    (
        "a topic policy grant without its source pin",
        |bp| topic_grant(bp, json!({"Service": ["s3.amazonaws.com"]}), false),
        "aws:SourceArn is not pinned",
    ),
    (
        "a topic policy open to everyone",
        |bp| topic_grant(bp, json!("*"), true),
        "is not one AWS service",
    ),
    (
        "a function running with another instance's role",
        |bp| {
            spec_mut(bp, "lambda_function.query")["role_arn"] = json!(
                "arn:aws:iam::123456789012:role/ecomflow-infra/ecomflow-prod/ecomflow-prod-query"
            )
        },
        "is not a resource of ecomflow-dev",
    ),
    (
        "a Lambda permission for another API",
        |bp| spec_mut(bp, "lambda_permission.ingest")["source_api"] = json!("someone-elses-api"),
        "invocable from API `someone-elses-api`",
    ),
    (
        "a Glue job reading another bucket",
        |bp| {
            spec_mut(bp, "glue_job.clean")["default_arguments"]["--input"] =
                json!("s3://someone-elses-bucket/raw/")
        },
        "is not in our bucket",
    ),
    (
        "access logs sent elsewhere",
        |bp| {
            spec_mut(bp, "apigw_stage.api")["access_log"]["destination_arn"] =
                json!("arn:aws:logs:eu-west-1:123456789012:log-group:elsewhere")
        },
        "access logs go to",
    ),
    (
        "a stage behind another web ACL",
        |bp| spec_mut(bp, "apigw_stage.api")["web_acl"] = json!("someone-elses-acl"),
        "is not the stack's",
    ),
    (
        "an open route",
        |bp| {
            spec_mut(bp, "apigw_rest_api.api")["routes"]["POST /records"]["authorization"] =
                json!("NONE")
        },
        "authorization is NONE",
    ),
    (
        "a route without its authorizer",
        |bp| {
            spec_mut(bp, "apigw_rest_api.api")["routes"]["GET /invoices/{invoiceNo}"]
                ["authorizer"] = json!("")
        },
        "authorizer `` is not declared",
    ),
    (
        "an authorizer backed by another pool",
        |bp| {
            spec_mut(bp, "apigw_rest_api.api")["authorizers"]["cognito"]["user_pools"] =
                json!(["ecomflow-prod-users"])
        },
        "are not this stack's",
    ),
    (
        "public ACLs allowed",
        |bp| spec_mut(bp, "s3_public_access_block.lake")["block_public_acls"] = json!(false),
        "block_public_acls is not on",
    ),
    (
        "no default encryption",
        |bp| bp.resources.retain(|r| r.kind != Kind::S3Encryption),
        "no default encryption",
    ),
    (
        "a warehouse that takes plain-text connections",
        |bp| {
            spec_mut(bp, "redshift_parameter_group.warehouse-parameters")["parameters"]
                ["require_ssl"] = json!("false")
        },
        "TLS not required",
    ),
    (
        "a key another account may use",
        |bp| {
            *bp = build_with("dev", None, KEYED).bp;
            spec_mut(bp, "kms_key.stack")["policy"]["Statement"][2]["Principal"]["AWS"][0] =
                json!("arn:aws:iam::999999999999:root");
        },
        "is not our roles",
    ),
    (
        "a key that is never rotated",
        |bp| {
            *bp = build_with("dev", None, KEYED).bp;
            spec_mut(bp, "kms_key.stack")["rotation"] = json!(false);
        },
        "not rotated",
    ),
    (
        "an ETL job without its security configuration",
        |bp| spec_mut(bp, "glue_job.clean")["security_configuration"] = Value::Null,
        "glue_job.clean: not encrypted at rest",
    ),
    (
        "bucket ACLs enabled",
        |bp| spec_mut(bp, "s3_ownership_controls.lake")["object_ownership"] = json!("ObjectWriter"),
        "ACLs enabled",
    ),
    (
        "a table's deletion protection not following the stack's protected flag",
        |bp| spec_mut(bp, "dynamodb_table.invoices")["deletion_protection"] = json!(true),
        "deletion protection",
    ),
    (
        "no TLS-only policy",
        |bp| bp.resources.retain(|r| r.kind != Kind::S3BucketPolicy),
        "aws:SecureTransport is false",
    ),
    (
        "a TLS condition turned around",
        |bp| {
            spec_mut(bp, "s3_bucket_policy.lake")["policy"]["Statement"][0]["Condition"] =
                json!({"Bool": {"aws:SecureTransport": ["true"]}})
        },
        "aws:SecureTransport is false",
    ),
    (
        "an unencrypted stream",
        |bp| spec_mut(bp, "kinesis_stream.orders")["kms_key"] = Value::Null,
        "kinesis_stream.orders: not encrypted",
    ),
    (
        "an unencrypted topic",
        |bp| spec_mut(bp, "sns_topic.alerts")["kms_key"] = Value::Null,
        "sns_topic.alerts: not encrypted",
    ),
    (
        "an unencrypted delivery stream",
        |bp| spec_mut(bp, "firehose_delivery_stream.clean")["encryption"] = Value::Null,
        "firehose_delivery_stream.clean: not encrypted",
    ),
    (
        "a table without its encryption setting",
        |bp| {
            spec_mut(bp, "dynamodb_table.invoices")
                .as_object_mut()
                .unwrap()
                .remove("sse_kms");
        },
        "dynamodb_table.invoices: not encrypted",
    ),
    (
        "an unencrypted warehouse",
        |bp| spec_mut(bp, "redshift_cluster.warehouse")["encrypted"] = json!(false),
        "redshift_cluster.warehouse: not encrypted",
    ),
    (
        "a public warehouse",
        |bp| spec_mut(bp, "redshift_cluster.warehouse")["publicly_accessible"] = json!(true),
        "publicly accessible",
    ),
    (
        "a declared master password",
        |bp| {
            spec_mut(bp, "redshift_cluster.warehouse")["master_password"] =
                json!("Sup3r-Secret-Canary!")
        },
        "looks secret but is not in KindInfo::secret",
    ),
    (
        "a secret in a function's environment",
        |bp| {
            spec_mut(bp, "lambda_function.query")["environment"]["API_TOKEN"] =
                json!("canary-token-value")
        },
        "`environment.API_TOKEN` looks secret",
    ),
    (
        "an access key id rendered in the plan",
        |bp| spec_mut(bp, "s3_bucket.lake")["tags"]["note"] = json!("AKIAIOSFODNN7EXAMPLE"),
        "contains `AKIA`",
    ),
];

/// dev with the stack's KMS key, which dev.yaml leaves off.
const KEYED: &str = "kms_key:\n  enabled: true\n";

/// Every check above can fail: each rule, broken in a copy of the dev blueprint, is reported.
#[test]
fn every_check_catches_its_violation() {
    let base = build("dev", None);
    let check = |s: &Stack| {
        let mut seen = Seen::default();
        let mut v = iam_violations(s, &mut seen);
        v.extend(api_violations(s, &mut seen));
        v.extend(bucket_violations(s, &mut seen));
        v.extend(encryption_violations(s, &mut seen));
        v.extend(secret_violations(s));
        v
    };
    assert_clean("the unbroken dev blueprint", &check(&base));
    let mut missed = Vec::new();
    for (what, break_it, fragment) in BREAKS {
        let mut broken = base.clone();
        break_it(&mut broken.bp);
        let v = check(&broken);
        if !v.iter().any(|x| x.contains(fragment)) {
            missed.push(format!("{what}: wanted `{fragment}`, got {v:#?}"));
        }
    }
    assert!(
        missed.is_empty(),
        "rules broken unnoticed:\n{}",
        missed.join("\n")
    );
}
