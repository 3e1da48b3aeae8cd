use super::*;

const GOOD: &str = "app: ecomflow\nenv: dev\nregion: us-east-1\n";

fn errors(yaml: &str) -> Vec<ConfigError> {
    load_str("stack.yaml", yaml, None)
        .expect_err("config should be rejected")
        .0
}

fn one(yaml: &str) -> ConfigError {
    let errs = errors(yaml);
    assert_eq!(errs.len(), 1, "{errs:?}");
    errs.into_iter().next().unwrap()
}

#[test]
fn minimal_config_gets_defaults() {
    let c = load_str("stack.yaml", GOOD, None).unwrap();
    assert_eq!(c.app, "ecomflow");
    assert_eq!(c.stream.retention_hours, 24);
    assert!(c.tables.pitr);
    assert!(c.bucket.versioning);
}

#[test]
fn shipped_stacks_are_valid() {
    for file in ["stacks/dev.yaml", "stacks/ci.yaml", "stacks/prod.yaml"] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        load_file(&path, Some("pr-1")).unwrap_or_else(|e| panic!("{file}: {e}"));
    }
}

#[test]
fn invalid_yaml_points_at_the_line() {
    let e = one("app: ecomflow\nenv: [dev\nregion: us-east-1\n");
    assert!(e.line >= 2, "{e}");
    assert!(e.message.contains("invalid YAML"), "{e}");
}

#[test]
fn unknown_key_is_named_with_a_suggestion() {
    let e = one(&format!("{GOOD}stream:\n  retention_hour: 48\n"));
    assert_eq!(e.field, "stream.retention_hour");
    assert_eq!((e.line, e.column), (5, 3));
    assert!(e.message.contains("did you mean `retention_hours`"), "{e}");
}

#[test]
fn unknown_top_level_key() {
    let e = one(&format!("{GOOD}bucketz: {{}}\n"));
    assert_eq!(e.field, "bucketz");
    assert_eq!(e.line, 4);
}

#[test]
fn wrong_types_are_errors() {
    let e = one(&format!("{GOOD}stream:\n  retention_hours: lots\n"));
    assert_eq!(e.field, "stream.retention_hours");
    assert_eq!(e.line, 5);
    let e = one(&format!("{GOOD}protected: maybe\n"));
    assert_eq!(e.field, "protected");
    let e = one(&format!("{GOOD}stream:\n  mode: turbo\n"));
    assert_eq!(e.field, "stream.mode");
    assert!(e.message.contains("on_demand"), "{e}");
}

#[test]
fn every_error_is_reported_at_once() {
    let yaml = "app: ecomflow\nenv: dev\nregion: us-east-1\n\
        stream:\n  retention_hour: 48\n  shards: many\n\
        tables:\n  pitr: perhaps\n\
        bucket:\n  rejects_expire_days: 0\n\
        alerts:\n  emails: [not-an-email]\n";
    let errs = errors(yaml);
    let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "stream.retention_hour",
            "stream.shards",
            "tables.pitr",
            "bucket.rejects_expire_days",
            "alerts.emails.0"
        ],
        "{errs:?}"
    );
    let text = ConfigErrors(errs).to_string();
    assert!(
        text.starts_with("5 errors in stack.yaml; nothing was applied:"),
        "{text}"
    );
    assert!(
        text.contains(
            "stack.yaml:10:24: bucket.rejects_expire_days: must be between 1 and 3650 (got 0)"
        ),
        "{text}"
    );
}

#[test]
fn out_of_range_numbers() {
    let e = one(&format!(
        "{GOOD}stream:\n  mode: provisioned\n  shards: 0\n"
    ));
    assert_eq!(e.field, "stream.shards");
    assert_eq!(e.line, 6);
    let e = one(&format!("{GOOD}stream:\n  retention_hours: 9000\n"));
    assert!(e.message.contains("between 24 and 8760"), "{e}");
    let e = one(&format!("{GOOD}stream:\n  retention_hours: -1\n"));
    assert_eq!(e.field, "stream.retention_hours");
}

#[test]
fn log_retention_is_one_of_cloudwatch_logs_periods() {
    let e = one(&format!("{GOOD}api:\n  access_log_retention_days: 10\n"));
    assert_eq!(e.field, "api.access_log_retention_days");
    assert_eq!(e.line, 5);
    assert!(e.message.contains("(got 10)"), "{e}");
    let ok = load_str(
        "stack.yaml",
        &format!("{GOOD}api:\n  access_log_retention_days: 30\n"),
        None,
    )
    .unwrap();
    assert_eq!(ok.api.access_log_retention_days, Some(30));
}

#[test]
fn names_breaking_aws_rules() {
    let e = one("app: EcomFlow\nenv: dev\nregion: us-east-1\n");
    assert_eq!((e.field.as_str(), e.line), ("app", 1));
    let e = one("app: ecomflow\nenv: dev_1\nregion: us-east-1\n");
    assert_eq!(e.field, "env");
    let e = one("app: ecomflow\nenv: dev\nregion: mars-1\n");
    assert_eq!(e.field, "region");
    // A name that is legal alone but makes the bucket name longer than 63 characters.
    let e = one("app: ecomflowanalytics\nenv: developmentenv\nregion: ap-southeast-2\n");
    assert!(e.message.contains("S3 allows 63"), "{e}");
    let errs = load_str("stack.yaml", GOOD, Some("PR_7")).unwrap_err().0;
    assert_eq!(errs[0].field, "--instance");
}

