//! Reading a token endpoint answer: Zoho answers HTTP 200 with an error body, so the JSON
//! body decides, never the status.
//!
//! Two answer forms exist (both read by the Zoho SDKs, `get_token_expires_in` in the Python
//! SDK's `oauth_token.py`):
//!
//! * `{"access_token": …, "expires_in": 3600}`: `expires_in` in **seconds**;
//! * the older `{"access_token": …, "expires_in_sec": 3600, "expires_in": 3600000}`: when
//!   `expires_in_sec` is present, `expires_in` is in **milliseconds**.
//!
//! Neither field: Zoho's documented 3,600 s. A lifetime outside (0, 24 h] is never stored as
//! is: zero or less is refused, more than a day is clamped to an hour with a warning (an early
//! refresh costs one mint; a late one serves a dead token).

use std::time::{Duration, SystemTime};

use serde::Deserialize;
use token_store_core::{Error, ErrorKind};

/// How long Zoho blocks minting once a refresh token hit its limit: at most the 10-minute
/// window, the end the caller is given.
pub const RATE_WINDOW: Duration = Duration::from_secs(600);

/// The lifetime Zoho documents for access tokens, used when an answer names none or an
/// implausible one.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

/// The longest access-token lifetime accepted from an answer.
pub const MAX_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// What the accounts server granted.
#[derive(Clone, PartialEq, Eq)]
pub struct Grant {
    /// The new access token.
    pub access_token: String,
    /// Its lifetime, in (0, 24 h].
    pub lifetime: Duration,
    /// The API domain to call with it, when the server said.
    pub api_domain: Option<String>,
    /// A refresh token: only on a grant-code exchange (refresh tokens do not rotate).
    pub refresh_token: Option<String>,
}

impl std::fmt::Debug for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grant")
            .field("access_token", &"<redacted>")
            .field("lifetime", &self.lifetime)
            .field("api_domain", &self.api_domain)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// The error code the accounts server answered, readable from an error with
/// [`accounts_error`]. What to do about each is on its variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountsErrorCode {
    /// `invalid_code`: the refresh token or grant code is unknown, revoked or already used.
    /// Re-authorise (a new grant code through [`crate::TokenManager::authorize`]); the stored
    /// token is kept. Kind `Unauthenticated`.
    InvalidCode,
    /// `invalid_client` (also `invalid_client_secret`, `unauthorized_client`): the client id
    /// or secret is wrong, or the client was deleted. Fix the stored client credentials. Kind
    /// `Unauthenticated`.
    InvalidClient,
    /// `invalid_redirect_uri`: the redirect URL differs from the one registered for the
    /// client (grant-code exchange). Fix the token's `redirect_url`. Kind `InvalidInput`.
    InvalidRedirectUri,
    /// `Access Denied` ("too many requests"): this refresh token minted its 10 access tokens
    /// in 10 minutes. Wait for the window's end ([`crate::rate_limited_until`]); every
    /// instance sharing the store is told. Kind `RateLimited`.
    AccessDenied,
    /// `unsupported_grant_type` or `invalid_request`: a malformed request (a bug here or a
    /// proxy in between). Kind `InvalidInput`.
    InvalidRequest,
    /// Any other code (spelled as the server sent it when it is a short plain word). Kind
    /// `Unexpected`.
    Other(String),
}

impl AccountsErrorCode {
    fn from_answer(code: &str) -> Self {
        let lower = code.to_ascii_lowercase();
        if lower.contains("access denied") || lower.contains("too many requests") {
            return Self::AccessDenied;
        }
        match lower.as_str() {
            "invalid_code" => Self::InvalidCode,
            "invalid_client" | "invalid_client_secret" | "unauthorized_client" => {
                Self::InvalidClient
            }
            "invalid_redirect_uri" => Self::InvalidRedirectUri,
            "unsupported_grant_type" | "invalid_request" => Self::InvalidRequest,
            _ => {
                let plain = code.len() <= 64
                    && code
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ' ');
                Self::Other(if plain { code.to_owned() } else { "?".into() })
            }
        }
    }

    /// The code as Zoho spells it (`invalid_code`, `Access Denied`, …).
    pub fn as_str(&self) -> &str {
        match self {
            Self::InvalidCode => "invalid_code",
            Self::InvalidClient => "invalid_client",
            Self::InvalidRedirectUri => "invalid_redirect_uri",
            Self::AccessDenied => "Access Denied",
            Self::InvalidRequest => "invalid_request",
            Self::Other(code) => code,
        }
    }
}

/// The accounts server's answer behind an error: its code and, for `Access Denied`, the end
/// of the rate window. The source of every error the accounts server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountsError {
    /// What the server said.
    pub code: AccountsErrorCode,
    /// For [`AccountsErrorCode::AccessDenied`]: when minting may resume.
    pub rate_limited_until: Option<SystemTime>,
}

