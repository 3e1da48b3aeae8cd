//! The in-memory [`Store`] and request helpers shared by the query tests.

#![allow(dead_code)]

use async_trait::async_trait;
use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_lambda_events::encodings::Body;
use aws_sdk_dynamodb::types::AttributeValue;
use query::{Config, Item, Store};
use serde_json::Value;

/// A `GET /customers/{customerId}/invoices` event, from a caller in `analysts`.
pub const EVENT: &str = include_str!("../fixtures/apigw_get_customer_invoices.json");

/// `query`'s `ROUTE_GROUPS` as the blueprint writes it for the default groups.
pub const ROUTE_GROUPS: &str = concat!(
    r#"{"GET /customers/{customerId}/invoices":["analysts"],"#,
    r#""GET /invoices/{invoiceNo}":["analysts"],"#,
    r#""GET /invoices/{invoiceNo}/items/{stockCode}":["analysts"]}"#
);

/// The three GET routes of the query function.
pub const GET_ROUTES: [&str; 3] = [
    "/invoices/{invoiceNo}",
    "/invoices/{invoiceNo}/items/{stockCode}",
    "/customers/{customerId}/invoices",
];

/// The configuration the blueprint gives the function (tables named `invoices` and
/// `customers`).
pub fn cfg() -> Config {
    Config {
        invoices_table: "invoices".into(),
        customers_table: "customers".into(),
        route_groups: access::RouteGroups::parse(ROUTE_GROUPS).unwrap(),
    }
}

/// The handler with [`cfg`]: the events of [`get`] come from the fixture's analyst, so the
/// group check lets them through and the tests see the routes' own answers.
pub async fn handle(req: &ApiGatewayProxyRequest, store: &dyn Store) -> ApiGatewayProxyResponse {
    query::handle(req, &cfg(), store).await
}

/// Sets the caller's `cognito:groups` claim (removes it when `None`).
pub fn with_groups(
    mut req: ApiGatewayProxyRequest,
    groups: Option<Value>,
) -> ApiGatewayProxyRequest {
    let claims = req
        .request_context
        .authorizer
        .fields
        .entry("claims".to_string())
        .or_insert_with(|| Value::Object(Default::default()));
    let claims = claims.as_object_mut().unwrap();
    match groups {
        Some(g) => claims.insert("cognito:groups".into(), g),
        None => claims.remove("cognito:groups"),
    };
    req
}

/// An invoice line item as the process Lambda writes it.
pub fn line(inv: &str, sc: &str, q: i64, price: &str) -> Item {
    let mut i = Item::new();
    i.insert("InvoiceNo".into(), AttributeValue::S(inv.into()));
    i.insert(
        "LineKey".into(),
        AttributeValue::S(format!("{sc}#{q:016x}")),
    );
    i.insert("StockCode".into(), AttributeValue::S(sc.into()));
    i.insert("Quantity".into(), AttributeValue::N(q.to_string()));
    i.insert("UnitPrice".into(), AttributeValue::N(price.into()));
    i.insert("CustomerID".into(), AttributeValue::N("17850".into()));
    i.insert("IsCancellation".into(), AttributeValue::Bool(false));
    i
}

/// A customer's invoice summary item.
pub fn summary(inv: &str, total: &str) -> Item {
    let mut i = Item::new();
    i.insert("CustomerID".into(), AttributeValue::N("17850".into()));
    i.insert("InvoiceNo".into(), AttributeValue::S(inv.into()));
    i.insert("InvoiceTotal".into(), AttributeValue::N(total.into()));
    i.insert("LineCount".into(), AttributeValue::N("2".into()));
    i
}

/// A store over two lists of items, answering as the DynamoDB queries do (`begins_with`
/// on the line key for one stock code).
pub struct Fake {
    /// The invoices table.
    pub lines: Vec<Item>,
    /// The customers table.
    pub customers: Vec<Item>,
}

/// A string or number attribute's text.
pub fn s(i: &Item, k: &str) -> String {
    match &i[k] {
        AttributeValue::S(v) | AttributeValue::N(v) => v.clone(),
        _ => unreachable!(),
    }
}

#[async_trait]
impl Store for Fake {
    async fn invoice_lines(&self, inv: &str) -> Result<Vec<Item>, String> {
        Ok(self
            .lines
            .iter()
            .filter(|l| s(l, "InvoiceNo") == inv)
            .cloned()
            .collect())
    }
    async fn invoice_item(&self, inv: &str, sc: &str) -> Result<Vec<Item>, String> {
        Ok(self
            .lines
            .iter()
            .filter(|l| s(l, "InvoiceNo") == inv && s(l, "LineKey").starts_with(&format!("{sc}#")))
            .cloned()
            .collect())
    }
    async fn customer_invoices(
        &self,
        c: u32,
        limit: i32,
        start: Option<Item>,
    ) -> Result<(Vec<Item>, Option<Item>), String> {
        let mut all: Vec<&Item> = self
            .customers
            .iter()
            .filter(|i| s(i, "CustomerID") == c.to_string())
            .collect();
        all.sort_by_key(|i| s(i, "InvoiceNo"));
        let from = start.map(|k| s(&k, "InvoiceNo"));
        let rest: Vec<Item> = all
            .into_iter()
            .filter(|i| from.as_ref().is_none_or(|f| s(i, "InvoiceNo") > *f))
            .cloned()
            .collect();
        let page: Vec<Item> = rest.iter().take(limit as usize).cloned().collect();
        let next = (rest.len() > page.len()).then(|| {
            let last = page.last().unwrap();
            let mut k = Item::new();
            k.insert("CustomerID".into(), last["CustomerID"].clone());
            k.insert("InvoiceNo".into(), last["InvoiceNo"].clone());
            k
        });
        Ok((page, next))
    }
}

/// Three lines of invoice 536365 and three summaries of customer 17850.
pub fn fake() -> Fake {
    Fake {
        lines: vec![
            line("536365", "85123A", 6, "2.55"),
            line("536365", "71053", 6, "3.39"),
            line("536365", "71053", 2, "3.39"),
        ],
        customers: vec![
            summary("536365", "57.64"),
            summary("536366", "22.20"),
            summary("537000", "1.10"),
        ],
    }
}

/// A GET of `path` with these query parameters, by the fixture's analyst. The event keeps the
/// fixture's `resource` (an allowed route): the handler routes on the path.
pub fn get(path: &str, query: &[(&str, &str)]) -> ApiGatewayProxyRequest {
    let mut req: ApiGatewayProxyRequest = serde_json::from_str(EVENT).unwrap();
    req.path = Some(path.into());
    let q: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    req.query_string_parameters = q.join("&").parse().unwrap();
    req
}

/// The answer's JSON body.
pub fn body(r: &ApiGatewayProxyResponse) -> Value {
    match &r.body {
        Some(Body::Text(t)) => serde_json::from_str(t).unwrap(),
        b => panic!("{b:?}"),
    }
}
