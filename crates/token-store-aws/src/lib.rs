//! AWS Secrets Manager backend of token-store.
//!
//! [`AwsSecretsManagerStore`] keeps each token in its own secret and a small index secret
//! for lookups, on the core engine ([`token_store_core::SecretIndexStore`]) over
//! [`AwsBackend`]. Build it with [`AwsSecretsManagerStore::builder`],
//! [`AwsSecretsManagerStore::from_env`] or [`AwsSecretsManagerStore::from_url`]
//! (`aws-secretsmanager://<prefix>?region=..&endpoint=..`).
#![deny(missing_docs)]

mod backend;
mod calls;
mod config;
mod error;
mod names;
mod store;

pub use aws_sdk_secretsmanager;
pub use backend::{AwsBackend, BATCH_SIZE, Deletion, MAX_VALUE_BYTES};
pub use config::{AwsSecretsManagerStoreBuilder, OWNER_TAG, PREFIX_ENV, PREFIX_TAG, URL_SCHEME};
pub use names::{DEFAULT_PREFIX, MAX_PREFIX};
pub use store::{AwsSecretsManagerStore, SCHEME};
pub use token_store_core::CallCounter;
pub use token_store_core::raw::sequenced_cas::{MAX_READ_AGE, VERSION_PREFIX};
