//! [`GcpBackend`]: the [`SecretBackend`] primitive on Secret Manager's REST API.
//!
//! | primitive | Secret Manager calls |
//! | --- | --- |
//! | `get` | 1 AccessSecretVersion (`versions/latest`) |
//! | `get_many` | 1 AccessSecretVersion per name (the service has no batch read) |
//! | `create` | CreateSecret + AddSecretVersion = 2 |
//! | `put` | 1 AddSecretVersion; on NOT_FOUND CreateSecret + AddSecretVersion again = 3; for a token secret past version 1 also 1 DestroySecretVersion of the superseded version |
//! | `append` | 1 AddSecretVersion (NOT_FOUND when the secret is gone: never creates) |
//! | `versions_after(since = n)` | 1 access of `latest` (= L) + 1 access per version n+1..L-1 |
//! | `versions_after(None)` | ListSecretVersions pages + 1 access per enabled version |
//! | `retire_versions_before(k)` | 1 DestroySecretVersion per version in [floor, k); the first call in a process lists the enabled versions once to find them |
//! | `delete` | 1 DeleteSecret |
//! | `list` | 1 ListSecrets per page |

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;
use google_cloud_secretmanager_v1::client::SecretManagerService;
use google_cloud_secretmanager_v1::model::{Secret, SecretPayload, secret_version};
use token_store_core::{
    BackendLimits, Error, ErrorKind, MergeLog, Protocol, Result, SecretBackend, Versioned,
    is_index_secret,
};

use crate::config::GcpReplication;
use crate::error::map_error;
use crate::names::{Names, RULES, version_number};
use google_cloud_gax::paginator::Paginator as _;
use token_store_core::CallCounter;

/// Largest secret payload Secret Manager accepts (64 KiB).
pub const MAX_VALUE_BYTES: usize = 65_536;

/// A [`SecretBackend`] storing each relative name as the secret `<prefix><name>` of one GCP
/// project. Index concurrency uses the merge log ([`MergeLog`]) over the per-secret sequential
/// version numbers (see the crate docs for why not etags).
pub struct GcpBackend {
    pub(crate) client: SecretManagerService,
    pub(crate) names: Names,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) replication: GcpReplication,
    pub(crate) page_size: Option<i32>,
    pub(crate) keep_token_versions: bool,
    /// Index shards roll to new generations instead of retiring each superseded version.
    pub(crate) shard_generations: bool,
    /// Per secret, the lowest version that may still be enabled (all below were retired by
    /// this process), so retiring costs one destroy per superseded version.
    pub(crate) retired_below: Mutex<HashMap<String, u64>>,
    pub(crate) calls: CallCounter,
}

impl std::fmt::Debug for GcpBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GcpBackend")
            .field("project", &self.names.project())
            .field("prefix", &self.names.prefix())
            .field("labels", &self.labels)
            .field("replication", &self.replication)
            .finish_non_exhaustive()
    }
}

fn bad_answer(operation: &'static str, what: &str) -> Error {
    Error::new(
        ErrorKind::Unexpected,
        format!("Secret Manager answered without {what}"),
    )
    .with_backend("gcp")
    .with_operation(operation)
}

impl GcpBackend {
    /// The full resource name (`projects/<p>/secrets/<prefix><relative>`) a relative name is
    /// stored under, for operators and back-door checks.
    pub fn secret_name(&self, relative: &str) -> Result<String> {
        self.names.secret(relative)
    }

    /// Secret Manager calls this backend made so far (reset with [`CallCounter::reset`]), by RPC name (`AccessSecretVersion`,
    /// `AddSecretVersion`, `CreateSecret`, `DeleteSecret`, `DestroySecretVersion`,
    /// `ListSecrets`, `ListSecretVersions`). Client-internal retries are not counted.
    pub fn calls(&self) -> &CallCounter {
        &self.calls
    }

    /// The Secret Manager client this backend calls.
    pub fn client(&self) -> &SecretManagerService {
        &self.client
    }

    /// Access one version (`latest` or a number); `None` when the secret or version does not
    /// exist.
    async fn access(
        &self,
        relative: &str,
        version: &str,
        operation: &'static str,
    ) -> Result<Option<Versioned>> {
        let name = self.names.version(relative, version)?;
        self.calls.record("AccessSecretVersion");
        let response = match self
            .client
            .access_secret_version()
            .set_name(name)
            .send()
            .await
        {
            Ok(response) => response,
            Err(e) => {
                let error = map_error(e, operation);
                return if error.kind() == ErrorKind::NotFound {
                    Ok(None)
                } else {
                    Err(error)
                };
            }
        };
        let number = version_number(&response.name)
            .ok_or_else(|| bad_answer(operation, "a version number"))?;
        let data = response.payload.map(|p| p.data).unwrap_or_default();
        let value = String::from_utf8(data.to_vec()).map_err(|_| {
            Error::new(
                ErrorKind::Corrupt,
                format!("secret {relative} version {number} is not UTF-8"),
            )
            .with_backend("gcp")
            .with_operation(operation)
        })?;
        Ok(Some(Versioned {
            value,
            version: number.to_string(),
        }))
    }

