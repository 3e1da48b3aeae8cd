//! Integration test: the processor with the real SDK against a local moto server.

use aws_lambda_events::kinesis::KinesisEvent;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use ecomflow_testkit::Moto;
use process::{process_outcome, AwsBackend, Backend, Config, DigestConfig};
use records::CleaningRules;
use std::time::Duration;

async fn create_table(
    db: &aws_sdk_dynamodb::Client,
    name: &str,
    pk: (&str, ScalarAttributeType),
    sk: &str,
) {
    db.create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(pk.0)
                .attribute_type(pk.1)
                .build()
                .unwrap(),
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(sk)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(pk.0)
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(sk)
                .key_type(KeyType::Range)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn writes_everything_against_moto() {
    let moto = Moto::start();
    let sdk = moto.sdk_config().await;
    let backend = AwsBackend::new(&sdk);
    create_table(
        &backend.dynamodb,
        "invoices",
        ("InvoiceNo", ScalarAttributeType::S),
        "LineKey",
    )
    .await;
    create_table(
        &backend.dynamodb,
        "customers",
        ("CustomerID", ScalarAttributeType::N),
        "InvoiceNo",
    )
    .await;
    backend
        .dynamodb
        .create_table()
        .table_name("updates")
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("Digest")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("Digest")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    backend
        .s3
        .create_bucket()
        .bucket("lake")
        .send()
        .await
        .unwrap();
    let topic = backend
        .sns
        .create_topic()
        .name("alerts")
        .send()
        .await
        .unwrap();
    let topic_arn = topic.topic_arn().unwrap().to_owned();
    backend
        .firehose
        .create_delivery_stream()
        .delivery_stream_name("clean")
        .extended_s3_destination_configuration(
            aws_sdk_firehose::types::ExtendedS3DestinationConfiguration::builder()
                .role_arn("arn:aws:iam::123456789012:role/firehose")
                .bucket_arn("arn:aws:s3:::lake")
                .prefix("clean/")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    let cfg = Config {
        invoices_table: "invoices".into(),
        customers_table: "customers".into(),
        delivery_stream: "clean".into(),
        bucket: "lake".into(),
        topic_arn,
        reject_alert_threshold: 0.1,
        digest: Some(DigestConfig {
            table: "updates".into(),
            interval_seconds: 3600,
            stack: "ecomflow-test".into(),
        }),
        rules: CleaningRules::default(),
        max_attempts: 3,
        base_backoff: Duration::from_millis(10),
    };
    let event: KinesisEvent =
        serde_json::from_str(include_str!("fixtures/kinesis_event.json")).unwrap();
    let out = process_outcome(&event, &cfg, &backend).await;
    assert!(out.failed_sequence_numbers.is_empty(), "{out:?}");
    assert_eq!(
        (out.accepted, out.rejected, out.customers_written),
        (4, 1, 2)
    );
    assert!(out.alerted);
    assert!(out.digested, "the first batch is announced");

    let lines = backend
        .dynamodb
        .query()
        .table_name("invoices")
        .key_condition_expression("InvoiceNo = :i")
        .expression_attribute_values(":i", AttributeValue::S("536365".into()))
        .send()
        .await
        .unwrap();
    assert_eq!(lines.items().len(), 3);
    let cust = backend
        .dynamodb
        .get_item()
        .table_name("customers")
        .key("CustomerID", AttributeValue::N("17850".into()))
        .key("InvoiceNo", AttributeValue::S("536365".into()))
        .send()
        .await
        .unwrap();
    let item = cust.item().unwrap();
    assert_eq!(item["InvoiceTotal"], AttributeValue::N("57.64".into()));
    assert_eq!(item["LineCount"], AttributeValue::N("3".into()));

    let key = out.rejects_key.unwrap();
    let obj = backend
        .s3
        .get_object()
        .bucket("lake")
        .key(&key)
        .send()
        .await
        .unwrap();
    let body = obj.body.collect().await.unwrap().into_bytes();
    let rej: serde_json::Value = serde_json::from_slice(body.trim_ascii()).unwrap();
    assert_eq!(rej["reason"], "bad_date");

    // Processing the same event again changes nothing.
    let again = process_outcome(&event, &cfg, &backend).await;
    assert!(again.failed_sequence_numbers.is_empty());
    let scan = backend
        .dynamodb
        .scan()
        .table_name("invoices")
        .send()
        .await
        .unwrap();
    assert_eq!(scan.items().len(), 4);

    // The digest's conditional updates, as DynamoDB evaluates them: the second batch waits.
    assert!(!again.digested, "inside the interval");
    let digest = || async {
        backend
            .dynamodb
            .get_item()
            .table_name("updates")
            .key("Digest", AttributeValue::S(process::digest::ITEM.into()))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item()
            .cloned()
            .unwrap()
    };
    let item = digest().await;
    assert_eq!(item["Rows"], AttributeValue::N("4".into()), "{item:?}");
    assert_eq!(item["Rejected"], AttributeValue::N("1".into()), "{item:?}");
    let AttributeValue::N(sent) = &item["SentAt"] else {
        panic!("{item:?}")
    };
    let sent: i64 = sent.parse().unwrap();
    let claim = |now, cutoff| backend.digest_claim("updates", now, cutoff);
    assert_eq!(claim(sent + 1, sent - 1).await, Ok(None), "claimed already");
    let claimed = claim(sent + 3600, sent).await.unwrap().unwrap();
    assert_eq!((claimed.rows, claimed.rejected, claimed.batches), (4, 1, 1));
    assert!(claimed.since.is_some());
    assert_eq!(
        claim(sent + 3601, sent).await,
        Ok(None),
        "one claim an interval"
    );
    backend
        .digest_return("updates", &claimed, sent + 3600)
        .await
        .unwrap();
    let item = digest().await;
    assert_eq!(item["Rows"], AttributeValue::N("4".into()), "{item:?}");
    assert!(!item.contains_key("SentAt"), "{item:?}");
    let again = claim(sent + 3602, sent + 3602).await.unwrap().unwrap();
    assert_eq!(again, claimed, "given back whole");
}
