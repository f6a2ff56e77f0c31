//! `SecretIndexStore`: the `TokenStore` built once for every `SecretBackend`.
//!
//! Layout: each token lives in its own secret `token-<id>` (the token as JSON with the Zoho
//! column names); one secret `index` maps hashed lookup keys to ids (see [`index`]).
//!
//! Invariants:
//! * a token secret is written before the index, so a crash in between loses nothing
//!   ([`SecretIndexStore::repair`] re-indexes it);
//! * every candidate the index yields is read and verified, so a stale entry never produces
//!   a wrong answer;
//! * concurrent index writers lose no update: by compare-and-swap with retry
//!   ([`IndexProtocol::CompareAndSwap`]) or by merging every version written since the one a
//!   value was derived from ([`IndexProtocol::MergeLog`], see [`log`]);
//! * a save that would push the index or a token past the backend's size limit fails with
//!   [`ErrorKind::TooLarge`] before anything is written.

mod commit;
mod index;
mod repair;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;

pub use repair::RepairReport;

use crate::lookup::{lookup_keys, merge_for_save, parse_id, validate_for_save};
use crate::{Error, ErrorKind, Result, SecretBackend, Token, TokenStore};
use index::{EntryKeys, Index};

/// Relative name of the index secret.
pub const INDEX_NAME: &str = "index";
/// Prefix of the relative names of token secrets (`token-<id>`).
pub const TOKEN_PREFIX: &str = "token-";

/// Tuning of the engine's retry loops.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EngineOptions {
    /// How many times an index write is retried after losing a race.
    pub max_index_retries: u32,
    /// First backoff between retries; doubled each time (capped at 1 s), with jitter.
    pub initial_backoff: Duration,
    /// How long tombstones of deleted entries stay in a merge-log index.
    pub tombstone_ttl: Duration,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            max_index_retries: 30,
            initial_backoff: Duration::from_millis(10),
            tombstone_ttl: Duration::from_secs(900),
        }
    }
}

/// Counters the engine keeps about its own work.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EngineStats {
    /// Index writes retried after a compare-and-swap conflict.
    pub cas_retries: u64,
    /// Index writes that found concurrent versions and wrote a merged one.
    pub merges: u64,
}

/// A [`TokenStore`] over any [`SecretBackend`]: one secret per token plus one index secret.
pub struct SecretIndexStore {
    backend: Arc<dyn SecretBackend>,
    options: EngineOptions,
    cas_retries: AtomicU64,
    merges: AtomicU64,
}

impl std::fmt::Debug for SecretIndexStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretIndexStore")
            .field("backend", &self.backend)
            .field("options", &self.options)
            .finish()
    }
}

