use super::*;
use serde_json::json;

/// A REST API (v1 proxy) event of `GET /invoices/536365` behind a Cognito user pool
/// authorizer, as API Gateway sends it: every claim a string, groups comma-joined.
const REST_EVENT: &str = r#"{
  "resource": "/invoices/{invoiceNo}",
  "path": "/invoices/536365",
  "httpMethod": "GET",
  "headers": {"Accept": "application/json"},
  "multiValueHeaders": {"Accept": ["application/json"]},
  "queryStringParameters": null,
  "multiValueQueryStringParameters": null,
  "pathParameters": {"invoiceNo": "536365"},
  "stageVariables": null,
  "requestContext": {
    "resourceId": "a1b2c3",
    "resourcePath": "/invoices/{invoiceNo}",
    "httpMethod": "GET",
    "path": "/v1/invoices/536365",
    "accountId": "123456789012",
    "protocol": "HTTP/1.1",
    "stage": "v1",
    "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
    "identity": {"sourceIp": "127.0.0.1"},
    "apiId": "abc123",
    "authorizer": {
      "claims": {
        "sub": "7d8e0b1c-0000-4000-8000-000000000001",
        "cognito:groups": "analysts,producers",
        "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_example",
        "cognito:username": "alice",
        "aud": "4example",
        "token_use": "id",
        "auth_time": "1291191960",
        "exp": "Wed Dec 01 09:26:00 UTC 2010",
        "iat": "Wed Dec 01 08:26:00 UTC 2010",
        "email": "alice@example.com"
      }
    }
  },
  "body": null,
  "isBase64Encoded": false
}"#;

fn rest_event() -> ApiGatewayProxyRequest {
    serde_json::from_str(REST_EVENT).unwrap()
}

/// An event of `method resource` whose caller's `cognito:groups` claim is `groups` (no claim
/// at all when `None`).
fn event(method: &str, resource: &str, groups: Option<Value>) -> ApiGatewayProxyRequest {
    let mut req = rest_event();
    req.http_method = method.parse().unwrap();
    req.resource = Some(resource.into());
    req.request_context.resource_path = Some(resource.into());
    let claims = req
        .request_context
        .authorizer
        .fields
        .get_mut("claims")
        .unwrap();
    let claims = claims.as_object_mut().unwrap();
    match groups {
        Some(g) => {
            claims.insert(GROUPS_CLAIM.into(), g);
        }
        None => {
            claims.remove(GROUPS_CLAIM);
        }
    }
    req
}

