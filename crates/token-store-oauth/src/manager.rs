//! [`TokenManager`]: a valid access token per call, refreshed once across instances.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use futures::future::{BoxFuture, FutureExt, Shared};
use token_store_core::{Error, ErrorKind, Result, Token, TokenStore};
use tracing::Instrument;

use crate::access::{AccessToken, Counters, ManagerStats, TokenSource, bump};
use crate::accounts::{AccountsClient, Request, Revoked};
use crate::lease::{Attempt, Lease, key_digest, now_ms, to_ms};
use crate::response::{Grant, accounts_error, rate_limited, rate_limited_until};
use crate::{DataCentre, ManagerOptions};

/// Hands out valid Zoho access tokens from a [`TokenStore`].
///
/// * Warm hit: a token cached in this process that is not due for refresh is returned with no
///   service call.
/// * Otherwise the token is read from the store; when it expires within the refresh buffer
///   (5 minutes less up to 60 s of per-instance jitter by default) it is refreshed at the
///   accounts server and saved.
/// * In-process single flight: concurrent callers for one token share one load/refresh and
///   its result, error included.
/// * Cross-instance single flight: the refresh happens under a [`Lease`] keyed by the
///   refresh token, renewed while the refresh runs. The holder re-reads the store first
///   (someone may have just saved a fresh token). Callers that lose the lease keep serving
///   their still-valid token; when it has expired they wait, re-reading the store, for the
///   holder's saved token, and take the lease themselves once a dead holder's lease ran out.
/// * Every wait is bounded by the caller's deadline ([`access_token_by`](Self::access_token_by)),
///   else by [`ManagerOptions::wait_timeout`]; a caller whose deadline passes gets a still-valid
///   token if there is one, else `Unavailable`.
/// * A failing refresh never hides a valid token: it is served until it expires; the error is
///   returned only once no valid token is left. After a failure this process pauses that
///   token's refreshes (exponential backoff with jitter); "Access Denied" blocks the lease
///   until Zoho's rate window ends, so every instance sharing the store stops asking.
///   Errors from the accounts server carry its code ([`crate::accounts_error`]).
///
/// Cheap to clone; clones share the cache.
#[derive(Clone)]
pub struct TokenManager {
    inner: Arc<Inner>,
}

/// What a flight ends with; the error is shared by every caller of the flight.
type Outcome = Result<AccessToken, Arc<Error>>;

struct Flight {
    id: u64,
    outcome: Shared<BoxFuture<'static, Outcome>>,
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
    flights: Mutex<HashMap<String, Flight>>,
    next_flight: AtomicU64,
    /// Refresh-token key → no refresh from this process before the pause ends.
    pauses: Mutex<HashMap<String, Pause>>,
    counters: Counters,
}

#[derive(Clone)]
struct Cached {
    token: Token,
    /// Serve from the cache until this instant (Unix ms), then look again.
    until_ms: i64,
}

/// A pause after failed refreshes of one token.
struct Pause {
    until_ms: i64,
    failures: u32,
    error: Arc<Error>,
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

    /// A manager with explicit options; `ConfigInvalid` when they cannot work together (see
    /// [`ManagerOptions`]).
    pub fn with_options(
        store: Arc<dyn TokenStore>,
        lease: Arc<dyn Lease>,
        options: ManagerOptions,
    ) -> Result<Self> {
        options.check()?;
        let jitter_ms = options.jitter.as_millis() as i64;
        let jitter = if jitter_ms > 0 {
            rand::random_range(0..jitter_ms)
        } else {
            0
        };
        Ok(Self {
            inner: Arc::new(Inner {
                accounts: AccountsClient::new()?,
                refresh_margin_ms: options.refresh_buffer.as_millis() as i64 - jitter,
                holder: format!("{:016x}", rand::random::<u64>()),
                store,
                lease,
                options,
                cache: Mutex::default(),
                flights: Mutex::default(),
                next_flight: AtomicU64::new(0),
                pauses: Mutex::default(),
                counters: Counters::default(),
            }),
        })
    }

    /// Counters since this manager was built.
    pub fn stats(&self) -> ManagerStats {
        self.inner.counters.snapshot()
    }

