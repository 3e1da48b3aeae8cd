//! What the blueprint declares for the functions, the API and the event source mapping, read
//! back so the local wiring is exactly the deployed one: each handler's configuration comes
//! from its function's environment variables, the routes from the REST API, the mapping's
//! settings from its resource.

use super::poller::{Destination, Settings, StartingPosition};
use crate::blueprint::Blueprint;
use crate::config::StackConfig;
use crate::model::apigateway::{RestApiSpec, StageSpec};
use crate::model::cognito::UserPoolSpec;
use crate::model::lambda::{EventSourceMappingSpec, FunctionSpec};
use crate::model::{address, Kind, Spec};
use anyhow::{anyhow, bail, Context, Result};
use std::collections::BTreeMap;
use std::time::Duration;

/// The logical name of the function the stream feeds (the mapping's name too).
pub const STREAM_FUNCTION: &str = "process";

/// The declared wiring of a stack instance.
#[derive(Debug, Clone)]
pub struct Wiring {
    /// The functions, by logical name (`ingest`, `process`, `query`).
    pub functions: BTreeMap<String, FunctionSpec>,
    /// The REST API with its routes.
    pub api: RestApiSpec,
    /// The API's stage.
    pub stage: String,
    /// The Kinesis -> `process` event source mapping.
    pub mapping: EventSourceMappingSpec,
    /// Name of the user pool behind the authorizer.
    pub pool_name: String,
    /// Account ID.
    pub account: String,
    /// Region.
    pub region: String,
}

fn typed<S: Spec>(bp: &Blueprint, kind: Kind, name: &str) -> Result<S> {
    let addr = address(kind, name);
    let r = bp
        .get(&addr)
        .ok_or_else(|| anyhow!("the stack declares no {addr}"))?;
    r.typed::<S>()
        .with_context(|| format!("{addr} has an unexpected spec"))
}

impl Wiring {
    /// Reads the wiring out of a blueprint (and, when the config does not declare the event
    /// source mapping, out of the mapping it would declare).
    pub fn from_blueprint(config: &StackConfig, bp: &Blueprint) -> Result<Wiring> {
        let functions = crate::blueprint::FUNCTIONS
            .iter()
            .map(|f| Ok((f.to_string(), typed(bp, Kind::LambdaFunction, f)?)))
            .collect::<Result<BTreeMap<_, _>>>()?;
        let api = bp
            .resources
            .iter()
            .find(|r| r.kind == Kind::ApigwRestApi)
            .ok_or_else(|| anyhow!("the stack declares no REST API"))?;
        let api_name = api.name.clone();
        let api: RestApiSpec = api.typed().context("the REST API has an unexpected spec")?;
        let stage: StageSpec = typed(bp, Kind::ApigwStage, &api_name)?;
        let mapping = if bp
            .get(&address(Kind::LambdaEventSourceMapping, STREAM_FUNCTION))
            .is_some()
        {
            typed(bp, Kind::LambdaEventSourceMapping, STREAM_FUNCTION)?
        } else {
            crate::blueprint::stream_mapping(config, &bp.names)
                .typed()
                .context("the event source mapping has an unexpected spec")?
        };
        let pools: Vec<String> = api
            .authorizers
            .values()
            .flat_map(|a| a.user_pools.iter().cloned())
            .collect();
        let pool_name = match pools.as_slice() {
            [one] => one.clone(),
            [] => bail!("the REST API has no Cognito authorizer"),
            _ => bail!("the REST API's authorizers name several user pools: {pools:?}"),
        };
        let declared = bp
            .resources
            .iter()
            .filter(|r| r.kind == Kind::CognitoUserPool)
            .filter_map(|r| r.typed::<UserPoolSpec>().ok())
            .any(|p| p.name == pool_name);
        if !declared {
            bail!("the authorizer's user pool {pool_name} is not declared by the stack");
        }
        Ok(Wiring {
            functions,
            api,
            stage: stage.stage,
            mapping,
            pool_name,
            account: bp.names.account.clone(),
            region: bp.names.region.clone(),
        })
    }

    /// A function by logical name.
    pub fn function(&self, name: &str) -> Result<&FunctionSpec> {
        self.functions
            .get(name)
            .ok_or_else(|| anyhow!("the stack declares no function {name}"))
    }

