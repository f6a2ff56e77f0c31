//! The Zoho OAuthToken model.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One stored OAuth token: the ten columns of the Zoho SDK's token store.
///
/// Every field is optional; an empty string is treated as absent by every store (the Zoho
/// stores write absent values as empty cells). `Debug` redacts every secret value.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Token {
    /// Store-assigned row key: a decimal string of at most 10 digits.
    pub id: Option<String>,
    /// The user signature name (the SDK derives `<email>:<org id>`).
    pub user_name: Option<String>,
    /// OAuth client id.
    pub client_id: Option<String>,
    /// OAuth client secret.
    pub client_secret: Option<String>,
    /// Long-lived refresh token.
    pub refresh_token: Option<String>,
    /// Bearer access token.
    pub access_token: Option<String>,
    /// One-time grant (authorisation) code.
    pub grant_token: Option<String>,
    /// Absolute expiry instant of the access token, Unix epoch milliseconds.
    pub expiry_time: Option<i64>,
    /// Redirect URL registered for the client.
    pub redirect_url: Option<String>,
    /// API base URL, e.g. `https://www.zohoapis.eu`.
    pub api_domain: Option<String>,
}

impl Token {
    /// Start building a token.
    pub fn builder() -> TokenBuilder {
        TokenBuilder::default()
    }

    /// The same token with empty strings turned into `None`.
    pub fn normalized(mut self) -> Self {
        for field in self.text_fields_mut() {
            if field.as_deref() == Some("") {
                *field = None;
            }
        }
        self
    }

    /// Fill every field that is `None` here from `stored` (the Zoho "merge data" rule:
    /// values the caller already holds win).
    pub fn merge_from(&mut self, stored: &Token) {
        let stored_texts = [
            &stored.id,
            &stored.user_name,
            &stored.client_id,
            &stored.client_secret,
            &stored.refresh_token,
            &stored.access_token,
            &stored.grant_token,
            &stored.redirect_url,
            &stored.api_domain,
        ];
        for (mine, theirs) in self.text_fields_mut().into_iter().zip(stored_texts) {
            if mine.is_none() {
                mine.clone_from(theirs);
            }
        }
        if self.expiry_time.is_none() {
            self.expiry_time = stored.expiry_time;
        }
    }

    /// Whether the token carries at least one of access, refresh or grant token.
    pub fn has_credentials(&self) -> bool {
        self.access_token.is_some() || self.refresh_token.is_some() || self.grant_token.is_some()
    }

    /// Whether the access token expires within `margin_ms` of `now_ms` (or has no expiry).
    pub fn is_expired(&self, now_ms: i64, margin_ms: i64) -> bool {
        self.expiry_time.is_none_or(|at| at - now_ms < margin_ms)
    }

    fn text_fields_mut(&mut self) -> [&mut Option<String>; 9] {
        [
            &mut self.id,
            &mut self.user_name,
            &mut self.client_id,
            &mut self.client_secret,
            &mut self.refresh_token,
            &mut self.access_token,
            &mut self.grant_token,
            &mut self.redirect_url,
            &mut self.api_domain,
        ]
    }
}

/// Shows whether a secret is present, never its value: `Some(<redacted>)` or `None`.
struct Redacted<'a>(&'a Option<String>);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Some(<redacted>)"
        } else {
            "None"
        })
    }
}

fn redacted(value: &Option<String>) -> Redacted<'_> {
    Redacted(value)
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("id", &self.id)
            .field("user_name", &redacted(&self.user_name))
            .field("client_id", &self.client_id)
            .field("client_secret", &redacted(&self.client_secret))
            .field("refresh_token", &redacted(&self.refresh_token))
            .field("access_token", &redacted(&self.access_token))
            .field("grant_token", &redacted(&self.grant_token))
            .field("expiry_time", &self.expiry_time)
            .field("redirect_url", &self.redirect_url)
            .field("api_domain", &self.api_domain)
            .finish()
    }
}

/// Builder for [`Token`]; every setter takes anything string-like.
#[derive(Default)]
pub struct TokenBuilder {
    token: Token,
}

macro_rules! setters {
    ($($field:ident),*) => {$(
        #[doc = concat!("Set `", stringify!($field), "`.")]
        pub fn $field(mut self, value: impl Into<String>) -> Self {
            self.token.$field = Some(value.into());
            self
        }
    )*};
}

impl TokenBuilder {
    setters!(
        id,
        user_name,
        client_id,
        client_secret,
        refresh_token,
        access_token,
        grant_token,
        redirect_url,
        api_domain
    );

    /// Set the expiry instant in Unix epoch milliseconds.
    pub fn expiry_time(mut self, epoch_ms: i64) -> Self {
        self.token.expiry_time = Some(epoch_ms);
        self
    }

    /// The token, with empty strings normalized to `None`.
    pub fn build(self) -> Token {
        self.token.normalized()
    }
}

impl fmt::Debug for TokenBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenBuilder")
            .field("token", &self.token)
            .finish()
    }
}
