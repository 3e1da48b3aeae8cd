//! Parity of the Glue batch ETL script with the streaming cleaner.
//!
//! The pipeline cleans the same data on two paths: the Lambdas run the `records` crate on the
//! streamed rows, and the Glue job runs `src/model/assets/glue_etl.py` (PySpark) over the raw CSV.
//! This test proves that the script cleans a file exactly as the crate does. For each case (a
//! fixture and a set of cleaning rules) it runs
//!
//! * the crate, through `ecomflow-infra data check FILE --accepted A --rejected R [rule flags]`;
//! * the script's own `transform` (what the Glue `main` writes) under a local PySpark, through
//!   `tests/glue/parity.py`, which imports the script from its path and also checks that the
//!   job's `write_outputs` writes Parquet and JSON that read back as the same rows;
//!
//! and compares the two row by row, matched by input row index (both keep input order): the
//! same rows accepted, each equal in every typed field (InvoiceNo, StockCode, Description,
//! Quantity, InvoiceDate, UnitPrice as an exact decimal, CustomerID, Country, IsCancellation),
//! and the same rows rejected, with the same reason, input text and detail. UnitPrice is
//! compared by value, not by scale: the Glue table's column is decimal(10,3), so `2.55` comes
//! back as `2.550`. A failure names the case, the first differing row and field, and the row's
//! input.
//!
//! Cases: the default rules, the stricter set (drop cancellations and missing customers, keep
//! duplicates) and keeping non-product codes on `tests/fixtures/glue_parity_sample.csv`, 2,823
//! real rows cut from the dataset by `tests/glue/make_fixture.py` (and the default rules on a
//! gzip copy of it, as `ecomflow-infra load` uploads files); the default rules and every
//! rule flipped on `tests/fixtures/glue_parity_edge.csv`, parser edge cases the real data does
//! not show (`tests/glue/make_edge_fixture.py`); the default rules on the crate's own
//! `malformed.csv`.
//!
//! Runs under the emulator venv's python (`ecomflow_testkit::emulator_python`), whose pinned
//! PySpark is the Spark of the job's Glue version, the one the emulator runs the job under;
//! it needs a Java runtime. Without PySpark the test fails, never skips.
//!
//! No input is known on which the two differ. The edge fixture includes the ones that once
//! did: a year 0000 date, a price with underscores (`2_55`), and prices the Glue table's
//! decimal(10,3) cannot hold (more than 3 decimal places, or 10^7 and above), all of which
//! both now refuse.

use records::{csv_line_text, csv_reader, read_header, ByteRecord, InvoiceLine};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const HARNESS: &str = "tests/glue/parity.py";
const SAMPLE: &str = "tests/fixtures/glue_parity_sample.csv";
const EDGE: &str = "tests/fixtures/glue_parity_edge.csv";
const MALFORMED: &str = "lambdas/records/tests/fixtures/malformed.csv";

const STRICT: &[&str] = &[
    "--drop-cancellations",
    "--drop-missing-customer",
    "--keep-duplicates",
];
const ALL_FLIPPED: &[&str] = &[
    "--drop-cancellations",
    "--drop-missing-customer",
    "--keep-non-product-codes",
    "--keep-duplicates",
];

/// One comparison: a fixture (relative to the repository root), whether both sides read it
/// gzip-compressed (as `ecomflow-infra load` uploads files), and `data check`'s rule flags.
struct Case {
    name: &'static str,
    fixture: &'static str,
    gzip: bool,
    flags: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        name: "real sample, default rules",
        fixture: SAMPLE,
        gzip: false,
        flags: &[],
    },
    Case {
        name: "real sample, drop cancellations and missing customers, keep duplicates",
        fixture: SAMPLE,
        gzip: false,
        flags: STRICT,
    },
    Case {
        name: "real sample, keep non-product codes",
        fixture: SAMPLE,
        gzip: false,
        flags: &["--keep-non-product-codes"],
    },
    Case {
        name: "real sample gzip-compressed, default rules",
        fixture: SAMPLE,
        gzip: true,
        flags: &[],
    },
    Case {
        name: "edge cases, default rules",
        fixture: EDGE,
        gzip: false,
        flags: &[],
    },
    Case {
        name: "edge cases, every rule flipped",
        fixture: EDGE,
        gzip: false,
        flags: ALL_FLIPPED,
    },
    Case {
        name: "the crate's malformed rows, default rules",
        fixture: MALFORMED,
        gzip: false,
        flags: &[],
    },
];

