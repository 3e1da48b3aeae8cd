//! Integration test: the handler with the real SDK against a local moto server.

use aws_lambda_events::apigw::ApiGatewayProxyRequest;
use aws_sdk_kinesis::types::ShardIteratorType;
use ecomflow_testkit::Moto;
use ingest::{handle, Config, KinesisSink};
use records::CleaningRules;
use std::time::Duration;

#[tokio::test]
async fn puts_clean_records_on_the_stream() {
    let moto = Moto::start();
    let client = aws_sdk_kinesis::Client::new(&moto.sdk_config().await);
    client
        .create_stream()
        .stream_name("orders")
        .shard_count(1)
        .send()
        .await
        .unwrap();
    let cfg = Config {
        stream_name: "orders".into(),
        rules: CleaningRules::default(),
        max_body_bytes: 6 * 1024 * 1024,
        max_attempts: 3,
        base_backoff: Duration::from_millis(10),
    };
    let sink = KinesisSink::new(client.clone());
    let req: ApiGatewayProxyRequest =
        serde_json::from_str(include_str!("fixtures/apigw_post_csv_base64.json")).unwrap();
    let resp = handle(&req, &cfg, &sink).await;
    assert_eq!(resp.status_code, 202, "{:?}", resp.body);

    let shards = client
        .list_shards()
        .stream_name("orders")
        .send()
        .await
        .unwrap();
    let shard = shards.shards()[0].shard_id().to_owned();
    let mut it = client
        .get_shard_iterator()
        .stream_name("orders")
        .shard_id(shard)
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .unwrap()
        .shard_iterator()
        .map(str::to_owned);
    let mut got = Vec::new();
    while let Some(i) = it.take() {
        let out = client.get_records().shard_iterator(i).send().await.unwrap();
        if out.records().is_empty() {
            break;
        }
        got.extend(out.records().iter().map(|r| {
            (
                r.partition_key().unwrap_or_default().to_owned(),
                String::from_utf8(r.data().as_ref().to_vec()).unwrap(),
            )
        }));
        it = out.next_shard_iterator().map(str::to_owned);
    }
    assert_eq!(got.len(), 124);
    for (key, data) in &got {
        let v: serde_json::Value = serde_json::from_str(data).unwrap();
        assert_eq!(&v["InvoiceNo"], key.as_str());
        assert!(v["UnitPrice"].is_string());
    }
}
