//! Azure-specific behaviour against the Key Vault double (or Lowkey Vault): concurrency,
//! service calls per operation, the raw stored form, soft-delete/purge/recover under the
//! asynchronous delete, create races, paging, limits, errors, throttling.

mod common;

use std::sync::Arc;

use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use common::{AzureHarness, harness};
use token_store_azure::{AzureBackend, DeleteMode, MAX_VALUE_BYTES};
use token_store_core::raw::{IndexProtocol, MergeLog as _};
use token_store_core::testkit::{
    call_counts, numbered_token, random_namespace, stress_distinct_users,
};
use token_store_core::{ErrorKind, SecretBackend, SecretIndexStore, Token, TokenStore};

async fn engine(h: &AzureHarness, namespace: &str) -> (Arc<AzureBackend>, SecretIndexStore) {
    let backend = Arc::new(h.azure_backend(namespace).await);
    (backend.clone(), SecretIndexStore::new(backend))
}

/// Every first request of a new client gets Key Vault's authentication challenge; answered
/// at once, they made the SDK clear tokens other requests had just fetched (Unauthenticated).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_requests_of_a_new_client_all_authenticate() {
    let h = harness();
    let backend = Arc::new(h.azure_backend(&random_namespace()).await);
    let reads: Vec<_> = (0..32)
        .map(|i| {
            let backend = backend.clone();
            tokio::spawn(async move { backend.get(&format!("token-{i}")).await })
        })
        .collect();
    for read in reads {
        assert_eq!(read.await.unwrap().unwrap(), None);
    }
    assert_eq!(backend.calls().total(), 32);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_distinct_users_16x25() {
    let h = harness();
    let report = stress_distinct_users(&h, 16, 25).await;
    println!("16x25: {report:?}");
    assert_eq!(report.saved, 400);
    assert_eq!(
        report.index_entries, 400,
        "the index holds exactly one entry per token"
    );
}

