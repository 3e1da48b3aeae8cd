//! Analytics over the lake: the Athena workgroup through which analysts, the notebook and
//! `lake query` run SQL on the clean Parquet.

use super::storage::LAKE;
use crate::model::athena::WorkgroupSpec;
use crate::model::{address, Kind, Resource, Tags};
use crate::names::Names;

/// Logical name of the workgroup.
pub const WORKGROUP: &str = "analytics";
/// Where query results go in the lake.
pub const RESULTS_PREFIX: &str = "athena-results/";
/// Queries that would scan more are cancelled: 10 GiB, some 500 times the whole dataset's
/// Parquet, so only a runaway query (a cross join, say) meets it.
const BYTES_SCANNED_CUTOFF: i64 = 10 * 1024 * 1024 * 1024;

/// The workgroup's name.
pub fn workgroup_name(names: &Names) -> String {
    names.resource(WORKGROUP)
}

/// The analytics resources.
pub fn resources(names: &Names, tags: &Tags) -> Vec<Resource> {
    let bucket = names.lake_bucket();
    vec![Resource::new(
        WORKGROUP,
        &WorkgroupSpec {
            name: workgroup_name(names),
            description: format!("EcomFlow analytics of {}", names.instance),
            output_location: format!("s3://{bucket}/{RESULTS_PREFIX}"),
            // Results hold query answers over customer data: always encrypted at rest.
            encryption: "SSE_S3".into(),
            kms_key: None,
            expected_bucket_owner: names.account.clone(),
            // Clients cannot send results elsewhere, unencrypted.
            enforce: true,
            publish_metrics: true,
            bytes_scanned_cutoff: Some(BYTES_SCANNED_CUTOFF),
            tags: tags.clone(),
        },
    )
    .after(&[&address(Kind::S3Bucket, LAKE)])]
}
