//! A stand-in for Zoho's accounts server and a CRM endpoint, for tests and examples.
//!
//! It behaves like Zoho where token refresh is concerned (see `shared/reference/zoho-oauth.md`):
//!
//! * `POST /oauth/v2/token` (form): `grant_type=refresh_token` mints an access token living
//!   `expires_in` 3600 s with the server's own URL as `api_domain`; refresh tokens never rotate
//!   (the answer has no `refresh_token`). `grant_type=authorization_code` exchanges a grant code
//!   once for a refresh and an access token.
//! * Every error is HTTP 200 with a JSON error body: `invalid_code` for an unknown refresh token
//!   or grant code, `invalid_client` for a wrong client, `Access Denied` past 10 mints per
//!   refresh token in 10 minutes.
//! * At most 15 live access tokens per refresh token: the 16th invalidates the oldest.
//! * `GET /crm/v8/org` with `Authorization: Zoho-oauthtoken …` answers 200 for a live token and
//!   401 `INVALID_TOKEN` otherwise.
//! * `POST /oauth/v2/token/revoke?token=…` revokes a refresh token and its access tokens (400
//!   for an unknown token).
//! * Test endpoints under `/_test/`: `seed` (a refresh token plus one access token expiring
//!   when asked), `grant` (a grant code), `introspect` (is an access token live?), `drop` (an
//!   access token stops being live: the CRM then answers 401), `config` (the [`Behaviour`]:
//!   answer form, a delay, the `api_domain` answered) and `stats`.
#![deny(missing_docs)]

mod routes;
mod state;

use std::net::SocketAddr;

pub use state::{AnswerForm, Behaviour, Limits, Stats};

/// A running stand-in server.
#[derive(Debug)]
pub struct StandIn {
    url: String,
    task: tokio::task::JoinHandle<()>,
}

impl StandIn {
    /// Start the server on `addr` (use `127.0.0.1:0` for a free port) with Zoho's limits.
    pub async fn start(addr: SocketAddr) -> std::io::Result<Self> {
        Self::start_with(addr, Limits::zoho()).await
    }

    /// Start the server on `addr` with the given limits.
    pub async fn start_with(addr: SocketAddr, limits: Limits) -> std::io::Result<Self> {
        Self::start_behaving(addr, limits, Behaviour::default()).await
    }

    /// Start the server on `addr` with the given limits and behaviour.
    pub async fn start_behaving(
        addr: SocketAddr,
        limits: Limits,
        behaviour: Behaviour,
    ) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let shared = state::Shared::new(limits, url.clone());
        shared.set_behaviour(behaviour);
        let app = routes::router(shared);
        let task = tokio::spawn(async move {
            // The server runs until the handle is dropped; a serve error ends it.
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { url, task })
    }

    /// Base URL, e.g. `http://127.0.0.1:43123`: the accounts server and the `api_domain`.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}
