//! [`GcpSecretManagerStore`]: the [`TokenStore`](token_store_core::TokenStore) users construct.

use crate::backend::GcpBackend;
use crate::config::GcpSecretManagerStoreBuilder;

token_store_core::cloud_store!(
    /// Zoho-style OAuth tokens in Google Cloud Secret Manager: one secret per token plus the
    /// index shards, through the core engine over a [`GcpBackend`]. Build it with
    /// [`builder`](Self::builder), [`from_env`](Self::from_env) or
    /// [`from_url`](Self::from_url) (`gcp-secretmanager://<project>/<prefix>?endpoint=…`).
    GcpSecretManagerStore,
    GcpBackend,
    GcpSecretManagerStoreBuilder,
    crate::config::URL_SCHEME,
    "gcp"
);
