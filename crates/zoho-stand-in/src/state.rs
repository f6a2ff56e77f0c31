//! The stand-in's token bookkeeping: refresh tokens, live access tokens, limits, counters.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::{Value, json};

/// The limits the server enforces (Zoho's by default).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Access token lifetime in seconds (`expires_in`).
    pub expires_in: u64,
    /// Mints allowed per refresh token per window.
    pub mints_per_window: usize,
    /// The rate window.
    pub window: Duration,
    /// Live access tokens per refresh token; one more invalidates the oldest.
    pub live_tokens: usize,
}

impl Limits {
    /// Zoho's figures: 3600 s tokens, 10 mints per 10 minutes, 15 live tokens.
    pub fn zoho() -> Self {
        Self {
            expires_in: 3600,
            mints_per_window: 10,
            window: Duration::from_secs(600),
            live_tokens: 15,
        }
    }
}

/// Which of Zoho's two token answer forms the server sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnswerForm {
    /// `"expires_in": 3600` (seconds).
    #[default]
    Seconds,
    /// The older `"expires_in_sec": 3600, "expires_in": 3600000` (`expires_in` in ms).
    Legacy,
}

/// How the server behaves beyond Zoho's limits; changeable at run time (`/_test/config`).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct Behaviour {
    /// The answer form of token answers.
    pub answer_form: AnswerForm,
    /// How long the token endpoint takes to answer, in ms (a slow accounts server).
    pub delay_ms: u64,
    /// The `api_domain` token answers name (default: the server's own URL).
    pub api_domain: Option<String>,
}

impl Behaviour {
    /// Zoho's older answer form, otherwise the defaults.
    pub fn legacy() -> Self {
        Self {
            answer_form: AnswerForm::Legacy,
            ..Self::default()
        }
    }

    /// A token endpoint that takes `delay_ms` to answer, otherwise the defaults.
    pub fn slow(delay_ms: u64) -> Self {
        Self {
            delay_ms,
            ..Self::default()
        }
    }
}

/// Counters the tests read through `/_test/stats`.
#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct Stats {
    /// Successful `grant_type=refresh_token` requests.
    pub refreshes: u64,
    /// Successful grant-code exchanges.
    pub exchanges: u64,
    /// Refreshes answered `Access Denied`.
    pub access_denied: u64,
    /// Requests answered `invalid_code`.
    pub invalid_code: u64,
    /// Access tokens invalidated by the live-token limit.
    pub invalidated: u64,
    /// CRM calls with a live token.
    pub crm_ok: u64,
    /// CRM calls rejected (unknown, expired or invalidated token).
    pub crm_rejected: u64,
    /// Refresh tokens revoked.
    pub revoked: u64,
}

struct Client {
    id: String,
    secret: String,
}

struct RefreshToken {
    client: Client,
    mints: VecDeque<Instant>,
    live: VecDeque<String>,
}

struct State {
    refresh_tokens: HashMap<String, RefreshToken>,
    /// Access token → expiry (Unix ms). Invalidated tokens are removed.
    access_tokens: HashMap<String, i64>,
    grants: HashMap<String, Client>,
    stats: Stats,
}

/// State shared by the handlers.
#[derive(Clone)]
pub(crate) struct Shared {
    state: Arc<Mutex<State>>,
    limits: Limits,
    url: Arc<str>,
    behaviour: Arc<Mutex<Behaviour>>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn random_token(prefix: &str) -> String {
    format!("{prefix}.{:032x}", rand::random::<u128>())
}

fn error(code: &str) -> Value {
    json!({ "error": code })
}

impl Shared {
    pub(crate) fn new(limits: Limits, url: String) -> Self {
        Self {
            state: Arc::new(Mutex::new(State {
                refresh_tokens: HashMap::new(),
                access_tokens: HashMap::new(),
                grants: HashMap::new(),
                stats: Stats::default(),
            })),
            limits,
            url: url.into(),
            behaviour: Arc::default(),
        }
    }

