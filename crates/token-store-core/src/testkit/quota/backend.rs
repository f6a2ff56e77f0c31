//! `QuotaBackend`: the service-call, quota and cost model around an inner backend.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use super::{QuotaProfile, Service, ServiceCall, VirtualClock};
use crate::testkit::MemoryBackend;
use crate::{
    BackendLimits, CompareAndSwap, Error, ErrorKind, MergeLog, Protocol, Result, SecretBackend,
    Versioned,
};

/// Hours in the month the cost meter extrapolates to (365 × 24 / 12).
pub const HOURS_PER_MONTH: f64 = 730.0;
/// Violations kept in [`QuotaReport::violation_log`]; the counters keep counting past it.
const LOG_CAP: usize = 10_000;
const DAY_NS: u64 = 86_400_000_000_000;
/// Prefix of a compacted value's stand-in stored in the inner backend.
const HANDLE_PREFIX: &str = "\u{0}quota-value:";

/// One limit tripped (or a value too large, or a secret past Azure's backup limit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The limit, e.g. `aws_versions_24h`, `gcp_writes_per_min`, `value_size`, `backup_limit`.
    pub limit: &'static str,
    /// The secret the failing call was about (relative name; `""` for a listing).
    pub secret: String,
    /// Virtual time since the clock's start.
    pub at: Duration,
    /// The service call that failed (empty for `value_size`).
    pub call: &'static str,
}

/// What a simulated period cost, and the monthly rate it extrapolates to.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CostEstimate {
    /// Storage (secrets or active versions held × time), USD.
    pub storage_usd: f64,
    /// Billed calls, USD.
    pub calls_usd: f64,
    /// Both, for the simulated period.
    pub period_usd: f64,
    /// `period_usd` scaled to a month of [`HOURS_PER_MONTH`].
    pub monthly_usd: f64,
}

/// Everything the [`QuotaBackend`] observed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QuotaReport {
    /// Virtual time covered.
    pub elapsed: Duration,
    /// Service calls accepted, by operation name.
    pub calls: BTreeMap<&'static str, u64>,
    /// Service calls refused by a limit, by operation name.
    pub throttled: BTreeMap<&'static str, u64>,
    /// Violations by limit.
    pub violations: BTreeMap<&'static str, u64>,
    /// The first violations in order (at most 10,000).
    pub violation_log: Vec<Violation>,
    /// The secrets with the most violations: (limit, secret, count), worst first, at most 10.
    pub worst_secrets: Vec<(&'static str, String, u64)>,
    /// Most versions written to one secret in any 24 h (accepted writes).
    pub max_versions_24h: u64,
    /// The secret that had them.
    pub max_versions_24h_secret: String,
    /// Most version writes attempted on one secret in any 24 h (including refused ones).
    pub max_attempted_versions_24h: u64,
    /// Secrets written more often than the profile's own target in some 24 h.
    pub secrets_over_write_target: u64,
    /// Most versions one secret held since it was created (Azure never deletes versions).
    pub max_versions_per_secret: u64,
    /// Secrets existing at the end.
    pub secrets_now: u64,
    /// Active (not destroyed) versions at the end.
    pub active_versions_now: u64,
    /// Secrets held × hours.
    pub secret_hours: f64,
    /// Active versions held × hours.
    pub active_version_hours: f64,
    /// Reads of a value dropped by [`QuotaBackend::keep_values`] (each failed as `Corrupt`).
    pub dropped_value_reads: u64,
    /// Cost at list prices.
    pub cost: CostEstimate,
}

impl QuotaReport {
    /// Service calls accepted, all operations.
    pub fn total_calls(&self) -> u64 {
        self.calls.values().sum()
    }

    /// Violations, all limits.
    pub fn total_violations(&self) -> u64 {
        self.violations.values().sum()
    }
}

/// `n` identical service calls of a backend method, made one after the other; `version`:
/// each creates a secret version.
#[derive(Clone, Copy)]
struct Step {
    call: ServiceCall,
    version: bool,
    n: u64,
}

fn step(call: ServiceCall) -> Step {
    many(call, 1)
}

fn many(call: ServiceCall, n: usize) -> Step {
    Step {
        call,
        version: false,
        n: n as u64,
    }
}

