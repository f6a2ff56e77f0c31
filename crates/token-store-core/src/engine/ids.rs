//! Token ids: handed out from blocks reserved in the index root, and the root's high-water
//! mark, which keeps every id ever used (saved with its own id, or deleted) from being
//! handed out again.

use std::sync::{Mutex, PoisonError};

use crate::{Error, ErrorKind, Result};

use super::commit::{State, Step};
use super::tree::SPLIT_WRITES_PER_DAY;
use super::values::Root;
use super::{INDEX_NAME, SecretIndexStore};

impl SecretIndexStore {
    /// The index root, converted first when it is still in the first format.
    async fn current_root(&self) -> Result<State<Root>> {
        let root = self.read_value::<Root>(INDEX_NAME).await?;
        if !root.value.is_legacy() {
            return Ok(root);
        }
        self.upgrade(root).await?;
        self.read_value::<Root>(INDEX_NAME).await
    }

    /// A fresh id: from this process's reserved ids, else reserved from the root (one
    /// root write; several ids at once when the root is busy, so it stays under its rate).
    /// `collisions` counts the ids this save already found taken: the pool is then dropped
    /// (another process reserved the same ids, as merge-log roots allow) and the reservation
    /// starts a random distance past the high-water mark so racing writers spread out.
    pub(super) async fn allocate_id(&self, collisions: u32) -> Result<u64> {
        if collisions > 0 {
            self.id_pool
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clear();
        }
        if let Some(id) = self
            .id_pool
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
        {
            return Ok(id);
        }
        let root = self.current_root().await?;
        let block = id_block(root.value.writes_in_window(self.now_minute()));
        // Merge-log roots have no compare-and-swap: writers reading the same root reserve the
        // same ids (the create of all but one fails). After a collision, start a random
        // distance past the mark so racing writers rarely pick the same ids again.
        let skip = if collisions > 0 {
            rand::Rng::random_range(&mut rand::rng(), 0..u64::from(collisions) * 4)
        } else {
            0
        };
        let reserved = Mutex::new(0u64);
        self.commit_value(INDEX_NAME, root, |value: &mut Root| {
            let first = value.hi + 1 + skip;
            if first + block - 1 > crate::lookup::MAX_ID {
                return Step::Abort;
            }
            value.hi = first + block - 1;
            *reserved.lock().unwrap_or_else(PoisonError::into_inner) = first;
            Step::Write
        })
        .await?;
        let first = *reserved.lock().unwrap_or_else(PoisonError::into_inner);
        if first == 0 {
            return Err(Error::new(
                ErrorKind::TooLarge,
                "no token id left: ids are limited to 10 digits",
            ));
        }
        let mut pool = self.id_pool.lock().unwrap_or_else(PoisonError::into_inner);
        pool.extend((first + 1..first + block).rev());
        Ok(first)
    }

    /// Make the root's id high-water mark cover `id` (a token saved with its own id, or
    /// deleted), so the id is never handed out and new ids follow the largest. When the root
    /// is busy (a migration saving many tokens with their ids) it jumps ahead, leaving a gap
    /// rather than writing the root once per token.
    pub(super) async fn raise_high_water_mark(&self, id: u64) -> Result<()> {
        let root = self.current_root().await?;
        if root.value.hi >= id {
            return Ok(());
        }
        let busy = root.value.writes_in_window(self.now_minute()) >= SPLIT_WRITES_PER_DAY / 2;
        let target = if busy {
            (id + 1024).min(crate::lookup::MAX_ID)
        } else {
            id
        };
        self.commit_value(INDEX_NAME, root, |value: &mut Root| {
            if value.hi >= id {
                return Step::Skip;
            }
            value.hi = target;
            Step::Write
        })
        .await?;
        Ok(())
    }
}

/// Ids to reserve with one root write when the root was written `recent_writes` times in
/// the last 24 hours: one while it is quiet, then doubling every 8 writes (a bulk load of
/// 10,000 tokens takes under 90 root writes), so the root stays under its write rate. Ids
/// a process reserved and did not use are skipped (ids are increasing, not gap-free).
fn id_block(recent_writes: usize) -> u64 {
    const QUIET: usize = 16;
    if recent_writes < QUIET {
        return 1;
    }
    let doublings = ((recent_writes - QUIET) / 8 + 1).min(12) as u32;
    1 << doublings
}
