//! A data-quality report over a dataset CSV, computed with the same cleaning code
//! the pipeline runs.

use crate::clean::{csv_reader, read_header, Cleaner, InputError};
use crate::dedup::Deduper;
use crate::line::date_format;
use crate::reject::RejectReason;
use crate::rules::CleaningRules;
use chrono::NaiveDateTime;
use csv::ByteRecord;
use hashbrown::HashSet;
use rust_decimal::Decimal;
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;

/// Errors that stop a report (bad rows never do: they are counted).
pub type ReportError = InputError;

/// The data-quality report. Field names of the JSON form are stable.
///
/// Input-side counts (`cancellations`, `adjustments`, `missing_customer_id`,
/// `exact_duplicate_rows`, `input_distinct_*`) look at every data row read, whatever the
/// rules, so a user can check a file against its published figures; the `distinct_*`, date
/// range and totals describe the **accepted** lines only.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataReport {
    /// The rules the rows were cleaned with.
    pub rules: CleaningRules,
    /// Data rows read (the header line is not counted).
    pub rows_read: u64,
    /// Rows accepted as clean lines.
    pub accepted: u64,
    /// Rows rejected, all reasons together.
    pub rejected: u64,
    /// Rejections per reason; every reason is present, with 0 when it did not occur.
    pub rejected_by_reason: BTreeMap<RejectReason, u64>,
    /// Rows whose InvoiceNo starts with `C`.
    pub cancellations: u64,
    /// Rows whose InvoiceNo starts with `A` (bad-debt adjustments).
    pub adjustments: u64,
    /// Rows (with 8 fields) whose CustomerID field is empty.
    pub missing_customer_id: u64,
    /// Rows byte-for-byte identical to an earlier row (the first copy is not counted).
    pub exact_duplicate_rows: u64,
    /// Distinct InvoiceNo among all rows read (trimmed, as written).
    pub input_distinct_invoices: u64,
    /// Distinct non-empty CustomerID among all rows read.
    pub input_distinct_customers: u64,
    /// Distinct StockCode among all rows read.
    pub input_distinct_stock_codes: u64,
    /// Distinct Country among all rows read.
    pub input_distinct_countries: u64,
    /// Distinct InvoiceNo among accepted lines.
    pub distinct_invoices: u64,
    /// Distinct CustomerID among accepted lines.
    pub distinct_customers: u64,
    /// Distinct StockCode among accepted lines.
    pub distinct_stock_codes: u64,
    /// Distinct Country among accepted lines.
    pub distinct_countries: u64,
    /// Earliest InvoiceDate among accepted lines, `yyyy-MM-dd HH:mm:ss`.
    #[serde(serialize_with = "opt_date")]
    pub first_invoice_date: Option<NaiveDateTime>,
    /// Latest InvoiceDate among accepted lines.
    #[serde(serialize_with = "opt_date")]
    pub last_invoice_date: Option<NaiveDateTime>,
    /// Sum of Quantity over accepted lines.
    pub total_quantity: i64,
    /// Sum of Quantity x UnitPrice over accepted lines, exact, as a decimal string.
    pub total_revenue: Decimal,
}

fn opt_date<S: Serializer>(d: &Option<NaiveDateTime>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => date_format::serialize(d, s),
        None => s.serialize_none(),
    }
}

/// Reads a dataset CSV (header line first; Latin-1 or UTF-8; not compressed) and
/// reports on it, cleaning every row with `rules` as the pipeline would (duplicates
/// are detected across the whole input, as one batch).
pub fn check<R: Read>(input: R, rules: &CleaningRules) -> Result<DataReport, ReportError> {
    let mut reader = csv_reader(input);
    let mut rec = ByteRecord::new();
    read_header(&mut reader, &mut rec)?;
    let cleaner = Cleaner::new(*rules);
    let mut batch = cleaner.batch();
    let mut raw_seen = Deduper::default();
    let mut acc = Accumulator::default();
    // Per column: InvoiceNo, StockCode, CustomerID, Country, as raw trimmed bytes.
    let mut input: [HashSet<Box<[u8]>>; 4] = Default::default();
    let mut line = crate::InvoiceLine::default();
    let mut report = DataReport {
        rules: *rules,
        rows_read: 0,
        accepted: 0,
        rejected: 0,
        rejected_by_reason: RejectReason::ALL.iter().map(|&r| (r, 0)).collect(),
        cancellations: 0,
        adjustments: 0,
        missing_customer_id: 0,
        exact_duplicate_rows: 0,
        input_distinct_invoices: 0,
        input_distinct_customers: 0,
        input_distinct_stock_codes: 0,
        input_distinct_countries: 0,
        distinct_invoices: 0,
        distinct_customers: 0,
        distinct_stock_codes: 0,
        distinct_countries: 0,
        first_invoice_date: None,
        last_invoice_date: None,
        total_quantity: 0,
        total_revenue: Decimal::ZERO,
    };
    while reader.read_byte_record(&mut rec)? {
        report.rows_read += 1;
        if !raw_seen.insert_record(&rec) {
            report.exact_duplicate_rows += 1;
        }
        match rec.get(0).map(<[u8]>::trim_ascii).and_then(<[u8]>::first) {
            Some(b'C') => report.cancellations += 1,
            Some(b'A') => report.adjustments += 1,
            _ => {}
        }
        if rec.len() == crate::COLUMNS.len() && rec[6].trim_ascii().is_empty() {
            report.missing_customer_id += 1;
        }
        for (set, column) in input.iter_mut().zip([0, 1, 6, 7]) {
            match rec.get(column).map(<[u8]>::trim_ascii) {
                Some(v) if !v.is_empty() && !set.contains(v) => {
                    set.insert(v.into());
                }
                _ => {}
            }
        }
        match batch.csv_record_into(&rec, &mut line) {
            Ok(()) => {
                report.accepted += 1;
                acc.add(&line, &mut report);
            }
            Err(rej) => {
                report.rejected += 1;
                *report.rejected_by_reason.entry(rej.reason).or_insert(0) += 1;
            }
        }
    }
    let [invoices, stock_codes, customers, countries] = input.map(|s| s.len() as u64);
    report.input_distinct_invoices = invoices;
    report.input_distinct_stock_codes = stock_codes;
    report.input_distinct_customers = customers;
    report.input_distinct_countries = countries;
    report.distinct_invoices = acc.invoices.len() as u64;
    report.distinct_customers = acc.customers.len() as u64;
    report.distinct_stock_codes = acc.stock_codes.len() as u64;
    report.distinct_countries = acc.countries.len() as u64;
    Ok(report)
}

