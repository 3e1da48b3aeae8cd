//! Least-privilege IAM roles of the Lambda processors, scoped to this stack's exact ARNs.

use crate::config::{OnFailure, StackConfig};
use crate::model::iam::RoleSpec;
use crate::model::policy::{self, Statement};
use crate::model::{Resource, Tags};
use crate::names::Names;
use serde_json::json;
use std::collections::BTreeMap;

/// The Lambda functions whose roles are declared here.
pub const FUNCTIONS: [&str; 3] = ["ingest", "process", "query"];

/// One role per Lambda function.
pub fn resources(config: &StackConfig, names: &Names, tags: &Tags) -> Vec<Resource> {
    let stream = names.stream_arn(&names.stream());
    let tables = vec![
        names.table_arn(&names.table("invoices")),
        names.table_arn(&names.table("customers")),
    ];
    let bucket = names.lake_bucket();
    let topic = names.topic_arn(&names.alerts_topic());
    let delivery_arn = |stream: String| {
        format!(
            "arn:aws:firehose:{}:{}:deliverystream/{stream}",
            names.region, names.account
        )
    };
    let mut delivery = vec![delivery_arn(super::catalog::delivery_stream_name(names))];
    if super::warehouse::copies(config) {
        delivery.push(delivery_arn(super::warehouse::copy_stream_name(names)));
    }
    FUNCTIONS
        .iter()
        .map(|function| {
            let role_name = names.role(function);
            let logs = Statement::allow(
                "WriteOwnLogs",
                &[
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                ],
                &[names.lambda_log_group_arn(&role_name)],
            );
            let data = match *function {
                "ingest" => vec![
                    Statement::allow("PutRows", &["kinesis:PutRecords"], &[&stream]),
                    // The rows it rejects, under its own prefix only.
                    Statement::allow(
                        "WriteRejects",
                        &["s3:PutObject"],
                        &[format!(
                            "{}/{}*",
                            Names::bucket_arn(&bucket),
                            ingest::REJECTS_PREFIX
                        )],
                    ),
                ],
                "process" => vec![
                    Statement::allow(
                        "ReadStream",
                        &[
                            "kinesis:DescribeStream",
                            "kinesis:DescribeStreamSummary",
                            "kinesis:GetRecords",
                            "kinesis:GetShardIterator",
                            "kinesis:ListShards",
                            "kinesis:SubscribeToShard",
                        ],
                        &[&stream],
                    ),
                    Statement::allow(
                        "WriteTables",
                        &[
                            "dynamodb:BatchWriteItem",
                            "dynamodb:PutItem",
                            "dynamodb:UpdateItem",
                            "dynamodb:Query",
                        ],
                        &tables,
                    ),
                    Statement::allow("DeliverClean", &["firehose:PutRecordBatch"], &delivery),
                    Statement::allow(
                        "WriteRejects",
                        &["s3:PutObject"],
                        &[format!("{}/rejects/dt=*", Names::bucket_arn(&bucket))],
                    ),
                    Statement::allow("Alert", &["sns:Publish"], &[&topic]),
                ]
                .into_iter()
                .chain((config.processing.on_failure == OnFailure::S3).then(|| {
                    // The Kinesis event source mapping writes records it gave up on here.
                    Statement::allow(
                        "KeepFailedBatches",
                        &["s3:PutObject", "s3:ListBucket"],
                        &[
                            Names::bucket_arn(&bucket),
                            format!("{}/aws/lambda/*", Names::bucket_arn(&bucket)),
                        ],
                    )
                }))
                .collect(),
                _ => vec![Statement::allow(
                    "ReadTables",
                    &["dynamodb:GetItem", "dynamodb:Query"],
                    &tables,
                )],
            };
            let mut statements = data;
            statements.push(logs);
            let trust = Statement {
                sid: "LambdaAssumes".into(),
                principal: Some(json!({"Service": "lambda.amazonaws.com"})),
                actions: vec!["sts:AssumeRole".into()],
                ..Statement::default()
            };
            let mut trust_doc = policy::document(&[trust]);
            // A trust policy has no Resource element.
            if let Some(st) = trust_doc["Statement"][0].as_object_mut() {
                st.remove("Resource");
            }
            Resource::new(
                function,
                &RoleSpec {
                    name: role_name,
                    path: names.iam_path(),
                    assume_role_policy: trust_doc,
                    policies: BTreeMap::from([(
                        format!("{function}-least-privilege"),
                        policy::document(&statements),
                    )]),
                    tags: tags.clone(),
                },
            )
        })
        .collect()
}
