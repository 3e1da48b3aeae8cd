//! Proven under faults, beyond apply and destroy (`tests/faults.rs`): the flows that move many
//! records end in the same state as a fault-free run, and the REST API survives lost answers.
//!
//! - `users sync` of 1,000 users through 10% throttling, 3% HTTP 500/503 and 1% dropped
//!   connections (half of them after the call happened, and half of those cut mid-answer);
//! - `stream --direct` of 20,000 real rows through the same mix, with more answers lost on
//!   PutRecords (in = out; see the decision on duplicates there);
//! - an apply whose every API Gateway create (API, authorizer, resource, method, integration,
//!   deployment, stage) happens but loses its answer once: one apply, no duplicate, no
//!   missing route; the same for the user pool, its app client and the event source mapping.
//!
//! The seeds are fixed; `ECOMFLOW_FAULT_SEED=<n>` replays another. Assertion messages carry
//! the seed and what the proxy injected. The three tests run in parallel (each has its own
//! emulator and proxy).

mod support;

use ecomflow_testkit::{Drops, Fault, FaultProxy, FaultReport, Faults};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write;
use std::path::Path;
use std::time::Instant;
use support::{fault_mix, proxy_runtime, run, stream_records, Moto, Run};

fn context(report: &FaultReport) -> String {
    format!(
        "[{report}; replay with ECOMFLOW_FAULT_SEED={}]",
        report.seed
    )
}

/// Answers to `op` lost after the call happened, in either shape (closed before any byte, or
/// cut mid-body).
fn lost_answers(report: &FaultReport, op: &str) -> u64 {
    by_operation(report, op, Fault::DropResponse) + by_operation(report, op, Fault::CutResponse)
}

fn by_operation(report: &FaultReport, op: &str, fault: Fault) -> u64 {
    report
        .by_operation
        .iter()
        .filter(|(k, _)| k.rsplit(':').next() == Some(op))
        .map(|(_, kinds)| kinds.get(&fault).copied().unwrap_or(0))
        .sum()
}

fn json(r: &Run) -> serde_json::Value {
    serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", r.stdout, r.stderr))
}

// ---------------------------------------------------------------------------------------
// users sync

const USERS: usize = 1000;
const INSTANCE: &str = "t-faults";
const POOL: &str = "ecomflow-dev-t-faults-users";
const GROUPS: [&str; 5] = ["analysts", "producers", "finance", "support", "admins"];

/// username -> (attributes that the file declares, enabled, groups)
type PoolState = BTreeMap<String, (BTreeMap<String, String>, bool, Vec<String>)>;

/// The users file: `USERS` users with an e-mail, a name and a locale, in one or two groups,
/// every 50th disabled; and the state it declares.
fn write_users(path: &Path) -> PoolState {
    let mut y = String::from("groups:\n");
    for (i, g) in GROUPS.iter().enumerate() {
        let _ = writeln!(y, "  - name: {g}\n    precedence: {}", i * 10);
    }
    y.push_str("users:\n");
    let mut want = PoolState::new();
    for i in 0..USERS {
        let mut groups = vec![GROUPS[i % 5].to_string()];
        if i % 3 == 0 {
            groups.push(GROUPS[(i + 2) % 5].to_string());
        }
        groups.sort();
        let enabled = i % 50 != 7;
        let (name, email, locale) = (
            format!("fault{i:05}"),
            format!("fault{i:05}@example.com"),
            ["en-GB", "fr-FR", "de-DE"][i % 3],
        );
        let _ = writeln!(
            y,
            "  - username: {name}\n    email: {email}\n    name: User {i}\n    attributes: {{locale: {locale}}}\n    groups: [{}]\n    enabled: {enabled}",
            groups.join(", ")
        );
        let attrs = BTreeMap::from([
            ("email".to_string(), email),
            ("name".to_string(), format!("User {i}")),
            ("locale".to_string(), locale.to_string()),
        ]);
        want.insert(name, (attrs, enabled, groups));
    }
    std::fs::write(path, y).unwrap();
    want
}

