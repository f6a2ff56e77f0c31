//! Interop with the real Zoho Python SDK's FileStore (`zohocrmsdk8-0`): one token file shared
//! by both. Needs `ZOHO_PY`, the python of a venv with the SDK (scripts/test-file-interop.sh
//! sets it up); without it every test fails.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use token_store_core::{Token, TokenStore};
use token_store_file::FileStore;

/// Run `interop/zoho-file/filestore.py <command> <file> [args]` with `input` as JSON on stdin.
fn sdk(command: &str, file: &Path, args: &[&str], input: &serde_json::Value) -> serde_json::Value {
    let python = std::env::var("ZOHO_PY").expect(
        "ZOHO_PY must name the python of a venv with zohocrmsdk8-0 (scripts/test-file-interop.sh)",
    );
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../interop/zoho-file/filestore.py");
    let mut child = Command::new(python)
        .arg(script)
        .arg(command)
        .arg(file)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the Zoho SDK script");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "Zoho SDK script `{command}` failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON from the SDK script")
}

fn sdk_tokens(command: &str, file: &Path, tokens: &[Token]) -> Vec<Option<Token>> {
    let out = sdk(command, file, &[], &serde_json::to_value(tokens).unwrap());
    serde_json::from_value(out).expect("tokens from the SDK")
}

/// Tokens with every field, partial tokens and hostile values (no carriage return: see
/// `sdk_reads_a_carriage_return_in_a_value_as_a_line_feed`).
fn tokens() -> Vec<Token> {
    let full = |n: usize| {
        Token::builder()
            .user_name(format!("user{n}@example.com:6000{n}"))
            .client_id(format!("1000.CLIENT{n}"))
            .client_secret(format!("secret-{n}"))
            .refresh_token(format!("1000.refresh.{n}"))
            .access_token(format!("1000.access.{n}"))
            .grant_token(format!("1000.grant.{n}"))
            .expiry_time(1_764_000_000_000 + n as i64)
            .redirect_url("https://example.com/callback?a=1&b=2")
            .api_domain("https://www.zohoapis.eu")
            .build()
    };
    vec![
        full(1),
        full(2),
        Token::builder().access_token("1000.bare.access").build(),
        Token::builder()
            .client_id("1000.C")
            .client_secret("s")
            .refresh_token("1000.refresh.only")
            .build(),
        Token::builder()
            .user_name("comma, \"quote\" and\nnewline")
            .client_id("ünïcødé ✓ 東京 🚀")
            .client_secret("it's; DROP TABLE oauthtoken; --")
            .refresh_token("  padded  ")
            .access_token("tab\there\\backslash")
            .api_domain("x' OR '1'='1")
            .expiry_time(0)
            .build(),
        Token::builder()
            .user_name("long")
            .access_token("a".repeat(10 * 1024))
            .build(),
    ]
}

fn with_ids(tokens: Vec<Token>) -> Vec<Token> {
    tokens
        .into_iter()
        .enumerate()
        .map(|(i, mut t)| {
            t.id = Some((i + 1).to_string());
            t
        })
        .collect()
}

fn temp_file(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

#[tokio::test]
async fn tokens_saved_by_the_sdk_are_read_intact() {
    let dir = tempfile::tempdir().unwrap();
    let file = temp_file(&dir, "sdk_tokens.txt");
    let saved: Vec<Token> = sdk_tokens("save", &file, &tokens())
        .into_iter()
        .map(Option::unwrap)
        .collect();
    let expected = with_ids(tokens());
    assert_eq!(saved, expected, "the SDK assigned ids 1..n");

    let store = FileStore::open(&file).unwrap();
    assert_eq!(
        store.get_tokens().await.unwrap(),
        expected,
        "every field intact"
    );
    for token in &expected {
        assert_eq!(
            store
                .find_token_by_id(token.id.as_deref().unwrap())
                .await
                .unwrap()
                .as_ref(),
            Some(token)
        );
    }
    let by_user = Token::builder()
        .user_name("comma, \"quote\" and\nnewline")
        .build();
    assert_eq!(
        store.find_token(&by_user).await.unwrap().as_ref(),
        Some(&expected[4])
    );
    let by_access = Token::builder().access_token("1000.bare.access").build();
    assert_eq!(
        store.find_token(&by_access).await.unwrap().as_ref(),
        Some(&expected[2])
    );
    let by_refresh = Token::builder()
        .client_id("any")
        .client_secret("any")
        .refresh_token("1000.refresh.only")
        .build();
    assert_eq!(
        store
            .find_token(&by_refresh)
            .await
            .unwrap()
            .unwrap()
            .id
            .as_deref(),
        Some("4")
    );
}

#[tokio::test]
async fn tokens_saved_by_us_are_found_by_the_sdk() {
    let dir = tempfile::tempdir().unwrap();
    let file = temp_file(&dir, "sdk_tokens.txt");
    let store = FileStore::open(&file).unwrap();
    let mut saved = Vec::new();
    for token in tokens() {
        saved.push(store.save_token(&token).await.unwrap());
    }
    assert_eq!(saved, with_ids(tokens()));

    let queries = vec![
        Token::builder()
            .user_name("user1@example.com:60001")
            .build(),
        Token::builder()
            .user_name("comma, \"quote\" and\nnewline")
            .build(),
        Token::builder().user_name("long").build(),
        Token::builder().access_token("1000.bare.access").build(),
        Token::builder()
            .client_id("x")
            .client_secret("y")
            .grant_token("1000.grant.2")
            .build(),
        Token::builder()
            .client_id("x")
            .client_secret("y")
            .refresh_token("1000.refresh.only")
            .build(),
    ];
    let found = sdk_tokens("find", &file, &queries);
    // The SDK completes the query: its own values (here the dummy credentials) win.
    let mut expected: Vec<Option<Token>> = [0, 4, 5, 2, 1, 3]
        .iter()
        .map(|&i| Some(saved[i].clone()))
        .collect();
    for i in [4, 5] {
        let token = expected[i].as_mut().unwrap();
        token.client_id = Some("x".into());
        token.client_secret = Some("y".into());
    }
    assert_eq!(
        found, expected,
        "found by the SDK's find_token with every field"
    );

    let listed: Vec<Token> =
        serde_json::from_value(sdk("list", &file, &[], &serde_json::Value::Null)).unwrap();
    assert_eq!(listed, saved, "the SDK's get_tokens");
    let by_id: Token =
        serde_json::from_value(sdk("by-id", &file, &["5"], &serde_json::Value::Null)).unwrap();
    assert_eq!(by_id, saved[4], "the SDK's find_token_by_id");
}

#[tokio::test]
async fn same_tokens_give_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (theirs, ours) = (temp_file(&dir, "theirs.txt"), temp_file(&dir, "ours.txt"));
    sdk_tokens("save", &theirs, &tokens());
    let store = FileStore::open(&ours).unwrap();
    for token in tokens() {
        store.save_token(&token).await.unwrap();
    }
    let (theirs, ours) = (
        std::fs::read(&theirs).unwrap(),
        std::fs::read(&ours).unwrap(),
    );
    assert_eq!(
        String::from_utf8(ours).unwrap(),
        String::from_utf8(theirs).unwrap()
    );
}

