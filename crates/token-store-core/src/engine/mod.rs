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
mod delete;
mod duplicates;
mod ids;
mod keys;
mod repair;
mod save;
mod trace;
mod tree;
mod values;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;

pub use repair::RepairReport;
pub use tree::{SHARD_PREFIX, SPLIT_WRITES_PER_DAY, VERSIONS_PER_GENERATION};

use crate::lookup::{LookupKey, lookup_keys, parse_id};
use crate::{Error, ErrorKind, Result, SecretBackend, Token, TokenStore};
use commit::{State, Step};
use keys::Key;
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
