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

/// `-v` logs info, `-vv` debug, to stderr; without it, only warnings.
fn init_tracing(verbose: u8) {
    let level = match verbose {
        0 => tracing::Level::WARN,
        1 => tracing::Level::INFO,
        _ => tracing::Level::DEBUG,
    };
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}
