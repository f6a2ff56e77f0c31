//! `CountingBackend`: a `SecretBackend` wrapper that counts calls and injects faults and races.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::BoxFuture;
use crate::{
    BackendLimits, CompareAndSwap, Error, ErrorKind, MergeLog, Protocol, Result, SecretBackend,
    Versioned,
};

type Hook = BoxFuture<'static, ()>;

/// Wraps any backend: counts calls per method, can fail a chosen call, run a concurrent
/// writer right before a chosen write (race injection) and shrink the size limit.
pub struct CountingBackend {
    inner: Arc<dyn SecretBackend>,
    counts: Mutex<BTreeMap<&'static str, u64>>,
    faults: Mutex<Vec<(&'static str, String, ErrorKind)>>,
    hooks: Mutex<Vec<(String, Hook)>>,
    max_value_bytes: Mutex<Option<usize>>,
    versions_per_generation: Mutex<Option<u32>>,
    fail_at_call: Mutex<Option<(u64, ErrorKind)>>,
}

impl std::fmt::Debug for CountingBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CountingBackend")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

/// A pattern matching every index shard, for [`CountingBackend::fail_next`] and
/// [`CountingBackend::before_next_write`].
pub const INDEX_SHARDS: &str = "ix-r*";

fn name_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Write methods a race hook fires before.
const WRITES: [&str; 3] = ["create", "put", "put_if_current"];

impl CountingBackend {
    /// Wrap `inner`.
    pub fn new(inner: Arc<dyn SecretBackend>) -> Self {
        Self {
            inner,
            counts: Mutex::default(),
            faults: Mutex::default(),
            hooks: Mutex::default(),
            max_value_bytes: Mutex::default(),
            versions_per_generation: Mutex::default(),
            fail_at_call: Mutex::default(),
        }
    }

    /// Calls per method since creation or the last [`reset`](Self::reset).
    pub fn counts(&self) -> BTreeMap<&'static str, u64> {
        lock(&self.counts).clone()
    }

    /// Total calls since creation or the last reset.
    pub fn total(&self) -> u64 {
        lock(&self.counts).values().sum()
    }

    /// Calls of one method.
    pub fn count(&self, method: &str) -> u64 {
        self.counts
            .lock()
            .unwrap()
            .get(method)
            .copied()
            .unwrap_or(0)
    }

    /// Forget the counts (and a pending [`fail_nth_call`](Self::fail_nth_call)).
    pub fn reset(&self) {
        lock(&self.counts).clear();
        *lock(&self.fail_at_call) = None;
    }

    /// Make the `n`th call from now (1 = the next one), whatever its method, fail with `kind`
    /// without reaching the backend.
    pub fn fail_nth_call(&self, n: u64, kind: ErrorKind) {
        let done = self.total();
        *lock(&self.fail_at_call) = Some((done + n, kind));
    }

    /// Make the next call of `method` on secret `name` fail with `kind`, without reaching the
    /// backend (a crash or outage at that point). A `name` ending in `*` matches every
    /// secret whose name starts with the rest (e.g. [`INDEX_SHARDS`]).
    pub fn fail_next(&self, method: &'static str, name: &str, kind: ErrorKind) {
        self.faults
            .lock()
            .unwrap()
            .push((method, name.to_string(), kind));
    }

    /// Run `writer` to completion right before the next write (create, put or
    /// put_if_current) to secret `name` (a `*` suffix matches a prefix) reaches the backend:
    /// an interleaved concurrent writer.
    pub fn before_next_write(
        &self,
        name: &str,
        writer: impl std::future::Future<Output = ()> + Send + 'static,
    ) {
        self.hooks
            .lock()
            .unwrap()
            .push((name.to_string(), Box::pin(writer)));
    }

    /// Report a smaller value size limit than the backend's (to reach "index full" quickly).
    pub fn limit_value_bytes(&self, max: usize) {
        *lock(&self.max_value_bytes) = Some(max);
    }

    /// Where the backend rolls index shards to new generations, report `every` versions per
    /// generation instead of its own figure (to roll often, or not during a count).
    pub fn roll_generations_every(&self, every: u32) {
        *lock(&self.versions_per_generation) = Some(every);
    }

