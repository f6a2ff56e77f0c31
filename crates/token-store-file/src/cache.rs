//! The parsed token file kept between calls, and the rule that decides when it may be reused.
//!
//! # When the cached parse is reused
//!
//! Every call starts with a `stat` of the path. The cached [`Snapshot`] is reused only when
//! the file's [`Stamp`] is unchanged (device and inode, size, modification time and — on Unix
//! — change time, both with nanoseconds) **and** the snapshot is *settled*; otherwise the file
//! is opened, `fstat`ed and read, and its bytes are compared with the cached bytes (equal: the
//! parse is reused, no re-parse) or parsed anew.
//!
//! A stamp alone cannot prove that the content is unchanged: a write in the same timestamp
//! tick as the previous one (1 s on some file systems, a few ms on others) to a file of the
//! same size leaves the stamp as it was, and an inode number freed by a rename can be handed
//! to the next file. So a snapshot starts *unsettled* — every use reads the file and compares
//! the bytes — and becomes settled only once the file system's own clock has moved past the
//! file's timestamps:
//!
//! 1. before opening the file, a probe file is created in the same directory (`O_TMPFILE` on
//!    Linux, unlinked at once) and its modification time `P` read: a timestamp of the file
//!    system's clock, at its granularity;
//! 2. the file is opened, `fstat`ed (stamp `S`) and read whole (its length must be `S`'s size);
//! 3. the snapshot holding those bytes is settled when `P ≥ max(mtime, ctime of S) +` [`MARGIN`].
//!
//! Why that is sound: any later change of the file — an in-place write, a truncation, a
//! `rename` over the path (a new inode, created now), a `utimes`, a `chmod` — happens after
//! the probe, so it gives the path a modification or change time of at least `P`, which is
//! later than both of `S`'s: the stamp differs and the next call re-reads. A change made
//! before the `fstat` is in `S` and in the bytes read. The margin covers a `write(2)` whose
//! timestamp update came before the probe while it was still copying bytes during our read
//! (a same-size in-place overwrite, the only kind of write that changes neither the size nor
//! the stamp afterwards); it is far longer than copying a token file takes. What this
//! relies on: the file system's clock does not go backwards (nobody steps the clock back or
//! sets a file's times into the past *and* keeps its change time — which `utimes` cannot do),
//! and the probe and the token file share the file system and its clock (they share the
//! directory). When the probe cannot be made (a read-only directory), nothing is ever settled:
//! every call compares the bytes, which is correct and slower.
//!
//! A store's own write caches the rows it wrote with the stamp of the renamed file, unsettled:
//! a writer that does not take the lock (the Python SDK writes in place) may have written in
//! the same tick, so the next call compares the bytes first.

use std::fs::{File, Metadata};
use std::hash::BuildHasher as _;
use std::io::{self, Read as _};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, SystemTime};

use token_store_core::lookup::{LookupKey, find_match, id_number};
use token_store_core::{Result, Token};

use crate::error::io_error;
use crate::format::{Serialized, parse, splice_row};

/// How long after the file's last timestamp the file system's clock must be before a
/// snapshot is trusted on its stamp alone (see the module documentation).
pub(crate) const MARGIN: Duration = Duration::from_millis(10);

/// What `stat` says about the token file: it changes whenever the file does, except for a
/// write within one timestamp tick (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    #[cfg(unix)]
    device: u64,
    #[cfg(unix)]
    inode: u64,
    #[cfg(unix)]
    changed: Option<SystemTime>,
    #[cfg(not(unix))]
    created: Option<SystemTime>,
}

impl Stamp {
    pub(crate) fn of(meta: &Metadata) -> Self {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt as _;
            let changed = u64::try_from(meta.ctime()).ok().and_then(|secs| {
                let nanos = u32::try_from(meta.ctime_nsec()).ok()?;
                SystemTime::UNIX_EPOCH.checked_add(Duration::new(secs, nanos))
            });
            Self {
                len: meta.len(),
                modified: meta.modified().ok(),
                device: meta.dev(),
                inode: meta.ino(),
                changed,
            }
        }
        #[cfg(not(unix))]
        {
            Self {
                len: meta.len(),
                modified: meta.modified().ok(),
                created: meta.created().ok(),
            }
        }
    }

    /// The latest timestamp any change of the file sets, `None` when unknown.
    fn latest(&self) -> Option<SystemTime> {
        #[cfg(unix)]
        let changed = self.changed?;
        #[cfg(not(unix))]
        let changed = self.modified?;
        Some(self.modified?.max(changed))
    }
}

