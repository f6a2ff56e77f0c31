//! `AwsSecretsManagerStore`: the [`TokenStore`](token_store_core::TokenStore) users construct.

use std::sync::Arc;

use token_store_core::{RepairReport, Result, SecretIndexStore};

use crate::backend::AwsBackend;
use crate::config::AwsSecretsManagerStoreBuilder;
use token_store_core::CallCounter;

/// Tokens in AWS Secrets Manager: one secret per token (`<prefix>token/<id>`) plus one index
/// secret (`<prefix>index`) with hashed lookup keys, kept consistent by the core engine with
/// a one-call compare-and-swap (numbered `ClientRequestToken`s, see [`AwsBackend`]).
///
/// Service calls per operation (Secrets Manager requests, as counted by [`calls`](Self::calls)):
///
/// | operation | requests |
/// | --- | --- |
/// | `find_token` by user name or access token | 2 |
/// | `find_token_by_id` | 1 |
/// | `get_tokens` of N tokens | 1 + ⌈N/20⌉ |
/// | save of a new token | 3: index read, `CreateSecret`, index `PutSecretValue` (the very first save: `CreateSecret` for the index instead) |
/// | save of a refreshed token | 4: index read, token read, token `PutSecretValue`, index `PutSecretValue` |
/// | save of an unchanged token | 2 |
/// | `delete_token` | 3 |
/// | `delete_tokens` of N tokens | ⌈N/100⌉ `ListSecrets` + N `DeleteSecret` + 2 |
/// | each lost index compare-and-swap | + 2: the refused `PutSecretValue` and the re-read (LocalStack: + 1 read of the contested version) |
///
/// Before the numbered versions an index write took 2 requests (`PutSecretValue` under a
/// staging label + `UpdateSecretVersionStage`) and a lost race 3.
#[derive(Debug)]
pub struct AwsSecretsManagerStore {
    engine: SecretIndexStore,
    backend: Arc<AwsBackend>,
}

token_store_core::delegate_token_store!(AwsSecretsManagerStore, engine);

impl AwsSecretsManagerStore {
    pub(crate) fn new(engine: SecretIndexStore, backend: Arc<AwsBackend>) -> Self {
        Self { engine, backend }
    }

    /// A builder with defaults (prefix `token-store/`, force delete, SDK config from the
    /// standard AWS chain).
    pub fn builder() -> AwsSecretsManagerStoreBuilder {
        AwsSecretsManagerStoreBuilder::default()
    }

    /// A store configured from the environment: the standard AWS chain (credentials, region,
    /// `AWS_ENDPOINT_URL`) and `TOKEN_STORE_AWS_PREFIX`.
    pub async fn from_env() -> Result<Self> {
        AwsSecretsManagerStoreBuilder::from_env()?.build().await
    }

    /// A store from `aws-secretsmanager://<prefix>?region=..&endpoint=..`; see
    /// [`AwsSecretsManagerStoreBuilder::from_url`].
    pub async fn from_url(url: &str) -> Result<Self> {
        AwsSecretsManagerStoreBuilder::from_url(url)?.build().await
    }

    /// The index engine (statistics such as compare-and-swap retries).
    pub fn engine(&self) -> &SecretIndexStore {
        &self.engine
    }

    /// The Secrets Manager backend.
    pub fn backend(&self) -> &Arc<AwsBackend> {
        &self.backend
    }

    /// Requests sent to Secrets Manager, per API operation.
    pub fn calls(&self) -> &CallCounter {
        self.backend.calls()
    }

    /// Rebuild the index from the token secrets (after a crash between token and index write).
    pub async fn repair(&self) -> Result<RepairReport> {
        self.engine.repair().await
    }
}
