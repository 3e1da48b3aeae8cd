//! The typed shape of a `stacks/*.yaml` file.
//!
//! Every struct denies unknown keys so that a misspelled knob is an error, not a silent default.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Per-environment knobs of one EcomFlow stack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StackConfig {
    /// Application name, the first part of every resource name (e.g. `ecomflow`).
    pub app: String,
    /// Environment name (e.g. `dev`, `ci`, `prod`).
    pub env: String,
    /// AWS region the stack lives in.
    pub region: String,
    /// A protected environment refuses `destroy` without `--allow-protected`.
    #[serde(default)]
    pub protected: bool,
    /// Extra tags put on every taggable resource.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Hours an ephemeral `--instance` copy lives before its expiry tag says it may be reaped.
    #[serde(default = "default_ttl")]
    pub ephemeral_ttl_hours: u32,
    /// The Kinesis Data Stream that buffers posted rows.
    #[serde(default)]
    pub stream: StreamConfig,
    /// The DynamoDB tables `invoices` and `customers`.
    #[serde(default)]
    pub tables: TablesConfig,
    /// The S3 data-lake bucket.
    #[serde(default)]
    pub bucket: BucketConfig,
    /// The SNS alerts topic.
    #[serde(default)]
    pub alerts: AlertsConfig,
    /// The Lambda functions `ingest`, `process` and `query`.
    #[serde(default)]
    pub functions: FunctionsConfig,
    /// The Kinesis -> `process` event source mapping.
    #[serde(default)]
    pub processing: ProcessingConfig,
    /// The cleaning rules the Lambdas apply (passed as environment variables).
    #[serde(default)]
    pub cleaning: CleaningConfig,
    /// The Cognito user pool behind the API.
    #[serde(default)]
    pub cognito: CognitoConfig,
    /// The API Gateway REST API.
    #[serde(default)]
    pub api: ApiConfig,
    /// Firehose delivery of clean rows to S3 as Parquet.
    #[serde(default)]
    pub delivery: DeliveryConfig,
    /// The Glue catalog, crawler and batch ETL job.
    #[serde(default)]
    pub catalog: CatalogConfig,
    /// The Redshift warehouse.
    #[serde(default)]
    pub warehouse: WarehouseConfig,
    /// The stack's customer-managed KMS key.
    #[serde(default)]
    pub kms_key: KmsKeyConfig,
}

/// The stack's customer-managed KMS key (billed monthly per key, and per request): it
/// encrypts the Glue job's CloudWatch logs and bookmarks and the alerts topic, which have no
/// AWS-managed key fit for them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KmsKeyConfig {
    /// Declare the key (`alias/<instance>`); off: those three go without one (the topic
    /// under the AWS-managed `alias/aws/sns` when `alerts.encrypted`).
    #[serde(default)]
    pub enabled: bool,
    /// Days between a destroy and the key's deletion (7..=30), during which it can be
    /// brought back with what it encrypted.
    #[serde(default = "default_key_window")]
    pub deletion_window_days: u32,
}

fn default_key_window() -> u32 {
    30
}

impl Default for KmsKeyConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            deletion_window_days: default_key_window(),
        }
    }
}

fn default_ttl() -> u32 {
    24
}

/// Capacity mode of the Kinesis stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum StreamMode {
    /// Kinesis scales shards itself.
    #[default]
    OnDemand,
    /// A fixed number of shards (`shards`).
    Provisioned,
}

/// Kinesis stream knobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamConfig {
    /// On-demand or provisioned capacity.
    #[serde(default)]
    pub mode: StreamMode,
    /// Shard count; only used (and required to be 1..=500) in provisioned mode.
    #[serde(default = "one")]
    pub shards: u32,
    /// How long records stay in the stream, 24 to 8760 hours.
    #[serde(default = "default_retention")]
    pub retention_hours: u32,
    /// Server-side encryption with the AWS-managed KMS key `alias/aws/kinesis`.
    #[serde(default = "yes")]
    pub encrypted: bool,
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self {
            mode: StreamMode::OnDemand,
            shards: 1,
            retention_hours: default_retention(),
            encrypted: true,
        }
    }
}

fn one() -> u32 {
    1
}
fn yes() -> bool {
    true
}
fn default_retention() -> u32 {
    24
}

/// Billing mode of the DynamoDB tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Billing {
    /// Pay per request.
    #[default]
    OnDemand,
    /// Fixed read and write capacity units.
    Provisioned,
}