/// The token file as read once: its stamp, bytes and rows.
pub(crate) struct Snapshot {
    /// `None`: the file did not exist.
    stamp: Option<Stamp>,
    /// The file's bytes, compared with the file while the snapshot is not settled.
    bytes: Vec<u8>,
    /// Where each row starts in `bytes`, then their length, when this store wrote them
    /// (empty when the file was read: a save then serializes every row).
    row_starts: Vec<usize>,
    /// Data rows in file order.
    pub(crate) rows: Vec<Arc<Token>>,
    /// The file had the old 9-column layout.
    pub(crate) needs_migration: bool,
    settled: AtomicBool,
    index: OnceLock<Index>,
}

impl Snapshot {
    fn missing() -> Self {
        Self::new(None, Vec::new(), Vec::new(), false)
    }

    fn new(stamp: Option<Stamp>, bytes: Vec<u8>, rows: Vec<Arc<Token>>, settled: bool) -> Self {
        Self {
            stamp,
            bytes,
            row_starts: Vec::new(),
            rows,
            needs_migration: false,
            settled: AtomicBool::new(settled),
            index: OnceLock::new(),
        }
    }

    /// The file with row `index` replaced by `token` (`index` = the row count: appended),
    /// spliced from this store's own last write; `None` when that is not possible.
    pub(crate) fn with_row(&self, index: usize, token: &Token) -> Option<Serialized> {
        splice_row(&self.bytes, &self.row_starts, index, token)
    }

    /// The file did not exist or was empty (0 bytes).
    pub(crate) fn is_blank(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The stored token `query` selects (the rules of [`find_match`], exact matches only).
    /// Uses the lookup index when it is built or `build_index` asks for it; else scans.
    pub(crate) fn find(&self, query: &Token, build_index: bool) -> Option<&Token> {
        let index = if build_index {
            Some(self.index())
        } else {
            self.index.get()
        };
        let Some(index) = index else {
            return find_match(query, self.rows.iter().map(|row| &**row));
        };
        let candidates: Vec<&Token> = token_store_core::lookup::lookup_keys(query)
            .iter()
            .flat_map(|key| index.rows_with(key))
            .map(|i| &*self.rows[i])
            .collect();
        // The index only narrows by hash: `find_match` compares the values exactly.
        find_match(query, candidates.iter().copied())
    }

    /// The row holding `id` (a valid id).
    pub(crate) fn by_id(&self, id: u64) -> Option<&Token> {
        let by_id = &self.index().by_id;
        let at = by_id.partition_point(|&(stored, _)| stored < id);
        by_id
            .get(at)
            .filter(|&&(stored, _)| stored == id)
            .map(|&(_, row)| &*self.rows[row])
    }

    /// Every row, ordered by numeric id.
    pub(crate) fn sorted(&self) -> Vec<Token> {
        self.index()
            .by_id
            .iter()
            .map(|&(_, row)| (*self.rows[row]).clone())
            .collect()
    }

    fn index(&self) -> &Index {
        self.index.get_or_init(|| Index::build(&self.rows))
    }
}

/// Row positions by the hash of each lookup column's value, and by id.
struct Index {
    hasher: std::hash::RandomState,
    /// `(hash of the value, row)`, sorted, for user_name, access, grant and refresh token.
    by_value: [Vec<(u64, usize)>; 4],
    /// `(id, row)`, sorted by id.
    by_id: Vec<(u64, usize)>,
}

impl Index {
    fn build(rows: &[Arc<Token>]) -> Self {
        let hasher = std::hash::RandomState::new();
        let by_value = [0, 1, 2, 3].map(|column| {
            let mut pairs: Vec<(u64, usize)> = rows
                .iter()
                .enumerate()
                .filter_map(|(i, row)| {
                    let value = Self::column(row, column)?;
                    Some((hasher.hash_one(value), i))
                })
                .collect();
            pairs.sort_unstable();
            pairs
        });
        let mut by_id: Vec<(u64, usize)> = rows
            .iter()
            .enumerate()
            .map(|(i, row)| (row.id.as_deref().map_or(0, id_number), i))
            .collect();
        by_id.sort_unstable();
        Self {
            hasher,
            by_value,
            by_id,
        }
    }

