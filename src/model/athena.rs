//! Athena workgroup spec.

use super::{Kind, Spec, Tags};
use serde::{Deserialize, Serialize};

/// An Athena workgroup: where query results go, how they are encrypted, and whether those
/// settings bind every query run in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkgroupSpec {
    /// Workgroup name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Where results are written, e.g. `s3://<lake>/athena-results/`.
    pub output_location: String,
    /// Result encryption: `SSE_S3`, `SSE_KMS` or `CSE_KMS`.
    pub encryption: String,
    /// The KMS key of `SSE_KMS`/`CSE_KMS`.
    pub kms_key: Option<String>,
    /// The account expected to own the results bucket (a results write to a bucket of
    /// another account fails instead of handing it the data).
    pub expected_bucket_owner: String,
    /// The workgroup's settings override what a client sends with a query.
    pub enforce: bool,
    /// Query metrics are published to CloudWatch.
    pub publish_metrics: bool,
    /// Queries that would scan more bytes are cancelled; `None` = no limit.
    pub bytes_scanned_cutoff: Option<i64>,
    /// Tags, ownership tags included.
    pub tags: Tags,
}

impl Spec for WorkgroupSpec {
    const KIND: Kind = Kind::AthenaWorkgroup;
    fn physical(&self) -> String {
        self.name.clone()
    }
}
