//! Shared by the integration tests: the stand-in server, seeded tokens, concurrent instances.
#![allow(dead_code)] // each test binary uses a different part

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use token_store_core::{Token, TokenStore};
use token_store_oauth::{AccessToken, Lease, ManagerOptions, TokenManager};
use zoho_stand_in::{Behaviour, Limits, StandIn};

pub const CLIENT_ID: &str = "1000.CLIENTID";
pub const CLIENT_SECRET: &str = "client-secret";

/// A stand-in server and an HTTP client for its test endpoints.
pub struct Zoho {
    pub server: StandIn,
    http: reqwest::Client,
}

impl Zoho {
    pub async fn start() -> Self {
        Self::start_with(Limits::zoho()).await
    }

    pub async fn start_with(limits: Limits) -> Self {
        Self::start_behaving(limits, Behaviour::default()).await
    }

    /// Zoho's limits with `behaviour` (an answer form, a delay).
    pub async fn behaving(behaviour: Behaviour) -> Self {
        Self::start_behaving(Limits::zoho(), behaviour).await
    }

    pub async fn start_behaving(limits: Limits, behaviour: Behaviour) -> Self {
        let server = StandIn::start_behaving("127.0.0.1:0".parse().unwrap(), limits, behaviour)
            .await
            .expect("stand-in server starts");
        Self {
            server,
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self) -> &str {
        self.server.url()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let text = self
            .http
            .post(format!("{}{path}", self.url()))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// A stored token for `user` whose access token lives `expires_in_ms` more.
    pub async fn seed(&self, user: &str, expires_in_ms: i64) -> Token {
        let seeded = self
            .post(
                "/_test/seed",
                json!({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "expires_in_ms": expires_in_ms}),
            )
            .await;
        Token::builder()
            .user_name(user)
            .client_id(CLIENT_ID)
            .client_secret(CLIENT_SECRET)
            .refresh_token(seeded["refresh_token"].as_str().unwrap())
            .access_token(seeded["access_token"].as_str().unwrap())
            .expiry_time(seeded["expiry_time"].as_i64().unwrap())
            .api_domain(seeded["api_domain"].as_str().unwrap())
            .build()
    }

    /// The access token stops being live (revoked or evicted): the CRM answers 401 for it.
    pub async fn drop_access(&self, access: &str) {
        let answer = self
            .post("/_test/drop", json!({ "access_token": access }))
            .await;
        assert_eq!(answer["dropped"], true);
    }

    /// A one-time grant code for the test client.
    pub async fn grant(&self) -> String {
        let answer = self
            .post(
                "/_test/grant",
                json!({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}),
            )
            .await;
        answer["code"].as_str().unwrap().to_owned()
    }

    pub async fn is_live(&self, access: &AccessToken) -> bool {
        self.post(
            "/_test/introspect",
            json!({"access_token": access.secret()}),
        )
        .await["live"]
            .as_bool()
            .unwrap()
    }

    /// One server counter (`refreshes`, `access_denied`, `invalidated`, …).
    pub async fn stat(&self, name: &str) -> u64 {
        let text = self
            .http
            .get(format!("{}/_test/stats", self.url()))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let stats: Value = serde_json::from_str(&text).unwrap();
        stats[name].as_u64().unwrap()
    }
}

/// Fast-polling options against the stand-in.
pub fn options(zoho: &Zoho) -> ManagerOptions {
    ManagerOptions {
        accounts_url: Some(zoho.url().to_owned()),
        poll_interval: Duration::from_millis(50),
        ..ManagerOptions::default()
    }
}

/// The documented defaults, at the stand-in.
pub fn default_options(zoho: &Zoho) -> ManagerOptions {
    ManagerOptions {
        accounts_url: Some(zoho.url().to_owned()),
        ..ManagerOptions::default()
    }
}

pub fn query(user: &str) -> Token {
    Token::builder().user_name(user).build()
}

/// `instances` managers (each its own store handle, lease and cache from `make`), each
/// asking `calls` times at once; every answer.
pub async fn run_instances<F>(
    instances: usize,
    calls: usize,
    user: &str,
    make: F,
) -> Vec<AccessToken>
where
    F: Fn() -> (Arc<dyn TokenStore>, Arc<dyn Lease>, ManagerOptions),
{
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..instances {
        let (store, lease, options) = make();
        let manager = TokenManager::with_options(store, lease, options).unwrap();
        for _ in 0..calls {
            let manager = manager.clone();
            let query = query(user);
            tasks.spawn(async move { manager.access_token(&query).await });
        }
    }
    let mut answers = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        answers.push(joined.unwrap().expect("every caller gets a token"));
    }
    answers
}

/// Every answer is live at the accounts server; the number of distinct tokens handed out.
pub async fn assert_all_live(zoho: &Zoho, answers: &[AccessToken]) -> usize {
    let mut distinct: Vec<&AccessToken> = Vec::new();
    for answer in answers {
        if !distinct.iter().any(|d| d.secret() == answer.secret()) {
            distinct.push(answer);
        }
    }
    for answer in &distinct {
        assert!(zoho.is_live(answer).await, "a handed-out token is not live");
    }
    distinct.len()
}