fn version(call: ServiceCall) -> Step {
    Step {
        call,
        version: true,
        n: 1,
    }
}

#[derive(Default)]
struct SecretState {
    exists: bool,
    /// Versions not destroyed/retired, oldest first.
    active: VecDeque<String>,
    /// Versions since the secret was created.
    lifetime_versions: u64,
    written_24h: VecDeque<u64>,
    attempted_24h: VecDeque<u64>,
    /// Per-secret rate-limit windows, by index into the profile's limits.
    windows: Vec<VecDeque<u64>>,
    over_target: bool,
    over_backup: bool,
    /// Compacted value handles of this secret, oldest first.
    handles: VecDeque<u64>,
}

#[derive(Default)]
struct State {
    secrets: HashMap<String, SecretState>,
    global: Vec<VecDeque<u64>>,
    calls: BTreeMap<ServiceCall, u64>,
    throttled: BTreeMap<ServiceCall, u64>,
    violations: BTreeMap<&'static str, u64>,
    by_secret: HashMap<(&'static str, String), u64>,
    log: Vec<Violation>,
    existing: u64,
    active_total: u64,
    secret_ns: u128,
    version_ns: u128,
    last_ns: u64,
    max_24h: (u64, String),
    max_attempted_24h: u64,
    over_target: u64,
    max_lifetime: u64,
    values: HashMap<u64, String>,
    next_handle: u64,
    dropped_reads: u64,
}

impl State {
    /// Integrate secrets and active versions held up to `now`.
    fn tick(&mut self, now: u64) {
        let dt = u128::from(now.saturating_sub(self.last_ns));
        self.secret_ns += u128::from(self.existing) * dt;
        self.version_ns += u128::from(self.active_total) * dt;
        self.last_ns = self.last_ns.max(now);
    }

    fn violation(&mut self, limit: &'static str, secret: &str, now: u64, call: &'static str) {
        *self.violations.entry(limit).or_default() += 1;
        *self
            .by_secret
            .entry((limit, secret.to_string()))
            .or_default() += 1;
        if self.log.len() < LOG_CAP {
            self.log.push(Violation {
                limit,
                secret: secret.to_string(),
                at: Duration::from_nanos(now),
                call,
            });
        }
    }
}

struct Shared {
    inner: Arc<dyn SecretBackend>,
    profile: QuotaProfile,
    clock: VirtualClock,
    latency: Duration,
    keep_values: Option<usize>,
    state: Mutex<State>,
}

/// A [`SecretBackend`] wrapper that models one cloud service: it maps each method to the
/// service calls the matching adapter makes, refuses calls past the profile's limits the way
/// the service does ([`ErrorKind::RateLimited`]; values too large: [`ErrorKind::TooLarge`]),
/// records every violation and meters cost on a [`VirtualClock`].
///
/// Clones share everything; [`fork`](Self::fork) shares the service but counts the calls made
/// through it separately (one per simulated process, for calls per operation).
///
/// The inner backend should start empty and be reached only through this wrapper (the model
/// tracks which secrets exist and their versions itself). Its index protocol should match
/// the service: [`QuotaBackend::memory`] builds the matching [`MemoryBackend`].
#[derive(Clone)]
pub struct QuotaBackend {
    shared: Arc<Shared>,
    local: Arc<AtomicU64>,
}

impl std::fmt::Debug for QuotaBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuotaBackend")
            .field("service", &self.shared.profile.service)
            .field("inner", &self.shared.inner)
            .finish_non_exhaustive()
    }
}

impl QuotaBackend {
    /// Wrap `inner` with `profile`'s limits on `clock`.
    pub fn new(inner: Arc<dyn SecretBackend>, profile: QuotaProfile, clock: VirtualClock) -> Self {
        Self::build(inner, profile, clock, Duration::ZERO, None)
    }

    /// `service`'s profile over a fresh [`MemoryBackend`] of the matching protocol
    /// (AWS: compare-and-swap, GCP: merge log, Azure: merge log with opaque versions).
    pub fn memory(service: Service, clock: VirtualClock) -> Self {
        let inner = match service {
            Service::Aws => MemoryBackend::compare_and_swap(),
            Service::Gcp => MemoryBackend::merge_log(),
            Service::Azure => MemoryBackend::merge_log_opaque(),
        };
        Self::new(Arc::new(inner), QuotaProfile::of(service), clock)
    }

