//! One manager against the stand-in accounts server: cache, refresh, errors.

mod support;

use std::sync::Arc;
use std::time::Duration;

use support::{Zoho, options, query};
use token_store_core::{ErrorKind, MemoryStore, Token, TokenStore};
use token_store_oauth::{
    ManagerOptions, StoreLease, TokenManager, TokenSource, rate_limited_until,
};
use zoho_stand_in::Limits;

const HOUR_MS: i64 = 3_600_000;

async fn make_manager(
    zoho: &Zoho,
    token: &Token,
    options: ManagerOptions,
) -> (TokenManager, Arc<MemoryStore>) {
    let store = Arc::new(MemoryStore::new());
    store.save_token(token).await.unwrap();
    let lease = Arc::new(StoreLease::new(store.clone(), Duration::from_millis(20)));
    let _ = zoho;
    (
        TokenManager::with_options(store.clone(), lease, options).unwrap(),
        store,
    )
}

#[tokio::test]
async fn a_fresh_token_is_read_once_then_served_from_the_cache() {
    let zoho = Zoho::start().await;
    let token = zoho.seed("fresh@example.com", HOUR_MS).await;
    let (manager, _) = make_manager(&zoho, &token, options(&zoho)).await;
    let first = manager
        .access_token(&query("fresh@example.com"))
        .await
        .unwrap();
    assert_eq!(first.secret(), token.access_token.as_deref().unwrap());
    assert_eq!(first.api_domain(), Some(zoho.url()));
    let before = manager.stats();
    for _ in 0..5 {
        manager
            .access_token(&query("fresh@example.com"))
            .await
            .unwrap();
    }
    let after = manager.stats();
    assert_eq!(
        after.store_reads, before.store_reads,
        "warm hits read nothing"
    );
    assert_eq!(after.warm_hits, before.warm_hits + 5);
    assert_eq!(zoho.stat("refreshes").await, 0);
}

