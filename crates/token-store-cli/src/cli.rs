//! The command line: global options and one subcommand per job.

use std::path::PathBuf;

use clap::{ArgGroup, Parser, Subcommand};

/// Shown under `--help`: the exit codes scripts can rely on.
const EXIT_CODES: &str = "\
Store URLs: file:///path/sdk_tokens.txt, sqlite:///path/tokens.db, mysql://user:pass@host:3306/db,
aws-secretsmanager://<prefix>?region=..&endpoint=.., gcp-secretmanager://<project>/<prefix>?endpoint=..,
azure-keyvault://<vault-host>/<prefix>, memory://

Exit codes:
  0  ok
  1  failure: the store or service refused or failed the operation
  2  bad usage: wrong arguments, a bad store URL or invalid input
  3  not found: no token with that id or key, or the input file is missing
  4  check failed: a doctor check (✗) or a migrate/import/export verification found differences
  5  unavailable: the service, database or file could not be reached (or throttled us)
  6  access denied: no or invalid credentials, or permission denied
  7  corrupt: stored data or the input file could not be read; nothing was changed";

/// Inspect, migrate, repair and check a Zoho-style OAuth token store.
#[derive(Debug, Parser)]
#[command(name = "token-store", version, after_long_help = EXIT_CODES, after_help = EXIT_CODES)]
pub struct Cli {
    /// The store, as a URL (same forms as `token_store::open`).
    #[arg(long, env = "TOKEN_STORE_URL", global = true, hide_env_values = true)]
    pub store: Option<String>,
    /// Print one JSON document on stdout instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Print nothing but errors (and what was asked for by --json).
    #[arg(long, short, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Log what happens to stderr (-v info, -vv debug); secrets are never logged.
    #[arg(long, short, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List every token: id, user, client id, expiry, api domain, which tokens are present.
    List,
    /// Show one token by id (secrets redacted unless --reveal).
    Show {
        /// The token id.
        id: String,
        /// Print secret values (warns on a terminal).
        #[arg(long)]
        reveal: bool,
    },
    /// Find one token by user name, access token, or grant/refresh token with client id and secret.
    #[command(group(ArgGroup::new("key").required(true).args(["user", "access_token", "refresh_token", "grant_token"])))]
    Find(FindArgs),
    /// Delete one token by id, or every token with --all.
    #[command(group(ArgGroup::new("what").required(true).args(["id", "all"])))]
    Delete {
        /// The token id.
        id: Option<String>,
        /// Delete every token of the store.
        #[arg(long)]
        all: bool,
        /// Do not ask for confirmation (required when stdin is not a terminal).
        #[arg(long, short)]
        yes: bool,
    },
    /// Write every token to a Zoho SDK CSV token file (resumable, verified).
    Export {
        /// The token file to write (created when missing).
        file: PathBuf,
    },
    /// Read every token of a Zoho SDK CSV token file into the store (keeps ids, verified).
    Import {
        /// The token file to read.
        file: PathBuf,
    },
    /// Copy every token to another store keeping ids; resumable, verified at the end.
    Migrate(MigrateArgs),
    /// Rebuild a cloud store's index from its token secrets and print what was fixed.
    Repair,
    /// Check URL, credentials, service, permissions, index health and quotas.
    Doctor,
    /// Token counts, index size against its limit, and service calls spent.
    Stats,
}

/// Arguments of `find`.
#[derive(Debug, clap::Args)]
pub struct FindArgs {
    /// User name (e.g. me@example.com:60001).
    #[arg(long)]
    pub user: Option<String>,
    /// A bare access token.
    #[arg(long)]
    pub access_token: Option<String>,
    /// A refresh token (needs --client-id and --client-secret).
    #[arg(long, requires_all = ["client_id", "client_secret"])]
    pub refresh_token: Option<String>,
    /// A grant token (needs --client-id and --client-secret).
    #[arg(long, requires_all = ["client_id", "client_secret"])]
    pub grant_token: Option<String>,
    /// OAuth client id.
    #[arg(long)]
    pub client_id: Option<String>,
    /// OAuth client secret.
    #[arg(long)]
    pub client_secret: Option<String>,
    /// Print secret values (warns on a terminal).
    #[arg(long)]
    pub reveal: bool,
}

/// Arguments of `migrate`.
#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    /// The target store URL.
    #[arg(long, value_name = "URL")]
    pub to: String,
    /// Show what would be copied; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Tokens written concurrently (1 for file targets, whose rows keep the copy order).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
}
