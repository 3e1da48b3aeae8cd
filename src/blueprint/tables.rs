//! The DynamoDB tables: `invoices` and `customers` for the data, `updates` for the
//! storage-update digest's state.

use crate::config::{Billing, StackConfig};
use crate::model::dynamodb::{KeyAttribute, TableSpec};
use crate::model::{Resource, Tags};
use crate::names::Names;

/// Logical name of the invoices table (key InvoiceNo + LineKey, where LineKey is
/// `<StockCode>#<line hash>`: the data has 5,199 invoices with several distinct lines of one
/// stock code, which a StockCode sort key would collapse into one item and lose).
pub const INVOICES: &str = "invoices";
/// Logical name of the customers table (key CustomerID + InvoiceNo).
pub const CUSTOMERS: &str = "customers";
/// Logical name of the table holding the storage-update digest (key `Digest`): one small item
/// that `process` updates conditionally, so that concurrent invocations send at most one
/// message per digest interval between them (see `lambdas/process`).
pub const UPDATES: &str = "updates";

fn key(name: &str, kind: &str) -> KeyAttribute {
    KeyAttribute {
        name: name.into(),
        kind: kind.into(),
    }
}

/// The three tables.
pub fn resources(config: &StackConfig, names: &Names, tags: &Tags) -> Vec<Resource> {
    let t = &config.tables;
    let table = |logical: &str, pk: KeyAttribute, sk: Option<KeyAttribute>, provisioned: bool| {
        Resource::new(
            logical,
            &TableSpec {
                name: names.table(logical),
                partition_key: pk,
                sort_key: sk,
                billing_mode: if provisioned {
                    "PROVISIONED"
                } else {
                    "PAY_PER_REQUEST"
                }
                .into(),
                read_capacity: provisioned.then_some(t.read_capacity as i64),
                write_capacity: provisioned.then_some(t.write_capacity as i64),
                pitr: t.pitr,
                sse_kms: t.kms,
                deletion_protection: config.protected,
                tags: tags.clone(),
            },
        )
    };
    let provisioned = t.billing == Billing::Provisioned;
    vec![
        table(
            INVOICES,
            key("InvoiceNo", "S"),
            Some(key("LineKey", "S")),
            provisioned,
        ),
        table(
            CUSTOMERS,
            key("CustomerID", "N"),
            Some(key("InvoiceNo", "S")),
            provisioned,
        ),
        // A few writes a batch at most: on demand whatever the data tables' billing, as
        // provisioned capacity would be paid for while it idles.
        table(UPDATES, key("Digest", "S"), None, false),
    ]
}
