//! Merge log and create-if-absent over versions with random ids ordered by whole-second
//! creation time (Azure Key Vault).
//!
//! Such a service has no conditional write: writing is an unconditional upsert that adds a
//! version, and the only order between versions is their creation time, in whole seconds.
//! A backend implements the few service calls in [`TimestampedVersions`], keeps one
//! [`TimestampedLog`] and delegates its [`SecretBackend::get`](crate::SecretBackend::get),
//! `put`, `create` and [`MergeLog::versions_after`](crate::MergeLog::versions_after) to it.
//!
//! - **Merge log.** [`TimestampedLog::versions_after`] lists the secret's versions and reads
//!   every enabled one created after the base, including those of the base's own second:
//!   the order within a second is unknown, and the engine's merge is idempotent, so a
//!   superset is safe. Same-second versions this process wrote and knows to be older than
//!   the base (its write had ended before the base's began) are left out. Index versions
//!   are immutable, so their values are cached in memory. Soundness assumes creation times
//!   never decrease in write order (second granularity).
//! - **Create.** [`TimestampedLog::create`] reads first (an existing secret is never
//!   overwritten), writes, waits until its write's second is over, then lists the versions:
//!   the creator whose version is strictly the oldest wins; a loser puts the winner's value
//!   back and answers `AlreadyExists`.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;

use crate::{Error, ErrorKind, Result, Versioned, is_index_secret};

/// Index versions kept in memory (versions are immutable, so a cached one is never stale).
const CACHED_INDEX_VERSIONS: usize = 256;
/// How far the service's clock may run ahead of ours, for [`wait_out_the_second`].
const CLOCK_SKEW_MARGIN: Duration = Duration::from_millis(250);

/// One listed version of a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionInfo {
    /// The version id (random; Key Vault: 32 hex characters).
    pub id: String,
    /// Creation time, Unix seconds.
    pub created: i64,
    /// Whether the version can be read.
    pub enabled: bool,
}

/// The service calls the protocol needs, on relative secret names. Their errors name the
/// service operation that failed (`GetSecret`, `SetSecret`, …).
#[async_trait]
pub trait TimestampedVersions: Send + Sync {
    /// The backend's name in errors (`"azure"`).
    fn backend(&self) -> &'static str;

    /// The current version (`version` `None`) or a given one; `None` when absent (404).
    async fn read(&self, name: &str, version: Option<&str>) -> Result<Option<Versioned>>;

    /// Write a new current version, first clearing a deleted secret that holds the name
    /// (Key Vault: SetSecret, purging or recovering on 409). Returns the new version and,
    /// when a deleted secret was recovered to write, the Unix second it had been deleted
    /// (its versions are older than that).
    async fn write(&self, name: &str, value: &str) -> Result<(String, Option<i64>)>;

    /// Write a new current version of an existing secret, without clearing a deleted one
    /// (one SetSecret): how a create that lost a race puts the winner's value back.
    async fn rewrite(&self, name: &str, value: &str) -> Result<String>;

    /// Every version with its creation second and enabled flag, reading all pages; empty
    /// when the secret does not exist.
    async fn versions(&self, name: &str) -> Result<Vec<VersionInfo>>;
}

/// A backend's state of the protocol: the cache of index versions read or written, and the
/// order of this process's own index writes.
#[derive(Default)]
pub struct TimestampedLog {
    index_cache: Mutex<VecDeque<(String, String)>>,
    write_order: WriteOrder,
}

impl std::fmt::Debug for TimestampedLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cached = self
            .index_cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        f.debug_struct("TimestampedLog")
            .field("cached_index_versions", &cached)
            .finish_non_exhaustive()
    }
}

impl TimestampedLog {
    /// The current version of `name` (one read), cached when `name` is an index secret.
    pub async fn get(
        &self,
        svc: &impl TimestampedVersions,
        name: &str,
    ) -> Result<Option<Versioned>> {
        let read = svc.read(name, None).await?;
        if let Some(secret) = &read {
            self.cache(name, &secret.version, &secret.value);
        }
        Ok(read)
    }

    /// Write `value` as the new current version of `name` (one write); returns the version.
    /// An index write is remembered in the write order and its value cached.
    pub async fn put(
        &self,
        svc: &impl TimestampedVersions,
        name: &str,
        value: &str,
    ) -> Result<String> {
        let began = self.write_order.begin();
        let (version, _) = svc.write(name, value).await?;
        if is_index_secret(name) {
            self.write_order.finished(&version, began);
        }
        self.cache(name, &version, value);
        Ok(version)
    }

