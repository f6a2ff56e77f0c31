//! Reading and committing one index secret (the root or a shard) under concurrent writers.
//!
//! * [`IndexProtocol::CompareAndSwap`]: read the value and its version, apply the change,
//!   `put_if_current(expected = version read)`; on `Conflict` re-read, re-apply, retry with
//!   exponential backoff and jitter.
//! * [`IndexProtocol::MergeLog`] (no conditional write): each value records in `base` the
//!   version it was derived from. A writer appends its value; when the version it got is not
//!   the direct successor of its base, others wrote in between, so it reads every version
//!   after its base, merges them (merging is commutative and idempotent, see
//!   [`Mergeable::merge`]) and appends the merged value. A reader whose latest version is not
//!   the direct successor of that value's base merges the versions in between the same way.
//!   By induction every value read covers every version written before it, so no completed
//!   update is lost. Superseded versions are retired after a clean write.

use std::sync::atomic::Ordering;
use std::time::Duration;

use rand::Rng as _;

use super::SecretIndexStore;
use super::values::Mergeable;
use crate::{Error, ErrorKind, IndexProtocol, MergeLog, Protocol, Result};

/// A value as read, with the version it was read from (`None`: the secret does not exist).
#[derive(Debug, Clone)]
pub(crate) struct State<T> {
    pub(crate) value: T,
    pub(crate) version: Option<String>,
}

/// What a change wants done with the value it was shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Store the changed value.
    Write,
    /// Nothing to store.
    Skip,
    /// Stop: the value is not what the caller expected (e.g. the shard was split).
    Abort,
}

/// How a commit ended.
#[derive(Debug)]
pub(crate) enum Outcome<T> {
    /// Stored (or nothing to store); the value as committed and its version.
    Done(State<T>),
    /// The change aborted, or a concurrent writer split the shard under a merge-log append:
    /// the caller must look again.
    Retry,
}

impl SecretIndexStore {
    /// Read `name` (merging a concurrent tail under the merge-log protocol).
    pub(crate) async fn read_value<T: Mergeable>(&self, name: &str) -> Result<State<T>> {
        let Some(latest) = self.backend.get(name).await? else {
            return Ok(State {
                value: T::empty(),
                version: None,
            });
        };
        let value = T::decode(&latest.value)?;
        let log = match self.backend.protocol() {
            Protocol::CompareAndSwap(_) => {
                return Ok(State {
                    value,
                    version: Some(latest.version),
                });
            }
            Protocol::MergeLog(log) => log,
        };
        let complete = value
            .base()
            .is_some_and(|base| log.is_next_version(base, &latest.version) == Some(true));
        if complete {
            return Ok(State {
                value,
                version: Some(latest.version),
            });
        }
        let base = value.base().map(str::to_string);
        let tail = log.versions_after(name, base.as_deref()).await?;
        let Some(last) = tail.last().map(|v| v.version.clone()) else {
            // The secret was created again since the base: the latest value stands alone.
            return Ok(State {
                value,
                version: Some(latest.version),
            });
        };
        // In write order, so the first freeze decides (see `Mergeable::merge`).
        let mut merged: Option<T> = None;
        for later in &tail {
            let later = T::decode(&later.value)?;
            match &mut merged {
                None => merged = Some(later),
                Some(m) => m.merge(&later),
            }
        }
        let mut merged = merged.unwrap_or_else(|| value.clone());
        if !tail.iter().any(|v| v.version == latest.version) {
            // Retired since the read: a later version covers it; merged for good measure.
            merged.merge(&value);
        }
        Ok(State {
            value: merged,
            version: Some(last),
        })
    }

