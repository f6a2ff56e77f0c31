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

mod engine_merge_log_opaque_versions {
    use super::*;
    static CELL: std::sync::OnceLock<MemoryBackends> = std::sync::OnceLock::new();
    token_store_core::engine_conformance_tests!(shared(&CELL, MemoryBackend::merge_log_opaque));
}

mod stress {
    use super::*;
    use token_store_core::testkit::stress_distinct_users;

    static CAS: std::sync::OnceLock<MemoryBackends> = std::sync::OnceLock::new();
    static LOG: std::sync::OnceLock<MemoryBackends> = std::sync::OnceLock::new();
    static OPAQUE: std::sync::OnceLock<MemoryBackends> = std::sync::OnceLock::new();

    /// 16 writers × 25 distinct users: all 400 found, the index exact.
    async fn sixteen_by_twenty_five(harness: &'static MemoryBackends) {
        let report = stress_distinct_users(harness, 16, 25).await;
        println!("{report:?}");
        assert_eq!(report.index_entries, 400);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn distinct_users_compare_and_swap() {
        sixteen_by_twenty_five(shared(&CAS, MemoryBackend::compare_and_swap)).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn distinct_users_merge_log() {
        sixteen_by_twenty_five(shared(&LOG, MemoryBackend::merge_log)).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn distinct_users_merge_log_opaque_versions() {
        sixteen_by_twenty_five(shared(&OPAQUE, MemoryBackend::merge_log_opaque)).await;
    }
}
