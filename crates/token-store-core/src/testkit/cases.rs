//! The conformance cases every `TokenStore` must pass.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::{BoxFuture, Capabilities, StoreHarness, random_namespace};
use crate::{ErrorKind, Token, TokenStore};

/// What a case gets: the harness and its own fresh namespace.
pub(crate) struct Ctx<'a> {
    harness: &'a dyn StoreHarness,
    namespace: String,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(harness: &'a dyn StoreHarness) -> Self {
        Self {
            harness,
            namespace: random_namespace(),
        }
    }

    async fn store(&self) -> Box<dyn TokenStore> {
        self.harness.open(&self.namespace).await
    }

    fn caps(&self) -> Capabilities {
        self.harness.capabilities()
    }
}

type Case = for<'a> fn(Ctx<'a>) -> BoxFuture<'a, ()>;

macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        pub(crate) const CASES: &[(&str, Case)] = &[$((stringify!($name), |ctx| Box::pin($name(ctx)))),*];
    };
}

cases!(
    find_on_empty_store_is_none,
    first_save_gets_id_1,
    find_by_user_name,
    find_by_bare_access_token,
    access_token_with_client_id_is_not_bare,
    find_by_grant_token_with_credentials,
    find_by_refresh_token_with_credentials,
    refresh_without_credentials_matches_nothing,
    grant_is_tried_before_refresh,
    user_name_wins_over_tokens,
    empty_user_name_matches_nothing,
    merge_fills_only_empty_fields,
    find_by_id,
    invalid_ids_are_rejected,
    same_user_saved_twice_is_one_token,
    save_never_clears_a_field,
    refresh_token_rotation,
    save_with_explicit_id,
    save_without_credentials_is_rejected,
    delete_token_removes_only_it,
    delete_token_is_idempotent,
    delete_tokens_empties_the_store,
    delete_tokens_leaves_other_namespaces,
    ids_are_numeric_past_ten,
    get_tokens_lists_many,
    hostile_strings_round_trip,
    long_values_round_trip,
    over_long_values_are_rejected,
    close_and_reopen,
    concurrent_saves_of_distinct_users,
    concurrent_saves_of_one_user,
    debug_redacts_secrets,
    expiry_time_round_trips,
    header_like_values_are_data,
);

/// A complete token for user `n`.
pub(crate) fn sample(n: usize) -> Token {
    Token::builder()
        .user_name(format!("user{n}@example.com:6000{n}"))
        .client_id(format!("1000.CLIENT{n}"))
        .client_secret(format!("client-secret-{n}"))
        .refresh_token(format!("1000.refresh.{n}"))
        .access_token(format!("1000.access.{n}"))
        .expiry_time(1_764_000_000_000 + n as i64)
        .redirect_url("https://example.com/callback")
        .api_domain("https://www.zohoapis.eu")
        .build()
}

fn by_user(n: usize) -> Token {
    Token::builder()
        .user_name(format!("user{n}@example.com:6000{n}"))
        .build()
}

fn by_refresh(refresh: &str) -> Token {
    Token::builder()
        .client_id("cid")
        .client_secret("csecret")
        .refresh_token(refresh)
        .build()
}

fn ids(tokens: &[Token]) -> Vec<String> {
    tokens
        .iter()
        .map(|t| t.id.clone().expect("stored tokens have ids"))
        .collect()
}

async fn count(store: &dyn TokenStore) -> usize {
    store.get_tokens().await.expect("get_tokens").len()
}

async fn find_on_empty_store_is_none(ctx: Ctx<'_>) {
    let store = ctx.store().await;
    assert_eq!(store.find_token(&by_user(1)).await.unwrap(), None);
    assert_eq!(store.find_token_by_id("1").await.unwrap(), None);
    assert!(store.get_tokens().await.unwrap().is_empty());
}

