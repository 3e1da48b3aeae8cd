//! Specs of the lake's catalog kinds: the uploaded Glue script object, the Glue database,
//! table, crawler, JDBC connection and ETL job, and the Firehose delivery stream.

use super::{Kind, Spec, Tags};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The PySpark script of the batch ETL job, embedded in the tool and uploaded by `apply`.
pub const GLUE_ETL_SCRIPT: &str = include_str!("assets/glue_etl.py");

/// Name under which [`GLUE_ETL_SCRIPT`] is referred to by an [`ObjectSpec`].
pub const GLUE_ETL_SOURCE: &str = "glue_etl.py";

/// The prefix of every key an [`ObjectSpec`] may name in the lake: the objects this tool
/// uploads, and only those, live under it.
pub const OBJECTS_PREFIX: &str = "scripts/";

/// The body of an embedded file, by the name an [`ObjectSpec`] refers to it with.
pub fn embedded(source: &str) -> Option<&'static str> {
    match source {
        GLUE_ETL_SOURCE => Some(GLUE_ETL_SCRIPT),
        _ => None,
    }
}

/// Lower-case hex SHA-256 of `body`.
pub fn sha256_hex(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

/// An S3 object whose body is a file embedded in the tool (only its hash is in the spec).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectSpec {
    /// Bucket name.
    pub bucket: String,
    /// Object key.
    pub key: String,
    /// Which embedded file the body is (see [`embedded`]).
    pub source: String,
    /// Hex SHA-256 of the body (kept in the object's `sha256` metadata).
    pub sha256: String,
    /// `Content-Type` of the object.
    pub content_type: String,
}

impl Spec for ObjectSpec {
    const KIND: Kind = Kind::S3Object;
    fn physical(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }
}

/// A Glue Data Catalog database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatabaseSpec {
    /// Database name (lower case, `_` separated).
    pub name: String,
    /// Description.
    pub description: String,
    /// Tags, ownership tags included.
    pub tags: Tags,
}

impl Spec for DatabaseSpec {
    const KIND: Kind = Kind::GlueDatabase;
    fn physical(&self) -> String {
        self.name.clone()
    }
}

/// A column of a Glue table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// Column name (lower case).
    pub name: String,
    /// Hive type, e.g. `string`, `bigint`, `decimal(10,3)`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// A Glue table over files in S3.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableSpec {
    /// Database the table is in.
    pub database: String,
    /// Table name.
    pub name: String,
    /// `EXTERNAL_TABLE`.
    pub table_type: String,
    /// S3 location of the data, `s3://bucket/prefix/`.
    pub location: String,
    /// Data columns, in order.
    pub columns: Vec<Column>,
    /// Partition keys, in order.
    pub partition_keys: Vec<Column>,
    /// Hadoop input format class.
    pub input_format: String,
    /// Hadoop output format class.
    pub output_format: String,
    /// SerDe class.
    pub serde: String,
    /// SerDe parameters.
    pub serde_parameters: BTreeMap<String, String>,
    /// Table parameters (`classification`, ...).
    pub parameters: BTreeMap<String, String>,
}

impl Spec for TableSpec {
    const KIND: Kind = Kind::GlueTable;
    fn physical(&self) -> String {
        format!("{}.{}", self.database, self.name)
    }
}

/// A Glue crawler that keeps the partitions of catalog tables up to date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrawlerSpec {
    /// Crawler name.
    pub name: String,
    /// ARN of the service role.
    pub role: String,
    /// Database it writes to.
    pub database: String,
    /// Catalog tables it crawls (their S3 locations), in the database.
    pub tables: Vec<String>,
    /// `cron(...)` schedule; `None` = on demand.
    pub schedule: Option<String>,
    /// What to do with schema changes it finds (`LOG` keeps the declared schema).
    pub update_behavior: String,
    /// What to do with deleted objects (`LOG`, required for catalog targets).
    pub delete_behavior: String,
    /// The crawler's configuration JSON (normalised).
    pub configuration: serde_json::Value,
    /// Tags, ownership tags included.
    pub tags: Tags,
}

