use super::*;
use crate::names::PLACEHOLDER_ACCOUNT;

fn stack(file: &str) -> Blueprint {
    crate::blueprint::fixture(file, None, PLACEHOLDER_ACCOUNT)
}

fn resources(t: &Value) -> &Map<String, Value> {
    t["Resources"].as_object().unwrap()
}

#[test]
fn every_declared_resource_is_in_the_template_or_named_as_left_out() {
    for file in ["dev.yaml", "ci.yaml", "prod.yaml"] {
        let bp = stack(file);
        let export = template(&bp, file, &Selection::all());
        let written = resources(&export.template);
        let left_out: Vec<&str> = export
            .elsewhere
            .iter()
            .map(|(a, _, _)| a.as_str())
            .collect();
        for r in &bp.resources {
            let address = r.address();
            let own = written.keys().any(|k| k.starts_with(&logical_id(&address)));
            let nothing = r
                .typed::<crate::model::sns::SubscriptionsSpec>()
                .is_ok_and(|s| s.endpoints.is_empty());
            let merged = r
                .owner
                .as_ref()
                .is_some_and(|o| written.contains_key(&logical_id(o)))
                && r.kind.info().service == crate::model::Service::S3;
            assert!(
                own || merged || nothing || left_out.contains(&address.as_str()),
                "{file}: {address} is neither in the template nor named as left out"
            );
        }
        let noted = export.template["Metadata"]["ecomflow-infra"]["notInTemplate"]
            .as_array()
            .unwrap();
        assert_eq!(noted.len(), export.elsewhere.len(), "{file}");
    }
}

#[test]
fn every_reference_names_a_resource_or_parameter_of_the_template() {
    for file in ["dev.yaml", "ci.yaml", "prod.yaml"] {
        let export = template(&stack(file), file, &Selection::all());
        let t = &export.template;
        let known: BTreeSet<&String> = resources(t)
            .keys()
            .chain(t["Parameters"].as_object().unwrap().keys())
            .collect();
        for (logical, body) in resources(t) {
            for target in refs::referenced(body) {
                assert!(
                    known.contains(&target),
                    "{file}: {logical} references unknown {target}"
                );
            }
            for d in body["DependsOn"].as_array().into_iter().flatten() {
                assert!(
                    known.contains(&d.as_str().unwrap().to_string()),
                    "{file}: {d}"
                );
            }
        }
    }
}

#[test]
fn the_account_is_a_pseudo_parameter_and_the_references_make_no_cycle() {
    let export = template(&stack("prod.yaml"), "prod.yaml", &Selection::all());
    let text = export.template.to_string();
    // The DDL in the metadata shows it as `<account-id>`; no property keeps the placeholder.
    assert!(!resources(&export.template)
        .values()
        .any(|r| r.to_string().contains(PLACEHOLDER_ACCOUNT)));
    assert!(text.contains("${AWS::AccountId}"));
    // Every resource's references and DependsOn, walked depth first: no resource reaches itself.
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (logical, body) in resources(&export.template) {
        let mut next = refs::referenced(body);
        next.extend(
            body["DependsOn"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|d| d.as_str().unwrap().to_string()),
        );
        next.retain(|n| resources(&export.template).contains_key(n));
        graph.insert(logical.clone(), next);
    }
    for start in graph.keys() {
        let mut seen = BTreeSet::new();
        let mut todo = vec![start.clone()];
        while let Some(at) = todo.pop() {
            for n in &graph[&at] {
                assert_ne!(n, start, "cycle through {start}");
                if seen.insert(n.clone()) {
                    todo.push(n.clone());
                }
            }
        }
    }
}

#[test]
fn names_and_arns_of_created_parents_are_references() {
    let export = template(&stack("dev.yaml"), "dev.yaml", &Selection::all());
    let r = resources(&export.template);
    // The event source mapping names its function and stream by reference.
    let mapping = &r["LambdaEventSourceMappingProcess"]["Properties"];
    assert_eq!(
        mapping["FunctionName"],
        json!({ "Ref": "LambdaFunctionProcess" })
    );
    assert_eq!(
        mapping["EventSourceArn"],
        json!({ "Fn::GetAtt": ["KinesisStreamOrders", "Arn"] })
    );
    // A route's integration invokes its function by the function's ARN.
    assert_eq!(
        r["ApigwRestApiApiMethodPOSTRecords"]["Properties"]["Integration"]["Uri"],
        json!({ "Fn::Sub": "arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${LambdaFunctionIngest.Arn}/invocations" })
    );
    // A function's environment names the tables it writes by reference.
    let env = &r["LambdaFunctionProcess"]["Properties"]["Environment"]["Variables"];
    assert_eq!(
        env["INVOICES_TABLE"],
        json!({ "Ref": "DynamodbTableInvoices" })
    );
    // A policy's `<bucket ARN>/*` is a substitution of the bucket's ARN.
    let policy = r["S3BucketPolicyLake"]["Properties"].to_string();
    assert!(policy.contains("${S3BucketLake.Arn}/*"), "{policy}");
    assert_eq!(
        r["S3BucketPolicyLake"]["Properties"]["Bucket"],
        json!({ "Ref": "S3BucketLake" })
    );
    // A bucket's own name is not a reference to itself, and its tags stay as declared.
    let lake = &r["S3BucketLake"]["Properties"];
    assert_eq!(
        lake["BucketName"],
        json!({ "Fn::Sub": "ecomflow-dev-lake-${AWS::AccountId}-${AWS::Region}" })
    );
    assert!(lake["Tags"]
        .as_array()
        .unwrap()
        .contains(&json!({ "Key": "ecomflow:stack", "Value": "ecomflow-dev" })));
    // The bucket's settings are its properties.
    for property in [
        "PublicAccessBlockConfiguration",
        "OwnershipControls",
        "BucketEncryption",
        "LifecycleConfiguration",
        "LoggingConfiguration",
    ] {
        assert!(lake.get(property).is_some(), "{property}");
    }
}

