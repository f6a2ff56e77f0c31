//! `MemoryBackend`: an in-memory `SecretBackend` to run the engine without a service.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::{
    BackendLimits, CompareAndSwap, Error, ErrorKind, IndexProtocol, MergeLog, Protocol, Result,
    SecretBackend, Versioned,
};

/// Secrets with numbered versions in a shared map. Clones share the same secrets (two
/// handles = two processes on one service).
#[derive(Clone)]
pub struct MemoryBackend {
    secrets: Arc<Mutex<BTreeMap<String, Vec<Version>>>>,
    protocol: IndexProtocol,
    opaque_versions: bool,
    limits: BackendLimits,
}

#[derive(Clone)]
struct Version {
    number: u64,
    value: String,
    retired: bool,
}

impl std::fmt::Debug for MemoryBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryBackend")
            .field("protocol", &self.protocol)
            .field("opaque_versions", &self.opaque_versions)
            .finish()
    }
}

impl MemoryBackend {
    /// A backend with atomic compare-and-swap (like AWS).
    pub fn compare_and_swap() -> Self {
        Self::new(IndexProtocol::CompareAndSwap, false)
    }

    /// A merge-log backend whose version numbers show succession (like GCP).
    pub fn merge_log() -> Self {
        Self::new(IndexProtocol::MergeLog, false)
    }

    /// A merge-log backend like [`merge_log`](Self::merge_log) whose index shards roll to a
    /// new generation every 3 versions (GCP rolls every
    /// [`VERSIONS_PER_GENERATION`](crate::raw::VERSIONS_PER_GENERATION)), so every test
    /// crosses generations.
    pub fn merge_log_generations() -> Self {
        let mut backend = Self::new(IndexProtocol::MergeLog, false);
        backend.limits.versions_per_generation = Some(3);
        backend
    }

    /// A merge-log backend whose versions are opaque, so succession needs a listing (like Azure).
    pub fn merge_log_opaque() -> Self {
        Self::new(IndexProtocol::MergeLog, true)
    }

    fn new(protocol: IndexProtocol, opaque_versions: bool) -> Self {
        Self {
            secrets: Arc::default(),
            protocol,
            opaque_versions,
            limits: BackendLimits {
                max_value_bytes: 65_536,
                batch_size: 20,
                // The tightest cap (AWS), so the engine cases meet busy-shard splits.
                versions_per_day: Some(100),
                versions_per_minute: None,
                versions_per_generation: None,
            },
        }
    }

    fn append(&self, name: &str, value: &str) -> String {
        self.append_locked(&mut self.secrets.lock().unwrap(), name, value)
    }

    /// Append a version while the caller holds the lock (so create and CAS are atomic).
    fn append_locked(
        &self,
        secrets: &mut BTreeMap<String, Vec<Version>>,
        name: &str,
        value: &str,
    ) -> String {
        let versions = secrets.entry(name.to_string()).or_default();
        let number = versions.last().map_or(1, |v| v.number + 1);
        versions.push(Version {
            number,
            value: value.to_string(),
            retired: false,
        });
        self.version_name(number)
    }

    fn version_name(&self, number: u64) -> String {
        if self.opaque_versions {
            format!("v{number:08x}")
        } else {
            number.to_string()
        }
    }

    fn number_of(&self, version: &str) -> Result<u64> {
        let digits = if self.opaque_versions {
            u64::from_str_radix(version.trim_start_matches('v'), 16)
        } else {
            version.parse()
        };
        digits.map_err(|_| Error::invalid_input("unknown version").with_backend("memory"))
    }

    fn current(&self, name: &str) -> Option<Versioned> {
        let secrets = self.secrets.lock().unwrap();
        let latest = secrets.get(name)?.last()?;
        Some(Versioned {
            value: latest.value.clone(),
            version: self.version_name(latest.number),
        })
    }
}

