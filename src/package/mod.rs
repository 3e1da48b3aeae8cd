//! Building and packaging the Lambda bootstraps for the `provided.al2023` runtime.
//!
//! [`build`] compiles the function crates (`lambdas/<name>`, each with a binary of the same
//! name) with cargo, checks that each executable runs on the runtime's glibc
//! ([`LAMBDA_GLIBC`]), and writes a deterministic zip holding the executable as `bootstrap`
//! (mode 0755), so unchanged code gives an unchanged [`Artifact::code_sha256`], comparable with
//! the `CodeSha256` that AWS Lambda reports.
//!
//! The packages go to `<target-dir>/lambda-packages/<profile>-<arch>/<name>/bootstrap.zip`
//! (see [`BuildOptions::zip_path`]): not `<target-dir>/lambda/`, which is where cargo puts the
//! `lambda` profile's own output, and one directory per profile and architecture, so a quick
//! `dev` build (as the tests make) never replaces the package of an optimized one.
//!
//! Everything here is synchronous (`std::process`); call it from `spawn_blocking` in async code.

pub(crate) mod archive;
mod elf;

use std::fmt;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::str::FromStr;

use serde::Deserialize;

pub use archive::{code_sha256, zip_bootstrap, BOOTSTRAP, BOOTSTRAP_MODE};
pub use elf::{glibc_requirements, GlibcReport, GlibcVersion, LAMBDA_GLIBC};

/// The functions built by default: the member crates `lambdas/ingest`, `lambdas/process`
/// and `lambdas/query`.
pub const DEFAULT_FUNCTIONS: [&str; 3] = ["ingest", "process", "query"];

/// The cargo profile used by default: `[profile.lambda]` of the root `Cargo.toml` (release
/// with LTO, one codegen unit, stripped).
pub const DEFAULT_PROFILE: &str = "lambda";

const EM_X86_64: u16 = 62;
const EM_AARCH64: u16 = 183;

/// A Lambda instruction set architecture.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Arch {
    /// `x86_64`, built for `x86_64-unknown-linux-gnu`.
    #[default]
    #[value(name = "x86_64", alias = "x86-64", alias = "amd64")]
    X86_64,
    /// `arm64` (Graviton), built for `aarch64-unknown-linux-gnu`.
    #[value(name = "arm64", alias = "aarch64")]
    Arm64,
}

impl Arch {
    /// The Rust target triple to compile for.
    pub fn target_triple(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64-unknown-linux-gnu",
            Arch::Arm64 => "aarch64-unknown-linux-gnu",
        }
    }

    /// The name Lambda uses in a function's `Architectures`.
    pub fn lambda_name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Arm64 => "arm64",
        }
    }

    fn elf_machine(self) -> u16 {
        match self {
            Arch::X86_64 => EM_X86_64,
            Arch::Arm64 => EM_AARCH64,
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.lambda_name())
    }
}

impl FromStr for Arch {
    type Err = String;

    /// Accepts the Lambda names (`x86_64`, `arm64`) and the usual aliases (`amd64`, `aarch64`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        <Arch as clap::ValueEnum>::from_str(s, true)
            .map_err(|_| format!("unknown architecture `{s}`: expected `x86_64` or `arm64`"))
    }
}

/// What to build and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildOptions {
    /// The cargo workspace holding the function crates (its `Cargo.toml` is used).
    pub workspace_root: PathBuf,
    /// The functions to build: workspace packages, each with a binary of the same name.
    pub functions: Vec<String>,
    /// The architecture to build for.
    pub arch: Arch,
    /// The cargo profile: [`DEFAULT_PROFILE`], or `dev` for quick unoptimized builds.
    pub profile: String,
}

impl BuildOptions {
    /// The defaults for `workspace_root`: every function, x86_64, the `lambda` profile.
    pub fn new(workspace_root: impl Into<PathBuf>) -> Self {
        BuildOptions {
            workspace_root: workspace_root.into(),
            functions: DEFAULT_FUNCTIONS.iter().map(|f| f.to_string()).collect(),
            arch: Arch::default(),
            profile: DEFAULT_PROFILE.to_string(),
        }
    }

    /// Where [`build`] writes the package of `function`:
    /// `<target-dir>/lambda-packages/<profile>-<arch>/<function>/bootstrap.zip`, with the
    /// workspace's target directory as cargo reports it (`CARGO_TARGET_DIR` and cargo config
    /// count). Runs `cargo metadata`; the file exists only once a build has made it.
    pub fn zip_path(&self, function: &str) -> Result<PathBuf, PackageError> {
        Ok(self.package_path(&target_directory(&self.workspace_root)?, function))
    }