async fn first_save_gets_id_1(ctx: Ctx<'_>) {
    let store = ctx.store().await;
    let saved = store.save_token(&sample(1)).await.unwrap();
    assert_eq!(saved.id.as_deref(), Some("1"));
    let second = store.save_token(&sample(2)).await.unwrap();
    assert_eq!(second.id.as_deref(), Some("2"));
    let mut expected = sample(1);
    expected.id = Some("1".into());
    assert_eq!(saved, expected, "save returns the token as stored");
}

async fn find_by_user_name(ctx: Ctx<'_>) {
    let store = ctx.store().await;
    let saved = store.save_token(&sample(1)).await.unwrap();
    store.save_token(&sample(2)).await.unwrap();
    let found = store
        .find_token(&by_user(1))
        .await
        .unwrap()
        .expect("found by user name");
    assert_eq!(found, saved);
    assert_eq!(store.find_token(&by_user(3)).await.unwrap(), None);
}

async fn find_by_bare_access_token(ctx: Ctx<'_>) {
    let store = ctx.store().await;
    store.save_token(&sample(1)).await.unwrap();
    let saved = store.save_token(&sample(2)).await.unwrap();
    let query = Token::builder().access_token("1000.access.2").build();
    assert_eq!(store.find_token(&query).await.unwrap(), Some(saved));
    let miss = Token::builder().access_token("1000.access.9").build();
    assert_eq!(store.find_token(&miss).await.unwrap(), None);
}

async fn access_token_with_client_id_is_not_bare(ctx: Ctx<'_>) {
    let store = ctx.store().await;
    store.save_token(&sample(1)).await.unwrap();
    let query = Token::builder()
        .access_token("1000.access.1")
        .client_id("1000.CLIENT1")
        .build();
    assert_eq!(
        store.find_token(&query).await.unwrap(),
        None,
        "no rule applies: never any row"
    );
}

async fn find_by_grant_token_with_credentials(ctx: Ctx<'_>) {
    let store = ctx.store().await;
    let mut token = sample(1);
    token.grant_token = Some("1000.grant.1".into());
    let saved = store.save_token(&token).await.unwrap();
    let query = Token::builder()
        .client_id("c")
        .client_secret("s")
        .grant_token("1000.grant.1")
        .build();
    let found = store
        .find_token(&query)
        .await
        .unwrap()
        .expect("found by grant token");
    assert_eq!(found.id, saved.id);
    assert_eq!(
        found.client_id.as_deref(),
        Some("c"),
        "query values win over stored ones"
    );
    assert_eq!(
        found.refresh_token, saved.refresh_token,
        "stored values fill the empty fields"
    );
}

async fn find_by_refresh_token_with_credentials(ctx: Ctx<'_>) {
    let store = ctx.store().await;
    store.save_token(&sample(1)).await.unwrap();
    let saved = store.save_token(&sample(2)).await.unwrap();
    let found = store
        .find_token(&by_refresh("1000.refresh.2"))
        .await
        .unwrap()
        .expect("found by refresh token");
    assert_eq!(found.id, saved.id);
    assert_eq!(found.access_token, saved.access_token);
}

async fn refresh_without_credentials_matches_nothing(ctx: Ctx<'_>) {
    let store = ctx.store().await;
    store.save_token(&sample(1)).await.unwrap();
    let query = Token::builder().refresh_token("1000.refresh.1").build();
    assert_eq!(
        store.find_token(&query).await.unwrap(),
        None,
        "grant/refresh lookups need client id and secret"
    );
    let half = Token::builder()
        .client_id("c")
        .refresh_token("1000.refresh.1")
        .build();
    assert_eq!(store.find_token(&half).await.unwrap(), None);
}

