//! The vault harness shared by the Azure test targets and the benchmark: the Key Vault
//! double (`emulators/azure/keyvault_double.py`) or Lowkey Vault.
//!
//! Env (set by `scripts/test-azure.sh`): `TOKEN_STORE_AZURE_URL` (required: the vault, e.g.
//! `https://localhost:8543`) and `TOKEN_STORE_AZURE_CA` (required: PEM of the certificate
//! the emulator's TLS chains to, trusted as the only root by the test transport). A missing
//! variable or an unreachable vault fails the tests; nothing is skipped.
//!
//! Test-only relaxations, never in library code: the credential returns a dummy token (both
//! emulators check only that one is sent) and the challenge-resource check is off (their
//! challenges name `vault.azure.net` or `localhost`, not the vault's `localhost` domain).
#![allow(dead_code)] // each test target uses a different part

use std::sync::Arc;

use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use azure_core::http::{ClientOptions, Transport};
use azure_core::time::{Duration, OffsetDateTime};
use azure_security_keyvault_secrets::{SecretClient, SecretClientOptions};
use token_store_azure::{AzureBackend, AzureKeyVaultStore, AzureKeyVaultStoreBuilder};
use token_store_core::SecretBackend;
use token_store_core::testkit::{BackendHarness, BoxFuture};

/// Returns a fixed dummy token: the emulators only check that a bearer token is present.
#[derive(Debug)]
pub struct DummyCredential;

#[async_trait::async_trait]
impl TokenCredential for DummyCredential {
    async fn get_token(
        &self,
        _: &[&str],
        _: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        Ok(AccessToken::new(
            "dummy-token-for-the-emulator",
            OffsetDateTime::now_utc() + Duration::hours(1),
        ))
    }
}

pub struct AzureHarness {
    pub url: String,
    ca_pem: Vec<u8>,
}

pub fn harness() -> AzureHarness {
    let url = std::env::var("TOKEN_STORE_AZURE_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .expect("TOKEN_STORE_AZURE_URL must name the emulator's vault (run scripts/test-azure.sh)");
    let ca = std::env::var("TOKEN_STORE_AZURE_CA")
        .ok()
        .filter(|p| !p.is_empty())
        .expect("TOKEN_STORE_AZURE_CA must name the emulator certificate PEM (run scripts/test-azure.sh)");
    let ca_pem = std::fs::read(&ca).unwrap_or_else(|e| panic!("read {ca}: {e}"));
    AzureHarness { url, ca_pem }
}

impl AzureHarness {
    /// The secret name prefix of a test namespace.
    pub fn prefix(namespace: &str) -> String {
        format!("ts-{namespace}-")
    }

    /// Client options whose transport trusts only the emulator's certificate.
    pub fn client_options(&self) -> ClientOptions {
        let cert = reqwest::Certificate::from_pem(&self.ca_pem).expect("emulator certificate PEM");
        let http = reqwest::Client::builder()
            .tls_certs_only([cert])
            .build()
            .expect("reqwest client");
        ClientOptions {
            transport: Some(Transport::new(Arc::new(http))),
            ..Default::default()
        }
    }

    /// A store builder for `namespace` against the emulator.
    pub fn builder(&self, namespace: &str) -> AzureKeyVaultStoreBuilder {
        AzureKeyVaultStore::builder()
            .vault_url(&self.url)
            .prefix(Self::prefix(namespace))
            .credential(Arc::new(DummyCredential))
            .client_options(self.client_options())
            .verify_challenge_resource(false)
            .tag("suite", "conformance")
    }

    /// POST `body` to the Key Vault double's test control endpoint `/_double/{path}`
    /// (e.g. `throttle`); only the double has these.
    pub async fn double_control(&self, path: &str, body: serde_json::Value) {
        let cert = reqwest::Certificate::from_pem(&self.ca_pem).expect("emulator certificate PEM");
        let http = reqwest::Client::builder()
            .tls_certs_only([cert])
            .build()
            .expect("reqwest client");
        let url = format!("{}/_double/{path}", self.url.trim_end_matches('/'));
        let response = http
            .post(&url)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {url}: {e}"));
        assert!(
            response.status().is_success(),
            "POST {url}: {}",
            response.status()
        );
    }

    /// A backend over `namespace`.
    pub async fn azure_backend(&self, namespace: &str) -> AzureBackend {
        self.builder(namespace)
            .build_backend()
            .await
            .unwrap_or_else(|e| panic!("Azure backend for {}: {e}", self.url))
    }

    /// A raw client for back-door reads.
    pub fn raw_client(&self) -> SecretClient {
        let options = SecretClientOptions {
            client_options: self.client_options(),
            verify_challenge_resource: Some(false),
            ..Default::default()
        };
        SecretClient::new(&self.url, Arc::new(DummyCredential), Some(options))
            .expect("raw Key Vault client")
    }
}

impl BackendHarness for AzureHarness {
    fn backend<'a>(&'a self, namespace: &'a str) -> BoxFuture<'a, Arc<dyn SecretBackend>> {
        Box::pin(
            async move { Arc::new(self.azure_backend(namespace).await) as Arc<dyn SecretBackend> },
        )
    }
}
