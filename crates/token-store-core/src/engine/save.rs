//! Saving a token, in the order the index invariants need: [`plan_save`] decides everything
//! a save writes and runs every check, so a save that is refused has written nothing; then
//! the index entries the token gains are written, then the token, then the entries it loses
//! are committed. A new token first gets an id and afterwards settles the races a first
//! save of its user can have ([`super::duplicates`]).
//!
//! [`plan_save`]: SecretIndexStore::plan_save

use crate::lookup::{MAX_ID, merge_for_save, parse_id, validate_for_save};
use crate::{Error, ErrorKind, IndexProtocol, Result, Token};

use super::keys::{Key, keys_of};
use super::tree::Change;
use super::{SecretIndexStore, token_secret_name};

/// Collisions with ids other writers took that a first save tolerates before it gives up.
const MAX_ID_COLLISIONS: u32 = 32;

/// What a save writes, decided before any write.
struct SavePlan {
    /// The token as it will be stored.
    row: Token,
    /// Where it goes.
    target: Target,
}

/// Where a planned token goes.
enum Target {
    /// Over the stored token `id`.
    Existing {
        id: String,
        /// Entries of the keys the token gains, written before it.
        gained: Vec<Change>,
        /// The token's new secret value; `None` when nothing changed.
        value: Option<String>,
        /// Entries of the keys it no longer has, removed after it.
        lost: Vec<Change>,
    },
    /// A new token under the id the caller gave.
    GivenId(u64),
    /// A new token under an id the engine hands out.
    NewId,
}

/// What creating a token's secret found.
enum Created {
    /// The token is stored.
    Stored,
    /// A concurrent writer holds the id (the `AlreadyExists` error).
    IdTaken(Error),
}

impl SecretIndexStore {
    /// Save `token`: plan, then write the entries it gains, the token, and commit the entries
    /// it loses.
    pub(super) async fn save(&self, token: &Token) -> Result<Token> {
        let SavePlan { mut row, target } = self.plan_save(token).await?;
        match target {
            Target::Existing {
                id,
                gained,
                value,
                lost,
            } => {
                self.commit_entries(gained).await?;
                if let Some(value) = value {
                    self.backend.put(&token_secret_name(&id), &value).await?;
                }
                self.commit_entries(lost).await?;
                Ok(row)
            }
            Target::GivenId(id) => match self.create_token(&mut row, id).await? {
                Created::Stored => {
                    self.raise_high_water_mark(id).await?;
                    Ok(row)
                }
                // Someone created this id since we looked: it is an update after all.
                Created::IdTaken(_) => Box::pin(self.save(token)).await,
            },
            Target::NewId => {
                self.create_under_new_id(&mut row).await?;
                self.settle_first_save(row).await
            }
        }
    }

    /// Check `token`, find the stored token it updates, merge them, and check the result
    /// fits the backend: nothing is written.
    async fn plan_save(&self, token: &Token) -> Result<SavePlan> {
        let token = token.clone().normalized();
        validate_for_save(&token)?;
        let existing = match &token.id {
            Some(id) => {
                parse_id(id)?;
                self.read_token(id).await?
            }
            None => self.lookup(&token).await?,
        };
        let row = merge_for_save(&token, existing.as_ref())?;
        let target = match existing {
            Some(existing) => self.plan_update(&existing, &row)?,
            None => {
                // The id a new token gets is at most 10 digits: check the widest.
                let mut widest = row.clone();
                widest.id = Some(MAX_ID.to_string());
                self.encode_token(&widest)?;
                match &row.id {
                    Some(id) => Target::GivenId(parse_id(id)?),
                    None => Target::NewId,
                }
            }
        };
        Ok(SavePlan { row, target })
    }