impl Spec for CrawlerSpec {
    const KIND: Kind = Kind::GlueCrawler;
    fn physical(&self) -> String {
        self.name.clone()
    }
}

/// A Glue Spark ETL job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobSpec {
    /// Job name.
    pub name: String,
    /// ARN of the service role.
    pub role: String,
    /// `glueetl`.
    pub command: String,
    /// `s3://bucket/key` of the script.
    pub script_location: String,
    /// Python version of the script (`3`).
    pub python_version: String,
    /// Glue version (`4.0`).
    pub glue_version: String,
    /// Worker type (`G.1X`, ...).
    pub worker_type: String,
    /// Number of workers.
    pub workers: i32,
    /// Timeout in minutes.
    pub timeout_minutes: i32,
    /// Retries of a failed run.
    pub max_retries: i32,
    /// Default job arguments (`--input`, ...).
    pub default_arguments: BTreeMap<String, String>,
    /// Glue connections the job uses.
    pub connections: Vec<String>,
    /// Name of the security configuration its runs use (encryption of what they write).
    pub security_configuration: Option<String>,
    /// Tags, ownership tags included.
    pub tags: Tags,
}

impl Spec for JobSpec {
    const KIND: Kind = Kind::GlueJob;
    fn physical(&self) -> String {
        self.name.clone()
    }
}

/// A Glue security configuration: how the runs of the jobs naming it encrypt what they
/// write. Glue has no update call for it and no tags on it, so each field forces replacement
/// and it goes with the stack's declaration alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecurityConfigurationSpec {
    /// Configuration name.
    pub name: String,
    /// Objects written to S3: `SSE-S3` or `SSE-KMS`.
    pub s3_encryption: String,
    /// The runs' CloudWatch logs: `DISABLED` or `SSE-KMS`.
    pub cloudwatch_encryption: String,
    /// Job bookmarks: `DISABLED` or `CSE-KMS`.
    pub bookmarks_encryption: String,
    /// ARN of the KMS key of the `*-KMS` modes; `None` when no mode uses one.
    pub kms_key: Option<String>,
}

impl Spec for SecurityConfigurationSpec {
    const KIND: Kind = Kind::GlueSecurityConfiguration;
    fn physical(&self) -> String {
        self.name.clone()
    }
}

/// Parquet conversion of a delivery stream: the schema comes from a Glue table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParquetConversion {
    /// Glue database.
    pub database: String,
    /// Glue table.
    pub table: String,
    /// Region of the catalog.
    pub region: String,
    /// Role Firehose reads the table with.
    pub role_arn: String,
    /// Parquet compression (`SNAPPY`).
    pub compression: String,
}

/// A Firehose delivery stream (DirectPut) to S3, with Parquet conversion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryStreamSpec {
    /// Stream name.
    pub name: String,
    /// `DirectPut`.
    pub stream_type: String,
    /// ARN of the destination bucket.
    pub bucket_arn: String,
    /// Role Firehose writes with.
    pub role_arn: String,
    /// Key prefix of delivered objects.
    pub prefix: String,
    /// Key prefix of records that failed.
    pub error_prefix: String,
    /// Buffer interval in seconds.
    pub buffer_seconds: i32,
    /// Buffer size in MB.
    pub buffer_mb: i32,
    /// Firehose-level compression (`UNCOMPRESSED`: Parquet compresses itself).
    pub compression: String,
    /// Parquet conversion; `None` = raw records.
    pub parquet: Option<ParquetConversion>,
    /// Server-side encryption key type (`AWS_OWNED_CMK`); `None` = not encrypted.
    pub encryption: Option<String>,
    /// Tags, ownership tags included.
    pub tags: Tags,
}

impl Spec for DeliveryStreamSpec {
    const KIND: Kind = Kind::FirehoseDeliveryStream;
    fn physical(&self) -> String {
        self.name.clone()
    }
}
