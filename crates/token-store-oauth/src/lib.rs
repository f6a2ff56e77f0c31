//! `TokenManager`: a valid Zoho access token in every call — in-process cache, refresh ahead
//! of expiry, one refresh across every instance that shares a store.
//!
//! ```no_run
//! # async fn demo() -> token_store_core::Result<()> {
//! use std::sync::Arc;
//! use token_store_core::{MemoryStore, Token};
//! use token_store_oauth::{StoreLease, TokenManager};
//!
//! let store = Arc::new(MemoryStore::new());
//! let lease = Arc::new(StoreLease::new(store.clone(), std::time::Duration::from_millis(50)));
//! let manager = TokenManager::new(store, lease)?;
//! let token = manager
//!     .access_token(&Token::builder().user_name("me@example.com").build())
//!     .await?;
//! println!("call {:?} with {:?}", token.api_domain(), token);
//! # Ok(()) }
//! ```
//!
//! Pick the lease for the store (see [`lease`]): [`BackendLease`] for the cloud stores,
//! [`FileLease`] for the file store and SQLite, [`StoreLease`] otherwise.
#![deny(missing_docs)]

mod access;
mod accounts;
mod datacentre;
pub mod lease;
mod manager;
mod options;
mod response;

pub use access::{AccessToken, ManagerStats, TokenSource};
pub use datacentre::DataCentre;
pub use lease::{Attempt, BackendLease, FileLease, Lease, StoreLease};
pub use manager::TokenManager;
pub use options::ManagerOptions;
pub use response::{
    AccountsError, AccountsErrorCode, DEFAULT_LIFETIME, MAX_LIFETIME, RATE_WINDOW, accounts_error,
    rate_limited_until,
};
