//! The index as a tree of shards addressed by key-hash prefixes (extendible hashing without
//! a directory).
//!
//! The shard for a key at depth `d` is the secret `ix-r<first d bits of the key hash>`. The
//! store starts with one shard, `ix-r`. A shard that gets too big (half the backend's value
//! limit), too busy (where the backend caps versions per day, more than
//! [`SPLIT_WRITES_PER_DAY`] writes in 24 hours: AWS keeps at most 100 versions written in 24
//! hours per secret and advises far fewer), too fast (where it caps versions per minute, a
//! quarter of that many in the last two minutes: GCP) or too long (merge-log
//! backends that can never delete a version: [`EngineOptions::max_versions_per_shard`]) is
//! split: its entries are merged into its two children, then it is marked split. A split shard
//! is never written again, so every secret's write rate stays bounded however many tokens the
//! store holds, and the shards multiply with the load, not with a setting.
//!
//! Finding a key's shard reads one secret when the process already knows the depth of the
//! leaves around that key (its depth hint; hashes are uniform so leaves sit at about the
//! same depth), and a few more on a cold start (a binary search between a missing shard,
//! which is deeper than any leaf, and a split one, which is shallower).
//!
//! [`EngineOptions::max_versions_per_shard`]: super::EngineOptions::max_versions_per_shard

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;

use super::SecretIndexStore;
use super::commit::{Outcome, State, Step};
use super::keys::{HASH_BITS, Key};
use super::values::{Mergeable, Shard};
use crate::{Error, ErrorKind, IndexProtocol, Result};

/// Relative name prefix of index shards.
pub const SHARD_PREFIX: &str = "ix-r";
/// Writes in 24 hours after which a shard is split (AWS: at most 100 versions per secret in
/// 24 hours, <https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_limits.html>;
/// the engine's own target is at most 96, once per 15 minutes).
pub const SPLIT_WRITES_PER_DAY: usize = 64;

/// The shard name for a key-hash prefix.
pub(crate) fn shard_name(path: &str) -> String {
    format!("{SHARD_PREFIX}{path}")
}

/// Shards this process read or wrote lately (its validated index cache). A find answered
/// from a cached shard is verified by the token read it makes anyway, and a cached shard
/// that yields no verified match is read again, so a stale entry costs a call, never a wrong
/// answer. Writes use a cached shard only while it is younger than
/// [`EngineOptions::write_cache_ttl`](super::EngineOptions::write_cache_ttl), since a stale
/// one would lose its compare-and-swap.
#[derive(Debug, Default)]
pub(crate) struct ShardCache {
    entries: std::sync::Mutex<std::collections::HashMap<String, (State<Shard>, u64)>>,
}

/// Largest number of shards a process caches.
const CACHED_SHARDS: usize = 4_096;

impl ShardCache {
    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, (State<Shard>, u64)>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn put(&self, path: &str, state: &State<Shard>, now_ms: u64) {
        let mut entries = self.lock();
        if entries.len() >= CACHED_SHARDS && !entries.contains_key(path) {
            entries.clear();
        }
        entries.insert(path.to_string(), (state.clone(), now_ms));
    }

    fn forget(&self, path: &str) {
        self.lock().remove(path);
    }

    /// The deepest cached leaf on `key`'s path, whatever its age.
    pub(crate) fn leaf_any_age(&self, key: &Key) -> Option<Leaf> {
        self.leaf(key, 0)
    }

    /// The deepest cached leaf on `key`'s path read at or after `since_ms`.
    fn leaf(&self, key: &Key, since_ms: u64) -> Option<Leaf> {
        let entries = self.lock();
        (0..=HASH_BITS).rev().find_map(|depth| {
            let path = key.path(depth)?;
            let (state, at) = entries.get(&path)?;
            (*at >= since_ms && !state.value.split && state.version.is_some()).then(|| Leaf {
                path,
                state: state.clone(),
            })
        })
    }
}

/// One change to the index: make `key → id` live, or remove it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Change {
    pub(crate) key: Key,
    pub(crate) id: String,
    pub(crate) live: bool,
    /// Applied only when its shard is written anyway (a stale access-token entry).
    pub(crate) optional: bool,
}

/// A leaf shard as located: its depth, path and state.
pub(crate) struct Leaf {
    pub(crate) path: String,
    pub(crate) state: State<Shard>,
}

