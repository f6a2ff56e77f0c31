//! token-store backend: [`FileStore`], the Zoho SDK's CSV token file (`sdk_tokens.txt`), so a
//! Rust service and a Python service on the Zoho SDK's `FileStore` can share one file.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use token_store_core::{Token, TokenStore};
//! use token_store_file::FileStore;
//!
//! let dir = std::env::temp_dir().join(format!("token-store-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let store = FileStore::open(dir.join("sdk_tokens.txt"))?; // or FileStore::from_env()
//! let saved = store
//!     .save_token(&Token::builder().user_name("me@example.com").refresh_token("1000.r").build())
//!     .await?;
//! assert_eq!(saved.id.as_deref(), Some("1"));
//! let found = store.find_token(&Token::builder().user_name("me@example.com").build()).await?;
//! assert_eq!(found, Some(saved));
//! # std::fs::remove_dir_all(&dir).unwrap();
//! # Ok::<(), token_store_core::Error>(()) }).unwrap();
//! ```
//!
//! # The file
//!
//! Exactly what the Python SDK (`zohocrmsdk8-0`) writes with `csv.writer`: a header row
//! `id,user_name,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_uri,api_domain`
//! (the SDK writes `redirect_uri`; `redirect_url`, which the Java and Node SDKs write, is
//! accepted on read), then one row per token; comma separator, a field quoted only when it
//! holds a comma, a quote or a line break (quotes doubled), CRLF line ends, UTF-8. An absent
//! value is an empty cell and an empty cell reads back as absent. The expiry is epoch
//! milliseconds. A missing or empty file is an empty store; an old 9-column file is migrated
//! when opened.
//!
//! Beside it, `<file>.lock` is the lock file; it also keeps the highest id ever assigned, so
//! an id is not handed out again after the row holding the largest one was deleted (without
//! it, ids fall back to the SDK's rule: one more than the largest id in the file).
//!
//! # What is fixed compared with the Zoho FileStore (spec §6 items 1-9)
//!
//! Atomic replacement with fsync instead of truncate-and-write (1); an exclusive `flock`
//! around every read-modify-write (2); the header row is never a data row (3); deleting an
//! unknown id succeeds and does not rewrite the file (4); I/O errors are typed
//! [`token_store_core::ErrorKind`]s with their cause (5); one CRLF writer for every path (6);
//! ids are validated and compared as numbers, a foreign id is reported as `Corrupt` (7);
//! both header spellings are read (8); rows are never removed while iterating (9). The file is
//! created and replaced with mode 0600.
//!
//! # Cost per operation
//!
//! The store keeps the parsed file (and, once a lookup needed it, an index of its lookup
//! columns) in memory and reuses it while the file is unchanged: a read (`find_token`,
//! `find_token_by_id`, `get_tokens`) takes no lock and costs one `stat` and a lookup in memory
//! (each match is still compared exactly). The file is read again when its identity or
//! metadata changed, and read and compared with the cached bytes (not re-parsed) while its
//! timestamps are too recent to rule out a change within one clock tick — after this store's
//! own writes, typically for a few milliseconds; the rule and why it is sound are in
//! `src/cache.rs`. A change (`save_token`, `delete_token` of a stored id, `delete_tokens`)
//! locks, checks the cached parse the same way (under the lock, so no other writer's change
//! is lost), writes a temporary file and fsyncs it, renames it and fsyncs the directory: 2
//! fsyncs, plus 1 for the id mark when a save assigns a new largest id; the rows it wrote
//! become the cached parse. `delete_token` of an id that is not stored writes nothing.
//! Blocking file work runs in place on a multi-thread tokio runtime (`block_in_place`) and
//! on the blocking pool otherwise.
#![deny(missing_docs)]

mod cache;
mod durable;
mod error;
mod format;
mod store;

pub use format::HEADER;
pub use store::{DEFAULT_FILE, ENV_VAR, FileStore, SCHEME};