/// A rejected row as both sides write it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Rejected {
    reason: String,
    detail: String,
    input: String,
    index: usize,
}

/// What became of one input row on one side. Accepted lines keep their JSON text for messages.
enum Outcome {
    Accepted(Box<InvoiceLine>, String),
    Rejected(Rejected),
}

/// One entry of the harness's `--cases` file.
#[derive(Serialize)]
struct HarnessCase {
    input: PathBuf,
    accepted: PathBuf,
    rejected: PathBuf,
    flags: Vec<&'static str>,
}

fn root(rel: &str) -> PathBuf {
    Path::new(ROOT).join(rel)
}

/// Fails (never skips) when the venv's python or its PySpark is missing.
fn require_pyspark() {
    let hint = "run scripts/ensure-emulator (scripts/test does), then rerun";
    match Command::new(ecomflow_testkit::emulator_python())
        .args(["-c", "import pyspark"])
        .output()
    {
        Err(e) => panic!(
            "cannot run the emulator venv's python ({e}): the Glue ETL parity test needs it; {hint}"
        ),
        Ok(out) if !out.status.success() => panic!(
            "PySpark is not installed in the emulator venv, so the Glue ETL script cannot be run: {hint}.\n{}",
            String::from_utf8_lossy(&out.stderr).trim_end()
        ),
        Ok(_) => {}
    }
}

/// The file both sides read for case `n`: the fixture, or a gzip copy of it in `dir`.
fn input_of(case: &Case, dir: &Path, n: usize) -> PathBuf {
    if !case.gzip {
        return root(case.fixture);
    }
    let name = Path::new(case.fixture)
        .file_name()
        .unwrap()
        .to_string_lossy();
    let gz = dir.join(format!("{n}-{name}.gz"));
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::default(),
    );
    std::io::copy(
        &mut std::fs::File::open(root(case.fixture)).unwrap(),
        &mut enc,
    )
    .unwrap();
    enc.finish().unwrap();
    gz
}

/// Runs the crate (`data check`) on `input`, writing its two JSON-lines files.
fn run_crate(case: &Case, input: &Path, accepted: &Path, rejected: &Path) {
    let out = Command::new(env!("CARGO_BIN_EXE_ecomflow-infra"))
        .current_dir(ROOT)
        .args(["data", "check"])
        .arg(input)
        .args(case.flags)
        .arg("--accepted")
        .arg(accepted)
        .arg("--rejected")
        .arg(rejected)
        .output()
        .expect("run ecomflow-infra");
    assert!(
        out.status.success(),
        "data check {} {:?} failed:\n{}",
        input.display(),
        case.flags,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs the Glue script on every case in one SparkSession.
fn run_glue_script(cases: &[HarnessCase], dir: &Path) {
    let list = dir.join("cases.json");
    std::fs::write(&list, serde_json::to_vec_pretty(cases).unwrap()).unwrap();
    let out = Command::new(ecomflow_testkit::emulator_python())
        .current_dir(ROOT)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .arg(HARNESS)
        .arg("--cases")
        .arg(&list)
        .output()
        .expect("run the emulator venv's python");
    let stderr = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) => eprint!("{stderr}"),
        Some(3) => panic!("{HARNESS}: PySpark cannot be imported: run scripts/ensure-emulator (scripts/test does), then rerun.\n{stderr}"),
        _ => panic!("{HARNESS} failed ({}):\n{stderr}", out.status),
    }
}

/// Reads JSON lines, each with its text.
fn read_json_lines<T: DeserializeOwned>(
    path: &Path,
    side: &str,
) -> Result<Vec<(T, String)>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{side}: cannot read {}: {e}", path.display()))?;
    text.lines()
        .enumerate()
        .map(|(n, line)| {
            serde_json::from_str(line)
                .map(|v| (v, line.to_owned()))
                .map_err(|e| format!("{side}: line {} of {}: {e}: {line}", n + 1, path.display()))
        })
        .collect()
}

