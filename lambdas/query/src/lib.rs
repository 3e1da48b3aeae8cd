//! EcomFlow query Lambda: read invoices and customers back from DynamoDB.
//!
//! Routes (API Gateway REST proxy events):
//!
//! * `GET /invoices/{invoiceNo}`: every line of the invoice (`Query`, all pages).
//! * `GET /invoices/{invoiceNo}/items/{stockCode}`: the line(s) of that stock code in
//!   the invoice. The invoices table's sort key is `LineKey` = `"{StockCode}#{hash}"`
//!   (an invoice can hold several lines of one stock code, see the process Lambda), so
//!   this is a `Query` with `begins_with(LineKey, "{stockCode}#")`; usually one line.
//! * `GET /customers/{customerId}/invoices?limit=&next=`: the customer's invoice
//!   summaries (`Query`), `limit` 1..=100 (default 20); `next` is the continuation token
//!   returned as `"next"`: URL-safe base64 of the JSON `LastEvaluatedKey`.
//!
//! Lines are returned in the clean-record JSON shape (`UnitPrice` and `InvoiceTotal` as
//! exact decimal strings). Errors: `403` `{"message":"..."}` for a caller not allowed on the
//! route (see below), `400` for a malformed key, limit or token, `404` when nothing is found
//! or the path is unknown, `405` for other methods on a route the rules allow, `502` when
//! DynamoDB fails.
//!
//! # Who may query
//!
//! Before anything else, [`handle`] checks the caller's Cognito groups against the route's
//! (`ROUTE_GROUPS`, [`Config::route_groups`]; by default only `analysts` may call the three
//! GET routes): anyone else gets `403` and no table is read. The route is the event's
//! `httpMethod` and `resource` template, so another method on these paths is a route no
//! group is allowed on (`403`). The API's authorizer only verifies the token; why the group
//! check is in the handler is in the [`access`] crate's documentation.
//!
//! # Keys
//!
//! Path segments are percent-decoded once (two hex digits after each `%`) and must be
//! UTF-8. An invoice number is at most 12 digits with an optional `C`/`A` prefix; a
//! customer id a positive 32-bit integer; a stock code 1 to 64 ASCII letters, digits,
//! spaces, `-` and `_` (every code of the dataset), not starting or ending with a space.
//! Anything else (`..`, `/`, `%`, `#`, NUL and other control characters, non-ASCII, longer
//! keys) is a `400` naming the key, quoted with its control characters escaped and cut to
//! [`MAX_SHOWN_CHARS`] characters. `#` matters most: it separates the stock code from the
//! hash in the sort key, so the item query also keeps only the lines whose `StockCode` is
//! exactly the one asked for (a line stored under `A#B` must not answer for `A`).
//!
//! A request body is never read: these are GET routes, and a body (of any size, type or
//! encoding) changes nothing.

use async_trait::async_trait;
use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_lambda_events::encodings::Body;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// A DynamoDB item.
pub type Item = HashMap<String, AttributeValue>;

/// Default and largest page size for customer invoices.
pub const DEFAULT_LIMIT: i32 = 20;
/// Largest accepted `limit`.
pub const MAX_LIMIT: i32 = 100;

/// The reads the handler needs.
#[async_trait]
pub trait Store: Send + Sync {
    /// Every line of an invoice.
    async fn invoice_lines(&self, invoice_no: &str) -> Result<Vec<Item>, String>;
    /// The lines of one stock code in an invoice.
    async fn invoice_item(&self, invoice_no: &str, stock_code: &str) -> Result<Vec<Item>, String>;
    /// One page of a customer's invoices and the key to continue from.
    async fn customer_invoices(
        &self,
        customer_id: u32,
        limit: i32,
        start: Option<Item>,
    ) -> Result<(Vec<Item>, Option<Item>), String>;
}

