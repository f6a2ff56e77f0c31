//! Lease races: eight holders try at once, three rounds; exactly one wins each round, and a
//! released or expired lease can be taken again.

use std::sync::Arc;
use std::time::Duration;

use token_store_core::MemoryStore;
use token_store_core::testkit::MemoryBackend;
use token_store_oauth::{Attempt, BackendLease, FileLease, Lease, StoreLease};

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
                    .unwrap()
                    == Attempt::Acquired;
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
    assert_eq!(
        lease.try_acquire("k", "dead", short).await.unwrap(),
        Attempt::Acquired
    );
    assert_eq!(
        lease.try_acquire("k", "other", short).await.unwrap(),
        Attempt::Held
    );
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(
        lease.try_acquire("k", "other", short).await.unwrap(),
        Attempt::Acquired
    );
    assert_eq!(lease.kind(), "cas");
}

/// A writer that lost a version-log round finds its own losing write as the current value: it
/// must read the lease as held by the round's winner, not as its own (found on drongo: four
/// processes, an expired token, two refreshes).
#[tokio::test]
async fn a_loser_never_takes_a_held_lease_through_its_own_write() {
    use sha2::{Digest, Sha256};
    use token_store_core::SecretBackend;
    let digest: String = Sha256::digest(b"k")[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let name = format!("lease-{digest}");
    for backend in [
        MemoryBackend::merge_log(),
        MemoryBackend::merge_log_opaque(),
    ] {
        let backend = Arc::new(backend);
        let winner = BackendLease::new(backend.clone());
        let loser = BackendLease::new(backend.clone());
        let ttl = Duration::from_secs(30);
        assert_eq!(
            winner.try_acquire("k", "w", ttl).await.unwrap(),
            Attempt::Acquired
        );
        // The loser read the missing lease too and wrote after the winner: its value is current.
        let until = std::time::SystemTime::now() + ttl;
        let until_ms = until
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis();
        let losing = format!(r#"{{"holder":"l","until":{until_ms},"base":""}}"#);
        backend.put(&name, &losing).await.unwrap();
        assert_eq!(
            loser.try_acquire("k", "l", ttl).await.unwrap(),
            Attempt::Held
        );
        assert!(
            !loser.renew("k", "l", ttl).await.unwrap(),
            "not the loser's to renew"
        );
        assert!(
            winner.renew("k", "w", ttl).await.unwrap(),
            "the winner's round"
        );
        assert_eq!(
            loser.try_acquire("k", "l", ttl).await.unwrap(),
            Attempt::Held
        );
        winner.release("k", "w").await.unwrap();
        assert_eq!(
            loser.try_acquire("k", "l", ttl).await.unwrap(),
            Attempt::Acquired
        );
    }
}

/// Renewal keeps a live holder's lease past its first length; a block answers every later
/// attempt, the blocker's own included, until its end.
async fn renew_and_block(make: impl Fn() -> Arc<dyn Lease>) {
    let (holder, other) = (make(), make());
    let ttl = Duration::from_millis(1500);
    assert_eq!(
        holder.try_acquire("r", "a", ttl).await.unwrap(),
        Attempt::Acquired
    );
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert!(holder.renew("r", "a", ttl).await.unwrap(), "renewed");
        assert_eq!(
            other.try_acquire("r", "b", ttl).await.unwrap(),
            Attempt::Held
        );
    }
    let until = std::time::SystemTime::now() + Duration::from_secs(600);
    holder.block("r", "a", until).await.unwrap();
    for (lease, name) in [(&other, "b"), (&holder, "a")] {
        match lease.try_acquire("r", name, ttl).await.unwrap() {
            Attempt::Blocked(end) => {
                let gap = end.duration_since(until).unwrap_or_else(|e| e.duration());
                assert!(
                    gap < Duration::from_millis(2),
                    "the window's end, to the ms"
                );
            }
            other => panic!("blocked expected, got {other:?}"),
        }
    }
    assert!(
        !other.renew("r", "b", ttl).await.unwrap(),
        "nothing to renew"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewal_and_block_on_every_lease() {
    let cas = Arc::new(MemoryBackend::compare_and_swap());
    renew_and_block(|| Arc::new(BackendLease::new(cas.clone()))).await;
    let log = Arc::new(MemoryBackend::merge_log());
    renew_and_block(|| Arc::new(BackendLease::new(log.clone()))).await;
    let opaque = Arc::new(MemoryBackend::merge_log_opaque());
    renew_and_block(|| Arc::new(BackendLease::new(opaque.clone()))).await;
    let store = Arc::new(MemoryStore::new());
    renew_and_block(|| Arc::new(StoreLease::new(store.clone(), Duration::from_millis(20)))).await;
}

#[tokio::test]
async fn a_file_lease_block_is_read_by_the_next_holder() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("sdk_tokens.txt");
    let (first, second) = (FileLease::new(&base), FileLease::new(&base));
    let ttl = Duration::from_secs(5);
    assert_eq!(
        first.try_acquire("r", "a", ttl).await.unwrap(),
        Attempt::Acquired
    );
    assert_eq!(
        second.try_acquire("r", "b", ttl).await.unwrap(),
        Attempt::Held
    );
    let until = std::time::SystemTime::now() + Duration::from_secs(600);
    first.block("r", "a", until).await.unwrap();
    assert!(matches!(
        second.try_acquire("r", "b", ttl).await.unwrap(),
        Attempt::Blocked(_)
    ));
    assert!(
        matches!(
            first.try_acquire("r", "a", ttl).await.unwrap(),
            Attempt::Blocked(_)
        ),
        "the blocker too"
    );
}
