//! Many writers of distinct users at once, for the backends' concurrency tests.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::{BackendHarness, random_namespace};
use crate::{SHARD_PREFIX, SecretIndexStore, Token, TokenStore};

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
    let namespace = random_namespace();
    let mut handles = Vec::new();
    let mut engines = Vec::new();
    for t in 0..tasks {
        let engine = Arc::new(SecretIndexStore::new(harness.backend(&namespace).await));
        engines.push(engine.clone());
        handles.push(tokio::spawn(async move {
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
            let by_user = Token {
                user_name: expected.user_name.clone(),
                ..Token::default()
            };
            let by_access = Token {
                access_token: expected.access_token.clone(),
                ..Token::default()
            };
            let by_refresh = Token {
                client_id: Some("c".into()),
                client_secret: Some("s".into()),
                refresh_token: expected.refresh_token.clone(),
                ..Token::default()
            };
            for query in [by_user, by_access, by_refresh] {
                let found = store
                    .find_token(&query)
                    .await
                    .unwrap()
                    .unwrap_or_else(|| panic!("user {t}/{i} not found"));
                assert_eq!(found.user_name, expected.user_name);
            }
        }
    }
    let all = store.get_tokens().await.unwrap();
    assert_eq!(all.len(), tasks * per_task);
    let ids: BTreeSet<_> = all.iter().map(|t| t.id.clone()).collect();
    assert_eq!(ids.len(), tasks * per_task, "unique ids");
    assert!(
        !backend.list(SHARD_PREFIX).await.unwrap().is_empty(),
        "index exists"
    );
    let merged_entries = store.index_entries().await.unwrap();
    assert_eq!(
        merged_entries,
        tasks * per_task,
        "index holds exactly one entry per token"
    );
    store.delete_tokens().await.unwrap();
    StressReport {
        saved: tasks * per_task,
        cas_retries,
        merges,
        index_entries: merged_entries,
    }
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
