//! [`BackendLease`]: a lease secret (`lease-<digest>`) beside the index, written with the
//! service's own ordering guarantee.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use token_store_core::{ErrorKind, IndexProtocol, Protocol, Result, SecretBackend, Versioned};

use super::{Attempt, Lease, from_ms, key_digest, now_ms, to_ms};

/// How long a writer on a service that orders versions by whole second waits after its write
/// before reading who won: the rest of the second plus a margin for clock skew (every
/// same-second write is then visible, and every contender sees the same order).
const SAME_SECOND_SETTLE: Duration = Duration::from_millis(1250);

/// A lease kept in its own secret `lease-<digest>` of a [`SecretBackend`] (never listed as a
/// token).
///
/// * [`IndexProtocol::CompareAndSwap`] (AWS): read the lease, and when it is free or expired
///   replace it with `put_if_current` on the version read; a lost swap is a lost lease.
/// * [`IndexProtocol::MergeLog`] (GCP, Azure): read the lease and its version, add a version
///   naming us; we hold the lease when ours is the very next version after the one read (GCP:
///   sequential version numbers, no further call — old versions may already be retired). On
///   Azure, whose versions are ordered by whole creation second and then by a random id, the
///   writer first waits its write's second out, then lists the versions written since the
///   one read: the first *contender of the round* (a version whose value names the version
///   read as its base) holds the lease. Every contender lists after every same-second write
///   is visible, so all see the same first one. The service orders versions, so two
///   writers never both win; a writer that read an older version loses to anyone who wrote
///   after it (it then waits and re-reads). A loser's version stays current until the
///   winner renews or releases, and any unexpired value reads as held, so no one takes the
///   lease while the winner holds it; the winner's release frees the lease when only its
///   round wrote since (a loser whose write lands after the release leaves the lease looking
///   held until it expires).
/// * Renewal rewrites the holder's value with a later end (a compare-and-swap on AWS); a
///   block writes `blocked` with the rate window's end, which every attempt honours.
#[derive(Debug, Clone)]
pub struct BackendLease {
    backend: Arc<dyn SecretBackend>,
    /// Version-log leases this handle won: (key, holder) → the version the round started from.
    rounds: Arc<Mutex<HashMap<(String, String), String>>>,
}

#[derive(Serialize, Deserialize)]
struct LeaseValue {
    holder: String,
    until: i64,
    /// The version the writer read (its round).
    #[serde(default)]
    base: String,
    /// Refreshing is blocked until `until` (the accounts server's rate window).
    #[serde(default)]
    blocked: bool,
}

impl BackendLease {
    /// A lease stored through `backend` (e.g. `store.engine().backend()`).
    pub fn new(backend: Arc<dyn SecretBackend>) -> Self {
        Self {
            backend,
            rounds: Arc::default(),
        }
    }

    fn rounds(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), String>> {
        self.rounds.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `lease-` and 16 hex digits: within every backend's relative-name limit (AWS: 24).
    fn name(key: &str) -> String {
        format!("lease-{}", &key_digest(key)[..16])
    }
}

fn parse(version: &Versioned) -> Option<LeaseValue> {
    serde_json::from_str(&version.value).ok()
}

fn encode(holder: &str, until: i64, base: &str) -> String {
    serde_json::json!({ "holder": holder, "until": until, "base": base }).to_string()
}

impl BackendLease {
    /// Whether `holder` holds the lease whose current value is `current`. On a
    /// compare-and-swap backend a value naming the holder was written by a won swap. On a
    /// version log only a round the holder won counts: its own value, or a loser of that round
    /// who wrote last (which still reads as held); a value the holder wrote in a round it lost
    /// is not its lease.
    fn is_ours(&self, current: &Versioned, key: &str, holder: &str) -> bool {
        let Some(lease) = parse(current).filter(|lease| !lease.blocked) else {
            return false;
        };
        match self.backend.index_protocol() {
            IndexProtocol::CompareAndSwap => lease.holder == holder,
            IndexProtocol::MergeLog => self
                .rounds()
                .get(&(key.to_owned(), holder.to_owned()))
                .is_some_and(|round| lease.holder == holder || *round == lease.base),
        }
    }

