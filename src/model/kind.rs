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
}

impl Service {
    /// Every service, for per-service clients and limits.
    pub const ALL: [Service; 11] = [
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
    ];
}

/// Every kind of resource the blueprint can declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// An S3 bucket (name and tags).
    S3Bucket,
    /// The public access block of a bucket.
    S3PublicAccessBlock,
    /// The default encryption of a bucket.
    S3Encryption,
    /// The bucket policy.
    S3BucketPolicy,
    /// Bucket versioning.
    S3Versioning,
    /// Bucket lifecycle rules.
    S3Lifecycle,
    /// Bucket event notifications.
    S3Notification,
    /// An IAM role with inline policies.
    IamRole,
    /// A Kinesis Data Stream.
    KinesisStream,
    /// A DynamoDB table.
    DynamodbTable,
    /// An SNS topic with its policy.
    SnsTopic,
    /// The set of e-mail subscriptions of an SNS topic.
    SnsSubscriptions,
    /// A Lambda function (code from `ecomflow-infra build`).
    LambdaFunction,
    /// A Kinesis -> Lambda event source mapping.
    LambdaEventSourceMapping,
    /// A resource-policy statement letting a service invoke a function.
    LambdaPermission,
    /// A Cognito user pool.
    CognitoUserPool,
    /// A Cognito app client.
    CognitoAppClient,
    /// A Cognito group.
    CognitoGroup,
    /// An API Gateway REST API with its routes, integrations and authorizer.
    ApigwRestApi,
    /// An API Gateway stage (deployment and throttling).
    ApigwStage,
    /// An S3 object uploaded from the repository (e.g. the Glue job script).
    S3Object,
    /// A Glue database.
    GlueDatabase,
    /// A Glue table.
    GlueTable,
    /// A Glue crawler.
    GlueCrawler,
    /// A Glue JDBC connection.
    GlueConnection,
    /// A Glue ETL job.
    GlueJob,
    /// A Firehose delivery stream.
    FirehoseDeliveryStream,
    /// A Redshift cluster.
    RedshiftCluster,
    /// Tables created in Redshift through the Data API.
    RedshiftSchema,
}

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
    /// All kinds, in the order the leak sweep lists them.
    pub const ALL: [Kind; 29] = [
        Kind::S3Bucket,
        Kind::S3PublicAccessBlock,
        Kind::S3Encryption,
        Kind::S3BucketPolicy,
        Kind::S3Versioning,
        Kind::S3Lifecycle,
        Kind::S3Notification,
        Kind::IamRole,
        Kind::KinesisStream,
        Kind::DynamodbTable,
        Kind::SnsTopic,
        Kind::SnsSubscriptions,
        Kind::LambdaFunction,
        Kind::LambdaEventSourceMapping,
        Kind::LambdaPermission,
        Kind::CognitoUserPool,
        Kind::CognitoAppClient,
        Kind::CognitoGroup,
        Kind::ApigwRestApi,
        Kind::ApigwStage,
        Kind::S3Object,
        Kind::GlueDatabase,
        Kind::GlueTable,
        Kind::GlueCrawler,
        Kind::GlueConnection,
        Kind::GlueJob,
        Kind::FirehoseDeliveryStream,
        Kind::RedshiftCluster,
        Kind::RedshiftSchema,
    ];

    /// The static facts about this kind.
    pub fn info(self) -> KindInfo {
        let sub = |name, replace| KindInfo {
            name,
            service: Service::S3,
            replace,
            secret: &[],
            stateful: false,
            taggable: false,
        };
        match self {
            Kind::S3Bucket => KindInfo {
                name: "s3_bucket",
                service: Service::S3,
                replace: &["name"],
                secret: &[],
                stateful: true,
                taggable: true,
            },
            Kind::S3PublicAccessBlock => sub("s3_public_access_block", &["bucket"]),
            Kind::S3Encryption => sub("s3_encryption", &["bucket"]),
            Kind::S3BucketPolicy => sub("s3_bucket_policy", &["bucket"]),
            Kind::S3Versioning => sub("s3_versioning", &["bucket"]),
            Kind::S3Lifecycle => sub("s3_lifecycle", &["bucket"]),
            Kind::S3Notification => sub("s3_notification", &["bucket"]),
            Kind::IamRole => KindInfo {
                name: "iam_role",
                service: Service::Iam,
                replace: &["name", "path"],
                secret: &[],
                stateful: false,
                taggable: true,
            },
            Kind::KinesisStream => KindInfo {
                name: "kinesis_stream",
                service: Service::Kinesis,
                replace: &["name"],
                secret: &[],
                stateful: true,
                taggable: true,
            },
            Kind::DynamodbTable => KindInfo {
                name: "dynamodb_table",
                service: Service::DynamoDb,
                replace: &["name", "partition_key", "sort_key"],
                secret: &[],
                stateful: true,
                taggable: true,
            },
            Kind::SnsTopic => KindInfo {
                name: "sns_topic",
                service: Service::Sns,
                replace: &["name"],
                secret: &[],
                stateful: false,
                taggable: true,
            },
            Kind::SnsSubscriptions => KindInfo {
                name: "sns_subscriptions",
                service: Service::Sns,
                replace: &["topic_arn", "protocol"],
                secret: &[],
                stateful: false,
                taggable: false,
            },
            Kind::LambdaFunction | Kind::LambdaEventSourceMapping | Kind::LambdaPermission => {
                super::lambda::info(self)
            }
            Kind::CognitoUserPool | Kind::CognitoAppClient | Kind::CognitoGroup => {
                super::cognito::info(self)
            }
            Kind::ApigwRestApi | Kind::ApigwStage => super::apigateway::info(self),
            Kind::S3Object
            | Kind::GlueDatabase
            | Kind::GlueTable
            | Kind::GlueCrawler
            | Kind::GlueConnection
            | Kind::GlueJob
            | Kind::FirehoseDeliveryStream => super::catalog::info(self),
            Kind::RedshiftCluster | Kind::RedshiftSchema => super::redshift::info(self),
        }
    }

    /// For sub-resources that a config can add or remove on their own (a stage renamed, the
    /// event source mapping or the Redshift COPY stream's JSONPaths file switched off): the
    /// kind of their parent, whose live members the engine lists so that the undeclared ones
    /// are deleted instead of left behind. Other sub-resources are a fixed part of their
    /// parent's declaration and go with it. Cognito groups are not listed: `users sync` makes
    /// groups in the same pool from `cognito-users.yaml`, so a group the stack file no longer
    /// declares may still be the users file's.
    pub fn members_of(self) -> Option<Kind> {
        match self {
            Kind::ApigwStage => Some(Kind::ApigwRestApi),
            Kind::LambdaEventSourceMapping => Some(Kind::LambdaFunction),
            Kind::S3Object => Some(Kind::S3Bucket),
            _ => None,
        }
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
