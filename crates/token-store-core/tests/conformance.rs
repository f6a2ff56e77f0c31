//! The conformance suite against the in-memory store and the engine over the in-memory
//! backend in its three index protocols.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use token_store_core::testkit::{
    BackendHarness, BoxFuture, Capabilities, MemoryBackend, StoreHarness,
};
use token_store_core::{MemoryStore, SecretBackend, TokenStore};

/// Backends by namespace, so reopening a namespace reaches the same secrets.
struct MemoryBackends {
    make: fn() -> MemoryBackend,
    by_namespace: Mutex<HashMap<String, MemoryBackend>>,
}

impl MemoryBackends {
    fn new(make: fn() -> MemoryBackend) -> Self {
        Self {
            make,
            by_namespace: Mutex::default(),
        }
    }
}

impl BackendHarness for MemoryBackends {
    fn backend<'a>(&'a self, namespace: &'a str) -> BoxFuture<'a, Arc<dyn SecretBackend>> {
        let backend = self
            .by_namespace
            .lock()
            .unwrap()
            .entry(namespace.to_string())
            .or_insert_with(self.make)
            .clone();
        Box::pin(async move { Arc::new(backend) as Arc<dyn SecretBackend> })
    }
}

/// One shared harness per test binary for each backend flavour.
fn shared(
    cell: &'static std::sync::OnceLock<MemoryBackends>,
    make: fn() -> MemoryBackend,
) -> &'static MemoryBackends {
    cell.get_or_init(|| MemoryBackends::new(make))
}

impl BackendHarness for &'static MemoryBackends {
    fn backend<'a>(&'a self, namespace: &'a str) -> BoxFuture<'a, Arc<dyn SecretBackend>> {
        (**self).backend(namespace)
    }
}

/// Memory stores by namespace.
#[derive(Default)]
struct MemoryStores(Mutex<HashMap<String, Arc<MemoryStore>>>);

impl StoreHarness for &'static MemoryStores {
    fn open<'a>(&'a self, namespace: &'a str) -> BoxFuture<'a, Box<dyn TokenStore>> {
        let store = self
            .0
            .lock()
            .unwrap()
            .entry(namespace.to_string())
            .or_default()
            .clone();
        Box::pin(async move { Box::new(store) as Box<dyn TokenStore> })
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            durable: false,
            ..Capabilities::default()
        }
    }
}

mod memory_store {
    use super::*;
    static STORES: std::sync::OnceLock<MemoryStores> = std::sync::OnceLock::new();
    fn harness() -> &'static MemoryStores {
        STORES.get_or_init(MemoryStores::default)
    }
    token_store_core::conformance_tests!(harness());
}

mod engine_compare_and_swap {
    use super::*;
    static CELL: std::sync::OnceLock<MemoryBackends> = std::sync::OnceLock::new();
    token_store_core::engine_conformance_tests!(shared(&CELL, MemoryBackend::compare_and_swap));
}

mod engine_merge_log {
    use super::*;
    static CELL: std::sync::OnceLock<MemoryBackends> = std::sync::OnceLock::new();
    token_store_core::engine_conformance_tests!(shared(&CELL, MemoryBackend::merge_log));
}

mod engine_merge_log_generations {
    use super::*;
    static CELL: std::sync::OnceLock<MemoryBackends> = std::sync::OnceLock::new();
    token_store_core::engine_conformance_tests!(shared(
        &CELL,
        MemoryBackend::merge_log_generations
    ));
}

mod engine_merge_log_opaque_versions {
    use super::*;
    static CELL: std::sync::OnceLock<MemoryBackends> = std::sync::OnceLock::new();
    token_store_core::engine_conformance_tests!(shared(&CELL, MemoryBackend::merge_log_opaque));
}

mod stress {
    use super::*;
    use token_store_core::testkit::{large_store, stress_with_shared_user};

    static CAS: std::sync::OnceLock<MemoryBackends> = std::sync::OnceLock::new();
    static LOG: std::sync::OnceLock<MemoryBackends> = std::sync::OnceLock::new();
    static OPAQUE: std::sync::OnceLock<MemoryBackends> = std::sync::OnceLock::new();
    static GENERATIONS: std::sync::OnceLock<MemoryBackends> = std::sync::OnceLock::new();

    /// 32 writers × 25 distinct users plus 16 saves of one shared user at once: all found by
    /// each key, one token for the shared user, every token indexed (at most one stale id
    /// entry per losing shared saver on a merge log); then a store of 2,000.
    async fn many_writers_and_a_large_store(harness: &'static MemoryBackends) {
        let report = stress_with_shared_user(harness, 32, 25, 16).await;
        println!("{report:?}");
        assert!((801..816).contains(&report.index_entries), "{report:?}");
        let large = large_store(harness, 2_000, 6).await;
        println!("{large:?}");
        assert!(large.shards > 1, "a store of 2,000 spreads over shards");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn compare_and_swap() {
        many_writers_and_a_large_store(shared(&CAS, MemoryBackend::compare_and_swap)).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn merge_log() {
        many_writers_and_a_large_store(shared(&LOG, MemoryBackend::merge_log)).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn merge_log_generations() {
        many_writers_and_a_large_store(shared(&GENERATIONS, MemoryBackend::merge_log_generations))
            .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn merge_log_opaque_versions() {
        many_writers_and_a_large_store(shared(&OPAQUE, MemoryBackend::merge_log_opaque)).await;
    }
}

/// A change set that touches more leaf shards than the engine's retry budget (here: removing
/// every entry of a store whose index has well over 100 leaves) commits leaf by leaf: only
/// lost races count against the budget.
#[tokio::test]
async fn delete_tokens_of_an_index_with_many_leaves() {
    use token_store_core::testkit::CountingBackend;
    use token_store_core::{SHARD_PREFIX, SecretIndexStore, Token};

    let counting = Arc::new(CountingBackend::new(Arc::new(MemoryBackend::merge_log())));
    counting.limit_value_bytes(400);
    let store = SecretIndexStore::new(counting.clone());
    for n in 1..=160 {
        let token = Token::builder()
            .user_name(format!("user{n}@example.com"))
            .client_id("1000.CLIENT")
            .refresh_token(format!("1000.refresh.{n}"))
            .access_token(format!("1000.access.{n}"))
            .build();
        store.save_token(&token).await.unwrap();
    }
    let shards = counting.list(SHARD_PREFIX).await.unwrap().len();
    assert!(shards > 150, "{shards} shards");
    store.delete_tokens().await.unwrap();
    assert!(store.get_tokens().await.unwrap().is_empty());
    assert_eq!(store.index_entries().await.unwrap(), 0);
}
