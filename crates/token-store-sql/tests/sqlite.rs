//! SqliteStore: the conformance suite on temporary database files, plus SQLite-specific checks
//! that read the raw rows, open a database made by the Kaizen sample's DDL, and try injection.

mod common;

use std::path::PathBuf;

use common::{RawRow, expected_row, injection_round_trip, token_for};
use sqlx::Row as _;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};
use token_store_core::testkit::{BoxFuture, Capabilities, StoreHarness};
use token_store_core::{ErrorKind, Token, TokenStore};
use token_store_sql::{MAX_FIELD_BYTES, SqliteStore};

/// The CREATE TABLE statement of the Kaizen #192 article's `CustomStoreSQLite`, verbatim.
const ARTICLE_DDL: &str = "CREATE TABLE  oauthtoken (id varchar(10) NOT NULL,user_name varchar(255), client_id \
varchar(255), client_secret varchar(255), refresh_token varchar(255), access_token \
varchar(255), grant_token varchar(255), expiry_time varchar(20), redirect_url varchar(\
255), api_domain varchar(255), primary key (id))";

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("token-store-sql");
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let path = dir.join(format!("{name}.db"));
    for suffix in ["", "-journal", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    path
}

/// One database file per namespace under the cargo target's scratch folder.
struct SqliteHarness;

impl StoreHarness for SqliteHarness {
    fn open<'a>(&'a self, namespace: &'a str) -> BoxFuture<'a, Box<dyn TokenStore>> {
        Box::pin(async move {
            let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("token-store-sql");
            std::fs::create_dir_all(&dir).expect("scratch dir");
            let store = SqliteStore::builder()
                .path(dir.join(format!("conformance-{namespace}.db")))
                .open()
                .await
                .unwrap_or_else(|e| panic!("open SQLite store {namespace}: {e}"));
            Box::new(store) as Box<dyn TokenStore>
        })
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            durable: true,
            max_field_bytes: MAX_FIELD_BYTES,
        }
    }
}

token_store_core::conformance_tests!(SqliteHarness);

async fn raw_pool(path: &PathBuf) -> SqlitePool {
    SqlitePool::connect_with(
        SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true),
    )
    .await
    .unwrap()
}

async fn raw_rows(pool: &SqlitePool, table: &str) -> Vec<RawRow> {
    let sql = format!("SELECT * FROM \"{table}\" ORDER BY CAST(id AS INTEGER)");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(pool)
        .await
        .unwrap();
    rows.iter()
        .map(|row| (0..10).map(|i| row.get::<Option<String>, _>(i)).collect())
        .collect()
}

#[tokio::test]
async fn injection_values_are_stored_and_found_literally() {
    let path = scratch("injection");
    let store = SqliteStore::builder().path(&path).open().await.unwrap();
    let saved = injection_round_trip(&store).await;
    let pool = raw_pool(&path).await;
    let rows = raw_rows(&pool, "oauthtoken").await;
    assert_eq!(
        rows,
        saved.iter().map(expected_row).collect::<Vec<_>>(),
        "table intact, values literal"
    );
}

#[tokio::test]
async fn rows_have_the_zoho_layout() {
    let path = scratch("layout");
    let store = SqliteStore::from_url(&format!("sqlite://{}?table=tokens_a", path.display()))
        .await
        .unwrap();
    assert_eq!(store.table(), "tokens_a");
    let mut token = token_for("layout@example.com:1", 1);
    token.client_secret = None;
    let saved = store.save_token(&token).await.unwrap();
    let pool = raw_pool(&path).await;
    let rows = raw_rows(&pool, "tokens_a").await;
    assert_eq!(rows, vec![expected_row(&saved)]);
    assert_eq!(rows[0][3], None, "absent values are NULL");
    assert_eq!(
        rows[0][7].as_deref(),
        Some("1764000000001"),
        "expiry is epoch ms as text"
    );
    let columns: Vec<String> =
        sqlx::query_scalar("SELECT name FROM pragma_table_info('tokens_a') ORDER BY cid")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(columns, token_store_sql::COLUMNS);
    let types: Vec<String> =
        sqlx::query_scalar("SELECT type FROM pragma_table_info('tokens_a') ORDER BY cid")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(types[0], "varchar(10)");
    assert_eq!(types[7], "varchar(20)");
    assert!(
        types
            .iter()
            .enumerate()
            .all(|(i, t)| i == 0 || i == 7 || t == "varchar(255)")
    );
}

