//! Specs of the warehouse kinds: the Redshift cluster and the tables created in it.

use super::{Kind, Spec, Tags};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Tag on the cluster recording the SHA-256 of the DDL applied by a [`SchemaSpec`]
/// (the tag key is followed by `:<database>.<table>`).
pub const SCHEMA_TAG_PREFIX: &str = "ecomflow:schema-sha256";

/// The tag key recording the applied DDL of `database.table`.
pub fn schema_tag(database: &str, table: &str) -> String {
    format!("{SCHEMA_TAG_PREFIX}:{database}.{table}")
}

/// The DDL of the `invoice_lines` table: the typed clean line of the `records` crate.
pub const INVOICE_LINES_DDL: &str = "CREATE TABLE IF NOT EXISTS invoice_lines (
    invoice_no      VARCHAR(16)    NOT NULL,
    stock_code      VARCHAR(32)    NOT NULL,
    description     VARCHAR(512),
    quantity        BIGINT         NOT NULL,
    invoice_date    TIMESTAMP      NOT NULL,
    unit_price      DECIMAL(10,3)  NOT NULL,
    customer_id     BIGINT,
    country         VARCHAR(64)    NOT NULL,
    is_cancellation BOOLEAN        NOT NULL
)
DISTSTYLE AUTO
SORTKEY (invoice_date)";

/// A provisioned Redshift cluster. Its master password is always managed by AWS Secrets
/// Manager (`ManageMasterPassword`): it is never declared, read or printed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterSpec {
    /// Cluster identifier.
    pub identifier: String,
    /// Node type, e.g. `ra3.xlplus`.
    pub node_type: String,
    /// Number of nodes (1 = single-node).
    pub nodes: i32,
    /// Initial database name.
    pub database: String,
    /// Master user name.
    pub master_username: String,
    /// Encrypted at rest.
    pub encrypted: bool,
    /// Reachable from the internet.
    pub publicly_accessible: bool,
    /// ARNs of the IAM roles attached (for COPY), sorted.
    pub iam_roles: Vec<String>,
    /// Name of its parameter group.
    pub parameter_group: String,
    /// The audit logs it exports to CloudWatch Logs (`connectionlog`, `userlog`,
    /// `useractivitylog`), sorted; empty = audit logging off.
    pub audit_logs: Vec<String>,
    /// Tags, ownership tags included (the schema tags are not part of it).
    pub tags: Tags,
    /// Minutes create and update wait for the cluster to become available (not compared).
    #[serde(rename = "_wait_minutes", default = "default_wait")]
    pub wait_minutes: u64,
}

fn default_wait() -> u64 {
    45
}

impl Spec for ClusterSpec {
    const KIND: Kind = Kind::RedshiftCluster;
    fn physical(&self) -> String {
        self.identifier.clone()
    }
}

/// A cluster parameter group: the parameters this stack sets, nothing else. Redshift cannot
/// change a group's family or description, so a change of either replaces it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParameterGroupSpec {
    /// Group name.
    pub name: String,
    /// Parameter group family, e.g. `redshift-2.0`.
    pub family: String,
    /// Description.
    pub description: String,
    /// The parameters set to other than their defaults, by name (Redshift's `user` source).
    pub parameters: BTreeMap<String, String>,
    /// Tags, ownership tags included.
    pub tags: Tags,
}

impl Spec for ParameterGroupSpec {
    const KIND: Kind = Kind::RedshiftParameterGroup;
    fn physical(&self) -> String {
        self.name.clone()
    }
}

/// A table created in the cluster through the Redshift Data API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchemaSpec {
    /// Cluster identifier.
    pub cluster: String,
    /// Database.
    pub database: String,
    /// Table name.
    pub table: String,
    /// Hex SHA-256 of the DDL.
    pub ddl_sha256: String,
    /// The DDL (`CREATE TABLE IF NOT EXISTS ...`; not compared, its hash is).
    #[serde(rename = "_ddl", default)]
    pub ddl: String,
    /// The statement that removes the object (not compared, its DDL's hash is); empty means
    /// `DROP TABLE IF EXISTS <table>`.
    #[serde(rename = "_drop", default)]
    pub drop: String,
    /// Seconds to wait for a statement to finish (not compared).
    #[serde(
        rename = "_statement_timeout_seconds",
        default = "default_statement_wait"
    )]
    pub statement_timeout_seconds: u64,
}

fn default_statement_wait() -> u64 {
    300
}

impl Spec for SchemaSpec {
    const KIND: Kind = Kind::RedshiftSchema;
    fn physical(&self) -> String {
        format!("{}/{}/{}", self.cluster, self.database, self.table)
    }
}

/// An S3 event integration: Redshift is told of every object created in the bucket, so that
/// the cluster's COPY jobs load new files by themselves (auto-copy).
/// <https://docs.aws.amazon.com/redshift/latest/dg/loading-data-copy-job.html>
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntegrationSpec {
    /// Integration name (letters, digits and single hyphens).
    pub name: String,
    /// ARN of the source bucket.
    pub source_arn: String,
    /// Identifier of the target cluster, whose namespace ARN its outputs give (not compared).
    #[serde(rename = "_cluster", default)]
    pub cluster: String,
    /// Read as `true` when the integration targets that cluster's namespace as it is now (a
    /// replaced cluster has a new one); always declared `true`.
    pub targets_cluster: bool,
    /// Tags, ownership tags included.
    pub tags: Tags,
}

impl Spec for IntegrationSpec {
    const KIND: Kind = Kind::RedshiftIntegration;
    fn physical(&self) -> String {
        self.name.clone()
    }
}
