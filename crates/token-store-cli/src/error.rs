//! Command errors: one line with the error kind and what to do, and a documented exit code.

use token_store::{Error, ErrorKind};

/// Exit code: success.
pub const OK: u8 = 0;
/// Exit code: the store or service failed the operation.
pub const FAILURE: u8 = 1;
/// Exit code: wrong arguments, bad store URL or invalid input.
pub const USAGE: u8 = 2;
/// Exit code: no such token or input file.
pub const NOT_FOUND: u8 = 3;
/// Exit code: a doctor check or a verification found a difference.
pub const CHECK_FAILED: u8 = 4;
/// Exit code: the service, database or file could not be reached.
pub const UNAVAILABLE: u8 = 5;
/// Exit code: credentials missing or invalid, or permission denied.
pub const DENIED: u8 = 6;
/// Exit code: stored data or the input file is unreadable.
pub const CORRUPT: u8 = 7;

/// A failed command: what went wrong (no secret in it) and what to do.
#[derive(Debug)]
pub struct CliError {
    /// Short stable kind, e.g. `not_found`.
    pub kind: &'static str,
    /// What went wrong, on one line.
    pub message: String,
    /// What the operator can do about it.
    pub hint: String,
    /// The process exit code.
    pub code: u8,
}

impl CliError {
    /// An error of the command line itself (not of a store).
    pub fn new(
        kind: &'static str,
        code: u8,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            message: message.into(),
            hint: hint.into(),
            code,
        }
    }

    /// No token with this id or key.
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(
            "not_found",
            NOT_FOUND,
            what,
            "check the id or key with `token-store list`",
        )
    }

    /// Bad arguments.
    pub fn usage(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::new("usage", USAGE, message, hint)
    }

    /// The one line printed on stderr.
    pub fn line(&self) -> String {
        format!("error: {}: {} — {}", self.kind, self.message, self.hint)
    }

    /// The JSON printed on stdout under `--json`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "error": {
            "kind": self.kind, "message": self.message, "hint": self.hint, "exit_code": self.code,
        }})
    }
}

impl From<Error> for CliError {
    fn from(error: Error) -> Self {
        let (code, hint) = match error.kind() {
            ErrorKind::NotFound => (NOT_FOUND, "check the id with `token-store list`"),
            ErrorKind::ConfigInvalid => (
                USAGE,
                "check the store URL (`token-store --help` lists the forms)",
            ),
            ErrorKind::InvalidInput | ErrorKind::TooLarge => {
                (USAGE, "fix the input and run again; nothing was changed")
            }
            ErrorKind::Unavailable => (
                UNAVAILABLE,
                "check the endpoint, network and that the service is up; `token-store doctor` checks it",
            ),
            ErrorKind::RateLimited => (
                UNAVAILABLE,
                "the service throttled us or could not be reached: check the endpoint, wait and run again (lower --jobs for migrate)",
            ),
            ErrorKind::Unauthenticated => (
                DENIED,
                "provide credentials for the service; `token-store doctor` shows where they are looked for",
            ),
            ErrorKind::PermissionDenied => (
                DENIED,
                "grant list, read, write and delete on the store's prefix; `token-store doctor` probes them",
            ),
            ErrorKind::Corrupt => (
                CORRUPT,
                "the data could not be read and was left as it is; for a cloud index run `token-store repair`",
            ),
            ErrorKind::Conflict | ErrorKind::AlreadyExists => {
                (FAILURE, "another writer changed it meanwhile: run again")
            }
            ErrorKind::Unsupported => (USAGE, "this store cannot do that operation"),
            _ => (FAILURE, "run again with --verbose for details"),
        };
        let message = error.to_string().replace(['\n', '\r'], " ");
        Self::new(error.kind().as_str(), code, message, hint)
    }
}
