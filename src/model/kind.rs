//! The resource kinds and what the generic engine needs to know about each.

use serde::{Deserialize, Serialize};

/// The AWS service a kind belongs to (for rate limits and clients).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    /// Amazon S3.
    S3,
    /// AWS IAM.
    Iam,
    /// Kinesis Data Streams.
    Kinesis,
    /// DynamoDB.
    DynamoDb,
    /// SNS.
    Sns,
    /// Lambda.
    Lambda,
    /// API Gateway (REST APIs).
    ApiGateway,
    /// Cognito user pools.
    Cognito,
    /// Glue Data Catalog and ETL.
    Glue,
    /// Kinesis Data Firehose.
    Firehose,
    /// Redshift (provisioned clusters and the Data API).
    Redshift,
    /// CloudWatch Logs.
    Logs,
    /// Athena (workgroups).
    Athena,
    /// KMS (customer-managed keys).
    Kms,
    /// AWS WAF (regional web ACLs).
    Waf,
}

impl Service {
    /// Every service, for per-service clients and limits.
    pub const ALL: [Service; 15] = [
        Service::S3,
        Service::Iam,
        Service::Kinesis,
        Service::DynamoDb,
        Service::Sns,
        Service::Lambda,
        Service::ApiGateway,
        Service::Cognito,
        Service::Glue,
        Service::Firehose,
        Service::Redshift,
        Service::Logs,
        Service::Athena,
        Service::Kms,
        Service::Waf,
    ];
}