/// The pool as `apply` makes it: named and tagged for the instance.
fn make_pool(moto: &Moto) -> String {
    proxy_runtime().block_on(async {
        let c = aws_sdk_cognitoidentityprovider::Client::new(&moto.sdk_config().await);
        let pool = c
            .create_user_pool()
            .pool_name(POOL)
            .user_pool_tags("ecomflow:stack", format!("ecomflow-dev-{INSTANCE}"))
            .user_pool_tags("ecomflow:managed-by", "ecomflow-infra")
            .send()
            .await
            .unwrap();
        pool.user_pool.unwrap().id.unwrap()
    })
}

/// Every user of the pool with the attributes `want` declares, status and groups, read
/// directly from the emulator; and the number of user entries listed (duplicates included)
/// and of memberships listed per group.
fn pool_state(moto: &Moto, pool: &str) -> (PoolState, usize, usize) {
    proxy_runtime().block_on(async {
        let c = aws_sdk_cognitoidentityprovider::Client::new(&moto.sdk_config().await);
        let mut out = PoolState::new();
        let mut listed = 0;
        let mut pages = c.list_users().user_pool_id(pool).into_paginator().send();
        while let Some(page) = pages.next().await {
            for u in page.unwrap().users() {
                listed += 1;
                let attrs = u
                    .attributes()
                    .iter()
                    .filter(|a| ["email", "name", "locale"].contains(&a.name()))
                    .map(|a| {
                        (
                            a.name().to_string(),
                            a.value().unwrap_or_default().to_string(),
                        )
                    })
                    .collect();
                out.insert(
                    u.username().unwrap().to_string(),
                    (attrs, u.enabled(), Vec::new()),
                );
            }
        }
        let mut memberships = 0;
        for g in GROUPS {
            let mut pages = c
                .list_users_in_group()
                .user_pool_id(pool)
                .group_name(g)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                for u in page.unwrap().users() {
                    memberships += 1;
                    out.get_mut(u.username().unwrap())
                        .expect("a member is a listed user")
                        .2
                        .push(g.to_string());
                }
            }
        }
        for v in out.values_mut() {
            v.2.sort();
        }
        (out, listed, memberships)
    })
}

/// `users sync` of 1,000 users under the mix ends with exactly the declared users, groups,
/// memberships, attributes and statuses, nothing twice; a fault-free resync then makes no
/// mutating call (every stamp landed too).
#[test]
fn users_sync_converges_under_faults() {
    let moto = Moto::start();
    let pool = make_pool(&moto);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("users.yaml");
    let passwords = dir.path().join("passwords.csv");
    let want = write_users(&file);

    let rt = proxy_runtime();
    let proxy = rt.block_on(FaultProxy::with_faults(
        &moto.endpoint,
        fault_mix(20_241_107),
    ));
    let sync = |endpoint: &str| {
        run(
            endpoint,
            &[
                "users",
                "sync",
                "--yes",
                "--instance",
                INSTANCE,
                "--users",
                file.to_str().unwrap(),
                "--passwords-out",
                passwords.to_str().unwrap(),
                "--rate-create",
                "2000",
                "--rate-update",
                "2000",
                "--rate-list",
                "2000",
                "--rate-read",
                "2000",
                "--concurrency",
                "32",
            ],
        )
    };
    let started = Instant::now();
    let r = sync(&proxy.endpoint);
    let report = proxy.report();
    let ctx = context(&report);
    eprintln!(
        "users sync of {USERS} under faults: {:.1?}; {report}",
        started.elapsed()
    );
    assert_eq!(
        r.code, 0,
        "users sync failed under faults {ctx}\n{}\n{}",
        r.stdout, r.stderr
    );
    assert!(
        r.stdout
            .contains(&format!("Users: {USERS} created, 0 updated"))
            && r.stdout.contains(" 0 failed."),
        "{ctx}\n{}",
        r.stdout
    );
    assert!(
        report.count(Fault::Throttle) > 100
            && report.count(Fault::DropRequest)
                + report.count(Fault::DropResponse)
                + report.count(Fault::CutResponse)
                > 5,
        "the mix injected too little to prove anything {ctx}"
    );

    let (state, listed, memberships) = pool_state(&moto, &pool);
    assert_eq!(listed, USERS, "user entries listed {ctx}");
    let want_memberships: usize = want.values().map(|u| u.2.len()).sum();
    assert_eq!(memberships, want_memberships, "memberships listed {ctx}");
    let differ: Vec<_> = want
        .iter()
        .filter(|(name, w)| state.get(*name) != Some(w))
        .map(|(name, w)| format!("{name}: want {w:?}, have {:?}", state.get(name)))
        .take(5)
        .collect();
    assert!(
        differ.is_empty(),
        "users differ {ctx}:\n{}",
        differ.join("\n")
    );
    assert_eq!(state.len(), want.len(), "{ctx}");

    // Fault-free resync: nothing left to do, and nothing done.
    let again = sync(&moto.endpoint).expect(0);
    assert_eq!(again.mutations(), 0, "{ctx}\n{}", again.stderr);
    assert!(
        again.stdout.contains(&format!(
            "0 to create, 0 to update, 0 to disable, 0 to delete, {USERS} unchanged"
        )),
        "{ctx}\n{}",
        again.stdout
    );
    let written = std::fs::read_to_string(&passwords).unwrap_or_default();
    eprintln!(
        "passwords written: {} of {USERS} (AdminCreateUser answers lost after the call: {})",
        written.lines().count(),
        lost_answers(&report, "AdminCreateUser")
    );
}

