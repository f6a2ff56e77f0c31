//! Lease races: eight holders try at once, three rounds; exactly one wins each round, and a
//! released or expired lease can be taken again.

use std::sync::Arc;
use std::time::Duration;

use token_store_core::MemoryStore;
use token_store_core::testkit::MemoryBackend;
use token_store_oauth::{BackendLease, FileLease, Lease, StoreLease};

/// `make()` gives each racer its own lease handle on the shared place.
async fn race(make: impl Fn() -> Arc<dyn Lease>) {
    let leases: Vec<Arc<dyn Lease>> = (0..8).map(|_| make()).collect();
    for round in 0..3 {
        let mut tasks = tokio::task::JoinSet::new();
        for (i, lease) in leases.iter().cloned().enumerate() {
            tasks.spawn(async move {
                let holder = format!("holder-{round}-{i}");
                let won = lease
                    .try_acquire("refresh:abc", &holder, Duration::from_secs(30))
                    .await
                    .unwrap();
                (won, holder, lease)
            });
        }
        let results = tasks.join_all().await;
        let winners: Vec<_> = results.iter().filter(|(won, _, _)| *won).collect();
        assert_eq!(winners.len(), 1, "round {round}: exactly one holder");
        let (_, holder, lease) = winners[0];
        lease.release("refresh:abc", holder).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn compare_and_swap_lease() {
    let backend = Arc::new(MemoryBackend::compare_and_swap());
    race(|| Arc::new(BackendLease::new(backend.clone()))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn version_log_lease() {
    let backend = Arc::new(MemoryBackend::merge_log());
    race(|| Arc::new(BackendLease::new(backend.clone()))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn opaque_version_log_lease() {
    let backend = Arc::new(MemoryBackend::merge_log_opaque());
    race(|| Arc::new(BackendLease::new(backend.clone()))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn file_lock_lease() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("sdk_tokens.txt");
    race(|| Arc::new(FileLease::new(&base))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn write_verify_lease_on_a_fast_store() {
    let store = Arc::new(MemoryStore::new());
    race(|| Arc::new(StoreLease::new(store.clone(), Duration::from_millis(50)))).await;
}

#[tokio::test]
async fn an_expired_lease_can_be_taken() {
    let backend = Arc::new(MemoryBackend::compare_and_swap());
    let lease = BackendLease::new(backend);
    let short = Duration::from_millis(100);
    assert!(lease.try_acquire("k", "dead", short).await.unwrap());
    assert!(!lease.try_acquire("k", "other", short).await.unwrap());
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(lease.try_acquire("k", "other", short).await.unwrap());
    assert_eq!(lease.kind(), "cas");
}
