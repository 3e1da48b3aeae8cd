//! Property tests of the stack config loader ([`config::load_str`]) and the users-file loader
//! that reuses it ([`users::file::load_str`]), under hostile YAML.
//!
//! For every input:
//! - no panic;
//! - the result is a config or a clear error list: at least one error, each with a
//!   non-empty message, a line within the file, and a rendering (what the user reads) free
//!   of raw control characters other than its own line breaks and of bounded size;
//! - memory stays linear: the peak of bytes live during one call is at most
//!   `MEMORY_BASE + PER_BYTE x input length` ([`PER_BYTE`] says why).
//!
//! Inputs come from arbitrary text, the real stack and users files mutated byte by byte, and
//! YAML built line by line from the schema's keys and hostile pieces (anchors, aliases,
//! tags, merge keys, flow collections, deep nesting, documents markers, control characters,
//! numbers at the edges).
//!
//! # The corpus
//!
//! `tests/fixtures/corpus/stack/` and `tests/fixtures/corpus/users/` hold small files every
//! run replays through the same checks, and so do the broken files of
//! `tests/fixtures/hostile/{stack,users}/` (whose exact messages `tests/hostile_input.rs`
//! checks). To add a case, drop a file in the corpus directory (`bug-` prefix for a
//! regression). A failing property prints the shrunk input, and proptest records its seed
//! under `proptest-regressions/` (check it in, and copy the input into the corpus).
//!
//! `PROPTEST_CASES=100000 cargo test --test config_fuzz` runs a longer session.

#[path = "../lambdas/records/tests/fuzzkit/mod.rs"]
mod fuzzkit;

use ecomflow_infra::config::{self, ConfigErrors};
use ecomflow_infra::users;
use fuzzkit::{assert_memory_bounded, corpus, measure, mutated, preview};
use proptest::prelude::*;
use std::path::PathBuf;

#[global_allocator]
static ALLOC: fuzzkit::PeakAlloc = fuzzkit::PeakAlloc;

/// Bytes live per input byte. The YAML node tree keeps a span (two positions) and an owned
/// string per scalar, the loader keeps a pristine copy of the tree to point errors at lines,
/// and the typed value is built on top: a file of one-character flow items (`[a,a,...]`)
/// costs about 175 bytes per input byte (measured: 139 MB for 800 KB). Stack files are
/// refused above 1 MiB before any of this, so a stack file costs at most about 180 MB; a
/// users file may be 4 MiB, which in that shape would need about 700 MB (the users file's
/// size limit is what bounds it).
const PER_BYTE: usize = 400;

/// Most bytes an error report may take (100 errors of a few hundred characters each).
const MAX_REPORT: usize = 128 * 1024;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Which loader reads an input.
#[derive(Debug, Clone, Copy)]
enum Loader {
    Stack,
    Users,
}

/// The checks for one input, through one loader.
fn check(loader: Loader, bytes: &[u8]) {
    let what = format!("{loader:?} {}", preview(bytes));
    // The loaders take text, as `load_file` does once it has refused non-UTF-8 bytes.
    let text = String::from_utf8_lossy(bytes);
    let (errors, peak) = measure(|| match loader {
        Loader::Stack => config::load_str("fuzz.yaml", &text, None).err(),
        Loader::Users => users::file::load_str("fuzz.yaml", &text, &["team".to_owned()]).err(),
    });
    assert_memory_bounded(&what, peak, text.len(), PER_BYTE);
    if let Some(errors) = errors {
        check_errors(&what, &text, &errors);
    }
}

fn check_errors(what: &str, text: &str, errors: &ConfigErrors) {
    assert!(!errors.0.is_empty(), "{what}: an error list without errors");
    // YAML breaks lines at `\n`, `\r\n` and a lone `\r`; an error may point at the end of the
    // file, one line past the last break.
    let breaks = text.replace("\r\n", "\n").matches(['\n', '\r']).count();
    let lines = breaks + 2;
    for e in &errors.0 {
        assert!(
            !e.message.trim().is_empty(),
            "{what}: an error without a message"
        );
        assert!(
            e.line <= lines,
            "{what}: line {} of a {lines} line file",
            e.line
        );
        assert_eq!(e.file, "fuzz.yaml");
    }
    let report = errors.to_string();
    assert!(
        report.len() <= MAX_REPORT,
        "{what}: a {} byte report",
        report.len()
    );
    assert!(
        !report.chars().any(|c| c.is_control() && c != '\n'),
        "{what}: raw control character in {report:.300}"
    );
}

fn stack_seeds() -> Vec<Vec<u8>> {
    ["dev", "prod", "ci", "local"]
        .iter()
        .map(|s| std::fs::read(root().join(format!("stacks/{s}.yaml"))).unwrap())
        .collect()
}

fn users_seeds() -> Vec<Vec<u8>> {
    vec![std::fs::read(root().join("cognito-users.yaml")).unwrap()]
}