#[test]
fn substitution_keeps_whole_names_and_escapes_literal_dollars() {
    let bp = stack("dev.yaml");
    let written: BTreeMap<String, String> = bp
        .resources
        .iter()
        .map(|r| (r.address(), logical_id(&r.address())))
        .collect();
    let literals = refs::literals(&bp, &written);
    let sub = |s: &str| {
        let mut only_the_stream = |logical: &str| logical == "KinesisStreamOrders";
        refs::substitute(json!(s), &literals, &mut only_the_stream, &bp)
    };
    assert_eq!(
        sub("ecomflow-dev-orders"),
        json!({ "Ref": "KinesisStreamOrders" })
    );
    // A longer name that starts with the stream's stays literal.
    assert_eq!(
        sub("ecomflow-dev-orders-dlq"),
        json!("ecomflow-dev-orders-dlq")
    );
    assert_eq!(
        sub("${x} arn:aws:kinesis:us-east-1:000000000000:stream/ecomflow-dev-orders"),
        json!({ "Fn::Sub": "${!x} ${KinesisStreamOrders.Arn}" })
    );
    // A resource not among the allowed keeps its name; the account is still a pseudo parameter.
    assert_eq!(
        sub("arn:aws:dynamodb:us-east-1:000000000000:table/ecomflow-dev-invoices"),
        json!({ "Fn::Sub": "arn:aws:dynamodb:${AWS::Region}:${AWS::AccountId}:table/ecomflow-dev-invoices" })
    );
}

#[test]
fn secrets_stay_out_and_the_master_password_stays_managed() {
    for file in ["dev.yaml", "prod.yaml"] {
        let export = template(&stack(file), file, &Selection::all());
        let r = resources(&export.template);
        let cluster = &r["RedshiftClusterWarehouse"]["Properties"];
        assert_eq!(cluster["ManageMasterPassword"], json!(true));
        assert!(cluster.get("MasterUserPassword").is_none());
        let client = &r["CognitoAppClientApp"]["Properties"];
        assert_eq!(client["GenerateSecret"], json!(false));
    }
}

#[test]
fn a_selection_leaves_other_kinds_out_and_their_names_literal() {
    let bp = stack("dev.yaml");
    let only = |k: Kind| matches!(k, Kind::LambdaFunction | Kind::IamRole);
    let export = template(&bp, "dev.yaml", &Selection { kinds: &only });
    let r = resources(&export.template);
    assert!(r
        .keys()
        .all(|k| k.starts_with("LambdaFunction") || k.starts_with("IamRole")));
    let ingest = &r["LambdaFunctionIngest"]["Properties"];
    assert_eq!(
        ingest["Role"],
        json!({ "Fn::GetAtt": ["IamRoleIngest", "Arn"] })
    );
    // The stream is not in this template: its name stays a name.
    assert!(ingest["Environment"]
        .to_string()
        .contains("ecomflow-dev-orders"));
}

#[test]
fn code_keys_are_content_addressed() {
    assert_eq!(
        code_key("ingest", "c2hhMjU2"),
        "ecomflow-infra/lambda/ingest/736861323536.zip"
    );
    assert_eq!(code_key_parameter("ingest"), "IngestCodeKey");
    let export = template(&stack("dev.yaml"), "dev.yaml", &Selection::all());
    let p = &export.template["Parameters"];
    assert_eq!(
        p["IngestCodeKey"]["Default"],
        json!(code_key("ingest", "c2hhMjU2"))
    );
    assert!(p[CODE_BUCKET_PARAMETER].get("Default").is_none());
}

#[test]
fn yaml_is_the_same_template() {
    let export = template(&stack("dev.yaml"), "dev.yaml", &Selection::all());
    let text = to_yaml(&export.template);
    assert!(
        text.contains("AWSTemplateFormatVersion: \"2010-09-09\"\n"),
        "{text}"
    );
    let docs = yaml_rust2::YamlLoader::load_from_str(&text).unwrap();
    let back = &docs[0];
    assert_eq!(
        back["AWSTemplateFormatVersion"].as_str(),
        Some("2010-09-09")
    );
    assert_eq!(
        back["Resources"]["S3BucketLake"]["Properties"]["BucketName"]["Fn::Sub"].as_str(),
        Some("ecomflow-dev-lake-${AWS::AccountId}-${AWS::Region}")
    );
    assert_eq!(
        back["Resources"].as_hash().unwrap().len(),
        resources(&export.template).len()
    );
}

#[test]
fn the_stack_files_fit_in_an_inline_template_body() {
    // `--validate` sends the template inline; the CLI's `deploy` uploads it either way.
    for file in ["dev.yaml", "ci.yaml", "prod.yaml"] {
        let export = template(&stack(file), file, &Selection::all());
        let size = serde_json::to_string(&export.template).unwrap().len();
        assert!(size <= TEMPLATE_BODY_LIMIT, "{file}: {size} bytes");
    }
}