#[derive(Default)]
struct Accumulator {
    invoices: HashSet<String>,
    customers: HashSet<u32>,
    stock_codes: HashSet<String>,
    countries: HashSet<String>,
}

impl Accumulator {
    fn add(&mut self, line: &crate::InvoiceLine, report: &mut DataReport) {
        for (set, v) in [
            (&mut self.invoices, &line.invoice_no),
            (&mut self.stock_codes, &line.stock_code),
            (&mut self.countries, &line.country),
        ] {
            if !set.contains(v.as_str()) {
                set.insert(v.clone());
            }
        }
        if let Some(c) = line.customer_id {
            self.customers.insert(c);
        }
        let d = line.invoice_date;
        if report.first_invoice_date.is_none_or(|f| d < f) {
            report.first_invoice_date = Some(d);
        }
        if report.last_invoice_date.is_none_or(|l| d > l) {
            report.last_invoice_date = Some(d);
        }
        // Saturating: a hostile file must not be able to crash the report.
        report.total_quantity = report.total_quantity.saturating_add(line.quantity);
        report.total_revenue = report.total_revenue.saturating_add(line.line_total());
    }
}

impl fmt::Display for DataReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pct = |n: u64| {
            if self.rows_read == 0 {
                0.0
            } else {
                n as f64 * 100.0 / self.rows_read as f64
            }
        };
        let date = |d: &Option<NaiveDateTime>| match d {
            Some(d) => String::from_utf8_lossy(&date_format::format(d)).into_owned(),
            None => "-".to_owned(),
        };
        let r = &self.rules;
        writeln!(f, "Data quality report")?;
        writeln!(
            f,
            "  rules: keep_cancellations={} keep_missing_customer={} keep_non_product_codes={} drop_duplicates={}",
            r.keep_cancellations, r.keep_missing_customer, r.keep_non_product_codes, r.drop_duplicates
        )?;
        writeln!(f)?;
        writeln!(f, "Input")?;
        writeln!(f, "  rows read              {:>10}", self.rows_read)?;
        for (label, n) in [
            ("cancellations (C...)", self.cancellations),
            ("adjustments (A...)", self.adjustments),
            ("empty CustomerID", self.missing_customer_id),
            ("exact duplicate rows", self.exact_duplicate_rows),
        ] {
            writeln!(f, "  {label:<22} {n:>10}  ({:5.2}%)", pct(n))?;
        }
        for (label, n) in [
            ("distinct invoices", self.input_distinct_invoices),
            ("distinct customers", self.input_distinct_customers),
            ("distinct stock codes", self.input_distinct_stock_codes),
            ("distinct countries", self.input_distinct_countries),
        ] {
            writeln!(f, "  {label:<22} {n:>10}")?;
        }
        writeln!(f)?;
        writeln!(f, "Outcome")?;
        writeln!(
            f,
            "  accepted               {:>10}  ({:5.2}%)",
            self.accepted,
            pct(self.accepted)
        )?;
        writeln!(
            f,
            "  rejected               {:>10}  ({:5.2}%)",
            self.rejected,
            pct(self.rejected)
        )?;
        for (reason, &n) in &self.rejected_by_reason {
            if n > 0 {
                writeln!(f, "    {:<20} {n:>10}", reason.as_str())?;
            }
        }
        writeln!(f)?;
        writeln!(f, "Accepted lines")?;
        writeln!(f, "  distinct invoices      {:>10}", self.distinct_invoices)?;
        writeln!(
            f,
            "  distinct customers     {:>10}",
            self.distinct_customers
        )?;
        writeln!(
            f,
            "  distinct stock codes   {:>10}",
            self.distinct_stock_codes
        )?;
        writeln!(
            f,
            "  distinct countries     {:>10}",
            self.distinct_countries
        )?;
        writeln!(
            f,
            "  first invoice date     {}",
            date(&self.first_invoice_date)
        )?;
        writeln!(
            f,
            "  last invoice date      {}",
            date(&self.last_invoice_date)
        )?;
        writeln!(f, "  total quantity         {:>10}", self.total_quantity)?;
        write!(f, "  total revenue (GBP)    {:>10}", self.total_revenue)
    }
}
