//! The order of this process's own index writes, to narrow Key Vault's same-second ties.
//!
//! Key Vault orders versions only by `created`, in whole seconds, so `versions_after` must
//! return every version of the base's second. When this process wrote both the base and
//! another version of that second, and the other write had finished before the base's write
//! began, the other version is known to be older: it is left out, sparing the engine a merge
//! of versions it already holds.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Writes remembered (the engine asks about recent bases only).
const REMEMBERED: usize = 256;

/// When each remembered write began and ended, on a process-local logical clock.
#[derive(Debug, Default)]
pub(crate) struct WriteOrder {
    clock: AtomicU64,
    spans: Mutex<VecDeque<(String, u64, u64)>>,
}

impl WriteOrder {
    /// A write is about to be sent; pass the result to [`finished`](Self::finished).
    pub(crate) fn begin(&self) -> u64 {
        self.clock.fetch_add(1, Ordering::SeqCst)
    }

    /// The write begun at `began` created `version`.
    pub(crate) fn finished(&self, version: &str, began: u64) {
        let ended = self.clock.fetch_add(1, Ordering::SeqCst);
        let mut spans = self
            .spans
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if spans.len() == REMEMBERED {
            spans.pop_front();
        }
        spans.push_back((version.to_owned(), began, ended));
    }

    /// Whether this process's write of `earlier` had ended before its write of `later` began.
    pub(crate) fn before(&self, earlier: &str, later: &str) -> bool {
        let spans = self
            .spans
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let find = |v: &str| spans.iter().find(|(id, _, _)| id == v).map(|s| (s.1, s.2));
        match (find(earlier), find(later)) {
            (Some((_, ended)), Some((began, _))) => ended < began,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_write_that_ended_before_another_began_is_before_it() {
        let order = WriteOrder::default();
        let a = order.begin();
        order.finished("a", a);
        let b = order.begin();
        let c = order.begin();
        order.finished("b", b);
        order.finished("c", c);
        assert!(order.before("a", "b"));
        assert!(!order.before("b", "a"));
        assert!(!order.before("b", "c"), "overlapping writes are unordered");
        assert!(!order.before("c", "b"));
        assert!(!order.before("a", "unknown"));
    }
}
