//! Sub-resources that a config change removes are deleted, not left behind: a renamed API
//! stage, the event source mapping switched off, and an object this tool uploaded that no
//! declaration names any more. What the tool did not make (someone's file beside the
//! scripts, a mapping from someone else's stream) is left alone.

mod support;

use serde_json::Value;
use std::collections::BTreeSet;
use support::{run, Moto};

const API: &str = "ecomflow-dev-api";
const PROCESS: &str = "ecomflow-dev-process";
const BUCKET: &str = "ecomflow-dev-lake-123456789012-us-east-1";

/// The live stages of the API, mappings of `process` (by source stream name) and keys under
/// `scripts/`.
fn live(moto: &Moto, rt: &tokio::runtime::Runtime) -> (Vec<String>, Vec<String>, Vec<String>) {
    rt.block_on(async {
        let conf = moto.sdk_config().await;
        let apigw = aws_sdk_apigateway::Client::new(&conf);
        let apis = apigw.get_rest_apis().send().await.unwrap();
        let id = apis
            .items()
            .iter()
            .find(|a| a.name() == Some(API))
            .and_then(|a| a.id())
            .expect("the API")
            .to_string();
        let stages = apigw.get_stages().rest_api_id(&id).send().await.unwrap();
        let mut stages: Vec<String> = stages
            .item()
            .iter()
            .filter_map(|s| s.stage_name().map(str::to_string))
            .collect();
        stages.sort();
        let lambda = aws_sdk_lambda::Client::new(&conf);
        let mappings = lambda
            .list_event_source_mappings()
            .function_name(PROCESS)
            .send()
            .await
            .unwrap();
        let mut sources: Vec<String> = mappings
            .event_source_mappings()
            .iter()
            .filter_map(|m| {
                m.event_source_arn()?
                    .rsplit_once('/')
                    .map(|(_, n)| n.to_string())
            })
            .collect();
        sources.sort();
        let objects = moto
            .s3()
            .await
            .list_objects_v2()
            .bucket(BUCKET)
            .prefix("scripts/")
            .send()
            .await
            .unwrap();
        let keys = objects
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_string))
            .collect();
        (stages, sources, keys)
    })
}

#[test]
fn members_the_config_no_longer_declares_are_deleted() {
    let moto = Moto::start();
    let ep = moto.endpoint.as_str();
    let rt = tokio::runtime::Runtime::new().unwrap();
    run(ep, &["apply", "--yes"]).expect(0);
    rt.block_on(async {
        let conf = moto.sdk_config().await;
        let s3 = moto.s3().await;
        // An upload of this tool's that no declaration names any more (an older version's
        // key), and someone's own file beside the scripts.
        s3.put_object()
            .bucket(BUCKET)
            .key("scripts/old_clean_invoices.py")
            .metadata("source", "glue_etl.py")
            .body(b"print('old')".to_vec().into())
            .send()
            .await
            .unwrap();
        s3.put_object()
            .bucket(BUCKET)
            .key("scripts/notes.txt")
            .body(b"mine".to_vec().into())
            .send()
            .await
            .unwrap();
        // A mapping from someone else's stream to the function.
        let kinesis = aws_sdk_kinesis::Client::new(&conf);
        kinesis
            .create_stream()
            .stream_name("analytics-feed")
            .shard_count(1)
            .send()
            .await
            .unwrap();
        let arn = kinesis
            .describe_stream_summary()
            .stream_name("analytics-feed")
            .send()
            .await
            .unwrap()
            .stream_description_summary()
            .unwrap()
            .stream_arn()
            .to_string();
        aws_sdk_lambda::Client::new(&conf)
            .create_event_source_mapping()
            .function_name(PROCESS)
            .event_source_arn(arn)
            .starting_position(aws_sdk_lambda::types::EventSourcePosition::Latest)
            .send()
            .await
            .unwrap();
    });
    let (stages, sources, keys) = live(&moto, &rt);
    assert_eq!(stages, ["v1"]);
    assert_eq!(sources, ["analytics-feed", "ecomflow-dev-orders"]);
    assert_eq!(
        keys,
        [
            "scripts/clean_invoices.py",
            "scripts/notes.txt",
            "scripts/old_clean_invoices.py"
        ]
    );

    let dir = tempfile::tempdir().unwrap();
    let moved = support::stack_file(dir.path(), "moved.yaml", |s| {
        s.replacen("api:\n", "api:\n  stage: v2\n", 1)
            + "processing:\n  event_source_mapping: false\n"
    });
    let moved = moved.to_str().unwrap();
    let plan = run(ep, &["-s", moved, "--output", "json", "plan"]).expect(0);
    let plan: Value = serde_json::from_str(&plan.stdout).unwrap();
    let of = |action: &str| -> BTreeSet<String> {
        plan["changes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["action"] == action)
            .map(|c| c["address"].as_str().unwrap().to_string())
            .collect()
    };
    let deleted = of("delete");
    let want: BTreeSet<String> = [
        format!("apigw_stage.{API}/v1"),
        format!(
            "lambda_event_source_mapping.arn:aws:kinesis:us-east-1:123456789012:stream/ecomflow-dev-orders -> {PROCESS}"
        ),
        format!("s3_object.s3://{BUCKET}/scripts/old_clean_invoices.py"),
    ]
    .into();
    assert_eq!(deleted, want, "{plan:#}");
    assert_eq!(
        of("create"),
        BTreeSet::from(["apigw_stage.api".to_string()])
    );

    run(ep, &["-s", moved, "apply", "--yes"]).expect(0);
    let (stages, sources, keys) = live(&moto, &rt);
    assert_eq!(stages, ["v2"]);
    assert_eq!(sources, ["analytics-feed"], "someone else's mapping stays");
    assert_eq!(
        keys,
        ["scripts/clean_invoices.py", "scripts/notes.txt"],
        "someone's file stays"
    );
    run(ep, &["-s", moved, "plan", "--detailed-exitcode"]).expect(0);
    run(ep, &["-s", moved, "destroy", "--yes"]).expect(0);
}
