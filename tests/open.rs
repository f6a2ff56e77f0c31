//! `open(url)` dispatches to the backends compiled in and explains the rest.

use token_store::{ErrorKind, Token, TokenStore};

#[tokio::test]
async fn memory_url_opens_a_working_store() {
    let store = token_store::open("memory://").await.unwrap();
    let saved = store
        .save_token(&Token::builder().user_name("u").access_token("a").build())
        .await
        .unwrap();
    assert_eq!(store.find_token_by_id("1").await.unwrap(), Some(saved));
}

#[tokio::test]
async fn bad_urls_are_config_errors_that_do_not_echo_the_url() {
    let err = token_store::open("no-scheme-here").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConfigInvalid);
    let err = token_store::open("ftp://user:hunter2@host/x")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConfigInvalid);
    assert!(!err.to_string().contains("hunter2"), "{err}");
    assert!(err.to_string().contains("known schemes"), "{err}");
}

#[cfg(not(feature = "aws"))]
#[tokio::test]
async fn a_scheme_without_its_feature_names_the_feature() {
    let err = token_store::open("aws-secretsmanager://tokens/")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConfigInvalid);
    assert!(err.to_string().contains("`aws` feature"), "{err}");
}

#[cfg(feature = "file")]
#[tokio::test]
async fn file_url_opens_the_zoho_csv_store() {
    let dir = std::env::temp_dir().join(format!("token-store-open-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("sdk_tokens.txt");
    let store = token_store::open(&format!("file://{}", path.display()))
        .await
        .unwrap();
    store
        .save_token(&Token::builder().user_name("u").access_token("a").build())
        .await
        .unwrap();
    let csv = std::fs::read_to_string(&path).unwrap();
    assert!(csv.starts_with("id,user_name,"), "{csv}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn sqlite_url_opens_the_oauthtoken_table() {
    let dir = std::env::temp_dir().join(format!("token-store-open-sqlite-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("tokens.db");
    let store = token_store::open(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    store
        .save_token(&Token::builder().user_name("u").access_token("a").build())
        .await
        .unwrap();
    let found = store
        .find_token(&Token::builder().user_name("u").build())
        .await
        .unwrap();
    assert_eq!(found.unwrap().id.as_deref(), Some("1"));
    std::fs::remove_dir_all(&dir).unwrap();
}
