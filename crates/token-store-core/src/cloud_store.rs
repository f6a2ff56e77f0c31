//! [`cloud_store!`](crate::cloud_store): the user-facing store type of a secret-manager backend,
//! written once for every cloud.

/// Define a cloud store: `$store` holds the index engine over an `Arc<$backend>` and is a
/// [`TokenStore`](crate::TokenStore), with `builder()`, `from_env()`, `from_url()`,
/// `from_backend()`, `engine()`, `backend()`, `calls()` and `repair()`.
///
/// It also defines `SCHEME`, the backend's [`Scheme`](crate::raw::Scheme) for `$url_scheme`
/// URLs (the one line that registers the backend with `token_store::open` and the CLI).
///
/// It gives `$builder` its `build()` (the store) and `build_backend()` (the backend alone).
///
/// `$backend` must have `calls(&self) -> &CallCounter`; `$builder` is the builder
/// [`cloud_settings!`](crate::cloud_settings) declares, with `from_env() -> Result<Self>` and
/// `from_url(&str) -> Result<Self>`; its settings have
/// `async connect(self) -> Result<($backend, EngineOptions)>` (check every setting, create
/// the client).
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

        impl $builder {
            /// Check the settings, connect, and return the store.
            pub async fn build(self) -> $crate::Result<$store> {
                let Ok(settings) = self.settings();
                let (backend, options) = settings.connect().await?;
                let backend = ::std::sync::Arc::new(backend);
                let engine = $crate::raw::SecretIndexStore::with_options(backend.clone(), options);
                Ok($store { engine, backend })
            }

            /// Check the settings and connect the backend alone (for another engine or tests).
            pub async fn build_backend(self) -> $crate::Result<$backend> {
                let Ok(settings) = self.settings();
                Ok(settings.connect().await?.0)
            }
        }

        impl $store {

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
                let engine = $crate::raw::SecretIndexStore::new(backend.clone());
                Self { engine, backend }
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

/// Declare a cloud backend's typed configuration: `$settings`, the struct of every setting
/// (crate-private, read by the backend's `connect`), and the builder users fill, named by
/// `$builder` (its name also as a string literal), with one setter per field (`into`, an `Option` field takes its inner
/// value; `#[builder(setter(custom))]` for setters written by hand). The builder's `from_env`
/// and `from_url` fill the same fields, so the three ways to configure agree. The `///` lines
/// before the names document the builder. The builder's `Debug` shows which settings are
/// set, never a value (credentials and clients are settings too).
#[macro_export]
macro_rules! cloud_settings {
    (
        $(#[doc = $builder_doc:literal])*
        $settings:ident => $builder:ident($builder_name:literal) { $($fields:tt)* }
    ) => {
        /// Every setting of this backend, as the builder collected them.
        #[derive(Clone, Default, $crate::__derive_builder::Builder)]
        #[builder(
            crate = "::token_store_core::__derive_builder",
            name = $builder_name,
            vis = "pub",
            pattern = "owned",
            default,
            setter(into, strip_option),
            build_fn(vis = "pub(crate)", name = "settings", error = "::std::convert::Infallible")
        )]
        $(#[builder_struct_attr(doc = $builder_doc)])*
        pub(crate) struct $settings { $($fields)* }

        $crate::cloud_settings!(@debug $builder, $builder_name, $($fields)*);
    };
    // The field types are matched only here: a `ty` fragment hides `Option` from the derive.
    (@debug $builder:ident, $builder_name:literal, $($(#[$meta:meta])* $field:ident: $type:ty,)*) => {
        impl ::std::fmt::Debug for $builder {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                let set = |is_set: bool| if is_set { "<set>" } else { "<unset>" };
                f.debug_struct($builder_name)
                    $(.field(stringify!($field), &set(self.$field.is_some())))*
                    .finish()
            }
        }
    };
}
