//! [`SqliteStore`]: the Zoho `oauthtoken` table in an SQLite database file.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::Sqlite;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use token_store_core::Result;

use crate::error::map_sqlx;
use crate::schema;
use crate::statements::{Dialect, Statements};
use crate::table::Table;
use crate::url::split_table;

const BACKEND: &str = "sqlite";

token_store_core::store_scheme!(
    /// The `sqlite://` scheme, for `token_store::open`.
    SQLITE_SCHEME,
    "sqlite",
    BACKEND,
    |url| SqliteStore::from_url(url).await?
);

/// The environment variable [`SqliteStore::from_env`] reads.
pub const SQLITE_URL_ENV: &str = "TOKEN_STORE_SQLITE_URL";

/// The database file the Kaizen SQLite sample uses, the default here too.
pub const DEFAULT_SQLITE_FILE: &str = "zohooauth.db";

/// Tokens in the Zoho `oauthtoken` table of an SQLite database.
///
/// The table has the exact layout of the Zoho SDK (and of the Kaizen SQLite sample), so a
/// database written by either is read unchanged, and they read what this store writes.
/// Every save runs in one `BEGIN IMMEDIATE` transaction, which serialises writers across
/// connections and processes: ids never collide and concurrent saves of one user leave one
/// row. The journal mode of the database is left as it is.
pub struct SqliteStore {
    table: Table<Sqlite>,
    location: PathBuf,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("file", &self.location)
            .field("table", &self.table.name)
            .finish()
    }
}

enum Target {
    Path(PathBuf),
    Url(String),
}

/// Options for [`SqliteStore`]; [`open`](Self::open) connects and creates the table if missing.
pub struct SqliteStoreBuilder {
    target: Target,
    table: String,
    max_connections: u32,
    busy_timeout: Duration,
    wal: bool,
}

impl std::fmt::Debug for SqliteStoreBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let target = match &self.target {
            Target::Path(path) => path.display().to_string(),
            Target::Url(url) => url.clone(),
        };
        f.debug_struct("SqliteStoreBuilder")
            .field("target", &target)
            .field("table", &self.table)
            .field("max_connections", &self.max_connections)
            .field("busy_timeout", &self.busy_timeout)
            .field("wal", &self.wal)
            .finish()
    }
}

impl Default for SqliteStoreBuilder {
    fn default() -> Self {
        Self {
            target: Target::Path(PathBuf::from(DEFAULT_SQLITE_FILE)),
            table: schema::DEFAULT_TABLE.to_owned(),
            max_connections: 4,
            busy_timeout: Duration::from_secs(10),
            wal: false,
        }
    }
}

impl SqliteStoreBuilder {
    /// The database file (created if missing). Default: `zohooauth.db` in the working directory.
    pub fn path(mut self, path: impl AsRef<Path>) -> Self {
        self.target = Target::Path(path.as_ref().to_path_buf());
        self
    }

    /// A `sqlite://path` URL (sqlx syntax: `sqlite://relative.db`, `sqlite:///absolute.db`,
    /// `sqlite::memory:`), optionally with `?table=<name>`.
    pub fn url(mut self, url: &str) -> Self {
        let split = split_table(url);
        if let Some(table) = split.table {
            self.table = table;
        }
        self.target = Target::Url(split.driver_url);
        self
    }

    /// The table name (default `oauthtoken`): `[A-Za-z_][A-Za-z0-9_]*`, at most 64 characters.
    pub fn table(mut self, table: impl Into<String>) -> Self {
        self.table = table.into();
        self
    }

    /// Connections in the pool (default 4; an in-memory database always uses 1).
    pub fn max_connections(mut self, max: u32) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// How long a statement waits for another writer's lock (default 10 s).
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// Switch the database to write-ahead logging (`PRAGMA journal_mode=WAL`, a lasting
    /// property of the file; default: leave the journal mode as it is). Commits then need one
    /// fsync instead of several and readers do not wait for writers; the Zoho SDK's Python
    /// `sqlite3` reads such a file as usual.
    pub fn wal(mut self, wal: bool) -> Self {
        self.wal = wal;
        self
    }

