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
use crate::{Error, ErrorKind, IndexProtocol, Result};

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
        if self.backend.index_protocol() == IndexProtocol::CompareAndSwap {
            return Ok(State {
                value,
                version: Some(latest.version),
            });
        }
        let complete = value
            .base()
            .is_some_and(|base| self.backend.is_next_version(base, &latest.version) == Some(true));
        if complete {
            return Ok(State {
                value,
                version: Some(latest.version),
            });
        }
        let base = value.base().map(str::to_string);
        let tail = self.backend.versions_after(name, base.as_deref()).await?;
        let mut merged = value;
        let mut version = latest.version;
        for later in &tail {
            merged.merge(&T::decode(&later.value)?);
            version.clone_from(&later.version);
        }
        Ok(State {
            value: merged,
            version: Some(version),
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
            let minute = self.now_minute();
            next.prune(self.tombstone_cutoff(), minute);
            next.record_write(minute);
            next.set_base(current.version.clone());
            let encoded = self.encode_value(&next)?;
            match self.backend.index_protocol() {
                IndexProtocol::CompareAndSwap => {
                    match self
                        .backend
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
                IndexProtocol::MergeLog => {
                    return self
                        .append_and_merge(name, current.version, next, &encoded, &change)
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
        let limit = self.backend.limits().max_value_bytes;
        if encoded.len() > limit {
            return Err(Error::new(
                ErrorKind::TooLarge,
                format!(
                    "an index secret would need {} bytes; this backend holds {limit} per secret",
                    encoded.len()
                ),
            ));
        }
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
        change: &impl Fn(&mut T) -> Step,
    ) -> Result<Outcome<T>> {
        let written = self.backend.put(name, encoded).await?;
        let clean = base
            .as_deref()
            .and_then(|b| self.backend.is_next_version(b, &written));
        if clean == Some(true) {
            self.retire(name, base.as_deref()).await;
            return Ok(Outcome::Done(State {
                value: mine,
                version: Some(written),
            }));
        }
        let tail = self.backend.versions_after(name, base.as_deref()).await?;
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
        let mut merged = mine.clone();
        let mut last = written.clone();
        for version in &tail {
            merged.merge(&T::decode(&version.value)?);
            last.clone_from(&version.version);
        }
        // A concurrent writer may have changed the value so that this change no longer
        // applies (e.g. split the shard): the caller looks again and re-applies it.
        let mut check = merged.clone();
        if change(&mut check) == Step::Abort {
            return Ok(Outcome::Retry);
        }
        if merged.same_content(&mine) {
            // The other versions added nothing ours lacks: no merged version needed.
            return Ok(Outcome::Done(State {
                value: merged,
                version: Some(last),
            }));
        }
        self.stats.merges.fetch_add(1, Ordering::Relaxed);
        merged.set_base(Some(last.clone()));
        self.backend.put(name, &self.encode_value(&merged)?).await?;
        // The merged value covers the versions up to `last`, not those written between that
        // and its own put: whoever derives a value from it merges from `last` on.
        Ok(Outcome::Done(State {
            value: merged,
            version: Some(last),
        }))
    }

    async fn retire(&self, name: &str, base: Option<&str>) {
        if let Some(base) = base
            && let Err(e) = self.backend.retire_versions_before(name, base).await
        {
            tracing::warn!(backend = self.backend.kind(), error = %e, "could not retire old index versions");
        }
    }
}
