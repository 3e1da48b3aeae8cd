//! Turning raw CSV rows and producer JSON into [`InvoiceLine`]s or [`Rejection`]s.

use crate::dedup::Deduper;
use crate::line::{InvoiceKind, InvoiceLine, WAREHOUSE_TEXT_BYTES};
use crate::parse::{
    decode_text, latin1_to_string, parse_customer_id, parse_date, parse_price, parse_quantity,
    short_eq,
};
use crate::reject::{RejectReason, Rejection};
use crate::rules::CleaningRules;
use chrono::{DateTime, Datelike, NaiveDateTime};
use csv::ByteRecord;
use rust_decimal::Decimal;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Read;

/// The dataset's column names, in file order.
pub const COLUMNS: [&str; 8] = [
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
];

/// True when `code` names goods: five ASCII digits with an optional letter suffix
/// (`85123A`, `79323LP`, `22041`), or a `DCGS...` dotcom gift-shop product code.
///
/// Everything else is a non-product code: `POST`, `DOT`, `C2` (carriage), `M`/`m`
/// (manual), `D` (discount), `S` (samples), `B` (bad debt), `BANK CHARGES`, `AMAZONFEE`,
/// `CRUK`, `PADS`, `gift_0001_*` vouchers, and anything unknown.
pub fn is_product_code(code: &str) -> bool {
    let b = code.as_bytes();
    (b.len() >= 5
        && b[..5].iter().all(u8::is_ascii_digit)
        && b[5..].iter().all(u8::is_ascii_alphabetic))
        || (b.len() > 4 && b.starts_with(b"DCGS") && b[4..].iter().all(u8::is_ascii_alphanumeric))
}

type FieldError = (RejectReason, String);

fn check_invoice_no(s: &str) -> Result<(), FieldError> {
    let b = s.as_bytes();
    if b.is_empty() {
        return Err((RejectReason::EmptyInvoiceNo, "InvoiceNo is empty".into()));
    }
    let digits = match b[0] {
        b'C' | b'A' => &b[1..],
        _ => b,
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err((
            RejectReason::BadInvoiceNo,
            format!("InvoiceNo {s:?} is not digits with an optional C or A prefix"),
        ));
    }
    Ok(())
}

/// A row of [`COLUMNS`] fields, split once: indexing a `ByteRecord` field by field
/// recomputes its bounds every time, and the text fields are also needed as `str`s.
struct Fields<'r> {
    /// All the fields, back to back (as `ByteRecord::as_slice` keeps them).
    whole: &'r [u8],
    /// Where each field is in `whole`.
    spans: [(usize, usize); COLUMNS.len()],
}

impl<'r> Fields<'r> {
    /// `None` unless `rec` has exactly [`COLUMNS`] fields.
    fn new(rec: &'r ByteRecord) -> Option<Self> {
        if rec.len() != COLUMNS.len() {
            return None;
        }
        let mut spans = [(0, 0); COLUMNS.len()];
        let mut at = 0;
        for (span, f) in spans.iter_mut().zip(rec.iter()) {
            *span = (at, at + f.len());
            at += f.len();
        }
        Some(Fields {
            whole: rec.as_slice(),
            spans,
        })
    }

    fn get(&self, i: usize) -> &'r [u8] {
        let (start, end) = self.spans[i];
        &self.whole[start..end]
    }

    /// The text fields `idx`, when they can be borrowed as they are: the whole row is
    /// valid UTF-8 (one check for the row, which is ASCII nearly always) and each of
    /// these fields starts and ends on a character boundary, so is valid UTF-8 itself.
    fn utf8<const N: usize>(&self, idx: [usize; N]) -> Option<[&'r str; N]> {
        let all = std::str::from_utf8(self.whole).ok()?;
        let mut out = [""; N];
        for (o, i) in out.iter_mut().zip(idx) {
            let (start, end) = self.spans[i];
            *o = all.get(start..end)?;
        }
        Some(out)
    }

    /// Decodes the text fields `idx`: as UTF-8 when they all are, otherwise as
    /// Latin-1. For rows [`Fields::utf8`] turns down.
    fn decode<const N: usize>(&self, idx: [usize; N]) -> [String; N] {
        let all_utf8 = idx
            .iter()
            .all(|&i| std::str::from_utf8(self.get(i)).is_ok());
        idx.map(|i| match std::str::from_utf8(self.get(i)) {
            Ok(s) if all_utf8 => s.to_owned(),
            _ => latin1_to_string(self.get(i)),
        })
    }
}

