//! token-store backends on SQL databases with the Zoho SDK's `oauthtoken` table:
//! [`SqliteStore`] (feature `sqlite`) and [`MySqlStore`] for MySQL and MariaDB (feature `mysql`).
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use token_store_core::{Token, TokenStore};
//! use token_store_sql::SqliteStore;
//!
//! let store = SqliteStore::from_url("sqlite::memory:").await?; // or sqlite://zohooauth.db
//! let saved = store
//!     .save_token(&Token::builder().user_name("me@example.com").refresh_token("1000.r").build())
//!     .await?;
//! assert_eq!(saved.id.as_deref(), Some("1"));
//! let found = store.find_token(&Token::builder().user_name("me@example.com").build()).await?;
//! assert_eq!(found, Some(saved));
//! # Ok::<(), token_store_core::Error>(()) }).unwrap();
//! ```
//!
//! # The table
//!
//! Both stores read and write the table exactly as the Zoho SDK's DBStore and the Kaizen SQLite
//! sample create it — ten `varchar` columns `id, user_name, client_id, client_secret,
//! refresh_token, access_token, grant_token, expiry_time, redirect_url, api_domain` in that
//! order, `id` the primary key; default database `zohooauth` (MySQL), default file
//! `zohooauth.db` (SQLite), default table `oauthtoken`, all configurable — so a Rust service
//! and a Python service on the Zoho SDK can share one table. Absent values are `NULL`; the
//! expiry is epoch milliseconds as a decimal string; a value longer than its column (255
//! bytes) is a `TooLarge` error before anything is written.
//!
//! Opening a store creates the table if it is missing (then with an index on each lookup
//! column), leaves an existing table as it is (an empty one opens fine), and refuses a table
//! whose columns are not the Zoho columns in the Zoho order (`ConfigInvalid`). Beside it, the
//! table `token_store_ids` keeps the highest id ever assigned per token table, so an id is not
//! handed out again after the row holding the largest one was deleted; new ids are one more
//! than the larger of that mark and the largest numeric id in the token table, so rows the
//! Zoho SDK inserts are taken into account.
//!
//! # What is fixed compared with the Zoho stores (spec §6 items 10-21, 36-46)
//!
//! Every value is a bound parameter and the table name is validated
//! (`[A-Za-z_][A-Za-z0-9_]{0,63}`); ids are numeric (never a string maximum) and assigned
//! inside the save transaction; each save is one transaction (SQLite `BEGIN IMMEDIATE`; MySQL
//! a lock on the table's `token_store_ids` row plus locking reads, retried on deadlock, lock
//! timeout or duplicate key); an update targets the row by id whether or not a value changed;
//! a query no lookup rule applies to returns `None`, never the first row; key comparisons are
//! exact (MySQL `col = ? AND BINARY col = ?`, not the case-insensitive collation alone);
//! `delete_tokens` commits; errors are typed, mapped from error codes, and never carry token
//! values or passwords; `Debug` shows no password.
//!
//! # Statements per operation (MySQL, counted by the server in the tests)
//!
//! `find_token`, `find_token_by_id`, `get_tokens`, `delete_token`, `delete_tokens`: 1 each
//! (0 for a query no rule applies to). `save_token`: 5 for an update (BEGIN, lock, locking read,
//! UPDATE, COMMIT), 7 for an insert (plus the maximum id and the high-water update).
//!
//! # SQLite journal mode
//!
//! `SqliteStore` leaves the database's journal mode as it is (the Kaizen sample's default
//! rollback journal), where a commit costs several fsyncs; `SqliteStoreBuilder::wal(true)`
//! switches the file to write-ahead logging, one fsync per commit (about 3× the saves per
//! second in `scripts/bench-sql.sh`).
//!
//! # Features
//!
//! `sqlite` and `mysql` (default); `mysql-rsa` for MySQL 8's `caching_sha2_password` without
//! TLS; `tls` for TLS to MySQL (rustls); `mysql-tests` runs the MariaDB tests
//! (`scripts/test-sql.sh`).
//!
//! # Why sqlx
//!
//! One well-kept crate, [sqlx](https://docs.rs/sqlx), serves both databases with one async API
//! on tokio (pools, transactions, bound parameters), where the alternative needs two crates
//! with two APIs (rusqlite, which is blocking and would need `spawn_blocking`, plus
//! mysql_async). It is built with `default-features = false` — no query macros, no migrations,
//! no TLS stack unless asked, SQLite compiled in — which keeps the build small on two cores.
//! Its `SqlSafeStr` rule means only `&'static str` or text explicitly asserted safe becomes
//! SQL; here that is only statements built from a validated table name.
#![deny(missing_docs)]
// Without a backend feature the shared helpers have no user; such a build is only a check.
#![cfg_attr(not(any(feature = "sqlite", feature = "mysql")), allow(dead_code))]

mod error;
#[cfg(feature = "mysql")]
mod mysql;
mod rows;
mod schema;
#[cfg(feature = "sqlite")]
mod sqlite;
mod statements;
#[cfg(any(feature = "sqlite", feature = "mysql"))]
mod table;
mod url;

#[cfg(feature = "mysql")]
pub use mysql::{DEFAULT_DATABASE, MYSQL_SCHEME, MYSQL_URL_ENV, MySqlStore, MySqlStoreBuilder};
pub use schema::{COLUMNS, DEFAULT_TABLE, MAX_FIELD_BYTES};
#[cfg(feature = "sqlite")]
pub use sqlite::{
    DEFAULT_SQLITE_FILE, SQLITE_SCHEME, SQLITE_URL_ENV, SqliteStore, SqliteStoreBuilder,
};
