use super::*;
use crate::config::load_str;
use crate::model::{policy, Kind};
use crate::names::{instance_name, Names};
use std::collections::HashSet;

fn dev(suffix: Option<&str>) -> Blueprint {
    let yaml =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/stacks/dev.yaml")).unwrap();
    let config = load_str("dev.yaml", &yaml, suffix).unwrap();
    let names = Names::new(
        instance_name(&config.app, &config.env, suffix),
        "123456789012",
        "us-east-1",
    );
    build(
        &config,
        &Context {
            names,
            expires_at: suffix.map(|_| "2030-01-01T00:00:00Z".to_string()),
            created_at: suffix.map(|_| "2029-12-31T00:00:00Z".to_string()),
            lambda_code: FUNCTIONS
                .iter()
                .map(|f| {
                    let code = LambdaCode {
                        zip_path: format!("target/lambda/{f}/bootstrap.zip"),
                        code_sha256: "c2hhMjU2".into(),
                    };
                    (f.to_string(), code)
                })
                .collect(),
        },
    )
}

#[test]
fn declares_the_storage_and_streaming_core() {
    let bp = dev(None);
    let addresses: Vec<String> = bp.resources.iter().map(|r| r.address()).collect();
    for want in [
        "s3_bucket.lake",
        "s3_public_access_block.lake",
        "s3_encryption.lake",
        "s3_bucket_policy.lake",
        "s3_versioning.lake",
        "s3_lifecycle.lake",
        "s3_notification.lake",
        "kinesis_stream.orders",
        "dynamodb_table.invoices",
        "dynamodb_table.customers",
        "sns_topic.alerts",
        "sns_subscriptions.alerts",
        "iam_role.ingest",
        "iam_role.process",
        "iam_role.query",
    ] {
        assert!(addresses.iter().any(|a| a == want), "missing {want}");
    }
    let unique: HashSet<_> = addresses.iter().collect();
    assert_eq!(unique.len(), addresses.len(), "addresses are unique");
}

#[test]
fn edges_point_at_declared_resources() {
    let bp = dev(None);
    for r in &bp.resources {
        for d in r.depends_on.iter().chain(r.owner.iter()) {
            assert!(
                bp.get(d).is_some(),
                "{} depends on undeclared {d}",
                r.address()
            );
        }
    }
    let notification = bp.get("s3_notification.lake").unwrap();
    assert!(notification
        .depends_on
        .contains(&"sns_topic.alerts".to_string()));
    assert!(notification
        .depends_on
        .contains(&"s3_bucket.lake".to_string()));
}

#[test]
fn every_taggable_resource_carries_ownership_tags() {
    let bp = dev(Some("pr-9"));
    for r in bp.resources.iter().filter(|r| r.kind.info().taggable) {
        let tags = crate::model::spec_tags(&r.spec).unwrap();
        assert_eq!(
            tags["ecomflow:stack"],
            "ecomflow-dev-pr-9",
            "{}",
            r.address()
        );
        assert_eq!(tags["ecomflow:managed-by"], "ecomflow-infra");
        assert_eq!(tags["ecomflow:expires-at"], "2030-01-01T00:00:00Z");
        assert_eq!(tags["ecomflow:created-at"], "2029-12-31T00:00:00Z");
        // Glue catalog names use `_` where the instance has `-`.
        assert!(
            r.physical.starts_with("ecomflow-dev-pr-9-")
                || r.physical.starts_with("ecomflow_dev_pr_9_"),
            "{}",
            r.physical
        );
    }
    let prod_like = dev(None);
    let tags = crate::model::spec_tags(&prod_like.get("s3_bucket.lake").unwrap().spec).unwrap();
    assert!(!tags.contains_key("ecomflow:expires-at"));
    assert!(!tags.contains_key("ecomflow:created-at"));
}

