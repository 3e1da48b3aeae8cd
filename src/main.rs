//! The `ecomflow-infra` binary: parse, call the library, render, exit code.

use clap::{CommandFactory, FromArgMatches};
use ecomflow_infra::cli::{
    Cli, Command, DataCommand, ExportCommand, LakeCommand, LocalCommand, UsersCommand,
    WarehouseCommand,
};
use ecomflow_infra::commands;
use tracing_subscriber::EnvFilter;

fn main() {
    let matches = Cli::command().get_matches();
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    cli.global.stack_given =
        matches.value_source("stack") != Some(clap::parser::ValueSource::DefaultValue);
    let level = match (cli.global.quiet, cli.global.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        _ => "debug",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level)),
        )
        .with_writer(std::io::stderr)
        .init();
    let g = &cli.global;
    if let Command::Data(DataCommand::Check(args)) = &cli.command {
        exit(commands::data_check(g, args));
    }
    let runtime = tokio::runtime::Runtime::new().expect("failed to start the async runtime");
    let result = runtime.block_on(async {
        match &cli.command {
            Command::Plan(a) => commands::plan(g, a).await,
            Command::Apply(a) => commands::apply(g, a).await,
            Command::Destroy(a) => commands::destroy(g, a).await,
            Command::ForceUnlock(a) => commands::force_unlock(g, a).await,
            Command::Gc(a) => commands::gc(g, a).await,
            Command::Users(UsersCommand::Sync(a)) => commands::users_sync(g, a).await,
            Command::Build(a) => commands::build(g, a),
            Command::Outputs(a) => commands::outputs(g, a).await,
            Command::Local(LocalCommand::Serve(a)) => ecomflow_infra::local::serve(g, a).await,
            Command::Stream(a) => ecomflow_infra::stream::run(g, a).await,
            Command::Load(a) => ecomflow_infra::load::run(g, a).await,
            Command::Lake(LakeCommand::Query(a)) => commands::lake_query(g, a).await,
            Command::Warehouse(WarehouseCommand::Query(a)) => commands::warehouse_query(g, a).await,
            Command::Export(ExportCommand::Cloudformation(a)) => {
                commands::export_cloudformation(g, a).await
            }
            Command::Data(_) => unreachable!("handled above"),
        }
    });
    exit(result);
}

fn exit(result: anyhow::Result<i32>) -> ! {
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(1);
        }
    }
}
