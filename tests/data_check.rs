//! `ecomflow-infra data check`: the records crate's cleaning over a file, end to end.

use std::process::Command;

const SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/lambdas/records/tests/fixtures/online_retail_sample.csv"
);

/// The sample's distinct values over every row, whatever the rules (counted independently).
const INPUT_INVOICES: u64 = 71;
const INPUT_CUSTOMERS: u64 = 28;
const INPUT_STOCK_CODES: u64 = 124;
const INPUT_COUNTRIES: u64 = 8;

fn check(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ecomflow-infra"))
        .args(["data", "check"])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn reports_the_sample_as_json_and_text() {
    let (code, json, err) = check(&[SAMPLE, "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["rows_read"], 163);
    assert_eq!(v["accepted"], 124);
    assert_eq!(v["rejected_by_reason"]["non_product_code"], 31);
    assert_eq!(v["rejected_by_reason"]["duplicate"], 8);
    assert_eq!(v["cancellations"], 20);
    assert_eq!(v["missing_customer_id"], 44);
    assert_eq!(v["distinct_invoices"], 46);
    assert_eq!(v["input_distinct_invoices"], INPUT_INVOICES);
    assert_eq!(v["input_distinct_customers"], INPUT_CUSTOMERS);
    assert_eq!(v["input_distinct_stock_codes"], INPUT_STOCK_CODES);
    assert_eq!(v["input_distinct_countries"], INPUT_COUNTRIES);

    let (code, text, _) = check(&[SAMPLE]);
    assert_eq!(code, 0);
    assert!(text.contains("rows read                     163"), "{text}");
}

/// The whole dataset in the repository matches its published figures (data/README.md), so a
/// user can check a copy of it the same way.
#[test]
fn the_whole_file_matches_its_published_figures() {
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/data/online_retail.csv.gz");
    let (code, json, err) = check(&[data, "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["rows_read"], 541_909);
    assert_eq!(v["missing_customer_id"], 135_080);
    assert_eq!(v["exact_duplicate_rows"], 5_268);
    assert_eq!(v["input_distinct_invoices"], 25_900);
    assert_eq!(v["input_distinct_customers"], 4_372);
    assert_eq!(v["input_distinct_stock_codes"], 4_070);
    assert_eq!(v["input_distinct_countries"], 38);
    assert_eq!(v["first_invoice_date"], "2010-12-01 08:26:00");
    assert!(v["accepted"].as_u64().unwrap() < 541_909);
}

#[test]
fn rules_flags_and_gzip_input() {
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("sample.csv.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    std::io::copy(&mut std::fs::File::open(SAMPLE).unwrap(), &mut enc).unwrap();
    enc.finish().unwrap();
    let (code, json, err) = check(&[
        gz.to_str().unwrap(),
        "--json",
        "--drop-cancellations",
        "--keep-non-product-codes",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["rows_read"], 163);
    assert_eq!(v["rules"]["keep_cancellations"], false);
    assert!(v["rejected_by_reason"]["cancellation"].as_u64().unwrap() > 0);
    assert_eq!(v["rejected_by_reason"]["non_product_code"], 0);
}

#[test]
fn a_missing_or_foreign_file_is_a_clear_error() {
    let (code, _, err) = check(&["/nonexistent.csv"]);
    assert_eq!(code, 1);
    assert!(err.contains("failed to open /nonexistent.csv"), "{err}");
    let (code, _, err) = check(&[concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")]);
    assert_eq!(code, 1);
    assert!(err.contains("failed to check"), "{err}");
}
