//! The default credential chain used when no credential is configured.
//!
//! The Rust `azure_identity` 1.x has no `DefaultAzureCredential`; this picks one of its
//! credentials from the environment, in the order the other Azure SDKs try them:
//!
//! 1. `AZURE_TENANT_ID` + `AZURE_CLIENT_ID` + `AZURE_CLIENT_SECRET`: a service principal
//!    ([`ClientSecretCredential`]);
//! 2. `AZURE_FEDERATED_TOKEN_FILE` (AKS workload identity): [`WorkloadIdentityCredential`];
//! 3. `IDENTITY_ENDPOINT` or `MSI_ENDPOINT` (App Service, Functions, Container Apps, Arc), or
//!    `AZURE_TOKEN_CREDENTIALS=ManagedIdentityCredential` (VMs): [`ManagedIdentityCredential`];
//! 4. otherwise the developer tools (`az` / `azd` login): [`DeveloperToolsCredential`].

use std::sync::Arc;

use azure_core::credentials::{Secret, TokenCredential};
use azure_identity::{
    ClientSecretCredential, DeveloperToolsCredential, ManagedIdentityCredential,
    WorkloadIdentityCredential,
};
use token_store_core::raw::env_var as var;
use token_store_core::{Error, ErrorKind, Result};

/// The credential the environment describes (see the module docs for the order).
pub(crate) fn default_credential() -> Result<Arc<dyn TokenCredential>> {
    let built: azure_core::Result<Arc<dyn TokenCredential>> =
        if let (Some(tenant), Some(client), Some(secret)) = (
            var("AZURE_TENANT_ID"),
            var("AZURE_CLIENT_ID"),
            var("AZURE_CLIENT_SECRET"),
        ) {
            ClientSecretCredential::new(&tenant, client, Secret::new(secret), None)
                .map(|c| c as Arc<dyn TokenCredential>)
        } else if var("AZURE_FEDERATED_TOKEN_FILE").is_some() {
            WorkloadIdentityCredential::new(None).map(|c| c as Arc<dyn TokenCredential>)
        } else if var("IDENTITY_ENDPOINT").is_some()
            || var("MSI_ENDPOINT").is_some()
            || var("AZURE_TOKEN_CREDENTIALS").as_deref() == Some("ManagedIdentityCredential")
        {
            ManagedIdentityCredential::new(None).map(|c| c as Arc<dyn TokenCredential>)
        } else {
            DeveloperToolsCredential::new(None).map(|c| c as Arc<dyn TokenCredential>)
        };
    built.map_err(|e| {
        Error::new(
            ErrorKind::ConfigInvalid,
            "no Azure credential could be built from the environment",
        )
        .with_backend("azure")
        .with_source(e)
    })
}
