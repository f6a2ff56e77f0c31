//! `AwsBackend`: the [`SecretBackend`] primitive on `aws-sdk-secretsmanager`.
//!
//! | primitive | Secrets Manager calls |
//! | --- | --- |
//! | `get` | `GetSecretValue` (AWSCURRENT) |
//! | `get_many` | `BatchGetSecretValue` with up to 20 ids |
//! | `create` | `CreateSecret` (with the ownership tags and KMS key) |
//! | `put` | `PutSecretValue`; on not-found `CreateSecret`; on a lost create race `PutSecretValue` again |
//! | `put_if_current(expected)` | one `PutSecretValue(ClientRequestToken = successor(expected))`, no `VersionStages`; `expected = None`: `CreateSecret(ClientRequestToken = first)` |
//! | `delete` | `DeleteSecret` (force, or with the configured recovery window) |
//! | `list` | `ListSecrets` with a `name` prefix filter, every page |
//!
//! The compare-and-swap is [`token_store_core::raw::sequenced_cas`] over `ClientRequestToken`,
//! which becomes the new version's VersionId: a `PutSecretValue` without `VersionStages`
//! moves `AWSCURRENT` to the new version, a reused token with other data is refused
//! (`ResourceExistsException`; LocalStack 4.10 wraps it in an HTTP 500 `InternalError`), the
//! same request repeated is a no-op. One call per commit, no staging label.
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use aws_sdk_secretsmanager::config::retry::RetryConfig;

use async_trait::async_trait;
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType, Tag};
use token_store_core::{
    BackendLimits, CompareAndSwap, Error, ErrorKind, Protocol, Result, SecretBackend, Versioned,
};

use crate::error::{BACKEND, classify, map_sdk_error};
use token_store_core::CallCounter;
use token_store_core::raw::sequenced_cas::{self, SeenVersions, SequencedWrites};
use token_store_core::raw::{Namespace, ResultExt as _, Retryable as _, backoff, bad_answer};

/// Largest secret value AWS accepts (`SecretString` length 1..65,536).
pub const MAX_VALUE_BYTES: usize = 65_536;
/// Ids per `BatchGetSecretValue` call.
pub const BATCH_SIZE: usize = 20;
const CURRENT_LABEL: &str = "AWSCURRENT";

/// What `delete` does with a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Deletion {
    /// `ForceDeleteWithoutRecovery`: gone at once, the name can be created again (after AWS's
    /// asynchronous clean-up, which creates wait out with backoff). The default.
    #[default]
    Force,
    /// `RecoveryWindowInDays` (7..=30): recoverable with `RestoreSecret` until the window ends.
    /// Writing a token whose secret is in its window restores it first.
    RecoveryWindow(u8),
}

/// A [`SecretBackend`] over one Secrets Manager namespace (a name prefix).
#[derive(Clone)]
pub struct AwsBackend {
    pub(crate) client: Client,
    pub(crate) names: Namespace,
    pub(crate) tags: Vec<Tag>,
    pub(crate) kms_key_id: Option<String>,
    pub(crate) deletion: Deletion,
    pub(crate) counter: CallCounter,
    pub(crate) seen: SeenVersions,
}

impl std::fmt::Debug for AwsBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsBackend")
            .field("prefix", &self.names.prefix())
            .field("tags", &self.tags.len())
            .field("kms_key_id", &self.kms_key_id.is_some())
            .field("deletion", &self.deletion)
            .finish_non_exhaustive()
    }
}

/// What a secret holds: a role tag value for operators.
fn role(relative: &str) -> &'static str {
    if token_store_core::is_index_secret(relative) {
        "index"
    } else {
        "token"
    }
}

fn versioned(call: &'static str, value: Option<&str>, version: Option<&str>) -> Result<Versioned> {
    let value = value.ok_or_else(|| {
        Error::corrupt("the secret holds binary data, not text")
            .with_backend(BACKEND)
            .with_operation(call)
    })?;
    let version = version.ok_or_else(|| bad_answer(BACKEND, call, "a version id"))?;
    Ok(Versioned {
        value: value.to_string(),
        version: version.to_string(),
    })
}

