//! [`AzureKeyVaultStore`]: the [`TokenStore`](token_store_core::TokenStore) users construct.

use crate::backend::AzureBackend;
use crate::config::AzureKeyVaultStoreBuilder;

token_store_core::cloud_store!(
    /// Zoho-style OAuth tokens in Azure Key Vault: one secret per token plus the index shards,
    /// through the core engine over an [`AzureBackend`]. Build it with
    /// [`builder`](Self::builder), [`from_env`](Self::from_env) or
    /// [`from_url`](Self::from_url) (`azure-keyvault://<vault-host>/<prefix>`).
    AzureKeyVaultStore,
    AzureBackend,
    AzureKeyVaultStoreBuilder,
    crate::config::URL_SCHEME,
    "azure"
);