    async fn enter(&self, method: &'static str, name: &str) -> Result<()> {
        *lock(&self.counts).entry(method).or_default() += 1;
        let total = self.total();
        let nth = {
            let mut at = lock(&self.fail_at_call);
            match *at {
                Some((n, kind)) if n == total => {
                    *at = None;
                    Some(kind)
                }
                _ => None,
            }
        };
        if let Some(kind) = nth {
            return Err(
                Error::new(kind, format!("injected failure of {method} (call {total})"))
                    .with_backend("testkit"),
            );
        }
        let fault = {
            let mut faults = lock(&self.faults);
            let at = faults
                .iter()
                .position(|(m, n, _)| *m == method && name_matches(n, name));
            at.map(|i| faults.remove(i))
        };
        if let Some((_, _, kind)) = fault {
            return Err(
                Error::new(kind, format!("injected failure of {method}")).with_backend("testkit")
            );
        }
        if WRITES.contains(&method) {
            let hook = {
                let mut hooks = lock(&self.hooks);
                let at = hooks.iter().position(|(n, _)| name_matches(n, name));
                at.map(|i| hooks.remove(i).1)
            };
            if let Some(hook) = hook {
                hook.await;
            }
        }
        Ok(())
    }
}

#[async_trait]
impl SecretBackend for CountingBackend {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
    fn limits(&self) -> BackendLimits {
        let mut limits = self.inner.limits();
        if let Some(max) = *lock(&self.max_value_bytes) {
            limits.max_value_bytes = max;
        }
        if let (Some(_), Some(every)) = (
            limits.versions_per_generation,
            *lock(&self.versions_per_generation),
        ) {
            limits.versions_per_generation = Some(every);
        }
        limits
    }
    fn protocol(&self) -> Protocol<'_> {
        self.inner.protocol().performed_by(self)
    }
    async fn get(&self, name: &str) -> Result<Option<Versioned>> {
        self.enter("get", name).await?;
        self.inner.get(name).await
    }
    async fn get_many(&self, names: &[String]) -> Result<Vec<Option<Versioned>>> {
        self.enter("get_many", "").await?;
        self.inner.get_many(names).await
    }
    async fn create(&self, name: &str, value: &str) -> Result<String> {
        self.enter("create", name).await?;
        self.inner.create(name, value).await
    }
    async fn put(&self, name: &str, value: &str) -> Result<String> {
        self.enter("put", name).await?;
        self.inner.put(name, value).await
    }
    async fn delete(&self, name: &str) -> Result<()> {
        self.enter("delete", name).await?;
        self.inner.delete(name).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        self.enter("list", prefix).await?;
        self.inner.list(prefix).await
    }
}

#[async_trait]
impl CompareAndSwap for CountingBackend {
    async fn put_if_current(
        &self,
        name: &str,
        value: &str,
        expected: Option<&str>,
    ) -> Result<String> {
        self.enter("put_if_current", name).await?;
        self.inner
            .protocol()
            .compare_and_swap()?
            .put_if_current(name, value, expected)
            .await
    }
}

#[async_trait]
impl MergeLog for CountingBackend {
    async fn versions_after(&self, name: &str, since: Option<&str>) -> Result<Vec<Versioned>> {
        self.enter("versions_after", name).await?;
        self.inner
            .protocol()
            .merge_log()?
            .versions_after(name, since)
            .await
    }
    fn is_next_version(&self, base: &str, version: &str) -> Option<bool> {
        self.inner
            .protocol()
            .merge_log()
            .ok()?
            .is_next_version(base, version)
    }
    async fn append(&self, name: &str, value: &str) -> Result<String> {
        self.enter("append", name).await?;
        self.inner.protocol().merge_log()?.append(name, value).await
    }
    async fn retire_versions_before(&self, name: &str, keep_from: &str) -> Result<()> {
        self.enter("retire_versions_before", name).await?;
        self.inner
            .protocol()
            .merge_log()?
            .retire_versions_before(name, keep_from)
            .await
    }
}
