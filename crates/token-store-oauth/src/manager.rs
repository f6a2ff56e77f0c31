//! [`TokenManager`]: a valid access token per call, refreshed once across instances.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use token_store_core::{Error, ErrorKind, Result, Token, TokenStore};

use crate::access::{AccessToken, Counters, ManagerStats, TokenSource, bump};
use crate::accounts::{AccountsClient, Request};
use crate::lease::{Lease, key_digest, now_ms};
use crate::response::{Grant, rate_limited_until};
use crate::{DataCentre, ManagerOptions};

/// Hands out valid Zoho access tokens from a [`TokenStore`].
///
/// * Warm hit: a token cached in this process that is not due for refresh is returned with no
///   service call.
/// * Otherwise the token is read from the store; when it expires within the refresh buffer
///   (5 minutes less up to 60 s of per-instance jitter by default) it is refreshed at the
///   accounts server and saved.
/// * In-process single flight: concurrent callers for one token wait for one load/refresh.
/// * Cross-instance single flight: the refresh happens under a [`Lease`] keyed by the
///   refresh token. The holder re-reads the store first (someone may have just saved a fresh
///   token). Callers that lose the lease keep serving their still-valid token; when it has
///   expired they wait, re-reading the store, for the holder's saved token.
/// * A failing refresh never hides a valid token: it is served until it expires; the error
///   is returned only once no valid token is left. `invalid_code` gives
///   [`ErrorKind::Unauthenticated`] and keeps the stored token; "Access Denied" gives
///   [`ErrorKind::RateLimited`] (window end: [`crate::rate_limited_until`]) and no further
///   refresh of that token is tried from this instance before the window ends.
///
/// Cheap to clone; clones share the cache.
#[derive(Clone)]
pub struct TokenManager {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn TokenStore>,
    lease: Arc<dyn Lease>,
    accounts: AccountsClient,
    options: ManagerOptions,
    holder: String,
    /// Refresh when fewer than this many ms are left (buffer less this instance's jitter).
    refresh_margin_ms: i64,
    cache: Mutex<HashMap<String, Cached>>,
    flights: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Refresh-token digest → Unix ms before which the accounts server said Access Denied.
    blocked: Mutex<HashMap<String, i64>>,
    counters: Counters,
}

#[derive(Clone)]
struct Cached {
    token: Token,
    /// Serve from the cache until this instant (Unix ms), then look again.
    until_ms: i64,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl std::fmt::Debug for TokenManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenManager")
            .field("store", &self.inner.store)
            .field("lease", &self.inner.lease)
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

/// The cache key of a query: its id, else user name, else a digest of its refresh or grant token.
fn cache_key(query: &Token) -> Result<String> {
    let query = query.clone().normalized();
    if let Some(id) = &query.id {
        Ok(format!("id:{id}"))
    } else if let Some(user) = &query.user_name {
        Ok(format!("user:{}", key_digest(user)))
    } else if let Some(refresh) = &query.refresh_token {
        Ok(format!("refresh:{}", key_digest(refresh)))
    } else if let Some(grant) = &query.grant_token {
        Ok(format!("grant:{}", key_digest(grant)))
    } else {
        Err(Error::invalid_input(
            "a token query needs an id, a user name, a refresh token or a grant token",
        ))
    }
}

impl TokenManager {
    /// A manager over `store`, coordinating refreshes through `lease`, with default options.
    pub fn new(store: Arc<dyn TokenStore>, lease: Arc<dyn Lease>) -> Result<Self> {
        Self::with_options(store, lease, ManagerOptions::default())
    }