#[async_trait]
impl SecretBackend for MemoryBackend {
    fn kind(&self) -> &'static str {
        "memory"
    }
    fn limits(&self) -> BackendLimits {
        self.limits
    }
    fn protocol(&self) -> Protocol<'_> {
        match self.protocol {
            IndexProtocol::CompareAndSwap => Protocol::CompareAndSwap(self),
            IndexProtocol::MergeLog => Protocol::MergeLog(self),
        }
    }
    async fn get(&self, name: &str) -> Result<Option<Versioned>> {
        Ok(self.current(name))
    }
    async fn get_many(&self, names: &[String]) -> Result<Vec<Option<Versioned>>> {
        Ok(names.iter().map(|name| self.current(name)).collect())
    }
    async fn create(&self, name: &str, value: &str) -> Result<String> {
        let mut secrets = self.secrets.lock().unwrap();
        if secrets.contains_key(name) {
            return Err(Error::new(ErrorKind::AlreadyExists, "secret exists")
                .with_backend("memory")
                .with_operation("create"));
        }
        Ok(self.append_locked(&mut secrets, name, value))
    }
    async fn put(&self, name: &str, value: &str) -> Result<String> {
        Ok(self.append(name, value))
    }
    async fn delete(&self, name: &str) -> Result<()> {
        self.secrets.lock().unwrap().remove(name);
        Ok(())
    }
    async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        Ok(self
            .secrets
            .lock()
            .unwrap()
            .keys()
            .filter(|n| n.starts_with(prefix))
            .cloned()
            .collect())
    }
}

#[async_trait]
impl CompareAndSwap for MemoryBackend {
    async fn put_if_current(
        &self,
        name: &str,
        value: &str,
        expected: Option<&str>,
    ) -> Result<String> {
        if self.protocol != IndexProtocol::CompareAndSwap {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "no compare-and-swap in merge-log mode",
            )
            .with_backend("memory"));
        }
        let mut secrets = self.secrets.lock().unwrap();
        let current = secrets
            .get(name)
            .and_then(|v| v.last())
            .map(|v| self.version_name(v.number));
        if current.as_deref() != expected {
            return Err(Error::new(ErrorKind::Conflict, "current version moved")
                .with_backend("memory")
                .with_operation("put_if_current"));
        }
        Ok(self.append_locked(&mut secrets, name, value))
    }
}

#[async_trait]
impl MergeLog for MemoryBackend {
    async fn append(&self, name: &str, value: &str) -> Result<String> {
        let mut secrets = self.secrets.lock().unwrap();
        if !secrets.contains_key(name) {
            return Err(Error::new(ErrorKind::NotFound, "no such secret")
                .with_backend("memory")
                .with_operation("append"));
        }
        Ok(self.append_locked(&mut secrets, name, value))
    }
    async fn versions_after(&self, name: &str, since: Option<&str>) -> Result<Vec<Versioned>> {
        let since = since.map(|v| self.number_of(v)).transpose()?.unwrap_or(0);
        let secrets = self.secrets.lock().unwrap();
        Ok(secrets
            .get(name)
            .into_iter()
            .flatten()
            .filter(|v| v.number > since && !v.retired)
            .map(|v| Versioned {
                value: v.value.clone(),
                version: self.version_name(v.number),
            })
            .collect())
    }
    fn is_next_version(&self, base: &str, version: &str) -> Option<bool> {
        if self.opaque_versions {
            return None;
        }
        Some(self.number_of(version).ok()? == self.number_of(base).ok()? + 1)
    }
    async fn retire_versions_before(&self, name: &str, keep_from: &str) -> Result<()> {
        let keep_from = self.number_of(keep_from)?;
        if let Some(versions) = self.secrets.lock().unwrap().get_mut(name) {
            versions
                .iter_mut()
                .filter(|v| v.number < keep_from)
                .for_each(|v| v.retired = true);
        }
        Ok(())
    }
}
