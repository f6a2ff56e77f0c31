//! Reading what the store wrote with the SDK directly: token secrets hold the token JSON,
//! the index holds no plaintext, secrets carry the ownership tags, index versions are numbered
//! and carry no label but AWSCURRENT / AWSPREVIOUS.

use token_store_aws::{OWNER_TAG, PREFIX_TAG, VERSION_PREFIX};
use token_store_core::{Token, TokenStore};

use crate::common::{fresh_store, prefix, sdk_client};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_secrets_hold_json_and_the_index_no_plaintext() {
    let (store, namespace) = fresh_store().await;
    let token = Token::builder()
        .user_name("backdoor@example.com")
        .client_id("1000.BACKDOOR")
        .client_secret("backdoor-client-secret")
        .access_token("1000.backdoor.access")
        .refresh_token("1000.backdoor.refresh")
        .grant_token("1000.backdoor.grant")
        .redirect_url("https://example.com/cb")
        .expiry_time(1_764_000_000_123)
        .build();
    let saved = store.save_token(&token).await.unwrap();
    assert_eq!(saved.id.as_deref(), Some("1"));
    let mut second = token.clone();
    second.user_name = Some("backdoor2@example.com".into());
    second.access_token = Some("1000.backdoor.access2".into());
    second.refresh_token = Some("1000.backdoor.refresh2".into());
    second.grant_token = None;
    store.save_token(&second).await.unwrap();

    let client = sdk_client();
    let prefix = prefix(&namespace);
    let raw = client
        .get_secret_value()
        .secret_id(format!("{prefix}token/1"))
        .send()
        .await
        .expect("token secret readable with the SDK");
    let json: serde_json::Value =
        serde_json::from_str(raw.secret_string().expect("a string secret")).expect("token JSON");
    assert_eq!(json["id"], "1");
    assert_eq!(json["user_name"], "backdoor@example.com");
    assert_eq!(json["client_secret"], "backdoor-client-secret");
    assert_eq!(json["refresh_token"], "1000.backdoor.refresh");
    assert_eq!(json["access_token"], "1000.backdoor.access");
    assert_eq!(json["grant_token"], "1000.backdoor.grant");
    assert_eq!(json["expiry_time"], 1_764_000_000_123i64);
    println!(
        "raw token secret: {} bytes of JSON",
        raw.secret_string().unwrap().len()
    );

    let index = client
        .get_secret_value()
        .secret_id(format!("{prefix}index"))
        // Explicit, as the backend does: moto's default is the last PutSecretValue's version.
        .version_stage("AWSCURRENT")
        .send()
        .await
        .expect("index secret readable");
    let index_text = index.secret_string().expect("a string secret");
    serde_json::from_str::<serde_json::Value>(index_text).expect("the index is JSON");
    for plain in [
        "backdoor@example.com",
        "backdoor2@example.com",
        "1000.backdoor.access",
        "1000.backdoor.refresh",
        "1000.backdoor.grant",
        "backdoor-client-secret",
        "1000.BACKDOOR",
    ] {
        assert!(
            !index_text.contains(plain),
            "the index holds {plain:?} in plaintext"
        );
    }
    assert!(
        index.version_stages().iter().any(|s| s == "AWSCURRENT"),
        "the index read is AWSCURRENT"
    );

    // Two index commits: the second moved AWSCURRENT off the first version (now AWSPREVIOUS).
    let described = client
        .describe_secret()
        .secret_id(format!("{prefix}index"))
        .send()
        .await
        .expect("describe index");
    let stages = described.version_ids_to_stages().expect("version stages");
    let current: Vec<_> = stages
        .iter()
        .filter(|(_, labels)| labels.iter().any(|l| l == "AWSCURRENT"))
        .collect();
    assert_eq!(
        current.len(),
        1,
        "exactly one current index version: {stages:?}"
    );
    let (current_id, labels) = current[0];
    assert_eq!(current_id, index.version_id().unwrap());
    // Two index commits: CreateSecret wrote sequence 1, the compare-and-swap sequence 2.
    assert_eq!(current_id, &format!("{VERSION_PREFIX}00000000000000000002"));
    assert_eq!(labels, &["AWSCURRENT".to_string()]);
    let previous = format!("{VERSION_PREFIX}00000000000000000001");
    assert_eq!(
        stages.get(&previous).map(Vec::as_slice),
        Some(&["AWSPREVIOUS".to_string()][..]),
        "{stages:?}"
    );
    assert_eq!(stages.len(), 2, "no other labelled versions: {stages:?}");
    let tags = described.tags();
    let tag = |key: &str| {
        tags.iter()
            .find(|t| t.key() == Some(key))
            .and_then(|t| t.value())
    };
    assert_eq!(tag(OWNER_TAG), Some("token-store"));
    assert_eq!(tag(PREFIX_TAG), Some(prefix.as_str()));
    assert_eq!(tag("token-store:role"), Some("index"));
    assert_eq!(tag("test-run"), Some("token-store-aws"));

    let token_tags = client
        .describe_secret()
        .secret_id(format!("{prefix}token/1"))
        .send()
        .await
        .expect("describe token")
        .tags;
    assert!(
        token_tags
            .unwrap_or_default()
            .iter()
            .any(|t| t.key() == Some("token-store:role") && t.value() == Some("token"))
    );

    store.delete_tokens().await.unwrap();
    let gone = client
        .get_secret_value()
        .secret_id(format!("{prefix}token/1"))
        .send()
        .await;
    assert!(gone.is_err(), "force-deleted token secret is gone");
}
