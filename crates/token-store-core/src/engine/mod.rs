//! `SecretIndexStore`: the `TokenStore` built once for every `SecretBackend`.
//!
//! Layout: each token lives in its own secret `token-<id>` (the token as JSON with the Zoho
//! column names). The index maps hashed lookup keys (user name, access, refresh and grant
//! token, and the id itself) to ids. It is a tree of small shard secrets `ix-r<bits>` that
//! split as they grow or get busy ([`tree`]), plus a root secret `index` holding the id
//! high-water mark ([`values`]). A find reads one shard and one token; a refresh writes the
//! token and one shard; no secret is written more than [`SPLIT_WRITES_PER_DAY`] times a day
//! (plus the split itself), whatever the number of tokens.
//!
//! Invariants:
//! * every key a stored token holds is in the index before the token holds it: a save
//!   writes new index entries first, then the token, then removes entries of keys it no
//!   longer has. A save that fails half-way leaves at worst an entry pointing at a token
//!   that lacks its key, which lookups verify away; never a stored key that cannot be found;
//! * every candidate the index yields is read and verified, so a stale entry never produces
//!   a wrong answer;
//! * concurrent index writers lose no update: by compare-and-swap with retry
//!   ([`IndexProtocol::CompareAndSwap`]) or by merging every version written since the one a
//!   value was derived from ([`IndexProtocol::MergeLog`], see [`commit`]);
//! * the index is derived data: [`SecretIndexStore::repair`] rebuilds it from the token
//!   secrets, and a store whose index is missing while tokens exist repairs itself before it
//!   answers.
//!
//! [`IndexProtocol::CompareAndSwap`]: crate::IndexProtocol::CompareAndSwap
//! [`IndexProtocol::MergeLog`]: crate::IndexProtocol::MergeLog

mod commit;
mod keys;
mod repair;
mod trace;
mod tree;
mod values;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;

pub use repair::RepairReport;
pub use tree::{SHARD_PREFIX, SPLIT_WRITES_PER_DAY, VERSIONS_PER_GENERATION};

use crate::lookup::{LookupKey, lookup_keys, merge_for_save, parse_id, validate_for_save};
use crate::{Error, ErrorKind, IndexProtocol, Result, SecretBackend, Token, TokenStore};
use commit::{State, Step};
use keys::{Key, keys_of};
use tree::Change;
use values::Root;

/// Relative name of the index root secret (the id high-water mark; the whole index in the
/// first format).
pub const INDEX_NAME: &str = "index";
/// Prefix of the relative names of token secrets (`token-<id>`).
pub const TOKEN_PREFIX: &str = "token-";

/// Whether relative secret `name` is part of the index (the root or a shard).
pub fn is_index_secret(name: &str) -> bool {
    name == INDEX_NAME || name.starts_with(SHARD_PREFIX)
}

/// Milliseconds since the Unix epoch, as the engine reads the time.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> u64 + Send + Sync>);

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self(Arc::new(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64)
        }))
    }

    /// A clock read from `now_ms` (e.g. a simulation's virtual time).
    pub fn from_fn(now_ms: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        Self(Arc::new(now_ms))
    }

    /// The time now in milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> u64 {
        (self.0)()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Clock")
    }
}

/// Tuning of the engine.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EngineOptions {
    /// How many times an index write is retried after losing a race.
    pub max_index_retries: u32,
    /// First backoff between retries; doubled each time (capped at 1 s), with jitter.
    pub initial_backoff: Duration,
    /// How long tombstones of removed entries stay in a merge-log index.
    pub tombstone_ttl: Duration,
    /// Merge-log backends that can never delete a version (Azure Key Vault) list all of a
    /// secret's versions to read it; a shard that has this many versions is split so a read
    /// stays a few pages (Key Vault lists 25 per page; backups fail past 500 versions).
    pub max_versions_per_shard: u64,
    /// Stale access-token entries checked against their tokens per shard write.
    pub verify_per_write: usize,
    /// How long a shard this process read or wrote is trusted as the base of its next write
    /// (a stale base costs a lost compare-and-swap or a merge, never an update).
    pub write_cache_ttl: Duration,
    /// Where shards roll to new generations
    /// ([`BackendLimits::versions_per_generation`](crate::BackendLimits)), how long a rolled
    /// generation stays before it is deleted. Every read of a generation is used within half
    /// of it (cached shards included), so no writer ever writes to a deleted generation.
    pub generation_grace: Duration,
    /// Where the engine reads the time (entry stamps, write rates).
    pub clock: Clock,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            max_index_retries: 30,
            initial_backoff: Duration::from_millis(10),
            tombstone_ttl: Duration::from_secs(900),
            max_versions_per_shard: 100,
            verify_per_write: 4,
            write_cache_ttl: Duration::from_secs(2),
            generation_grace: Duration::from_secs(600),
            clock: Clock::system(),
        }
    }
}

