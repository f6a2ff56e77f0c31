//! [`FileLease`]: an OS file lock beside the token file or database.

use std::collections::HashMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use token_store_core::{Error, ErrorKind, Result};

use super::{Attempt, Lease, from_ms, key_digest, now_ms, to_ms};

/// An exclusive lock (`flock`) on `<base>.lease-<digest>`, held while refreshing.
///
/// Every process (and every `FileLease`) on the machine that names the same base path
/// excludes the others; the OS drops the lock when its holder exits, so a crash blocks no
/// one. For stores that live on one machine's disk: the file store and SQLite. `ttl` is not
/// needed: the lock lives exactly as long as the holder. A block writes the rate window's end
/// (Unix ms) into the lock file, which every later attempt reads.
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

/// The blocked-until instant written in a lock file, if any.
fn blocked_until(file: &mut File) -> std::io::Result<Option<i64>> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0))?;
    file.read_to_string(&mut text)?;
    Ok(text.trim().parse::<i64>().ok())
}

#[async_trait]
impl Lease for FileLease {
    async fn try_acquire(&self, key: &str, holder: &str, _ttl: Duration) -> Result<Attempt> {
        let slot = format!("{key}\0{holder}");
        if self.held().contains_key(&slot) {
            return Ok(Attempt::Acquired);
        }
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(self.path(key))
            .map_err(io_error)?;
        match file.try_lock() {
            Ok(()) => {
                if let Some(until) = blocked_until(&mut file).map_err(io_error)?
                    && until > now_ms()
                {
                    return Ok(Attempt::Blocked(from_ms(until)));
                }
                self.held().insert(slot, file);
                Ok(Attempt::Acquired)
            }
            Err(TryLockError::WouldBlock) => Ok(Attempt::Held),
            Err(TryLockError::Error(err)) => Err(io_error(err)),
        }
    }

    async fn release(&self, key: &str, holder: &str) -> Result<()> {
        // Dropping the file closes it, which releases the lock.
        self.held().remove(&format!("{key}\0{holder}"));
        Ok(())
    }

    async fn block(&self, key: &str, holder: &str, until: SystemTime) -> Result<()> {
        let slot = format!("{key}\0{holder}");
        let Some(mut file) = self.held().remove(&slot) else {
            return Ok(());
        };
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(to_ms(until).to_string().as_bytes()))
            .and_then(|()| file.sync_data())
            .map_err(io_error)
    }

    fn kind(&self) -> &'static str {
        "file-lock"
    }
}
