//! Driver and benchmark: fire `DRIVE_TOTAL` (default 200) invocations spread over the function
//! instances at `DRIVE_ENDPOINTS` (space-separated invoke URLs), `DRIVE_CONCURRENCY` (default 1)
//! at a time per instance, all instances at once; then check with the stand-in accounts server
//! (`ZOHO_ACCOUNTS_URL`) that exactly one refresh happened (at most `DRIVE_MAX_REFRESHES` when
//! set: an instance killed mid-refresh may have cost one), no token was invalidated or rate
//! limited, and every CRM call had a live token; with `DRIVE_STORE_URL` and `DRIVE_USER`, that
//! the stored token expires about an hour from now (whichever answer form the server used).
//! Prints refreshes, service calls and latency per kind of invocation (cold start, refresh,
//! warm hit). Exits 1 when a check fails.

use std::time::Instant;

use serde_json::Value;

/// The cumulative manager counters each invocation reports.
const COUNTERS: [&str; 10] = [
    "refreshes",
    "warm_hits",
    "store_reads",
    "store_writes",
    "lease_attempts",
    "lease_lost",
    "waits",
    "paused",
    "refresh_failures",
    "save_failures",
];

/// The stored token's expiry must be this close to an hour from now (ms).
const HOUR_TOLERANCE_MS: i64 = 120_000;

