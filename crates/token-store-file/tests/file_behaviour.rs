//! File-specific behaviour of `FileStore`: the exact bytes, creation and migration, corrupt
//! files, bad input, file mode, crash safety and the cross-process lock.

use std::io::{BufRead as _, BufReader};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use token_store_core::{ErrorKind, Token, TokenStore};
use token_store_file::FileStore;

/// The header row the Python SDK writes, with its CRLF.
const HEADER_LINE: &str = "id,user_name,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_uri,api_domain\r\n";

/// Environment variable that turns this test binary into a child process (see `child_process`).
const CHILD_ENV: &str = "TOKEN_STORE_FILE_TEST_CHILD";

fn temp_file() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("sdk_tokens.txt");
    (dir, path)
}

fn user(n: usize) -> Token {
    Token::builder()
        .user_name(format!("user{n}@example.com:6000{n}"))
        .client_id(format!("1000.CLIENT{n}"))
        .client_secret(format!("secret-{n}"))
        .refresh_token(format!("1000.refresh.{n}"))
        .access_token(format!("1000.access.{n}"))
        .expiry_time(1_764_000_000_000 + n as i64)
        .redirect_url("https://example.com/callback")
        .api_domain("https://www.zohoapis.eu")
        .build()
}

fn by_user(name: &str) -> Token {
    Token::builder().user_name(name).build()
}

