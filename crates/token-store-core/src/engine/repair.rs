//! Rebuilding the index from the token secrets.

use std::collections::BTreeSet;

use super::commit::Step;
use super::keys::{Key, keys_of};
use super::tree::Change;
use super::values::Root;
use super::{INDEX_NAME, SHARD_PREFIX, SecretIndexStore, TOKEN_PREFIX};
use crate::{ErrorKind, Result};

/// How long an index entry of a token that does not exist is taken for a save in flight.
const IN_FLIGHT_MS: u64 = 10 * 60 * 1000;

/// How recent a stored token is: its access token's expiry, then its id.
fn recency(token: &crate::Token) -> (i64, u64) {
    (
        token.expiry_time.unwrap_or(i64::MIN),
        crate::lookup::id_number(token.id.as_deref().unwrap_or("")),
    )
}

/// What [`SecretIndexStore::repair`] found and fixed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RepairReport {
    /// Token secrets read.
    pub tokens_scanned: usize,
    /// Index entries added for keys the index did not know.
    pub entries_added: usize,
    /// Index entries removed (stale keys, tokens gone) and unreadable index secrets reset.
    pub entries_fixed: usize,
    /// Token secrets deleted because another token of the same user name was newer (a store
    /// that lost its index under an older version of this library could hold two).
    pub duplicates_folded: usize,
}

impl SecretIndexStore {
    /// Rebuild the index from the token secrets: fold tokens that share a user name into the
    /// newest, add entries for keys a token holds that the
    /// index lacks, remove entries whose token no longer holds the key or has been gone for
    /// ten minutes (younger ones may belong to a save in flight), reset
    /// unreadable index secrets, and convert a first-format index. Costs one list, one read
    /// per token (batched where the service can) and one read and write per shard.
    pub async fn repair(&self) -> Result<RepairReport> {
        self.rebuild().await.map_err(|e| self.err(e, "repair"))
    }

    pub(crate) async fn rebuild(&self) -> Result<RepairReport> {
        let mut report = RepairReport::default();
        report.entries_fixed += self.reset_unreadable().await?;
        let mut ids: Vec<String> = self
            .backend
            .list(TOKEN_PREFIX)
            .await?
            .into_iter()
            .filter_map(|name| name.strip_prefix(TOKEN_PREFIX).map(str::to_string))
            .filter(|id| crate::lookup::parse_id(id).is_ok())
            .collect();
        ids.sort_by_key(|id| crate::lookup::id_number(id));
        let mut tokens = self.read_tokens(&ids).await?;
        report.tokens_scanned = tokens.len();
        report.duplicates_folded = self.fold_duplicate_users(&mut tokens).await?;
        let wanted: BTreeSet<(Key, String)> = tokens
            .iter()
            .flat_map(|t| {
                let id = t.id.clone().unwrap_or_default();
                keys_of(t, &id).into_iter().map(move |k| (k, id.clone()))
            })
            .collect();
        // Entries written in the last minutes may belong to a save in flight (entries are
        // written before their token): they are kept, and verified away if stale.
        let settled = self.now_ms().saturating_sub(IN_FLIGHT_MS);
        let stored: BTreeSet<&str> = tokens.iter().filter_map(|t| t.id.as_deref()).collect();
        let present: BTreeSet<(Key, String)> = self
            .walk()
            .await?
            .into_iter()
            .flat_map(|(_, shard)| shard.live())
            .filter(|e| e.stamp < settled || stored.contains(e.id.as_str()))
            .map(|e| (e.key, e.id))
            .collect();
        let mut changes = Vec::new();
        for (key, id) in wanted.difference(&present) {
            report.entries_added += 1;
            changes.push(Change {
                key: key.clone(),
                id: id.clone(),
                live: true,
                optional: false,
            });
        }
        for (key, id) in present.difference(&wanted) {
            report.entries_fixed += 1;
            changes.push(Change {
                key: key.clone(),
                id: id.clone(),
                live: false,
                optional: false,
            });
        }
        self.apply_changes(changes).await?;
        let highest = ids
            .iter()
            .map(|id| crate::lookup::id_number(id))
            .max()
            .unwrap_or(0);
        let root = self.read_value::<Root>(INDEX_NAME).await?;
        self.commit_value(INDEX_NAME, root, |value: &mut Root| {
            if value.is_legacy() {
                *value = value.upgraded();
            } else if value.hi >= highest {
                return Step::Skip;
            }
            value.hi = value.hi.max(highest);
            Step::Write
        })
        .await?;
        Ok(report)
    }

    /// One token per user name: of tokens sharing one, the newest (latest access-token
    /// expiry, then largest id) stays and the others' secrets are deleted.
    async fn fold_duplicate_users(&self, tokens: &mut Vec<crate::Token>) -> Result<usize> {
        let mut newest: std::collections::BTreeMap<String, (i64, u64)> = Default::default();
        for token in tokens.iter() {
            if let Some(user) = token.user_name.as_deref().filter(|u| !u.is_empty()) {
                let rank = recency(token);
                let best = newest.entry(user.to_string()).or_insert(rank);
                *best = (*best).max(rank);
            }
        }
        let mut folded = 0;
        let mut kept = Vec::with_capacity(tokens.len());
        for token in tokens.drain(..) {
            let superseded = token
                .user_name
                .as_deref()
                .and_then(|user| newest.get(user))
                .is_some_and(|best| *best != recency(&token));
            if superseded {
                let id = token.id.clone().unwrap_or_default();
                self.backend.delete(&super::token_secret_name(&id)).await?;
                tracing::warn!(
                    backend = self.backend.kind(),
                    id,
                    "repair removed an older duplicate token of a user"
                );
                folded += 1;
            } else {
                kept.push(token);
            }
        }
        *tokens = kept;
        Ok(folded)
    }

    /// Delete index secrets whose value cannot be read as index data, so they are rebuilt.
    /// A first-format root is kept (it is converted). Returns how many were reset.
    async fn reset_unreadable(&self) -> Result<usize> {
        let mut names = self.backend.list(SHARD_PREFIX).await?;
        names.push(INDEX_NAME.to_string());
        let mut reset = 0;
        for name in names {
            let readable = if name == INDEX_NAME {
                self.read_value::<Root>(&name).await.map(|_| ())
            } else {
                self.read_value::<super::values::Shard>(&name)
                    .await
                    .map(|_| ())
            };
            match readable {
                Err(e) if e.kind() == ErrorKind::Corrupt => {
                    tracing::warn!(
                        backend = self.backend.kind(),
                        "unreadable index secret reset"
                    );
                    self.backend.delete(&name).await?;
                    reset += 1;
                }
                other => other?,
            }
        }
        Ok(reset)
    }
}
