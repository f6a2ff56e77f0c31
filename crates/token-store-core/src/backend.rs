//! The `SecretBackend` primitive each cloud adapter implements.

use async_trait::async_trait;

use crate::Result;

/// A secret value with the service's identifier of the version it was read from or written as.
#[derive(Clone, PartialEq, Eq)]
pub struct Versioned {
    /// The secret's text.
    pub value: String,
    /// Opaque version identifier (AWS VersionId, GCP version number, Azure version).
    pub version: String,
}

impl std::fmt::Debug for Versioned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Versioned")
            .field("value", &format_args!("<{} bytes>", self.value.len()))
            .field("version", &self.version)
            .finish()
    }
}

/// How a backend keeps concurrent index writers from losing each other's updates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexProtocol {
    /// [`CompareAndSwap::put_if_current`] is an atomic compare-and-swap (AWS).
    CompareAndSwap,
    /// No conditional write: writers append versions and the engine merges every version
    /// written after the one a value was derived from ([`MergeLog::versions_after`]).
    /// Needs a service that keeps versions in write order (GCP, Azure Key Vault).
    MergeLog,
}

/// A backend's index capability: the one concurrency protocol it offers, as the object that
/// performs it (see [`SecretBackend::protocol`]).
#[derive(Clone, Copy)]
pub enum Protocol<'a> {
    /// An atomic conditional write.
    CompareAndSwap(&'a dyn CompareAndSwap),
    /// Versions kept in write order, readable after a given one.
    MergeLog(&'a dyn MergeLog),
}

impl<'a> Protocol<'a> {
    /// Which protocol this is.
    pub fn kind(&self) -> IndexProtocol {
        match self {
            Protocol::CompareAndSwap(_) => IndexProtocol::CompareAndSwap,
            Protocol::MergeLog(_) => IndexProtocol::MergeLog,
        }
    }

    /// The compare-and-swap capability; `Unsupported` on a merge-log backend.
    pub fn compare_and_swap(self) -> Result<&'a dyn CompareAndSwap> {
        match self {
            Protocol::CompareAndSwap(cas) => Ok(cas),
            Protocol::MergeLog(_) => Err(lacks("compare-and-swap")),
        }
    }

    /// The merge-log capability; `Unsupported` on a compare-and-swap backend.
    pub fn merge_log(self) -> Result<&'a dyn MergeLog> {
        match self {
            Protocol::MergeLog(log) => Ok(log),
            Protocol::CompareAndSwap(_) => Err(lacks("merge log")),
        }
    }

    /// The same protocol, performed by `wrapper` (a backend that wraps the one this came
    /// from and forwards to it, e.g. to count or limit its calls).
    pub fn performed_by<W: CompareAndSwap + MergeLog>(self, wrapper: &'a W) -> Protocol<'a> {
        match self {
            Protocol::CompareAndSwap(_) => Protocol::CompareAndSwap(wrapper),
            Protocol::MergeLog(_) => Protocol::MergeLog(wrapper),
        }
    }
}

fn lacks(capability: &str) -> crate::Error {
    crate::Error::new(
        crate::ErrorKind::Unsupported,
        format!("this backend's index protocol has no {capability}"),
    )
}

impl std::fmt::Debug for Protocol<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.kind(), f)
    }
}

/// The compare-and-swap capability ([`IndexProtocol::CompareAndSwap`]).
#[async_trait]
pub trait CompareAndSwap: Send + Sync {
    /// Make `value` current only when the current version is `expected` (`None`: only when
    /// the secret does not exist). `Conflict` when another writer got there first; nothing
    /// visible changes then. `expected` comes from this backend's own recent `get` or
    /// `put_if_current` (a backend may answer `Conflict` for a version it has not seen lately,
    /// e.g. AWS, whose successor version ids are only protected for 24 hours).
    async fn put_if_current(
        &self,
        name: &str,
        value: &str,
        expected: Option<&str>,
    ) -> Result<String>;
}

/// The merge-log capability ([`IndexProtocol::MergeLog`]): versions in write order.
#[async_trait]
pub trait MergeLog: Send + Sync {
    /// Every version written after `since`, oldest first, ending with the current one; all
    /// retained versions when `since` is `None`. Versions that were retired are left out.
    async fn versions_after(&self, name: &str, since: Option<&str>) -> Result<Vec<Versioned>>;

    /// Whether `version` is the very next version written after `base`, when the backend can
    /// tell without a service call (GCP version numbers); `None` when it cannot.
    fn is_next_version(&self, base: &str, version: &str) -> Option<bool>;

    /// Retire (destroy) versions older than `keep_from` so they stop costing money, where the
    /// service can (a no-op on Key Vault). Best effort.
    async fn retire_versions_before(&self, name: &str, keep_from: &str) -> Result<()>;

    /// Add a version to `name` only when the secret exists (`NotFound` when it does not), so a
    /// deleted index shard generation never comes back. Returns the new version. Needed by
    /// backends that set [`BackendLimits::versions_per_generation`]; by default
    /// `Unsupported`.
    async fn append(&self, name: &str, value: &str) -> Result<String> {
        let _ = (name, value);
        Err(lacks("append to an existing secret only"))
    }
}