impl SecretIndexStore {
    /// The leaf shard holding `key` from this process's cache when it was read at or after
    /// `since_ms`, else from the service.
    pub(crate) async fn locate_cached(&self, key: &Key, since_ms: u64) -> Result<Leaf> {
        match self.shard_cache.leaf(key, since_ms) {
            Some(leaf) => Ok(leaf),
            None => self.locate(key).await,
        }
    }

    /// The leaf shard holding `key`, read from the service. A child of a split shard that
    /// nobody has written yet does not exist: it reads as its half of the parent's frozen
    /// entries, and the first write creates it from them.
    pub(crate) async fn locate(&self, key: &Key) -> Result<Leaf> {
        let mut depth = self.depth_hint.load(Ordering::Relaxed).min(HASH_BITS);
        let mut shallower_than: Option<usize> = None; // a missing shard's depth
        let mut split_parent: Option<(usize, Shard)> = None; // the deepest split shard read
        loop {
            let path = key
                .path(depth)
                .ok_or_else(|| Error::corrupt("index key without a hash"))?;
            let state: State<Shard> = self.read_value(&shard_name(&path)).await?;
            let exists = state.version.is_some();
            if exists {
                self.shard_cache.put(&path, &state, self.now_ms());
            }
            if exists && !state.value.split {
                self.depth_hint.store(depth, Ordering::Relaxed);
                return Ok(Leaf { path, state });
            }
            if !exists && depth == 0 {
                return Ok(Leaf { path, state });
            }
            if exists {
                if depth >= HASH_BITS {
                    return Err(Error::corrupt(
                        "an index shard at the deepest level is split",
                    ));
                }
                if split_parent.as_ref().is_none_or(|(d, _)| *d < depth) {
                    split_parent = Some((depth, state.value));
                }
            } else {
                shallower_than = Some(depth);
            }
            let low = split_parent.as_ref().map_or(0, |(d, _)| d + 1);
            depth = match shallower_than {
                Some(high) if high <= low => {
                    let (parent_depth, parent) = split_parent.take().unwrap_or_default();
                    let bit = key.bit(parent_depth).unwrap_or(false);
                    self.depth_hint.store(low, Ordering::Relaxed);
                    return Ok(Leaf {
                        path: key.path(low).unwrap_or_default(),
                        state: State {
                            value: parent.half(parent_depth, bit),
                            version: None,
                        },
                    });
                }
                Some(high) => low + (high - low) / 2,
                None => low,
            };
        }
    }