    /// Create `name` with `value` unless it exists (`AlreadyExists`), without a
    /// create-if-absent call: read first (an existing secret is never overwritten), write,
    /// wait out the write's second, then list the versions. When another version was
    /// written before ours or in the same second, another creator raced us; we put the
    /// rival's value back as current (if ours still is) and answer `AlreadyExists`.
    ///
    /// Residual window: between our write and the restore (two calls) readers can see our
    /// value under the name; the engine verifies every token it reads, so a lookup then
    /// misses rather than answers wrongly. If both racers wrote in the same second and
    /// both listed after both wrote, both lose and the engine takes another id, leaving an
    /// unindexed token secret that `repair` would pick up.
    pub async fn create(
        &self,
        svc: &impl TimestampedVersions,
        name: &str,
        value: &str,
    ) -> Result<String> {
        const OP: &str = "create";
        if svc.read(name, None).await?.is_some() {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("secret {name} already exists"),
            )
            .with_backend(svc.backend())
            .with_operation(OP));
        }
        let began = self.write_order.begin();
        let (mine, recovered_at) = svc.write(name, value).await?;
        wait_out_the_second().await;
        let versions = svc.versions(name).await?;
        match create_outcome(&mine, &versions, recovered_at) {
            CreateOutcome::Won => {
                if is_index_secret(name) {
                    self.write_order.finished(&mine, began);
                }
                Ok(mine)
            }
            CreateOutcome::Lost { restore } => {
                tracing::debug!(
                    backend = svc.backend(),
                    secret = name,
                    "create raced another writer and lost"
                );
                if let Some(rival) = restore {
                    restore_rival(svc, name, &mine, &rival).await?;
                }
                Err(Error::new(
                    ErrorKind::AlreadyExists,
                    format!("secret {name} was created concurrently"),
                )
                .with_backend(svc.backend())
                .with_operation(OP))
            }
        }
    }

    /// [`MergeLog::versions_after`](crate::MergeLog::versions_after): list the versions,
    /// then read each enabled one created after `since` (or in its second, unless known to be
    /// older: see the [module docs](self)) that is not cached, oldest first.
    pub async fn versions_after(
        &self,
        svc: &impl TimestampedVersions,
        name: &str,
        since: Option<&str>,
    ) -> Result<Vec<Versioned>> {
        let listed = svc.versions(name).await?;
        let mut values = Vec::new();
        let known_before = |a: &str, b: &str| self.write_order.before(a, b);
        for version in after(&listed, since, known_before) {
            if let Some(value) = self.cached(name, &version.id) {
                values.push(Versioned {
                    value,
                    version: version.id.clone(),
                });
                continue;
            }
            if let Some(read) = svc.read(name, Some(&version.id)).await? {
                self.cache(name, &read.version, &read.value);
                values.push(read);
            }
        }
        Ok(values)
    }

    /// [`MergeLog::is_next_version`](crate::MergeLog::is_next_version): always `None`, as
    /// version ids are random and succession needs the version list (a service call).
    pub fn is_next_version(&self, _base: &str, _version: &str) -> Option<bool> {
        None
    }

    fn cache(&self, name: &str, version: &str, value: &str) {
        if !is_index_secret(name) {
            return;
        }
        let mut cache = self
            .index_cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if cache.iter().any(|(v, _)| v == version) {
            return;
        }
        if cache.len() == CACHED_INDEX_VERSIONS {
            cache.pop_front();
        }
        cache.push_back((version.to_owned(), value.to_owned()));
    }

    fn cached(&self, name: &str, version: &str) -> Option<String> {
        if !is_index_secret(name) {
            return None;
        }
        let cache = self
            .index_cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        cache
            .iter()
            .find(|(v, _)| v == version)
            .map(|(_, value)| value.clone())
    }
}

/// After a create that lost: make the rival's value current again if ours is current.
async fn restore_rival(
    svc: &impl TimestampedVersions,
    name: &str,
    mine: &str,
    rival: &str,
) -> Result<()> {
    let Some(current) = svc.read(name, None).await? else {
        return Ok(());
    };
    if current.version != mine {
        return Ok(());
    }
    if let Some(winner) = svc.read(name, Some(rival)).await? {
        svc.rewrite(name, &winner.value).await?;
    }
    Ok(())
}

/// Wait until the second our write happened in is over on the service, before a create lists
/// the secret's versions. Versions are ordered by whole seconds, so a rival written later in
/// the same second as ours would be invisible to a list made within that second: we could
/// win, and the rival, seeing a same-second tie, would then restore a loser's value over
/// ours. Once the second is over every same-second rival is listed (a tie: both lose).
async fn wait_out_the_second() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let into_second = Duration::from_nanos(u64::from(now.subsec_nanos()));
    tokio::time::sleep(Duration::from_secs(1) - into_second + CLOCK_SKEW_MARGIN).await;
}

