//! The virtual-time workload: token refreshes, finds and user churn, run by concurrent
//! engine instances over one [`QuotaBackend`].

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use tokio::sync::mpsc;

use super::{QuotaBackend, QuotaReport, Service, VirtualClock};
use crate::{
    Clock, EngineOptions, EngineStats, SecretBackend, SecretIndexStore, Token, TokenStore,
};

/// Where simulated time starts for the engine's clock (2026-11-01T00:00:00Z).
const SIMULATION_EPOCH_MS: u64 = 1_793_491_200_000;

const DAY: Duration = Duration::from_secs(86_400);
const CLIENT_ID: &str = "1000.SIMCLIENT0000000000000000000000";
const CLIENT_SECRET: &str = "0123456789abcdef0123456789abcdef01234567ab";

/// One simulation run.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// The service modelled (and the matching [`MemoryBackend`](crate::testkit::MemoryBackend)).
    pub service: Service,
    /// Users at the start; each is saved once by the initial import, then refreshed every
    /// `refresh_every` (phases spread evenly over the interval).
    pub tokens: usize,
    /// Users the initial import saves per minute, before the simulated days start (a store
    /// of N tokens is filled by a migration paced under the services' write quotas, not by N
    /// users in one hour). `0`: no import, each user's first save takes its first refresh
    /// slot (a bulk load in the first interval).
    pub import_per_minute: u32,
    /// Simulated days after the import.
    pub days: f64,
    /// Concurrent writers: engine instances (processes) over the one service. Each operation
    /// goes to a random writer; a writer runs its operations one after the other.
    pub writers: usize,
    /// Time between two refreshes of a token (a save of the same user with a new access
    /// token and expiry). Between two refreshes the token is found once by user name, once by
    /// access token and once by refresh token (+ client id/secret), evenly spaced.
    pub refresh_every: Duration,
    /// Users added per day and users deleted per day, as a fraction of `tokens`.
    pub churn_per_day: f64,
    /// Virtual latency of each backend call (lets concurrent writers interleave).
    pub latency: Duration,
    /// Seed of the writer choice and the deletions.
    pub seed: u64,
    /// Values kept per secret by the model ([`QuotaBackend::keep_values`]); `None`: the
    /// inner backend stores every value of every version.
    pub keep_values: Option<usize>,
}

impl SimConfig {
    /// `tokens` users imported at 50 a minute, then `days` on `service`, 4 writers, refresh
    /// every 55 min, 1 % churn a day, 20 ms per call, values of the last 16 versions per
    /// secret kept.
    pub fn new(service: Service, tokens: usize, days: f64) -> Self {
        Self {
            service,
            tokens,
            import_per_minute: 50,
            days,
            writers: 4,
            refresh_every: Duration::from_secs(55 * 60),
            churn_per_day: 0.01,
            latency: Duration::from_millis(20),
            seed: 1,
            keep_values: Some(16),
        }
    }
}

/// Nearest-rank percentiles of a count per operation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Percentiles {
    /// Operations measured.
    pub count: u64,
    /// Median.
    pub p50: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Largest.
    pub max: u64,
}

impl Percentiles {
    fn of(histogram: &[u64]) -> Self {
        let count: u64 = histogram.iter().sum();
        let rank = |q: f64| {
            let target = ((count as f64) * q).ceil().max(1.0) as u64;
            let mut seen = 0;
            for (value, n) in histogram.iter().enumerate() {
                seen += n;
                if seen >= target {
                    return value as u64;
                }
            }
            0
        };
        Self {
            count,
            p50: rank(0.50),
            p99: rank(0.99),
            max: histogram.iter().rposition(|&n| n > 0).unwrap_or(0) as u64,
        }
    }
}

impl std::fmt::Display for Percentiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.count == 0 {
            return f.write_str("-");
        }
        write!(f, "{} / {} / {}", self.p50, self.p99, self.max)
    }
}