// ---------------------------------------------------------------------------------------
// stream --direct

const ROWS: &str = "20000";
const STREAM: &str = "ecomflow-dev-orders";
const BATCH: u64 = 250;

fn dataset() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/online_retail.csv.gz");
    assert!(path.exists(), "the dataset is missing: {}", path.display());
    path.display().to_string()
}

/// The stack of the benchmarks: no emulated event source mapping (it would invoke a stub
/// for every record put) and provisioned shards (the emulator's cost per put grows with the
/// records a shard holds).
fn stream_stack(dir: &Path) -> String {
    let local =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("stacks/local.yaml"))
            .unwrap();
    assert!(
        local.contains("  mode: on_demand\n"),
        "stacks/local.yaml changed its stream mode"
    );
    let stack = local.replacen(
        "  mode: on_demand\n",
        "  mode: provisioned\n  shards: 8\n",
        1,
    ) + "\nprocessing:\n  event_source_mapping: false\n";
    let file = dir.join("stream.yaml");
    std::fs::write(&file, stack).unwrap();
    file.display().to_string()
}

/// Records in a stream: (partition key, data).
type Records = Vec<(String, Vec<u8>)>;

/// Applies the stream stack on a fresh emulator and streams the rows through `faults` (none:
/// straight to the emulator). Returns the emulator, the summary, the records in the stream
/// and what the proxy did.
fn stream_run(faults: Option<Faults>) -> (Moto, serde_json::Value, Records, Option<FaultReport>) {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let stack = stream_stack(dir.path());
    run(&moto.endpoint, &["-s", &stack, "apply", "--yes"]).expect(0);
    let rt = proxy_runtime();
    let proxy = faults.map(|f| rt.block_on(FaultProxy::with_faults(&moto.endpoint, f)));
    let ep = proxy
        .as_ref()
        .map_or(moto.endpoint.clone(), |p| p.endpoint.clone());
    let data = dataset();
    let r = run(
        &ep,
        &[
            "-s",
            &stack,
            "stream",
            "--direct",
            "--csv",
            &data,
            "--limit",
            ROWS,
            "--batch",
            &BATCH.to_string(),
            // One batch in flight: the emulator's PutRecords is not safe for concurrent calls
            // to one shard (two records can get the same sequence number, and one is lost).
            "--concurrency",
            "1",
            "--output",
            "json",
        ],
    );
    let report = proxy.as_ref().map(|p| p.report());
    let ctx = report.as_ref().map(context).unwrap_or_default();
    assert_eq!(
        r.code, 0,
        "stream --direct failed {ctx}\n{}\n{}",
        r.stdout, r.stderr
    );
    let summary = json(&r);
    let records = rt.block_on(stream_records(&moto, STREAM));
    (moto, summary, records, report)
}

/// The invoices table's key of a record: (InvoiceNo, LineKey), as `process` writes it.
fn item_key(data: &[u8]) -> (String, String) {
    let line: records::InvoiceLine = serde_json::from_slice(data).expect("a clean line");
    (line.invoice_no.clone(), process::line_key(&line))
}

