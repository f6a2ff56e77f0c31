//! [`AzureKeyVaultStore`]: the [`TokenStore`](token_store_core::TokenStore) users construct.

use std::sync::Arc;

use token_store_core::{RepairReport, Result, SecretBackend, SecretIndexStore};

use crate::config::AzureKeyVaultStoreBuilder;

/// Zoho-style OAuth tokens in Azure Key Vault: one secret per token plus one index secret,
/// through [`SecretIndexStore`] over an [`AzureBackend`](crate::AzureBackend).
#[derive(Debug)]
pub struct AzureKeyVaultStore {
    engine: SecretIndexStore,
}

token_store_core::delegate_token_store!(AzureKeyVaultStore, engine);

impl AzureKeyVaultStore {
    /// Start configuring a store.
    pub fn builder() -> AzureKeyVaultStoreBuilder {
        AzureKeyVaultStoreBuilder::default()
    }

    /// A store configured from the environment (see [`AzureKeyVaultStoreBuilder::from_env`]).
    pub fn from_env() -> Result<Self> {
        AzureKeyVaultStoreBuilder::from_env()?.build()
    }

    /// A store from `azure-keyvault://<vault-host>/<prefix>` (see
    /// [`AzureKeyVaultStoreBuilder::from_url`]).
    pub fn from_url(url: &str) -> Result<Self> {
        AzureKeyVaultStoreBuilder::from_url(url)?.build()
    }

    pub(crate) fn from_engine(engine: SecretIndexStore) -> Self {
        Self { engine }
    }

    /// A store over any backend (for example a counting wrapper around an
    /// [`AzureBackend`](crate::AzureBackend)).
    pub fn from_backend(backend: Arc<dyn SecretBackend>) -> Self {
        Self::from_engine(SecretIndexStore::new(backend))
    }

    /// The engine, for [`SecretIndexStore::stats`].
    pub fn engine(&self) -> &SecretIndexStore {
        &self.engine
    }

    /// Rebuild the index from the token secrets.
    pub async fn repair(&self) -> Result<RepairReport> {
        self.engine.repair().await
    }
}
