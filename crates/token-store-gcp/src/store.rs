//! [`GcpSecretManagerStore`]: the [`TokenStore`](token_store_core::TokenStore) users construct.

use std::sync::Arc;

use token_store_core::{CallCounter, RepairReport, Result, SecretIndexStore};

use crate::backend::GcpBackend;
use crate::config::GcpSecretManagerStoreBuilder;

/// Zoho-style OAuth tokens in Google Cloud Secret Manager: one secret per token plus the index
/// shards, through [`SecretIndexStore`] over a [`GcpBackend`].
#[derive(Debug)]
pub struct GcpSecretManagerStore {
    engine: SecretIndexStore,
    backend: Arc<GcpBackend>,
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

    pub(crate) fn new(engine: SecretIndexStore, backend: Arc<GcpBackend>) -> Self {
        Self { engine, backend }
    }

    /// A store over an existing backend, with default engine options.
    pub fn from_backend(backend: Arc<GcpBackend>) -> Self {
        Self::new(SecretIndexStore::new(backend.clone()), backend)
    }

    /// The engine, for [`SecretIndexStore::stats`].
    pub fn engine(&self) -> &SecretIndexStore {
        &self.engine
    }

    /// The backend under the engine.
    pub fn backend(&self) -> &Arc<GcpBackend> {
        &self.backend
    }

    /// Service calls made so far, per operation (see [`GcpBackend::calls`]).
    pub fn calls(&self) -> &CallCounter {
        self.backend.calls()
    }

    /// Rebuild the index from the token secrets.
    pub async fn repair(&self) -> Result<RepairReport> {
        self.engine.repair().await
    }
}