/// The stack's default rules, as the blueprint writes them for each function.
fn ingest_rules() -> RouteGroups {
    RouteGroups::parse(r#"{"POST /records":["producers"]}"#).unwrap()
}

fn query_rules() -> RouteGroups {
    let mut r = RouteGroups::new();
    for route in [
        "GET /invoices/{invoiceNo}",
        "GET /invoices/{invoiceNo}/items/{stockCode}",
        "GET /customers/{customerId}/invoices",
    ] {
        r.allow(route, ["analysts"]);
    }
    r
}

/// The decision, a refusal as its answer (as the handlers answer it).
#[allow(clippy::result_large_err)]
fn check(
    rules: &RouteGroups,
    req: &ApiGatewayProxyRequest,
) -> Result<Allowed, ApiGatewayProxyResponse> {
    rules.decide(req).map_err(|d| d.response())
}

fn message(resp: &ApiGatewayProxyResponse) -> String {
    let Some(Body::Text(text)) = &resp.body else {
        panic!("no text body: {resp:?}")
    };
    let v: Value = serde_json::from_str(text).unwrap();
    assert_eq!(v.as_object().unwrap().len(), 1, "{v}");
    v["message"].as_str().expect("a message").to_owned()
}

#[test]
fn the_env_value_is_compact_sorted_json_and_parses_back() {
    let mut r = RouteGroups::new();
    r.allow("GET /invoices/{invoiceNo}", ["analysts", "auditors"]);
    r.allow("GET /customers/{customerId}/invoices", ["auditors"]);
    r.allow("GET /customers/{customerId}/invoices", ["analysts"]);
    let value = r.to_env_value();
    assert_eq!(
        value,
        r#"{"GET /customers/{customerId}/invoices":["analysts","auditors"],"GET /invoices/{invoiceNo}":["analysts","auditors"]}"#
    );
    assert_eq!(RouteGroups::parse(&value).unwrap(), r);
    assert_eq!(
        r.routes().collect::<Vec<_>>(),
        [
            "GET /customers/{customerId}/invoices",
            "GET /invoices/{invoiceNo}"
        ]
    );
    // A route may be listed with no group (nobody may call it); it survives the round trip.
    let mut closed = RouteGroups::new();
    closed.allow("POST /records", Vec::<String>::new());
    assert_eq!(closed.to_env_value(), r#"{"POST /records":[]}"#);
    assert_eq!(RouteGroups::parse(&closed.to_env_value()).unwrap(), closed);
}

#[test]
fn an_unset_or_malformed_variable_is_a_configuration_error() {
    let unset = RouteGroups::from_lookup(|_| None).unwrap_err();
    assert!(unset.starts_with("ROUTE_GROUPS is not set"), "{unset}");
    let empty = RouteGroups::from_lookup(|_| Some("  ".into())).unwrap_err();
    assert!(empty.starts_with("ROUTE_GROUPS is not set"), "{empty}");
    for (value, says) in [
        ("producers", "not a JSON object"),
        ("[\"POST /records\"]", "not a JSON object"),
        (r#"{"POST /records":"producers"}"#, "not a JSON object"),
        (r#"{"POST /records":[1]}"#, "not a JSON object"),
        ("{}", "names no route"),
        (r#"{"/records":["producers"]}"#, "is not a route key"),
        (r#"{"post /records":["producers"]}"#, "is not a route key"),
        (r#"{"POST records":["producers"]}"#, "is not a route key"),
        (r#"{"POST /records":[""]}"#, "is not a group name"),
        (r#"{"POST /records":["a,b"]}"#, "is not a group name"),
        (r#"{"POST /records":["a b"]}"#, "is not a group name"),
        (r#"{"POST /records":["[a]"]}"#, "is not a group name"),
    ] {
        let e =
            RouteGroups::from_lookup(|k| (k == ENV_VAR).then(|| value.to_string())).unwrap_err();
        assert!(e.contains(says), "{value}: {e}");
        assert!(e.starts_with("ROUTE_GROUPS"), "{value}: {e}");
    }
    let ok = RouteGroups::from_lookup(|k| {
        (k == ENV_VAR).then(|| r#"{"POST /records":["producers"]}"#.to_string())
    })
    .unwrap();
    assert_eq!(ok, ingest_rules());
}

#[test]
fn the_groups_claim_in_every_form_it_arrives_in() {
    let both = ["analysts", "producers"];
    for claim in [
        json!("analysts,producers"),
        json!(" analysts , producers "),
        json!("analysts,,producers,"),
        json!("[analysts producers]"),
        json!("[analysts  producers ]"),
        json!(r#"["analysts","producers"]"#),
        json!(["analysts", "producers"]),
        json!(["analysts", 7, "producers", null]),
    ] {
        assert_eq!(parse_groups(&claim), both, "{claim}");
    }
    assert_eq!(parse_groups(&json!("producers")), ["producers"]);
    assert_eq!(parse_groups(&json!("[producers]")), ["producers"]);
    for none in [
        json!(""),
        json!(" "),
        json!("[]"),
        json!([]),
        json!(null),
        json!(17),
        json!({"groups": "producers"}),
    ] {
        assert!(parse_groups(&none).is_empty(), "{none}");
    }
}

#[test]
fn the_route_is_the_method_and_the_resource_template() {
    let req = rest_event();
    assert_eq!(
        route_key(&req).as_deref(),
        Some("GET /invoices/{invoiceNo}")
    );
    assert_eq!(caller_groups(&req), ["analysts", "producers"]);
    // Without `resource`, the context's resource path (the same template).
    let mut req = rest_event();
    req.resource = None;
    assert_eq!(
        route_key(&req).as_deref(),
        Some("GET /invoices/{invoiceNo}")
    );
    req.request_context.resource_path = Some(String::new());
    assert_eq!(route_key(&req), None);
    // The concrete path never matters.
    let mut req = rest_event();
    req.path = Some("/records".into());
    assert_eq!(
        route_key(&req).as_deref(),
        Some("GET /invoices/{invoiceNo}")
    );
}

#[test]
fn members_of_an_allowed_group_may_call_the_route() {
    let query = query_rules();
    let allowed = query.decide(&rest_event()).unwrap();
    assert_eq!(
        allowed,
        Allowed {
            route: "GET /invoices/{invoiceNo}".into(),
            group: "analysts".into()
        }
    );
    let ingest = ingest_rules();
    for claim in [
        json!("producers"),
        json!("analysts,producers"),
        json!("[analysts producers]"),
        json!(["producers"]),
    ] {
        let req = event("POST", "/records", Some(claim.clone()));
        assert_eq!(
            ingest.decide(&req).map(|a| a.group),
            Ok("producers".into()),
            "{claim}"
        );
        assert!(check(&ingest, &req).is_ok());
    }
    // Group names are compared exactly, as Cognito names them.
    let req = event(
        "POST",
        "/records",
        Some(json!("Producers,producer,producers2")),
    );
    assert_eq!(ingest.decide(&req).unwrap_err().reason, Reason::NotAMember);
}

#[test]
fn a_caller_in_no_allowed_group_gets_a_403_naming_the_route_and_its_groups() {
    let ingest = ingest_rules();
    let req = event("POST", "/records", Some(json!("analysts,auditors")));
    let denied = ingest.decide(&req).unwrap_err();
    assert_eq!(
        denied,
        Denied {
            route: Some("POST /records".into()),
            allowed: vec!["producers".into()],
            reason: Reason::NotAMember
        }
    );
    let resp = check(&ingest, &req).unwrap_err();
    assert_eq!(resp.status_code, 403);
    assert_eq!(resp.headers["content-type"], "application/json");
    let m = message(&resp);
    assert_eq!(
        m,
        "forbidden: POST /records may be called only by members of the Cognito group \
         producers; the caller is not a member"
    );
    // The caller's own groups are not repeated back.
    assert!(!m.contains("analysts") && !m.contains("auditors"), "{m}");

    // Several groups on a route are all named.
    let mut r = RouteGroups::new();
    r.allow(
        "GET /invoices/{invoiceNo}",
        ["analysts", "auditors", "finance"],
    );
    let req = event("GET", "/invoices/{invoiceNo}", Some(json!("producers")));
    assert_eq!(
        message(&check(&r, &req).unwrap_err()),
        "forbidden: GET /invoices/{invoiceNo} may be called only by members of the Cognito \
         groups analysts, auditors or finance; the caller is a member of none of them"
    );
}

#[test]
fn a_caller_without_groups_is_refused() {
    let query = query_rules();
    for claim in [None, Some(json!("")), Some(json!("[]")), Some(json!([]))] {
        let req = event("GET", "/customers/{customerId}/invoices", claim.clone());
        let denied = query.decide(&req).unwrap_err();
        assert_eq!(denied.reason, Reason::NoGroups, "{claim:?}");
        assert_eq!(
            message(&denied.response()),
            "forbidden: GET /customers/{customerId}/invoices may be called only by members \
             of the Cognito group analysts; the caller is in no group"
        );
    }
    // No authorizer at all (a route without one, or a test event).
    let mut req = rest_event();
    req.request_context.authorizer.fields.clear();
    assert_eq!(query.decide(&req).unwrap_err().reason, Reason::NoGroups);
    // Claims that are not an object.
    req.request_context
        .authorizer
        .fields
        .insert("claims".into(), json!("cognito:groups=analysts"));
    assert_eq!(query.decide(&req).unwrap_err().reason, Reason::NoGroups);
}

#[test]
fn nothing_is_allowed_by_default() {
    let ingest = ingest_rules();
    // A route this function's rules do not list: refused, whatever the caller's groups.
    let req = event(
        "GET",
        "/invoices/{invoiceNo}",
        Some(json!("analysts,producers")),
    );
    let denied = ingest.decide(&req).unwrap_err();
    assert_eq!(denied.reason, Reason::RouteNotAllowed);
    assert_eq!(
        message(&denied.response()),
        "forbidden: no Cognito group may call GET /invoices/{invoiceNo}"
    );
    // Another method on a listed resource is another route.
    let req = event("PUT", "/records", Some(json!("producers")));
    assert_eq!(
        ingest.decide(&req).unwrap_err().reason,
        Reason::RouteNotAllowed
    );
    // A route listed with no group.
    let mut closed = RouteGroups::new();
    closed.allow("POST /records", Vec::<String>::new());
    let req = event("POST", "/records", Some(json!("producers")));
    assert_eq!(
        closed.decide(&req).unwrap_err().reason,
        Reason::RouteNotAllowed
    );
    // Empty rules refuse everything.
    assert!(RouteGroups::new().decide(&req).is_err());
    // An event that names no route.
    let mut req = event("POST", "/records", Some(json!("producers")));
    req.resource = None;
    req.request_context.resource_path = None;
    let denied = ingest.decide(&req).unwrap_err();
    assert_eq!((denied.route, denied.reason), (None, Reason::NoRoute));
    assert!(message(&check(&ingest, &req).unwrap_err()).contains("names no API route"));
}

#[test]
fn a_hostile_route_is_quoted_escaped_and_short() {
    let ingest = ingest_rules();
    let resource = format!("/records\u{1b}[2J{}", "x".repeat(10_000));
    let req = event("POST", &resource, Some(json!("producers")));
    let m = message(&check(&ingest, &req).unwrap_err());
    assert!(!m.chars().any(char::is_control), "{m:?}");
    assert!(m.contains("\\u{1b}[2J"), "{m}");
    assert!(m.contains("more characters"), "{m}");
    assert!(m.len() < 300, "{m}");
}

#[test]
fn the_reasons_have_log_names() {
    let names: Vec<&str> = [
        Reason::NoRoute,
        Reason::RouteNotAllowed,
        Reason::NoGroups,
        Reason::NotAMember,
    ]
    .map(Reason::as_str)
    .to_vec();
    assert_eq!(
        names,
        ["no_route", "route_not_allowed", "no_groups", "not_a_member"]
    );
}
