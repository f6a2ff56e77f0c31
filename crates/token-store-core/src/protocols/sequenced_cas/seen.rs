//! When this process last saw each version of a secret, to bound how old a read a
//! compare-and-swap may start from.
//!
//! Why: the successor id of version `seq` is fixed (`seq + 1`), so the compare-and-swap relies
//! on Secrets Manager still knowing `seq + 1` when another writer created it. AWS deletes
//! unlabelled versions only when a secret has more than ~100 versions *and* they are older
//! than 24 hours. `seq + 1` can only have been created after `seq` was read as current, so
//! as long as the write lands less than 24 hours after the read, `seq + 1` (if it exists) is
//! younger than 24 hours and still refuses a reused token. We refuse to start a
//! compare-and-swap from a read older than [`MAX_READ_AGE`] (or one this process never saw),
//! far below that: the engine then re-reads and retries, which costs one extra read.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Oldest read of the expected version a compare-and-swap is started from.
pub const MAX_READ_AGE: Duration = Duration::from_secs(15 * 60);
/// Versions remembered per secret (the newest ones).
const PER_NAME: usize = 64;
/// Forget secrets not seen for [`MAX_READ_AGE`] every this many records.
const SWEEP_EVERY: u64 = 1024;

#[derive(Debug, Default)]
struct Inner {
    names: HashMap<String, VecDeque<(String, Instant)>>,
    records: u64,
}

/// Versions of secrets a backend read or wrote lately, shared by clones of the backend.
#[derive(Debug, Clone, Default)]
pub struct SeenVersions(Arc<Mutex<Inner>>);

impl SeenVersions {
    /// `version` of `name` was read (or written) just now.
    pub fn record(&self, name: &str, version: &str) {
        let now = Instant::now();
        let mut inner = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        inner.records += 1;
        if inner.records.is_multiple_of(SWEEP_EVERY) {
            inner.names.retain(|_, seen| {
                seen.back()
                    .is_some_and(|(_, at)| now.duration_since(*at) < MAX_READ_AGE)
            });
        }
        let seen = inner.names.entry(name.to_string()).or_default();
        seen.retain(|(v, _)| v != version);
        seen.push_back((version.to_string(), now));
        while seen.len() > PER_NAME {
            seen.pop_front();
        }
    }

    /// Whether `version` of `name` was seen less than [`MAX_READ_AGE`] ago.
    pub fn is_fresh(&self, name: &str, version: &str) -> bool {
        let inner = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        inner.names.get(name).is_some_and(|seen| {
            seen.iter()
                .any(|(v, at)| v == version && at.elapsed() < MAX_READ_AGE)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_recent_versions_per_name() {
        let seen = SeenVersions::default();
        assert!(!seen.is_fresh("index", "a"), "never seen");
        seen.record("index", "a");
        assert!(seen.is_fresh("index", "a"));
        assert!(!seen.is_fresh("token-1", "a"), "per name");
        for i in 0..PER_NAME {
            seen.record("index", &format!("v{i}"));
        }
        assert!(!seen.is_fresh("index", "a"), "only the newest are kept");
        assert!(seen.is_fresh("index", &format!("v{}", PER_NAME - 1)));
    }
}
