//! Cross-instance single flight: a short lease on a token, taken before a refresh.
//!
//! The lease is advisory and short (default 30 s): the holder refreshes and saves, then
//! releases; a crashed holder blocks no one past the lease's expiry (the file lock: past its
//! process's end). Three implementations:
//!
//! | lease | stores | guarantee |
//! |---|---|---|
//! | [`BackendLease`] | AWS (compare-and-swap) | one holder: atomic staging-label CAS |
//! | [`BackendLease`] | GCP, Azure (version log) | one holder: the first version written after the one read wins |
//! | [`FileLease`] | file, SQLite | one holder per machine: an OS file lock |
//! | [`StoreLease`] | any `TokenStore` (memory, MySQL) | best effort: write, wait, read back |

mod backend;
mod file;
mod store;

use std::time::Duration;

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use token_store_core::Result;

pub use backend::BackendLease;
pub use file::FileLease;
pub use store::StoreLease;

/// A short exclusive lease per token key, shared by every instance that uses the same store.
#[async_trait]
pub trait Lease: Send + Sync + std::fmt::Debug {
    /// Try to take the lease on `key` for `holder` (unique per manager instance) for `ttl`.
    /// `Ok(true)`: held until released or `ttl` passed; `Ok(false)`: someone else holds it.
    async fn try_acquire(&self, key: &str, holder: &str, ttl: Duration) -> Result<bool>;

    /// Give the lease back if `holder` still holds it. Best effort: an expired lease frees
    /// itself.
    async fn release(&self, key: &str, holder: &str) -> Result<()>;

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
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
