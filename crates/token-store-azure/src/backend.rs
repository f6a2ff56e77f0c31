//! [`AzureBackend`]: the [`SecretBackend`] over Key Vault's secrets API.
//!
//! Service calls per backend method (REST operation names; `P` = pages of a list, 25
//! items each by default):
//!
//! | method | calls |
//! | --- | --- |
//! | `get` | 1 GetSecret |
//! | `get_many` (batch 1) | 1 GetSecret |
//! | `put` | 1 SetSecret (+ purge or recover and a retry when the name is soft-deleted) |
//! | `create` | 1 GetSecret + 1 SetSecret + P GetSecretVersions (+ 1 GetSecret, 1 GetSecret by version and 1 SetSecret when it lost a race) |
//! | `versions_after` | P GetSecretVersions + 1 GetSecret by version per version after the base not cached |
//! | `retire_versions_before` | none (see below) |
//! | `delete` | 1 DeleteSecret + 1 PurgeDeletedSecret (default; none with [`DeleteMode::SoftDelete`]) |
//! | `list` | P GetSecrets |

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use azure_core::http::RequestContent;
use azure_security_keyvault_secrets::models::{
    Secret, SecretClientGetSecretOptions, SecretClientListSecretPropertiesOptions,
    SecretClientListSecretPropertiesVersionsOptions, SetSecretParameters,
};
use azure_security_keyvault_secrets::{ResourceExt as _, SecretClient};
use futures::TryStreamExt as _;
use token_store_core::raw::timestamped::{TimestampedLog, TimestampedVersions, VersionInfo};
use token_store_core::raw::{Namespace, ResultExt as _, Retryable as _, backoff, bad_answer};
use token_store_core::{
    BackendLimits, CallCounter, Error, ErrorKind, MergeLog, Protocol, Result, SecretBackend,
    Versioned,
};

use crate::error::map_error;

/// Largest secret value Key Vault stores: 25 KB (25,600 bytes), checked before any call.
pub const MAX_VALUE_BYTES: usize = 25_600;
/// Tag every secret written by this crate carries (`managed-by=token-store`).
pub const OWNER_TAG: (&str, &str) = ("managed-by", "token-store");
/// Retries of a write whose name a deleted secret holds, each after clearing it (purge or
/// recover), and their first and longest waits.
const CLEAR_RETRIES: usize = 12;
const CLEAR_FIRST_WAIT: Duration = Duration::from_millis(100);
const CLEAR_MAX_WAIT: Duration = Duration::from_secs(2);
/// Retries of the purge after a delete (Key Vault finishes deleting asynchronously), and
/// their first and longest waits (50 ms doubling).
const PURGE_RETRIES: usize = 5;
const PURGE_FIRST_WAIT: Duration = Duration::from_millis(50);
const PURGE_MAX_WAIT: Duration = Duration::from_millis(800);

/// What deleting a secret does on a soft-delete vault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeleteMode {
    /// Delete, then purge so the name can be reused at once (needs the `purge` permission
    /// and a vault without purge protection). A later write that still meets the deleted
    /// name (409) purges it and retries.
    #[default]
    Purge,
    /// Delete only (for purge-protected vaults): the secret stays recoverable for the
    /// vault's retention period. A later write of the same name (409) recovers the deleted
    /// secret and writes a new version over it.
    SoftDelete,
}

/// A [`SecretBackend`] storing each relative name as the Key Vault secret
/// `<prefix><relative name>`, tagged with [`OWNER_TAG`] and any configured tags.
///
/// Key Vault has no conditional write, so this backend runs the engine's
/// [`MergeLog`](token_store_core::MergeLog) and creates secrets through the core's
/// [`timestamped`](token_store_core::raw::timestamped) protocol: versions are ordered by their
/// `created` time (whole seconds; versions of the same second are all read, which the
/// idempotent merge absorbs).
pub struct AzureBackend {
    client: SecretClient,
    names: Namespace,
    tags: HashMap<String, String>,
    delete_mode: DeleteMode,
    page_size: Option<i32>,
    log: TimestampedLog,
    calls: CallCounter,
    /// Whether a request of this client has completed (and with it the authentication
    /// challenge); until then requests go one at a time ([`Self::send`]).
    challenge_done: AtomicBool,
    first_request: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for AzureBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureBackend")
            .field("vault", &self.client.endpoint().as_str())
            .field("prefix", &self.names.prefix())
            .field("delete_mode", &self.delete_mode)
            .finish_non_exhaustive()
    }
}

