//! Low-level field parsers shared by the CSV and JSON paths.
//!
//! They work on bytes and never allocate on success, except [`decode_text`] for
//! Latin-1 input.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use rust_decimal::Decimal;
use std::borrow::Cow;

/// Decodes text bytes: valid UTF-8 is taken as is, anything else is read as
/// ISO-8859-1 (Latin-1), where each byte is the Unicode code point of the same value
/// (so the pound sign 0xA3 becomes U+00A3 `£`).
pub fn decode_text(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(latin1_to_string(bytes)),
    }
}

/// Decodes bytes as Latin-1 unconditionally.
pub fn latin1_to_string(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// `a == b` for the short fields compared on every row (invoice numbers, countries,
/// date texts), without a call to `memcmp`: up to 16 bytes are compared as two
/// overlapping words (comparing a byte twice is harmless).
pub(crate) fn short_eq(a: &[u8], b: &[u8]) -> bool {
    fn word(x: &[u8]) -> u64 {
        let mut w = [0; 8];
        w.copy_from_slice(x);
        u64::from_le_bytes(w)
    }
    fn half(x: &[u8]) -> u32 {
        u32::from_le_bytes([x[0], x[1], x[2], x[3]])
    }
    let n = a.len();
    if n != b.len() {
        return false;
    }
    match n {
        0..=3 => a == b,
        4..=7 => half(a) == half(b) && half(&a[n - 4..]) == half(&b[n - 4..]),
        8..=16 => word(&a[..8]) == word(&b[..8]) && word(&a[n - 8..]) == word(&b[n - 8..]),
        _ => a == b,
    }
}

/// Trims ASCII spaces and tabs from both ends.
pub fn trim_ascii(b: &[u8]) -> &[u8] {
    b.trim_ascii()
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 9 {
        return None;
    }
    let mut v = 0u32;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

/// Parses an invoice date.
///
/// Accepted forms (surrounding spaces ignored):
/// * the dataset's `M/D/YYYY H:MM` with or without zero padding, optionally `:SS`;
/// * ISO `YYYY-MM-DD HH:MM:SS` (or with a `T` separator, or without seconds),
///   which is what clean records carry.
///
/// Years run from 1 to 9999: year 0 has no place in Python's datetime, so the Glue job
/// could not load it.
pub fn parse_date(b: &[u8]) -> Option<NaiveDateTime> {
    let b = trim_ascii(b);
    let sep = b.iter().position(|&c| c == b' ' || c == b'T')?;
    let (date, time) = (&b[..sep], &b[sep + 1..]);
    let d = if date.contains(&b'/') {
        let mut it = date.split(|&c| c == b'/');
        let m = it.next().filter(|p| p.len() <= 2).and_then(digits)?;
        let d = it.next().filter(|p| p.len() <= 2).and_then(digits)?;
        let y = it.next().filter(|p| p.len() == 4).and_then(digits)?;
        if it.next().is_some() {
            return None;
        }
        NaiveDate::from_ymd_opt(y as i32, m, d).filter(|_| y >= 1)?
    } else {
        if date.len() != 10 || date[4] != b'-' || date[7] != b'-' {
            return None;
        }
        let y = digits(&date[0..4])?;
        let m = digits(&date[5..7])?;
        let d = digits(&date[8..10])?;
        NaiveDate::from_ymd_opt(y as i32, m, d).filter(|_| y >= 1)?
    };
    let mut it = time.split(|&c| c == b':');
    let h = it.next().filter(|p| p.len() <= 2).and_then(digits)?;
    let mi = it.next().filter(|p| p.len() == 2).and_then(digits)?;
    let s = match it.next() {
        None => 0,
        Some(p) if p.len() == 2 => digits(p)?,
        Some(_) => return None,
    };
    if it.next().is_some() {
        return None;
    }
    Some(d.and_time(NaiveTime::from_hms_opt(h, mi, s)?))
}

/// Parses an integer quantity: optional sign and ASCII digits. A pandas-style
/// integral float (`6.0`) is accepted too.
pub fn parse_quantity(b: &[u8]) -> Option<i64> {
    // Fast path for the usual form, up to nine digits without a sign.
    if let Some(v) = digits(b) {
        return Some(i64::from(v));
    }
    let b = trim_ascii(b);
    let b = strip_zero_fraction(b);
    let (neg, rest) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        Some(b'+') => (false, &b[1..]),
        _ => (false, b),
    };
    if rest.is_empty() || rest.len() > 18 {
        return None;
    }
    let mut v: i64 = 0;
    for &c in rest {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(c - b'0');
    }
    Some(if neg { -v } else { v })
}

/// Drops a trailing `.0`, `.00`, ... (an integral float written by pandas).
fn strip_zero_fraction(b: &[u8]) -> &[u8] {
    if let Some(dot) = b.iter().position(|&c| c == b'.') {
        let frac = &b[dot + 1..];
        if !frac.is_empty() && frac.iter().all(|&c| c == b'0') {
            return &b[..dot];
        }
    }
    b
}

/// Parses a customer id: a positive integer up to `u32::MAX`, or an integral float
/// (`17850.0`). Returns `Ok(None)` for an empty field or `NaN`/`nan`/`null`/`None`.
pub fn parse_customer_id(b: &[u8]) -> Result<Option<u32>, InvalidCustomerId> {
    // Fast path for the usual form, nine digits at most (so it fits a u32).
    if let Some(v) = digits(b) {
        return if v == 0 {
            Err(InvalidCustomerId)
        } else {
            Ok(Some(v))
        };
    }
    let b = trim_ascii(b);
    if b.is_empty() || is_null_word(b) {
        return Ok(None);
    }
    let b = strip_zero_fraction(b);
    if b.is_empty() || b.len() > 10 || !b.iter().all(u8::is_ascii_digit) {
        return Err(InvalidCustomerId);
    }
    let v: u64 = b.iter().fold(0u64, |v, &c| v * 10 + u64::from(c - b'0'));
    match u32::try_from(v) {
        Ok(0) | Err(_) => Err(InvalidCustomerId),
        Ok(v) => Ok(Some(v)),
    }
}

/// A CustomerID that is neither missing nor a positive 32-bit integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidCustomerId;

impl std::fmt::Display for InvalidCustomerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CustomerID is not a positive integer")
    }
}

