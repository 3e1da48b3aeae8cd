//! S3: the bucket, each of its configurations as a resource kind, and the objects this tool
//! uploads.

mod bucket;
mod object;
mod settings;

pub use bucket::Bucket;
pub use object::Object;
pub use settings::{
    BucketPolicy, Encryption, Lifecycle, Logging, OwnershipControls, PublicAccessBlock, Versioning,
};

use super::kit::Absent;
use super::{Aws, AwsError, Changes, Gone, Inputs, Observed, Outputs, Provider};
use crate::model::{Service, Spec};
use async_trait::async_trait;

const NO_BUCKET: &[&str] = &["NoSuchBucket", "NotFound"];
const S3: Service = Service::S3;

/// The body of a successful answer that the SDK refused only because its XML root element is
/// `root` instead of the documented one. Some S3-compatible endpoints (emulators) name the
/// root after the operation; the elements inside are the documented ones, so the caller reads
/// what it needs from the body. Real S3 never takes this path.
pub(crate) fn misnamed_root<E>(
    e: &aws_smithy_runtime_api::client::result::SdkError<E, aws_smithy_runtime_api::http::Response>,
    root: &str,
) -> Option<String> {
    let raw = e.raw_response()?;
    if !raw.status().is_success() {
        return None;
    }
    let body = std::str::from_utf8(raw.body().bytes()?).ok()?;
    body.contains(&format!("<{root}")).then(|| body.to_string())
}

/// A configuration of a bucket managed as its own kind: read with one Get call, set whole
/// with one Put (create and update alike, so an update needs no delta), removed with one
/// Delete. The blanket [`Provider`] below treats a missing bucket as a missing configuration.
#[async_trait]
pub trait BucketSetting: Send + Sync + 'static {
    /// The configuration's spec; its physical identity is the bucket.
    type Spec: Spec + Send + Sync;

    /// The configuration set on `bucket`; `None` if there is none.
    async fn get(&self, aws: &Aws, bucket: &str) -> Result<Option<Self::Spec>, AwsError>;

    /// Sets the configuration to the declared one.
    async fn put(&self, aws: &Aws, desired: &Self::Spec) -> Result<(), AwsError>;

    /// Removes the configuration from the bucket `gone.physical`.
    async fn remove(&self, aws: &Aws, gone: &Gone<Self::Spec>) -> Result<(), AwsError>;
}

#[async_trait]
impl<T: BucketSetting> Provider for T {
    type Spec = T::Spec;

    async fn read(
        &self,
        aws: &Aws,
        desired: &T::Spec,
        _: &Inputs,
    ) -> Result<Option<Observed<T::Spec>>, AwsError> {
        let found = self
            .get(aws, &desired.physical())
            .await
            .or_absent(NO_BUCKET)?;
        Ok(found.flatten().map(Observed::bare))
    }

    async fn create(&self, aws: &Aws, desired: &T::Spec, _: &Inputs) -> Result<Outputs, AwsError> {
        self.put(aws, desired).await?;
        Ok(Outputs::new())
    }

    async fn update(
        &self,
        aws: &Aws,
        desired: &T::Spec,
        _live: &Observed<T::Spec>,
        _changes: &Changes,
        _: &Inputs,
    ) -> Result<(), AwsError> {
        self.put(aws, desired).await
    }

    async fn delete(&self, aws: &Aws, gone: &Gone<T::Spec>) -> Result<(), AwsError> {
        self.remove(aws, gone).await.tolerate(NO_BUCKET)
    }
}
