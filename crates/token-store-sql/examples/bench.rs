//! Throughput of `find_token` (by user name) and `save_token` (refresh of a stored user, and
//! insert of a new user) for `MySqlStore` and `SqliteStore`, one client, sequential calls.
//! Run by `scripts/bench-sql.sh`, which prints these figures next to the Zoho Python DBStore's
//! against the same MariaDB. Prints `RESULT <store> <operation> <ops/s>` lines.
//!
//! Env: `TOKEN_STORE_MYSQL_URL` (required), `BENCH_ITERATIONS` (default 2000),
//! `BENCH_SQLITE_FILE` (default a file in the system temp dir; removed first).

use std::time::Instant;

use token_store_core::{Token, TokenStore};
use token_store_sql::{MYSQL_URL_ENV, MySqlStore, SqliteStore};

/// Stored users before measuring: the Zoho DBStore can hold at most 10 rows (string max id),
/// so both sides are measured on a 10-row table.
const USERS: usize = 10;

fn user(n: usize) -> Token {
    Token::builder()
        .user_name(format!("bench{n}@example.com:8000{n}"))
        .client_id("1000.BENCHCLIENT")
        .client_secret("bench-secret")
        .refresh_token(format!("1000.bench.refresh.{n}"))
        .access_token(format!("1000.bench.access.{n}"))
        .expiry_time(1_764_000_000_000)
        .redirect_url("https://example.com/callback")
        .api_domain("https://www.zohoapis.eu")
        .build()
}

async fn measure<F, Fut>(iterations: usize, mut op: F) -> f64
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let start = Instant::now();
    for i in 0..iterations {
        op(i).await;
    }
    iterations as f64 / start.elapsed().as_secs_f64()
}

async fn bench(name: &str, store: &dyn TokenStore, iterations: usize) {
    store.delete_tokens().await.expect("clear the bench table");
    for n in 0..USERS {
        store.save_token(&user(n)).await.expect("seed");
    }
    let find = measure(iterations, |i| async move {
        let query = Token::builder()
            .user_name(format!("bench{}@example.com:8000{}", i % USERS, i % USERS))
            .build();
        assert!(store.find_token(&query).await.expect("find").is_some());
    })
    .await;
    let save = measure(iterations, |i| async move {
        let mut token = user(i % USERS);
        token.access_token = Some(format!("1000.bench.access.refreshed.{i}"));
        token.expiry_time = Some(1_764_000_000_000 + i as i64);
        store.save_token(&token).await.expect("save");
    })
    .await;
    let inserts = iterations / 4;
    let insert = measure(inserts, |i| async move {
        store.save_token(&user(USERS + i)).await.expect("insert");
    })
    .await;
    let find_large = measure(iterations, |i| async move {
        let n = USERS + (i * 7919) % inserts;
        let query = Token::builder()
            .user_name(format!("bench{n}@example.com:8000{n}"))
            .build();
        assert!(store.find_token(&query).await.expect("find").is_some());
    })
    .await;
    println!("RESULT {name} find_by_user {find:.0}");
    println!("RESULT {name} save_refresh {save:.0}");
    println!("RESULT {name} save_insert {insert:.0}");
    println!(
        "RESULT {name} find_by_user_{}_rows {find_large:.0}",
        USERS + inserts
    );
    store.delete_tokens().await.expect("clear the bench table");
}

#[tokio::main]
async fn main() {
    let iterations: usize = std::env::var("BENCH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let url = std::env::var(MYSQL_URL_ENV)
        .unwrap_or_else(|_| panic!("{MYSQL_URL_ENV} must name the MariaDB"));
    let mysql = MySqlStore::builder()
        .url(&url)
        .table("bench_mysqlstore")
        .open()
        .await
        .expect("open MySqlStore");
    bench("MySqlStore", &mysql, iterations).await;

    let file = std::env::var("BENCH_SQLITE_FILE").unwrap_or_else(|_| {
        std::env::temp_dir()
            .join("token-store-bench.db")
            .display()
            .to_string()
    });
    // A fresh database, so the table is created as this version creates it.
    for suffix in ["", "-journal"] {
        let _ = std::fs::remove_file(format!("{file}{suffix}"));
    }
    let sqlite = SqliteStore::builder()
        .path(&file)
        .open()
        .await
        .expect("open SqliteStore");
    bench("SqliteStore", &sqlite, iterations).await;

    let wal_file = format!("{file}-wal-mode.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{wal_file}{suffix}"));
    }
    let wal = SqliteStore::builder()
        .path(&wal_file)
        .wal(true)
        .open()
        .await
        .expect("open SqliteStore (WAL)");
    bench("SqliteStore+WAL", &wal, iterations).await;
}
