//! Deleting tokens: plan the index entries a token loses, delete its secret, commit the
//! removal; and the high-water mark keeps a deleted id from being handed out again.

use crate::Result;
use crate::lookup::parse_id;

use super::keys::keys_of;
use super::tree::Change;
use super::{SecretIndexStore, TOKEN_PREFIX, Token, token_secret_name};

impl SecretIndexStore {
    /// Delete token `id` (a missing one is fine), then raise the high-water mark over it.
    pub(super) async fn delete_one(&self, id: &str) -> Result<()> {
        let number = parse_id(id)?;
        let Some(token) = self.read_token(id).await? else {
            return Ok(());
        };
        self.remove_token(&token).await?;
        // Ids are never handed out again.
        self.raise_high_water_mark(number).await
    }

    /// Plan the removal of every entry of a stored token, delete its secret, then commit the
    /// removal (entries left by a failure in between point at nothing and are verified away).
    pub(super) async fn remove_token(&self, token: &Token) -> Result<()> {
        let id = token.id.clone().unwrap_or_default();
        let removal = keys_of(token, &id)
            .into_iter()
            .map(|key| Change {
                key,
                id: id.clone(),
                live: false,
                optional: false,
            })
            .collect();
        self.backend.delete(&token_secret_name(&id)).await?;
        self.apply_changes(removal).await
    }

    /// Delete every token secret, then every index entry.
    pub(super) async fn delete_all(&self) -> Result<()> {
        let listed = self.backend.list(TOKEN_PREFIX).await?;
        for name in &listed {
            self.backend.delete(name).await?;
        }
        let leaves = self.walk().await?;
        let mut changes = Vec::new();
        for (_, shard) in leaves {
            changes.extend(shard.live().into_iter().map(|e| Change {
                key: e.key,
                id: e.id,
                live: false,
                optional: false,
            }));
        }
        self.apply_changes(changes).await
    }
}