    /// Each method call first sleeps `latency` (tokio clocks only), so concurrent callers
    /// interleave on a paused runtime as they would against a real service.
    pub fn with_latency(self, latency: Duration) -> Self {
        let s = self.into_shared();
        Self::build(s.inner, s.profile, s.clock, latency, s.keep_values)
    }

    /// Keep only the values of the last `per_secret` versions written to each secret: the
    /// inner backend stores a short stand-in instead of each value, so a long simulation
    /// over [`MemoryBackend`] (which keeps every version) stays small. A read of a dropped
    /// value fails as `Corrupt` and is counted ([`QuotaReport::dropped_value_reads`]).
    pub fn keep_values(self, per_secret: usize) -> Self {
        let s = self.into_shared();
        Self::build(
            s.inner,
            s.profile,
            s.clock,
            s.latency,
            Some(per_secret.max(1)),
        )
    }

    fn into_shared(self) -> Shared {
        Arc::try_unwrap(self.shared)
            .unwrap_or_else(|_| panic!("configure a QuotaBackend before cloning it"))
    }

    fn build(
        inner: Arc<dyn SecretBackend>,
        profile: QuotaProfile,
        clock: VirtualClock,
        latency: Duration,
        keep_values: Option<usize>,
    ) -> Self {
        let state = State {
            global: vec![VecDeque::new(); profile.rate_limits.len()],
            ..State::default()
        };
        Self {
            shared: Arc::new(Shared {
                inner,
                profile,
                clock,
                latency,
                keep_values,
                state: Mutex::new(state),
            }),
            local: Arc::default(),
        }
    }

    /// A handle on the same service with its own call counter ([`local_calls`](Self::local_calls)).
    pub fn fork(&self) -> Self {
        Self {
            shared: self.shared.clone(),
            local: Arc::default(),
        }
    }

    /// Service calls made through this handle (accepted or refused).
    pub fn local_calls(&self) -> u64 {
        self.local.load(Ordering::Relaxed)
    }

    /// The profile enforced.
    pub fn profile(&self) -> &QuotaProfile {
        &self.shared.profile
    }

    /// The clock.
    pub fn clock(&self) -> &VirtualClock {
        &self.shared.clock
    }

