//! Reaching the emulator named by the environment (scripts/test-aws.sh sets it).
//!
//! `TOKEN_STORE_AWS_ENDPOINT` (e.g. `http://127.0.0.1:4566`) is required: without it, or when
//! nothing answers there, every test fails. `TOKEN_STORE_AWS_TARGET` (`localstack` or `moto`)
//! names the emulator so that its documented differences can be gated by case name.
#![allow(dead_code)] // each test target uses a different part

use std::sync::Arc;

use token_store_aws::aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};
use token_store_aws::aws_sdk_secretsmanager::{Client, Config};
use token_store_aws::{AwsBackend, AwsSecretsManagerStore, AwsSecretsManagerStoreBuilder};
use token_store_core::SecretBackend;
use token_store_core::testkit::{BackendHarness, BoxFuture, random_namespace};

/// The emulator under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    LocalStack,
    Moto,
}

pub fn endpoint() -> String {
    std::env::var("TOKEN_STORE_AWS_ENDPOINT").unwrap_or_else(|_| {
        panic!("TOKEN_STORE_AWS_ENDPOINT is not set: run scripts/test-aws.sh (it starts LocalStack and moto)")
    })
}

pub fn target() -> Target {
    match std::env::var("TOKEN_STORE_AWS_TARGET").as_deref() {
        Ok("moto") => Target::Moto,
        Ok("localstack") | Err(_) => Target::LocalStack,
        Ok(other) => panic!("TOKEN_STORE_AWS_TARGET={other}: expected localstack or moto"),
    }
}

/// An SDK client for the emulator with static test credentials (never the default chain, so
/// no instance-metadata lookups).
pub fn sdk_client() -> Client {
    Client::from_conf(
        Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "static"))
            .endpoint_url(endpoint())
            .build(),
    )
}

/// The prefix of a test namespace.
pub fn prefix(namespace: &str) -> String {
    format!("token-store-test/{namespace}/")
}

pub fn builder(namespace: &str) -> AwsSecretsManagerStoreBuilder {
    AwsSecretsManagerStore::builder()
        .client(sdk_client())
        .prefix(prefix(namespace))
        .tag("test-run", "token-store-aws")
}

pub async fn backend(namespace: &str) -> AwsBackend {
    builder(namespace)
        .build_backend()
        .await
        .expect("AWS backend")
}

/// A store over a fresh namespace.
pub async fn fresh_store() -> (AwsSecretsManagerStore, String) {
    let namespace = random_namespace();
    let store = builder(&namespace).build().await.expect("AWS store");
    (store, namespace)
}

/// Print the gate and return true when `case` does not apply to this emulator.
pub fn gated(case: &str) -> bool {
    match AwsHarness.gated().iter().find(|(name, _)| *name == case) {
        Some((_, reason)) => {
            println!("GATED {case} on {:?}: {reason}", target());
            true
        }
        None => false,
    }
}

/// The conformance harness: the engine over [`AwsBackend`] in a per-case prefix.
pub struct AwsHarness;

/// The harness of the emulator the environment names.
pub fn harness() -> AwsHarness {
    AwsHarness
}

impl BackendHarness for AwsHarness {
    fn backend<'a>(&'a self, namespace: &'a str) -> BoxFuture<'a, Arc<dyn SecretBackend>> {
        Box::pin(async move { Arc::new(backend(namespace).await) as Arc<dyn SecretBackend> })
    }

    fn gated(&self) -> Vec<(&'static str, &'static str)> {
        const PUT_ON_DELETED: &str = "the emulator accepts PutSecretValue on a secret scheduled for \
             deletion and leaves it scheduled; AWS refuses with InvalidRequestException, which \
             is what makes put restore the secret";
        match target() {
            Target::LocalStack => {
                vec![("put_restores_a_name_scheduled_for_deletion", PUT_ON_DELETED)]
            }
            Target::Moto => vec![
                ("put_restores_a_name_scheduled_for_deletion", PUT_ON_DELETED),
                (
                    "create_on_name_scheduled_for_deletion_is_a_conflict",
                    "moto answers CreateSecret on a name scheduled for deletion with \
                     ResourceExistsException, real AWS (and LocalStack) with InvalidRequestException",
                ),
            ],
        }
    }
}