/// The registry: every kind, its facts and its provider, in one table, in the order the leak
/// sweep lists them. A kind added here is declared, listed in [`Kind::ALL`] (which the sweep
/// and `gc` walk), described by [`Kind::info`] and driven by its provider, all at once.
///
/// The table is a macro that hands its rows to `$callback`: this module makes the enum and its
/// facts from it, and `crate::aws` the provider match. The provider column is only tokens
/// here, so the pure core does not depend on the I/O layer.
///
/// Row: doc, variant, address name, service, fields whose change forces replacement, secret
/// fields, stateful (holds data), taggable (own ownership tags, found by listing), the parent
/// kind it is a listed member of (see [`Kind::members_of`]), provider.
macro_rules! kind_table {
    ($callback:ident) => {
        $callback! {
            /// An S3 bucket (name and tags).
            S3Bucket = "s3_bucket", S3, ["name"], [], true, true, None, s3::Bucket;
            /// The public access block of a bucket.
            S3PublicAccessBlock = "s3_public_access_block", S3, ["bucket"], [], false, false, None, s3::PublicAccessBlock;
            /// The Object Ownership of a bucket (ACLs disabled or not).
            S3OwnershipControls = "s3_ownership_controls", S3, ["bucket"], [], false, false, None, s3::OwnershipControls;
            /// The default encryption of a bucket.
            S3Encryption = "s3_encryption", S3, ["bucket"], [], false, false, None, s3::Encryption;
            /// The bucket policy.
            S3BucketPolicy = "s3_bucket_policy", S3, ["bucket"], [], false, false, None, s3::BucketPolicy;
            /// Bucket versioning.
            S3Versioning = "s3_versioning", S3, ["bucket"], [], false, false, None, s3::Versioning;
            /// Bucket lifecycle rules.
            S3Lifecycle = "s3_lifecycle", S3, ["bucket"], [], false, false, None, s3::Lifecycle;
            /// A customer-managed KMS key (Glue's logs and bookmarks, the alerts topic).
            KmsKey = "kms_key", Kms, ["alias"], [], true, true, None, kms::Key;
            /// Server access logging of a bucket into another.
            S3Logging = "s3_logging", S3, ["bucket"], [], false, false, None, s3::Logging;
            /// An IAM role with inline policies.
            IamRole = "iam_role", Iam, ["name", "path"], [], false, true, None, iam::Role;
            /// A Kinesis Data Stream.
            KinesisStream = "kinesis_stream", Kinesis, ["name"], [], true, true, None, kinesis::Stream;
            /// A DynamoDB table.
            DynamodbTable = "dynamodb_table", DynamoDb, ["name", "partition_key", "sort_key"], [], true, true, None, dynamodb::Table;
            /// An SNS topic with its policy.
            SnsTopic = "sns_topic", Sns, ["name"], [], false, true, None, sns::Topic;
            /// The set of e-mail subscriptions of an SNS topic.
            SnsSubscriptions = "sns_subscriptions", Sns, ["topic_arn", "protocol"], [], false, false, None, sns::Subscriptions;
            /// A Lambda function (code from `ecomflow-infra build`).
            LambdaFunction = "lambda_function", Lambda, ["name"], [], false, true, None, lambda::Function;
            /// A Kinesis -> Lambda event source mapping.
            LambdaEventSourceMapping = "lambda_event_source_mapping", Lambda, ["function_name", "event_source_arn", "starting_position"], [], false, false, Some(Kind::LambdaFunction), lambda::EventSourceMapping;
            /// A resource-policy statement letting a service invoke a function.
            LambdaPermission = "lambda_permission", Lambda, ["function_name", "statement_id"], [], false, false, None, lambda::Permission;
            /// A Cognito user pool.
            CognitoUserPool = "cognito_user_pool", Cognito, ["name", "username_case_sensitive", "alias_attributes"], [], true, true, None, cognito::UserPool;
            /// A Cognito app client.
            CognitoAppClient = "cognito_app_client", Cognito, ["name", "user_pool", "generate_secret"], [], false, false, None, cognito::AppClient;
            /// A Cognito group.
            CognitoGroup = "cognito_group", Cognito, ["name", "user_pool"], [], false, false, None, cognito::Group;
            /// An API Gateway REST API with its routes, integrations and authorizer.
            ApigwRestApi = "apigw_rest_api", ApiGateway, ["name"], [], false, true, None, apigateway::Api;
            /// An AWS WAF web ACL in front of the API stage (per-IP rate limit, known bad inputs).
            WafWebAcl = "waf_web_acl", Waf, ["name"], [], false, true, None, waf::WebAcl;
            /// An API Gateway stage (deployment and throttling).
            ApigwStage = "apigw_stage", ApiGateway, ["api", "stage"], [], false, false, Some(Kind::ApigwRestApi), apigateway::Stage;
            /// An S3 object uploaded from the repository (e.g. the Glue job script).
            S3Object = "s3_object", S3, ["bucket", "key"], [], false, false, Some(Kind::S3Bucket), s3::Object;
            /// A Glue database.
            GlueDatabase = "glue_database", Glue, ["name"], [], false, true, None, glue::Catalog(glue::Database);
            /// A Glue table.
            GlueTable = "glue_table", Glue, ["database", "name"], [], false, false, None, glue::Table;
            /// A Glue crawler.
            GlueCrawler = "glue_crawler", Glue, ["name"], [], false, true, None, glue::Catalog(glue::Crawler);
            /// A Glue security configuration (encryption of what the ETL job's runs write).
            GlueSecurityConfiguration = "glue_security_configuration", Glue, ["name", "s3_encryption", "cloudwatch_encryption", "bookmarks_encryption", "kms_key"], [], false, false, None, glue::SecurityConfiguration;
            /// A Glue ETL job.
            GlueJob = "glue_job", Glue, ["name"], [], false, true, None, glue::Catalog(glue::Job);
            /// A Firehose delivery stream.
            FirehoseDeliveryStream = "firehose_delivery_stream", Firehose, ["name", "stream_type"], [], false, true, None, firehose::DeliveryStream;
            /// A Redshift cluster parameter group (TLS required, user activity logged).
            RedshiftParameterGroup = "redshift_parameter_group", Redshift, ["name", "family", "description"], [], false, true, None, redshift::ParameterGroup;
            /// A Redshift cluster.
            RedshiftCluster = "redshift_cluster", Redshift, ["identifier", "database", "master_username", "encrypted"], [], true, true, None, redshift::Cluster;
            /// A CloudWatch Logs log group (the API stage's access logs).
            LogGroup = "log_group", Logs, ["name"], [], false, true, None, logs::LogGroup;
            /// An Athena workgroup (query results location and encryption, enforced).
            AthenaWorkgroup = "athena_workgroup", Athena, ["name"], [], false, true, None, athena::Workgroup;
            /// An S3 event integration of the lake into the cluster (for its COPY jobs).
            RedshiftIntegration = "redshift_integration", Redshift, ["name", "source_arn", "targets_cluster"], [], false, true, None, redshift::Integration;
            /// Tables and COPY jobs created in Redshift through the Data API.
            RedshiftSchema = "redshift_schema", Redshift, ["cluster", "database", "table", "ddl_sha256"], [], true, false, None, redshift::Schema;
        }
    };
}
pub(crate) use kind_table;