    /// A valid access token for the token `query` selects (by id, else as
    /// [`TokenStore::find_token`] does), with its API domain; waits bounded by
    /// [`ManagerOptions::wait_timeout`].
    ///
    /// When nothing is stored, or the query carries a grant code the stored token was not
    /// made from, and the query has client id and secret, the grant code is exchanged (once
    /// across instances) and the new token saved. Errors: `NotFound` when nothing is stored;
    /// the refresh errors described on [`TokenManager`]; store errors once no valid token is
    /// left to serve.
    pub async fn access_token(&self, query: &Token) -> Result<AccessToken> {
        self.get(query, None, None).await
    }

    /// [`access_token`](Self::access_token), answered by `deadline`: the caller's own (a
    /// Lambda context's deadline less the time the handler needs after). When it passes, a
    /// still-valid token is served if there is one, else `Unavailable`; a refresh under way
    /// goes on, and the next call gets its token.
    pub async fn access_token_by(&self, query: &Token, deadline: Instant) -> Result<AccessToken> {
        self.get(query, None, Some(deadline)).await
    }

    /// The API rejected `rejected_access_token` (Zoho CRM: HTTP 401 `INVALID_TOKEN`, after a
    /// revoke or once 15 newer tokens evicted it): refresh, unless the stored access token is
    /// already another one, which is then returned. Many instances reporting the same token
    /// cause one refresh. Never serves `rejected_access_token` again.
    pub async fn invalidate(
        &self,
        query: &Token,
        rejected_access_token: &str,
    ) -> Result<AccessToken> {
        self.invalidate_by(query, rejected_access_token, None).await
    }

    /// [`invalidate`](Self::invalidate) answered by `deadline` (see
    /// [`access_token_by`](Self::access_token_by)).
    pub async fn invalidate_by(
        &self,
        query: &Token,
        rejected_access_token: &str,
        deadline: Option<Instant>,
    ) -> Result<AccessToken> {
        bump(&self.inner.counters.invalidations);
        self.get(query, Some(rejected_access_token), deadline).await
    }

    /// First login, or a new authorisation: exchange the grant code `token` carries (with its
    /// client id and secret, and its redirect URL where the client has one) for a refresh
    /// token, once across instances, and save it; a token already stored for the same user is
    /// updated. A code already exchanged into the store is not sent again (codes are
    /// one-time). `InvalidInput` when `token` has no grant code or no client credentials.
    pub async fn authorize(&self, token: &Token) -> Result<AccessToken> {
        if token.grant_token.is_none() {
            return Err(Error::invalid_input(
                "authorize needs the token's grant code",
            ));
        }
        credentials(token)?;
        self.get(token, None, None).await
    }

    /// Revoke the refresh token of the token `query` selects at the accounts server (Zoho
    /// then revokes every access token it minted) and delete the token from the store. A
    /// refresh token the server no longer knows counts as revoked. `NotFound` when nothing is
    /// stored; on any other error nothing is deleted.
    pub async fn revoke(&self, query: &Token) -> Result<()> {
        let inner = &self.inner;
        let query = query.clone().normalized();
        let key = cache_key(&query)?;
        let stored = inner
            .read(&query)
            .await?
            .ok_or_else(|| Error::not_found("no stored token matches the query"))?;
        if let Some(refresh) = stored.refresh_token.as_deref() {
            let revoked = inner
                .accounts
                .revoke(
                    &inner.accounts_url(&stored),
                    refresh,
                    inner.options.http_timeout,
                )
                .await?;
            if revoked == Revoked::Already {
                tracing::info!("the accounts server no longer knew the refresh token");
            }
            bump(&inner.counters.revocations);
        }
        lock(&inner.cache).remove(&key);
        match &stored.id {
            Some(id) => inner.store.delete_token(id).await,
            None => Ok(()),
        }
    }

    async fn get(
        &self,
        query: &Token,
        rejected: Option<&str>,
        deadline: Option<Instant>,
    ) -> Result<AccessToken> {
        let query = query.clone().normalized();
        let key = cache_key(&query)?;
        let inner = &self.inner;
        match rejected {
            None => {
                if let Some(hit) = inner.cached(&key) {
                    bump(&inner.counters.warm_hits);
                    return Ok(hit);
                }
            }
            Some(rejected) => {
                let mut cache = lock(&inner.cache);
                if cache
                    .get(&key)
                    .is_some_and(|c| c.token.access_token.as_deref() == Some(rejected))
                {
                    cache.remove(&key);
                }
            }
        }
        let (outcome, started) = self.flight(key.clone(), query, rejected.map(str::to_owned));
        let shared = |result: Outcome| match result {
            Ok(token) if started => Ok(token),
            Ok(token) => Ok(token.shared()),
            Err(err) => Err(copy_error(&err)),
        };
        let Some(deadline) = deadline else {
            return shared(outcome.await);
        };
        match tokio::time::timeout_at(deadline.into(), outcome).await {
            Ok(result) => shared(result),
            Err(_) => match inner.valid_cached(&key, rejected) {
                Some(token) => Ok(token),
                None => Err(Error::new(
                    ErrorKind::Unavailable,
                    "the caller's deadline passed before a valid token was ready (the refresh goes on; the next call gets its token)",
                )
                .with_operation("access_token")),
            },
        }
    }

