//! Opening a store from its URL, keeping what the commands need beyond `TokenStore`: the
//! index engine of a cloud store (repair, index checks) and its service call counters.

use std::collections::BTreeMap;
use std::sync::Arc;

use token_store::raw::{Opened, SecretBackend, SecretIndexStore};
use token_store::{CallCounter, Result, TokenStore};

/// Service calls by operation name.
pub type Calls = BTreeMap<String, u64>;

/// A cloud store: the index engine over a secret backend, with the backend's call counter.
pub struct Cloud {
    /// The index engine (the `TokenStore`).
    pub engine: SecretIndexStore,
    /// The secret backend under the engine.
    pub backend: Arc<dyn SecretBackend>,
    /// The backend's service call counter.
    calls: CallCounter,
}

/// An opened store.
pub struct Store {
    /// The backend name: `file`, `sqlite`, `mysql`, `aws`, `gcp`, `azure` or `memory`.
    pub kind: &'static str,
    inner: Inner,
}

enum Inner {
    Plain(Box<dyn TokenStore>),
    Cloud(Box<Cloud>),
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// The backend name a store URL selects, from its registered scheme (`None` when unknown).
pub fn kind_of(url: &str) -> Option<&'static str> {
    token_store::scheme_of(url)
        .ok()
        .map(|scheme| scheme.backend)
}

/// Open the store `url` names, through the scheme its backend registered. Cloud stores keep
/// their engine and call counter reachable.
pub async fn open(url: &str) -> Result<Store> {
    let scheme = token_store::scheme_of(url)?;
    let inner = match (scheme.open)(url).await? {
        Opened::Backend { backend, calls } => Inner::Cloud(Box::new(Cloud {
            engine: SecretIndexStore::new(backend.clone()),
            backend,
            calls,
        })),
        plain => Inner::Plain(plain.into_store()),
    };
    Ok(Store {
        kind: scheme.backend,
        inner,
    })
}

impl Store {
    /// The store's `TokenStore`.
    pub fn tokens(&self) -> &dyn TokenStore {
        match &self.inner {
            Inner::Cloud(cloud) => &cloud.engine,
            Inner::Plain(plain) => plain.as_ref(),
        }
    }

    /// The cloud parts, when this is a secret-manager store.
    pub fn cloud(&self) -> Option<&Cloud> {
        match &self.inner {
            Inner::Cloud(cloud) => Some(cloud),
            Inner::Plain(_) => None,
        }
    }

    /// Service calls spent so far (cloud stores only).
    pub fn calls(&self) -> Option<Calls> {
        self.cloud().map(|c| c.calls.counts())
    }
}

/// The total of a call count.
pub fn total(calls: &Calls) -> u64 {
    calls.values().sum()
}
