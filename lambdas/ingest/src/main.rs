//! Lambda entry point of the ingest function (package it as `bootstrap`).

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use ingest::{handle, AwsBackend, Config};
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .json()
        // Warnings by default (a refused AWS call is one), not only errors; RUST_LOG overrides.
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_target(false)
        .without_time()
        .init();
    let cfg = Config::from_lookup(|k| std::env::var(k).ok())?;
    let aws = aws_config::load_from_env().await;
    let sink = AwsBackend::new(
        aws_sdk_kinesis::Client::new(&aws),
        aws_sdk_s3::Client::new(&aws),
    );
    let (cfg, sink) = (&cfg, &sink);
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayProxyRequest>| async move {
            Ok::<ApiGatewayProxyResponse, Error>(handle(&event.payload, cfg, sink).await)
        },
    ))
    .await
}
