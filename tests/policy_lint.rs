//! Every IAM policy document the blueprint writes passes parliament (PyPI `parliament`, the
//! AWS IAM policy linter), or each finding is explained in `tests/parliament/exceptions.yaml`.
//!
//! The documents come from the blueprint itself, built for `stacks/dev.yaml`, `ci.yaml` and
//! `prod.yaml` through the library (no AWS, no emulator): every policy-shaped value found in a
//! resource spec (a JSON object with a `Statement`), such as role trust policies, inline role
//! policies, the bucket policy and the topic policy. Each goes to a file of its own, and one
//! parliament run lints them all (with its community auditors too) and reports in JSON.
//! parliament has no mode for resource or trust policies: resource policies lint as they are
//! (their `Principal` is checked too), and a trust policy lints as the role's resource policy
//! with the role's ARN as its implied `Resource` (see `as_role_resource_policy`).
//!
//! parliament comes from `$PARLIAMENT` if set (`scripts/test` sets it), else from
//! `scripts/ensure-parliament`, which installs the pinned version under `target/py-tools`.
//! The test cannot pass vacuously: it needs at least one document of each kind from each
//! stack, and a known-bad document must come back with the findings parliament is known for.

use ecomflow_infra::blueprint::{build, Context, LambdaCode, FUNCTIONS};
use ecomflow_infra::config::load_str;
use ecomflow_infra::names::{instance_name, Names};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The stack files whose policies are linted.
const STACKS: [&str; 3] = ["dev", "ci", "prod"];

/// The account the blueprints are built for (any 12 digits do).
const ACCOUNT: &str = "123456789012";

/// One policy document of a stack: where it is, and what it says.
struct Document {
    /// `<stack>:<resource address>:<path in the spec>`, e.g.
    /// `dev:iam_role.glue:assume_role_policy`.
    name: String,
    /// The document.
    policy: Value,
}

/// The kind of a document, from where it sits in its spec.
fn kind_of(path: &str) -> &'static str {
    if path == "assume_role_policy" {
        "trust"
    } else if path.starts_with("policies.") {
        "identity"
    } else {
        "resource"
    }
}