/// One YAML line: indentation, an optional sequence dash, a key from the schemas (or not),
/// and a hostile value.
fn yaml_line() -> impl Strategy<Value = String> {
    let key = proptest::sample::select(vec![
        "app",
        "env",
        "region",
        "protected",
        "tags",
        "stream",
        "mode",
        "shards",
        "retention_hours",
        "functions",
        "memory_mb",
        "timeout_seconds",
        "bucket",
        "alerts",
        "emails",
        "warehouse",
        "enabled",
        "users",
        "username",
        "email",
        "groups",
        "name",
        "attributes",
        "precedence",
        "description",
        "<<",
        "? complex",
        "\"quoted key\"",
        "",
    ]);
    let value = prop_oneof![
        3 => proptest::sample::select(vec![
            "", "ecomflow", "dev", "us-east-1", "true", "yes", "~", "null", "0x10", "1e400",
            "-1", "99999999999999999999999", ".nan", "&a x", "*a", "!!binary aGk=", "!custom x",
            "[", "]", "{", "}", "[a, [b, {c: d}]]", "{a: 1, a: 2}", "|", ">-", "'unterminated",
            "\"unterminated", "\"\\u0000\\x1b[2J\"", "---", "...", "%YAML 1.2", "@at", "`tick",
            "a@example.com", "[producers, analysts]", "\t", "\u{feff}", "\u{202e}rtl",
        ])
        .prop_map(str::to_owned),
        2 => "\\PC{0,20}",
        1 => (1usize..300).prop_map(|d| format!("{}{}", "[".repeat(d), "]".repeat(d))),
        1 => (1usize..2000).prop_map(|n| "x".repeat(n)),
        1 => proptest::collection::vec(any::<char>(), 0..8).prop_map(|c| c.into_iter().collect()),
    ];
    (0usize..4, any::<bool>(), key, value).prop_map(|(indent, dash, key, value)| {
        format!(
            "{}{}{key}: {value}",
            "  ".repeat(indent),
            if dash { "- " } else { "" }
        )
    })
}

fn structured_yaml() -> impl Strategy<Value = Vec<u8>> {
    (any::<bool>(), proptest::collection::vec(yaml_line(), 0..24))
        .prop_map(|(crlf, lines)| lines.join(if crlf { "\r\n" } else { "\n" }).into_bytes())
}

proptest! {
    #![proptest_config(fuzzkit::config(256))]

    #[test]
    fn arbitrary_text(bytes in fuzzkit::hostile_bytes(60)) {
        check(Loader::Stack, &bytes);
        check(Loader::Users, &bytes);
    }

    #[test]
    fn mutated_real_stacks(bytes in mutated(stack_seeds(), 6)) {
        check(Loader::Stack, &bytes);
    }

    #[test]
    fn mutated_real_users_file(bytes in mutated(users_seeds(), 6)) {
        check(Loader::Users, &bytes);
    }

    #[test]
    fn structured(bytes in structured_yaml()) {
        check(Loader::Stack, &bytes);
        check(Loader::Users, &bytes);
    }
}

#[test]
fn stack_corpus_replays() {
    for dir in [
        "tests/fixtures/corpus/stack",
        "tests/fixtures/hostile/stack",
    ] {
        for (path, bytes) in corpus(&root().join(dir)) {
            eprintln!("{}", path.display());
            check(Loader::Stack, &bytes);
        }
    }
}

#[test]
fn users_corpus_replays() {
    for dir in [
        "tests/fixtures/corpus/users",
        "tests/fixtures/hostile/users",
    ] {
        for (path, bytes) in corpus(&root().join(dir)) {
            eprintln!("{}", path.display());
            check(Loader::Users, &bytes);
        }
    }
}

/// The real files load, and pass the same checks (so the checks do not refuse everything).
#[test]
fn the_real_files_load() {
    for bytes in stack_seeds() {
        let text = String::from_utf8(bytes).unwrap();
        config::load_str("fuzz.yaml", &text, None).unwrap();
        check(Loader::Stack, text.as_bytes());
    }
    let text = String::from_utf8(users_seeds().remove(0)).unwrap();
    users::file::load_str("fuzz.yaml", &text, &[]).unwrap();
}

/// Large shapes made at run time: at the size limits, in the shapes that cost most per byte.
#[test]
fn big_hostile_shapes() {
    let many_items = format!(
        "app: ecomflow\nenv: dev\nregion: us-east-1\ntags: [{}]\n",
        "a,".repeat(400_000)
    );
    check(Loader::Stack, many_items.as_bytes());
    let many_keys: String = (0..60_000).map(|i| format!("k{i}: v\n")).collect();
    check(Loader::Stack, many_keys.as_bytes());
    let many_users: String = std::iter::once("users:\n".to_owned())
        .chain((0..20_000).map(|i| format!("  - username: u{i}\n    email: u{i}@example.com\n")))
        .collect();
    check(Loader::Users, many_users.as_bytes());
    let deep = format!("users: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    check(Loader::Users, deep.as_bytes());
}