/// Settings, normally from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Invoices table (`INVOICES_TABLE`).
    pub invoices_table: String,
    /// Customers table (`CUSTOMERS_TABLE`).
    pub customers_table: String,
    /// The Cognito groups allowed on each route (`ROUTE_GROUPS`).
    pub route_groups: access::RouteGroups,
}

impl Config {
    /// Reads the configuration through `lookup` (e.g. `|k| std::env::var(k).ok()`). Every
    /// variable is required: without its access rules the function does not start.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, String> {
        let need = |k: &str| {
            lookup(k)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| format!("{k} is not set"))
        };
        Ok(Config {
            invoices_table: need("INVOICES_TABLE")?,
            customers_table: need("CUSTOMERS_TABLE")?,
            route_groups: access::RouteGroups::from_lookup(&lookup)?,
        })
    }
}

/// The [`Store`] over DynamoDB.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    /// Client.
    pub client: aws_sdk_dynamodb::Client,
    /// Invoices table (`InvoiceNo` S, `LineKey` S).
    pub invoices_table: String,
    /// Customers table (`CustomerID` N, `InvoiceNo` S).
    pub customers_table: String,
}

impl DynamoStore {
    /// The store over the configured tables.
    pub fn new(client: aws_sdk_dynamodb::Client, cfg: &Config) -> DynamoStore {
        DynamoStore {
            client,
            invoices_table: cfg.invoices_table.clone(),
            customers_table: cfg.customers_table.clone(),
        }
    }
}

fn sdk_err<E: std::error::Error>(e: E) -> String {
    aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()
}

impl DynamoStore {
    async fn query_all(&self, invoice_no: &str, prefix: Option<&str>) -> Result<Vec<Item>, String> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut q = self
                .client
                .query()
                .table_name(&self.invoices_table)
                .expression_attribute_values(":i", AttributeValue::S(invoice_no.to_owned()))
                .set_exclusive_start_key(start.take());
            q = match prefix {
                Some(p) => q
                    .key_condition_expression("InvoiceNo = :i AND begins_with(LineKey, :p)")
                    .expression_attribute_values(":p", AttributeValue::S(format!("{p}#"))),
                None => q.key_condition_expression("InvoiceNo = :i"),
            };
            let out = q.send().await.map_err(sdk_err)?;
            items.extend(out.items().iter().cloned());
            match out.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => return Ok(items),
            }
        }
    }
}

#[async_trait]
impl Store for DynamoStore {
    async fn invoice_lines(&self, invoice_no: &str) -> Result<Vec<Item>, String> {
        self.query_all(invoice_no, None).await
    }

    async fn invoice_item(&self, invoice_no: &str, stock_code: &str) -> Result<Vec<Item>, String> {
        self.query_all(invoice_no, Some(stock_code)).await
    }

    async fn customer_invoices(
        &self,
        customer_id: u32,
        limit: i32,
        start: Option<Item>,
    ) -> Result<(Vec<Item>, Option<Item>), String> {
        let out = self
            .client
            .query()
            .table_name(&self.customers_table)
            .key_condition_expression("CustomerID = :c")
            .expression_attribute_values(":c", AttributeValue::N(customer_id.to_string()))
            .limit(limit)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(sdk_err)?;
        let next = out.last_evaluated_key().filter(|k| !k.is_empty()).cloned();
        Ok((out.items().to_vec(), next))
    }
}

/// Attributes holding exact decimals, returned as JSON strings.
const DECIMAL_ATTRIBUTES: [&str; 2] = ["UnitPrice", "InvoiceTotal"];
/// Internal attributes not returned.
const HIDDEN_ATTRIBUTES: [&str; 1] = ["LineKey"];

