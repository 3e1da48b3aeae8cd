//! `report::check` over the committed fixtures, with counts established independently
//! (Python `csv` one-liners and `bench/clean_reference.py`).

use records::report::{check, DataReport};
use records::{Cleaner, CleaningRules, RejectReason};
use std::fs::File;

const SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/online_retail_sample.csv"
);
const MALFORMED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/malformed.csv");

fn report(path: &str, rules: CleaningRules) -> DataReport {
    check(File::open(path).unwrap(), &rules).unwrap()
}

fn nonzero(r: &DataReport) -> Vec<(RejectReason, u64)> {
    r.rejected_by_reason
        .iter()
        .filter(|(_, &n)| n > 0)
        .map(|(&k, &n)| (k, n))
        .collect()
}

#[test]
fn fixture_is_latin1_and_covers_the_quirks() {
    let bytes = std::fs::read(SAMPLE).unwrap();
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "fixture must keep the raw 0xA3 bytes"
    );
    assert_eq!(bytes.iter().filter(|&&b| b == 0xA3).count(), 6);
}

#[test]
fn sample_with_default_rules() {
    let r = report(SAMPLE, CleaningRules::default());
    assert_eq!(r.rows_read, 163);
    assert_eq!(r.accepted, 124);
    assert_eq!(r.rejected, 39);
    assert_eq!(
        nonzero(&r),
        vec![
            (RejectReason::NonProductCode, 31),
            (RejectReason::Duplicate, 8)
        ]
    );
    assert_eq!(r.cancellations, 20);
    assert_eq!(r.adjustments, 3);
    assert_eq!(r.missing_customer_id, 44);
    assert_eq!(r.exact_duplicate_rows, 8);
    assert_eq!(r.distinct_invoices, 46);
    assert_eq!(r.distinct_customers, 20);
    assert_eq!(r.distinct_stock_codes, 108);
    assert_eq!(r.distinct_countries, 7);
    // Every row, whatever the rules.
    assert_eq!(r.input_distinct_invoices, 71);
    assert_eq!(r.input_distinct_customers, 28);
    assert_eq!(r.input_distinct_stock_codes, 124);
    assert_eq!(r.input_distinct_countries, 8);
    assert_eq!(r.total_quantity, 743);
    assert_eq!(r.total_revenue.to_string(), "2018.30");

    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["first_invoice_date"], "2010-12-01 08:26:00");
    assert_eq!(v["last_invoice_date"], "2011-10-13 12:50:00");
    assert_eq!(v["total_revenue"], "2018.30");
    assert_eq!(v["rejected_by_reason"]["duplicate"], 8);
    assert_eq!(v["rejected_by_reason"]["bad_date"], 0);
    assert_eq!(v["rules"]["keep_cancellations"], true);
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    for k in [
        "rows_read",
        "accepted",
        "rejected",
        "rejected_by_reason",
        "cancellations",
        "adjustments",
        "missing_customer_id",
        "exact_duplicate_rows",
        "input_distinct_invoices",
        "input_distinct_customers",
        "input_distinct_stock_codes",
        "input_distinct_countries",
        "distinct_invoices",
        "distinct_customers",
        "distinct_stock_codes",
        "distinct_countries",
        "first_invoice_date",
        "last_invoice_date",
        "total_quantity",
        "total_revenue",
        "rules",
    ] {
        assert!(keys.contains(&k), "{k}");
    }
    let text = r.to_string();
    assert!(text.contains("rows read                     163"), "{text}");
    assert!(text.contains("non_product_code"));
    assert!(text.contains("2011-10-13 12:50:00"));
}

#[test]
fn sample_with_strict_rules() {
    let rules = CleaningRules {
        keep_cancellations: false,
        keep_missing_customer: false,
        keep_non_product_codes: false,
        drop_duplicates: true,
    };
    let r = report(SAMPLE, rules);
    assert_eq!((r.accepted, r.rejected), (86, 77));
    assert_eq!(
        nonzero(&r),
        vec![
            (RejectReason::Cancellation, 20),
            (RejectReason::MissingCustomerId, 27),
            (RejectReason::NonProductCode, 22),
            (RejectReason::Duplicate, 8),
        ]
    );
    assert_eq!(r.distinct_invoices, 23);
    assert_eq!(r.distinct_customers, 17);
    assert_eq!(r.distinct_stock_codes, 77);
    assert_eq!(r.total_quantity, 904);
    assert_eq!(r.total_revenue.to_string(), "2115.28");
}

#[test]
fn sample_keeping_everything() {
    let rules = CleaningRules {
        keep_cancellations: true,
        keep_missing_customer: true,
        keep_non_product_codes: true,
        drop_duplicates: false,
    };
    let r = report(SAMPLE, rules);
    assert_eq!((r.accepted, r.rejected), (163, 0));
    assert_eq!(r.distinct_invoices, 71);
    assert_eq!(r.distinct_customers, 28);
    assert_eq!(r.distinct_stock_codes, 124);
    assert_eq!(r.distinct_countries, 8);
    assert_eq!(r.total_quantity, 766);
    assert_eq!(r.total_revenue.to_string(), "-21258.327");
}

#[test]
fn malformed_rows_each_have_a_reason() {
    let r = report(MALFORMED, CleaningRules::default());
    assert_eq!((r.rows_read, r.accepted, r.rejected), (15, 3, 12));
    assert_eq!(
        nonzero(&r),
        vec![
            (RejectReason::WrongFieldCount, 2),
            (RejectReason::EmptyInvoiceNo, 1),
            (RejectReason::BadInvoiceNo, 1),
            (RejectReason::EmptyStockCode, 1),
            (RejectReason::BadQuantity, 2),
            (RejectReason::BadDate, 2),
            (RejectReason::BadPrice, 1),
            (RejectReason::BadCustomerId, 1),
            (RejectReason::EmptyCountry, 1),
        ]
    );
    assert_eq!(r.total_revenue.to_string(), "37.500");
    // Latin-1 and UTF-8 pound signs both come out as UTF-8.
    let batch = Cleaner::default()
        .clean_csv(File::open(MALFORMED).unwrap())
        .unwrap();
    let descs: Vec<&str> = batch
        .accepted
        .iter()
        .map(|l| l.description.as_str())
        .collect();
    assert_eq!(
        descs,
        [
            "WHITE HANGING HEART T-LIGHT HOLDER",
            "HAND WARMER, £ LATIN-1 POUND",
            "HAND WARMER £ UTF-8 POUND"
        ]
    );
    assert_eq!(batch.rejected.len(), 12);
    assert!(batch
        .rejected
        .iter()
        .all(|r| r.index.is_some() && !r.input.is_empty()));
}
