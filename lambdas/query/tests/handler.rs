//! Query handler tests with an in-memory store, and one run against moto.

use ecomflow_testkit::Moto;

mod common;

use aws_lambda_events::apigw::ApiGatewayProxyRequest;
use common::{body, cfg, fake, get, handle, with_groups, EVENT};
use query::{Config, DynamoStore};
use serde_json::json;

#[test]
fn fixture_round_trips() {
    let req: ApiGatewayProxyRequest = serde_json::from_str(EVENT).unwrap();
    let again: ApiGatewayProxyRequest =
        serde_json::from_value(serde_json::to_value(&req).unwrap()).unwrap();
    assert_eq!(req, again);
    assert_eq!(req.query_string_parameters.first("limit"), Some("2"));
}

#[tokio::test]
async fn routes() {
    let f = fake();
    let r = handle(&get("/invoices/536365", &[]), &f).await;
    assert_eq!(r.status_code, 200);
    let b = body(&r);
    assert_eq!(b["lines"].as_array().unwrap().len(), 3);
    assert_eq!(b["lines"][0]["UnitPrice"], "2.55");
    assert_eq!(b["lines"][0]["Quantity"], 6);
    assert!(b["lines"][0].get("LineKey").is_none());

    let r = handle(&get("/invoices/536365/items/71053", &[]), &f).await;
    assert_eq!(
        (r.status_code, body(&r)["lines"].as_array().unwrap().len()),
        (200, 2)
    );
    assert_eq!(
        handle(&get("/invoices/536365/items/99999", &[]), &f)
            .await
            .status_code,
        404
    );
    assert_eq!(
        handle(&get("/invoices/999999", &[]), &f).await.status_code,
        404
    );
    for bad in [
        "/invoices/53x",
        "/invoices/536365/items/a%23b",
        "/customers/abc/invoices",
        "/customers/0/invoices",
        "/invoices/%ZZ",
    ] {
        assert_eq!(handle(&get(bad, &[]), &f).await.status_code, 400, "{bad}");
    }
    assert_eq!(handle(&get("/nope", &[]), &f).await.status_code, 404);
    // Another method is another route, which no group may call.
    let mut post = get("/invoices/536365", &[]);
    post.http_method = aws_lambda_events::http::Method::POST;
    post.resource = Some("/invoices/{invoiceNo}".into());
    let r = handle(&post, &f).await;
    assert_eq!(r.status_code, 403);
    assert_eq!(
        body(&r)["message"],
        "forbidden: no Cognito group may call POST /invoices/{invoiceNo}"
    );
    // Were rules to allow it, the handler itself still answers only GET.
    let mut lax = cfg();
    lax.route_groups
        .allow("POST /invoices/{invoiceNo}", ["analysts"]);
    assert_eq!(query::handle(&post, &lax, &f).await.status_code, 405);
}

#[test]
fn config_from_env_lookup() {
    let env = |k: &str| match k {
        "INVOICES_TABLE" => Some("inv".to_string()),
        "CUSTOMERS_TABLE" => Some("cust".to_string()),
        "ROUTE_GROUPS" => Some(common::ROUTE_GROUPS.to_string()),
        _ => None,
    };
    let c = Config::from_lookup(env).unwrap();
    assert_eq!(
        (c.invoices_table.as_str(), c.customers_table.as_str()),
        ("inv", "cust")
    );
    assert_eq!(c.route_groups, cfg().route_groups);
    // Every variable is required: without its access rules the function does not start.
    for missing in ["INVOICES_TABLE", "CUSTOMERS_TABLE", "ROUTE_GROUPS"] {
        let e = Config::from_lookup(|k| if k == missing { None } else { env(k) }).unwrap_err();
        assert!(e.starts_with(&format!("{missing} is not set")), "{e}");
    }
    let e = Config::from_lookup(|k| {
        if k == "ROUTE_GROUPS" {
            Some("{}".into())
        } else {
            env(k)
        }
    })
    .unwrap_err();
    assert!(e.contains("names no route"), "{e}");
}