/// Retries while AWS finishes an asynchronous force delete of a name being created again, and
/// their first and longest waits (100 ms doubling: 3.1 s in all).
const RECREATE_RETRIES: usize = 5;
const RECREATE_FIRST_WAIT: Duration = Duration::from_millis(100);
const RECREATE_MAX_WAIT: Duration = Duration::from_secs(2);

impl AwsBackend {
    /// Requests sent to Secrets Manager through this backend's client, per operation.
    pub fn calls(&self) -> &CallCounter {
        &self.counter
    }

    /// The SDK client (with the call-counting interceptor).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The full secret name of a relative name (`index`, `token-42`).
    pub fn secret_name(&self, relative: &str) -> Result<String> {
        self.names.full(relative)
    }

    /// `InvalidInput` for an empty value, `TooLarge` above [`MAX_VALUE_BYTES`].
    fn check_value(&self, value: &str) -> Result<()> {
        if value.is_empty() {
            return Err(
                Error::invalid_input("a secret value cannot be empty").with_backend(BACKEND)
            );
        }
        self.limits().check_value_size(BACKEND, "the value", value)
    }

    fn tags_for(&self, relative: &str) -> Vec<Tag> {
        let mut tags = self.tags.clone();
        tags.push(
            Tag::builder()
                .key("token-store:role")
                .value(role(relative))
                .build(),
        );
        tags
    }

    /// `CreateSecret` with the ownership tags, description and KMS key.
    async fn create_secret(
        &self,
        relative: &str,
        full: &str,
        value: &str,
        token: Option<String>,
    ) -> Result<String> {
        let out = self
            .client
            .create_secret()
            .name(full)
            .secret_string(value)
            .set_client_request_token(token)
            .description(format!("token-store {} secret", role(relative)))
            .set_kms_key_id(self.kms_key_id.clone())
            .set_tags(Some(self.tags_for(relative)))
            .send()
            .await
            .map_err(|e| map_sdk_error("CreateSecret", e))?;
        out.version_id
            .ok_or_else(|| bad_answer(BACKEND, "CreateSecret", "a version id"))
    }

    /// `CreateSecret`, waiting out AWS's asynchronous clean-up of a force-deleted name.
    async fn create_waiting(&self, relative: &str, full: &str, value: &str) -> Result<String> {
        let create = || self.create_secret(relative, full, value, None);
        let force = self.deletion == Deletion::Force;
        create
            .retry(backoff(
                RECREATE_FIRST_WAIT,
                RECREATE_MAX_WAIT,
                RECREATE_RETRIES,
            ))
            .when(|e| e.kind() == ErrorKind::Conflict && force)
            .await
            .map_err(|e| {
                if e.kind() != ErrorKind::Conflict {
                    return e;
                }
                Error::new(
                    ErrorKind::Conflict,
                    "the secret name is scheduled for deletion; it can be created again once \
                     the deletion completes (or after RestoreSecret)",
                )
                .with_backend(BACKEND)
                .with_operation("CreateSecret")
                .with_retryable(force)
                .with_source(e)
            })
    }

    async fn put_value(&self, full: &str, value: &str) -> Result<String> {
        let call = "PutSecretValue";
        let out = self
            .client
            .put_secret_value()
            .secret_id(full)
            .secret_string(value)
            .send()
            .await
            .map_err(|e| map_sdk_error(call, e))?;
        out.version_id
            .ok_or_else(|| bad_answer(BACKEND, call, "a version id"))
    }