/// What a [`simulate`] run did and what the service model saw.
#[derive(Debug, Clone, PartialEq)]
pub struct SimReport {
    /// The run.
    pub config: SimConfig,
    /// Operations run (saves + finds + deletes).
    pub ops: u64,
    /// Saves (first saves and refreshes).
    pub saves: u64,
    /// Finds.
    pub finds: u64,
    /// Deletes.
    pub deletes: u64,
    /// Users added by churn.
    pub users_added: u64,
    /// Failed operations by `operation:error kind`, e.g. `save:too_large`.
    pub failed: BTreeMap<String, u64>,
    /// Finds of a stored user that returned nothing.
    pub find_misses: u64,
    /// Finds that returned another user's token (must stay 0).
    pub wrong_answers: u64,
    /// Users that should exist at the end.
    pub users_live: usize,
    /// Of those, users saved successfully at least once.
    pub users_stored: usize,
    /// Of those, users whose last save failed (their token may be partly updated: finds by
    /// the last access token saved may miss).
    pub users_last_save_failed: usize,
    /// Service calls per find.
    pub calls_per_find: Percentiles,
    /// Service calls per save.
    pub calls_per_save: Percentiles,
    /// Service calls per delete.
    pub calls_per_delete: Percentiles,
    /// How late an operation started after it was due (a writer busy with earlier ones).
    pub max_lag: Duration,
    /// Engine counters summed over the writers.
    pub engine: EngineStats,
    /// The service model's report.
    pub quota: QuotaReport,
    /// Wall-clock time of the run.
    pub wall: Duration,
}

impl SimReport {
    /// Failed operations, all kinds.
    pub fn total_failed(&self) -> u64 {
        self.failed.values().sum()
    }

    /// Failed operations by error kind (all operations together).
    pub fn failed_by_kind(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for (key, n) in &self.failed {
            let kind = key.split_once(':').map_or(key.as_str(), |(_, k)| k);
            *out.entry(kind.to_string()).or_default() += n;
        }
        out
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    /// The user's save by the initial import; its ticks start at `then`.
    Import {
        user: usize,
        then: u64,
    },
    Tick {
        user: usize,
        step: u64,
    },
    Add,
    Delete,
}

#[derive(Debug)]
enum Work {
    Save(usize),
    FindUser(usize),
    FindAccess(usize),
    FindRefresh(usize),
    Delete(usize, String),
}

#[derive(Default)]
struct User {
    alive: bool,
    /// Access tokens issued so far (the next save uses the next one).
    issued: u64,
    /// The access token of the last successful save.
    saved_access: Option<String>,
    /// Id of the stored token.
    id: Option<String>,
    /// Saved successfully at least once (and not deleted since).
    stored: bool,
    /// The last save failed.
    last_failed: bool,
}

#[derive(Default)]
struct Tally {
    saves: u64,
    finds: u64,
    deletes: u64,
    failed: BTreeMap<String, u64>,
    misses: u64,
    wrong: u64,
    find_calls: Vec<u64>,
    save_calls: Vec<u64>,
    delete_calls: Vec<u64>,
    max_lag: Duration,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.saves += other.saves;
        self.finds += other.finds;
        self.deletes += other.deletes;
        for (k, n) in other.failed {
            *self.failed.entry(k).or_default() += n;
        }
        self.misses += other.misses;
        self.wrong += other.wrong;
        for (mine, theirs) in [
            (&mut self.find_calls, other.find_calls),
            (&mut self.save_calls, other.save_calls),
            (&mut self.delete_calls, other.delete_calls),
        ] {
            if mine.len() < theirs.len() {
                mine.resize(theirs.len(), 0);
            }
            for (m, t) in mine.iter_mut().zip(theirs) {
                *m += t;
            }
        }
        self.max_lag = self.max_lag.max(other.max_lag);
    }
}

fn record(histogram: &mut Vec<u64>, calls: u64) {
    let at = calls as usize;
    if histogram.len() <= at {
        histogram.resize(at + 1, 0);
    }
    histogram[at] += 1;
}

fn user_name(u: usize) -> String {
    format!("sim-user-{u}@example.com:org{}", 700_000_000 + u)
}