    /// Everything observed so far, costs up to now.
    pub fn report(&self) -> QuotaReport {
        let now = self.now();
        let profile = &self.shared.profile;
        let mut st = self.shared.state.lock().unwrap();
        st.tick(now);
        let hours = |ns: u128| ns as f64 / 3.6e12;
        let secret_hours = hours(st.secret_ns);
        let active_version_hours = hours(st.version_ns);
        let pricing = profile.pricing;
        let billed: u64 = st
            .calls
            .iter()
            .filter(|(call, _)| {
                !pricing.only_access_billed || **call == ServiceCall::GcpAccessSecretVersion
            })
            .map(|(_, n)| n)
            .sum();
        let storage_usd = (secret_hours * pricing.per_secret_month
            + active_version_hours * pricing.per_active_version_month)
            / HOURS_PER_MONTH;
        let calls_usd = billed as f64 / 10_000.0 * pricing.per_10k_calls;
        let period_usd = storage_usd + calls_usd;
        let elapsed_hours = hours(u128::from(now));
        let mut worst: Vec<_> = st
            .by_secret
            .iter()
            .map(|((limit, secret), n)| (*limit, secret.clone(), *n))
            .collect();
        worst.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| (a.0, &a.1).cmp(&(b.0, &b.1))));
        worst.truncate(10);
        let by_name = |map: &BTreeMap<ServiceCall, u64>| {
            let mut out = BTreeMap::new();
            for (call, n) in map {
                *out.entry(call.name()).or_default() += n;
            }
            out
        };
        QuotaReport {
            elapsed: Duration::from_nanos(now),
            calls: by_name(&st.calls),
            throttled: by_name(&st.throttled),
            violations: st.violations.clone(),
            violation_log: st.log.clone(),
            worst_secrets: worst,
            max_versions_24h: st.max_24h.0,
            max_versions_24h_secret: st.max_24h.1.clone(),
            max_attempted_versions_24h: st.max_attempted_24h,
            secrets_over_write_target: st.over_target,
            max_versions_per_secret: st.max_lifetime,
            secrets_now: st.existing,
            active_versions_now: st.active_total,
            secret_hours,
            active_version_hours,
            dropped_value_reads: st.dropped_reads,
            cost: CostEstimate {
                storage_usd,
                calls_usd,
                period_usd,
                monthly_usd: if elapsed_hours > 0.0 {
                    period_usd * HOURS_PER_MONTH / elapsed_hours
                } else {
                    0.0
                },
            },
        }
    }

    fn now(&self) -> u64 {
        self.shared.clock.now().as_nanos() as u64
    }

    fn service(&self) -> Service {
        self.shared.profile.service
    }

    async fn delay(&self) {
        if !self.shared.latency.is_zero() && self.shared.clock.is_tokio() {
            tokio::time::sleep(self.shared.latency).await;
        }
    }

    /// Whether `name` exists, asking the inner backend (unbilled) the first time.
    async fn exists(&self, name: &str) -> Result<bool> {
        if let Some(s) = self.shared.state.lock().unwrap().secrets.get(name) {
            return Ok(s.exists);
        }
        let exists = self.shared.inner.get(name).await?.is_some();
        let now = self.now();
        let mut st = self.shared.state.lock().unwrap();
        if !st.secrets.contains_key(name) {
            st.tick(now);
            st.existing += u64::from(exists);
            st.secrets.insert(
                name.to_string(),
                SecretState {
                    exists,
                    ..SecretState::default()
                },
            );
        }
        Ok(exists)
    }

    fn with_secret<T>(&self, name: &str, f: impl FnOnce(&mut SecretState) -> T) -> T {
        let mut st = self.shared.state.lock().unwrap();
        f(st.secrets.entry(name.to_string()).or_default())
    }

    /// Admit `steps` in order against every limit; the first refused call fails the method
    /// (the calls before it were made and count).
    fn admit(&self, name: &str, steps: &[Step]) -> Result<()> {
        let now = self.now();
        let profile = &self.shared.profile;
        let mut guard = self.shared.state.lock().unwrap();
        let st = &mut *guard;
        for s in steps.iter().filter(|s| s.n > 0) {
            let secret = st.secrets.entry(name.to_string()).or_default();
            if secret.windows.len() < profile.rate_limits.len() {
                secret
                    .windows
                    .resize_with(profile.rate_limits.len(), VecDeque::new);
            }
            // How many of the `n` calls fit, and the limit that refuses the next one.
            let mut room = s.n;
            let mut tripped = None;
            if s.version {
                slide(&mut secret.attempted_24h, now, DAY_NS);
                if let Some(max) = profile.versions_per_24h {
                    slide(&mut secret.written_24h, now, DAY_NS);
                    let free = u64::from(max).saturating_sub(secret.written_24h.len() as u64);
                    if free < room {
                        room = free;
                        tripped = Some("aws_versions_24h");
                    }
                }
            }
            let applies: Vec<usize> = profile
                .rate_limits
                .iter()
                .enumerate()
                .filter(|(_, l)| l.calls.contains(&s.call))
                .map(|(i, _)| i)
                .collect();
            for &i in &applies {
                let limit = &profile.rate_limits[i];
                let window = if limit.per_secret {
                    &mut secret.windows[i]
                } else {
                    &mut st.global[i]
                };
                slide(window, now, limit.window.as_nanos() as u64);
                let free = u64::from(limit.max).saturating_sub(window.len() as u64);
                if free < room {
                    room = free;
                    tripped = Some(limit.name);
                }
            }
            for &i in &applies {
                let window = if profile.rate_limits[i].per_secret {
                    &mut secret.windows[i]
                } else {
                    &mut st.global[i]
                };
                window.extend(std::iter::repeat_n(now, room as usize));
            }
            let made = room + u64::from(tripped.is_some());
            self.local.fetch_add(made, Ordering::Relaxed);
            *st.calls.entry(s.call).or_default() += room;
            if s.version {
                let attempted = &mut secret.attempted_24h;
                attempted.extend(std::iter::repeat_n(now, made as usize));
                st.max_attempted_24h = st.max_attempted_24h.max(attempted.len() as u64);
            }
            if s.version && room > 0 {
                slide(&mut secret.written_24h, now, DAY_NS);
                secret
                    .written_24h
                    .extend(std::iter::repeat_n(now, room as usize));
                secret.lifetime_versions += room;
                let written = secret.written_24h.len() as u64;
                let lifetime = secret.lifetime_versions;
                let over_target = profile
                    .write_target_24h
                    .is_some_and(|t| written > u64::from(t))
                    && !secret.over_target;
                secret.over_target |= over_target;
                let over_backup = profile
                    .backup_max_versions
                    .is_some_and(|max| lifetime > max)
                    && !secret.over_backup;
                secret.over_backup |= over_backup;
                if written > st.max_24h.0 {
                    st.max_24h = (written, name.to_string());
                }
                st.max_lifetime = st.max_lifetime.max(lifetime);
                st.over_target += u64::from(over_target);
                if over_backup {
                    st.violation("backup_limit", name, now, s.call.name());
                }
            }
            if let Some(limit) = tripped {
                *st.throttled.entry(s.call).or_default() += 1;
                st.violation(limit, name, now, s.call.name());
                return Err(Error::new(
                    ErrorKind::RateLimited,
                    format!(
                        "{} refused {}: limit {limit} (simulated)",
                        profile.service.name(),
                        s.call.name()
                    ),
                )
                .with_backend(profile.service.name())
                .with_operation(s.call.name()));
            }
        }
        Ok(())
    }

    /// `TooLarge` (and a violation) for a value over the profile's limit, before any call.
    fn check_size(&self, name: &str, value: &str) -> Result<()> {
        let max = self.shared.profile.max_value_bytes;
        if value.len() <= max {
            return Ok(());
        }
        let now = self.now();
        self.shared
            .state
            .lock()
            .unwrap()
            .violation("value_size", name, now, "");
        Err(Error::new(
            ErrorKind::TooLarge,
            format!(
                "value of {} bytes; {} holds at most {max} (simulated)",
                value.len(),
                self.service().name()
            ),
        )
        .with_backend(self.service().name()))
    }

    /// The value to hand to the inner backend (a stand-in when compacting) and its handle.
    fn stash(&self, value: &str) -> (String, Option<u64>) {
        if self.shared.keep_values.is_none() {
            return (value.to_string(), None);
        }
        let mut st = self.shared.state.lock().unwrap();
        let handle = st.next_handle;
        st.next_handle += 1;
        st.values.insert(handle, value.to_string());
        (format!("{HANDLE_PREFIX}{handle}"), Some(handle))
    }

    /// The part every write shares: the size check, the latency, the service steps
    /// (`steps(service, exists)` → steps and whether the superseded version is destroyed)
    /// admitted against the limits, and the value stashed. [`Admitted::run`] then makes the
    /// inner write and records it.
    async fn write(
        &self,
        name: &str,
        value: &str,
        steps: impl FnOnce(Service, bool) -> (Vec<Step>, bool),
    ) -> Result<Admitted<'_>> {
        self.check_size(name, value)?;
        self.delay().await;
        let exists = self.exists(name).await?;
        let (steps, destroy) = steps(self.service(), exists);
        self.admit(name, &steps)?;
        let (stored, handle) = self.stash(value);
        Ok(Admitted {
            backend: self,
            name: name.to_string(),
            stored,
            handle,
            destroy,
        })
    }

    /// After a write: keep or forget the stashed value, record the new version and whether
    /// the secret now exists.
    fn written(
        &self,
        name: &str,
        handle: Option<u64>,
        outcome: &Result<String>,
        destroy_superseded: bool,
    ) {
        let now = self.now();
        let keep = self.shared.keep_values;
        let mut guard = self.shared.state.lock().unwrap();
        let st = &mut *guard;
        let Ok(version) = outcome else {
            if let Some(h) = handle {
                st.values.remove(&h);
            }
            return;
        };
        st.tick(now);
        let secret = st.secrets.entry(name.to_string()).or_default();
        let mut existing_delta = 0u64;
        if !secret.exists {
            secret.exists = true;
            existing_delta = 1;
        }
        let mut active_delta: i64 = 1;
        if destroy_superseded && secret.active.pop_front().is_some() {
            active_delta -= 1;
        }
        secret.active.push_back(version.clone());
        let mut evicted = Vec::new();
        if let (Some(h), Some(keep)) = (handle, keep) {
            secret.handles.push_back(h);
            while secret.handles.len() > keep {
                evicted.extend(secret.handles.pop_front());
            }
        }
        st.existing += existing_delta;
        st.active_total = st.active_total.saturating_add_signed(active_delta);
        for h in evicted {
            st.values.remove(&h);
        }
    }

    /// The real value behind a value read from the inner backend.
    fn unstash(&self, mut v: Versioned) -> Result<Versioned> {
        let Some(handle) = v.value.strip_prefix(HANDLE_PREFIX) else {
            return Ok(v);
        };
        let handle: u64 = handle.parse().unwrap_or(u64::MAX);
        let mut st = self.shared.state.lock().unwrap();
        match st.values.get(&handle) {
            Some(value) => {
                v.value.clone_from(value);
                Ok(v)
            }
            None => {
                st.dropped_reads += 1;
                Err(Error::corrupt(
                    "the quota model dropped this old version's value (raise keep_values)",
                )
                .with_backend("quota"))
            }
        }
    }

    fn pages(items: usize, page: usize) -> usize {
        items.div_ceil(page.max(1)).max(1)
    }
}

