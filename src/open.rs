//! `open(url)`: one entry point for every backend compiled in.

use token_store_core::{Error, ErrorKind, MemoryStore, Result, TokenStore};

/// Schemes `open` knows, with the feature each needs.
const SCHEMES: &[(&str, &str)] = &[
    ("memory", "(none)"),
    ("file", "file"),
    ("sqlite", "sqlite"),
    ("mysql", "mysql"),
    ("aws-secretsmanager", "aws"),
    ("gcp-secretmanager", "gcp"),
    ("azure-keyvault", "azure"),
];

/// Open the store a URL names:
///
/// * `memory://` — a new [`MemoryStore`];
/// * `file:///path/sdk_tokens.txt` — the Zoho CSV token file (feature `file`);
/// * `sqlite:///path/db` and `mysql://user:pass@host:port/db` (features `sqlite`, `mysql`);
/// * `aws-secretsmanager://<prefix>?region=…&endpoint=…` (feature `aws`);
/// * `gcp-secretmanager://<project>/<prefix>?endpoint=…` (feature `gcp`);
/// * `azure-keyvault://<vault-host>/<prefix>` (feature `azure`).
///
/// An unknown scheme, or one whose feature is not compiled in, is a
/// [`ErrorKind::ConfigInvalid`] error naming the feature to enable. Errors never echo the
/// URL, which may hold a password.
pub async fn open(url: &str) -> Result<Box<dyn TokenStore>> {
    let scheme = url
        .split_once("://")
        .map(|(scheme, _)| scheme)
        .ok_or_else(|| {
            Error::new(
                ErrorKind::ConfigInvalid,
                "a store URL looks like scheme://…, e.g. file:///tmp/sdk_tokens.txt",
            )
            .with_operation("open")
        })?;
    let store: Box<dyn TokenStore> = match scheme {
        "memory" => Box::new(MemoryStore::new()),
        #[cfg(feature = "file")]
        "file" => Box::new(token_store_file::FileStore::from_url(url)?),
        #[cfg(feature = "sqlite")]
        "sqlite" => Box::new(token_store_sql::SqliteStore::from_url(url).await?),
        #[cfg(feature = "mysql")]
        "mysql" => Box::new(token_store_sql::MySqlStore::from_url(url).await?),
        #[cfg(feature = "aws")]
        "aws-secretsmanager" => {
            Box::new(token_store_aws::AwsSecretsManagerStore::from_url(url).await?)
        }
        #[cfg(feature = "gcp")]
        "gcp-secretmanager" => {
            Box::new(token_store_gcp::GcpSecretManagerStore::from_url(url).await?)
        }
        #[cfg(feature = "azure")]
        "azure-keyvault" => Box::new(token_store_azure::AzureKeyVaultStore::from_url(url).await?),
        other => return Err(unknown_scheme(other)),
    };
    Ok(store)
}

fn unknown_scheme(scheme: &str) -> Error {
    let message = match SCHEMES.iter().find(|(known, _)| *known == scheme) {
        Some((known, feature)) => {
            format!("the {known}:// scheme needs the `{feature}` feature of token-store")
        }
        None => {
            let known: Vec<&str> = SCHEMES.iter().map(|(s, _)| *s).collect();
            format!(
                "unknown store URL scheme; known schemes: {}",
                known.join(", ")
            )
        }
    };
    Error::new(ErrorKind::ConfigInvalid, message).with_operation("open")
}
