//! Integration test: the handler with the real SDK against a local moto server.

use aws_lambda_events::apigw::ApiGatewayProxyRequest;
use aws_sdk_kinesis::types::ShardIteratorType;
use ecomflow_testkit::Moto;
use ingest::{handle, AwsBackend, Config, REJECTS_PREFIX};
use records::CleaningRules;
use std::io::BufRead;
use std::time::Duration;

#[tokio::test]
async fn puts_clean_records_on_the_stream_and_rejects_in_the_bucket() {
    let moto = Moto::start();
    let client = aws_sdk_kinesis::Client::new(&moto.sdk_config().await);
    let s3 = moto.s3().await;
    s3.create_bucket().bucket("lake").send().await.unwrap();
    client
        .create_stream()
        .stream_name("orders")
        .shard_count(1)
        .send()
        .await
        .unwrap();
    let cfg = Config {
        stream_name: "orders".into(),
        bucket: "lake".into(),
        rules: CleaningRules::default(),
        max_body_bytes: 6 * 1024 * 1024,
        max_attempts: 3,
        base_backoff: Duration::from_millis(10),
        route_groups: access::RouteGroups::parse(r#"{"POST /records":["producers"]}"#).unwrap(),
    };
    let sink = AwsBackend::new(client.clone(), s3.clone());
    let req: ApiGatewayProxyRequest =
        serde_json::from_str(include_str!("fixtures/apigw_post_csv_base64.json")).unwrap();
    let resp = handle(&req, &cfg, &sink).await;
    assert_eq!(resp.status_code, 202, "{:?}", resp.body);

    // The 39 rejected rows: one object under rejects/ingest/, one line each with its reason.
    let listed = s3
        .list_objects_v2()
        .bucket("lake")
        .prefix(REJECTS_PREFIX)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.contents().len(), 1);
    let key = listed.contents()[0].key().unwrap();
    let body = s3
        .get_object()
        .bucket("lake")
        .key(key)
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    assert!(key.ends_with(".jsonl.gz"), "{key}");
    let rows: Vec<records::Rejection> =
        std::io::BufReader::new(flate2::read::GzDecoder::new(&body[..]))
            .lines()
            .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
            .collect();
    assert_eq!(rows.len(), 39);
    assert!(rows
        .iter()
        .all(|r| r.index.is_some() && !r.input.is_empty()));

    // A bucket that is not there: 503, and nothing more on the stream.
    let gone = Config {
        bucket: "no-such-bucket".into(),
        ..cfg.clone()
    };
    let resp = handle(&req, &gone, &sink).await;
    assert_eq!(resp.status_code, 503, "{:?}", resp.body);

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
