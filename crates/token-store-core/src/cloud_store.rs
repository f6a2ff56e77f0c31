//! [`cloud_store!`](crate::cloud_store): the user-facing store type of a secret-manager backend,
//! written once for every cloud.

/// Define a cloud store: `$store` holds the index engine over an `Arc<$backend>` and is a
/// [`TokenStore`](crate::TokenStore), with `builder()`, `from_env()`, `from_url()`,
/// `from_backend()`, `engine()`, `backend()`, `calls()` and `repair()`.
///
/// It also defines `SCHEME`, the backend's [`Scheme`](crate::raw::Scheme) for `$url_scheme`
/// URLs (the one line that registers the backend with `token_store::open` and the CLI).
///
/// `$backend` must have `calls(&self) -> &CallCounter`; `$builder` must be `Default` and have
/// `from_env() -> Result<Self>`, `from_url(&str) -> Result<Self>`,
/// `async build_backend(self) -> Result<$backend>` and `async build(self) -> Result<$store>`
/// (which calls `$store::new`).
#[macro_export]
macro_rules! cloud_store {
    ($(#[$meta:meta])* $store:ident, $backend:ty, $builder:ty, $url_scheme:expr, $name:literal) => {
        /// This backend's store-URL scheme, for `token_store::open`.
        pub static SCHEME: $crate::raw::Scheme = $crate::raw::Scheme {
            scheme: $url_scheme,
            backend: $name,
            check: |url| <$builder>::from_url(url).map(drop),
            open: |url| {
                ::std::boxed::Box::pin(async move {
                    let backend = <$builder>::from_url(url)?.build_backend().await?;
                    let calls = backend.calls().clone();
                    let backend: ::std::sync::Arc<dyn $crate::raw::SecretBackend> =
                        ::std::sync::Arc::new(backend);
                    Ok($crate::raw::Opened::Backend { backend, calls })
                })
            },
        };

        $(#[$meta])*
        #[derive(Debug)]
        pub struct $store {
            engine: $crate::raw::SecretIndexStore,
            backend: ::std::sync::Arc<$backend>,
        }

        $crate::delegate_token_store!($store, engine);

        impl $store {
            pub(crate) fn new(
                engine: $crate::raw::SecretIndexStore,
                backend: ::std::sync::Arc<$backend>,
            ) -> Self {
                Self { engine, backend }
            }

            /// Start configuring a store.
            pub fn builder() -> $builder {
                <$builder>::default()
            }

            /// A store configured from the environment (see the builder's `from_env`).
            pub async fn from_env() -> $crate::Result<Self> {
                <$builder>::from_env()?.build().await
            }

            /// A store from its URL (see the builder's `from_url`).
            pub async fn from_url(url: &str) -> $crate::Result<Self> {
                <$builder>::from_url(url)?.build().await
            }

            /// A store over an existing backend, with default engine options.
            pub fn from_backend(backend: ::std::sync::Arc<$backend>) -> Self {
                Self::new($crate::raw::SecretIndexStore::new(backend.clone()), backend)
            }

            /// The index engine (its statistics: compare-and-swap retries, merges, …).
            pub fn engine(&self) -> &$crate::raw::SecretIndexStore {
                &self.engine
            }

            /// The backend under the engine.
            pub fn backend(&self) -> &::std::sync::Arc<$backend> {
                &self.backend
            }

            /// Service calls made so far, per operation name.
            pub fn calls(&self) -> &$crate::CallCounter {
                self.backend.calls()
            }

            /// Rebuild the index from the token secrets (after a crash between a token write
            /// and its index write, or to move an old index format to the current one).
            pub async fn repair(&self) -> $crate::Result<$crate::RepairReport> {
                self.engine.repair().await
            }
        }
    };
}