/// The enum, its list and its facts, from the rows of [`kind_table`].
macro_rules! define_kinds {
    ($(
        $(#[$doc:meta])*
        $variant:ident = $name:literal, $service:ident, [$($replace:literal),*], [$($secret:literal),*],
        $stateful:literal, $taggable:literal, $members:expr, $provider:expr;
    )*) => {
        /// Every kind of resource the blueprint can declare.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Kind {
            $($(#[$doc])* $variant,)*
        }

        impl Kind {
            /// All kinds, in the order the leak sweep lists them.
            pub const ALL: [Kind; [$($name),*].len()] = [$(Kind::$variant),*];

            /// The static facts about this kind.
            pub fn info(self) -> KindInfo {
                match self {
                    $(Kind::$variant => KindInfo {
                        name: $name,
                        service: Service::$service,
                        replace: &[$($replace),*],
                        secret: &[$($secret),*],
                        stateful: $stateful,
                        taggable: $taggable,
                    },)*
                }
            }

            /// For sub-resources that a config can add or remove on their own (a stage
            /// renamed, the event source mapping or the Redshift COPY stream's JSONPaths file
            /// switched off): the kind of their parent, whose live members the engine lists so
            /// that the undeclared ones are deleted instead of left behind. Other
            /// sub-resources are a fixed part of their parent's declaration and go with it.
            /// Cognito groups are not listed: `users sync` makes groups in the same pool from
            /// `cognito-users.yaml`, so a group the stack file no longer declares may still be
            /// the users file's.
            pub fn members_of(self) -> Option<Kind> {
                match self {
                    $(Kind::$variant => $members,)*
                }
            }
        }
    };
}

kind_table!(define_kinds);

/// What the engine and the diff know about a kind.
#[derive(Debug, Clone, Copy)]
pub struct KindInfo {
    /// The name used in addresses, e.g. `s3_bucket`.
    pub name: &'static str,
    /// The service it belongs to.
    pub service: Service,
    /// Spec fields (dotted paths) whose change forces replacement.
    pub replace: &'static [&'static str],
    /// Spec fields that are secret and redacted in every output.
    pub secret: &'static [&'static str],
    /// Holds data: replacing or deleting it outside `destroy` needs `--allow-replace`.
    pub stateful: bool,
    /// Carries its own ownership tags and can be found by listing the service.
    pub taggable: bool,
}

impl Kind {
    /// For a sub-resource (one owned through its owner's tags): AWS deletes it with its
    /// owner (a bucket's settings, a stage, a subscription), so `destroy` deletes only the
    /// owner. A Glue security configuration is the exception: Glue cannot tag it, so it is
    /// owned through the Glue role, but it outlives the role and is deleted itself.
    pub fn goes_with_owner(self) -> bool {
        self != Kind::GlueSecurityConfiguration
    }

    /// Parses an address prefix such as `s3_bucket`.
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.info().name == name)
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.info().name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The list the sweep walks holds each kind once, under the name its addresses and plans
    /// use.
    #[test]
    fn every_variant_is_listed_once_with_its_own_name() {
        for kind in Kind::ALL {
            let listed = Kind::ALL.iter().filter(|k| **k == kind).count();
            assert_eq!(listed, 1, "{kind:?}");
            assert_eq!(Kind::from_name(kind.info().name), Some(kind));
            let serde_name = serde_json::to_value(kind).unwrap();
            assert_eq!(
                serde_name,
                kind.info().name,
                "the address name is the serde name"
            );
        }
        let names: std::collections::BTreeSet<_> =
            Kind::ALL.iter().map(|k| k.info().name).collect();
        assert_eq!(names.len(), Kind::ALL.len());
    }
}