    /// The current behaviour.
    pub(crate) fn behaviour(&self) -> Behaviour {
        self.behaviour
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Replace the behaviour.
    pub(crate) fn set_behaviour(&self, behaviour: Behaviour) {
        *self
            .behaviour
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = behaviour;
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Mint an access token for `refresh`, invalidating the oldest past the live limit.
    fn mint(&self, state: &mut State, refresh: &str, expires_in_ms: i64) -> String {
        let access = random_token("1000");
        let rt = state
            .refresh_tokens
            .get_mut(refresh)
            .expect("known refresh token");
        rt.live.push_back(access.clone());
        let mut dropped = Vec::new();
        while rt.live.len() > self.limits.live_tokens {
            dropped.extend(rt.live.pop_front());
        }
        state.stats.invalidated += dropped.len() as u64;
        for old in dropped {
            state.access_tokens.remove(&old);
        }
        state
            .access_tokens
            .insert(access.clone(), now_ms() + expires_in_ms);
        access
    }

    fn token_answer(&self, access: String, refresh: Option<String>) -> Value {
        let behaviour = self.behaviour();
        let mut body = json!({
            "access_token": access,
            "scope": "ZohoCRM.modules.ALL",
            "api_domain": behaviour.api_domain.as_deref().unwrap_or(&self.url),
            "token_type": "Bearer",
            "expires_in": self.limits.expires_in,
        });
        if behaviour.answer_form == AnswerForm::Legacy {
            body["expires_in_sec"] = json!(self.limits.expires_in);
            body["expires_in"] = json!(self.limits.expires_in * 1000);
        }
        if let Some(refresh) = refresh {
            body["refresh_token"] = Value::String(refresh);
        }
        body
    }

    /// `grant_type=refresh_token`.
    pub(crate) fn refresh(&self, client_id: &str, client_secret: &str, refresh: &str) -> Value {
        let mut state = self.lock();
        let Some(rt) = state.refresh_tokens.get_mut(refresh) else {
            state.stats.invalid_code += 1;
            return error("invalid_code");
        };
        if rt.client.id != client_id || rt.client.secret != client_secret {
            return error("invalid_client");
        }
        let now = Instant::now();
        while rt
            .mints
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.limits.window)
        {
            rt.mints.pop_front();
        }
        if rt.mints.len() >= self.limits.mints_per_window {
            state.stats.access_denied += 1;
            return json!({
                "error_description": "You have made too many requests continuously. Please try again after some time.",
                "error": "Access Denied",
                "status": "failure",
            });
        }
        rt.mints.push_back(now);
        state.stats.refreshes += 1;
        let lifetime = self.limits.expires_in as i64 * 1000;
        let access = self.mint(&mut state, refresh, lifetime);
        self.token_answer(access, None)
    }

    /// `grant_type=authorization_code`.
    pub(crate) fn exchange(&self, client_id: &str, client_secret: &str, code: &str) -> Value {
        let mut state = self.lock();
        let Some(client) = state.grants.remove(code) else {
            state.stats.invalid_code += 1;
            return error("invalid_code");
        };
        if client.id != client_id || client.secret != client_secret {
            return error("invalid_client");
        }
        let refresh = random_token("1000");
        state.refresh_tokens.insert(
            refresh.clone(),
            RefreshToken {
                client,
                mints: VecDeque::new(),
                live: VecDeque::new(),
            },
        );
        state.stats.exchanges += 1;
        let lifetime = self.limits.expires_in as i64 * 1000;
        let access = self.mint(&mut state, &refresh, lifetime);
        self.token_answer(access, Some(refresh))
    }

    /// A new refresh token with one access token that expires in `expires_in_ms` (not counted
    /// as a mint): the state of a token saved an hour ago.
    pub(crate) fn seed(&self, client_id: &str, client_secret: &str, expires_in_ms: i64) -> Value {
        let mut state = self.lock();
        let refresh = random_token("1000");
        state.refresh_tokens.insert(
            refresh.clone(),
            RefreshToken {
                client: Client {
                    id: client_id.to_owned(),
                    secret: client_secret.to_owned(),
                },
                mints: VecDeque::new(),
                live: VecDeque::new(),
            },
        );
        let access = self.mint(&mut state, &refresh, expires_in_ms);
        let expiry_time = state.access_tokens[&access];
        json!({
            "refresh_token": refresh,
            "access_token": access,
            "expiry_time": expiry_time,
            "api_domain": &*self.url,
        })
    }

    /// A one-time grant code for this client.
    pub(crate) fn grant(&self, client_id: &str, client_secret: &str) -> Value {
        let code = random_token("1000");
        self.lock().grants.insert(
            code.clone(),
            Client {
                id: client_id.to_owned(),
                secret: client_secret.to_owned(),
            },
        );
        json!({ "code": code })
    }

    /// Revoke a refresh token and every access token it minted; `false` when unknown.
    pub(crate) fn revoke(&self, refresh: &str) -> bool {
        let mut state = self.lock();
        let Some(rt) = state.refresh_tokens.remove(refresh) else {
            return false;
        };
        for access in rt.live {
            state.access_tokens.remove(&access);
        }
        state.stats.revoked += 1;
        true
    }

    /// Drop one access token, as Zoho does when it is revoked or evicted: the CRM then
    /// answers 401 `INVALID_TOKEN` for it. `false` when unknown.
    pub(crate) fn drop_access_token(&self, access: &str) -> bool {
        self.lock().access_tokens.remove(access).is_some()
    }

    /// Whether an access token is live: minted here, not invalidated, not expired.
    pub(crate) fn is_live(&self, access: &str) -> bool {
        self.lock()
            .access_tokens
            .get(access)
            .is_some_and(|expiry| *expiry > now_ms())
    }

    /// A CRM call: counts and answers whether the token is live.
    pub(crate) fn crm_call(&self, access: &str) -> bool {
        let live = self.is_live(access);
        let mut state = self.lock();
        if live {
            state.stats.crm_ok += 1;
        } else {
            state.stats.crm_rejected += 1;
        }
        live
    }

    pub(crate) fn stats(&self) -> Stats {
        self.lock().stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server() -> (Shared, String, String) {
        let shared = Shared::new(Limits::zoho(), "http://127.0.0.1:1".into());
        let seeded = shared.seed("c", "s", 1_000);
        let refresh = seeded["refresh_token"].as_str().unwrap().to_owned();
        let access = seeded["access_token"].as_str().unwrap().to_owned();
        (shared, refresh, access)
    }

    #[test]
    fn ten_refreshes_per_window_then_access_denied() {
        let (shared, refresh, _) = server();
        for _ in 0..10 {
            let answer = shared.refresh("c", "s", &refresh);
            assert_eq!(answer["expires_in"], 3600);
            assert!(answer.get("refresh_token").is_none(), "no rotation");
        }
        assert_eq!(shared.refresh("c", "s", &refresh)["error"], "Access Denied");
        assert_eq!(shared.stats().refreshes, 10);
        assert_eq!(shared.stats().access_denied, 1);
    }

    #[test]
    fn the_sixteenth_live_token_invalidates_the_oldest() {
        let shared = Shared::new(
            Limits {
                mints_per_window: 100,
                ..Limits::zoho()
            },
            "http://127.0.0.1:1".into(),
        );
        let seeded = shared.seed("c", "s", 3_600_000);
        let refresh = seeded["refresh_token"].as_str().unwrap();
        let oldest = seeded["access_token"].as_str().unwrap();
        let mut minted = Vec::new();
        for _ in 0..14 {
            minted.push(
                shared.refresh("c", "s", refresh)["access_token"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        assert!(shared.is_live(oldest), "15 live tokens");
        shared.refresh("c", "s", refresh);
        assert!(!shared.is_live(oldest), "the 16th invalidated the oldest");
        assert!(minted.iter().all(|t| shared.is_live(t)));
        assert_eq!(shared.stats().invalidated, 1);
        assert!(!shared.crm_call(oldest));
        assert_eq!(shared.stats().crm_rejected, 1);
    }

    #[test]
    fn unknown_refresh_tokens_and_reused_grants_are_invalid_code() {
        let (shared, refresh, _) = server();
        assert_eq!(
            shared.refresh("c", "s", "1000.nope")["error"],
            "invalid_code"
        );
        assert_eq!(
            shared.refresh("c", "wrong", &refresh)["error"],
            "invalid_client"
        );
        let code = shared.grant("c", "s")["code"].as_str().unwrap().to_owned();
        assert!(shared.exchange("c", "s", &code)["refresh_token"].is_string());
        assert_eq!(shared.exchange("c", "s", &code)["error"], "invalid_code");
    }

    #[test]
    fn the_legacy_answer_gives_expires_in_in_milliseconds() {
        let (shared, refresh, _) = server();
        shared.set_behaviour(Behaviour::legacy());
        let answer = shared.refresh("c", "s", &refresh);
        assert_eq!(answer["expires_in_sec"], 3600);
        assert_eq!(answer["expires_in"], 3_600_000);
    }

    #[test]
    fn a_revoked_refresh_token_and_its_access_tokens_are_gone() {
        let (shared, refresh, access) = server();
        let minted = shared.refresh("c", "s", &refresh)["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(shared.revoke(&refresh));
        assert!(!shared.revoke(&refresh), "unknown the second time");
        assert!(!shared.is_live(&minted) && !shared.is_live(&access));
        assert_eq!(shared.refresh("c", "s", &refresh)["error"], "invalid_code");
    }

    #[test]
    fn expired_tokens_are_not_live() {
        let shared = Shared::new(Limits::zoho(), "http://127.0.0.1:1".into());
        let seeded = shared.seed("c", "s", -1);
        assert!(!shared.is_live(seeded["access_token"].as_str().unwrap()));
    }
}