/// Only `analysts` may query; the check comes before any read.
#[tokio::test]
async fn only_analysts_may_query() {
    /// A store that fails the test if the handler reads it.
    struct Untouchable;
    #[async_trait::async_trait]
    impl query::Store for Untouchable {
        async fn invoice_lines(&self, _: &str) -> Result<Vec<query::Item>, String> {
            panic!("read before the group check")
        }
        async fn invoice_item(&self, _: &str, _: &str) -> Result<Vec<query::Item>, String> {
            panic!("read before the group check")
        }
        async fn customer_invoices(
            &self,
            _: u32,
            _: i32,
            _: Option<query::Item>,
        ) -> Result<(Vec<query::Item>, Option<query::Item>), String> {
            panic!("read before the group check")
        }
    }
    let f = fake();
    for (resource, path) in [
        ("/invoices/{invoiceNo}", "/invoices/536365"),
        (
            "/invoices/{invoiceNo}/items/{stockCode}",
            "/invoices/536365/items/71053",
        ),
        (
            "/customers/{customerId}/invoices",
            "/customers/17850/invoices",
        ),
    ] {
        let mut req = get(path, &[]);
        req.resource = Some(resource.into());
        for groups in [
            json!("analysts"),
            json!("producers,analysts"),
            json!("[analysts]"),
        ] {
            let r = handle(&with_groups(req.clone(), Some(groups.clone())), &f).await;
            assert_eq!(r.status_code, 200, "{path} {groups}");
        }
        for groups in [Some(json!("producers")), Some(json!("")), None] {
            let r = handle(&with_groups(req.clone(), groups.clone()), &Untouchable).await;
            assert_eq!(r.status_code, 403, "{path} {groups:?}");
            assert_eq!(
                body(&r)["message"],
                format!(
                    "forbidden: GET {resource} may be called only by members of the Cognito \
                     group analysts; {}",
                    if groups.as_ref().is_some_and(|g| g != "") {
                        "the caller is not a member"
                    } else {
                        "the caller is in no group"
                    }
                ),
            );
        }
    }
    // An event without any authorizer (a route deployed without one).
    let mut req = get("/invoices/536365", &[]);
    req.request_context.authorizer.fields.clear();
    assert_eq!(handle(&req, &Untouchable).await.status_code, 403);
}

#[tokio::test]
async fn customer_pagination() {
    let f = fake();
    let req: ApiGatewayProxyRequest = serde_json::from_str(EVENT).unwrap();
    let r = handle(&req, &f).await;
    let b = body(&r);
    assert_eq!(b["invoices"].as_array().unwrap().len(), 2);
    assert_eq!(b["invoices"][0]["InvoiceTotal"], "57.64");
    let next = b["next"].as_str().unwrap().to_owned();
    let r = handle(
        &get(
            "/customers/17850/invoices",
            &[("limit", "2"), ("next", &next)],
        ),
        &f,
    )
    .await;
    let b = body(&r);
    assert_eq!(b["invoices"].as_array().unwrap().len(), 1);
    assert_eq!(b["invoices"][0]["InvoiceNo"], "537000");
    assert!(b["next"].is_null());
    for q in [[("limit", "0")], [("limit", "x")], [("next", "!!")]] {
        assert_eq!(
            handle(&get("/customers/17850/invoices", &q), &f)
                .await
                .status_code,
            400
        );
    }
    // A token for another customer is refused.
    let r = handle(&get("/customers/12345/invoices", &[("next", &next)]), &f).await;
    assert_eq!(r.status_code, 400);
    assert_eq!(
        handle(&get("/customers/12345/invoices", &[]), &f)
            .await
            .status_code,
        404
    );
}

#[tokio::test]
async fn against_moto() {
    let moto = Moto::start();
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType as T,
    };
    let client = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
    for (name, pk, pkt, sk) in [
        ("invoices", "InvoiceNo", T::S, "LineKey"),
        ("customers", "CustomerID", T::N, "InvoiceNo"),
    ] {
        client
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(pk)
                    .attribute_type(pkt)
                    .build()
                    .unwrap(),
            )
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(sk)
                    .attribute_type(T::S)
                    .build()
                    .unwrap(),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(pk)
                    .key_type(KeyType::Hash)
                    .build()
                    .unwrap(),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(sk)
                    .key_type(KeyType::Range)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }
    let f = fake();
    for l in f.lines {
        client
            .put_item()
            .table_name("invoices")
            .set_item(Some(l))
            .send()
            .await
            .unwrap();
    }
    for c in f.customers {
        client
            .put_item()
            .table_name("customers")
            .set_item(Some(c))
            .send()
            .await
            .unwrap();
    }
    let store = DynamoStore::new(client, &cfg());
    let b = body(&handle(&get("/invoices/536365/items/71053", &[]), &store).await);
    assert_eq!(b["lines"].as_array().unwrap().len(), 2);
    let b = body(&handle(&get("/invoices/536365", &[]), &store).await);
    assert_eq!(b["lines"].as_array().unwrap().len(), 3);
    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let mut q = vec![("limit", "2")];
        if let Some(n) = &next {
            q.push(("next", n));
        }
        let b = body(&handle(&get("/customers/17850/invoices", &q), &store).await);
        seen.extend(
            b["invoices"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["InvoiceNo"].as_str().unwrap().to_owned()),
        );
        match b["next"].as_str() {
            Some(n) => next = Some(n.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, ["536365", "536366", "537000"]);
    assert_eq!(
        handle(&get("/invoices/111111", &[]), &store)
            .await
            .status_code,
        404
    );
}
