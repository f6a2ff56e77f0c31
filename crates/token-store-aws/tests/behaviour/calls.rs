//! Secrets Manager requests per TokenStore operation, counted by the SDK interceptor.

use std::collections::BTreeMap;

use std::time::Duration;
use token_store_aws::AwsSecretsManagerStore;
use token_store_core::testkit::random_namespace;

use token_store_core::{EngineOptions, ErrorKind, SecretBackend, Token, TokenStore};

use crate::common::{Target, backend, builder, target};
use token_store_core::raw::CompareAndSwap as _;

fn token(n: usize) -> Token {
    Token::builder()
        .user_name(format!("calls{n}@example.com"))
        .client_id("1000.CALLS")
        .client_secret("calls-secret")
        .access_token(format!("1000.access.calls.{n}"))
        .refresh_token(format!("1000.refresh.calls.{n}"))
        .build()
}

#[track_caller]
fn expect(store: &AwsSecretsManagerStore, operation: &str, expected: &[(&str, u64)]) {
    let actual = store.calls().counts();
    println!("requests {operation}: {} {actual:?}", store.calls().total());
    let expected: BTreeMap<String, u64> =
        expected.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    assert_eq!(actual, expected, "Secrets Manager requests for {operation}");
    store.calls().reset();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_calls_per_operation() {
    // Shards this process wrote stay trusted as the base of its next write for the whole
    // test, so the counts do not depend on how fast the emulator answers.
    let store = builder(&random_namespace())
        .engine_options(EngineOptions::default().with_write_cache_ttl(Duration::from_secs(3600)))
        .build()
        .await
        .unwrap();
    store.save_token(&token(0)).await.unwrap();
    // An empty store: the missing shard makes the engine check the root and the token
    // namespace (a lost index would be rebuilt), then the root (an id), the shard and the
    // token are created.
    expect(
        &store,
        "first save (creates the index)",
        &[
            ("GetSecretValue", 4),
            ("ListSecrets", 1),
            ("CreateSecret", 3),
        ],
    );

    // Shard read, root read and compare-and-swap (an id), shard compare-and-swap, token.
    store.save_token(&token(1)).await.unwrap();
    expect(
        &store,
        "save (new user)",
        &[
            ("GetSecretValue", 2),
            ("CreateSecret", 1),
            ("PutSecretValue", 2),
        ],
    );

    // Answered from the shard this process holds, verified by the token read.
    let by_user = Token::builder().user_name("calls1@example.com").build();
    assert!(store.find_token(&by_user).await.unwrap().is_some());
    expect(
        &store,
        "find_token by user (warm)",
        &[("GetSecretValue", 1)],
    );

    let by_access = Token::builder().access_token("1000.access.calls.1").build();
    assert!(store.find_token(&by_access).await.unwrap().is_some());
    expect(
        &store,
        "find_token by access token (warm)",
        &[("GetSecretValue", 1)],
    );

    assert!(store.find_token_by_id("1").await.unwrap().is_some());
    expect(&store, "find_token_by_id", &[("GetSecretValue", 1)]);

    // A routine refresh: token read, shard compare-and-swap, token write.
    let mut refreshed = token(1);
    refreshed.access_token = Some("1000.access.calls.refreshed".into());
    store.save_token(&refreshed).await.unwrap();
    expect(
        &store,
        "save (refreshed access token)",
        &[("GetSecretValue", 1), ("PutSecretValue", 2)],
    );

    store.save_token(&refreshed).await.unwrap();
    expect(&store, "save (unchanged)", &[("GetSecretValue", 1)]);

    for n in 2..20 {
        store.save_token(&token(n)).await.unwrap();
    }
    store.calls().reset();
    let all = store.get_tokens().await.unwrap();
    assert_eq!(all.len(), 20);
    // 1 shard read + ⌈20/20⌉ = 1 batch read.
    expect(
        &store,
        "get_tokens (20)",
        &[("GetSecretValue", 1), ("BatchGetSecretValue", 1)],
    );

    // Token read (its keys), delete, shard compare-and-swap, root read (id high-water mark).
    store.delete_token("20").await.unwrap();
    expect(
        &store,
        "delete_token",
        &[
            ("DeleteSecret", 1),
            ("GetSecretValue", 2),
            ("PutSecretValue", 1),
        ],
    );

    store.delete_tokens().await.unwrap();
    // ListSecrets (19 tokens: one page of 100) + one DeleteSecret each + shard read + CAS.
    expect(
        &store,
        "delete_tokens (19)",
        &[
            ("ListSecrets", 1),
            ("DeleteSecret", 19),
            ("GetSecretValue", 1),
            ("PutSecretValue", 1),
        ],
    );
    assert!(store.get_tokens().await.unwrap().is_empty());
    store.calls().reset();
    assert!(store.get_tokens().await.unwrap().is_empty());
    expect(&store, "get_tokens (0)", &[("GetSecretValue", 1)]);
}

/// A compare-and-swap is one `PutSecretValue`; losing one costs that request only (moto, AWS:
/// `ResourceExistsException`) or that request plus a read of the contested version
/// (LocalStack answers HTTP 500, see `localstack/NOTES.md`), then the engine's re-read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_and_swap_calls_and_lost_race() {
    let backend = backend(&random_namespace()).await;
    let v1 = backend
        .put_if_current("index", "{\"v\":1}", None)
        .await
        .unwrap();
    assert_eq!(backend.calls().counts().get("CreateSecret"), Some(&1));
    backend.calls().reset();
    let v2 = backend
        .put_if_current("index", "{\"v\":2}", Some(&v1))
        .await
        .unwrap();
    assert_eq!(
        backend.calls().counts(),
        BTreeMap::from([("PutSecretValue".to_string(), 1)]),
        "a won compare-and-swap is one request"
    );
    backend.calls().reset();
    let err = backend
        .put_if_current("index", "{\"v\":3}", Some(&v1))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    let lost: &[(&str, u64)] = match target() {
        Target::Moto => &[("PutSecretValue", 1)],
        Target::LocalStack => &[("GetSecretValue", 1), ("PutSecretValue", 1)],
    };
    let lost: BTreeMap<String, u64> = lost.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    println!(
        "requests lost compare-and-swap: {:?}",
        backend.calls().counts()
    );
    assert_eq!(backend.calls().counts(), lost);
    // Our own request replayed (same token, same data) is accepted and changes nothing.
    backend.calls().reset();
    let again = backend
        .put_if_current("index", "{\"v\":2}", Some(&v1))
        .await
        .unwrap();
    assert_eq!(again, v2);
    let current = backend.get("index").await.unwrap().unwrap();
    assert_eq!(
        (current.value.as_str(), current.version.as_str()),
        ("{\"v\":2}", v2.as_str())
    );
    backend.delete("index").await.unwrap();
}