/// Replaces the contents of `dst`, reusing its allocation.
fn set(dst: &mut String, src: &str) {
    dst.clear();
    dst.push_str(src);
}

/// [`set`], for fields that usually repeat from one line to the next (the lines of an
/// invoice come together): checking is cheaper than copying.
fn set_if_changed(dst: &mut String, src: &str) {
    if !short_eq(dst.as_bytes(), src.as_bytes()) {
        set(dst, src);
    }
}

fn show(b: &[u8]) -> Cow<'_, str> {
    decode_text(b)
}

/// Applies [`CleaningRules`] to single rows. Cheap to create; holds no per-batch state
/// (see [`BatchCleaner`] for duplicate detection).
#[derive(Debug, Clone, Default)]
pub struct Cleaner {
    rules: CleaningRules,
}

impl Cleaner {
    /// A cleaner applying `rules`.
    pub fn new(rules: CleaningRules) -> Self {
        Cleaner { rules }
    }

    /// The rules in force.
    pub fn rules(&self) -> &CleaningRules {
        &self.rules
    }

    /// Cleans one raw dataset row (8 fields in file order, Latin-1 or UTF-8 bytes).
    ///
    /// Text fields are decoded as UTF-8 when all of them are valid UTF-8, otherwise
    /// the whole row is read as Latin-1. InvoiceNo, StockCode and Country are trimmed
    /// of surrounding ASCII whitespace; Description is kept as is.
    pub fn clean_csv_record(&self, rec: &ByteRecord) -> Result<InvoiceLine, Rejection> {
        let mut line = InvoiceLine::default();
        self.clean_csv_record_into(rec, &mut line)?;
        Ok(line)
    }

    /// Like [`Cleaner::clean_csv_record`], but fills `line` in place, reusing its string
    /// buffers (no allocation per row once they are big enough). On rejection `line`
    /// holds unspecified values.
    pub fn clean_csv_record_into(
        &self,
        rec: &ByteRecord,
        line: &mut InvoiceLine,
    ) -> Result<(), Rejection> {
        self.csv_inner(rec, line, &mut DateCache::default())
            .map_err(|(reason, detail)| Rejection::new(reason, detail, csv_line_text(rec)))
    }

    fn csv_inner(
        &self,
        rec: &ByteRecord,
        out: &mut InvoiceLine,
        dates: &mut DateCache,
    ) -> Result<(), FieldError> {
        let Some(f) = Fields::new(rec) else {
            return Err((
                RejectReason::WrongFieldCount,
                format!("expected {} fields, found {}", COLUMNS.len(), rec.len()),
            ));
        };
        const TEXT: [usize; 4] = [0, 1, 2, 7];
        // Only set (and dropped) for rows that are not plain UTF-8.
        let owned: [String; 4];
        let text = match f.utf8(TEXT) {
            Some(text) => text,
            None => {
                owned = f.decode(TEXT);
                owned.each_ref().map(String::as_str)
            }
        };
        let invoice_no = text[0].trim_ascii();
        check_invoice_no(invoice_no)?;
        let stock_code = text[1].trim_ascii();
        if stock_code.is_empty() {
            return Err((RejectReason::EmptyStockCode, "StockCode is empty".into()));
        }
        let quantity = parse_quantity(f.get(3)).ok_or_else(|| {
            (
                RejectReason::BadQuantity,
                format!("Quantity {:?} is not an integer", show(f.get(3))),
            )
        })?;
        let invoice_date = dates.parse(f.get(4)).ok_or_else(|| {
            (
                RejectReason::BadDate,
                format!(
                    "InvoiceDate {:?} is not a M/D/YYYY H:MM date",
                    show(f.get(4))
                ),
            )
        })?;
        let unit_price = parse_price(f.get(5)).ok_or_else(|| {
            (
                RejectReason::BadPrice,
                format!("UnitPrice {:?} is not a decimal number", show(f.get(5))),
            )
        })?;
        let unit_price = lake_price(unit_price, || format!("{:?}", show(f.get(5))))?;
        let customer_id = parse_customer_id(f.get(6)).map_err(|_| {
            (
                RejectReason::BadCustomerId,
                format!("CustomerID {:?} is not a positive integer", show(f.get(6))),
            )
        })?;
        let country = text[3].trim_ascii();
        self.finish(
            invoice_no,
            stock_code,
            text[2],
            quantity,
            invoice_date,
            unit_price,
            customer_id,
            country,
            out,
        )
    }

