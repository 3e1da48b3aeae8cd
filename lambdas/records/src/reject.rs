//! Why a row was rejected, in a machine-readable form.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The reason a row was rejected. Serialised in `snake_case` (`bad_date`, ...).
///
/// The first group is structural and always rejected; the last four come from
/// [`crate::CleaningRules`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// A CSV row without exactly 8 fields.
    WrongFieldCount,
    /// Text that is not JSON at all.
    BadJson,
    /// A JSON value that is not an object.
    NotAnObject,
    /// A required JSON field is absent.
    MissingField,
    /// InvoiceNo is empty.
    EmptyInvoiceNo,
    /// InvoiceNo is not an optional `C`/`A` followed by digits.
    BadInvoiceNo,
    /// StockCode is empty.
    EmptyStockCode,
    /// Quantity is not an integer.
    BadQuantity,
    /// InvoiceDate is not a date in an accepted format.
    BadDate,
    /// UnitPrice is not a decimal number.
    BadPrice,
    /// CustomerID is neither empty nor a positive integer.
    BadCustomerId,
    /// Country is empty.
    EmptyCountry,
    /// A text field longer than its warehouse column holds ([`crate::WAREHOUSE_TEXT_BYTES`]).
    TooLong,
    /// A cancellation line while `keep_cancellations` is off.
    Cancellation,
    /// No CustomerID while `keep_missing_customer` is off.
    MissingCustomerId,
    /// A non-product StockCode while `keep_non_product_codes` is off.
    NonProductCode,
    /// An exact duplicate of a line accepted earlier in the batch.
    Duplicate,
}

impl RejectReason {
    /// Every reason, in declaration order.
    pub const ALL: [RejectReason; 17] = [
        RejectReason::WrongFieldCount,
        RejectReason::BadJson,
        RejectReason::NotAnObject,
        RejectReason::MissingField,
        RejectReason::EmptyInvoiceNo,
        RejectReason::BadInvoiceNo,
        RejectReason::EmptyStockCode,
        RejectReason::BadQuantity,
        RejectReason::BadDate,
        RejectReason::BadPrice,
        RejectReason::BadCustomerId,
        RejectReason::EmptyCountry,
        RejectReason::TooLong,
        RejectReason::Cancellation,
        RejectReason::MissingCustomerId,
        RejectReason::NonProductCode,
        RejectReason::Duplicate,
    ];

    /// The snake_case name, as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::WrongFieldCount => "wrong_field_count",
            RejectReason::BadJson => "bad_json",
            RejectReason::NotAnObject => "not_an_object",
            RejectReason::MissingField => "missing_field",
            RejectReason::EmptyInvoiceNo => "empty_invoice_no",
            RejectReason::BadInvoiceNo => "bad_invoice_no",
            RejectReason::EmptyStockCode => "empty_stock_code",
            RejectReason::BadQuantity => "bad_quantity",
            RejectReason::BadDate => "bad_date",
            RejectReason::BadPrice => "bad_price",
            RejectReason::BadCustomerId => "bad_customer_id",
            RejectReason::EmptyCountry => "empty_country",
            RejectReason::TooLong => "too_long",
            RejectReason::Cancellation => "cancellation",
            RejectReason::MissingCustomerId => "missing_customer_id",
            RejectReason::NonProductCode => "non_product_code",
            RejectReason::Duplicate => "duplicate",
        }
    }

    /// True for reasons that come from a configurable rule rather than bad input.
    pub fn is_rule(self) -> bool {
        matches!(
            self,
            RejectReason::Cancellation
                | RejectReason::MissingCustomerId
                | RejectReason::NonProductCode
                | RejectReason::Duplicate
        )
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rejected row: the reason, a human-readable detail and the original input as text.
///
/// JSON: `{"reason":"bad_date","detail":"InvoiceDate \"13/1/2010 8:26\" is not a date","input":"...","index":4}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// Machine-readable reason.
    pub reason: RejectReason,
    /// What exactly was wrong, for people.
    pub detail: String,
    /// The original row: a CSV line (Latin-1 decoded to UTF-8) or the JSON text.
    pub input: String,
    /// Position of the row in its batch (0-based), when it came from a batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
}

impl Rejection {
    /// A rejection without a batch position.
    pub fn new(reason: RejectReason, detail: impl Into<String>, input: impl Into<String>) -> Self {
        Rejection {
            reason,
            detail: detail.into(),
            input: input.into(),
            index: None,
        }
    }

    /// This rejection as one JSON line (newline-terminated), appended to `out`.
    pub fn write_json_line(&self, out: &mut Vec<u8>) {
        if serde_json::to_writer(&mut *out, self).is_ok() {
            out.push(b'\n');
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason, self.detail)
    }
}

impl std::error::Error for Rejection {}