    /// Make `value` current: a compare-and-swap on `base` (`Ok(false)` when another writer
    /// came first), or a new version on a version log.
    async fn overwrite(&self, name: &str, value: &str, base: Option<&str>) -> Result<bool> {
        match self.backend.protocol() {
            Protocol::CompareAndSwap(cas) => match cas.put_if_current(name, value, base).await {
                Ok(_) => Ok(true),
                Err(e) if matches!(e.kind(), ErrorKind::Conflict | ErrorKind::AlreadyExists) => {
                    Ok(false)
                }
                Err(e) => Err(e),
            },
            Protocol::MergeLog(_) => self.backend.put(name, value).await.map(|_| true),
        }
    }
}

#[async_trait]
impl Lease for BackendLease {
    async fn try_acquire(&self, key: &str, holder: &str, ttl: Duration) -> Result<Attempt> {
        let name = Self::name(key);
        let current = self.backend.get(&name).await?;
        if let Some(version) = &current
            && let Some(lease) = parse(version)
            && lease.until > now_ms()
        {
            if lease.blocked {
                return Ok(Attempt::Blocked(from_ms(lease.until)));
            }
            // Held unless it is ours: on a version log, our own losing write still reads as
            // held (by the round's winner), never as free.
            if !self.is_ours(version, key, holder) {
                return Ok(Attempt::Held);
            }
        }
        let base = current.map(|v| v.version);
        let round = base.clone().unwrap_or_default();
        let value = encode(holder, now_ms() + ttl.as_millis() as i64, &round);
        let won = match self.backend.protocol() {
            Protocol::CompareAndSwap(_) => self.overwrite(&name, &value, base.as_deref()).await?,
            Protocol::MergeLog(log) => {
                let mine = self.backend.put(&name, &value).await?;
                // Sequential version numbers (GCP) tell at once whether ours came right after
                // the one read (a missing secret's first version is 1); whole-second ordered
                // ones (Azure) need the second over and the list of versions written since.
                let won = match log.is_next_version(base.as_deref().unwrap_or("0"), &mine) {
                    Some(next) => next,
                    None => {
                        tokio::time::sleep(SAME_SECOND_SETTLE).await;
                        let after = log.versions_after(&name, base.as_deref()).await?;
                        let first_contender = after.iter().find(|version| {
                            parse(version)
                                .is_some_and(|lease| lease.until > 0 && lease.base == round)
                        });
                        first_contender.is_some_and(|first| first.version == mine)
                    }
                };
                if won {
                    self.rounds()
                        .insert((key.to_owned(), holder.to_owned()), round);
                }
                won
            }
        };
        Ok(if won {
            Attempt::Acquired
        } else {
            Attempt::Held
        })
    }

    async fn renew(&self, key: &str, holder: &str, ttl: Duration) -> Result<bool> {
        let name = Self::name(key);
        let Some(current) = self.backend.get(&name).await? else {
            return Ok(false);
        };
        if !self.is_ours(&current, key, holder) {
            return Ok(false);
        }
        let round = parse(&current).map(|lease| lease.base).unwrap_or_default();
        let value = encode(holder, now_ms() + ttl.as_millis() as i64, &round);
        self.overwrite(&name, &value, Some(&current.version)).await
    }

    async fn release(&self, key: &str, holder: &str) -> Result<()> {
        let name = Self::name(key);
        let Some(current) = self.backend.get(&name).await? else {
            return Ok(());
        };
        let ours = self.is_ours(&current, key, holder);
        self.rounds().remove(&(key.to_owned(), holder.to_owned()));
        if ours {
            self.overwrite(&name, &encode(holder, 0, ""), Some(&current.version))
                .await?;
        }
        Ok(())
    }

    async fn block(&self, key: &str, holder: &str, until: SystemTime) -> Result<()> {
        let name = Self::name(key);
        let current = self.backend.get(&name).await?;
        self.rounds().remove(&(key.to_owned(), holder.to_owned()));
        let value = serde_json::json!({
            "holder": holder, "until": to_ms(until), "base": "", "blocked": true,
        })
        .to_string();
        // A lost swap means another instance wrote meanwhile: it was answered the same.
        self.overwrite(&name, &value, current.as_ref().map(|v| v.version.as_str()))
            .await
            .map(drop)
    }

    fn kind(&self) -> &'static str {
        match self.backend.index_protocol() {
            IndexProtocol::CompareAndSwap => "cas",
            IndexProtocol::MergeLog => "version-log",
        }
    }
}
