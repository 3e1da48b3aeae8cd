//! Least-privilege IAM roles of the Lambda processors, scoped to this stack's exact ARNs.

use super::trust::{trust, Assumer};
use crate::config::{OnFailure, StackConfig};
use crate::model::iam::RoleSpec;
use crate::model::policy::{self, Statement};
use crate::model::{Resource, Tags};
use crate::names::Names;
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
    let delivery = vec![delivery_arn(super::catalog::delivery_stream_name(names))];
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
                    // What the event source mapping reads the stream with (a standard
                    // iterator). No kinesis:SubscribeToShard: it is for enhanced fan-out
                    // consumers and authorises on a consumer's ARN, never a stream's
                    // (<https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonkinesis.html>),
                    // so granted here it allowed nothing (parliament: RESOURCE_MISMATCH).
                    Statement::allow(
                        "ReadStream",
                        &[
                            "kinesis:DescribeStream",
                            "kinesis:DescribeStreamSummary",
                            "kinesis:GetRecords",
                            "kinesis:GetShardIterator",
                            "kinesis:ListShards",
                        ],
                        &[&stream],
                    ),
                    Statement::allow(
                        "WriteTables",
                        &[
                            "dynamodb:BatchWriteItem",
                            "dynamodb:PutItem",
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
                    Statement::allow(
                        "KeepDigest",
                        &["dynamodb:UpdateItem"],
                        &[names.table_arn(&names.table(super::tables::UPDATES))],
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
            Resource::new(
                function,
                &RoleSpec {
                    name: role_name,
                    path: names.iam_path(),
                    assume_role_policy: trust(Assumer::Lambda, names),
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