impl std::error::Error for InvalidCustomerId {}

/// True for the spellings pandas and friends use for a missing value.
pub fn is_null_word(b: &[u8]) -> bool {
    b.eq_ignore_ascii_case(b"nan") || b.eq_ignore_ascii_case(b"null") || b == b"None"
}

/// Parses an exact decimal price: `2.55`, `-11062.06`, `0.001`, `.5`, `3`, and also
/// exponent forms (`1e-3`) that a JSON float may print as.
pub fn parse_price(b: &[u8]) -> Option<Decimal> {
    let b = trim_ascii(b);
    // `rust_decimal` would read `2_55` as 255: digit separators are not prices.
    if b.is_empty() || b.contains(&b'_') {
        return None;
    }
    // Fast path: sign, digits and at most one dot; at most 18 significant digits.
    let (neg, rest) = match b[0] {
        b'-' => (true, &b[1..]),
        b'+' => (false, &b[1..]),
        _ => (false, b),
    };
    let mut mantissa: i64 = 0;
    let mut scale: u32 = 0;
    let mut seen_dot = false;
    let mut n_digits = 0;
    let mut simple = !rest.is_empty() && rest.len() <= 19;
    if simple {
        for &c in rest {
            match c {
                b'0'..=b'9' => {
                    mantissa = mantissa * 10 + i64::from(c - b'0');
                    n_digits += 1;
                    if seen_dot {
                        scale += 1;
                    }
                }
                b'.' if !seen_dot => seen_dot = true,
                _ => {
                    simple = false;
                    break;
                }
            }
        }
    }
    if simple && n_digits > 0 && n_digits <= 18 {
        // What `Decimal::new` builds (a zero is never negative), without its call.
        let m = mantissa as u64;
        return Some(Decimal::from_parts(
            m as u32,
            (m >> 32) as u32,
            0,
            neg,
            scale,
        ));
    }
    let s = std::str::from_utf8(b).ok()?;
    let mut d = if s.contains(['e', 'E']) {
        Decimal::from_scientific(s).ok()?
    } else {
        s.parse::<Decimal>().ok()?
    };
    // No negative zero: "-0.0" is written as "0.0".
    if d.is_zero() {
        d.set_sign_positive(true);
    }
    Some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn dates() {
        assert_eq!(
            parse_date(b"12/1/2010 8:26"),
            Some(dt("2010-12-01 08:26:00"))
        );
        assert_eq!(
            parse_date(b"12/10/2010 14:05"),
            Some(dt("2010-12-10 14:05:00"))
        );
        assert_eq!(
            parse_date(b"1/4/2011 10:00"),
            Some(dt("2011-01-04 10:00:00"))
        );
        assert_eq!(
            parse_date(b"01/04/2011 09:00:59"),
            Some(dt("2011-01-04 09:00:59"))
        );
        assert_eq!(
            parse_date(b"2010-12-01 08:26:00"),
            Some(dt("2010-12-01 08:26:00"))
        );
        assert_eq!(
            parse_date(b"2010-12-01T08:26:00"),
            Some(dt("2010-12-01 08:26:00"))
        );
        assert_eq!(
            parse_date(b"2010-12-01 08:26"),
            Some(dt("2010-12-01 08:26:00"))
        );
        for bad in [
            &b""[..],
            b"12/1/2010",
            b"13/1/2010 8:26",
            b"2/30/2011 8:26",
            b"12/1/10 8:26",
            b"12/1/2010 25:00",
            b"12/1/2010 8:6",
            b"12-1-2010 8:26",
            b"x/1/2010 8:26",
            b"12/1/2010/1 8:26",
            b"12/1/2010 8:26:00:00",
        ] {
            assert_eq!(parse_date(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn quantities() {
        assert_eq!(parse_quantity(b"6"), Some(6));
        assert_eq!(parse_quantity(b"-12"), Some(-12));
        assert_eq!(parse_quantity(b"80995"), Some(80995));
        assert_eq!(parse_quantity(b"6.0"), Some(6));
        assert_eq!(parse_quantity(b"6.5"), None);
        assert_eq!(parse_quantity(b""), None);
        assert_eq!(parse_quantity(b"-"), None);
        assert_eq!(parse_quantity(b"six"), None);
    }

    #[test]
    fn customers() {
        assert_eq!(parse_customer_id(b"17850"), Ok(Some(17850)));
        assert_eq!(parse_customer_id(b"17850.0"), Ok(Some(17850)));
        assert_eq!(parse_customer_id(b""), Ok(None));
        assert_eq!(parse_customer_id(b"NaN"), Ok(None));
        assert_eq!(parse_customer_id(b"17850.5"), Err(InvalidCustomerId));
        assert_eq!(parse_customer_id(b"0"), Err(InvalidCustomerId));
        assert_eq!(parse_customer_id(b"-5"), Err(InvalidCustomerId));
        assert_eq!(parse_customer_id(b"99999999999"), Err(InvalidCustomerId));
    }

    #[test]
    fn prices_are_exact() {
        assert_eq!(parse_price(b"2.55").unwrap().to_string(), "2.55");
        assert_eq!(parse_price(b"0.001").unwrap().to_string(), "0.001");
        assert_eq!(parse_price(b"-11062.06").unwrap().to_string(), "-11062.06");
        assert_eq!(
            parse_price(b"2_55"),
            None,
            "digit separators are not prices"
        );
        assert_eq!(parse_price(b"1_000.5"), None);
        assert_eq!(parse_price(b"2.1").unwrap().to_string(), "2.1");
        assert_eq!(parse_price(b"0.0").unwrap().to_string(), "0.0");
        assert_eq!(parse_price(b"1e-3").unwrap().to_string(), "0.001");
        assert_eq!(parse_price(b"3").unwrap().to_string(), "3");
        assert_eq!(
            parse_price(b"12345678901234567890.5").unwrap().to_string(),
            "12345678901234567890.5"
        );
        assert_eq!(parse_price(b"abc"), None);
        assert_eq!(parse_price(b""), None);
        assert_eq!(parse_price(b"1.2.3"), None);
        assert_eq!(parse_price(b"-"), None);
    }

    #[test]
    fn short_equality() {
        let text = b"0123456789abcdefghij";
        for n in 0..=text.len() {
            let a = &text[..n];
            assert!(short_eq(a, a));
            for i in 0..n {
                let mut b = a.to_vec();
                b[i] ^= 1;
                assert!(!short_eq(a, &b), "{n} {i}");
            }
            assert!(!short_eq(a, &text[..n.saturating_sub(1)]) || n == 0);
        }
    }

    #[test]
    fn latin1() {
        assert_eq!(decode_text(b"M-\xa340.00"), "M-\u{a3}40.00");
        assert_eq!(decode_text("M-£40.00".as_bytes()), "M-£40.00");
        assert!(matches!(decode_text(b"plain"), Cow::Borrowed(_)));
    }
}
