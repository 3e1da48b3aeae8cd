//! Least privilege, evaluated: `local serve` runs the packaged bootstraps under their
//! execution roles' credentials, and the emulator evaluates every call those credentials sign
//! against the role's policies. With the declared policies rows go through; with one
//! statement removed from `ingest`'s role the run fails at exactly that call, and the logs
//! name the role and the action.

mod support;

use serde_json::Value;
use std::time::Duration;
use support::{run, user_in_groups, Moto, Server};

const INSTANCE: &str = "t-lp";
const USER: &str = "lp-producer";
const PASSWORD: &str = "Least-Privilege-Passw0rd!";
const CSV: &str =
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n\
536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom\n\
536365,71053,WHITE METAL LANTERN,6,12/1/2010 8:26,3.39,17850,United Kingdom\n";

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

async fn post(base: &str, token: &str) -> (u16, String) {
    let r = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(format!("{base}/records"))
        .header("authorization", token)
        .header("content-type", "text/csv")
        .body(CSV)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[test]
fn a_statement_removed_from_a_role_fails_the_run_at_that_call() {
    let moto = Moto::start();
    let ep = moto.endpoint.clone();
    let rt = rt();
    let dir = tempfile::tempdir().unwrap();
    run(&ep, &["apply", "--yes", "--instance", INSTANCE]).expect(0);
    let outputs: Value = serde_json::from_str(
        &run(&ep, &["outputs", "--json", "--instance", INSTANCE])
            .expect(0)
            .stdout,
    )
    .unwrap();
    let token = rt.block_on(async {
        user_in_groups(
            &aws_sdk_cognitoidentityprovider::Client::new(&moto.sdk_config().await),
            outputs["user_pool_id"].as_str().unwrap(),
            outputs["app_client_id"].as_str().unwrap(),
            USER,
            PASSWORD,
            &["producers"],
        )
        .await
    });
    let server = Server::start(
        &ep,
        INSTANCE,
        &dir.path().join("checkpoint.json"),
        &["--no-poller"],
    );
    let log = server.stderr();
    assert!(
        log.matches("bootstrap started under its execution role")
            .count()
            == 3,
        "every function's bootstrap starts under its role; stderr:\n{log}"
    );

    // The declared policies let the rows through.
    let (status, body) = rt.block_on(post(&server.base, &token));
    assert_eq!(status, 202, "{body}\n{}", server.stderr());

    // Without its `PutRows` statement, `ingest`'s role may not put records.
    let role = format!("ecomflow-dev-{INSTANCE}-ingest");
    let policy = "ingest-least-privilege";
    let iam = rt.block_on(async { aws_sdk_iam::Client::new(&moto.sdk_config().await) });
    let declared = rt.block_on(async {
        let doc = iam
            .get_role_policy()
            .role_name(&role)
            .policy_name(policy)
            .send()
            .await
            .unwrap()
            .policy_document()
            .to_string();
        let doc = urlencoding::decode(&doc).unwrap().into_owned();
        serde_json::from_str::<Value>(&doc).unwrap()
    });
    let mut reduced = declared.clone();
    let statements = reduced["Statement"].as_array_mut().unwrap();
    let before = statements.len();
    statements.retain(|s| s["Sid"] != "PutRows");
    assert_eq!(statements.len(), before - 1, "one statement removed");
    let put = |doc: &Value| {
        rt.block_on(
            iam.put_role_policy()
                .role_name(&role)
                .policy_name(policy)
                .policy_document(doc.to_string())
                .send(),
        )
        .unwrap();
    };
    put(&reduced);
    let (status, body) = rt.block_on(post(&server.base, &token));
    assert_eq!(status, 503, "the stream refuses every record: {body}");
    let log = server.stderr();
    let denied = log
        .lines()
        .find(|l| l.contains("not authorized to perform: kinesis:PutRecords"))
        .unwrap_or_else(|| panic!("no denied PutRecords in the log:\n{log}"));
    assert!(denied.contains(&role), "the role is named: {denied}");
    // Nothing else was denied: the failure is at exactly that call.
    let other: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("not authorized to perform") && !l.contains("kinesis:PutRecords"))
        .collect();
    assert!(other.is_empty(), "other calls denied: {other:#?}");

    // Put back, the same environments get through again.
    put(&declared);
    std::thread::sleep(Duration::from_millis(100));
    let (status, body) = rt.block_on(post(&server.base, &token));
    assert_eq!(status, 202, "{body}");
    let (code, _, _) = server.stop();
    assert_eq!(code, Some(0));
}
