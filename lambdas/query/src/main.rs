//! Lambda entry point of the query function (package it as `bootstrap`).

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use query::{handle, DynamoStore};

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_target(false)
        .without_time()
        .init();
    let need = |k: &str| std::env::var(k).map_err(|_| format!("{k} is not set"));
    let store = DynamoStore {
        client: aws_sdk_dynamodb::Client::new(&aws_config::load_from_env().await),
        invoices_table: need("INVOICES_TABLE")?,
        customers_table: need("CUSTOMERS_TABLE")?,
    };
    let store = &store;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayProxyRequest>| async move {
            Ok::<ApiGatewayProxyResponse, Error>(handle(&event.payload, store).await)
        },
    ))
    .await
}
