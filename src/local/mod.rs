//! `ecomflow-infra local serve`: the pipeline's Lambda handlers run on this machine, wired as
//! AWS wires them, against the stack's live (or emulated) services.
//!
//! Lambda cannot run inside the emulator, so the handlers' library code runs in-process:
//!
//! * an HTTP server on `127.0.0.1:<port>` plays API Gateway ([`http`]): the stack's REST
//!   routes, its Cognito authorizer ([`auth`], against the live user pool and its keys), the
//!   proxy event and response, API Gateway's limits;
//! * a stream poller plays the Kinesis event source mapping ([`poller`]): batches, batching
//!   window, partial batch responses, retries, bisection and the on-failure destination, all
//!   from the mapping's declaration, with a checkpoint file ([`checkpoint`]) so a restart
//!   does not process the stream again; [`stream_aws`] is its Kinesis, SNS and S3 side.
//!
//! Every handler is configured from its function's declared environment ([`wiring`]), so the
//! local wiring equals the deployed one. The server prints `listening on
//! http://127.0.0.1:<port>` once bound, and stops cleanly on SIGINT or SIGTERM (the poller
//! finishes the batch in hand and the checkpoint is saved).

pub mod auth;
pub mod checkpoint;
pub mod functions;
pub mod http;
pub mod poller;
pub mod runtime;
pub mod stream_aws;
pub mod wiring;

use crate::cli::{Global, LocalServeArgs, EXIT_OK};
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use wiring::{Wiring, STREAM_FUNCTION};

/// Where the checkpoint of a stack instance is kept by default (relative to the working
/// directory).
pub fn default_checkpoint_path(instance: &str) -> PathBuf {
    PathBuf::from("target/ecomflow-local").join(format!("{instance}.checkpoint.json"))
}

/// The endpoint override in effect: `--endpoint-url`, else `AWS_ENDPOINT_URL`.
fn endpoint_override(g: &Global) -> Option<String> {
    g.endpoint_url
        .clone()
        .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
        .filter(|e| !e.trim().is_empty())
}

/// The app client IDs of a user pool (every page).
async fn app_clients(aws: &crate::aws::Aws, pool_id: &str) -> Result<Vec<String>> {
    let clients = crate::aws::cognito::clients(aws, pool_id).await?;
    let ids: Vec<String> = clients.into_iter().flatten().map(|(_, id)| id).collect();
    if ids.is_empty() {
        bail!("user pool {pool_id} has no app client: no token can be valid; run `ecomflow-infra apply`");
    }
    Ok(ids)
}

/// The routes of the REST API, each with its in-process function.
fn routes(
    wiring: &Wiring,
    ingest: Arc<dyn functions::ApiFunction>,
    query: Arc<dyn functions::ApiFunction>,
) -> Result<Vec<http::Route>> {
    let mut out = Vec::new();
    for (key, spec) in &wiring.api.routes {
        let (method, resource) = key
            .split_once(' ')
            .with_context(|| format!("route {key:?} is not `<METHOD> <path>`"))?;
        let logical = wiring.logical_name(&spec.function).with_context(|| {
            format!(
                "route {key} invokes {}, not a function of the stack",
                spec.function
            )
        })?;
        let function = match logical {
            "ingest" => ingest.clone(),
            "query" => query.clone(),
            other => bail!("route {key} invokes {other}, which is not behind the API"),
        };
        let authorized = match spec.authorization.as_str() {
            "COGNITO_USER_POOLS" => true,
            "NONE" => false,
            other => bail!("route {key}: authorization {other} is not supported locally"),
        };
        out.push(http::Route {
            method: method
                .parse()
                .with_context(|| format!("route {key}: bad method"))?,
            resource: resource.to_string(),
            function_name: spec.function.clone(),
            function,
            authorized,
            timeout: wiring.timeout(logical)?.min(http::MAX_INTEGRATION_TIMEOUT),
        });
    }
    Ok(out)
}

/// The API's functions, with the handlers' library code run in-process under the caller's
/// credentials (`--in-process`).
fn in_process_api(
    wiring: &Wiring,
    aws: &crate::aws::Aws,
) -> Result<(
    Arc<dyn functions::ApiFunction>,
    Arc<dyn functions::ApiFunction>,
)> {
    let ingest = Arc::new(functions::Ingest::new(
        wiring.ingest_config()?,
        aws.kinesis.clone(),
        aws.s3.clone(),
    ));
    let query = Arc::new(functions::Query::new(
        wiring.query_config()?,
        aws.dynamodb.clone(),
    ));
    Ok((ingest, query))
}

