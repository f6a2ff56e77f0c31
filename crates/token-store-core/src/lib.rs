//! Core of token-store: the [`Token`] model, the [`TokenStore`] contract, the one [`Error`]
//! type, the [`SecretBackend`] primitive with the index engine [`SecretIndexStore`] built on
//! it, and the in-memory [`MemoryStore`].
#![deny(missing_docs)]

mod backend;
mod calls;
mod cloud_store;
mod config;
mod engine;
mod error;
pub mod lookup;
mod memory;
mod names;
mod protocols;
mod registry;
mod retry;
mod store;
mod tags;
mod token;

#[cfg(feature = "testkit")]
pub mod testkit;

pub use backend::{
    BackendLimits, CompareAndSwap, IndexProtocol, MergeLog, Protocol, SecretBackend, Versioned,
};
pub use calls::CallCounter;
pub use engine::{
    Clock, EngineOptions, EngineStats, INDEX_NAME, RepairReport, SHARD_PREFIX,
    SPLIT_WRITES_PER_DAY, SecretIndexStore, TOKEN_PREFIX, is_index_secret, token_secret_name,
};
pub use error::{Error, ErrorKind, Result};

/// The API for backend writers: the [`SecretBackend`] primitive a cloud adapter implements,
/// the index engine ([`SecretIndexStore`]) that turns it into a [`TokenStore`], the engine's
/// secret names and the lookup rules. Users of a store need none of it; the `token-store`
/// facade re-exports it only as `token_store::raw`.
pub mod raw {
    pub use crate::backend::{
        BackendLimits, CompareAndSwap, IndexProtocol, MergeLog, Protocol, SecretBackend, Versioned,
    };
    pub use crate::config::{StoreUrl, config_error, env_var};
    pub use crate::engine::{
        Clock, INDEX_NAME, SHARD_PREFIX, SPLIT_WRITES_PER_DAY, SecretIndexStore, TOKEN_PREFIX,
        VERSIONS_PER_GENERATION, is_index_secret, token_secret_name,
    };
    pub use crate::error::{ResultExt, bad_answer, http_status_kind};
    pub use crate::lookup;
    pub use crate::names::{NameRules, Namespace};
    pub use crate::protocols::{numbered, sequenced_cas, timestamped};
    pub use crate::registry::{MEMORY_SCHEME, Opened, Opening, Scheme};
    pub use crate::retry::{Retryable, backoff};
    pub use crate::tags::TagRules;
}
pub use memory::MemoryStore;
pub use store::TokenStore;
pub use token::{Token, TokenBuilder};

#[doc(hidden)]
pub use async_trait::async_trait as __async_trait;
#[doc(hidden)]
pub use derive_builder as __derive_builder;
#[doc(hidden)]
pub use tokio as __tokio;