    fn column(row: &Token, column: usize) -> Option<&str> {
        let value = match column {
            0 => &row.user_name,
            1 => &row.access_token,
            2 => &row.grant_token,
            _ => &row.refresh_token,
        };
        value.as_deref().filter(|v| !v.is_empty())
    }

    /// The rows whose `key` column hashes like the key's value (a superset of the matches).
    fn rows_with(&self, key: &LookupKey<'_>) -> impl Iterator<Item = usize> + '_ {
        let column = match key {
            LookupKey::UserName(_) => 0,
            LookupKey::AccessToken(_) => 1,
            LookupKey::GrantToken(_) => 2,
            LookupKey::RefreshToken(_) => 3,
        };
        let hash = self.hasher.hash_one(key.value());
        let pairs = &self.by_value[column];
        let start = pairs.partition_point(|&(h, _)| h < hash);
        pairs[start..]
            .iter()
            .take_while(move |&&(h, _)| h == hash)
            .map(|&(_, row)| row)
    }
}

/// The last snapshot of one token file, shared by the clones of a `FileStore`.
pub(crate) struct Cache {
    path: Arc<PathBuf>,
    dir: PathBuf,
    slot: Mutex<Option<Arc<Snapshot>>>,
}

impl Cache {
    pub(crate) fn new(path: Arc<PathBuf>) -> Self {
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Self {
            path,
            dir,
            slot: Mutex::new(None),
        }
    }

