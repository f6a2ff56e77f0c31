//! Reading a token endpoint answer: Zoho answers HTTP 200 with an error body, so the JSON
//! body decides, never the status.

use std::time::{Duration, SystemTime};

use serde::Deserialize;
use token_store_core::{Error, ErrorKind};

/// How long Zoho blocks minting once a refresh token hit its limit: at most the 10-minute
/// window, the end the caller is given.
pub const RATE_WINDOW: Duration = Duration::from_secs(600);

/// What the accounts server granted.
#[derive(Clone, PartialEq, Eq)]
pub struct Grant {
    /// The new access token.
    pub access_token: String,
    /// Its lifetime in seconds.
    pub expires_in: u64,
    /// The API domain to call with it, when the server said.
    pub api_domain: Option<String>,
    /// A refresh token: only on a grant-code exchange (refresh tokens do not rotate).
    pub refresh_token: Option<String>,
}

impl std::fmt::Debug for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grant")
            .field("access_token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .field("api_domain", &self.api_domain)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// The end of the rate window a [`ErrorKind::RateLimited`] refresh error carries as its
/// source; read it with [`rate_limited_until`].
#[derive(Debug, Clone, Copy)]
pub struct RateLimitedUntil(pub SystemTime);

impl std::fmt::Display for RateLimitedUntil {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secs = self
            .0
            .duration_since(SystemTime::now())
            .unwrap_or_default()
            .as_secs();
        write!(f, "minting blocked for up to {secs} s more")
    }
}

impl std::error::Error for RateLimitedUntil {}

/// When a `RateLimited` error from the accounts server ends (the window's end), if `err` is one.
pub fn rate_limited_until(err: &Error) -> Option<SystemTime> {
    std::error::Error::source(err)?
        .downcast_ref::<RateLimitedUntil>()
        .map(|until| until.0)
}

#[derive(Deserialize)]
struct Body {
    access_token: Option<String>,
    expires_in: Option<u64>,
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
        return Err(classify(code, now).with_backend(BACKEND));
    }
    match parsed.access_token {
        Some(access_token) if !access_token.is_empty() => Ok(Grant {
            access_token,
            expires_in: parsed.expires_in.unwrap_or(3600),
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

fn classify(code: &str, now: SystemTime) -> Error {
    let lower = code.to_ascii_lowercase();
    if lower.contains("access denied") || lower.contains("too many requests") {
        return Error::new(
            ErrorKind::RateLimited,
            "the refresh token minted its 10 access tokens for this 10-minute window",
        )
        .with_source(RateLimitedUntil(now + RATE_WINDOW));
    }
    match lower.as_str() {
        "invalid_code" => Error::new(
            ErrorKind::Unauthenticated,
            "the accounts server does not know this refresh token or grant code (invalid_code): re-authorise; the stored token was kept",
        ),
        "invalid_client" | "invalid_client_secret" | "unauthorized_client" => Error::new(
            ErrorKind::Unauthenticated,
            "the accounts server rejected the client id or secret",
        ),
        "invalid_redirect_uri" | "unsupported_grant_type" | "invalid_request" => Error::new(
            ErrorKind::InvalidInput,
            format!("the accounts server answered {lower}"),
        ),
        _ => Error::new(
            ErrorKind::Unexpected,
            "the accounts server answered an unknown error",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(body: &str) -> ErrorKind {
        parse(body, SystemTime::now()).unwrap_err().kind()
    }

    #[test]
    fn refresh_answer_has_no_refresh_token() {
        let grant = parse(
            r#"{"access_token":"a","api_domain":"https://www.zohoapis.eu","token_type":"Bearer","expires_in":3600}"#,
            SystemTime::now(),
        )
        .unwrap();
        assert_eq!(grant.expires_in, 3600);
        assert_eq!(grant.api_domain.as_deref(), Some("https://www.zohoapis.eu"));
        assert!(grant.refresh_token.is_none());
        assert!(!format!("{grant:?}").contains("\"a\""));
    }

    #[test]
    fn invalid_code_is_unauthenticated() {
        assert_eq!(
            kind(r#"{"error":"invalid_code"}"#),
            ErrorKind::Unauthenticated
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
    }

    #[test]
    fn html_or_garbage_is_unavailable() {
        assert_eq!(kind("<html>502</html>"), ErrorKind::Unavailable);
        assert_eq!(kind(r#"{"status":"ok"}"#), ErrorKind::Unexpected);
        assert_eq!(kind(r#"{"error":"something_new"}"#), ErrorKind::Unexpected);
    }
}