    /// A manager with explicit options.
    pub fn with_options(
        store: Arc<dyn TokenStore>,
        lease: Arc<dyn Lease>,
        options: ManagerOptions,
    ) -> Result<Self> {
        let jitter_ms = options.jitter.as_millis() as i64;
        let jitter = if jitter_ms > 0 {
            rand::random_range(0..jitter_ms)
        } else {
            0
        };
        Ok(Self {
            inner: Arc::new(Inner {
                accounts: AccountsClient::new(options.http_timeout)?,
                refresh_margin_ms: options.refresh_buffer.as_millis() as i64 - jitter,
                holder: format!("{:016x}", rand::random::<u64>()),
                store,
                lease,
                options,
                cache: Mutex::default(),
                flights: Mutex::default(),
                blocked: Mutex::default(),
                counters: Counters::default(),
            }),
        })
    }

    /// Counters since this manager was built.
    pub fn stats(&self) -> ManagerStats {
        self.inner.counters.snapshot()
    }

    /// A valid access token for the token `query` selects (by id, else as
    /// [`TokenStore::find_token`] does), with its API domain.
    ///
    /// When nothing is stored and `query` carries a grant token with client id and secret,
    /// the grant is exchanged and the new token saved. Errors: `NotFound` when nothing is
    /// stored; the refresh errors described on [`TokenManager`]; store errors as they come.
    pub async fn access_token(&self, query: &Token) -> Result<AccessToken> {
        let key = cache_key(query)?;
        if let Some(hit) = self.inner.cached(&key) {
            bump(&self.inner.counters.warm_hits);
            return Ok(hit);
        }
        let flight = lock(&self.inner.flights)
            .entry(key.clone())
            .or_default()
            .clone();
        let _one_at_a_time = flight.lock().await;
        if let Some(hit) = self.inner.cached(&key) {
            bump(&self.inner.counters.warm_hits);
            return Ok(hit);
        }
        let query = query.clone().normalized();
        let (token, exchanged) = match self.inner.read(&query).await? {
            Some(token) if token.refresh_token.is_some() || token.access_token.is_some() => {
                (token, false)
            }
            Some(_) | None if query.grant_token.is_some() => {
                (self.inner.exchange(&query).await?, true)
            }
            _ => return Err(Error::not_found("no stored token matches the query")),
        };
        let mut answer = self.inner.ensure_fresh(&key, &query, token).await?;
        if exchanged && answer.source == TokenSource::Store {
            answer.source = TokenSource::Exchanged;
        }
        Ok(answer)
    }
}

impl Inner {
    fn now(&self) -> i64 {
        now_ms()
    }

    fn is_fresh(&self, token: &Token, now: i64) -> bool {
        token.access_token.is_some() && !token.is_expired(now, self.refresh_margin_ms)
    }

    fn is_valid(&self, token: &Token, now: i64) -> bool {
        token.access_token.is_some()
            && !token.is_expired(now, self.options.min_validity.as_millis() as i64)
    }

    fn cached(&self, key: &str) -> Option<AccessToken> {
        let now = self.now();
        let cache = lock(&self.cache);
        let entry = cache.get(key)?;
        (now < entry.until_ms && self.is_valid(&entry.token, now))
            .then(|| answer(&entry.token, TokenSource::Cache))
    }

    /// Cache `token` until it is due for refresh, or for `stale_recheck` when it already is.
    fn remember(&self, key: &str, token: &Token, source: TokenSource) -> AccessToken {
        let now = self.now();
        let expiry = token.expiry_time.unwrap_or(now);
        let due = expiry - self.refresh_margin_ms;
        let until_ms = if due > now {
            due
        } else {
            now + self.options.stale_recheck.as_millis() as i64
        };
        lock(&self.cache).insert(
            key.to_owned(),
            Cached {
                token: token.clone(),
                until_ms,
            },
        );
        answer(token, source)
    }

    async fn read(&self, query: &Token) -> Result<Option<Token>> {
        bump(&self.counters.store_reads);
        match &query.id {
            Some(id) => self.store.find_token_by_id(id).await,
            None => self.store.find_token(query).await,
        }
    }

    /// Re-read the token `known` came from, by its id when the store gave one.
    async fn reread(&self, query: &Token, known: &Token) -> Result<Option<Token>> {
        match &known.id {
            Some(id) => {
                bump(&self.counters.store_reads);
                self.store.find_token_by_id(id).await
            }
            None => self.read(query).await,
        }
    }

