//! What every serverless example does per invocation: get a valid Zoho access token through
//! the [`TokenManager`], call the CRM with it, and report what it cost.
//!
//! Configuration (environment): `TOKEN_STORE_URL` (any store URL, e.g.
//! `aws-secretsmanager://zoho/?region=eu-west-1`), `ZOHO_USER` (the token's user name),
//! `ZOHO_DATA_CENTRE` (US, EU, …; default US) or `ZOHO_ACCOUNTS_URL` (an accounts server URL,
//! e.g. the stand-in's).
#![deny(missing_docs)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use token_store::oauth::{ManagerOptions, ManagerStats, TokenManager, open_manager};
use token_store::{Error, ErrorKind, Token};

/// One function instance: its manager (cache) and HTTP client, built at cold start.
#[derive(Debug)]
pub struct App {
    manager: TokenManager,
    http: reqwest::Client,
    query: Token,
    cold: AtomicBool,
}

fn env(name: &str) -> Result<String, Error> {
    std::env::var(name).map_err(|_| {
        Error::new(
            ErrorKind::ConfigInvalid,
            format!("set {name} in the function's environment"),
        )
    })
}

impl App {
    /// Build from the environment (see the crate docs).
    pub async fn from_env() -> Result<Self, Error> {
        let mut options = ManagerOptions {
            accounts_url: std::env::var("ZOHO_ACCOUNTS_URL").ok(),
            ..ManagerOptions::default()
        };
        if let Ok(dc) = std::env::var("ZOHO_DATA_CENTRE") {
            options.data_centre = dc.parse()?;
        }
        Ok(Self {
            manager: open_manager(&env("TOKEN_STORE_URL")?, options).await?,
            http: reqwest::Client::new(),
            query: Token::builder().user_name(env("ZOHO_USER")?).build(),
            cold: AtomicBool::new(true),
        })
    }

    /// One invocation: a token, one CRM call, and a report without any secret:
    /// `{"fingerprint", "crm_status", "handler_ms", "cold", "refreshes", "warm_hits",
    /// "store_reads", "store_writes", "lease_attempts"}` (counts are this invocation's).
    pub async fn invoke(&self) -> Result<Value, Error> {
        let started = Instant::now();
        let cold = self.cold.swap(false, Ordering::Relaxed);
        let before = self.manager.stats();
        let token = self.manager.access_token(&self.query).await?;
        let after = self.manager.stats();
        let api = token.api_domain().unwrap_or("https://www.zohoapis.com");
        let crm_status = self
            .http
            .get(format!("{api}/crm/v8/org"))
            .header("authorization", token.authorization())
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0);
        let fingerprint: String = Sha256::digest(token.secret().as_bytes())[..6]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let delta = |f: fn(&ManagerStats) -> u64| f(&after) - f(&before);
        Ok(json!({
            "fingerprint": fingerprint,
            "crm_status": crm_status,
            "handler_ms": started.elapsed().as_secs_f64() * 1000.0,
            "cold": cold,
            "refreshes": delta(|s| s.refreshes),
            "warm_hits": delta(|s| s.warm_hits),
            "store_reads": delta(|s| s.store_reads),
            "store_writes": delta(|s| s.store_writes),
            "lease_attempts": delta(|s| s.lease_attempts),
        }))
    }
}
