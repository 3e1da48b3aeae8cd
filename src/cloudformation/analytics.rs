//! The Glue catalog and ETL job, the Athena workgroup and the Redshift warehouse. The tables
//! made inside the cluster have no CloudFormation equivalent.

use super::{tag_list, typed, CfnResource, Mapped, Scope};
use crate::model::athena::WorkgroupSpec;
use crate::model::catalog::{
    CrawlerSpec, DatabaseSpec, JobSpec, SecurityConfigurationSpec, TableSpec,
};
use crate::model::redshift::{ClusterSpec, IntegrationSpec, ParameterGroupSpec, SchemaSpec};
use crate::model::{Kind, Resource};
use serde_json::{json, Value};

pub(super) fn map(r: &Resource, scope: &Scope) -> Mapped {
    let logical = super::logical_id(&r.address());
    let catalog = json!({ "Ref": "AWS::AccountId" });
    let made = match r.kind {
        Kind::GlueDatabase => {
            // AWS::Glue::Database takes no tags: `apply` tags it, a template cannot.
            let d: DatabaseSpec = typed(r);
            CfnResource::new(
                logical,
                "AWS::Glue::Database",
                json!({
                    "CatalogId": catalog,
                    "DatabaseInput": { "Name": d.name, "Description": d.description },
                }),
            )
        }
        Kind::GlueTable => {
            let t: TableSpec = typed(r);
            let columns = |cols: &[crate::model::catalog::Column]| -> Value {
                cols.iter()
                    .map(|c| json!({ "Name": c.name, "Type": c.kind }))
                    .collect()
            };
            CfnResource::new(
                logical,
                "AWS::Glue::Table",
                json!({
                    "CatalogId": catalog,
                    "DatabaseName": t.database,
                    "TableInput": {
                        "Name": t.name,
                        "TableType": t.table_type,
                        "Parameters": t.parameters,
                        "PartitionKeys": columns(&t.partition_keys),
                        "StorageDescriptor": {
                            "Location": t.location,
                            "Columns": columns(&t.columns),
                            "InputFormat": t.input_format,
                            "OutputFormat": t.output_format,
                            "SerdeInfo": {
                                "SerializationLibrary": t.serde,
                                "Parameters": t.serde_parameters,
                            },
                        },
                    },
                }),
            )
        }
        Kind::GlueCrawler => {
            let c: CrawlerSpec = typed(r);
            let mut p = json!({
                "Name": c.name,
                "Role": c.role,
                "DatabaseName": c.database,
                "Targets": { "CatalogTargets": [{ "DatabaseName": c.database, "Tables": c.tables }] },
                "SchemaChangePolicy": {
                    "UpdateBehavior": c.update_behavior,
                    "DeleteBehavior": c.delete_behavior,
                },
                "Configuration": c.configuration.to_string(),
                "Tags": c.tags,
            });
            if let Some(schedule) = c.schedule {
                p["Schedule"] = json!({ "ScheduleExpression": schedule });
            }
            CfnResource::new(logical, "AWS::Glue::Crawler", p)
        }
        Kind::GlueSecurityConfiguration => {
            let s: SecurityConfigurationSpec = typed(r);
            let with_key = |mode_key: &str, mode: &str| {
                let mut v = json!({ mode_key: mode });
                if mode != "DISABLED" {
                    if let Some(key) = &s.kms_key {
                        v["KmsKeyArn"] = json!(key);
                    }
                }
                v
            };
            CfnResource::new(
                logical,
                "AWS::Glue::SecurityConfiguration",
                json!({
                    "Name": s.name,
                    "EncryptionConfiguration": {
                        "S3Encryptions": [with_key("S3EncryptionMode", &s.s3_encryption)],
                        "CloudWatchEncryption": with_key("CloudWatchEncryptionMode", &s.cloudwatch_encryption),
                        "JobBookmarksEncryption": with_key("JobBookmarksEncryptionMode", &s.bookmarks_encryption),
                    },
                }),
            )
        }
        Kind::GlueJob => {
            let j: JobSpec = typed(r);
            let mut p = json!({
                "Name": j.name,
                "Role": j.role,
                "Command": {
                    "Name": j.command,
                    "ScriptLocation": j.script_location,
                    "PythonVersion": j.python_version,
                },
                "GlueVersion": j.glue_version,
                "WorkerType": j.worker_type,
                "NumberOfWorkers": j.workers,
                "Timeout": j.timeout_minutes,
                "MaxRetries": j.max_retries,
                "DefaultArguments": j.default_arguments,
                "Tags": j.tags,
            });
            if !j.connections.is_empty() {
                p["Connections"] = json!({ "Connections": j.connections });
            }
            if let Some(security) = j.security_configuration {
                p["SecurityConfiguration"] = json!(security);
            }
            CfnResource::new(logical, "AWS::Glue::Job", p)
        }
        Kind::AthenaWorkgroup => {
            let w: WorkgroupSpec = typed(r);
            let mut encryption = json!({ "EncryptionOption": w.encryption });
            if let Some(key) = w.kms_key {
                encryption["KmsKey"] = json!(key);
            }
            let mut configuration = json!({
                "EnforceWorkGroupConfiguration": w.enforce,
                "PublishCloudWatchMetricsEnabled": w.publish_metrics,
                "ResultConfiguration": {
                    "OutputLocation": w.output_location,
                    "EncryptionConfiguration": encryption,
                    "ExpectedBucketOwner": w.expected_bucket_owner,
                },
            });
            if let Some(cutoff) = w.bytes_scanned_cutoff {
                configuration["BytesScannedCutoffPerQuery"] = json!(cutoff);
            }
            CfnResource::new(
                logical,
                "AWS::Athena::WorkGroup",
                json!({
                    "Name": w.name,
                    "Description": w.description,
                    "State": "ENABLED",
                    "WorkGroupConfiguration": configuration,
                    "Tags": tag_list(&w.tags),
                }),
            )
        }
        Kind::RedshiftParameterGroup => {
            let g: ParameterGroupSpec = typed(r);
            let parameters: Vec<Value> = g
                .parameters
                .iter()
                .map(|(k, v)| json!({ "ParameterName": k, "ParameterValue": v }))
                .collect();
            CfnResource::new(
                logical,
                "AWS::Redshift::ClusterParameterGroup",
                json!({
                    "ParameterGroupName": g.name,
                    "ParameterGroupFamily": g.family,
                    "Description": g.description,
                    "Parameters": parameters,
                    "Tags": tag_list(&g.tags),
                }),
            )
        }
        Kind::RedshiftCluster => {
            let c: ClusterSpec = typed(r);
            // The master password stays managed by AWS Secrets Manager: never in a template.
            let mut p = json!({
                "ClusterIdentifier": c.identifier,
                "NodeType": c.node_type,
                "ClusterType": if c.nodes > 1 { "multi-node" } else { "single-node" },
                "DBName": c.database,
                "MasterUsername": c.master_username,
                "ManageMasterPassword": true,
                "Encrypted": c.encrypted,
                "PubliclyAccessible": c.publicly_accessible,
                "IamRoles": c.iam_roles,
                "ClusterParameterGroupName": c.parameter_group,
                "Tags": tag_list(&c.tags),
            });
            if c.nodes > 1 {
                p["NumberOfNodes"] = json!(c.nodes);
            }
            if !c.audit_logs.is_empty() {
                p["LoggingProperties"] =
                    json!({ "LogDestinationType": "cloudwatch", "LogExports": c.audit_logs });
            }
            CfnResource::new(logical, "AWS::Redshift::Cluster", p)
        }
        Kind::RedshiftIntegration => {
            let i: IntegrationSpec = typed(r);
            return Mapped::Elsewhere {
                what: format!(
                    "the S3 event integration {} of {} into the cluster {}, and the resource policy on the cluster's namespace that it needs",
                    i.name,
                    scope.shown(&i.source_arn),
                    i.cluster
                ),
                instead: format!(
                    "aws redshift put-resource-policy --resource-arn <the cluster's namespace ARN> --policy <see `ecomflow-infra plan`>; aws redshift create-integration --integration-name {} --source-arn {} --target-arn <the cluster's namespace ARN>",
                    i.name,
                    scope.shown(&i.source_arn)
                ),
            };
        }
        Kind::RedshiftSchema => {
            let s: SchemaSpec = typed(r);
            return Mapped::Elsewhere {
                what: format!(
                    "the table {}.{} in the cluster {} (Redshift DDL, run through the Redshift Data API): {}",
                    s.database,
                    s.table,
                    s.cluster,
                    scope.shown(&s.ddl)
                ),
                instead: format!(
                    "aws redshift-data execute-statement --cluster-identifier {} --database {} --sql <the DDL above> (as the master user, with its managed secret: --secret-arn)",
                    s.cluster, s.database
                ),
            };
        }
        other => unreachable!("{other} is not an analytics kind"),
    };
    Mapped::Resources(vec![made])
}