/// Every policy-shaped value under `value`, with its dotted path.
fn find_policies(value: &Value, path: &str, out: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(map) if map.contains_key("Statement") => {
            out.push((path.to_string(), value.clone()));
        }
        Value::Object(map) => {
            for (k, v) in map {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                find_policies(v, &p, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                find_policies(v, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// `policy` in the form AWS's own examples write: every one-element list (of actions,
/// resources, principals, condition values) as its single value. The blueprint keeps
/// documents normalised to lists for comparison, which IAM reads the same; parliament 1.6.4
/// crashes on a one-element list as a `Bool` condition's value (`_check_condition` reads it
/// as a scalar), and a crash ends its run for every file after that one.
fn simplified(policy: &Value) -> Value {
    match policy {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = match v {
                        // The statement list stays a list.
                        Value::Array(items) if k == "Statement" => {
                            Value::Array(items.iter().map(simplified).collect())
                        }
                        other => simplified(other),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) if items.len() == 1 => simplified(&items[0]),
        Value::Array(items) => Value::Array(items.iter().map(simplified).collect()),
        other => other.clone(),
    }
}

/// Every policy document the blueprint of `stacks/<stack>.yaml` declares.
fn stack_documents(stack: &str) -> Vec<Document> {
    let file = format!("{}/stacks/{stack}.yaml", env!("CARGO_MANIFEST_DIR"));
    let yaml = std::fs::read_to_string(&file).unwrap();
    let config = load_str(&file, &yaml, None).unwrap_or_else(|e| panic!("{file}: {e}"));
    let names = Names::new(
        instance_name(&config.app, &config.env, None),
        ACCOUNT,
        config.region.clone(),
    );
    let ctx = Context {
        names,
        expires_at: None,
        created_at: None,
        lambda_code: FUNCTIONS
            .iter()
            .map(|f| {
                let code = LambdaCode {
                    zip_path: format!("target/lambda/{f}/bootstrap.zip"),
                    code_sha256: "c2hhMjU2".into(),
                };
                (f.to_string(), code)
            })
            .collect(),
    };
    let mut out = Vec::new();
    for resource in build(&config, &ctx).resources {
        let mut found = Vec::new();
        find_policies(&resource.spec, "", &mut found);
        for (path, policy) in found {
            let policy = if kind_of(&path) == "trust" {
                as_role_resource_policy(&policy, &resource.spec)
            } else {
                policy
            };
            out.push(Document {
                name: format!("{stack}:{}:{path}", resource.address()),
                policy,
            });
        }
    }
    out
}

/// A role's trust policy as the resource policy it is: each statement with the role's own
/// ARN as its `Resource`. IAM refuses a `Resource` in a trust policy (the role is implied),
/// but parliament lints every document as an identity policy, and stops at a statement
/// without one ("MALFORMED: Statement contains neither Resource nor NotResource") before
/// checking its actions and conditions. With the implied resource made explicit, parliament
/// checks `sts:AssumeRole` against the role resource type and the conditions' keys.
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html>
fn as_role_resource_policy(policy: &Value, role: &Value) -> Value {
    let arn = format!(
        "arn:aws:iam::{ACCOUNT}:role{}{}",
        role["path"].as_str().expect("a role spec has a path"),
        role["name"].as_str().expect("a role spec has a name")
    );
    let mut policy = policy.clone();
    for st in policy["Statement"].as_array_mut().into_iter().flatten() {
        assert!(
            st.get("Resource").is_none(),
            "a trust policy statement names a resource, which IAM refuses: {st}"
        );
        st["Resource"] = Value::String(arn.clone());
    }
    policy
}

/// The parliament command: `$PARLIAMENT`, else what `scripts/ensure-parliament` installs.
fn parliament() -> PathBuf {
    if let Some(p) = std::env::var_os("PARLIAMENT").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new(format!("{root}/scripts/ensure-parliament"))
        .current_dir(root)
        .output()
        .expect("run scripts/ensure-parliament");
    assert!(
        out.status.success(),
        "scripts/ensure-parliament failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// One finding, as parliament reports it in JSON.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Finding {
    /// The linted file.
    file: String,
    /// parliament's issue code, e.g. `RESOURCE_MISMATCH`.
    issue: String,
    /// Its detail, as JSON text.
    detail: String,
}

/// Runs parliament once over `files` (with the community auditors, every severity) and
/// returns its findings.
fn lint(parliament: &Path, files: &[PathBuf]) -> Vec<Finding> {
    let list: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    let out = Command::new(parliament)
        .args(["--json", "--include-community-auditors"])
        .args(["--minimum_severity", "INFO"])
        .args(["--files", &list.join(",")])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", parliament.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // parliament exits 0 without findings and 1 with some. It also exits 1 when it crashes
    // (a Python traceback on stderr), having linted none of the files after the one it
    // crashed on: that is a failure to run, never a clean result.
    let ran = match out.status.code() {
        Some(0) => stdout.trim().is_empty(),
        Some(1) => !stdout.trim().is_empty(),
        _ => false,
    };
    assert!(
        ran && !stderr.contains("Traceback"),
        "parliament failed to lint ({}): {stdout}{stderr}",
        out.status
    );
    stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let v: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("parliament printed a non-JSON line ({e}): {line}"));
            Finding {
                file: v["location"]["filepath"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                issue: v["issue"].as_str().unwrap_or_default().to_string(),
                detail: v["detail"].to_string(),
            }
        })
        .collect()
}

/// One explained finding of `tests/parliament/exceptions.yaml`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Exception {
    /// parliament's issue code.
    issue: String,
    /// Documents it applies to: document names (`<stack>:<address>:<path in the spec>`), where
    /// `*` stands for any run of characters.
    documents: Vec<String>,
    /// Why the finding is not a fault of the policy.
    reason: String,
}

/// The file of explained findings.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Exceptions {
    /// Every explained finding.
    exceptions: Vec<Exception>,
}

fn exceptions() -> Vec<Exception> {
    let file = format!(
        "{}/tests/parliament/exceptions.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file}: {e}"));
    let list = marked_yaml::from_yaml::<Exceptions>(0, &text)
        .unwrap_or_else(|e| panic!("{file}: {e}"))
        .exceptions;
    for e in &list {
        assert!(
            e.reason.trim().len() >= 20,
            "{file}: the exception for {} needs a real reason",
            e.issue
        );
        assert!(
            !e.documents.is_empty(),
            "{file}: {} names no document",
            e.issue
        );
    }
    list
}

/// Whether `name` matches `pattern`, where `*` stands for any run of characters.
fn matches(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, rest)) => {
            let Some(tail) = name.strip_prefix(head) else {
                return false;
            };
            (0..=tail.len())
                .filter(|&i| tail.is_char_boundary(i))
                .any(|i| matches(rest, &tail[i..]))
        }
    }
}