/// Every input row's outcome, by row index: rejections carry their index, and the accepted
/// lines (in input order) fill the other indices in order.
fn outcomes(side: &str, accepted: &Path, rejected: &Path) -> Result<Vec<Outcome>, String> {
    let accepted = read_json_lines::<InvoiceLine>(accepted, side)?;
    let rejected = read_json_lines::<Rejected>(rejected, side)?;
    let total = accepted.len() + rejected.len();
    let mut rows: Vec<Option<Outcome>> = (0..total).map(|_| None).collect();
    let mut previous = None;
    for (r, _) in rejected {
        if r.index >= total || previous.is_some_and(|p| r.index <= p) {
            return Err(format!(
                "{side}: rejection of row {} is out of order or beyond the {total} rows",
                r.index
            ));
        }
        previous = Some(r.index);
        let index = r.index;
        rows[index] = Some(Outcome::Rejected(r));
    }
    let mut lines = accepted.into_iter();
    for slot in rows.iter_mut().filter(|s| s.is_none()) {
        let (line, text) = lines.next().expect("one accepted line per free index");
        *slot = Some(Outcome::Accepted(Box::new(line), text));
    }
    Ok(rows.into_iter().map(Option::unwrap).collect())
}

/// The first field in which two accepted lines differ, if any.
fn field_difference(a: &InvoiceLine, b: &InvoiceLine) -> Option<String> {
    let fields = [
        (
            "InvoiceNo",
            a.invoice_no == b.invoice_no,
            format!("{:?}", a.invoice_no),
            format!("{:?}", b.invoice_no),
        ),
        (
            "StockCode",
            a.stock_code == b.stock_code,
            format!("{:?}", a.stock_code),
            format!("{:?}", b.stock_code),
        ),
        (
            "Description",
            a.description == b.description,
            format!("{:?}", a.description),
            format!("{:?}", b.description),
        ),
        (
            "Quantity",
            a.quantity == b.quantity,
            a.quantity.to_string(),
            b.quantity.to_string(),
        ),
        (
            "InvoiceDate",
            a.invoice_date == b.invoice_date,
            a.invoice_date.to_string(),
            b.invoice_date.to_string(),
        ),
        // Decimal equality is by value: 2.55 == 2.550, 2.55 != 2.551.
        (
            "UnitPrice",
            a.unit_price == b.unit_price,
            a.unit_price.to_string(),
            b.unit_price.to_string(),
        ),
        (
            "CustomerID",
            a.customer_id == b.customer_id,
            format!("{:?}", a.customer_id),
            format!("{:?}", b.customer_id),
        ),
        (
            "Country",
            a.country == b.country,
            format!("{:?}", a.country),
            format!("{:?}", b.country),
        ),
        (
            "IsCancellation",
            a.is_cancellation == b.is_cancellation,
            a.is_cancellation.to_string(),
            b.is_cancellation.to_string(),
        ),
    ];
    fields
        .into_iter()
        .find(|(_, same, _, _)| !same)
        .map(|(name, _, ours, theirs)| {
            format!("field {name}: the crate has {ours}, the Glue script {theirs}")
        })
}

/// How one row's outcomes differ, if they do.
fn row_difference(ours: &Outcome, theirs: &Outcome) -> Option<String> {
    match (ours, theirs) {
        (Outcome::Accepted(a, _), Outcome::Accepted(b, _)) => field_difference(a, b),
        (Outcome::Rejected(a), Outcome::Rejected(b)) => {
            if a.reason != b.reason {
                Some(format!(
                    "rejection reason: the crate has {}, the Glue script {}",
                    a.reason, b.reason
                ))
            } else if a.input != b.input {
                Some(format!(
                    "rejection input: the crate has {:?}, the Glue script {:?}",
                    a.input, b.input
                ))
            } else if a.detail != b.detail {
                Some(format!(
                    "rejection detail: the crate has {:?}, the Glue script {:?}",
                    a.detail, b.detail
                ))
            } else {
                None
            }
        }
        (Outcome::Accepted(..), Outcome::Rejected(b)) => Some(format!(
            "the crate accepted it, the Glue script rejected it ({}: {})",
            b.reason, b.detail
        )),
        (Outcome::Rejected(a), Outcome::Accepted(..)) => Some(format!(
            "the crate rejected it ({}: {}), the Glue script accepted it",
            a.reason, a.detail
        )),
    }
}