/// DynamoDB knobs shared by both tables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TablesConfig {
    /// On-demand or provisioned billing.
    #[serde(default)]
    pub billing: Billing,
    /// Read capacity units in provisioned mode (1..=40000).
    #[serde(default = "five")]
    pub read_capacity: u32,
    /// Write capacity units in provisioned mode (1..=40000).
    #[serde(default = "five")]
    pub write_capacity: u32,
    /// Point-in-time recovery.
    #[serde(default = "yes")]
    pub pitr: bool,
    /// Encrypt with the AWS-managed KMS key (`true`) or the AWS-owned key (`false`).
    /// DynamoDB always encrypts at rest; this picks the key.
    #[serde(default = "yes")]
    pub kms: bool,
}

fn five() -> u32 {
    5
}

impl Default for TablesConfig {
    fn default() -> Self {
        Self {
            billing: Billing::OnDemand,
            read_capacity: 5,
            write_capacity: 5,
            pitr: true,
            kms: true,
        }
    }
}

/// S3 lake bucket knobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BucketConfig {
    /// Keep every object version.
    #[serde(default = "yes")]
    pub versioning: bool,
    /// Days after which objects under `rejects/` expire (1..=3650).
    #[serde(default = "default_rejects_days")]
    pub rejects_expire_days: u32,
    /// Days after which non-current versions expire (1..=3650).
    #[serde(default = "default_noncurrent_days")]
    pub noncurrent_expire_days: u32,
    /// Encrypt with the AWS-managed KMS key (`true`) or SSE-S3 AES-256 (`false`).
    #[serde(default)]
    pub kms: bool,
    /// A bucket policy denying every request made without TLS. Only `stacks/local.yaml` turns
    /// it off: the local emulator is reached over plain HTTP, so it would deny every request.
    #[serde(default = "yes")]
    pub deny_insecure_transport: bool,
    /// Server access logs of the lake (a record per request, billed as storage), kept this
    /// many days (1..=3650) in a bucket of their own; none = no server access logs.
    #[serde(default)]
    pub access_log_days: Option<u32>,
}

fn default_rejects_days() -> u32 {
    30
}
fn default_noncurrent_days() -> u32 {
    90
}

impl Default for BucketConfig {
    fn default() -> Self {
        Self {
            versioning: true,
            rejects_expire_days: default_rejects_days(),
            noncurrent_expire_days: default_noncurrent_days(),
            kms: false,
            deny_insecure_transport: true,
            access_log_days: None,
        }
    }
}

/// Alerts topic knobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsConfig {
    /// E-mail addresses subscribed to the alerts topic.
    #[serde(default)]
    pub emails: Vec<String>,
    /// Encrypt the topic with the AWS-managed KMS key `alias/aws/sns`.
    #[serde(default = "yes")]
    pub encrypted: bool,
    /// While streaming, `process` sends at most one storage-update message per this many
    /// minutes (0..=1440; 0 sends one per batch). Rows stored in between are counted and
    /// reported in the next message, so an e-mail subscriber is not sent one per batch.
    #[serde(default = "default_digest_minutes")]
    pub digest_minutes: u32,
}

fn default_digest_minutes() -> u32 {
    60
}

impl Default for AlertsConfig {
    fn default() -> Self {
        Self {
            emails: Vec::new(),
            encrypted: true,
            digest_minutes: default_digest_minutes(),
        }
    }
}

/// CPU architecture of the Lambda functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Architecture {
    /// x86-64 (the default; the only Rust target on the build machine).
    #[default]
    X86_64,
    /// Graviton; needs the `aarch64-unknown-linux-gnu` Rust target to build.
    Arm64,
}

/// Lambda function knobs, shared by the three functions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionsConfig {
    /// CPU architecture.
    #[serde(default)]
    pub architecture: Architecture,
    /// Memory in MB (128..=10240).
    #[serde(default = "default_memory")]
    pub memory_mb: u32,
    /// Timeout in seconds (1..=900).
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u32,
    /// Reserved concurrency per function (0..=1000); none by default.
    #[serde(default)]
    pub reserved_concurrency: Option<u32>,
}

fn default_memory() -> u32 {
    256
}
fn default_timeout() -> u32 {
    30
}

impl Default for FunctionsConfig {
    fn default() -> Self {
        Self {
            architecture: Architecture::X86_64,
            memory_mb: default_memory(),
            timeout_seconds: default_timeout(),
            reserved_concurrency: None,
        }
    }
}

/// Where the event source mapping sends records it gave up on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    /// The alerts topic.
    #[default]
    Alerts,
    /// The lake bucket, under `failed/`.
    S3,
}

