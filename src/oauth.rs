//! `open_manager(url, options)`: a [`TokenManager`] over the store a URL names, with the lease
//! that store supports best (feature `oauth`).

use std::sync::Arc;
use std::time::Duration;

use token_store_core::{Result, TokenStore};
pub use token_store_oauth::*;

/// How long a write-then-verify lease ([`StoreLease`]) waits before reading its write back.
const STORE_LEASE_SETTLE: Duration = Duration::from_millis(200);

/// Open the store `url` names (as [`crate::open`] does) and a [`TokenManager`] over it whose
/// cross-instance lease is the strongest that store has:
///
/// * `aws-secretsmanager://` — [`BackendLease`], atomic compare-and-swap;
/// * `gcp-secretmanager://`, `azure-keyvault://` — [`BackendLease`] on the version log;
/// * `file://`, `sqlite://` — [`FileLease`] beside the file (one machine);
/// * `memory://`, `mysql://` — [`StoreLease`], write-then-verify (best effort).
pub async fn open_manager(url: &str, options: ManagerOptions) -> Result<TokenManager> {
    let scheme = url.split_once("://").map_or("", |(scheme, _)| scheme);
    let (store, lease): (Arc<dyn TokenStore>, Arc<dyn Lease>) = match scheme {
        #[cfg(feature = "aws")]
        "aws-secretsmanager" => {
            let store = token_store_aws::AwsSecretsManagerStore::from_url(url).await?;
            let lease = Arc::new(BackendLease::new(store.engine().backend().clone()));
            (Arc::new(store), lease)
        }
        #[cfg(feature = "gcp")]
        "gcp-secretmanager" => {
            let store = token_store_gcp::GcpSecretManagerStore::from_url(url).await?;
            let lease = Arc::new(BackendLease::new(store.engine().backend().clone()));
            (Arc::new(store), lease)
        }
        #[cfg(feature = "azure")]
        "azure-keyvault" => {
            let store = token_store_azure::AzureKeyVaultStore::from_url(url).await?;
            let lease = Arc::new(BackendLease::new(store.engine().backend().clone()));
            (Arc::new(store), lease)
        }
        #[cfg(feature = "file")]
        "file" => {
            let store = token_store_file::FileStore::from_url(url)?;
            let lease = Arc::new(FileLease::new(store.path()));
            (Arc::new(store), lease)
        }
        #[cfg(feature = "sqlite")]
        "sqlite" => {
            let store = token_store_sql::SqliteStore::from_url(url).await?;
            (Arc::new(store), Arc::new(FileLease::new(sqlite_path(url))))
        }
        _ => {
            let store: Arc<dyn TokenStore> = Arc::from(crate::open(url).await?);
            let lease = Arc::new(StoreLease::new(store.clone(), STORE_LEASE_SETTLE));
            (store, lease)
        }
    };
    TokenManager::with_options(store, lease, options)
}

/// The database path of a `sqlite://path?options` URL.
#[cfg(feature = "sqlite")]
fn sqlite_path(url: &str) -> String {
    let rest = url.trim_start_matches("sqlite://");
    rest.split('?').next().unwrap_or(rest).to_owned()
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    #[test]
    fn sqlite_path_drops_scheme_and_options() {
        assert_eq!(
            super::sqlite_path("sqlite:///tmp/t.db?table=x"),
            "/tmp/t.db"
        );
        assert_eq!(super::sqlite_path("sqlite://t.db"), "t.db");
    }
}