/// Limits of a backend the engine checks before any call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackendLimits {
    /// Largest secret value in bytes (AWS/GCP 65,536; Azure 25,600).
    pub max_value_bytes: usize,
    /// Ids a single [`SecretBackend::get_many`] call can take (AWS BatchGetSecretValue: 20; 1 when
    /// the service has no batch read).
    pub batch_size: usize,
    /// Versions one secret may receive in any 24 hours (AWS: 100, not adjustable); `None` when
    /// the service sets no daily cap. Where set, the engine splits an index shard written
    /// [`SPLIT_WRITES_PER_DAY`](crate::SPLIT_WRITES_PER_DAY) times in 24 hours.
    pub versions_per_day: Option<u32>,
    /// Versions one secret may receive in a minute (GCP: 120 AddSecretVersion per global
    /// secret); `None` when the service documents no per-secret rate. Where set, the engine
    /// splits an index shard written a quarter that often within the last two minutes and
    /// spaces its writes to one secret.
    pub versions_per_minute: Option<u32>,
    /// Where destroying a version is a write the project pays quota for (GCP: every destroy
    /// counts against 600 writes a minute per project), the versions an index shard takes
    /// before the engine rolls it to a new generation: superseded versions are then kept and
    /// deleted a whole generation at a time (one `delete`) instead of one destroy each.
    /// `None`: superseded versions are retired one by one (or never, where the service
    /// cannot).
    pub versions_per_generation: Option<u32>,
}

impl BackendLimits {
    /// Limits of a service that holds values up to `max_value_bytes`, reads one secret per
    /// call and sets no version caps; set the other fields where the service has them
    /// (`BackendLimits { versions_per_day: Some(100), ..BackendLimits::new(65_536) }`).
    pub const fn new(max_value_bytes: usize) -> Self {
        Self {
            max_value_bytes,
            batch_size: 1,
            versions_per_day: None,
            versions_per_minute: None,
            versions_per_generation: None,
        }
    }

    /// `TooLarge` (of `backend`) when `value` exceeds [`max_value_bytes`](Self::max_value_bytes);
    /// `what` names the value in the message (`"the value"`, `"the token"`). Backends check
    /// before calling the service, the engine before writing anything.
    pub fn check_value_size(&self, backend: &'static str, what: &str, value: &str) -> Result<()> {
        if value.len() <= self.max_value_bytes {
            return Ok(());
        }
        Err(crate::Error::new(
            crate::ErrorKind::TooLarge,
            format!(
                "{what} is {} bytes as stored; {backend} holds at most {} bytes per secret",
                value.len(),
                self.max_value_bytes
            ),
        )
        .with_backend(backend))
    }
}

/// A small secret-manager primitive; the engine ([`crate::SecretIndexStore`]) builds the
/// whole [`crate::TokenStore`] on it.
///
/// Names passed in are *relative*: short strings of `[a-z0-9-]` such as `index` or
/// `token-42`. The backend maps them into its own namespace (its configured prefix, spelled
/// by the service's naming rules) and `list` returns relative names again. A backend never
/// touches a secret outside its namespace.
///
/// Every method maps service errors into [`crate::Error`] with a kind (never by message
/// text), `backend()` set to [`kind`](Self::kind) and the operation named. Values are never
/// logged or put into error messages.
#[async_trait]
pub trait SecretBackend: Send + Sync + std::fmt::Debug {
    /// Short backend name used in errors and metrics: `"aws"`, `"gcp"`, `"azure"`, `"memory"`.
    fn kind(&self) -> &'static str;

    /// Size and batch limits.
    fn limits(&self) -> BackendLimits;

    /// The index concurrency capability this backend offers (exactly one).
    fn protocol(&self) -> Protocol<'_>;

    /// Which index concurrency protocol this backend offers.
    fn index_protocol(&self) -> IndexProtocol {
        self.protocol().kind()
    }

    /// `TooLarge` (with `operation` named) when `value` exceeds
    /// [`limits().max_value_bytes`](BackendLimits::max_value_bytes): backends check before
    /// calling the service.
    fn check_value_size(&self, value: &str, operation: &'static str) -> Result<()> {
        self.limits()
            .check_value_size(self.kind(), "the value", value)
            .map_err(|e| e.with_operation(operation))
    }

    /// The current value of a secret and its version, or `Ok(None)` when it does not exist
    /// (or is deleted).
    async fn get(&self, name: &str) -> Result<Option<Versioned>>;

    /// Current values of several secrets, in the order asked, `None` for missing ones.
    /// `names.len()` is at most `limits().batch_size`. By default one [`get`](Self::get) per
    /// name, for services without a batch read (`batch_size` 1).
    async fn get_many(&self, names: &[String]) -> Result<Vec<Option<Versioned>>> {
        let mut values = Vec::with_capacity(names.len());
        for name in names {
            values.push(self.get(name).await?);
        }
        Ok(values)
    }

    /// Create a secret that must not exist yet. `AlreadyExists` when it does (the existing
    /// value is left untouched). Returns the new version.
    async fn create(&self, name: &str, value: &str) -> Result<String>;

    /// Write a new current value, creating the secret when absent. Returns the new version.
    async fn put(&self, name: &str, value: &str) -> Result<String>;

    /// Delete a secret so that its name can be created again right away. Deleting a missing
    /// secret succeeds.
    async fn delete(&self, name: &str) -> Result<()>;

    /// Relative names of all existing secrets whose name starts with `prefix`, each once,
    /// reading every page.
    async fn list(&self, prefix: &str) -> Result<Vec<String>>;

    /// How many versions secret `name` received since `since_unix_secs` (Unix seconds), for
    /// services that cap versions per day ([`BackendLimits::versions_per_day`]); by default
    /// `Unsupported`.
    async fn versions_created_since(&self, name: &str, since_unix_secs: i64) -> Result<usize> {
        let _ = (name, since_unix_secs);
        Err(crate::Error::new(
            crate::ErrorKind::Unsupported,
            "this backend does not count versions by date",
        ))
    }
}
