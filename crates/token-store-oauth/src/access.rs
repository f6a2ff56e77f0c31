//! What a caller gets: [`AccessToken`], and the manager's counters, [`ManagerStats`].

use std::sync::atomic::{AtomicU64, Ordering};

/// Where an [`AccessToken`] came from in this call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenSource {
    /// The in-process cache: no service call.
    Cache,
    /// Read from the store (fresh, or still valid while another instance refreshes).
    Store,
    /// Refreshed at the accounts server by this call.
    Refreshed,
    /// A grant code exchanged by this call.
    Exchanged,
    /// Got by a concurrent call in this process, whose result this call shared.
    Shared,
}

impl TokenSource {
    /// Short name: `cache`, `store`, `refreshed`, `exchanged`, `shared`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cache => "cache",
            Self::Store => "store",
            Self::Refreshed => "refreshed",
            Self::Exchanged => "exchanged",
            Self::Shared => "shared",
        }
    }
}

/// A valid access token with the API domain to call.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    pub(crate) secret: String,
    pub(crate) api_domain: Option<String>,
    pub(crate) expiry_time: i64,
    pub(crate) source: TokenSource,
}

impl AccessToken {
    /// The same token, as a concurrent caller that shared this one's result sees it.
    pub(crate) fn shared(mut self) -> Self {
        self.source = TokenSource::Shared;
        self
    }
}

impl AccessToken {
    /// The bearer value. Never log it.
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// The stored token's API domain, e.g. `https://www.zohoapis.eu`.
    pub fn api_domain(&self) -> Option<&str> {
        self.api_domain.as_deref()
    }

    /// Expiry instant, Unix epoch milliseconds.
    pub fn expiry_time(&self) -> i64 {
        self.expiry_time
    }

    /// Where this call got the token.
    pub fn source(&self) -> TokenSource {
        self.source
    }

    /// The `Authorization` header value Zoho expects: `Zoho-oauthtoken <token>`.
    pub fn authorization(&self) -> String {
        format!("Zoho-oauthtoken {}", self.secret)
    }
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("secret", &"<redacted>")
            .field("api_domain", &self.api_domain)
            .field("expiry_time", &self.expiry_time)
            .field("source", &self.source)
            .finish()
    }
}

/// Counters of one manager since it was built.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ManagerStats {
    /// Calls answered from the in-process cache (no service call).
    pub warm_hits: u64,
    /// Token reads from the store.
    pub store_reads: u64,
    /// Token saves to the store.
    pub store_writes: u64,
    /// Lease attempts (each a few store calls, see the lease's docs).
    pub lease_attempts: u64,
    /// Lease attempts lost to another holder.
    pub lease_lost: u64,
    /// Successful refreshes (token endpoint calls that minted a token).
    pub refreshes: u64,
    /// Successful grant-code exchanges.
    pub exchanges: u64,
    /// Token endpoint calls that failed.
    pub refresh_failures: u64,
    /// Saves that failed after a refresh (the new token was still returned).
    pub save_failures: u64,
    /// Calls that waited for another instance's refresh (their token had expired).
    pub waits: u64,
    /// Lease renewals while a slow refresh ran.
    pub lease_renewals: u64,
    /// Calls answered without asking the accounts server because of a pause: the backoff
    /// after a failed refresh or a rate window ("Access Denied", shared through the lease).
    pub paused: u64,
    /// [`crate::TokenManager::invalidate`] calls.
    pub invalidations: u64,
    /// Refresh tokens revoked through [`crate::TokenManager::revoke`].
    pub revocations: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) warm_hits: AtomicU64,
    pub(crate) store_reads: AtomicU64,
    pub(crate) store_writes: AtomicU64,
    pub(crate) lease_attempts: AtomicU64,
    pub(crate) lease_lost: AtomicU64,
    pub(crate) refreshes: AtomicU64,
    pub(crate) exchanges: AtomicU64,
    pub(crate) refresh_failures: AtomicU64,
    pub(crate) save_failures: AtomicU64,
    pub(crate) waits: AtomicU64,
    pub(crate) lease_renewals: AtomicU64,
    pub(crate) paused: AtomicU64,
    pub(crate) invalidations: AtomicU64,
    pub(crate) revocations: AtomicU64,
}

/// Add one to a counter.
pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    pub(crate) fn snapshot(&self) -> ManagerStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ManagerStats {
            warm_hits: get(&self.warm_hits),
            store_reads: get(&self.store_reads),
            store_writes: get(&self.store_writes),
            lease_attempts: get(&self.lease_attempts),
            lease_lost: get(&self.lease_lost),
            refreshes: get(&self.refreshes),
            exchanges: get(&self.exchanges),
            refresh_failures: get(&self.refresh_failures),
            save_failures: get(&self.save_failures),
            waits: get(&self.waits),
            lease_renewals: get(&self.lease_renewals),
            paused: get(&self.paused),
            invalidations: get(&self.invalidations),
            revocations: get(&self.revocations),
        }
    }
}
