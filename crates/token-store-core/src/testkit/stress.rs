//! Many writers of distinct users at once, for the backends' concurrency tests.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::{BackendHarness, random_namespace};
use crate::{EngineOptions, SHARD_PREFIX, SecretIndexStore, Token, TokenStore};

/// What [`stress_distinct_users`] observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StressReport {
    /// Tokens saved (tasks × saves per task).
    pub saved: usize,
    /// Index compare-and-swap retries, summed over all writers.
    pub cas_retries: u64,
    /// Merged index versions written after concurrent appends, summed over all writers.
    pub merges: u64,
    /// Live entries in the index afterwards.
    pub index_entries: usize,
}

/// `tasks` writers, each with its own engine (as separate processes would), each saving
/// `per_task` distinct users. Then asserts every token is found by user name, access token
/// and refresh token and that the index holds exactly one entry per token.
pub async fn stress_distinct_users(
    harness: &dyn BackendHarness,
    tasks: usize,
    per_task: usize,
) -> StressReport {
    stress_with_shared_user(harness, tasks, per_task, 0).await
}

/// [`stress_distinct_users`] with, at the same time, `shared_savers` more writers each saving
/// one shared user (a new access token each): afterwards that user has exactly one token.
pub async fn stress_with_shared_user(
    harness: &dyn BackendHarness,
    tasks: usize,
    per_task: usize,
    shared_savers: usize,
) -> StressReport {
    let namespace = random_namespace();
    let mut handles = Vec::new();
    let mut engines = Vec::new();
    for t in 0..tasks + shared_savers {
        let engine = Arc::new(SecretIndexStore::with_options(
            harness.backend(&namespace).await,
            busy_options(),
        ));
        engines.push(engine.clone());
        handles.push(tokio::spawn(async move {
            if t >= tasks {
                engine
                    .save_token(&shared(t))
                    .await
                    .unwrap_or_else(|e| panic!("shared save {t}: {e}"));
                return;
            }
            for i in 0..per_task {
                engine
                    .save_token(&user(t, i))
                    .await
                    .unwrap_or_else(|e| panic!("save {t}/{i}: {e}"));
            }
        }));
    }
    for handle in handles {
        handle.await.expect("writer task");
    }
    let cas_retries = engines.iter().map(|e| e.stats().cas_retries).sum();
    let merges = engines.iter().map(|e| e.stats().merges).sum();
    let backend = harness.backend(&namespace).await;
    let store = SecretIndexStore::new(backend.clone());
    for t in 0..tasks {
        for i in 0..per_task {
            let expected = user(t, i);
            for query in super::key_queries(&expected) {
                let found = store
                    .find_token(&query)
                    .await
                    .unwrap()
                    .unwrap_or_else(|| panic!("user {t}/{i} not found by {query:?}"));
                assert_eq!(found.user_name, expected.user_name);
            }
        }
    }
    let shared_tokens = usize::from(shared_savers > 0);
    if shared_savers > 0 {
        let query = Token::builder()
            .user_name(shared(0).user_name.unwrap_or_default())
            .build();
        let found = store
            .find_token(&query)
            .await
            .unwrap()
            .expect("the shared user is found");
        let by_access = Token::builder()
            .access_token(found.access_token.unwrap_or_default())
            .build();
        assert!(store.find_token(&by_access).await.unwrap().is_some());
    }
    let all = store.get_tokens().await.unwrap();
    if all.len() != tasks * per_task + shared_tokens {
        let listed: BTreeSet<_> = all.iter().map(|t| t.user_name.clone()).collect();
        let mut expected: Vec<Token> = (0..tasks)
            .flat_map(|t| (0..per_task).map(move |i| user(t, i)))
            .collect();
        if shared_savers > 0 {
            expected.push(shared(tasks));
        }
        let mut missing = Vec::new();
        for token in expected.iter().filter(|t| !listed.contains(&t.user_name)) {
            let query = Token::builder()
                .user_name(token.user_name.clone().unwrap_or_default())
                .build();
            let id = store.find_token(&query).await.unwrap().and_then(|t| t.id);
            missing.push(format!("{:?} stored as id {id:?}", token.user_name));
        }
        let secrets = backend
            .list(crate::engine::TOKEN_PREFIX)
            .await
            .unwrap()
            .len();
        panic!(
            "get_tokens listed {} tokens for {} users ({secrets} token secrets); not listed: {missing:?}",
            all.len(),
            tasks * per_task + shared_tokens
        );
    }
    let ids: BTreeSet<_> = all.iter().map(|t| t.id.clone()).collect();
    assert_eq!(ids.len(), all.len(), "unique ids");
    assert!(
        !backend.list(SHARD_PREFIX).await.unwrap().is_empty(),
        "index exists"
    );
    // Every token is indexed. A duplicate of the shared user removed by a concurrent fold
    // may leave its id entry behind (stale: reads skip it, `repair()` removes it); at most
    // one per losing shared saver.
    let merged_entries = store.index_entries().await.unwrap();
    let expected = tasks * per_task + shared_tokens;
    assert!(
        (expected..expected + shared_savers.max(1)).contains(&merged_entries),
        "{merged_entries} indexed ids for {expected} tokens"
    );
    store.delete_tokens().await.unwrap();
    StressReport {
        saved: tasks * per_task + shared_tokens,
        cas_retries,
        merges,
        index_entries: merged_entries,
    }
}

