//! The token lifecycle under real Zoho answers and serverless failures: the older answer
//! form, a holder that dies mid-refresh (default options), a 401 storm, "Access Denied"
//! shared across instances, failures shared and paced, a retried dropped connection,
//! deadlines, first login, revocation and data-centre routing.

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::{CLIENT_ID, CLIENT_SECRET, Zoho, default_options, options, query};
use token_store_core::testkit::MemoryBackend;
use token_store_core::{
    ErrorKind, MemoryStore, SecretBackend, SecretIndexStore, Token, TokenStore,
};
use token_store_oauth::{
    AccountsErrorCode, BackendLease, DataCentre, Lease, ManagerOptions, StoreLease, TokenManager,
    TokenSource, accounts_error, rate_limited_until,
};
use zoho_stand_in::{Behaviour, Limits};

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A manager on its own store handle and lease over `backend`, as one instance has.
fn instance(backend: &Arc<dyn SecretBackend>, options: ManagerOptions) -> TokenManager {
    let store: Arc<dyn TokenStore> = Arc::new(SecretIndexStore::new(backend.clone()));
    let lease: Arc<dyn Lease> = Arc::new(BackendLease::new(backend.clone()));
    TokenManager::with_options(store, lease, options).unwrap()
}

async fn stored_backend(token: &Token, backend: MemoryBackend) -> Arc<dyn SecretBackend> {
    let backend: Arc<dyn SecretBackend> = Arc::new(backend);
    SecretIndexStore::new(backend.clone())
        .save_token(token)
        .await
        .unwrap();
    backend
}

#[tokio::test]
async fn the_older_answer_form_is_stored_as_an_hour() {
    let zoho = Zoho::behaving(Behaviour::legacy()).await;
    let token = zoho.seed("legacy@example.com", 60_000).await;
    let store = Arc::new(MemoryStore::new());
    store.save_token(&token).await.unwrap();
    let lease = Arc::new(StoreLease::new(store.clone(), Duration::from_millis(20)));
    let manager = TokenManager::with_options(store.clone(), lease, options(&zoho)).unwrap();
    let before = now_ms();
    let fresh = manager
        .access_token(&query("legacy@example.com"))
        .await
        .unwrap();
    assert_eq!(fresh.source(), TokenSource::Refreshed);
    let saved = store
        .find_token(&query("legacy@example.com"))
        .await
        .unwrap()
        .unwrap();
    let ahead = saved.expiry_time.unwrap() - before;
    assert!(
        (3_590_000..=3_610_000).contains(&ahead),
        "stored expiry {ahead} ms ahead, want an hour (not 41 days)"
    );
}