impl EngineOptions {
    /// These options trusting a shard this process read or wrote for `ttl` as the base of its
    /// next write.
    pub fn with_write_cache_ttl(mut self, ttl: Duration) -> Self {
        self.write_cache_ttl = ttl;
        self
    }

    /// These options deleting a rolled shard generation `grace` after it was frozen.
    pub fn with_generation_grace(mut self, grace: Duration) -> Self {
        self.generation_grace = grace;
        self
    }

    /// These options reading the time from `clock`.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
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
    /// Index shards split.
    pub splits: u64,
    /// Index shards rolled to a new generation.
    pub rolls: u64,
}

#[derive(Debug, Default)]
struct Counters {
    cas_retries: AtomicU64,
    merges: AtomicU64,
    splits: AtomicU64,
    rolls: AtomicU64,
}

/// A [`TokenStore`] over any [`SecretBackend`]: one secret per token plus index secrets.
pub struct SecretIndexStore {
    backend: Arc<dyn SecretBackend>,
    options: EngineOptions,
    stats: Counters,
    /// Depth of the leaf shards last found (hashes are uniform, so most leaves share it).
    depth_hint: AtomicUsize,
    /// Ids this process reserved and has not used yet.
    id_pool: Mutex<Vec<u64>>,
    /// Shards this process read or wrote lately.
    shard_cache: tree::ShardCache,
}

impl std::fmt::Debug for SecretIndexStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretIndexStore")
            .field("backend", &self.backend)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// The relative secret name of token `id`.