/// Engine options for many writers on one small index: a generous retry budget (48 writers
/// racing one shard lose many compare-and-swaps before it splits).
fn busy_options() -> EngineOptions {
    EngineOptions {
        max_index_retries: 400,
        ..EngineOptions::default()
    }
}

/// What [`large_store`] measured.
#[derive(Debug, Clone, PartialEq)]
pub struct LargeStoreReport {
    /// Tokens saved.
    pub tokens: usize,
    /// Seconds to save them all.
    pub save_seconds: f64,
    /// Seconds of one `get_tokens`.
    pub get_tokens_seconds: f64,
    /// Index shards at the end.
    pub shards: usize,
}

/// Save `tokens` distinct users with `writers` writers, then check `get_tokens` lists each
/// once and every 50th is found by user name, access token and refresh token.
pub async fn large_store(
    harness: &dyn BackendHarness,
    tokens: usize,
    writers: usize,
) -> LargeStoreReport {
    let namespace = random_namespace();
    let started = std::time::Instant::now();
    let mut handles = Vec::new();
    for lane in 0..writers {
        let engine =
            SecretIndexStore::with_options(harness.backend(&namespace).await, busy_options());
        handles.push(tokio::spawn(async move {
            for n in (lane..tokens).step_by(writers) {
                engine
                    .save_token(&user(0, n))
                    .await
                    .unwrap_or_else(|e| panic!("save {n}: {e}"));
            }
        }));
    }
    for handle in handles {
        handle.await.expect("writer task");
    }
    let save_seconds = started.elapsed().as_secs_f64();
    let backend = harness.backend(&namespace).await;
    let store = SecretIndexStore::new(backend.clone());
    let listed = std::time::Instant::now();
    let all = store.get_tokens().await.unwrap();
    let get_tokens_seconds = listed.elapsed().as_secs_f64();
    assert_eq!(all.len(), tokens, "get_tokens lists every token");
    let users: BTreeSet<_> = all.iter().map(|t| t.user_name.clone()).collect();
    assert_eq!(users.len(), tokens, "each token once");
    for n in (0..tokens).step_by(50) {
        let expected = user(0, n);
        for query in super::key_queries(&expected) {
            let found = store.find_token(&query).await.unwrap();
            assert_eq!(
                found.and_then(|t| t.user_name),
                expected.user_name,
                "token {n}"
            );
        }
    }
    let shards = backend.list(SHARD_PREFIX).await.unwrap().len();
    store.delete_tokens().await.unwrap();
    LargeStoreReport {
        tokens,
        save_seconds,
        get_tokens_seconds,
        shards,
    }
}

fn shared(writer: usize) -> Token {
    Token::builder()
        .user_name("stress-shared@example.com")
        .client_id("1000.STRESS")
        .client_secret("stress-secret")
        .access_token(format!("1000.access.shared.{writer}"))
        .refresh_token("1000.refresh.shared")
        .build()
}

fn user(task: usize, i: usize) -> Token {
    Token::builder()
        .user_name(format!("stress-{task}-{i}@example.com"))
        .client_id("1000.STRESS")
        .client_secret("stress-secret")
        .access_token(format!("1000.access.{task}.{i}"))
        .refresh_token(format!("1000.refresh.{task}.{i}"))
        .build()
}
