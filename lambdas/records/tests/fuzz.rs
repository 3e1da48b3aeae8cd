//! Property tests of the record parser: the CSV path ([`Cleaner::clean_csv`]) and the JSON
//! path ([`Cleaner::clean_json_str`], [`Cleaner::clean_json_value`]) under hostile input.
//!
//! For every input, under the default rules and with every configurable rule relaxed:
//! - no panic;
//! - the result is a batch or a clear error: every CSV record after the header is either
//!   accepted or rejected (counted against an independent read of the same bytes), every
//!   rejection says why in a non-empty detail, and a whole-input error has a message;
//! - every accepted line survives its own JSON: the line's hand-written JSON parses back
//!   (with serde and through the JSON cleaning path) to the very same line;
//! - memory stays linear: the peak of bytes live during one call is at most
//!   `MEMORY_BASE + PER_BYTE x input length` ([`PER_BYTE`] says why it is that large).
//!
//! Inputs come from arbitrary bytes, real rows of `tests/fixtures/online_retail_sample.csv`
//! mutated byte by byte, and rows built field by field from hostile pieces (odd quoting,
//! huge fields, control characters, invalid UTF-8, byte-order marks, numbers at the edges).
//!
//! # The corpus
//!
//! `tests/corpus/csv/` and `tests/corpus/json/` hold small inputs that every run replays
//! through the same checks (`csv_corpus_replays`, `json_corpus_replays`): seeds cut from the
//! real dataset, hostile shapes worth keeping, and one file per bug found. To add a case,
//! drop a file in the directory (any name; `bug-` prefix for a regression, and say what it
//! was in the commit). A failing property prints the shrunk input and proptest writes its
//! seed under `proptest-regressions/`: check that file in too, and copy the input into the
//! corpus so the case stays even if the generators change.
//!
//! `PROPTEST_CASES=100000 cargo test -p records --test fuzz` runs a longer session.

#[path = "fuzzkit/mod.rs"]
mod fuzzkit;

use fuzzkit::{assert_memory_bounded, corpus, measure, mutated, preview, HOSTILE_TOKENS};
use proptest::prelude::*;
use records::{csv_reader, CleanBatch, Cleaner, CleaningRules, InputError, InvoiceLine};
use std::path::Path;

#[global_allocator]
static ALLOC: fuzzkit::PeakAlloc = fuzzkit::PeakAlloc;

/// Bytes live per input byte allowed to a whole-batch clean. The batch keeps every outcome:
/// a two-byte row like `1\n` becomes a rejection (about 100 bytes with its detail and its
/// input text) in a vector that doubles as it grows; the ingest handler, which must fit a
/// Lambda, keeps far less (see its own bound).
const PER_BYTE: usize = 200;

const HEADER: &str =
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country";
const SAMPLE: &[u8] = include_bytes!("fixtures/online_retail_sample.csv");

fn dir(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(name)
}

/// Every configurable rule relaxed: more lines reach the accepted side.
fn relaxed() -> CleaningRules {
    CleaningRules {
        keep_cancellations: true,
        keep_non_product_codes: true,
        keep_missing_customer: true,
        drop_duplicates: false,
    }
}

/// The records the CSV reader yields after the first (header) record, counted on its own.
fn data_records(bytes: &[u8]) -> Option<usize> {
    let mut reader = csv_reader(bytes);
    let mut rec = records::ByteRecord::new();
    let mut n = 0usize;
    loop {
        match reader.read_byte_record(&mut rec) {
            Ok(true) => n += 1,
            Ok(false) => return Some(n.saturating_sub(1)),
            Err(_) => return None,
        }
    }
}

/// What every accepted line must satisfy.
fn check_line(line: &InvoiceLine, what: &str) {
    assert!(
        !line.invoice_no.is_empty(),
        "{what}: empty InvoiceNo accepted"
    );
    assert!(
        !line.stock_code.is_empty(),
        "{what}: empty StockCode accepted"
    );
    assert!(!line.country.is_empty(), "{what}: empty Country accepted");
    let json = line.to_json();
    let back: InvoiceLine = serde_json::from_str(&json)
        .unwrap_or_else(|e| panic!("{what}: the line's JSON {json} does not parse back: {e}"));
    assert_eq!(
        &back, line,
        "{what}: JSON round trip changed the line: {json}"
    );
    let again = Cleaner::new(relaxed())
        .clean_json_str(&json)
        .unwrap_or_else(|r| panic!("{what}: the line's JSON {json} is rejected: {r:?}"));
    assert_eq!(
        &again, line,
        "{what}: cleaning the line's JSON changed it: {json}"
    );
}

fn check_batch(batch: &CleanBatch, what: &str) {
    for r in &batch.rejected {
        assert!(
            !r.detail.trim().is_empty(),
            "{what}: rejection without a detail: {r:?}"
        );
    }
    for line in &batch.accepted {
        check_line(line, what);
    }
}