/// The holder's instance (its own runtime) dies while the slow accounts server works on its
/// refresh; another instance, whose token has expired, is waiting. With the default options
/// the waiter succeeds within 15 s of the death, and the server sees at most 2 refreshes.
async fn dead_holder(backend: MemoryBackend) {
    let zoho = Zoho::behaving(Behaviour::slow(8_000)).await;
    let token = zoho.seed("dead@example.com", -1_000).await;
    let backend = stored_backend(&token, backend).await;
    let defaults = default_options(&zoho);
    let holder = instance(&backend, defaults.clone());
    let doomed = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    doomed.spawn(async move { holder.access_token(&query("dead@example.com")).await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let waiter = instance(&backend, defaults);
    let waiting = tokio::spawn(async move {
        let answer = waiter.access_token(&query("dead@example.com")).await;
        (answer, Instant::now(), waiter.stats())
    });
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    doomed.shutdown_background(); // kill -9: no release, no more renewals
    let died = Instant::now();
    let (answer, done, stats) = waiting.await.unwrap();
    let token = answer.expect("the waiter gets a token");
    let after_death = done - died;
    assert!(
        after_death < Duration::from_secs(15),
        "served {after_death:?} after the holder died"
    );
    assert!(zoho.is_live(&token).await);
    assert!(zoho.stat("refreshes").await <= 2);
    assert_eq!(stats.waits, 1);
    assert_eq!(
        stats.refreshes, 1,
        "the waiter refreshed once the lease ran out"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_holder_costs_one_lease_on_compare_and_swap() {
    dead_holder(MemoryBackend::compare_and_swap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_holder_costs_one_lease_on_a_version_log() {
    dead_holder(MemoryBackend::merge_log()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_holder_costs_one_lease_on_an_opaque_version_log() {
    dead_holder(MemoryBackend::merge_log_opaque()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_live_holder_keeps_its_lease_by_renewing_it() {
    let zoho = Zoho::behaving(Behaviour::slow(7_000)).await;
    let token = zoho.seed("slow@example.com", -1_000).await;
    let backend = stored_backend(&token, MemoryBackend::compare_and_swap()).await;
    let defaults = default_options(&zoho);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let manager = instance(&backend, defaults.clone());
        tasks.spawn(async move {
            let token = manager.access_token(&query("slow@example.com")).await;
            (token, manager.stats())
        });
    }
    let results = tasks.join_all().await;
    let renewals: u64 = results.iter().map(|(_, s)| s.lease_renewals).sum();
    for (token, _) in &results {
        assert!(zoho.is_live(token.as_ref().unwrap()).await);
    }
    assert_eq!(
        zoho.stat("refreshes").await,
        1,
        "7 s > the 4 s lease, yet one refresh"
    );
    assert!(
        renewals >= 3,
        "renewed every third of the lease: {renewals}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_401_storm_causes_one_refresh() {
    let zoho = Zoho::start().await;
    let token = zoho.seed("storm@example.com", 3_600_000).await;
    let backend = stored_backend(&token, MemoryBackend::compare_and_swap()).await;
    let managers: Vec<_> = (0..20)
        .map(|_| instance(&backend, options(&zoho)))
        .collect();
    for manager in &managers {
        let served = manager
            .access_token(&query("storm@example.com"))
            .await
            .unwrap();
        assert_eq!(Some(served.secret()), token.access_token.as_deref());
    }
    let rejected = token.access_token.clone().unwrap();
    zoho.drop_access(&rejected).await;
    let mut tasks = tokio::task::JoinSet::new();
    for manager in &managers {
        let (manager, rejected) = (manager.clone(), rejected.clone());
        tasks.spawn(async move {
            manager
                .invalidate(&query("storm@example.com"), &rejected)
                .await
                .unwrap()
        });
    }
    let answers = tasks.join_all().await;
    assert_eq!(
        zoho.stat("refreshes").await,
        1,
        "20 instances' 401s, one refresh"
    );
    assert!(answers.iter().all(|a| a.secret() != rejected));
    assert!(answers.iter().all(|a| a.secret() == answers[0].secret()));
    assert!(zoho.is_live(&answers[0]).await);
    // The cache no longer serves the rejected token.
    let again = managers[0]
        .access_token(&query("storm@example.com"))
        .await
        .unwrap();
    assert_eq!(again.secret(), answers[0].secret());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_denied_is_shared_across_instances() {
    let zoho = Zoho::start_with(Limits {
        mints_per_window: 0,
        ..Limits::zoho()
    })
    .await;
    let token = zoho.seed("denied@example.com", -1_000).await;
    let backend = stored_backend(&token, MemoryBackend::compare_and_swap()).await;
    let first = instance(&backend, options(&zoho))
        .access_token(&query("denied@example.com"))
        .await
        .unwrap_err();
    assert_eq!(first.kind(), ErrorKind::RateLimited);
    assert_eq!(
        accounts_error(&first).unwrap().code,
        AccountsErrorCode::AccessDenied
    );
    let window = rate_limited_until(&first).unwrap();
    for _ in 0..3 {
        let other = instance(&backend, options(&zoho));
        let err = other
            .access_token(&query("denied@example.com"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::RateLimited);
        let until = rate_limited_until(&err).unwrap();
        let gap = until
            .duration_since(window)
            .unwrap_or_else(|e| e.duration());
        assert!(gap < Duration::from_millis(2), "the same window");
        assert_eq!(other.stats().paused, 1);
    }
    assert_eq!(zoho.stat("access_denied").await, 1, "one instance asked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failures_are_shared_in_process_and_paced() {
    let zoho = Zoho::start().await;
    let closed = ManagerOptions {
        accounts_url: Some("http://127.0.0.1:9".into()),
        ..options(&zoho)
    };
    // Expired: every concurrent caller gets the one flight's error.
    let token = zoho.seed("down@example.com", -1_000).await;
    let backend = stored_backend(&token, MemoryBackend::compare_and_swap()).await;
    let manager = instance(&backend, closed.clone());
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let manager = manager.clone();
        tasks.spawn(async move { manager.access_token(&query("down@example.com")).await });
    }
    for answer in tasks.join_all().await {
        assert_eq!(answer.unwrap_err().kind(), ErrorKind::Unavailable);
    }
    assert_eq!(
        manager.stats().refresh_failures,
        1,
        "one request for 20 callers"
    );
    // Paused: the next calls get the error without a request.
    for _ in 0..5 {
        let err = manager
            .access_token(&query("down@example.com"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable);
    }
    assert_eq!(manager.stats().refresh_failures, 1);
    assert_eq!(manager.stats().paused, 5);

    // Due but valid: served throughout, one request while paused.
    let due = zoho.seed("due-down@example.com", 120_000).await;
    let backend = stored_backend(&due, MemoryBackend::compare_and_swap()).await;
    let manager = instance(&backend, closed);
    for _ in 0..5 {
        let served = manager
            .access_token(&query("due-down@example.com"))
            .await
            .unwrap();
        assert_eq!(Some(served.secret()), due.access_token.as_deref());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        manager.stats().refresh_failures,
        1,
        "backoff, not one request a second"
    );
}

/// An accounts server whose first connection is closed unanswered (a pooled connection
/// found dead): the request is sent once more and succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_closed_before_any_answer_is_retried_once() {
    let zoho = Zoho::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let front = format!("http://{}", listener.local_addr().unwrap());
    let upstream = zoho.url().trim_start_matches("http://").to_owned();
    tokio::spawn(async move {
        let (first, _) = listener.accept().await.unwrap();
        drop(first);
        while let Ok((mut client, _)) = listener.accept().await {
            let upstream = upstream.clone();
            tokio::spawn(async move {
                let mut server = tokio::net::TcpStream::connect(upstream).await.unwrap();
                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            });
        }
    });
    let token = zoho.seed("flaky@example.com", -1_000).await;
    let backend = stored_backend(&token, MemoryBackend::compare_and_swap()).await;
    let manager = instance(
        &backend,
        ManagerOptions {
            accounts_url: Some(front),
            ..options(&zoho)
        },
    );
    let fresh = manager
        .access_token(&query("flaky@example.com"))
        .await
        .unwrap();
    assert_eq!(fresh.source(), TokenSource::Refreshed);
    assert_eq!(zoho.stat("refreshes").await, 1);
    assert_eq!(manager.stats().refresh_failures, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callers_deadline_bounds_its_wait() {
    let zoho = Zoho::start().await;
    let token = zoho.seed("hurry@example.com", -1_000).await;
    let backend = stored_backend(&token, MemoryBackend::compare_and_swap()).await;
    // A live holder elsewhere: the lease is held for a minute.
    let key = format!(
        "refresh:{}",
        digest(token.refresh_token.as_deref().unwrap())
    );
    BackendLease::new(backend.clone())
        .try_acquire(&key, "elsewhere", Duration::from_secs(60))
        .await
        .unwrap();
    let manager = instance(&backend, options(&zoho));
    let started = Instant::now();
    let err = manager
        .access_token_by(
            &query("hurry@example.com"),
            started + Duration::from_millis(800),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(800) && took < Duration::from_millis(1_500),
        "{took:?}"
    );
    assert!(err.is_retryable());
}

#[test]
fn a_wait_shorter_than_the_lease_is_refused() {
    let store = Arc::new(MemoryStore::new());
    let lease = Arc::new(StoreLease::new(store.clone(), Duration::from_millis(20)));
    let err = TokenManager::with_options(
        store,
        lease,
        ManagerOptions {
            wait_timeout: Duration::from_secs(20),
            lease_ttl: Duration::from_secs(30),
            ..ManagerOptions::default()
        },
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConfigInvalid);
}

#[tokio::test]
async fn a_new_grant_code_replaces_the_refresh_token_and_revoke_removes_it() {
    let zoho = Zoho::start().await;
    let old = zoho.seed("relogin@example.com", 3_600_000).await;
    let store = Arc::new(MemoryStore::new());
    store.save_token(&old).await.unwrap();
    let lease = Arc::new(StoreLease::new(store.clone(), Duration::from_millis(20)));
    let manager = TokenManager::with_options(store.clone(), lease, options(&zoho)).unwrap();
    let code = zoho.grant().await;
    let login = Token::builder()
        .user_name("relogin@example.com")
        .client_id(CLIENT_ID)
        .client_secret(CLIENT_SECRET)
        .grant_token(&code)
        .build();
    let fresh = manager.authorize(&login).await.unwrap();
    assert_eq!(fresh.source(), TokenSource::Exchanged);
    let saved = store
        .find_token(&query("relogin@example.com"))
        .await
        .unwrap()
        .unwrap();
    assert_ne!(
        saved.refresh_token, old.refresh_token,
        "the new authorisation's"
    );
    assert_eq!(saved.grant_token.as_deref(), Some(code.as_str()));
    let users: Vec<_> = store
        .get_tokens()
        .await
        .unwrap()
        .into_iter()
        .filter(|t| {
            !t.user_name
                .as_deref()
                .unwrap_or_default()
                .starts_with("token-store-lease:")
        })
        .collect();
    assert_eq!(users.len(), 1, "updated, not duplicated");
    // The same code again: already exchanged, not sent (codes are one-time).
    manager.authorize(&login).await.unwrap();
    assert_eq!(zoho.stat("exchanges").await, 1);
    assert_eq!(zoho.stat("invalid_code").await, 0);

    manager.revoke(&query("relogin@example.com")).await.unwrap();
    assert_eq!(zoho.stat("revoked").await, 1);
    assert!(
        !zoho.is_live(&fresh).await,
        "its access tokens went with it"
    );
    assert!(
        store
            .find_token(&query("relogin@example.com"))
            .await
            .unwrap()
            .is_none()
    );
    let gone = manager
        .access_token(&query("relogin@example.com"))
        .await
        .unwrap_err();
    assert_eq!(gone.kind(), ErrorKind::NotFound);
    assert_eq!(manager.stats().revocations, 1);

    let missing = manager
        .authorize(&query("relogin@example.com"))
        .await
        .unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn every_data_centres_hosts_refresh_at_its_accounts_server() {
    let mut servers = HashMap::new();
    for dc in DataCentre::ALL {
        servers.insert(dc, Zoho::start().await);
    }
    let store = Arc::new(MemoryStore::new());
    let lease = Arc::new(StoreLease::new(store.clone(), Duration::from_millis(5)));
    let manager = TokenManager::with_options(
        store.clone(),
        lease,
        ManagerOptions {
            accounts_urls: servers
                .iter()
                .map(|(dc, z)| (*dc, z.url().to_owned()))
                .collect(),
            poll_interval: Duration::from_millis(50),
            ..ManagerOptions::default()
        },
    )
    .unwrap();
    for dc in DataCentre::ALL {
        let domain = dc.api_domain().trim_start_matches("https://www.");
        for host in ["www", "sandbox", "developer"] {
            let user = format!("{host}@{domain}");
            let mut token = servers[&dc].seed(&user, 60_000).await;
            token.api_domain = Some(format!("https://{host}.{domain}"));
            store.save_token(&token).await.unwrap();
            let fresh = manager.access_token(&query(&user)).await.unwrap();
            assert_eq!(fresh.source(), TokenSource::Refreshed, "{user}");
            assert!(
                servers[&dc].is_live(&fresh).await,
                "{user}: minted by its DC"
            );
        }
    }
    for (dc, zoho) in &servers {
        assert_eq!(
            zoho.stat("refreshes").await,
            3,
            "{dc:?}: its own three hosts only"
        );
    }
}

/// The lease key digest the manager uses (first 10 bytes of SHA-256, hex).
fn digest(value: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(value.as_bytes())[..10]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
