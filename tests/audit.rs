//! Prowler (the AWS security auditor) against the dev and prod stacks applied on the emulator:
//! no unmuted FAIL on a stack's own resources.
//!
//! `scripts/audit` does the work, once per stack file: an emulator of its own started with
//! `--tls-terminated` (so the stacks' TLS-only bucket policy admits the tool), `apply` of the
//! file as it is with the binary under test (`ECOMFLOW_TOOL`) and the dev Lambda packages,
//! then prowler over the services the stack uses, with the committed mutelist
//! `scripts/prowler-mutelist.yaml` (its header says what may be muted). prowler itself comes
//! from `scripts/ensure-prowler`, which the script runs: the first run installs it into
//! `target/prowler-venv` (minutes), later runs reuse it. Each stack then takes about a minute
//! (apply about 10 s, prowler about 45 s); the two run side by side.
//!
//! The test fails with the script's report (each FAIL with prowler's explanation) when the
//! script exits non-zero, and never passes vacuously: prowler must have reported at least
//! [`MIN_OWN_PASS`] PASS findings on the stack's own resources (dev and prod give about 120
//! each), so a scan that reached little of the stack fails.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

/// PASS findings prowler must report on the stack's own resources.
const MIN_OWN_PASS: u64 = 80;

/// The count of `status` on the summary's line for the stack's own resources
/// (`on the stack's resources: FAIL 0 PASS 117 MUTED 33 MANUAL 0`).
fn own_count(report: &str, status: &str) -> Option<u64> {
    let line = report
        .lines()
        .find_map(|l| l.strip_prefix("on the stack's resources: "))?;
    let words: Vec<&str> = line.split_whitespace().collect();
    words
        .windows(2)
        .find(|w| w[0] == status)
        .and_then(|w| w[1].parse().ok())
}

/// Runs `scripts/audit stacks/<stack>.yaml` and checks its verdict and summary.
fn audit(stack: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let started = Instant::now();
    let out = Command::new(root.join("scripts/audit"))
        .arg(root.join("stacks").join(format!("{stack}.yaml")))
        .current_dir(root)
        .env("ECOMFLOW_TOOL", env!("CARGO_BIN_EXE_ecomflow-infra"))
        .env(
            "ECOMFLOW_PACKAGES",
            root.join("target/lambda-packages/dev-x86_64"),
        )
        .stdin(Stdio::null())
        .output()
        .expect("run scripts/audit");
    let seconds = started.elapsed().as_secs();
    let report = String::from_utf8_lossy(&out.stdout);
    let errors = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "scripts/audit stacks/{stack}.yaml failed ({}) after {seconds} s: exit 1 is an unmuted \
         FAIL on the stack's resources (fix it, or mute it in scripts/prowler-mutelist.yaml \
         with its reason), exit 2 an audit that could not run\n{report}\n{errors}",
        out.status
    );
    let pass = own_count(&report, "PASS")
        .unwrap_or_else(|| panic!("no summary of the stack's resources in:\n{report}"));
    assert!(
        pass >= MIN_OWN_PASS,
        "prowler reported only {pass} PASS findings on the {stack} stack's resources (at least \
         {MIN_OWN_PASS} expected): the scan missed most of the stack\n{report}\n{errors}"
    );
    eprintln!("audit of stacks/{stack}.yaml: {pass} PASS on its resources, {seconds} s");
}

#[test]
fn dev_and_prod_have_no_unmuted_prowler_fail() {
    support::lambda_packages();
    // prowler installed once (the script would otherwise install it twice at once).
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let installed = Command::new(root.join("scripts/ensure-prowler"))
        .current_dir(root)
        .stdout(Stdio::null())
        .status()
        .expect("run scripts/ensure-prowler");
    assert!(installed.success(), "scripts/ensure-prowler failed");
    // Each stack on its own emulator: the two audits run side by side.
    std::thread::scope(|s| {
        let dev = s.spawn(|| audit("dev"));
        audit("prod");
        dev.join().expect("the dev audit");
    });
}
