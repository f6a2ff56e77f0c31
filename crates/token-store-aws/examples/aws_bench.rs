//! Latency per TokenStore operation against a Secrets Manager endpoint (LocalStack by
//! default), next to one raw `GetSecretValue` measured in the same run, with the requests
//! each operation sends.
//!
//! `TOKEN_STORE_AWS_ENDPOINT=http://127.0.0.1:4566 cargo run --release -p token-store-aws \
//!  --features emulator-tests --example aws_bench` (scripts/test-aws.sh runs it with AWS_BENCH=1).

use std::time::{Duration, Instant};

use token_store_aws::AwsSecretsManagerStore;
use token_store_aws::aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};
use token_store_aws::aws_sdk_secretsmanager::{Client, Config};
use token_store_core::{Token, TokenStore};

const ROUNDS: usize = 100;
const TOKENS: usize = 40;

fn token(n: usize) -> Token {
    Token::builder()
        .user_name(format!("bench{n}@example.com"))
        .client_id("1000.BENCH")
        .client_secret("bench-secret")
        .access_token(format!("1000.access.bench.{n}"))
        .refresh_token(format!("1000.refresh.bench.{n}"))
        .expiry_time(1_764_000_000_000)
        .build()
}

struct Row {
    name: &'static str,
    median: Duration,
    mean: Duration,
    requests: f64,
}

async fn measure<F, Fut>(
    store: &AwsSecretsManagerStore,
    name: &'static str,
    rounds: usize,
    mut op: F,
) -> Row
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut samples = Vec::with_capacity(rounds);
    store.calls().reset();
    for i in 0..rounds {
        let start = Instant::now();
        op(i).await;
        samples.push(start.elapsed());
    }
    let requests = store.calls().total() as f64 / rounds as f64;
    samples.sort();
    let mean = samples.iter().sum::<Duration>() / rounds as u32;
    Row {
        name,
        median: samples[rounds / 2],
        mean,
        requests,
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let endpoint = std::env::var("TOKEN_STORE_AWS_ENDPOINT")
        .unwrap_or_else(|_| "http://127.0.0.1:4566".into());
    let client = Client::from_conf(
        Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "static"))
            .endpoint_url(&endpoint)
            .build(),
    );
    let prefix = format!("token-store-bench/{}/", std::process::id());
    let store = AwsSecretsManagerStore::builder()
        .client(client)
        .prefix(&prefix)
        .build()
        .await
        .expect("store");
    for n in 0..TOKENS {
        store.save_token(&token(n)).await.expect("seed");
    }
    let raw_client = store.backend().client().clone();
    let raw_name = format!("{prefix}token/1");
    let mut rows = Vec::new();
    rows.push(
        measure(&store, "raw GetSecretValue", ROUNDS, |_| {
            let c = raw_client.clone();
            let n = raw_name.clone();
            async move {
                c.get_secret_value()
                    .secret_id(n)
                    .send()
                    .await
                    .expect("raw get");
            }
        })
        .await,
    );
    rows.push(
        measure(&store, "find_token by user", ROUNDS, |i| {
            let q = Token::builder()
                .user_name(format!("bench{}@example.com", i % TOKENS))
                .build();
            let s = &store;
            async move {
                s.find_token(&q).await.unwrap().expect("found");
            }
        })
        .await,
    );
    rows.push(
        measure(&store, "find_token by access token", ROUNDS, |i| {
            let q = Token::builder()
                .access_token(format!("1000.access.bench.{}", i % TOKENS))
                .build();
            let s = &store;
            async move {
                s.find_token(&q).await.unwrap().expect("found");
            }
        })
        .await,
    );
    rows.push(
        measure(&store, "find_token_by_id", ROUNDS, |i| {
            let id = (i % TOKENS + 1).to_string();
            let s = &store;
            async move {
                s.find_token_by_id(&id).await.unwrap().expect("found");
            }
        })
        .await,
    );
    rows.push(
        measure(&store, "save (refreshed access token)", ROUNDS, |i| {
            let mut t = token(i % TOKENS);
            t.access_token = Some(format!("1000.access.bench.{}.r{i}", i % TOKENS));
            let s = &store;
            async move {
                s.save_token(&t).await.expect("save");
            }
        })
        .await,
    );
    rows.push(
        measure(&store, "save (new user)", ROUNDS / 2, |i| {
            let t = token(1000 + i);
            let s = &store;
            async move {
                s.save_token(&t).await.expect("save");
            }
        })
        .await,
    );
    let total = TOKENS + ROUNDS / 2;
    rows.push(
        measure(&store, "get_tokens (90 tokens)", 20, |_| {
            let s = &store;
            async move {
                assert_eq!(s.get_tokens().await.unwrap().len(), total);
            }
        })
        .await,
    );
    rows.push(
        measure(&store, "delete_token", 20, |i| {
            let id = (TOKENS + 1 + i).to_string();
            let s = &store;
            async move {
                s.delete_token(&id).await.expect("delete");
            }
        })
        .await,
    );
    let raw = rows[0].median.as_secs_f64();
    println!(
        "endpoint {endpoint}; median and mean latency, requests per operation, ratio = median / raw GetSecretValue median"
    );
    println!(
        "{:<32} {:>10} {:>10} {:>9} {:>7}",
        "operation", "median ms", "mean ms", "requests", "ratio"
    );
    for row in &rows {
        println!(
            "{:<32} {:>10.2} {:>10.2} {:>9.2} {:>7.2}",
            row.name,
            row.median.as_secs_f64() * 1e3,
            row.mean.as_secs_f64() * 1e3,
            row.requests,
            row.median.as_secs_f64() / raw
        );
    }
    store.delete_tokens().await.expect("cleanup");
    let _ = store
        .backend()
        .client()
        .delete_secret()
        .secret_id(format!("{prefix}index"))
        .force_delete_without_recovery(true)
        .send()
        .await;
}
