//! Set-up shared by the benchmarks (included with `#[path]`; not an example of its own).
#![allow(dead_code)]

use ecomflow_testkit::Moto;
use std::path::{Path, PathBuf};

/// Dummy credentials (so the SDK never looks for instance metadata), an emulator on a free
/// loopback port, the Lambda packages built with the quick `dev` profile (the stack declares
/// the functions; only their code hashes matter), and the repository as working directory.
pub async fn emulator_with_packages() -> Moto {
    emulator_with_profile_packages("dev").await.0
}

/// As [`emulator_with_packages`], with the packages built by cargo profile `profile`
/// (`lambda` is what `ecomflow-infra build` makes and an apply uploads); also returns the
/// directory holding them, and their total size in bytes.
pub async fn emulator_with_profile_packages(profile: &str) -> (Moto, PathBuf, u64) {
    std::env::set_var("AWS_ACCESS_KEY_ID", "bench");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "bench");
    std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    let moto = tokio::task::spawn_blocking(Moto::start).await.unwrap();
    let opts = ecomflow_infra::package::BuildOptions {
        profile: profile.into(),
        ..ecomflow_infra::package::BuildOptions::new(env!("CARGO_MANIFEST_DIR"))
    };
    let built = tokio::task::spawn_blocking(move || ecomflow_infra::package::build(&opts))
        .await
        .unwrap()
        .expect("build the Lambda packages");
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).unwrap();
    let dir = built[0]
        .zip_path
        .parent()
        .and_then(Path::parent)
        .expect("<dir>/<function>/bootstrap.zip")
        .to_path_buf();
    let bytes = built.iter().map(|a| a.size_bytes).sum();
    (moto, dir, bytes)
}

/// The value after `--name` on the command line, or `default`.
pub fn arg<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::args()
        .skip_while(|a| a != name)
        .nth(1)
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name} takes a value, not {v:?}"))
        })
        .unwrap_or(default)
}

/// `stacks/local.yaml` with `edit` applied and the emulator's own event source mapping
/// turned off (it invokes a stub for every record put, about 2 ms each, which would measure
/// the emulator; `local serve` plays the mapping instead), written into `dir`.
pub fn stack_without_mapping(dir: &Path, edit: impl Fn(String) -> String) -> PathBuf {
    let local = std::fs::read_to_string("stacks/local.yaml").unwrap();
    let file = dir.join("bench.yaml");
    std::fs::write(
        &file,
        format!(
            "{}\nprocessing:\n  event_source_mapping: false\n",
            edit(local)
        ),
    )
    .unwrap();
    file
}

/// Starts `local serve` in this process on a free port, against the emulator at `endpoint`
/// with the stack file `file`, its checkpoint under `dir`: the API and the stream poller (its
/// process function turning records into DynamoDB items and Firehose deliveries), with the
/// handlers in-process, so that a benchmark measures the pipeline rather than the start-up of
/// a debug bootstrap per execution environment. `poll_interval` is the pause between empty
/// polls of a shard. Returns the API's URL once it answers.
pub async fn local_serve(endpoint: &str, file: &Path, dir: &Path, poll_interval: &str) -> String {
    use ecomflow_infra::cli::{Global, LocalServeArgs, Output};
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let global = Global {
        stack: file.to_path_buf(),
        instance: None,
        region: None,
        profile: None,
        endpoint_url: Some(endpoint.to_string()),
        verbose: 0,
        quiet: true,
        output: Output::Text,
        packages: None,
        lock_timeout: std::time::Duration::ZERO,
        lock_lease: std::time::Duration::from_secs(60),
        stack_given: true,
    };
    let serve_args = LocalServeArgs {
        port,
        checkpoint: Some(dir.join("checkpoint.json")),
        poll_interval: poll_interval.parse().expect("a duration"),
        no_poller: false,
        in_process: true,
    };
    tokio::spawn(async move { ecomflow_infra::local::serve(&global, &serve_args).await });
    let api = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while http.get(format!("{api}/invoices/1")).send().await.is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "local serve did not start"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    api
}