fn text(path: &Path) -> String {
    String::from_utf8(std::fs::read(path).expect("read token file")).expect("UTF-8")
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn written_file_has_the_python_sdk_bytes() {
    let (_dir, path) = temp_file();
    let store = FileStore::open(&path).unwrap();
    store.save_token(&user(1)).await.unwrap();
    let hostile = Token::builder()
        .user_name("a,b \"quoted\"\r\nnext line")
        .refresh_token("1000.r")
        .api_domain("ünï ✓")
        .build();
    store.save_token(&hostile).await.unwrap();
    let expected = format!(
        "{HEADER_LINE}\
         1,user1@example.com:60001,1000.CLIENT1,secret-1,1000.refresh.1,1000.access.1,,1764000000001,https://example.com/callback,https://www.zohoapis.eu\r\n\
         2,\"a,b \"\"quoted\"\"\r\nnext line\",,,1000.r,,,,,ünï ✓\r\n"
    );
    assert_eq!(text(&path), expected);
}

#[tokio::test]
async fn missing_or_empty_file_becomes_header_only() {
    let (_dir, path) = temp_file();
    let store = FileStore::open(&path).unwrap();
    assert_eq!(text(&path), HEADER_LINE);
    assert_eq!(store.get_tokens().await.unwrap(), vec![]);

    std::fs::write(&path, "").unwrap();
    assert_eq!(
        store.get_tokens().await.unwrap(),
        vec![],
        "empty file = empty store"
    );
    FileStore::open(&path).unwrap();
    assert_eq!(text(&path), HEADER_LINE);

    std::fs::remove_file(&path).unwrap();
    assert_eq!(store.find_token(&by_user("x")).await.unwrap(), None);
    store.save_token(&user(1)).await.unwrap();
    assert!(
        text(&path).starts_with(HEADER_LINE),
        "a save re-creates a deleted file"
    );
}

#[tokio::test]
async fn nine_column_file_is_migrated() {
    let (_dir, path) = temp_file();
    let old = "id,user_name,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_url\r\n\
               1,me@example.com,1000.C,s,1000.r,1000.a,,1764000000000,https://example.com/cb\r\n\
               2,,,,,1000.b,,,\r\n";
    std::fs::write(&path, old).unwrap();
    let store = FileStore::open(&path).unwrap();
    assert_eq!(
        text(&path),
        format!(
            "{HEADER_LINE}\
             1,me@example.com,1000.C,s,1000.r,1000.a,,1764000000000,https://example.com/cb,\r\n\
             2,,,,,1000.b,,,,\r\n"
        )
    );
    let found = store
        .find_token(&by_user("me@example.com"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        found.redirect_url.as_deref(),
        Some("https://example.com/cb")
    );
    assert_eq!(found.api_domain, None);
    assert_eq!(found.expiry_time, Some(1_764_000_000_000));
}

#[tokio::test]
async fn redirect_url_header_spelling_is_read() {
    let (_dir, path) = temp_file();
    let java_style = HEADER_LINE.replace("redirect_uri", "redirect_url")
        + "1,me,,,1000.r,,,,https://example.com/cb,https://www.zohoapis.com\r\n";
    std::fs::write(&path, &java_style).unwrap();
    let store = FileStore::open(&path).unwrap();
    assert_eq!(
        text(&path),
        java_style,
        "opening a valid file does not rewrite it"
    );
    let found = store.find_token_by_id("1").await.unwrap().unwrap();
    assert_eq!(
        found.api_domain.as_deref(),
        Some("https://www.zohoapis.com")
    );
}

fn corrupt_files() -> Vec<(&'static str, Vec<u8>)> {
    let row = |cells: &str| format!("{HEADER_LINE}{cells}\r\n").into_bytes();
    let mut invalid_utf8 = row("1,me,,,1000.r,,,,,");
    invalid_utf8.extend_from_slice(b"2,\xff\xfe,,,1000.s,,,,,\r\n");
    vec![
        ("non-numeric id", row("abc,me,,,1000.r,,,,,")),
        ("id with a leading zero", row("01,me,,,1000.r,,,,,")),
        ("empty id", row(",me,,,1000.r,,,,,")),
        ("11-digit id", row("12345678901,me,,,1000.r,,,,,")),
        (
            "repeated id",
            row("1,me,,,1000.r,,,,,\r\n1,you,,,1000.s,,,,,"),
        ),
        ("too many cells", row("1,me,,,1000.r,,,,,,")),
        ("too few cells", row("1,me,,,1000.r,,,,")),
        ("non-numeric expiry", row("1,me,,,1000.r,,,soon,,")),
        ("negative expiry", row("1,me,,,1000.r,,,-1,,")),
        ("invalid UTF-8", invalid_utf8),
        ("not the Zoho header", b"name,value\r\nx,y\r\n".to_vec()),
        ("no header, data first", b"1,me,,,1000.r,,,,,\r\n".to_vec()),
    ]
}

#[tokio::test]
async fn corrupt_file_is_an_error_and_never_overwritten() {
    for (what, bytes) in corrupt_files() {
        let (_dir, path) = temp_file();
        std::fs::write(&path, &bytes).unwrap();
        let err = FileStore::open(&path).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupt, "open of {what}: {err}");
        assert!(
            !format!("{err} {err:?}").contains("1000.r"),
            "no values in errors: {err}"
        );
        assert_eq!(
            std::fs::read(&path).unwrap(),
            bytes,
            "{what}: file unchanged"
        );
    }
}

#[tokio::test]
async fn corrupted_after_open_every_operation_fails_and_changes_nothing() {
    for (what, bytes) in corrupt_files() {
        let (_dir, path) = temp_file();
        let store = FileStore::open(&path).unwrap();
        std::fs::write(&path, &bytes).unwrap();
        let kinds = [
            store.find_token(&by_user("me")).await.map(|_| ()),
            store.save_token(&user(1)).await.map(|_| ()),
            store.delete_token("1").await,
            store.get_tokens().await.map(|_| ()),
            store.delete_tokens().await,
            store.find_token_by_id("1").await.map(|_| ()),
        ]
        .map(|result| result.unwrap_err().kind());
        assert_eq!(kinds, [ErrorKind::Corrupt; 6], "{what}");
        assert_eq!(
            std::fs::read(&path).unwrap(),
            bytes,
            "{what}: file unchanged"
        );
    }
}

#[tokio::test]
async fn bad_input_leaves_the_file_unchanged() {
    let (_dir, path) = temp_file();
    let store = FileStore::open(&path).unwrap();
    store.save_token(&user(1)).await.unwrap();
    let before = std::fs::read(&path).unwrap();
    let mut bad_id = user(2);
    bad_id.id = Some("1 OR 1=1".into());
    let no_credentials = Token::builder().user_name("nobody").client_id("c").build();
    let mut too_long = user(3);
    too_long.access_token = Some("x".repeat(token_store_core::lookup::MAX_FIELD_BYTES + 1));
    for (token, kind) in [
        (bad_id, ErrorKind::InvalidInput),
        (no_credentials, ErrorKind::InvalidInput),
        (too_long, ErrorKind::TooLarge),
    ] {
        assert_eq!(store.save_token(&token).await.unwrap_err().kind(), kind);
    }
    assert_eq!(
        store.delete_token("x").await.unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    store.delete_token("99").await.unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[tokio::test]
async fn files_are_mode_0600() {
    let (_dir, path) = temp_file();
    let store = FileStore::open(&path).unwrap();
    assert_eq!(mode(&path), 0o600);
    let lock = PathBuf::from(format!("{}.lock", path.display()));
    assert_eq!(mode(&lock), 0o600);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    store.save_token(&user(1)).await.unwrap();
    assert_eq!(
        mode(&path),
        0o600,
        "a rewrite restores 0600 (a Python-created file is 0644)"
    );
}

#[tokio::test]
async fn a_symlinked_file_stays_a_symlink() {
    let (dir, target) = temp_file();
    let link = dir.path().join("link.txt");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let store = FileStore::open(&link).unwrap();
    store.save_token(&user(1)).await.unwrap();
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(text(&target).contains("user1@example.com"));
}

#[tokio::test]
async fn header_row_is_never_matched() {
    let (_dir, path) = temp_file();
    let store = FileStore::open(&path).unwrap();
    let header_like = [
        Token::builder()
            .user_name("user_name")
            .access_token("a")
            .build(),
        Token::builder().access_token("access_token").build(),
        Token::builder()
            .client_id("c")
            .client_secret("s")
            .grant_token("grant_token")
            .build(),
        Token::builder()
            .client_id("c")
            .client_secret("s")
            .refresh_token("refresh_token")
            .build(),
    ];
    for (n, token) in header_like.iter().enumerate() {
        assert_eq!(store.find_token(token).await.unwrap(), None, "find {n}");
        let saved = store.save_token(token).await.unwrap();
        assert_eq!(
            saved.id,
            Some((n + 1).to_string()),
            "save {n} inserts a new row"
        );
        assert!(
            text(&path).starts_with(HEADER_LINE),
            "header intact after save {n}"
        );
    }
    assert_eq!(store.get_tokens().await.unwrap().len(), 4);
    assert_eq!(
        store
            .find_token_by_id("1")
            .await
            .unwrap()
            .unwrap()
            .user_name
            .as_deref(),
        Some("user_name")
    );
}

#[tokio::test]
async fn deleted_top_id_is_not_reused_and_the_mark_is_optional() {
    let (_dir, path) = temp_file();
    let store = FileStore::open(&path).unwrap();
    store.save_token(&user(1)).await.unwrap();
    store.save_token(&user(2)).await.unwrap();
    store.delete_token("2").await.unwrap();
    assert_eq!(
        store.save_token(&user(3)).await.unwrap().id.as_deref(),
        Some("3")
    );
    store.delete_tokens().await.unwrap();
    assert_eq!(
        store.save_token(&user(4)).await.unwrap().id.as_deref(),
        Some("4")
    );
    // Without the lock file's mark, ids follow the Zoho rule: largest id in the file + 1.
    std::fs::remove_file(format!("{}.lock", path.display())).unwrap();
    assert_eq!(
        store.save_token(&user(5)).await.unwrap().id.as_deref(),
        Some("5")
    );
    store.delete_token("5").await.unwrap();
    std::fs::write(format!("{}.lock", path.display()), "garbage").unwrap();
    assert_eq!(
        store.save_token(&user(6)).await.unwrap().id.as_deref(),
        Some("5")
    );
}

#[tokio::test]
async fn stray_temp_file_does_not_affect_the_real_file() {
    let (dir, path) = temp_file();
    let store = FileStore::open(&path).unwrap();
    store.save_token(&user(1)).await.unwrap();
    // What a crash between writing the temporary file and the rename leaves behind.
    let stray = dir.path().join(".sdk_tokens.txt.crash01.tmp");
    std::fs::write(&stray, b"half a fi").unwrap();
    let reopened = FileStore::open(&path).unwrap();
    assert_eq!(reopened.get_tokens().await.unwrap().len(), 1);
    reopened.save_token(&user(2)).await.unwrap();
    assert_eq!(reopened.get_tokens().await.unwrap().len(), 2);
    assert_eq!(
        std::fs::read(&stray).unwrap(),
        b"half a fi",
        "never read or written"
    );
}

/// Spawn this test binary as a child process running `mode` on `path` (see `child_process`).
fn spawn_child(mode: &str, path: &Path, arg: &str) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, format!("{mode}|{}|{arg}", path.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child test process")
}

/// Entry point of the child processes of the crash and lock tests. In a normal test run (no
/// `TOKEN_STORE_FILE_TEST_CHILD`) it has nothing to do.
#[tokio::test]
async fn child_process() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let mut parts = spec.splitn(3, '|');
    let (mode, path, arg) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let store = FileStore::open(path).unwrap();
    match mode {
        // Save new users until killed, acknowledging each save on stdout.
        "crash" => {
            for n in 0.. {
                store.save_token(&user(n)).await.unwrap();
                println!("saved {n}");
            }
        }
        // Save `count` users named `<prefix>-<n>`.
        "writer" => {
            let (prefix, count) = arg.split_once(':').unwrap();
            for n in 0..count.parse::<usize>().unwrap() {
                let mut token = user(n);
                token.user_name = Some(format!("{prefix}-{n}"));
                store.save_token(&token).await.unwrap();
            }
            println!("done");
        }
        other => panic!("unknown child mode {other}"),
    }
}

#[tokio::test]
async fn killed_writer_leaves_a_whole_file_with_every_acknowledged_token() {
    for _round in 0..3 {
        let (_dir, path) = temp_file();
        FileStore::open(&path).unwrap();
        let mut child = spawn_child("crash", &path, "");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut acknowledged = 0;
        while acknowledged < 25 {
            let line = lines.next().expect("child output").unwrap();
            if line.starts_with("saved ") {
                acknowledged += 1;
            }
        }
        child.kill().unwrap(); // SIGKILL, most likely in the middle of a save
        child.wait().unwrap();
        let store = FileStore::open(&path).expect("the file is whole after a crash");
        let tokens = store.get_tokens().await.unwrap();
        assert!(
            tokens.len() >= acknowledged,
            "{} < {acknowledged}",
            tokens.len()
        );
        for n in 0..acknowledged {
            let name = user(n).user_name.unwrap();
            assert!(
                store.find_token(&by_user(&name)).await.unwrap().is_some(),
                "token {n} kept"
            );
        }
    }
}

#[tokio::test]
async fn lock_held_by_another_holder_blocks_a_save() {
    let (_dir, path) = temp_file();
    let store = FileStore::open(&path).unwrap();
    let lock = std::fs::File::open(format!("{}.lock", path.display())).unwrap();
    lock.lock().unwrap();
    let save = tokio::spawn({
        let store = store.clone();
        async move { store.save_token(&user(1)).await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!save.is_finished(), "the save waits for the lock");
    assert_eq!(
        store.get_tokens().await.unwrap(),
        vec![],
        "nothing written while locked"
    );
    lock.unlock().unwrap();
    let saved = save.await.unwrap().unwrap();
    assert_eq!(saved.id.as_deref(), Some("1"));
}

#[tokio::test]
async fn concurrent_writer_processes_lose_nothing() {
    let (_dir, path) = temp_file();
    FileStore::open(&path).unwrap();
    let (writers, per_writer) = (3, 25);
    let children: Vec<_> = (0..writers)
        .map(|w| spawn_child("writer", &path, &format!("w{w}:{per_writer}")))
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "writer failed");
        assert!(String::from_utf8_lossy(&output.stdout).contains("done"));
    }
    let store = FileStore::open(&path).unwrap();
    let tokens = store.get_tokens().await.unwrap();
    assert_eq!(tokens.len(), writers * per_writer);
    let ids: Vec<String> = tokens.iter().map(|t| t.id.clone().unwrap()).collect();
    let expected: Vec<String> = (1..=writers * per_writer).map(|n| n.to_string()).collect();
    assert_eq!(ids, expected, "unique ids 1..=N");
    for w in 0..writers {
        for n in 0..per_writer {
            let found = store
                .find_token(&by_user(&format!("w{w}-{n}")))
                .await
                .unwrap();
            assert!(found.is_some(), "w{w}-{n} found");
        }
    }
}

#[test]
fn from_url_decodes_the_path_and_rejects_other_urls() {
    let (dir, _) = temp_file();
    let path = dir.path().join("my tokens.txt");
    let url = format!("file://{}", dir.path().join("my%20tokens.txt").display());
    let store = FileStore::from_url(&url).unwrap();
    assert_eq!(store.path(), path);
    assert!(path.exists());
    assert!(format!("{store:?}").contains("my tokens.txt"));
    for bad in [
        "sqlite:///x.db",
        "file://host/relative",
        "not a url",
        "file:relative",
    ] {
        let err = FileStore::from_url(bad).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConfigInvalid, "{bad}");
    }
}

// The cache of the parsed file: every change made outside this store is seen by the next call.

fn access(store_find: Option<Token>) -> String {
    store_find
        .expect("token found")
        .access_token
        .expect("access token")
}

/// Long enough for a cached parse to be trusted on the file's metadata alone (the cache's
/// margin is 10 ms), so the tests cover both the settled and the unsettled cache.
const SETTLE: Duration = Duration::from_millis(50);

#[tokio::test]
async fn a_second_store_on_the_same_file_is_seen_by_the_next_find() {
    let (_dir, path) = temp_file();
    let first = FileStore::open(&path).unwrap();
    let second = FileStore::open(&path).unwrap();
    first.save_token(&user(1)).await.unwrap();
    let name = user(1).user_name.unwrap();
    let mut sizes = Vec::new();
    for round in 0..20 {
        if round % 2 == 1 {
            tokio::time::sleep(SETTLE).await; // let the first store's cache settle
        }
        // Two writes well within one second, each of the same size as the last.
        for n in 0..2 {
            let value = format!("1000.access.{round:02}.{n}");
            let refreshed = Token::builder()
                .user_name(&name)
                .access_token(&value)
                .build();
            second.save_token(&refreshed).await.unwrap();
            sizes.push(std::fs::metadata(&path).unwrap().len());
            assert_eq!(
                access(first.find_token(&by_user(&name)).await.unwrap()),
                value
            );
            assert_eq!(
                first
                    .find_token_by_id("1")
                    .await
                    .unwrap()
                    .unwrap()
                    .access_token,
                Some(value.clone())
            );
        }
    }
    assert!(
        sizes.windows(2).all(|w| w[0] == w[1]),
        "equal sizes: {sizes:?}"
    );
    // And the other way round, a save of the first store builds on the second's write.
    second.save_token(&user(2)).await.unwrap();
    let third = first.save_token(&user(3)).await.unwrap();
    assert_eq!(third.id.as_deref(), Some("3"));
    assert_eq!(first.get_tokens().await.unwrap().len(), 3);
    assert_eq!(second.get_tokens().await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_raw_write_of_the_file_is_seen() {
    let (_dir, path) = temp_file();
    let store = FileStore::open(&path).unwrap();
    let mut first = user(1);
    first.access_token = Some("1000.access.00".into());
    store.save_token(&first).await.unwrap();
    let name = user(1).user_name.unwrap();
    for settle in [false, true] {
        for n in 0..5 {
            assert!(store.find_token(&by_user(&name)).await.unwrap().is_some());
            if settle {
                tokio::time::sleep(SETTLE).await;
                store.find_token(&by_user(&name)).await.unwrap();
            }
            // Same inode, same size: only the content and the timestamps change.
            let before = std::fs::metadata(&path).unwrap();
            let value = format!("1000.rawacc.{}{n}", u8::from(settle));
            let content = text(&path).replace(
                &store
                    .find_token(&by_user(&name))
                    .await
                    .unwrap()
                    .unwrap()
                    .access_token
                    .unwrap(),
                &value,
            );
            std::fs::write(&path, &content).unwrap();
            if n % 2 == 1 {
                // As if written in the same tick: the modification time put back.
                let file = std::fs::File::options().write(true).open(&path).unwrap();
                file.set_modified(before.modified().unwrap()).unwrap();
            }
            assert_eq!(std::fs::metadata(&path).unwrap().len(), before.len());
            assert_eq!(
                access(store.find_token(&by_user(&name)).await.unwrap()),
                value
            );
            assert_eq!(
                store.get_tokens().await.unwrap()[0].access_token,
                Some(value)
            );
        }
    }
    // A file replaced by one with other rows (a Python SDK write, say).
    let replaced = format!("{HEADER_LINE}7,python@example.com,,,1000.p,,,,,\r\n");
    std::fs::write(&path, replaced).unwrap();
    assert_eq!(store.find_token(&by_user(&name)).await.unwrap(), None);
    assert!(store.find_token_by_id("7").await.unwrap().is_some());
    let saved = store.save_token(&user(2)).await.unwrap();
    assert_eq!(
        saved.id.as_deref(),
        Some("8"),
        "the save built on the new file"
    );
    assert_eq!(store.get_tokens().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_cached_file_that_becomes_corrupt_is_an_error() {
    for settle in [false, true] {
        let (_dir, path) = temp_file();
        let store = FileStore::open(&path).unwrap();
        for n in 1..=3 {
            store.save_token(&user(n)).await.unwrap();
        }
        let whole = std::fs::read(&path).unwrap();
        let last_row = whole.len() - text(&path).lines().last().unwrap().len() - 2; // CRLF
        let mut cut = whole.clone();
        cut.truncate(last_row + 40); // the last row loses cells
        let mut same_size = whole.clone();
        assert_eq!(same_size[last_row], b'3');
        same_size[last_row] = b'x'; // a non-numeric id, the size unchanged
        for (what, bytes) in [("truncated", cut), ("same size", same_size)] {
            std::fs::write(&path, &whole).unwrap();
            assert_eq!(store.get_tokens().await.unwrap().len(), 3, "{what}");
            if settle {
                tokio::time::sleep(SETTLE).await;
                assert_eq!(store.get_tokens().await.unwrap().len(), 3, "{what}");
            }
            std::fs::write(&path, &bytes).unwrap();
            let kinds = [
                store
                    .find_token(&by_user("user1@example.com:60001"))
                    .await
                    .map(|_| ()),
                store.find_token_by_id("1").await.map(|_| ()),
                store.get_tokens().await.map(|_| ()),
                store.save_token(&user(4)).await.map(|_| ()),
                store.delete_token("1").await,
            ]
            .map(|result| result.unwrap_err().kind());
            assert_eq!(kinds, [ErrorKind::Corrupt; 5], "{what}, settled: {settle}");
            assert_eq!(std::fs::read(&path).unwrap(), bytes, "{what}: unchanged");
        }
        std::fs::write(&path, &whole).unwrap();
        assert_eq!(store.get_tokens().await.unwrap().len(), 3, "repaired");
    }
}

#[tokio::test]
async fn a_cached_file_that_is_deleted_is_an_empty_store() {
    for settle in [false, true] {
        let (_dir, path) = temp_file();
        let store = FileStore::open(&path).unwrap();
        store.save_token(&user(1)).await.unwrap();
        let name = user(1).user_name.unwrap();
        assert!(store.find_token(&by_user(&name)).await.unwrap().is_some());
        if settle {
            tokio::time::sleep(SETTLE).await;
            assert!(store.find_token(&by_user(&name)).await.unwrap().is_some());
        }
        std::fs::remove_file(&path).unwrap();
        assert_eq!(store.find_token(&by_user(&name)).await.unwrap(), None);
        assert_eq!(store.find_token_by_id("1").await.unwrap(), None);
        assert_eq!(store.get_tokens().await.unwrap(), vec![]);
        store.delete_token("1").await.unwrap();
        assert!(
            !path.exists(),
            "deleting from a missing file writes nothing"
        );
        let saved = store.save_token(&user(2)).await.unwrap();
        assert_eq!(saved.id.as_deref(), Some("2"), "the id mark survives");
        assert_eq!(store.get_tokens().await.unwrap(), vec![saved]);
        assert!(text(&path).starts_with(HEADER_LINE));
    }
}

#[tokio::test]
async fn a_cached_store_sees_the_writes_of_other_processes() {
    let (_dir, path) = temp_file();
    let store = FileStore::open(&path).unwrap();
    store.save_token(&user(1)).await.unwrap();
    assert_eq!(store.get_tokens().await.unwrap().len(), 1);
    let output = spawn_child("writer", &path, "child:10")
        .wait_with_output()
        .unwrap();
    assert!(output.status.success(), "writer failed");
    for n in 0..10 {
        let found = store.find_token(&by_user(&format!("child-{n}"))).await;
        assert!(found.unwrap().is_some(), "child-{n} found");
    }
    assert_eq!(store.get_tokens().await.unwrap().len(), 11);
}
