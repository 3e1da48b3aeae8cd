//! S3 bucket specs: the bucket and its separately managed configurations.
//!
//! Each configuration is its own resource (as in Terraform's AWS provider) so a plan reads each
//! with one call and shows exactly which part changes.

use super::{Kind, Spec, Tags};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An S3 bucket: its name and tags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BucketSpec {
    /// Globally unique bucket name.
    pub name: String,
    /// Tags, ownership tags included.
    pub tags: Tags,
}

impl Spec for BucketSpec {
    const KIND: Kind = Kind::S3Bucket;
    fn physical(&self) -> String {
        self.name.clone()
    }
}

/// The four public-access-block switches of a bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublicAccessBlockSpec {
    /// The bucket.
    pub bucket: String,
    /// Reject new public ACLs.
    pub block_public_acls: bool,
    /// Ignore existing public ACLs.
    pub ignore_public_acls: bool,
    /// Reject public bucket policies.
    pub block_public_policy: bool,
    /// Restrict access to buckets with public policies.
    pub restrict_public_buckets: bool,
}

impl Spec for PublicAccessBlockSpec {
    const KIND: Kind = Kind::S3PublicAccessBlock;
    fn physical(&self) -> String {
        self.bucket.clone()
    }
}

/// Default server-side encryption of a bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncryptionSpec {
    /// The bucket.
    pub bucket: String,
    /// `AES256` or `aws:kms`.
    pub algorithm: String,
    /// KMS key for `aws:kms`; `None` means the AWS-managed `aws/s3` key.
    pub kms_key: Option<String>,
}

impl Spec for EncryptionSpec {
    const KIND: Kind = Kind::S3Encryption;
    fn physical(&self) -> String {
        self.bucket.clone()
    }
}

/// A bucket policy document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BucketPolicySpec {
    /// The bucket.
    pub bucket: String,
    /// The normalised policy document.
    pub policy: Value,
}

impl Spec for BucketPolicySpec {
    const KIND: Kind = Kind::S3BucketPolicy;
    fn physical(&self) -> String {
        self.bucket.clone()
    }
}

/// Who owns the objects written to a bucket, and whether ACLs apply (S3 Object Ownership).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OwnershipControlsSpec {
    /// The bucket.
    pub bucket: String,
    /// `BucketOwnerEnforced` (ACLs disabled), `BucketOwnerPreferred` or `ObjectWriter`.
    pub object_ownership: String,
}

impl Spec for OwnershipControlsSpec {
    const KIND: Kind = Kind::S3OwnershipControls;
    fn physical(&self) -> String {
        self.bucket.clone()
    }
}

/// Bucket versioning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersioningSpec {
    /// The bucket.
    pub bucket: String,
    /// `true` = Enabled, `false` = Suspended (or never enabled).
    pub enabled: bool,
}

impl Spec for VersioningSpec {
    const KIND: Kind = Kind::S3Versioning;
    fn physical(&self) -> String {
        self.bucket.clone()
    }
}

/// One lifecycle rule, scoped to a key prefix.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LifecycleRule {
    /// Rule ID.
    pub id: String,
    /// Key prefix the rule applies to (empty = whole bucket).
    pub prefix: String,
    /// Expire current objects after this many days.
    pub expire_days: Option<i32>,
    /// Expire non-current versions after this many days.
    pub noncurrent_expire_days: Option<i32>,
    /// Abort incomplete multipart uploads after this many days.
    pub abort_multipart_days: Option<i32>,
}

/// The lifecycle configuration of a bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LifecycleSpec {
    /// The bucket.
    pub bucket: String,
    /// Rules, sorted by ID.
    pub rules: Vec<LifecycleRule>,
}

impl Spec for LifecycleSpec {
    const KIND: Kind = Kind::S3Lifecycle;
    fn physical(&self) -> String {
        self.bucket.clone()
    }
}

/// Server access logging of a bucket: a record per request, delivered by S3 into another
/// bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggingSpec {
    /// The bucket whose requests are logged.
    pub bucket: String,
    /// The bucket the records are delivered to.
    pub target_bucket: String,
    /// Key prefix of the records in the target bucket, e.g. `lake/`.
    pub target_prefix: String,
}

impl Spec for LoggingSpec {
    const KIND: Kind = Kind::S3Logging;
    fn physical(&self) -> String {
        self.bucket.clone()
    }
}