    /// Version `number` for `versions_after`, `None` when it is gone or was disabled/destroyed
    /// (FAILED_PRECONDITION) meanwhile: a retired version is covered by a later one.
    async fn access_retained(&self, relative: &str, number: u64) -> Result<Option<Versioned>> {
        match self
            .access(relative, &number.to_string(), "versions_after")
            .await
        {
            Err(e) if e.kind() == ErrorKind::Conflict => Ok(None),
            other => other,
        }
    }

    async fn create_secret(&self, relative: &str, operation: &'static str) -> Result<()> {
        RULES.check_relative(relative)?;
        let id = format!("{}{relative}", self.names.prefix());
        let secret = Secret::new()
            .set_replication(self.replication.to_model())
            .set_labels(self.labels.clone());
        self.calls.record("CreateSecret");
        self.client
            .create_secret()
            .set_parent(self.names.parent())
            .set_secret_id(id)
            .set_secret(secret)
            .send()
            .await
            .map_err(|e| map_error(e, operation))?;
        Ok(())
    }

    async fn add_version(
        &self,
        relative: &str,
        value: &str,
        operation: &'static str,
    ) -> Result<String> {
        self.calls.record("AddSecretVersion");
        let version = self
            .client
            .add_secret_version()
            .set_parent(self.names.secret(relative)?)
            .set_payload(
                SecretPayload::new().set_data(bytes::Bytes::copy_from_slice(value.as_bytes())),
            )
            .send()
            .await
            .map_err(|e| map_error(e, operation))?;
        version_number(&version.name)
            .map(|n| n.to_string())
            .ok_or_else(|| bad_answer(operation, "a version number"))
    }

    /// Numbers of the enabled versions of a secret, ascending (every page).
    async fn enabled_versions(&self, relative: &str, operation: &'static str) -> Result<Vec<u64>> {
        let parent = self.names.secret(relative)?;
        let mut request = self
            .client
            .list_secret_versions()
            .set_parent(parent)
            .set_filter("state:ENABLED");
        if let Some(size) = self.page_size {
            request = request.set_page_size(size);
        }
        let mut pages = request.by_page();
        let mut numbers = Vec::new();
        while let Some(page) = pages.next().await {
            self.calls.record("ListSecretVersions");
            let page = match page {
                Ok(page) => page,
                Err(e) => {
                    let error = map_error(e, operation);
                    return if error.kind() == ErrorKind::NotFound {
                        Ok(Vec::new())
                    } else {
                        Err(error)
                    };
                }
            };
            numbers.extend(
                page.versions
                    .iter()
                    .filter(|v| v.state == secret_version::State::Enabled)
                    .filter_map(|v| version_number(&v.name)),
            );
        }
        numbers.sort_unstable();
        numbers.dedup();
        Ok(numbers)
    }

    async fn destroy(&self, relative: &str, number: u64) -> Result<()> {
        let name = self.names.version(relative, &number.to_string())?;
        self.calls.record("DestroySecretVersion");
        match self
            .client
            .destroy_secret_version()
            .set_name(name)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            // FAILED_PRECONDITION: already destroyed (by another writer).
            Err(e) => match map_error(e, "retire_versions") {
                error if error.kind() == ErrorKind::Conflict => Ok(()),
                error => Err(error),
            },
        }
    }
}

impl GcpBackend {
    /// After a put of a token secret, destroy the version it superseded so token refreshes
    /// do not pile up billed versions (one DestroySecretVersion). The index is left alone:
    /// the engine merges its older versions and retires them itself. Best effort: the new
    /// value is already written, so a failure is only logged.
    async fn retire_previous(&self, name: &str, version: &str) {
        if is_index_secret(name) || self.keep_token_versions {
            return;
        }
        let Some(previous) = version
            .parse::<u64>()
            .ok()
            .and_then(|v| v.checked_sub(1))
            .filter(|&v| v > 0)
        else {
            return;
        };
        if let Err(error) = self.destroy(name, previous).await {
            tracing::warn!(backend = "gcp", secret = name, version = previous, %error, "could not destroy the superseded token version");
        }
    }
}

fn parse_version(version: &str, operation: &'static str) -> Result<u64> {
    version.parse().map_err(|_| {
        Error::new(
            ErrorKind::InvalidInput,
            format!("{version:?} is not a Secret Manager version number"),
        )
        .with_backend("gcp")
        .with_operation(operation)
    })
}