    fn cached(&self) -> Option<Arc<Snapshot>> {
        self.slot
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set(&self, snapshot: Option<Arc<Snapshot>>) {
        *self.slot.lock().unwrap_or_else(PoisonError::into_inner) = snapshot;
    }

    /// The file as it is now: the cached snapshot when the rule of the module documentation
    /// allows it, else the file read (and compared, or parsed and cached). A missing file is
    /// an empty store; a corrupt one an error (and nothing stays cached).
    pub(crate) fn current(&self) -> Result<Arc<Snapshot>> {
        let cached = self.cached();
        if let Some(snapshot) = &cached {
            match std::fs::metadata(&*self.path) {
                Ok(meta)
                    if snapshot.stamp == Some(Stamp::of(&meta))
                        && snapshot.settled.load(Ordering::Acquire) =>
                {
                    return Ok(snapshot.clone());
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(self.missing()),
                Err(e) => return Err(io_error(e, "reading the token file")),
            }
        }
        let probe = self.probe();
        let mut file = match File::open(&*self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(self.missing()),
            Err(e) => return Err(io_error(e, "reading the token file")),
        };
        let read = |file: &mut File| -> io::Result<(Stamp, Vec<u8>)> {
            let stamp = Stamp::of(&file.metadata()?);
            let mut bytes = Vec::with_capacity(usize::try_from(stamp.len).unwrap_or(0) + 1);
            file.read_to_end(&mut bytes)?;
            Ok((stamp, bytes))
        };
        let (stamp, mut bytes) =
            read(&mut file).map_err(|e| io_error(e, "reading the token file"))?;
        drop(file);
        let settled = bytes.len() as u64 == stamp.len
            && probe
                .zip(stamp.latest())
                .is_some_and(|(probe, latest)| latest + MARGIN <= probe);
        if let Some(snapshot) = cached
            && snapshot.stamp == Some(stamp)
            && snapshot.bytes == bytes
        {
            if settled {
                snapshot.settled.store(true, Ordering::Release);
            }
            return Ok(snapshot);
        }
        let parsed = match parse(&mut bytes) {
            Ok(parsed) => parsed,
            Err(e) => {
                self.set(None);
                return Err(e);
            }
        };
        let mut snapshot = Snapshot::new(Some(stamp), bytes, parsed.rows, settled);
        snapshot.needs_migration = parsed.needs_migration;
        let snapshot = Arc::new(snapshot);
        self.set(Some(snapshot.clone()));
        Ok(snapshot)
    }

    fn missing(&self) -> Arc<Snapshot> {
        self.set(None);
        Arc::new(Snapshot::missing())
    }

    /// Cache what this store just wrote: `bytes` (the serialized `rows`) are the file whose
    /// metadata, taken after the rename, is `meta`. Unsettled (see the module documentation).
    pub(crate) fn wrote(&self, meta: &Metadata, file: Serialized, rows: Vec<Arc<Token>>) {
        let stamp = Stamp::of(meta);
        let snapshot = (stamp.len == file.bytes.len() as u64).then(|| {
            let mut snapshot = Snapshot::new(Some(stamp), file.bytes, rows, false);
            snapshot.row_starts = file.row_starts;
            Arc::new(snapshot)
        });
        self.set(snapshot);
    }

    /// The file system's clock now: the modification time of a file created in the token
    /// file's directory (unnamed and gone when closed). `None` when it cannot be made.
    fn probe(&self) -> Option<SystemTime> {
        tempfile::tempfile_in(&self.dir)
            .and_then(|file| file.metadata()?.modified())
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::HEADER;

    fn file_with(access: &str) -> Vec<u8> {
        format!("{}\r\n1,me,,,1000.r,{access},,,,\r\n", HEADER.join(",")).into_bytes()
    }

    /// A write within one timestamp tick to a file of the same size leaves the stamp as it
    /// was. Simulated by caching other bytes under the file's real stamp: an unsettled
    /// snapshot is compared with the file, so the file's content wins.
    #[test]
    fn an_unsettled_snapshot_with_the_files_stamp_is_checked_against_the_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = Arc::new(dir.path().join("sdk_tokens.txt"));
        std::fs::write(&*path, file_with("1000.on.disk")).unwrap();
        let cache = Cache::new(path.clone());
        let meta = std::fs::metadata(&*path).unwrap();
        let mut stale = file_with("1000.incache");
        assert_eq!(stale.len() as u64, meta.len());
        let rows = parse(&mut stale).unwrap().rows;
        let stale = Serialized {
            bytes: stale,
            row_starts: Vec::new(),
        };
        cache.wrote(&meta, stale, rows);
        let current = cache.current().unwrap();
        assert_eq!(
            current.rows[0].access_token.as_deref(),
            Some("1000.on.disk")
        );
        // Equal bytes: the cached parse is reused, and settled once the clock moved on.
        std::thread::sleep(MARGIN * 3);
        let again = cache.current().unwrap();
        assert!(Arc::ptr_eq(&current, &again), "no re-parse");
        assert!(again.settled.load(Ordering::Acquire));
        assert!(Arc::ptr_eq(&again, &cache.current().unwrap()));
    }

    #[test]
    fn the_index_narrows_by_hash_and_matches_exactly() {
        let mut bytes = format!(
            "{}\r\n3,me,,,1000.r,1000.a,,,,\r\n1,you,,,1000.r,1000.b,,,,\r\n2,me,,,1000.s,,,,,\r\n",
            HEADER.join(",")
        )
        .into_bytes();
        let rows = parse(&mut bytes).unwrap().rows;
        let snapshot = Snapshot::new(None, bytes, rows, false);
        let query = |name: &str| Token::builder().user_name(name).build();
        for build_index in [false, true] {
            let id = |q: &Token| snapshot.find(q, build_index).and_then(|t| t.id.clone());
            assert_eq!(id(&query("me")).as_deref(), Some("2"), "smallest id wins");
            assert_eq!(id(&query("you")).as_deref(), Some("1"));
            assert_eq!(id(&query("m")), None);
            let refresh = Token::builder()
                .client_id("c")
                .client_secret("s")
                .refresh_token("1000.r")
                .build();
            assert_eq!(id(&refresh).as_deref(), Some("1"));
            let bare_access = Token::builder().access_token("1000.a").build();
            assert_eq!(id(&bare_access).as_deref(), Some("3"));
        }
        assert_eq!(
            snapshot.by_id(3).unwrap().access_token.as_deref(),
            Some("1000.a")
        );
        assert!(snapshot.by_id(4).is_none());
        let ids: Vec<_> = snapshot
            .sorted()
            .into_iter()
            .map(|t| t.id.unwrap())
            .collect();
        assert_eq!(ids, ["1", "2", "3"]);
    }
}
