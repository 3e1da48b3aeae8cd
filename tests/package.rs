//! `ecomflow_infra::package` against the real Lambda crates: a dev build of every function,
//! its `bootstrap.zip`, the glibc each bootstrap needs, and determinism; and the arm64 check.

use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ecomflow_infra::package::{
    build, code_sha256, glibc_requirements, render_artifacts, Arch, Artifact, BuildOptions,
    GlibcVersion, PackageError, LAMBDA_GLIBC,
};

/// Both tests run cargo on the same workspace: one build at a time keeps their output apart.
static BUILDS: Mutex<()> = Mutex::new(());

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn dev_options(arch: Arch) -> BuildOptions {
    let mut opts = BuildOptions::new(workspace());
    opts.profile = "dev".to_string();
    opts.arch = arch;
    opts
}

/// The one entry of a deployment package: (name, unix mode, contents).
fn only_entry(zip_path: &Path) -> (String, Option<u32>, Vec<u8>) {
    let bytes = std::fs::read(zip_path).unwrap();
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    assert_eq!(archive.len(), 1, "{} has one entry", zip_path.display());
    let mut entry = archive.by_index(0).unwrap();
    let mut contents = Vec::new();
    entry.read_to_end(&mut contents).unwrap();
    (entry.name().to_string(), entry.unix_mode(), contents)
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(b[at..at + 2].try_into().unwrap())
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// Asserts `b` is a 64-bit little-endian ELF executable (`ET_EXEC`, or a PIE: `ET_DYN` with a
/// `PT_INTERP` program interpreter) for `machine`.
fn assert_elf_executable(name: &str, b: &[u8], machine: u16) {
    assert!(b.len() > 64, "{name}: too short for an ELF header");
    assert_eq!(&b[..4], b"\x7fELF", "{name}: ELF magic");
    assert_eq!(b[4], 2, "{name}: ELFCLASS64");
    assert_eq!(b[5], 1, "{name}: little-endian");
    assert_eq!(u16_at(b, 18), machine, "{name}: e_machine");
    let e_type = u16_at(b, 16);
    let (phoff, phentsize, phnum) = (
        u64_at(b, 32) as usize,
        u16_at(b, 54) as usize,
        u16_at(b, 56) as usize,
    );
    let has_interp = (0..phnum).any(|i| u32_at(b, phoff + i * phentsize) == 3);
    assert!(
        e_type == 2 || (e_type == 3 && has_interp),
        "{name}: e_type {e_type}, PT_INTERP {has_interp}: not an executable"
    );
}

fn aarch64_target_installed() -> bool {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = std::process::Command::new(rustc)
        .current_dir(workspace())
        .args(["--print", "sysroot"])
        .output()
        .expect("rustc runs");
    assert!(out.status.success());
    let sysroot = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    sysroot
        .join("lib/rustlib/aarch64-unknown-linux-gnu/lib")
        .is_dir()
}

/// Checks every package `build(opts)` made and returns the bootstraps they hold.
fn check_packages(opts: &BuildOptions, artifacts: &[Artifact]) -> Vec<Vec<u8>> {
    let names: Vec<&str> = artifacts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["ingest", "process", "query"]);
    eprint!("{}", render_artifacts(artifacts));

    let scratch = tempfile::tempdir().unwrap();
    let mut bootstraps = Vec::new();
    for a in artifacts {
        assert!(
            a.zip_path.ends_with(format!(
                "lambda-packages/{}-x86_64/{}/bootstrap.zip",
                opts.profile, a.name
            )),
            "{}",
            a.zip_path.display()
        );
        assert_eq!(opts.zip_path(&a.name).unwrap(), a.zip_path);
        let zip_bytes = std::fs::read(&a.zip_path).expect("the zip exists");
        assert_eq!(zip_bytes.len() as u64, a.size_bytes, "{}", a.name);
        assert_eq!(code_sha256(&zip_bytes), a.code_sha256, "{}", a.name);

        let (entry, mode, bootstrap) = only_entry(&a.zip_path);
        assert_eq!(entry, "bootstrap", "{}", a.name);
        assert_eq!(mode.map(|m| m & 0o777), Some(0o755), "{}", a.name);
        assert_elf_executable(&a.name, &bootstrap, 62);
        assert!(
            bootstrap == std::fs::read(&a.binary).unwrap(),
            "{}: the zip holds the built binary",
            a.name
        );

        // The required check: each bootstrap needs no glibc symbol newer than 2.34.
        let extracted = scratch.path().join(&a.name);
        std::fs::write(&extracted, &bootstrap).unwrap();
        let report = glibc_requirements(&extracted).unwrap();
        let max = report
            .max_version()
            .expect("a dynamically linked bootstrap");
        eprintln!(
            "{}: {} bytes, needs glibc {max} ({} symbols at {max}: {})",
            a.name,
            bootstrap.len(),
            report.max_version_symbols().len(),
            report.max_version_symbols().join(" ")
        );
        assert!(
            max <= GlibcVersion::from(LAMBDA_GLIBC),
            "{} needs glibc {max}: {:?}",
            a.name,
            report.newer_than(GlibcVersion::LAMBDA)
        );
        assert!(report.newer_than(GlibcVersion::LAMBDA).is_empty());
        assert!(report.unrecognized.is_empty(), "{:?}", report.unrecognized);
        assert_eq!(a.max_glibc, Some(max));
        bootstraps.push(bootstrap);
    }
    bootstraps
}

