//! The main job on the embedded default: keep Zoho OAuth tokens in the Zoho SDK's own CSV
//! token file, then find them the ways the SDK does.
//!
//! ```sh
//! cargo run --example quickstart                       # a file in a fresh temp directory
//! cargo run --example quickstart -- ./sdk_tokens.txt   # or a file you name
//! ```

use std::path::PathBuf;

use token_store::{Token, TokenStore};

#[tokio::main]
async fn main() -> token_store::Result<()> {
    let path = match std::env::args().nth(1) {
        Some(path) => PathBuf::from(path),
        None => {
            let dir =
                std::env::temp_dir().join(format!("token-store-quickstart-{}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("create a temp directory");
            dir.join("sdk_tokens.txt")
        }
    };
    let store = token_store::open(&format!("file://{}", path.display())).await?;
    println!("token file: {}", path.display());

    // What the Zoho SDK saves after exchanging a grant token.
    let alice = store
        .save_token(
            &Token::builder()
                .user_name("alice@example.com:60000001")
                .client_id("1000.CLIENTID")
                .client_secret("client-secret")
                .refresh_token("1000.refresh.alice")
                .access_token("1000.access.alice")
                .expiry_time(now_ms() + 3_600_000)
                .redirect_url("https://example.com/oauth/callback")
                .api_domain("https://www.zohoapis.eu")
                .build(),
        )
        .await?;
    let bob = store
        .save_token(
            &Token::builder()
                .user_name("bob@example.com:60000001")
                .client_id("1000.CLIENTID")
                .client_secret("client-secret")
                .refresh_token("1000.refresh.bob")
                .access_token("1000.access.bob")
                .expiry_time(now_ms() + 3_600_000)
                .build(),
        )
        .await?;
    println!("saved ids {} and {}", show(&alice.id), show(&bob.id));

    // Find by user name (the SDK's first rule).
    let by_user = store
        .find_token(
            &Token::builder()
                .user_name("alice@example.com:60000001")
                .build(),
        )
        .await?;
    println!(
        "by user name     -> id {}",
        show(&by_user.and_then(|t| t.id))
    );

    // Find by a bare access token (no client id or secret in the query).
    let by_access = store
        .find_token(&Token::builder().access_token("1000.access.bob").build())
        .await?;
    println!(
        "by access token  -> id {}",
        show(&by_access.and_then(|t| t.id))
    );

    // Find by refresh token: needs client id and secret in the query, like the SDK.
    let query = Token::builder()
        .client_id("1000.CLIENTID")
        .client_secret("client-secret")
        .refresh_token("1000.refresh.alice")
        .build();
    let by_refresh = store.find_token(&query).await?;
    println!(
        "by refresh token -> id {}",
        show(&by_refresh.and_then(|t| t.id))
    );

    // A refresh: saving the same user again updates the one stored token.
    let mut refreshed = alice.clone();
    refreshed.access_token = Some("1000.access.alice.2".into());
    refreshed.expiry_time = Some(now_ms() + 3_600_000);
    store.save_token(&refreshed).await?;

    let all = store.get_tokens().await?;
    println!("stored tokens: {}", all.len());
    for token in &all {
        // Debug never shows secret values.
        println!("  {token:?}");
    }

    store
        .delete_token(bob.id.as_deref().expect("saved tokens have ids"))
        .await?;
    println!(
        "after delete_token: {} token(s)",
        store.get_tokens().await?.len()
    );
    // The file is the Zoho SDK's own format: the Python SDK's FileStore reads it as is.
    let file = std::fs::read_to_string(&path).expect("read the token file");
    println!("file header: {}", file.lines().next().unwrap_or_default());
    println!("file rows:   {}", file.lines().count() - 1);
    Ok(())
}

fn show(id: &Option<String>) -> &str {
    id.as_deref().unwrap_or("(none)")
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