pub fn token_secret_name(id: &str) -> String {
    format!("{TOKEN_PREFIX}{id}")
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
            stats: Counters::default(),
            depth_hint: AtomicUsize::new(0),
            id_pool: Mutex::new(Vec::new()),
            shard_cache: tree::ShardCache::default(),
        }
    }

    /// The backend this engine writes to.
    pub fn backend(&self) -> &Arc<dyn SecretBackend> {
        &self.backend
    }

    /// Counters since this engine was created.
    pub fn stats(&self) -> EngineStats {
        EngineStats {
            cas_retries: self.stats.cas_retries.load(Ordering::Relaxed),
            merges: self.stats.merges.load(Ordering::Relaxed),
            splits: self.stats.splits.load(Ordering::Relaxed),
            rolls: self.stats.rolls.load(Ordering::Relaxed),
        }
    }

    /// Number of tokens the index lists (reads every shard).
    pub async fn index_entries(&self) -> Result<usize> {
        Ok(self
            .indexed_ids()
            .await
            .map_err(|e| self.err(e, "index_entries"))?
            .len())
    }

    pub(crate) fn now_ms(&self) -> u64 {
        self.options.clock.now_ms()
    }

    /// The oldest read time of a cached shard still trusted for a write (within half the
    /// generation grace where shards roll).
    pub(crate) fn fresh_since(&self) -> u64 {
        let mut ttl = self.options.write_cache_ttl;
        if self.backend.limits().versions_per_generation.is_some() {
            ttl = ttl.min(self.options.generation_grace / 2);
        }
        self.now_ms().saturating_sub(ttl.as_millis() as u64)
    }

    pub(crate) fn now_minute(&self) -> u64 {
        self.now_ms() / 60_000
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
    async fn lookup(&self, query: &Token) -> Result<Option<Token>> {
        for key in lookup_keys(query) {
            if let Some(found) = self.lookup_key(&key).await? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    /// The stored token matching one lookup key (smallest id first). A shard this process
    /// has cached answers first when its candidate verifies, then (Key Vault) the latest
    /// version of the hinted shard; otherwise the shard is read completely.
    async fn lookup_key(&self, key: &LookupKey<'_>) -> Result<Option<Token>> {
        let hashed = Key::of_lookup(key);
        let cached = self.shard_cache_leaf(&hashed);
        if let Some(leaf) = &cached {
            for id in leaf.state.value.candidates(&hashed) {
                if let Some(stored) = self.read_token(&id).await?
                    && key.matches(&stored)
                {
                    return Ok(Some(stored));
                }
            }
        }
        if let Some(shard) = self.latest_shard_guess(&hashed).await? {
            for id in shard.candidates(&hashed) {
                if let Some(stored) = self.read_token(&id).await?
                    && key.matches(&stored)
                {
                    return Ok(Some(stored));
                }
            }
        }
        let mut leaf = self.locate(&hashed).await?;
        // No shard at all (not even the first): an empty store, an old format, or a lost
        // index. A child of a split shard that nobody wrote yet is normal and reads as its
        // parent's half.
        if leaf.path.is_empty()
            && leaf.generation == 0
            && leaf.state.version.is_none()
            && self.ensure_index().await?
        {
            leaf = self.locate(&hashed).await?;
        }
        for id in leaf.state.value.candidates(&hashed) {
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
        Ok(None)
    }

    /// Any cached leaf on `key`'s path, whatever its age.
    fn shard_cache_leaf(&self, key: &Key) -> Option<tree::Leaf> {
        self.shard_cache.leaf_any_age(key)
    }

    /// Called when a shard that should exist does not: converts a first-format index, or
    /// rebuilds a lost index when token secrets exist. Returns whether it changed anything
    /// (so the caller looks again). A store with no tokens costs one root read and one list.
    async fn ensure_index(&self) -> Result<bool> {
        let root = match self.read_value::<Root>(INDEX_NAME).await {
            Ok(root) => Some(root),
            Err(e) if e.kind() == ErrorKind::Corrupt => None,
            Err(e) => return Err(e),
        };
        if let Some(root) = root
            && root.value.is_legacy()
        {
            self.upgrade(root).await?;
            return Ok(true);
        }
        if self.backend.list(TOKEN_PREFIX).await?.is_empty() {
            return Ok(false);
        }
        tracing::warn!(
            backend = self.backend.kind(),
            "index shards missing while token secrets exist: rebuilding the index"
        );
        self.rebuild().await?;
        Ok(true)
    }

    /// Move a first-format index into shards, then mark the root as format 2.
    async fn upgrade(&self, root: State<Root>) -> Result<()> {
        let changes = root
            .value
            .legacy_entries()
            .into_iter()
            .map(|(key, id)| Change {
                key,
                id,
                live: true,
                optional: false,
            })
            .collect();
        self.apply_changes(changes).await?;
        self.commit_value(INDEX_NAME, root, |value: &mut Root| {
            if value.is_legacy() {
                *value = value.upgraded();
                Step::Write
            } else {
                Step::Skip
            }
        })
        .await?;
        tracing::info!(
            backend = self.backend.kind(),
            "index converted to the sharded format"
        );
        Ok(())
    }

    fn encode_token(&self, token: &Token) -> Result<String> {
        let value = serde_json::to_string(token).map_err(|e| {
            Error::new(ErrorKind::Unexpected, "token does not serialize").with_source(e)
        })?;
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

    /// A fresh id: from this process's reserved ids, else reserved from the root (one
    /// root write; several ids at once when the root is busy, so it stays under its rate).
    /// `collisions` counts the ids this save already found taken: the pool is then dropped
    /// (another process reserved the same ids, as merge-log roots allow) and the reservation
    /// starts a random distance past the high-water mark so racing writers spread out.
    async fn allocate_id(&self, collisions: u32) -> Result<u64> {
        if collisions > 0 {
            self.id_pool
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clear();
        }
        if let Some(id) = self
            .id_pool
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
        {
            return Ok(id);
        }
        let mut root = self.read_value::<Root>(INDEX_NAME).await?;
        if root.value.is_legacy() {
            self.upgrade(root).await?;
            root = self.read_value::<Root>(INDEX_NAME).await?;
        }
        let block = id_block(root.value.writes_in_window(self.now_minute()));
        // Merge-log roots have no compare-and-swap: writers reading the same root reserve the
        // same ids (the create of all but one fails). After a collision, start a random
        // distance past the mark so racing writers rarely pick the same ids again.
        let skip = if collisions > 0 {
            rand::Rng::random_range(&mut rand::rng(), 0..u64::from(collisions) * 4)
        } else {
            0
        };
        let reserved = Mutex::new(0u64);
        self.commit_value(INDEX_NAME, root, |value: &mut Root| {
            let first = value.hi + 1 + skip;
            if first + block - 1 > crate::lookup::MAX_ID {
                return Step::Abort;
            }
            value.hi = first + block - 1;
            *reserved.lock().unwrap_or_else(PoisonError::into_inner) = first;
            Step::Write
        })
        .await?;
        let first = *reserved.lock().unwrap_or_else(PoisonError::into_inner);
        if first == 0 {
            return Err(Error::new(
                ErrorKind::TooLarge,
                "no token id left: ids are limited to 10 digits",
            ));
        }
        let mut pool = self.id_pool.lock().unwrap_or_else(PoisonError::into_inner);
        pool.extend((first + 1..first + block).rev());
        Ok(first)
    }

    async fn save(&self, token: &Token) -> Result<Token> {
        let token = token.clone().normalized();
        validate_for_save(&token)?;
        let existing = match &token.id {
            Some(id) => {
                parse_id(id)?;
                self.read_token(id).await?
            }
            None => self.lookup(&token).await?,
        };
        let mut row = merge_for_save(&token, existing.as_ref())?;
        if let Some(existing) = existing {
            return self.update(existing, row).await;
        }
        let explicit_id = row.id.is_some();
        // Refuse a token over the backend's limit before anything is written (the id it
        // gets is at most 10 digits).
        let mut widest = row.clone();
        widest.id = Some(crate::lookup::MAX_ID.to_string());
        self.encode_token(&widest)?;
        let mut id = match &row.id {
            Some(id) => parse_id(id)?,
            None => self.allocate_id(0).await?,
        };
        // Index entries first (they point at a token that does not hold the keys yet, which
        // lookups verify away), then the token, create-only: a name taken by a concurrent
        // writer is never overwritten.
        let mut attempts = 0;
        loop {
            let id_text = id.to_string();
            row.id = Some(id_text.clone());
            let value = self.encode_token(&row)?;
            self.apply_changes(additions(&row, &id_text)).await?;
            match self
                .backend
                .create(&token_secret_name(&id_text), &value)
                .await
            {
                Ok(_) => break,
                Err(e) if e.kind() == ErrorKind::AlreadyExists && !explicit_id && attempts < 32 => {
                    attempts += 1;
                    id = self.allocate_id(attempts).await?;
                }
                Err(e) if e.kind() == ErrorKind::AlreadyExists && explicit_id => {
                    // Someone created this id since we looked: it is an update after all.
                    return Box::pin(self.save(&token)).await;
                }
                Err(e) => return Err(e),
            }
        }
        if explicit_id {
            self.raise_high_water_mark(id).await?;
            return Ok(row);
        }
        if self.backend.index_protocol() == IndexProtocol::MergeLog {
            self.confirm_id_entry(&row.id.clone().unwrap_or_default())
                .await?;
        }
        if let Some(user) = row.user_name.clone() {
            return self.fold_duplicate_user(row, &user).await;
        }
        Ok(row)
    }

    /// After creating a token under an id from a merge-log root (which can hand one id to
    /// two writers), read the id's entry again and add it back if it is gone: the other
    /// writer may have removed its own token of that id as a duplicate, and with it the
    /// id's entry (the same for both), between our entries and our create. A removal that
    /// lands after this read is followed by the remover's re-read of the id, which finds
    /// our token and restores its entries ([`Self::remove_duplicate`]).
    async fn confirm_id_entry(&self, id: &str) -> Result<()> {
        let key = Key::of_id(id);
        let leaf = self.locate(&key).await?;
        if leaf.state.value.candidates(&key).iter().any(|c| c == id) {
            return Ok(());
        }
        self.apply_changes(vec![Change {
            key,
            id: id.to_string(),
            live: true,
            optional: false,
        }])
        .await
    }

    /// Make the root's id high-water mark cover `id` (a token saved with its own id, or
    /// deleted), so the id is never handed out and new ids follow the largest. When the root
    /// is busy (a migration saving many tokens with their ids) it jumps ahead, leaving a gap
    /// rather than writing the root once per token.
    async fn raise_high_water_mark(&self, id: u64) -> Result<()> {
        let mut root = self.read_value::<Root>(INDEX_NAME).await?;
        if root.value.is_legacy() {
            self.upgrade(root).await?;
            root = self.read_value::<Root>(INDEX_NAME).await?;
        }
        if root.value.hi >= id {
            return Ok(());
        }
        let busy = root.value.writes_in_window(self.now_minute()) >= SPLIT_WRITES_PER_DAY / 2;
        let target = if busy {
            (id + 1024).min(crate::lookup::MAX_ID)
        } else {
            id
        };
        self.commit_value(INDEX_NAME, root, |value: &mut Root| {
            if value.hi >= id {
                return Step::Skip;
            }
            value.hi = target;
            Step::Write
        })
        .await?;
        Ok(())
    }

    async fn update(&self, existing: Token, row: Token) -> Result<Token> {
        let id = existing.id.clone().unwrap_or_default();
        let old = keys_of(&existing, &id);
        let new = keys_of(&row, &id);
        let added: Vec<Change> = additions(&row, &id)
            .into_iter()
            .filter(|c| !old.contains(&c.key))
            .collect();
        if !added.is_empty() {
            self.apply_changes(added).await?;
        }
        if row != existing {
            let value = self.encode_token(&row)?;
            self.backend.put(&token_secret_name(&id), &value).await?;
        }
        let removed: Vec<Change> = old
            .into_iter()
            .filter(|key| !new.contains(key))
            .map(|key| Change {
                // An old access-token entry goes with the next write of its shard (or is
                // verified away later); the rarer keys are removed now.
                optional: key.tag() == 'a',
                key,
                id: id.clone(),
                live: false,
            })
            .collect();
        if !removed.is_empty() {
            self.apply_changes(removed).await?;
        }
        Ok(row)
    }

    /// Concurrent first saves of one user name each created a token; the smallest id
    /// survives. Entries are written before tokens, so of two such writers at least one sees
    /// the other's entries when it checks after its create (a token whose entries exist but
    /// which is not created yet is waited for briefly). A writer that sees a smaller token of
    /// its user moves its values into the smallest and removes its own token; a writer that
    /// is the smallest removes the larger ones it sees.
    async fn fold_duplicate_user(&self, row: Token, user: &str) -> Result<Token> {
        let my_number = crate::lookup::id_number(row.id.as_deref().unwrap_or(""));
        let key = LookupKey::UserName(user);
        let hashed = Key::of_lookup(&key);
        let mut wait = Duration::from_millis(50);
        let mut others: Vec<Token> = Vec::new();
        for attempt in 0..5 {
            let leaf = if attempt == 0 {
                self.locate_cached(&hashed, self.fresh_since()).await?
            } else {
                self.locate(&hashed).await?
            };
            let mut pending = false;
            others.clear();
            for id in leaf.state.value.candidates(&hashed) {
                if crate::lookup::id_number(&id) == my_number {
                    continue;
                }
                match self.read_token(&id).await? {
                    Some(stored) if key.matches(&stored) => others.push(stored),
                    Some(_) => {}
                    None => pending |= crate::lookup::id_number(&id) < my_number,
                }
            }
            if !pending {
                break;
            }
            tokio::time::sleep(wait).await;
            wait *= 2;
        }
        let smallest = others
            .iter()
            .min_by_key(|t| crate::lookup::id_number(t.id.as_deref().unwrap_or("")));
        match smallest {
            Some(keep)
                if crate::lookup::id_number(keep.id.as_deref().unwrap_or("")) < my_number =>
            {
                let merged = self.yield_to(row, keep.clone()).await?;
                // The token yielded to may itself have been removed by a smaller one meanwhile
                // (and just written again): fold once more from it (ids only decrease).
                Box::pin(self.fold_duplicate_user(merged, user)).await
            }
            _ => {
                for larger in &others {
                    self.remove_duplicate(larger).await?;
                }
                Ok(row)
            }
        }
    }

    /// Move `row`'s values into `keep` (a token of the same user with a smaller id), then
    /// remove `row`'s own token.
    async fn yield_to(&self, row: Token, keep: Token) -> Result<Token> {
        let keep_id = keep.id.clone().unwrap_or_default();
        let mut merged = row.clone();
        merged.merge_from(&keep);
        merged.id = Some(keep_id.clone());
        self.apply_changes(additions(&merged, &keep_id)).await?;
        self.backend
            .put(&token_secret_name(&keep_id), &self.encode_token(&merged)?)
            .await?;
        self.remove_duplicate(&row).await?;
        Ok(merged)
    }

    /// Remove a duplicate of a user found earlier. Its id may meanwhile hold another token
    /// (a merge-log root can hand one id to two writers; once the duplicate is gone the id is
    /// free for the other), whose entries are then restored; or the duplicate itself again (a
    /// concurrent write to it landed after its delete), which is removed once more.
    /// A token created after that re-read finds its id entry missing and adds it again
    /// ([`Self::confirm_id_entry`]).
    async fn remove_duplicate(&self, token: &Token) -> Result<()> {
        let id = token.id.clone().unwrap_or_default();
        for _ in 0..3 {
            match self.read_token(&id).await? {
                Some(now) if now.user_name == token.user_name => {
                    self.remove_token(&now).await?;
                }
                Some(other) => return self.apply_changes(additions(&other, &id)).await,
                None => return Ok(()),
            }
        }
        Ok(())
    }

    /// Delete a stored token's secret, then its index entries.
    async fn remove_token(&self, token: &Token) -> Result<()> {
        let id = token.id.clone().unwrap_or_default();
        self.backend.delete(&token_secret_name(&id)).await?;
        let changes = keys_of(token, &id)
            .into_iter()
            .map(|key| Change {
                key,
                id: id.clone(),
                live: false,
                optional: false,
            })
            .collect();
        self.apply_changes(changes).await
    }

    async fn delete_one(&self, id: &str) -> Result<()> {
        let number = parse_id(id)?;
        let Some(token) = self.read_token(id).await? else {
            return Ok(());
        };
        self.remove_token(&token).await?;
        // Ids are never handed out again.
        self.raise_high_water_mark(number).await
    }

    /// Ids of every token the index lists, by numeric id.
    async fn indexed_ids(&self) -> Result<Vec<String>> {
        let mut leaves = self.walk().await?;
        if leaves.is_empty() && self.ensure_index().await? {
            leaves = self.walk().await?;
        }
        let mut ids: Vec<String> = leaves
            .iter()
            .flat_map(|(_, shard)| shard.live())
            .filter(|e| e.key.tag() == 'i')
            .map(|e| e.id)
            .collect();
        ids.sort_by_key(|id| crate::lookup::id_number(id));
        ids.dedup();
        Ok(ids)
    }

    async fn all_tokens(&self) -> Result<Vec<Token>> {
        let ids = self.indexed_ids().await?;
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
        let leaves = self.walk().await?;
        let mut changes = Vec::new();
        for (_, shard) in leaves {
            changes.extend(shard.live().into_iter().map(|e| Change {
                key: e.key,
                id: e.id,
                live: false,
                optional: false,
            }));
        }
        self.apply_changes(changes).await
    }
}

/// Ids to reserve with one root write when the root was written `recent_writes` times in
/// the last 24 hours: one while it is quiet, then doubling every 8 writes (a bulk load of
/// 10,000 tokens takes under 90 root writes), so the root stays under its write rate. Ids
/// a process reserved and did not use are skipped (ids are increasing, not gap-free).
fn id_block(recent_writes: usize) -> u64 {
    const QUIET: usize = 16;
    if recent_writes < QUIET {
        return 1;
    }
    let doublings = ((recent_writes - QUIET) / 8 + 1).min(12) as u32;
    1 << doublings
}

/// Index entries for every key of `row` (stored as token `id`).
fn additions(row: &Token, id: &str) -> Vec<Change> {
    keys_of(row, id)
        .into_iter()
        .map(|key| Change {
            key,
            id: id.to_string(),
            live: true,
            optional: false,
        })
        .collect()
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
        let stored = self
            .traced("find_token", query.id.as_deref(), self.lookup(&query))
            .await?;
        Ok(stored.map(|stored| {
            let mut found = query;
            found.merge_from(&stored);
            found
        }))
    }

    async fn save_token(&self, token: &Token) -> Result<Token> {
        self.traced("save_token", token.id.as_deref(), self.save(token))
            .await
    }

    async fn delete_token(&self, id: &str) -> Result<()> {
        self.traced("delete_token", Some(id), self.delete_one(id))
            .await
    }

    async fn get_tokens(&self) -> Result<Vec<Token>> {
        self.traced("get_tokens", None, self.all_tokens()).await
    }

    async fn delete_tokens(&self) -> Result<()> {
        self.traced("delete_tokens", None, self.delete_all()).await
    }

    async fn find_token_by_id(&self, id: &str) -> Result<Option<Token>> {
        let work = async {
            parse_id(id)?;
            self.read_token(id).await
        };
        self.traced("find_token_by_id", Some(id), work).await
    }
}