    /// The logical name of the function with this physical name.
    pub fn logical_name(&self, physical: &str) -> Option<&str> {
        self.functions
            .iter()
            .find(|(_, f)| f.name == physical)
            .map(|(k, _)| k.as_str())
    }

    /// A function's environment as a lookup, as its bootstrap reads `std::env::var`.
    pub fn lookup<'a>(&'a self, name: &str) -> Result<impl Fn(&str) -> Option<String> + 'a> {
        let env = &self.function(name)?.environment;
        Ok(move |k: &str| env.get(k).cloned())
    }

    /// `ingest`'s configuration, from its environment.
    pub fn ingest_config(&self) -> Result<ingest::Config> {
        ingest::Config::from_lookup(self.lookup("ingest")?)
            .map_err(|e| anyhow!("the ingest function's environment: {e}"))
    }

    /// `process`'s configuration, from its environment.
    pub fn process_config(&self) -> Result<process::Config> {
        process::Config::from_lookup(self.lookup(STREAM_FUNCTION)?)
            .map_err(|e| anyhow!("the process function's environment: {e}"))
    }

    /// `query`'s configuration (tables and `ROUTE_GROUPS`), from its environment.
    pub fn query_config(&self) -> Result<query::Config> {
        query::Config::from_lookup(self.lookup("query")?)
            .map_err(|e| anyhow!("the query function's environment: {e}"))
    }

    /// A function's timeout.
    pub fn timeout(&self, name: &str) -> Result<Duration> {
        let secs = self.function(name)?.timeout_seconds.max(1);
        Ok(Duration::from_secs(u64::try_from(secs).unwrap_or(1)))
    }

    /// The ARN of a function.
    pub fn function_arn(&self, name: &str) -> Result<String> {
        Ok(format!(
            "arn:aws:lambda:{}:{}:function:{}",
            self.region,
            self.account,
            self.function(name)?.name
        ))
    }

    /// The stream name of the mapping's source ARN.
    pub fn stream_name(&self) -> Result<String> {
        self.mapping
            .event_source_arn
            .rsplit_once(":stream/")
            .map(|(_, n)| n.to_string())
            .ok_or_else(|| {
                anyhow!(
                    "the event source {} is not a Kinesis stream",
                    self.mapping.event_source_arn
                )
            })
    }

    /// The mapping's settings for the poller.
    pub fn poller_settings(&self, poll_interval: Duration) -> Result<Settings> {
        let m = &self.mapping;
        let starting_position = match m.starting_position.as_str() {
            "TRIM_HORIZON" => StartingPosition::TrimHorizon,
            "LATEST" => StartingPosition::Latest,
            other => bail!("the mapping's starting position {other} is not supported"),
        };
        let on_failure = match &m.on_failure_destination {
            None => None,
            Some(arn) => Some(Destination::from_arn(arn).ok_or_else(|| {
                anyhow!("the mapping's on-failure destination {arn} is neither SNS nor S3")
            })?),
        };
        Ok(Settings {
            stream_name: self.stream_name()?,
            stream_arn: m.event_source_arn.clone(),
            region: self.region.clone(),
            function_arn: self.function_arn(STREAM_FUNCTION)?,
            invoke_identity_arn: self.function(STREAM_FUNCTION)?.role_arn.clone(),
            starting_position,
            batch_size: usize::try_from(m.batch_size.max(1)).unwrap_or(1),
            batching_window: Duration::from_secs(
                u64::try_from(m.batching_window_seconds.max(0)).unwrap_or(0),
            ),
            maximum_retries: m.maximum_retries,
            bisect_on_error: m.bisect_on_error,
            report_batch_item_failures: m
                .function_response_types
                .iter()
                .any(|t| t == "ReportBatchItemFailures"),
            on_failure,
            poll_interval,
            retry_pause: Duration::from_secs(1),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blueprint::{self, Context, LambdaCode};
    use crate::names::{instance_name, Names};
    use std::path::Path;

    fn wiring() -> Wiring {
        let file = concat!(env!("CARGO_MANIFEST_DIR"), "/stacks/local.yaml");
        let config = crate::config::load_file(Path::new(file), Some("t1")).unwrap();
        let bp = blueprint::build(
            &config,
            &Context {
                names: Names::new(
                    instance_name(&config.app, &config.env, Some("t1")),
                    "123456789012",
                    "us-east-1",
                ),
                expires_at: None,
                created_at: None,
                lambda_code: blueprint::FUNCTIONS
                    .iter()
                    .map(|f| (f.to_string(), LambdaCode::default()))
                    .collect(),
            },
        );
        Wiring::from_blueprint(&config, &bp).unwrap()
    }

    #[test]
    fn handlers_are_configured_from_the_declared_environment() {
        let w = wiring();
        let ingest = w.ingest_config().unwrap();
        assert_eq!(ingest.stream_name, "ecomflow-dev-t1-orders");
        let p = w.process_config().unwrap();
        assert_eq!(p.invoices_table, "ecomflow-dev-t1-invoices");
        assert_eq!(p.customers_table, "ecomflow-dev-t1-customers");
        assert_eq!(p.delivery_stream, "ecomflow-dev-t1-clean");
        assert_eq!(
            p.topic_arn,
            "arn:aws:sns:us-east-1:123456789012:ecomflow-dev-t1-alerts"
        );
        let q = w.query_config().unwrap();
        assert_eq!(q.invoices_table, "ecomflow-dev-t1-invoices");
        assert_eq!(q.customers_table, "ecomflow-dev-t1-customers");
        // Both API functions get the groups of the routes they serve, as deployed.
        assert_eq!(
            q.route_groups.routes().collect::<Vec<_>>(),
            [
                "GET /customers/{customerId}/invoices",
                "GET /invoices/{invoiceNo}",
                "GET /invoices/{invoiceNo}/items/{stockCode}",
            ]
        );
        assert!(q.route_groups.routes().all(|r| q
            .route_groups
            .groups(r)
            .unwrap()
            .contains("analysts")));
        assert_eq!(
            ingest.route_groups.routes().collect::<Vec<_>>(),
            ["POST /records"]
        );
        assert!(ingest
            .route_groups
            .groups("POST /records")
            .unwrap()
            .contains("producers"));
        assert_eq!(w.pool_name, "ecomflow-dev-t1-users");
        assert_eq!(w.stage, "v1");
        assert_eq!(w.logical_name("ecomflow-dev-t1-query"), Some("query"));
        assert_eq!(w.timeout("process").unwrap(), Duration::from_secs(30));
    }

    #[test]
    fn the_mapping_settings_are_the_declared_ones() {
        let w = wiring();
        let s = w.poller_settings(Duration::from_millis(250)).unwrap();
        assert_eq!(s.stream_name, "ecomflow-dev-t1-orders");
        assert_eq!(
            s.stream_arn,
            "arn:aws:kinesis:us-east-1:123456789012:stream/ecomflow-dev-t1-orders"
        );
        assert_eq!(s.batch_size, 500);
        assert_eq!(s.batching_window, Duration::from_secs(5));
        assert_eq!(s.maximum_retries, 3);
        assert!(s.bisect_on_error);
        assert!(s.report_batch_item_failures);
        assert_eq!(s.starting_position, StartingPosition::TrimHorizon);
        assert_eq!(
            s.on_failure,
            Some(Destination::Sns(
                "arn:aws:sns:us-east-1:123456789012:ecomflow-dev-t1-alerts".into()
            ))
        );
        assert_eq!(
            s.function_arn,
            "arn:aws:lambda:us-east-1:123456789012:function:ecomflow-dev-t1-process"
        );
        assert!(s
            .invoke_identity_arn
            .ends_with("role/ecomflow-infra/ecomflow-dev-t1/ecomflow-dev-t1-process"));
        assert_eq!(s.poll_interval, Duration::from_millis(250));
    }

    #[test]
    fn the_routes_are_the_apis() {
        let w = wiring();
        let routes: Vec<(&str, &str)> = w
            .api
            .routes
            .iter()
            .map(|(k, r)| (k.as_str(), w.logical_name(&r.function).unwrap()))
            .collect();
        assert_eq!(
            routes,
            [
                ("GET /customers/{customerId}/invoices", "query"),
                ("GET /invoices/{invoiceNo}", "query"),
                ("GET /invoices/{invoiceNo}/items/{stockCode}", "query"),
                ("POST /records", "ingest"),
            ]
        );
        assert!(w
            .api
            .routes
            .values()
            .all(|r| r.authorization == "COGNITO_USER_POOLS"));
    }
}