/// Enabled versions written after `since` (all when `since` is `None` or not listed),
/// oldest first. Versions created in the same second as `since` are included unless
/// `known_before(version, since)` says they are older: the order within a second is
/// otherwise unknown, and the engine's merge is idempotent, so a superset is safe.
fn after<'a>(
    versions: &'a [VersionInfo],
    since: Option<&str>,
    known_before: impl Fn(&str, &str) -> bool,
) -> Vec<&'a VersionInfo> {
    let floor = since
        .and_then(|s| versions.iter().find(|v| v.id == s))
        .map(|v| v.created);
    let mut picked: Vec<&VersionInfo> = versions
        .iter()
        .filter(|v| v.enabled && Some(v.id.as_str()) != since)
        .filter(|v| match (floor, since) {
            (Some(t), Some(base)) => {
                v.created > t || (v.created == t && !known_before(&v.id, base))
            }
            _ => true,
        })
        .collect();
    picked.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
    picked
}

/// What a create that wrote version `mine` learns from the version list.
#[derive(Debug, PartialEq, Eq)]
enum CreateOutcome {
    /// Every other version was written strictly later: the name was ours first.
    Won,
    /// Another version was written before ours or in the same second. `restore` is the
    /// winner's version (alone in the earliest second), to make current again if ours still
    /// is; `None` when a tie in the earliest second means nobody won.
    Lost {
        /// Version id whose value to restore.
        restore: Option<String>,
    },
}

/// Decide a create race. `preexisting` versions (those brought back by recovering a
/// soft-deleted secret, created at or before `preexisting_until`) do not compete.
///
/// A tie in the same second counts as a loss for both sides, and nothing orders a tie. A
/// creator lists only once its write's second is over, so it sees every same-second rival:
/// at most one creator wins, the winner is alone in the earliest second (the version a loser
/// restores), and in a tie all lose (the engine then takes another id; the name keeps
/// whichever tied value is current).
fn create_outcome(
    mine: &str,
    versions: &[VersionInfo],
    preexisting_until: Option<i64>,
) -> CreateOutcome {
    let Some(my_created) = versions.iter().find(|v| v.id == mine).map(|v| v.created) else {
        return CreateOutcome::Lost { restore: None };
    };
    let rivals: Vec<&VersionInfo> = versions
        .iter()
        .filter(|v| v.id != mine)
        .filter(|v| preexisting_until.is_none_or(|t| v.created > t))
        .collect();
    if rivals.iter().all(|v| v.created > my_created) {
        return CreateOutcome::Won;
    }
    // The winner, if any, is alone in the earliest second; a tie there means nobody won and
    // the current value stays (a late restore would race the engine reading it).
    let first_second = rivals.iter().map(|v| v.created).min().unwrap_or(my_created);
    let first: Vec<&&VersionInfo> = rivals
        .iter()
        .filter(|v| v.created == first_second)
        .collect();
    let restore = match first.as_slice() {
        [winner] if my_created > first_second && winner.enabled => Some(winner.id.clone()),
        _ => None,
    };
    CreateOutcome::Lost { restore }
}

/// Writes [`WriteOrder`] remembers (the engine asks about recent bases only).
const REMEMBERED_WRITES: usize = 256;

/// The order of this process's own index writes, to narrow same-second ties: when this
/// process wrote both the base and another version of that second, and the other write had
/// finished before the base's write began, the other version is known to be older and
/// [`after`] leaves it out, sparing the engine a merge of versions it already holds.
///
/// When each remembered write began and ended, on a process-local logical clock.
#[derive(Debug, Default)]
struct WriteOrder {
    clock: AtomicU64,
    spans: Mutex<VecDeque<(String, u64, u64)>>,
}

impl WriteOrder {
    /// A write is about to be sent; pass the result to [`finished`](Self::finished).
    fn begin(&self) -> u64 {
        self.clock.fetch_add(1, Ordering::SeqCst)
    }

    /// The write begun at `began` created `version`.
    fn finished(&self, version: &str, began: u64) {
        let ended = self.clock.fetch_add(1, Ordering::SeqCst);
        let mut spans = self.spans.lock().unwrap_or_else(PoisonError::into_inner);
        if spans.len() == REMEMBERED_WRITES {
            spans.pop_front();
        }
        spans.push_back((version.to_owned(), began, ended));
    }