/// Converts an item to JSON: S as strings, N as integers (decimals as strings), BOOL.
pub fn item_json(item: &Item) -> Value {
    let mut keys: Vec<&String> = item.keys().collect();
    keys.sort();
    let mut out = Map::new();
    for k in keys {
        if HIDDEN_ATTRIBUTES.contains(&k.as_str()) {
            continue;
        }
        let v = match &item[k] {
            AttributeValue::S(s) => Value::String(s.clone()),
            AttributeValue::N(n) if DECIMAL_ATTRIBUTES.contains(&k.as_str()) => {
                Value::String(n.clone())
            }
            AttributeValue::N(n) => n
                .parse::<i64>()
                .map(Value::from)
                .unwrap_or_else(|_| Value::String(n.clone())),
            AttributeValue::Bool(b) => Value::Bool(*b),
            AttributeValue::Null(_) => Value::Null,
            _ => continue,
        };
        out.insert(k.clone(), v);
    }
    Value::Object(out)
}

fn respond(status: i64, body: Value) -> ApiGatewayProxyResponse {
    let mut r = ApiGatewayProxyResponse::default();
    r.status_code = status;
    r.headers.insert(
        "content-type",
        aws_lambda_events::http::HeaderValue::from_static("application/json"),
    );
    r.body = Some(Body::Text(body.to_string()));
    r
}

fn error(status: i64, message: impl Into<String>) -> ApiGatewayProxyResponse {
    respond(status, json!({ "error": message.into() }))
}

/// Longest key (or path) quoted in an error message, in characters.
pub const MAX_SHOWN_CHARS: usize = 64;

/// A key from the request as an error message quotes it: in quotes, control characters
/// escaped, cut to [`MAX_SHOWN_CHARS`] characters.
fn shown(s: &str) -> String {
    match s.char_indices().nth(MAX_SHOWN_CHARS) {
        None => format!("{s:?}"),
        Some((end, _)) => format!(
            "{:?}... ({} more characters)",
            &s[..end],
            s[end..].chars().count()
        ),
    }
}

fn valid_invoice_no(s: &str) -> bool {
    let digits = s.strip_prefix(['C', 'A']).unwrap_or(s);
    !digits.is_empty() && digits.len() <= 12 && digits.bytes().all(|b| b.is_ascii_digit())
}

fn valid_stock_code(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && !s.starts_with(' ')
        && !s.ends_with(' ')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b' ' | b'-' | b'_'))
}

fn parse_customer_id(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<u32>().ok().filter(|&c| c > 0)
}

/// Percent-decodes a path segment (API Gateway passes `path` undecoded).
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            // Exactly two hex digits (`from_str_radix` alone would take a sign: `%+1`).
            let hex = b.get(i + 1..i + 3)?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Encodes a continuation token.
pub fn encode_token(key: &Item) -> String {
    let j = item_json(key);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(j.to_string())
}

/// Decodes a continuation token for `customer_id`.
pub fn decode_token(token: &str, customer_id: u32) -> Result<Item, String> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.trim_end_matches('='))
        .map_err(|_| "next is not a valid continuation token".to_owned())?;
    let v: Value = serde_json::from_slice(&bytes)
        .map_err(|_| "next is not a valid continuation token".to_owned())?;
    let cid = v.get("CustomerID").and_then(Value::as_u64);
    let inv = v.get("InvoiceNo").and_then(Value::as_str);
    match (cid, inv) {
        (Some(c), Some(i)) if c == u64::from(customer_id) && valid_invoice_no(i) => {
            let mut key = Item::new();
            key.insert("CustomerID".into(), AttributeValue::N(c.to_string()));
            key.insert("InvoiceNo".into(), AttributeValue::S(i.to_owned()));
            Ok(key)
        }
        _ => Err("next does not belong to this customer's listing".into()),
    }
}

