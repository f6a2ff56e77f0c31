//! [`ManagerOptions`]: when to refresh, how long to wait, where the accounts server is.

use std::collections::HashMap;
use std::time::Duration;

use token_store_core::{Error, ErrorKind, Result};

use crate::DataCentre;

/// Settings of a [`crate::TokenManager`]; `Default` gives the documented values.
#[derive(Debug, Clone)]
pub struct ManagerOptions {
    /// Refresh when the token expires within this (default 5 minutes)…
    pub refresh_buffer: Duration,
    /// …minus a random part of this, drawn once per manager so instances spread out
    /// (default 60 s).
    pub jitter: Duration,
    /// A token is served only while it lives at least this much longer (default 30 s).
    pub min_validity: Duration,
    /// Cross-instance lease length (default 4 s). The holder renews it every third of this
    /// while its refresh runs, so a live holder keeps it however slow the accounts server is
    /// and a dead one blocks the others at most this long.
    pub lease_ttl: Duration,
    /// How long a call whose token has expired waits for another instance's refresh when the
    /// caller gives no deadline (default 30 s). At least `lease_ttl`: a waiter never gives up
    /// before a dead holder's lease runs out and it can refresh itself.
    pub wait_timeout: Duration,
    /// How often a waiting caller re-reads the store (default 200 ms).
    pub poll_interval: Duration,
    /// While another instance refreshes, a still-valid token is served from the cache for
    /// this long before the store is read again (default 1 s).
    pub stale_recheck: Duration,
    /// Data centre used when the token's `api_domain` names none (default US).
    pub data_centre: DataCentre,
    /// Accounts server base URL overriding every data centre (e.g. a test server).
    pub accounts_url: Option<String>,
    /// Accounts server base URL per data centre, overriding the public one (e.g. a test
    /// server per data centre, or a proxy).
    pub accounts_urls: HashMap<DataCentre, String>,
    /// Timeout of one accounts-server request (default 10 s).
    pub http_timeout: Duration,
    /// First pause after a failed refresh (default 1 s); it doubles with each further
    /// failure, with jitter, up to `backoff_max`. A still-valid token is served meanwhile; an
    /// expired one gets the last error without a new request.
    pub backoff_base: Duration,
    /// Longest pause after failed refreshes (default 60 s).
    pub backoff_max: Duration,
}

impl Default for ManagerOptions {
    fn default() -> Self {
        Self {
            refresh_buffer: Duration::from_secs(300),
            jitter: Duration::from_secs(60),
            min_validity: Duration::from_secs(30),
            lease_ttl: Duration::from_secs(4),
            wait_timeout: Duration::from_secs(30),
            poll_interval: Duration::from_millis(200),
            stale_recheck: Duration::from_secs(1),
            data_centre: DataCentre::Us,
            accounts_url: None,
            accounts_urls: HashMap::new(),
            http_timeout: Duration::from_secs(10),
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
        }
    }
}

impl ManagerOptions {
    /// `ConfigInvalid` for settings that cannot work together.
    pub(crate) fn check(&self) -> Result<()> {
        let problem = if self.lease_ttl.is_zero() {
            "lease_ttl must be positive"
        } else if self.wait_timeout < self.lease_ttl {
            "wait_timeout must be at least lease_ttl, or waiters give up before a dead holder's lease runs out"
        } else if self.http_timeout.is_zero() {
            "http_timeout must be positive"
        } else if self.poll_interval.is_zero() {
            "poll_interval must be positive"
        } else if self.backoff_max < self.backoff_base {
            "backoff_max must be at least backoff_base"
        } else {
            return Ok(());
        };
        Err(Error::new(ErrorKind::ConfigInvalid, problem).with_operation("TokenManager"))
    }
}
