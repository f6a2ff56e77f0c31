//! Cross-instance single flight: a short lease on a token, taken before a refresh.
//!
//! The lease is advisory and short (default 4 s), and its holder renews it while its refresh
//! runs (every third of the lease), so a live holder keeps it however slow the accounts server
//! is, and a holder that dies (a Lambda killed at its timeout) blocks the others for at most
//! one lease length. The holder refreshes and saves, then releases. A holder told "Access
//! Denied" leaves the lease *blocked* until the rate window ends, so every instance learns the
//! window from the lease instead of asking the accounts server again.
//!
//! | lease | stores | guarantee |
//! |---|---|---|
//! | [`BackendLease`] | AWS (compare-and-swap) | one holder: `put_if_current` on the version read |
//! | [`BackendLease`] | GCP (sequential versions) | one holder: the first version written after the one read |
//! | [`BackendLease`] | Azure (versions ordered by whole second) | one holder: after its write's second is over, the first contender of the round in the service's order |
//! | [`FileLease`] | file, SQLite | one holder per machine: an OS file lock |
//! | [`StoreLease`] | any `TokenStore` (memory, MySQL) | best effort: write, wait, read back |

mod backend;
mod file;
mod store;

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use token_store_core::Result;

pub use backend::BackendLease;
pub use file::FileLease;
pub use store::StoreLease;

/// What a [`Lease::try_acquire`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// The caller holds the lease until it releases it or the lease's time runs out.
    Acquired,
    /// Another holder has it.
    Held,
    /// Refreshing this token is blocked until the given instant: the accounts server said
    /// "Access Denied" to some instance (see [`Lease::block`]).
    Blocked(SystemTime),
}

/// A short exclusive lease per token key, shared by every instance that uses the same store.
#[async_trait]
pub trait Lease: Send + Sync + std::fmt::Debug {
    /// Try to take the lease on `key` for `holder` (unique per manager instance) for `ttl`.
    async fn try_acquire(&self, key: &str, holder: &str, ttl: Duration) -> Result<Attempt>;

    /// Extend a lease `holder` holds to `ttl` from now. `Ok(false)` when the holder lost it
    /// (it ran out and another instance took it). By default nothing to do: a lease that
    /// lives as long as its holder (the file lock).
    async fn renew(&self, key: &str, holder: &str, ttl: Duration) -> Result<bool> {
        let _ = (key, holder, ttl);
        Ok(true)
    }

    /// Give the lease back if `holder` still holds it. Best effort: an expired lease frees
    /// itself.
    async fn release(&self, key: &str, holder: &str) -> Result<()>;

    /// Release the lease and keep it closed to everyone until `until` (the end of a rate
    /// window): later attempts answer [`Attempt::Blocked`].
    async fn block(&self, key: &str, holder: &str, until: SystemTime) -> Result<()>;

    /// Short name for logs and stats: `"cas"`, `"version-log"`, `"file-lock"`, `"write-verify"`.
    fn kind(&self) -> &'static str;
}

/// A short, name-safe (`[a-z0-9]`) digest of a key: leases never spell a user name.
pub(crate) fn key_digest(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    digest[..10].iter().map(|b| format!("{b:02x}")).collect()
}

/// Unix time in milliseconds.
pub(crate) fn now_ms() -> i64 {
    to_ms(SystemTime::now())
}

/// An instant as Unix milliseconds (0 before the epoch).
pub(crate) fn to_ms(at: SystemTime) -> i64 {
    at.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Unix milliseconds as an instant.
pub(crate) fn from_ms(ms: i64) -> SystemTime {
    std::time::UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64)
}
