//! Many writers against one index secret: 16 × 25 distinct users (core's shared stress
//! helper), 32 × 25 distinct users racing 16 saves of one shared user, and one store of
//! [`LARGE_STORE_TOKENS`] tokens.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use token_store_core::testkit::random_namespace;
use token_store_core::{EngineOptions, SecretIndexStore, Token, TokenStore};

use crate::common::{AwsHarness, backend, target};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_writers_of_distinct_users_lose_nothing() {
    if crate::common::gated("sixteen_writers_of_distinct_users_lose_nothing") {
        return;
    }
    let report = token_store_core::testkit::stress_distinct_users(&AwsHarness, 16, 25).await;
    println!(
        "stress on {:?}: saved {} tokens, index entries {}, CAS retries {}",
        target(),
        report.saved,
        report.index_entries,
        report.cas_retries
    );
    assert_eq!(report.saved, 400);
    assert_eq!(report.index_entries, 400);
}

const CLIENT_ID: &str = "1000.STRESS";
const CLIENT_SECRET: &str = "stress-secret";
const SHARED_USER: &str = "stress-shared@example.com";

fn user(writer: usize, i: usize) -> Token {
    Token::builder()
        .user_name(format!("stress-{writer}-{i}@example.com"))
        .client_id(CLIENT_ID)
        .client_secret(CLIENT_SECRET)
        .access_token(format!("1000.access.{writer}.{i}"))
        .refresh_token(format!("1000.refresh.{writer}.{i}"))
        .build()
}

fn shared(writer: usize) -> Token {
    Token::builder()
        .user_name(SHARED_USER)
        .client_id(CLIENT_ID)
        .client_secret(CLIENT_SECRET)
        .access_token(format!("1000.access.shared.{writer}"))
        .refresh_token(format!("1000.refresh.shared.{writer}"))
        .build()
}

/// An engine of its own over `namespace`, as a separate process would have.
async fn engine(namespace: &str) -> Arc<SecretIndexStore> {
    Arc::new(SecretIndexStore::new(Arc::new(backend(namespace).await)))
}

/// Index retries for 48 writers contending for one index: the default 30 (backoff capped at
/// 1 s + jitter) is too little patience when 47 others commit in between, so a writer can be
/// starved out although nothing is wrong. Deployments with that many concurrent writers set
/// the same through `AwsSecretsManagerStoreBuilder::engine_options`.
const BUSY_INDEX_RETRIES: u32 = 400;

async fn patient_engine(namespace: &str) -> Arc<SecretIndexStore> {
    let mut options = EngineOptions::default();
    options.max_index_retries = BUSY_INDEX_RETRIES;
    Arc::new(SecretIndexStore::with_options(
        Arc::new(backend(namespace).await),
        options,
    ))
}

/// Assert `token` is found by user name, by bare access token and by refresh token with the
/// client credentials, each time as itself.
async fn assert_findable(store: &SecretIndexStore, token: &Token) {
    let queries = [
        Token {
            user_name: token.user_name.clone(),
            ..Token::default()
        },
        Token {
            access_token: token.access_token.clone(),
            ..Token::default()
        },
        Token {
            client_id: Some(CLIENT_ID.into()),
            client_secret: Some(CLIENT_SECRET.into()),
            refresh_token: token.refresh_token.clone(),
            ..Token::default()
        },
    ];
    for query in queries {
        let found = store
            .find_token(&query)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{:?} not found by {query:?}", token.user_name));
        assert_eq!(found.user_name, token.user_name);
        assert_eq!(found.access_token, token.access_token);
        assert_eq!(found.refresh_token, token.refresh_token);
    }
}

/// Check every token of `tokens` with [`assert_findable`], `parallel` lookups at a time.
async fn assert_all_findable(namespace: &str, tokens: Vec<Token>, parallel: usize) {
    let tokens = Arc::new(tokens);
    let mut checkers = tokio::task::JoinSet::new();
    for lane in 0..parallel {
        let tokens = tokens.clone();
        let store = engine(namespace).await;
        checkers.spawn(async move {
            for token in tokens.iter().skip(lane).step_by(parallel) {
                assert_findable(&store, token).await;
            }
        });
    }
    while let Some(done) = checkers.join_next().await {
        done.expect("lookup task");
    }
}

