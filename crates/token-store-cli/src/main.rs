//! `token-store`: inspect, migrate, repair and check any token store from the command line.
//! `token-store --help` lists the commands, the store URLs and the exit codes.

mod cli;
mod commands;
mod credentials;
mod error;
mod output;
mod quota;
mod store;
mod view;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::Cli;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                error::USAGE
            } else {
                error::OK
            };
            e.print().ok();
            return ExitCode::from(code);
        }
    };
    init_tracing(cli.verbose);
    let json = cli.json;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: unexpected: cannot start the async runtime: {e}");
            return ExitCode::from(error::FAILURE);
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            if json {
                println!("{}", e.to_json());
            }
            eprintln!("{}", e.line());
            ExitCode::from(e.code)
        }
    }
}

/// Logs on stderr: token-store's own warnings; `-v` its info (and other crates' warnings),
/// `-vv` its debug (and other crates' info). Other crates never log below info here, so an
/// SDK's request dumps stay out.
fn init_tracing(verbose: u8) {
    use tracing::level_filters::LevelFilter;
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::prelude::*;
    let (ours, others) = match verbose {
        0 => (LevelFilter::WARN, LevelFilter::OFF),
        1 => (LevelFilter::INFO, LevelFilter::WARN),
        _ => (LevelFilter::DEBUG, LevelFilter::INFO),
    };
    let filter = Targets::new()
        .with_target("token_store", ours)
        .with_default(others);
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_target(false)
                .with_filter(filter),
        )
        .init();
}
