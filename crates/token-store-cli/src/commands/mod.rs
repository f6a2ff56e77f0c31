//! One module per subcommand; [`run`] dispatches.

mod copy;
mod delete;
mod doctor;
mod inspect;
mod repair;
mod stats;
mod transfer;

use crate::cli::{Cli, Command};
use crate::error::CliError;
use crate::output::Out;
use crate::store::{self, Store};

/// What every command gets: how to print and which store.
#[derive(Debug)]
pub struct Ctx {
    /// Printing options.
    pub out: Out,
    url: Option<String>,
}

impl Ctx {
    /// The store URL, or a usage error when none was given.
    pub fn url(&self) -> Result<&str, CliError> {
        self.url
            .as_deref()
            .filter(|u| !u.is_empty())
            .ok_or_else(|| {
                CliError::usage(
                    "no store given",
                    "pass --store URL or set TOKEN_STORE_URL (e.g. file:///path/sdk_tokens.txt)",
                )
            })
    }

    /// Open the store.
    pub async fn open(&self) -> Result<Store, CliError> {
        Ok(store::open(self.url()?).await?)
    }
}

/// Run the command; `Ok` carries the exit code (0, or [`crate::error::CHECK_FAILED`]).
pub async fn run(cli: Cli) -> Result<u8, CliError> {
    let ctx = Ctx {
        out: Out {
            json: cli.json,
            quiet: cli.quiet,
        },
        url: cli.store,
    };
    match cli.command {
        Command::List => inspect::list(&ctx).await,
        Command::Show { id, reveal } => inspect::show(&ctx, &id, reveal).await,
        Command::Find(args) => inspect::find(&ctx, &args).await,
        Command::Delete { id, all, yes } => delete::run(&ctx, id.as_deref(), all, yes).await,
        Command::Export { file } => transfer::export(&ctx, &file).await,
        Command::Import { file } => transfer::import(&ctx, &file).await,
        Command::Migrate(args) => transfer::migrate(&ctx, &args).await,
        Command::Repair => repair::run(&ctx).await,
        Command::Doctor => doctor::run(&ctx).await,
        Command::Stats => stats::run(&ctx).await,
    }
}
