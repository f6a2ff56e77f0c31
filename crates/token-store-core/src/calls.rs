//! [`CallCounter`]: the service calls a backend made, per operation (calls are what users pay
//! for). Every cloud adapter counts with it, so every store reports calls the same way.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Service calls per operation name (`GetSecretValue`, `AccessSecretVersion`, `GetSecret`, …).
/// Cheap to clone; clones share the counts. A panic elsewhere never makes it panic.
#[derive(Debug, Clone, Default)]
pub struct CallCounter {
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl CallCounter {
    /// Count one call of `operation`.
    pub fn record(&self, operation: &str) {
        let mut counts = self.lock();
        match counts.get_mut(operation) {
            Some(count) => *count += 1,
            None => {
                counts.insert(operation.to_owned(), 1);
            }
        }
    }

    /// Calls per operation since creation or the last [`reset`](Self::reset).
    pub fn counts(&self) -> BTreeMap<String, u64> {
        self.lock().clone()
    }

    /// All calls since creation or the last reset.
    pub fn total(&self) -> u64 {
        self.lock().values().sum()
    }

    /// Start counting from zero.
    pub fn reset(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, u64>> {
        // The map is valid after any panic (each update is one insert or increment).
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::CallCounter;

    #[test]
    fn clones_share_counts_and_reset_clears_them() {
        let counter = CallCounter::default();
        let clone = counter.clone();
        counter.record("GetSecret");
        clone.record("GetSecret");
        clone.record("SetSecret");
        assert_eq!(counter.total(), 3);
        assert_eq!(counter.counts().get("GetSecret"), Some(&2));
        clone.reset();
        assert_eq!(counter.total(), 0);
        assert!(counter.counts().is_empty());
    }
}
