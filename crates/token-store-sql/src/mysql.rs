//! [`MySqlStore`]: the Zoho `oauthtoken` table in MySQL or MariaDB.

use std::str::FromStr;
use std::time::Duration;

use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use sqlx::{Executor, MySql};
use token_store_core::{Error, ErrorKind, Result};

use crate::error::map_sqlx;
use crate::schema;
use crate::statements::{Dialect, Statements};
use crate::table::Table;
use crate::url::split_table;

const BACKEND: &str = "mysql";

token_store_core::store_scheme!(
    /// The `mysql://` scheme, for `token_store::open`.
    MYSQL_SCHEME,
    "mysql",
    BACKEND,
    |url| MySqlStore::from_url(url).await?
);

/// The environment variable [`MySqlStore::from_env`] reads.
pub const MYSQL_URL_ENV: &str = "TOKEN_STORE_MYSQL_URL";

/// The database the Zoho DBStore uses when none is given.
pub const DEFAULT_DATABASE: &str = "zohooauth";

/// Tokens in the Zoho `oauthtoken` table of a MySQL or MariaDB database.
///
/// The table has the exact layout of the Zoho SDK's DBStore, so a table it wrote is read
/// unchanged and it finds what this store writes. A save is one InnoDB transaction at
/// `REPEATABLE READ` that first locks this table's row in `token_store_ids` (so saves to one
/// table are serialised across all processes using this crate), then reads the rows it may
/// update with `SELECT … FOR UPDATE`, takes the numeric maximum id, and writes one row. A
/// deadlock, a lock wait timeout or a duplicate id (a writer that does not take these locks,
/// such as the Zoho DBStore) rolls it back and it is retried, up to 12 times with backoff.
pub struct MySqlStore {
    table: Table<MySql>,
    options: MySqlConnectOptions,
}

impl std::fmt::Debug for MySqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MySqlStore")
            .field("host", &self.options.get_host())
            .field("port", &self.options.get_port())
            .field("user", &self.options.get_username())
            .field("database", &self.options.get_database())
            .field("table", &self.table.name)
            .finish_non_exhaustive()
    }
}

/// Options for [`MySqlStore`]; [`open`](Self::open) connects and creates the table if missing.
pub struct MySqlStoreBuilder {
    url: Option<String>,
    table: String,
    max_connections: u32,
    acquire_timeout: Duration,
}

impl std::fmt::Debug for MySqlStoreBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MySqlStoreBuilder")
            .field("url", &self.url.as_ref().map(|_| "<redacted>"))
            .field("table", &self.table)
            .field("max_connections", &self.max_connections)
            .field("acquire_timeout", &self.acquire_timeout)
            .finish()
    }
}

impl Default for MySqlStoreBuilder {
    fn default() -> Self {
        Self {
            url: None,
            table: schema::DEFAULT_TABLE.to_owned(),
            max_connections: 8,
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

impl MySqlStoreBuilder {
    /// A `mysql://user:password@host:port/database` URL (sqlx syntax, e.g. `?ssl-mode=…`,
    /// `?socket=…`), optionally with `table=<name>`. Without a database, `zohooauth` is used.
    /// Default: `mysql://root@localhost:3306/zohooauth`, the Zoho DBStore's defaults.
    pub fn url(mut self, url: &str) -> Self {
        let split = split_table(url);
        if let Some(table) = split.table {
            self.table = table;
        }
        self.url = Some(split.driver_url);
        self
    }

    /// The table name (default `oauthtoken`): `[A-Za-z_][A-Za-z0-9_]*`, at most 64 characters.
    pub fn table(mut self, table: impl Into<String>) -> Self {
        self.table = table.into();
        self
    }

    /// Connections in the pool (default 8).
    pub fn max_connections(mut self, max: u32) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// How long an operation waits for a pooled connection (default 10 s).
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// Connect, create the table if it is missing, and check that an existing table has the
    /// Zoho columns in the Zoho order. The database itself must exist.
    pub async fn open(self) -> Result<MySqlStore> {
        schema::validate_table_name(&self.table)
            .map_err(|e| e.with_backend(BACKEND).with_operation("open"))?;
        let mut options = match &self.url {
            Some(url) => {
                MySqlConnectOptions::from_str(url).map_err(|e| map_sqlx(e, BACKEND, "open"))?
            }
            None => MySqlConnectOptions::new(),
        };
        if options.get_database().is_none() {
            options = options.database(DEFAULT_DATABASE);
        }
        let pool = MySqlPoolOptions::new()
            .max_connections(self.max_connections)
            .acquire_timeout(self.acquire_timeout)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                        .await
                        .map(drop)
                })
            })
            .connect_with(options.clone())
            .await
            .map_err(|e| map_sqlx(e, BACKEND, "open"))?;
        let sql = Statements::new(Dialect::MySql, &self.table);
        let table = Table {
            pool,
            name: self.table,
            sql,
            backend: BACKEND,
            begin: None,
        };
        let store = MySqlStore { table, options };
        store.prepare_table().await?;
        Ok(store)
    }
}

impl MySqlStore {
    /// Options for a store; see [`MySqlStoreBuilder`].
    pub fn builder() -> MySqlStoreBuilder {
        MySqlStoreBuilder::default()
    }

    /// Open the store at a `mysql://user:password@host:port/database[?table=name]` URL.
    pub async fn from_url(url: &str) -> Result<Self> {
        Self::builder().url(url).open().await
    }

    /// Open the store named by `TOKEN_STORE_MYSQL_URL` (required).
    pub async fn from_env() -> Result<Self> {
        let url = std::env::var(MYSQL_URL_ENV).map_err(|_| {
            Error::new(
                ErrorKind::ConfigInvalid,
                format!("{MYSQL_URL_ENV} is not set"),
            )
            .with_backend(BACKEND)
            .with_operation("open")
        })?;
        Self::from_url(&url).await
    }

    /// The table this store uses.
    pub fn table(&self) -> &str {
        &self.table.name
    }

    /// The connection pool, for callers that share it or inspect the table directly.
    pub fn pool(&self) -> &MySqlPool {
        &self.table.pool
    }

    /// Create the table (with indexes on the lookup columns) and the id table if missing, and
    /// check the columns. An existing table is never altered.
    async fn prepare_table(&self) -> Result<()> {
        let map = |e| map_sqlx(e, BACKEND, "open");
        let (pool, sql) = (&self.table.pool, &self.table.sql);
        for ddl in [&sql.create_table, &sql.ids_create] {
            sqlx::query(sqlx::AssertSqlSafe(ddl.clone()))
                .execute(pool)
                .await
                .map_err(map)?;
        }
        let ensure =
            sqlx::query(sqlx::AssertSqlSafe(sql.ids_ensure.clone())).bind(&self.table.name);
        ensure.execute(pool).await.map_err(map)?;
        let columns: Vec<String> = sqlx::query_scalar(
            "SELECT CAST(COLUMN_NAME AS CHAR) FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
        )
        .bind(&self.table.name)
        .fetch_all(pool)
        .await
        .map_err(map)?;
        schema::check_columns(&columns).map_err(|e| e.with_backend(BACKEND).with_operation("open"))
    }
}

crate::table::token_store_via_table!(MySqlStore);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_password() {
        let builder = MySqlStore::builder().url("mysql://app:hunter2@db:3306/x?table=t");
        let shown = format!("{builder:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("\"t\""));
    }
}
