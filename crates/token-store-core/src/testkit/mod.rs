//! The conformance suite every store runs, and the test backends (feature `testkit`).
//!
//! Each case runs in a fresh random namespace, so cases are independent and can run in
//! parallel against one service. Use [`conformance_tests!`](crate::conformance_tests) for a
//! [`TokenStore`] and [`engine_conformance_tests!`](crate::engine_conformance_tests) for a
//! [`SecretBackend`]; both expand to one `#[tokio::test]` per case. A case a backend cannot
//! run is gated by name with a reason, printed when the case is reached.

mod cases;
mod counting;
mod engine_cases;
mod memory_backend;
pub mod quota;
mod stress;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use rand::Rng as _;

pub use counting::{CountingBackend, INDEX_SHARDS};
pub use memory_backend::MemoryBackend;
pub use stress::{
    LargeStoreReport, StressReport, large_store, stress_distinct_users, stress_with_shared_user,
};

use crate::{SecretBackend, SecretIndexStore, TokenStore};

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a store can hold, so cases size their inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Data survives reopening the store (file, SQL, cloud).
    pub durable: bool,
    /// Largest value of one text field in bytes the store accepts
    /// ([`crate::lookup::MAX_FIELD_BYTES`] unless the store holds less).
    pub max_field_bytes: usize,
}

impl Default for Capabilities {
    fn default() -> Self {
        Self {
            durable: true,
            max_field_bytes: crate::lookup::MAX_FIELD_BYTES,
        }
    }
}

/// Opens a [`TokenStore`] for the suite.
pub trait StoreHarness: Send + Sync + 'static {
    /// Open the store of `namespace` (`[a-z0-9-]`, at most 24 characters). Opening the same
    /// namespace again sees the same data. Panics with a clear message on failure.
    fn open<'a>(&'a self, namespace: &'a str) -> BoxFuture<'a, Box<dyn TokenStore>>;
    /// What the store can hold.
    fn capabilities(&self) -> Capabilities;
    /// Cases this store cannot run, with the reason (printed, never silent).
    fn gated(&self) -> Vec<(&'static str, &'static str)> {
        Vec::new()
    }
}

/// Opens a [`SecretBackend`] for the suite; the store under test is the engine over it.
pub trait BackendHarness: Send + Sync + 'static {
    /// A backend over `namespace` (`[a-z0-9-]`, at most 24 characters; fresh and empty the
    /// first time). Calling it again for the same namespace reaches the same secrets.
    fn backend<'a>(&'a self, namespace: &'a str) -> BoxFuture<'a, Arc<dyn SecretBackend>>;
    /// Cases this backend cannot run, with the reason (printed, never silent).
    fn gated(&self) -> Vec<(&'static str, &'static str)> {
        Vec::new()
    }
}

/// The engine over a [`BackendHarness`]'s backend, as a [`StoreHarness`].
pub struct EngineHarness<H>(pub H);

impl<H: BackendHarness> StoreHarness for EngineHarness<H> {
    fn open<'a>(&'a self, namespace: &'a str) -> BoxFuture<'a, Box<dyn TokenStore>> {
        Box::pin(async move {
            Box::new(SecretIndexStore::new(self.0.backend(namespace).await)) as Box<dyn TokenStore>
        })
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }
    fn gated(&self) -> Vec<(&'static str, &'static str)> {
        self.0.gated()
    }
}

/// The three lookups that find `token`: by user name, by bare access token, and by refresh
/// token with client credentials.
pub(crate) fn key_queries(token: &crate::Token) -> [crate::Token; 3] {
    [
        crate::Token::builder()
            .user_name(token.user_name.clone().unwrap_or_default())
            .build(),
        crate::Token::builder()
            .access_token(token.access_token.clone().unwrap_or_default())
            .build(),
        crate::Token::builder()
            .client_id("c")
            .client_secret("s")
            .refresh_token(token.refresh_token.clone().unwrap_or_default())
            .build(),
    ]
}

/// A fresh namespace: `t` and 11 random lowercase letters and digits.
pub fn random_namespace() -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let tail: String = (0..11)
        .map(|_| CHARS[rng.random_range(0..CHARS.len())] as char)
        .collect();
    format!("t{tail}")
}

/// Token `n` of a test: user `user<n>@example.com`, client credentials, access and refresh
/// tokens numbered `n`, an expiry.
pub fn numbered_token(n: usize) -> crate::Token {
    crate::Token::builder()
        .user_name(format!("user{n}@example.com"))
        .client_id("1000.CLIENT")
        .client_secret("client-secret-value")
        .refresh_token(format!("1000.refresh.{n}"))
        .access_token(format!("1000.access.{n}"))
        .expiry_time(1_700_000_000_000)
        .build()
}

/// Expected service calls, by operation name, for comparing with
/// [`CallCounter::counts`](crate::CallCounter::counts).
pub fn call_counts(pairs: &[(&str, u64)]) -> std::collections::BTreeMap<String, u64> {
    pairs.iter().map(|&(op, n)| (op.to_owned(), n)).collect()
}

