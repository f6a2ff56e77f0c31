//! Checks shared by the SQLite and MySQL test files.

use token_store_core::{Token, TokenStore};

/// A raw row: the ten Zoho columns as stored, `None` for `NULL`.
pub type RawRow = Vec<Option<String>>;

/// Values that break SQL built by concatenation (spec §6 items 10, 36).
pub const INJECTIONS: [&str; 4] = [
    "x' OR '1'='1",
    "'; DROP TABLE oauthtoken; --",
    "\"; DELETE FROM oauthtoken; --",
    "a`b\\' OR 1=1 #",
];

/// A complete token for `user`.
pub fn token_for(user: &str, n: usize) -> Token {
    Token::builder()
        .user_name(user)
        .client_id(format!("1000.CLIENT{n}"))
        .client_secret(format!("secret-{n}"))
        .refresh_token(format!("1000.refresh.{n}"))
        .access_token(format!("1000.access.{n}"))
        .expiry_time(1_764_000_000_000 + n as i64)
        .redirect_url("https://example.com/callback")
        .api_domain("https://www.zohoapis.eu")
        .build()
}

/// Save one token per hostile user name plus a plain one, find each by its literal name, and
/// check that nothing else matches. Returns the saved tokens (plain one first).
pub async fn injection_round_trip(store: &dyn TokenStore) -> Vec<Token> {
    let mut saved = vec![
        store
            .save_token(&token_for("plain@example.com", 0))
            .await
            .unwrap(),
    ];
    for (n, value) in INJECTIONS.iter().enumerate() {
        let mut token = token_for(value, n + 1);
        token.redirect_url = Some((*value).to_owned());
        token.access_token = Some(format!("{value}-access"));
        saved.push(store.save_token(&token).await.unwrap());
    }
    for token in &saved {
        let by_user = Token::builder()
            .user_name(token.user_name.clone().unwrap())
            .build();
        assert_eq!(
            store.find_token(&by_user).await.unwrap().as_ref(),
            Some(token),
            "found literally"
        );
        let by_access = Token::builder()
            .access_token(token.access_token.clone().unwrap())
            .build();
        assert_eq!(
            store.find_token(&by_access).await.unwrap().as_ref(),
            Some(token)
        );
    }
    for miss in ["x", "x' OR '1'='1 ", "X' OR '1'='1", "' OR ''='", "%", "*"] {
        let query = Token::builder().user_name(miss).build();
        assert_eq!(
            store.find_token(&query).await.unwrap(),
            None,
            "{miss:?} matches nothing"
        );
    }
    assert_eq!(store.get_tokens().await.unwrap(), saved);
    saved
}

/// The raw row a token must be stored as: Zoho column order, `NULL` for absent values, the
/// expiry as a decimal string.
pub fn expected_row(token: &Token) -> RawRow {
    vec![
        token.id.clone(),
        token.user_name.clone(),
        token.client_id.clone(),
        token.client_secret.clone(),
        token.refresh_token.clone(),
        token.access_token.clone(),
        token.grant_token.clone(),
        token.expiry_time.map(|ms| ms.to_string()),
        token.redirect_url.clone(),
        token.api_domain.clone(),
    ]
}
