//! The built binaries end to end on one machine, as separate function instances:
//!
//! * `seed-token` stores an expired token; two `http-zoho` processes (one configured the Cloud
//!   Run way, one the Azure Functions way) get concurrent requests; the stand-in accounts
//!   server sees one refresh, and every CRM call has a live token;
//! * the older answer form (`expires_in_sec`, `expires_in` in ms) through a handler;
//! * a holder killed (`kill -9`) while the slow accounts server works on its refresh: the
//!   other instance's waiting request succeeds within 15 s of the death, with the default
//!   options, and the server sees at most 2 refreshes. On the Zoho CSV file store always, and
//!   on every store URL in `SERVERLESS_ZOHO_STORE_URLS` (space-separated; `scripts/test-oauth.sh`
//!   passes LocalStack, moto and drongo).
//!
//! (`scripts/test-oauth.sh` runs the full 200-invocation checks, Lambda included.)

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use zoho_stand_in::{Behaviour, Limits, StandIn};

fn request(addr: &str, method: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

/// One stand-in counter, read through its HTTP test endpoint.
fn stat(zoho: &StandIn, name: &str) -> u64 {
    let addr = zoho.url().trim_start_matches("http://");
    let answer = request(addr, "GET", "/_test/stats");
    let body = answer.split("\r\n\r\n").nth(1).unwrap();
    serde_json::from_str::<Value>(body).unwrap()[name]
        .as_u64()
        .unwrap()
}

fn seed(store: &str, user: &str, accounts: &str, expires_in_ms: i64) {
    let seeded = Command::new(env!("CARGO_BIN_EXE_seed-token"))
        .env("TOKEN_STORE_URL", store)
        .env("ZOHO_USER", user)
        .env("ZOHO_ACCOUNTS_URL", accounts)
        .env("SEED_EXPIRES_IN_MS", expires_in_ms.to_string())
        .status()
        .unwrap();
    assert!(seeded.success());
}

fn start_handler(port_var: &str, store: &str, user: &str, accounts: &str) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_http-zoho"))
        .env_remove("PORT")
        .env_remove("FUNCTIONS_CUSTOMHANDLER_PORT")
        .env(port_var, "0")
        .env("HTTP_HOST", "127.0.0.1")
        .env("TOKEN_STORE_URL", store)
        .env("ZOHO_USER", user)
        .env("ZOHO_ACCOUNTS_URL", accounts)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("handler did not start: {line:?}"))
        .to_owned();
    (child, addr)
}

fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

fn file_store(dir: &tempfile::TempDir) -> String {
    format!("file://{}", dir.path().join("sdk_tokens.txt").display())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_handler_processes_serve_concurrent_requests_with_one_refresh() {
    let zoho = StandIn::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = file_store(&dir);
    seed(&store, "me@example.com", zoho.url(), -1_000);
    let url = zoho.url().to_owned();
    let answers = tokio::task::spawn_blocking(move || {
        let handlers = [
            start_handler("PORT", &store, "me@example.com", &url),
            start_handler(
                "FUNCTIONS_CUSTOMHANDLER_PORT",
                &store,
                "me@example.com",
                &url,
            ),
        ];
        // Five concurrent requests per instance, all at once: the token has expired, so
        // every one of them needs the one refresh.
        let threads: Vec<_> = (0..10)
            .map(|i| {
                let addr = handlers[i % 2].1.clone();
                std::thread::spawn(move || request(&addr, "GET", "/api/zoho"))
            })
            .collect();
        let answers: Vec<String> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        for (child, _) in handlers {
            stop(child);
        }
        answers
    })
    .await
    .unwrap();
    for answer in &answers {
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.contains(r#""crm_status":200"#), "{answer}");
    }
    assert_eq!(
        stat(&zoho, "refreshes"),
        1,
        "one refresh across both processes"
    );
    assert_eq!(stat(&zoho, "crm_rejected"), 0, "no expired token served");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_older_answer_form_is_stored_as_an_hour_through_a_handler() {
    let zoho = StandIn::start_behaving(
        "127.0.0.1:0".parse().unwrap(),
        Limits::zoho(),
        Behaviour::legacy(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = file_store(&dir);
    seed(&store, "old@example.com", zoho.url(), 60_000);
    let url = zoho.url().to_owned();
    let before = now_ms();
    let store_url = store.clone();
    let answer = tokio::task::spawn_blocking(move || {
        let (child, addr) = start_handler("PORT", &store_url, "old@example.com", &url);
        let answer = request(&addr, "GET", "/");
        stop(child);
        answer
    })
    .await
    .unwrap();
    assert!(answer.contains(r#""source":"refreshed""#), "{answer}");
    let saved = token_store::open(&store)
        .await
        .unwrap()
        .find_token(
            &token_store::Token::builder()
                .user_name("old@example.com")
                .build(),
        )
        .await
        .unwrap()
        .unwrap();
    let ahead = saved.expiry_time.unwrap() - before;
    assert!(
        (3_590_000..=3_610_000).contains(&ahead),
        "stored {ahead} ms ahead, want an hour"
    );
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// The dead-holder scenario on one store: returns how long after the holder's death the
/// waiting instance's request was answered.
async fn dead_holder(store: String) -> Duration {
    let zoho = StandIn::start_behaving(
        "127.0.0.1:0".parse().unwrap(),
        Limits::zoho(),
        Behaviour::slow(8_000),
    )
    .await
    .unwrap();
    let user = format!("dead-{}-{}@example.com", std::process::id(), now_ms());
    seed(&store, &user, zoho.url(), -1_000);
    let url = zoho.url().to_owned();
    let (answer, after_death) = tokio::task::spawn_blocking(move || {
        let (holder, holder_addr) = start_handler("PORT", &store, &user, &url);
        let (waiter, waiter_addr) = start_handler("PORT", &store, &user, &url);
        // The holder's request takes the lease and waits on the slow server; it never ends.
        std::thread::spawn(move || request(&holder_addr, "GET", "/"));
        std::thread::sleep(Duration::from_millis(1_000));
        let waiting = std::thread::spawn(move || {
            let answer = request(&waiter_addr, "GET", "/");
            (answer, Instant::now())
        });
        std::thread::sleep(Duration::from_millis(1_000));
        stop(holder); // SIGKILL: no release, no more renewals
        let died = Instant::now();
        let (answer, done) = waiting.join().unwrap();
        stop(waiter);
        (answer, done - died)
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(r#""crm_status":200"#), "{answer}");
    assert!(
        after_death < Duration::from_secs(15),
        "answered {after_death:?} after the holder died"
    );
    assert!(stat(&zoho, "refreshes") <= 2);
    after_death
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_holder_costs_one_lease_not_an_outage() {
    let dir = tempfile::tempdir().unwrap();
    let mut stores = vec![file_store(&dir)];
    if let Ok(urls) = std::env::var("SERVERLESS_ZOHO_STORE_URLS") {
        stores.extend(urls.split_whitespace().map(str::to_owned));
    }
    for store in stores {
        let scheme = store.split("://").next().unwrap_or_default().to_owned();
        let after_death = dead_holder(store).await;
        println!(
            "{scheme}: the waiting request was answered {after_death:?} after the holder died"
        );
    }
}