/// A token-shaped string (Zoho tokens are `1000.<32 hex>.<32 hex>`).
fn token_string(kind: u64, u: usize, generation: u64) -> String {
    let mix = |x: u64| {
        let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let a = mix(kind << 56 ^ (u as u64) << 20 ^ generation);
    let b = mix(a);
    format!("1000.{a:016x}{b:016x}.{:016x}{:016x}", mix(b), mix(b ^ 1))
}

fn access_token(u: usize, generation: u64) -> String {
    token_string(1, u, generation)
}

fn refresh_token(u: usize) -> String {
    token_string(2, u, 0)
}

struct Writer {
    store: SecretIndexStore,
    handle: QuotaBackend,
    users: Arc<Mutex<Vec<User>>>,
    start: tokio::time::Instant,
}

impl Writer {
    async fn run(self, mut rx: mpsc::UnboundedReceiver<(Duration, Work)>) -> (Tally, EngineStats) {
        let mut tally = Tally::default();
        while let Some((due, work)) = rx.recv().await {
            let lag = (tokio::time::Instant::now() - self.start).saturating_sub(due);
            tally.max_lag = tally.max_lag.max(lag);
            let before = self.handle.local_calls();
            match work {
                Work::Save(u) => {
                    self.save(u, due, &mut tally).await;
                    record(&mut tally.save_calls, self.handle.local_calls() - before);
                }
                Work::Delete(u, id) => {
                    tally.deletes += 1;
                    match self.store.delete_token(&id).await {
                        Ok(()) => {
                            let mut users = self.users.lock().unwrap();
                            users[u].stored = false;
                            users[u].id = None;
                        }
                        Err(e) => fail(&mut tally, "delete", &e),
                    }
                    record(&mut tally.delete_calls, self.handle.local_calls() - before);
                }
                find => {
                    self.find(find, &mut tally).await;
                    record(&mut tally.find_calls, self.handle.local_calls() - before);
                }
            }
        }
        (tally, self.store.stats())
    }

    async fn save(&self, u: usize, due: Duration, tally: &mut Tally) {
        tally.saves += 1;
        let access = {
            let mut users = self.users.lock().unwrap();
            users[u].issued += 1;
            access_token(u, users[u].issued)
        };
        let token = Token::builder()
            .user_name(user_name(u))
            .client_id(CLIENT_ID)
            .client_secret(CLIENT_SECRET)
            .refresh_token(refresh_token(u))
            .access_token(access.clone())
            .api_domain("https://www.zohoapis.eu")
            .expiry_time(1_800_000_000_000 + (due + Duration::from_secs(3600)).as_millis() as i64)
            .build();
        match self.store.save_token(&token).await {
            Ok(saved) => {
                let mut users = self.users.lock().unwrap();
                let user = &mut users[u];
                if user.alive {
                    user.saved_access = Some(access);
                    user.id = saved.id;
                    user.stored = true;
                    user.last_failed = false;
                }
            }
            Err(e) => {
                self.users.lock().unwrap()[u].last_failed = true;
                fail(tally, "save", &e);
            }
        }
    }

    async fn find(&self, work: Work, tally: &mut Tally) {
        tally.finds += 1;
        let (u, query) = {
            let users = self.users.lock().unwrap();
            match work {
                Work::FindUser(u) => (
                    u,
                    Token {
                        user_name: Some(user_name(u)),
                        ..Token::default()
                    },
                ),
                Work::FindAccess(u) => (
                    u,
                    Token {
                        access_token: Some(
                            users[u]
                                .saved_access
                                .clone()
                                .unwrap_or_else(|| access_token(u, users[u].issued)),
                        ),
                        ..Token::default()
                    },
                ),
                Work::FindRefresh(u) => (
                    u,
                    Token {
                        client_id: Some(CLIENT_ID.into()),
                        client_secret: Some(CLIENT_SECRET.into()),
                        refresh_token: Some(refresh_token(u)),
                        ..Token::default()
                    },
                ),
                Work::Save(_) | Work::Delete(..) => unreachable!(),
            }
        };
        let stored = self.users.lock().unwrap()[u].stored;
        match self.store.find_token(&query).await {
            Ok(Some(found)) if found.user_name.as_deref() != Some(user_name(u).as_str()) => {
                tally.wrong += 1;
            }
            Ok(Some(_)) => {}
            Ok(None) => tally.misses += u64::from(stored),
            Err(e) => fail(tally, "find", &e),
        }
    }
}

fn fail(tally: &mut Tally, op: &str, e: &crate::Error) {
    *tally
        .failed
        .entry(format!("{op}:{}", e.kind().as_str()))
        .or_default() += 1;
}

/// Run `config` on a fresh paused tokio runtime (virtual time: a simulated week takes as
/// long as the work it does, never the time it spans) and report. Do not call it from inside
/// a runtime (use `spawn_blocking` or a plain `#[test]`).
pub fn simulate(config: &SimConfig) -> SimReport {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("tokio runtime");
    let wall = Instant::now();
    let mut report = runtime.block_on(run(config.clone()));
    report.wall = wall.elapsed();
    report
}

async fn run(config: SimConfig) -> SimReport {
    let start = tokio::time::Instant::now();
    let clock = VirtualClock::tokio();
    // The engine stamps entries and measures write rates on the same virtual time.
    let engine_clock = {
        let clock = clock.clone();
        Clock::from_fn(move || SIMULATION_EPOCH_MS + clock.now().as_millis() as u64)
    };
    let mut backend = QuotaBackend::memory(config.service, clock).with_latency(config.latency);
    if let Some(keep) = config.keep_values {
        backend = backend.keep_values(keep);
    }
    let users: Arc<Mutex<Vec<User>>> = Arc::new(Mutex::new(
        (0..config.tokens)
            .map(|_| User {
                alive: true,
                ..User::default()
            })
            .collect(),
    ));
    let mut senders = Vec::new();
    let mut writers = Vec::new();
    for _ in 0..config.writers.max(1) {
        let handle = backend.fork();
        let store = SecretIndexStore::with_options(
            Arc::new(handle.clone()) as Arc<dyn SecretBackend>,
            EngineOptions::default().with_clock(engine_clock.clone()),
        );
        let (tx, rx) = mpsc::unbounded_channel();
        senders.push(tx);
        let writer = Writer {
            store,
            handle,
            users: users.clone(),
            start,
        };
        writers.push(tokio::spawn(writer.run(rx)));
    }

    let import_every = match config.import_per_minute {
        0 => 0,
        rate => 60_000_000_000 / u64::from(rate),
    };
    let import_end = import_every * config.tokens as u64;
    let end_ns = import_end + (config.days * DAY.as_secs_f64() * 1e9) as u64;
    let quarter = (config.refresh_every / 4).as_nanos() as u64;
    let mut heap = BinaryHeap::new();
    let mut seq = 0u64;
    let mut push = |heap: &mut BinaryHeap<_>, at: u64, event: Event| {
        seq += 1;
        heap.push(Reverse((at, seq, event)));
    };
    let refresh_ns = config.refresh_every.as_nanos() as u64;
    for u in 0..config.tokens {
        let phase = refresh_ns * u as u64 / config.tokens as u64;
        if import_every == 0 {
            push(&mut heap, phase, Event::Tick { user: u, step: 0 });
        } else {
            let then = import_end + phase + quarter;
            push(
                &mut heap,
                import_every * u as u64,
                Event::Import { user: u, then },
            );
        }
    }
    let churn = config.churn_per_day * config.tokens as f64;
    let churn_every = (churn > 0.0).then(|| (DAY.as_secs_f64() / churn * 1e9) as u64);
    if let Some(every) = churn_every {
        push(&mut heap, import_end + every / 2, Event::Add);
        push(&mut heap, import_end + every, Event::Delete);
    }
    let mut rng = StdRng::seed_from_u64(config.seed);
    let mut users_added = 0;
    while let Some(Reverse((at, _, event))) = heap.pop() {
        if at >= end_ns {
            break;
        }
        let due = Duration::from_nanos(at);
        tokio::time::sleep_until(start + due).await;
        let writer = rng.random_range(0..senders.len());
        let work = match event {
            Event::Import { user, then } => {
                push(&mut heap, then, Event::Tick { user, step: 1 });
                Work::Save(user)
            }
            Event::Tick { user, step } => {
                if !users.lock().unwrap()[user].alive {
                    continue;
                }
                push(
                    &mut heap,
                    at + quarter,
                    Event::Tick {
                        user,
                        step: step + 1,
                    },
                );
                match step % 4 {
                    0 => Work::Save(user),
                    1 => Work::FindUser(user),
                    2 => Work::FindAccess(user),
                    _ => Work::FindRefresh(user),
                }
            }
            Event::Add => {
                push(
                    &mut heap,
                    at + churn_every.unwrap_or(u64::MAX / 2),
                    Event::Add,
                );
                users_added += 1;
                let user = {
                    let mut users = users.lock().unwrap();
                    users.push(User {
                        alive: true,
                        ..User::default()
                    });
                    users.len() - 1
                };
                push(&mut heap, at, Event::Tick { user, step: 0 });
                continue;
            }
            Event::Delete => {
                push(
                    &mut heap,
                    at + churn_every.unwrap_or(u64::MAX / 2),
                    Event::Delete,
                );
                let mut users = users.lock().unwrap();
                let picked = (0..64)
                    .map(|_| rng.random_range(0..users.len()))
                    .find(|&u| users[u].alive && users[u].id.is_some());
                let Some(u) = picked else { continue };
                users[u].alive = false;
                Work::Delete(u, users[u].id.clone().expect("picked a stored user"))
            }
        };
        senders[writer]
            .send((due, work))
            .expect("writer is running");
    }
    drop(senders);
    let mut tally = Tally::default();
    let mut engine = EngineStats::default();
    for writer in writers {
        let (t, stats) = writer.await.expect("writer task");
        tally.merge(t);
        engine.cas_retries += stats.cas_retries;
        engine.merges += stats.merges;
        engine.splits += stats.splits;
        engine.rolls += stats.rolls;
    }
    let users = users.lock().unwrap();
    SimReport {
        config,
        ops: tally.saves + tally.finds + tally.deletes,
        saves: tally.saves,
        finds: tally.finds,
        deletes: tally.deletes,
        users_added,
        failed: tally.failed,
        find_misses: tally.misses,
        wrong_answers: tally.wrong,
        users_live: users.iter().filter(|u| u.alive).count(),
        users_stored: users.iter().filter(|u| u.alive && u.stored).count(),
        users_last_save_failed: users.iter().filter(|u| u.alive && u.last_failed).count(),
        calls_per_find: Percentiles::of(&tally.find_calls),
        calls_per_save: Percentiles::of(&tally.save_calls),
        calls_per_delete: Percentiles::of(&tally.delete_calls),
        max_lag: tally.max_lag,
        engine,
        quota: backend.report(),
        wall: Duration::ZERO,
    }
}

/// Days with up to two decimals: `7`, `1.88`, `0.17`.
fn days(d: f64) -> String {
    let text = format!("{d:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A compact count: `950`, `12.3k`, `4.56M`.
fn human(n: u64) -> String {
    match n {
        0..1_000 => n.to_string(),
        1_000..1_000_000 => format!("{:.1}k", n as f64 / 1e3),
        _ => format!("{:.2}M", n as f64 / 1e6),
    }
}

fn counts<K: std::fmt::Display>(map: &BTreeMap<K, u64>) -> String {
    if map.is_empty() {
        return "0".into();
    }
    map.iter()
        .map(|(k, n)| format!("{k} {}", human(*n)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The reports as one Markdown table (plus a legend line).
pub fn format_table(reports: &[SimReport]) -> String {
    let mut out = String::new();
    out.push_str(
        "| backend | N | days | ops | failed ops (by kind) | quota violations (by limit) | max versions/24h (secret) | calls/find p50/p99/max | calls/save p50/p99/max | secrets at end | $/month | notes |\n",
    );
    out.push_str("|---|---:|---:|---:|---|---|---|---|---|---:|---:|---|\n");
    for r in reports {
        let q = &r.quota;
        let mut notes = vec![format!("stored {}/{}", r.users_stored, r.users_live)];
        if r.users_last_save_failed > 0 {
            notes.push(format!("last save failed {}", r.users_last_save_failed));
        }
        if r.find_misses > 0 {
            notes.push(format!("find misses {}", human(r.find_misses)));
        }
        if r.wrong_answers > 0 {
            notes.push(format!("WRONG ANSWERS {}", r.wrong_answers));
        }
        if q.max_attempted_versions_24h > q.max_versions_24h {
            notes.push(format!(
                "{} version writes tried/24h",
                human(q.max_attempted_versions_24h)
            ));
        }
        if q.secrets_over_write_target > 0 {
            notes.push(format!(
                "{} secret(s) over the 96/24h target",
                q.secrets_over_write_target
            ));
        }
        if r.config.service == Service::Azure {
            notes.push(format!(
                "max {} versions/secret",
                human(q.max_versions_per_secret)
            ));
        }
        if q.dropped_value_reads > 0 {
            notes.push(format!("{} dropped-value reads", q.dropped_value_reads));
        }
        if r.engine.cas_retries > 0 {
            notes.push(format!("cas retries {}", human(r.engine.cas_retries)));
        }
        if r.engine.merges > 0 {
            notes.push(format!("merges {}", human(r.engine.merges)));
        }
        if r.engine.rolls > 0 {
            notes.push(format!("shard rolls {}", human(r.engine.rolls)));
        }
        if r.config.import_per_minute > 0 {
            notes.push(format!(
                "import {} min",
                r.config.tokens / r.config.import_per_minute as usize
            ));
        }
        if r.max_lag >= Duration::from_secs(1) {
            notes.push(format!("max lag {:.0?}", r.max_lag));
        }
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} ({}) | {} | {} | {} | {:.2} | {} |",
            r.config.service.name(),
            r.config.tokens,
            days(r.config.days),
            human(r.ops),
            counts(&r.failed_by_kind()),
            counts(&q.violations),
            q.max_versions_24h,
            if q.max_versions_24h_secret.is_empty() {
                "-"
            } else {
                &q.max_versions_24h_secret
            },
            r.calls_per_find,
            r.calls_per_save,
            q.secrets_now,
            q.cost.monthly_usd,
            notes.join("; "),
        );
    }
    out
}
