//! The emulator-backed harness shared by the GCP test targets.
//!
//! Env: `TOKEN_STORE_GCP_ENDPOINT` (required: the emulator, e.g. `http://127.0.0.1:8086`),
//! `TOKEN_STORE_GCP_EMULATOR` (`drongo`, `gsm` or `blackwell`: selects the gated cases),
//! `TOKEN_STORE_GCP_PROJECT` (default `token-store-test`).
#![allow(dead_code)] // each test target uses a different part

use std::sync::Arc;

use google_cloud_secretmanager_v1::client::SecretManagerService;
use token_store_core::SecretBackend;
use token_store_core::testkit::{BackendHarness, BoxFuture};
use token_store_gcp::{GcpBackend, GcpSecretManagerStore};

/// Which emulator the run talks to; each differs from the real service in its own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emulator {
    Drongo,
    Gsm,
    Blackwell,
}

impl Emulator {
    /// Whether DestroySecretVersion exists (gsm has no `:destroy` route).
    pub fn destroys_versions(self) -> bool {
        self != Self::Gsm
    }
}

pub struct GcpHarness {
    pub endpoint: String,
    pub project: String,
    pub emulator: Emulator,
}

pub fn harness() -> GcpHarness {
    let endpoint = std::env::var("TOKEN_STORE_GCP_ENDPOINT")
        .ok()
        .filter(|e| !e.is_empty())
        .expect("TOKEN_STORE_GCP_ENDPOINT must name the emulator (run scripts/test-gcp.sh)");
    let emulator = match std::env::var("TOKEN_STORE_GCP_EMULATOR").as_deref() {
        Ok("drongo") => Emulator::Drongo,
        Ok("gsm") => Emulator::Gsm,
        Ok("blackwell") => Emulator::Blackwell,
        other => panic!("TOKEN_STORE_GCP_EMULATOR must be drongo, gsm or blackwell, not {other:?}"),
    };
    let project =
        std::env::var("TOKEN_STORE_GCP_PROJECT").unwrap_or_else(|_| "token-store-test".into());
    GcpHarness {
        endpoint,
        project,
        emulator,
    }
}

impl GcpHarness {
    /// The secret-id prefix of a test namespace.
    pub fn prefix(namespace: &str) -> String {
        format!("ts-{namespace}-")
    }

    /// A backend over `namespace` (pagination is exercised by `list_reads_every_page`).
    pub async fn gcp_backend(&self, namespace: &str) -> GcpBackend {
        GcpSecretManagerStore::builder()
            .project(&self.project)
            .prefix(Self::prefix(namespace))
            .endpoint(&self.endpoint)
            .anonymous()
            .label("suite", "conformance")
            .page_size(1000)
            .build_backend()
            .await
            .unwrap_or_else(|e| panic!("GCP backend for {}: {e}", self.endpoint))
    }

    /// A raw client for back-door reads.
    pub async fn raw_client(&self) -> SecretManagerService {
        SecretManagerService::builder()
            .with_endpoint(&self.endpoint)
            .with_credentials(google_cloud_auth::credentials::anonymous::Builder::new().build())
            .build()
            .await
            .expect("raw Secret Manager client")
    }
}

impl BackendHarness for GcpHarness {
    fn backend<'a>(&'a self, namespace: &'a str) -> BoxFuture<'a, Arc<dyn SecretBackend>> {
        Box::pin(
            async move { Arc::new(self.gcp_backend(namespace).await) as Arc<dyn SecretBackend> },
        )
    }

    fn gated(&self) -> Vec<(&'static str, &'static str)> {
        Vec::new()
    }
}