impl std::fmt::Display for AccountsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the accounts server answered {}", self.code.as_str())?;
        if let Some(until) = self.rate_limited_until {
            let secs = until
                .duration_since(SystemTime::now())
                .unwrap_or_default()
                .as_secs();
            write!(f, "; minting blocked for up to {secs} s more")?;
        }
        Ok(())
    }
}

impl std::error::Error for AccountsError {}

/// The accounts server's error behind `err`, if the server answered one.
pub fn accounts_error(err: &Error) -> Option<&AccountsError> {
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        if let Some(found) = cause.downcast_ref::<AccountsError>() {
            return Some(found);
        }
        source = cause.source();
    }
    None
}

/// When a `RateLimited` error from the accounts server ends (the window's end), if `err` is one.
pub fn rate_limited_until(err: &Error) -> Option<SystemTime> {
    accounts_error(err)?.rate_limited_until
}

/// A `RateLimited` error whose window ends at `until`, as every instance reports it.
pub(crate) fn rate_limited(until: SystemTime) -> Error {
    Error::new(
        ErrorKind::RateLimited,
        "the refresh token minted its 10 access tokens for this 10-minute window",
    )
    .with_backend(BACKEND)
    .with_source(AccountsError {
        code: AccountsErrorCode::AccessDenied,
        rate_limited_until: Some(until),
    })
}

#[derive(Deserialize)]
struct Body {
    access_token: Option<String>,
    expires_in: Option<i64>,
    expires_in_sec: Option<i64>,
    api_domain: Option<String>,
    refresh_token: Option<String>,
    error: Option<String>,
}

pub(crate) const BACKEND: &str = "zoho-accounts";

/// Classify a token endpoint body. `now` is when the request was answered.
pub(crate) fn parse(body: &str, now: SystemTime) -> Result<Grant, Error> {
    let parsed: Body = serde_json::from_str(body).map_err(|_| {
        Error::new(
            ErrorKind::Unavailable,
            "the accounts server answered with no JSON body",
        )
        .with_backend(BACKEND)
    })?;
    if let Some(code) = parsed.error.as_deref() {
        return Err(classify(code, now));
    }
    match parsed.access_token {
        Some(access_token) if !access_token.is_empty() => Ok(Grant {
            access_token,
            lifetime: lifetime(parsed.expires_in, parsed.expires_in_sec)?,
            api_domain: parsed.api_domain.filter(|d| !d.is_empty()),
            refresh_token: parsed.refresh_token.filter(|t| !t.is_empty()),
        }),
        _ => Err(Error::new(
            ErrorKind::Unexpected,
            "the accounts server answered with neither an access token nor an error",
        )
        .with_backend(BACKEND)),
    }
}

/// The access token's lifetime from the answer's two fields (see the module docs).
fn lifetime(expires_in: Option<i64>, expires_in_sec: Option<i64>) -> Result<Duration, Error> {
    let millis = match (expires_in_sec, expires_in) {
        (Some(secs), millis) => {
            if millis.is_some_and(|ms| ms != secs.saturating_mul(1000)) {
                tracing::warn!(
                    expires_in_sec = secs,
                    expires_in = millis,
                    "the answer's expires_in (ms) and expires_in_sec disagree; using expires_in_sec"
                );
            }
            secs.saturating_mul(1000)
        }
        (None, Some(secs)) => secs.saturating_mul(1000),
        (None, None) => return Ok(DEFAULT_LIFETIME),
    };
    if millis <= 0 {
        return Err(Error::new(
            ErrorKind::Unexpected,
            format!("the accounts server granted an access token with no lifetime ({millis} ms)"),
        )
        .with_backend(BACKEND));
    }
    let lifetime = Duration::from_millis(millis as u64);
    if lifetime > MAX_LIFETIME {
        tracing::warn!(
            lifetime_s = lifetime.as_secs(),
            "the accounts server granted an access token living over 24 h; stored as living 1 h"
        );
        return Ok(DEFAULT_LIFETIME);
    }
    Ok(lifetime)
}

