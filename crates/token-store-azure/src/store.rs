//! [`AzureKeyVaultStore`]: the [`TokenStore`](token_store_core::TokenStore) users construct.

use std::sync::Arc;

use token_store_core::{CallCounter, RepairReport, Result, SecretIndexStore};

use crate::backend::AzureBackend;
use crate::config::AzureKeyVaultStoreBuilder;

/// Zoho-style OAuth tokens in Azure Key Vault: one secret per token plus the index shards,
/// through [`SecretIndexStore`] over an [`AzureBackend`].
#[derive(Debug)]
pub struct AzureKeyVaultStore {
    engine: SecretIndexStore,
    backend: Arc<AzureBackend>,
}

token_store_core::delegate_token_store!(AzureKeyVaultStore, engine);

impl AzureKeyVaultStore {
    /// Start configuring a store.
    pub fn builder() -> AzureKeyVaultStoreBuilder {
        AzureKeyVaultStoreBuilder::default()
    }

    /// A store configured from the environment (see [`AzureKeyVaultStoreBuilder::from_env`]).
    pub async fn from_env() -> Result<Self> {
        AzureKeyVaultStoreBuilder::from_env()?.build().await
    }

    /// A store from `azure-keyvault://<vault-host>/<prefix>` (see
    /// [`AzureKeyVaultStoreBuilder::from_url`]).
    pub async fn from_url(url: &str) -> Result<Self> {
        AzureKeyVaultStoreBuilder::from_url(url)?.build().await
    }

    pub(crate) fn new(engine: SecretIndexStore, backend: Arc<AzureBackend>) -> Self {
        Self { engine, backend }
    }

    /// A store over an existing backend, with default engine options.
    pub fn from_backend(backend: Arc<AzureBackend>) -> Self {
        Self::new(SecretIndexStore::new(backend.clone()), backend)
    }

    /// The engine, for [`SecretIndexStore::stats`].
    pub fn engine(&self) -> &SecretIndexStore {
        &self.engine
    }

    /// The backend under the engine.
    pub fn backend(&self) -> &Arc<AzureBackend> {
        &self.backend
    }

    /// Service calls made so far, per operation (see [`AzureBackend::calls`]).
    pub fn calls(&self) -> &CallCounter {
        self.backend.calls()
    }

    /// Rebuild the index from the token secrets.
    pub async fn repair(&self) -> Result<RepairReport> {
        self.engine.repair().await
    }
}