#[test]
fn bad_emails_and_duplicates() {
    let errs = errors(&format!(
        "{GOOD}alerts:\n  emails:\n    - ok@example.com\n    - broken@\n    - OK@example.com\n"
    ));
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert_eq!(
        (errs[0].field.as_str(), errs[0].line),
        ("alerts.emails.1", 7)
    );
    assert!(errs[1].message.contains("listed twice"));
}

#[test]
fn reserved_tags() {
    let e = one(&format!("{GOOD}tags:\n  ecomflow:stack: other\n"));
    assert_eq!(e.field, "tags.ecomflow:stack");
}

#[test]
fn anchors_duplicates_and_missing_fields() {
    let e = one("app: &a ecomflow\nenv: *a\nregion: us-east-1\n");
    assert!(e.message.contains("anchors"), "{e}");
    let e = one("app: ecomflow\napp: other\nenv: dev\nregion: us-east-1\n");
    assert!(e.message.contains("duplicate key `app`"), "{e}");
    assert_eq!(e.line, 2);
    let e = one("app: ecomflow\nenv: dev\n");
    assert!(e.message.contains("missing field `region`"), "{e}");
    let e = one("- just\n- a list\n");
    assert!(e.message.contains("mapping"), "{e}");
}

#[test]
fn huge_files_are_refused_before_parsing() {
    let big = format!("{GOOD}# {}\n", "x".repeat(2 << 20));
    let e = one(&big);
    assert!(e.message.contains("at most"), "{e}");
}

#[test]
fn default_groups_name_their_routes() {
    let c = load_str("stack.yaml", GOOD, None).unwrap();
    let routes: Vec<(&str, Vec<&str>)> = c
        .cognito
        .groups
        .iter()
        .map(|g| {
            (
                g.name.as_str(),
                g.routes.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        routes,
        [
            ("producers", vec!["POST /records"]),
            (
                "analysts",
                vec![
                    "GET /invoices/{invoiceNo}",
                    "GET /invoices/{invoiceNo}/items/{stockCode}",
                    "GET /customers/{customerId}/invoices",
                ]
            ),
        ]
    );
    // Every default route is one of the API's.
    let known: Vec<String> = crate::blueprint::ROUTES
        .iter()
        .map(|(m, p, _)| format!("{m} {p}"))
        .collect();
    assert!(c
        .cognito
        .groups
        .iter()
        .flat_map(|g| &g.routes)
        .all(|r| known.contains(r)));
}

#[test]
fn declared_groups_take_their_routes_from_the_file() {
    let c = load_str(
        "stack.yaml",
        &format!(
            "{GOOD}cognito:\n  groups:\n    - name: auditors\n      routes: [\"GET /invoices/{{invoiceNo}}\"]\n    - name: readers\n"
        ),
        None,
    )
    .unwrap();
    assert_eq!(c.cognito.groups[0].routes, ["GET /invoices/{invoiceNo}"]);
    // A group declared without routes may call nothing.
    assert!(c.cognito.groups[1].routes.is_empty());
}

#[test]
fn unknown_routes_are_errors_at_their_line() {
    let yaml = format!(
        "{GOOD}cognito:\n  groups:\n    - name: producers\n      routes:\n        - POST /records\n        - GET /invoices\n        - POST /records\n"
    );
    let errs = errors(&yaml);
    assert_eq!(errs.len(), 2, "{errs:?}");
    let e = &errs[0];
    assert_eq!(e.field, "cognito.groups.0.routes.1");
    assert_eq!((e.line, e.column), (9, 11));
    assert!(
        e.message.starts_with("`GET /invoices` is not a route of the API; expected one of: POST /records, GET /invoices/{invoiceNo}"),
        "{e}"
    );
    assert!(
        e.to_string()
            .starts_with("stack.yaml:9:11: cognito.groups.0.routes.1: `GET /invoices`"),
        "{e}"
    );
    assert_eq!(errs[1].field, "cognito.groups.0.routes.2");
    assert!(errs[1].message.contains("listed twice"), "{}", errs[1]);
    // The route key is exact: method case, spacing and the template's names matter.
    for bad in [
        "post /records",
        "POST  /records",
        "GET /invoices/{id}",
        "POST /records/",
    ] {
        let e = one(&format!(
            "{GOOD}cognito:\n  groups:\n    - name: producers\n      routes: [\"{bad}\"]\n"
        ));
        assert_eq!(e.field, "cognito.groups.0.routes.0", "{bad}");
        assert_eq!(e.line, 7, "{bad}");
    }
    // Not a list of strings: a type error at the key.
    let e = one(&format!(
        "{GOOD}cognito:\n  groups:\n    - name: producers\n      routes: POST /records\n"
    ));
    assert_eq!(e.field, "cognito.groups.0.routes");
    assert!(e.message.contains("expected a sequence"), "{e}");
}

#[test]
fn group_names_may_not_hold_the_claims_separator() {
    let e = one(&format!(
        "{GOOD}cognito:\n  groups:\n    - name: producers,admins\n"
    ));
    assert_eq!(e.field, "cognito.groups.0.name");
    assert!(e.message.contains("comma-separated"), "{e}");
}