#[tokio::test]
async fn opens_a_database_made_by_the_article_and_reads_its_rows() {
    let path = scratch("article");
    let pool = raw_pool(&path).await;
    sqlx::query(ARTICLE_DDL).execute(&pool).await.unwrap();
    // Rows as the article's save_token inserts them: bound values, None as NULL, ids from its
    // string max + 1, the expiry as a string.
    let insert = "insert into oauthtoken (id,user_name,client_id,client_secret,refresh_token,access_token,\
                  grant_token,expiry_time,redirect_url,api_domain) values (?,?,?,?,?,?,?,?,?,?);";
    for n in 1..=10 {
        let user = if n == 3 {
            None
        } else {
            Some(format!("user{n}@example.com:6000{n}"))
        };
        sqlx::query(insert)
            .bind(n.to_string())
            .bind(user)
            .bind("1000.CLIENT")
            .bind("secret")
            .bind(format!("1000.refresh.{n}"))
            .bind(format!("1000.access.{n}"))
            .bind(if n == 1 { Some("1000.grant.1") } else { None })
            .bind(format!("17640000000{n:02}"))
            .bind("http://localhost/callback")
            .bind("https://www.zohoapis.com")
            .execute(&pool)
            .await
            .unwrap();
    }
    let store = SqliteStore::builder()
        .path(&path)
        .open()
        .await
        .expect("opens the article's table");
    let all = store.get_tokens().await.unwrap();
    assert_eq!(all.len(), 10);
    assert_eq!(all[9].id.as_deref(), Some("10"), "ordered numerically");
    let found = store
        .find_token(
            &Token::builder()
                .user_name("user2@example.com:60002")
                .build(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.refresh_token.as_deref(), Some("1000.refresh.2"));
    assert_eq!(found.expiry_time, Some(1_764_000_000_002));
    let by_grant = Token::builder()
        .client_id("c")
        .client_secret("s")
        .grant_token("1000.grant.1")
        .build();
    assert_eq!(
        store
            .find_token(&by_grant)
            .await
            .unwrap()
            .unwrap()
            .id
            .as_deref(),
        Some("1")
    );
    let no_user = store
        .find_token(&Token::builder().access_token("1000.access.3").build())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(no_user.user_name, None);
    // The article's store fails on the 11th save (string max "9" + 1 = "10" again); this one does not.
    let eleventh = store
        .save_token(&token_for("user11@example.com", 11))
        .await
        .unwrap();
    assert_eq!(eleventh.id.as_deref(), Some("11"));
    assert_eq!(
        raw_rows(&pool, "oauthtoken").await.last().unwrap(),
        &expected_row(&eleventh)
    );
}

#[tokio::test]
async fn an_existing_empty_table_opens() {
    let path = scratch("empty");
    let pool = raw_pool(&path).await;
    sqlx::query(ARTICLE_DDL).execute(&pool).await.unwrap();
    let store = SqliteStore::builder()
        .path(&path)
        .open()
        .await
        .expect("empty table opens (spec §6 item 39)");
    assert!(store.get_tokens().await.unwrap().is_empty());
    let again = SqliteStore::builder()
        .path(&path)
        .open()
        .await
        .expect("and opens again");
    assert_eq!(
        again
            .save_token(&token_for("u", 1))
            .await
            .unwrap()
            .id
            .as_deref(),
        Some("1")
    );
}

#[tokio::test]
async fn a_table_with_another_column_order_is_refused() {
    let path = scratch("order");
    let pool = raw_pool(&path).await;
    sqlx::query(
        "CREATE TABLE oauthtoken (id varchar(10) NOT NULL PRIMARY KEY, client_id varchar(255), user_name varchar(255), \
         client_secret varchar(255), refresh_token varchar(255), access_token varchar(255), grant_token varchar(255), \
         expiry_time varchar(20), redirect_url varchar(255), api_domain varchar(255))",
    )
    .execute(&pool)
    .await
    .unwrap();
    let err = SqliteStore::builder().path(&path).open().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConfigInvalid, "{err}");
}

