//! Several managers — separate instances with separate caches and store handles, as separate
//! serverless instances have — sharing one store: exactly one refresh, every token live.

mod support;

use std::sync::Arc;
use std::time::Duration;

use support::{Zoho, assert_all_live, options, query, run_instances};
use token_store_core::testkit::{CountingBackend, MemoryBackend};
use token_store_core::{MemoryStore, SecretBackend, SecretIndexStore, Token, TokenStore};
use token_store_file::FileStore;
use token_store_oauth::{BackendLease, FileLease, Lease, ManagerOptions, StoreLease, TokenManager};
use token_store_sql::SqliteStore;

const INSTANCES: usize = 8;
const CALLS: usize = 5;
/// Due for refresh (inside the 5-minute buffer) but still valid.
const ABOUT_TO_EXPIRE_MS: i64 = 60_000;
/// Already expired: every instance must wait for the one refresh.
const EXPIRED_MS: i64 = -1_000;

async fn check(zoho: &Zoho, answers: &[token_store_oauth::AccessToken], old: &Token) {
    assert_eq!(answers.len(), INSTANCES * CALLS);
    assert_eq!(zoho.stat("refreshes").await, 1, "exactly one refresh");
    assert_eq!(zoho.stat("access_denied").await, 0);
    assert_eq!(zoho.stat("invalidated").await, 0);
    let distinct = assert_all_live(zoho, answers).await;
    assert!(distinct <= 2, "the old and the one new token, no others");
    let old_access = old.access_token.as_deref().unwrap();
    if old.expiry_time.unwrap() < support_now() {
        assert!(
            answers.iter().all(|a| a.secret() != old_access),
            "no expired token served"
        );
    }
}

fn support_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