fn show(row: Option<&Outcome>) -> String {
    match row {
        None => "(no such row)".into(),
        Some(Outcome::Accepted(_, json)) => format!("accepted {json}"),
        Some(Outcome::Rejected(r)) => format!("rejected {}: {}", r.reason, r.detail),
    }
}

/// Each data row of a fixture as the crate renders it (a rejection's `input`), for messages.
fn fixture_rows(fixture: &str) -> Vec<String> {
    let mut reader = csv_reader(std::fs::File::open(root(fixture)).unwrap());
    let mut rec = ByteRecord::new();
    read_header(&mut reader, &mut rec).unwrap();
    let mut rows = Vec::new();
    while reader.read_byte_record(&mut rec).unwrap() {
        rows.push(csv_line_text(&rec));
    }
    rows
}

/// Compares the two sides of one case; the error names the first differing row and field.
fn compare(case: &Case, ours: &[Outcome], theirs: &[Outcome]) -> Result<(), String> {
    let differing: Vec<usize> = (0..ours.len().max(theirs.len()))
        .filter(|&i| match (ours.get(i), theirs.get(i)) {
            (Some(a), Some(b)) => row_difference(a, b).is_some(),
            _ => true,
        })
        .collect();
    let Some(&first) = differing.first() else {
        return Ok(());
    };
    let what = match (ours.get(first), theirs.get(first)) {
        (Some(a), Some(b)) => row_difference(a, b).unwrap_or_default(),
        _ => "present on one side only".into(),
    };
    let input = fixture_rows(case.fixture)
        .get(first)
        .cloned()
        .unwrap_or_else(|| "(beyond the fixture's rows)".into());
    Err(format!(
        "{} ({}{}): the Glue script and the crate differ on {} of {} rows (the crate read {}, the Glue script {}).\n  \
         first differing row: data row {first} (0-based, header excluded): {what}\n  \
         input:  {input}\n  crate:  {}\n  Glue:   {}",
        case.name,
        case.fixture,
        case.flags.iter().map(|f| format!(" {f}")).collect::<String>(),
        differing.len(),
        ours.len().max(theirs.len()),
        ours.len(),
        theirs.len(),
        show(ours.get(first)),
        show(theirs.get(first)),
    ))
}

/// Where case `n`'s outputs go: (crate accepted, crate rejected, Glue accepted, Glue rejected).
fn outputs(dir: &Path, n: usize) -> [PathBuf; 4] {
    [
        "crate-accepted",
        "crate-rejected",
        "glue-accepted",
        "glue-rejected",
    ]
    .map(|what| dir.join(format!("{n}-{what}.jsonl")))
}

#[test]
fn glue_script_cleans_every_row_like_the_crate() {
    require_pyspark();
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let mut harness = Vec::new();
    for (n, case) in CASES.iter().enumerate() {
        let [ours_a, ours_r, theirs_a, theirs_r] = outputs(dir.path(), n);
        let input = input_of(case, dir.path(), n);
        run_crate(case, &input, &ours_a, &ours_r);
        harness.push(HarnessCase {
            input,
            accepted: theirs_a,
            rejected: theirs_r,
            flags: case.flags.to_vec(),
        });
    }
    let crate_time = started.elapsed();
    run_glue_script(&harness, dir.path());
    eprintln!(
        "glue parity: crate {:.1}s, Glue script under PySpark {:.1}s",
        crate_time.as_secs_f64(),
        (started.elapsed() - crate_time).as_secs_f64()
    );

    let mut failures = Vec::new();
    for (n, case) in CASES.iter().enumerate() {
        let [ours_a, ours_r, theirs_a, theirs_r] = outputs(dir.path(), n);
        let result = match (
            outcomes("crate", &ours_a, &ours_r),
            outcomes("Glue script", &theirs_a, &theirs_r),
        ) {
            (Ok(ours), Ok(theirs)) => {
                let accepted = ours
                    .iter()
                    .filter(|o| matches!(o, Outcome::Accepted(..)))
                    .count();
                eprintln!(
                    "glue parity: {}: {} rows, {accepted} accepted, {} rejected",
                    case.name,
                    ours.len(),
                    ours.len() - accepted
                );
                compare(case, &ours, &theirs)
            }
            (Err(e), _) | (_, Err(e)) => Err(format!("{}: {e}", case.name)),
        };
        failures.extend(result.err());
    }
    assert!(
        failures.is_empty(),
        "the Glue ETL script (src/model/assets/glue_etl.py) and the records crate disagree in {} of {} cases:\n\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n\n")
    );
}