/// `stream --direct` of 20,000 real rows under the mix: in = out.
///
/// The decision on duplicates: Kinesis is at-least-once. When the connection drops after
/// PutRecords reached the stream, the records are stored but the answer is lost, and the
/// retry (the SDK's, or the producer's) stores them again; no producer can avoid that,
/// since Kinesis has no idempotency token. So the test asserts what the pipeline promises:
///
/// - the summary counts exactly what a fault-free run counts (sent = accepted + rejected,
///   same numbers, same rejections by reason);
/// - the stream holds every accepted record: as a multiset it contains the fault-free run's
///   records, and its distinct records are exactly theirs;
/// - every extra copy is explained by a PutRecords answer the proxy dropped after
///   forwarding: none without such a drop, at most one batch per drop;
/// - downstream, `process` keys each invoice line by a hash of the line (`LineKey`), so the
///   extra copies land on the same DynamoDB items: the items are exactly the fault-free
///   run's, exactly once.
#[test]
fn stream_direct_is_in_equals_out_under_faults() {
    let started = Instant::now();
    // The mix everywhere; on PutRecords, 5% of the answers lost after the call instead of
    // 1% of drops either side, so that duplicates are certain to be met and explained.
    let faults = Faults {
        overrides: BTreeMap::from([(
            "PutRecords".to_string(),
            Faults {
                drop: 0.05,
                drops: Drops::AfterForwarding,
                ..fault_mix(0)
            },
        )]),
        ..fault_mix(20_241_108)
    };
    let faulted = std::thread::spawn(move || stream_run(Some(faults)));
    let (_clean_moto, reference, clean_records, _) = stream_run(None);
    let (_moto, summary, records, report) = faulted.join().unwrap();
    let report = report.unwrap();
    let ctx = context(&report);
    eprintln!(
        "stream --direct of {ROWS} rows, fault-free and under faults (in parallel): {:.1?}; {report}",
        started.elapsed()
    );

    // The counts are a fault-free run's.
    for field in ["sent", "accepted", "rejected", "rejected_by_reason"] {
        assert_eq!(
            summary[field], reference[field],
            "{field} {ctx}\n{summary}\n{reference}"
        );
    }
    let sent = summary["sent"].as_u64().unwrap();
    let accepted = summary["accepted"].as_u64().unwrap();
    assert_eq!(sent, ROWS.parse::<u64>().unwrap(), "{summary}");
    assert_eq!(
        accepted + summary["rejected"].as_u64().unwrap(),
        sent,
        "{summary}"
    );
    let distinct = |rs: &[(String, Vec<u8>)]| rs.iter().collect::<BTreeSet<_>>().len();
    eprintln!(
        "fault-free: {} records in the stream ({} distinct) for {accepted} accepted; summary {reference}",
        clean_records.len(),
        distinct(&clean_records)
    );
    assert_eq!(
        clean_records.len() as u64,
        accepted,
        "the fault-free stream holds the accepted rows"
    );

    // The stream holds every accepted record; extra copies only where an answer was lost.
    fn count(rs: &[(String, Vec<u8>)]) -> HashMap<&(String, Vec<u8>), u64> {
        let mut m = HashMap::new();
        for r in rs {
            *m.entry(r).or_default() += 1;
        }
        m
    }
    let (want, have) = (count(&clean_records), count(&records));
    let missing: u64 = want
        .iter()
        .map(|(r, n)| n.saturating_sub(have.get(r).copied().unwrap_or(0)))
        .sum();
    assert_eq!(missing, 0, "accepted records missing from the stream {ctx}");
    let strangers = have.keys().filter(|r| !want.contains_key(*r)).count();
    assert_eq!(
        strangers, 0,
        "records in the stream no fault-free run puts there {ctx}"
    );
    let extra = records.len() as u64 - clean_records.len() as u64;
    let lost = lost_answers(&report, "PutRecords");
    eprintln!(
        "stream: {} records for {accepted} accepted; {extra} extra copies from {lost} PutRecords answers lost after the call",
        records.len()
    );
    assert!(
        extra <= lost * BATCH,
        "{extra} extra copies, more than {lost} lost answers explain {ctx}"
    );
    assert_eq!(
        extra == 0,
        lost == 0,
        "extra copies without a lost answer, or the reverse {ctx}"
    );
    assert!(
        report.count(Fault::Throttle) > 0 && lost > 0,
        "the mix injected too little to prove anything {ctx}"
    );

    // Downstream the line key makes the items exactly-once.
    let items: BTreeSet<_> = records.iter().map(|(_, d)| item_key(d)).collect();
    let clean_items: BTreeSet<_> = clean_records.iter().map(|(_, d)| item_key(d)).collect();
    assert_eq!(
        items, clean_items,
        "invoice items differ from a fault-free run {ctx}"
    );
}

