//! `open(url)`: one entry point for every backend compiled in. Each backend crate registers
//! its URL scheme (a [`Scheme`]); this file only lists the ones the enabled features bring.

use token_store_core::raw::{MEMORY_SCHEME, Scheme};
use token_store_core::{Error, ErrorKind, Result, TokenStore};

/// Every scheme `open` knows, with the feature that compiles it in.
const FEATURES: &[(&str, &str)] = &[
    ("memory", "(none)"),
    ("file", "file"),
    ("sqlite", "sqlite"),
    ("mysql", "mysql"),
    ("aws-secretsmanager", "aws"),
    ("gcp-secretmanager", "gcp"),
    ("azure-keyvault", "azure"),
];

/// The schemes of the backends compiled in.
static SCHEMES: &[&Scheme] = &[
    &MEMORY_SCHEME,
    #[cfg(feature = "file")]
    &token_store_file::SCHEME,
    #[cfg(feature = "sqlite")]
    &token_store_sql::SQLITE_SCHEME,
    #[cfg(feature = "mysql")]
    &token_store_sql::MYSQL_SCHEME,
    #[cfg(feature = "aws")]
    &token_store_aws::SCHEME,
    #[cfg(feature = "gcp")]
    &token_store_gcp::SCHEME,
    #[cfg(feature = "azure")]
    &token_store_azure::SCHEME,
];

/// The schemes of the backends compiled in.
pub fn schemes() -> &'static [&'static Scheme] {
    SCHEMES
}

/// The registered scheme `url` uses; a [`ErrorKind::ConfigInvalid`] error naming the feature
/// to enable when it is not compiled in or unknown. Errors never echo the URL, which may hold
/// a password.
pub fn scheme_of(url: &str) -> Result<&'static Scheme> {
    if let Some(scheme) = Scheme::find(schemes(), url) {
        return Ok(scheme);
    }
    let message = match url.split_once("://") {
        None => "a store URL looks like scheme://…, e.g. file:///tmp/sdk_tokens.txt".to_owned(),
        Some((name, _)) => match FEATURES.iter().find(|(known, _)| *known == name) {
            Some((known, feature)) => {
                format!("the {known}:// scheme needs the `{feature}` feature of token-store")
            }
            None => {
                let known: Vec<&str> = FEATURES.iter().map(|(s, _)| *s).collect();
                format!(
                    "unknown store URL scheme; known schemes: {}",
                    known.join(", ")
                )
            }
        },
    };
    Err(Error::new(ErrorKind::ConfigInvalid, message).with_operation("open"))
}

/// Open the store a URL names:
///
/// * `memory://` — a new [`MemoryStore`](crate::MemoryStore);
/// * `file:///path/sdk_tokens.txt` — the Zoho CSV token file (feature `file`);
/// * `sqlite:///path/db` and `mysql://user:pass@host:port/db` (features `sqlite`, `mysql`);
/// * `aws-secretsmanager://<prefix>?region=…&endpoint=…` (feature `aws`);
/// * `gcp-secretmanager://<project>/<prefix>?endpoint=…` (feature `gcp`);
/// * `azure-keyvault://<vault-host>/<prefix>` (feature `azure`).
///
/// An unknown scheme, or one whose feature is not compiled in, is a
/// [`ErrorKind::ConfigInvalid`] error naming the feature to enable (see [`scheme_of`]).
pub async fn open(url: &str) -> Result<Box<dyn TokenStore>> {
    let scheme = scheme_of(url)?;
    Ok((scheme.open)(url).await?.into_store())
}