    /// Cleans one JSON object sent by a producer.
    ///
    /// Accepts the typed shape (`"InvoiceNo":"536365"`, `"CustomerID":17850`,
    /// `"UnitPrice":"2.55"`, `"InvoiceDate":"2010-12-01 08:26:00"`) and the pandas shape
    /// (`"InvoiceNo":536365`, `"CustomerID":17850.0` or `null`/`"NaN"`/`""`,
    /// `"UnitPrice":2.55`, `"InvoiceDate":"12/1/2010 8:26"` or epoch milliseconds).
    /// A float price is read from its shortest round-trip text, so `2.55` stays exactly
    /// 2.55. `Description` and `CustomerID` may be absent; `IsCancellation` and unknown
    /// fields are ignored (the flag is recomputed from InvoiceNo).
    pub fn clean_json_value(&self, value: &Value) -> Result<InvoiceLine, Rejection> {
        let mut line = InvoiceLine::default();
        self.json_inner(value, &mut line)
            .map_err(|(reason, detail)| Rejection::new(reason, detail, value.to_string()))?;
        Ok(line)
    }

    /// Parses `text` as JSON and cleans it; unparseable text is rejected as `bad_json`.
    pub fn clean_json_str(&self, text: &str) -> Result<InvoiceLine, Rejection> {
        match serde_json::from_str::<Value>(text) {
            Ok(v) => self.clean_json_value(&v),
            Err(e) => Err(Rejection::new(
                RejectReason::BadJson,
                format!("not JSON: {e}"),
                text,
            )),
        }
    }