// ---------------------------------------------------------------------------------------
// API Gateway: lost answers to creates

/// Every API Gateway operation that creates or puts something during an apply.
const APIGW_CREATES: [&str; 7] = [
    "CreateRestApi",
    "CreateAuthorizer",
    "CreateResource",
    "PutMethod",
    "PutIntegration",
    "CreateDeployment",
    "CreateStage",
];

/// The routes and resource paths the stack declares (see `src/blueprint/api.rs`).
const ROUTES: [&str; 4] = [
    "POST /records",
    "GET /invoices/{invoiceNo}",
    "GET /invoices/{invoiceNo}/items/{stockCode}",
    "GET /customers/{customerId}/invoices",
];

/// Applies the dev stack once through a proxy that lets the first call of each of `ops`
/// happen and loses its answer; the apply must succeed, and only answers may have been lost.
fn apply_losing_first_answers(ops: &[&str]) -> (Moto, tokio::runtime::Runtime, FaultReport) {
    let moto = Moto::start();
    let rt = proxy_runtime();
    let proxy = rt.block_on(FaultProxy::with_faults(
        &moto.endpoint,
        Faults {
            drop: 1.0,
            drops: Drops::AfterForwarding,
            only: Some(ops.iter().map(|s| s.to_string()).collect()),
            first_sightings: Some(1),
            seed: Some(1),
            ..Faults::default()
        },
    ));
    let r = run(&proxy.endpoint, &["apply", "--yes"]);
    let report = proxy.report();
    let ctx = context(&report);
    eprintln!("apply with the first answer to each of {ops:?} lost: {report}");
    assert_eq!(
        r.code, 0,
        "one apply did not survive lost answers {ctx}\n{}",
        r.stderr
    );
    assert_eq!(
        report.faulted(),
        report.count(Fault::DropResponse) + report.count(Fault::CutResponse),
        "only answers were lost {ctx}"
    );
    (moto, rt, report)
}

