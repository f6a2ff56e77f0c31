//! Rebuilding the index from the token secrets.

use super::commit::IndexState;
use super::index::{EntryKeys, Index};
use super::{INDEX_NAME, SecretIndexStore, TOKEN_PREFIX, now_ms};
use crate::{ErrorKind, Result};

/// What [`SecretIndexStore::repair`] found and fixed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RepairReport {
    /// Token secrets read.
    pub tokens_scanned: usize,
    /// Index entries added for tokens the index did not know.
    pub entries_added: usize,
    /// Index entries corrected (wrong keys) or removed (token secret gone).
    pub entries_fixed: usize,
}

impl SecretIndexStore {
    /// Rebuild the index from the token secrets: index tokens written by a save that
    /// crashed before its index write, correct entries whose keys are stale, drop entries
    /// whose token is gone. Costs one list, one read per token and one index write.
    pub async fn repair(&self) -> Result<RepairReport> {
        self.rebuild().await.map_err(|e| self.err(e, "repair"))
    }

    async fn rebuild(&self) -> Result<RepairReport> {
        let mut ids: Vec<String> = self
            .backend
            .list(TOKEN_PREFIX)
            .await?
            .into_iter()
            .filter_map(|name| name.strip_prefix(TOKEN_PREFIX).map(str::to_string))
            .filter(|id| crate::lookup::parse_id(id).is_ok())
            .collect();
        ids.sort_by_key(|id| crate::lookup::id_number(id));
        let tokens = self.read_tokens(&ids).await?;
        let current = match self.read_index().await {
            Err(e) if e.kind() == ErrorKind::Corrupt => {
                // A corrupt index is rebuilt from scratch on top of its current version.
                let version = self.backend.get(INDEX_NAME).await?.map(|v| v.version);
                IndexState {
                    index: Index::empty(),
                    version,
                }
            }
            other => other?,
        };
        let mut report = RepairReport {
            tokens_scanned: tokens.len(),
            ..RepairReport::default()
        };
        let before: &Index = &current.index;
        for token in &tokens {
            let id = token.id.as_deref().expect("decoded tokens have ids");
            match before.keys_of(id) {
                None => report.entries_added += 1,
                Some(keys) if keys != EntryKeys::of(token) => report.entries_fixed += 1,
                Some(_) => {}
            }
        }
        let present: Vec<&str> = tokens.iter().filter_map(|t| t.id.as_deref()).collect();
        report.entries_fixed += before
            .live_ids()
            .iter()
            .filter(|id| !present.contains(&id.as_str()))
            .count();
        self.commit_index(current, |index| {
            let stamp = now_ms();
            let mut changed = false;
            for token in &tokens {
                changed |= index.upsert(
                    token.id.as_deref().expect("decoded tokens have ids"),
                    &EntryKeys::of(token),
                    stamp,
                );
            }
            for id in index.live_ids() {
                if !present.contains(&id.as_str()) {
                    changed |= index.remove(&id, stamp);
                }
            }
            changed
        })
        .await?;
        Ok(report)
    }
}
