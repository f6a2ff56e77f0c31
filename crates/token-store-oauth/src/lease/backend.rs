//! [`BackendLease`]: a lease secret (`lease-<digest>`) beside the index, written with the
//! service's own ordering guarantee.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use token_store_core::{ErrorKind, IndexProtocol, Protocol, Result, SecretBackend, Versioned};

use super::{Lease, key_digest, now_ms};

/// A lease kept in its own secret `lease-<digest>` of a [`SecretBackend`] (never listed as a
/// token).
///
/// * [`IndexProtocol::CompareAndSwap`] (AWS): read the lease, and when it is free or expired
///   replace it with `put_if_current` on the version read; a lost swap is a lost lease.
/// * [`IndexProtocol::MergeLog`] (GCP, Azure): read the lease and its version, add a version
///   naming us; we hold the lease when ours is the very next version after the one read (GCP:
///   sequential version numbers, no further call — old versions may already be retired; Azure:
///   the first in the list of versions written since). The service orders versions, so two
///   writers never both win; a writer that read an older version loses to anyone who wrote
///   after it (it then waits and re-reads). A loser's version stays current until the
///   winner releases, and any unexpired value reads as held, so no one takes the lease while
///   the winner holds it; the winner's release frees the lease when only its round wrote
///   since (a loser whose write lands after the release leaves the lease looking held until
///   it expires).
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
    /// The version the writer read (its round); empty for a compare-and-swap write.
    #[serde(default)]
    base: String,
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

#[async_trait]
impl Lease for BackendLease {
    async fn try_acquire(&self, key: &str, holder: &str, ttl: Duration) -> Result<bool> {
        let name = Self::name(key);
        let current = self.backend.get(&name).await?;
        if let Some(lease) = current.as_ref().and_then(parse)
            && lease.holder != holder
            && lease.until > now_ms()
        {
            return Ok(false);
        }
        let base = current.map(|v| v.version);
        let round = base.clone().unwrap_or_default();
        let value = encode(holder, now_ms() + ttl.as_millis() as i64, &round);
        match self.backend.protocol() {
            Protocol::CompareAndSwap(cas) => {
                match cas.put_if_current(&name, &value, base.as_deref()).await {
                    Ok(_) => Ok(true),
                    Err(e)
                        if matches!(e.kind(), ErrorKind::Conflict | ErrorKind::AlreadyExists) =>
                    {
                        Ok(false)
                    }
                    Err(e) => Err(e),
                }
            }
            Protocol::MergeLog(log) => {
                let mine = self.backend.put(&name, &value).await?;
                // Sequential version numbers (GCP) tell at once whether ours came right after
                // the one read (a missing secret's first version is 1); opaque ones (Azure)
                // need the list of versions written since.
                let won = match log.is_next_version(base.as_deref().unwrap_or("0"), &mine) {
                    Some(next) => next,
                    None => {
                        let after = log.versions_after(&name, base.as_deref()).await?;
                        after.first().is_some_and(|first| first.version == mine)
                    }
                };
                if won {
                    self.rounds()
                        .insert((key.to_owned(), holder.to_owned()), round);
                }
                Ok(won)
            }
        }
    }

    async fn release(&self, key: &str, holder: &str) -> Result<()> {
        let name = Self::name(key);
        let Some(current) = self.backend.get(&name).await? else {
            return Ok(());
        };
        let round = self.rounds().remove(&(key.to_owned(), holder.to_owned()));
        // Ours, or (version log) a loser of our round wrote last: it still reads as held.
        let ours = parse(&current).is_some_and(|lease| {
            lease.holder == holder || round.as_deref() == Some(lease.base.as_str())
        });
        if !ours {
            return Ok(());
        }
        let free = encode(holder, 0, "");
        match self.backend.protocol() {
            Protocol::CompareAndSwap(cas) => {
                match cas
                    .put_if_current(&name, &free, Some(&current.version))
                    .await
                {
                    Err(e) if e.kind() != ErrorKind::Conflict => Err(e),
                    _ => Ok(()),
                }
            }
            Protocol::MergeLog(_) => self.backend.put(&name, &free).await.map(drop),
        }
    }

    fn kind(&self) -> &'static str {
        match self.backend.index_protocol() {
            IndexProtocol::CompareAndSwap => "cas",
            IndexProtocol::MergeLog => "version-log",
        }
    }
}