    /// Apply `change` to `name` and store it without losing concurrent updates. `change` may
    /// run more than once (after a lost race, on the re-read value).
    pub(crate) async fn commit_value<T: Mergeable>(
        &self,
        name: &str,
        mut current: State<T>,
        change: impl Fn(&mut T) -> Step,
    ) -> Result<Outcome<T>> {
        let mut backoff = self.options.initial_backoff;
        for attempt in 0..=self.options.max_index_retries {
            if attempt > 0 {
                let jitter = rand::rng().random_range(0..=backoff.as_millis() as u64);
                tokio::time::sleep(backoff + Duration::from_millis(jitter)).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
                current = self.read_value(name).await?;
            }
            let mut next = current.value.clone();
            match change(&mut next) {
                Step::Skip => {
                    return Ok(Outcome::Done(State {
                        value: next,
                        version: current.version,
                    }));
                }
                Step::Abort => return Ok(Outcome::Retry),
                Step::Write => {}
            }
            if let Some(wait) = self.write_spacing(next.last_write_ms()) {
                // Keep to the backend's per-secret rate (GCP: 2 versions a second).
                tokio::time::sleep(wait).await;
            }
            next.prune(self.tombstone_cutoff(), self.now_minute());
            next.record_write(self.now_ms());
            next.set_base(current.version.clone());
            let encoded = self.encode_value(&next)?;
            match self.backend.protocol() {
                Protocol::CompareAndSwap(cas) => {
                    match cas
                        .put_if_current(name, &encoded, current.version.as_deref())
                        .await
                    {
                        Ok(version) => {
                            return Ok(Outcome::Done(State {
                                value: next,
                                version: Some(version),
                            }));
                        }
                        Err(e)
                            if e.kind() == ErrorKind::Conflict
                                || e.kind() == ErrorKind::AlreadyExists =>
                        {
                            self.stats.cas_retries.fetch_add(1, Ordering::Relaxed);
                            tracing::debug!(
                                backend = self.backend.kind(),
                                attempt,
                                "index compare-and-swap lost, retrying"
                            );
                        }
                        Err(e) => return Err(e),
                    }
                }
                Protocol::MergeLog(_) => {
                    return self
                        .append_and_merge(name, current.version, next, &encoded)
                        .await;
                }
            }
        }
        Err(Error::new(
            ErrorKind::Conflict,
            "the index kept changing under concurrent writers; retries exhausted",
        )
        .with_retryable(true))
    }

    /// Encode a value, or a `TooLarge` error when it exceeds the backend's value limit.
    pub(crate) fn encode_value<T: Mergeable>(&self, value: &T) -> Result<String> {
        let encoded = value.encode();
        let limits = self.backend.limits();
        limits.check_value_size(self.backend.kind(), "an index secret", &encoded)?;
        Ok(encoded)
    }

    fn tombstone_cutoff(&self) -> u64 {
        match self.backend.index_protocol() {
            IndexProtocol::CompareAndSwap => u64::MAX,
            IndexProtocol::MergeLog => self
                .now_ms()
                .saturating_sub(self.options.tombstone_ttl.as_millis() as u64),
        }
    }

    async fn append_and_merge<T: Mergeable>(
        &self,
        name: &str,
        base: Option<String>,
        mine: T,
        encoded: &str,
    ) -> Result<Outcome<T>> {
        let written = match base {
            // A first write: creating costs a call less than a put that finds nothing.
            None => match self.backend.create(name, encoded).await {
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                    self.backend.put(name, encoded).await?
                }
                other => other?,
            },
            Some(_) => match self.add_version(name, encoded).await? {
                Some(version) => version,
                None => return Ok(Outcome::Retry),
            },
        };
        let clean = base
            .as_deref()
            .and_then(|b| self.is_next_version(b, &written));
        if clean == Some(true) {
            self.retire(name, base.as_deref()).await;
            return Ok(Outcome::Done(State {
                value: mine,
                version: Some(written),
            }));
        }
        let tail = self
            .merge_log()?
            .versions_after(name, base.as_deref())
            .await?;
        if !tail.iter().any(|v| v.version == written) {
            // Our version is not after the base we derived from: the secret was deleted and
            // created again since (its numbering restarted). Look again from scratch.
            return Ok(Outcome::Retry);
        }
        if tail.iter().all(|v| v.version == written) {
            self.retire(name, base.as_deref()).await;
            return Ok(Outcome::Done(State {
                value: mine,
                version: Some(written),
            }));
        }
        let (mut merged, mut last, mut covered) = merge_tail(&mine, &written, &tail)?;
        // A concurrent writer may have frozen the value (split or rolled the shard) first, so
        // that this change no longer applies: the caller looks again and re-applies it. (The
        // change itself is not run again: it may have effects, e.g. noting the ids it reserved.)
        if merged.frozen() && !merged.same_freeze(&mine) {
            return Ok(Outcome::Retry);
        }
        if !covered && let Some(pause) = self.merge_pause() {
            // The service limits the versions a secret takes per second (GCP: 2), and the
            // other writer may be merging right now: wait, then look again. When its merged
            // version already holds everything, nothing more is written.
            tokio::time::sleep(pause).await;
            let tail = self
                .merge_log()?
                .versions_after(name, base.as_deref())
                .await?;
            if !tail.iter().any(|v| v.version == written) {
                return Ok(Outcome::Retry);
            }
            (merged, last, covered) = merge_tail(&mine, &written, &tail)?;
            if merged.frozen() && !merged.same_freeze(&mine) {
                return Ok(Outcome::Retry);
            }
        }
        if covered {
            // The latest version already holds everything ours and the others hold.
            return Ok(Outcome::Done(State {
                value: merged,
                version: Some(last),
            }));
        }
        self.stats.merges.fetch_add(1, Ordering::Relaxed);
        merged.set_base(Some(last.clone()));
        if self
            .add_version(name, &self.encode_value(&merged)?)
            .await?
            .is_none()
        {
            return Ok(Outcome::Retry);
        }
        // The merged value covers the versions up to `last`, not those written between that
        // and its own put: whoever derives a value from it merges from `last` on.
        Ok(Outcome::Done(State {
            value: merged,
            version: Some(last),
        }))
    }

    /// How long to wait before writing a secret whose last write was at `last_write_ms`, where
    /// the backend limits versions per secret per minute: until twice the mean spacing of that
    /// limit has passed since (GCP, 120 a minute and 2 a second: 1 s, so that two writers who
    /// both saw that write and nothing after it still make at most 2 writes in any second),
    /// plus up to half as much jitter; `None` when no wait is needed.
    fn write_spacing(&self, last_write_ms: u64) -> Option<Duration> {
        let max = self.backend.limits().versions_per_minute?;
        let spacing_ms = 120_000 / u64::from(max.max(1));
        let ready_at = last_write_ms.checked_add(spacing_ms)?;
        let now = self.now_ms();
        (ready_at > now).then(|| {
            let jitter = rand::rng().random_range(0..=spacing_ms / 2);
            Duration::from_millis(ready_at - now + jitter)
        })
    }

    /// How long a writer waits before a merged write where the backend limits versions per
    /// secret per minute (twice the mean spacing, plus as much jitter); `None` elsewhere.
    fn merge_pause(&self) -> Option<Duration> {
        let max = self.backend.limits().versions_per_minute?;
        let spacing = Duration::from_secs(120) / max.max(1);
        let jitter = rand::rng().random_range(0..=spacing.as_millis() as u64);
        Some(spacing + Duration::from_millis(jitter))
    }

    /// Retire the versions before `base` of `name`, except in a later generation of a shard
    /// while the backend rolls generations: it is deleted whole once rolled (see
    /// [`super::tree`]).
    async fn retire(&self, name: &str, base: Option<&str>) {
        if super::tree::is_later_generation(name)
            && self.backend.limits().versions_per_generation.is_some()
        {
            return;
        }
        if let Some(base) = base
            && let Ok(log) = self.merge_log()
            && let Err(e) = log.retire_versions_before(name, base).await
        {
            tracing::warn!(backend = self.backend.kind(), error = %e, "could not retire old index versions");
        }
    }
}