fn secret_version(secret: &Secret, operation: &'static str) -> Result<String> {
    secret
        .resource_id()
        .ok()
        .and_then(|id| id.version)
        .ok_or_else(|| bad_answer("azure", operation, "a version id"))
}

impl AzureBackend {
    pub(crate) fn new(
        client: SecretClient,
        calls: CallCounter,
        names: Namespace,
        mut tags: HashMap<String, String>,
        delete_mode: DeleteMode,
        page_size: Option<i32>,
    ) -> Self {
        tags.insert(OWNER_TAG.0.to_owned(), OWNER_TAG.1.to_owned());
        Self {
            client,
            names,
            tags,
            delete_mode,
            page_size,
            log: TimestampedLog::default(),
            calls,
            challenge_done: AtomicBool::new(false),
            first_request: tokio::sync::Mutex::new(()),
        }
    }

    /// Send one Key Vault request (`request` starts when awaited here). Until a request of
    /// this client has completed, requests go one at a time: each first request of a client
    /// gets Key Vault's authentication challenge, and when several are answered at once the
    /// SDK (azure_core 1.1's bearer-token policy) clears a token another request has just
    /// fetched, failing that request as `Unauthenticated`. A serverless instance starting with
    /// concurrent calls would meet that; afterwards requests run concurrently.
    async fn send<F: std::future::Future>(&self, request: F) -> F::Output {
        if self.challenge_done.load(Ordering::Acquire) {
            return request.await;
        }
        let first = self.first_request.lock().await;
        if self.challenge_done.load(Ordering::Acquire) {
            drop(first);
            return request.await;
        }
        let output = request.await;
        self.challenge_done.store(true, Ordering::Release);
        output
    }

    /// The Key Vault secret name a relative name is stored under.
    pub fn secret_name(&self, relative: &str) -> Result<String> {
        self.names.full(relative)
    }

    /// Requests this backend's client sent to Key Vault (reset with [`CallCounter::reset`]),
    /// by REST operation (`GetSecret`, `GetSecretVersion`, `SetSecret`, `GetSecretVersions`,
    /// `GetSecrets`, `DeleteSecret`, `PurgeDeletedSecret`, `RecoverDeletedSecret`,
    /// `GetDeletedSecret`): every authenticated attempt, the client's own retries included.
    pub fn calls(&self) -> &CallCounter {
        &self.calls
    }

    /// The Key Vault client this backend calls.
    pub fn client(&self) -> &SecretClient {
        &self.client
    }

    /// What deleting does.
    pub fn delete_mode(&self) -> DeleteMode {
        self.delete_mode
    }

    /// One SetSecret; returns the new version.
    async fn set_once(&self, full: &str, value: &str) -> Result<String> {
        const OP: &str = "SetSecret";
        let parameters = SetSecretParameters {
            value: Some(value.to_owned()),
            tags: Some(self.tags.clone()),
            content_type: Some("application/json".to_owned()),
            ..Default::default()
        };
        let body: RequestContent<SetSecretParameters> =
            parameters.try_into().map_err(|e| map_error(e, OP))?;
        let secret = self
            .send(self.client.set_secret(full, body, None))
            .await
            .and_then(|r| r.into_model())
            .map_err(|e| map_error(e, OP))?;
        secret_version(&secret, OP)
    }

    /// Purge (or, with [`DeleteMode::SoftDelete`], recover) the deleted secret `full`.
    /// 404 and 409 (already gone, or still being deleted/recovered) are left to the caller's
    /// retry. Returns the deletion time of a secret that was recovered.
    async fn clear_deleted(&self, full: &str) -> Result<Option<i64>> {
        match self.delete_mode {
            DeleteMode::Purge => {
                self.purge(full).await?;
                Ok(None)
            }
            DeleteMode::SoftDelete => {
                // 404 / 409: already gone, or still being deleted or recovered: the caller retries.
                let gone = [ErrorKind::NotFound, ErrorKind::Conflict];
                let sent = self.send(self.client.get_deleted_secret(full, None)).await;
                let got = sent.map_err(|e| map_error(e, "GetDeletedSecret"));
                let Some(deleted) = got.none_on(&gone)? else {
                    return Ok(None);
                };
                let deleted = deleted
                    .into_model()
                    .map_err(|e| map_error(e, "GetDeletedSecret"))?;
                let sent = self
                    .send(self.client.recover_deleted_secret(full, None))
                    .await;
                sent.map_err(|e| map_error(e, "RecoverDeletedSecret"))
                    .none_on(&gone)?;
                let deleted_at = deleted.deleted_date;
                Ok(deleted_at.map(|t| t.unix_timestamp()))
            }
        }
    }

