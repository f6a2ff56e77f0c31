//! [`AzureKeyVaultStoreBuilder`]: configuration, `from_env` and `from_url`.

use std::collections::HashMap;
use std::sync::Arc;

use azure_core::credentials::TokenCredential;
use azure_core::http::ClientOptions;
use azure_security_keyvault_secrets::{SecretClient, SecretClientOptions};
use token_store_core::raw::{Namespace, StoreUrl, TagRules, env_var};
use token_store_core::{CallCounter, EngineOptions, Error, ErrorKind, Result};

use crate::backend::{AzureBackend, DeleteMode};
use crate::calls::CountingPolicy;
use crate::credential::default_credential;
use crate::error::map_error;
use crate::names::RULES;

/// Secret name prefix used when none is configured.
pub const DEFAULT_PREFIX: &str = "token-store-";
/// Environment variable holding the vault URL (`https://<vault>.vault.azure.net/`).
pub const VAULT_URL_ENV: &str = "AZURE_KEYVAULT_URL";
/// Environment variable holding the secret name prefix.
pub const PREFIX_ENV: &str = "TOKEN_STORE_AZURE_PREFIX";
/// Environment variable choosing the delete mode: `purge` (default) or `soft`.
pub const DELETE_MODE_ENV: &str = "TOKEN_STORE_AZURE_DELETE";
/// URL scheme of [`AzureKeyVaultStoreBuilder::from_url`].
pub const URL_SCHEME: &str = "azure-keyvault";
/// Key Vault's tag rules: 15 per secret (one is [`OWNER_TAG`](crate::OWNER_TAG)), names
/// 1..=512 characters, values at most 512.
const TAG_RULES: TagRules = TagRules::new("azure", 15, 512, 512);

token_store_core::cloud_settings! {
    /// Configures an [`AzureKeyVaultStore`](crate::AzureKeyVaultStore) (or just its [`AzureBackend`]).
    AzureSettings => AzureKeyVaultStoreBuilder("AzureKeyVaultStoreBuilder") {
        /// The vault, e.g. `https://my-vault.vault.azure.net/` (HTTPS only).
        vault_url: Option<String>,
        /// Secret name prefix, 1..=95 characters of `[a-z0-9-]` (default [`DEFAULT_PREFIX`]).
        prefix: Option<String>,
        /// The credential for Entra ID tokens (default: see the crate docs' credential chain).
        #[builder(setter(custom))]
        credential: Option<Arc<dyn TokenCredential>>,
        /// Tags of every secret written (besides `managed-by=token-store`).
        #[builder(setter(custom))]
        tags: HashMap<String, String>,
        /// The Key Vault REST api-version (default: the client's, `2025-07-01`).
        api_version: Option<String>,
        /// Client options: transport (a custom `reqwest` client, e.g. trusting a private CA),
        /// retry policy, extra policies.
        client_options: Option<ClientOptions>,
        /// Whether the resource in the service's authentication challenge must match the vault's
        /// domain (default `true`). Turn it off only for an emulator on `localhost`.
        verify_challenge_resource: Option<bool>,
        /// What deleting a secret does (default [`DeleteMode::Purge`]).
        delete_mode: DeleteMode,
        /// Items per list page (`maxresults`, 1..=25; default: the service's 25).
        page_size: Option<i32>,
        /// Retry and tombstone tuning of the index engine.
        engine_options: EngineOptions,
    }
}

fn config(message: impl Into<String>) -> Error {
    token_store_core::raw::config_error("azure", message)
}

impl AzureKeyVaultStoreBuilder {
    /// The credential for Entra ID tokens (default: see the crate docs' credential chain).
    pub fn credential(mut self, credential: Arc<dyn TokenCredential>) -> Self {
        self.credential = Some(Some(credential));
        self
    }

    /// Add a tag to every secret written (besides `managed-by=token-store`).
    pub fn tag(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let tags = self.tags.get_or_insert_with(HashMap::new);
        tags.insert(name.into(), value.into());
        self
    }

    /// Configuration from the environment: [`VAULT_URL_ENV`] (required), [`PREFIX_ENV`],
    /// [`DELETE_MODE_ENV`], and the default credential chain.
    pub fn from_env() -> Result<Self> {
        let url =
            env_var(VAULT_URL_ENV).ok_or_else(|| config(format!("{VAULT_URL_ENV} is not set")))?;
        let mut builder = Self::default().vault_url(url);
        if let Some(prefix) = env_var(PREFIX_ENV) {
            builder = builder.prefix(prefix);
        }
        if let Some(mode) = env_var(DELETE_MODE_ENV) {
            builder = builder.delete_mode(parse_delete_mode(&mode)?);
        }
        Ok(builder)
    }

    /// Configuration from `azure-keyvault://<vault-host>[:port]/<prefix>[?delete=purge|soft]`,
    /// e.g. `azure-keyvault://my-vault.vault.azure.net/billing-`. The vault is reached over
    /// HTTPS; an empty prefix means [`DEFAULT_PREFIX`]. Credentials come from the default
    /// chain.
    pub fn from_url(url: &str) -> Result<Self> {
        let url = StoreUrl::parse(url, URL_SCHEME, "azure")?;
        let (vault, prefix) = url.location_and_prefix("vault host")?;
        let mut builder = Self::default().vault_url(format!("https://{vault}/"));
        if let Some(prefix) = prefix {
            builder = builder.prefix(prefix);
        }
        for (key, value) in url.params() {
            builder = match key {
                "delete" => builder.delete_mode(parse_delete_mode(value)?),
                other => return Err(url.unknown_param(other)),
            };
        }
        Ok(builder)
    }
}

