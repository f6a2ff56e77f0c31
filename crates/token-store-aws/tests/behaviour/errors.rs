//! Error mapping against the emulator: limits checked before any call, not found, exists,
//! lost compare-and-swap, names scheduled for deletion, an unreachable endpoint.

use token_store_aws::{AwsBackend, AwsSecretsManagerStore, MAX_VALUE_BYTES};
use token_store_core::testkit::random_namespace;
use token_store_core::{ErrorKind, SecretBackend, Token, TokenStore};

use crate::common::{backend, builder, fresh_store, gated};
use token_store_core::raw::CompareAndSwap as _;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_large_values_fail_before_any_call() {
    let backend = backend(&random_namespace()).await;
    let big = "x".repeat(MAX_VALUE_BYTES + 1);
    for err in [
        backend.create("token-1", &big).await.unwrap_err(),
        backend.put("token-1", &big).await.unwrap_err(),
        backend
            .put_if_current("index", &big, Some("v"))
            .await
            .unwrap_err(),
        backend
            .put_if_current("index", &big, None)
            .await
            .unwrap_err(),
    ] {
        assert_eq!(err.kind(), ErrorKind::TooLarge, "{err}");
        assert!(!err.to_string().contains("xxxx"), "no value in the message");
    }
    assert_eq!(
        backend.put("token-1", "").await.unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        backend.get("Not/Relative").await.unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        backend.calls().total(),
        0,
        "no request was sent: {:?}",
        backend.calls().counts()
    );
    // Exactly at the limit is accepted by the service.
    let exact = "y".repeat(MAX_VALUE_BYTES);
    backend.create("token-2", &exact).await.unwrap();
    assert_eq!(
        backend.get("token-2").await.unwrap().unwrap().value.len(),
        MAX_VALUE_BYTES
    );
    backend.delete("token-2").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_large_token_writes_nothing() {
    let (store, _) = fresh_store().await;
    let filler = "z".repeat(15 * 1024);
    let token = Token::builder()
        .user_name("big@example.com")
        .client_id(filler.clone())
        .client_secret(filler.clone())
        .access_token(filler.clone())
        .refresh_token(filler.clone())
        .redirect_url(filler)
        .build();
    let err = store.save_token(&token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TooLarge, "{err}");
    let counts = store.calls().counts();
    for write in ["CreateSecret", "PutSecretValue", "UpdateSecretVersionStage"] {
        assert!(
            !counts.contains_key(write),
            "{write} sent for a token over the limit: {counts:?}"
        );
    }
    assert!(store.get_tokens().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_existing_and_stale_versions_map_to_kinds() {
    let backend = backend(&random_namespace()).await;
    assert_eq!(
        backend.get("token-9").await.unwrap(),
        None,
        "missing is None"
    );
    backend
        .delete("token-9")
        .await
        .expect("deleting a missing secret succeeds");
    assert_eq!(
        backend
            .get_many(&["token-8".into(), "token-9".into()])
            .await
            .unwrap(),
        vec![None, None]
    );

    let first = backend.create("token-1", "one").await.unwrap();
    let err = backend.create("token-1", "again").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
    assert_eq!(
        backend.get("token-1").await.unwrap().unwrap().value,
        "one",
        "create left it untouched"
    );

    // put = PutSecretValue, or CreateSecret when missing.
    backend.put("token-3", "three").await.unwrap();
    let second = backend.put("token-1", "uno").await.unwrap();
    assert_ne!(first, second);

    // Compare-and-swap on the index.
    let v1 = backend
        .put_if_current("index", "{\"v\":1}", None)
        .await
        .unwrap();
    let err = backend
        .put_if_current("index", "{\"v\":0}", None)
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::Conflict,
        "create-if-absent on an existing index: {err}"
    );
    assert!(err.is_retryable());
    let v2 = backend
        .put_if_current("index", "{\"v\":2}", Some(&v1))
        .await
        .unwrap();
    let err = backend
        .put_if_current("index", "{\"v\":3}", Some(&v1))
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::Conflict,
        "stale expected version: {err}"
    );
    let current = backend.get("index").await.unwrap().unwrap();
    assert_eq!(
        (current.value.as_str(), current.version.as_str()),
        ("{\"v\":2}", v2.as_str()),
        "the loser changed nothing"
    );
    let err = backend
        .put_if_current("token-7", "x", Some(&v1))
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::Conflict,
        "CAS on a missing secret: {err}"
    );

    let got = backend
        .get_many(&["token-1".into(), "token-2".into(), "token-3".into()])
        .await
        .unwrap();
    let values: Vec<_> = got
        .iter()
        .map(|v| v.as_ref().map(|v| v.value.as_str()))
        .collect();
    assert_eq!(values, vec![Some("uno"), None, Some("three")]);
    assert_eq!(
        backend.list("token-").await.unwrap(),
        vec!["token-1", "token-3"]
    );
    assert_eq!(
        backend.list("").await.unwrap(),
        vec!["index", "token-1", "token-3"]
    );
    let too_many: Vec<String> = (0..21).map(|i| format!("token-{i}")).collect();
    assert_eq!(
        backend.get_many(&too_many).await.unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    for name in ["index", "token-1", "token-3"] {
        backend.delete(name).await.unwrap();
    }
    assert!(backend.list("").await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_window_deletes_read_as_absent() {
    let namespace = random_namespace();
    let backend = token_1_scheduled_for_deletion(&namespace).await;
    assert_eq!(
        backend.get("token-1").await.unwrap(),
        None,
        "scheduled for deletion reads as absent"
    );
    assert!(
        backend.list("token-").await.unwrap().is_empty(),
        "and is not listed"
    );
    assert_eq!(
        backend.get_many(&["token-1".into()]).await.unwrap(),
        vec![None]
    );
    backend
        .delete("token-1")
        .await
        .expect("deleting twice succeeds");
    purge_token_1(&namespace).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_restores_a_name_scheduled_for_deletion() {
    if gated("put_restores_a_name_scheduled_for_deletion") {
        return;
    }
    let namespace = random_namespace();
    let backend = token_1_scheduled_for_deletion(&namespace).await;
    backend.put("token-1", "restored").await.unwrap();
    assert_eq!(
        backend.get("token-1").await.unwrap().unwrap().value,
        "restored"
    );
    assert_eq!(backend.calls().counts().get("RestoreSecret"), Some(&1));
    purge_token_1(&namespace).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_on_name_scheduled_for_deletion_is_a_conflict() {
    if gated("create_on_name_scheduled_for_deletion_is_a_conflict") {
        return;
    }
    let namespace = random_namespace();
    let backend = token_1_scheduled_for_deletion(&namespace).await;
    let err = backend.create("token-1", "two").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert!(
        !err.is_retryable(),
        "a recovery window does not pass by retrying"
    );
    assert!(err.to_string().contains("scheduled for deletion"), "{err}");
    assert_eq!(
        backend.calls().counts().get("CreateSecret"),
        Some(&2),
        "no retry loop"
    );
    purge_token_1(&namespace).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_endpoint_is_unavailable() {
    let store = AwsSecretsManagerStore::builder()
        .client(crate::common::sdk_client())
        .endpoint("http://127.0.0.1:9")
        .build()
        .await
        .unwrap();
    let err = store
        .find_token(&Token::builder().user_name("u").build())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(err.is_retryable());
    assert_eq!(err.backend(), "aws");
    assert_eq!(
        err.operation(),
        "GetSecretValue",
        "the innermost operation is kept"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_url_and_from_env_reach_the_emulator() {
    assert!(
        std::env::var("AWS_ACCESS_KEY_ID").is_ok(),
        "AWS_ACCESS_KEY_ID must be set for this test (scripts/test-aws.sh sets test credentials)"
    );
    let namespace = random_namespace();
    let url = format!(
        "aws-secretsmanager://token-store-test/{namespace}/?region=us-east-1&endpoint={}",
        crate::common::endpoint()
    );
    let store = AwsSecretsManagerStore::from_url(&url).await.unwrap();
    let saved = store
        .save_token(
            &Token::builder()
                .user_name("url@example.com")
                .access_token("a")
                .build(),
        )
        .await
        .unwrap();
    assert_eq!(saved.id.as_deref(), Some("1"));
    // from_env: AWS_ENDPOINT_URL, AWS_REGION and TOKEN_STORE_AWS_PREFIX come from the environment.
    let env_store = AwsSecretsManagerStore::from_env().await.unwrap();
    let found = AwsSecretsManagerStore::from_url(&url)
        .await
        .unwrap()
        .find_token(&Token::builder().user_name("url@example.com").build())
        .await
        .unwrap();
    assert_eq!(found.and_then(|t| t.id).as_deref(), Some("1"));
    env_store
        .save_token(
            &Token::builder()
                .user_name("env@example.com")
                .access_token("e")
                .build(),
        )
        .await
        .unwrap();
    assert!(
        env_store
            .find_token(&Token::builder().user_name("env@example.com").build())
            .await
            .unwrap()
            .is_some()
    );
    env_store.delete_tokens().await.unwrap();
    store.delete_tokens().await.unwrap();
}

/// A backend with a 7-day recovery window whose `token-1` was created and then deleted, so
/// the name is scheduled for deletion.
async fn token_1_scheduled_for_deletion(namespace: &str) -> AwsBackend {
    let backend = builder(namespace)
        .recovery_window_days(7)
        .build_backend()
        .await
        .unwrap();
    backend.create("token-1", "one").await.unwrap();
    backend.delete("token-1").await.unwrap();
    backend
}

/// Force-delete `token-1` so the emulator is left clean.
async fn purge_token_1(namespace: &str) {
    crate::common::backend(namespace)
        .await
        .delete("token-1")
        .await
        .unwrap();
}
