//! The Kinesis Data Stream the ingest API writes to.

use crate::config::{StackConfig, StreamMode};
use crate::model::kinesis::StreamSpec;
use crate::model::{Resource, Tags};
use crate::names::Names;

/// Logical name of the stream.
pub const ORDERS: &str = "orders";

/// The orders stream.
pub fn resources(config: &StackConfig, names: &Names, tags: &Tags) -> Vec<Resource> {
    let s = &config.stream;
    let provisioned = s.mode == StreamMode::Provisioned;
    vec![Resource::new(
        ORDERS,
        &StreamSpec {
            name: names.stream(),
            mode: if provisioned {
                "PROVISIONED"
            } else {
                "ON_DEMAND"
            }
            .into(),
            shard_count: provisioned.then_some(s.shards as i32),
            retention_hours: s.retention_hours as i32,
            kms_key: s.encrypted.then(|| "alias/aws/kinesis".to_string()),
            tags: tags.clone(),
        },
    )]
}