    /// Whether this process's write of `earlier` had ended before its write of `later` began.
    fn before(&self, earlier: &str, later: &str) -> bool {
        let spans = self.spans.lock().unwrap_or_else(PoisonError::into_inner);
        let find = |v: &str| spans.iter().find(|(id, _, _)| id == v).map(|s| (s.1, s.2));
        match (find(earlier), find(later)) {
            (Some((_, ended)), Some((began, _))) => ended < began,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(id: &str, created: i64) -> VersionInfo {
        VersionInfo {
            id: id.to_owned(),
            created,
            enabled: true,
        }
    }

    #[test]
    fn after_orders_by_time_and_keeps_ties() {
        let list = [v("c", 12), v("a", 10), v("b", 11), v("b2", 11), v("z", 9)];
        let none = |_: &str, _: &str| false;
        let ids: Vec<&str> = after(&list, Some("b"), none)
            .iter()
            .map(|v| v.id.as_str())
            .collect();
        assert_eq!(ids, ["b2", "c"]);
        let ids: Vec<&str> = after(&list, None, none)
            .iter()
            .map(|v| v.id.as_str())
            .collect();
        assert_eq!(ids, ["z", "a", "b", "b2", "c"]);
        // An unknown base reads everything.
        assert_eq!(after(&list, Some("gone"), none).len(), 5);
    }

    #[test]
    fn after_drops_same_second_versions_known_to_be_older() {
        let list = [v("a", 10), v("b", 11), v("b0", 11), v("b2", 11), v("c", 12)];
        let b0_first = |earlier: &str, later: &str| earlier == "b0" && later == "b";
        let ids: Vec<&str> = after(&list, Some("b"), b0_first)
            .iter()
            .map(|v| v.id.as_str())
            .collect();
        assert_eq!(ids, ["b2", "c"]);
    }

    #[test]
    fn after_skips_disabled_versions() {
        let mut list = vec![v("a", 10), v("b", 11), v("c", 12)];
        list[2].enabled = false;
        let ids: Vec<&str> = after(&list, Some("a"), |_, _| false)
            .iter()
            .map(|v| v.id.as_str())
            .collect();
        assert_eq!(ids, ["b"]);
    }

    #[test]
    fn sole_or_first_creator_wins() {
        assert_eq!(create_outcome("m", &[v("m", 5)], None), CreateOutcome::Won);
        assert_eq!(
            create_outcome("m", &[v("m", 5), v("late", 6)], None),
            CreateOutcome::Won
        );
    }

    #[test]
    fn later_or_tied_creator_loses_and_restores_the_first_creator() {
        assert_eq!(
            create_outcome("m", &[v("first", 4), v("m", 5)], None),
            CreateOutcome::Lost {
                restore: Some("first".into())
            }
        );
        // The third creator also lost; the first one's value is put back, not the third's.
        assert_eq!(
            create_outcome("m", &[v("first", 4), v("m", 5), v("third", 6)], None),
            CreateOutcome::Lost {
                restore: Some("first".into())
            }
        );
        // A tie is a loss for both sides, and nobody won: nothing is restored.
        assert_eq!(
            create_outcome("a", &[v("a", 5), v("b", 5)], None),
            CreateOutcome::Lost { restore: None }
        );
        assert_eq!(
            create_outcome("c", &[v("a", 5), v("b", 5), v("c", 6)], None),
            CreateOutcome::Lost { restore: None }
        );
    }

    #[test]
    fn recovered_versions_do_not_compete() {
        assert_eq!(
            create_outcome("m", &[v("old", 1), v("older", 0), v("m", 5)], Some(3)),
            CreateOutcome::Won
        );
        assert_eq!(
            create_outcome("m", &[v("old", 1), v("rival", 4), v("m", 5)], Some(3)),
            CreateOutcome::Lost {
                restore: Some("rival".into())
            }
        );
    }

    #[test]
    fn unlisted_own_version_is_a_loss_without_restore() {
        assert_eq!(
            create_outcome("m", &[v("x", 1)], None),
            CreateOutcome::Lost { restore: None }
        );
    }

    #[test]
    fn only_a_write_that_ended_before_another_began_is_before_it() {
        let order = WriteOrder::default();
        let a = order.begin();
        order.finished("a", a);
        let b = order.begin();
        let c = order.begin();
        order.finished("b", b);
        order.finished("c", c);
        assert!(order.before("a", "b"));
        assert!(!order.before("b", "a"));
        assert!(!order.before("b", "c"), "overlapping writes are unordered");
        assert!(!order.before("c", "b"));
        assert!(!order.before("a", "unknown"));
    }
}