    fn package_path(&self, target_dir: &Path, function: &str) -> PathBuf {
        target_dir
            .join("lambda-packages")
            .join(format!("{}-{}", self.profile, self.arch.lambda_name()))
            .join(function)
            .join("bootstrap.zip")
    }
}

/// One packaged function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// The function (and package, and binary) name.
    pub name: String,
    /// The executable cargo built, packaged as `bootstrap`.
    pub binary: PathBuf,
    /// The deployment package (see [`BuildOptions::zip_path`]).
    pub zip_path: PathBuf,
    /// The size of the deployment package in bytes.
    pub size_bytes: u64,
    /// The base64 SHA-256 of the deployment package, as Lambda reports `CodeSha256`.
    pub code_sha256: String,
    /// The newest glibc the executable needs (`None` for a static executable).
    pub max_glibc: Option<GlibcVersion>,
}

impl fmt::Display for Artifact {
    /// `name  size  glibc  sha  path` on one line; a width (`{:12}`) pads the name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = f.width().unwrap_or(0);
        let glibc = self
            .max_glibc
            .map_or_else(|| "static".to_string(), |v| format!("glibc {v}"));
        write!(
            f,
            "{:<width$}  {:>10}  {:<11}  {}  {}",
            self.name,
            human_size(self.size_bytes),
            glibc,
            self.code_sha256,
            self.zip_path.display(),
        )
    }
}

/// The report printed after a build: one aligned line per function.
/// Then where each package goes for a CloudFormation deployment of `export cloudformation`'s
/// template: its content-addressed key in the bucket of the template's code parameter.
pub fn render_artifacts(artifacts: &[Artifact]) -> String {
    let width = artifacts.iter().map(|a| a.name.len()).max().unwrap_or(0);
    let mut out: String = artifacts.iter().map(|a| format!("{a:width$}\n")).collect();
    if !artifacts.is_empty() {
        out.push_str(&format!(
            "for CloudFormation (`export cloudformation`), upload each to its key in the bucket of the template's {} parameter:\n",
            crate::cloudformation::CODE_BUCKET_PARAMETER
        ));
        for a in artifacts {
            out.push_str(&format!(
                "  {:width$}  {}\n",
                a.name,
                crate::cloudformation::code_key(&a.name, &a.code_sha256)
            ));
        }
    }
    out
}

/// `812.4 KiB`, `23.1 MiB`.
fn human_size(bytes: u64) -> String {
    const KIB: f64 = 1024.0;
    let b = bytes as f64;
    if b < KIB * KIB {
        format!("{:.1} KiB", b / KIB)
    } else {
        format!("{:.1} MiB", b / (KIB * KIB))
    }
}

/// Why a build failed, and what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// The Rust standard library for the target is not installed.
    #[error(
        "the Rust target {triple} (for {arch}) is not installed: install it with \
         `rustup target add {triple}`; cross-compiling also needs a linker for it (e.g. \
         `{linker_var}=aarch64-linux-gnu-gcc`, or build on an {arch} machine)",
        triple = arch.target_triple(),
        linker_var = linker_env_var(*arch)
    )]
    TargetNotInstalled {
        /// The requested architecture.
        arch: Arch,
    },
    /// A function name that cannot be a package/binary name.
    #[error(
        "invalid function name `{0}`: expected a workspace package name (letters, digits, `-`, `_`)"
    )]
    InvalidFunction(String),
    /// Nothing to build.
    #[error("no functions to build")]
    NoFunctions,
    /// cargo or rustc could not be started or gave unreadable output.
    #[error("could not run `{command}`: {message}; is the Rust toolchain (cargo, rustc) on PATH?")]
    Toolchain {
        /// The command line.
        command: String,
        /// What went wrong.
        message: String,
    },
    /// `cargo build` exited with an error (its messages were printed above).
    #[error("`{command}` failed ({status}): see cargo's messages above{hint}")]
    CargoFailed {
        /// The command line.
        command: String,
        /// Its exit status.
        status: ExitStatus,
        /// Extra advice for cross builds (empty otherwise).
        hint: String,
    },
    /// cargo succeeded but produced no binary for a function.
    #[error(
        "cargo built no binary named `{0}`: each function must be a workspace package with a \
         `[[bin]]` of the same name (like lambdas/{0})"
    )]
    MissingBinary(String),
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Writing the zip failed.
    #[error("packaging {}: {source}", path.display())]
    Zip {
        /// The package being written.
        path: PathBuf,
        /// The error.
        source: zip::result::ZipError,
    },
    /// A built file is not a readable ELF executable.
    #[error("{} is not a readable ELF executable: {message}", path.display())]
    Elf {
        /// The file.
        path: PathBuf,
        /// What the ELF reader said.
        message: String,
    },
    /// A built executable is for another machine (e.g. a `build.target` in `.cargo/config.toml`).
    #[error(
        "the `{function}` binary {} is not an {arch} executable (ELF machine {machine}): \
         check `build.target` in .cargo/config.toml and CARGO_BUILD_TARGET",
        binary.display()
    )]
    WrongMachine {
        /// The function.
        function: String,
        /// The executable.
        binary: PathBuf,
        /// The requested architecture.
        arch: Arch,
        /// Its `e_machine`.
        machine: u16,
    },
    /// An executable needs a newer glibc than the runtime has.
    #[error(
        "the `{function}` bootstrap needs glibc {required} but the provided.al2023 runtime has \
         glibc {}.{}; symbols too new: {}. Build where glibc is at most {}.{} (for example in \
         an Amazon Linux 2023 container), or drop the dependency that pulls these symbols in",
        LAMBDA_GLIBC.0, LAMBDA_GLIBC.1, symbols.join(", "), LAMBDA_GLIBC.0, LAMBDA_GLIBC.1
    )]
    GlibcTooNew {
        /// The function.
        function: String,
        /// The newest version it needs (or the runtime's own, for unrecognized names).
        required: GlibcVersion,
        /// `symbol@GLIBC_x.y` for every symbol newer than the runtime's glibc.
        symbols: Vec<String>,
    },
}