/// A write the limits admitted, its value stashed.
struct Admitted<'a> {
    backend: &'a QuotaBackend,
    name: String,
    stored: String,
    handle: Option<u64>,
    destroy: bool,
}

impl Admitted<'_> {
    /// Make the inner write with the stored value and record its outcome.
    async fn run<F, Fut>(self, write: F) -> Result<String>
    where
        F: FnOnce(String) -> Fut,
        Fut: std::future::Future<Output = Result<String>>,
    {
        let outcome = write(self.stored).await;
        self.backend
            .written(&self.name, self.handle, &outcome, self.destroy);
        outcome
    }
}

/// Drop window entries older than `window` before `now` (an entry exactly `window` old is
/// out: the window is `(now - window, now]`).
fn slide(window: &mut VecDeque<u64>, now: u64, window_ns: u64) {
    while window
        .front()
        .is_some_and(|&t| t.saturating_add(window_ns) <= now)
    {
        window.pop_front();
    }
}

#[async_trait]
impl SecretBackend for QuotaBackend {
    fn kind(&self) -> &'static str {
        self.shared.inner.kind()
    }

    fn limits(&self) -> BackendLimits {
        BackendLimits {
            max_value_bytes: self.shared.profile.max_value_bytes,
            batch_size: self.shared.profile.batch_size,
            versions_per_day: self.shared.profile.versions_per_24h,
            versions_per_minute: self.shared.profile.versions_per_minute_per_secret(),
            versions_per_generation: self.shared.profile.versions_per_generation,
        }
    }
    fn protocol(&self) -> Protocol<'_> {
        self.shared.inner.protocol().performed_by(self)
    }

    async fn get(&self, name: &str) -> Result<Option<Versioned>> {
        use ServiceCall::*;
        self.delay().await;
        let call = match self.service() {
            Service::Aws => AwsGetSecretValue,
            Service::Gcp => GcpAccessSecretVersion,
            Service::Azure => AzureGetSecret,
        };
        self.admit(name, &[step(call)])?;
        self.shared
            .inner
            .get(name)
            .await?
            .map(|v| self.unstash(v))
            .transpose()
    }

    async fn get_many(&self, names: &[String]) -> Result<Vec<Option<Versioned>>> {
        use ServiceCall::*;
        self.delay().await;
        let first = names.first().map_or("", String::as_str);
        let steps: Vec<Step> = match self.service() {
            Service::Aws => vec![step(AwsBatchGetSecretValue)],
            Service::Gcp => vec![many(GcpAccessSecretVersion, names.len())],
            Service::Azure => vec![many(AzureGetSecret, names.len())],
        };
        self.admit(first, &steps)?;
        self.shared
            .inner
            .get_many(names)
            .await?
            .into_iter()
            .map(|v| v.map(|v| self.unstash(v)).transpose())
            .collect()
    }

    async fn create(&self, name: &str, value: &str) -> Result<String> {
        use ServiceCall::*;
        self.write(name, value, |service, exists| {
            let steps = match (service, exists) {
                (Service::Aws, false) => vec![version(AwsCreateSecret)],
                (Service::Aws, true) => vec![step(AwsCreateSecret)],
                (Service::Gcp, true) => vec![step(GcpCreateSecret)],
                (Service::Gcp, false) => vec![step(GcpCreateSecret), version(GcpAddSecretVersion)],
                (Service::Azure, true) => vec![step(AzureGetSecret)],
                (Service::Azure, false) => vec![
                    step(AzureGetSecret),
                    version(AzureSetSecret),
                    step(AzureGetSecretVersions),
                ],
            };
            (steps, false)
        })
        .await?
        .run(|stored| async move { self.shared.inner.create(name, &stored).await })
        .await
    }

    async fn put(&self, name: &str, value: &str) -> Result<String> {
        use ServiceCall::*;
        self.write(name, value, |service, exists| {
            let destroy = exists
                && self.shared.profile.destroy_superseded_on_put
                && !crate::is_index_secret(name)
                && self.with_secret(name, |s| !s.active.is_empty());
            let steps = match (service, exists) {
                (Service::Aws, true) => vec![version(AwsPutSecretValue)],
                (Service::Aws, false) => vec![step(AwsPutSecretValue), version(AwsCreateSecret)],
                (Service::Gcp, true) if destroy => {
                    vec![version(GcpAddSecretVersion), step(GcpDestroySecretVersion)]
                }
                (Service::Gcp, true) => vec![version(GcpAddSecretVersion)],
                (Service::Gcp, false) => vec![
                    step(GcpAddSecretVersion),
                    step(GcpCreateSecret),
                    version(GcpAddSecretVersion),
                ],
                (Service::Azure, _) => vec![version(AzureSetSecret)],
            };
            (steps, destroy)
        })
        .await?
        .run(|stored| async move { self.shared.inner.put(name, &stored).await })
        .await
    }

    async fn delete(&self, name: &str) -> Result<()> {
        use ServiceCall::*;
        self.delay().await;
        let exists = self.exists(name).await?;
        let steps = match (self.service(), exists) {
            (Service::Aws, _) => vec![step(AwsDeleteSecret)],
            (Service::Gcp, _) => vec![step(GcpDeleteSecret)],
            (Service::Azure, true) => vec![step(AzureDeleteSecret), step(AzurePurgeDeletedSecret)],
            (Service::Azure, false) => vec![step(AzureDeleteSecret)],
        };
        self.admit(name, &steps)?;
        self.shared.inner.delete(name).await?;
        let now = self.now();
        let mut st = self.shared.state.lock().unwrap();
        st.tick(now);
        if let Some(secret) = st.secrets.insert(name.to_string(), SecretState::default()) {
            st.existing -= u64::from(secret.exists);
            st.active_total = st.active_total.saturating_sub(secret.active.len() as u64);
            for h in secret.handles {
                st.values.remove(&h);
            }
        }
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        use ServiceCall::*;
        self.delay().await;
        let names = self.shared.inner.list(prefix).await?;
        let pages = Self::pages(names.len(), self.shared.profile.list_page_size);
        let call = match self.service() {
            Service::Aws => AwsListSecrets,
            Service::Gcp => GcpListSecrets,
            Service::Azure => AzureGetSecrets,
        };
        let steps = [many(call, pages)];
        self.admit("", &steps)?;
        Ok(names)
    }
}