async fn memory_case(expires_in_ms: i64) {
    let zoho = Zoho::start().await;
    let token = zoho.seed("mem@example.com", expires_in_ms).await;
    let store = Arc::new(MemoryStore::new());
    store.save_token(&token).await.unwrap();
    let opts = options(&zoho);
    let answers = run_instances(INSTANCES, CALLS, "mem@example.com", || {
        let lease: Arc<dyn Lease> =
            Arc::new(StoreLease::new(store.clone(), Duration::from_millis(30)));
        (store.clone() as Arc<dyn TokenStore>, lease, opts.clone())
    })
    .await;
    check(&zoho, &answers, &token).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_with_a_store_lease_about_to_expire() {
    memory_case(ABOUT_TO_EXPIRE_MS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_with_a_store_lease_expired() {
    memory_case(EXPIRED_MS).await;
}

async fn file_case(expires_in_ms: i64) {
    let zoho = Zoho::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sdk_tokens.txt");
    let token = zoho.seed("file@example.com", expires_in_ms).await;
    FileStore::open(&path)
        .unwrap()
        .save_token(&token)
        .await
        .unwrap();
    let opts = options(&zoho);
    let answers = run_instances(INSTANCES, CALLS, "file@example.com", || {
        let store: Arc<dyn TokenStore> = Arc::new(FileStore::open(&path).unwrap());
        let lease: Arc<dyn Lease> = Arc::new(FileLease::new(&path));
        (store, lease, opts.clone())
    })
    .await;
    check(&zoho, &answers, &token).await;
    let rows = FileStore::open(&path).unwrap().get_tokens().await.unwrap();
    assert_eq!(rows.len(), 1, "the lease leaves no row in the token file");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn file_store_with_a_file_lock_about_to_expire() {
    file_case(ABOUT_TO_EXPIRE_MS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn file_store_with_a_file_lock_expired() {
    file_case(EXPIRED_MS).await;
}

async fn sqlite_case(expires_in_ms: i64) {
    let zoho = Zoho::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tokens.db");
    let url = format!("sqlite://{}", db.display());
    let token = zoho.seed("sql@example.com", expires_in_ms).await;
    SqliteStore::from_url(&url)
        .await
        .unwrap()
        .save_token(&token)
        .await
        .unwrap();
    let mut stores: Vec<Arc<dyn TokenStore>> = Vec::new();
    for _ in 0..INSTANCES {
        stores.push(Arc::new(SqliteStore::from_url(&url).await.unwrap()));
    }
    let stores = std::sync::Mutex::new(stores);
    let opts = options(&zoho);
    let answers = run_instances(INSTANCES, CALLS, "sql@example.com", || {
        let store = stores.lock().unwrap().pop().unwrap();
        let lease: Arc<dyn Lease> = Arc::new(FileLease::new(&db));
        (store, lease, opts.clone())
    })
    .await;
    check(&zoho, &answers, &token).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_store_with_a_file_lock_about_to_expire() {
    sqlite_case(ABOUT_TO_EXPIRE_MS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_store_with_a_file_lock_expired() {
    sqlite_case(EXPIRED_MS).await;
}

/// The secret-index engine over the in-memory secret service, with a backend lease, and the
/// service calls counted.
async fn backend_case(backend: MemoryBackend, expires_in_ms: i64) -> Arc<CountingBackend> {
    let zoho = Zoho::start().await;
    let counting = Arc::new(CountingBackend::new(Arc::new(backend)));
    let shared: Arc<dyn SecretBackend> = counting.clone();
    let token = zoho.seed("cloud@example.com", expires_in_ms).await;
    SecretIndexStore::new(shared.clone())
        .save_token(&token)
        .await
        .unwrap();
    let opts = options(&zoho);
    let answers = run_instances(INSTANCES, CALLS, "cloud@example.com", || {
        let store: Arc<dyn TokenStore> = Arc::new(SecretIndexStore::new(shared.clone()));
        let lease: Arc<dyn Lease> = Arc::new(BackendLease::new(shared.clone()));
        (store, lease, opts.clone())
    })
    .await;
    check(&zoho, &answers, &token).await;
    let tokens = SecretIndexStore::new(shared).get_tokens().await.unwrap();
    assert_eq!(tokens.len(), 1, "the lease secret is not a token");
    counting
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn compare_and_swap_backend_lease_about_to_expire() {
    backend_case(MemoryBackend::compare_and_swap(), ABOUT_TO_EXPIRE_MS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn compare_and_swap_backend_lease_expired() {
    backend_case(MemoryBackend::compare_and_swap(), EXPIRED_MS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn version_log_backend_lease_about_to_expire() {
    backend_case(MemoryBackend::merge_log(), ABOUT_TO_EXPIRE_MS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn version_log_backend_lease_expired() {
    backend_case(MemoryBackend::merge_log(), EXPIRED_MS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn opaque_version_log_backend_lease_about_to_expire() {
    backend_case(MemoryBackend::merge_log_opaque(), ABOUT_TO_EXPIRE_MS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn opaque_version_log_backend_lease_expired() {
    backend_case(MemoryBackend::merge_log_opaque(), EXPIRED_MS).await;
}

/// Service calls per call, on the compare-and-swap backend: a warm hit makes none, a cold
/// read of a fresh token only the store's lookup.
#[tokio::test]
async fn service_calls_per_call_are_counted() {
    let zoho = Zoho::start().await;
    let counting = Arc::new(CountingBackend::new(Arc::new(
        MemoryBackend::compare_and_swap(),
    )));
    let shared: Arc<dyn SecretBackend> = counting.clone();
    let store: Arc<dyn TokenStore> = Arc::new(SecretIndexStore::new(shared.clone()));
    store
        .save_token(&zoho.seed("count@example.com", 3_600_000).await)
        .await
        .unwrap();
    let manager = TokenManager::with_options(
        store.clone(),
        Arc::new(BackendLease::new(shared.clone())),
        options(&zoho),
    )
    .unwrap();
    let lookup_calls = {
        counting.reset();
        store.find_token(&query("count@example.com")).await.unwrap();
        counting.total()
    };
    counting.reset();
    manager
        .access_token(&query("count@example.com"))
        .await
        .unwrap();
    assert_eq!(
        counting.total(),
        lookup_calls,
        "cold start: one store lookup"
    );
    counting.reset();
    manager
        .access_token(&query("count@example.com"))
        .await
        .unwrap();
    assert_eq!(counting.total(), 0, "warm hit: no service call");

    // Refresh: lookup, lease get + CAS, re-read, save, lease get + CAS release.
    let due = TokenManager::with_options(
        store.clone(),
        Arc::new(BackendLease::new(shared)),
        ManagerOptions {
            refresh_buffer: Duration::from_secs(7200),
            jitter: Duration::ZERO,
            ..options(&zoho)
        },
    )
    .unwrap();
    counting.reset();
    due.access_token(&query("count@example.com")).await.unwrap();
    assert_eq!(zoho.stat("refreshes").await, 1);
    // lookup (index + token): 2 gets; lease: get + CAS; re-read by id: 1 get; save: token put
    // + index CAS; release: get + CAS.
    assert_eq!(counting.count("get"), 5);
    assert_eq!(counting.count("put"), 1);
    assert_eq!(counting.count("put_if_current"), 3);
    assert_eq!(counting.total(), 9);
}
