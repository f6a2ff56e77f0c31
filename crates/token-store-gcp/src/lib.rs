//! Google Cloud Secret Manager backend of token-store.
//!
//! [`GcpSecretManagerStore`] keeps each token in its own secret `<prefix>token-<id>` and a
//! hashed lookup index in `<prefix>index`, through the shared engine
//! ([`token_store_core::SecretIndexStore`]) over [`GcpBackend`], which calls the official
//! `google-cloud-secretmanager-v1` client (HTTP/JSON).
//!
//! # Naming, labels, replication
//!
//! Secret ids are `<prefix><relative name>`; the prefix is 1..=223 characters of
//! `[A-Za-z0-9_-]` so every id stays within GCP's 255. Every secret carries the label
//! `managed-by=token-store` plus any configured labels; replication is automatic unless
//! user-managed locations are configured.
//!
//! # Index concurrency: the merge-log protocol, not etags
//!
//! Secret Manager's etags make `UpdateSecret` (and version enable/disable/destroy)
//! conditional, but `AddSecretVersion` never is. An etag protocol would store the index
//! version pointer in a version alias or annotation and move it with
//! `UpdateSecret(etag = read)`. Neither available emulator can run that over REST (the only
//! transport of the Rust client): charlesgreen/gsm has no PATCH route and no etags;
//! blackwell-systems' REST gateway drops `updateMask` (UpdateSecret always fails) and
//! neither generates nor checks etags; drongo returns etags but never checks them. An
//! etag protocol could therefore not be tested against anything real here.
//!
//! This backend uses [`IndexProtocol::MergeLog`](token_store_core::IndexProtocol::MergeLog)
//! instead, which needs only AddSecretVersion and AccessSecretVersion: GCP version numbers
//! are sequential per secret, so each index value records the version it was derived from
//! (its base); a writer whose new version is not `base + 1` raced another writer and merges
//! the versions in between into a new version; a reader whose latest version is not
//! `base + 1` merges that tail too. The protocol over numbered versions is the core's
//! [`token_store_core::raw::numbered`]; this crate makes its service calls. Index entries carry timestamps and tombstones so merges
//! are commutative. The engine proves this with the in-memory backend's race injection, and
//! the concurrency tests run it against the emulators.
//!
//! **The etag gap, plainly:** nothing here relies on etags, and no emulator enforces them,
//! so no etag behaviour of the real service is exercised by these tests.
//!
//! # Version retirement and the project write quota
//!
//! GCP bills every enabled or disabled version, and every write (add, destroy, create,
//! delete) counts against the project's 600 writes a minute. Token secrets get a new version
//! on each save; the backend destroys the superseded one right after (1 DestroySecretVersion
//! per update of an existing token) unless
//! [`GcpSecretManagerStoreBuilder::keep_token_versions`] is set.
//!
//! Index shards do not destroy their superseded versions one by one: the backend declares
//! [`versions_per_generation`](token_store_core::BackendLimits::versions_per_generation), so
//! after 50 versions a shard rolls to a new generation (a new secret `…-<n>`) and the old
//! generation is deleted whole, one DeleteSecret, ten minutes after it was frozen. A routine
//! refresh is then about 3.1 writes instead of 4 (token version and destroy, one shard
//! version, a tenth of a write for rolls), which is what lets one project hold more than
//! 8,000 hourly-refreshed tokens (`docs/quota-sim.md`). Shard generations are written with
//! [`MergeLog::append`](token_store_core::MergeLog::append), an AddSecretVersion that never
//! creates the secret, so a deleted generation cannot come back. Generation 0 of a shard,
//! and the root `index`, still retire each superseded version (the first retirement in a
//! process lists the enabled versions once). A small store that never nears the quota can
//! choose the cheaper way, one destroy per superseded version:
//! [`GcpSecretManagerStoreBuilder::retire_index_versions`]. See [`GcpBackend`] for the call
//! table.
//!
//! # Errors
//!
//! Errors are mapped in one function from the `google.rpc` status code (NOT_FOUND,
//! ALREADY_EXISTS, FAILED_PRECONDITION, RESOURCE_EXHAUSTED — retryable, PERMISSION_DENIED,
//! UNAVAILABLE — retryable, …) or, when the body carries none, the HTTP status; never from
//! message text. The client retries RESOURCE_EXHAUSTED/429 up to 5 attempts within 30 s
//! with exponential backoff.
#![deny(missing_docs)]

mod backend;
mod config;
mod error;
mod names;
mod store;

pub use backend::{GcpBackend, MAX_VALUE_BYTES};
pub use config::{
    DEFAULT_PREFIX, ENDPOINT_ENV, GcpReplication, GcpSecretManagerStoreBuilder, PREFIX_ENV,
    PROJECT_ENV, URL_SCHEME,
};
pub use google_cloud_auth::credentials::Credentials;
pub use store::{GcpSecretManagerStore, SCHEME};
