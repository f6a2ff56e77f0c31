//! `TokenManager` and its leases against the cloud emulators, through `open_manager`'s choice
//! of lease. Run by `scripts/test-oauth.sh`, which starts LocalStack and drongo and sets
//! `TOKEN_STORE_OAUTH_URLS` (space-separated store URLs); without it these tests do nothing.
#![cfg(all(feature = "oauth", feature = "aws", feature = "gcp"))]

use std::sync::Arc;
use std::time::Duration;

use token_store::oauth::{Attempt, BackendLease, Lease, ManagerOptions, TokenManager};
use token_store::raw::SecretBackend;
use token_store::{Token, TokenStore};
use zoho_stand_in::StandIn;

fn urls() -> Vec<String> {
    std::env::var("TOKEN_STORE_OAUTH_URLS")
        .map(|v| v.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// A fresh store handle (its own client and caches, as a separate instance has) and its backend.
async fn open(url: &str) -> (Arc<dyn TokenStore>, Arc<dyn SecretBackend>) {
    if url.starts_with("aws-secretsmanager://") {
        let store = token_store::aws::AwsSecretsManagerStore::from_url(url)
            .await
            .unwrap();
        let backend = store.engine().backend().clone();
        (Arc::new(store), backend)
    } else {
        let store = token_store::gcp::GcpSecretManagerStore::from_url(url)
            .await
            .unwrap();
        let backend = store.engine().backend().clone();
        (Arc::new(store), backend)
    }
}

/// Eight instances race for one lease, three rounds: exactly one wins each round.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_lease_holder_among_racing_instances() {
    for url in urls() {
        let mut leases = Vec::new();
        for _ in 0..8 {
            leases.push(BackendLease::new(open(&url).await.1));
        }
        let key = format!("race-{}", std::process::id());
        for round in 0..3 {
            let mut tasks = tokio::task::JoinSet::new();
            for (i, lease) in leases.iter().cloned().enumerate() {
                let key = key.clone();
                tasks.spawn(async move {
                    let holder = format!("holder-{round}-{i}");
                    let won = lease
                        .try_acquire(&key, &holder, Duration::from_secs(30))
                        .await;
                    let won = won.expect("a lease attempt is answered") == Attempt::Acquired;
                    (won, holder, lease)
                });
            }
            let results = tasks.join_all().await;
            let winners: Vec<_> = results.iter().filter(|(won, _, _)| *won).collect();
            assert_eq!(
                winners.len(),
                1,
                "{url}: round {round}: one holder, got {}",
                winners.len()
            );
            let (_, holder, lease) = winners[0];
            lease.release(&key, holder).await.unwrap();
        }
    }
}

/// Eight managers on separate store handles, token about to expire: exactly one refresh.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_refresh_among_instances() {
    one_refresh(60_000).await;
}

/// The same with the token expired: every instance waits for the one refresh.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_refresh_among_instances_of_an_expired_token() {
    one_refresh(-1_000).await;
}

async fn one_refresh(expires_in_ms: i64) {
    for url in urls() {
        let zoho = StandIn::start("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let http = reqwest::Client::new();
        let seed: serde_json::Value = serde_json::from_str(
            &http
                .post(format!("{}/_test/seed", zoho.url()))
                .header("content-type", "application/json")
                .body(format!(
                    r#"{{"client_id":"c","client_secret":"s","expires_in_ms":{expires_in_ms}}}"#
                ))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
        )
        .unwrap();
        let user = format!(
            "instances-{}-{expires_in_ms}@example.com",
            std::process::id()
        );
        let token = Token::builder()
            .user_name(&user)
            .client_id("c")
            .client_secret("s")
            .refresh_token(seed["refresh_token"].as_str().unwrap())
            .access_token(seed["access_token"].as_str().unwrap())
            .expiry_time(seed["expiry_time"].as_i64().unwrap())
            .api_domain(zoho.url())
            .build();
        open(&url).await.0.save_token(&token).await.unwrap();
        let options = ManagerOptions {
            accounts_url: Some(zoho.url().to_owned()),
            ..ManagerOptions::default()
        };
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let (store, backend) = open(&url).await;
            let lease: Arc<dyn Lease> = Arc::new(BackendLease::new(backend));
            let manager = TokenManager::with_options(store, lease, options.clone()).unwrap();
            for _ in 0..5 {
                let manager = manager.clone();
                let query = Token::builder().user_name(&user).build();
                tasks.spawn(async move { manager.access_token(&query).await });
            }
        }
        for answer in tasks.join_all().await {
            answer.expect("every caller gets a token");
        }
        let stats: serde_json::Value = serde_json::from_str(
            &http
                .get(format!("{}/_test/stats", zoho.url()))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
        )
        .unwrap();
        assert_eq!(stats["refreshes"], 1, "{url}: exactly one refresh");
        assert_eq!(stats["invalidated"], 0);
    }
}