/// Key Vault calls per store operation with fewer than 25 index versions (one version-list
/// page). Index versions this process wrote or read are cached, so merging reads none. Index
/// writes are spaced more than a second apart: a write whose base shares its `created`
/// second with an earlier version cannot tell their order and merges once more (one more
/// SetSecret), which would make the counts depend on timing.
#[tokio::test]
async fn service_calls_per_operation() {
    let h = harness();
    let (backend, store) = engine(&h, &random_namespace()).await;
    for n in 1..=3 {
        store.save_token(&numbered_token(n)).await.unwrap();
    }
    // Every operation is checked; the differences are reported together at the end.
    let mismatches = std::cell::RefCell::new(Vec::new());
    let check = |operation: &str, expected: &[(&'static str, u64)]| {
        let got = backend.calls().counts();
        println!(
            "service calls {operation}: {} {got:?}",
            got.values().sum::<u64>()
        );
        if got != call_counts(expected) {
            mismatches
                .borrow_mut()
                .push(format!("{operation}: got {got:?}, expected {expected:?}"));
        }
        backend.calls().reset();
    };
    backend.calls().reset();
    let next_second = || tokio::time::sleep(std::time::Duration::from_millis(1100));

    next_second().await;
    store.save_token(&numbered_token(4)).await.unwrap();
    // the user looked up in the shard's latest version (no candidate: a miss) + index read
    // (root + shard: get + version list) + create of the token (get 404, set, version list)
    // + the root and shard writes (set + version list each) + the id's entry read again (get
    // + version list: another writer of the same id may have removed it)
    check(
        "save (new user)",
        &[("GetSecret", 5), ("GetSecretVersions", 6), ("SetSecret", 3)],
    );

    store
        .find_token(&Token::builder().user_name("user2@example.com").build())
        .await
        .unwrap()
        .expect("found");
    // the shard this process wrote is cached: the token only
    check("find_token by user", &[("GetSecret", 1)]);

    store
        .find_token(&Token::builder().access_token("1000.access.3").build())
        .await
        .unwrap()
        .expect("found");
    check("find_token by access token", &[("GetSecret", 1)]);

    store.find_token_by_id("1").await.unwrap().expect("found");
    check("find_token_by_id", &[("GetSecret", 1)]);

    // A new process: the shard's latest version, then the token; no version listing.
    let cold = SecretIndexStore::new(backend.clone());
    cold.find_token(&Token::builder().user_name("user2@example.com").build())
        .await
        .unwrap()
        .expect("found");
    check("find_token by user (cold)", &[("GetSecret", 2)]);

    let mut refreshed = numbered_token(2);
    refreshed.access_token = Some("1000.access.refreshed".into());
    next_second().await;
    store.save_token(&refreshed).await.unwrap();
    // token read + token write + shard write (set + version list)
    check(
        "save (refreshed access token)",
        &[("GetSecret", 1), ("GetSecretVersions", 1), ("SetSecret", 2)],
    );

    store.save_token(&refreshed).await.unwrap();
    check("save (unchanged)", &[("GetSecret", 1)]);

    assert_eq!(store.get_tokens().await.unwrap().len(), 4);
    check(
        "get_tokens (4)",
        &[("GetSecret", 5), ("GetSecretVersions", 1)],
    );

    next_second().await;
    store.delete_token("4").await.unwrap();
    // The purge is retried while the deletion completes (asynchronous, like Key Vault's;
    // on the double AZURE_DOUBLE_DELETE_DELAY): how often depends on the service's timing,
    // so it is checked apart.
    let purges = backend.calls().counts().get("PurgeDeletedSecret").copied();
    assert!(
        purges.is_some_and(|n| (1..=6).contains(&n)),
        "delete_token purges, retrying while the deletion completes: {purges:?}"
    );
    check(
        "delete_token",
        &[
            ("DeleteSecret", 1),
            ("PurgeDeletedSecret", purges.unwrap_or_default()),
            ("GetSecret", 2),
            ("GetSecretVersions", 2),
            ("SetSecret", 1),
        ],
    );

    assert_eq!(mismatches.into_inner(), Vec::<String>::new());
    store.delete_tokens().await.unwrap();
    let got = backend.calls().counts();
    println!("service calls delete_tokens (3): {got:?}");
    assert_eq!(
        got.get("DeleteSecret"),
        Some(&3),
        "one DeleteSecret per token secret"
    );
    assert!(
        got.get("PurgeDeletedSecret").is_some_and(|&n| n >= 3),
        "at least one purge per token secret (retried while a deletion completes)"
    );
}

#[tokio::test]
async fn raw_secret_values_show_the_stored_json() {
    let h = harness();
    let namespace = random_namespace();
    let (backend, store) = engine(&h, &namespace).await;
    let saved = store.save_token(&numbered_token(7)).await.unwrap();
    let id = saved.id.clone().expect("id assigned");
    let client = h.raw_client();

    let token_secret = backend.secret_name(&format!("token-{id}")).unwrap();
    assert_eq!(
        token_secret,
        format!("{}token-{id}", AzureHarness::prefix(&namespace))
    );
    let raw = client
        .get_secret(&token_secret, None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(raw.value.as_deref().unwrap()).unwrap();
    println!(
        "raw token secret keys: {:?}",
        json.as_object().unwrap().keys().collect::<Vec<_>>()
    );
    let text = json.to_string();
    for value in [
        "user7@example.com",
        "1000.refresh.7",
        "1000.access.7",
        "client-secret-value",
        "1000.CLIENT",
    ] {
        assert!(text.contains(value), "token secret holds {value}");
    }
    let tags = raw.tags.unwrap_or_default();
    assert_eq!(
        tags.get("managed-by").map(String::as_str),
        Some("token-store")
    );
    assert_eq!(tags.get("suite").map(String::as_str), Some("conformance"));

    let index_secret = backend.secret_name("index").unwrap();
    let raw = client
        .get_secret(&index_secret, None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    let index = raw.value.unwrap();
    for plain in [
        "user7@example.com",
        "1000.refresh.7",
        "1000.access.7",
        "client-secret-value",
    ] {
        assert!(
            !index.contains(plain),
            "the index holds no plaintext {plain}"
        );
    }
    store.delete_tokens().await.unwrap();
}

#[tokio::test]
async fn deleted_names_are_reusable_at_once() {
    let h = harness();
    let backend = h.azure_backend(&random_namespace()).await;
    backend.create("token-1", "{\"a\":1}").await.unwrap();
    backend.delete("token-1").await.unwrap();
    assert!(backend.get("token-1").await.unwrap().is_none());
    backend
        .create("token-1", "{\"a\":2}")
        .await
        .expect("purged name can be created again");
    assert_eq!(
        backend.get("token-1").await.unwrap().unwrap().value,
        "{\"a\":2}"
    );
    backend.delete("token-1").await.unwrap();
    backend
        .delete("token-1")
        .await
        .expect("deleting a missing secret succeeds");
}

#[tokio::test]
async fn a_soft_deleted_name_is_purged_on_write() {
    let h = harness();
    let backend = h.azure_backend(&random_namespace()).await;
    backend.put("token-2", "old").await.unwrap();
    // Deleted behind the backend's back and left unpurged: the next write meets a 409.
    let full = backend.secret_name("token-2").unwrap();
    let raw = h.raw_client();
    raw.delete_secret(&full, None).await.unwrap();
    // The deletion completes asynchronously: wait, as the Azure SDKs' delete pollers do,
    // until the deleted secret can be read.
    let mut polls = 0;
    while raw.get_deleted_secret(&full, None).await.is_err() {
        polls += 1;
        assert!(polls < 100, "the deletion completes");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    backend.calls().reset();
    backend
        .put("token-2", "new")
        .await
        .expect("the 409 is resolved by purging");
    let got = backend.calls().counts();
    println!("service calls put over a soft-deleted name: {got:?}");
    assert_eq!(
        got,
        call_counts(&[("PurgeDeletedSecret", 1), ("SetSecret", 2)]),
        "409, purge, write"
    );
    assert_eq!(backend.get("token-2").await.unwrap().unwrap().value, "new");
    backend.delete("token-2").await.unwrap();
}

/// A name deleted (without purge) and written again at once: the deletion is still in
/// progress (409 `ObjectIsBeingDeleted` to writes and purges, on the double for
/// `AZURE_DOUBLE_DELETE_DELAY`), so the write purges and retries until the name is free.
#[tokio::test]
async fn purge_then_recreate_while_the_delete_is_in_progress() {
    let h = harness();
    let backend = h.azure_backend(&random_namespace()).await;
    backend.create("token-5", "{\"a\":1}").await.unwrap();
    let full = backend.secret_name("token-5").unwrap();
    h.raw_client().delete_secret(&full, None).await.unwrap();
    backend.calls().reset();
    backend
        .create("token-5", "{\"a\":2}")
        .await
        .expect("created again once the deletion completed and the name was purged");
    let got = backend.calls().counts();
    println!("service calls create over a name being deleted: {got:?}");
    assert!(
        got["SetSecret"] >= 2,
        "the first write met the deletion: {got:?}"
    );
    assert_eq!(
        got["SetSecret"],
        got["PurgeDeletedSecret"] + 1,
        "one purge per refused write"
    );
    assert_eq!(
        backend.get("token-5").await.unwrap().unwrap().value,
        "{\"a\":2}"
    );
    // And through the backend: delete (which purges once the deletion completed), then
    // create at once.
    backend.delete("token-5").await.unwrap();
    backend
        .create("token-5", "{\"a\":3}")
        .await
        .expect("a deleted and purged name is reusable at once");
    backend.delete("token-5").await.unwrap();
}

#[tokio::test]
async fn soft_delete_mode_recovers_then_writes() {
    let h = harness();
    let namespace = random_namespace();
    let backend = h
        .builder(&namespace)
        .delete_mode(DeleteMode::SoftDelete)
        .build_backend()
        .await
        .unwrap();
    backend.put("token-3", "first").await.unwrap();
    backend.delete("token-3").await.unwrap();
    assert!(backend.get("token-3").await.unwrap().is_none());
    backend
        .create("token-3", "second")
        .await
        .expect("create over a soft-deleted name recovers it");
    assert_eq!(
        backend.get("token-3").await.unwrap().unwrap().value,
        "second"
    );
    let got = backend.calls().counts();
    assert_eq!(got.get("RecoverDeletedSecret"), Some(&1), "{got:?}");
    // clean up with purge
    h.azure_backend(&namespace)
        .await
        .delete("token-3")
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_of_one_name_have_at_most_one_winner() {
    let h = Arc::new(harness());
    let namespace = random_namespace();
    let mut single_winner_rounds = 0;
    for round in 0..10 {
        let name = format!("token-{round}");
        let mut tasks = Vec::new();
        for racer in 0..3 {
            let backend = h.azure_backend(&namespace).await;
            let name = name.clone();
            tasks.push(tokio::spawn(async move {
                let value = format!("racer-{racer}");
                (value.clone(), backend.create(&name, &value).await)
            }));
        }
        let mut winners = Vec::new();
        for task in tasks {
            let (value, result) = task.await.unwrap();
            match result {
                Ok(_) => winners.push(value),
                Err(e) => assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}"),
            }
        }
        assert!(
            winners.len() <= 1,
            "round {round}: several creators won: {winners:?}"
        );
        let current = h
            .azure_backend(&namespace)
            .await
            .get(&name)
            .await
            .unwrap()
            .expect("someone wrote");
        if let [winner] = winners.as_slice() {
            single_winner_rounds += 1;
            assert_eq!(
                &current.value, winner,
                "round {round}: the winner's value is current"
            );
        }
    }
    println!(
        "create races: {single_winner_rounds}/10 rounds had exactly one winner, the rest none (same-second ties)"
    );
    h.azure_backend(&namespace).await.list("").await.unwrap();
}

#[tokio::test]
async fn list_reads_every_page() {
    let h = harness();
    let namespace = random_namespace();
    let backend = h
        .builder(&namespace)
        .page_size(2)
        .build_backend()
        .await
        .unwrap();
    for n in 1..=5 {
        backend.put(&format!("token-{n}"), "x").await.unwrap();
    }
    backend.put("index", "i").await.unwrap();
    backend.calls().reset();
    let listed = backend.list("token-").await.unwrap();
    assert_eq!(
        listed,
        ["token-1", "token-2", "token-3", "token-4", "token-5"]
    );
    let pages = backend.calls().counts()["GetSecrets"];
    println!("list with page size 2: {pages} GetSecrets pages");
    assert!(pages >= 3, "several pages were read");
    for n in 1..=5 {
        backend.delete(&format!("token-{n}")).await.unwrap();
    }
    backend.delete("index").await.unwrap();
}

#[tokio::test]
async fn versions_after_reads_every_page_and_the_tail() {
    let h = harness();
    let namespace = random_namespace();
    let writer = h
        .builder(&namespace)
        .page_size(5)
        .build_backend()
        .await
        .unwrap();
    let mut written = Vec::new();
    for n in 0..12 {
        written.push(writer.put("index", &format!("v{n}")).await.unwrap());
    }
    // Another backend has nothing cached: every value is read from the service.
    let reader = h
        .builder(&namespace)
        .page_size(5)
        .build_backend()
        .await
        .unwrap();
    let all = reader.versions_after("index", None).await.unwrap();
    let got = reader.calls().counts();
    println!("versions_after(None) of 12 versions, page size 5: {got:?}");
    assert_eq!(
        got.get("GetSecretVersions"),
        Some(&3),
        "12 versions in pages of 5"
    );
    assert_eq!(
        got.get("GetSecretVersion"),
        Some(&12),
        "each version read once"
    );
    let mut values: Vec<String> = all.iter().map(|v| v.value.clone()).collect();
    values.sort_by_key(|v| v[1..].parse::<u32>().unwrap());
    assert_eq!(values, (0..12).map(|n| format!("v{n}")).collect::<Vec<_>>());
    let tail = reader
        .versions_after("index", Some(&written[9]))
        .await
        .unwrap();
    let tail: Vec<&str> = tail.iter().map(|v| v.version.as_str()).collect();
    for later in &written[10..] {
        assert!(
            tail.contains(&later.as_str()),
            "versions after the base include {later}"
        );
    }
    assert!(
        !tail.contains(&written[9].as_str()),
        "the base itself is not repeated"
    );
    writer.delete("index").await.unwrap();
}

#[tokio::test]
async fn oversized_values_fail_before_any_call() {
    let h = harness();
    let backend = h.azure_backend(&random_namespace()).await;
    let big = "x".repeat(MAX_VALUE_BYTES + 1);
    assert_eq!(
        backend.put("token-1", &big).await.unwrap_err().kind(),
        ErrorKind::TooLarge
    );
    assert_eq!(
        backend.create("token-1", &big).await.unwrap_err().kind(),
        ErrorKind::TooLarge
    );
    assert!(backend.calls().counts().is_empty(), "no call was made");
    backend
        .put("token-1", &"x".repeat(MAX_VALUE_BYTES))
        .await
        .expect("25,600 bytes fit");
    backend.delete("token-1").await.unwrap();
}

#[derive(Debug)]
struct NoToken;

#[async_trait::async_trait]
impl TokenCredential for NoToken {
    async fn get_token(
        &self,
        _: &[&str],
        _: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        Err(azure_core::Error::with_message(
            azure_core::error::ErrorKind::Credential,
            "no login",
        ))
    }
}

#[tokio::test]
async fn errors_map_from_the_service() {
    let h = harness();
    let backend = h
        .builder(&random_namespace())
        .credential(Arc::new(NoToken))
        .build_backend()
        .await
        .unwrap();
    let e = backend.get("index").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");
    assert_eq!(e.backend(), "azure");

    let backend = h.azure_backend(&random_namespace()).await;
    assert!(
        backend.get("token-404").await.unwrap().is_none(),
        "404 is None"
    );
    assert!(
        backend
            .versions_after("token-404", None)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(backend.index_protocol(), IndexProtocol::MergeLog);
}

/// 429 with `Retry-After`: the client waits and retries, and both attempts are counted.
/// Only the double throttles on demand (Lowkey Vault never throttles; `scripts/test-azure.sh`
/// skips this test there by name). A persistent 429 is not tested here: the client then kept retrying for about 80 s
/// whatever its retry options; the mapping to `RateLimited` is unit-tested (`error.rs`).
#[tokio::test]
async fn throttled_requests_are_retried() {
    let h = harness();
    let backend = h.azure_backend(&random_namespace()).await;
    backend.put("token-1", "x").await.unwrap();
    // Only this secret's requests: the other tests run meanwhile.
    let full = backend.secret_name("token-1").unwrap();
    h.double_control(
        "throttle",
        serde_json::json!({"count": 1, "retry_after": 1, "path_contains": full}),
    )
    .await;
    backend.calls().reset();
    let started = std::time::Instant::now();
    let read = backend
        .get("token-1")
        .await
        .unwrap()
        .expect("read after the retry");
    assert_eq!(read.value, "x");
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(1),
        "the client waited Retry-After"
    );
    // The client's retry is a request sent, and counted like any other.
    assert_eq!(backend.calls().counts().get("GetSecret"), Some(&2));
    backend.delete("token-1").await.unwrap();
}
