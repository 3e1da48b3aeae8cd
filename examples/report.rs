//! The last step of `scripts/report`: reads the figures every benchmark wrote to
//! `$ECOMFLOW_REPORT_DIR` (default `target/report`), prints them as one table, with the
//! baseline named on each row (a ratio's, or none for an absolute figure), and writes them
//! together as `report.json` there.
//!
//! `cargo run --example report` after the benchmarks ran; the script does both.

use serde_json::{json, Value};
use std::path::PathBuf;

/// The order of the benchmarks in the table (others follow in name order).
const ORDER: [&str; 7] = [
    "plan_bench",
    "users_bench",
    "clean_bench",
    "stream_bench",
    "stream_bench_lake",
    "lag_bench",
    "fault_matrix",
];

fn number(v: &Value) -> String {
    match v.as_f64() {
        Some(x) if x.abs() >= 100.0 => format!("{x:.0}"),
        Some(x) => format!("{x:.2}"),
        None => "-".into(),
    }
}

fn main() {
    let dir = std::env::var_os("ECOMFLOW_REPORT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/report"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("no figures in {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|x| x == "json")
                && p.file_name().is_some_and(|n| n != "report.json")
        })
        .collect();
    let rank = |p: &PathBuf| {
        let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        (
            ORDER.iter().position(|b| *b == stem).unwrap_or(ORDER.len()),
            stem.to_string(),
        )
    };
    files.sort_by_key(rank);
    let mut rows: Vec<Value> = Vec::new();
    for f in &files {
        let body = std::fs::read(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let figures: Vec<Value> =
            serde_json::from_slice(&body).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        rows.extend(figures);
    }
    let missing: Vec<&str> = ORDER
        .iter()
        .filter(|b| {
            !files
                .iter()
                .any(|f| f.file_stem().is_some_and(|s| s == **b))
        })
        .copied()
        .collect();

    println!(
        "{:<13} {:<62} {:>10} {:<7} {:>8}  {:<10} {:<5} baseline",
        "bench", "figure", "value", "unit", "ratio", "target", "met"
    );
    for r in &rows {
        let met = match r["met"].as_bool() {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "",
        };
        let baseline = match r["baseline"].as_str() {
            Some(b) => format!(
                "{b}: {} {}",
                number(&r["baseline_value"]),
                r["unit"].as_str().unwrap_or("")
            ),
            None => "none: an absolute figure, judged against its target".into(),
        };
        println!(
            "{:<13} {:<62} {:>10} {:<7} {:>8}  {:<10} {:<5} {}",
            r["bench"].as_str().unwrap_or(""),
            r["metric"].as_str().unwrap_or(""),
            number(&r["value"]),
            r["unit"].as_str().unwrap_or(""),
            if r["ratio"].is_null() {
                String::new()
            } else {
                format!("{}x", number(&r["ratio"]))
            },
            r["target"].as_str().unwrap_or(""),
            met,
            baseline
        );
    }
    println!(
        "ratio: times better than the named baseline, measured in the same run (above 1 = better)"
    );
    if !missing.is_empty() {
        println!("benchmarks that wrote no figures (failed or not run): {missing:?}");
    }
    let missed = rows.iter().filter(|r| r["met"] == json!(false)).count();
    println!(
        "{} figures from {} benchmarks; {missed} targets missed",
        rows.len(),
        files.len()
    );
    let out = dir.join("report.json");
    let report = json!({
        "generated_by": "scripts/report",
        "benchmarks": files.iter().filter_map(|f| f.file_stem()?.to_str()).collect::<Vec<_>>(),
        "missing": missing,
        "rows": rows,
    });
    std::fs::write(&out, serde_json::to_vec_pretty(&report).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", out.display()));
    println!("report written to {}", out.display());
}