    fn json_inner(&self, value: &Value, out: &mut InvoiceLine) -> Result<(), FieldError> {
        let Value::Object(obj) = value else {
            return Err((
                RejectReason::NotAnObject,
                format!("expected a JSON object, found {}", json_kind(value)),
            ));
        };
        // Trimmed as the CSV path trims (ASCII whitespace only): a line must clean to the
        // same line whichever path it takes, and U+0085 or U+00A0 are text, not padding.
        let invoice_no = json_text(obj, "InvoiceNo", RejectReason::BadInvoiceNo)?;
        let invoice_no = invoice_no.trim_ascii();
        check_invoice_no(invoice_no)?;
        let stock_code = json_text(obj, "StockCode", RejectReason::EmptyStockCode)?;
        let stock_code = stock_code.trim_ascii();
        if stock_code.is_empty() {
            return Err((RejectReason::EmptyStockCode, "StockCode is empty".into()));
        }
        let description = match obj.get("Description") {
            None | Some(Value::Null) => Cow::Borrowed(""),
            Some(_) => json_text(obj, "Description", RejectReason::MissingField)?,
        };
        let quantity = json_quantity(required(obj, "Quantity")?)?;
        let invoice_date = json_date(required(obj, "InvoiceDate")?)?;
        let unit_price = json_price(required(obj, "UnitPrice")?)?;
        let customer_id = json_customer(obj.get("CustomerID").unwrap_or(&Value::Null))?;
        let country = json_text(obj, "Country", RejectReason::EmptyCountry)?;
        self.finish(
            invoice_no,
            stock_code,
            &description,
            quantity,
            invoice_date,
            unit_price,
            customer_id,
            country.trim_ascii(),
            out,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn finish(
        &self,
        invoice_no: &str,
        stock_code: &str,
        description: &str,
        quantity: i64,
        invoice_date: NaiveDateTime,
        unit_price: Decimal,
        customer_id: Option<u32>,
        country: &str,
        out: &mut InvoiceLine,
    ) -> Result<(), FieldError> {
        if country.is_empty() {
            return Err((RejectReason::EmptyCountry, "Country is empty".into()));
        }
        let texts = [invoice_no, stock_code, description, country];
        for ((name, max), text) in WAREHOUSE_TEXT_BYTES.into_iter().zip(texts) {
            if text.len() > max {
                return Err((
                    RejectReason::TooLong,
                    format!(
                        "{name} is {} bytes long; the warehouse holds at most {max}",
                        text.len()
                    ),
                ));
            }
        }
        let kind = InvoiceKind::of(invoice_no);
        if kind == InvoiceKind::Cancellation && !self.rules.keep_cancellations {
            return Err((
                RejectReason::Cancellation,
                format!("invoice {invoice_no} is a cancellation"),
            ));
        }
        if !self.rules.keep_non_product_codes && !is_product_code(stock_code) {
            return Err((
                RejectReason::NonProductCode,
                format!("StockCode {stock_code:?} is not a product"),
            ));
        }
        if customer_id.is_none() && !self.rules.keep_missing_customer {
            return Err((
                RejectReason::MissingCustomerId,
                "CustomerID is empty".into(),
            ));
        }
        set_if_changed(&mut out.invoice_no, invoice_no);
        set(&mut out.stock_code, stock_code);
        set(&mut out.description, description);
        set_if_changed(&mut out.country, country);
        out.quantity = quantity;
        out.invoice_date = invoice_date;
        out.unit_price = unit_price;
        out.customer_id = customer_id;
        out.is_cancellation = kind == InvoiceKind::Cancellation;
        Ok(())
    }

    /// A batch cleaner over this cleaner's rules, which also drops duplicates when
    /// `drop_duplicates` is on.
    pub fn batch(&self) -> BatchCleaner<'_> {
        self.batch_with_capacity(0)
    }

    /// Like [`Cleaner::batch`], sized for about `rows` rows up front.
    pub fn batch_with_capacity(&self, rows: usize) -> BatchCleaner<'_> {
        BatchCleaner {
            cleaner: self,
            seen: Deduper::with_capacity(if self.rules.drop_duplicates { rows } else { 0 }),
            next_index: 0,
            dates: DateCache::default(),
        }
    }

    /// Cleans a CSV text with the dataset's header line (Latin-1 or UTF-8).
    pub fn clean_csv<R: Read>(&self, input: R) -> Result<CleanBatch, InputError> {
        let mut reader = csv_reader(input);
        let mut rec = ByteRecord::new();
        read_header(&mut reader, &mut rec)?;
        let mut batch = self.batch();
        let mut out = CleanBatch::default();
        while reader.read_byte_record(&mut rec)? {
            out.push(batch.csv_record(&rec));
        }
        Ok(out)
    }

    /// Cleans a sequence of JSON values as one batch.
    pub fn clean_json_values<'v, I>(&self, values: I) -> CleanBatch
    where
        I: IntoIterator<Item = &'v Value>,
    {
        let mut batch = self.batch();
        let mut out = CleanBatch::default();
        for v in values {
            out.push(batch.json_value(v));
        }
        out
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn required<'v>(obj: &'v Map<String, Value>, key: &str) -> Result<&'v Value, FieldError> {
    obj.get(key)
        .ok_or_else(|| (RejectReason::MissingField, format!("{key} is missing")))
}