/// Assert that `parse` refuses each of `urls` with [`ErrorKind::ConfigInvalid`](crate::ErrorKind)
/// and an error that does not echo the URL (it may hold a password).
#[track_caller]
pub fn assert_urls_refused<T>(parse: impl Fn(&str) -> crate::Result<T>, urls: &[&str]) {
    for url in urls {
        match parse(url) {
            Ok(_) => panic!("{url} was accepted"),
            Err(e) => {
                assert_eq!(e.kind(), crate::ErrorKind::ConfigInvalid, "{url}: {e}");
                assert!(
                    url.len() < 12 || !e.to_string().contains(url),
                    "{e} echoes {url}"
                );
            }
        }
    }
}

fn gate(gated: &[(&'static str, &'static str)], case: &str) -> bool {
    match gated.iter().find(|(name, _)| *name == case) {
        Some((_, reason)) => {
            println!("GATED {case}: {reason}");
            true
        }
        None => false,
    }
}

/// Run conformance case `case` against `harness` (used by the macros).
pub async fn run_store_case(case: &str, harness: &dyn StoreHarness) {
    if gate(&harness.gated(), case) {
        return;
    }
    let run = cases::CASES
        .iter()
        .find(|(name, _)| *name == case)
        .unwrap_or_else(|| panic!("unknown case {case}"))
        .1;
    run(cases::Ctx::new(harness)).await;
}

/// Run engine case `case` against `harness` (used by the macro).
pub async fn run_engine_case(case: &str, harness: &dyn BackendHarness) {
    if gate(&harness.gated(), case) {
        return;
    }
    let run = engine_cases::CASES
        .iter()
        .find(|(name, _)| *name == case)
        .unwrap_or_else(|| panic!("unknown case {case}"))
        .1;
    run(harness, random_namespace()).await;
}

/// One `#[tokio::test]` per conformance case against a [`StoreHarness`] expression.
#[macro_export]
macro_rules! conformance_tests {
    ($harness:expr) => {
        $crate::__store_cases!($harness;
            find_on_empty_store_is_none, first_save_gets_id_1, find_by_user_name, find_by_bare_access_token,
            access_token_with_client_id_is_not_bare, find_by_grant_token_with_credentials,
            find_by_refresh_token_with_credentials, refresh_without_credentials_matches_nothing,
            grant_is_tried_before_refresh, user_name_wins_over_tokens, empty_user_name_matches_nothing,
            merge_fills_only_empty_fields, find_by_id, invalid_ids_are_rejected, same_user_saved_twice_is_one_token,
            save_never_clears_a_field, refresh_token_rotation, save_with_explicit_id, save_without_credentials_is_rejected,
            delete_token_removes_only_it, delete_token_is_idempotent, delete_tokens_empties_the_store,
            delete_tokens_leaves_other_namespaces, ids_are_numeric_past_ten, get_tokens_lists_many,
            hostile_strings_round_trip, long_values_round_trip, over_long_values_are_rejected, close_and_reopen,
            concurrent_saves_of_distinct_users, concurrent_saves_of_one_user, debug_redacts_secrets,
            expiry_time_round_trips, header_like_values_are_data);
    };
}

/// One `#[tokio::test]` per conformance and engine case against a [`BackendHarness`] expression.
#[macro_export]
macro_rules! engine_conformance_tests {
    ($harness:expr) => {
        $crate::conformance_tests!($crate::testkit::EngineHarness($harness));
        $crate::__engine_cases!($harness;
            engine_call_counts, engine_failed_save_converges_at_every_call, engine_index_has_no_plaintext,
            engine_stale_entry_never_answers, engine_lost_index_is_repaired, engine_index_grows_past_one_secret,
            engine_first_format_index_is_upgraded, engine_repair_folds_duplicate_users,
            engine_too_large_token_makes_no_call, engine_interleaved_index_writers_lose_nothing,
            engine_interleaved_same_user_saves_leave_one_token, engine_corrupt_token_secret_is_an_error,
            engine_shard_generations);
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __store_cases {
    ($harness:expr; $($case:ident),* $(,)?) => {$(
        #[$crate::__tokio::test(flavor = "multi_thread", worker_threads = 4, crate = "token_store_core::__tokio")]
        async fn $case() {
            $crate::testkit::run_store_case(stringify!($case), &$harness).await;
        }
    )*};
}

#[doc(hidden)]
#[macro_export]
macro_rules! __engine_cases {
    ($harness:expr; $($case:ident),* $(,)?) => {$(
        #[$crate::__tokio::test(flavor = "multi_thread", worker_threads = 4, crate = "token_store_core::__tokio")]
        async fn $case() {
            $crate::testkit::run_engine_case(stringify!($case), &$harness).await;
        }
    )*};
}