/// The relative secret name of token `id`.
pub fn token_secret_name(id: &str) -> String {
    format!("{TOKEN_PREFIX}{id}")
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl SecretIndexStore {
    /// An engine over `backend` with default options.
    pub fn new(backend: Arc<dyn SecretBackend>) -> Self {
        Self::with_options(backend, EngineOptions::default())
    }

    /// An engine over `backend` with the given options.
    pub fn with_options(backend: Arc<dyn SecretBackend>, options: EngineOptions) -> Self {
        Self {
            backend,
            options,
            cas_retries: AtomicU64::new(0),
            merges: AtomicU64::new(0),
        }
    }

    /// The backend this engine writes to.
    pub fn backend(&self) -> &Arc<dyn SecretBackend> {
        &self.backend
    }

    /// Counters since this engine was created.
    pub fn stats(&self) -> EngineStats {
        EngineStats {
            cas_retries: self.cas_retries.load(Ordering::Relaxed),
            merges: self.merges.load(Ordering::Relaxed),
        }
    }

    /// Number of tokens the index currently lists (one index read).
    pub async fn index_entries(&self) -> Result<usize> {
        Ok(self
            .read_index()
            .await
            .map_err(|e| self.err(e, "index_entries"))?
            .index
            .len())
    }

    fn err(&self, error: Error, operation: &'static str) -> Error {
        let backend = if error.backend().is_empty() {
            self.backend.kind()
        } else {
            error.backend()
        };
        error.with_backend(backend).with_operation(operation)
    }

    /// Read and decode token `id`, `None` when its secret does not exist.
    async fn read_token(&self, id: &str) -> Result<Option<Token>> {
        match self.backend.get(&token_secret_name(id)).await? {
            Some(secret) => decode_token(id, &secret.value).map(Some),
            None => Ok(None),
        }
    }

    /// The stored token `query` selects, verified against its secret.
    async fn lookup(&self, index: &Index, query: &Token) -> Result<Option<Token>> {
        for key in lookup_keys(query) {
            for id in index.candidates(&key) {
                if let Some(stored) = self.read_token(&id).await? {
                    if key.matches(&stored) {
                        return Ok(Some(stored));
                    }
                    tracing::debug!(
                        backend = self.backend.kind(),
                        id,
                        "stale index entry skipped"
                    );
                }
            }
        }
        Ok(None)
    }

    fn encode_token(&self, token: &Token) -> Result<String> {
        let value = serde_json::to_string(token).expect("token serializes");
        let limit = self.backend.limits().max_value_bytes;
        if value.len() > limit {
            return Err(Error::new(
                ErrorKind::TooLarge,
                format!(
                    "token is {} bytes as stored; this backend holds at most {limit} bytes per secret",
                    value.len()
                ),
            ));
        }
        Ok(value)
    }

    async fn save(&self, token: &Token) -> Result<Token> {
        let token = token.clone().normalized();
        validate_for_save(&token)?;
        let current = self.read_index().await?;
        let existing = match &token.id {
            Some(id) => self.read_token(id).await?,
            None => self.lookup(&current.index, &token).await?,
        };
        let mut row = merge_for_save(&token, existing.as_ref())?;
        if let Some(existing) = existing {
            return self.update(current, existing, row).await;
        }
        let explicit_id = row.id.is_some();
        let mut id = match &row.id {
            Some(id) => parse_id(id)?,
            None => current.index.next_id()?,
        };
        let keys = EntryKeys::of(&row);
        self.check_index_capacity(&current.index, &id.to_string(), &keys)?;
        // Create-only: a name taken by a concurrent writer (or an unindexed token left by a
        // crash) is never overwritten; take the next id instead.
        let mut attempts = 0;
        loop {
            row.id = Some(id.to_string());
            let value = self.encode_token(&row)?;
            match self
                .backend
                .create(&token_secret_name(&id.to_string()), &value)
                .await
            {
                Ok(_) => break,
                Err(e) if e.kind() == ErrorKind::AlreadyExists && !explicit_id && attempts < 32 => {
                    // Concurrent writers are ahead of the index: continue after the largest
                    // token secret that exists, spread by a small random step so writers
                    // that collided once do not collide again.
                    attempts += 1;
                    let spread = rand::Rng::random_range(&mut rand::rng(), 0..attempts);
                    id = (id + 1).max(self.largest_stored_id().await? + 1) + spread;
                }
                Err(e) if e.kind() == ErrorKind::AlreadyExists && explicit_id => {
                    // Someone created this id since we looked: it is an update after all.
                    return Box::pin(self.save(&token)).await;
                }
                Err(e) => return Err(e),
            }
        }
        let id = id.to_string();
        let committed = self
            .commit_index(current, |index| index.upsert(&id, &keys, now_ms()))
            .await?;
        if !explicit_id && let Some(user) = &row.user_name {
            return self.fold_duplicate_user(committed, row.clone(), user).await;
        }
        Ok(row)
    }

    async fn update(
        &self,
        current: commit::IndexState,
        existing: Token,
        row: Token,
    ) -> Result<Token> {
        let id = existing.id.clone().expect("stored tokens have ids");
        let keys = EntryKeys::of(&row);
        if row != existing {
            self.check_index_capacity(&current.index, &id, &keys)?;
            let value = self.encode_token(&row)?;
            self.backend.put(&token_secret_name(&id), &value).await?;
        }
        if current.index.keys_of(&id).as_ref() != Some(&keys) {
            self.commit_index(current, |index| index.upsert(&id, &keys, now_ms()))
                .await?;
        }
        Ok(row)
    }

    /// Concurrent first saves of one user name each created a token. Whichever writer sees
    /// the duplicates folds them into the smallest id (its own values win, empty fields are
    /// filled from the kept token) and removes the others, so one token remains.
    async fn fold_duplicate_user(&self, index: Index, row: Token, user: &str) -> Result<Token> {
        let my_id = row.id.clone().expect("saved rows have ids");
        let key = crate::lookup::LookupKey::UserName(user);
        let mut duplicates = Vec::new();
        for other in index.candidates(&key).into_iter().filter(|id| *id != my_id) {
            if let Some(stored) = self.read_token(&other).await?
                && key.matches(&stored)
            {
                duplicates.push(stored);
            }
        }
        let Some(keep) = duplicates
            .iter()
            .min_by_key(|t| crate::lookup::id_number(t.id.as_deref().unwrap_or("")))
        else {
            return Ok(row);
        };
        let keep_id = keep.id.clone().expect("stored tokens have ids");
        if crate::lookup::id_number(&keep_id) > crate::lookup::id_number(&my_id) {
            // Mine is the smallest: the others go.
            self.remove_duplicates(
                &my_id,
                &row,
                duplicates.iter().filter_map(|t| t.id.clone()).collect(),
            )
            .await?;
            return Ok(row);
        }
        let mut merged = row.clone();
        merged.merge_from(keep);
        merged.id = Some(keep_id.clone());
        self.backend
            .put(&token_secret_name(&keep_id), &self.encode_token(&merged)?)
            .await?;
        let victims = duplicates
            .iter()
            .filter_map(|t| t.id.clone())
            .filter(|id| *id != keep_id)
            .chain([my_id])
            .collect();
        self.remove_duplicates(&keep_id, &merged, victims).await?;
        Ok(merged)
    }

    /// Point the index at `keep` and delete the `victims` (index first, then their secrets).
    async fn remove_duplicates(
        &self,
        keep: &str,
        kept: &Token,
        victims: Vec<String>,
    ) -> Result<()> {
        let keys = EntryKeys::of(kept);
        let current = self.read_index().await?;
        self.commit_index(current, |index| {
            let stamp = now_ms();
            let changed = index.upsert(keep, &keys, stamp);
            let mut changed = changed;
            for id in &victims {
                changed |= index.remove(id, stamp);
            }
            changed
        })
        .await?;
        for id in &victims {
            self.backend.delete(&token_secret_name(id)).await?;
        }
        Ok(())
    }

    /// The largest id among existing token secrets (one list call).
    async fn largest_stored_id(&self) -> Result<u64> {
        let names = self.backend.list(TOKEN_PREFIX).await?;
        Ok(names
            .iter()
            .filter_map(|n| n.strip_prefix(TOKEN_PREFIX))
            .filter_map(|id| parse_id(id).ok())
            .max()
            .unwrap_or(0))
    }

    fn check_index_capacity(&self, index: &Index, id: &str, keys: &EntryKeys) -> Result<()> {
        let mut grown = index.clone();
        grown.upsert(id, keys, now_ms());
        grown.base = Some("0".repeat(40));
        self.encode_index(&grown).map(|_| ())
    }

    async fn delete_one(&self, id: &str) -> Result<()> {
        parse_id(id)?;
        // Secret first: a crash after it leaves a stale entry, which lookups verify away.
        self.backend.delete(&token_secret_name(id)).await?;
        let current = self.read_index().await?;
        if current.index.keys_of(id).is_some() {
            self.commit_index(current, |index| index.remove(id, now_ms()))
                .await?;
        }
        Ok(())
    }

    async fn all_tokens(&self) -> Result<Vec<Token>> {
        let current = self.read_index().await?;
        let ids = current.index.live_ids();
        self.read_tokens(&ids).await
    }

    /// Read tokens by id in batches, skipping ids whose secret is gone.
    async fn read_tokens(&self, ids: &[String]) -> Result<Vec<Token>> {
        let batch = self.backend.limits().batch_size.max(1);
        let mut tokens = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(batch) {
            let names: Vec<String> = chunk.iter().map(|id| token_secret_name(id)).collect();
            let values = self.backend.get_many(&names).await?;
            for (id, value) in chunk.iter().zip(values) {
                if let Some(secret) = value {
                    tokens.push(decode_token(id, &secret.value)?);
                }
            }
        }
        Ok(tokens)
    }

    async fn delete_all(&self) -> Result<()> {
        let listed = self.backend.list(TOKEN_PREFIX).await?;
        for name in &listed {
            self.backend.delete(name).await?;
        }
        let current = self.read_index().await?;
        let ids = current.index.live_ids();
        if !ids.is_empty() {
            self.commit_index(current, |index| {
                let mut changed = false;
                for id in &ids {
                    changed |= index.remove(id, now_ms());
                }
                changed
            })
            .await?;
        }
        Ok(())
    }
}

/// Decode a token secret and check it belongs to `id`.
fn decode_token(id: &str, value: &str) -> Result<Token> {
    let token: Token = serde_json::from_str(value).map_err(|e| {
        Error::corrupt(format!("token secret {id} is not token JSON")).with_source(e)
    })?;
    if token.id.as_deref() != Some(id) {
        return Err(Error::corrupt(format!(
            "token secret {id} holds a token with another id"
        )));
    }
    Ok(token.normalized())
}

#[async_trait]
impl TokenStore for SecretIndexStore {
    async fn find_token(&self, query: &Token) -> Result<Option<Token>> {
        let query = query.clone().normalized();
        if lookup_keys(&query).is_empty() {
            return Ok(None);
        }
        let result = async {
            let current = self.read_index().await?;
            self.lookup(&current.index, &query).await
        }
        .await;
        let stored = result.map_err(|e| self.err(e, "find_token"))?;
        Ok(stored.map(|stored| {
            let mut found = query;
            found.merge_from(&stored);
            found
        }))
    }

    async fn save_token(&self, token: &Token) -> Result<Token> {
        self.save(token)
            .await
            .map_err(|e| self.err(e, "save_token"))
    }

    async fn delete_token(&self, id: &str) -> Result<()> {
        self.delete_one(id)
            .await
            .map_err(|e| self.err(e, "delete_token"))
    }

    async fn get_tokens(&self) -> Result<Vec<Token>> {
        self.all_tokens()
            .await
            .map_err(|e| self.err(e, "get_tokens"))
    }

    async fn delete_tokens(&self) -> Result<()> {
        self.delete_all()
            .await
            .map_err(|e| self.err(e, "delete_tokens"))
    }

    async fn find_token_by_id(&self, id: &str) -> Result<Option<Token>> {
        async {
            parse_id(id)?;
            self.read_token(id).await
        }
        .await
        .map_err(|e| self.err(e, "find_token_by_id"))
    }
}