#[test]
fn every_policy_document_passes_parliament() {
    let parliament = parliament();
    let tmp = tempfile::tempdir().unwrap();
    // `POLICY_LINT_DIR=<dir>` keeps the linted files there, to run parliament on them by hand.
    let dir: PathBuf = match std::env::var_os("POLICY_LINT_DIR") {
        Some(d) => {
            std::fs::create_dir_all(&d).unwrap();
            PathBuf::from(d)
        }
        None => tmp.path().to_path_buf(),
    };

    // Parliament runs at all, and finds what it is known to find: a wildcard action on a
    // wildcard resource, an unknown action, and a resource of the wrong type.
    let bad = dir.join("known-bad.json");
    std::fs::write(
        &bad,
        r#"{"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket"},
            {"Effect": "Allow", "Action": "s3:NoSuchAction", "Resource": "*"}]}"#,
    )
    .unwrap();
    let known: BTreeSet<String> = lint(&parliament, std::slice::from_ref(&bad))
        .into_iter()
        .map(|f| f.issue)
        .collect();
    for want in ["RESOURCE_MISMATCH", "UNKNOWN_ACTION"] {
        assert!(
            known.contains(want),
            "parliament did not report {want} for a known-bad policy (it said {known:?})"
        );
    }

    // Every document of every stack, one file each.
    let mut documents: BTreeMap<PathBuf, Document> = BTreeMap::new();
    let mut kinds: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for stack in STACKS {
        for (i, doc) in stack_documents(stack).into_iter().enumerate() {
            let path = dir.join(format!("{stack}-{i:03}.json"));
            let text = serde_json::to_string_pretty(&simplified(&doc.policy)).unwrap();
            std::fs::write(&path, text).unwrap();
            let spec_path = doc.name.splitn(3, ':').nth(2).unwrap().to_string();
            kinds.entry(stack).or_default().insert(kind_of(&spec_path));
            documents.insert(path, doc);
        }
    }
    for stack in STACKS {
        let have = kinds.get(stack).cloned().unwrap_or_default();
        assert_eq!(
            have,
            BTreeSet::from(["identity", "resource", "trust"]),
            "{stack}: expected trust, identity and resource policies"
        );
    }
    // A trust and an inline policy for each role (5 in ci, 6 in dev and prod with the
    // warehouse), plus the bucket and topic policies.
    assert!(
        documents.len() >= 40,
        "only {} policy documents found: {:?}",
        documents.len(),
        documents.values().map(|d| &d.name).collect::<Vec<_>>()
    );

    let files: Vec<PathBuf> = documents.keys().cloned().collect();
    let findings = lint(&parliament, &files);
    let exceptions = exceptions();
    let mut used = vec![false; exceptions.len()];
    let mut unexplained = Vec::new();
    for f in &findings {
        let Some(doc) = documents.get(Path::new(&f.file)) else {
            panic!("parliament reported a file it was not given: {f:?}");
        };
        let explained = exceptions
            .iter()
            .position(|e| e.issue == f.issue && e.documents.iter().any(|p| matches(p, &doc.name)));
        match explained {
            Some(i) => used[i] = true,
            None => unexplained.push(format!(
                "{} ({}): {} {}\n    {}",
                doc.name,
                f.file,
                f.issue,
                f.detail,
                serde_json::to_string(&doc.policy).unwrap()
            )),
        }
    }
    assert!(
        unexplained.is_empty(),
        "{} of {} policy documents have findings that tests/parliament/exceptions.yaml does \
         not explain; fix the policy, or add an exception with its reason:\n{}",
        unexplained.len(),
        documents.len(),
        unexplained.join("\n")
    );
    let stale: Vec<&str> = exceptions
        .iter()
        .zip(&used)
        .filter(|(_, used)| !**used)
        .map(|(e, _)| e.issue.as_str())
        .collect();
    assert!(
        stale.is_empty(),
        "tests/parliament/exceptions.yaml explains findings parliament no longer reports: {stale:?}"
    );
    eprintln!(
        "parliament linted {} policy documents of {} stacks: {} findings, all explained",
        documents.len(),
        STACKS.len(),
        findings.len()
    );
}
