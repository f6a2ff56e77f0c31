//! Store-URL registration: each backend crate exports one [`Scheme`] (its URL scheme and how
//! to open it), and `token_store::open` looks the scheme up in the list of those compiled in.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::{CallCounter, Result, SecretBackend, TokenStore};

/// The future a [`Scheme`] opens a store with.
pub type Opening<'a> = Pin<Box<dyn Future<Output = Result<Opened>> + Send + 'a>>;

/// A store opened from its URL.
pub enum Opened {
    /// A store with no secret index (memory, file, SQL).
    Store(Box<dyn TokenStore>),
    /// A secret backend; the index engine ([`crate::SecretIndexStore`]) makes it a store.
    Backend {
        /// The backend.
        backend: Arc<dyn SecretBackend>,
        /// Its service call counter.
        calls: CallCounter,
    },
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Store(_) => f.write_str("Opened::Store"),
            Self::Backend { backend, .. } => write!(f, "Opened::Backend({})", backend.kind()),
        }
    }
}

impl Opened {
    /// The store, with default engine options for a backend.
    pub fn into_store(self) -> Box<dyn TokenStore> {
        match self {
            Self::Store(store) => store,
            Self::Backend { backend, .. } => Box::new(crate::SecretIndexStore::new(backend)),
        }
    }
}

/// A backend's store-URL scheme.
#[derive(Debug, Clone, Copy)]
pub struct Scheme {
    /// The URL scheme, e.g. `aws-secretsmanager`.
    pub scheme: &'static str,
    /// The short backend name (`aws`, `file`, …), as in [`crate::Error::backend`].
    pub backend: &'static str,
    /// Check a URL of this scheme without connecting (`ConfigInvalid` when it is wrong).
    pub check: fn(&str) -> Result<()>,
    /// Open the store a URL of this scheme names.
    pub open: for<'a> fn(&'a str) -> Opening<'a>,
}

impl Scheme {
    /// The scheme among `schemes` that `url` starts with (`scheme://`).
    pub fn find<'s>(schemes: &[&'s Scheme], url: &str) -> Option<&'s Scheme> {
        let (scheme, _) = url.split_once("://")?;
        schemes.iter().copied().find(|s| s.scheme == scheme)
    }
}

crate::store_scheme!(
    /// The scheme of [`MemoryStore`](crate::MemoryStore): `memory://`, a new empty store.
    MEMORY_SCHEME,
    "memory",
    "memory",
    |_url| crate::MemoryStore::new()
);

/// Define `pub static $name: Scheme` for a store without a secret index, opened by the
/// expression `$open` (it may `.await` and use `?`; `$url` is the URL). Its `check` accepts
/// every URL: such stores check their URL when they open it.
///
/// ```
/// token_store_core::store_scheme!(
///     /// `memory2://`, a new memory store.
///     MEMORY2, "memory2", "memory", |_url| token_store_core::MemoryStore::new()
/// );
/// ```
#[macro_export]
macro_rules! store_scheme {
    ($(#[$meta:meta])* $name:ident, $scheme:expr, $backend:expr, |$url:ident| $open:expr) => {
        $(#[$meta])*
        pub static $name: $crate::raw::Scheme = $crate::raw::Scheme {
            scheme: $scheme,
            backend: $backend,
            check: |_| Ok(()),
            open: |$url| {
                ::std::boxed::Box::pin(async move {
                    Ok($crate::raw::Opened::Store(::std::boxed::Box::new($open)))
                })
            },
        };
    };
}
