//! Waiting for a service and trying again, the same way in every backend: exponential
//! backoff from `backon` (`(|| attempt()).retry(backoff(..)).when(..).await`).

use std::time::Duration;

pub use backon::Retryable;

/// Waits doubling from `first` up to `max`, at most `retries` of them (so `retries + 1`
/// attempts). No jitter: these waits are for the service to finish something (a deletion, a
/// purge), not for racing writers to spread out.
pub fn backoff(first: Duration, max: Duration, retries: usize) -> backon::ExponentialBuilder {
    backon::ExponentialBuilder::default()
        .with_min_delay(first)
        .with_max_delay(max)
        .with_max_times(retries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Error, ErrorKind};
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn retries_only_what_the_condition_allows_and_stops_after_the_limit() {
        let attempts = AtomicUsize::new(0);
        let busy = || async {
            attempts.fetch_add(1, Ordering::SeqCst);
            Err::<(), _>(Error::new(ErrorKind::Conflict, "busy"))
        };
        let started = std::time::Instant::now();
        let outcome = busy
            .retry(backoff(
                Duration::from_millis(10),
                Duration::from_millis(60),
                4,
            ))
            .when(|e: &Error| e.kind() == ErrorKind::Conflict)
            .await;
        assert_eq!(outcome.unwrap_err().kind(), ErrorKind::Conflict);
        assert_eq!(attempts.load(Ordering::SeqCst), 5);
        // 10 + 20 + 40 + 60 (the cap) ms.
        assert!(started.elapsed() >= Duration::from_millis(130));
        attempts.store(0, Ordering::SeqCst);
        let outcome = busy
            .retry(backoff(
                Duration::from_millis(100),
                Duration::from_secs(1),
                4,
            ))
            .when(|e: &Error| e.kind() == ErrorKind::RateLimited)
            .await;
        assert!(outcome.is_err());
        assert_eq!(attempts.load(Ordering::SeqCst), 1);
    }
}
