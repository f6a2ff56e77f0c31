//! MySqlStore against a real MariaDB (feature `mysql-tests`; `scripts/test-sql.sh` starts the
//! server and sets `TOKEN_STORE_MYSQL_URL`). Without a reachable server every test fails.

mod common;

use common::{RawRow, expected_row, injection_round_trip, token_for};
use sqlx::Row as _;
use sqlx::mysql::MySqlPool;
use token_store_core::testkit::{BoxFuture, Capabilities, StoreHarness, random_namespace};
use token_store_core::{ErrorKind, Token, TokenStore};
use token_store_sql::{MAX_FIELD_BYTES, MYSQL_URL_ENV, MySqlStore};

/// The DBStore DDL from the Zoho Python SDK README (spec §4.2), as a user would run it.
fn zoho_ddl(table: &str) -> String {
    format!(
        "CREATE TABLE {table} (id varchar(10) NOT NULL, user_name varchar(255), client_id varchar(255), \
         client_secret varchar(255), refresh_token varchar(255), access_token varchar(255), grant_token varchar(255), \
         expiry_time varchar(20), redirect_url varchar(255), api_domain varchar(255), primary key (id))"
    )
}

fn url() -> String {
    std::env::var(MYSQL_URL_ENV).unwrap_or_else(|_| {
        panic!("{MYSQL_URL_ENV} must name the MariaDB to test (run scripts/test-sql.sh)")
    })
}

fn table_for(namespace: &str) -> String {
    format!("oauthtoken_{}", namespace.replace('-', "_"))
}

async fn open(table: &str) -> MySqlStore {
    MySqlStore::builder()
        .url(&url())
        .table(table)
        .max_connections(4)
        .open()
        .await
        .unwrap_or_else(|e| panic!("open MySQL store at {MYSQL_URL_ENV} (table {table}): {e}"))
}

/// One table per namespace in the test database.
struct MySqlHarness;

impl StoreHarness for MySqlHarness {
    fn open<'a>(&'a self, namespace: &'a str) -> BoxFuture<'a, Box<dyn TokenStore>> {
        Box::pin(async move { Box::new(open(&table_for(namespace)).await) as Box<dyn TokenStore> })
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            durable: true,
            max_field_bytes: MAX_FIELD_BYTES,
        }
    }
}

token_store_core::conformance_tests!(MySqlHarness);

async fn raw_pool() -> MySqlPool {
    MySqlPool::connect(&url())
        .await
        .expect("raw connection to MariaDB")
}

async fn raw_rows(pool: &MySqlPool, table: &str) -> Vec<RawRow> {
    let sql = format!("SELECT * FROM `{table}` ORDER BY CAST(id AS UNSIGNED)");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(pool)
        .await
        .unwrap();
    rows.iter()
        .map(|row| (0..10).map(|i| row.get::<Option<String>, _>(i)).collect())
        .collect()
}

async fn fresh_table(pool: &MySqlPool) -> String {
    let table = table_for(&random_namespace());
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP TABLE IF EXISTS `{table}`"
    )))
    .execute(pool)
    .await
    .unwrap();
    table
}

