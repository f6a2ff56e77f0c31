//! The `TokenStore` contract.

use async_trait::async_trait;

use crate::{Result, Token};

/// Persistence for OAuth tokens: the six operations of the Zoho SDK's `TokenStore`.
///
/// Every backend obeys this one contract; the conformance suite (`testkit` feature) checks it.
///
/// * Absent values: an empty string and `None` are the same thing; stores return `None`.
/// * Errors: a backend failure is always an `Err`, never turned into "not found".
/// * Ids: decimal strings of 1 to 10 digits, assigned by the store on first save as one more
///   than the largest id it holds or has held (numeric comparison; concurrent saves may leave
///   gaps), unique under concurrent saves and never handed out again after a delete. Any other id is rejected with [`crate::ErrorKind::InvalidInput`].
#[async_trait]
pub trait TokenStore: Send + Sync + std::fmt::Debug {
    /// Find the stored token that `query` selects, and return `query` completed with it.
    ///
    /// Selection follows [`crate::lookup`]: user name, else bare access token (no client id
    /// or secret), else — when client id and secret are both present — grant token, then
    /// refresh token. The stored values fill only the fields `query` left empty; values
    /// present in `query` win (the id is never a lookup key: use
    /// [`find_token_by_id`](Self::find_token_by_id)). Returns `Ok(None)` when no rule
    /// applies or nothing matches — never another user's token.
    async fn find_token(&self, query: &Token) -> Result<Option<Token>>;

    /// Insert or update a token and return it as stored (with its id).
    ///
    /// With an id: the token with that id is updated, or inserted under that id when absent.
    /// Without one: the token that [`find_token`](Self::find_token) would select is updated;
    /// when there is none, a new token is inserted with a fresh id. An update keeps every
    /// stored value the new token leaves empty (a save never clears a field). A token with
    /// no access, refresh or grant token that matches nothing is an `InvalidInput` error.
    /// Concurrent saves of the same user name leave one token; of distinct users, all.
    /// A failed save leaves every stored token as it was.
    async fn save_token(&self, token: &Token) -> Result<Token>;

    /// Delete the token with this id. Deleting an id that is not stored succeeds (idempotent).
    async fn delete_token(&self, id: &str) -> Result<()>;

    /// Every stored token, each exactly once, ordered by numeric id.
    async fn get_tokens(&self) -> Result<Vec<Token>>;

    /// Delete every token of this store (and only of this store's namespace).
    async fn delete_tokens(&self) -> Result<()>;

    /// The token with this id, or `Ok(None)`.
    async fn find_token_by_id(&self, id: &str) -> Result<Option<Token>>;
}

/// `TokenStore` through a smart pointer to a store.
macro_rules! forward_through_pointer {
    ($($pointer:ident)::+) => {
        #[async_trait]
        impl<S: TokenStore + ?Sized> TokenStore for $($pointer)::+<S> {
            async fn find_token(&self, query: &Token) -> Result<Option<Token>> {
                (**self).find_token(query).await
            }
            async fn save_token(&self, token: &Token) -> Result<Token> {
                (**self).save_token(token).await
            }
            async fn delete_token(&self, id: &str) -> Result<()> {
                (**self).delete_token(id).await
            }
            async fn get_tokens(&self) -> Result<Vec<Token>> {
                (**self).get_tokens().await
            }
            async fn delete_tokens(&self) -> Result<()> {
                (**self).delete_tokens().await
            }
            async fn find_token_by_id(&self, id: &str) -> Result<Option<Token>> {
                (**self).find_token_by_id(id).await
            }
        }
    };
}

forward_through_pointer!(std::sync::Arc);
forward_through_pointer!(Box);

/// Implement [`TokenStore`] for a newtype by delegating to one of its fields, e.g.
/// `delegate_token_store!(AwsSecretsManagerStore, engine);`.
#[macro_export]
macro_rules! delegate_token_store {
    ($ty:ty, $field:ident) => {
        #[$crate::__async_trait]
        impl $crate::TokenStore for $ty {
            async fn find_token(
                &self,
                query: &$crate::Token,
            ) -> $crate::Result<Option<$crate::Token>> {
                self.$field.find_token(query).await
            }
            async fn save_token(&self, token: &$crate::Token) -> $crate::Result<$crate::Token> {
                self.$field.save_token(token).await
            }
            async fn delete_token(&self, id: &str) -> $crate::Result<()> {
                self.$field.delete_token(id).await
            }
            async fn get_tokens(&self) -> $crate::Result<Vec<$crate::Token>> {
                self.$field.get_tokens().await
            }
            async fn delete_tokens(&self) -> $crate::Result<()> {
                self.$field.delete_tokens().await
            }
            async fn find_token_by_id(&self, id: &str) -> $crate::Result<Option<$crate::Token>> {
                self.$field.find_token_by_id(id).await
            }
        }
    };
}