    /// `GetSecretValue` of the current version (`AWSCURRENT`) or of `version_id`; `None`
    /// when the secret (or that version) does not exist or is scheduled for deletion.
    async fn read(&self, name: &str, version_id: Option<&str>) -> Result<Option<Versioned>> {
        let call = "GetSecretValue";
        // AWSCURRENT named explicitly: the service default, and moto otherwise answers with
        // the version last written by PutSecretValue instead (see localstack/NOTES.md).
        let request = match version_id {
            Some(id) => self.client.get_secret_value().version_id(id),
            None => self.client.get_secret_value().version_stage(CURRENT_LABEL),
        };
        let sent = request.secret_id(self.names.full(name)?).send().await;
        // Missing, or scheduled for deletion: either way it does not exist now.
        let gone = [ErrorKind::NotFound, ErrorKind::Conflict];
        match sent.map_err(|e| map_sdk_error(call, e)).none_on(&gone)? {
            Some(out) => versioned(call, out.secret_string(), out.version_id()).map(Some),
            None => Ok(None),
        }
    }

    async fn restore(&self, full: &str) -> Result<()> {
        self.client
            .restore_secret()
            .secret_id(full)
            .send()
            .await
            .map_err(|e| map_sdk_error("RestoreSecret", e))?;
        Ok(())
    }
}

#[async_trait]
impl SecretBackend for AwsBackend {
    fn kind(&self) -> &'static str {
        BACKEND
    }

    fn limits(&self) -> BackendLimits {
        BackendLimits {
            batch_size: BATCH_SIZE,
            // "Versions of a secret: 100 in 24 hours, not adjustable" (AWS Secrets Manager quotas).
            versions_per_day: Some(100),
            ..BackendLimits::new(MAX_VALUE_BYTES)
        }
    }
    fn protocol(&self) -> Protocol<'_> {
        Protocol::CompareAndSwap(self)
    }

    async fn get(&self, name: &str) -> Result<Option<Versioned>> {
        let got = self.read(name, None).await?;
        if let Some(got) = &got {
            self.seen.record(name, &got.version);
        }
        Ok(got)
    }

    async fn get_many(&self, names: &[String]) -> Result<Vec<Option<Versioned>>> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        if names.len() > BATCH_SIZE {
            return Err(Error::invalid_input(format!(
                "{} names in one batch; at most {BATCH_SIZE}",
                names.len()
            ))
            .with_backend(BACKEND));
        }
        let full: Vec<String> = names
            .iter()
            .map(|n| self.names.full(n))
            .collect::<Result<_>>()?;
        let call = "BatchGetSecretValue";
        let mut found: HashMap<String, Versioned> = HashMap::new();
        let mut pages = self
            .client
            .batch_get_secret_value()
            .set_secret_id_list(Some(full.clone()))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let out = page.map_err(|e| map_sdk_error(call, e))?;
            for entry in out.secret_values() {
                let Some(name) = entry.name() else { continue };
                found.insert(
                    name.to_string(),
                    versioned(call, entry.secret_string(), entry.version_id())?,
                );
            }
            for failure in out.errors() {
                let (kind, message) = classify(failure.error_code(), None);
                if !matches!(kind, ErrorKind::NotFound | ErrorKind::Conflict) {
                    return Err(Error::new(kind, message)
                        .with_backend(BACKEND)
                        .with_operation(call));
                }
            }
        }
        Ok(full.iter().map(|name| found.remove(name)).collect())
    }

    async fn create(&self, name: &str, value: &str) -> Result<String> {
        self.check_value(value)?;
        let full = self.names.full(name)?;
        self.create_waiting(name, &full, value).await
    }

    async fn put(&self, name: &str, value: &str) -> Result<String> {
        self.check_value(value)?;
        let full = self.names.full(name)?;
        let mut restored = false;
        // Bounded: put, create (lost to a concurrent create), put again; or restore, put.
        let mut lost_creates = 0;
        loop {
            let err = match self.put_value(&full, value).await {
                Ok(version) => return Ok(version),
                Err(e) => e,
            };
            match err.kind() {
                ErrorKind::NotFound => match self.create_waiting(name, &full, value).await {
                    // Another writer created it in between: write over it as a put does.
                    Err(e) if e.kind() == ErrorKind::AlreadyExists && lost_creates < 3 => {
                        lost_creates += 1;
                    }
                    other => return other,
                },
                ErrorKind::Conflict if self.deletion != Deletion::Force && !restored => {
                    // Scheduled for deletion within its recovery window: restore, then write.
                    self.restore(&full).await?;
                    restored = true;
                }
                _ => return Err(err),
            }
        }
    }

    async fn delete(&self, name: &str) -> Result<()> {
        let full = self.names.full(name)?;
        let request = self.client.delete_secret().secret_id(full);
        let request = match self.deletion {
            Deletion::Force => request.force_delete_without_recovery(true),
            Deletion::RecoveryWindow(days) => request.recovery_window_in_days(i64::from(days)),
        };
        // Missing, or already scheduled for deletion: done.
        let gone = [ErrorKind::NotFound, ErrorKind::Conflict];
        let sent = request.send().await;
        sent.map_err(|e| map_sdk_error("DeleteSecret", e))
            .none_on(&gone)?;
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        let full_prefix = format!("{}{}", self.names.prefix(), prefix.replace('-', "/"));
        let filter = Filter::builder()
            .key(FilterNameStringType::Name)
            .values(&full_prefix)
            .build();
        let mut names = BTreeSet::new();
        let mut pages = self
            .client
            .list_secrets()
            .filters(filter)
            .max_results(100)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| map_sdk_error("ListSecrets", e))?;
            for secret in page.secret_list() {
                // The service filter is a prefix match; check exactly anyway.
                if secret.deleted_date().is_none()
                    && let Some(relative) = secret
                        .name()
                        .and_then(|n| self.names.relative_of(n, prefix))
                {
                    names.insert(relative);
                }
            }
        }
        Ok(names.into_iter().collect())
    }

    async fn versions_created_since(&self, name: &str, since_unix_secs: i64) -> Result<usize> {
        let mut pages = self
            .client
            .list_secret_version_ids()
            .secret_id(self.names.full(name)?)
            .include_deprecated(true)
            .max_results(100)
            .into_paginator()
            .send();
        let mut count = 0;
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| map_sdk_error("ListSecretVersionIds", e))?;
            count += page
                .versions()
                .iter()
                .filter(|v| {
                    v.created_date()
                        .is_some_and(|d| d.secs() >= since_unix_secs)
                })
                .count();
        }
        Ok(count)
    }
}