#[tokio::test]
async fn injection_values_are_stored_and_found_literally() {
    let pool = raw_pool().await;
    let table = fresh_table(&pool).await;
    let store = open(&table).await;
    let saved = injection_round_trip(&store).await;
    assert_eq!(
        raw_rows(&pool, &table).await,
        saved.iter().map(expected_row).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn comparisons_are_exact_despite_the_case_insensitive_collation() {
    let pool = raw_pool().await;
    let table = fresh_table(&pool).await;
    let store = open(&table).await;
    let saved = store
        .save_token(&token_for("Alice@Example.com", 1))
        .await
        .unwrap();
    for near in [
        "alice@example.com",
        "ALICE@EXAMPLE.COM",
        "Alice@Example.com ",
        "Alice@Exámple.com",
    ] {
        let query = Token::builder().user_name(near).build();
        assert_eq!(
            store.find_token(&query).await.unwrap(),
            None,
            "{near:?} is another user"
        );
    }
    let other = store
        .save_token(&token_for("alice@example.com", 2))
        .await
        .unwrap();
    assert_ne!(
        other.id, saved.id,
        "a user differing in case is a separate row"
    );
    assert_eq!(raw_rows(&pool, &table).await.len(), 2);
}

#[tokio::test]
async fn rows_have_the_zoho_layout() {
    let pool = raw_pool().await;
    let table = fresh_table(&pool).await;
    let store = open(&table).await;
    let mut token = token_for("layout@example.com:1", 1);
    token.client_secret = None;
    let saved = store.save_token(&token).await.unwrap();
    let rows = raw_rows(&pool, &table).await;
    assert_eq!(rows, vec![expected_row(&saved)]);
    assert_eq!(rows[0][3], None, "absent values are NULL");
    let columns: Vec<(String, String)> = sqlx::query_as(
        "SELECT CAST(COLUMN_NAME AS CHAR), CAST(COLUMN_TYPE AS CHAR) FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
    )
    .bind(&table)
    .fetch_all(&pool)
    .await
    .unwrap();
    let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, token_store_sql::COLUMNS);
    assert_eq!(columns[0].1, "varchar(10)");
    assert_eq!(columns[7].1, "varchar(20)");
    assert!(
        columns
            .iter()
            .enumerate()
            .all(|(i, (_, t))| i == 0 || i == 7 || t == "varchar(255)")
    );
}

#[tokio::test]
async fn an_existing_empty_zoho_table_opens_and_its_rows_are_read() {
    let pool = raw_pool().await;
    let table = fresh_table(&pool).await;
    sqlx::query(sqlx::AssertSqlSafe(zoho_ddl(&table)))
        .execute(&pool)
        .await
        .unwrap();
    let store = open(&table).await;
    assert!(
        store.get_tokens().await.unwrap().is_empty(),
        "an empty table opens"
    );
    // Ids "1".."10" as the DBStore writes them; its string max would now hand out "10" again.
    for n in 1..=10 {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO `{table}` (id, user_name, client_id, client_secret, refresh_token, access_token, grant_token, \
             expiry_time, redirect_url, api_domain) VALUES (?, ?, 'c', 's', ?, ?, NULL, ?, NULL, 'https://www.zohoapis.com')"
        )))
        .bind(n.to_string())
        .bind(format!("zoho{n}@example.com:1"))
        .bind(format!("1000.refresh.{n}"))
        .bind(format!("1000.access.{n}"))
        .bind(format!("17640000000{n:02}"))
        .execute(&pool)
        .await
        .unwrap();
    }
    let found = store
        .find_token(&Token::builder().user_name("zoho7@example.com:1").build())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (found.id.as_deref(), found.expiry_time),
        (Some("7"), Some(1_764_000_000_007))
    );
    let eleventh = store
        .save_token(&token_for("new@example.com", 11))
        .await
        .unwrap();
    assert_eq!(
        eleventh.id.as_deref(),
        Some("11"),
        "numeric, not string, maximum"
    );
}

#[tokio::test]
async fn a_table_with_another_column_order_is_refused() {
    let pool = raw_pool().await;
    let table = fresh_table(&pool).await;
    let ddl = zoho_ddl(&table).replace(
        "user_name varchar(255), client_id varchar(255)",
        "client_id varchar(255), user_name varchar(255)",
    );
    sqlx::query(sqlx::AssertSqlSafe(ddl))
        .execute(&pool)
        .await
        .unwrap();
    let err = MySqlStore::builder()
        .url(&url())
        .table(&table)
        .open()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConfigInvalid, "{err}");
}

/// Statements the server executed on the store's only connection while `op` ran, read from
/// the session's `Questions` counter (the `SHOW STATUS` itself counts once).
async fn statements<F: std::future::Future>(store: &MySqlStore, op: F) -> u64 {
    async fn questions(store: &MySqlStore) -> u64 {
        let row = sqlx::query("SHOW SESSION STATUS LIKE 'Questions'")
            .fetch_one(store.pool())
            .await
            .unwrap();
        row.get::<String, _>(1).parse().unwrap()
    }
    let before = questions(store).await;
    op.await;
    questions(store).await - before - 1
}

