//! Lambda entry point of the process function (package it as `bootstrap`).

use aws_lambda_events::kinesis::KinesisEvent;
use aws_lambda_events::streams::KinesisEventResponse;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use process::{process, AwsBackend, Config};

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
    let backend = AwsBackend::new(&aws_config::load_from_env().await);
    let (cfg, backend) = (&cfg, &backend);
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<KinesisEvent>| async move {
            Ok::<KinesisEventResponse, Error>(process(&event.payload, cfg, backend).await)
        },
    ))
    .await
}
