//! Latency per store operation against the Key Vault double (or Lowkey Vault) next to one
//! raw GetSecret call, measured in the same run, with the Key Vault calls each operation made.
//!
//! Run by `scripts/test-azure.sh` (or with `TOKEN_STORE_AZURE_URL` / `TOKEN_STORE_AZURE_CA`
//! set): `cargo run --release -p token-store-azure --features emulator-tests --example azure_bench`.
//! `AZURE_BENCH_ROUNDS` sets the rounds per operation (default 30).

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use token_store_core::testkit::random_namespace;
use token_store_core::{SecretBackend, SecretIndexStore, Token, TokenStore};

fn token(n: usize) -> Token {
    Token::builder()
        .user_name(format!("bench{n}@example.com"))
        .client_id("1000.CLIENT")
        .client_secret("client-secret-value")
        .refresh_token(format!("1000.refresh.{n}"))
        .access_token(format!("1000.access.{n}"))
        .expiry_time(1_700_000_000_000)
        .build()
}

struct Row {
    name: &'static str,
    samples: Vec<Duration>,
    calls: f64,
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

#[tokio::main]
async fn main() {
    let h = common::harness();
    let rounds: usize = std::env::var("AZURE_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(30);
    let namespace = random_namespace();
    let backend = Arc::new(h.azure_backend(&namespace).await);
    let store = SecretIndexStore::new(backend.clone());
    let raw = h.raw_client();

    // Warm-up and fixtures: a few tokens and one plain secret for the raw baseline.
    for n in 0..5 {
        store.save_token(&token(n)).await.expect("warm-up save");
    }
    let plain = backend.secret_name("token-1").unwrap(); // ids start at 1
    raw.get_secret(&plain, None).await.expect("raw get");

    let mut rows = Vec::new();
    let mut measure = |name: &'static str, samples: Vec<Duration>, calls: u64| {
        rows.push(Row {
            name,
            calls: calls as f64 / rounds as f64,
            samples,
        });
    };

    let mut raw_samples = Vec::new();
    for _ in 0..rounds {
        let t = Instant::now();
        raw.get_secret(&plain, None).await.expect("raw get");
        raw_samples.push(t.elapsed());
    }
    measure("raw GetSecret (SDK, 1 call)", raw_samples, rounds as u64);

    macro_rules! op {
        ($name:literal, |$i:ident| $body:expr) => {{
            backend.calls().reset();
            let mut samples = Vec::new();
            for $i in 0..rounds {
                let t = Instant::now();
                $body;
                samples.push(t.elapsed());
            }
            let calls: u64 = backend.calls().counts().values().sum();
            measure($name, samples, calls);
        }};
    }

    op!("save (new user)", |i| store
        .save_token(&token(100 + i))
        .await
        .expect("save"));
    op!("find_token by user", |i| store
        .find_token(
            &Token::builder()
                .user_name(format!("bench{}@example.com", 100 + i))
                .build()
        )
        .await
        .expect("find")
        .expect("found"));
    op!("find_token by access token", |i| store
        .find_token(
            &Token::builder()
                .access_token(format!("1000.access.{}", 100 + i))
                .build()
        )
        .await
        .expect("find")
        .expect("found"));
    op!("find_token_by_id", |_i| store
        .find_token_by_id("1")
        .await
        .expect("find")
        .expect("found"));
    op!("save (refreshed access token)", |i| {
        let mut t = token(100 + i);
        t.access_token = Some(format!("1000.access.refreshed.{i}"));
        store.save_token(&t).await.expect("save")
    });
    op!("delete_token", |i| store
        .delete_token(&(6 + i).to_string())
        .await
        .expect("delete"));

    let base = median(&mut rows[0].samples.clone());
    println!(
        "Vault at {}, {rounds} rounds per operation; index versions grow during the run",
        h.url
    );
    println!(
        "{:<32} {:>10} {:>8} {:>12}",
        "operation", "median ms", "x raw", "calls/op"
    );
    for row in &mut rows {
        let m = median(&mut row.samples);
        println!(
            "{:<32} {:>10.2} {:>8.1} {:>12.1}",
            row.name,
            m.as_secs_f64() * 1000.0,
            m.as_secs_f64() / base.as_secs_f64(),
            row.calls
        );
    }
    store.delete_tokens().await.expect("cleanup");
    backend.delete("index").await.expect("cleanup index");
}