fn linker_env_var(arch: Arch) -> String {
    format!(
        "CARGO_TARGET_{}_LINKER",
        arch.target_triple().to_uppercase().replace('-', "_")
    )
}

/// Builds `opts.functions` with cargo and packages each as `bootstrap.zip`.
///
/// Runs `cargo build --profile <profile> -p <name>...` in the workspace, passing `--target`
/// only when `opts.arch` is not the host's (so a native build reuses the usual `target/<dir>`
/// and its compiled dependencies). Cargo's progress and errors go to this process's stderr.
/// Fails, before zipping anything, if an executable is for the wrong machine or needs a glibc
/// newer than [`LAMBDA_GLIBC`].
pub fn build(opts: &BuildOptions) -> Result<Vec<Artifact>, PackageError> {
    if opts.functions.is_empty() {
        return Err(PackageError::NoFunctions);
    }
    if let Some(bad) = opts.functions.iter().find(|f| !valid_function_name(f)) {
        return Err(PackageError::InvalidFunction(bad.clone()));
    }
    let root = &opts.workspace_root;
    let triple = opts.arch.target_triple();
    let cross = host_triple(root)? != triple;
    if cross && !target_installed(root, triple)? {
        return Err(PackageError::TargetNotInstalled { arch: opts.arch });
    }

    let mut cargo = Command::new(cargo_program());
    cargo
        .current_dir(root)
        .arg("build")
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .args(["--profile", &opts.profile])
        .arg("--message-format=json-render-diagnostics");
    if cross {
        cargo.args(["--target", triple]);
    }
    for f in &opts.functions {
        cargo.args(["-p", f]);
    }
    let executables = run_cargo_build(&mut cargo, opts.arch, cross, &opts.functions)?;

    let target_dir = target_directory(root)?;
    let mut checked = Vec::new();
    for (name, binary) in opts.functions.iter().zip(executables) {
        let bytes = std::fs::read(&binary).map_err(|source| PackageError::Io {
            path: binary.clone(),
            source,
        })?;
        let (machine, glibc) = elf::inspect(&bytes).map_err(|message| PackageError::Elf {
            path: binary.clone(),
            message,
        })?;
        if machine != opts.arch.elf_machine() {
            return Err(PackageError::WrongMachine {
                function: name.clone(),
                binary,
                arch: opts.arch,
                machine,
            });
        }
        let too_new = glibc.newer_than(GlibcVersion::LAMBDA);
        if !too_new.is_empty() {
            return Err(PackageError::GlibcTooNew {
                function: name.clone(),
                required: glibc
                    .max_version()
                    .map_or(GlibcVersion::LAMBDA, |v| v.max(GlibcVersion::LAMBDA)),
                symbols: too_new,
            });
        }
        checked.push((name, binary, bytes, glibc.max_version()));
    }

    let mut artifacts = Vec::new();
    for (name, binary, bytes, max_glibc) in checked {
        let zip_path = opts.package_path(&target_dir, name);
        let dir = zip_path.parent().expect("a package path has a directory");
        let package = zip_bootstrap(&bytes).map_err(|source| PackageError::Zip {
            path: zip_path.clone(),
            source,
        })?;
        write_atomically(dir, &zip_path, &package)?;
        artifacts.push(Artifact {
            name: name.clone(),
            binary,
            size_bytes: package.len() as u64,
            code_sha256: code_sha256(&package),
            zip_path,
            max_glibc,
        });
    }
    Ok(artifacts)
}

