//! The Lambda functions of the pipeline and the Kinesis -> `process` event source mapping.

use super::access::FUNCTIONS;
use super::alerts::ALERTS;
use super::storage::LAKE;
use super::streaming::ORDERS;
use super::Context;
use crate::config::{Architecture, OnFailure, StackConfig};
use crate::model::lambda::{EventSourceMappingSpec, FunctionSpec};
use crate::model::{address, Kind, Resource, Tags};
use crate::names::Names;
use std::collections::BTreeMap;

/// Logical name of the function the stream feeds.
pub const PROCESS: &str = "process";

/// Runtime of the Rust bootstraps.
pub const RUNTIME: &str = "provided.al2023";

fn role_arn(names: &Names, function: &str) -> String {
    format!(
        "arn:aws:iam::{}:role{}{}",
        names.account,
        names.iam_path(),
        names.role(function)
    )
}

fn flag(b: bool) -> String {
    b.to_string()
}

/// The environment variables of one function.
fn environment(config: &StackConfig, names: &Names, function: &str) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    let c = &config.cleaning;
    let rules = [
        ("KEEP_CANCELLATIONS", flag(c.keep_cancellations)),
        ("KEEP_MISSING_CUSTOMER", flag(c.keep_missing_customer)),
        ("KEEP_NON_PRODUCT_CODES", flag(c.keep_non_product_codes)),
        ("DROP_DUPLICATES", flag(c.drop_duplicates)),
    ];
    let tables = [
        ("INVOICES_TABLE", names.table("invoices")),
        ("CUSTOMERS_TABLE", names.table("customers")),
    ];
    match function {
        "ingest" => {
            env.insert(
                ::access::ENV_VAR.into(),
                route_groups(config, function).to_env_value(),
            );
            env.insert("STREAM_NAME".into(), names.stream());
            // Rows it rejects go under `rejects/ingest/` (see `access.rs`).
            env.insert("BUCKET".into(), names.lake_bucket());
            env.extend(rules.map(|(k, v)| (k.to_string(), v)));
        }
        "process" => {
            env.extend(tables.map(|(k, v)| (k.to_string(), v)));
            env.insert(
                "DELIVERY_STREAM".into(),
                super::catalog::delivery_stream_name(names),
            );
            env.insert("BUCKET".into(), names.lake_bucket());
            env.insert("TOPIC_ARN".into(), names.topic_arn(&names.alerts_topic()));
            env.insert("STACK".into(), names.instance.clone());
            env.insert("UPDATES_TABLE".into(), names.table(super::tables::UPDATES));
            env.insert(
                "DIGEST_MINUTES".into(),
                config.alerts.digest_minutes.to_string(),
            );
            env.insert(
                "REJECT_ALERT_THRESHOLD".into(),
                config.processing.reject_alert_threshold.to_string(),
            );
            env.extend(rules.map(|(k, v)| (k.to_string(), v)));
        }
        _ => {
            env.insert(
                ::access::ENV_VAR.into(),
                route_groups(config, function).to_env_value(),
            );
            env.extend(tables.map(|(k, v)| (k.to_string(), v)));
        }
    }
    env
}

/// The Cognito groups allowed on each API route `function` serves (`cognito.groups[].routes`):
/// its `ROUTE_GROUPS`, which the handler checks first (see `lambdas/access`). Every route it
/// serves is listed, a route no group names with no group, so that it refuses everyone.
pub fn route_groups(config: &StackConfig, function: &str) -> ::access::RouteGroups {
    let mut rules = ::access::RouteGroups::new();
    for (method, path, serving) in super::api::ROUTES.iter() {
        if *serving != function {
            continue;
        }
        let route = format!("{method} {path}");
        let groups = config
            .cognito
            .groups
            .iter()
            .filter(|g| g.routes.contains(&route))
            .map(|g| g.name.clone())
            .collect::<Vec<_>>();
        rules.allow(route, groups);
    }
    rules
}

/// The three functions and the event source mapping.
pub fn resources(config: &StackConfig, ctx: &Context, tags: &Tags) -> Vec<Resource> {
    let names = &ctx.names;
    let f = &config.functions;
    let mut out: Vec<Resource> = FUNCTIONS
        .iter()
        .map(|function| {
            let code = ctx.lambda_code.get(*function);
            Resource::new(
                function,
                &FunctionSpec {
                    name: names.resource(function),
                    role_arn: role_arn(names, function),
                    runtime: RUNTIME.into(),
                    handler: "bootstrap".into(),
                    architecture: match f.architecture {
                        Architecture::X86_64 => "x86_64",
                        Architecture::Arm64 => "arm64",
                    }
                    .into(),
                    memory_mb: f.memory_mb as i32,
                    timeout_seconds: f.timeout_seconds as i32,
                    reserved_concurrency: f.reserved_concurrency.map(|c| c as i32),
                    environment: environment(config, names, function),
                    code_sha256: code.map(|c| c.code_sha256.clone()).unwrap_or_default(),
                    zip_path: code.map(|c| c.zip_path.clone()),
                    tags: tags.clone(),
                },
            )
            .after(&[&address(Kind::IamRole, function)])
        })
        .collect();
    if config.processing.event_source_mapping {
        out.push(stream_mapping(config, names));
    }
    out
}