    fn accounts_url(&self, token: &Token) -> String {
        if let Some(url) = &self.options.accounts_url {
            return url.clone();
        }
        let dc = token
            .api_domain
            .as_deref()
            .and_then(DataCentre::from_api_domain)
            .unwrap_or(self.options.data_centre);
        dc.accounts_url().to_owned()
    }

    async fn ensure_fresh(
        &self,
        key: &str,
        query: &Token,
        mut token: Token,
    ) -> Result<AccessToken> {
        if self.is_fresh(&token, self.now()) {
            return Ok(self.remember(key, &token, TokenSource::Store));
        }
        let Some(refresh) = token.refresh_token.clone() else {
            return self.serve_or(key, &token, || {
                Error::new(
                    ErrorKind::Unauthenticated,
                    "the stored token has no refresh token",
                )
            });
        };
        let refresh_key = format!("refresh:{}", key_digest(&refresh));
        if let Some(until) = lock(&self.blocked).get(&refresh_key).copied()
            && until > self.now()
        {
            return self.serve_or(key, &token, || {
                Error::new(
                    ErrorKind::RateLimited,
                    "the refresh token is blocked for this rate window",
                )
            });
        }
        let deadline = self.now() + self.options.wait_timeout.as_millis() as i64;
        loop {
            bump(&self.counters.lease_attempts);
            let acquired = match self
                .lease
                .try_acquire(&refresh_key, &self.holder, self.options.lease_ttl)
                .await
            {
                Ok(acquired) => acquired,
                Err(err) if self.is_valid(&token, self.now()) => {
                    tracing::warn!(kind = %err.kind().as_str(), "lease failed; serving the still-valid token");
                    return Ok(self.remember(key, &token, TokenSource::Store));
                }
                Err(err) => return Err(err),
            };
            if acquired {
                let result = self
                    .refresh_holding(key, query, &token, &refresh, &refresh_key)
                    .await;
                if let Err(err) = self.lease.release(&refresh_key, &self.holder).await {
                    tracing::warn!(kind = %err.kind().as_str(), "lease release failed; it expires by itself");
                }
                return result;
            }
            bump(&self.counters.lease_lost);
            if self.is_valid(&token, self.now()) {
                return Ok(self.remember(key, &token, TokenSource::Store));
            }
            if self.now() >= deadline {
                return Err(Error::new(
                    ErrorKind::Unavailable,
                    "timed out waiting for another instance to refresh the token",
                )
                .with_operation("access_token"));
            }
            tokio::time::sleep(self.options.poll_interval).await;
            if let Some(latest) = self.reread(query, &token).await? {
                if self.is_fresh(&latest, self.now()) {
                    return Ok(self.remember(key, &latest, TokenSource::Store));
                }
                token = latest;
            }
        }
    }

    /// Holding the lease: re-read, and refresh unless another instance just did.
    async fn refresh_holding(
        &self,
        key: &str,
        query: &Token,
        token: &Token,
        refresh: &str,
        refresh_key: &str,
    ) -> Result<AccessToken> {
        let current = self
            .reread(query, token)
            .await?
            .unwrap_or_else(|| token.clone());
        if self.is_fresh(&current, self.now()) {
            return Ok(self.remember(key, &current, TokenSource::Store));
        }
        let (client_id, client_secret) = credentials(&current)?;
        let answer = self
            .accounts
            .post(
                &self.accounts_url(&current),
                client_id,
                client_secret,
                Request::Refresh {
                    // The stored one, should the user have re-authorised meanwhile.
                    refresh_token: current.refresh_token.as_deref().unwrap_or(refresh),
                },
            )
            .await;
        match answer {
            Ok(grant) => {
                bump(&self.counters.refreshes);
                let updated = self.save_grant(current, grant).await;
                Ok(self.remember(key, &updated, TokenSource::Refreshed))
            }
            Err(err) => {
                bump(&self.counters.refresh_failures);
                if let Some(until) = rate_limited_until(&err) {
                    let until_ms = until
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_millis() as i64);
                    lock(&self.blocked).insert(refresh_key.to_owned(), until_ms);
                }
                tracing::warn!(kind = %err.kind().as_str(), "token refresh failed");
                let kept = err;
                self.serve_or(key, &current, move || kept)
            }
        }
    }

