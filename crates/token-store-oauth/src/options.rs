//! [`ManagerOptions`]: when to refresh, how long to wait, where the accounts server is.

use std::time::Duration;

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
    /// Cross-instance lease length: a crashed holder blocks others at most this long
    /// (default 30 s).
    pub lease_ttl: Duration,
    /// How long a caller whose token has expired waits for another instance's refresh
    /// (default 20 s).
    pub wait_timeout: Duration,
    /// How often a waiting caller re-reads the store (default 200 ms).
    pub poll_interval: Duration,
    /// While another instance refreshes, a still-valid token is served from the cache for
    /// this long before the store is read again (default 1 s).
    pub stale_recheck: Duration,
    /// Data centre used when the token's `api_domain` names none (default US).
    pub data_centre: DataCentre,
    /// Accounts server base URL overriding the data centre (e.g. a test server).
    pub accounts_url: Option<String>,
    /// HTTP timeout of one token request (default 10 s).
    pub http_timeout: Duration,
}

impl Default for ManagerOptions {
    fn default() -> Self {
        Self {
            refresh_buffer: Duration::from_secs(300),
            jitter: Duration::from_secs(60),
            min_validity: Duration::from_secs(30),
            lease_ttl: Duration::from_secs(30),
            wait_timeout: Duration::from_secs(20),
            poll_interval: Duration::from_millis(200),
            stale_recheck: Duration::from_secs(1),
            data_centre: DataCentre::Us,
            accounts_url: None,
            http_timeout: Duration::from_secs(10),
        }
    }
}