/// A text field that may also be given as an integer (pandas writes `InvoiceNo` as one).
fn json_text<'v>(
    obj: &'v Map<String, Value>,
    key: &str,
    empty: RejectReason,
) -> Result<Cow<'v, str>, FieldError> {
    match required(obj, key)? {
        Value::String(s) => Ok(Cow::Borrowed(s.as_str())),
        Value::Number(n) => {
            if let Some(i) = n.as_u64() {
                Ok(Cow::Owned(i.to_string()))
            } else {
                match n.as_f64() {
                    Some(f) if f.fract() == 0.0 && (0.0..1e15).contains(&f) => {
                        Ok(Cow::Owned(format!("{f:.0}")))
                    }
                    _ => Err((empty, format!("{key} {n} is not a code"))),
                }
            }
        }
        Value::Null => Err((empty, format!("{key} is null"))),
        other => Err((empty, format!("{key} is {}, not text", json_kind(other)))),
    }
}

fn json_quantity(v: &Value) -> Result<i64, FieldError> {
    let bad = || {
        (
            RejectReason::BadQuantity,
            format!("Quantity {v} is not an integer"),
        )
    };
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 1e15)
                    .map(|f| f as i64)
            })
            .ok_or_else(bad),
        Value::String(s) => parse_quantity(s.as_bytes()).ok_or_else(bad),
        _ => Err(bad()),
    }
}

fn json_date(v: &Value) -> Result<NaiveDateTime, FieldError> {
    let parsed = match v {
        Value::String(s) => parse_date(s.as_bytes()),
        // pandas' default `to_json` date format: milliseconds since the epoch. Only whole
        // seconds in years 1 to 9999, as `parse_date`: a clean line is written
        // `yyyy-MM-dd HH:mm:ss`, and must read back as the same line.
        Value::Number(n) => n
            .as_i64()
            .filter(|ms| ms % 1000 == 0)
            .and_then(DateTime::from_timestamp_millis)
            .map(|d| d.naive_utc())
            .filter(|d| (1..=9999).contains(&d.year())),
        _ => None,
    };
    parsed.ok_or_else(|| {
        (
            RejectReason::BadDate,
            format!("InvoiceDate {v} is not a date"),
        )
    })
}

fn json_price(v: &Value) -> Result<Decimal, FieldError> {
    let parsed = match v {
        Value::String(s) => parse_price(s.as_bytes()),
        // serde_json prints a float as its shortest round-trip text: 2.55 -> "2.55".
        Value::Number(n) => parse_price(n.to_string().as_bytes()),
        _ => None,
    };
    let price = parsed.ok_or_else(|| {
        (
            RejectReason::BadPrice,
            format!("UnitPrice {v} is not a decimal number"),
        )
    })?;
    lake_price(price, || v.to_string())
}

/// Decimal places of the lake's `decimal(10,3)` UnitPrice column (Glue table, Parquet, Redshift).
const LAKE_PRICE_SCALE: u32 = 3;
/// The first magnitude that column cannot hold: 10^7.
const LAKE_PRICE_LIMIT: Decimal = Decimal::from_parts(10_000_000, 0, 0, false, 0);

/// A price the lake's `decimal(10,3)` column holds exactly, else `bad_price`: Firehose's
/// Parquet conversion and the Glue job would round further decimal places away and could
/// not store 10^7 or more, so such a row would be changed or lost downstream. `2.5500` is
/// `2.55` and fits. `shown` gives the input as the detail quotes it.
fn lake_price(price: Decimal, shown: impl FnOnce() -> String) -> Result<Decimal, FieldError> {
    if price.scale() > LAKE_PRICE_SCALE && price.normalize().scale() > LAKE_PRICE_SCALE {
        return Err((
            RejectReason::BadPrice,
            format!(
                "UnitPrice {} has more than {LAKE_PRICE_SCALE} decimal places (the lake holds \
                 decimal(10,3))",
                shown()
            ),
        ));
    }
    if price.abs() >= LAKE_PRICE_LIMIT {
        return Err((
            RejectReason::BadPrice,
            format!(
                "UnitPrice {} is 10000000 or more (the lake holds decimal(10,3))",
                shown()
            ),
        ));
    }
    Ok(price)
}

