//! Cases that only make sense for the engine over a `SecretBackend`: call counts, crashes,
//! the index format, repair, races.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::cases::sample;
use super::{BackendHarness, BoxFuture, CountingBackend};
use crate::{
    ErrorKind, INDEX_NAME, IndexProtocol, SecretBackend, SecretIndexStore, Token, TokenStore,
    token_secret_name,
};

type Case = for<'a> fn(&'a dyn BackendHarness, String) -> BoxFuture<'a, ()>;

macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        pub(crate) const CASES: &[(&str, Case)] = &[$((stringify!($name), |h, ns| Box::pin($name(h, ns)))),*];
    };
}

cases!(
    engine_call_counts,
    engine_crash_before_index_write_loses_nothing,
    engine_index_has_no_plaintext,
    engine_stale_entry_never_answers,
    engine_lost_index_is_repaired,
    engine_full_index_is_a_clear_error,
    engine_too_large_token_makes_no_call,
    engine_interleaved_index_writers_lose_nothing,
    engine_interleaved_same_user_saves_leave_one_token,
    engine_corrupt_token_secret_is_an_error,
);

async fn counted(
    harness: &dyn BackendHarness,
    namespace: &str,
) -> (Arc<CountingBackend>, SecretIndexStore) {
    let counting = Arc::new(CountingBackend::new(harness.backend(namespace).await));
    let store = SecretIndexStore::new(counting.clone());
    (counting, store)
}

fn by_user(n: usize) -> Token {
    sample(n)
        .user_name
        .map(|u| Token::builder().user_name(u).build())
        .expect("sample has a user")
}

