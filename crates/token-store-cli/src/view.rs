//! How a token is shown: secrets redacted unless revealed, expiry in local time and relative.

use chrono::{Local, TimeZone};
use serde_json::{Value, json};
use token_store::Token;

/// Milliseconds since the Unix epoch now.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// `2026-11-29 23:40 (in 23 min)`, `… (expired)`, or `-` when there is no expiry.
pub fn expiry(expiry_ms: Option<i64>, now_ms: i64) -> String {
    let Some(ms) = expiry_ms else {
        return "-".into();
    };
    let local = Local.timestamp_millis_opt(ms).single().map_or_else(
        || ms.to_string(),
        |t| t.format("%Y-%m-%d %H:%M").to_string(),
    );
    format!("{local} ({})", relative(ms - now_ms))
}

fn relative(delta_ms: i64) -> String {
    if delta_ms <= 0 {
        return "expired".into();
    }
    let minutes = delta_ms / 60_000;
    match minutes {
        0 => "in <1 min".into(),
        1..=119 => format!("in {minutes} min"),
        120..=2879 => format!("in {} h", minutes / 60),
        _ => format!("in {} days", minutes / 1440),
    }
}

/// Which of access, refresh and grant token are present, e.g. `access refresh -`.
pub fn present(token: &Token) -> String {
    let flag = |v: &Option<String>, name: &'static str| if set(v) { name } else { "-" };
    [
        flag(&token.access_token, "access"),
        flag(&token.refresh_token, "refresh"),
        flag(&token.grant_token, "grant"),
    ]
    .join(" ")
}

fn set(value: &Option<String>) -> bool {
    value.as_deref().is_some_and(|v| !v.is_empty())
}

fn secret(value: &Option<String>, reveal: bool) -> Value {
    match value.as_deref().filter(|v| !v.is_empty()) {
        None => Value::Null,
        Some(v) if reveal => v.into(),
        Some(_) => "<redacted>".into(),
    }
}

/// The list row of a token: id, user, client id, expiry, api domain, tokens present.
pub fn row(token: &Token, now_ms: i64) -> Vec<String> {
    let text = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    vec![
        text(&token.id),
        text(&token.user_name),
        text(&token.client_id),
        expiry(token.expiry_time, now_ms),
        text(&token.api_domain),
        present(token),
    ]
}

/// Column titles of [`row`].
pub const HEADER: [&str; 6] = ["ID", "USER", "CLIENT ID", "EXPIRES", "API DOMAIN", "TOKENS"];

/// A token as JSON, secrets as `"<redacted>"` unless `reveal`.
pub fn json(token: &Token, reveal: bool, now_ms: i64) -> Value {
    json!({
        "id": token.id,
        "user_name": token.user_name,
        "client_id": token.client_id,
        "client_secret": secret(&token.client_secret, reveal),
        "refresh_token": secret(&token.refresh_token, reveal),
        "access_token": secret(&token.access_token, reveal),
        "grant_token": secret(&token.grant_token, reveal),
        "expiry_time": token.expiry_time,
        "expired": token.expiry_time.map(|e| e <= now_ms),
        "redirect_url": token.redirect_url,
        "api_domain": token.api_domain,
    })
}

/// A token as `field: value` lines, secrets redacted unless `reveal`.
pub fn detail(token: &Token, reveal: bool, now_ms: i64) -> String {
    let shown = |v: Value| match v {
        Value::Null => "-".to_string(),
        Value::String(s) => s,
        other => other.to_string(),
    };
    let value = json(token, reveal, now_ms);
    let mut out = String::new();
    for field in [
        "id",
        "user_name",
        "client_id",
        "client_secret",
        "refresh_token",
        "access_token",
        "grant_token",
        "redirect_url",
        "api_domain",
    ] {
        out += &format!("{field:<14} {}\n", shown(value[field].clone()));
    }
    out += &format!(
        "{:<14} {}\n",
        "expiry_time",
        expiry(token.expiry_time, now_ms)
    );
    out
}