#[async_trait]
impl CompareAndSwap for AwsBackend {
    async fn put_if_current(
        &self,
        name: &str,
        value: &str,
        expected: Option<&str>,
    ) -> Result<String> {
        self.check_value(value)?;
        sequenced_cas::put_if_current(self, name, value, expected).await
    }
}

/// The three calls of the compare-and-swap; see the module docs for why a reused
/// `ClientRequestToken` decides the race.
#[async_trait]
impl SequencedWrites for AwsBackend {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn seen(&self) -> &SeenVersions {
        &self.seen
    }

    async fn create_as(&self, name: &str, value: &str, version_id: &str) -> Result<String> {
        let full = self.names.full(name)?;
        self.create_secret(name, &full, value, Some(version_id.to_string()))
            .await
    }

    /// `PutSecretValue` with `ClientRequestToken = version_id` and the SDK's retries off:
    /// the SDK would also retry LocalStack's HTTP 500 answer to a lost race, three times
    /// with backoff; the protocol retries itself, only when the outcome is open.
    async fn write_as(&self, name: &str, value: &str, version_id: &str) -> Result<String> {
        let call = "PutSecretValue";
        let out = self
            .client
            .put_secret_value()
            .secret_id(self.names.full(name)?)
            .secret_string(value)
            .client_request_token(version_id)
            .customize()
            .config_override(
                aws_sdk_secretsmanager::config::Builder::default()
                    .retry_config(RetryConfig::disabled()),
            )
            .send()
            .await
            .map_err(|e| map_sdk_error(call, e))?;
        out.version_id
            .ok_or_else(|| bad_answer(BACKEND, call, "a version id"))
    }

    async fn value_of(&self, name: &str, version_id: &str) -> Result<Option<String>> {
        Ok(self.read(name, Some(version_id)).await?.map(|v| v.value))
    }
}