fn json_customer(v: &Value) -> Result<Option<u32>, FieldError> {
    let bad = || {
        (
            RejectReason::BadCustomerId,
            format!("CustomerID {v} is not a positive integer"),
        )
    };
    match v {
        Value::Null => Ok(None),
        Value::String(s) => parse_customer_id(s.as_bytes()).map_err(|_| bad()),
        Value::Number(n) => {
            let int = n.as_u64().or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= f64::from(u32::MAX))
                    .map(|f| f as u64)
            });
            match int.map(u32::try_from) {
                Some(Ok(c)) if c > 0 => Ok(Some(c)),
                _ => Err(bad()),
            }
        }
        _ => Err(bad()),
    }
}

/// A CSV row rebuilt as one line of text (decoded, quoted where needed), for
/// [`Rejection::input`].
pub fn csv_line_text(rec: &ByteRecord) -> String {
    let latin1 = rec.iter().any(|f| std::str::from_utf8(f).is_err());
    let mut out = String::new();
    for (i, f) in rec.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let s = if latin1 {
            Cow::Owned(latin1_to_string(f))
        } else {
            decode_text(f)
        };
        if s.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&s.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(&s);
        }
    }
    out
}

/// Errors reading a CSV input as a whole (not row rejections, which are counted).
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The input holds no line at all.
    #[error("the input is empty: expected a header line {}", COLUMNS.join(","))]
    Empty,
    /// The first line is not the dataset's header.
    #[error("unexpected header {found:?}: expected {}", COLUMNS.join(","))]
    BadHeader {
        /// The header line found, decoded.
        found: String,
    },
    /// Reading failed (I/O error).
    #[error("cannot read the CSV input: {0}")]
    Csv(#[from] csv::Error),
}

/// A CSV reader configured for the dataset: comma separated, standard quoting, rows
/// of any length (so a short row becomes a `wrong_field_count` rejection rather than
/// an error), no header handling (see [`read_header`]).
pub fn csv_reader<R: Read>(input: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(1 << 16)
        .from_reader(input)
}

/// Reads the first record into `rec` and checks it is the dataset header (surrounding
/// spaces and a UTF-8 byte-order mark are ignored).
pub fn read_header<R: Read>(
    reader: &mut csv::Reader<R>,
    rec: &mut ByteRecord,
) -> Result<(), InputError> {
    if !reader.read_byte_record(rec)? {
        return Err(InputError::Empty);
    }
    let ok = rec.len() == COLUMNS.len()
        && rec.iter().zip(COLUMNS).enumerate().all(|(i, (f, want))| {
            let f = if i == 0 {
                f.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(f)
            } else {
                f
            };
            f.trim_ascii() == want.as_bytes()
        });
    if ok {
        Ok(())
    } else {
        Err(InputError::BadHeader {
            found: csv_line_text(rec),
        })
    }
}

/// Cleans the rows of one batch, rejecting exact duplicates of lines it already
/// accepted when the rules say so, and numbering rows (`Rejection::index`).
#[derive(Debug)]
pub struct BatchCleaner<'c> {
    cleaner: &'c Cleaner,
    seen: Deduper,
    next_index: usize,
    dates: DateCache,
}

/// Remembers the last date text parsed: rows of one invoice repeat it.
#[derive(Debug, Default)]
struct DateCache {
    text: [u8; 24],
    len: usize,
    value: Option<NaiveDateTime>,
}

impl DateCache {
    fn parse(&mut self, b: &[u8]) -> Option<NaiveDateTime> {
        if self.value.is_some() && short_eq(&self.text[..self.len], b) {
            return self.value;
        }
        let v = parse_date(b);
        if b.len() <= self.text.len() {
            self.text[..b.len()].copy_from_slice(b);
            self.len = b.len();
            self.value = v;
        }
        v
    }
}