/// The Kinesis -> `process` event source mapping. Declared unless the config turns it off;
/// `local serve` plays it with these same settings either way.
pub fn stream_mapping(config: &StackConfig, names: &Names) -> Resource {
    let p = &config.processing;
    let (destination, destination_addr) = match p.on_failure {
        OnFailure::Alerts => (
            names.topic_arn(&names.alerts_topic()),
            address(Kind::SnsTopic, ALERTS),
        ),
        OnFailure::S3 => (
            Names::bucket_arn(&names.lake_bucket()),
            address(Kind::S3Bucket, LAKE),
        ),
    };
    Resource::new(
        PROCESS,
        &EventSourceMappingSpec {
            function_name: names.resource(PROCESS),
            event_source_arn: names.stream_arn(&names.stream()),
            // TRIM_HORIZON: rows posted between the stream's creation and the mapping's
            // are processed, not silently skipped. The mapping is created once per
            // stream (a new mapping only comes with a new stream or function name).
            starting_position: "TRIM_HORIZON".into(),
            batch_size: p.batch_size as i32,
            batching_window_seconds: p.batching_window_seconds as i32,
            parallelization_factor: p.parallelization_factor as i32,
            bisect_on_error: p.bisect_on_error,
            maximum_retries: p.maximum_retries,
            function_response_types: vec!["ReportBatchItemFailures".into()],
            on_failure_destination: Some(destination),
            enabled: true,
        },
    )
    .owned_by(&address(Kind::LambdaFunction, PROCESS))
    .after(&[&address(Kind::KinesisStream, ORDERS), &destination_addr])
}

/// The environment a declared function runs with, read back from its blueprint resource, so
/// that code running a handler outside Lambda (`local serve`, `stream --direct`) configures
/// it exactly as the deployed function is configured.
pub fn declared_environment(
    blueprint: &super::Blueprint,
    function: &str,
) -> Option<BTreeMap<String, String>> {
    let resource = blueprint.get(&address(Kind::LambdaFunction, function))?;
    serde_json::from_value::<FunctionSpec>(resource.spec.clone())
        .ok()
        .map(|spec| spec.environment)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_str;

    const GOOD: &str = "app: ecomflow\nenv: dev\nregion: us-east-1\n";

    fn env_of(yaml: &str, function: &str) -> BTreeMap<String, String> {
        let config = load_str("stack.yaml", yaml, None).unwrap();
        let names = Names::new("ecomflow-dev", "123456789012", "us-east-1");
        environment(&config, &names, function)
    }

    #[test]
    fn ingest_and_query_get_the_groups_of_their_routes() {
        let ingest = env_of(GOOD, "ingest");
        assert_eq!(ingest["ROUTE_GROUPS"], r#"{"POST /records":["producers"]}"#);
        let query = env_of(GOOD, "query");
        assert_eq!(
            query["ROUTE_GROUPS"],
            concat!(
                r#"{"GET /customers/{customerId}/invoices":["analysts"],"#,
                r#""GET /invoices/{invoiceNo}":["analysts"],"#,
                r#""GET /invoices/{invoiceNo}/items/{stockCode}":["analysts"]}"#
            )
        );
        // What the handlers read back is what the stack says.
        let rules = ::access::RouteGroups::parse(&query["ROUTE_GROUPS"]).unwrap();
        assert_eq!(
            rules,
            route_groups(&load_str("s", GOOD, None).unwrap(), "query")
        );
        assert!(!env_of(GOOD, "process").contains_key("ROUTE_GROUPS"));
        // Lambda allows 4 KB of environment per function.
        for f in FUNCTIONS {
            let size: usize = env_of(GOOD, f).iter().map(|(k, v)| k.len() + v.len()).sum();
            assert!(size < 1024, "{f}: {size} bytes");
        }
    }

    #[test]
    fn groups_are_sorted_and_an_unnamed_route_is_listed_with_none() {
        let yaml = format!(
            "{GOOD}cognito:\n  groups:\n\
             \x20   - name: zeta\n      routes: [\"GET /invoices/{{invoiceNo}}\", \"POST /records\"]\n\
             \x20   - name: alpha\n      routes: [\"GET /invoices/{{invoiceNo}}\"]\n\
             \x20   - name: idle\n"
        );
        assert_eq!(
            env_of(&yaml, "query")["ROUTE_GROUPS"],
            concat!(
                r#"{"GET /customers/{customerId}/invoices":[],"#,
                r#""GET /invoices/{invoiceNo}":["alpha","zeta"],"#,
                r#""GET /invoices/{invoiceNo}/items/{stockCode}":[]}"#
            )
        );
        assert_eq!(
            env_of(&yaml, "ingest")["ROUTE_GROUPS"],
            r#"{"POST /records":["zeta"]}"#
        );
    }
}