#[tokio::test]
async fn statements_per_operation() {
    let pool = raw_pool().await;
    let table = fresh_table(&pool).await;
    let store = MySqlStore::builder()
        .url(&url())
        .table(&table)
        .max_connections(1)
        .open()
        .await
        .unwrap();
    // Warm the statement cache so prepares do not count.
    let warm = store.save_token(&token_for("warm", 0)).await.unwrap();
    store.save_token(&warm).await.unwrap();
    store
        .find_token(&Token::builder().user_name("warm").build())
        .await
        .unwrap();
    store.find_token_by_id("1").await.unwrap();

    let insert = statements(&store, async {
        store.save_token(&token_for("u1", 1)).await.unwrap()
    })
    .await;
    let update = statements(&store, async {
        store.save_token(&token_for("u1", 2)).await.unwrap()
    })
    .await;
    let find = statements(&store, async {
        store
            .find_token(&Token::builder().user_name("u1").build())
            .await
            .unwrap()
    })
    .await;
    let by_id = statements(&store, async { store.find_token_by_id("2").await.unwrap() }).await;
    let list = statements(&store, async { store.get_tokens().await.unwrap() }).await;
    let delete = statements(&store, async { store.delete_token("2").await.unwrap() }).await;
    let none = statements(&store, async {
        store
            .find_token(&Token::builder().access_token("a").client_id("c").build())
            .await
            .unwrap()
    })
    .await;
    println!(
        "statements: insert {insert}, update {update}, find {find}, find_by_id {by_id}, get_tokens {list}, delete {delete}, no-rule find {none}"
    );
    // BEGIN, lock the id row, candidates FOR UPDATE, max id, INSERT, raise high-water, COMMIT.
    assert_eq!(insert, 7);
    // BEGIN, lock the id row, candidates FOR UPDATE, UPDATE, COMMIT.
    assert_eq!(update, 5);
    assert_eq!((find, by_id, list, delete, none), (1, 1, 1, 1, 0));
}

#[tokio::test]
async fn concurrent_writers_on_many_connections_keep_ids_unique() {
    let pool = raw_pool().await;
    let table = fresh_table(&pool).await;
    let store = std::sync::Arc::new(
        MySqlStore::builder()
            .url(&url())
            .table(&table)
            .max_connections(16)
            .open()
            .await
            .unwrap(),
    );
    let mut tasks = Vec::new();
    for t in 0..16 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..10 {
                store
                    .save_token(&token_for(&format!("user-{t}-{i}"), t * 10 + i))
                    .await
                    .unwrap();
                // A second save of a shared user from every task: stays one row.
                let mut shared = token_for("shared@example.com", 999);
                shared.access_token = Some(format!("shared-{t}-{i}"));
                store.save_token(&shared).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let rows = raw_rows(&pool, &table).await;
    assert_eq!(rows.len(), 161, "160 users plus one shared row");
    let ids: std::collections::BTreeSet<u64> = rows
        .iter()
        .map(|r| r[0].as_deref().unwrap().parse().unwrap())
        .collect();
    assert_eq!(
        ids,
        (1..=161).collect(),
        "ids 1..=161, no gaps, no duplicates"
    );
}

#[tokio::test]
async fn debug_and_errors_never_show_the_password() {
    let store = open(&fresh_table(&raw_pool().await).await).await;
    let shown = format!("{store:?}");
    assert!(!shown.contains("tokenstore-test"), "{shown}");
    let bad = url().replacen("tokenstore-test", "wrong-password-x", 1);
    let err = MySqlStore::from_url(&bad).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err}");
    assert!(!format!("{err} {err:?}").contains("wrong-password-x"));
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable() {
    let err = MySqlStore::builder()
        .url("mysql://u:secret-pw@127.0.0.1:1/zohooauth")
        .acquire_timeout(std::time::Duration::from_secs(3))
        .open()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(err.is_retryable());
    assert!(!format!("{err} {err:?}").contains("secret-pw"));
}