#[async_trait]
impl SecretBackend for GcpBackend {
    fn kind(&self) -> &'static str {
        "gcp"
    }

    fn limits(&self) -> BackendLimits {
        BackendLimits {
            // AddSecretVersion on a global secret: 120 per minute per secret (Secret Manager
            // quotas and limits, "per-secret" limits).
            versions_per_minute: Some(120),
            // Every DestroySecretVersion counts against the project's 600 writes a minute
            // (quotas page, "Write requests"): shards roll to a new generation instead.
            versions_per_generation: self
                .shard_generations
                .then_some(token_store_core::raw::VERSIONS_PER_GENERATION),
            ..BackendLimits::new(MAX_VALUE_BYTES)
        }
    }
    fn protocol(&self) -> Protocol<'_> {
        Protocol::MergeLog(self)
    }

    async fn get(&self, name: &str) -> Result<Option<Versioned>> {
        self.access(name, "latest", "get").await
    }

    async fn get_many(&self, names: &[String]) -> Result<Vec<Option<Versioned>>> {
        let mut values = Vec::with_capacity(names.len());
        for name in names {
            values.push(self.access(name, "latest", "get_many").await?);
        }
        Ok(values)
    }

    async fn create(&self, name: &str, value: &str) -> Result<String> {
        self.limits()
            .check_value_size("gcp", "the value", value)
            .map_err(|e| e.with_operation("create"))?;
        self.create_secret(name, "create").await?;
        self.add_version(name, value, "create").await
    }

    async fn put(&self, name: &str, value: &str) -> Result<String> {
        self.limits()
            .check_value_size("gcp", "the value", value)
            .map_err(|e| e.with_operation("put"))?;
        let version = match self.add_version(name, value, "put").await {
            Err(e) if e.kind() == ErrorKind::NotFound => {
                match self.create_secret(name, "put").await {
                    Err(e) if e.kind() != ErrorKind::AlreadyExists => return Err(e),
                    _ => {}
                }
                self.add_version(name, value, "put").await?
            }
            other => other?,
        };
        self.retire_previous(name, &version).await;
        Ok(version)
    }

    async fn delete(&self, name: &str) -> Result<()> {
        let secret = self.names.secret(name)?;
        self.retired_below
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(name);
        self.calls.record("DeleteSecret");
        match self.client.delete_secret().set_name(secret).send().await {
            Ok(()) => Ok(()),
            Err(e) => match map_error(e, "delete") {
                error if error.kind() == ErrorKind::NotFound => Ok(()),
                error => Err(error),
            },
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        if !prefix.is_empty() {
            RULES.check_relative(prefix)?;
        }
        let filter = format!("name:{}{prefix}", self.names.prefix());
        let mut request = self
            .client
            .list_secrets()
            .set_parent(self.names.parent())
            .set_filter(filter);
        if let Some(size) = self.page_size {
            request = request.set_page_size(size);
        }
        let mut pages = request.by_page();
        let mut names = Vec::new();
        while let Some(page) = pages.next().await {
            self.calls.record("ListSecrets");
            let page = page.map_err(|e| map_error(e, "list"))?;
            // The filter is a substring match (and some emulators ignore it): check exactly here.
            names.extend(
                page.secrets
                    .iter()
                    .filter_map(|s| self.names.relative_of(&s.name, prefix)),
            );
        }
        names.sort();
        names.dedup();
        Ok(names)
    }
}

#[async_trait]
impl MergeLog for GcpBackend {
    async fn append(&self, name: &str, value: &str) -> Result<String> {
        self.limits()
            .check_value_size("gcp", "the value", value)
            .map_err(|e| e.with_operation("append"))?;
        self.add_version(name, value, "append").await
    }
    async fn versions_after(&self, name: &str, since: Option<&str>) -> Result<Vec<Versioned>> {
        let Some(since) = since else {
            let mut all = Vec::new();
            for number in self.enabled_versions(name, "versions_after").await? {
                all.extend(self.access_retained(name, number).await?);
            }
            return Ok(all);
        };
        let since = parse_version(since, "versions_after")?;
        let Some(latest) = self.access(name, "latest", "versions_after").await? else {
            return Ok(Vec::new());
        };
        let latest_number = parse_version(&latest.version, "versions_after")?;
        let mut tail = Vec::new();
        for number in since.saturating_add(1)..latest_number {
            tail.extend(self.access_retained(name, number).await?);
        }
        if latest_number > since {
            tail.push(latest);
        }
        Ok(tail)
    }
    fn is_next_version(&self, base: &str, version: &str) -> Option<bool> {
        let (base, version) = (base.parse::<u64>().ok()?, version.parse::<u64>().ok()?);
        Some(base.checked_add(1) == Some(version))
    }
    async fn retire_versions_before(&self, name: &str, keep_from: &str) -> Result<()> {
        let keep_from = parse_version(keep_from, "retire_versions")?;
        let floor = self
            .retired_below
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(name)
            .copied();
        let doomed: Vec<u64> = match floor {
            Some(floor) => (floor..keep_from).collect(),
            None => self
                .enabled_versions(name, "retire_versions")
                .await?
                .into_iter()
                .filter(|&n| n < keep_from)
                .collect(),
        };
        for number in doomed {
            self.destroy(name, number).await?;
        }
        let mut retired = self
            .retired_below
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = retired.entry(name.to_owned()).or_insert(keep_from);
        *entry = (*entry).max(keep_from);
        Ok(())
    }
}
