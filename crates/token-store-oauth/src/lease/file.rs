//! [`FileLease`]: an OS file lock beside the token file or database.

use std::collections::HashMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use token_store_core::{Error, ErrorKind, Result};

use super::{Lease, key_digest};

/// An exclusive lock (`flock`) on `<base>.lease-<digest>`, held while refreshing.
///
/// Every process (and every `FileLease`) on the machine that names the same base path
/// excludes the others; the OS drops the lock when its holder exits, so a crash blocks no
/// one. For stores that live on one machine's disk: the file store and SQLite. `ttl` is not
/// needed: the lock lives exactly as long as the holder.
#[derive(Debug)]
pub struct FileLease {
    base: PathBuf,
    held: Mutex<HashMap<String, File>>,
}

impl FileLease {
    /// Leases on files named after `base` (e.g. the token file or the SQLite database path).
    pub fn new(base: impl Into<PathBuf>) -> Self {
        Self {
            base: base.into(),
            held: Mutex::new(HashMap::new()),
        }
    }

    fn path(&self, key: &str) -> PathBuf {
        let mut name = self.base.clone().into_os_string();
        name.push(format!(".lease-{}", key_digest(key)));
        name.into()
    }

    fn held(&self) -> std::sync::MutexGuard<'_, HashMap<String, File>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn io_error(err: std::io::Error) -> Error {
    Error::new(ErrorKind::Unavailable, "cannot lock the lease file")
        .with_backend("file-lease")
        .with_source(err)
}

#[async_trait]
impl Lease for FileLease {
    async fn try_acquire(&self, key: &str, holder: &str, _ttl: Duration) -> Result<bool> {
        let slot = format!("{key}\0{holder}");
        if self.held().contains_key(&slot) {
            return Ok(true);
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.path(key))
            .map_err(io_error)?;
        match file.try_lock() {
            Ok(()) => {
                self.held().insert(slot, file);
                Ok(true)
            }
            Err(TryLockError::WouldBlock) => Ok(false),
            Err(TryLockError::Error(err)) => Err(io_error(err)),
        }
    }

    async fn release(&self, key: &str, holder: &str) -> Result<()> {
        // Dropping the file closes it, which releases the lock.
        self.held().remove(&format!("{key}\0{holder}"));
        Ok(())
    }

    fn kind(&self) -> &'static str {
        "file-lock"
    }
}
