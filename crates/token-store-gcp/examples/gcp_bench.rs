//! Latency per TokenStore operation on the GCP backend against an emulator, next to the latency
//! of one raw AccessSecretVersion call measured in the same run, plus Secret Manager calls per
//! operation.
//!
//! ```text
//! TOKEN_STORE_GCP_ENDPOINT=http://127.0.0.1:8086 TOKEN_STORE_GCP_EMULATOR=drongo \
//!   cargo run --release -p token-store-gcp --features emulator-tests --example gcp_bench
//! ```
//! (`GCP_BENCH=1 scripts/test-gcp.sh` starts the emulator and runs it.) `GCP_BENCH_ITERS`
//! sets the samples per operation (default 40).

use std::sync::Arc;
use std::time::{Duration, Instant};

use google_cloud_secretmanager_v1::client::SecretManagerService;
use token_store_core::{SecretBackend, Token, TokenStore};
use token_store_gcp::{GcpBackend, GcpSecretManagerStore};

fn token(n: usize) -> Token {
    Token::builder()
        .user_name(format!("bench{n}@example.com"))
        .client_id("1000.CLIENT")
        .client_secret("client-secret")
        .refresh_token(format!("1000.refresh.{n}"))
        .access_token(format!("1000.access.{n}"))
        .expiry_time(1_700_000_000_000)
        .build()
}

struct Samples(Vec<Duration>);

impl Samples {
    fn median(&self) -> Duration {
        let mut sorted = self.0.clone();
        sorted.sort();
        sorted[sorted.len() / 2]
    }
    fn mean(&self) -> Duration {
        self.0.iter().sum::<Duration>() / self.0.len() as u32
    }
}

async fn time<F, Fut>(iters: usize, mut op: F) -> Samples
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut samples = Vec::with_capacity(iters);
    for i in 0..iters {
        let start = Instant::now();
        op(i).await;
        samples.push(start.elapsed());
    }
    Samples(samples)
}

#[tokio::main]
async fn main() {
    let endpoint = std::env::var("TOKEN_STORE_GCP_ENDPOINT")
        .expect("TOKEN_STORE_GCP_ENDPOINT names the emulator");
    let emulator = std::env::var("TOKEN_STORE_GCP_EMULATOR").unwrap_or_else(|_| "unknown".into());
    let iters: usize = std::env::var("GCP_BENCH_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let project = "token-store-bench";
    let prefix = format!("bench-{}-", std::process::id());
    let backend: Arc<GcpBackend> = Arc::new(
        GcpSecretManagerStore::builder()
            .project(project)
            .prefix(&prefix)
            .endpoint(&endpoint)
            .anonymous()
            .page_size(1000)
            .build_backend()
            .await
            .expect("backend"),
    );
    let store = GcpSecretManagerStore::from_backend(backend.clone());
    let raw: SecretManagerService = backend.client().clone();

    // Warm up: a few tokens so the index exists and this process knows what it retired.
    for n in 0..3 {
        store.save_token(&token(n)).await.expect("save");
    }
    let raw_name = format!(
        "{}/versions/latest",
        backend.secret_name("token-1").unwrap()
    );

    let mut rows: Vec<(String, Samples, f64)> = Vec::new();
    let mut measure =
        |name: &str, samples: Samples, calls: f64| rows.push((name.to_owned(), samples, calls));
    let per_op = |b: &GcpBackend, n: usize| {
        let total: u64 = b.calls().counts().values().sum();
        b.calls().reset();
        total as f64 / n as f64
    };

    // Warm the connection pool so the first raw sample pays no connection set-up.
    for _ in 0..10 {
        raw.access_secret_version()
            .set_name(raw_name.clone())
            .send()
            .await
            .expect("raw access");
    }
    backend.calls().reset();
    let s = time(iters, |_| {
        let raw = raw.clone();
        let name = raw_name.clone();
        async move {
            raw.access_secret_version()
                .set_name(name)
                .send()
                .await
                .expect("raw access");
        }
    })
    .await;
    measure("raw AccessSecretVersion", s, 1.0);

    let s = time(iters, |i| {
        let store = &store;
        async move {
            store.save_token(&token(100 + i)).await.expect("save new");
        }
    })
    .await;
    measure("save_token (new user)", s, per_op(&backend, iters));

    let s = time(iters, |i| {
        let store = &store;
        async move {
            let mut t = token(1);
            t.access_token = Some(format!("1000.access.refreshed.{i}"));
            store.save_token(&t).await.expect("save refreshed");
        }
    })
    .await;
    measure(
        "save_token (refreshed access token)",
        s,
        per_op(&backend, iters),
    );

    let s = time(iters, |i| {
        let store = &store;
        async move {
            let q = Token::builder()
                .user_name(format!("bench{}@example.com", 100 + i))
                .build();
            store.find_token(&q).await.expect("find").expect("found");
        }
    })
    .await;
    measure("find_token by user", s, per_op(&backend, iters));

    let s = time(iters, |i| {
        let store = &store;
        async move {
            let q = Token::builder()
                .access_token(format!("1000.access.{}", 100 + i))
                .build();
            store.find_token(&q).await.expect("find").expect("found");
        }
    })
    .await;
    measure("find_token by access token", s, per_op(&backend, iters));

    let s = time(iters, |_| {
        let store = &store;
        async move {
            store
                .find_token_by_id("2")
                .await
                .expect("find by id")
                .expect("found");
        }
    })
    .await;
    measure("find_token_by_id", s, per_op(&backend, iters));

    let count = store.get_tokens().await.expect("get_tokens").len();
    backend.calls().reset();
    let s = time(iters.min(5), |_| {
        let store = &store;
        async move {
            store.get_tokens().await.expect("get_tokens");
        }
    })
    .await;
    measure(
        &format!("get_tokens ({count} tokens)"),
        s,
        per_op(&backend, iters.min(5)),
    );

    let s = time(iters, |i| {
        let store = &store;
        async move {
            store
                .delete_token(&(4 + i).to_string())
                .await
                .expect("delete");
        }
    })
    .await;
    measure("delete_token", s, per_op(&backend, iters));

    let raw_median = rows[0].1.median().as_secs_f64();
    println!("GCP backend against {emulator} at {endpoint}: {iters} samples per operation");
    println!(
        "{:<38} {:>10} {:>10} {:>9} {:>10}",
        "operation", "median ms", "mean ms", "x raw", "calls/op"
    );
    for (name, samples, calls) in &rows {
        let median = samples.median().as_secs_f64();
        println!(
            "{name:<38} {:>10.2} {:>10.2} {:>9.1} {calls:>10.1}",
            median * 1e3,
            samples.mean().as_secs_f64() * 1e3,
            median / raw_median
        );
    }
    store.delete_tokens().await.expect("clean up");
    backend.delete("index").await.expect("clean up index");
}