fn parse_delete_mode(mode: &str) -> Result<DeleteMode> {
    match mode {
        "purge" => Ok(DeleteMode::Purge),
        "soft" => Ok(DeleteMode::SoftDelete),
        other => Err(config(format!(
            "delete mode must be purge or soft, got {other:?}"
        ))),
    }
}

impl AzureSettings {
    /// Check the settings and connect the backend; the engine options go with it.
    pub(crate) async fn connect(self) -> Result<(AzureBackend, EngineOptions)> {
        let url = self
            .vault_url
            .ok_or_else(|| config(format!("no vault URL configured (set {VAULT_URL_ENV})")))?;
        let parsed =
            url::Url::parse(&url).map_err(|e| config(format!("vault URL is not a URL: {e}")))?;
        if parsed.scheme() != "https" || parsed.host_str().is_none() {
            return Err(config(
                "the vault URL must be https://<host>[:port]/ (Key Vault requires TLS)",
            ));
        }
        let prefix = self.prefix.unwrap_or_else(|| DEFAULT_PREFIX.to_owned());
        let names = Namespace::new(RULES, &prefix)?;
        TAG_RULES.check(&self.tags, 1)?;
        if self.page_size.is_some_and(|n| !(1..=25).contains(&n)) {
            return Err(config("page size must be 1..=25"));
        }
        let credential = match self.credential {
            Some(credential) => credential,
            None => default_credential()?,
        };
        let defaults = SecretClientOptions::default();
        let calls = CallCounter::default();
        let mut client_options = self.client_options.unwrap_or(defaults.client_options);
        let counting = Arc::new(CountingPolicy(calls.clone()));
        client_options.per_try_policies.push(counting);
        let options = SecretClientOptions {
            api_version: self.api_version.unwrap_or(defaults.api_version),
            client_options,
            verify_challenge_resource: self
                .verify_challenge_resource
                .or(defaults.verify_challenge_resource),
        };
        let client =
            SecretClient::new(parsed.as_str(), credential, Some(options)).map_err(|e| {
                let mut error = map_error(e, "build");
                if error.kind() == ErrorKind::Unexpected {
                    error = config("the Key Vault client could not be built").with_source(error);
                }
                error
            })?;
        let backend = AzureBackend::new(
            client,
            calls,
            names,
            self.tags,
            self.delete_mode,
            self.page_size,
        );
        Ok((backend, self.engine_options))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_gives_vault_prefix_and_mode() {
        let b = AzureKeyVaultStoreBuilder::from_url(
            "azure-keyvault://my-vault.vault.azure.net/billing-?delete=soft",
        )
        .unwrap();
        let Ok(b) = b.settings();
        assert_eq!(
            b.vault_url.as_deref(),
            Some("https://my-vault.vault.azure.net/")
        );
        assert_eq!(b.prefix.as_deref(), Some("billing-"));
        assert_eq!(b.delete_mode, DeleteMode::SoftDelete);
        let b = AzureKeyVaultStoreBuilder::from_url("azure-keyvault://localhost:8443").unwrap();
        let Ok(b) = b.settings();
        assert_eq!(b.vault_url.as_deref(), Some("https://localhost:8443/"));
        assert_eq!(b.prefix, None);
    }

    #[test]
    fn bad_urls_are_config_errors() {
        token_store_core::testkit::assert_urls_refused(
            AzureKeyVaultStoreBuilder::from_url,
            &[
                "https://my-vault.vault.azure.net/",
                "azure-keyvault:///p",
                "azure-keyvault://user:pw@host/p",
                "azure-keyvault://host/p?delete=never",
                "azure-keyvault://host/p?x=1",
                "not a url",
            ],
        );
    }

    fn fake() -> Arc<dyn TokenCredential> {
        #[derive(Debug)]
        struct Never;
        #[async_trait::async_trait]
        impl TokenCredential for Never {
            async fn get_token(
                &self,
                _: &[&str],
                _: Option<azure_core::credentials::TokenRequestOptions<'_>>,
            ) -> azure_core::Result<azure_core::credentials::AccessToken> {
                Err(azure_core::Error::with_message(
                    azure_core::error::ErrorKind::Credential,
                    "test",
                ))
            }
        }
        Arc::new(Never)
    }

    #[tokio::test]
    async fn builder_checks_before_any_call() {
        let base = || AzureKeyVaultStoreBuilder::default().credential(fake());
        assert_eq!(
            base().build_backend().await.unwrap_err().kind(),
            ErrorKind::ConfigInvalid
        );
        let http = base()
            .vault_url("http://localhost:8443/")
            .build_backend()
            .await
            .unwrap_err();
        assert_eq!(http.kind(), ErrorKind::ConfigInvalid);
        let prefix = base()
            .vault_url("https://v.vault.azure.net/")
            .prefix("Bad_")
            .build_backend()
            .await
            .unwrap_err();
        assert_eq!(prefix.kind(), ErrorKind::ConfigInvalid);
        let mut many = base().vault_url("https://v.vault.azure.net/");
        for i in 0..15 {
            many = many.tag(format!("t{i}"), "v");
        }
        assert_eq!(
            many.build_backend().await.unwrap_err().kind(),
            ErrorKind::ConfigInvalid
        );
        let ok = base()
            .vault_url("https://v.vault.azure.net/")
            .tag("team", "billing")
            .build_backend()
            .await
            .unwrap();
        assert_eq!(ok.secret_name("index").unwrap(), "token-store-index");
    }
}
