//! Counts of Secret Manager calls a backend made, per RPC (calls are what users pay for).

use std::collections::BTreeMap;
use std::sync::Mutex;

/// Per-RPC call counters.
#[derive(Debug, Default)]
pub(crate) struct CallCounter {
    counts: Mutex<BTreeMap<&'static str, u64>>,
}

impl CallCounter {
    /// Count one call of `rpc` (e.g. `AccessSecretVersion`).
    pub(crate) fn record(&self, rpc: &'static str) {
        *self
            .counts
            .lock()
            .expect("call counter lock")
            .entry(rpc)
            .or_default() += 1;
    }

    /// Calls so far, by RPC name.
    pub(crate) fn snapshot(&self) -> BTreeMap<&'static str, u64> {
        self.counts.lock().expect("call counter lock").clone()
    }

    /// Start counting from zero.
    pub(crate) fn reset(&self) {
        self.counts.lock().expect("call counter lock").clear();
    }
}