fn classify(code: &str, now: SystemTime) -> Error {
    let code = AccountsErrorCode::from_answer(code);
    let (kind, message) = match &code {
        AccountsErrorCode::AccessDenied => return rate_limited(now + RATE_WINDOW),
        AccountsErrorCode::InvalidCode => (
            ErrorKind::Unauthenticated,
            "the accounts server does not know this refresh token or grant code (invalid_code): re-authorise; the stored token was kept",
        ),
        AccountsErrorCode::InvalidClient => (
            ErrorKind::Unauthenticated,
            "the accounts server rejected the client id or secret (invalid_client)",
        ),
        AccountsErrorCode::InvalidRedirectUri => (
            ErrorKind::InvalidInput,
            "the redirect URL is not the one registered for the client (invalid_redirect_uri)",
        ),
        AccountsErrorCode::InvalidRequest => (
            ErrorKind::InvalidInput,
            "the accounts server refused the request as malformed",
        ),
        AccountsErrorCode::Other(_) => (
            ErrorKind::Unexpected,
            "the accounts server answered an unknown error",
        ),
    };
    Error::new(kind, message)
        .with_backend(BACKEND)
        .with_source(AccountsError {
            code,
            rate_limited_until: None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(body: &str) -> ErrorKind {
        parse(body, SystemTime::now()).unwrap_err().kind()
    }

    fn code(body: &str) -> AccountsErrorCode {
        accounts_error(&parse(body, SystemTime::now()).unwrap_err())
            .unwrap()
            .code
            .clone()
    }

    #[test]
    fn refresh_answer_has_no_refresh_token() {
        let grant = parse(
            r#"{"access_token":"a","api_domain":"https://www.zohoapis.eu","token_type":"Bearer","expires_in":3600}"#,
            SystemTime::now(),
        )
        .unwrap();
        assert_eq!(grant.lifetime, Duration::from_secs(3600));
        assert_eq!(grant.api_domain.as_deref(), Some("https://www.zohoapis.eu"));
        assert!(grant.refresh_token.is_none());
        assert!(!format!("{grant:?}").contains("\"a\""));
    }

    #[test]
    fn the_older_form_gives_expires_in_in_milliseconds() {
        let grant = parse(
            r#"{"access_token":"a","expires_in_sec":3600,"expires_in":3600000}"#,
            SystemTime::now(),
        )
        .unwrap();
        assert_eq!(grant.lifetime, Duration::from_secs(3600));
        let sec_only = parse(
            r#"{"access_token":"a","expires_in_sec":1800}"#,
            SystemTime::now(),
        );
        assert_eq!(sec_only.unwrap().lifetime, Duration::from_secs(1800));
        let neither = parse(r#"{"access_token":"a"}"#, SystemTime::now()).unwrap();
        assert_eq!(neither.lifetime, DEFAULT_LIFETIME);
    }

    #[test]
    fn implausible_lifetimes_are_refused_or_clamped() {
        assert_eq!(
            kind(r#"{"access_token":"a","expires_in":0}"#),
            ErrorKind::Unexpected
        );
        assert_eq!(
            kind(r#"{"access_token":"a","expires_in":-5}"#),
            ErrorKind::Unexpected
        );
        // Milliseconds read as seconds would be 41 days: clamped to the documented hour.
        let long = parse(
            r#"{"access_token":"a","expires_in":3600000}"#,
            SystemTime::now(),
        );
        assert_eq!(long.unwrap().lifetime, DEFAULT_LIFETIME);
        let day = parse(
            r#"{"access_token":"a","expires_in":86400}"#,
            SystemTime::now(),
        );
        assert_eq!(day.unwrap().lifetime, MAX_LIFETIME);
    }

    #[test]
    fn invalid_code_is_unauthenticated_with_its_code() {
        assert_eq!(
            kind(r#"{"error":"invalid_code"}"#),
            ErrorKind::Unauthenticated
        );
        assert_eq!(
            code(r#"{"error":"invalid_code"}"#),
            AccountsErrorCode::InvalidCode
        );
        assert_eq!(
            code(r#"{"error":"invalid_client"}"#),
            AccountsErrorCode::InvalidClient
        );
        assert_eq!(
            kind(r#"{"error":"invalid_redirect_uri"}"#),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            code(r#"{"error":"invalid_redirect_uri"}"#),
            AccountsErrorCode::InvalidRedirectUri
        );
    }

    #[test]
    fn access_denied_is_rate_limited_until_window_end() {
        let now = SystemTime::now();
        let err = parse(
            r#"{"error_description":"You have made too many requests continuously. Please try again after some time.","error":"Access Denied","status":"failure"}"#,
            now,
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::RateLimited);
        assert!(err.is_retryable());
        assert_eq!(rate_limited_until(&err), Some(now + RATE_WINDOW));
        assert_eq!(
            accounts_error(&err).unwrap().code,
            AccountsErrorCode::AccessDenied
        );
    }

    #[test]
    fn html_or_garbage_is_unavailable() {
        assert_eq!(kind("<html>502</html>"), ErrorKind::Unavailable);
        assert_eq!(kind(r#"{"status":"ok"}"#), ErrorKind::Unexpected);
        assert_eq!(kind(r#"{"error":"something_new"}"#), ErrorKind::Unexpected);
        assert_eq!(
            code(r#"{"error":"something_new"}"#),
            AccountsErrorCode::Other("something_new".into())
        );
        assert_eq!(
            code(r#"{"error":"1000.secret-looking/value"}"#),
            AccountsErrorCode::Other("?".into())
        );
    }
}
