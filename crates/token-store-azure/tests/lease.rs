//! The `TokenManager`'s lease on the Key Vault double (or Lowkey Vault), whose versions are
//! ordered by whole creation second and then by a random id: one holder among racing
//! instances, and a holder that dies mid-refresh costs one lease, not an outage.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::harness;
use serde_json::{Value, json};
use token_store_core::testkit::random_namespace;
use token_store_core::{SecretBackend, SecretIndexStore, Token, TokenStore};
use token_store_oauth::{Attempt, BackendLease, Lease, ManagerOptions, TokenManager};
use zoho_stand_in::{Behaviour, Limits, StandIn};

async fn backend(namespace: &str) -> Arc<dyn SecretBackend> {
    Arc::new(harness().azure_backend(namespace).await)
}

/// Eight instances (separate clients) race for one lease, three rounds: one holder each round.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_lease_holder_among_racing_instances() {
    let namespace = random_namespace();
    let mut leases = Vec::new();
    for _ in 0..8 {
        leases.push(Arc::new(BackendLease::new(backend(&namespace).await)));
    }
    for round in 0..3 {
        let mut tasks = tokio::task::JoinSet::new();
        for (i, lease) in leases.iter().cloned().enumerate() {
            tasks.spawn(async move {
                let holder = format!("holder-{round}-{i}");
                let attempt = lease
                    .try_acquire("race", &holder, Duration::from_secs(30))
                    .await
                    .unwrap();
                (attempt == Attempt::Acquired, holder, lease)
            });
        }
        let results = tasks.join_all().await;
        let winners: Vec<_> = results.iter().filter(|(won, _, _)| *won).collect();
        assert_eq!(winners.len(), 1, "round {round}: one holder");
        let (_, holder, lease) = winners[0];
        lease.release("race", holder).await.unwrap();
    }
}

/// An expired token, an accounts server taking 8 s, default options: the holder's instance
/// (its own runtime) dies mid-refresh; the waiting instance is served within 15 s of the death
/// and the server sees at most 2 refreshes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_holder_costs_one_lease_not_an_outage() {
    let zoho = StandIn::start_behaving(
        "127.0.0.1:0".parse().unwrap(),
        Limits::zoho(),
        Behaviour::slow(8_000),
    )
    .await
    .unwrap();
    let http = reqwest::Client::new();
    let answer = http
        .post(format!("{}/_test/seed", zoho.url()))
        .header("content-type", "application/json")
        .body(json!({"client_id": "c", "client_secret": "s", "expires_in_ms": -1000}).to_string())
        .send()
        .await
        .unwrap();
    let seeded: Value = serde_json::from_str(&answer.text().await.unwrap()).unwrap();
    let text = |name: &str| seeded[name].as_str().unwrap().to_owned();
    let namespace = random_namespace();
    let token = Token::builder()
        .user_name("dead@example.com")
        .client_id("c")
        .client_secret("s")
        .refresh_token(text("refresh_token"))
        .access_token(text("access_token"))
        .expiry_time(seeded["expiry_time"].as_i64().unwrap())
        .api_domain(zoho.url())
        .build();
    SecretIndexStore::new(backend(&namespace).await)
        .save_token(&token)
        .await
        .unwrap();
    let options = ManagerOptions {
        accounts_url: Some(zoho.url().to_owned()),
        ..ManagerOptions::default()
    };
    let query = Token::builder().user_name("dead@example.com").build();

    let doomed = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (holder_options, holder_query, holder_ns) =
        (options.clone(), query.clone(), namespace.clone());
    doomed.spawn(async move {
        let shared = backend(&holder_ns).await;
        let store = Arc::new(SecretIndexStore::new(shared.clone()));
        let lease = Arc::new(BackendLease::new(shared));
        let manager = TokenManager::with_options(store, lease, holder_options).unwrap();
        manager.access_token(&holder_query).await
    });
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    let shared = backend(&namespace).await;
    let store: Arc<dyn TokenStore> = Arc::new(SecretIndexStore::new(shared.clone()));
    let waiter =
        TokenManager::with_options(store, Arc::new(BackendLease::new(shared)), options).unwrap();
    let waiting = tokio::spawn(async move {
        let answer = waiter.access_token(&query).await;
        (answer, Instant::now(), waiter.stats())
    });
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    doomed.shutdown_background(); // kill -9: no release, no more renewals
    let died = Instant::now();
    let (answer, done, stats) = waiting.await.unwrap();
    answer.expect("the waiter gets a token");
    let after_death = done - died;
    println!("Key Vault: the waiting instance was served {after_death:?} after the holder died");
    assert!(after_death < Duration::from_secs(15), "{after_death:?}");
    assert_eq!(stats.waits, 1);
    assert_eq!(stats.refreshes, 1);
    let stats = http
        .get(format!("{}/_test/stats", zoho.url()))
        .send()
        .await
        .unwrap();
    let refreshes: Value = serde_json::from_str(&stats.text().await.unwrap()).unwrap();
    assert!(refreshes["refreshes"].as_u64().unwrap() <= 2);
}
