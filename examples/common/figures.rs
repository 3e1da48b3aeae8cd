//! The figures a benchmark measured, printed as it goes and written as JSON for the report
//! (`scripts/report`). Included with `#[path]` by every benchmark, the records crate's
//! `clean_bench` too, so it needs nothing beyond `serde_json`.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::path::PathBuf;

/// The figures of one benchmark run.
pub struct Figures {
    bench: &'static str,
    rows: Vec<Value>,
}

impl Figures {
    /// An empty set of figures for the benchmark `bench`.
    pub fn new(bench: &'static str) -> Figures {
        Figures {
            bench,
            rows: Vec::new(),
        }
    }

    /// A plain figure (`value` in `unit`), with the target it is held to, if any, and
    /// whether it met it.
    pub fn figure(&mut self, metric: &str, value: f64, unit: &str, target: Option<(&str, bool)>) {
        self.rows.push(json!({
            "bench": self.bench,
            "metric": metric,
            "value": value,
            "unit": unit,
            "target": target.map(|t| t.0),
            "met": target.map(|t| t.1),
        }));
    }

    /// A ratio: `value` against `baseline_value` of the baseline named `baseline`, both in
    /// `unit`, measured in the same run. `higher_is_better` says which way the ratio is
    /// taken, so that a ratio above 1 always means "better than the baseline".
    #[allow(clippy::too_many_arguments)]
    pub fn ratio(
        &mut self,
        metric: &str,
        value: f64,
        unit: &str,
        baseline: &str,
        baseline_value: f64,
        higher_is_better: bool,
        target: Option<f64>,
    ) {
        let ratio = if higher_is_better {
            value / baseline_value
        } else {
            baseline_value / value
        };
        self.rows.push(json!({
            "bench": self.bench,
            "metric": metric,
            "value": value,
            "unit": unit,
            "baseline": baseline,
            "baseline_value": baseline_value,
            "ratio": ratio,
            "target": target.map(|t| format!(">= {t}x")),
            "met": target.map(|t| ratio >= t),
        }));
    }

    /// Writes the figures to `$ECOMFLOW_REPORT_DIR/<bench>.json` when that is set (the
    /// report sets it); prints where.
    pub fn write(&self) {
        let Some(dir) = std::env::var_os("ECOMFLOW_REPORT_DIR").map(PathBuf::from) else {
            return;
        };
        std::fs::create_dir_all(&dir).expect("create the report directory");
        let path = dir.join(format!("{}.json", self.bench));
        let body = serde_json::to_vec_pretty(&self.rows).expect("figures serialise");
        std::fs::write(&path, body).expect("write the figures");
        println!("figures written to {}", path.display());
    }
}