    /// Apply `changes`, each to the leaf shard that holds its key, splitting shards that got
    /// too big or too busy. Optional changes ride along only with a shard written anyway.
    pub(crate) async fn apply_changes(&self, changes: Vec<Change>) -> Result<()> {
        let mut pending: Vec<Change> = changes;
        // Rounds that lost a race and look again; a round that commits its leaf's changes, or
        // splits it (progress), does not count, however many leaves the changes touch.
        let mut retries = 0;
        let mut retry = || {
            retries += 1;
            if retries > 64 + HASH_BITS {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    "the index kept changing under concurrent writers; retries exhausted",
                )
                .with_retryable(true));
            }
            Ok(())
        };
        while pending.iter().any(|c| !c.optional) {
            let first = pending
                .iter()
                .find(|c| !c.optional)
                .map(|c| c.key.clone())
                .unwrap_or_else(|| pending[0].key.clone());
            let leaf = self.locate_cached(&first, self.fresh_since()).await?;
            let depth = leaf.path.len();
            let (mine, rest): (Vec<Change>, Vec<Change>) = pending
                .into_iter()
                .partition(|c| c.key.path(depth).as_deref() == Some(leaf.path.as_str()));
            pending = rest;
            if self.should_split(&leaf) {
                self.shard_cache.forget(&leaf.path);
                self.split(leaf).await?;
                pending.extend(mine);
                continue;
            }
            let verified = self.verify_stale_access_entries(&leaf.state.value).await?;
            let stamp = self.now_ms();
            let apply = |shard: &mut Shard| {
                if shard.split {
                    return Step::Abort;
                }
                let mut changed = false;
                for change in &mine {
                    if change.live {
                        changed |= shard.insert(&change.key, &change.id, stamp, false);
                    } else {
                        changed |= shard.remove(&change.key, &change.id, stamp);
                    }
                }
                if !changed && mine.iter().all(|c| c.optional) {
                    return Step::Skip;
                }
                for (key, id, live) in &verified {
                    if *live {
                        shard.insert(key, id, stamp, true);
                    } else {
                        shard.remove(key, id, stamp);
                    }
                }
                if changed { Step::Write } else { Step::Skip }
            };
            let name = shard_name(&leaf.path);
            match self.commit_value(&name, leaf.state, apply).await? {
                Outcome::Done(state) => self.shard_cache.put(&leaf.path, &state, self.now_ms()),
                Outcome::Retry => {
                    retry()?;
                    self.shard_cache.forget(&leaf.path);
                    pending.extend(mine);
                }
            }
        }
        Ok(())
    }

    fn should_split(&self, leaf: &Leaf) -> bool {
        if leaf.state.version.is_none() || leaf.path.len() >= HASH_BITS {
            return false;
        }
        let shard = &leaf.state.value;
        let limits = self.backend.limits();
        let now_minute = self.now_minute();
        let too_busy = limits.versions_per_day.is_some()
            && shard.writes_in_window(now_minute) >= SPLIT_WRITES_PER_DAY;
        let too_fast = limits
            .versions_per_minute
            .is_some_and(|max| 4 * shard.writes_in_last_two_minutes(now_minute) >= max as usize);
        let too_big = shard.encode().len() > limits.max_value_bytes / 2;
        // Only where versions are opaque (Azure): every read lists them all, and none can be
        // deleted. Numbered versions (GCP) are retired as they are superseded.
        let too_long = self.backend.index_protocol() == IndexProtocol::MergeLog
            && self.is_next_version("1", "2").is_none()
            && shard.n >= self.options.max_versions_per_shard;
        too_busy || too_fast || too_big || too_long
    }

    /// Split a leaf: mark it split, one write. Its entries stay as the frozen starting
    /// point of both children, which the first write to each creates. A writer that raced
    /// the mark finds it (its compare-and-swap fails, or its merge-log tail holds the mark)
    /// and writes to the child instead.
    async fn split(&self, leaf: Leaf) -> Result<()> {
        let depth = leaf.path.len();
        let name = shard_name(&leaf.path);
        let outcome = self
            .commit_value(&name, leaf.state, |shard: &mut Shard| {
                if shard.split {
                    Step::Skip
                } else {
                    shard.mark_split();
                    Step::Write
                }
            })
            .await?;
        if matches!(outcome, Outcome::Done(_)) {
            self.stats.splits.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(backend = self.backend.kind(), depth, "index shard split");
        }
        Ok(())
    }

    /// Access-token entries go stale at every refresh (the old token's entry stays behind in
    /// another shard). Before a shard is written, its oldest unverified access entries (up to
    /// [`EngineOptions::verify_per_write`](super::EngineOptions::verify_per_write), older
    /// than an hour) are checked against their tokens: `(key, id, still current)`.
    async fn verify_stale_access_entries(&self, shard: &Shard) -> Result<Vec<(Key, String, bool)>> {
        let limit = self.options.verify_per_write;
        if limit == 0 {
            return Ok(Vec::new());
        }
        let cutoff = self.now_ms().saturating_sub(3_600_000);
        let mut old: Vec<_> = shard
            .live()
            .into_iter()
            .filter(|e| e.key.tag() == 'a' && e.stamp < cutoff)
            .collect();
        old.sort_by_key(|e| e.stamp);
        old.truncate(limit);
        if old.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = old
            .iter()
            .map(|e| e.id.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let tokens: BTreeMap<String, crate::Token> = self
            .read_tokens(&ids)
            .await?
            .into_iter()
            .filter_map(|t| t.id.clone().map(|id| (id, t)))
            .collect();
        Ok(old
            .into_iter()
            .map(|e| {
                let current = tokens
                    .get(&e.id)
                    .is_some_and(|t| super::keys::keys_of(t, &e.id).contains(&e.key));
                (e.key, e.id, current)
            })
            .collect())
    }

    /// Every leaf shard (reads the whole tree; a child nobody wrote yet is its half of
    /// the parent's frozen entries).
    pub(crate) async fn walk(&self) -> Result<Vec<(String, Shard)>> {
        let mut leaves = Vec::new();
        let mut queue: Vec<(String, Option<Shard>)> = vec![(String::new(), None)];
        while let Some((path, inherited)) = queue.pop() {
            let state: State<Shard> = self.read_value(&shard_name(&path)).await?;
            if state.version.is_none() {
                leaves.extend(inherited.map(|shard| (path, shard)));
                continue;
            }
            if state.value.split && path.len() < HASH_BITS {
                let depth = path.len();
                queue.push((format!("{path}1"), Some(state.value.half(depth, true))));
                queue.push((format!("{path}0"), Some(state.value.half(depth, false))));
            } else {
                leaves.push((path, state.value));
            }
        }
        Ok(leaves)
    }
}