    /// Serve `token` while it is valid (cached only briefly), else the error.
    fn serve_or(
        &self,
        key: &str,
        token: &Token,
        error: impl FnOnce() -> Error,
    ) -> Result<AccessToken> {
        if self.is_valid(token, self.now()) {
            Ok(self.remember(key, token, TokenSource::Store))
        } else {
            Err(error())
        }
    }

    /// Store a minted token; a failed save is counted and logged, and the token still served.
    async fn save_grant(&self, mut token: Token, grant: Grant) -> Token {
        token.access_token = Some(grant.access_token);
        token.expiry_time = Some(self.now() + grant.expires_in as i64 * 1000);
        if grant.api_domain.is_some() {
            token.api_domain = grant.api_domain;
        }
        if grant.refresh_token.is_some() {
            token.refresh_token = grant.refresh_token;
        }
        bump(&self.counters.store_writes);
        match self.store.save_token(&token).await {
            Ok(saved) => saved,
            Err(err) => {
                bump(&self.counters.save_failures);
                tracing::error!(kind = %err.kind().as_str(), "saving the refreshed token failed; other instances will refresh again");
                token
            }
        }
    }

    /// Exchange the query's grant code for a first token, once across instances.
    async fn exchange(&self, query: &Token) -> Result<Token> {
        let code = query.grant_token.clone().unwrap_or_default();
        let lease_key = format!("grant:{}", key_digest(&code));
        let deadline = self.now() + self.options.wait_timeout.as_millis() as i64;
        loop {
            bump(&self.counters.lease_attempts);
            if self
                .lease
                .try_acquire(&lease_key, &self.holder, self.options.lease_ttl)
                .await?
            {
                let result = self.exchange_holding(query, &code).await;
                if let Err(err) = self.lease.release(&lease_key, &self.holder).await {
                    tracing::warn!(kind = %err.kind().as_str(), "lease release failed; it expires by itself");
                }
                return result;
            }
            bump(&self.counters.lease_lost);
            if self.now() >= deadline {
                return Err(Error::new(
                    ErrorKind::Unavailable,
                    "timed out waiting for another instance's grant exchange",
                ));
            }
            tokio::time::sleep(self.options.poll_interval).await;
            if let Some(saved) = self.read(query).await?
                && saved.refresh_token.is_some()
            {
                return Ok(saved);
            }
        }
    }

    async fn exchange_holding(&self, query: &Token, code: &str) -> Result<Token> {
        if let Some(saved) = self.read(query).await?
            && saved.refresh_token.is_some()
        {
            return Ok(saved);
        }
        let (client_id, client_secret) = credentials(query)?;
        let request = Request::Exchange {
            code,
            redirect_uri: query.redirect_url.as_deref(),
        };
        let grant = self
            .accounts
            .post(&self.accounts_url(query), client_id, client_secret, request)
            .await
            .inspect_err(|_| bump(&self.counters.refresh_failures))?;
        bump(&self.counters.exchanges);
        Ok(self.save_grant(query.clone(), grant).await)
    }
}

fn credentials(token: &Token) -> Result<(&str, &str)> {
    match (token.client_id.as_deref(), token.client_secret.as_deref()) {
        (Some(id), Some(secret)) => Ok((id, secret)),
        _ => Err(Error::new(
            ErrorKind::InvalidInput,
            "refreshing needs the token's client id and client secret",
        )),
    }
}

fn answer(token: &Token, source: TokenSource) -> AccessToken {
    AccessToken {
        source,
        secret: token.access_token.clone().unwrap_or_default(),
        api_domain: token.api_domain.clone(),
        expiry_time: token.expiry_time.unwrap_or(0),
    }
}
