//! Broken and hostile input files get a clear error and reach no API.
//!
//! A corpus of broken stack files (`plan -s FILE`), users files (`users sync --users FILE`) and
//! saved plans (`apply FILE`): small ones checked in under `tests/fixtures/hostile/`, large,
//! binary and bomb ones made at run time. For each, the binary runs with `AWS_ENDPOINT_URL`
//! pointing at a [`ConnectionCounter`], and the test proves:
//! - it exits with code 1, without a panic;
//! - standard error names the file, and where it is meaningful the line, column and field,
//!   and says what is wrong (the fragments listed with the case);
//! - the counter saw zero connections: nothing reached any API, not even STS;
//! - the error stays readable: no raw control character from the input reaches the terminal
//!   (an escape sequence could rewrite it, a newline could forge a line of output), standard
//!   error stays under [`MAX_STDERR`] bytes, and nothing is printed on standard output.
//!
//! Each case is one line of the `cases!` table, and one test, so a case that shows a bug in the
//!
//! A saved plan that parses is only judged stale after the tool has read the live account
//! (its fingerprint is compared with a fresh plan's) and taken the stack lock, so those cases
//! (edited fingerprints, another instance, account, region or stack file) cannot reach zero
//! connections: `a_stale_or_foreign_saved_plan_changes_nothing` runs them against the emulator
//! and proves instead that the only writes were the lock's, and that nothing of the stack
//! exists afterwards.

mod support;

use ecomflow_infra::blueprint::{self, Context, LambdaCode, FUNCTIONS};
use ecomflow_infra::names::{instance_name, Names};
use ecomflow_infra::plan::{self, LiveState};
use ecomflow_testkit::LatencyProxy;
use serde_json::{json, Value};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{command, ConnectionCounter, Moto};

/// Most bytes an error report may take on standard error.
const MAX_STDERR: usize = 16 * 1024;
/// Longest a single run may take (a run that reaches the counter retries for a while).
const RUN_TIMEOUT: Duration = Duration::from_secs(180);

/// The command that reads the input.
#[derive(Clone, Copy)]
enum Reader {
    /// `plan -s FILE`.
    Stack,
    /// `users sync --users FILE -s stacks/local.yaml`.
    Users,
    /// `apply FILE` (with `ECOMFLOW_STACK=stacks/local.yaml`, as every test run has).
    SavedPlan,
}

/// Where the input comes from.
enum Input {
    /// A file under `tests/fixtures/hostile/`.
    Fixture(&'static str),
    /// Bytes made at run time, written to a temp file of this name.
    Made(&'static str, fn() -> Vec<u8>),
}

/// One broken input and what the tool must say about it.
struct Case {
    reader: Reader,
    input: Input,
    /// Fragments standard error must contain.
    expect: &'static [&'static str],
    /// Fragments standard error must not contain (a secret from the input, a wrong error).
    reject: &'static [&'static str],
    /// The file the error must name; by default the input's own.
    names: Option<&'static str>,
    /// Extra arguments after the command's own.
    args: &'static [&'static str],
    /// Run without `ECOMFLOW_STACK`, so the default stack file applies.
    default_stack: bool,
}

fn stack(input: Input, expect: &'static [&'static str]) -> Case {
    Case {
        reader: Reader::Stack,
        input,
        expect,
        reject: &[],
        names: None,
        args: &[],
        default_stack: false,
    }
}

fn users(input: Input, expect: &'static [&'static str]) -> Case {
    Case {
        reader: Reader::Users,
        ..stack(input, expect)
    }
}

fn saved(input: Input, expect: &'static [&'static str]) -> Case {
    Case {
        reader: Reader::SavedPlan,
        ..stack(input, expect)
    }
}

impl Case {
    fn reject(self, reject: &'static [&'static str]) -> Case {
        Case { reject, ..self }
    }

    fn naming(self, file: &'static str) -> Case {
        Case {
            names: Some(file),
            ..self
        }
    }

    fn with_args(self, args: &'static [&'static str], default_stack: bool) -> Case {
        Case {
            args,
            default_stack,
            ..self
        }
    }
}

use Input::{Fixture, Made};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hostile")
}

fn local_yaml() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("stacks/local.yaml"))
        .unwrap()
}

/// Deterministic pseudo-random bytes (a linear congruential generator): binary garbage.
fn garbage() -> Vec<u8> {
    let mut x: u32 = 0x2545_f491;
    (0..4096)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (x >> 16) as u8
        })
        .collect()
}