/// The packaged functions of the stack, their bootstraps extracted under `dir`.
struct Packaged {
    functions: BTreeMap<String, Arc<runtime::PackagedFunction>>,
    dir: PathBuf,
}

impl Packaged {
    fn get(&self, name: &str) -> Result<Arc<runtime::PackagedFunction>> {
        self.functions
            .get(name)
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("the stack declares no function {name}"))
    }

    fn api(&self, name: &str) -> Result<Arc<dyn functions::ApiFunction>> {
        Ok(self.get(name)?)
    }

    fn stream(&self, name: &str) -> Result<Arc<dyn functions::StreamFunction>> {
        Ok(self.get(name)?)
    }

    /// Removes the extracted bootstraps.
    fn remove(self) {
        drop(self.functions);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Every function of the stack as its packaged bootstrap, each with one execution
/// environment started (so a bootstrap that cannot start, or a role that cannot be assumed,
/// stops `local serve` at once), and its init duration logged.
async fn packaged_functions(
    session: &crate::engine::Session,
    wiring: &Wiring,
    endpoint_url: Option<String>,
) -> Result<Packaged> {
    let dir = PathBuf::from("target/ecomflow-local")
        .join(session.instance())
        .join(format!("functions-{}", std::process::id()));
    let zips = wiring
        .functions
        .iter()
        .map(|(name, f)| {
            let zip = f.zip_path.clone().with_context(|| {
                format!("no deployment package for {name}; run `ecomflow-infra build` first")
            })?;
            Ok((name.clone(), PathBuf::from(zip)))
        })
        .collect::<Result<Vec<_>>>()?;
    let bootstraps = runtime::extract_all(&zips, &dir)?;
    let credentials: Arc<dyn runtime::Credentials> =
        Arc::new(runtime::StsCredentials(session.aws.sts.clone()));
    let mut functions = BTreeMap::new();
    for (name, bootstrap) in bootstraps {
        let f = wiring.function(&name)?;
        let setup = runtime::FunctionSetup {
            name: f.name.clone(),
            arn: wiring.function_arn(&name)?,
            role_arn: f.role_arn.clone(),
            memory_mb: f.memory_mb,
            timeout: wiring.timeout(&name)?,
            max_environments: f
                .reserved_concurrency
                .and_then(|c| usize::try_from(c).ok())
                .unwrap_or(runtime::DEFAULT_ENVIRONMENTS),
            environment: f.environment.clone(),
            region: wiring.region.clone(),
            endpoint_url: endpoint_url.clone(),
            bootstrap,
        };
        functions.insert(
            name,
            Arc::new(runtime::PackagedFunction::new(setup, credentials.clone())),
        );
    }
    let warm = futures::future::join_all(functions.values().map(|f| f.warm_up())).await;
    for (name, init) in functions.keys().zip(warm) {
        let init = init?;
        eprintln!(
            "{name}: bootstrap started under its execution role {} (init {:.1} ms)",
            wiring.function(name)?.role_arn,
            init.as_secs_f64() * 1e3
        );
    }
    Ok(Packaged { functions, dir })
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => tracing::info!("SIGINT: stopping"),
        _ = terminate => tracing::info!("SIGTERM: stopping"),
    }
}