#[async_trait]
impl CompareAndSwap for QuotaBackend {
    async fn put_if_current(
        &self,
        name: &str,
        value: &str,
        expected: Option<&str>,
    ) -> Result<String> {
        use ServiceCall::*;
        self.write(name, value, |service, exists| {
            let steps = match (service, expected) {
                (Service::Aws, None) => vec![Step {
                    version: !exists,
                    ..step(AwsCreateSecret)
                }],
                // One PutSecretValue whose ClientRequestToken names the successor of the version
                // read; a lost race is refused (counted as a version all the same: an overcount).
                (Service::Aws, Some(_)) => vec![Step {
                    version: exists,
                    ..step(AwsPutSecretValue)
                }],
                // The merge-log adapters have no conditional write and make no call.
                _ => vec![],
            };
            (steps, false)
        })
        .await?
        .run(|stored| async move {
            let cas = self.shared.inner.protocol().compare_and_swap()?;
            cas.put_if_current(name, &stored, expected).await
        })
        .await
    }
}

#[async_trait]
impl MergeLog for QuotaBackend {
    async fn append(&self, name: &str, value: &str) -> Result<String> {
        use ServiceCall::*;
        self.write(name, value, |service, exists| {
            let steps = match (service, exists) {
                (Service::Gcp, true) => vec![version(GcpAddSecretVersion)],
                (Service::Gcp, false) => vec![step(GcpAddSecretVersion)],
                (Service::Azure, _) => vec![version(AzureSetSecret)],
                (Service::Aws, _) => vec![],
            };
            (steps, false)
        })
        .await?
        .run(|stored| async move {
            let log = self.shared.inner.protocol().merge_log()?;
            log.append(name, &stored).await
        })
        .await
    }
    async fn versions_after(&self, name: &str, since: Option<&str>) -> Result<Vec<Versioned>> {
        use ServiceCall::*;
        if self.service() == Service::Aws {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "Secrets Manager uses the compare-and-swap index protocol, not the merge log",
            )
            .with_backend("aws")
            .with_operation("versions_after"));
        }
        self.delay().await;
        let versions = self
            .shared
            .inner
            .protocol()
            .merge_log()?
            .versions_after(name, since)
            .await?;
        let (active, lifetime) =
            self.with_secret(name, |s| (s.active.len(), s.lifetime_versions as usize));
        let page = self.shared.profile.version_page_size;
        let mut steps = Vec::new();
        match self.service() {
            Service::Gcp => {
                if since.is_none() {
                    steps.push(many(GcpListSecretVersions, Self::pages(active, page)));
                }
                let accesses = if since.is_some() {
                    versions.len().max(1)
                } else {
                    versions.len()
                };
                steps.push(many(GcpAccessSecretVersion, accesses));
            }
            Service::Azure => {
                // Every page of the whole version list (Key Vault keeps every version), then
                // one read per version after the base (the adapter's cache is not modelled).
                steps.push(many(AzureGetSecretVersions, Self::pages(lifetime, page)));
                steps.push(many(AzureGetSecret, versions.len()));
            }
            Service::Aws => unreachable!(),
        }
        self.admit(name, &steps)?;
        versions.into_iter().map(|v| self.unstash(v)).collect()
    }
    fn is_next_version(&self, base: &str, version: &str) -> Option<bool> {
        self.shared
            .inner
            .protocol()
            .merge_log()
            .ok()?
            .is_next_version(base, version)
    }
    async fn retire_versions_before(&self, name: &str, keep_from: &str) -> Result<()> {
        if self.service() != Service::Gcp {
            // AWS prunes by itself; Key Vault cannot delete a version: no call either way.
            return Ok(());
        }
        self.delay().await;
        let retired = self.with_secret(name, |s| {
            s.active
                .iter()
                .position(|v| v == keep_from)
                .unwrap_or_default()
        });
        let steps = [many(ServiceCall::GcpDestroySecretVersion, retired)];
        self.admit(name, &steps)?;
        self.shared
            .inner
            .protocol()
            .merge_log()?
            .retire_versions_before(name, keep_from)
            .await?;
        let now = self.now();
        let mut st = self.shared.state.lock().unwrap();
        st.tick(now);
        let secret = st.secrets.entry(name.to_string()).or_default();
        let n = retired.min(secret.active.len());
        secret.active.drain(..n);
        st.active_total = st.active_total.saturating_sub(n as u64);
        Ok(())
    }
}