/// Handles one request: checks that the caller may call the route (`403` otherwise), then
/// answers it from `store`.
pub async fn handle(
    req: &ApiGatewayProxyRequest,
    cfg: &Config,
    store: &dyn Store,
) -> ApiGatewayProxyResponse {
    if let Some(refused) = cfg.route_groups.refusal(req) {
        return refused;
    }
    if req.http_method != aws_lambda_events::http::Method::GET {
        return error(405, "only GET is supported");
    }
    let path = req.path.as_deref().unwrap_or("");
    let segments: Option<Vec<String>> = path
        .trim_matches('/')
        .split('/')
        .map(percent_decode)
        .collect();
    let Some(segments) = segments else {
        return error(400, "path is not valid percent-encoded UTF-8");
    };
    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
    let result = match segs.as_slice() {
        ["invoices", inv] => invoice(store, inv).await,
        ["invoices", inv, "items", sc] => item(store, inv, sc).await,
        ["customers", cid, "invoices"] => customer(store, cid, req).await,
        _ => Err(error(404, format!("no route for {}", shown(path)))),
    };
    result.unwrap_or_else(|e| e)
}

type Answer = Result<ApiGatewayProxyResponse, ApiGatewayProxyResponse>;

fn upstream(e: String) -> ApiGatewayProxyResponse {
    tracing::error!(error = %e, "DynamoDB read failed");
    error(502, "the table could not be read")
}

async fn invoice(store: &dyn Store, inv: &str) -> Answer {
    if !valid_invoice_no(inv) {
        return Err(error(
            400,
            format!("{} is not an invoice number", shown(inv)),
        ));
    }
    let lines = store.invoice_lines(inv).await.map_err(upstream)?;
    if lines.is_empty() {
        return Err(error(404, format!("invoice {inv} not found")));
    }
    let lines: Vec<Value> = lines.iter().map(item_json).collect();
    Ok(respond(200, json!({ "InvoiceNo": inv, "lines": lines })))
}

async fn item(store: &dyn Store, inv: &str, sc: &str) -> Answer {
    if !valid_invoice_no(inv) {
        return Err(error(
            400,
            format!("{} is not an invoice number", shown(inv)),
        ));
    }
    if !valid_stock_code(sc) {
        return Err(error(
            400,
            format!(
                "{} is not a stock code (1 to 64 letters, digits, spaces, - and _)",
                shown(sc)
            ),
        ));
    }
    let mut lines = store.invoice_item(inv, sc).await.map_err(upstream)?;
    // `begins_with(LineKey, "A#")` also matches a line whose own code is `A#B`.
    lines.retain(|l| matches!(l.get("StockCode"), Some(AttributeValue::S(code)) if code == sc));
    if lines.is_empty() {
        return Err(error(
            404,
            format!("stock code {sc} not found in invoice {inv}"),
        ));
    }
    let lines: Vec<Value> = lines.iter().map(item_json).collect();
    Ok(respond(
        200,
        json!({ "InvoiceNo": inv, "StockCode": sc, "lines": lines }),
    ))
}

async fn customer(store: &dyn Store, cid: &str, req: &ApiGatewayProxyRequest) -> Answer {
    let Some(customer_id) = parse_customer_id(cid) else {
        return Err(error(400, format!("{} is not a customer id", shown(cid))));
    };
    let limit = match req.query_string_parameters.first("limit") {
        None => DEFAULT_LIMIT,
        Some(l) => match l.parse::<i32>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => return Err(error(400, format!("limit must be 1..={MAX_LIMIT}"))),
        },
    };
    let start = match req.query_string_parameters.first("next") {
        None | Some("") => None,
        Some(t) => Some(decode_token(t, customer_id).map_err(|m| error(400, m))?),
    };
    let first_page = start.is_none();
    let (items, next) = store
        .customer_invoices(customer_id, limit, start)
        .await
        .map_err(upstream)?;
    if items.is_empty() && first_page {
        return Err(error(
            404,
            format!("no invoices for customer {customer_id}"),
        ));
    }
    let invoices: Vec<Value> = items.iter().map(item_json).collect();
    Ok(respond(
        200,
        json!({
            "CustomerID": customer_id,
            "invoices": invoices,
            "next": next.as_ref().map(encode_token),
        }),
    ))
}
