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
//! **Generations.** Where destroying a version costs a write against a project quota (GCP),
//! a shard keeps its superseded versions and, after
//! [`BackendLimits::versions_per_generation`] of them, *rolls*: it is frozen like a split
//! shard, and the next generation of the same path (`ix-r<path>-<generation>`; generation 0
//! is `ix-r<path>`) starts from its entries, created by the next write. The writer that
//! creates a generation registers it in generation 0 (which is never deleted), and a writer
//! deletes the older generations, one `delete` each, once they have been frozen for
//! [`EngineOptions::generation_grace`]. So a routine write costs one version instead of a
//! version and a destroy. A reader starts at the generation it last saw; when that one is
//! gone it asks generation 0. A generation that is missing right after a rolled one is
//! taken as not created yet only when generation 0, read after it, has not registered it
//! (a generation is deleted only after a later one is registered), and every read is used
//! within half the grace, so nothing is ever written to a deleted generation.
//!
//! [`EngineOptions::max_versions_per_shard`]: super::EngineOptions::max_versions_per_shard
//! [`EngineOptions::generation_grace`]: super::EngineOptions::generation_grace
//! [`BackendLimits::versions_per_generation`]: crate::BackendLimits::versions_per_generation

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;

use super::SecretIndexStore;
use super::commit::{Outcome, State, Step};
use super::keys::{HASH_BITS, Key};
use super::values::{Mergeable, Shard};
use crate::{Error, ErrorKind, Result};

/// Relative name prefix of index shards.
pub const SHARD_PREFIX: &str = "ix-r";
/// Writes in 24 hours after which a shard is split (AWS: at most 100 versions per secret in
/// 24 hours, <https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_limits.html>;
/// the engine's own target is at most 96, once per 15 minutes).
pub const SPLIT_WRITES_PER_DAY: usize = 64;

/// Versions a shard generation takes before it rolls, on a backend that pays a project
/// write for every destroyed version (GCP: 600 writes a minute per project,
/// <https://cloud.google.com/secret-manager/quotas>). Fewer means more rolls (each a few
/// writes); more means more versions held and billed until the generation is deleted.
pub const VERSIONS_PER_GENERATION: u32 = 50;

/// Rolled generations followed in one lookup before giving up.
const MAX_GENERATION_HOPS: usize = 64;

/// The secret of generation `generation` of the shard for a key-hash prefix.
pub(crate) fn shard_name(path: &str, generation: u32) -> String {
    if generation == 0 {
        format!("{SHARD_PREFIX}{path}")
    } else {
        format!("{SHARD_PREFIX}{path}-{generation}")
    }
}

/// Whether `name` is a shard generation after the first (deleted whole, never retired).
pub(crate) fn is_later_generation(name: &str) -> bool {
    name.strip_prefix(SHARD_PREFIX)
        .is_some_and(|rest| rest.contains('-'))
}

/// Shards this process read or wrote lately (its validated index cache). A find answered
/// from a cached shard is verified by the token read it makes anyway, and a cached shard
/// that yields no verified match is read again, so a stale entry costs a call, never a wrong
/// answer. Writes use a cached shard only while it is younger than
/// [`EngineOptions::write_cache_ttl`](super::EngineOptions::write_cache_ttl), since a stale
/// one would lose its compare-and-swap.
#[derive(Debug, Default)]
pub(crate) struct ShardCache {
    entries: std::sync::Mutex<std::collections::HashMap<String, Cached>>,
}

/// A cached shard: its generation, its state, when it was read.
#[derive(Debug, Clone)]
struct Cached {
    generation: u32,
    state: State<Shard>,
    at: u64,
}

/// Largest number of shards a process caches.
const CACHED_SHARDS: usize = 4_096;