/// The finding of issue 7: with 20% drops, a lost answer to an API Gateway create made the
/// stage's deployment fail with "The REST API doesn't contain any methods" (the retried
/// CreateRestApi made a second, empty API of the same name, which the stage then found), and
/// only a rerun converged. Here every first call of each create happens and loses its answer,
/// deterministically; one apply must succeed, with one API holding each declared route once.
#[test]
fn one_apply_survives_lost_answers_to_api_gateway_creates() {
    let (moto, rt, report) = apply_losing_first_answers(&APIGW_CREATES);
    let ctx = context(&report);
    for (op, at_least) in [
        ("CreateRestApi", 1),
        ("CreateAuthorizer", 1),
        ("CreateResource", 8),
        ("PutMethod", 4),
        ("PutIntegration", 4),
        ("CreateDeployment", 1),
        ("CreateStage", 1),
    ] {
        let lost = lost_answers(&report, op);
        assert!(
            lost >= at_least,
            "{op}: {lost} answers lost, want >= {at_least} {ctx}"
        );
    }

    // Straight from the emulator: one API, each path once, each route with its integration,
    // one authorizer, the stage deployed.
    rt.block_on(async {
        let c = aws_sdk_apigateway::Client::new(&moto.sdk_config().await);
        let apis = c.get_rest_apis().send().await.unwrap();
        let ours: Vec<_> = apis
            .items()
            .iter()
            .filter(|a| a.name() == Some("ecomflow-dev-api"))
            .collect();
        assert_eq!(ours.len(), 1, "REST APIs named ecomflow-dev-api {ctx}");
        let id = ours[0].id().unwrap();
        let resources = c
            .get_resources()
            .rest_api_id(id)
            .embed("methods")
            .limit(500)
            .send()
            .await
            .unwrap();
        let mut paths: Vec<&str> = resources.items().iter().filter_map(|r| r.path()).collect();
        paths.sort();
        let unique: BTreeSet<&str> = paths.iter().copied().collect();
        assert_eq!(
            paths.len(),
            unique.len(),
            "duplicate resources {ctx}: {paths:?}"
        );
        assert_eq!(
            paths.len(),
            9,
            "the root and the 8 declared paths {ctx}: {paths:?}"
        );
        let mut routes = Vec::new();
        for r in resources.items() {
            for (method, m) in r.resource_methods().into_iter().flatten() {
                assert!(
                    m.method_integration().and_then(|i| i.uri()).is_some(),
                    "{method} {:?} has no integration {ctx}",
                    r.path()
                );
                assert_eq!(m.authorization_type(), Some("COGNITO_USER_POOLS"));
                routes.push(format!("{method} {}", r.path().unwrap()));
            }
        }
        routes.sort();
        let mut want: Vec<String> = ROUTES.iter().map(|s| s.to_string()).collect();
        want.sort();
        assert_eq!(routes, want, "{ctx}");
        let auths = c.get_authorizers().rest_api_id(id).send().await.unwrap();
        assert_eq!(auths.items().len(), 1, "authorizers {ctx}");
        let stage = c
            .get_stage()
            .rest_api_id(id)
            .stage_name("v1")
            .send()
            .await
            .unwrap();
        assert!(stage.deployment_id().is_some(), "{ctx}");
        // A lost CreateDeployment answer is looked up, never retried blindly: one deployment.
        let deployments = c.get_deployments().rest_api_id(id).send().await.unwrap();
        assert_eq!(deployments.items().len(), 1, "deployments {ctx}");
    });

    // Converged: a fault-free plan has nothing to do.
    let plan = run(&moto.endpoint, &["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{ctx}\n{}\n{}", plan.stdout, plan.stderr);
}

/// The creates besides API Gateway's whose IDs the service assigns and whose names need not
/// be unique (or, for a mapping, that an emulator repeats): a retry after a lost answer
/// would make a second pool, client or mapping. Found by `tests/faults.rs` as a second user
/// pool, which the next plan offered to destroy.
const ASSIGNED_ID_CREATES: [&str; 3] = [
    "CreateUserPool",
    "CreateUserPoolClient",
    "CreateEventSourceMapping",
];

/// Every first call of those creates happens and loses its answer: one apply must succeed
/// with one of each, and a plan after it has nothing to do.
#[test]
fn one_apply_survives_lost_answers_to_creates_of_assigned_ids() {
    let (moto, _rt, report) = apply_losing_first_answers(&ASSIGNED_ID_CREATES);
    let ctx = context(&report);
    for op in ASSIGNED_ID_CREATES {
        let lost = lost_answers(&report, op);
        assert!(lost >= 1, "{op}: no answer lost {ctx}");
    }
    let live = support::inventory(&moto, "ecomflow-dev");
    let dups = support::duplicates(&live);
    assert!(dups.is_empty(), "duplicates {ctx}: {dups:#?}");
    for kind in [
        "cognito_user_pool ",
        "cognito_app_client ",
        "lambda_event_source_mapping ",
    ] {
        assert!(
            live.iter().any(|l| l.starts_with(kind)),
            "no {kind}in {live:#?} {ctx}"
        );
    }
    let plan = run(&moto.endpoint, &["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{ctx}\n{}\n{}", plan.stdout, plan.stderr);
}

/// The answer to the lock's conditional PutItem is lost after the item was written: the
/// SDK's retry then fails the condition on the run's own lock, which must be recognised as
/// ours (by its token), not reported as another run's.
#[test]
fn a_lost_answer_to_taking_the_lock_still_takes_it() {
    let moto = Moto::start();
    let rt = proxy_runtime();
    let proxy = rt.block_on(FaultProxy::with_faults(
        &moto.endpoint,
        Faults {
            drop: 1.0,
            drops: Drops::AfterForwarding,
            only: Some(vec!["PutItem".to_string()]),
            first_sightings: Some(1),
            seed: Some(1),
            ..Faults::default()
        },
    ));
    // The lock table exists before the faulted run (its first apply creates it).
    run(&moto.endpoint, &["plan"]).expect(0);
    let r = run(&proxy.endpoint, &["apply", "--yes"]);
    let report = proxy.report();
    let ctx = context(&report);
    eprintln!("apply with every first PutItem's answer lost: {report}");
    assert!(
        lost_answers(&report, "PutItem") >= 1,
        "the lock's answer was lost {ctx}"
    );
    assert_eq!(r.code, 0, "apply refused its own lock {ctx}\n{}", r.stderr);
    run(&moto.endpoint, &["plan", "--detailed-exitcode"]).expect(0);
}
