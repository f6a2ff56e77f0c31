//! Throughput of `FileStore`: `find_token` by user name, `save_token` of a refreshed token
//! (update) and of a new user (insert), one client, sequential calls, for token files of several
//! sizes. Run by `scripts/bench-file.sh`, which prints these figures next to the Zoho Python
//! SDK's FileStore measured the same way on the same disk. Prints
//! `RESULT <store> <rows> <operation> <ops/s>` lines.
//!
//! The token file is seeded by writing its CSV (the bytes `save_token` would write, as the
//! Python side does), not by a save per row, which would dominate the run at 5,000 rows.
//!
//! Env: `BENCH_DIR` (directory for the token files, default the system temp dir; use a real
//! disk: every save fsyncs), `BENCH_ROWS` (default `10 1000 5000`), `BENCH_ITERATIONS`
//! (default 2000).

use std::path::PathBuf;
use std::time::Instant;

use token_store_core::{Token, TokenStore};
use token_store_file::{FileStore, HEADER};

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

/// The token file holding `user(0)` to `user(rows - 1)` with ids 1 to `rows` (no value of
/// theirs needs quoting).
fn seed(path: &std::path::Path, rows: usize) {
    let mut text = HEADER.join(",") + "\r\n";
    for n in 0..rows {
        let t = user(n);
        let cells = [
            Some((n + 1).to_string()),
            t.user_name,
            t.client_id,
            t.client_secret,
            t.refresh_token,
            t.access_token,
            t.grant_token,
            t.expiry_time.map(|v| v.to_string()),
            t.redirect_url,
            t.api_domain,
        ];
        let cells: Vec<String> = cells.into_iter().map(Option::unwrap_or_default).collect();
        text += &cells.join(",");
        text += "\r\n";
    }
    std::fs::write(path, text).expect("seed the bench file");
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

async fn bench(dir: &std::path::Path, rows: usize, iterations: usize) {
    let path = dir.join(format!("bench-rust-{rows}.txt"));
    let lock = format!("{}.lock", path.display());
    let _ = std::fs::remove_file(&lock);
    seed(&path, rows);
    let store = FileStore::open(&path).expect("open the bench file");
    let store = &store;
    let find = measure(iterations, |i| async move {
        let query = Token::builder()
            .user_name(user(i % rows).user_name.unwrap())
            .build();
        assert!(store.find_token(&query).await.expect("find").is_some());
    })
    .await;
    let update = measure(iterations, |i| async move {
        let refreshed = Token::builder()
            .user_name(user(i % rows).user_name.unwrap())
            .access_token(format!("1000.bench.access.refreshed.{i}"))
            .expiry_time(1_764_000_000_000 + i as i64)
            .build();
        store.save_token(&refreshed).await.expect("save");
    })
    .await;
    let inserts = (iterations / 4).max(1);
    let insert = measure(inserts, |i| async move {
        store.save_token(&user(rows + i)).await.expect("insert");
    })
    .await;
    println!("RESULT FileStore(rust) {rows} find_token(user) {find:.0}");
    println!("RESULT FileStore(rust) {rows} save_token(update) {update:.0}");
    println!("RESULT FileStore(rust) {rows} save_token(insert) {insert:.0}");
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(&lock);
}

#[tokio::main]
async fn main() {
    let dir = std::env::var_os("BENCH_DIR").map_or_else(std::env::temp_dir, PathBuf::from);
    std::fs::create_dir_all(&dir).expect("bench directory");
    let iterations = std::env::var("BENCH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let sizes = std::env::var("BENCH_ROWS").unwrap_or_else(|_| "10 1000 5000".into());
    for rows in sizes.split_whitespace() {
        bench(&dir, rows.parse().expect("BENCH_ROWS: numbers"), iterations).await;
    }
}