async fn grant_is_tried_before_refresh(ctx: Ctx<'_>) {
    let store = ctx.store().await;
    let refresh_row = store.save_token(&sample(1)).await.unwrap();
    let mut grant_row = sample(2);
    grant_row.grant_token = Some("1000.grant.2".into());
    let grant_row = store.save_token(&grant_row).await.unwrap();
    let query = Token::builder()
        .client_id("c")
        .client_secret("s")
        .grant_token("1000.grant.2")
        .refresh_token("1000.refresh.1")
        .build();
    assert_eq!(
        store.find_token(&query).await.unwrap().unwrap().id,
        grant_row.id
    );
    let fallback = Token::builder()
        .client_id("c")
        .client_secret("s")
        .grant_token("1000.grant.9")
        .refresh_token("1000.refresh.1")
        .build();
    assert_eq!(
        store.find_token(&fallback).await.unwrap().unwrap().id,
        refresh_row.id,
        "refresh token when no grant matches"
    );
}

async fn user_name_wins_over_tokens(ctx: Ctx<'_>) {
    let store = ctx.store().await;
    let one = store.save_token(&sample(1)).await.unwrap();
    store.save_token(&sample(2)).await.unwrap();
    let mut query = by_refresh("1000.refresh.2");
    query.user_name = one.user_name.clone();
    assert_eq!(store.find_token(&query).await.unwrap().unwrap().id, one.id);
    query.user_name = Some("nobody".into());
    assert_eq!(
        store.find_token(&query).await.unwrap(),
        None,
        "only the user-name rule applies"
    );
}

async fn empty_user_name_matches_nothing(ctx: Ctx<'_>) {
    let store = ctx.store().await;
    store.save_token(&sample(1)).await.unwrap();
    let mut query = Token {
        user_name: Some(String::new()),
        ..Token::default()
    };
    assert_eq!(store.find_token(&query).await.unwrap(), None);
    query.access_token = Some("1000.access.1".into());
    // An empty user name is absent, so the bare access token rule applies.
    assert!(store.find_token(&query).await.unwrap().is_some());
}

async fn merge_fills_only_empty_fields(ctx: Ctx<'_>) {
    let store = ctx.store().await;
    let saved = store.save_token(&sample(1)).await.unwrap();
    let mut query = by_user(1);
    query.api_domain = Some("https://www.zohoapis.com".into());
    let found = store.find_token(&query).await.unwrap().unwrap();
    assert_eq!(
        found.api_domain.as_deref(),
        Some("https://www.zohoapis.com")
    );
    assert_eq!(found.access_token, saved.access_token);
    assert_eq!(found.id, saved.id);
    assert_eq!(
        store
            .find_token_by_id("1")
            .await
            .unwrap()
            .unwrap()
            .api_domain,
        saved.api_domain,
        "find never writes"
    );
}

async fn find_by_id(ctx: Ctx<'_>) {
    let store = ctx.store().await;
    store.save_token(&sample(1)).await.unwrap();
    let two = store.save_token(&sample(2)).await.unwrap();
    assert_eq!(store.find_token_by_id("2").await.unwrap(), Some(two));
    assert_eq!(store.find_token_by_id("3").await.unwrap(), None);
}

async fn invalid_ids_are_rejected(ctx: Ctx<'_>) {
    let store = ctx.store().await;
    store.save_token(&sample(1)).await.unwrap();
    for bad in ["", "abc", "01", "12345678901", "1 OR 1=1", "-1", "1.0"] {
        assert_eq!(
            store.find_token_by_id(bad).await.unwrap_err().kind(),
            ErrorKind::InvalidInput,
            "find_token_by_id({bad:?})"
        );
        assert_eq!(
            store.delete_token(bad).await.unwrap_err().kind(),
            ErrorKind::InvalidInput,
            "delete_token({bad:?})"
        );
        let mut token = sample(2);
        token.id = Some(bad.to_string());
        if bad.is_empty() {
            continue; // an empty id is an absent id
        }
        assert_eq!(
            store.save_token(&token).await.unwrap_err().kind(),
            ErrorKind::InvalidInput,
            "save with id {bad:?}"
        );
    }
    assert_eq!(count(&*store).await, 1, "rejected input changed nothing");
}