fn valid_function_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn cargo_program() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

fn rustc_program() -> std::ffi::OsString {
    std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into())
}

fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `cmd` and returns its stdout, or a [`PackageError::Toolchain`].
fn capture(cmd: &mut Command) -> Result<String, PackageError> {
    let command = describe(cmd);
    let fail = |message: String| PackageError::Toolchain {
        command: command.clone(),
        message,
    };
    let out = cmd
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| fail(e.to_string()))?;
    if !out.status.success() {
        return Err(fail(format!("it exited with {}", out.status)));
    }
    String::from_utf8(out.stdout).map_err(|_| fail("its output is not UTF-8".into()))
}

/// The triple rustc compiles for by default (`host:` in `rustc -vV`).
fn host_triple(root: &Path) -> Result<String, PackageError> {
    let mut cmd = Command::new(rustc_program());
    cmd.current_dir(root).arg("-vV");
    let out = capture(&mut cmd)?;
    out.lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(|h| h.trim().to_string())
        .ok_or_else(|| PackageError::Toolchain {
            command: describe(&cmd),
            message: "its output has no `host:` line".into(),
        })
}

/// Whether the sysroot has the standard library for `triple` (what `rustup target add`
/// installs).
fn target_installed(root: &Path, triple: &str) -> Result<bool, PackageError> {
    let mut cmd = Command::new(rustc_program());
    cmd.current_dir(root).args(["--print", "sysroot"]);
    let sysroot = PathBuf::from(capture(&mut cmd)?.trim());
    Ok(sysroot
        .join("lib/rustlib")
        .join(triple)
        .join("lib")
        .is_dir())
}

/// The workspace's target directory (honours `CARGO_TARGET_DIR` and cargo config).
fn target_directory(root: &Path) -> Result<PathBuf, PackageError> {
    #[derive(Deserialize)]
    struct Metadata {
        target_directory: PathBuf,
    }
    let mut cmd = Command::new(cargo_program());
    cmd.current_dir(root)
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--manifest-path",
        ])
        .arg(root.join("Cargo.toml"));
    let out = capture(&mut cmd)?;
    serde_json::from_str::<Metadata>(&out)
        .map(|m| m.target_directory)
        .map_err(|e| PackageError::Toolchain {
            command: describe(&cmd),
            message: format!("unreadable metadata: {e}"),
        })
}

/// Runs the build, streaming stderr, and returns the executable of each function in order.
fn run_cargo_build(
    cargo: &mut Command,
    arch: Arch,
    cross: bool,
    functions: &[String],
) -> Result<Vec<PathBuf>, PackageError> {
    #[derive(Deserialize)]
    struct Message {
        reason: String,
        #[serde(default)]
        target: Option<Target>,
        #[serde(default)]
        executable: Option<PathBuf>,
    }
    #[derive(Deserialize)]
    struct Target {
        name: String,
        kind: Vec<String>,
    }

    let command = describe(cargo);
    let mut child = cargo
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| PackageError::Toolchain {
            command: command.clone(),
            message: e.to_string(),
        })?;
    let mut found: Vec<Option<PathBuf>> = vec![None; functions.len()];
    let stdout = child.stdout.take().expect("stdout is piped");
    for line in BufReader::new(stdout).lines() {
        let line = line.map_err(|e| PackageError::Toolchain {
            command: command.clone(),
            message: e.to_string(),
        })?;
        // Not every line is a message we know (or JSON at all): skip those.
        let Ok(msg) = serde_json::from_str::<Message>(&line) else {
            continue;
        };
        let (Some(target), Some(exe)) = (msg.target, msg.executable) else {
            continue;
        };
        if msg.reason != "compiler-artifact" || !target.kind.iter().any(|k| k == "bin") {
            continue;
        }
        if let Some(i) = functions.iter().position(|f| *f == target.name) {
            found[i] = Some(exe);
        }
    }
    let status = child.wait().map_err(|e| PackageError::Toolchain {
        command: command.clone(),
        message: e.to_string(),
    })?;
    if !status.success() {
        let hint = if cross {
            format!(
                " (a cross build needs a linker for {}: set {})",
                arch.target_triple(),
                linker_env_var(arch)
            )
        } else {
            String::new()
        };
        return Err(PackageError::CargoFailed {
            command,
            status,
            hint,
        });
    }
    functions
        .iter()
        .zip(found)
        .map(|(f, exe)| exe.ok_or_else(|| PackageError::MissingBinary(f.clone())))
        .collect()
}