/// The local stack with one byte that is not UTF-8 (a Latin-1 `ÿ` in `env: dev`).
fn latin1_stack() -> Vec<u8> {
    let mut bytes = local_yaml().into_bytes();
    let at = bytes.windows(8).position(|w| w == b"env: dev").unwrap();
    bytes[at + 6] = 0xff;
    bytes
}

/// A "billion laughs" document: nine levels of aliases, each nine times the one below.
fn laughs(head: &str) -> Vec<u8> {
    let mut doc = format!("{head}lol0: &a0 [lol]\n");
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 9].join(", ");
        doc.push_str(&format!("lol{i}: &a{i} [{refs}]\n"));
    }
    doc.into_bytes()
}

/// `depth` nested flow sequences under `key`.
fn nested(head: &str, key: &str, depth: usize) -> Vec<u8> {
    format!("{head}{key}: {}{}\n", "[".repeat(depth), "]".repeat(depth)).into_bytes()
}

const USERS_HEAD: &str = "groups:\n  - name: analysts\nusers:\n";

/// A plan of the local stack against an empty account, as `plan --out` would save it.
fn real_plan() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("stacks/local.yaml");
    let config = ecomflow_infra::config::load_file(&path, None).unwrap();
    let names = Names::new(
        instance_name(&config.app, &config.env, None),
        "123456789012",
        config.region.clone(),
    );
    let bp = blueprint::build(
        &config,
        &Context {
            names: names.clone(),
            expires_at: None,
            created_at: None,
            lambda_code: FUNCTIONS
                .iter()
                .map(|f| (f.to_string(), LambdaCode::default()))
                .collect(),
        },
    );
    let p = plan::diff(
        &names.instance,
        &names.account,
        &names.region,
        "stacks/local.yaml",
        &bp.resources,
        &LiveState::default(),
    )
    .unwrap();
    plan::render_saved(&p)
}