    /// PurgeDeletedSecret; `Ok(true)` when the name is free of a deleted secret (purged, or
    /// 404: none there, e.g. a vault without soft-delete), `Ok(false)` when it could not be
    /// purged yet (409: still being deleted).
    async fn purge(&self, full: &str) -> Result<bool> {
        const OP: &str = "PurgeDeletedSecret";
        match self
            .send(self.client.purge_deleted_secret(full, None))
            .await
        {
            Ok(_) => Ok(true),
            Err(e) => {
                let error = map_error(e, OP);
                match error.kind() {
                    ErrorKind::NotFound => Ok(true),
                    ErrorKind::Conflict => Ok(false),
                    ErrorKind::PermissionDenied => Err(Error::new(
                        ErrorKind::PermissionDenied,
                        "Key Vault refused to purge a deleted secret (purge protection on, or no purge \
                         permission); configure DeleteMode::SoftDelete for such vaults",
                    )
                    .with_backend("azure")
                    .with_operation(OP)
                    .with_source(error)),
                    _ => Err(error),
                }
            }
        }
    }
}

/// The service calls of the [`timestamped`](token_store_core::raw::timestamped) protocol.
#[async_trait]
impl TimestampedVersions for AzureBackend {
    fn backend(&self) -> &'static str {
        "azure"
    }

    /// GetSecret of the current version (`version` `None`) or a given one; `None` on 404.
    async fn read(&self, name: &str, version: Option<&str>) -> Result<Option<Versioned>> {
        let full = &self.names.full(name)?;
        let operation = match version {
            Some(_) => "GetSecretVersion",
            None => "GetSecret",
        };
        let options = SecretClientGetSecretOptions {
            secret_version: version.map(str::to_owned),
            ..Default::default()
        };
        let sent = self.send(self.client.get_secret(full, Some(options))).await;
        let Some(response) = sent.map_err(|e| map_error(e, operation)).found()? else {
            return Ok(None);
        };
        let secret = response.into_model().map_err(|e| map_error(e, operation))?;
        let version = secret_version(&secret, operation)?;
        let value = secret
            .value
            .ok_or_else(|| bad_answer("azure", operation, "a value"))?;
        Ok(Some(Versioned { value, version }))
    }

    /// SetSecret, clearing a soft-deleted secret of the same name first when Key Vault
    /// answers 409. Returns the new version and, when a deleted secret was recovered, the
    /// Unix second it had been deleted (its versions are older than that).
    async fn write(&self, name: &str, value: &str) -> Result<(String, Option<i64>)> {
        let full = &self.names.full(name)?;
        let recovered_at = Mutex::new(None);
        let attempt = || async {
            let conflict = match self.set_once(full, value).await {
                Err(e) if e.kind() == ErrorKind::Conflict => e,
                other => return other,
            };
            tracing::debug!(secret = full, "name held by a deleted secret; clearing it");
            if let Some(at) = self.clear_deleted(full).await? {
                *recovered_at.lock().unwrap_or_else(PoisonError::into_inner) = Some(at);
            }
            Err(conflict)
        };
        let version = attempt
            .retry(backoff(CLEAR_FIRST_WAIT, CLEAR_MAX_WAIT, CLEAR_RETRIES))
            .when(|e| e.kind() == ErrorKind::Conflict)
            .await?;
        let recovered_at = recovered_at
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        Ok((version, recovered_at))
    }

    /// One SetSecret (no clearing of a deleted secret).
    async fn rewrite(&self, name: &str, value: &str) -> Result<String> {
        self.set_once(&self.names.full(name)?, value).await
    }

    /// GetSecretVersions: every version with its creation time, reading all pages; empty
    /// when the secret does not exist.
    async fn versions(&self, name: &str) -> Result<Vec<VersionInfo>> {
        const OP: &str = "GetSecretVersions";
        let full = &self.names.full(name)?;
        let options = SecretClientListSecretPropertiesVersionsOptions {
            maxresults: self.page_size,
            ..Default::default()
        };
        let mut pages = self
            .client
            .list_secret_properties_versions(full, Some(options))
            .map_err(|e| map_error(e, OP))?
            .into_pages();
        let mut versions = Vec::new();
        loop {
            let next = self.send(pages.try_next()).await;
            let page = match next.map_err(|e| map_error(e, OP)).found()? {
                Some(Some(page)) => page.into_model().map_err(|e| map_error(e, OP))?,
                Some(None) => break,
                None => return Ok(Vec::new()),
            };
            for item in page.value {
                let Some(id) = item.resource_id().ok().and_then(|r| r.version) else {
                    return Err(bad_answer("azure", OP, "version ids in the version list"));
                };
                let attributes = item.attributes.unwrap_or_default();
                let created = attributes
                    .created
                    .ok_or_else(|| bad_answer("azure", OP, "creation times in the version list"))?
                    .unix_timestamp();
                versions.push(VersionInfo {
                    id,
                    created,
                    enabled: attributes.enabled.unwrap_or(true),
                });
            }
        }
        Ok(versions)
    }
}

