//! The DynamoDB tables `invoices` and `customers`.

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

fn key(name: &str, kind: &str) -> KeyAttribute {
    KeyAttribute {
        name: name.into(),
        kind: kind.into(),
    }
}

/// Both tables.
pub fn resources(config: &StackConfig, names: &Names, tags: &Tags) -> Vec<Resource> {
    let t = &config.tables;
    let provisioned = t.billing == Billing::Provisioned;
    let table = |logical: &str, pk: KeyAttribute, sk: KeyAttribute| {
        Resource::new(
            logical,
            &TableSpec {
                name: names.table(logical),
                partition_key: pk,
                sort_key: Some(sk),
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
                tags: tags.clone(),
            },
        )
    };
    vec![
        table(INVOICES, key("InvoiceNo", "S"), key("LineKey", "S")),
        table(CUSTOMERS, key("CustomerID", "N"), key("InvoiceNo", "S")),
    ]
}
