//! token-store: keep Zoho-style OAuth tokens in a cloud secret manager, a file or a database.
#![deny(missing_docs)]

pub use token_store_core::*;