impl SecretIndexStore {
    /// Write a new version of an existing index secret; `None` when it is a later shard
    /// generation that was deleted meanwhile (it is never created again by a late writer).
    async fn add_version(&self, name: &str, value: &str) -> Result<Option<String>> {
        if !super::tree::is_later_generation(name) {
            return self.backend.put(name, value).await.map(Some);
        }
        match self.merge_log()?.append(name, value).await {
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            other => other.map(Some),
        }
    }

    /// The backend's merge-log capability; `Unsupported` on a compare-and-swap backend.
    fn merge_log(&self) -> Result<&dyn MergeLog> {
        self.backend.protocol().merge_log()
    }

    /// A merge log whose version ids do not show succession (Key Vault): a complete read
    /// lists versions, and none can be deleted.
    pub(crate) fn versions_are_opaque(&self) -> bool {
        matches!(self.backend.protocol(), Protocol::MergeLog(log) if log.is_next_version("1", "2").is_none())
    }

    /// [`MergeLog::is_next_version`] on a merge-log backend, `None` elsewhere.
    pub(crate) fn is_next_version(&self, base: &str, version: &str) -> Option<bool> {
        match self.backend.protocol() {
            Protocol::MergeLog(log) => log.is_next_version(base, version),
            Protocol::CompareAndSwap(_) => None,
        }
    }
}

/// `mine` merged with every version of `tail` (which holds `written`, the version of `mine`),
/// the last version merged, and whether no merged version needs writing.
fn merge_tail<T: Mergeable>(
    mine: &T,
    written: &str,
    tail: &[crate::Versioned],
) -> Result<(T, String, bool)> {
    // In write order, so the first freeze decides (see `Mergeable::merge`).
    let mut merged: Option<T> = None;
    let mut last = written.to_owned();
    let mut latest = None;
    for version in tail {
        let value = if version.version == written {
            mine.clone()
        } else {
            T::decode(&version.value)?
        };
        match &mut merged {
            None => merged = Some(value.clone()),
            Some(m) => m.merge(&value),
        }
        last.clone_from(&version.version);
        latest = Some(value);
    }
    let merged = merged.unwrap_or_else(|| mine.clone());
    // Ours adds nothing to the others' (readers merge the versions after a value's base), or
    // the latest version holds it all already.
    let covered =
        merged.same_content(mine) || latest.is_none_or(|latest| latest.same_content(&merged));
    Ok((merged, last, covered))
}