#[tokio::test]
async fn concurrent_callers_in_one_process_cause_one_refresh() {
    let zoho = Zoho::start().await;
    let token = zoho.seed("due@example.com", 60_000).await;
    let (manager, store) = make_manager(&zoho, &token, options(&zoho)).await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let manager = manager.clone();
        tasks.spawn(async move {
            manager
                .access_token(&query("due@example.com"))
                .await
                .unwrap()
        });
    }
    let answers: Vec<_> = tasks.join_all().await;
    assert_eq!(zoho.stat("refreshes").await, 1);
    assert_eq!(
        manager.stats().store_reads,
        2,
        "one read, one re-read under the lease"
    );
    let refreshed: Vec<_> = answers
        .iter()
        .filter(|a| a.source() == TokenSource::Refreshed)
        .collect();
    assert_eq!(
        refreshed.len(),
        1,
        "one caller refreshed, the others shared its result"
    );
    assert_eq!(
        answers
            .iter()
            .filter(|a| a.source() == TokenSource::Shared)
            .count(),
        49
    );
    let fresh = refreshed[0];
    assert_ne!(fresh.secret(), token.access_token.as_deref().unwrap());
    assert!(answers.iter().all(|a| a.secret() == fresh.secret()));
    assert!(zoho.is_live(fresh).await);
    assert!(fresh.expiry_time() > token.expiry_time.unwrap() + 3_000_000);
    let saved = store
        .find_token(&query("due@example.com"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(saved.access_token.as_deref(), Some(fresh.secret()));
    assert_eq!(
        saved.refresh_token, token.refresh_token,
        "refresh tokens do not rotate"
    );
}

#[tokio::test]
async fn invalid_code_is_unauthenticated_and_keeps_the_stored_token() {
    let zoho = Zoho::start().await;
    let mut token = zoho.seed("revoked@example.com", -1_000).await;
    token.refresh_token = Some("1000.unknown".into());
    let (manager, store) = make_manager(&zoho, &token, options(&zoho)).await;
    let err = manager
        .access_token(&query("revoked@example.com"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    assert!(
        !err.to_string().contains("1000.unknown"),
        "no token material in errors"
    );
    let kept = store
        .find_token(&query("revoked@example.com"))
        .await
        .unwrap();
    assert_eq!(kept.unwrap().refresh_token.as_deref(), Some("1000.unknown"));
}

#[tokio::test]
async fn access_denied_is_rate_limited_until_the_window_ends_and_a_valid_token_is_served() {
    let zoho = Zoho::start_with(Limits {
        mints_per_window: 0,
        ..Limits::zoho()
    })
    .await;
    // Due for refresh but still valid: the refresh fails, the old token is served.
    let due = zoho.seed("limited@example.com", 120_000).await;
    let (manager, _) = make_manager(&zoho, &due, options(&zoho)).await;
    let served = manager
        .access_token(&query("limited@example.com"))
        .await
        .unwrap();
    assert_eq!(served.secret(), due.access_token.as_deref().unwrap());
    assert_eq!(zoho.stat("access_denied").await, 1);

    // Expired: the error, with the window's end.
    let expired = zoho.seed("limited2@example.com", -1_000).await;
    let (manager, _) = make_manager(&zoho, &expired, options(&zoho)).await;
    let err = manager
        .access_token(&query("limited2@example.com"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    let until = rate_limited_until(&err).expect("window end");
    assert!(until > std::time::SystemTime::now() + Duration::from_secs(590));
    // Blocked in-process: no second request in the same window.
    let again = manager
        .access_token(&query("limited2@example.com"))
        .await
        .unwrap_err();
    assert_eq!(again.kind(), ErrorKind::RateLimited);
    assert_eq!(zoho.stat("access_denied").await, 2);
}

#[tokio::test]
async fn an_unreachable_accounts_server_is_unavailable_once_the_token_expired() {
    let zoho = Zoho::start().await;
    let due = zoho.seed("offline@example.com", 120_000).await;
    let closed = ManagerOptions {
        accounts_url: Some("http://127.0.0.1:9".into()),
        ..options(&zoho)
    };
    let (manager, _) = make_manager(&zoho, &due, closed.clone()).await;
    let served = manager
        .access_token(&query("offline@example.com"))
        .await
        .unwrap();
    assert_eq!(served.secret(), due.access_token.as_deref().unwrap());
    assert_eq!(manager.stats().refresh_failures, 1);

    let expired = zoho.seed("offline2@example.com", -1_000).await;
    let (manager, _) = make_manager(&zoho, &expired, closed).await;
    let err = manager
        .access_token(&query("offline2@example.com"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.is_retryable());
}

#[tokio::test]
async fn a_grant_code_is_exchanged_once_and_saved() {
    let zoho = Zoho::start().await;
    let code = zoho.grant().await;
    let store = Arc::new(MemoryStore::new());
    let lease = Arc::new(StoreLease::new(store.clone(), Duration::from_millis(20)));
    let manager = TokenManager::with_options(store.clone(), lease, options(&zoho)).unwrap();
    let first = Token::builder()
        .user_name("new@example.com")
        .client_id(support::CLIENT_ID)
        .client_secret(support::CLIENT_SECRET)
        .grant_token(&code)
        .build();
    let token = manager.access_token(&first).await.unwrap();
    assert_eq!(token.source(), TokenSource::Exchanged);
    assert!(zoho.is_live(&token).await);
    assert_eq!(zoho.stat("exchanges").await, 1);
    let saved = store
        .find_token(&query("new@example.com"))
        .await
        .unwrap()
        .unwrap();
    assert!(saved.refresh_token.is_some());
    // Another instance finds the saved token: no second exchange (the code is one-time).
    let other_lease = Arc::new(StoreLease::new(store.clone(), Duration::from_millis(20)));
    let other = TokenManager::with_options(store, other_lease, options(&zoho)).unwrap();
    let again = other.access_token(&first).await.unwrap();
    assert_eq!(again.secret(), token.secret());
    assert_eq!(zoho.stat("exchanges").await, 1);
    assert_eq!(zoho.stat("invalid_code").await, 0);
}

#[tokio::test]
async fn access_tokens_never_show_in_debug() {
    let zoho = Zoho::start().await;
    let token = zoho.seed("debug@example.com", HOUR_MS).await;
    let (manager, _) = make_manager(&zoho, &token, options(&zoho)).await;
    let answer = manager
        .access_token(&query("debug@example.com"))
        .await
        .unwrap();
    assert!(!format!("{answer:?}").contains(answer.secret()));
    assert!(!format!("{manager:?}").contains(answer.secret()));
    assert_eq!(
        answer.authorization(),
        format!("Zoho-oauthtoken {}", answer.secret())
    );
}