async fn same_user_saved_twice_is_one_token(ctx: Ctx<'_>) {
    let store = ctx.store().await;
    let first = store.save_token(&sample(1)).await.unwrap();
    let mut again = sample(1);
    again.access_token = Some("1000.access.new".into());
    let second = store.save_token(&again).await.unwrap();
    assert_eq!(second.id, first.id);
    assert_eq!(count(&*store).await, 1);
    let found = store.find_token(&by_user(1)).await.unwrap().unwrap();
    assert_eq!(found.access_token.as_deref(), Some("1000.access.new"));
    let old = Token::builder().access_token("1000.access.1").build();
    assert_eq!(
        store.find_token(&old).await.unwrap(),
        None,
        "the old access token no longer finds it"
    );
}

async fn save_never_clears_a_field(ctx: Ctx<'_>) {
    let store = ctx.store().await;
    store.save_token(&sample(1)).await.unwrap();
    let partial = Token::builder()
        .user_name("user1@example.com:60001")
        .access_token("1000.access.other")
        .build();
    let saved = store.save_token(&partial).await.unwrap();
    assert_eq!(saved.refresh_token.as_deref(), Some("1000.refresh.1"));
    assert_eq!(saved.client_secret.as_deref(), Some("client-secret-1"));
    assert_eq!(store.find_token_by_id("1").await.unwrap(), Some(saved));
}