impl BatchCleaner<'_> {
    /// Cleans the next CSV row of the batch.
    pub fn csv_record(&mut self, rec: &ByteRecord) -> Result<InvoiceLine, Rejection> {
        let mut line = InvoiceLine::default();
        self.csv_record_into(rec, &mut line)?;
        Ok(line)
    }

    /// Cleans the next CSV row into `line`, reusing its buffers (the fast path for
    /// large inputs). On rejection `line` holds unspecified values.
    pub fn csv_record_into(
        &mut self,
        rec: &ByteRecord,
        line: &mut InvoiceLine,
    ) -> Result<(), Rejection> {
        let index = self.next_index;
        self.next_index += 1;
        let cleaned = self
            .cleaner
            .csv_inner(rec, line, &mut self.dates)
            .map_err(|(reason, detail)| Rejection::new(reason, detail, csv_line_text(rec)));
        match cleaned {
            Ok(()) => self.dedup(line, index, || csv_line_text(rec)),
            Err(mut rej) => {
                rej.index = Some(index);
                Err(rej)
            }
        }
    }

    /// Cleans the next JSON value of the batch.
    pub fn json_value(&mut self, value: &Value) -> Result<InvoiceLine, Rejection> {
        let r = self.cleaner.clean_json_value(value);
        self.finish(r, || value.to_string())
    }

    /// Cleans the next JSON text of the batch (`bad_json` when it does not parse).
    pub fn json_str(&mut self, text: &str) -> Result<InvoiceLine, Rejection> {
        let r = self.cleaner.clean_json_str(text);
        self.finish(r, || text.to_owned())
    }

    /// Counts an input rejected before cleaning (e.g. undecodable), keeping indices aligned.
    pub fn skip(&mut self, mut rejection: Rejection) -> Rejection {
        rejection.index = Some(self.next_index);
        self.next_index += 1;
        rejection
    }

    fn finish(
        &mut self,
        r: Result<InvoiceLine, Rejection>,
        input: impl FnOnce() -> String,
    ) -> Result<InvoiceLine, Rejection> {
        let index = self.next_index;
        self.next_index += 1;
        match r {
            Ok(line) => {
                self.dedup(&line, index, input)?;
                Ok(line)
            }
            Err(mut rej) => {
                rej.index = Some(index);
                Err(rej)
            }
        }
    }

    fn dedup(
        &mut self,
        line: &InvoiceLine,
        index: usize,
        input: impl FnOnce() -> String,
    ) -> Result<(), Rejection> {
        if self.cleaner.rules.drop_duplicates && !self.seen.insert_line(line) {
            return Err(Rejection {
                reason: RejectReason::Duplicate,
                detail: format!(
                    "same as an earlier line of invoice {} in this batch",
                    line.invoice_no
                ),
                input: input(),
                index: Some(index),
            });
        }
        Ok(())
    }
}

/// The outcome of cleaning a batch: every input is in exactly one of the two lists.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CleanBatch {
    /// Accepted lines, in input order.
    pub accepted: Vec<InvoiceLine>,
    /// Rejected rows, in input order.
    pub rejected: Vec<Rejection>,
}

impl CleanBatch {
    /// Adds one outcome.
    pub fn push(&mut self, r: Result<InvoiceLine, Rejection>) {
        match r {
            Ok(l) => self.accepted.push(l),
            Err(e) => self.rejected.push(e),
        }
    }

    /// Number of inputs seen.
    pub fn rows(&self) -> usize {
        self.accepted.len() + self.rejected.len()
    }

    /// Rejections counted by reason (only reasons that occurred).
    pub fn rejected_by_reason(&self) -> BTreeMap<RejectReason, u64> {
        let mut m = BTreeMap::new();
        for r in &self.rejected {
            *m.entry(r.reason).or_insert(0) += 1;
        }
        m
    }
}
