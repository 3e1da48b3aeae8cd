//! Lambda entry point of the query function (package it as `bootstrap`).

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use query::{handle, Config, DynamoStore};

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_target(false)
        .without_time()
        .init();
    let cfg = Config::from_lookup(|k| std::env::var(k).ok())?;
    let store = DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&aws_config::load_from_env().await),
        &cfg,
    );
    let (cfg, store) = (&cfg, &store);
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayProxyRequest>| async move {
            Ok::<ApiGatewayProxyResponse, Error>(handle(&event.payload, cfg, store).await)
        },
    ))
    .await
}
