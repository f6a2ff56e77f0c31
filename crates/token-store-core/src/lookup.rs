//! The Zoho lookup and upsert rules, shared by every store.
//!
//! Precedence (the SDK's intent, with its operator-precedence bug fixed):
//! 1. a user name, when the query has one;
//! 2. else a bare access token: an access token with neither client id nor client secret;
//! 3. else, when a client id **and** a client secret are present (a guard only, never
//!    compared), the grant token, then the refresh token.
//!
//! The first rule whose guard holds is the only rule applied. Within it the keys are tried
//! in order and the first key that matches a stored token wins; when several stored tokens
//! match one key, the one with the smallest numeric id wins. No rule → no match.

use crate::{Error, Result, Token};

/// One lookup key taken from a query token.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum LookupKey<'a> {
    /// Match on `user_name`.
    UserName(&'a str),
    /// Match on `access_token`.
    AccessToken(&'a str),
    /// Match on `grant_token`.
    GrantToken(&'a str),
    /// Match on `refresh_token`.
    RefreshToken(&'a str),
}

impl std::fmt::Debug for LookupKey<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.field())
    }
}

impl<'a> LookupKey<'a> {
    /// The column this key matches on, e.g. `"user_name"`.
    pub fn field(&self) -> &'static str {
        match self {
            Self::UserName(_) => "user_name",
            Self::AccessToken(_) => "access_token",
            Self::GrantToken(_) => "grant_token",
            Self::RefreshToken(_) => "refresh_token",
        }
    }

    /// The value looked for.
    pub fn value(&self) -> &'a str {
        match *self {
            Self::UserName(v)
            | Self::AccessToken(v)
            | Self::GrantToken(v)
            | Self::RefreshToken(v) => v,
        }
    }

    /// The same field's value in `token`.
    pub fn value_in<'t>(&self, token: &'t Token) -> Option<&'t str> {
        let field = match self {
            Self::UserName(_) => &token.user_name,
            Self::AccessToken(_) => &token.access_token,
            Self::GrantToken(_) => &token.grant_token,
            Self::RefreshToken(_) => &token.refresh_token,
        };
        field.as_deref().filter(|v| !v.is_empty())
    }

    /// Whether a stored token matches this key (non-empty and exactly equal).
    pub fn matches(&self, stored: &Token) -> bool {
        self.value_in(stored) == Some(self.value())
    }
}

fn present(field: &Option<String>) -> Option<&str> {
    field.as_deref().filter(|v| !v.is_empty())
}

/// The keys to try for `query`, in order. Empty when no rule applies (then nothing matches).
pub fn lookup_keys(query: &Token) -> Vec<LookupKey<'_>> {
    if query.user_name.is_some() {
        // A user signature with an empty name matches nothing (never "any row").
        return present(&query.user_name)
            .map(LookupKey::UserName)
            .into_iter()
            .collect();
    }
    let has_client = present(&query.client_id).is_some();
    let has_secret = present(&query.client_secret).is_some();
    if let Some(access) = present(&query.access_token)
        && !has_client
        && !has_secret
    {
        return vec![LookupKey::AccessToken(access)];
    }
    if has_client && has_secret {
        let grant = present(&query.grant_token).map(LookupKey::GrantToken);
        let refresh = present(&query.refresh_token).map(LookupKey::RefreshToken);
        return grant.into_iter().chain(refresh).collect();
    }
    Vec::new()
}

/// The stored token `query` selects among `rows`, by the rules above.
pub fn find_match<'r>(
    query: &Token,
    rows: impl IntoIterator<Item = &'r Token> + Clone,
) -> Option<&'r Token> {
    lookup_keys(query).into_iter().find_map(|key| {
        rows.clone()
            .into_iter()
            .filter(|row| key.matches(row))
            .min_by_key(|row| row.id.as_deref().map(id_number))
    })
}

/// The largest id any store assigns: ids are decimal strings of at most 10 digits, which is
/// what the Zoho SQL schema (`varchar(10)`) and the Python FileStore (`int(id)`) accept.
pub const MAX_ID: u64 = 9_999_999_999;

/// Check that `id` is a store id: 1 to 10 ASCII digits, no leading zero. Returns its numeric value.
pub fn parse_id(id: &str) -> Result<u64> {
    let canonical = !id.is_empty()
        && id.len() <= 10
        && id.bytes().all(|b| b.is_ascii_digit())
        && !id.starts_with('0');
    if !canonical {
        return Err(Error::invalid_input(format!(
            "token id must be 1 to 10 decimal digits without a leading zero, got {} characters",
            id.chars().count()
        )));
    }
    Ok(id.parse().expect("validated digits"))
}

/// Numeric value of an id for ordering; ids that are not numeric sort last.
pub fn id_number(id: &str) -> u64 {
    parse_id(id).unwrap_or(u64::MAX)
}

/// The id after the largest of `ids` (numeric, never string, comparison); `"1"` when empty.
pub fn next_id<'a>(ids: impl IntoIterator<Item = &'a str>) -> Result<String> {
    let max = ids
        .into_iter()
        .filter_map(|id| parse_id(id).ok())
        .max()
        .unwrap_or(0);
    if max >= MAX_ID {
        return Err(Error::new(
            crate::ErrorKind::TooLarge,
            "no token id left: ids are limited to 10 digits",
        ));
    }
    Ok((max + 1).to_string())
}

/// Largest value of one text field, in bytes, any store accepts (OAuth tokens are a few
/// hundred bytes; a store may accept less, e.g. the SQL schema's `varchar(255)`).
pub const MAX_FIELD_BYTES: usize = 16 * 1024;

/// Validate a token before a save: a well-formed id if any, no field over
/// [`MAX_FIELD_BYTES`], a non-negative expiry.
pub fn validate_for_save(token: &Token) -> Result<()> {
    let fields = [
        ("user_name", &token.user_name),
        ("client_id", &token.client_id),
        ("client_secret", &token.client_secret),
        ("refresh_token", &token.refresh_token),
        ("access_token", &token.access_token),
        ("grant_token", &token.grant_token),
        ("redirect_url", &token.redirect_url),
        ("api_domain", &token.api_domain),
    ];
    for (name, value) in fields {
        let len = value.as_deref().map_or(0, str::len);
        if len > MAX_FIELD_BYTES {
            return Err(Error::new(
                crate::ErrorKind::TooLarge,
                format!("{name} is {len} bytes; at most {MAX_FIELD_BYTES} bytes are accepted"),
            ));
        }
    }
    if let Some(id) = &token.id {
        parse_id(id)?;
    }
    if token.expiry_time.is_some_and(|expiry| expiry < 0) {
        return Err(Error::invalid_input(
            "expiry_time must be epoch milliseconds ≥ 0",
        ));
    }
    Ok(())
}

/// The row a save writes, given the stored token it targets (if any).
///
/// With a stored token: the new values win and every field the caller left empty keeps
/// its stored value (Zoho semantics: a save never clears a field); the stored id is kept.
/// Without one: the token must carry an access, refresh or grant token, otherwise it is an
/// [`crate::ErrorKind::InvalidInput`] error and nothing is written.
pub fn merge_for_save(token: &Token, existing: Option<&Token>) -> Result<Token> {
    match existing {
        Some(stored) => {
            let mut row = token.clone();
            row.merge_from(stored);
            row.id.clone_from(&stored.id);
            Ok(row)
        }
        None if token.has_credentials() => Ok(token.clone()),
        None => Err(Error::invalid_input(
            "no stored token matches and the token has no access, refresh or grant token to save",
        )),
    }
}
