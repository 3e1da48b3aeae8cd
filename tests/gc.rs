//! `gc` against the emulator: it finds a stack's ephemeral `--instance` copies through their
//! resources' tags and destroys the due ones the way `destroy` does, leaving everything else
//! (the stack's own instance, other envs, look-alike resources without the ownership tag,
//! copies locked by another run) alone.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use support::{run, ConnectionCounter, Moto};

/// An untagged bucket inside pr-1's name prefix: a look-alike gc must not take for pr-1's.
const SCRATCH: &str = "ecomflow-ci-pr-1-scratch";
/// A bucket named as pr-3's lake, with an expired expiry tag but no ownership tag.
const FAKE_LAKE: &str = "ecomflow-ci-pr-3-lake-123456789012-us-east-1";

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// `stacks/ci.yaml` with the one change the emulator needs: it evaluates bucket policies
/// without their conditions, so the TLS-only deny would refuse the Glue script upload.
fn ci_stack(dir: &Path) -> PathBuf {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("stacks/ci.yaml"))
            .unwrap();
    assert!(
        text.contains("\nephemeral_ttl_hours: "),
        "stacks/ci.yaml declares the TTL of its copies"
    );
    let edited = text.replacen(
        "\nbucket:\n",
        "\nbucket:\n  deny_insecure_transport: false\n",
        1,
    );
    assert_ne!(edited, text, "stacks/ci.yaml has a `bucket:` section");
    let path = dir.join("ci.yaml");
    std::fs::write(&path, edited).unwrap();
    path
}

/// Names of every bucket, table, stream, topic, role, function, pool, API, delivery stream
/// and Glue database, job and crawler in the emulator (Glue's `_` read as `-`), sorted.
fn all_names(moto: &Moto) -> Vec<String> {
    rt().block_on(async {
        let conf = moto.sdk_config().await;
        let mut names = Vec::new();
        let s3 = moto.s3().await;
        for b in s3.list_buckets().send().await.unwrap().buckets() {
            names.push(b.name().unwrap_or_default().to_string());
        }
        let ddb = aws_sdk_dynamodb::Client::new(&conf);
        names.extend(
            ddb.list_tables()
                .send()
                .await
                .unwrap()
                .table_names()
                .to_vec(),
        );
        let kinesis = aws_sdk_kinesis::Client::new(&conf);
        names.extend(
            kinesis
                .list_streams()
                .send()
                .await
                .unwrap()
                .stream_names()
                .to_vec(),
        );
        let sns = aws_sdk_sns::Client::new(&conf);
        for t in sns.list_topics().send().await.unwrap().topics() {
            let arn = t.topic_arn().unwrap_or_default();
            names.push(arn.rsplit(':').next().unwrap_or(arn).to_string());
        }
        let iam = aws_sdk_iam::Client::new(&conf);
        for r in iam.list_roles().send().await.unwrap().roles() {
            names.push(r.role_name().to_string());
        }
        let lambda = aws_sdk_lambda::Client::new(&conf);
        for f in lambda.list_functions().send().await.unwrap().functions() {
            names.push(f.function_name().unwrap_or_default().to_string());
        }
        let cognito = aws_sdk_cognitoidentityprovider::Client::new(&conf);
        let pools = cognito
            .list_user_pools()
            .max_results(60)
            .send()
            .await
            .unwrap();
        for p in pools.user_pools() {
            names.push(p.name().unwrap_or_default().to_string());
        }
        let apigw = aws_sdk_apigateway::Client::new(&conf);
        for a in apigw.get_rest_apis().send().await.unwrap().items() {
            names.push(a.name().unwrap_or_default().to_string());
        }
        let firehose = aws_sdk_firehose::Client::new(&conf);
        let streams = firehose.list_delivery_streams().send().await.unwrap();
        names.extend(streams.delivery_stream_names().to_vec());
        let glue = aws_sdk_glue::Client::new(&conf);
        for d in glue.get_databases().send().await.unwrap().database_list() {
            names.push(d.name().replace('_', "-"));
        }
        names.extend(glue.list_jobs().send().await.unwrap().job_names().to_vec());
        names.extend(
            glue.list_crawlers()
                .send()
                .await
                .unwrap()
                .crawler_names()
                .to_vec(),
        );
        names.sort();
        names
    })
}

