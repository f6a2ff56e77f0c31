//! Opening a store from its URL, keeping what the commands need beyond `TokenStore`: the
//! index engine of a cloud store (repair, index checks) and its service call counters.

use std::collections::BTreeMap;
use std::sync::Arc;

use token_store::aws::{AwsBackend, AwsSecretsManagerStoreBuilder};
use token_store::azure::AzureKeyVaultStoreBuilder;
use token_store::gcp::GcpSecretManagerStoreBuilder;
use token_store::raw::{SecretBackend, SecretIndexStore};
use token_store::{CallCounter, Result, TokenStore};

/// Service calls by operation name.
pub type Calls = BTreeMap<String, u64>;

/// A cloud store: the index engine over a secret backend, with the backend's call counter.
pub struct Cloud {
    /// The index engine (the `TokenStore`).
    pub engine: SecretIndexStore,
    /// The secret backend under the engine.
    pub backend: Arc<dyn SecretBackend>,
    /// The AWS backend itself, for AWS-only checks (version quotas).
    pub aws: Option<Arc<AwsBackend>>,
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

/// The backend name a store URL selects, from its scheme (`None` when unknown).
pub fn kind_of(url: &str) -> Option<&'static str> {
    let scheme = url.split_once("://")?.0;
    Some(match scheme {
        "file" => "file",
        "sqlite" => "sqlite",
        "mysql" => "mysql",
        "memory" => "memory",
        "aws-secretsmanager" => "aws",
        "gcp-secretmanager" => "gcp",
        "azure-keyvault" => "azure",
        _ => return None,
    })
}

/// Open the store `url` names. Cloud stores are built from their backend so the engine
/// and the call counters stay reachable; every other scheme goes through `token_store::open`.
pub async fn open(url: &str) -> Result<Store> {
    let kind = kind_of(url).unwrap_or("unknown");
    let cloud = match kind {
        "aws" => {
            let backend = Arc::new(
                AwsSecretsManagerStoreBuilder::from_url(url)?
                    .build_backend()
                    .await?,
            );
            let mut cloud = cloud(backend.clone(), backend.calls());
            cloud.aws = Some(backend);
            Some(cloud)
        }
        "gcp" => {
            let backend = Arc::new(
                GcpSecretManagerStoreBuilder::from_url(url)?
                    .build_backend()
                    .await?,
            );
            Some(cloud(backend.clone(), backend.calls()))
        }
        "azure" => {
            let backend = Arc::new(
                AzureKeyVaultStoreBuilder::from_url(url)?
                    .build_backend()
                    .await?,
            );
            Some(cloud(backend.clone(), backend.calls()))
        }
        _ => None,
    };
    let inner = match cloud {
        Some(cloud) => Inner::Cloud(Box::new(cloud)),
        None => Inner::Plain(token_store::open(url).await?),
    };
    Ok(Store { kind, inner })
}

fn cloud<B: SecretBackend + 'static>(backend: Arc<B>, calls: &CallCounter) -> Cloud {
    let backend: Arc<dyn SecretBackend> = backend;
    Cloud {
        engine: SecretIndexStore::new(backend.clone()),
        backend,
        aws: None,
        calls: calls.clone(),
    }
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