#[async_trait]
impl SecretBackend for AzureBackend {
    fn kind(&self) -> &'static str {
        "azure"
    }

    fn limits(&self) -> BackendLimits {
        // Key Vault documents vault-wide request rates, no per-secret version caps.
        BackendLimits::new(MAX_VALUE_BYTES)
    }
    fn protocol(&self) -> Protocol<'_> {
        Protocol::MergeLog(self)
    }

    async fn get(&self, name: &str) -> Result<Option<Versioned>> {
        self.log.get(self, name).await
    }

    /// Key Vault has no create-if-absent: read, SetSecret, then the version list decide
    /// (see [`TimestampedLog::create`] for the race rules and the residual window).
    async fn create(&self, name: &str, value: &str) -> Result<String> {
        self.check_value_size(value, "create")?;
        self.log.create(self, name, value).await
    }

    async fn put(&self, name: &str, value: &str) -> Result<String> {
        self.check_value_size(value, "put")?;
        self.log.put(self, name, value).await
    }

    async fn delete(&self, name: &str) -> Result<()> {
        const OP: &str = "DeleteSecret";
        let full = self.names.full(name)?;
        let sent = self.send(self.client.delete_secret(&full, None)).await;
        if sent.map_err(|e| map_error(e, OP)).found()?.is_none() {
            return Ok(());
        }
        if self.delete_mode == DeleteMode::SoftDelete {
            return Ok(());
        }
        // Deletion completes asynchronously: purge answers 409 until the secret is in the
        // deleted state. A name left unpurged is purged by the next write meeting it.
        let purge = || async {
            match self.purge(&full).await? {
                true => Ok(()),
                false => Err(Error::new(ErrorKind::Conflict, "not purgeable yet")),
            }
        };
        let purged = purge
            .retry(backoff(PURGE_FIRST_WAIT, PURGE_MAX_WAIT, PURGE_RETRIES))
            .when(|e| e.kind() == ErrorKind::Conflict)
            .await;
        match purged {
            Err(e) if e.kind() == ErrorKind::Conflict => {
                tracing::debug!(
                    secret = full,
                    "deleted secret not purgeable yet; the next write of the name purges it"
                );
                Ok(())
            }
            other => other,
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        const OP: &str = "GetSecrets";
        let options = SecretClientListSecretPropertiesOptions {
            maxresults: self.page_size,
            ..Default::default()
        };
        let mut pages = self
            .client
            .list_secret_properties(Some(options))
            .map_err(|e| map_error(e, OP))?
            .into_pages();
        let mut names = Vec::new();
        loop {
            let next = self.send(pages.try_next()).await;
            let Some(page) = next.map_err(|e| map_error(e, OP))? else {
                break;
            };
            let page = page.into_model().map_err(|e| map_error(e, OP))?;
            for item in page.value {
                let Ok(id) = item.resource_id() else {
                    return Err(bad_answer("azure", OP, "secret ids in the secret list"));
                };
                if let Some(relative) = self.names.relative_of(&id.name, prefix) {
                    names.push(relative);
                }
            }
        }
        names.sort();
        names.dedup();
        Ok(names)
    }
}

#[async_trait]
impl MergeLog for AzureBackend {
    async fn versions_after(&self, name: &str, since: Option<&str>) -> Result<Vec<Versioned>> {
        self.log.versions_after(self, name, since).await
    }
    fn is_next_version(&self, base: &str, version: &str) -> Option<bool> {
        self.log.is_next_version(base, version)
    }
    /// A no-op: Key Vault bills per operation, not per stored version, cannot delete a
    /// single version, and lists disabled versions too, so disabling old index versions
    /// would cost one call per superseded version and save nothing.
    async fn retire_versions_before(&self, _name: &str, _keep_from: &str) -> Result<()> {
        Ok(())
    }
}
