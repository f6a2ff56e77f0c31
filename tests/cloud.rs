//! The conformance and engine (behaviour) suites against a real secret service, reached by
//! the store URL a Terraform environment outputs (`terraform/`, `scripts/test-cloud.sh`).
//!
//! Not run by `cargo test` (the target has `test = false`): `scripts/test-cloud.sh` runs it
//! with `TOKEN_STORE_CLOUD_URL` set. Every case works in its own fresh namespace *under* the
//! URL's prefix (`<prefix><namespace>/` on AWS, `<prefix><namespace>-` on GCP and Azure), so
//! a run touches no secret outside that prefix, and a URL without a prefix is refused.

use std::sync::Arc;

use token_store_core::SecretBackend;
use token_store_core::testkit::{BackendHarness, BoxFuture};

/// The store URL under test, with its prefix checked: panics (fails the case) otherwise.
fn cloud_url() -> String {
    let url = std::env::var("TOKEN_STORE_CLOUD_URL").unwrap_or_default();
    if let Err(why) = check_prefix(&url) {
        panic!("TOKEN_STORE_CLOUD_URL refused: {why} (run scripts/test-cloud.sh)");
    }
    url
}

/// Splits a store URL into (scheme, the part up to and including the prefix, query).
fn split(url: &str) -> Result<(&str, &str, &str), String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or("not a store URL (scheme://…)")?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    Ok((scheme, path, query))
}

/// The prefix a URL names, which must be explicit and non-empty.
fn check_prefix(url: &str) -> Result<String, String> {
    let (scheme, path, _) = split(url)?;
    let prefix = match scheme {
        "aws-secretsmanager" => path.to_string(),
        "gcp-secretmanager" | "azure-keyvault" => path
            .split_once('/')
            .map(|(_, p)| p.to_string())
            .unwrap_or_default(),
        other => return Err(format!("scheme {other:?} is not a cloud secret store")),
    };
    if prefix.is_empty() {
        return Err("the URL names no prefix, so a run could touch secrets it does not own".into());
    }
    Ok(prefix)
}

/// `url` with `namespace` appended to its prefix, spelled by the service's name rules.
fn namespaced(url: &str, namespace: &str) -> String {
    let (scheme, path, query) = split(url).expect("checked URL");
    let separator = if scheme == "aws-secretsmanager" {
        "/"
    } else {
        "-"
    };
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    format!("{scheme}://{path}{namespace}{separator}{query}")
}

/// Backends over namespaces under the URL's prefix.
struct CloudHarness;

impl BackendHarness for CloudHarness {
    fn backend<'a>(&'a self, namespace: &'a str) -> BoxFuture<'a, Arc<dyn SecretBackend>> {
        Box::pin(async move {
            let url = namespaced(&cloud_url(), namespace);
            open_backend(&url)
                .await
                .unwrap_or_else(|e| panic!("backend for the cloud URL: {e}"))
        })
    }
}

async fn open_backend(url: &str) -> token_store::Result<Arc<dyn SecretBackend>> {
    let scheme = url.split_once("://").map(|(s, _)| s).unwrap_or_default();
    match scheme {
        #[cfg(feature = "aws")]
        "aws-secretsmanager" => Ok(Arc::new(
            token_store::aws::AwsSecretsManagerStoreBuilder::from_url(url)?
                .build_backend()
                .await?,
        )),
        #[cfg(feature = "gcp")]
        "gcp-secretmanager" => Ok(Arc::new(
            token_store::gcp::GcpSecretManagerStoreBuilder::from_url(url)?
                .build_backend()
                .await?,
        )),
        #[cfg(feature = "azure")]
        "azure-keyvault" => Ok(Arc::new(
            token_store::azure::AzureKeyVaultStoreBuilder::from_url(url)?.build_backend()?,
        )),
        other => panic!("{other}: build this test with the matching feature (aws, gcp, azure)"),
    }
}

token_store_core::engine_conformance_tests!(CloudHarness);

/// Deletes every secret the suites left under the URL's prefix, then asserts none is left.
/// Run alone, after the suites (`scripts/test-cloud.sh` does), never beside them: it refuses
/// unless `TOKEN_STORE_CLOUD_SWEEP=1`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweep_prefix() {
    assert_eq!(
        std::env::var("TOKEN_STORE_CLOUD_SWEEP").as_deref(),
        Ok("1"),
        "sweep_prefix deletes under the URL's prefix: run it only through scripts/test-cloud.sh"
    );
    let backend = open_backend(&cloud_url())
        .await
        .expect("backend at the URL's prefix");
    let left = backend.list("").await.expect("list the prefix");
    for name in &left {
        backend
            .delete(name)
            .await
            .expect("delete a leftover secret");
    }
    let after = backend.list("").await.expect("list the prefix again");
    println!(
        "sweep: {} secret(s) deleted under the prefix, {} left",
        left.len(),
        after.len()
    );
    assert!(after.is_empty(), "left under the prefix: {after:?}");
}

#[test]
fn urls_without_a_prefix_are_refused() {
    for url in [
        "",
        "aws-secretsmanager://",
        "aws-secretsmanager://?region=eu-west-1",
        "gcp-secretmanager://my-project",
        "gcp-secretmanager://my-project/",
        "azure-keyvault://v.vault.azure.net/?delete=soft",
        "memory://x",
    ] {
        assert!(check_prefix(url).is_err(), "{url:?} was accepted");
    }
    assert_eq!(
        check_prefix("aws-secretsmanager://apps/crm/?region=eu-west-1").unwrap(),
        "apps/crm/"
    );
    assert_eq!(check_prefix("gcp-secretmanager://p/crm_").unwrap(), "crm_");
}

#[test]
fn namespaces_stay_under_the_prefix() {
    assert_eq!(
        namespaced("aws-secretsmanager://apps/crm/?region=us-east-1", "t1"),
        "aws-secretsmanager://apps/crm/t1/?region=us-east-1"
    );
    assert_eq!(
        namespaced("gcp-secretmanager://p/crm_", "t1"),
        "gcp-secretmanager://p/crm_t1-"
    );
    assert_eq!(
        namespaced("azure-keyvault://v.vault.azure.net/crm-?delete=soft", "t1"),
        "azure-keyvault://v.vault.azure.net/crm-t1-?delete=soft"
    );
}