macro_rules! cases {
    ($($(#[$attr:meta])* $name:ident => $case:expr;)*) => {
        $(
            $(#[$attr])*
            #[test]
            fn $name() {
                check(stringify!($name), $case);
            }
        )*
    };
}

cases! {
    // Stack files: `plan -s FILE`.
    stack_truncated_mid_string => stack(Fixture("stack/truncated.yaml"), &["truncated.yaml:4:9: invalid YAML: while scanning a quoted scalar, found unexpected end of stream"]);
    stack_truncated_mid_block => stack(Fixture("stack/truncated_block.yaml"), &["stream.retention_hours: expected a whole number"]);
    stack_string_for_number => stack(Fixture("stack/string_for_number.yaml"), &["string_for_number.yaml:5:20: stream.retention_hours: expected a whole number"]);
    stack_list_for_map => stack(Fixture("stack/list_for_map.yaml"), &["list_for_map.yaml:4:7: tags: wrong type: sequence, expected a map"]);
    stack_map_for_string => stack(Fixture("stack/map_for_string.yaml"), &["map_for_string.yaml:4:7: region: wrong type: map, expected a string"]).reject(&["missing field `region`"]);
    stack_not_a_bool => stack(Fixture("stack/not_a_bool.yaml"), &["not_a_bool.yaml:5:9: tables.pitr: expected true or false"]);
    stack_negative_number => stack(Fixture("stack/negative_number.yaml"), &["negative_number.yaml:5:20: stream.retention_hours:"]);
    stack_number_overflow => stack(Fixture("stack/number_overflow.yaml"), &["number_overflow.yaml:6:11: stream.shards: expected a whole number (number too large"]);
    stack_unknown_keys => stack(Fixture("stack/unknown_keys.yaml"), &["2 errors", "unknown_keys.yaml:4:1: admin_access: unknown key `admin_access`", "unknown_keys.yaml:6:3: stream.retension_hours: unknown key `retension_hours`; did you mean `retention_hours`?"]);
    stack_missing_required => stack(Fixture("stack/missing_required.yaml"), &["missing field `region`"]);
    stack_top_level_list => stack(Fixture("stack/top_level_list.yaml"), &["top_level_list.yaml:1:1: the document must be a mapping of keys"]);
    stack_duplicate_key => stack(Fixture("stack/duplicate_key.yaml"), &["duplicate_key.yaml:4:1: duplicate key `env` (first defined on line 2)"]);
    stack_yaml_tag => stack(Fixture("stack/yaml_tag.yaml"), &["yaml_tag.yaml:1:", "YAML tags (`!something`) are not allowed"]);
    stack_anchor_and_alias => stack(Fixture("stack/anchors.yaml"), &["anchors.yaml:5:7: YAML anchors and aliases are not allowed"]);
    stack_billion_laughs => stack(Made("laughs.yaml", || laughs("app: ecomflow\nenv: dev\nregion: us-east-1\n")), &["laughs.yaml:4:11: YAML anchors and aliases are not allowed"]);
    stack_deep_nesting => stack(Made("deep.yaml", || nested("app: ecomflow\nenv: dev\nregion: us-east-1\n", "tags", 100_000)), &["deep.yaml:4:", "recursion limit exceeded"]);
    stack_app_uppercase => stack(Fixture("stack/app_uppercase.yaml"), &["app_uppercase.yaml:1:6: app: `EcomFlow` must be 1 to 20 lowercase letters"]);
    stack_app_too_long => stack(Fixture("stack/app_too_long.yaml"), &["app_too_long.yaml:1:6: app: `ecomflow-data-pipeline` must be 1 to 20"]);
    stack_bucket_name_too_long => stack(Fixture("stack/bucket_name_too_long.yaml"), &["bucket_name_too_long.yaml:2:6: app: the lake bucket name", "S3 allows 63"]);
    stack_bad_region => stack(Fixture("stack/bad_region.yaml"), &["bad_region.yaml:3:9: region: `US-EAST-1` is not an AWS region name"]);
    stack_region_injection => stack(Fixture("stack/region_injection.yaml"), &["region_injection.yaml:3:9: region:", "is not an AWS region name"]);
    stack_empty_file => stack(Made("empty.yaml", Vec::new), &["empty.yaml:1:1: missing field `app`"]);
    stack_binary_garbage => stack(Made("garbage.yaml", garbage), &["garbage.yaml: the file is not UTF-8 (invalid byte at offset 2)"]);
    stack_invalid_utf8 => stack(Made("latin1.yaml", latin1_stack), &["latin1.yaml: the file is not UTF-8 (invalid byte at offset"]);
    stack_ten_megabyte_value => stack(Made("huge.yaml", || format!("{}description: {}\n", local_yaml(), "x".repeat(10 << 20)).into_bytes()), &["huge.yaml: the file is 10", "a stack file may be at most 1048576"]);
    stack_megabyte_app_name => stack(Made("long_app.yaml", || format!("env: dev\nregion: us-east-1\napp: {}\n", "a".repeat((1 << 20) - 64)).into_bytes()), &["long_app.yaml:3:6: app:"]);
    stack_escape_sequence_in_value => stack(Fixture("stack/ansi_in_app.yaml"), &["ansi_in_app.yaml:2:6: app:"]);
    stack_newline_in_value => stack(Fixture("stack/newline_in_email.yaml"), &["newline_in_email.yaml:7:7: alerts.emails.0:", "is not a valid e-mail address"]);
    stack_nul_byte_truncates => stack(Made("nul.yaml", || b"app: ecomflow\nenv: dev\nregion: us-east-1\n\0\nprotected: true\nwarehouse: {enabled: 3}\n".to_vec()), &["nul.yaml"]);
    stack_byte_order_mark => stack(Made("bom.yaml", || "\u{feff}app: ecomflow\nenv: dev\nregion: us-east-1\nwarehouse:\n  enabled: 3\n".as_bytes().to_vec()), &["bom.yaml:5:12: warehouse.enabled: expected true or false", "1 error"]).reject(&["unknown key"]);

    // Users files: `users sync --users FILE -s stacks/local.yaml`.
    users_truncated => users(Fixture("users/truncated.yaml"), &["truncated.yaml:8:1: invalid YAML"]);
    users_map_for_list => users(Fixture("users/users_as_map.yaml"), &["users_as_map.yaml:4:8: users: wrong type: map, expected a sequence"]);
    users_string_for_list => users(Fixture("users/groups_as_string.yaml"), &["groups_as_string.yaml:6:13: users.0.groups: wrong type: string \"analysts\", expected a sequence"]);
    users_not_a_bool => users(Fixture("users/enabled_not_bool.yaml"), &["enabled_not_bool.yaml:4:14: users.0.enabled: expected true or false"]);
    users_unknown_keys => users(Fixture("users/unknown_keys.yaml"), &["unknown_keys.yaml:4:5: users.0.admin: unknown key `admin`", "unknown_keys.yaml:5:5: users.0.password: unknown key `password`"]).reject(&["hunter2"]);
    users_top_level_list => users(Fixture("users/top_level_list.yaml"), &["top_level_list.yaml:1:1: the document must be a mapping of keys"]);
    users_duplicate_usernames => users(Fixture("users/duplicate_usernames.yaml"), &["duplicate_usernames.yaml:4:15: users.1.username: `ALICE` is already used by users.0 (usernames are case-insensitive)"]);
    users_duplicate_emails => users(Fixture("users/duplicate_emails.yaml"), &["duplicate_emails.yaml:5:12: users.1.email: `Alice@Example.COM` is already used by users.0"]);
    users_unknown_group => users(Fixture("users/unknown_group.yaml"), &["unknown_group.yaml:6:24: users.0.groups.1: group `admins` is not declared under `groups`"]);
    users_unknown_attribute => users(Fixture("users/unknown_attribute.yaml"), &["unknown_attribute.yaml:5:18: users.0.attributes.shoe_size: the user pool has no attribute `shoe_size`", "users.0.attributes.custom:clearance: the user pool has no attribute `custom:clearance`; declare it under `cognito.custom_attributes`"]).reject(&["top-secret"]);
    users_sql_injection => users(Fixture("users/sql_injection.yaml"), &["sql_injection.yaml:2:15: users.0.username:", "must not contain spaces or control characters", "sql_injection.yaml:3:12: users.0.email:", "is not a valid e-mail address"]);
    users_jndi_lookup_is_plain_text => users(Fixture("users/jndi_lookup.yaml"), &["1 error", "jndi_lookup.yaml:7:14: users.0.groups.0: group `admins` is not declared"]).reject(&["users.0.username", "users.0.name"]);
    users_newline_in_name => users(Fixture("users/newline_in_name.yaml"), &["newline_in_name.yaml:4:11: users.0.name: must not contain control characters"]).reject(&["users file OK"]);
    users_escape_sequence_in_group => users(Fixture("users/ansi_in_group.yaml"), &["ansi_in_group.yaml:5:14: users.0.groups.0: group"]);
    users_anchor_and_alias => users(Fixture("users/anchors.yaml"), &["anchors.yaml:3:13: YAML anchors and aliases are not allowed"]);
    users_billion_laughs => users(Made("laughs.yaml", || laughs("users: []\n")), &["laughs.yaml:2:11: YAML anchors and aliases are not allowed"]);
    users_deep_nesting => users(Made("deep.yaml", || nested(USERS_HEAD, "  - groups", 100_000)), &["deep.yaml:4:", "recursion limit exceeded"]);
    users_three_megabyte_name => users(Made("huge.yaml", || format!("{USERS_HEAD}  - username: alice\n    email: alice@example.com\n    name: {}\n", "x".repeat(3 << 20)).into_bytes()), &["huge.yaml:6:11: users.0.name: must be at most 2048 characters"]);
    users_over_the_size_limit => users(Made("too_big.yaml", || format!("{USERS_HEAD}  - username: alice\n    email: alice@example.com\n    name: {}\n", "x".repeat(5 << 20)).into_bytes()), &["too_big.yaml: the file is 52", "a users file may be at most 4194304"]);
    users_long_attribute_value => users(Made("long_attribute.yaml", || format!("{USERS_HEAD}  - username: alice\n    email: alice@example.com\n    attributes:\n      nickname: {}\n", "n".repeat(3000)).into_bytes()), &["long_attribute.yaml:7:17: users.0.attributes.nickname: must be at most 2048 characters"]);
    users_long_group_name => users(Made("long_group.yaml", || format!("{USERS_HEAD}  - username: alice\n    email: alice@example.com\n    groups: [{}]\n", "g".repeat(100_000)).into_bytes()), &["long_group.yaml:6:14: users.0.groups.0:"]);
    users_binary_garbage => users(Made("garbage.yaml", garbage), &["garbage.yaml", "cannot read the users file", "valid UTF-8"]);
    users_invalid_utf8 => users(Made("latin1.yaml", || b"users:\n  - username: Ren\xe9\n    email: rene@example.com\n".to_vec()), &["latin1.yaml", "cannot read the users file", "valid UTF-8"]);
    users_empty_file => users(Made("empty.yaml", Vec::new), &["empty.yaml"]);
    users_nul_byte_truncates => users(Made("nul.yaml", || format!("{USERS_HEAD}\0  - username: alice\n    email: alice@example.com\n    groups: [admins]\n").into_bytes()), &["nul.yaml"]);

    // Saved plans: `apply FILE`, refused before any call.
    plan_truncated_by_hand => saved(Fixture("plan/truncated.json"), &["truncated.json is not a plan saved by `ecomflow-infra plan --out` (or it was edited or truncated)"]);
    plan_truncated_real_plan => saved(Made("half.json", || { let p = real_plan(); p.as_bytes()[..p.len() / 2].to_vec() }), &["half.json is not a plan saved by", "EOF while parsing"]);
    plan_wrong_format_version => saved(Fixture("plan/wrong_version.json"), &["wrong_version.json has plan format 2, this tool reads format 1; make the plan again"]);
    plan_version_as_string => saved(Fixture("plan/version_as_string.json"), &["version_as_string.json is not a plan saved by", "invalid type: string \"1\", expected u32 at line 2 column 23"]);
    plan_missing_fingerprints => saved(Fixture("plan/missing_fingerprints.json"), &["missing_fingerprints.json is not a plan saved by", "missing field `desired_fingerprint`"]);
    plan_unknown_action => saved(Fixture("plan/unknown_action.json"), &["unknown_action.json is not a plan saved by", "unknown variant `purge`"]);
    plan_yaml_not_json => saved(Fixture("plan/yaml_not_json.json"), &["yaml_not_json.json is not a plan saved by"]);
    plan_empty_file => saved(Made("empty.json", Vec::new), &["empty.json is not a plan saved by", "EOF while parsing"]);
    plan_binary_garbage => saved(Made("garbage.json", garbage), &["failed to read the plan", "garbage.json", "valid UTF-8"]);
    plan_deep_nesting => saved(Made("deep.json", || { let mut v: Value = serde_json::from_str(&real_plan()).unwrap(); v["changes"][0]["attributes"][0]["after"] = json!("DEPTH"); v.to_string().replace("\"DEPTH\"", &format!("{}{}", "[".repeat(100_000), "]".repeat(100_000))).into_bytes() }), &["deep.json is not a plan saved by", "recursion limit exceeded"]);
    plan_ten_megabytes_of_another_format => saved(Made("huge.json", || { let mut v: Value = serde_json::from_str(&real_plan()).unwrap(); v["format_version"] = json!(2); v["padding"] = json!("x".repeat(10 << 20)); v.to_string().into_bytes() }), &["huge.json has plan format 2"]);
    plan_without_its_digest => saved(Made("no_digest.json", || { let mut v: Value = serde_json::from_str(&real_plan()).unwrap(); v.as_object_mut().unwrap().remove("digest"); v.to_string().into_bytes() }), &["no_digest.json was edited after `ecomflow-infra plan --out` wrote it (it has no digest); make the plan again"]);
    plan_edited_by_hand => saved(Made("edited.json", || real_plan().replace("\"action\": \"create\"", "\"action\": \"delete\"").into_bytes()), &["edited.json was edited after `ecomflow-infra plan --out` wrote it (its digest does not match its content)"]);
    plan_for_another_stack => saved(Made("other.json", || real_plan().replace("\"stack\": \"ecomflow-dev\"", "\"stack\": \"ecomflow-prod\"").into_bytes()), &["other.json was edited after"]);
    plan_naming_a_broken_stack_file => saved(Fixture("plan/broken_stack_file.json"), &["bad_region.yaml:3:9: region: `US-EAST-1` is not an AWS region name"]).naming("bad_region.yaml").with_args(&[], true);
    plan_overriding_an_explicit_stack_flag => saved(Fixture("plan/broken_stack_file.json"), &["stacks/dev.yaml"]).with_args(&["-s", "stacks/dev.yaml"], true);
}

/// Runs `cmd` to completion, killing it (by its own handle) after [`RUN_TIMEOUT`].
fn run_bounded(mut cmd: Command) -> (Option<i32>, String, String, Duration) {
    let started = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the tool");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            pipe.read_to_end(&mut buf).ok();
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > RUN_TIMEOUT {
            child.kill().ok();
            child.wait().ok();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (
        status.and_then(|s| s.code()),
        out.join().unwrap(),
        err.join().unwrap(),
        started.elapsed(),
    )
}

fn check(name: &str, case: Case) {
    let dir = tempfile::tempdir().unwrap();
    let path = match &case.input {
        Fixture(rel) => fixtures().join(rel),
        Made(file, make) => {
            let p = dir.path().join(file);
            std::fs::write(&p, make()).unwrap();
            p
        }
    };
    let file = path.to_str().unwrap();
    let counter = ConnectionCounter::start();
    let mut args: Vec<&str> = match case.reader {
        Reader::Stack => vec!["plan", "-s", file],
        Reader::Users => vec!["users", "sync", "--users", file, "-s", "stacks/local.yaml"],
        Reader::SavedPlan => vec!["apply", file],
    };
    args.extend(case.args);
    let mut cmd = command(&counter.endpoint, &args);
    if case.default_stack {
        cmd.env_remove("ECOMFLOW_STACK");
    }
    let (code, stdout, stderr, took) = run_bounded(cmd);
    let named = case
        .names
        .unwrap_or_else(|| path.file_name().unwrap().to_str().unwrap());
    let mut failures = Vec::new();
    if code != Some(1) {
        failures.push(format!("exit code {code:?}, wanted 1"));
    }
    if stderr.contains("panicked") || stderr.contains("RUST_BACKTRACE") {
        failures.push("the tool panicked".to_string());
    }
    if !stderr.contains(named) {
        failures.push(format!("the error does not name {named}"));
    }
    for want in case.expect {
        if !stderr.contains(want) {
            failures.push(format!("missing `{want}`"));
        }
    }
    for unwanted in case.reject {
        if stderr.contains(unwanted) {
            failures.push(format!("should not say `{unwanted}`"));
        }
    }
    if counter.connections() != 0 {
        failures.push(format!(
            "{} connections reached the API endpoint",
            counter.connections()
        ));
    }
    if stderr.len() > MAX_STDERR {
        failures.push(format!("{} bytes of error output", stderr.len()));
    }
    if let Some(c) = stderr
        .chars()
        .find(|c| c.is_control() && *c != '\n' && *c != '\t')
    {
        failures.push(format!("raw control character {c:?} on standard error"));
    }
    if stderr.lines().filter(|l| l.starts_with("error:")).count() > 1 {
        failures.push("more than one `error:` line (a forged line?)".to_string());
    }
    if !stdout.is_empty() {
        failures.push(format!("printed on standard output: {stdout:.300}"));
    }
    eprintln!("{name}: {took:.2?}");
    assert!(
        failures.is_empty(),
        "{name}:\n  {}\nstderr ({} bytes):\n{:.3000}",
        failures.join("\n  "),
        stderr.len(),
        stderr.escape_debug().to_string()
    );
}

/// The checked-in corpus stays small: large and bomb inputs are made at run time.
#[test]
fn the_checked_in_corpus_is_small() {
    fn size(dir: &Path) -> u64 {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let meta = e.metadata().unwrap();
                if meta.is_dir() {
                    size(&e.path())
                } else {
                    meta.len()
                }
            })
            .sum()
    }
    let total = size(&fixtures());
    assert!(
        total < 100 * 1024,
        "{total} bytes under tests/fixtures/hostile"
    );
}

/// The kinds of resource this stack makes, listed from the emulator: what must not appear.
fn stack_footprint(moto: &Moto, rt: &tokio::runtime::Runtime) -> Vec<String> {
    rt.block_on(async {
        let conf = moto.sdk_config().await;
        let mut found = Vec::new();
        for b in moto
            .s3()
            .await
            .list_buckets()
            .send()
            .await
            .unwrap()
            .buckets()
        {
            found.push(format!("bucket {}", b.name().unwrap_or_default()));
        }
        let tables = aws_sdk_dynamodb::Client::new(&conf)
            .list_tables()
            .send()
            .await
            .unwrap();
        found.extend(tables.table_names().iter().map(|t| format!("table {t}")));
        let streams = aws_sdk_kinesis::Client::new(&conf)
            .list_streams()
            .send()
            .await
            .unwrap();
        found.extend(streams.stream_names().iter().map(|s| format!("stream {s}")));
        let topics = aws_sdk_sns::Client::new(&conf)
            .list_topics()
            .send()
            .await
            .unwrap();
        for t in topics.topics() {
            found.push(format!("topic {}", t.topic_arn().unwrap_or_default()));
        }
        let roles = aws_sdk_iam::Client::new(&conf)
            .list_roles()
            .send()
            .await
            .unwrap();
        found.extend(
            roles
                .roles()
                .iter()
                .map(|r| format!("role {}", r.role_name())),
        );
        let functions = aws_sdk_lambda::Client::new(&conf)
            .list_functions()
            .send()
            .await
            .unwrap();
        for f in functions.functions() {
            found.push(format!(
                "function {}",
                f.function_name().unwrap_or_default()
            ));
        }
        let pools = aws_sdk_cognitoidentityprovider::Client::new(&conf)
            .list_user_pools()
            .max_results(60)
            .send()
            .await
            .unwrap();
        for p in pools.user_pools() {
            found.push(format!("pool {}", p.name().unwrap_or_default()));
        }
        let apis = aws_sdk_apigateway::Client::new(&conf)
            .get_rest_apis()
            .send()
            .await
            .unwrap();
        for a in apis.items() {
            found.push(format!("api {}", a.name().unwrap_or_default()));
        }
        let databases = aws_sdk_glue::Client::new(&conf)
            .get_databases()
            .send()
            .await
            .unwrap();
        found.extend(
            databases
                .database_list()
                .iter()
                .map(|d| format!("database {}", d.name())),
        );
        found.sort();
        found
    })
}

/// Operations through the proxy that write: REST calls other than GET/HEAD, and named
/// operations that are not reads.
fn writes(proxy: &LatencyProxy) -> Vec<String> {
    let mut ops: Vec<String> = proxy
        .stats()
        .into_iter()
        .filter(|(op, s)| {
            let read = match op.split_once(' ') {
                Some((method, _)) => method == "GET" || method == "HEAD",
                None => {
                    ["Get", "List", "Describe", "Head"]
                        .iter()
                        .any(|p| op.starts_with(p))
                        || op == "Scan"
                        || op == "Query"
                }
            };
            s.forwarded > 0 && !read
        })
        .map(|(op, s)| format!("{op} x{}", s.forwarded))
        .collect();
    ops.sort();
    ops
}

/// A saved plan that is edited, stale, or meant for another instance, account or stack file
/// is refused, and nothing of the stack is made or changed. Edited files and plans for
/// another instance or stack file are refused before any call; a plan made from another
/// version of the stack file, or in another account, after the caller's identity is asked
/// (one read) and before the lock; a plan the live account has moved on from, after the
/// fresh plan is read under the lock. So the only writes are that one lock's, and the
/// account holds nothing of the stack afterwards.
#[test]
fn a_stale_or_foreign_saved_plan_changes_nothing() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let moto = Moto::start();
    let proxy = rt.block_on(LatencyProxy::start(&moto.endpoint, Duration::ZERO));
    let ep = proxy.endpoint.clone();
    let dir = tempfile::tempdir().unwrap();
    let own = support::stack_file(dir.path(), "own.yaml", |s| s);
    let own_s = own.to_str().unwrap();
    let base = dir.path().join("plan.json");
    let base_s = base.to_str().unwrap();
    support::run(
        &ep,
        &["plan", "-s", own_s, "--instance", "hx", "--out", base_s],
    )
    .expect(0);
    assert_eq!(writes(&proxy), Vec::<String>::new(), "plan only reads");
    assert_eq!(stack_footprint(&moto, &rt), Vec::<String>::new());
    let text = std::fs::read_to_string(&base).unwrap();
    let plan: Value = serde_json::from_str(&text).unwrap();
    let longer = support::stack_file(dir.path(), "longer.yaml", |s| {
        s.replace("retention_hours: 24", "retention_hours: 48")
    });
    let longer = longer.to_str().unwrap();
    // The same plan as `plan --out` would have written it in another account.
    let elsewhere = {
        let mut p: ecomflow_infra::plan::Plan = serde_json::from_str(&text).unwrap();
        p.account = "999999999999".into();
        plan::render_saved(&p)
    };

    /// What is applied: the saved file edited by hand, or a file written as given.
    enum File {
        Edited(fn(&mut Value)),
        Written(String),
    }
    /// When the refusal comes: before any call, after the identity read, under the lock.
    #[derive(PartialEq, Debug, Clone, Copy)]
    enum When {
        NoCall,
        BeforeLock,
        UnderLock,
    }
    use File::{Edited, Written};
    use When::{BeforeLock, NoCall, UnderLock};
    let edited = "was edited after `ecomflow-infra plan --out` wrote it (its digest does not match its content)";
    let cases: [(&str, File, &[&str], &str, When); 12] = [
        ("desired fingerprint edited", Edited(|p| p["desired_fingerprint"] = json!("0".repeat(64))), &["--instance", "hx"], edited, NoCall),
        ("live fingerprint edited", Edited(|p| p["live_fingerprint"] = json!("f".repeat(64))), &["--instance", "hx"], edited, NoCall),
        ("stack name edited", Edited(|p| p["stack"] = json!("ecomflow-dev-other")), &["--instance", "hx"], edited, NoCall),
        ("account edited", Edited(|p| p["account"] = json!("999999999999")), &["--instance", "hx"], edited, NoCall),
        ("region edited", Edited(|p| p["region"] = json!("eu-west-1")), &["--instance", "hx"], edited, NoCall),
        ("a change edited", Edited(|p| p["changes"][0]["action"] = json!("delete")), &["--instance", "hx"], edited, NoCall),
        ("applied to another instance", Edited(|_| {}), &["--instance", "hy"], "the saved plan is stale: it was made for stack ecomflow-dev-hx, not ecomflow-dev-hy", NoCall),
        ("applied to the stack without an instance", Edited(|_| {}), &[], "it was made for stack ecomflow-dev-hx, not ecomflow-dev.", NoCall),
        ("applied with another stack file", Edited(|_| {}), &["--instance", "hx", "-s", "LONGER"], "was planned from", NoCall),
        ("made in another account", Written(elsewhere), &["--instance", "hx"], "it was made for stack ecomflow-dev-hx in 999999999999/us-east-1, not ecomflow-dev-hx in 123456789012/us-east-1", BeforeLock),
        ("the stack file changed since", Written(text.clone()), &["--instance", "hx"], "the saved plan is stale: the stack config changed since it was made", BeforeLock),
        ("the live account changed since", Written(text.clone()), &["--instance", "hx"], "the saved plan is stale: the live account changed since it was made", UnderLock),
    ];
    let stream = "ecomflow-dev-hx-orders";
    let kinesis = rt.block_on(async { aws_sdk_kinesis::Client::new(&moto.sdk_config().await) });
    let mut failures = Vec::new();
    for (what, file, extra, fragment, when) in cases {
        let path = dir.path().join("applied.json");
        match file {
            Edited(edit) => {
                let mut p = plan.clone();
                edit(&mut p);
                std::fs::write(&path, serde_json::to_string_pretty(&p).unwrap()).unwrap();
            }
            Written(t) => std::fs::write(&path, t).unwrap(),
        }
        if what == "the stack file changed since" {
            std::fs::write(&own, std::fs::read_to_string(longer).unwrap()).unwrap();
        }
        if what == "the live account changed since" {
            // Back to the file the plan was made from; the live account gains a stream of
            // the instance's (tagged as its own, so it is no foreign resource).
            std::fs::write(&own, local_yaml()).unwrap();
            rt.block_on(async {
                kinesis
                    .create_stream()
                    .stream_name(stream)
                    .shard_count(1)
                    .send()
                    .await
                    .unwrap();
                kinesis
                    .add_tags_to_stream()
                    .stream_name(stream)
                    .tags("ecomflow:stack", "ecomflow-dev-hx")
                    .send()
                    .await
                    .unwrap();
            });
        }
        let calls_before = proxy.calls();
        let writes_before = writes(&proxy);
        let mut args = vec!["apply", path.to_str().unwrap()];
        if !extra.contains(&"-s") {
            // The file the plan was made from (the test environment names local.yaml).
            args.extend(["-s", own_s]);
        }
        args.extend(
            extra
                .iter()
                .map(|a| if *a == "LONGER" { longer } else { a }),
        );
        let r = support::run(&ep, &args);
        if r.code != 1 || !r.stderr.contains(fragment) || r.stderr.contains("panicked") {
            failures.push(format!(
                "{what}: exit {}, wanted 1 and `{fragment}`:\n{}",
                r.code, r.stderr
            ));
        }
        if !r.stdout.is_empty() {
            failures.push(format!("{what}: printed a plan:\n{}", r.stdout));
        }
        let calls = proxy.calls() - calls_before;
        let wrote = writes(&proxy) != writes_before;
        let seen = match (calls, wrote) {
            (0, _) => NoCall,
            (_, false) => BeforeLock,
            (_, true) => UnderLock,
        };
        if seen != when {
            failures.push(format!(
                "{what}: refused {seen:?} ({calls} calls), wanted {when:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Only the lock table's writes, all from the one refusal under the lock: the table
    // created on first use with point-in-time recovery, the lock put twice (the first found
    // no table) and deleted.
    assert_eq!(
        writes(&proxy),
        [
            "CreateTable x1",
            "DeleteItem x1",
            "PutItem x2",
            "UpdateContinuousBackups x1"
        ],
        "writes other than the stack lock's"
    );
    rt.block_on(async {
        kinesis
            .delete_stream()
            .stream_name(stream)
            .send()
            .await
            .unwrap();
    });
    assert_eq!(
        stack_footprint(&moto, &rt),
        ["table ecomflow-infra-locks"],
        "the refused applies made something"
    );
}