#[tokio::test]
async fn nine_column_migration_gives_the_sdk_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let old = "id,user_name,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_url\r\n\
               1,me@example.com,1000.C,s,1000.r,1000.a,,1764000000000,https://example.com/cb\r\n\
               2,\"a,b\",,,,1000.b,,,\r\n";
    let (theirs, ours) = (temp_file(&dir, "theirs.txt"), temp_file(&dir, "ours.txt"));
    std::fs::write(&theirs, old).unwrap();
    std::fs::write(&ours, old).unwrap();
    sdk("init", &theirs, &[], &serde_json::Value::Null);
    FileStore::open(&ours).unwrap();
    assert_eq!(
        std::fs::read_to_string(&ours).unwrap(),
        std::fs::read_to_string(&theirs).unwrap()
    );
}

#[tokio::test]
async fn one_file_shared_by_both_writers() {
    let dir = tempfile::tempdir().unwrap();
    let file = temp_file(&dir, "sdk_tokens.txt");
    let store = FileStore::open(&file).unwrap();
    let first = store.save_token(&tokens()[0]).await.unwrap();

    // The SDK refreshes it: new access token and expiry, found by user name.
    let refresh = Token::builder()
        .user_name(first.user_name.clone().unwrap())
        .access_token("1000.access.refreshed")
        .expiry_time(1_800_000_000_000)
        .build();
    let refreshed = sdk_tokens("save", &file, &[refresh]).remove(0).unwrap();
    assert_eq!(refreshed.id.as_deref(), Some("1"));
    let found = store
        .find_token(
            &Token::builder()
                .user_name(first.user_name.clone().unwrap())
                .build(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.access_token.as_deref(), Some("1000.access.refreshed"));
    assert_eq!(found.expiry_time, Some(1_800_000_000_000));
    assert_eq!(
        found.refresh_token, first.refresh_token,
        "kept by the SDK's merge"
    );

    let second = sdk_tokens("save", &file, &[tokens()[1].clone()])
        .remove(0)
        .unwrap();
    assert_eq!(second.id.as_deref(), Some("2"));
    let third = store.save_token(&tokens()[2]).await.unwrap();
    assert_eq!(third.id.as_deref(), Some("3"));
    let listed: Vec<Token> =
        serde_json::from_value(sdk("list", &file, &[], &serde_json::Value::Null)).unwrap();
    assert_eq!(listed, store.get_tokens().await.unwrap());
    assert_eq!(listed.len(), 3);
}

/// A known difference of the SDK, not of this store: it reads the file without `newline=''`,
/// so Python's universal newlines turn a CR or CRLF inside a quoted value into LF. This store
/// keeps the value as written.
#[tokio::test]
async fn sdk_reads_a_carriage_return_in_a_value_as_a_line_feed() {
    let dir = tempfile::tempdir().unwrap();
    let file = temp_file(&dir, "sdk_tokens.txt");
    let store = FileStore::open(&file).unwrap();
    let token = Token::builder()
        .user_name("a\r\nb")
        .access_token("1000.a")
        .build();
    let saved = store.save_token(&token).await.unwrap();
    assert_eq!(store.find_token_by_id("1").await.unwrap(), Some(saved));
    let theirs: Token =
        serde_json::from_value(sdk("by-id", &file, &["1"], &serde_json::Value::Null)).unwrap();
    assert_eq!(theirs.user_name.as_deref(), Some("a\nb"));
}
