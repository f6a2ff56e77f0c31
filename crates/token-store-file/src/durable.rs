//! Durable file primitives: the cross-process lock (a `flock` on a sidecar file, which also
//! keeps the highest id ever assigned) and atomic replacement of the token file.
//!
//! Portable: the lock is std's [`File::lock`]; on Unix the files are created with mode 0600
//! and the directory is fsynced after a rename (elsewhere the platform's defaults apply).

use std::fs::{File, OpenOptions};
use std::io::{self, Read as _, Seek as _, SeekFrom, Write as _};
use std::path::Path;

/// An exclusive `flock` on the sidecar lock file, held until dropped.
///
/// Each acquisition opens the file anew, so two threads of one process exclude each other as
/// two processes do (a `flock` belongs to an open file description). The lock file's content
/// is the highest id ever assigned as a decimal string (empty or unreadable means 0): the
/// token file alone cannot tell that the row with the largest id was deleted.
pub(crate) struct FileLock {
    file: File,
}

impl FileLock {
    /// Block until the lock on `path` is held; creates the lock file (mode 0600).
    pub(crate) fn acquire(path: &Path) -> io::Result<Self> {
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(path)?;
        file.lock()?;
        Ok(Self { file })
    }

    /// The highest id assigned so far, 0 when unknown.
    pub(crate) fn high_water(&mut self) -> io::Result<u64> {
        let mut text = String::new();
        self.file.seek(SeekFrom::Start(0))?;
        // Advisory data: a torn or foreign content counts as "unknown", never as an error.
        if self.file.read_to_string(&mut text).is_err() {
            return Ok(0);
        }
        Ok(text.trim().parse().unwrap_or(0))
    }

    /// Record `id` as the highest id assigned (durably: called before the token file is
    /// replaced, so a crash can only leave a gap in the ids, never a reused id).
    pub(crate) fn set_high_water(&mut self, id: u64) -> io::Result<()> {
        self.file.set_len(0)?;
        self.file.seek(SeekFrom::Start(0))?;
        self.file.write_all(id.to_string().as_bytes())?;
        self.file.sync_data()
    }
}

/// Replace `path` with `bytes` atomically: a temporary file (mode 0600) in the same directory,
/// written and fsynced, renamed over `path`, then the directory fsynced. A crash at any point
/// leaves either the old or the new file, never a truncated one; at worst a stray
/// `.<name>.*.tmp` file stays behind, which nothing reads. Returns the new file's metadata,
/// taken after the rename (which changes its ctime on some file systems).
pub(crate) fn replace_atomically(path: &Path, bytes: &[u8]) -> io::Result<std::fs::Metadata> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600));
    let mut temp = builder.tempfile_in(dir)?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    let file = temp.persist(path).map_err(|e| e.error)?;
    let meta = file.metadata()?;
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    Ok(meta)
}

/// The file a symlink points to, also when that file does not exist yet.
pub(crate) fn resolve_symlink(link: &Path) -> io::Result<std::path::PathBuf> {
    match std::fs::canonicalize(link) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let target = std::fs::read_link(link)?;
            Ok(link.parent().unwrap_or(Path::new("")).join(target))
        }
        resolved => resolved,
    }
}
