//! EcomFlow invoice-line types and cleaning rules.
//!
//! This crate is pure: it turns raw rows of the UCI Online Retail dataset (CSV bytes)
//! or producer JSON into typed [`InvoiceLine`]s, or into [`Rejection`]s that say why.
//! It does no I/O beyond reading the `std::io::Read` it is given.
//!
//! # Inputs
//!
//! * **CSV rows** ([`Cleaner::clean_csv_record`]): the dataset's 8 columns
//!   `InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country`.
//!   The file is ISO-8859-1: a row whose text fields are valid UTF-8 is read as UTF-8,
//!   otherwise every byte is taken as its Latin-1 code point (byte `0xA3` becomes `£`).
//!   Dates are `M/D/YYYY H:MM` without zero padding.
//! * **JSON objects** ([`Cleaner::clean_json_value`]): the typed shape this crate writes
//!   and the pandas shape (`"InvoiceNo":536365`, `"CustomerID":17850.0`/`null`,
//!   `"UnitPrice":2.55`, `"InvoiceDate":"12/1/2010 8:26"`). ISO dates
//!   (`2010-12-01 08:26:00`) are accepted everywhere, so clean records round-trip.
//!
//! # Output
//!
//! [`InvoiceLine`] serialises with the dataset's column names plus `IsCancellation`;
//! `UnitPrice` is an exact decimal written as a JSON **string** (`"2.55"`), never a
//! float; `InvoiceDate` is `yyyy-MM-dd HH:mm:ss`; `CustomerID` is an integer or null.
//!
//! # Rules
//!
//! Checks run in this order and the first failure is the row's reason
//! ([`RejectReason`], serialised in snake_case):
//!
//! 1. Structure (always rejected): `wrong_field_count` (CSV row without 8 fields),
//!    `bad_json`, `not_an_object`, `missing_field` (JSON without InvoiceNo, StockCode,
//!    Quantity, InvoiceDate, UnitPrice or Country; Description and CustomerID may be
//!    absent).
//! 2. Fields, in column order (always rejected): `empty_invoice_no`, `bad_invoice_no`
//!    (not digits with an optional `C`/`A` prefix), `empty_stock_code`, `bad_quantity`
//!    (not an integer), `bad_date` (years 1 to 9999), `bad_price` (not a decimal, or not
//!    held by the lake's decimal(10,3): more than 3 decimal places, or 10^7 or more), `bad_customer_id`
//!    (not empty and not a positive integer), `empty_country`, `too_long` (InvoiceNo,
//!    StockCode, Description or Country longer in UTF-8 bytes than the warehouse column holds:
//!    [`WAREHOUSE_TEXT_BYTES`]).
//! 3. Configurable rules ([`CleaningRules`]), with their defaults:
//!    `cancellation` (kept by default), `non_product_code` (rejected by default, see
//!    [`is_product_code`]), `missing_customer_id` (kept by default).
//! 4. `duplicate` (rejected by default): a line equal in every typed field to one already accepted
//!    in the same batch ([`BatchCleaner`]); the first copy is kept.
//!
//! Not rejected, by design: an empty Description, negative Quantity (returns and stock
//! corrections), a zero or negative UnitPrice (free items, bad-debt adjustments), and
//! `A` (adjustment) invoices, which [`InvoiceLine::kind`] tells apart. A price keeps the
//! scale it was written with.
//!
//! Every input ends up either accepted or rejected with a reason, so batch counts always
//! add up ([`CleanBatch`], [`report::check`]).

mod clean;
mod dedup;
mod line;
pub mod parse;
mod reject;
pub mod report;
mod rules;

pub use clean::{
    csv_line_text, csv_reader, is_product_code, read_header, BatchCleaner, CleanBatch, Cleaner,
    InputError, COLUMNS,
};
pub use dedup::Deduper;
pub use line::{date_format, InvoiceKind, InvoiceLine, WAREHOUSE_TEXT_BYTES};
pub use reject::{RejectReason, Rejection};
pub use rules::{CleaningRules, RULE_ENV_VARS};

pub use chrono::NaiveDateTime;
pub use csv::ByteRecord;
pub use rust_decimal::Decimal;

#[cfg(test)]
mod tests;
