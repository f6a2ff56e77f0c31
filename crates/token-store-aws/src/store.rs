//! `AwsSecretsManagerStore`: the [`TokenStore`](token_store_core::TokenStore) users construct.

use crate::backend::AwsBackend;
use crate::config::AwsSecretsManagerStoreBuilder;

token_store_core::cloud_store!(
    /// Tokens in AWS Secrets Manager: one secret per token plus the index shards (hashed
    /// lookup keys), kept consistent by the core engine with a one-call compare-and-swap
    /// (numbered `ClientRequestToken`s, see [`AwsBackend`]). Build it with
    /// [`builder`](Self::builder), [`from_env`](Self::from_env) or
    /// [`from_url`](Self::from_url) (`aws-secretsmanager://<prefix>?region=..&endpoint=..`).
    ///
    /// Requests per operation, as counted by [`calls`](Self::calls) (a process that has the
    /// shard cached / a cold one; asserted in `tests/behaviour/calls.rs`):
    ///
    /// | operation | requests |
    /// | --- | --- |
    /// | `find_token` by user name, access or refresh token | 1 / 2 |
    /// | `find_token_by_id` | 1 |
    /// | routine refresh (a known user's new access token) | 3 |
    /// | save of a new user | 5 (a cold store: 8) |
    /// | `get_tokens` of N tokens | shards + ⌈N/20⌉ |
    /// | each lost index compare-and-swap | + 2: the refused `PutSecretValue` and the re-read |
    AwsSecretsManagerStore,
    AwsBackend,
    AwsSecretsManagerStoreBuilder,
    crate::config::URL_SCHEME,
    "aws"
);
