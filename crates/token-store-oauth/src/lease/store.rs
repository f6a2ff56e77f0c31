//! [`StoreLease`]: a lease kept as a token row of the store itself (write, wait, read back).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use token_store_core::{Result, Token, TokenStore};

use super::{Attempt, Lease, from_ms, key_digest, now_ms, to_ms};

/// The holder a blocked lease row names (holder ids are hex: it never collides).
const BLOCKED: &str = "blocked";

/// A lease row in any [`TokenStore`]: user name `token-store-lease:<digest>`, the holder in
/// the access token field, the lease end in `expiry_time`.
///
/// Protocol (Fischer's): when the row is free or expired, write it with our holder id, wait
/// `settle`, read it back; we hold it when our id is still there. Sound when every write
/// completes within `settle` and reads see the last write; otherwise two holders may both
/// refresh (never worse than no lease). A block names the holder `blocked` until the rate
/// window's end. The row shows up in `get_tokens`. Use it where the
/// store offers no conditional write reachable from here (memory, MySQL).
#[derive(Debug, Clone)]
pub struct StoreLease {
    store: Arc<dyn TokenStore>,
    settle: Duration,
}

impl StoreLease {
    /// A lease kept in `store`, waiting `settle` between write and read-back.
    pub fn new(store: Arc<dyn TokenStore>, settle: Duration) -> Self {
        Self { store, settle }
    }

    fn row_query(key: &str) -> Token {
        Token {
            user_name: Some(format!("token-store-lease:{}", key_digest(key))),
            ..Token::default()
        }
    }

    async fn read(&self, key: &str) -> Result<Option<(String, i64)>> {
        Ok(self
            .store
            .find_token(&Self::row_query(key))
            .await?
            .and_then(|row| Some((row.access_token?, row.expiry_time.unwrap_or(0)))))
    }

    async fn write(&self, key: &str, holder: &str, until_ms: i64) -> Result<()> {
        let mut row = Self::row_query(key);
        row.access_token = Some(holder.to_owned());
        row.expiry_time = Some(until_ms);
        self.store.save_token(&row).await.map(drop)
    }
}

#[async_trait]
impl Lease for StoreLease {
    async fn try_acquire(&self, key: &str, holder: &str, ttl: Duration) -> Result<Attempt> {
        if let Some((current, until)) = self.read(key).await?
            && until > now_ms()
        {
            if current == BLOCKED {
                return Ok(Attempt::Blocked(from_ms(until)));
            }
            if current != holder {
                return Ok(Attempt::Held);
            }
        }
        let until = now_ms() + ttl.as_millis() as i64;
        self.write(key, holder, until).await?;
        tokio::time::sleep(self.settle).await;
        let won = self
            .read(key)
            .await?
            .is_some_and(|(current, at)| current == holder && at == until);
        Ok(if won {
            Attempt::Acquired
        } else {
            Attempt::Held
        })
    }

    async fn renew(&self, key: &str, holder: &str, ttl: Duration) -> Result<bool> {
        match self.read(key).await? {
            Some((current, _)) if current == holder => {
                let until = now_ms() + ttl.as_millis() as i64;
                self.write(key, holder, until).await.map(|()| true)
            }
            _ => Ok(false),
        }
    }

    async fn block(&self, key: &str, _holder: &str, until: SystemTime) -> Result<()> {
        self.write(key, BLOCKED, to_ms(until)).await
    }

    async fn release(&self, key: &str, holder: &str) -> Result<()> {
        match self.read(key).await? {
            Some((current, _)) if current == holder => self.write(key, holder, 0).await,
            _ => Ok(()),
        }
    }

    fn kind(&self) -> &'static str {
        "write-verify"
    }
}
