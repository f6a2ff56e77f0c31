//! The Azure backend against recorded real Key Vault traffic (no service needed).
//!
//! Each test builds a backend whose HTTP transport is a [`ReplayTransport`]: every request
//! the backend sends must match the next recorded request (method, path, query other than
//! `api-version`, body), and gets the recorded response bytes of the real service. The test
//! then checks what the backend made of them. Recordings: see [`recording`]; the challenge
//! resource check stays on (the recorded vaults are real `*.vault.azure.net` hosts).
//!
//! Differences between this backend's requests and the recorded Python client's, allowed
//! by name here and listed in `emulators/azure/NOTES.md`:
//! - SetSecret bodies also carry `tags` (`managed-by=token-store`) and `contentType`;
//! - `api-version` is the client's (2025-07-01), the recordings' is 7.0.

mod recording;
mod transport;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use azure_core::http::{ClientOptions, Transport};
use azure_core::time::{Duration, OffsetDateTime};
use recording::{Interaction, Recording};
use serde_json::{Value, json};
use token_store_azure::{AzureBackend, AzureKeyVaultStore, DeleteMode};
use token_store_core::raw::MergeLog as _;
use token_store_core::{ErrorKind, SecretBackend};
use transport::{ReplayTransport, Step};

/// The bearer token the test credential hands out.
pub const TOKEN: &str = "replay-token";
/// The scope Key Vault's recorded challenge (`resource="https://vault.azure.net"`) asks for.
const SCOPE: &str = "https://vault.azure.net/.default";

/// Hands out [`TOKEN`] (or fails, when `fail`), remembering the scopes asked for.
#[derive(Debug, Default)]
struct TestCredential {
    scopes: Mutex<Vec<String>>,
    fail: bool,
}

#[async_trait::async_trait]
impl TokenCredential for TestCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        _: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        self.scopes
            .lock()
            .unwrap()
            .extend(scopes.iter().map(|s| s.to_string()));
        if self.fail {
            return Err(azure_core::Error::with_message(
                azure_core::error::ErrorKind::Credential,
                "no login",
            ));
        }
        Ok(AccessToken::new(
            TOKEN,
            OffsetDateTime::now_utc() + Duration::hours(1),
        ))
    }
}

/// A recorded interaction as a step, checked as recorded.
fn step(rec: &Recording, index: usize) -> Step {
    Step {
        interaction: rec.at(index),
        source: format!("{}#{index}", rec.name),
        added_body: BTreeMap::new(),
    }
}

/// A recorded SetSecret: the backend's body adds its tag and content type.
fn set_step(rec: &Recording, index: usize) -> Step {
    let mut step = step(rec, index);
    step.added_body = set_body_additions();
    step
}

/// What this backend adds to every SetSecret body the recorded client sent.
fn set_body_additions() -> BTreeMap<String, Value> {
    BTreeMap::from([
        ("tags".to_owned(), json!({"managed-by": "token-store"})),
        ("contentType".to_owned(), json!("application/json")),
    ])
}

/// The recorded 401 bearer challenge (interaction `index`), answering the unauthenticated
/// first send of `next` (the Key Vault SDKs send it without token and body).
fn challenge(rec: &Recording, index: usize, next: &Interaction) -> Step {
    let mut interaction = rec.at(index);
    assert_eq!(
        interaction.status, 401,
        "{}#{index} is a challenge",
        rec.name
    );
    interaction.method = next.method.clone();
    interaction.uri = next.uri.clone();
    Step {
        interaction,
        source: format!("{}#{index} (challenge)", rec.name),
        added_body: BTreeMap::new(),
    }
}

/// A step whose request is `method uri` and whose answer is the recorded `answer`.
fn answered_by(method: &str, uri: &str, answer: Interaction, source: String) -> Step {
    Step {
        interaction: Interaction {
            method: method.to_owned(),
            uri: url::Url::parse(uri).unwrap(),
            request_body: None,
            ..answer
        },
        source,
        added_body: BTreeMap::new(),
    }
}

