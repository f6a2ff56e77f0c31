//! token-store: keep Zoho-style OAuth tokens in a cloud secret manager, a file or a database,
//! behind one async [`TokenStore`] trait.
//!
//! Pick a backend with one Cargo feature and open it with one URL ([`open`]), or use a
//! backend's own builder, re-exported under its feature:
//!
//! | feature | module | store |
//! |---|---|---|
//! | (always) | — | [`MemoryStore`] |
//! | `file` (default) | [`file`] | `FileStore`, the Zoho SDK's CSV token file |
//! | `sqlite`, `mysql` | [`sql`] | `SqliteStore`, `MySqlStore` |
//! | `aws` | [`aws`] | `AwsSecretsManagerStore` |
//! | `gcp` | [`gcp`] | `GcpSecretManagerStore` |
//! | `azure` | [`azure`] | `AzureKeyVaultStore` |
//!
//! Feature `oauth` adds [`oauth`]: the `TokenManager`, a valid Zoho access token per call with
//! one refresh across instances, and `oauth::open_manager(url, options)`.
#![deny(missing_docs)]

mod open;

/// `TokenManager`: valid access tokens, refreshed once across instances (feature `oauth`).
#[cfg(feature = "oauth")]
pub mod oauth;

pub use open::{open, scheme_of, schemes};
pub use token_store_core::{
    CallCounter, EngineOptions, EngineStats, Error, ErrorKind, MemoryStore, RepairReport, Result,
    Token, TokenBuilder, TokenStore, raw,
};

/// The Zoho SDK's CSV token file store.
#[cfg(feature = "file")]
pub use token_store_file as file;

/// SQLite and MySQL stores with the Zoho `oauthtoken` table.
#[cfg(any(feature = "sqlite", feature = "mysql"))]
pub use token_store_sql as sql;

/// AWS Secrets Manager.
#[cfg(feature = "aws")]
pub use token_store_aws as aws;

/// Google Cloud Secret Manager.
#[cfg(feature = "gcp")]
pub use token_store_gcp as gcp;

/// Azure Key Vault.
#[cfg(feature = "azure")]
pub use token_store_azure as azure;

/// The README's examples, compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
