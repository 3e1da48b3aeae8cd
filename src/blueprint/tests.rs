use super::*;
use crate::model::{policy, Kind};
use std::collections::HashSet;

fn dev(suffix: Option<&str>) -> Blueprint {
    fixture("dev.yaml", suffix, "123456789012")
}

#[test]
fn declares_the_storage_and_streaming_core() {
    let bp = dev(None);
    let addresses: Vec<String> = bp.resources.iter().map(|r| r.address()).collect();
    for want in [
        "s3_bucket.lake",
        "s3_public_access_block.lake",
        "s3_ownership_controls.lake",
        "s3_encryption.lake",
        "s3_bucket_policy.lake",
        "s3_versioning.lake",
        "s3_lifecycle.lake",
        "kinesis_stream.orders",
        "dynamodb_table.invoices",
        "dynamodb_table.customers",
        "dynamodb_table.updates",
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
    let mapping = bp.get("lambda_event_source_mapping.process").unwrap();
    assert!(mapping
        .depends_on
        .contains(&"kinesis_stream.orders".to_string()));
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

/// Storage updates are digests: the lake's bucket notifies no topic (one message per object
/// would be a storm), and the topic refuses publishers of other accounts.
#[test]
fn storage_updates_are_digests_published_by_the_account() {
    let bp = dev(None);
    assert!(
        !bp.resources
            .iter()
            .any(|r| r.address().starts_with("s3_notification")),
        "no per-object notification"
    );
    let topic: crate::model::sns::TopicSpec = bp.get("sns_topic.alerts").unwrap().typed().unwrap();
    let statements = topic.policy["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 1, "{}", topic.policy);
    assert_eq!(statements[0]["Effect"], "Deny", "{}", topic.policy);
    assert_eq!(
        statements[0]["Condition"]["StringNotEquals"]["aws:PrincipalAccount"],
        serde_json::json!(["123456789012"])
    );
    let subs: crate::model::sns::SubscriptionsSpec =
        bp.get("sns_subscriptions.alerts").unwrap().typed().unwrap();
    assert_eq!(subs.endpoints, ["data-team@example.com"]);
    let process: crate::model::lambda::FunctionSpec =
        bp.get("lambda_function.process").unwrap().typed().unwrap();
    assert_eq!(process.environment["DIGEST_MINUTES"], "60");
    assert_eq!(process.environment["UPDATES_TABLE"], "ecomflow-dev-updates");
    let updates: crate::model::dynamodb::TableSpec =
        bp.get("dynamodb_table.updates").unwrap().typed().unwrap();
    assert_eq!(updates.partition_key.name, "Digest");
    assert!(updates.sort_key.is_none());
}

/// Every service role trusts one service, only for this stack's account (the confused-deputy
/// condition), and names no resource; `trust::Assumer` documents why no role gets
/// `aws:SourceArn`.
#[test]
fn every_role_trust_carries_the_confused_deputy_conditions() {
    let bp = dev(None);
    let mut principals = Vec::new();
    for r in bp.resources.iter().filter(|r| r.kind == Kind::IamRole) {
        let role: crate::model::iam::RoleSpec = r.typed().unwrap();
        let statements = role.assume_role_policy["Statement"].as_array().unwrap();
        assert_eq!(statements.len(), 1, "{}", r.address());
        let st = &statements[0];
        assert_eq!(st["Effect"], "Allow", "{}", r.address());
        assert_eq!(st["Action"], serde_json::json!(["sts:AssumeRole"]));
        assert!(
            st.get("Resource").is_none(),
            "{}: trust names a resource",
            r.address()
        );
        assert_eq!(
            st["Condition"],
            serde_json::json!({"StringEquals": {"aws:SourceAccount": ["123456789012"]}}),
            "{}",
            r.address()
        );
        let principal = st["Principal"]["Service"].as_array().unwrap();
        assert_eq!(principal.len(), 1, "{}", r.address());
        principals.push((r.address(), principal[0].as_str().unwrap().to_string()));
    }
    principals.sort();
    let want = [
        ("iam_role.firehose", "firehose.amazonaws.com"),
        ("iam_role.glue", "glue.amazonaws.com"),
        ("iam_role.ingest", "lambda.amazonaws.com"),
        ("iam_role.process", "lambda.amazonaws.com"),
        ("iam_role.query", "lambda.amazonaws.com"),
        ("iam_role.redshift-copy", "redshift.amazonaws.com"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(a, p)| (a.to_string(), p.to_string()))
        .collect();
    assert_eq!(principals, want);
}

/// The user pool admits no self-registration, and the app client's settings are the secure
/// ones, each lifetime inside the range Cognito documents (see `api.rs`).
#[test]
fn user_pool_and_app_client_are_locked_down() {
    let bp = dev(None);
    let pool: crate::model::cognito::UserPoolSpec =
        bp.get("cognito_user_pool.users").unwrap().typed().unwrap();
    assert!(pool.admin_create_user_only);
    let client: crate::model::cognito::AppClientSpec =
        bp.get("cognito_app_client.app").unwrap().typed().unwrap();
    assert_eq!(client.prevent_user_existence_errors, "ENABLED");
    assert!(client.enable_token_revocation);
    let minutes = |t: &crate::model::cognito::TokenValidity| t.seconds().unwrap() / 60;
    assert_eq!(minutes(&client.lifetimes.id), 60);
    assert_eq!(minutes(&client.lifetimes.access), 60);
    assert_eq!(minutes(&client.lifetimes.refresh), 30 * 24 * 60);
    assert_eq!(client.lifetimes.auth_session_minutes, 3);
    // Cognito's ranges: ID and access tokens 5 minutes to 1 day, refresh tokens 60 minutes
    // to 10 years, AuthSessionValidity 3 to 15 minutes.
    for t in [&client.lifetimes.id, &client.lifetimes.access] {
        assert!((5..=24 * 60).contains(&minutes(t)), "{t:?}");
    }
    assert!((60..=10 * 365 * 24 * 60).contains(&minutes(&client.lifetimes.refresh)));
    assert!((3..=15).contains(&client.lifetimes.auth_session_minutes));
}

/// The process role reads the stream as the event source mapping does (a standard iterator),
/// without kinesis:SubscribeToShard, which authorises on an enhanced fan-out consumer only.
#[test]
fn process_role_reads_the_stream_without_enhanced_fan_out() {
    let bp = dev(None);
    let role: crate::model::iam::RoleSpec = bp.get("iam_role.process").unwrap().typed().unwrap();
    let actions: Vec<String> = role
        .policies
        .values()
        .flat_map(policy::statements)
        .flat_map(|(_, actions, _)| actions)
        .collect();
    assert!(actions.contains(&"kinesis:GetRecords".to_string()));
    assert!(!actions.contains(&"kinesis:SubscribeToShard".to_string()));
}