    /// Join the flight for `key` (and rejected token), or start it: the load runs as its own
    /// task, so a caller that gives up does not cut it short. `true` when this call started it.
    fn flight(
        &self,
        key: String,
        query: Token,
        rejected: Option<String>,
    ) -> (Shared<BoxFuture<'static, Outcome>>, bool) {
        let flight_key = match &rejected {
            Some(token) => format!("{key}!{}", key_digest(token)),
            None => key.clone(),
        };
        let mut flights = lock(&self.inner.flights);
        if let Some(flight) = flights.get(&flight_key) {
            return (flight.outcome.clone(), false);
        }
        let id = self.inner.next_flight.fetch_add(1, Ordering::Relaxed);
        let inner = self.inner.clone();
        let task_key = flight_key.clone();
        let task = tokio::spawn(async move {
            let outcome = inner
                .load(&key, &query, rejected.as_deref())
                .await
                .map_err(Arc::new);
            let mut flights = lock(&inner.flights);
            if flights.get(&task_key).is_some_and(|f| f.id == id) {
                flights.remove(&task_key);
            }
            outcome
        });
        let outcome = task
            .map(|joined| {
                joined.unwrap_or_else(|_| {
                    Err(Arc::new(Error::new(
                        ErrorKind::Unexpected,
                        "the token load task panicked",
                    )))
                })
            })
            .boxed()
            .shared();
        flights.insert(
            flight_key,
            Flight {
                id,
                outcome: outcome.clone(),
            },
        );
        (outcome, true)
    }
}

impl Inner {
    fn now(&self) -> i64 {
        now_ms()
    }

    /// Not rejected, and not due for refresh.
    fn is_fresh(&self, token: &Token, rejected: Option<&str>, now: i64) -> bool {
        token.access_token.is_some()
            && token.access_token.as_deref() != rejected
            && !token.is_expired(now, self.refresh_margin_ms)
    }

    /// Not rejected, and living at least `min_validity` more.
    fn is_valid(&self, token: &Token, rejected: Option<&str>, now: i64) -> bool {
        token.access_token.is_some()
            && token.access_token.as_deref() != rejected
            && !token.is_expired(now, self.options.min_validity.as_millis() as i64)
    }

    fn cached(&self, key: &str) -> Option<AccessToken> {
        let now = self.now();
        let cache = lock(&self.cache);
        let entry = cache.get(key)?;
        (now < entry.until_ms && self.is_valid(&entry.token, None, now))
            .then(|| answer(&entry.token, TokenSource::Cache))
    }