#[test]
fn dev_build_packages_each_function_as_a_deterministic_bootstrap_zip() {
    let _one_build = BUILDS.lock().unwrap_or_else(|e| e.into_inner());
    let opts = dev_options(Arch::X86_64);
    let first = build(&opts).expect("dev build of the lambdas");
    let first_binaries = check_packages(&opts, &first);

    let second = build(&opts).expect("second dev build");
    for ((a, b), first_binary) in first.iter().zip(&second).zip(&first_binaries) {
        assert_eq!(a.name, b.name);
        // Only a source edit made while this test runs can change the binary; say so rather
        // than report a packaging fault.
        assert!(
            std::fs::read(&b.binary).unwrap() == *first_binary,
            "{}: the second build made a different binary: was the code edited meanwhile?",
            a.name
        );
        assert_eq!(
            a.code_sha256, b.code_sha256,
            "{}: unchanged code, unchanged hash",
            a.name
        );
        assert_eq!(a.size_bytes, b.size_bytes);
    }
}

#[test]
fn arm64_needs_the_aarch64_target() {
    let _one_build = BUILDS.lock().unwrap_or_else(|e| e.into_inner());
    let result = build(&dev_options(Arch::Arm64));
    if aarch64_target_installed() {
        let artifacts = result.expect("the aarch64 target is installed, so the arm64 build works");
        for a in &artifacts {
            let (_, _, bootstrap) = only_entry(&a.zip_path);
            assert_elf_executable(&a.name, &bootstrap, 183);
        }
    } else {
        let err = result.expect_err("the aarch64 target is not installed");
        assert!(
            matches!(err, PackageError::TargetNotInstalled { arch: Arch::Arm64 }),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains("`rustup target add aarch64-unknown-linux-gnu`"),
            "{msg}"
        );
    }
}

/// The optimized build that `ecomflow-infra build` makes (LTO: several minutes on two cores),
/// through the same checks: `cargo test --test package -- --ignored`.
#[test]
#[ignore = "slow: an LTO build of every function"]
fn lambda_profile_build_packages_each_function() {
    let _one_build = BUILDS.lock().unwrap_or_else(|e| e.into_inner());
    let opts = BuildOptions::new(workspace());
    assert_eq!(opts.profile, "lambda");
    let artifacts = build(&opts).expect("lambda-profile build of the lambdas");
    check_packages(&opts, &artifacts);
}

/// The check catches what it is for: a C program calling `arc4random`, new in glibc 2.36.
#[test]
fn a_symbol_newer_than_the_runtime_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("new.c");
    std::fs::write(
        &source,
        "#include <stdlib.h>\nint main(void) { return (int)(arc4random() & 1); }\n",
    )
    .unwrap();
    let exe = dir.path().join("new");
    let cc = std::env::var_os("CC").unwrap_or_else(|| "cc".into());
    let status = std::process::Command::new(cc)
        .arg(&source)
        .arg("-o")
        .arg(&exe)
        .status()
        .expect("a C compiler `cc` (Rust's linker on Linux)");
    assert!(
        status.success(),
        "cc builds a program calling arc4random (needs glibc 2.36 or later here)"
    );
    let report = glibc_requirements(&exe).unwrap();
    assert!(report.max_version().unwrap() >= GlibcVersion::new(2, 36, 0));
    let too_new = report.newer_than(GlibcVersion::LAMBDA);
    assert!(
        too_new.iter().any(|s| s == "arc4random@GLIBC_2.36"),
        "{too_new:?}"
    );
    assert!(report
        .requirements
        .get(&GlibcVersion::new(2, 36, 0))
        .is_some_and(|symbols| symbols.iter().any(|s| s == "arc4random")));
}