/// The CSV checks for one input.
fn check_csv(bytes: &[u8]) {
    let what = preview(bytes);
    for rules in [CleaningRules::default(), relaxed()] {
        let cleaner = Cleaner::new(rules);
        let (result, peak) = measure(|| cleaner.clean_csv(bytes));
        assert_memory_bounded(&what, peak, bytes.len(), PER_BYTE);
        match result {
            Ok(batch) => {
                if let Some(n) = data_records(bytes) {
                    assert_eq!(batch.rows(), n, "{what}: rows lost or invented");
                }
                check_batch(&batch, &what);
            }
            Err(e) => {
                assert!(
                    !e.to_string().trim().is_empty(),
                    "{what}: error without a message"
                );
                if let InputError::BadHeader { found } = &e {
                    assert!(
                        found.len() <= bytes.len() * 2 + 16,
                        "{what}: header echo grew"
                    );
                }
            }
        }
    }
}

/// The JSON checks for one input: as text, and as a parsed value (each element of an array
/// too, as the ingest handler cleans them).
fn check_json(bytes: &[u8]) {
    let what = preview(bytes);
    for rules in [CleaningRules::default(), relaxed()] {
        let cleaner = Cleaner::new(rules);
        let (_, peak) = measure(|| {
            if let Ok(text) = std::str::from_utf8(bytes) {
                match cleaner.clean_json_str(text) {
                    Ok(line) => check_line(&line, &what),
                    Err(r) => assert!(!r.detail.trim().is_empty(), "{what}: {r:?}"),
                }
            }
            if let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) {
                let batch = match &value {
                    serde_json::Value::Array(items) => cleaner.clean_json_values(items),
                    other => cleaner.clean_json_values([other]),
                };
                check_batch(&batch, &what);
            }
        });
        assert_memory_bounded(&what, peak, bytes.len(), PER_BYTE);
    }
}

/// Real rows of the sample, with the header.
fn sample_seeds() -> Vec<Vec<u8>> {
    let lines: Vec<&[u8]> = SAMPLE.split(|&b| b == b'\n').skip(1).collect();
    lines
        .chunks(7)
        .map(|rows| {
            let mut out = format!("{HEADER}\n").into_bytes();
            for r in rows {
                out.extend_from_slice(r);
                out.push(b'\n');
            }
            out
        })
        .collect()
}

/// A CSV field from hostile pieces, quoted or not.
fn field() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        4 => "[0-9A-Za-z /:.-]{0,10}".prop_map(String::into_bytes),
        2 => proptest::sample::select(HOSTILE_TOKENS).prop_map(<[u8]>::to_vec),
        1 => proptest::sample::select(vec![
            "536365", "C536379", "A563185", "85123A", "POST", "12/1/2010 8:26",
            "2010-12-01T08:26:00", "2/29/2011 8:26", "2.55", "-11062.06", "1e-3", "17850.0",
            "4294967296", "9223372036854775808", "United Kingdom", "0.0", "6.0",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        1 => (1usize..3000).prop_map(|n| vec![b'9'; n]),
        1 => (1usize..3000).prop_map(|n| vec![0xA3; n]),
    ];
    (proptest::collection::vec(piece, 0..4), any::<bool>()).prop_map(|(pieces, quoted)| {
        let f = pieces.concat();
        if quoted {
            let mut q = vec![b'"'];
            for &b in &f {
                if b == b'"' {
                    q.push(b'"');
                }
                q.push(b);
            }
            q.push(b'"');
            q
        } else {
            f
        }
    })
}

/// A CSV text: usually the header, then rows of 6 to 10 built fields.
fn structured_csv() -> impl Strategy<Value = Vec<u8>> {
    let row = proptest::collection::vec(field(), 6..=10).prop_map(|f| f.join(&b","[..]));
    let bom = prop_oneof![Just(Vec::new()), Just(b"\xEF\xBB\xBF".to_vec())];
    let ending = proptest::sample::select(vec![&b"\n"[..], b"\r\n", b"\r"]);
    (
        bom,
        any::<bool>(),
        proptest::collection::vec(row, 0..12),
        ending,
    )
        .prop_map(|(bom, header, rows, end)| {
            let mut out = bom;
            if header {
                out.extend_from_slice(HEADER.as_bytes());
                out.extend_from_slice(end);
            }
            for r in rows {
                out.extend_from_slice(&r);
                out.extend_from_slice(end);
            }
            out
        })
}