impl ShardCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, Cached>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn put(&self, path: &str, generation: u32, state: &State<Shard>, now_ms: u64) {
        let mut entries = self.lock();
        if entries.len() >= CACHED_SHARDS && !entries.contains_key(path) {
            entries.clear();
        }
        entries.insert(
            path.to_string(),
            Cached {
                generation,
                state: state.clone(),
                at: now_ms,
            },
        );
    }

    /// Stop trusting the cached state of `path` (its generation stays known).
    fn forget(&self, path: &str) {
        if let Some(cached) = self.lock().get_mut(path) {
            cached.state.version = None;
        }
    }

    /// The generation of `path` last seen (0 when never).
    fn generation(&self, path: &str) -> u32 {
        self.lock().get(path).map_or(0, |c| c.generation)
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
            let cached = entries.get(&path)?;
            (cached.at >= since_ms
                && !cached.state.value.frozen()
                && cached.state.version.is_some())
            .then(|| Leaf {
                path,
                generation: cached.generation,
                state: cached.state.clone(),
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

/// What generation 0 of a path says of a generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Registration {
    /// It is the latest registered (now).
    Current,
    /// A later one is registered.
    Superseded,
    /// Not recorded (no generation 0, or it could not be written).
    Missing,
}

/// A leaf shard as located: its path (so its depth), generation and state.
pub(crate) struct Leaf {
    pub(crate) path: String,
    pub(crate) generation: u32,
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
            match self.resolve(&path).await? {
                Some((generation, state)) if state.version.is_none() => {
                    // A generation nobody has written yet: it starts from the rolled one.
                    self.depth_hint.store(depth, Ordering::Relaxed);
                    return Ok(Leaf {
                        path,
                        generation,
                        state,
                    });
                }
                Some((generation, state)) => {
                    self.shard_cache
                        .put(&path, generation, &state, self.now_ms());
                    if !state.value.split {
                        self.depth_hint.store(depth, Ordering::Relaxed);
                        return Ok(Leaf {
                            path,
                            generation,
                            state,
                        });
                    }
                    if depth >= HASH_BITS {
                        return Err(Error::corrupt(
                            "an index shard at the deepest level is split",
                        ));
                    }
                    if split_parent.as_ref().is_none_or(|(d, _)| *d < depth) {
                        split_parent = Some((depth, state.value));
                    }
                }
                None if depth == 0 => {
                    return Ok(Leaf {
                        path,
                        generation: 0,
                        state: State {
                            value: Shard::empty(),
                            version: None,
                        },
                    });
                }
                None => shallower_than = Some(depth),
            }
            let low = split_parent.as_ref().map_or(0, |(d, _)| d + 1);
            depth = match shallower_than {
                Some(high) if high <= low => {
                    let (parent_depth, parent) = split_parent.take().unwrap_or_default();
                    let bit = key.bit(parent_depth).unwrap_or(false);
                    self.depth_hint.store(low, Ordering::Relaxed);
                    return Ok(Leaf {
                        path: key.path(low).unwrap_or_default(),
                        generation: 0,
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

    /// Where reading a shard completely needs a version listing (opaque version ids: Key
    /// Vault), the latest version alone of the leaf this process's hints point at, unless it
    /// is frozen or missing. A find tries its candidates first (each verified by the token
    /// read it makes anyway) and reads the shard completely only when none verifies, so a
    /// find of a stored token costs 2 calls instead of a listing, and 1 from then on while
    /// the shard holds its keys. `None` on other backends.
    pub(crate) async fn latest_shard_guess(&self, key: &Key) -> Result<Option<Shard>> {
        if !self.versions_are_opaque() {
            return Ok(None);
        }
        let depth = self.depth_hint.load(Ordering::Relaxed).min(HASH_BITS);
        let Some(path) = key.path(depth) else {
            return Ok(None);
        };
        let generation = self.shard_cache.generation(&path);
        let Some(latest) = self.backend.get(&shard_name(&path, generation)).await? else {
            return Ok(None);
        };
        let shard = Shard::decode(&latest.value)?;
        if shard.frozen() {
            return Ok(None);
        }
        // Cached for later finds (verified the same way), never as the base of a write: it
        // may lack concurrent versions that a complete read merges (read time 0).
        let state = State {
            value: shard.clone(),
            version: Some(latest.version),
        };
        self.shard_cache.put(&path, generation, &state, 0);
        Ok(Some(shard))
    }

    /// The current generation of the shard at `path` and its state: `None` when the path has
    /// no shard; a state without a version for a generation nobody has written yet (its
    /// value is the entries of the rolled generation before it).
    async fn resolve(&self, path: &str) -> Result<Option<(u32, State<Shard>)>> {
        let mut generation = self.shard_cache.generation(path);
        let mut rolled: Option<(u32, Shard)> = None;
        for _ in 0..MAX_GENERATION_HOPS {
            let state: State<Shard> = self.read_value(&shard_name(path, generation)).await?;
            if state.version.is_some() {
                if !state.value.rolled {
                    return Ok(Some((generation, state)));
                }
                let next = if generation == 0 {
                    state.value.pointer.max(1)
                } else {
                    generation + 1
                };
                rolled = Some((generation, state.value));
                generation = next;
                continue;
            }
            if generation == 0 {
                return Ok(None);
            }
            // Deleted, or not created yet: generation 0, read after this, tells which.
            let anchor: State<Shard> = self.read_value(&shard_name(path, 0)).await?;
            if anchor.version.is_none() {
                return Ok(None);
            }
            if !anchor.value.rolled {
                return Ok(Some((0, anchor)));
            }
            match rolled.take() {
                Some((previous, frozen))
                    if previous + 1 == generation && anchor.value.pointer < generation =>
                {
                    let start = if previous == 0 {
                        &anchor.value
                    } else {
                        &frozen
                    };
                    return Ok(Some((
                        generation,
                        State {
                            value: start.next_generation(&shard_name(path, previous), previous),
                            version: None,
                        },
                    )));
                }
                _ => {
                    generation = anchor.value.pointer.max(1);
                    rolled = Some((0, anchor.value));
                }
            }
        }
        Err(Error::new(
            ErrorKind::Conflict,
            "an index shard kept rolling to new generations while it was read; retries exhausted",
        )
        .with_retryable(true))
    }

    /// Apply `changes`, each to the leaf shard that holds its key, splitting shards that got
    /// too big or too busy and rolling those that took their versions for one generation.
    /// Optional changes ride along only with a shard written anyway.
    pub(crate) async fn apply_changes(&self, changes: Vec<Change>) -> Result<()> {
        let mut pending: Vec<Change> = changes;
        // Changes whose write lost a race: written again even when the shard as read holds
        // them already. What a reader sees of a frozen (split or rolled) shard can include
        // versions appended after the freeze, by writers who then look again, as this one
        // does: their changes may be missing from a successor created from another read.
        let mut rewrite: std::collections::HashSet<(Key, String, bool)> =
            std::collections::HashSet::new();
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
            let splits = self.should_split(&leaf);
            if splits || self.should_roll(&leaf) {
                self.shard_cache.forget(&leaf.path);
                if splits && !self.rolls_before_split(&leaf) {
                    self.split(leaf).await?;
                } else {
                    self.roll(leaf).await?;
                }
                pending.extend(mine);
                continue;
            }
            let deleted = self.delete_due_generations(&leaf).await;
            let verified = self.verify_stale_access_entries(&leaf.state.value).await?;
            let stamp = self.now_ms();
            let apply = |shard: &mut Shard| {
                if shard.frozen() {
                    return Step::Abort;
                }
                let mut changed = false;
                for change in &mine {
                    let again =
                        rewrite.contains(&(change.key.clone(), change.id.clone(), change.live));
                    if change.live {
                        changed |= shard.insert(&change.key, &change.id, stamp, again);
                    } else {
                        changed |= shard.remove(&change.key, &change.id, stamp) || again;
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
                if !changed {
                    return Step::Skip;
                }
                shard.forget_generations(&deleted);
                Step::Write
            };
            let name = shard_name(&leaf.path, leaf.generation);
            let creates_generation = leaf.generation > 0 && leaf.state.version.is_none();
            match self.commit_value(&name, leaf.state, apply).await? {
                Outcome::Done(state) => {
                    self.shard_cache
                        .put(&leaf.path, leaf.generation, &state, self.now_ms());
                    if creates_generation
                        && state.version.is_some()
                        && !self
                            .keep_created_generation(&leaf.path, leaf.generation)
                            .await?
                    {
                        retry()?;
                        self.shard_cache.forget(&leaf.path);
                        rewrite.extend(mine.iter().map(|c| (c.key.clone(), c.id.clone(), c.live)));
                        pending.extend(mine);
                    }
                }
                Outcome::Retry => {
                    retry()?;
                    self.shard_cache.forget(&leaf.path);
                    rewrite.extend(mine.iter().map(|c| (c.key.clone(), c.id.clone(), c.live)));
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
        let too_long = self.versions_are_opaque() && shard.n >= self.options.max_versions_per_shard;
        too_busy || too_fast || too_big || too_long
    }

    /// A later generation that holds more than a few versions rolls before it splits: the
    /// new generation splits at its next write with next to nothing to retire, and the
    /// rolled one is deleted whole, so a split never destroys a generation's versions one
    /// by one (a burst of writes against the project quota).
    fn rolls_before_split(&self, leaf: &Leaf) -> bool {
        const FEW_VERSIONS: u64 = 4;
        self.backend.limits().versions_per_generation.is_some()
            && leaf.generation > 0
            && leaf.state.value.n > FEW_VERSIONS
    }

    fn should_roll(&self, leaf: &Leaf) -> bool {
        let Some(every) = self.backend.limits().versions_per_generation else {
            return false;
        };
        leaf.state.version.is_some() && leaf.state.value.n >= u64::from(every.max(1))
    }

    /// Roll a leaf: mark it rolled, one write. The next write to its path creates the next
    /// generation from its entries.
    async fn roll(&self, leaf: Leaf) -> Result<()> {
        let name = shard_name(&leaf.path, leaf.generation);
        let outcome = self
            .commit_value(&name, leaf.state, |shard: &mut Shard| {
                if shard.frozen() {
                    Step::Skip
                } else {
                    shard.rolled = true;
                    Step::Write
                }
            })
            .await?;
        if matches!(outcome, Outcome::Done(_)) {
            self.stats.rolls.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(
                backend = self.backend.kind(),
                generation = leaf.generation,
                "index shard rolled"
            );
        }
        Ok(())
    }

    /// Record in generation 0 of `path` that `generation` exists, so readers that find an
    /// older one deleted come to it; what generation 0 then says of it.
    async fn register_generation(&self, path: &str, generation: u32) -> Result<Registration> {
        if generation == 0 {
            return Ok(Registration::Current);
        }
        let name = shard_name(path, 0);
        let anchor: State<Shard> = self.read_value(&name).await?;
        if anchor.version.is_none() {
            return Ok(Registration::Missing);
        }
        if anchor.value.pointer > generation {
            return Ok(Registration::Superseded);
        }
        if anchor.value.pointer == generation {
            return Ok(Registration::Current);
        }
        let outcome = self
            .commit_value(&name, anchor, |shard: &mut Shard| {
                if shard.pointer >= generation {
                    Step::Skip
                } else {
                    shard.pointer = generation;
                    Step::Write
                }
            })
            .await?;
        Ok(match outcome {
            Outcome::Done(_) => Registration::Current,
            Outcome::Retry => Registration::Missing,
        })
    }

    /// After creating generation `generation` of `path`: register it, or, when a later one is
    /// registered already, delete it again (this writer was so slow that the generation had
    /// been rolled and deleted, and its create brought it back) and return `false`, so the
    /// change is made again where it belongs. Failing to register is only logged: readers
    /// follow rolled generations forward, and nothing is deleted before it is registered.
    async fn keep_created_generation(&self, path: &str, generation: u32) -> Result<bool> {
        match self.register_generation(path, generation).await {
            Ok(Registration::Superseded) => {
                self.backend.delete(&shard_name(path, generation)).await?;
                Ok(false)
            }
            Ok(_) => Ok(true),
            Err(e) => {
                tracing::warn!(backend = self.backend.kind(), error = %e, "could not register a new index shard generation");
                Ok(true)
            }
        }
    }

    /// Delete the older generations `leaf` lists that were frozen longer than the grace ago,
    /// once `leaf`'s own generation is registered (a split parent's are registered before
    /// its split). Returns the ones deleted, for the leaf's next write to forget; failures
    /// are logged and left for a later write.
    async fn delete_due_generations(&self, leaf: &Leaf) -> Vec<String> {
        if leaf.state.version.is_none() {
            return Vec::new();
        }
        let grace = self.options.generation_grace.as_millis() as u64;
        let due = leaf
            .state
            .value
            .generations_due(self.now_ms().saturating_sub(grace));
        if due.is_empty() {
            return due;
        }
        let warn = |e: Error| {
            tracing::warn!(backend = self.backend.kind(), error = %e, "could not delete an old index shard generation");
        };
        match self.register_generation(&leaf.path, leaf.generation).await {
            Ok(Registration::Current | Registration::Superseded) => {}
            Ok(Registration::Missing) => return Vec::new(),
            Err(e) => {
                warn(e);
                return Vec::new();
            }
        }
        let mut deleted = Vec::new();
        for name in due {
            match self.backend.delete(&name).await {
                Ok(()) => deleted.push(name),
                Err(e) => {
                    warn(e);
                    break;
                }
            }
        }
        deleted
    }

    /// Split a leaf: mark it split, one write. Its entries stay as the frozen starting
    /// point of both children, which the first write to each creates. A writer that raced
    /// the mark finds it (its compare-and-swap fails, or its merge-log tail holds the mark)
    /// and writes to the child instead.
    ///
    /// A later generation is registered first (its children delete its older generations,
    /// which they inherit), and its superseded versions are retired after: a split shard is
    /// kept for good, as the way to its children.
    async fn split(&self, leaf: Leaf) -> Result<()> {
        let depth = leaf.path.len();
        let generation = leaf.generation;
        let name = shard_name(&leaf.path, generation);
        self.register_generation(&leaf.path, generation).await?;
        let outcome = self
            .commit_value(&name, leaf.state, |shard: &mut Shard| {
                if shard.frozen() {
                    Step::Skip
                } else {
                    shard.mark_split();
                    Step::Write
                }
            })
            .await?;
        if let Outcome::Done(state) = outcome {
            self.stats.splits.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(backend = self.backend.kind(), depth, "index shard split");
            if generation > 0
                && let Some(version) = state.version
                && let Ok(log) = self.backend.protocol().merge_log()
                && let Err(e) = log.retire_versions_before(&name, &version).await
            {
                tracing::warn!(backend = self.backend.kind(), error = %e, "could not retire a split shard's old versions");
            }
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
            let Some((_, state)) = self.resolve(&path).await? else {
                leaves.extend(inherited.map(|shard| (path, shard)));
                continue;
            };
            if state.value.split && state.version.is_some() && path.len() < HASH_BITS {
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