#[test]
fn tables_have_the_declared_keys() {
    let bp = dev(None);
    let t: crate::model::dynamodb::TableSpec =
        bp.get("dynamodb_table.invoices").unwrap().typed().unwrap();
    assert_eq!(
        (
            t.partition_key.name.as_str(),
            t.sort_key.unwrap().name.as_str()
        ),
        ("InvoiceNo", "LineKey")
    );
    assert_eq!(t.billing_mode, "PAY_PER_REQUEST");
    assert!(t.pitr && t.sse_kms);
    let c: crate::model::dynamodb::TableSpec =
        bp.get("dynamodb_table.customers").unwrap().typed().unwrap();
    assert_eq!(
        (c.partition_key.name.as_str(), c.partition_key.kind.as_str()),
        ("CustomerID", "N")
    );
    assert_eq!(c.sort_key.unwrap().name, "InvoiceNo");
}

#[test]
fn iam_policies_are_scoped_to_this_stacks_arns() {
    let bp = dev(None);
    for r in bp.resources.iter().filter(|r| r.kind == Kind::IamRole) {
        let role: crate::model::iam::RoleSpec = r.typed().unwrap();
        for doc in role.policies.values() {
            for (effect, actions, resources) in policy::statements(doc) {
                assert_eq!(effect, "Allow");
                assert!(
                    !actions.iter().any(|a| a.contains('*')),
                    "{}: wildcard action",
                    r.address()
                );
                assert!(!resources.is_empty());
                for res in resources {
                    assert!(res != "*", "{}: * resource", r.address());
                    // This stack's ARNs; Glue's catalog ARN of this account and region (which
                    // catalog actions require) and Glue's fixed log groups are the exceptions.
                    let glue_fixed = res == "arn:aws:glue:us-east-1:123456789012:catalog"
                        || res.starts_with(
                            "arn:aws:logs:us-east-1:123456789012:log-group:/aws-glue/",
                        );
                    assert!(
                        res.contains("ecomflow-dev-")
                            || res.contains("ecomflow_dev_")
                            || glue_fixed,
                        "{}: {res} is not this stack's",
                        r.address()
                    );
                }
            }
        }
    }
}

#[test]
fn bucket_is_locked_down() {
    let bp = dev(None);
    let pab: crate::model::s3::PublicAccessBlockSpec = bp
        .get("s3_public_access_block.lake")
        .unwrap()
        .typed()
        .unwrap();
    assert!(
        pab.block_public_acls
            && pab.ignore_public_acls
            && pab.block_public_policy
            && pab.restrict_public_buckets
    );
    let pol: crate::model::s3::BucketPolicySpec =
        bp.get("s3_bucket_policy.lake").unwrap().typed().unwrap();
    let st = &pol.policy["Statement"][0];
    assert_eq!(st["Effect"], "Deny");
    assert_eq!(
        st["Condition"]["Bool"]["aws:SecureTransport"],
        serde_json::json!(["false"])
    );
    let enc: crate::model::s3::EncryptionSpec =
        bp.get("s3_encryption.lake").unwrap().typed().unwrap();
    assert_eq!(enc.algorithm, "AES256");
    let life: crate::model::s3::LifecycleSpec =
        bp.get("s3_lifecycle.lake").unwrap().typed().unwrap();
    let rejects = life.rules.iter().find(|r| r.prefix == "rejects/").unwrap();
    assert_eq!(rejects.expire_days, Some(30));
    let stream: crate::model::kinesis::StreamSpec =
        bp.get("kinesis_stream.orders").unwrap().typed().unwrap();
    assert_eq!(stream.kms_key.as_deref(), Some("alias/aws/kinesis"));
}

#[test]
fn topic_allows_only_the_lake_to_publish() {
    let bp = dev(None);
    let topic: crate::model::sns::TopicSpec = bp.get("sns_topic.alerts").unwrap().typed().unwrap();
    let st = &topic.policy["Statement"][0];
    assert_eq!(
        st["Principal"]["Service"],
        serde_json::json!(["s3.amazonaws.com"])
    );
    assert_eq!(
        st["Condition"]["ArnLike"]["aws:SourceArn"],
        serde_json::json!(["arn:aws:s3:::ecomflow-dev-lake-123456789012-us-east-1"])
    );
    let n: crate::model::s3::NotificationSpec =
        bp.get("s3_notification.lake").unwrap().typed().unwrap();
    assert_eq!(n.topics[0].prefix, "clean/");
    let subs: crate::model::sns::SubscriptionsSpec =
        bp.get("sns_subscriptions.alerts").unwrap().typed().unwrap();
    assert_eq!(subs.endpoints, ["data-team@example.com"]);
}