/// Kinesis -> `process` event source mapping knobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessingConfig {
    /// Records per invocation (1..=10000).
    #[serde(default = "default_batch")]
    pub batch_size: u32,
    /// Seconds to gather a batch (0..=300).
    #[serde(default = "default_window")]
    pub batching_window_seconds: u32,
    /// Concurrent batches per shard (1..=10).
    #[serde(default = "one")]
    pub parallelization_factor: u32,
    /// Split a failing batch in two to isolate a poison record.
    #[serde(default = "yes")]
    pub bisect_on_error: bool,
    /// Retries of a failing batch (-1 = until the record expires, else 0..=10000).
    #[serde(default = "default_retries")]
    pub maximum_retries: i32,
    /// Destination of records given up on.
    #[serde(default)]
    pub on_failure: OnFailure,
    /// Reject rate of a batch above which `process` alerts (0.0..=1.0).
    #[serde(default = "default_threshold")]
    pub reject_alert_threshold: f64,
    /// Declare the event source mapping (default). Turn it off only where something else
    /// consumes the stream with these same knobs, e.g. `ecomflow-infra local serve` in
    /// front of an emulator that cannot run Lambda.
    #[serde(default = "yes")]
    pub event_source_mapping: bool,
}

fn default_batch() -> u32 {
    500
}
fn default_window() -> u32 {
    5
}
fn default_retries() -> i32 {
    3
}
fn default_threshold() -> f64 {
    0.2
}

impl Default for ProcessingConfig {
    fn default() -> Self {
        Self {
            batch_size: default_batch(),
            batching_window_seconds: default_window(),
            parallelization_factor: 1,
            bisect_on_error: true,
            maximum_retries: default_retries(),
            on_failure: OnFailure::Alerts,
            reject_alert_threshold: default_threshold(),
            event_source_mapping: true,
        }
    }
}

/// Cleaning rules of the pipeline (see the `records` crate).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CleaningConfig {
    /// Keep cancellations (InvoiceNo starting with `C`).
    #[serde(default = "yes")]
    pub keep_cancellations: bool,
    /// Keep rows without a CustomerID.
    #[serde(default = "yes")]
    pub keep_missing_customer: bool,
    /// Keep non-product stock codes (POST, M, BANK CHARGES, ...).
    #[serde(default)]
    pub keep_non_product_codes: bool,
    /// Reject exact duplicate rows within a batch.
    #[serde(default = "yes")]
    pub drop_duplicates: bool,
}

impl Default for CleaningConfig {
    fn default() -> Self {
        Self {
            keep_cancellations: true,
            keep_missing_customer: true,
            keep_non_product_codes: false,
            drop_duplicates: true,
        }
    }
}

/// Multi-factor authentication of the user pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Mfa {
    /// No MFA.
    #[default]
    Off,
    /// Users may enrol a TOTP app.
    Optional,
    /// Every user must use a TOTP app.
    On,
}

/// A Cognito group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupConfig {
    /// Group name.
    pub name: String,
    /// What the group is for.
    #[serde(default)]
    pub description: String,
    /// Precedence (lower wins), 0..=2147483647.
    #[serde(default)]
    pub precedence: u32,
    /// The API routes its members may call, as route keys (`"POST /records"`, one of
    /// [`crate::blueprint::ROUTES`]). None when omitted: a declared group grants nothing it
    /// does not name. The handlers enforce it (`lambdas/access`).
    #[serde(default)]
    pub routes: Vec<String>,
}

/// Cognito user pool knobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CognitoConfig {
    /// MFA mode.
    #[serde(default)]
    pub mfa: Mfa,
    /// Minimum password length (8..=99).
    #[serde(default = "default_password_length")]
    pub password_min_length: u32,
    /// Require a symbol in passwords.
    #[serde(default = "yes")]
    pub password_require_symbols: bool,
    /// Groups of the pool.
    #[serde(default = "default_groups")]
    pub groups: Vec<GroupConfig>,
    /// Custom user attributes of the pool (declared without the `custom:` prefix), which
    /// `cognito-users.yaml` may set as `custom:<name>`.
    #[serde(default)]
    pub custom_attributes: Vec<String>,
}

fn default_password_length() -> u32 {
    12
}

fn default_groups() -> Vec<GroupConfig> {
    vec![
        GroupConfig {
            name: "producers".into(),
            description: "May POST rows to the ingest API".into(),
            precedence: 10,
            routes: vec!["POST /records".into()],
        },
        GroupConfig {
            name: "analysts".into(),
            description: "May query invoices and customers".into(),
            precedence: 20,
            routes: vec![
                "GET /invoices/{invoiceNo}".into(),
                "GET /invoices/{invoiceNo}/items/{stockCode}".into(),
                "GET /customers/{customerId}/invoices".into(),
            ],
        },
    ]
}

impl Default for CognitoConfig {
    fn default() -> Self {
        Self {
            mfa: Mfa::Off,
            password_min_length: default_password_length(),
            password_require_symbols: true,
            groups: default_groups(),
            custom_attributes: Vec::new(),
        }
    }
}