struct Replay {
    backend: AzureBackend,
    transport: Arc<ReplayTransport>,
    credential: Arc<TestCredential>,
}

impl Replay {
    async fn new(vault: &str, prefix: &str, steps: Vec<Step>) -> Self {
        Self::with(vault, prefix, steps, |b| b).await
    }

    async fn with(
        vault: &str,
        prefix: &str,
        steps: Vec<Step>,
        configure: impl FnOnce(
            token_store_azure::AzureKeyVaultStoreBuilder,
        ) -> token_store_azure::AzureKeyVaultStoreBuilder,
    ) -> Self {
        let transport = Arc::new(ReplayTransport::new(steps));
        let credential = Arc::new(TestCredential::default());
        let builder = AzureKeyVaultStore::builder()
            .vault_url(vault)
            .prefix(prefix)
            .credential(credential.clone())
            .client_options(ClientOptions {
                transport: Some(Transport::new(transport.clone())),
                ..Default::default()
            });
        let backend = configure(builder).build_backend().await.expect("backend");
        Self {
            backend,
            transport,
            credential,
        }
    }

    /// Every recorded step was requested, and tokens were asked for Key Vault's scope.
    fn finish(&self) {
        assert_eq!(
            self.transport.remaining(),
            Vec::<String>::new(),
            "unrequested steps"
        );
        let scopes = self.credential.scopes.lock().unwrap();
        assert!(scopes.iter().all(|s| s == SCOPE), "{scopes:?}");
    }

    fn calls(&self) -> BTreeMap<String, u64> {
        self.backend.calls().counts()
    }
}

const CRUD: &str = "test_secrets_client.test_secret_crud_operations";
const PURGE: &str = "test_secrets_client.test_purge";
const RECOVER: &str = "test_secrets_client.test_recover";
const VERSIONS: &str = "test_secrets_client.test_list_versions";
const LIST: &str = "test_secrets_client.test_secret_list";
const LIST_SAMPLE: &str = "test_samples_secrets_async.test_example_secret_list_operations";

#[tokio::test]
async fn set_after_the_bearer_challenge() {
    let rec = Recording::load(CRUD);
    let set = rec.at(1);
    let replay = Replay::new(
        &set.vault(),
        "crud-",
        vec![challenge(&rec, 0, &set), set_step(&rec, 1)],
    )
    .await;
    let version = replay
        .backend
        .put("secret", "crud_secret_valued267137a")
        .await
        .expect("set");
    assert_eq!(version, set.version());
    assert_eq!(replay.credential.scopes.lock().unwrap().len(), 1);
    replay.finish();
}

#[tokio::test]
async fn get_latest_parses_value_and_version() {
    let rec = Recording::load(CRUD);
    let get = rec.at(3);
    let replay = Replay::new(
        &get.vault(),
        "crud-",
        vec![challenge(&rec, 0, &get), step(&rec, 3)],
    )
    .await;
    let read = replay.backend.get("secret").await.unwrap().expect("found");
    assert_eq!(read.value, "crud_secret_valued267137a");
    assert_eq!(read.version, "3e81a677070d4ad8bb8085248d01ca8b");
    replay.finish();
}

#[tokio::test]
async fn secret_not_found_reads_as_none() {
    let rec = Recording::load(RECOVER);
    let get = rec.at(44);
    assert_eq!(get.status, 404);
    let replay = Replay::new(
        &get.vault(),
        "secret",
        vec![challenge(&rec, 0, &get), step(&rec, 44)],
    )
    .await;
    assert!(replay.backend.get("0").await.unwrap().is_none());
    replay.finish();
}