async fn refresh_token_rotation(ctx: Ctx<'_>) {
    let store = ctx.store().await;
    store.save_token(&sample(1)).await.unwrap();
    let mut rotated = sample(1);
    rotated.refresh_token = Some("1000.refresh.rotated".into());
    store.save_token(&rotated).await.unwrap();
    assert_eq!(
        store
            .find_token(&by_refresh("1000.refresh.1"))
            .await
            .unwrap(),
        None,
        "old refresh token"
    );
    let found = store
        .find_token(&by_refresh("1000.refresh.rotated"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id.as_deref(), Some("1"));
    assert_eq!(count(&*store).await, 1);
}

async fn save_with_explicit_id(ctx: Ctx<'_>) {
    let store = ctx.store().await;
    let mut token = sample(1);
    token.id = Some("42".into());
    let saved = store.save_token(&token).await.unwrap();
    assert_eq!(saved.id.as_deref(), Some("42"));
    let update = Token::builder()
        .id("42")
        .access_token("1000.access.by-id")
        .build();
    let updated = store.save_token(&update).await.unwrap();
    assert_eq!(updated.user_name, token.user_name);
    assert_eq!(updated.access_token.as_deref(), Some("1000.access.by-id"));
    assert_eq!(store.find_token_by_id("42").await.unwrap(), Some(updated));
    let next = store.save_token(&sample(2)).await.unwrap();
    assert_eq!(next.id.as_deref(), Some("43"), "new ids follow the largest");
}

async fn save_without_credentials_is_rejected(ctx: Ctx<'_>) {
    let store = ctx.store().await;
    let bare = Token::builder()
        .user_name("someone")
        .client_id("c")
        .client_secret("s")
        .build();
    assert_eq!(
        store.save_token(&bare).await.unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    let by_id = Token::builder().id("5").build();
    assert_eq!(
        store.save_token(&by_id).await.unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(count(&*store).await, 0);
}

async fn delete_token_removes_only_it(ctx: Ctx<'_>) {
    let store = ctx.store().await;
    store.save_token(&sample(1)).await.unwrap();
    let two = store.save_token(&sample(2)).await.unwrap();
    store.delete_token("1").await.unwrap();
    assert_eq!(store.find_token(&by_user(1)).await.unwrap(), None);
    assert_eq!(store.find_token_by_id("1").await.unwrap(), None);
    assert_eq!(store.get_tokens().await.unwrap(), vec![two]);
}

async fn delete_token_is_idempotent(ctx: Ctx<'_>) {
    let store = ctx.store().await;
    store.save_token(&sample(1)).await.unwrap();
    store.delete_token("1").await.unwrap();
    store.delete_token("1").await.unwrap();
    store.delete_token("999").await.unwrap();
    assert_eq!(count(&*store).await, 0);
}

async fn delete_tokens_empties_the_store(ctx: Ctx<'_>) {
    let store = ctx.store().await;
    for n in 1..=5 {
        store.save_token(&sample(n)).await.unwrap();
    }
    store.delete_tokens().await.unwrap();
    assert_eq!(count(&*store).await, 0);
    assert_eq!(store.find_token(&by_user(3)).await.unwrap(), None);
    store.delete_tokens().await.unwrap();
    let again = store.save_token(&sample(3)).await.unwrap();
    assert_eq!(
        store.find_token(&by_user(3)).await.unwrap(),
        Some(again),
        "usable after delete_tokens"
    );
}

async fn delete_tokens_leaves_other_namespaces(ctx: Ctx<'_>) {
    let store = ctx.store().await;
    let other_namespace = random_namespace();
    let other = ctx.harness.open(&other_namespace).await;
    store.save_token(&sample(1)).await.unwrap();
    let kept = other.save_token(&sample(2)).await.unwrap();
    assert_eq!(
        store.find_token(&by_user(2)).await.unwrap(),
        None,
        "namespaces are separate"
    );
    store.delete_tokens().await.unwrap();
    assert_eq!(other.get_tokens().await.unwrap(), vec![kept]);
    other.delete_tokens().await.unwrap();
}

async fn ids_are_numeric_past_ten(ctx: Ctx<'_>) {
    let store = ctx.store().await;
    let mut assigned = Vec::new();
    for n in 1..=12 {
        assigned.push(store.save_token(&sample(n)).await.unwrap().id.unwrap());
    }
    let expected: Vec<String> = (1..=12).map(|n| n.to_string()).collect();
    assert_eq!(
        assigned, expected,
        "max(id) is numeric, not a string maximum"
    );
    assert_eq!(
        ids(&store.get_tokens().await.unwrap()),
        expected,
        "get_tokens orders by numeric id"
    );
}

async fn get_tokens_lists_many(ctx: Ctx<'_>) {
    let store: Arc<dyn TokenStore> = Arc::from(ctx.store().await);
    let total = 520;
    let mut saved = Vec::new();
    // Eight saves at a time, as a bulk load would (first saves are slow on some services).
    for wave in (0..total).collect::<Vec<_>>().chunks(8) {
        let mut writers = tokio::task::JoinSet::new();
        for &n in wave {
            let store = store.clone();
            writers.spawn(async move {
                let mut token = Token::builder()
                    .access_token(format!("a{n}"))
                    .refresh_token(format!("r{n}"))
                    .build();
                token.user_name = Some(format!("u{n}"));
                store.save_token(&token).await.unwrap()
            });
        }
        while let Some(token) = writers.join_next().await {
            saved.push(token.expect("save task"));
        }
    }
    saved.sort_by_key(|t| crate::lookup::id_number(t.id.as_deref().unwrap_or("")));
    let listed = store.get_tokens().await.unwrap();
    assert_eq!(listed.len(), total);
    let unique: BTreeSet<_> = ids(&listed).into_iter().collect();
    assert_eq!(unique.len(), total, "each token exactly once");
    assert_eq!(listed, saved, "every token, by id");
    let u517 = saved
        .iter()
        .find(|t| t.user_name.as_deref() == Some("u517"));
    assert_eq!(
        store
            .find_token(&Token::builder().user_name("u517").build())
            .await
            .unwrap()
            .as_ref(),
        u517
    );
}

fn hostile_values() -> Vec<String> {
    vec![
        "quote\"double".into(),
        "it's; DROP TABLE oauthtoken; --".into(),
        "comma,separated,value".into(),
        "new\nline\r\ncrlf".into(),
        "ünïcødé ✓ 東京 🚀".into(),
        "  padded  ".into(),
        "x' OR '1'='1".into(),
        "tab\there\\backslash%_".into(),
    ]
}

async fn hostile_strings_round_trip(ctx: Ctx<'_>) {
    let store = ctx.store().await;
    for (n, value) in hostile_values().into_iter().enumerate() {
        let token = Token::builder()
            .user_name(format!("{value}#{n}"))
            .client_id(value.clone())
            .client_secret(value.clone())
            .refresh_token(format!("r{n}{value}"))
            .access_token(format!("a{n}{value}"))
            .grant_token(value.clone())
            .redirect_url(value.clone())
            .api_domain(value.clone())
            .build();
        let saved = store.save_token(&token).await.unwrap();
        let found = store
            .find_token(&Token::builder().user_name(format!("{value}#{n}")).build())
            .await
            .unwrap();
        assert_eq!(found.as_ref(), Some(&saved), "by user name: {value:?}");
        let by_access = store
            .find_token(
                &Token::builder()
                    .access_token(format!("a{n}{value}"))
                    .build(),
            )
            .await
            .unwrap();
        assert_eq!(
            by_access.as_ref(),
            Some(&saved),
            "by access token: {value:?}"
        );
        assert_eq!(
            store
                .find_token_by_id(saved.id.as_deref().unwrap())
                .await
                .unwrap(),
            Some(saved)
        );
    }
    assert_eq!(count(&*store).await, hostile_values().len());
}

async fn long_values_round_trip(ctx: Ctx<'_>) {
    let store = ctx.store().await;
    let len = ctx.caps().max_field_bytes.min(10 * 1024);
    let long = "x".repeat(len);
    let mut token = sample(1);
    token.access_token = Some(long.clone());
    token.redirect_url = Some(long.clone());
    let saved = store.save_token(&token).await.unwrap();
    assert_eq!(saved.access_token.as_ref().map(String::len), Some(len));
    assert_eq!(
        store
            .find_token(&Token::builder().access_token(long).build())
            .await
            .unwrap(),
        Some(saved)
    );
}

async fn over_long_values_are_rejected(ctx: Ctx<'_>) {
    let store = ctx.store().await;
    let kept = store.save_token(&sample(1)).await.unwrap();
    let limit = ctx.caps().max_field_bytes;
    let len = limit + 1;
    let mut token = sample(1);
    token.access_token = Some("x".repeat(len));
    let err = store.save_token(&token).await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::TooLarge | ErrorKind::InvalidInput),
        "got {err}"
    );
    assert_eq!(
        store.get_tokens().await.unwrap(),
        vec![kept],
        "nothing changed"
    );
}

async fn close_and_reopen(ctx: Ctx<'_>) {
    if !ctx.caps().durable {
        println!("close_and_reopen: store is not durable; checking that a new store starts empty");
        let store = ctx.store().await;
        store.save_token(&sample(1)).await.unwrap();
        return;
    }
    let saved = {
        let store = ctx.store().await;
        let saved = store.save_token(&sample(1)).await.unwrap();
        store.save_token(&sample(2)).await.unwrap();
        store.delete_token("2").await.unwrap();
        saved
    };
    let reopened = ctx.store().await;
    assert_eq!(
        reopened.find_token(&by_user(1)).await.unwrap(),
        Some(saved.clone())
    );
    assert_eq!(reopened.get_tokens().await.unwrap(), vec![saved]);
    assert_eq!(
        reopened.save_token(&sample(3)).await.unwrap().id.as_deref(),
        Some("3"),
        "ids continue after reopen"
    );
}

async fn concurrent_saves_of_distinct_users(ctx: Ctx<'_>) {
    let tasks = 8;
    let per_task = 5;
    let mut handles = Vec::new();
    for t in 0..tasks {
        let store: Arc<dyn TokenStore> = Arc::from(ctx.store().await);
        handles.push(tokio::spawn(async move {
            for i in 0..per_task {
                store
                    .save_token(&sample(t * 100 + i))
                    .await
                    .expect("concurrent save");
            }
        }));
    }
    for handle in handles {
        handle.await.expect("task");
    }
    let store = ctx.store().await;
    let all = store.get_tokens().await.unwrap();
    assert_eq!(all.len(), tasks * per_task);
    let unique: BTreeSet<_> = ids(&all).into_iter().collect();
    assert_eq!(unique.len(), tasks * per_task, "ids are unique");
    for t in 0..tasks {
        for i in 0..per_task {
            assert!(
                store
                    .find_token(&by_user(t * 100 + i))
                    .await
                    .unwrap()
                    .is_some(),
                "user {t}/{i} found"
            );
        }
    }
}

async fn concurrent_saves_of_one_user(ctx: Ctx<'_>) {
    let mut handles = Vec::new();
    for t in 0..6 {
        let store: Arc<dyn TokenStore> = Arc::from(ctx.store().await);
        handles.push(tokio::spawn(async move {
            let mut token = sample(1);
            token.access_token = Some(format!("1000.access.writer{t}"));
            store.save_token(&token).await.expect("concurrent save")
        }));
    }
    for handle in handles {
        handle.await.expect("task");
    }
    let store = ctx.store().await;
    let all = store.get_tokens().await.unwrap();
    assert_eq!(
        all.len(),
        1,
        "one token per user name, got ids {:?}",
        ids(&all)
    );
    assert!(
        all[0]
            .access_token
            .as_deref()
            .unwrap()
            .starts_with("1000.access.writer")
    );
    assert_eq!(
        store.find_token(&by_user(1)).await.unwrap().as_ref(),
        Some(&all[0])
    );
}

async fn debug_redacts_secrets(ctx: Ctx<'_>) {
    let store = ctx.store().await;
    let mut token = sample(7);
    token.grant_token = Some("1000.grant.7".into());
    let saved = store.save_token(&token).await.unwrap();
    let found = store.find_token(&by_user(7)).await.unwrap().unwrap();
    for shown in [
        format!("{saved:?}"),
        format!("{found:?}"),
        format!("{store:?}"),
        format!("{:#?}", store.get_tokens().await.unwrap()),
    ] {
        for secret in [
            "client-secret-7",
            "1000.refresh.7",
            "1000.access.7",
            "1000.grant.7",
            "user7@example.com",
        ] {
            assert!(!shown.contains(secret), "Debug shows a secret: {shown}");
        }
    }
    let err = store.find_token_by_id("not-an-id").await.unwrap_err();
    assert!(
        !format!("{err} {err:?}").contains("not-an-id"),
        "errors do not echo input"
    );
}

async fn expiry_time_round_trips(ctx: Ctx<'_>) {
    let store = ctx.store().await;
    let mut token = sample(1);
    token.expiry_time = Some(9_999_999_999_999);
    store.save_token(&token).await.unwrap();
    let found = store.find_token(&by_user(1)).await.unwrap().unwrap();
    assert_eq!(found.expiry_time, Some(9_999_999_999_999));
    let mut negative = sample(2);
    negative.expiry_time = Some(-5);
    assert_eq!(
        store.save_token(&negative).await.unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
}

async fn header_like_values_are_data(ctx: Ctx<'_>) {
    let store = ctx.store().await;
    let token = Token::builder()
        .user_name("user_name")
        .client_id("client_id")
        .client_secret("client_secret")
        .refresh_token("refresh_token")
        .access_token("access_token")
        .grant_token("grant_token")
        .redirect_url("redirect_url")
        .api_domain("api_domain")
        .build();
    let saved = store.save_token(&token).await.unwrap();
    let other = store.save_token(&sample(1)).await.unwrap();
    assert_eq!(
        store
            .find_token(&Token::builder().user_name("user_name").build())
            .await
            .unwrap(),
        Some(saved.clone())
    );
    assert_eq!(store.get_tokens().await.unwrap(), vec![saved, other]);
}