    /// A cached token that is still valid, due for refresh or not.
    fn valid_cached(&self, key: &str, rejected: Option<&str>) -> Option<AccessToken> {
        let cache = lock(&self.cache);
        let entry = cache.get(key)?;
        self.is_valid(&entry.token, rejected, self.now())
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

    /// The stored token `query` selects. A grant code is left out of the lookup when a user
    /// name selects the token (it would not change the match, and the store would fill it into
    /// the answer, hiding whether the stored token was made from it).
    async fn read(&self, query: &Token) -> Result<Option<Token>> {
        bump(&self.counters.store_reads);
        match &query.id {
            Some(id) => self.store.find_token_by_id(id).await,
            None if query.user_name.is_some() && query.grant_token.is_some() => {
                let lookup = Token {
                    grant_token: None,
                    ..query.clone()
                };
                self.store.find_token(&lookup).await
            }
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

    /// The accounts server for `token`: the global override, else its data centre's (from its
    /// API domain, else the configured one), overridden per data centre where set.
    fn accounts_url(&self, token: &Token) -> String {
        if let Some(url) = &self.options.accounts_url {
            return url.clone();
        }
        let dc = token
            .api_domain
            .as_deref()
            .and_then(DataCentre::from_api_domain)
            .unwrap_or(self.options.data_centre);
        self.options
            .accounts_urls
            .get(&dc)
            .cloned()
            .unwrap_or_else(|| dc.accounts_url().to_owned())
    }

    /// One flight: read the token (exchanging a grant code when that is what the query
    /// asks), then make sure it is fresh.
    async fn load(&self, key: &str, query: &Token, rejected: Option<&str>) -> Result<AccessToken> {
        let stored = match self.read(query).await {
            Ok(stored) => stored,
            Err(err) => {
                if let Some(token) = self.valid_cached(key, rejected) {
                    tracing::warn!(kind = %err.kind().as_str(), "the store cannot be read; serving the cached, still-valid token");
                    return Ok(token);
                }
                return Err(err);
            }
        };
        let new_grant = query.grant_token.is_some()
            && query.client_id.is_some()
            && !stored.as_ref().is_some_and(|s| made_from(s, query));
        let token = match stored {
            _ if new_grant => {
                let token = self.exchange(query).await?;
                return Ok(self.remember(key, &token, TokenSource::Exchanged));
            }
            Some(token) if token.refresh_token.is_some() || token.access_token.is_some() => token,
            _ => return Err(Error::not_found("no stored token matches the query")),
        };
        self.ensure_fresh(key, query, token, rejected).await
    }

    async fn ensure_fresh(
        &self,
        key: &str,
        query: &Token,
        mut token: Token,
        rejected: Option<&str>,
    ) -> Result<AccessToken> {
        if self.is_fresh(&token, rejected, self.now()) {
            return Ok(self.remember(key, &token, TokenSource::Store));
        }
        let Some(refresh) = token.refresh_token.clone() else {
            return self.serve_or(key, &token, rejected, || {
                Error::new(
                    ErrorKind::Unauthenticated,
                    "the stored token has no refresh token",
                )
            });
        };
        let refresh_key = format!("refresh:{}", key_digest(&refresh));
        if let Some(error) = self.paused(&refresh_key) {
            bump(&self.counters.paused);
            return self.serve_or(key, &token, rejected, || copy_error(&error));
        }
        let deadline = self.now() + self.options.wait_timeout.as_millis() as i64;
        let mut waited = false;
        loop {
            bump(&self.counters.lease_attempts);
            let attempt = self
                .lease
                .try_acquire(&refresh_key, &self.holder, self.options.lease_ttl)
                .await;
            match attempt {
                Err(err) if self.is_valid(&token, rejected, self.now()) => {
                    tracing::warn!(kind = %err.kind().as_str(), "lease failed; serving the still-valid token");
                    return Ok(self.remember(key, &token, TokenSource::Store));
                }
                Err(err) => return Err(err),
                Ok(Attempt::Acquired) => {
                    let (result, block) = self
                        .refresh_holding(key, query, &token, &refresh_key, rejected)
                        .await;
                    let given_back = match block {
                        Some(until) => self.lease.block(&refresh_key, &self.holder, until).await,
                        None => self.lease.release(&refresh_key, &self.holder).await,
                    };
                    if let Err(err) = given_back {
                        tracing::warn!(kind = %err.kind().as_str(), "lease release failed; it expires by itself");
                    }
                    return result;
                }
                Ok(Attempt::Blocked(until)) => {
                    bump(&self.counters.paused);
                    let err = rate_limited(until);
                    self.pause(&refresh_key, &err);
                    return self.serve_or(key, &token, rejected, || err);
                }
                Ok(Attempt::Held) => {}
            }
            bump(&self.counters.lease_lost);
            if self.is_valid(&token, rejected, self.now()) {
                return Ok(self.remember(key, &token, TokenSource::Store));
            }
            if !waited {
                waited = true;
                bump(&self.counters.waits);
            }
            if self.now() >= deadline {
                return Err(Error::new(
                    ErrorKind::Unavailable,
                    "timed out waiting for another instance to refresh the token",
                )
                .with_operation("access_token"));
            }
            tokio::time::sleep(self.options.poll_interval).await;
            match self.reread(query, &token).await {
                Ok(Some(latest)) if self.is_fresh(&latest, rejected, self.now()) => {
                    return Ok(self.remember(key, &latest, TokenSource::Store));
                }
                Ok(Some(latest)) => token = latest,
                Ok(None) => {}
                Err(err) => {
                    tracing::warn!(kind = %err.kind().as_str(), "re-reading the store while waiting failed");
                }
            }
        }
    }

    /// Holding the lease: re-read, and refresh unless another instance just did. Returns the
    /// answer and, after "Access Denied", the rate window's end to block the lease until.
    async fn refresh_holding(
        &self,
        key: &str,
        query: &Token,
        token: &Token,
        refresh_key: &str,
        rejected: Option<&str>,
    ) -> (Result<AccessToken>, Option<SystemTime>) {
        let current = match self.reread(query, token).await {
            Ok(found) => found.unwrap_or_else(|| token.clone()),
            Err(err) => {
                tracing::warn!(kind = %err.kind().as_str(), "re-reading under the lease failed; refreshing the token read before");
                token.clone()
            }
        };
        if self.is_fresh(&current, rejected, self.now()) {
            return (Ok(self.remember(key, &current, TokenSource::Store)), None);
        }
        let span = tracing::info_span!(
            "token_refresh",
            token_id = current.id.as_deref().unwrap_or("-"),
            outcome = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
        );
        let started = Instant::now();
        let answer = self
            .refresh_renewing(&current, refresh_key)
            .instrument(span.clone())
            .await;
        span.record("duration_ms", started.elapsed().as_millis() as u64);
        match answer {
            Ok(grant) => {
                span.record("outcome", "refreshed");
                bump(&self.counters.refreshes);
                lock(&self.pauses).remove(refresh_key);
                let updated = self.save_grant(current, grant).await;
                (
                    Ok(self.remember(key, &updated, TokenSource::Refreshed)),
                    None,
                )
            }
            Err(err) => {
                let code = accounts_error(&err).map_or(err.kind().as_str(), |a| a.code.as_str());
                span.record("outcome", code);
                bump(&self.counters.refresh_failures);
                tracing::warn!(parent: &span, kind = %err.kind().as_str(), "token refresh failed");
                self.pause(refresh_key, &err);
                let block = rate_limited_until(&err);
                (self.serve_or(key, &current, rejected, || err), block)
            }
        }
    }

    /// The refresh request, renewing the lease every third of its length while it runs.
    async fn refresh_renewing(&self, current: &Token, refresh_key: &str) -> Result<Grant> {
        let (client_id, client_secret) = credentials(current)?;
        let refresh_token = current.refresh_token.as_deref().unwrap_or_default();
        let accounts_url = self.accounts_url(current);
        let post = self.accounts.post(
            &accounts_url,
            client_id,
            client_secret,
            Request::Refresh { refresh_token },
            self.options.http_timeout,
        );
        let renew = async {
            let ttl = self.options.lease_ttl;
            loop {
                tokio::time::sleep(ttl / 3).await;
                match self.lease.renew(refresh_key, &self.holder, ttl).await {
                    Ok(true) => bump(&self.counters.lease_renewals),
                    Ok(false) => {
                        tracing::warn!(
                            "the lease ran out during the refresh; another instance may refresh too"
                        );
                        std::future::pending::<()>().await;
                    }
                    Err(err) => {
                        tracing::warn!(kind = %err.kind().as_str(), "renewing the lease failed");
                    }
                }
            }
        };
        tokio::select! {
            answer = post => answer,
            () = renew => unreachable!("the renewal loop never ends"),
        }
    }

    /// Serve `token` while it is valid (cached only briefly), else the error.
    fn serve_or(
        &self,
        key: &str,
        token: &Token,
        rejected: Option<&str>,
        error: impl FnOnce() -> Error,
    ) -> Result<AccessToken> {
        if self.is_valid(token, rejected, self.now()) {
            Ok(self.remember(key, token, TokenSource::Store))
        } else {
            Err(error())
        }
    }

    /// The error to answer with while refreshes of `refresh_key` are paused.
    fn paused(&self, refresh_key: &str) -> Option<Arc<Error>> {
        let pauses = lock(&self.pauses);
        let pause = pauses.get(refresh_key)?;
        (pause.until_ms > self.now()).then(|| pause.error.clone())
    }

    /// Pause refreshes of `refresh_key` after `err`: until the rate window's end, else for an
    /// exponential backoff with jitter.
    fn pause(&self, refresh_key: &str, err: &Error) {
        let mut pauses = lock(&self.pauses);
        let failures = pauses.get(refresh_key).map_or(0, |p| p.failures) + 1;
        let until_ms = match rate_limited_until(err) {
            Some(until) => to_ms(until),
            None => self.now() + backoff(&self.options, failures).as_millis() as i64,
        };
        pauses.insert(
            refresh_key.to_owned(),
            Pause {
                until_ms,
                failures,
                error: Arc::new(copy_error(err)),
            },
        );
    }

    /// Store a minted token; a failed save is counted and logged, and the token still served.
    async fn save_grant(&self, mut token: Token, grant: Grant) -> Token {
        token.access_token = Some(grant.access_token);
        token.expiry_time = Some(self.now() + grant.lifetime.as_millis() as i64);
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

    /// Exchange the query's grant code for a token, once across instances.
    async fn exchange(&self, query: &Token) -> Result<Token> {
        let code = query.grant_token.clone().unwrap_or_default();
        let lease_key = format!("grant:{}", key_digest(&code));
        let deadline = self.now() + self.options.wait_timeout.as_millis() as i64;
        loop {
            bump(&self.counters.lease_attempts);
            let attempt = self
                .lease
                .try_acquire(&lease_key, &self.holder, self.options.lease_ttl)
                .await?;
            if attempt == Attempt::Acquired {
                let result = self.exchange_holding(query).await;
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
            if let Ok(Some(saved)) = self.read(query).await
                && made_from(&saved, query)
            {
                return Ok(saved);
            }
        }
    }

    async fn exchange_holding(&self, query: &Token) -> Result<Token> {
        let stored = self.read(query).await?;
        if let Some(saved) = &stored
            && made_from(saved, query)
        {
            return Ok(saved.clone());
        }
        let (client_id, client_secret) = credentials(query)?;
        let request = Request::Exchange {
            code: query.grant_token.as_deref().unwrap_or_default(),
            redirect_uri: query.redirect_url.as_deref(),
        };
        let grant = self
            .accounts
            .post(
                &self.accounts_url(query),
                client_id,
                client_secret,
                request,
                self.options.http_timeout,
            )
            .await
            .inspect_err(|_| bump(&self.counters.refresh_failures))?;
        bump(&self.counters.exchanges);
        // Update the stored token (a new authorisation of the same user), else save the query.
        let mut token = stored.unwrap_or_else(|| query.clone());
        token.grant_token.clone_from(&query.grant_token);
        token.client_id.clone_from(&query.client_id);
        token.client_secret.clone_from(&query.client_secret);
        if query.redirect_url.is_some() {
            token.redirect_url.clone_from(&query.redirect_url);
        }
        Ok(self.save_grant(token, grant).await)
    }
}

/// Whether `stored` was made from the grant code `query` carries (and so needs no exchange).
fn made_from(stored: &Token, query: &Token) -> bool {
    stored.refresh_token.is_some()
        && (query.grant_token.is_none() || stored.grant_token == query.grant_token)
}

/// The pause after `failures` failed refreshes in a row: `backoff_base` doubled per further
/// failure, capped at `backoff_max`, the upper half drawn at random.
fn backoff(options: &ManagerOptions, failures: u32) -> Duration {
    let doubled = options
        .backoff_base
        .saturating_mul(1 << failures.saturating_sub(1).min(20));
    let full = doubled.min(options.backoff_max);
    let half = full / 2;
    half + Duration::from_millis(rand::random_range(0..=half.as_millis() as u64))
}

/// A copy of a shared error for one caller: kind, message, backend, operation, retryability,
/// and the accounts server's answer (or the original, as the source).
fn copy_error(err: &Error) -> Error {
    let mut copy = Error::new(err.kind(), err.message()).with_retryable(err.is_retryable());
    if !err.backend().is_empty() {
        copy = copy.with_backend(err.backend());
    }
    if !err.operation().is_empty() {
        copy = copy.with_operation(err.operation());
    }
    match accounts_error(err) {
        Some(answer) => copy.with_source(answer.clone()),
        None => copy,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap() {
        let options = ManagerOptions::default();
        for (failures, full) in [(1, 1), (2, 2), (3, 4), (7, 60), (40, 60)] {
            let pause = backoff(&options, failures);
            let full = Duration::from_secs(full);
            assert!(pause >= full / 2 && pause <= full, "{failures}: {pause:?}");
        }
    }

    #[test]
    fn a_copied_error_keeps_the_accounts_servers_code() {
        let until = SystemTime::now() + Duration::from_secs(60);
        let copy = copy_error(&rate_limited(until));
        assert_eq!(copy.kind(), ErrorKind::RateLimited);
        assert_eq!(rate_limited_until(&copy), Some(until));
    }
}
