//! Cases that only make sense for the engine over a `SecretBackend`: call counts, crashes,
//! the index format, repair, races.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::INDEX_SHARDS;
use super::cases::sample;
use super::{BackendHarness, BoxFuture, CountingBackend};
use crate::{
    EngineOptions, ErrorKind, INDEX_NAME, IndexProtocol, Protocol, SHARD_PREFIX, SecretBackend,
    SecretIndexStore, Token, TokenStore, token_secret_name,
};

type Case = for<'a> fn(&'a dyn BackendHarness, String) -> BoxFuture<'a, ()>;

macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        pub(crate) const CASES: &[(&str, Case)] = &[$((stringify!($name), |h, ns| Box::pin($name(h, ns)))),*];
    };
}

cases!(
    engine_call_counts,
    engine_failed_save_converges_at_every_call,
    engine_index_has_no_plaintext,
    engine_stale_entry_never_answers,
    engine_lost_index_is_repaired,
    engine_index_grows_past_one_secret,
    engine_first_format_index_is_upgraded,
    engine_repair_folds_duplicate_users,
    engine_too_large_token_makes_no_call,
    engine_interleaved_index_writers_lose_nothing,
    engine_interleaved_same_user_saves_leave_one_token,
    engine_corrupt_token_secret_is_an_error,
    engine_shard_generations,
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
    /// Calls a lookup makes for the latest version of the hinted shard before reading it
    /// completely (only where a complete read lists versions).
    guess: Vec<(&'static str, u64)>,
}

impl Expected {
    fn of(backend: &dyn SecretBackend) -> Self {
        match backend.protocol() {
            Protocol::CompareAndSwap(_) => Self {
                read: vec![("get", 1)],
                write: vec![("put_if_current", 1)],
                guess: vec![],
            },
            Protocol::MergeLog(log) if log.is_next_version("1", "2").is_some() => Self {
                read: vec![("get", 1)],
                write: vec![("put", 1), ("retire_versions_before", 1)],
                guess: vec![],
            },
            Protocol::MergeLog(_) => Self {
                read: vec![("get", 1), ("versions_after", 1)],
                write: vec![
                    ("put", 1),
                    ("versions_after", 1),
                    ("retire_versions_before", 1),
                ],
                guess: vec![("get", 1)],
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
    let counting = Arc::new(CountingBackend::new(harness.backend(&namespace).await));
    // Counted within one shard generation (engine_shard_generations counts rolls).
    counting.roll_generations_every(1_000);
    // Shards this process wrote are trusted as the base of its next write for the whole
    // test, so the counts do not depend on how fast the service answers.
    let options =
        EngineOptions::default().with_write_cache_ttl(std::time::Duration::from_secs(3600));
    let store = SecretIndexStore::with_options(counting.clone(), options);
    let e = Expected::of(&*counting);
    for n in 1..=3 {
        store.save_token(&sample(n)).await.unwrap();
    }
    counting.reset();

    // A small store is one shard. A new user: look up (shard read), reserve an id (root
    // read and write), add its entries (shard write: the shard just read is reused), create
    // the token; the check for a concurrent duplicate of the user reuses the shard too. A
    // merge-log index reads the id's entry once more after the create (another writer of
    // the same id may have removed it).
    store.save_token(&sample(4)).await.unwrap();
    let confirm: &[(&'static str, u64)] = match counting.index_protocol() {
        IndexProtocol::CompareAndSwap => &[],
        IndexProtocol::MergeLog => &e.read,
    };
    check(
        &counting,
        "save (new user)",
        Expected::total(&[
            &e.guess,
            &e.read,
            &e.read,
            &e.write,
            &e.write,
            &[("create", 1)],
            confirm,
        ]),
    );

    // A process that has read the shard before answers from its cache, verified by the
    // token read: one call.
    store.find_token(&by_user(2)).await.unwrap().expect("found");
    check(
        &counting,
        "find_token by user (warm)",
        Expected::total(&[&[("get", 1)]]),
    );

    let by_access = Token::builder().access_token("1000.access.3").build();
    store.find_token(&by_access).await.unwrap().expect("found");
    check(
        &counting,
        "find_token by access token (warm)",
        Expected::total(&[&[("get", 1)]]),
    );

    // A new process (a cold start) reads the shard, then the token (where a complete read
    // lists versions, the latest version of the shard is enough when its candidate verifies).
    let cold = SecretIndexStore::new(counting.clone());
    cold.find_token(&by_user(2)).await.unwrap().expect("found");
    let shard_read: &[(&'static str, u64)] = if e.guess.is_empty() {
        &e.read
    } else {
        &e.guess
    };
    check(
        &counting,
        "find_token by user (cold)",
        Expected::total(&[shard_read, &[("get", 1)]]),
    );
    cold.find_token(&by_access).await.unwrap().expect("found");
    check(
        &counting,
        "find_token by access token (cold process, shard cached)",
        Expected::total(&[&[("get", 1)]]),
    );

    store.find_token_by_id("1").await.unwrap().expect("found");
    check(
        &counting,
        "find_token_by_id",
        Expected::total(&[&[("get", 1)]]),
    );

    // A refresh: look up (the shard is cached from the finds: only the token is read), add
    // the new access entry (a shard write; the shard was read moments ago), write the token;
    // the old access entry leaves with a later write of its shard.
    let mut refreshed = sample(2);
    refreshed.access_token = Some("1000.access.refreshed".into());
    store.save_token(&refreshed).await.unwrap();
    check(
        &counting,
        "save (refreshed access token)",
        Expected::total(&[&[("get", 1), ("put", 1)], &e.write]),
    );

    store.save_token(&refreshed).await.unwrap();
    check(
        &counting,
        "save (unchanged)",
        Expected::total(&[&[("get", 1)]]),
    );

    let batch = counting.limits().batch_size.max(1) as u64;
    store.get_tokens().await.unwrap();
    check(
        &counting,
        "get_tokens (4)",
        Expected::total(&[&e.read, &[("get_many", 4u64.div_ceil(batch))]]),
    );

    // A delete: read the token (for its keys), delete it, remove its entries, check the
    // root's id high-water mark.
    store.delete_token("4").await.unwrap();
    check(
        &counting,
        "delete_token",
        Expected::total(&[&[("get", 1), ("delete", 1)], &e.write, &e.read]),
    );

    assert_eq!(store.find_token(&Token::default()).await.unwrap(), None);
    check(&counting, "find_token with no lookup key", BTreeMap::new());
    store.delete_tokens().await.unwrap();
}

/// Every stored token is findable by each of its keys.
async fn assert_every_key_findable(backend: &Arc<dyn SecretBackend>, context: &str) {
    let reader = SecretIndexStore::new(backend.clone());
    for name in backend.list("token-").await.unwrap() {
        let Some(raw) = backend.get(&name).await.unwrap() else {
            continue;
        };
        let stored: Token = serde_json::from_str(&raw.value).unwrap();
        let queries = super::key_queries(&stored);
        for query in queries {
            let found = reader
                .find_token(&query)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("{context}: {name} not findable by {query:?}"));
            assert_eq!(found.user_name, stored.user_name, "{context}");
        }
    }
}

async fn engine_failed_save_converges_at_every_call(
    harness: &dyn BackendHarness,
    namespace: String,
) {
    let backend = harness.backend(&namespace).await;
    let counting = Arc::new(CountingBackend::new(backend.clone()));
    let store = SecretIndexStore::new(counting.clone());
    store.save_token(&sample(1)).await.unwrap();
    // A new user and a refresh, each failed at every one of its calls in turn: whatever the
    // save had written, each stored key is findable without a repair, and a retry succeeds.
    for (phase, make) in [
        (
            "new user",
            (|n: usize| sample(100 + n)) as fn(usize) -> Token,
        ),
        ("refresh", |n: usize| {
            let mut t = sample(1);
            t.access_token = Some(format!("1000.access.refresh.{n}"));
            t
        }),
    ] {
        for n in 1..=40u64 {
            let token = make(n as usize);
            counting.reset();
            counting.fail_nth_call(n, ErrorKind::Unavailable);
            let result = store.save_token(&token).await;
            let calls = counting.total();
            counting.reset();
            assert_every_key_findable(&backend, &format!("{phase}, call {n} failed")).await;
            if result.is_ok() && calls < n {
                break;
            }
            store
                .save_token(&token)
                .await
                .expect("a retried save succeeds");
            assert_every_key_findable(&backend, &format!("{phase}, retried after call {n}")).await;
        }
    }
    store.delete_tokens().await.unwrap();
}

async fn engine_index_has_no_plaintext(harness: &dyn BackendHarness, namespace: String) {
    let backend = harness.backend(&namespace).await;
    let store = SecretIndexStore::new(backend.clone());
    let mut token = sample(5);
    token.grant_token = Some("1000.grant.5".into());
    store.save_token(&token).await.unwrap();
    let mut index = String::new();
    let mut names = backend.list(SHARD_PREFIX).await.unwrap();
    names.push(INDEX_NAME.to_string());
    for name in names {
        index.push_str(
            &backend
                .get(&name)
                .await
                .unwrap()
                .expect("index written")
                .value,
        );
    }
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

/// Delete every index secret (the root and all shards) behind the engine's back.
async fn delete_index(backend: &Arc<dyn SecretBackend>) {
    for name in backend.list(SHARD_PREFIX).await.unwrap() {
        backend.delete(&name).await.unwrap();
    }
    backend.delete(INDEX_NAME).await.unwrap();
}

async fn engine_lost_index_is_repaired(harness: &dyn BackendHarness, namespace: String) {
    let backend = harness.backend(&namespace).await;
    let store = SecretIndexStore::new(backend.clone());
    for n in 1..=4 {
        store.save_token(&sample(n)).await.unwrap();
    }
    store.delete_token("2").await.unwrap();
    delete_index(&backend).await;
    // A lost index is rebuilt before the answer: never "not found", never a duplicate.
    let fresh = SecretIndexStore::new(backend.clone());
    assert_eq!(
        fresh
            .find_token(&by_user(3))
            .await
            .unwrap()
            .and_then(|t| t.id)
            .as_deref(),
        Some("3")
    );
    delete_index(&backend).await;
    let mut again = sample(4);
    again.access_token = Some("1000.access.after-loss".into());
    let saved = SecretIndexStore::new(backend.clone())
        .save_token(&again)
        .await
        .unwrap();
    assert_eq!(
        saved.id.as_deref(),
        Some("4"),
        "the existing token is updated"
    );
    delete_index(&backend).await;
    let new_user = SecretIndexStore::new(backend.clone())
        .save_token(&sample(5))
        .await
        .unwrap();
    assert_eq!(new_user.id.as_deref(), Some("5"), "no id is reused");
    delete_index(&backend).await;
    let report = store.repair().await.unwrap();
    assert_eq!(report.tokens_scanned, 4);
    assert!(report.entries_added >= 4, "{report:?}");
    for n in [1, 3, 4, 5] {
        assert!(store.find_token(&by_user(n)).await.unwrap().is_some());
    }
    let all = store.get_tokens().await.unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(
        all.iter()
            .find(|t| t.id.as_deref() == Some("4"))
            .unwrap()
            .access_token
            .as_deref(),
        Some("1000.access.after-loss")
    );
    store.delete_tokens().await.unwrap();
}

/// Later shard generations of `names` (relative secret names).
fn later_generations(names: &[String]) -> std::collections::BTreeSet<String> {
    names
        .iter()
        .filter(|n| n[SHARD_PREFIX.len()..].contains('-'))
        .cloned()
        .collect()
}

/// Where the backend rolls index shards to new generations: a routine write to a later
/// generation is one `put` and retires nothing; the writer that creates a generation
/// registers it in generation 0 (one more commit there); every process, cold or holding a
/// deleted generation, still finds every token; once the grace has passed, a write deletes
/// the older generations.
async fn engine_shard_generations(harness: &dyn BackendHarness, namespace: String) {
    use std::sync::atomic::{AtomicU64, Ordering};
    let counting = Arc::new(CountingBackend::new(harness.backend(&namespace).await));
    if counting.limits().versions_per_generation.is_none() {
        println!(
            "{} keeps no shard generations: nothing rolls",
            counting.kind()
        );
        return;
    }
    counting.roll_generations_every(3);
    let now = Arc::new(AtomicU64::new(crate::Clock::system().now_ms()));
    let clock = {
        let now = now.clone();
        crate::Clock::from_fn(move || now.load(Ordering::SeqCst))
    };
    let grace = std::time::Duration::from_secs(600);
    let options = EngineOptions::default()
        .with_clock(clock)
        .with_generation_grace(grace);
    let store = SecretIndexStore::with_options(counting.clone(), options.clone());
    let mut token = sample(1);
    store.save_token(&token).await.unwrap();
    store.save_token(&sample(2)).await.unwrap();
    let mut refresh = |round: usize| {
        token.access_token = Some(format!("1000.access.1-{round}"));
        now.fetch_add(1_000, Ordering::SeqCst);
        token.clone()
    };
    for round in 0..12 {
        let before = later_generations(&counting.list(SHARD_PREFIX).await.unwrap());
        counting.reset();
        store.save_token(&refresh(round)).await.unwrap();
        let calls = counting.counts();
        let created = later_generations(&counting.list(SHARD_PREFIX).await.unwrap())
            .difference(&before)
            .count() as u64;
        println!(
            "refresh {round}: {calls:?}, {created} created, {} before",
            before.len()
        );
        if before.is_empty() {
            continue; // generation 0 retires its versions one by one until its first roll
        }
        assert_eq!(
            calls.get("retire_versions_before").copied().unwrap_or(0),
            created,
            "refresh {round}: a later generation retires nothing; registering a new one in generation 0 retires there ({calls:?})"
        );
        // The token's put and the shard's version (an append to a later generation); at a
        // roll instead the freeze (an append), the new generation (a create) and its
        // registration (a put to generation 0).
        let writes = ["put", "append", "create"].map(|m| calls.get(m).copied().unwrap_or(0));
        let expected = if created > 0 { [2, 1, 1] } else { [1, 1, 0] };
        assert_eq!(writes, expected, "refresh {round}: {calls:?}");
    }
    assert!(store.stats().rolls >= 3, "{:?}", store.stats());
    let find_all = |store: SecretIndexStore, access: String| async move {
        let by_access = Token::builder().access_token(access.clone()).build();
        for query in [by_user(1), by_access] {
            let found = store.find_token(&query).await.unwrap().expect("found");
            assert_eq!(found.access_token.as_deref(), Some(access.as_str()));
        }
        assert_eq!(store.get_tokens().await.unwrap().len(), 2);
        store
    };
    let access = |t: &Token| t.access_token.clone().unwrap_or_default();
    let current = refresh(99);
    store.save_token(&current).await.unwrap();
    // A process that read the shard before its old generations are deleted.
    let stale = find_all(
        SecretIndexStore::with_options(counting.clone(), options.clone()),
        access(&current),
    )
    .await;
    let rolled = later_generations(&counting.list(SHARD_PREFIX).await.unwrap());
    assert!(rolled.len() >= 3, "{rolled:?}");

    // After the grace, the next writes delete every older generation.
    for round in 100..104 {
        now.fetch_add(grace.as_millis() as u64 + 60_000, Ordering::SeqCst);
        store.save_token(&refresh(round)).await.unwrap();
    }
    let left = later_generations(&counting.list(SHARD_PREFIX).await.unwrap());
    assert!(
        left.len() < rolled.len() && rolled.iter().filter(|n| left.contains(*n)).count() <= 1,
        "old generations deleted: before {rolled:?}, after {left:?}"
    );
    let latest = refresh(104);
    store.save_token(&latest).await.unwrap();
    for reader in [
        stale,
        SecretIndexStore::with_options(counting.clone(), options),
    ] {
        find_all(reader, access(&latest)).await;
    }
}

async fn engine_index_grows_past_one_secret(harness: &dyn BackendHarness, namespace: String) {
    let (counting, store) = counted(harness, &namespace).await;
    counting.limit_value_bytes(1_500);
    for n in 1..=40 {
        store.save_token(&sample(n)).await.unwrap();
    }
    let shards = counting.list(SHARD_PREFIX).await.unwrap();
    assert!(shards.len() > 2, "the index split: {shards:?}");
    let reader = SecretIndexStore::new(counting.clone());
    for n in 1..=40 {
        let found = reader
            .find_token(&by_user(n))
            .await
            .unwrap()
            .expect("found by user");
        let by_access = Token::builder()
            .access_token(found.access_token.unwrap())
            .build();
        assert!(reader.find_token(&by_access).await.unwrap().is_some());
    }
    assert_eq!(reader.get_tokens().await.unwrap().len(), 40);
    assert_eq!(reader.index_entries().await.unwrap(), 40);
    store.delete_tokens().await.unwrap();
}

async fn engine_first_format_index_is_upgraded(harness: &dyn BackendHarness, namespace: String) {
    let backend = harness.backend(&namespace).await;
    // Two tokens and the index exactly as the first format's engine wrote them.
    for n in 1..=2 {
        let mut token = sample(n);
        token.id = Some(n.to_string());
        backend
            .create(
                &token_secret_name(&n.to_string()),
                &serde_json::to_string(&token).unwrap(),
            )
            .await
            .unwrap();
    }
    let legacy = r#"{"v":1,"hi":3,"e":{"1":"HASH1@k","2":"HASH2@k","3":"~@k"}}"#
        .replace("HASH1", &legacy_keys(&sample(1)))
        .replace("HASH2", &legacy_keys(&sample(2)));
    backend.create(INDEX_NAME, &legacy).await.unwrap();
    let store = SecretIndexStore::new(backend.clone());
    for n in 1..=2 {
        assert_eq!(
            store
                .find_token(&by_user(n))
                .await
                .unwrap()
                .and_then(|t| t.id),
            Some(n.to_string())
        );
    }
    let by_access = Token::builder().access_token("1000.access.2").build();
    assert!(store.find_token(&by_access).await.unwrap().is_some());
    assert_eq!(
        store.save_token(&sample(7)).await.unwrap().id.as_deref(),
        Some("4"),
        "ids continue after the old high-water mark"
    );
    assert_eq!(store.get_tokens().await.unwrap().len(), 3);
    let root = backend.get(INDEX_NAME).await.unwrap().unwrap().value;
    assert!(root.contains(r#""v":2"#), "root converted: {root}");
    store.delete_tokens().await.unwrap();
}

async fn engine_repair_folds_duplicate_users(harness: &dyn BackendHarness, namespace: String) {
    let backend = harness.backend(&namespace).await;
    let store = SecretIndexStore::new(backend.clone());
    store.save_token(&sample(1)).await.unwrap();
    store.save_token(&sample(2)).await.unwrap();
    // Behind the engine's back (as a store that lost its index under the first format could
    // end up): two more token secrets of user 1, one newer (later expiry) than the original.
    for (id, expiry, access) in [(7, 1_800_000_000_000i64, "newest"), (8, 1, "oldest")] {
        let mut token = sample(1);
        token.id = Some(id.to_string());
        token.expiry_time = Some(expiry);
        token.access_token = Some(format!("1000.access.{access}"));
        backend
            .create(
                &token_secret_name(&id.to_string()),
                &serde_json::to_string(&token).unwrap(),
            )
            .await
            .unwrap();
    }
    let report = store.repair().await.unwrap();
    assert_eq!(report.duplicates_folded, 2, "{report:?}");
    let found = store.find_token(&by_user(1)).await.unwrap().unwrap();
    assert_eq!(found.id.as_deref(), Some("7"), "the newest token wins");
    assert_eq!(found.access_token.as_deref(), Some("1000.access.newest"));
    let ids: Vec<_> = store
        .get_tokens()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id.unwrap())
        .collect();
    assert_eq!(ids, vec!["2", "7"]);
    store.delete_tokens().await.unwrap();
}

/// A token's four key hashes in the first index format (`u,a,r,g`, `-` when absent).
fn legacy_keys(token: &Token) -> String {
    use base64::Engine as _;
    use sha2::{Digest, Sha256};
    let hash = |tag: &str, value: &Option<String>| match value.as_deref() {
        Some(v) if !v.is_empty() => {
            let digest = Sha256::new()
                .chain_update(b"token-store-index\0")
                .chain_update(tag)
                .chain_update(b"\0")
                .chain_update(v)
                .finalize();
            let mut s = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..6]);
            s.truncate(6);
            s
        }
        _ => "-".to_string(),
    };
    [
        hash("u", &token.user_name),
        hash("a", &token.access_token),
        hash("r", &token.refresh_token),
        hash("g", &token.grant_token),
    ]
    .join(",")
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
    counting.before_next_write(INDEX_SHARDS, async move {
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
    counting.before_next_write(INDEX_SHARDS, async move {
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
    backend.put(SHARD_PREFIX, "garbage").await.unwrap();
    assert_eq!(
        store.get_tokens().await.unwrap_err().kind(),
        ErrorKind::Corrupt,
        "a corrupt index is an error, not an empty store"
    );
    let report = store.repair().await.unwrap();
    assert!(report.entries_added >= 1, "{report:?}");
    assert!(
        store.find_token(&by_user(1)).await.unwrap().is_some(),
        "repair rebuilt the index"
    );
    store.delete_tokens().await.unwrap();
}
