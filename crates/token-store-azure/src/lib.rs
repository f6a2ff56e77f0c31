//! Azure Key Vault backend of token-store.
//!
//! [`AzureKeyVaultStore`] keeps each token in its own secret `<prefix>token-<id>` and a
//! hashed lookup index in `<prefix>index`, through the shared engine
//! ([`token_store_core::SecretIndexStore`]) over [`AzureBackend`], which calls the official
//! `azure_security_keyvault_secrets` client.
//!
//! ```no_run
//! # async fn demo() -> token_store_core::Result<()> {
//! use token_store_azure::AzureKeyVaultStore;
//! // AZURE_KEYVAULT_URL=https://my-vault.vault.azure.net/ and an Azure login in the environment
//! let store = AzureKeyVaultStore::from_env().await?;
//! // or: AzureKeyVaultStore::from_url("azure-keyvault://my-vault.vault.azure.net/billing-").await?;
//! // or: AzureKeyVaultStore::builder().vault_url("https://my-vault.vault.azure.net/").build().await?;
//! # Ok(()) }
//! ```
//!
//! # Names, tags, sizes
//!
//! Secret names are `<prefix><relative name>`: Key Vault allows 1..=127 characters of
//! `[0-9a-zA-Z-]` and compares them case-insensitively, so the prefix is 1..=95 characters
//! of `[a-z0-9-]` and every name is written in lowercase. Every secret carries the tag
//! `managed-by=token-store` plus any configured tags (15 at most in all). Values over 25 KB
//! ([`MAX_VALUE_BYTES`]) fail with `TooLarge` before any call.
//!
//! # Index concurrency: merge log over the version list
//!
//! Key Vault has no ETag or If-Match on secrets: SetSecret is an unconditional upsert that
//! adds a version. The backend therefore runs the engine's
//! [`IndexProtocol::MergeLog`](token_store_core::IndexProtocol::MergeLog): every index value
//! records the version it was derived from (its base); after writing, a writer lists the
//! index's versions and merges every version created since its base (Key Vault version ids
//! are random, so order comes from each version's `created` time; versions created in the
//! same second as the base are included, which the idempotent merge absorbs); readers do
//! the same. Concurrent writers of distinct users therefore lose no entry. The protocol
//! (this section's and the next's) is the core's [`token_store_core::raw::timestamped`];
//! this crate supplies its Key Vault calls.
//!
//! Extra calls this costs, compared with a compare-and-swap backend: every index read lists
//! the index's versions (one GetSecretVersions page per 25 versions); every index write lists
//! them again after writing, reads each version written since its base that this process has
//! not seen (index versions are immutable, so they are cached in memory), and writes one
//! merged version (one more SetSecret) when another writer raced it — or when an earlier
//! version shares its base's second, since same-second order is unknown. With fewer than 25
//! index versions a new-user save is 7 calls (GetSecret 2, SetSecret 2, GetSecretVersions 3:
//! one each for the index read, the create check and the index write) and a find by user
//! name 3 (GetSecret 2, GetSecretVersions 1).
//!
//! **The listing grows with the number of index writes**: Key Vault cannot delete single
//! versions, so a long-lived index costs one more page per read for every 25 writes.
//! `AzureBackend::retire_versions_before` is a no-op (disabling does not shorten the list,
//! and Key Vault bills operations, not stored versions). Soundness assumes `created`
//! times never decrease in write order (second granularity).
//!
//! # Create without create-if-absent
//!
//! Token secrets are created with read → SetSecret → version listing; the creator whose
//! version is strictly the oldest wins, a loser puts the winner's value back and answers
//! `AlreadyExists` (see
//! [`TimestampedLog::create`](token_store_core::raw::timestamped::TimestampedLog::create)
//! for the residual window).
//!
//! # Soft-delete and purge
//!
//! Deleting is DeleteSecret then PurgeDeletedSecret ([`DeleteMode::Purge`], the default), so
//! the name can be reused right away. For vaults with purge protection choose
//! [`DeleteMode::SoftDelete`]: deleted secrets stay recoverable, and a later write of the
//! same name recovers it first. Either way a 409 for a deleted-but-recoverable name on a
//! write is resolved (purge or recover, then retry), never surfaced as a mystery.
//!
//! # Credentials
//!
//! [`AzureKeyVaultStoreBuilder::credential`] takes any `TokenCredential`; without one the
//! environment decides: service principal (`AZURE_TENANT_ID`, `AZURE_CLIENT_ID`,
//! `AZURE_CLIENT_SECRET`), workload identity (`AZURE_FEDERATED_TOKEN_FILE`), managed
//! identity (`IDENTITY_ENDPOINT`/`MSI_ENDPOINT`, or
//! `AZURE_TOKEN_CREDENTIALS=ManagedIdentityCredential`), else the `az`/`azd` login.
//!
//! # Errors
//!
//! Errors are mapped in one function from the HTTP status: 404 not found, 409 conflict
//! (deleted but recoverable; retryable), 429 rate limited (retryable, `Retry-After` named in
//! the message), 401 unauthenticated, 403 permission denied, 5xx unavailable (retryable).
//! The client itself retries 408/429/5xx up to 8 times honouring `Retry-After`.
#![deny(missing_docs)]

mod backend;
mod calls;
mod config;
mod credential;
mod error;
mod names;
mod store;

pub use backend::{AzureBackend, DeleteMode, MAX_VALUE_BYTES, OWNER_TAG};
pub use config::{
    AzureKeyVaultStoreBuilder, DEFAULT_PREFIX, DELETE_MODE_ENV, PREFIX_ENV, URL_SCHEME,
    VAULT_URL_ENV,
};
pub use names::MAX_PREFIX;
pub use store::{AzureKeyVaultStore, SCHEME};
