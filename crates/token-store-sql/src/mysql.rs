//! [`MySqlStore`]: the Zoho `oauthtoken` table in MySQL or MariaDB.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use sqlx::{Executor, MySql, Transaction};
use token_store_core::lookup::{
    find_match, lookup_keys, merge_for_save, next_id, parse_id, validate_for_save,
};
use token_store_core::{Error, ErrorKind, Result, Token, TokenStore};

use crate::error::map_sqlx;
use crate::rows::read_cells;
use crate::schema::{self, cells_from_token, token_from_cells};
use crate::statements::{Dialect, Statements};
use crate::url::split_table;

const BACKEND: &str = "mysql";

/// The environment variable [`MySqlStore::from_env`] reads.
pub const MYSQL_URL_ENV: &str = "TOKEN_STORE_MYSQL_URL";

/// The database the Zoho DBStore uses when none is given.
pub const DEFAULT_DATABASE: &str = "zohooauth";

/// How often a save transaction is retried after a deadlock, lock timeout or duplicate id.
const SAVE_ATTEMPTS: u32 = 12;

/// Tokens in the Zoho `oauthtoken` table of a MySQL or MariaDB database.
///
/// The table has the exact layout of the Zoho SDK's DBStore, so a table it wrote is read
/// unchanged and it finds what this store writes. A save is one InnoDB transaction at
/// `REPEATABLE READ`: a locking read of the rows it may update (`SELECT … FOR UPDATE`; the
/// Zoho table has no index on the key columns, so this locks the scanned rows and gaps),
/// the numeric maximum id under the same lock, then one `UPDATE` or `INSERT`. A deadlock, a
/// lock wait timeout or a duplicate id (a writer that does not take these locks, such as the
/// Zoho DBStore) rolls the transaction back and it is retried, up to 12 times with backoff.
pub struct MySqlStore {
    pool: MySqlPool,
    options: MySqlConnectOptions,
    table: String,
    sql: Statements,
}

impl std::fmt::Debug for MySqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MySqlStore")
            .field("host", &self.options.get_host())
            .field("port", &self.options.get_port())
            .field("user", &self.options.get_username())
            .field("database", &self.options.get_database())
            .field("table", &self.table)
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
        let fail = |e: Error| e.with_backend(BACKEND).with_operation("open");
        schema::validate_table_name(&self.table).map_err(fail)?;
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
        let store = MySqlStore {
            pool,
            options,
            table: self.table,
            sql,
        };
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
        &self.table
    }

    /// The connection pool, for callers that share it or inspect the table directly.
    pub fn pool(&self) -> &MySqlPool {
        &self.pool
    }

    async fn prepare_table(&self) -> Result<()> {
        let map = |e| map_sqlx(e, BACKEND, "open");
        for ddl in [&self.sql.create_table, &self.sql.ids_create] {
            sqlx::query(sqlx::AssertSqlSafe(ddl.clone()))
                .execute(&self.pool)
                .await
                .map_err(map)?;
        }
        sqlx::query(sqlx::AssertSqlSafe(self.sql.ids_ensure.clone()))
            .bind(&self.table)
            .execute(&self.pool)
            .await
            .map_err(map)?;
        let columns: Vec<String> = sqlx::query_scalar(
            "SELECT CAST(COLUMN_NAME AS CHAR) FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
        )
        .bind(&self.table)
        .fetch_all(&self.pool)
        .await
        .map_err(map)?;
        schema::check_columns(&columns).map_err(|e| e.with_backend(BACKEND).with_operation("open"))
    }

    async fn rows<'e, E>(
        &self,
        executor: E,
        sql: String,
        binds: &[&str],
    ) -> Result<Vec<Token>, Failure>
    where
        E: Executor<'e, Database = MySql>,
    {
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for value in binds {
            query = query.bind(*value);
        }
        let rows = query.fetch_all(executor).await?;
        rows.iter()
            .map(|row| token_from_cells(read_cells(row)?).map_err(Failure::Store))
            .collect()
    }

    async fn save_once(&self, token: &Token) -> Result<Token, Failure> {
        let mut tx = self.pool.begin().await?;
        let row = self.save_in(&mut tx, token).await?;
        tx.commit().await?;
        Ok(row)
    }

    async fn save_in(
        &self,
        tx: &mut Transaction<'_, MySql>,
        token: &Token,
    ) -> Result<Token, Failure> {
        let highest: Option<i64> =
            sqlx::query_scalar(sqlx::AssertSqlSafe(self.sql.ids_select.clone()))
                .bind(&self.table)
                .fetch_optional(&mut **tx)
                .await?;
        let existing = match &token.id {
            Some(id) => self
                .rows(&mut **tx, self.sql.select_by_id.clone(), &[id])
                .await?
                .into_iter()
                .next(),
            None => {
                let keys = lookup_keys(token);
                if keys.is_empty() {
                    None
                } else {
                    let values = self.sql.key_values(&keys);
                    let candidates = self
                        .rows(&mut **tx, self.sql.select_by_keys(&keys, true), &values)
                        .await?;
                    find_match(token, candidates.iter()).cloned()
                }
            }
        };
        let mut row = merge_for_save(token, existing.as_ref())?;
        if row.id.is_none() {
            let max: Option<u64> = sqlx::query_scalar(sqlx::AssertSqlSafe(self.sql.max_id.clone()))
                .fetch_one(&mut **tx)
                .await?;
            let (max, highest) = (
                max.unwrap_or(0).to_string(),
                highest.unwrap_or(0).to_string(),
            );
            row.id = Some(next_id([max.as_str(), highest.as_str()])?);
        }
        let cells = cells_from_token(&row)?;
        let (sql, binds) = match &existing {
            Some(_) => {
                let mut binds: Vec<Option<String>> = cells[1..].to_vec();
                binds.push(cells[0].clone());
                (self.sql.update_by_id.clone(), binds)
            }
            None => (self.sql.insert.clone(), cells.to_vec()),
        };
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for value in binds {
            query = query.bind(value);
        }
        query.execute(&mut **tx).await?;
        if existing.is_none() {
            sqlx::query(sqlx::AssertSqlSafe(self.sql.ids_raise.clone()))
                .bind(&self.table)
                .bind(parse_id(row.id.as_deref().unwrap_or_default())? as i64)
                .execute(&mut **tx)
                .await?;
        }
        Ok(row)
    }
}

