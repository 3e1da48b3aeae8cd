//! The Kinesis stream, the DynamoDB tables, the alerts topic with its policy and e-mail
//! subscriptions, and the Firehose delivery stream into the lake.

use super::{tag_list, typed, CfnResource, Mapped};
use crate::model::catalog::DeliveryStreamSpec;
use crate::model::dynamodb::TableSpec;
use crate::model::kinesis::StreamSpec;
use crate::model::sns::{SubscriptionsSpec, TopicSpec};
use crate::model::{Kind, Resource};
use serde_json::json;

pub(super) fn map(r: &Resource) -> Mapped {
    let logical = super::logical_id(&r.address());
    let made = match r.kind {
        Kind::KinesisStream => {
            let s: StreamSpec = typed(r);
            let mut p = json!({
                "Name": s.name,
                "StreamModeDetails": { "StreamMode": s.mode },
                "RetentionPeriodHours": s.retention_hours,
                "Tags": tag_list(&s.tags),
            });
            if let Some(shards) = s.shard_count {
                p["ShardCount"] = json!(shards);
            }
            if let Some(key) = s.kms_key {
                p["StreamEncryption"] = json!({ "EncryptionType": "KMS", "KeyId": key });
            }
            vec![CfnResource::new(logical, "AWS::Kinesis::Stream", p)]
        }
        Kind::DynamodbTable => {
            let t: TableSpec = typed(r);
            let mut keys = vec![(&t.partition_key, "HASH")];
            keys.extend(t.sort_key.as_ref().map(|k| (k, "RANGE")));
            let mut p = json!({
                "TableName": t.name,
                "AttributeDefinitions": keys.iter().map(|(k, _)| json!({
                    "AttributeName": k.name, "AttributeType": k.kind,
                })).collect::<Vec<_>>(),
                "KeySchema": keys.iter().map(|(k, role)| json!({
                    "AttributeName": k.name, "KeyType": role,
                })).collect::<Vec<_>>(),
                "BillingMode": t.billing_mode,
                "PointInTimeRecoverySpecification": { "PointInTimeRecoveryEnabled": t.pitr },
                "DeletionProtectionEnabled": t.deletion_protection,
                "Tags": tag_list(&t.tags),
            });
            if let (Some(read), Some(write)) = (t.read_capacity, t.write_capacity) {
                p["ProvisionedThroughput"] =
                    json!({ "ReadCapacityUnits": read, "WriteCapacityUnits": write });
            }
            // Without it DynamoDB encrypts with a key it owns; with it, with the AWS-managed key.
            if t.sse_kms {
                p["SSESpecification"] = json!({ "SSEEnabled": true, "SSEType": "KMS" });
            }
            vec![CfnResource::new(logical, "AWS::DynamoDB::Table", p)]
        }
        Kind::SnsTopic => {
            let t: TopicSpec = typed(r);
            let mut p = json!({ "TopicName": t.name, "Tags": tag_list(&t.tags) });
            if let Some(key) = t.kms_key {
                p["KmsMasterKeyId"] = json!(key);
            }
            let topic = CfnResource::new(logical.clone(), "AWS::SNS::Topic", p);
            let policy = CfnResource::new(
                format!("{logical}Policy"),
                "AWS::SNS::TopicPolicy",
                json!({ "Topics": [{ "Ref": logical }], "PolicyDocument": t.policy }),
            );
            vec![topic, policy]
        }
        Kind::SnsSubscriptions => {
            let s: SubscriptionsSpec = typed(r);
            s.endpoints
                .iter()
                .enumerate()
                .map(|(i, endpoint)| {
                    CfnResource::new(
                        format!("{logical}{}", i + 1),
                        "AWS::SNS::Subscription",
                        json!({
                            "TopicArn": s.topic_arn,
                            "Protocol": s.protocol,
                            "Endpoint": endpoint,
                        }),
                    )
                })
                .collect()
        }
        Kind::FirehoseDeliveryStream => {
            let d: DeliveryStreamSpec = typed(r);
            let mut destination = json!({
                "BucketARN": d.bucket_arn,
                "RoleARN": d.role_arn,
                "Prefix": d.prefix,
                "ErrorOutputPrefix": d.error_prefix,
                "BufferingHints": {
                    "IntervalInSeconds": d.buffer_seconds,
                    "SizeInMBs": d.buffer_mb,
                },
                "CompressionFormat": d.compression,
            });
            if let Some(c) = &d.parquet {
                destination["DataFormatConversionConfiguration"] = json!({
                    "Enabled": true,
                    "SchemaConfiguration": {
                        "DatabaseName": c.database,
                        "TableName": c.table,
                        "Region": c.region,
                        "RoleARN": c.role_arn,
                        "VersionId": "LATEST",
                    },
                    "InputFormatConfiguration": { "Deserializer": { "OpenXJsonSerDe": {} } },
                    "OutputFormatConfiguration": {
                        "Serializer": { "ParquetSerDe": { "Compression": c.compression } },
                    },
                });
            }
            let mut p = json!({
                "DeliveryStreamName": d.name,
                "DeliveryStreamType": d.stream_type,
                "ExtendedS3DestinationConfiguration": destination,
                "Tags": tag_list(&d.tags),
            });
            if let Some(key_type) = d.encryption {
                p["DeliveryStreamEncryptionConfigurationInput"] = json!({ "KeyType": key_type });
            }
            vec![CfnResource::new(
                logical,
                "AWS::KinesisFirehose::DeliveryStream",
                p,
            )]
        }
        other => unreachable!("{other} is not a streaming kind"),
    };
    Mapped::Resources(made)
}