/// Service calls the engine makes per operation; asserted against the counting wrapper.
struct Expected {
    /// Extra calls to read the index completely (merge-log backends whose versions do not
    /// show succession list the versions after the base).
    read: Vec<(&'static str, u64)>,
    /// Calls to commit an index change.
    write: Vec<(&'static str, u64)>,
}

impl Expected {
    fn of(backend: &dyn SecretBackend) -> Self {
        match backend.index_protocol() {
            IndexProtocol::CompareAndSwap => Self {
                read: vec![("get", 1)],
                write: vec![("put_if_current", 1)],
            },
            IndexProtocol::MergeLog if backend.is_next_version("1", "2").is_some() => Self {
                read: vec![("get", 1)],
                write: vec![("put", 1), ("retire_versions_before", 1)],
            },
            IndexProtocol::MergeLog => Self {
                read: vec![("get", 1), ("versions_after", 1)],
                write: vec![
                    ("put", 1),
                    ("versions_after", 1),
                    ("retire_versions_before", 1),
                ],
            },
        }
    }

    fn total(parts: &[&[(&'static str, u64)]]) -> BTreeMap<&'static str, u64> {
        let mut all = BTreeMap::new();
        for (method, n) in parts.iter().flat_map(|p| p.iter()) {
            *all.entry(*method).or_default() += n;
        }
        all
    }
}

fn check(counting: &CountingBackend, operation: &str, expected: BTreeMap<&'static str, u64>) {
    let actual = counting.counts();
    println!("calls {operation}: {} {actual:?}", counting.total());
    assert_eq!(actual, expected, "backend calls for {operation}");
    counting.reset();
}

async fn engine_call_counts(harness: &dyn BackendHarness, namespace: String) {
    let (counting, store) = counted(harness, &namespace).await;
    let e = Expected::of(&*counting);
    for n in 1..=3 {
        store.save_token(&sample(n)).await.unwrap();
    }
    counting.reset();

    store.save_token(&sample(4)).await.unwrap();
    check(
        &counting,
        "save (new user)",
        Expected::total(&[&e.read, &[("create", 1)], &e.write]),
    );

    store.find_token(&by_user(2)).await.unwrap().expect("found");
    check(
        &counting,
        "find_token by user",
        Expected::total(&[&e.read, &[("get", 1)]]),
    );

    let by_access = Token::builder().access_token("1000.access.3").build();
    store.find_token(&by_access).await.unwrap().expect("found");
    check(
        &counting,
        "find_token by access token",
        Expected::total(&[&e.read, &[("get", 1)]]),
    );

    store.find_token_by_id("1").await.unwrap().expect("found");
    check(
        &counting,
        "find_token_by_id",
        Expected::total(&[&[("get", 1)]]),
    );

    let mut refreshed = sample(2);
    refreshed.access_token = Some("1000.access.refreshed".into());
    store.save_token(&refreshed).await.unwrap();
    check(
        &counting,
        "save (refreshed access token)",
        Expected::total(&[&e.read, &[("get", 1), ("put", 1)], &e.write]),
    );

    store.save_token(&refreshed).await.unwrap();
    check(
        &counting,
        "save (unchanged)",
        Expected::total(&[&e.read, &[("get", 1)]]),
    );

    let batch = counting.limits().batch_size.max(1) as u64;
    store.get_tokens().await.unwrap();
    check(
        &counting,
        "get_tokens (4)",
        Expected::total(&[&e.read, &[("get_many", 4u64.div_ceil(batch))]]),
    );

    store.delete_token("4").await.unwrap();
    check(
        &counting,
        "delete_token",
        Expected::total(&[&[("delete", 1)], &e.read, &e.write]),
    );

    assert_eq!(store.find_token(&Token::default()).await.unwrap(), None);
    check(&counting, "find_token with no lookup key", BTreeMap::new());
    store.delete_tokens().await.unwrap();
}

async fn engine_crash_before_index_write_loses_nothing(
    harness: &dyn BackendHarness,
    namespace: String,
) {
    let (counting, store) = counted(harness, &namespace).await;
    store.save_token(&sample(1)).await.unwrap();
    let write = match counting.index_protocol() {
        IndexProtocol::CompareAndSwap => "put_if_current",
        IndexProtocol::MergeLog => "put",
    };
    counting.fail_next(write, INDEX_NAME, ErrorKind::Unavailable);
    let err = store.save_token(&sample(2)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.is_retryable());
    let listed = counting.list("token-").await.unwrap();
    assert_eq!(
        listed.len(),
        2,
        "the token secret was written before the index"
    );
    let report = store.repair().await.unwrap();
    assert_eq!((report.tokens_scanned, report.entries_added), (2, 1));
    assert_eq!(
        store
            .find_token(&by_user(2))
            .await
            .unwrap()
            .unwrap()
            .id
            .as_deref(),
        Some("2")
    );
    assert_eq!(
        store.save_token(&sample(3)).await.unwrap().id.as_deref(),
        Some("3")
    );
    store.delete_tokens().await.unwrap();
}

async fn engine_index_has_no_plaintext(harness: &dyn BackendHarness, namespace: String) {
    let backend = harness.backend(&namespace).await;
    let store = SecretIndexStore::new(backend.clone());
    let mut token = sample(5);
    token.grant_token = Some("1000.grant.5".into());
    store.save_token(&token).await.unwrap();
    let index = backend
        .get(INDEX_NAME)
        .await
        .unwrap()
        .expect("index written")
        .value;
    for value in [
        &token.user_name,
        &token.access_token,
        &token.refresh_token,
        &token.grant_token,
        &token.client_secret,
    ] {
        let value = value.as_deref().unwrap();
        assert!(!index.contains(value), "index holds no plaintext");
    }
    let raw = backend
        .get(&token_secret_name("1"))
        .await
        .unwrap()
        .expect("token secret")
        .value;
    let stored: serde_json::Value = serde_json::from_str(&raw).expect("token secret is JSON");
    assert_eq!(stored["user_name"], "user5@example.com:60005");
    assert_eq!(stored["expiry_time"], 1_764_000_000_005i64);
    store.delete_tokens().await.unwrap();
}

async fn engine_stale_entry_never_answers(harness: &dyn BackendHarness, namespace: String) {
    let backend = harness.backend(&namespace).await;
    let store = SecretIndexStore::new(backend.clone());
    store.save_token(&sample(1)).await.unwrap();
    // Behind the engine's back: token 1 now belongs to another user.
    let mut other = sample(9);
    other.id = Some("1".into());
    backend
        .put(
            &token_secret_name("1"),
            &serde_json::to_string(&other).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        store.find_token(&by_user(1)).await.unwrap(),
        None,
        "verified, not trusted"
    );
    store.repair().await.unwrap();
    assert_eq!(
        store
            .find_token(&by_user(9))
            .await
            .unwrap()
            .unwrap()
            .id
            .as_deref(),
        Some("1")
    );
    store.delete_tokens().await.unwrap();
}

async fn engine_lost_index_is_repaired(harness: &dyn BackendHarness, namespace: String) {
    let backend = harness.backend(&namespace).await;
    let store = SecretIndexStore::new(backend.clone());
    for n in 1..=4 {
        store.save_token(&sample(n)).await.unwrap();
    }
    store.delete_token("2").await.unwrap();
    backend.delete(INDEX_NAME).await.unwrap();
    assert_eq!(store.find_token(&by_user(3)).await.unwrap(), None);
    let report = store.repair().await.unwrap();
    assert_eq!((report.tokens_scanned, report.entries_added), (3, 3));
    for n in [1, 3, 4] {
        assert!(store.find_token(&by_user(n)).await.unwrap().is_some());
    }
    assert_eq!(store.get_tokens().await.unwrap().len(), 3);
    store.delete_tokens().await.unwrap();
}

async fn engine_full_index_is_a_clear_error(harness: &dyn BackendHarness, namespace: String) {
    let (counting, store) = counted(harness, &namespace).await;
    counting.limit_value_bytes(600);
    let mut saved = 0;
    let err = loop {
        match store.save_token(&sample(saved + 1)).await {
            Ok(_) => saved += 1,
            Err(e) => break e,
        }
        assert!(saved < 100, "the index never filled up");
    };
    assert_eq!(err.kind(), ErrorKind::TooLarge, "{err}");
    assert!(err.to_string().contains("index is full"), "{err}");
    assert_eq!(
        counting.list("token-").await.unwrap().len(),
        saved,
        "the refused save wrote nothing"
    );
    assert_eq!(store.get_tokens().await.unwrap().len(), saved);
    store.delete_tokens().await.unwrap();
}

async fn engine_too_large_token_makes_no_call(harness: &dyn BackendHarness, namespace: String) {
    let (counting, store) = counted(harness, &namespace).await;
    let limit = counting.limits().max_value_bytes;
    let mut token = sample(1);
    token.redirect_url = Some("x".repeat(limit));
    let err = store.save_token(&token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TooLarge);
    for write in ["create", "put", "put_if_current"] {
        assert_eq!(
            counting.count(write),
            0,
            "no {write} for a token over the limit"
        );
    }
}

async fn engine_interleaved_index_writers_lose_nothing(
    harness: &dyn BackendHarness,
    namespace: String,
) {
    let (counting, first) = counted(harness, &namespace).await;
    let second = Arc::new(SecretIndexStore::new(harness.backend(&namespace).await));
    first.save_token(&sample(1)).await.unwrap();
    // Right before the first writer's index write lands, a second writer saves a whole token.
    let racer = second.clone();
    counting.before_next_write(INDEX_NAME, async move {
        racer.save_token(&sample(3)).await.expect("racing save");
    });
    first.save_token(&sample(2)).await.unwrap();
    let reader = SecretIndexStore::new(harness.backend(&namespace).await);
    for n in 1..=3 {
        assert!(
            reader.find_token(&by_user(n)).await.unwrap().is_some(),
            "user {n} found after the race"
        );
    }
    assert_eq!(reader.index_entries().await.unwrap(), 3);
    let stats = first.stats();
    assert!(
        stats.cas_retries + stats.merges >= 1,
        "the race was seen: {stats:?}"
    );
    reader.delete_tokens().await.unwrap();
}

async fn engine_interleaved_same_user_saves_leave_one_token(
    harness: &dyn BackendHarness,
    namespace: String,
) {
    let (counting, first) = counted(harness, &namespace).await;
    let second = Arc::new(SecretIndexStore::new(harness.backend(&namespace).await));
    let racer = second.clone();
    // Both writers see no token for user 1; the second commits first.
    counting.before_next_write(INDEX_NAME, async move {
        let mut token = sample(1);
        token.access_token = Some("1000.access.racer".into());
        racer.save_token(&token).await.expect("racing save");
    });
    first.save_token(&sample(1)).await.unwrap();
    let all = first.get_tokens().await.unwrap();
    assert_eq!(all.len(), 1, "one token for the user, got {}", all.len());
    assert_eq!(all[0].id.as_deref(), Some("1"));
    assert_eq!(
        first
            .find_token(&by_user(1))
            .await
            .unwrap()
            .unwrap()
            .id
            .as_deref(),
        Some("1")
    );
    assert_eq!(
        counting.list("token-").await.unwrap().len(),
        1,
        "the duplicate secret is removed"
    );
    first.delete_tokens().await.unwrap();
}

async fn engine_corrupt_token_secret_is_an_error(harness: &dyn BackendHarness, namespace: String) {
    let backend = harness.backend(&namespace).await;
    let store = SecretIndexStore::new(backend.clone());
    store.save_token(&sample(1)).await.unwrap();
    backend
        .put(&token_secret_name("1"), "{not json")
        .await
        .unwrap();
    let err = store.find_token(&by_user(1)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt);
    assert_eq!(
        store.find_token_by_id("1").await.unwrap_err().kind(),
        ErrorKind::Corrupt
    );
    backend
        .put(
            &token_secret_name("1"),
            &serde_json::to_string(&{
                let mut t = sample(1);
                t.id = Some("1".into());
                t
            })
            .unwrap(),
        )
        .await
        .unwrap();
    backend.put(INDEX_NAME, "garbage").await.unwrap();
    assert_eq!(
        store.get_tokens().await.unwrap_err().kind(),
        ErrorKind::Corrupt,
        "a corrupt index is an error, not an empty store"
    );
    let report = store.repair().await.unwrap();
    assert_eq!(report.entries_added, 1);
    assert!(
        store.find_token(&by_user(1)).await.unwrap().is_some(),
        "repair rebuilt the index"
    );
    store.delete_tokens().await.unwrap();
}
