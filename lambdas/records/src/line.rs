//! The typed, clean invoice line and its JSON shape.

use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

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
        Decimal::from(self.quantity) * self.unit_price
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
        out.extend_from_slice(b"{\"InvoiceNo\":");
        json_str(out, &self.invoice_no);
        out.extend_from_slice(b",\"StockCode\":");
        json_str(out, &self.stock_code);
        out.extend_from_slice(b",\"Description\":");
        json_str(out, &self.description);
        out.extend_from_slice(b",\"Quantity\":");
        out.extend_from_slice(itoa::Buffer::new().format(self.quantity).as_bytes());
        out.extend_from_slice(b",\"InvoiceDate\":\"");
        out.extend_from_slice(&date_format::format(&self.invoice_date));
        out.extend_from_slice(b"\",\"UnitPrice\":\"");
        write_decimal(out, &self.unit_price);
        out.extend_from_slice(b"\",\"CustomerID\":");
        match self.customer_id {
            Some(c) => out.extend_from_slice(itoa::Buffer::new().format(c).as_bytes()),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"Country\":");
        json_str(out, &self.country);
        out.extend_from_slice(if self.is_cancellation {
            b",\"IsCancellation\":true}\n"
        } else {
            b",\"IsCancellation\":false}\n"
        });
    }

    /// The line as a JSON string (no trailing newline).
    pub fn to_json(&self) -> String {
        let mut out = Vec::with_capacity(256);
        self.write_json_line(&mut out);
        out.pop();
        String::from_utf8(out).unwrap_or_default()
    }
}

/// Appends `s` as a JSON string literal: copied as is when nothing needs escaping,
/// otherwise escaped by serde_json.
fn json_str(out: &mut Vec<u8>, s: &str) {
    if !needs_escape(s.as_bytes()) {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else if serde_json::to_writer(&mut *out, s).is_err() {
        // Unreachable: writing a str into a Vec cannot fail.
        out.extend_from_slice(b"\"\"");
    }
}

/// True when `b` holds a byte JSON must escape: a control character, `"` or `\\`.
/// Looks at eight bytes at a time.
fn needs_escape(b: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Non-zero iff some byte of x is below n (n <= 0x80).
    let has_less = |x: u64, n: u64| x.wrapping_sub(ONES * n) & !x & HIGH;
    let mut words = b.chunks_exact(8);
    for w in &mut words {
        let mut a = [0u8; 8];
        a.copy_from_slice(w);
        let v = u64::from_le_bytes(a);
        if has_less(v, 0x20) | has_less(v ^ (ONES * 0x22), 1) | has_less(v ^ (ONES * 0x5C), 1) != 0
        {
            return true;
        }
    }
    words
        .remainder()
        .iter()
        .any(|&c| c < 0x20 || c == b'"' || c == b'\\')
}

/// Appends the decimal's plain text (`2.55`, `0.001`, `-11062.06`), as `Display` does.
fn write_decimal(out: &mut Vec<u8>, d: &Decimal) {
    let scale = d.scale() as usize;
    let m = d.mantissa();
    if m < 0 {
        out.push(b'-');
    }
    let mut buf = itoa::Buffer::new();
    let digits = buf.format(m.unsigned_abs()).as_bytes();
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
    use super::needs_escape;

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
            let mut v = vec![b'x'; 17];
            for pos in [0, 7, 8, 15, 16] {
                v[pos] = b;
                let want = b < 0x20 || b == b'"' || b == b'\\';
                assert_eq!(needs_escape(&v), want, "byte {b} at {pos}");
                v[pos] = b'x';
            }
        }
    }
}
