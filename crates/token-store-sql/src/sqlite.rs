//! [`SqliteStore`]: the Zoho `oauthtoken` table in an SQLite database file.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use sqlx::{Sqlite, Transaction};
use token_store_core::lookup::{
    find_match, lookup_keys, merge_for_save, next_id, parse_id, validate_for_save,
};
use token_store_core::{Error, Result, Token, TokenStore};

use crate::error::map_sqlx;
use crate::rows::read_cells;
use crate::schema::{self, cells_from_token, token_from_cells};
use crate::statements::{Dialect, Statements};
use crate::url::split_table;

const BACKEND: &str = "sqlite";

/// The environment variable [`SqliteStore::from_env`] reads.
pub const SQLITE_URL_ENV: &str = "TOKEN_STORE_SQLITE_URL";

/// The database file the Kaizen SQLite sample uses, the default here too.
pub const DEFAULT_SQLITE_FILE: &str = "zohooauth.db";

/// Tokens in the Zoho `oauthtoken` table of an SQLite database.
///
/// The table has the exact layout of the Zoho SDK (and of the Kaizen SQLite sample), so a
/// database written by either is read unchanged, and they read what this store writes.
/// Every save runs in one `BEGIN IMMEDIATE` transaction, which serialises writers across
/// connections and processes: ids (numeric maximum + 1) never collide and concurrent saves
/// of one user leave one row.
pub struct SqliteStore {
    pool: SqlitePool,
    location: PathBuf,
    table: String,
    sql: Statements,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("file", &self.location)
            .field("table", &self.table)
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
        let options = options
            .create_if_missing(true)
            .busy_timeout(self.busy_timeout);
        let location = options.get_filename().to_path_buf();
        let pool = SqlitePoolOptions::new()
            .max_connections(if in_memory { 1 } else { self.max_connections })
            .min_connections(if in_memory { 1 } else { 0 })
            .idle_timeout(if in_memory {
                None
            } else {
                Some(Duration::from_secs(600))
            })
            .max_lifetime(if in_memory {
                None
            } else {
                Some(Duration::from_secs(1800))
            })
            .connect_with(options)
            .await
            .map_err(|e| map_sqlx(e, BACKEND, "open"))?;
        let sql = Statements::new(Dialect::Sqlite, &self.table);
        let store = SqliteStore {
            pool,
            location,
            table: self.table,
            sql,
        };
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
        &self.table
    }

    /// The connection pool, for callers that share it or inspect the table directly.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Create the table (with indexes on the lookup columns) when it is missing, the id table,
    /// and check the columns. An existing table is never altered.
    async fn prepare_table(&self) -> Result<()> {
        let map = |e| map_sqlx(e, BACKEND, "open");
        if self.columns().await?.is_empty() {
            let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(map)?;
            for ddl in std::iter::once(&self.sql.create_table).chain(&self.sql.create_indexes) {
                sqlx::query(sqlx::AssertSqlSafe(ddl.clone()))
                    .execute(&mut *tx)
                    .await
                    .map_err(map)?;
            }
            tx.commit().await.map_err(map)?;
        }
        sqlx::query(sqlx::AssertSqlSafe(self.sql.ids_create.clone()))
            .execute(&self.pool)
            .await
            .map_err(map)?;
        sqlx::query(sqlx::AssertSqlSafe(self.sql.ids_ensure.clone()))
            .bind(&self.table)
            .execute(&self.pool)
            .await
            .map_err(map)?;
        schema::check_columns(&self.columns().await?)
            .map_err(|e| e.with_backend(BACKEND).with_operation("open"))
    }

    /// The table's column names in order; empty when the table does not exist.
    async fn columns(&self) -> Result<Vec<String>> {
        sqlx::query_scalar("SELECT name FROM pragma_table_info(?) ORDER BY cid")
            .bind(&self.table)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| map_sqlx(e, BACKEND, "open"))
    }

    async fn rows<'e, E>(
        &self,
        executor: E,
        sql: String,
        binds: &[&str],
    ) -> Result<Vec<Token>, Failure>
    where
        E: sqlx::Executor<'e, Database = Sqlite>,
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

    async fn save_in(
        &self,
        tx: &mut Transaction<'_, Sqlite>,
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
            let max: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(self.sql.max_id.clone()))
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

#[async_trait]
impl TokenStore for SqliteStore {
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
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| map_sqlx(e, BACKEND, "save_token"))?;
        let row = self
            .save_in(&mut tx, &token)
            .await
            .map_err(|f| f.into_error("save_token"))?;
        tx.commit()
            .await
            .map_err(|e| map_sqlx(e, BACKEND, "save_token"))?;
        Ok(row)
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
