//! Test helper: ask the stand-in accounts server (`ZOHO_ACCOUNTS_URL`) for a refresh token
//! whose access token expires in `SEED_EXPIRES_IN_MS` (default 60000: due for refresh) and
//! save it for `ZOHO_USER` in the store at `TOKEN_STORE_URL`.

use serde_json::{Value, json};
use token_store::Token;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let accounts = std::env::var("ZOHO_ACCOUNTS_URL")?;
    let user = std::env::var("ZOHO_USER")?;
    let expires_in_ms: i64 = std::env::var("SEED_EXPIRES_IN_MS")
        .unwrap_or_else(|_| "60000".to_owned())
        .parse()?;
    let (client_id, client_secret) = ("1000.EXAMPLE", "example-secret");
    let body = json!({"client_id": client_id, "client_secret": client_secret, "expires_in_ms": expires_in_ms});
    let answer = reqwest::Client::new()
        .post(format!("{accounts}/_test/seed"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await?
        .text()
        .await?;
    let seeded: Value = serde_json::from_str(&answer)?;
    let text = |name: &str| seeded[name].as_str().unwrap_or_default().to_owned();
    let token = Token::builder()
        .user_name(user)
        .client_id(client_id)
        .client_secret(client_secret)
        .refresh_token(text("refresh_token"))
        .access_token(text("access_token"))
        .expiry_time(seeded["expiry_time"].as_i64().unwrap_or_default())
        .api_domain(text("api_domain"))
        .build();
    let store = token_store::open(&std::env::var("TOKEN_STORE_URL")?).await?;
    let saved = store.save_token(&token).await?;
    println!("seeded token id {}", saved.id.unwrap_or_default());
    Ok(())
}
