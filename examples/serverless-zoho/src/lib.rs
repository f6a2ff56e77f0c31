//! What every serverless example does per invocation: get a valid Zoho access token through
//! the [`TokenManager`], call the CRM with it, and report what it cost.
//!
//! Configuration (environment): `TOKEN_STORE_URL` (any store URL, e.g.
//! `aws-secretsmanager://zoho/?region=eu-west-1`), `ZOHO_USER` (the token's user name),
//! `ZOHO_DATA_CENTRE` (US, EU, …; default US) or `ZOHO_ACCOUNTS_URL` (an accounts server URL,
//! e.g. the stand-in's).
//!
//! Every invocation is answered by its deadline (the Lambda context's, less a reserve for the
//! CRM call); a CRM answer 401 (`INVALID_TOKEN`: the token was revoked, or evicted by Zoho's
//! 15-live-tokens limit) is reported to the manager with `invalidate`, and the call is made
//! once more with the token it returns.
#![deny(missing_docs)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use token_store::oauth::{ManagerOptions, ManagerStats, TokenManager, open_manager};
use token_store::{Error, ErrorKind, Token};

/// One function instance: its manager (cache) and HTTP client, built at cold start.
#[derive(Debug)]
pub struct App {
    instance: String,
    manager: TokenManager,
    http: reqwest::Client,
    query: Token,
    cold: AtomicBool,
}

fn stats_json(stats: &ManagerStats) -> Value {
    json!({
        "refreshes": stats.refreshes,
        "warm_hits": stats.warm_hits,
        "store_reads": stats.store_reads,
        "store_writes": stats.store_writes,
        "lease_attempts": stats.lease_attempts,
        "waits": stats.waits,
        "paused": stats.paused,
        "lease_renewals": stats.lease_renewals,
        "invalidations": stats.invalidations,
        "lease_lost": stats.lease_lost,
        "save_failures": stats.save_failures,
        "refresh_failures": stats.refresh_failures,
    })
}

/// Log warnings and errors (never a token value) to standard error, where Lambda, Cloud Run
/// and Azure Functions collect them.
pub fn init_logs() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing_subscriber::filter::LevelFilter::WARN)
        .with_ansi(false)
        .init();
}

/// Time kept back from an invocation's deadline for the CRM call and the answer.
pub const DEADLINE_RESERVE: Duration = Duration::from_millis(500);

/// The instant to have a token by, for an invocation that must end at `deadline` (e.g. the
/// Lambda context's): [`DEADLINE_RESERVE`] earlier.
pub fn token_deadline(deadline: SystemTime) -> Instant {
    let left = deadline
        .duration_since(SystemTime::now())
        .unwrap_or_default()
        .saturating_sub(DEADLINE_RESERVE);
    Instant::now() + left
}

/// Distinguishes instances that got the same pid (separate sandboxes).
fn rand_seed() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos())
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
            instance: format!("{:08x}", std::process::id() ^ rand_seed()),
            manager: open_manager(&env("TOKEN_STORE_URL")?, options).await?,
            http: reqwest::Client::new(),
            query: Token::builder().user_name(env("ZOHO_USER")?).build(),
            cold: AtomicBool::new(true),
        })
    }

    /// One invocation, answered by `deadline` when given: a token, one CRM call (twice when
    /// the CRM rejected the token), and a report without any secret: `{"instance",
    /// "fingerprint", "source", "crm_status", "token_ms", "handler_ms", "cold", "stats"}`
    /// (`source`: where the token came from; `stats`: this instance's [`ManagerStats`] so far).
    pub async fn invoke(&self, deadline: Option<Instant>) -> Result<Value, Error> {
        let started = Instant::now();
        let cold = self.cold.swap(false, Ordering::Relaxed);
        let mut token = match deadline {
            Some(deadline) => self.manager.access_token_by(&self.query, deadline).await?,
            None => self.manager.access_token(&self.query).await?,
        };
        let token_ms = started.elapsed().as_secs_f64() * 1000.0;
        let mut crm_status = self.crm_call(&token).await;
        if crm_status == 401 {
            token = self
                .manager
                .invalidate_by(&self.query, token.secret(), deadline)
                .await?;
            crm_status = self.crm_call(&token).await;
        }
        let stats = self.manager.stats();
        let fingerprint: String = Sha256::digest(token.secret().as_bytes())[..6]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(json!({
            "instance": self.instance,
            "fingerprint": fingerprint,
            "source": token.source().as_str(),
            "crm_status": crm_status,
            "token_ms": token_ms,
            "handler_ms": started.elapsed().as_secs_f64() * 1000.0,
            "cold": cold,
            "stats": stats_json(&stats),
        }))
    }

    /// `GET {api_domain}/crm/v8/org` with the token: the HTTP status (0 when unreachable).
    async fn crm_call(&self, token: &token_store::oauth::AccessToken) -> u16 {
        let api = token.api_domain().unwrap_or("https://www.zohoapis.com");
        self.http
            .get(format!("{api}/crm/v8/org"))
            .header("authorization", token.authorization())
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    }
}
