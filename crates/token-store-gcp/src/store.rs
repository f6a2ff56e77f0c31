//! [`GcpSecretManagerStore`]: the [`TokenStore`](token_store_core::TokenStore) users construct.

use std::sync::Arc;

use token_store_core::{RepairReport, Result, SecretIndexStore};

use crate::config::GcpSecretManagerStoreBuilder;

/// Zoho-style OAuth tokens in Google Cloud Secret Manager: one secret per token plus one
/// index secret, through [`SecretIndexStore`] over a [`GcpBackend`](crate::GcpBackend).
#[derive(Debug)]
pub struct GcpSecretManagerStore {
    engine: SecretIndexStore,
}

token_store_core::delegate_token_store!(GcpSecretManagerStore, engine);

impl GcpSecretManagerStore {
    /// Start configuring a store.
    pub fn builder() -> GcpSecretManagerStoreBuilder {
        GcpSecretManagerStoreBuilder::default()
    }

    /// A store configured from the environment (see [`GcpSecretManagerStoreBuilder::from_env`]).
    pub async fn from_env() -> Result<Self> {
        GcpSecretManagerStoreBuilder::from_env()?.build().await
    }

    /// A store from `gcp-secretmanager://<project>/<prefix>?endpoint=…` (see
    /// [`GcpSecretManagerStoreBuilder::from_url`]).
    pub async fn from_url(url: &str) -> Result<Self> {
        GcpSecretManagerStoreBuilder::from_url(url)?.build().await
    }

    pub(crate) fn from_engine(engine: SecretIndexStore) -> Self {
        Self { engine }
    }

    /// A store over an existing engine (for example one over a counting backend).
    pub fn from_backend(backend: Arc<dyn token_store_core::SecretBackend>) -> Self {
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
