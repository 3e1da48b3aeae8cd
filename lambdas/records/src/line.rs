//! The typed, clean invoice line and its JSON shape.

use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The most UTF-8 bytes each text field may hold: the `VARCHAR(n)` lengths of the warehouse
/// table (`invoice_lines`), which Redshift counts in bytes. One longer value would fail a
/// whole COPY of the lake's Parquet, since COPY from columnar files supports neither
/// TRUNCATECOLUMNS nor MAXERROR
/// (<https://docs.aws.amazon.com/redshift/latest/dg/copy-usage_notes-copy-from-columnar.html>),
/// so the cleaner rejects such a line as `too_long` instead.
pub const WAREHOUSE_TEXT_BYTES: [(&str, usize); 4] = [
    ("InvoiceNo", 16),
    ("StockCode", 32),
    ("Description", 512),
    ("Country", 64),
];

/// One clean line of an invoice, as stored and streamed by the pipeline.
///
/// The JSON form uses the dataset's column names plus `IsCancellation`:
///
/// ```json
/// {"InvoiceNo":"536365","StockCode":"85123A","Description":"WHITE HANGING HEART T-LIGHT HOLDER",
///  "Quantity":6,"InvoiceDate":"2010-12-01 08:26:00","UnitPrice":"2.55","CustomerID":17850,
///  "Country":"United Kingdom","IsCancellation":false}
/// ```
///
/// * `UnitPrice` is written as a **JSON string** holding the exact decimal (`"2.55"`,
///   `"0.001"`, `"-11062.06"`), never as a float, so no consumer can round it.
///   The scale written is the scale read (`"2.1"` stays `"2.1"`).
/// * `InvoiceDate` is written as `yyyy-MM-dd HH:mm:ss` (the source has no time zone;
///   the value is the shop's local wall-clock time).
/// * `CustomerID` is a JSON integer, or `null` when the source had none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct InvoiceLine {
    /// Invoice number as text, keeping its `C` (cancellation) or `A` (adjustment) prefix.
    #[serde(rename = "InvoiceNo")]
    pub invoice_no: String,
    /// Product (or non-product) code, as given.
    #[serde(rename = "StockCode")]
    pub stock_code: String,
    /// Product name in UTF-8; may be empty.
    #[serde(rename = "Description")]
    pub description: String,
    /// Quantity; negative for returns and stock adjustments.
    #[serde(rename = "Quantity")]
    pub quantity: i64,
    /// Local date and time of the invoice.
    #[serde(rename = "InvoiceDate", with = "date_format")]
    pub invoice_date: NaiveDateTime,
    /// Exact unit price in pounds sterling.
    #[serde(rename = "UnitPrice")]
    pub unit_price: Decimal,
    /// Customer number, if known.
    #[serde(rename = "CustomerID")]
    pub customer_id: Option<u32>,
    /// Country of the customer.
    #[serde(rename = "Country")]
    pub country: String,
    /// True when the invoice number starts with `C`.
    #[serde(rename = "IsCancellation")]
    pub is_cancellation: bool,
}

/// What kind of invoice a line belongs to, read from the invoice number's prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceKind {
    /// A plain sale (digits only).
    Sale,
    /// A cancellation (`C` prefix).
    Cancellation,
    /// A bad-debt adjustment (`A` prefix).
    Adjustment,
}

impl InvoiceKind {
    /// Classifies an invoice number by its first character.
    pub fn of(invoice_no: &str) -> Self {
        match invoice_no.as_bytes().first() {
            Some(b'C') => InvoiceKind::Cancellation,
            Some(b'A') => InvoiceKind::Adjustment,
            _ => InvoiceKind::Sale,
        }
    }
}

impl InvoiceLine {
    /// The kind of invoice this line belongs to.
    pub fn kind(&self) -> InvoiceKind {
        InvoiceKind::of(&self.invoice_no)
    }

    /// True for bad-debt adjustment lines (`A` prefix).
    pub fn is_adjustment(&self) -> bool {
        self.kind() == InvoiceKind::Adjustment
    }

    /// Quantity times unit price, exact.
    pub fn line_total(&self) -> Decimal {
        // Saturating: extreme values from hostile input must not panic.
        Decimal::from(self.quantity).saturating_mul(self.unit_price)
    }

    /// The invoice date as `yyyy-MM-dd HH:mm:ss`.
    pub fn invoice_date_string(&self) -> String {
        let buf = date_format::format(&self.invoice_date);
        // The buffer only ever holds ASCII digits and separators.
        String::from_utf8_lossy(&buf).into_owned()
    }

