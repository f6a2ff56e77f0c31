//! Reading and committing the index under concurrent writers.
//!
//! * [`IndexProtocol::CompareAndSwap`]: read the index and its version, apply the change,
//!   `put_if_current(expected = version read)`; on `Conflict` re-read, re-apply, retry with
//!   exponential backoff and jitter.
//! * [`IndexProtocol::MergeLog`] (no conditional write): each index value records in `base`
//!   the version it was derived from. A writer appends its value; when the version it got
//!   is not the direct successor of its base, others wrote in between, so it reads every
//!   version after its base, merges them (merging is commutative and idempotent, see
//!   [`Index::merge`]) and appends the merged value. A reader whose latest version is not the
//!   direct successor of that value's base merges the versions in between the same way. By
//!   induction every value read covers every version written before it, so no completed
//!   update is lost. Superseded versions are retired after a clean write.

use std::sync::atomic::Ordering;
use std::time::Duration;

use rand::Rng as _;

use super::index::Index;
use super::{INDEX_NAME, SecretIndexStore, now_ms};
use crate::{Error, ErrorKind, IndexProtocol, Result};

/// An index as read, with the version it was read from (`None`: no index secret yet).
pub(crate) struct IndexState {
    pub(crate) index: Index,
    pub(crate) version: Option<String>,
}

impl SecretIndexStore {
    /// Read the index (merging a concurrent tail under the merge-log protocol).
    pub(crate) async fn read_index(&self) -> Result<IndexState> {
        let Some(latest) = self.backend.get(INDEX_NAME).await? else {
            return Ok(IndexState {
                index: Index::empty(),
                version: None,
            });
        };
        let index = Index::decode(&latest.value)?;
        if self.backend.index_protocol() == IndexProtocol::CompareAndSwap {
            return Ok(IndexState {
                index,
                version: Some(latest.version),
            });
        }
        let complete = match &index.base {
            Some(base) => self.backend.is_next_version(base, &latest.version) == Some(true),
            None => false,
        };
        if complete {
            return Ok(IndexState {
                index,
                version: Some(latest.version),
            });
        }
        let base = index.base.clone();
        let tail = self
            .backend
            .versions_after(INDEX_NAME, base.as_deref())
            .await?;
        let mut merged = index;
        let mut version = latest.version;
        for later in &tail {
            merged.merge(&Index::decode(&later.value)?);
            version.clone_from(&later.version);
        }
        Ok(IndexState {
            index: merged,
            version: Some(version),
        })
    }

    /// Apply `change` to the index and store it without losing concurrent updates.
    /// `change` returns whether it changed anything; it may run more than once.
    /// Returns the index as committed.
    pub(crate) async fn commit_index(
        &self,
        mut current: IndexState,
        change: impl Fn(&mut Index) -> bool,
    ) -> Result<Index> {
        let mut backoff = self.options.initial_backoff;
        for attempt in 0..=self.options.max_index_retries {
            if attempt > 0 {
                let jitter = rand::rng().random_range(0..=backoff.as_millis() as u64);
                tokio::time::sleep(backoff + Duration::from_millis(jitter)).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
                current = self.read_index().await?;
            }
            let mut next = current.index.clone();
            if !change(&mut next) {
                return Ok(next);
            }
            self.prune(&mut next);
            next.base.clone_from(&current.version);
            let encoded = self.encode_index(&next)?;
            match self.backend.index_protocol() {
                IndexProtocol::CompareAndSwap => {
                    match self
                        .backend
                        .put_if_current(INDEX_NAME, &encoded, current.version.as_deref())
                        .await
                    {
                        Ok(_) => return Ok(next),
                        Err(e)
                            if e.kind() == ErrorKind::Conflict
                                || e.kind() == ErrorKind::AlreadyExists =>
                        {
                            self.cas_retries.fetch_add(1, Ordering::Relaxed);
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
                    return self.append_and_merge(current.version, next, &encoded).await;
                }
            }
        }
        Err(Error::new(
            ErrorKind::Conflict,
            "the index kept changing under concurrent writers; retries exhausted",
        )
        .with_retryable(true))
    }

    /// Encode the index, or a `TooLarge` error when it exceeds the backend's value limit.
    pub(crate) fn encode_index(&self, index: &Index) -> Result<String> {
        let encoded = index.encode();
        let limit = self.backend.limits().max_value_bytes;
        if encoded.len() > limit {
            return Err(Error::new(
                ErrorKind::TooLarge,
                format!(
                    "the index is full: {} tokens need {} bytes, this backend holds {limit} per secret",
                    index.len(),
                    encoded.len()
                ),
            ));
        }
        Ok(encoded)
    }

    fn prune(&self, index: &mut Index) {
        let cutoff = match self.backend.index_protocol() {
            IndexProtocol::CompareAndSwap => u64::MAX,
            IndexProtocol::MergeLog => {
                now_ms().saturating_sub(self.options.tombstone_ttl.as_millis() as u64)
            }
        };
        index.prune_tombstones(cutoff);
    }

    async fn append_and_merge(
        &self,
        base: Option<String>,
        mine: Index,
        encoded: &str,
    ) -> Result<Index> {
        let written = self.backend.put(INDEX_NAME, encoded).await?;
        let clean = base
            .as_deref()
            .and_then(|b| self.backend.is_next_version(b, &written));
        let mine_entries = mine.clone();
        let mut merged = mine;
        let mut last = written.clone();
        if clean != Some(true) {
            let tail = self
                .backend
                .versions_after(INDEX_NAME, base.as_deref())
                .await?;
            let others: Vec<_> = tail.iter().filter(|v| v.version != written).collect();
            if others.is_empty() {
                self.retire(base.as_deref()).await;
                return Ok(merged);
            }
            for version in &tail {
                merged.merge(&Index::decode(&version.value)?);
                last.clone_from(&version.version);
            }
            if merged.same_entries(&mine_entries) {
                // The other versions added nothing ours lacks: no merged version needed.
                return Ok(merged);
            }
            self.merges.fetch_add(1, Ordering::Relaxed);
            merged.base = Some(last);
            self.backend
                .put(INDEX_NAME, &self.encode_index(&merged)?)
                .await?;
            return Ok(merged);
        }
        self.retire(base.as_deref()).await;
        Ok(merged)
    }

    async fn retire(&self, base: Option<&str>) {
        if let Some(base) = base
            && let Err(e) = self.backend.retire_versions_before(INDEX_NAME, base).await
        {
            tracing::warn!(backend = self.backend.kind(), error = %e, "could not retire old index versions");
        }
    }
}
