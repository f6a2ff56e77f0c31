//! token-store backends on SQL databases with the Zoho SDK's `oauthtoken` table:
//! [`SqliteStore`] (feature `sqlite`) and [`MySqlStore`] for MySQL and MariaDB (feature `mysql`).
//!
//! Both read and write the table exactly as the Zoho SDK's DBStore and the Kaizen SQLite sample
//! create it — ten `varchar` columns `id, user_name, client_id, client_secret, refresh_token,
//! access_token, grant_token, expiry_time, redirect_url, api_domain`, `id` the primary key,
//! default database `zohooauth`, default table `oauthtoken` — so a Rust service and a Python
//! service on the Zoho SDK can share one table. Absent values are `NULL`; the expiry is epoch
//! milliseconds as a decimal string; a value longer than its column (255 bytes) is a
//! `TooLarge` error before anything is written.
//!
//! Compared with the Zoho stores (spec §6 items 10-21, 36-46) these stores fix: every value is
//! a bound parameter and the table name is validated; ids are the numeric maximum + 1 over the
//! canonical numeric ids (never a string maximum), assigned inside the save transaction; each
//! save is one transaction (SQLite `BEGIN IMMEDIATE`; MySQL locking reads with retry on
//! deadlock or duplicate key); a query that no lookup rule applies to returns `None`; key
//! comparisons are exact (MySQL `BINARY`, not the column's case-insensitive collation); an
//! existing empty table opens fine; the column order of an existing table is checked;
//! `delete_tokens` commits; errors are typed and never carry token values.
//!
//! # Why sqlx
//!
//! One well-kept crate, [sqlx](https://docs.rs/sqlx), serves both databases with one async API
//! on tokio (pools, transactions, bound parameters), where the alternative needs two crates
//! with two APIs (rusqlite, which is blocking and would need `spawn_blocking`, plus
//! mysql_async). It is built with `default-features = false` — no query macros, no migrations,
//! no TLS stack, SQLite compiled in — which keeps the build small on two cores. Its
//! `SqlSafeStr` rule means only `&'static str` or text explicitly asserted safe becomes SQL;
//! here that is only statements built from a validated table name.
#![deny(missing_docs)]

mod error;
#[cfg(feature = "mysql")]
mod mysql;
mod rows;
mod schema;
#[cfg(feature = "sqlite")]
mod sqlite;
mod statements;
mod url;

#[cfg(feature = "mysql")]
pub use mysql::{DEFAULT_DATABASE, MYSQL_URL_ENV, MySqlStore, MySqlStoreBuilder};
pub use schema::{COLUMNS, DEFAULT_TABLE, MAX_FIELD_BYTES};
#[cfg(feature = "sqlite")]
pub use sqlite::{DEFAULT_SQLITE_FILE, SQLITE_URL_ENV, SqliteStore, SqliteStoreBuilder};

/// Order tokens by numeric id, as `TokenStore::get_tokens` promises (foreign ids last).
fn sort_by_id(tokens: &mut [token_store_core::Token]) {
    tokens.sort_by_cached_key(|t| {
        let id = t.id.clone().unwrap_or_default();
        (token_store_core::lookup::id_number(&id), id)
    });
}