    /// The index changes and new value of stored token `existing` becoming `row`.
    fn plan_update(&self, existing: &Token, row: &Token) -> Result<Target> {
        let id = existing.id.clone().unwrap_or_default();
        let old = keys_of(existing, &id);
        let new = keys_of(row, &id);
        let gained = additions(row, &id)
            .into_iter()
            .filter(|c| !old.contains(&c.key))
            .collect();
        let value = if row != existing {
            Some(self.encode_token(row)?)
        } else {
            None
        };
        let lost = old
            .into_iter()
            .filter(|key| !new.contains(key))
            .map(|key| Change {
                // An old access-token entry goes with the next write of its shard (or is
                // verified away later); the rarer keys are removed now.
                optional: key.tag() == 'a',
                key,
                id: id.clone(),
                live: false,
            })
            .collect();
        Ok(Target::Existing {
            id,
            gained,
            value,
            lost,
        })
    }

    /// Apply index changes, when there are any.
    async fn commit_entries(&self, changes: Vec<Change>) -> Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        self.apply_changes(changes).await
    }

    /// Write `row`'s entries under `id` (they point at a token that does not hold the keys
    /// yet, which lookups verify away), then create its secret, create-only: a name taken by
    /// a concurrent writer is never overwritten.
    async fn create_token(&self, row: &mut Token, id: u64) -> Result<Created> {
        let id = id.to_string();
        row.id = Some(id.clone());
        let value = self.encode_token(row)?;
        self.apply_changes(additions(row, &id)).await?;
        match self.backend.create(&token_secret_name(&id), &value).await {
            Ok(_) => Ok(Created::Stored),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(Created::IdTaken(e)),
            Err(e) => Err(e),
        }
    }

    /// Create `row` under a handed-out id, taking another while concurrent writers hold it.
    async fn create_under_new_id(&self, row: &mut Token) -> Result<()> {
        let mut id = self.allocate_id(0).await?;
        let mut collisions = 0;
        loop {
            match self.create_token(row, id).await? {
                Created::Stored => return Ok(()),
                Created::IdTaken(e) if collisions >= MAX_ID_COLLISIONS => return Err(e),
                Created::IdTaken(_) => {
                    collisions += 1;
                    id = self.allocate_id(collisions).await?;
                }
            }
        }
    }

    /// After a first save under a handed-out id: make sure the id's entry survived, then fold
    /// concurrent first saves of the same user into one token.
    async fn settle_first_save(&self, row: Token) -> Result<Token> {
        if self.backend.index_protocol() == IndexProtocol::MergeLog {
            self.confirm_id_entry(&row.id.clone().unwrap_or_default())
                .await?;
        }
        if let Some(user) = row.user_name.clone() {
            return self.fold_duplicate_user(row, &user).await;
        }
        Ok(row)
    }

    /// After creating a token under an id from a merge-log root (which can hand one id to
    /// two writers), read the id's entry again and add it back if it is gone: the other
    /// writer may have removed its own token of that id as a duplicate, and with it the
    /// id's entry (the same for both), between our entries and our create. A removal that
    /// lands after this read is followed by the remover's re-read of the id, which finds
    /// our token and restores its entries ([`Self::remove_duplicate`]).
    async fn confirm_id_entry(&self, id: &str) -> Result<()> {
        let key = Key::of_id(id);
        let leaf = self.locate(&key).await?;
        if leaf.state.value.candidates(&key).iter().any(|c| c == id) {
            return Ok(());
        }
        self.apply_changes(vec![Change {
            key,
            id: id.to_string(),
            live: true,
            optional: false,
        }])
        .await
    }

    /// The token as stored, or `TooLarge` when it exceeds the backend's value limit.
    pub(super) fn encode_token(&self, token: &Token) -> Result<String> {
        let value = serde_json::to_string(token).map_err(|e| {
            Error::new(ErrorKind::Unexpected, "token does not serialize").with_source(e)
        })?;
        let limits = self.backend.limits();
        limits.check_value_size(self.backend.kind(), "the token", &value)?;
        Ok(value)
    }
}

/// Index entries for every key of `row` (stored as token `id`).
pub(super) fn additions(row: &Token, id: &str) -> Vec<Change> {
    keys_of(row, id)
        .into_iter()
        .map(|key| Change {
            key,
            id: id.to_string(),
            live: true,
            optional: false,
        })
        .collect()
}