    /// Serialises the line as one JSON object followed by `\n`, appending to `out`.
    ///
    /// Byte for byte the same as `serde_json::to_writer` plus a newline, but written
    /// directly (no per-field serde dispatch), as this is the pipeline's hot path.
    pub fn write_json_line(&self, out: &mut Vec<u8>) {
        out.reserve(96 + self.description.len() + self.country.len());
        // The quotes around the strings are part of the constant pieces.
        out.extend_from_slice(b"{\"InvoiceNo\":\"");
        json_str_contents(out, &self.invoice_no);
        out.extend_from_slice(b"\",\"StockCode\":\"");
        json_str_contents(out, &self.stock_code);
        out.extend_from_slice(b"\",\"Description\":\"");
        json_str_contents(out, &self.description);
        out.extend_from_slice(b"\",\"Quantity\":");
        if self.quantity < 0 {
            out.push(b'-');
        }
        write_uint(out, self.quantity.unsigned_abs());
        out.extend_from_slice(b",\"InvoiceDate\":\"");
        out.extend_from_slice(&format_date_cached(&self.invoice_date));
        out.extend_from_slice(b"\",\"UnitPrice\":\"");
        write_decimal(out, &self.unit_price);
        out.extend_from_slice(b"\",\"CustomerID\":");
        match self.customer_id {
            Some(c) => write_uint(out, u64::from(c)),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"Country\":\"");
        json_str_contents(out, &self.country);
        // Two calls rather than one with a chosen slice: each then copies a constant
        // length, inline.
        if self.is_cancellation {
            out.extend_from_slice(b"\",\"IsCancellation\":true}\n");
        } else {
            out.extend_from_slice(b"\",\"IsCancellation\":false}\n");
        }
    }

    /// The line as a JSON string (no trailing newline).
    pub fn to_json(&self) -> String {
        let mut out = Vec::with_capacity(256);
        self.write_json_line(&mut out);
        out.pop();
        String::from_utf8(out).unwrap_or_default()
    }
}

/// Appends `v` in decimal. Up to five digits (quantities, customer numbers) the digits
/// are computed here and copied as a fixed-size array, which is cheaper than a general
/// formatter and a copy of varying length.
fn write_uint(out: &mut Vec<u8>, v: u64) {
    let d = |i: u64| b'0' + (v / i % 10) as u8;
    match v {
        0..=9 => out.push(d(1)),
        10..=99 => out.extend_from_slice(&[d(10), d(1)]),
        100..=999 => out.extend_from_slice(&[d(100), d(10), d(1)]),
        1_000..=9_999 => out.extend_from_slice(&[d(1_000), d(100), d(10), d(1)]),
        10_000..=99_999 => out.extend_from_slice(&[d(10_000), d(1_000), d(100), d(10), d(1)]),
        _ => out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes()),
    }
}

/// Appends the inside of `s` as a JSON string literal (no quotes): copied as is when
/// nothing needs escaping, otherwise escaped by serde_json.
fn json_str_contents(out: &mut Vec<u8>, s: &str) {
    if !needs_escape(s.as_bytes()) {
        out.extend_from_slice(s.as_bytes());
        return;
    }
    // Rare: let serde_json write the quoted literal, then drop its quotes.
    let start = out.len();
    if serde_json::to_writer(&mut *out, s).is_ok() && out.len() >= start + 2 {
        out.pop();
        out.remove(start);
    } else {
        // Unreachable: writing a str into a Vec cannot fail.
        out.truncate(start);
    }
}

/// True when `b` holds a byte JSON must escape: a control character, `"` or `\\`.
/// Looks at eight bytes at a time (a short string or the tail of a longer one is read
/// as one overlapping word: seeing a byte twice is harmless).
fn needs_escape(b: &[u8]) -> bool {
    const SPACES: u64 = 0x2020_2020_2020_2020;
    let n = b.len();
    if n >= 8 {
        let mut words = b.chunks_exact(8);
        words.any(|w| escape_in_word(word(w))) || (n % 8 != 0 && escape_in_word(word(&b[n - 8..])))
    } else if n >= 4 {
        // The first four and the last four bytes (they overlap below eight), each at
        // its place, and spaces (which never need escaping) after the end.
        let first = u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
        let last = u64::from(u32::from_le_bytes([b[n - 4], b[n - 3], b[n - 2], b[n - 1]]));
        escape_in_word(first | last << (8 * (n - 4)) | SPACES << (8 * n))
    } else {
        b.iter().any(|&c| c < 0x20 || c == b'"' || c == b'\\')
    }
}

/// Eight bytes as a little-endian word.
fn word(w: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(w);
    u64::from_le_bytes(a)
}

/// True when one of the eight bytes of `v` must be escaped.
fn escape_in_word(v: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Non-zero iff some byte of x is below n (n <= 0x80).
    let has_less = |x: u64, n: u64| x.wrapping_sub(ONES * n) & !x & HIGH;
    has_less(v, 0x20) | has_less(v ^ (ONES * 0x22), 1) | has_less(v ^ (ONES * 0x5C), 1) != 0
}