/// A JSON value of hostile shape: scalars at the edges, the record's keys with values of any
/// type, and nesting.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::{json, Value};
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        "\\PC{0,12}".prop_map(Value::from),
        proptest::sample::select(vec![
            "536365",
            "C536379",
            "A1",
            "85123A",
            "12/1/2010 8:26",
            "2010-12-01 08:26:00",
            "2.55",
            "1e-28",
            "1e28",
            "79228162514264337593543950336",
            "NaN",
            "",
            " ",
            "\u{feff}536365",
            "17850.0",
            "0",
        ])
        .prop_map(Value::from),
    ];
    let value = leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            proptest::collection::btree_map("\\PC{0,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    let keys = [
        "InvoiceNo",
        "StockCode",
        "Description",
        "Quantity",
        "InvoiceDate",
        "UnitPrice",
        "CustomerID",
        "Country",
        "IsCancellation",
    ];
    let record = proptest::collection::vec(
        (proptest::sample::select(keys.to_vec()), value.clone()),
        0..12,
    )
    .prop_map(|fields| {
        let mut obj = serde_json::Map::new();
        for (k, v) in fields {
            obj.insert(k.to_owned(), v);
        }
        Value::Object(obj)
    });
    prop_oneof![
        3 => record.clone(),
        1 => proptest::collection::vec(record, 0..5).prop_map(Value::from),
        1 => value,
    ]
}

/// Real records as JSON in the pandas and typed shapes, for mutation.
fn json_seeds() -> Vec<Vec<u8>> {
    vec![
        br#"{"InvoiceNo":536365,"StockCode":"85123A","Description":"WHITE HANGING HEART T-LIGHT HOLDER","Quantity":6,"InvoiceDate":"12/1/2010 8:26","UnitPrice":2.55,"CustomerID":17850.0,"Country":"United Kingdom"}"#.to_vec(),
        br#"[{"InvoiceNo":"C536379","StockCode":"D","Description":"Discount","Quantity":-1,"InvoiceDate":"2010-12-01 09:41:00","UnitPrice":"27.50","CustomerID":14527,"Country":"United Kingdom","IsCancellation":true},{"InvoiceNo":"536370","StockCode":"22728","Quantity":24,"InvoiceDate":1291193400000,"UnitPrice":"3.75","CustomerID":null,"Country":"France"}]"#.to_vec(),
    ]
}

proptest! {
    #![proptest_config(fuzzkit::config(256))]

    #[test]
    fn csv_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        check_csv(&bytes);
        let mut with_header = format!("{HEADER}\n").into_bytes();
        with_header.extend_from_slice(&bytes);
        check_csv(&with_header);
    }

    #[test]
    fn csv_mutated_real_rows(bytes in mutated(sample_seeds(), 8)) {
        check_csv(&bytes);
    }

    #[test]
    fn csv_structured(bytes in structured_csv()) {
        check_csv(&bytes);
    }

    #[test]
    fn json_arbitrary_bytes(bytes in fuzzkit::hostile_bytes(40)) {
        check_json(&bytes);
    }

    #[test]
    fn json_mutated_real_records(bytes in mutated(json_seeds(), 8)) {
        check_json(&bytes);
    }

    #[test]
    fn json_structured(value in json_value()) {
        check_json(value.to_string().as_bytes());
    }
}

#[test]
fn csv_corpus_replays() {
    for (path, bytes) in corpus(&dir("csv")) {
        eprintln!("{}", path.display());
        check_csv(&bytes);
    }
}

#[test]
fn json_corpus_replays() {
    for (path, bytes) in corpus(&dir("json")) {
        eprintln!("{}", path.display());
        check_json(&bytes);
    }
}

/// Shapes too big for a corpus file, made at run time: a megabyte field, a hundred thousand
/// one-byte rows, and JSON nested a hundred thousand deep.
#[test]
fn big_hostile_shapes() {
    let mut huge_field = format!("{HEADER}\n536365,85123A,\"").into_bytes();
    huge_field.extend(std::iter::repeat_n(b'x', 1 << 20));
    huge_field.extend_from_slice(b"\",6,12/1/2010 8:26,2.55,17850,United Kingdom\n");
    check_csv(&huge_field);

    let mut tiny_rows = format!("{HEADER}\n").into_bytes();
    tiny_rows.extend(std::iter::repeat_n(&b"1\n"[..], 100_000).flatten());
    check_csv(&tiny_rows);

    let mut unclosed_quote = format!("{HEADER}\n\"").into_bytes();
    unclosed_quote.extend(std::iter::repeat_n(b'a', 1 << 20));
    check_csv(&unclosed_quote);

    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    check_json(deep.as_bytes());
    let deep_field = format!(
        r#"{{"InvoiceNo":{}1{},"StockCode":"85123A"}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    check_json(deep_field.as_bytes());
}

/// The meter itself: a call that holds a megabyte is seen holding at least that, and one
/// that holds nothing is seen holding next to nothing (so the bounds above can fail).
#[test]
fn the_meter_counts() {
    let (v, peak) = measure(|| vec![1u8; 1 << 20]);
    assert!(peak >= 1 << 20, "peak {peak}");
    drop(v);
    let (_, peak) = measure(|| 1 + 1);
    assert!(peak < 1024, "peak {peak}");
    let (_, peak) = measure(|| Cleaner::default().clean_csv(&b"1\n"[..]));
    assert!(peak > 0, "cleaning allocated nothing?");
}
