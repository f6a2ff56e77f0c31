//! The six token operations on one Zoho `oauthtoken` table, written once for both databases.
//! The stores add what differs: connecting, creating the table, how a save transaction begins.

use std::time::Duration;

use sqlx::{
    ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, Transaction, Type,
};
use token_store_core::lookup::{
    find_match, lookup_keys, merge_for_save, next_id, parse_id, validate_for_save,
};
use token_store_core::{ErrorKind, Result, Token};

use crate::error::Failure;
use crate::rows::read_cells;
use crate::schema::{cells_from_token, token_from_cells};
use crate::statements::Statements;

/// How often a save transaction is tried when it loses to a concurrent writer (deadlock, lock
/// wait timeout, duplicate id, busy database).
const SAVE_ATTEMPTS: u32 = 12;

/// One token table behind a connection pool.
pub(crate) struct Table<DB: Database> {
    /// The connection pool.
    pub pool: Pool<DB>,
    /// The validated table name.
    pub name: String,
    /// The statements for this table.
    pub sql: Statements,
    /// `"sqlite"` or `"mysql"`, for errors.
    pub backend: &'static str,
    /// The statement that starts a save transaction (`None`: the driver's `BEGIN`).
    pub begin: Option<&'static str>,
}

impl<DB> Table<DB>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    String: for<'q> Encode<'q, DB> + Type<DB>,
    Option<String>: for<'q> Encode<'q, DB> + for<'r> Decode<'r, DB> + Type<DB>,
    i64: for<'q> Encode<'q, DB> + for<'r> Decode<'r, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    /// The token `query` selects (see `TokenStore::find_token`).
    pub async fn find(&self, query: &Token) -> Result<Option<Token>> {
        let query = query.clone().normalized();
        let keys = lookup_keys(&query);
        if keys.is_empty() {
            return Ok(None);
        }
        let sql = self.sql.select_by_keys(&keys, false);
        let candidates = self
            .rows(&self.pool, sql, self.sql.key_values(&keys))
            .await
            .map_err(|f| self.fail(f, "find_token"))?;
        Ok(find_match(&query, candidates.iter()).map(|stored| {
            let mut found = query.clone();
            found.merge_from(stored);
            found
        }))
    }

    /// The token with this id.
    pub async fn find_by_id(&self, id: &str) -> Result<Option<Token>> {
        parse_id(id).map_err(|e| self.fail(e.into(), "find_token_by_id"))?;
        let rows = self
            .rows(&self.pool, self.sql.select_by_id.clone(), vec![id])
            .await;
        Ok(rows
            .map_err(|f| self.fail(f, "find_token_by_id"))?
            .into_iter()
            .next())
    }

    /// Every token, by numeric id.
    pub async fn all(&self) -> Result<Vec<Token>> {
        let rows = self
            .rows(&self.pool, self.sql.select_all.clone(), Vec::new())
            .await;
        let mut tokens = rows.map_err(|f| self.fail(f, "get_tokens"))?;
        tokens.sort_by_cached_key(|t| {
            let id = t.id.clone().unwrap_or_default();
            (token_store_core::lookup::id_number(&id), id)
        });
        Ok(tokens)
    }

    /// Delete the token with this id (absent: nothing to do).
    pub async fn delete(&self, id: &str) -> Result<()> {
        parse_id(id).map_err(|e| self.fail(e.into(), "delete_token"))?;
        let query =
            sqlx::query(sqlx::AssertSqlSafe(self.sql.delete_by_id.clone())).bind(id.to_owned());
        query
            .execute(&self.pool)
            .await
            .map_err(|e| self.fail(e.into(), "delete_token"))?;
        Ok(())
    }

    /// Delete every token of this table.
    pub async fn delete_all(&self) -> Result<()> {
        let query = sqlx::query(sqlx::AssertSqlSafe(self.sql.delete_all.clone()));
        query
            .execute(&self.pool)
            .await
            .map_err(|e| self.fail(e.into(), "delete_tokens"))?;
        Ok(())
    }

    /// Upsert `token` in one transaction, tried again when it loses to a concurrent writer.
    pub async fn save(&self, token: &Token) -> Result<Token> {
        let token = token.clone().normalized();
        validate_for_save(&token)
            .and_then(|()| cells_from_token(&token).map(drop))
            .map_err(|e| self.fail(e.into(), "save_token"))?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self
                .save_once(&token)
                .await
                .map_err(|f| self.fail(f, "save_token"))
            {
                Err(e) if e.kind() == ErrorKind::Conflict && attempt < SAVE_ATTEMPTS => {
                    tracing::debug!(
                        backend = self.backend,
                        attempt,
                        "save lost to a concurrent writer, retrying"
                    );
                    tokio::time::sleep(backoff(attempt)).await;
                }
                other => return other,
            }
        }
    }

    async fn save_once(&self, token: &Token) -> Result<Token, Failure> {
        let mut tx = match self.begin {
            Some(statement) => self.pool.begin_with(statement).await?,
            None => self.pool.begin().await?,
        };
        let row = self.save_in(&mut tx, token).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// The save itself: lock this table's id row (MySQL), read the row to update, merge,
    /// assign an id when new, write, raise the high-water mark.
    async fn save_in(
        &self,
        tx: &mut Transaction<'static, DB>,
        token: &Token,
    ) -> Result<Token, Failure> {
        let highest: Option<i64> =
            sqlx::query_scalar(sqlx::AssertSqlSafe(self.sql.ids_select.clone()))
                .bind(self.name.clone())
                .fetch_optional(&mut **tx)
                .await?;
        let existing = match &token.id {
            Some(id) => self
                .rows(&mut **tx, self.sql.select_by_id.clone(), vec![id])
                .await?
                .into_iter()
                .next(),
            None => {
                let keys = lookup_keys(token);
                if keys.is_empty() {
                    None
                } else {
                    let sql = self.sql.select_by_keys(&keys, true);
                    let candidates = self
                        .rows(&mut **tx, sql, self.sql.key_values(&keys))
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
                let mut binds = cells[1..].to_vec();
                binds.push(cells[0].clone());
                (self.sql.update_by_id.clone(), binds)
            }
            None => (self.sql.insert.clone(), cells.to_vec()),
        };
        let mut write = sqlx::query(sqlx::AssertSqlSafe(sql));
        for value in binds {
            write = write.bind(value);
        }
        write.execute(&mut **tx).await?;
        if existing.is_none() {
            let id = parse_id(row.id.as_deref().unwrap_or_default())?;
            sqlx::query(sqlx::AssertSqlSafe(self.sql.ids_raise.clone()))
                .bind(self.name.clone())
                .bind(i64::try_from(id).expect("ids have at most 10 digits"))
                .execute(&mut **tx)
                .await?;
        }
        Ok(row)
    }

    async fn rows<'e, E>(
        &self,
        executor: E,
        sql: String,
        binds: Vec<&str>,
    ) -> Result<Vec<Token>, Failure>
    where
        E: Executor<'e, Database = DB>,
    {
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for value in binds {
            query = query.bind(value.to_owned());
        }
        let rows = query.fetch_all(executor).await?;
        rows.iter()
            .map(|row| token_from_cells(read_cells(row)?).map_err(Failure::Store))
            .collect()
    }

    fn fail(&self, failure: Failure, operation: &'static str) -> token_store_core::Error {
        failure.into_error(self.backend, operation)
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

/// Implement `TokenStore` for a store type by delegating to its `table` field.
macro_rules! token_store_via_table {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl token_store_core::TokenStore for $store {
            async fn find_token(
                &self,
                query: &token_store_core::Token,
            ) -> token_store_core::Result<Option<token_store_core::Token>> {
                self.table.find(query).await
            }
            async fn save_token(
                &self,
                token: &token_store_core::Token,
            ) -> token_store_core::Result<token_store_core::Token> {
                self.table.save(token).await
            }
            async fn delete_token(&self, id: &str) -> token_store_core::Result<()> {
                self.table.delete(id).await
            }
            async fn get_tokens(&self) -> token_store_core::Result<Vec<token_store_core::Token>> {
                self.table.all().await
            }
            async fn delete_tokens(&self) -> token_store_core::Result<()> {
                self.table.delete_all().await
            }
            async fn find_token_by_id(
                &self,
                id: &str,
            ) -> token_store_core::Result<Option<token_store_core::Token>> {
                self.table.find_by_id(id).await
            }
        }
    };
}
pub(crate) use token_store_via_table;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_stays_bounded() {
        assert!(backoff(1) <= Duration::from_millis(4));
        assert!(backoff(20) <= Duration::from_millis(256));
        assert!(backoff(20) >= Duration::from_millis(128));
    }
}