/// `Some(problem)` when the token stored for `user` does not expire about an hour from now.
async fn stored_expiry_problem(store: &str, user: &str) -> Option<String> {
    let store = match token_store::open(store).await {
        Ok(store) => store,
        Err(err) => return Some(format!("cannot open the store: {err}")),
    };
    let query = token_store::Token::builder().user_name(user).build();
    let expiry = match store.find_token(&query).await {
        Ok(Some(token)) => token.expiry_time.unwrap_or(0),
        Ok(None) => return Some("no stored token".into()),
        Err(err) => return Some(format!("cannot read the stored token: {err}")),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let ahead = expiry - now;
    ((ahead - 3_600_000).abs() > HOUR_TOLERANCE_MS)
        .then(|| format!("the stored token expires {ahead} ms from now, not about an hour"))
}

struct Outcome {
    report: Option<Value>,
    round_trip_ms: f64,
}

async fn stats(
    http: &reqwest::Client,
    accounts: &str,
) -> Result<Value, Box<dyn std::error::Error>> {
    let text = http
        .get(format!("{accounts}/_test/stats"))
        .send()
        .await?
        .text()
        .await?;
    Ok(serde_json::from_str(&text)?)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let endpoints: Vec<String> = std::env::var("DRIVE_ENDPOINTS")?
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let total: usize = std::env::var("DRIVE_TOTAL")
        .unwrap_or_else(|_| "200".into())
        .parse()?;
    let concurrency: usize = std::env::var("DRIVE_CONCURRENCY")
        .unwrap_or_else(|_| "1".into())
        .parse()?;
    let accounts = std::env::var("ZOHO_ACCOUNTS_URL")?;
    let label = std::env::var("DRIVE_LABEL").unwrap_or_else(|_| "run".into());
    let http = reqwest::Client::new();
    let before = stats(&http, &accounts).await?;

    let mut tasks = tokio::task::JoinSet::new();
    let workers = endpoints.len() * concurrency;
    for (w, endpoint) in (0..workers).map(|w| (w, endpoints[w % endpoints.len()].clone())) {
        let http = http.clone();
        let count = total / workers + usize::from(w < total % workers);
        tasks.spawn(async move {
            let mut outcomes = Vec::new();
            for _ in 0..count {
                let started = Instant::now();
                let report = match http.post(&endpoint).body("{}").send().await {
                    Ok(answer) => answer
                        .text()
                        .await
                        .ok()
                        .and_then(|t| serde_json::from_str(&t).ok()),
                    Err(_) => None,
                };
                outcomes.push(Outcome {
                    report,
                    round_trip_ms: started.elapsed().as_secs_f64() * 1000.0,
                });
            }
            outcomes
        });
    }
    let outcomes: Vec<Outcome> = tasks.join_all().await.into_iter().flatten().collect();
    let after = stats(&http, &accounts).await?;
    let delta = |name: &str| after[name].as_u64().unwrap_or(0) - before[name].as_u64().unwrap_or(0);

    let mut failures = Vec::new();
    let mut kinds: Vec<(&str, Vec<f64>, Vec<f64>)> =
        ["cold start", "refresh", "warm hit", "store read"]
            .iter()
            .map(|k| (*k, Vec::new(), Vec::new()))
            .collect();
    let mut fingerprints = std::collections::BTreeSet::new();
    // Per instance, the largest value of each cumulative counter it reported.
    let mut instances: std::collections::BTreeMap<String, [u64; COUNTERS.len()]> =
        Default::default();
    for outcome in &outcomes {
        let Some(report) = outcome.report.as_ref().filter(|r| r["crm_status"].is_u64()) else {
            failures.push(format!("an invocation failed: {:?}", outcome.report));
            continue;
        };
        if report["crm_status"] != 200 {
            failures.push(format!(
                "CRM answered {} (token not live)",
                report["crm_status"]
            ));
        }
        fingerprints.insert(
            report["fingerprint"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
        let kind = match (report["source"].as_str(), report["cold"] == true) {
            (Some("refreshed"), _) => 1,
            (_, true) => 0,
            (Some("cache"), _) => 2,
            _ => 3,
        };
        kinds[kind]
            .1
            .push(report["token_ms"].as_f64().unwrap_or(0.0));
        kinds[kind].2.push(outcome.round_trip_ms);
        let counters = instances
            .entry(report["instance"].as_str().unwrap_or_default().to_owned())
            .or_default();
        for (slot, name) in COUNTERS.iter().enumerate() {
            counters[slot] = counters[slot].max(report["stats"][name].as_u64().unwrap_or(0));
        }
    }
    if outcomes.len() != total {
        failures.push(format!("{} of {total} invocations ran", outcomes.len()));
    }
    let max_refreshes: u64 = std::env::var("DRIVE_MAX_REFRESHES").map_or(Ok(1), |v| v.parse())?;
    if !(1..=max_refreshes).contains(&delta("refreshes")) {
        failures.push(format!(
            "accounts server: refreshes = {}, want 1..={max_refreshes}",
            delta("refreshes")
        ));
    }
    for name in ["access_denied", "invalidated", "crm_rejected"] {
        if delta(name) != 0 {
            failures.push(format!("accounts server: {name} = {}, want 0", delta(name)));
        }
    }
    if let (Ok(store), Ok(user)) = (
        std::env::var("DRIVE_STORE_URL"),
        std::env::var("DRIVE_USER"),
    ) && let Some(problem) = stored_expiry_problem(&store, &user).await
    {
        failures.push(problem);
    }

    println!(
        "== {label}: {} invocations over {} instances",
        outcomes.len(),
        instances.len()
    );
    println!(
        "accounts server: refreshes {}, access_denied {}, invalidated {}, CRM ok {}, CRM rejected {}; distinct tokens served {}",
        delta("refreshes"),
        delta("access_denied"),
        delta("invalidated"),
        delta("crm_ok"),
        delta("crm_rejected"),
        fingerprints.len()
    );
    let totals: Vec<String> = COUNTERS
        .iter()
        .enumerate()
        .map(|(slot, name)| {
            let sum: u64 = instances.values().map(|c| c[slot]).sum();
            format!(
                "{name} {sum} ({:.3}/invocation)",
                sum as f64 / outcomes.len().max(1) as f64
            )
        })
        .collect();
    println!("all instances: {}", totals.join(", "));
    println!("| kind | invocations | token p50 ms | token max ms | invocation round trip p50 ms |");
    println!("|---|---|---|---|---|");
    for (name, mut token, mut trip) in kinds {
        if token.is_empty() {
            continue;
        }
        token.sort_by(f64::total_cmp);
        trip.sort_by(f64::total_cmp);
        println!(
            "| {name} | {} | {:.3} | {:.3} | {:.2} |",
            token.len(),
            percentile(&token, 0.5),
            percentile(&token, 1.0),
            percentile(&trip, 0.5),
        );
    }
    if failures.is_empty() {
        println!("{label}: PASS");
        Ok(())
    } else {
        for f in failures.iter().take(10) {
            eprintln!("FAIL: {f}");
        }
        std::process::exit(1);
    }
}