/// [`date_format::format`], remembering the last date formatted on this thread: the
/// lines of one invoice share their date, so most lines skip the calendar arithmetic.
fn format_date_cached(dt: &NaiveDateTime) -> [u8; 19] {
    use std::cell::Cell;
    thread_local! {
        static LAST: Cell<Option<(NaiveDateTime, [u8; 19])>> = const { Cell::new(None) };
    }
    LAST.with(|last| match last.get() {
        Some((d, text)) if d == *dt => text,
        _ => {
            let text = date_format::format(dt);
            last.set(Some((*dt, text)));
            text
        }
    })
}

/// Appends the decimal's plain text (`2.55`, `0.001`, `-11062.06`), as `Display` does.
fn write_decimal(out: &mut Vec<u8>, d: &Decimal) {
    let scale = d.scale() as usize;
    let m = d.mantissa();
    if m < 0 {
        out.push(b'-');
    }
    let mut buf = itoa::Buffer::new();
    // Prices fit in 64 bits in practice, and 64-bit formatting is much cheaper.
    let digits = match u64::try_from(m.unsigned_abs()) {
        Ok(small) => buf.format(small).as_bytes(),
        Err(_) => buf.format(m.unsigned_abs()).as_bytes(),
    };
    if scale == 0 {
        out.extend_from_slice(digits);
    } else if digits.len() > scale {
        let (int, frac) = digits.split_at(digits.len() - scale);
        out.extend_from_slice(int);
        out.push(b'.');
        out.extend_from_slice(frac);
    } else {
        out.extend_from_slice(b"0.");
        out.resize(out.len() + scale - digits.len(), b'0');
        out.extend_from_slice(digits);
    }
}

/// Serde helpers for `yyyy-MM-dd HH:mm:ss` dates.
pub mod date_format {
    use chrono::{Datelike, NaiveDateTime, Timelike};
    use serde::{Deserialize, Deserializer, Serializer};

    /// Formats a date-time as the 19 ASCII bytes `yyyy-MM-dd HH:mm:ss`.
    ///
    /// Years outside 0..=9999 are clamped to four digits; the dataset only holds 2010 and 2011.
    pub fn format(dt: &NaiveDateTime) -> [u8; 19] {
        fn two(out: &mut [u8], v: u32) {
            out[0] = b'0' + (v / 10 % 10) as u8;
            out[1] = b'0' + (v % 10) as u8;
        }
        let mut b = *b"0000-00-00 00:00:00";
        let y = dt.year().clamp(0, 9999) as u32;
        two(&mut b[0..2], y / 100);
        two(&mut b[2..4], y % 100);
        two(&mut b[5..7], dt.month());
        two(&mut b[8..10], dt.day());
        two(&mut b[11..13], dt.hour());
        two(&mut b[14..16], dt.minute());
        two(&mut b[17..19], dt.second());
        b
    }

    /// Serialises a date-time as a `yyyy-MM-dd HH:mm:ss` string.
    pub fn serialize<S: Serializer>(dt: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
        let b = format(dt);
        // Always ASCII.
        s.serialize_str(std::str::from_utf8(&b).unwrap_or("0000-00-00 00:00:00"))
    }

    /// Deserialises any date form [`crate::parse::parse_date`] accepts.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDateTime, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        crate::parse::parse_date(s.as_bytes())
            .ok_or_else(|| serde::de::Error::custom(format!("bad InvoiceDate {s:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::{needs_escape, write_uint};

    #[test]
    fn small_numbers() {
        let mut edges = vec![u64::MAX, u64::MAX / 3];
        for p in [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000] {
            edges.extend([p - 1, p, p + 1, 7 * p]);
        }
        for v in edges {
            let mut out = b"x".to_vec();
            write_uint(&mut out, v);
            assert_eq!(out, format!("x{v}").into_bytes());
        }
    }

    #[test]
    fn escape_detection() {
        for (s, want) in [
            ("", false),
            ("WHITE HANGING HEART T-LIGHT HOLDER", false),
            ("£ and é and ü are fine", false),
            ("RECORD FRAME 7\" SINGLE", true),
            ("back\\slash in the first word!", true),
            ("tab\there", true),
            ("0123456789abcdef\u{1f}", true),
            ("0123456789abcdef\u{7f}", false),
            ("!#$%&'()*+,-./0123456789", false),
        ] {
            assert_eq!(needs_escape(s.as_bytes()), want, "{s:?}");
        }
        for b in 0u8..=255 {
            let want = b < 0x20 || b == b'"' || b == b'\\';
            for (len, bg) in (1..=25).flat_map(|len| [b'x', b' ', 0x80, 0xff].map(|bg| (len, bg))) {
                let mut v = vec![bg; len];
                for pos in 0..len {
                    v[pos] = b;
                    assert_eq!(needs_escape(&v), want, "byte {b} at {pos} of {len} in {bg}");
                    v[pos] = bg;
                }
            }
        }
    }
}