/// 32 writers × 25 distinct users and, at the same time, 16 writers saving one shared user
/// (each with its own access and refresh token): no save fails, every distinct user is found
/// by each key, the shared user is one token (the last writer's, found by its keys), and the
/// index holds exactly one entry per token.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_writers_and_sixteen_saves_of_one_user_lose_nothing() {
    if crate::common::gated("thirty_two_writers_and_sixteen_saves_of_one_user_lose_nothing") {
        return;
    }
    const WRITERS: usize = 32;
    const PER_WRITER: usize = 25;
    const SHARED_WRITERS: usize = 16;
    let namespace = random_namespace();
    let started = Instant::now();
    let mut engines = Vec::new();
    let mut tasks = tokio::task::JoinSet::new();
    for writer in 0..WRITERS {
        let engine = patient_engine(&namespace).await;
        engines.push(engine.clone());
        tasks.spawn(async move {
            for i in 0..PER_WRITER {
                engine
                    .save_token(&user(writer, i))
                    .await
                    .unwrap_or_else(|e| panic!("save {writer}/{i}: {e}"));
            }
        });
    }
    for writer in 0..SHARED_WRITERS {
        let engine = patient_engine(&namespace).await;
        engines.push(engine.clone());
        tasks.spawn(async move {
            engine
                .save_token(&shared(writer))
                .await
                .unwrap_or_else(|e| panic!("shared save {writer}: {e}"));
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("writer task");
    }
    let saved_in = started.elapsed();
    let cas_retries: u64 = engines.iter().map(|e| e.stats().cas_retries).sum();

    let store = engine(&namespace).await;
    let all = store.get_tokens().await.unwrap();
    let distinct = WRITERS * PER_WRITER;
    assert_eq!(
        all.len(),
        distinct + 1,
        "every distinct user plus the shared one"
    );
    let ids: BTreeSet<_> = all.iter().map(|t| t.id.clone()).collect();
    assert_eq!(ids.len(), all.len(), "unique ids");
    let shared_tokens: Vec<_> = all
        .iter()
        .filter(|t| t.user_name.as_deref() == Some(SHARED_USER))
        .collect();
    assert_eq!(
        shared_tokens.len(),
        1,
        "exactly one token for the shared user"
    );
    let last_shared = shared_tokens[0].clone();
    assert!(
        last_shared
            .access_token
            .as_deref()
            .is_some_and(|a| a.starts_with("1000.access.shared.")),
        "the shared token is one writer's: {:?}",
        last_shared.id
    );
    // Every stored token is indexed. A duplicate token of the shared user that a concurrent
    // fold removed may leave an entry behind (a stale entry: verified away by every read, as
    // `assert_all_findable` checks, and removed by `repair()`); at most one per losing writer.
    let entries = store.index_entries().await.unwrap();
    assert!(
        (distinct + 1..distinct + SHARED_WRITERS).contains(&entries),
        "{entries} indexed ids for {} tokens",
        distinct + 1
    );
    let mut expected: Vec<Token> = (0..WRITERS)
        .flat_map(|w| (0..PER_WRITER).map(move |i| user(w, i)))
        .collect();
    expected.push(last_shared);
    assert_all_findable(&namespace, expected, 8).await;
    let total = started.elapsed();
    println!(
        "stress 32x25+16 on {:?}: {} tokens saved in {:.1} s, verified in {:.1} s (total {:.1} s), CAS retries {cas_retries}",
        target(),
        distinct + SHARED_WRITERS,
        saved_in.as_secs_f64(),
        (total - saved_in).as_secs_f64(),
        total.as_secs_f64()
    );
    store.delete_tokens().await.unwrap();
}

/// Tokens in the large-store test (the index is sharded, so no single secret fills up).
const LARGE_STORE_TOKENS: usize = 2_000;
/// Writers saving the large store at once.
const LARGE_STORE_WRITERS: usize = 6;

/// A store of [`LARGE_STORE_TOKENS`] tokens: `get_tokens` returns each once, and a sample is
/// found by each key.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn large_store_lists_and_finds_every_token() {
    if crate::common::gated("large_store_lists_and_finds_every_token") {
        return;
    }
    let namespace = random_namespace();
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for lane in 0..LARGE_STORE_WRITERS {
        let engine = patient_engine(&namespace).await;
        tasks.spawn(async move {
            for n in (lane..LARGE_STORE_TOKENS).step_by(LARGE_STORE_WRITERS) {
                engine
                    .save_token(&user(1_000, n))
                    .await
                    .unwrap_or_else(|e| panic!("save {n}: {e}"));
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("writer task");
    }
    let saved_in = started.elapsed();
    let store = engine(&namespace).await;
    let listed = Instant::now();
    let all = store.get_tokens().await.unwrap();
    let listed_in = listed.elapsed();
    assert_eq!(all.len(), LARGE_STORE_TOKENS);
    let names: BTreeSet<_> = all.iter().filter_map(|t| t.user_name.clone()).collect();
    assert_eq!(names.len(), LARGE_STORE_TOKENS, "each token once");
    let ids: BTreeSet<_> = all.iter().map(|t| t.id.clone()).collect();
    assert_eq!(ids.len(), LARGE_STORE_TOKENS, "unique ids");
    for n in 0..LARGE_STORE_TOKENS {
        assert!(names.contains(user(1_000, n).user_name.as_deref().unwrap()));
    }
    let sample: Vec<Token> = (0..LARGE_STORE_TOKENS)
        .step_by(50)
        .map(|n| user(1_000, n))
        .collect();
    let sampled = sample.len();
    assert_all_findable(&namespace, sample, 4).await;
    assert_eq!(store.index_entries().await.unwrap(), LARGE_STORE_TOKENS);
    println!(
        "large store on {:?}: {LARGE_STORE_TOKENS} tokens saved by {LARGE_STORE_WRITERS} writers in {:.1} s, get_tokens in {:.2} s, {sampled} sampled × 3 finds, total {:.1} s",
        target(),
        saved_in.as_secs_f64(),
        listed_in.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    store.delete_tokens().await.unwrap();
}
