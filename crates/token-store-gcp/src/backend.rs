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

use std::collections::BTreeMap;

use async_trait::async_trait;
use google_cloud_secretmanager_v1::client::SecretManagerService;
use google_cloud_secretmanager_v1::model::{Secret, SecretPayload, secret_version};
use token_store_core::raw::numbered::{NumberedLog, NumberedVersions};
use token_store_core::{
    BackendLimits, Error, ErrorKind, MergeLog, Protocol, Result, SecretBackend, Versioned,
};

use crate::config::GcpReplication;
use crate::error::map_error;
use crate::names::{Names, RULES, version_number};
use google_cloud_gax::error::Error as GaxError;
use google_cloud_gax::paginator::Paginator as _;
use token_store_core::CallCounter;
use token_store_core::raw::{ResultExt as _, bad_answer};

/// Largest secret payload Secret Manager accepts (64 KiB).
pub const MAX_VALUE_BYTES: usize = 65_536;

/// A [`SecretBackend`] storing each relative name as the secret `<prefix><name>` of one GCP
/// project. Index concurrency uses the merge log ([`MergeLog`]) over the per-secret sequential
/// version numbers, core's [`numbered`](token_store_core::raw::numbered) protocol (see the
/// crate docs for why not etags).
pub struct GcpBackend {
    pub(crate) client: SecretManagerService,
    pub(crate) names: Names,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) replication: GcpReplication,
    pub(crate) page_size: Option<i32>,
    pub(crate) keep_token_versions: bool,
    /// Index shards roll to new generations instead of retiring each superseded version.
    pub(crate) shard_generations: bool,
    /// The merge-log protocol state: per secret, the lowest version that may still be
    /// enabled (all below were retired by this process).
    pub(crate) log: NumberedLog,
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

    /// Count one call of the RPC `operation` and map its errors under the same name, so the
    /// errors' `operation()` and the names [`calls`](Self::calls) counts by always agree.
    fn call(&self, operation: &'static str) -> impl Fn(GaxError) -> Error {
        self.calls.record(operation);
        move |error| map_error(error, operation)
    }

    async fn create_secret(&self, relative: &str) -> Result<()> {
        let id = self.names.id(relative)?;
        let secret = Secret::new()
            .set_replication(self.replication.to_model())
            .set_labels(self.labels.clone());
        let failed = self.call("CreateSecret");
        self.client
            .create_secret()
            .set_parent(self.names.parent())
            .set_secret_id(id)
            .set_secret(secret)
            .send()
            .await
            .map_err(failed)?;
        Ok(())
    }

    async fn add_version(&self, relative: &str, value: &str) -> Result<String> {
        const OP: &str = "AddSecretVersion";
        let failed = self.call(OP);
        let version = self
            .client
            .add_secret_version()
            .set_parent(self.names.secret(relative)?)
            .set_payload(
                SecretPayload::new().set_data(bytes::Bytes::copy_from_slice(value.as_bytes())),
            )
            .send()
            .await
            .map_err(failed)?;
        version_number(&version.name)
            .map(|n| n.to_string())
            .ok_or_else(|| bad_answer("gcp", OP, "a version number"))
    }
}

/// The service calls of the [`numbered`](token_store_core::raw::numbered) protocol.
#[async_trait]
impl NumberedVersions for GcpBackend {
    fn backend(&self) -> &'static str {
        "gcp"
    }

    async fn access(&self, relative: &str, number: Option<u64>) -> Result<Option<Versioned>> {
        const OP: &str = "AccessSecretVersion";
        let version = number.map_or_else(|| "latest".to_owned(), |n| n.to_string());
        let name = self.names.version(relative, &version)?;
        let failed = self.call(OP);
        // FAILED_PRECONDITION (disabled or destroyed) maps to Conflict.
        let sent = self.client.access_secret_version().set_name(name).send();
        let Some(response) = sent.await.map_err(failed).found()? else {
            return Ok(None);
        };
        let number = version_number(&response.name)
            .ok_or_else(|| bad_answer("gcp", OP, "a version number"))?;
        let data = response.payload.map(|p| p.data).unwrap_or_default();
        let value = String::from_utf8(data.to_vec()).map_err(|_| {
            Error::new(
                ErrorKind::Corrupt,
                format!("secret {relative} version {number} is not UTF-8"),
            )
            .with_backend("gcp")
            .with_operation(OP)
        })?;
        Ok(Some(Versioned {
            value,
            version: number.to_string(),
        }))
    }

    async fn enabled_versions(&self, relative: &str) -> Result<Vec<u64>> {
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
            let failed = self.call("ListSecretVersions");
            let Some(page) = page.map_err(failed).found()? else {
                return Ok(Vec::new());
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
        let failed = self.call("DestroySecretVersion");
        let sent = self.client.destroy_secret_version().set_name(name).send();
        // FAILED_PRECONDITION: already destroyed (by another writer).
        sent.await.map_err(failed).none_on(&[ErrorKind::Conflict])?;
        Ok(())
    }
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
        self.access(name, None).await
    }

    async fn create(&self, name: &str, value: &str) -> Result<String> {
        self.check_value_size(value, "create")?;
        self.create_secret(name).await?;
        self.add_version(name, value).await
    }

    async fn put(&self, name: &str, value: &str) -> Result<String> {
        self.check_value_size(value, "put")?;
        let version = match self.add_version(name, value).await {
            Err(e) if e.kind() == ErrorKind::NotFound => {
                match self.create_secret(name).await {
                    Err(e) if e.kind() != ErrorKind::AlreadyExists => return Err(e),
                    _ => {}
                }
                self.add_version(name, value).await?
            }
            other => other?,
        };
        if !self.keep_token_versions {
            self.log.retire_previous(self, name, &version).await;
        }
        Ok(version)
    }

    async fn delete(&self, name: &str) -> Result<()> {
        let secret = self.names.secret(name)?;
        self.log.forget(name);
        let failed = self.call("DeleteSecret");
        let sent = self.client.delete_secret().set_name(secret).send().await;
        sent.map_err(failed).found()?;
        Ok(())
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
            let page = page.map_err(self.call("ListSecrets"))?;
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
        self.check_value_size(value, "append")?;
        self.add_version(name, value).await
    }
    async fn versions_after(&self, name: &str, since: Option<&str>) -> Result<Vec<Versioned>> {
        self.log.versions_after(self, name, since).await
    }
    fn is_next_version(&self, base: &str, version: &str) -> Option<bool> {
        NumberedLog::is_next_version(base, version)
    }
    async fn retire_versions_before(&self, name: &str, keep_from: &str) -> Result<()> {
        self.log.retire_versions_before(self, name, keep_from).await
    }
}