/// API Gateway knobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    /// Stage name.
    #[serde(default = "default_stage")]
    pub stage: String,
    /// Steady-state requests per second (1..=10000).
    #[serde(default = "default_rate")]
    pub throttling_rate_limit: f64,
    /// Burst requests (1..=5000).
    #[serde(default = "default_burst")]
    pub throttling_burst_limit: u32,
    /// Days to keep the stage's access logs, one of CloudWatch Logs' retention periods;
    /// none = no access logs (billed by volume: a line per request).
    #[serde(default)]
    pub access_log_retention_days: Option<u32>,
    /// Trace requests with AWS X-Ray (billed per trace).
    #[serde(default)]
    pub tracing: bool,
    /// Put an AWS WAF web ACL in front of the stage that blocks an IP address making more
    /// than this many requests in five minutes (10..=2,000,000,000) and known bad inputs
    /// (billed per web ACL, rule and request); none = no web ACL.
    #[serde(default)]
    pub waf_rate_limit: Option<u32>,
}

fn default_stage() -> String {
    "v1".into()
}
fn default_rate() -> f64 {
    100.0
}
fn default_burst() -> u32 {
    200
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            stage: default_stage(),
            throttling_rate_limit: default_rate(),
            throttling_burst_limit: default_burst(),
            access_log_retention_days: None,
            tracing: false,
            waf_rate_limit: None,
        }
    }
}

/// Firehose delivery knobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryConfig {
    /// Buffer interval in seconds (0..=900; 0 delivers each batch at once).
    #[serde(default = "default_buffer_seconds")]
    pub buffer_seconds: u32,
    /// Buffer size in MB (64..=128 with Parquet conversion).
    #[serde(default = "default_buffer_mb")]
    pub buffer_mb: u32,
}

fn default_buffer_seconds() -> u32 {
    300
}
fn default_buffer_mb() -> u32 {
    64
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            buffer_seconds: default_buffer_seconds(),
            buffer_mb: default_buffer_mb(),
        }
    }
}

/// Glue catalog and ETL knobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogConfig {
    /// Crawler schedule (a `cron(...)` expression); none = on demand only.
    #[serde(default = "default_schedule")]
    pub crawler_schedule: Option<String>,
    /// Glue worker type of the ETL job (G.1X, G.2X, ...).
    #[serde(default = "default_worker_type")]
    pub job_worker_type: String,
    /// Number of Glue workers (2..=100).
    #[serde(default = "default_workers")]
    pub job_workers: u32,
    /// Job timeout in minutes (1..=2880).
    #[serde(default = "default_job_timeout")]
    pub job_timeout_minutes: u32,
}

fn default_schedule() -> Option<String> {
    Some("cron(0 2 * * ? *)".into())
}
fn default_worker_type() -> String {
    "G.1X".into()
}
fn default_workers() -> u32 {
    2
}
fn default_job_timeout() -> u32 {
    60
}

impl Default for CatalogConfig {
    fn default() -> Self {
        Self {
            crawler_schedule: default_schedule(),
            job_worker_type: default_worker_type(),
            job_workers: default_workers(),
            job_timeout_minutes: default_job_timeout(),
        }
    }
}

/// Redshift warehouse knobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WarehouseConfig {
    /// Declare the warehouse at all (off: no cluster, no Redshift delivery).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Node type, e.g. `ra3.xlplus` or `dc2.large`.
    #[serde(default = "default_node_type")]
    pub node_type: String,
    /// Number of nodes (1..=128).
    #[serde(default = "one")]
    pub nodes: u32,
    /// Database name.
    #[serde(default = "default_database")]
    pub database: String,
    /// Master user name; its password is managed by AWS Secrets Manager, never in config.
    #[serde(default = "default_master")]
    pub master_username: String,
    /// How long apply waits for the cluster to become available (1..=180 minutes).
    #[serde(default = "default_wait")]
    pub wait_timeout_minutes: u32,
    /// Export the connection, user and user-activity audit logs to CloudWatch Logs (billed by
    /// the volume logged; every query is a line of the user-activity log).
    #[serde(default = "yes")]
    pub audit_logging: bool,
    /// Refused when true: kept only so that an old stack file gets an error that says why
    /// (the warehouse's COPY job replaced Firehose's delivery into Redshift).
    #[serde(default)]
    pub firehose_copy: bool,
}

fn default_node_type() -> String {
    "ra3.xlplus".into()
}
fn default_database() -> String {
    "ecomflow".into()
}
fn default_master() -> String {
    "ecomflow_admin".into()
}
fn default_wait() -> u32 {
    45
}

impl Default for WarehouseConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            node_type: default_node_type(),
            nodes: 1,
            database: default_database(),
            master_username: default_master(),
            wait_timeout_minutes: default_wait(),
            audit_logging: true,
            firehose_copy: false,
        }
    }
}