#[tokio::test]
async fn foreign_and_non_numeric_ids_do_not_break_id_assignment() {
    let path = scratch("foreign-ids");
    let store = SqliteStore::builder().path(&path).open().await.unwrap();
    let pool = raw_pool(&path).await;
    for id in ["9", "abc", "007", "99999999999"] {
        sqlx::query("INSERT INTO oauthtoken (id, user_name, access_token) VALUES (?, ?, ?)")
            .bind(id)
            .bind(format!("foreign-{id}"))
            .bind(format!("access-{id}"))
            .execute(&pool)
            .await
            .unwrap();
    }
    let saved = store
        .save_token(&token_for("new@example.com", 1))
        .await
        .unwrap();
    assert_eq!(
        saved.id.as_deref(),
        Some("10"),
        "only canonical ids of at most 10 digits count"
    );
    let foreign = store
        .find_token(&Token::builder().user_name("foreign-abc").build())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        foreign.id.as_deref(),
        Some("abc"),
        "foreign rows are still readable"
    );
    assert_eq!(store.get_tokens().await.unwrap().len(), 5);
}

#[tokio::test]
async fn in_memory_urls_work_and_debug_shows_no_secret() {
    let store = SqliteStore::from_url("sqlite::memory:").await.unwrap();
    let saved = store
        .save_token(&token_for("mem@example.com", 1))
        .await
        .unwrap();
    assert_eq!(store.find_token_by_id("1").await.unwrap(), Some(saved));
    let shown = format!("{store:?}");
    assert!(
        shown.contains("oauthtoken") && !shown.contains("secret-1"),
        "{shown}"
    );
}

#[tokio::test]
async fn bad_urls_and_unopenable_files_are_typed_errors() {
    let err = SqliteStore::from_url("sqlite://x.db?mode=bogus")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConfigInvalid);
    let err = SqliteStore::builder()
        .path("/nonexistent-dir/for/sure/x.db")
        .open()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConfigInvalid, "{err}");
}

#[tokio::test]
async fn indexes_are_added_to_created_tables_only() {
    let path = scratch("indexes");
    let pool = raw_pool(&path).await;
    sqlx::query(ARTICLE_DDL).execute(&pool).await.unwrap();
    SqliteStore::builder().path(&path).open().await.unwrap();
    SqliteStore::builder()
        .path(&path)
        .table("created")
        .open()
        .await
        .unwrap();
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        indexes,
        [
            "created__access_token",
            "created__grant_token",
            "created__refresh_token",
            "created__user_name"
        ],
        "the article's table is left as it is"
    );
}

#[tokio::test]
async fn wal_is_opt_in() {
    let path = scratch("wal");
    let plain = SqliteStore::builder().path(&path).open().await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(plain.pool())
        .await
        .unwrap();
    assert_eq!(mode, "delete", "the journal mode is left as it is");
    drop(plain);
    let wal = SqliteStore::builder()
        .path(&path)
        .wal(true)
        .open()
        .await
        .unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(wal.pool())
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let saved = wal
        .save_token(&token_for("wal@example.com", 1))
        .await
        .unwrap();
    assert_eq!(wal.find_token_by_id("1").await.unwrap(), Some(saved));
}
