//! Concurrent first saves of one user: each created a token, and the smallest id survives.

use std::time::Duration;

use crate::lookup::LookupKey;
use crate::{Result, Token};

use super::keys::Key;
use super::save::additions;
use super::{SecretIndexStore, token_secret_name};

impl SecretIndexStore {
    /// Concurrent first saves of one user name each created a token; the smallest id
    /// survives. Entries are written before tokens, so of two such writers at least one sees
    /// the other's entries when it checks after its create (a token whose entries exist but
    /// which is not created yet is waited for briefly). A writer that sees a smaller token of
    /// its user moves its values into the smallest and removes its own token; a writer that
    /// is the smallest removes the larger ones it sees.
    pub(super) async fn fold_duplicate_user(&self, row: Token, user: &str) -> Result<Token> {
        let my_number = crate::lookup::id_number(row.id.as_deref().unwrap_or(""));
        let key = LookupKey::UserName(user);
        let hashed = Key::of_lookup(&key);
        let mut wait = Duration::from_millis(50);
        let mut others: Vec<Token> = Vec::new();
        for attempt in 0..5 {
            let leaf = if attempt == 0 {
                self.locate_cached(&hashed, self.fresh_since()).await?
            } else {
                self.locate(&hashed).await?
            };
            let mut pending = false;
            others.clear();
            for id in leaf.state.value.candidates(&hashed) {
                if crate::lookup::id_number(&id) == my_number {
                    continue;
                }
                match self.read_token(&id).await? {
                    Some(stored) if key.matches(&stored) => others.push(stored),
                    Some(_) => {}
                    None => pending |= crate::lookup::id_number(&id) < my_number,
                }
            }
            if !pending {
                break;
            }
            tokio::time::sleep(wait).await;
            wait *= 2;
        }
        let smallest = others
            .iter()
            .min_by_key(|t| crate::lookup::id_number(t.id.as_deref().unwrap_or("")));
        match smallest {
            Some(keep)
                if crate::lookup::id_number(keep.id.as_deref().unwrap_or("")) < my_number =>
            {
                let merged = self.yield_to(row, keep.clone()).await?;
                // The token yielded to may itself have been removed by a smaller one meanwhile
                // (and just written again): fold once more from it (ids only decrease).
                Box::pin(self.fold_duplicate_user(merged, user)).await
            }
            _ => {
                for larger in &others {
                    self.remove_duplicate(larger).await?;
                }
                Ok(row)
            }
        }
    }

    /// Move `row`'s values into `keep` (a token of the same user with a smaller id), then
    /// remove `row`'s own token.
    async fn yield_to(&self, row: Token, keep: Token) -> Result<Token> {
        let keep_id = keep.id.clone().unwrap_or_default();
        let mut merged = row.clone();
        merged.merge_from(&keep);
        merged.id = Some(keep_id.clone());
        self.apply_changes(additions(&merged, &keep_id)).await?;
        self.backend
            .put(&token_secret_name(&keep_id), &self.encode_token(&merged)?)
            .await?;
        self.remove_duplicate(&row).await?;
        Ok(merged)
    }

    /// Remove a duplicate of a user found earlier. Its id may meanwhile hold another token
    /// (a merge-log root can hand one id to two writers; once the duplicate is gone the id is
    /// free for the other), whose entries are then restored; or the duplicate itself again (a
    /// concurrent write to it landed after its delete), which is removed once more.
    /// A token created after that re-read finds its id entry missing and adds it again
    /// ([`Self::confirm_id_entry`]).
    pub(super) async fn remove_duplicate(&self, token: &Token) -> Result<()> {
        let id = token.id.clone().unwrap_or_default();
        for _ in 0..3 {
            match self.read_token(&id).await? {
                Some(now) if now.user_name == token.user_name => {
                    self.remove_token(&now).await?;
                }
                Some(other) => return self.apply_changes(additions(&other, &id)).await,
                None => return Ok(()),
            }
        }
        Ok(())
    }
}