/// Writes `bytes` to `path` through a temporary file in `dir`, so concurrent builds and
/// readers never see a half-written package.
fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), PackageError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| PackageError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let tmp = dir.join(format!(
        ".bootstrap.zip.{}.{:?}.tmp",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::write(&tmp, bytes).map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(path)(e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arch_names() {
        assert_eq!(Arch::default(), Arch::X86_64);
        assert_eq!(Arch::X86_64.target_triple(), "x86_64-unknown-linux-gnu");
        assert_eq!(Arch::Arm64.target_triple(), "aarch64-unknown-linux-gnu");
        assert_eq!(Arch::X86_64.lambda_name(), "x86_64");
        assert_eq!(Arch::Arm64.to_string(), "arm64");
        assert_eq!("aarch64".parse::<Arch>(), Ok(Arch::Arm64));
        assert_eq!("AMD64".parse::<Arch>(), Ok(Arch::X86_64));
        assert!("mips".parse::<Arch>().unwrap_err().contains("`arm64`"));
    }

    #[test]
    fn defaults() {
        let o = BuildOptions::new("/w");
        assert_eq!(o.functions, ["ingest", "process", "query"]);
        assert_eq!(o.profile, "lambda");
        assert_eq!(o.arch, Arch::X86_64);
        assert_eq!(
            o.package_path(Path::new("/w/target"), "ingest"),
            Path::new("/w/target/lambda-packages/lambda-x86_64/ingest/bootstrap.zip")
        );
    }

    #[test]
    fn rejects_bad_function_names_before_running_cargo() {
        for bad in ["", "--all", "../x", "a b", "ingest@1.0"] {
            let mut o = BuildOptions::new("/nonexistent");
            o.functions = vec![bad.to_string()];
            assert!(
                matches!(build(&o), Err(PackageError::InvalidFunction(ref f)) if f == bad),
                "{bad}"
            );
        }
        let mut o = BuildOptions::new("/nonexistent");
        o.functions.clear();
        assert!(matches!(build(&o), Err(PackageError::NoFunctions)));
    }

    #[test]
    fn error_messages_say_what_to_do() {
        let e = PackageError::TargetNotInstalled { arch: Arch::Arm64 };
        let msg = e.to_string();
        assert!(
            msg.contains("rustup target add aarch64-unknown-linux-gnu"),
            "{msg}"
        );
        assert!(
            msg.contains("CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER"),
            "{msg}"
        );

        let e = PackageError::GlibcTooNew {
            function: "ingest".into(),
            required: GlibcVersion::new(2, 38, 0),
            symbols: vec!["__isoc23_strtol@GLIBC_2.38".into()],
        };
        let msg = e.to_string();
        assert!(msg.contains("`ingest` bootstrap needs glibc 2.38"), "{msg}");
        assert!(msg.contains("glibc 2.34"), "{msg}");
        assert!(msg.contains("__isoc23_strtol@GLIBC_2.38"), "{msg}");
    }

    #[test]
    fn report_lines() {
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(5 * 1024 * 1024 + 512 * 1024), "5.5 MiB");
        let a = Artifact {
            name: "query".into(),
            binary: "target/lambda/query".into(),
            zip_path: "target/lambda-packages/lambda-x86_64/query/bootstrap.zip".into(),
            size_bytes: 3 * 1024 * 1024,
            code_sha256: "abc=".into(),
            max_glibc: Some(GlibcVersion::LAMBDA),
        };
        let mut b = a.clone();
        b.name = "ingest-long".into();
        b.max_glibc = None;
        let report = render_artifacts(&[a, b]);
        assert_eq!(
            report,
            "query           3.0 MiB  glibc 2.34   abc=  target/lambda-packages/lambda-x86_64/query/bootstrap.zip\n\
             ingest-long     3.0 MiB  static       abc=  target/lambda-packages/lambda-x86_64/query/bootstrap.zip\n\
             for CloudFormation (`export cloudformation`), upload each to its key in the bucket of the template's LambdaCodeBucket parameter:\n  \
             query        ecomflow-infra/lambda/query/69b7.zip\n  \
             ingest-long  ecomflow-infra/lambda/ingest-long/69b7.zip\n"
        );
    }
}
