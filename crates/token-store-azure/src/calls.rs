//! Counts of Key Vault calls a backend made, per REST operation (calls are what users pay for).

use std::collections::BTreeMap;
use std::sync::Mutex;

/// Per-operation call counters.
#[derive(Debug, Default)]
pub(crate) struct CallCounter {
    counts: Mutex<BTreeMap<&'static str, u64>>,
}

impl CallCounter {
    /// Count one call of `op` (e.g. `GetSecret`).
    pub(crate) fn record(&self, op: &'static str) {
        *self
            .counts
            .lock()
            .expect("call counter lock")
            .entry(op)
            .or_default() += 1;
    }

    /// Calls so far, by operation name.
    pub(crate) fn snapshot(&self) -> BTreeMap<&'static str, u64> {
        self.counts.lock().expect("call counter lock").clone()
    }

    /// Start counting from zero.
    pub(crate) fn reset(&self) {
        self.counts.lock().expect("call counter lock").clear();
    }
}