#[tokio::test]
async fn a_failed_token_after_the_challenge_is_unauthenticated() {
    let rec = Recording::load(CRUD);
    let get = rec.at(3);
    let transport = Arc::new(ReplayTransport::new(vec![challenge(&rec, 0, &get)]));
    let credential = Arc::new(TestCredential {
        fail: true,
        ..Default::default()
    });
    let backend = AzureKeyVaultStore::builder()
        .vault_url(get.vault())
        .prefix("crud-")
        .credential(credential.clone())
        .client_options(ClientOptions {
            transport: Some(Transport::new(transport.clone())),
            ..Default::default()
        })
        .build_backend()
        .await
        .unwrap();
    let e = backend.get("secret").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");
    assert_eq!(*credential.scopes.lock().unwrap(), [SCOPE]);
    assert!(transport.remaining().is_empty());
}

/// Versions listed in pages of 2 through three recorded next links, then each read by
/// version. The recording read no version after listing; each GET by version is answered
/// with the bytes the service returned when that version was set (the same secret bundle).
#[tokio::test]
async fn versions_after_pages_through_next_links_and_reads_each_version() {
    let rec = Recording::load(VERSIONS);
    let first_page = rec.at(8);
    let mut steps = vec![challenge(&rec, 0, &first_page), step(&rec, 8)];
    steps.extend((9..=11).map(|i| step(&rec, i)));
    let mut sets: Vec<(String, usize)> = (1..=7).map(|i| (rec.at(i).version(), i)).collect();
    sets.sort();
    let base = first_page.uri.as_str().split("/versions").next().unwrap();
    for (version, index) in &sets {
        steps.push(answered_by(
            "GET",
            &format!("{base}/{version}?api-version=7.0"),
            rec.at(*index),
            format!("{}#{index} (the set of {version})", rec.name),
        ));
    }
    let replay = Replay::with(&first_page.vault(), "secver", steps, |b| b.page_size(2)).await;
    let read = replay
        .backend
        .versions_after("33a90fd8", None)
        .await
        .unwrap();
    let versions: Vec<&str> = read.iter().map(|v| v.version.as_str()).collect();
    let expected: Vec<&str> = sets.iter().map(|(v, _)| v.as_str()).collect();
    assert_eq!(versions, expected, "same-second versions, ordered by id");
    assert!(read.iter().all(|v| v.value == "secVal33a90fd8"));
    assert_eq!(
        replay.calls(),
        ops([("GetSecretVersion", 7), ("GetSecretVersions", 4)])
    );
    replay.finish();
}

#[tokio::test]
async fn versions_of_a_missing_secret_are_an_empty_page() {
    let rec = Recording::load(LIST_SAMPLE);
    let page = rec.at(9);
    let replay = Replay::new(
        &page.vault(),
        "secret-",
        vec![challenge(&rec, 0, &page), step(&rec, 9)],
    )
    .await;
    assert!(
        replay
            .backend
            .versions_after("name", None)
            .await
            .unwrap()
            .is_empty()
    );
    replay.finish();
}

#[tokio::test]
async fn list_reads_the_names_of_a_page() {
    let rec = Recording::load(LIST);
    let page = rec.at(8);
    let replay = Replay::with(
        &page.vault(),
        "sec",
        vec![challenge(&rec, 0, &page), step(&rec, 8)],
        |b| b.page_size(7),
    )
    .await;
    let names = replay.backend.list("").await.unwrap();
    assert_eq!(names, ["0", "1", "2", "3", "4", "5", "6"]);
    replay.finish();
}

/// DeleteSecret, then PurgeDeletedSecret (204). The recording polled
/// `GET /deletedsecrets/secret0` (404 five times, then 200) between the two; the backend
/// purges without polling, so its purge may meet the deletion still in progress (see
/// `emulators/azure/NOTES.md`).
#[tokio::test]
async fn delete_then_purge() {
    let rec = Recording::load(PURGE);
    let delete = rec.at(8);
    let replay = Replay::new(
        &delete.vault(),
        "secret",
        vec![challenge(&rec, 0, &delete), step(&rec, 8), step(&rec, 51)],
    )
    .await;
    replay.backend.delete("0").await.expect("delete + purge");
    assert_eq!(
        replay.calls(),
        ops([("DeleteSecret", 1), ("PurgeDeletedSecret", 1)])
    );
    replay.finish();
}