/// Resources of pr-1 and pr-2 by name (the look-alike in pr-1's prefix excluded).
fn of_copy(name: &str, copies: &[&str]) -> bool {
    name != SCRATCH
        && copies
            .iter()
            .any(|c| name.starts_with(&format!("ecomflow-ci-{c}-")))
}

fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: not JSON:\n{stdout}"))
}

/// `(instance, action)` of every instance in a `gc --output json` report.
fn actions(report: &serde_json::Value) -> Vec<(String, String)> {
    report["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["instance"].as_str().unwrap().to_string(),
                i["action"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The listing line of `instance` in a text report.
fn line<'a>(stdout: &'a str, instance: &str) -> &'a str {
    let start = format!("  {instance} ");
    stdout
        .lines()
        .find(|l| l.starts_with(&start))
        .unwrap_or_else(|| panic!("no line for {instance} in:\n{stdout}"))
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn gc_reaps_the_due_copies_and_nothing_else() {
    let moto = Moto::start();
    let ep = &moto.endpoint;
    let dir = tempfile::tempdir().unwrap();
    let ci = ci_stack(dir.path());
    let ci = ci.to_str().unwrap();

    // Two ephemeral copies of the CI stack, its own (non-ephemeral) instance, and an
    // ephemeral copy of another env with the same suffix.
    for suffix in ["pr-1", "pr-2"] {
        run(ep, &["apply", "-s", ci, "--yes", "--instance", suffix]).expect(0);
    }
    run(ep, &["apply", "-s", ci, "--yes"]).expect(0);
    run(ep, &["apply", "--yes", "--instance", "pr-1"]).expect(0);
    rt().block_on(async {
        let s3 = moto.s3().await;
        for bucket in [SCRATCH, FAKE_LAKE] {
            s3.create_bucket().bucket(bucket).send().await.unwrap();
        }
        use aws_sdk_s3::types::{Tag, Tagging};
        let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build().unwrap();
        s3.put_bucket_tagging()
            .bucket(FAKE_LAKE)
            .tagging(
                Tagging::builder()
                    .tag_set(tag("ecomflow:env", "ci"))
                    .tag_set(tag("ecomflow:expires-at", "2000-01-01T00:00:00Z"))
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    });
    let before = all_names(&moto);
    for copy in ["pr-1", "pr-2"] {
        let n = before.iter().filter(|n| of_copy(n, &[copy])).count();
        assert!(n >= 10, "{copy} has only {n} resources: {before:#?}");
    }
    assert!(before.iter().any(|n| n == "ecomflow-ci-orders"));
    assert!(before.iter().any(|n| n == "ecomflow-dev-pr-1-orders"));

    // Before their expiry, the default rule collects nothing.
    let fresh = run(ep, &["gc", "-s", ci]).expect(0);
    assert_eq!(fresh.mutations(), 0);
    for copy in ["ecomflow-ci-pr-1", "ecomflow-ci-pr-2"] {
        assert!(
            line(&fresh.stdout, copy).contains(" resources  kept: expires at "),
            "{}",
            fresh.stdout
        );
    }
    assert!(
        fresh.stdout.contains("3 instance(s) found, 0 due"),
        "{}",
        fresh.stdout
    );
    let fresh = json(
        &run(ep, &["gc", "-s", ci, "--output", "json"])
            .expect(0)
            .stdout,
    );
    assert_eq!(
        actions(&fresh),
        pairs(&[
            ("ecomflow-ci", "kept"),
            ("ecomflow-ci-pr-1", "kept"),
            ("ecomflow-ci-pr-2", "kept"),
        ])
    );
    assert_eq!(fresh["instances"][1]["suffix"], "pr-1");
    assert!(fresh["instances"][1]["expires_at"].is_string(), "{fresh:#}");
    assert!(fresh["instances"][0]["expires_at"].is_null(), "{fresh:#}");
    assert!(fresh["instances"][1]["created_at"].is_string(), "{fresh:#}");
    assert!(fresh["instances"][0]["created_at"].is_null(), "{fresh:#}");
    assert_eq!(fresh["summary"]["due"], 0);
    assert_eq!(all_names(&moto), before);

    // A dry run lists the copies `--older-than 0s` takes, and deletes nothing.
    let dry = run(ep, &["gc", "-s", ci, "--older-than", "0s", "--dry-run"]).expect(0);
    for copy in ["ecomflow-ci-pr-1", "ecomflow-ci-pr-2"] {
        let l = line(&dry.stdout, copy);
        assert!(l.contains(" resources  due: created at "), "{l}");
        assert!(l.ends_with(" ago), older than 0s"), "{l}");
    }
    assert!(
        line(&dry.stdout, "ecomflow-ci").contains(" resources  kept: the stack's own instance"),
        "{}",
        dry.stdout
    );
    assert!(
        dry.stdout.contains("2 due: 2 would be destroyed, 1 kept."),
        "{}",
        dry.stdout
    );
    for other in ["ecomflow-dev", "pr-3"] {
        assert!(!dry.stdout.contains(other), "{}", dry.stdout);
    }
    assert_eq!(dry.mutations(), 0);
    assert_eq!(all_names(&moto), before);

    // Without a terminal to confirm on and without --yes, it refuses.
    let refused = run(ep, &["gc", "-s", ci, "--older-than", "0s"]).expect(1);
    assert!(
        refused.stderr.contains("without a terminal"),
        "{}",
        refused.stderr
    );
    assert_eq!(all_names(&moto), before);

    // Another run holds pr-2's lock: pr-1 goes, pr-2 is reported and left as it is.
    rt().block_on(async {
        use aws_sdk_dynamodb::types::AttributeValue;
        aws_sdk_dynamodb::Client::new(&moto.sdk_config().await)
            .put_item()
            .table_name("ecomflow-infra-locks")
            .item("LockID", AttributeValue::S("ecomflow-ci-pr-2".into()))
            .item("Holder", AttributeValue::S("ci@runner-3 pid 77".into()))
            .item("Since", AttributeValue::S("2026-11-25T08:00:00Z".into()))
            .item("Operation", AttributeValue::S("apply".into()))
            .send()
            .await
            .unwrap();
    });
    let locked = run(
        ep,
        &[
            "gc",
            "-s",
            ci,
            "--older-than",
            "0s",
            "--yes",
            "--output",
            "json",
        ],
    )
    .expect(1);
    let report = json(&locked.stdout);
    assert_eq!(
        actions(&report),
        pairs(&[
            ("ecomflow-ci", "kept"),
            ("ecomflow-ci-pr-1", "destroyed"),
            ("ecomflow-ci-pr-2", "locked"),
        ]),
        "{report:#}"
    );
    assert!(
        report["instances"][1]["deleted"].as_u64().unwrap() >= 10,
        "{report:#}"
    );
    assert!(
        report["instances"][2]["error"]
            .as_str()
            .unwrap()
            .contains("locked by ci@runner-3 pid 77"),
        "{report:#}"
    );
    assert_eq!(report["summary"]["destroyed"], 1);
    assert_eq!(report["summary"]["failed"], 1);
    assert!(
        locked.stderr.contains("force-unlock ecomflow-ci-pr-2"),
        "{}",
        locked.stderr
    );
    let expected: Vec<String> = before
        .iter()
        .filter(|n| !of_copy(n, &["pr-1"]))
        .cloned()
        .collect();
    assert_eq!(all_names(&moto), expected);

    // Unlocked, the rerun takes pr-2.
    run(ep, &["force-unlock", "-s", ci, "ecomflow-ci-pr-2"]).expect(0);
    let reaped = run(ep, &["gc", "-s", ci, "--older-than", "0s", "--yes"]).expect(0);
    let swept = "resource(s); leak sweep: nothing tagged ecomflow:stack=ecomflow-ci-pr-2 remains.";
    let destroyed = |l: &str| l.starts_with("ecomflow-ci-pr-2: destroyed ") && l.ends_with(swept);
    assert!(reaped.stdout.lines().any(destroyed), "{}", reaped.stdout);
    assert!(
        reaped
            .stdout
            .contains("2 instance(s) found, 1 due: 1 destroyed"),
        "{}",
        reaped.stdout
    );

    // Everything of pr-1 and pr-2 is gone; everything else is as it was: the stack's own
    // instance, the dev copy, both look-alikes, the lock table.
    let expected: Vec<String> = before
        .iter()
        .filter(|n| !of_copy(n, &["pr-1", "pr-2"]))
        .cloned()
        .collect();
    assert_eq!(all_names(&moto), expected);
    assert!(expected.iter().any(|n| n == SCRATCH));
    assert!(expected.iter().any(|n| n == FAKE_LAKE));
    // The tool's own leak sweep agrees: nothing is tagged as pr-1's or pr-2's.
    for copy in ["pr-1", "pr-2"] {
        let destroy = run(ep, &["destroy", "-s", ci, "--yes", "--instance", copy]).expect(0);
        assert!(
            destroy.stdout.contains("Nothing to destroy"),
            "{}",
            destroy.stdout
        );
        assert!(
            destroy.stderr.contains("Leak sweep: nothing tagged"),
            "{}",
            destroy.stderr
        );
        assert_eq!(destroy.mutations(), 0);
    }
    // The survivors are intact, not merely present.
    run(ep, &["plan", "-s", ci, "--detailed-exitcode"]).expect(0);
    run(ep, &["plan", "--detailed-exitcode", "--instance", "pr-1"]).expect(0);

    // Nothing is left to take.
    let again = run(ep, &["gc", "-s", ci, "--older-than", "0s", "--yes"]).expect(0);
    assert!(
        again.stdout.contains("1 instance(s) found, 0 due"),
        "{}",
        again.stdout
    );
    assert_eq!(again.mutations(), 0);
}

#[test]
fn gc_refuses_before_any_call() {
    let counter = ConnectionCounter::start();
    let dir = tempfile::tempdir().unwrap();
    let ci = ci_stack(dir.path());
    let ci = ci.to_str().unwrap();
    let protected = dir.path().join("protected.yaml");
    std::fs::write(
        &protected,
        std::fs::read_to_string(ci)
            .unwrap()
            .replace("protected: false", "protected: true"),
    )
    .unwrap();

    let r = run(
        &counter.endpoint,
        &["gc", "-s", protected.to_str().unwrap(), "--dry-run"],
    )
    .expect(1);
    assert!(
        r.stderr
            .contains("is a protected environment (`protected: true`); gc never destroys"),
        "{}",
        r.stderr
    );
    let r = run(
        &counter.endpoint,
        &["gc", "-s", ci, "--instance", "pr-1", "--dry-run"],
    )
    .expect(1);
    assert!(r.stderr.contains("drop `--instance pr-1`"), "{}", r.stderr);
    let r = run(&counter.endpoint, &["gc", "-s", ci, "--older-than", "soon"]).expect(2);
    assert!(r.stderr.contains("--older-than"), "{}", r.stderr);
    assert_eq!(
        counter.connections(),
        0,
        "a refused gc must not reach any API"
    );
}

/// Rewrites the `ecomflow:expires-at` tag of every taggable resource of `instance` (every
/// resource named `<instance>-...`, Glue's `_` read as `-`; buckets only with its ownership
/// tag) to `at`, through each service's own tagging call. gc reads the tags of every taggable
/// kind (`gc::list_tagged`) and takes the latest expiry of an instance (`gc::assess`), so a
/// copy is due by default only once all of them have passed: this sets exactly that. Cognito's
/// tags go through UpdateUserPool (moto has no Cognito TagResource), which resets the pool's
/// other settings as AWS does; gc then only deletes it. Returns how many were retagged.
fn expire(moto: &Moto, instance: &str, at: &str) -> usize {
    const KEY: &str = "ecomflow:expires-at";
    const ACCOUNT_REGION: &str = "us-east-1:123456789012";
    let prefix = format!("{instance}-");
    let ours = |name: &str| name.replace('_', "-").starts_with(&prefix);
    rt().block_on(async {
        let conf = moto.sdk_config().await;
        let mut n = 0;
        let s3 = moto.s3().await;
        for b in s3.list_buckets().send().await.unwrap().buckets() {
            let name = b.name().unwrap_or_default();
            let Ok(tagging) = s3.get_bucket_tagging().bucket(name).send().await else {
                continue;
            };
            let owned = tagging
                .tag_set()
                .iter()
                .any(|t| t.key() == "ecomflow:stack" && t.value() == instance);
            if !owned {
                continue;
            }
            use aws_sdk_s3::types::{Tag, Tagging};
            let mut set: Vec<Tag> = tagging
                .tag_set()
                .iter()
                .filter(|t| t.key() != KEY)
                .cloned()
                .collect();
            set.push(Tag::builder().key(KEY).value(at).build().unwrap());
            let tagging = Tagging::builder().set_tag_set(Some(set)).build().unwrap();
            s3.put_bucket_tagging()
                .bucket(name)
                .tagging(tagging)
                .send()
                .await
                .unwrap();
            n += 1;
        }
        let ddb = aws_sdk_dynamodb::Client::new(&conf);
        for t in ddb.list_tables().send().await.unwrap().table_names() {
            if ours(t) {
                let tag = aws_sdk_dynamodb::types::Tag::builder()
                    .key(KEY)
                    .value(at)
                    .build()
                    .unwrap();
                ddb.tag_resource()
                    .resource_arn(format!("arn:aws:dynamodb:{ACCOUNT_REGION}:table/{t}"))
                    .tags(tag)
                    .send()
                    .await
                    .unwrap();
                n += 1;
            }
        }
        let kinesis = aws_sdk_kinesis::Client::new(&conf);
        for s in kinesis.list_streams().send().await.unwrap().stream_names() {
            if ours(s) {
                kinesis
                    .add_tags_to_stream()
                    .stream_name(s)
                    .tags(KEY, at)
                    .send()
                    .await
                    .unwrap();
                n += 1;
            }
        }
        let sns = aws_sdk_sns::Client::new(&conf);
        for t in sns.list_topics().send().await.unwrap().topics() {
            let arn = t.topic_arn().unwrap_or_default();
            if ours(arn.rsplit(':').next().unwrap_or(arn)) {
                let tag = aws_sdk_sns::types::Tag::builder()
                    .key(KEY)
                    .value(at)
                    .build()
                    .unwrap();
                sns.tag_resource()
                    .resource_arn(arn)
                    .tags(tag)
                    .send()
                    .await
                    .unwrap();
                n += 1;
            }
        }
        let iam = aws_sdk_iam::Client::new(&conf);
        for r in iam.list_roles().send().await.unwrap().roles() {
            if ours(r.role_name()) {
                let tag = aws_sdk_iam::types::Tag::builder()
                    .key(KEY)
                    .value(at)
                    .build()
                    .unwrap();
                iam.tag_role()
                    .role_name(r.role_name())
                    .tags(tag)
                    .send()
                    .await
                    .unwrap();
                n += 1;
            }
        }
        let lambda = aws_sdk_lambda::Client::new(&conf);
        for f in lambda.list_functions().send().await.unwrap().functions() {
            if ours(f.function_name().unwrap_or_default()) {
                lambda
                    .tag_resource()
                    .resource(f.function_arn().unwrap())
                    .tags(KEY, at)
                    .send()
                    .await
                    .unwrap();
                n += 1;
            }
        }
        let cognito = aws_sdk_cognitoidentityprovider::Client::new(&conf);
        let pools = cognito
            .list_user_pools()
            .max_results(60)
            .send()
            .await
            .unwrap();
        for p in pools.user_pools() {
            if ours(p.name().unwrap_or_default()) {
                let id = p.id().unwrap();
                let pool = cognito
                    .describe_user_pool()
                    .user_pool_id(id)
                    .send()
                    .await
                    .unwrap()
                    .user_pool
                    .unwrap();
                let mut tags = pool.user_pool_tags().cloned().unwrap_or_default();
                tags.insert(KEY.into(), at.into());
                cognito
                    .update_user_pool()
                    .user_pool_id(id)
                    .set_user_pool_tags(Some(tags))
                    .send()
                    .await
                    .unwrap();
                n += 1;
            }
        }
        let apigw = aws_sdk_apigateway::Client::new(&conf);
        for a in apigw.get_rest_apis().send().await.unwrap().items() {
            if ours(a.name().unwrap_or_default()) {
                apigw
                    .tag_resource()
                    .resource_arn(format!(
                        "arn:aws:apigateway:us-east-1::/restapis/{}",
                        a.id().unwrap()
                    ))
                    .tags(KEY, at)
                    .send()
                    .await
                    .unwrap();
                n += 1;
            }
        }
        let athena = aws_sdk_athena::Client::new(&conf);
        for w in athena
            .list_work_groups()
            .send()
            .await
            .unwrap()
            .work_groups()
        {
            let name = w.name().unwrap_or_default();
            if ours(name) {
                let tag = aws_sdk_athena::types::Tag::builder()
                    .key(KEY)
                    .value(at)
                    .build();
                athena
                    .tag_resource()
                    .resource_arn(format!("arn:aws:athena:{ACCOUNT_REGION}:workgroup/{name}"))
                    .tags(tag)
                    .send()
                    .await
                    .unwrap();
                n += 1;
            }
        }
        let firehose = aws_sdk_firehose::Client::new(&conf);
        let streams = firehose.list_delivery_streams().send().await.unwrap();
        for d in streams.delivery_stream_names() {
            if ours(d) {
                let tag = aws_sdk_firehose::types::Tag::builder()
                    .key(KEY)
                    .value(at)
                    .build()
                    .unwrap();
                firehose
                    .tag_delivery_stream()
                    .delivery_stream_name(d)
                    .tags(tag)
                    .send()
                    .await
                    .unwrap();
                n += 1;
            }
        }
        let glue = aws_sdk_glue::Client::new(&conf);
        let mut glue_arns = Vec::new();
        for d in glue.get_databases().send().await.unwrap().database_list() {
            glue_arns.push(format!("database/{}", d.name()));
        }
        for j in glue.list_jobs().send().await.unwrap().job_names() {
            glue_arns.push(format!("job/{j}"));
        }
        for c in glue.list_crawlers().send().await.unwrap().crawler_names() {
            glue_arns.push(format!("crawler/{c}"));
        }
        for c in glue
            .get_connections()
            .send()
            .await
            .unwrap()
            .connection_list()
        {
            glue_arns.push(format!("connection/{}", c.name().unwrap_or_default()));
        }
        for what in glue_arns {
            if ours(what.split_once('/').unwrap().1) {
                glue.tag_resource()
                    .resource_arn(format!("arn:aws:glue:{ACCOUNT_REGION}:{what}"))
                    .tags_to_add(KEY, at)
                    .send()
                    .await
                    .unwrap();
                n += 1;
            }
        }
        n
    })
}

/// The default rule, end to end: a copy whose resources all carry a past expiry is listed as
/// due by a dry run (which destroys nothing) and destroyed by `gc --yes` without
/// `--older-than`; an unexpired copy and a look-alike bucket with an expired tag but no
/// ownership tag survive, and the leak sweep finds nothing of the reaped copy.
#[test]
fn gc_reaps_an_expired_copy_by_default() {
    const PAST: &str = "2001-02-03T04:05:06Z";
    const LOOK_ALIKE: &str = "ecomflow-ci-pr-old-scratch";
    let moto = Moto::start();
    let ep = &moto.endpoint;
    let dir = tempfile::tempdir().unwrap();
    let ci = ci_stack(dir.path());
    let ci = ci.to_str().unwrap();
    for suffix in ["pr-old", "pr-new"] {
        run(ep, &["apply", "-s", ci, "--yes", "--instance", suffix]).expect(0);
    }
    rt().block_on(async {
        use aws_sdk_s3::types::{Tag, Tagging};
        let s3 = moto.s3().await;
        s3.create_bucket().bucket(LOOK_ALIKE).send().await.unwrap();
        let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build().unwrap();
        s3.put_bucket_tagging()
            .bucket(LOOK_ALIKE)
            .tagging(
                Tagging::builder()
                    .tag_set(tag("ecomflow:env", "ci"))
                    .tag_set(tag("ecomflow:expires-at", PAST))
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    });
    let before = all_names(&moto);
    let old = |n: &String| n != LOOK_ALIKE && of_copy(n, &["pr-old"]);
    assert!(
        before.iter().filter(|n| old(n)).count() >= 10,
        "{before:#?}"
    );

    // Unexpired, nothing is due.
    let fresh = json(
        &run(ep, &["gc", "-s", ci, "--output", "json"])
            .expect(0)
            .stdout,
    );
    assert_eq!(fresh["summary"]["due"], 0, "{fresh:#}");

    // Every one of pr-old's taggable resources now says it expired long ago.
    let retagged = expire(&moto, "ecomflow-ci-pr-old", PAST);
    assert!(retagged >= 10, "only {retagged} resources retagged");

    let dry = run(ep, &["gc", "-s", ci, "--dry-run"]).expect(0);
    let l = line(&dry.stdout, "ecomflow-ci-pr-old");
    assert!(
        l.contains(&format!(" resources  due: expired at {PAST} (")),
        "{}",
        dry.stdout
    );
    assert!(
        line(&dry.stdout, "ecomflow-ci-pr-new").contains(" resources  kept: expires at "),
        "{}",
        dry.stdout
    );
    assert!(
        dry.stdout.contains("1 due: 1 would be destroyed, 1 kept."),
        "{}",
        dry.stdout
    );
    assert_eq!(dry.mutations(), 0);
    assert_eq!(all_names(&moto), before);

    let reaped = run(ep, &["gc", "-s", ci, "--yes", "--output", "json"]).expect(0);
    let report = json(&reaped.stdout);
    assert_eq!(
        actions(&report),
        pairs(&[
            ("ecomflow-ci-pr-new", "kept"),
            ("ecomflow-ci-pr-old", "destroyed")
        ]),
        "{report:#}"
    );
    assert!(report["older_than_seconds"].is_null(), "{report:#}");
    let expected: Vec<String> = before.iter().filter(|n| !old(n)).cloned().collect();
    assert_eq!(all_names(&moto), expected);
    assert!(expected.iter().any(|n| n == LOOK_ALIKE));
    // The tool's own leak sweep agrees: nothing is tagged as pr-old's.
    let destroy = run(ep, &["destroy", "-s", ci, "--yes", "--instance", "pr-old"]).expect(0);
    assert!(
        destroy.stderr.contains("Leak sweep: nothing tagged"),
        "{}",
        destroy.stderr
    );
    assert_eq!(destroy.mutations(), 0);
    // The unexpired copy is intact.
    run(
        ep,
        &[
            "plan",
            "-s",
            ci,
            "--detailed-exitcode",
            "--instance",
            "pr-new",
        ],
    )
    .expect(0);
}

/// Tags of a bucket, by key.
fn bucket_tags(moto: &Moto, bucket: &str) -> BTreeMap<String, String> {
    rt().block_on(async {
        let tagging = moto
            .s3()
            .await
            .get_bucket_tagging()
            .bucket(bucket)
            .send()
            .await
            .unwrap();
        tagging
            .tag_set()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect()
    })
}

fn table_arn(table: &str) -> String {
    format!("arn:aws:dynamodb:us-east-1:123456789012:table/{table}")
}

/// Tags of a DynamoDB table, by key.
fn table_tags(moto: &Moto, table: &str) -> BTreeMap<String, String> {
    rt().block_on(async {
        let ddb = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
        let listed = ddb
            .list_tags_of_resource()
            .resource_arn(table_arn(table))
            .send()
            .await
            .unwrap();
        listed
            .tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect()
    })
}

/// Sets tags on a bucket (its other tags kept) and on a DynamoDB table, through the services'
/// own tagging calls, as someone (or an earlier run) could have.
fn retag(moto: &Moto, bucket: &str, table: &str, tags: &[(&str, &str)]) {
    let mut on_bucket = bucket_tags(moto, bucket);
    for (k, v) in tags {
        on_bucket.insert(k.to_string(), v.to_string());
    }
    rt().block_on(async {
        use aws_sdk_s3::types::{Tag, Tagging};
        let set: Vec<Tag> = on_bucket
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build().unwrap())
            .collect();
        moto.s3()
            .await
            .put_bucket_tagging()
            .bucket(bucket)
            .tagging(Tagging::builder().set_tag_set(Some(set)).build().unwrap())
            .send()
            .await
            .unwrap();
        let ddb = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
        let set: Vec<aws_sdk_dynamodb::types::Tag> = tags
            .iter()
            .map(|(k, v)| {
                aws_sdk_dynamodb::types::Tag::builder()
                    .key(*k)
                    .value(*v)
                    .build()
                    .unwrap()
            })
            .collect();
        ddb.tag_resource()
            .resource_arn(table_arn(table))
            .set_tags(Some(set))
            .send()
            .await
            .unwrap();
    });
}

fn time(value: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(value)
        .unwrap_or_else(|e| panic!("{value}: {e}"))
        .with_timezone(&chrono::Utc)
}

/// `ecomflow:created-at` is stamped once: an apply writes it with the expiry when it creates a
/// copy's resources (both from one clock reading, the expiry the TTL later), and a later apply
/// that refreshes the expiry writes the live creation stamp back, through both kinds of tag
/// update (S3 puts the whole set, DynamoDB only the changed tags). So `gc --older-than`
/// counts from the creation: a copy created long ago but applied again just now is due.
#[test]
fn a_later_apply_refreshes_the_expiry_but_keeps_the_creation_stamp() {
    const CREATED: &str = "ecomflow:created-at";
    const EXPIRES: &str = "ecomflow:expires-at";
    const LONG_AGO: &str = "2001-02-03T04:05:06Z";
    const EXPIRED: &str = "2001-02-04T04:05:06Z";
    const BUCKET: &str = "ecomflow-ci-pr-1-lake-123456789012-us-east-1";
    const TABLE: &str = "ecomflow-ci-pr-1-invoices";
    let moto = Moto::start();
    let ep = &moto.endpoint;
    let dir = tempfile::tempdir().unwrap();
    let ci = ci_stack(dir.path());
    let ci = ci.to_str().unwrap();

    let started = chrono::Utc::now() - chrono::Duration::seconds(1);
    run(ep, &["apply", "-s", ci, "--yes", "--instance", "pr-1"]).expect(0);
    let first = bucket_tags(&moto, BUCKET);
    let made = time(&first[CREATED]);
    assert!(made >= started && made <= chrono::Utc::now(), "{first:?}");
    assert_eq!(
        time(&first[EXPIRES]) - made,
        chrono::Duration::hours(24),
        "{first:?}"
    );
    assert_eq!(table_tags(&moto, TABLE)[CREATED], first[CREATED]);

    // As if made long ago, and its expiry passed: the next apply must refresh the expiry.
    retag(
        &moto,
        BUCKET,
        TABLE,
        &[(CREATED, LONG_AGO), (EXPIRES, EXPIRED)],
    );
    let plan = json(
        &run(
            ep,
            &[
                "plan",
                "-s",
                ci,
                "--detailed-exitcode",
                "--output",
                "json",
                "--instance",
                "pr-1",
            ],
        )
        .expect(2)
        .stdout,
    );
    let mut updates: Vec<(String, Vec<String>)> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "no_op")
        .map(|c| {
            let paths = c["attributes"].as_array().unwrap().iter();
            (
                c["address"].as_str().unwrap().to_string(),
                paths
                    .map(|a| a["path"].as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect();
    updates.sort();
    let expiry_only = vec![format!("tags.{EXPIRES}")];
    assert_eq!(
        updates,
        vec![
            ("dynamodb_table.invoices".to_string(), expiry_only.clone()),
            ("s3_bucket.lake".to_string(), expiry_only),
        ],
        "{plan:#}"
    );

    let reapplied = chrono::Utc::now() - chrono::Duration::seconds(1);
    run(ep, &["apply", "-s", ci, "--yes", "--instance", "pr-1"]).expect(0);
    for (what, tags) in [
        ("bucket", bucket_tags(&moto, BUCKET)),
        ("table", table_tags(&moto, TABLE)),
    ] {
        assert_eq!(tags[CREATED], LONG_AGO, "{what}: {tags:?}");
        assert!(
            time(&tags[EXPIRES]) >= reapplied + chrono::Duration::hours(24),
            "{what}: the expiry was not refreshed: {tags:?}"
        );
    }
    // Converged: the run's own time never shows as a change of the stamp.
    run(
        ep,
        &[
            "plan",
            "-s",
            ci,
            "--detailed-exitcode",
            "--instance",
            "pr-1",
        ],
    )
    .expect(0);

    // Unexpired, but created long ago: kept by default, due under --older-than.
    let kept = json(
        &run(ep, &["gc", "-s", ci, "--dry-run", "--output", "json"])
            .expect(0)
            .stdout,
    );
    assert_eq!(
        actions(&kept),
        pairs(&[("ecomflow-ci-pr-1", "kept")]),
        "{kept:#}"
    );
    let old = run(ep, &["gc", "-s", ci, "--older-than", "24h", "--dry-run"]).expect(0);
    assert!(
        line(&old.stdout, "ecomflow-ci-pr-1")
            .contains(&format!(" resources  due: created at {LONG_AGO} (")),
        "{}",
        old.stdout
    );
    let report = json(
        &run(
            ep,
            &[
                "gc",
                "-s",
                ci,
                "--older-than",
                "24h",
                "--dry-run",
                "--output",
                "json",
            ],
        )
        .expect(0)
        .stdout,
    );
    assert_eq!(
        actions(&report),
        pairs(&[("ecomflow-ci-pr-1", "would_destroy")]),
        "{report:#}"
    );
    assert_eq!(report["instances"][0]["created_at"], LONG_AGO, "{report:#}");
    assert_eq!(old.mutations(), 0);
}