/// A failure inside a transaction: a driver error still to be mapped, or a store error.
enum Failure {
    Sql(sqlx::Error),
    Store(Error),
}

impl From<sqlx::Error> for Failure {
    fn from(e: sqlx::Error) -> Self {
        Self::Sql(e)
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Self::Store(e)
    }
}

impl Failure {
    fn into_error(self, operation: &'static str) -> Error {
        match self {
            Self::Sql(e) => map_sqlx(e, BACKEND, operation),
            Self::Store(e) => e.with_backend(BACKEND).with_operation(operation),
        }
    }
}

/// Backoff after failed attempt `attempt` (1-based): a bound of 4 ms doubling up to 256 ms,
/// the delay drawn from its upper half with jitter from the clock.
fn backoff(attempt: u32) -> Duration {
    let bound = 4u64 << attempt.saturating_sub(1).min(6);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    Duration::from_millis(bound / 2 + u64::from(nanos) % (bound / 2))
}

#[async_trait]
impl TokenStore for MySqlStore {
    async fn find_token(&self, query: &Token) -> Result<Option<Token>> {
        let query = query.clone().normalized();
        let keys = lookup_keys(&query);
        if keys.is_empty() {
            return Ok(None);
        }
        let sql = self.sql.select_by_keys(&keys, false);
        let values = self.sql.key_values(&keys);
        let candidates = self
            .rows(&self.pool, sql, &values)
            .await
            .map_err(|f| f.into_error("find_token"))?;
        Ok(find_match(&query, candidates.iter()).map(|stored| {
            let mut found = query.clone();
            found.merge_from(stored);
            found
        }))
    }

    async fn save_token(&self, token: &Token) -> Result<Token> {
        let token = token.clone().normalized();
        validate_for_save(&token)
            .and_then(|()| cells_from_token(&token).map(drop))
            .map_err(|e| e.with_backend(BACKEND).with_operation("save_token"))?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self
                .save_once(&token)
                .await
                .map_err(|f| f.into_error("save_token"))
            {
                Err(e) if e.kind() == ErrorKind::Conflict && attempt < SAVE_ATTEMPTS => {
                    tracing::debug!(attempt, "mysql save conflicted, retrying");
                    tokio::time::sleep(backoff(attempt)).await;
                }
                other => return other,
            }
        }
    }

    async fn delete_token(&self, id: &str) -> Result<()> {
        parse_id(id).map_err(|e| e.with_backend(BACKEND).with_operation("delete_token"))?;
        sqlx::query(sqlx::AssertSqlSafe(self.sql.delete_by_id.clone()))
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(|e| map_sqlx(e, BACKEND, "delete_token"))?;
        Ok(())
    }

    async fn get_tokens(&self) -> Result<Vec<Token>> {
        let mut tokens = self
            .rows(&self.pool, self.sql.select_all.clone(), &[])
            .await
            .map_err(|f| f.into_error("get_tokens"))?;
        crate::sort_by_id(&mut tokens);
        Ok(tokens)
    }

    async fn delete_tokens(&self) -> Result<()> {
        sqlx::query(sqlx::AssertSqlSafe(self.sql.delete_all.clone()))
            .execute(&self.pool)
            .await
            .map_err(|e| map_sqlx(e, BACKEND, "delete_tokens"))?;
        Ok(())
    }

    async fn find_token_by_id(&self, id: &str) -> Result<Option<Token>> {
        parse_id(id).map_err(|e| e.with_backend(BACKEND).with_operation("find_token_by_id"))?;
        let rows = self
            .rows(&self.pool, self.sql.select_by_id.clone(), &[id])
            .await
            .map_err(|f| f.into_error("find_token_by_id"))?;
        Ok(rows.into_iter().next())
    }
}

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

    #[test]
    fn backoff_grows_and_stays_bounded() {
        assert!(backoff(1) <= Duration::from_millis(8));
        assert!(backoff(20) <= Duration::from_millis(256));
        assert!(backoff(20) >= Duration::from_millis(128));
    }
}
