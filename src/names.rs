//! Every resource name is derived here, from the stack instance, and nowhere else.

/// The names of one stack instance: `<app>-<env>[-<instance>]` plus account and region.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Names {
    /// The stack instance name, e.g. `ecomflow-dev` or `ecomflow-ci-pr-123`.
    pub instance: String,
    /// The 12-digit AWS account ID.
    pub account: String,
    /// The AWS region.
    pub region: String,
}

/// A placeholder account ID of the real length, for checking name lengths before any API call.
pub const PLACEHOLDER_ACCOUNT: &str = "000000000000";

/// Tag key holding the owning stack instance.
pub const TAG_STACK: &str = "ecomflow:stack";
/// Tag key marking resources this tool manages.
pub const TAG_MANAGED_BY: &str = "ecomflow:managed-by";
/// Value of [`TAG_MANAGED_BY`].
pub const MANAGED_BY: &str = "ecomflow-infra";
/// Tag key with the RFC 3339 time after which an ephemeral instance may be reaped.
pub const TAG_EXPIRES: &str = "ecomflow:expires-at";
/// Tag key with the RFC 3339 time an ephemeral instance's resource was first tagged by an
/// apply (the run that created it): stamped once, never changed by a later apply.
pub const TAG_CREATED: &str = "ecomflow:created-at";
/// Tag key with the environment name.
pub const TAG_ENV: &str = "ecomflow:env";
/// Name of the user pool's custom attribute holding the stamp of `users sync`: the pool
/// declares it and a stack's own attributes may not take it.
pub const SYNC_ATTRIBUTE_NAME: &str = "ecomflow_sync";

/// The instance name for an app, env and optional ephemeral suffix.
pub fn instance_name(app: &str, env: &str, suffix: Option<&str>) -> String {
    match suffix {
        Some(s) => format!("{app}-{env}-{s}"),
        None => format!("{app}-{env}"),
    }
}

impl Names {
    /// Names for an instance in an account and region.
    pub fn new(
        instance: impl Into<String>,
        account: impl Into<String>,
        region: impl Into<String>,
    ) -> Self {
        Self {
            instance: instance.into(),
            account: account.into(),
            region: region.into(),
        }
    }

    /// A regional resource name: `<instance>-<what>`.
    pub fn resource(&self, what: &str) -> String {
        format!("{}-{what}", self.instance)
    }

    /// A globally unique S3 bucket name: `<instance>-<what>-<account>-<region>`.
    pub fn bucket(&self, what: &str) -> String {
        format!("{}-{what}-{}-{}", self.instance, self.account, self.region)
    }

    /// The IAM path that holds every role of this instance.
    pub fn iam_path(&self) -> String {
        format!("/ecomflow-infra/{}/", self.instance)
    }

    /// The Kinesis stream of rows.
    pub fn stream(&self) -> String {
        self.resource("orders")
    }

    /// A DynamoDB table (`invoices`, `customers`).
    pub fn table(&self, what: &str) -> String {
        self.resource(what)
    }

    /// The data-lake bucket.
    pub fn lake_bucket(&self) -> String {
        self.bucket("lake")
    }

    /// The alerts topic.
    pub fn alerts_topic(&self) -> String {
        self.resource("alerts")
    }

    /// An IAM role (`ingest`, `process`, `query`, ...).
    pub fn role(&self, what: &str) -> String {
        self.resource(what)
    }

    /// ARN of an S3 bucket.
    pub fn bucket_arn(bucket: &str) -> String {
        format!("arn:aws:s3:::{bucket}")
    }

    /// ARN of a Kinesis stream.
    pub fn stream_arn(&self, stream: &str) -> String {
        format!(
            "arn:aws:kinesis:{}:{}:stream/{stream}",
            self.region, self.account
        )
    }

    /// ARN of a DynamoDB table.
    pub fn table_arn(&self, table: &str) -> String {
        format!(
            "arn:aws:dynamodb:{}:{}:table/{table}",
            self.region, self.account
        )
    }

    /// ARN of an SNS topic.
    pub fn topic_arn(&self, topic: &str) -> String {
        format!("arn:aws:sns:{}:{}:{topic}", self.region, self.account)
    }

    /// ARN of the CloudWatch log group of a Lambda function.
    pub fn lambda_log_group_arn(&self, function: &str) -> String {
        format!(
            "arn:aws:logs:{}:{}:log-group:/aws/lambda/{function}:*",
            self.region, self.account
        )
    }

    /// The names every taggable resource of the instance is checked against.
    pub fn all_prefix(&self) -> String {
        format!("{}-", self.instance)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_derive_from_the_instance() {
        let n = Names::new(
            instance_name("ecomflow", "ci", Some("pr-7")),
            "123456789012",
            "eu-west-1",
        );
        assert_eq!(n.stream(), "ecomflow-ci-pr-7-orders");
        assert_eq!(
            n.lake_bucket(),
            "ecomflow-ci-pr-7-lake-123456789012-eu-west-1"
        );
        assert_eq!(n.iam_path(), "/ecomflow-infra/ecomflow-ci-pr-7/");
        assert_eq!(
            n.table_arn(&n.table("invoices")),
            "arn:aws:dynamodb:eu-west-1:123456789012:table/ecomflow-ci-pr-7-invoices"
        );
    }
}