/// `local serve`.
pub async fn serve(g: &Global, args: &LocalServeArgs) -> Result<i32> {
    // The packaged mode needs the deployment packages, as apply does.
    let session = if args.in_process {
        crate::session::open_session(g).await?
    } else {
        crate::session::open(g, &g.stack).await?
    };
    let aws = session.aws.clone();
    let wiring = Wiring::from_blueprint(&session.config, &session.blueprint)?;

    // The authorizer: the live pool of this instance and its app clients.
    let pool = crate::users::cognito::find_pool(&aws, &wiring.pool_name, session.instance())
        .await
        .context("the API's user pool")?;
    let clients = app_clients(&aws, &pool.id).await?;
    let endpoint = endpoint_override(g);
    let authorizer = Arc::new(auth::Authorizer::new(
        auth::issuer(&aws.region, &pool.id),
        clients,
        auth::jwks_url(endpoint.as_deref(), &aws.region, &pool.id),
        endpoint.is_some(),
    )?);
    if let Err(e) = authorizer.prefetch().await {
        tracing::warn!(error = %e, "the user pool's keys are not available yet; every request will try again");
    }

    // The packaged functions, each under its execution role; or the handlers in-process.
    let packaged = if args.in_process {
        None
    } else {
        Some(packaged_functions(&session, &wiring, endpoint.clone()).await?)
    };
    let (ingest, query) = match &packaged {
        Some(p) => (p.api("ingest")?, p.api("query")?),
        None => in_process_api(&wiring, &aws)?,
    };
    let api = Arc::new(http::Api {
        stage: wiring.stage.clone(),
        account: aws.account.clone(),
        routes: routes(&wiring, ingest, query)?,
        authorizer,
    });

    // The event source mapping.
    let poller = if args.no_poller {
        None
    } else {
        let checkpoint_path = args
            .checkpoint
            .clone()
            .unwrap_or_else(|| default_checkpoint_path(session.instance()));
        let checkpoint = Arc::new(checkpoint::Checkpoint::open(&checkpoint_path)?);
        let settings = wiring.poller_settings(Duration::from(args.poll_interval))?;
        if !wiring.mapping.enabled {
            tracing::warn!("the event source mapping is declared disabled; polling anyway (use --no-poller not to)");
        }
        if wiring.mapping.parallelization_factor > 1 {
            tracing::warn!(
                factor = wiring.mapping.parallelization_factor,
                "parallelization factor above 1: locally each shard runs one batch at a time"
            );
        }
        let function: Arc<dyn functions::StreamFunction> = match &packaged {
            Some(p) => p.stream(STREAM_FUNCTION)?,
            None => Arc::new(functions::Process::new(
                wiring.process_config()?,
                process::AwsBackend {
                    dynamodb: aws.dynamodb.clone(),
                    firehose: aws.firehose.clone(),
                    s3: aws.s3.clone(),
                    sns: aws.sns.clone(),
                },
                wiring.timeout(STREAM_FUNCTION)?,
            )),
        };
        let failures = settings.on_failure.clone().map(|d| {
            Arc::new(stream_aws::AwsFailureSink::new(
                d,
                wiring
                    .function(STREAM_FUNCTION)
                    .map(|f| f.name.clone())
                    .unwrap_or_default(),
                aws.sns.clone(),
                aws.s3.clone(),
            )) as Arc<dyn poller::FailureSink>
        });
        let source = Arc::new(stream_aws::KinesisSource::new(
            aws.kinesis.clone(),
            settings.stream_name.clone(),
        ));
        // Fail now, not in the background, if the stream is not there.
        use poller::ShardSource as _;
        let shards = source
            .list_shards()
            .await
            .map_err(|e| anyhow::anyhow!("{e}; run `ecomflow-infra apply` first"))?;
        tracing::info!(
            stream = settings.stream_name,
            shards = shards.len(),
            checkpoint = %checkpoint.path().display(),
            "polling the stream"
        );
        Some(Arc::new(poller::Poller {
            source,
            function,
            failures,
            checkpoint,
            settings,
        }))
    };

    let app = http::router(api)?.into_make_service_with_connect_info::<SocketAddr>();
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, args.port))
        .await
        .with_context(|| format!("cannot listen on 127.0.0.1:{}", args.port))?;
    let port = listener.local_addr()?.port();
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on http://127.0.0.1:{port}")?;
        out.flush()?;
    }

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let checkpoint = poller.as_ref().map(|p| p.checkpoint.clone());
    let poller_task = poller.map(|p| tokio::spawn(p.run(stop_rx)));
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            let _ = stop_tx.send(true);
        })
        .await;
    // If serving failed, dropping the sender (above) stops the poller too.
    if let Some(task) = poller_task {
        if let Err(e) = task.await {
            tracing::error!(error = %e, "the stream poller failed");
        }
    }
    if let Some(checkpoint) = &checkpoint {
        checkpoint.save()?;
    }
    if let Some(p) = packaged {
        p.remove();
    }
    served.context("the HTTP server failed")?;
    if !g.quiet {
        let c = aws.stats.snapshot();
        if let Some(checkpoint) = &checkpoint {
            eprintln!(
                "Stopped; checkpoint saved to {}.",
                checkpoint.path().display()
            );
        }
        eprintln!("api calls: reads={} mutations={}", c.reads, c.mutations);
    }
    Ok(EXIT_OK)
}