/// The documented 409 for a name held by a deleted secret (Azure SDK for .NET sample
/// "Sample4_ErrorResponse"; no 409 is recorded), answered to a SetSecret.
fn documented_conflict(set: &Interaction) -> Step {
    let name = set.uri.path().rsplit('/').next().unwrap();
    let body = json!({"error": {
        "code": "Conflict",
        "message": format!("Secret {name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged."),
        "innererror": {"code": "ObjectIsDeletedButRecoverable"}}});
    let mut interaction = set.clone();
    interaction.status = 409;
    interaction.body = body.to_string();
    interaction.headers = BTreeMap::from([(
        "content-type".to_owned(),
        "application/json; charset=utf-8".to_owned(),
    )]);
    Step {
        interaction,
        source: "documented 409 ObjectIsDeletedButRecoverable".to_owned(),
        added_body: set_body_additions(),
    }
}

#[tokio::test]
async fn a_write_over_a_deleted_name_purges_and_retries() {
    let rec = Recording::load(PURGE);
    let set = rec.at(1);
    let replay = Replay::new(
        &set.vault(),
        "secret",
        vec![
            challenge(&rec, 0, &set),
            documented_conflict(&set),
            step(&rec, 51),
            set_step(&rec, 1),
        ],
    )
    .await;
    let version = replay.backend.put("0", "value0").await.expect("put");
    assert_eq!(version, set.version());
    assert_eq!(
        replay.calls(),
        ops([("PurgeDeletedSecret", 1), ("SetSecret", 2)])
    );
    replay.finish();
}

/// Soft-delete mode: the 409 makes the backend read the deleted secret (recorded 200),
/// recover it (recorded 200; recovery then completes asynchronously) and write again.
#[tokio::test]
async fn soft_delete_mode_recovers_then_writes() {
    let purge = Recording::load(PURGE);
    let recover = Recording::load(RECOVER);
    let set = purge.at(1);
    let replay = Replay::with(
        &set.vault(),
        "secret",
        vec![
            challenge(&purge, 0, &set),
            documented_conflict(&set),
            step(&purge, 14),
            step(&recover, 43),
            set_step(&purge, 1),
        ],
        |b| b.delete_mode(DeleteMode::SoftDelete),
    )
    .await;
    replay.backend.put("0", "value0").await.expect("put");
    assert_eq!(
        replay.calls(),
        ops([
            ("GetDeletedSecret", 1),
            ("RecoverDeletedSecret", 1),
            ("SetSecret", 2)
        ])
    );
    replay.finish();
}

/// While a delete is in progress the service answers `GET /deletedsecrets/{name}` 404
/// (recorded): in soft-delete mode that reads as "nothing to recover", and the write is
/// retried.
#[tokio::test]
async fn a_deletion_in_progress_is_retried() {
    let purge = Recording::load(PURGE);
    let set = purge.at(1);
    let replay = Replay::with(
        &set.vault(),
        "secret",
        vec![
            challenge(&purge, 0, &set),
            documented_conflict(&set),
            step(&purge, 9),
            set_step(&purge, 1),
        ],
        |b| b.delete_mode(DeleteMode::SoftDelete),
    )
    .await;
    replay.backend.put("0", "value0").await.expect("put");
    assert_eq!(
        replay.calls(),
        ops([("GetDeletedSecret", 1), ("SetSecret", 2)])
    );
    replay.finish();
}

/// Expected service calls, by operation.
fn ops<const N: usize>(pairs: [(&str, u64); N]) -> BTreeMap<String, u64> {
    pairs
        .into_iter()
        .map(|(op, n)| (op.to_owned(), n))
        .collect()
}