/// The real-data fixture holds every quirk the rules care about, so the parity above covers
/// them (checked on the crate's output, without Spark).
#[test]
fn sample_fixture_has_every_quirk() {
    let bytes = std::fs::read(root(SAMPLE)).unwrap();
    assert!(bytes.len() < 1 << 20, "the fixture must stay under 1 MB");
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "the fixture must keep the dataset's raw Latin-1 bytes"
    );
    assert!(bytes.iter().filter(|&&b| b == 0xA3).count() >= 30);

    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, flags: &'static [&'static str]| {
        let (a, r) = (
            dir.path().join(format!("{name}-a.jsonl")),
            dir.path().join(format!("{name}-r.jsonl")),
        );
        let case = Case {
            name: "quirks",
            fixture: SAMPLE,
            gzip: false,
            flags,
        };
        run_crate(&case, &root(SAMPLE), &a, &r);
        let lines: Vec<InvoiceLine> = read_json_lines(&a, "crate")
            .unwrap()
            .into_iter()
            .map(|(l, _)| l)
            .collect();
        let rejected: Vec<Rejected> = read_json_lines(&r, "crate")
            .unwrap()
            .into_iter()
            .map(|(r, _)| r)
            .collect();
        (lines, rejected)
    };

    // Everything kept: the quirky lines themselves.
    let (lines, rejected) = run("all", &["--keep-non-product-codes", "--keep-duplicates"]);
    assert!(rejected.is_empty(), "real rows are all well formed");
    assert!(lines.len() >= 2000, "a few thousand rows");
    let has = |what: &str, f: &dyn Fn(&InvoiceLine) -> bool| {
        assert!(lines.iter().any(f), "the sample has no {what}");
    };
    has("cancellation", &|l| l.is_cancellation);
    has("adjustment (A...)", &|l| l.invoice_no.starts_with('A'));
    has("missing CustomerID", &|l| l.customer_id.is_none());
    has("negative price", &|l| l.unit_price.is_sign_negative());
    has("zero price", &|l| l.unit_price.is_zero());
    has("3-decimal price", &|l| l.unit_price.scale() == 3);
    has("negative quantity", &|l| l.quantity < 0);
    has("pound sign", &|l| l.description.contains('£'));
    has("comma in a description", &|l| l.description.contains(','));
    has("quote in a description", &|l| l.description.contains('"'));
    has("empty description", &|l| l.description.is_empty());
    has("lower-case stock code", &|l| {
        l.stock_code.chars().any(|c| c.is_ascii_lowercase())
    });
    for code in [
        "POST",
        "M",
        "m",
        "D",
        "S",
        "B",
        "C2",
        "DOT",
        "CRUK",
        "PADS",
        "BANK CHARGES",
        "AMAZONFEE",
        "gift_0001_40",
    ] {
        has(code, &|l| l.stock_code == code);
    }
    has("DCGS product code", &|l| l.stock_code.starts_with("DCGS"));

    // The default rules: non-product codes and duplicates rejected.
    let (_, rejected) = run("default", &[]);
    for reason in ["non_product_code", "duplicate"] {
        assert!(
            rejected.iter().any(|r| r.reason == reason),
            "no {reason} rejection"
        );
    }
    // The stricter rules: cancellations and missing customers rejected too.
    let (_, rejected) = run("strict", STRICT);
    for reason in ["cancellation", "missing_customer_id", "non_product_code"] {
        assert!(
            rejected.iter().any(|r| r.reason == reason),
            "no {reason} rejection"
        );
    }
}