    /// Open the database (creating the file if needed), create the table if it is missing,
    /// and check that an existing table has the Zoho columns in the Zoho order.
    pub async fn open(self) -> Result<SqliteStore> {
        schema::validate_table_name(&self.table)
            .map_err(|e| e.with_backend(BACKEND).with_operation("open"))?;
        let (options, in_memory) = match &self.target {
            Target::Path(path) => (SqliteConnectOptions::new().filename(path), false),
            Target::Url(url) => {
                let options = SqliteConnectOptions::from_str(url)
                    .map_err(|e| map_sqlx(e, BACKEND, "open"))?;
                (
                    options,
                    url.contains(":memory:") || url.contains("mode=memory"),
                )
            }
        };
        let mut options = options
            .create_if_missing(true)
            .busy_timeout(self.busy_timeout);
        if self.wal && !in_memory {
            options = options.journal_mode(SqliteJournalMode::Wal);
        }
        let location = options.get_filename().to_path_buf();
        // An in-memory database lives as long as its one connection.
        let pool = SqlitePoolOptions::new()
            .max_connections(if in_memory { 1 } else { self.max_connections })
            .min_connections(u32::from(in_memory))
            .idle_timeout((!in_memory).then_some(Duration::from_secs(600)))
            .max_lifetime((!in_memory).then_some(Duration::from_secs(1800)))
            .connect_with(options)
            .await
            .map_err(|e| map_sqlx(e, BACKEND, "open"))?;
        let sql = Statements::new(Dialect::Sqlite, &self.table);
        let table = Table {
            pool,
            name: self.table,
            sql,
            backend: BACKEND,
            begin: Some("BEGIN IMMEDIATE"),
        };
        let store = SqliteStore { table, location };
        store.prepare_table().await?;
        Ok(store)
    }
}

impl SqliteStore {
    /// Options for a store; see [`SqliteStoreBuilder`].
    pub fn builder() -> SqliteStoreBuilder {
        SqliteStoreBuilder::default()
    }

    /// Open the store at a `sqlite://path[?table=name]` URL.
    pub async fn from_url(url: &str) -> Result<Self> {
        Self::builder().url(url).open().await
    }

    /// Open the store named by `TOKEN_STORE_SQLITE_URL`, or `zohooauth.db` when it is unset.
    pub async fn from_env() -> Result<Self> {
        match std::env::var(SQLITE_URL_ENV) {
            Ok(url) => Self::from_url(&url).await,
            Err(_) => Self::builder().open().await,
        }
    }

    /// The table this store uses.
    pub fn table(&self) -> &str {
        &self.table.name
    }

    /// The connection pool, for callers that share it or inspect the table directly.
    pub fn pool(&self) -> &SqlitePool {
        &self.table.pool
    }

    /// Create the table (with indexes on the lookup columns) when it is missing, the id table,
    /// and check the columns. An existing table is never altered.
    async fn prepare_table(&self) -> Result<()> {
        let map = |e| map_sqlx(e, BACKEND, "open");
        let (pool, sql) = (&self.table.pool, &self.table.sql);
        if self.columns().await?.is_empty() {
            let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(map)?;
            for ddl in std::iter::once(&sql.create_table).chain(&sql.create_indexes) {
                sqlx::query(sqlx::AssertSqlSafe(ddl.clone()))
                    .execute(&mut *tx)
                    .await
                    .map_err(map)?;
            }
            tx.commit().await.map_err(map)?;
        }
        sqlx::query(sqlx::AssertSqlSafe(sql.ids_create.clone()))
            .execute(pool)
            .await
            .map_err(map)?;
        let ensure =
            sqlx::query(sqlx::AssertSqlSafe(sql.ids_ensure.clone())).bind(&self.table.name);
        ensure.execute(pool).await.map_err(map)?;
        schema::check_columns(&self.columns().await?)
            .map_err(|e| e.with_backend(BACKEND).with_operation("open"))
    }

    /// The table's column names in order; empty when the table does not exist.
    async fn columns(&self) -> Result<Vec<String>> {
        sqlx::query_scalar("SELECT name FROM pragma_table_info(?) ORDER BY cid")
            .bind(&self.table.name)
            .fetch_all(&self.table.pool)
            .await
            .map_err(|e| map_sqlx(e, BACKEND, "open"))
    }
}

crate::table::token_store_via_table!(SqliteStore);

#[cfg(test)]
mod tests {
    use super::*;
    use token_store_core::ErrorKind;

    #[tokio::test]
    async fn a_bad_table_name_is_rejected_before_connecting() {
        let err = SqliteStore::builder()
            .url("sqlite::memory:")
            .table("x; DROP TABLE y")
            .open()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConfigInvalid);
    }
}
