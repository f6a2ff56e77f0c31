//! `FileStore`: the `TokenStore` over the Zoho SDK's CSV token file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use token_store_core::lookup::{
    id_number, lookup_keys, merge_for_save, next_id, parse_id, validate_for_save,
};
use token_store_core::{Error, ErrorKind, Result, Token, TokenStore};

use crate::cache::Cache;
use crate::durable::{FileLock, replace_atomically, resolve_symlink};
use crate::error::io_error;
use crate::format::{Serialized, serialize};

/// Environment variable naming the token file for [`FileStore::from_env`].
pub const ENV_VAR: &str = "TOKEN_STORE_FILE";

/// The file the Zoho SDK uses when none is configured (in the working directory).
pub const DEFAULT_FILE: &str = "sdk_tokens.txt";

const BACKEND: &str = "file";

token_store_core::store_scheme!(
    /// The `file://` scheme, for `token_store::open`.
    SCHEME,
    "file",
    BACKEND,
    |url| FileStore::from_url(url)?
);

/// Tokens in the Zoho SDK's CSV token file, shareable with a Python service on the Zoho SDK.
///
/// Every change is a read-modify-write under an exclusive `flock` on `<file>.lock` and
/// replaces the file atomically (temporary file, fsync, rename, fsync of the directory), so a
/// crash never truncates it and concurrent writers — threads or processes using `FileStore` —
/// lose nothing. Reads take no lock: they always see a whole file. The Python SDK neither
/// locks nor writes atomically; a Python writer racing a Rust writer can still lose an update
/// (spec §6 items 1-2).
///
/// The parsed file is kept in memory (shared by the clones of a store) and reused while the
/// file is unchanged, judged by its identity and metadata — device and inode, size,
/// modification and change time with nanoseconds — checked with one `stat` per call, and by
/// comparing the bytes while the file's timestamps are too recent to tell a change in the
/// same clock tick (the rule and why it is sound: `src/cache.rs`). A change by another
/// process, another `FileStore` or a plain write of the file is seen by the next call.
///
/// A file that is not the Zoho layout (wrong header or cell count, a bad or repeated id, a
/// non-numeric expiry, invalid UTF-8) is an [`ErrorKind::Corrupt`] error and is never
/// rewritten, also when it became corrupt after it was cached. Blocking file work runs on
/// tokio's blocking pool.
#[derive(Clone)]
pub struct FileStore {
    path: Arc<PathBuf>,
    lock_path: Arc<PathBuf>,
    cache: Arc<Cache>,
}

impl std::fmt::Debug for FileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The path is configuration, not a secret; the cached tokens are never printed.
        f.debug_struct("FileStore")
            .field("path", &self.path)
            .finish()
    }
}

impl FileStore {
    /// Open the token file at `path` as the Zoho SDK's FileStore constructor does: a missing
    /// or empty file is created with the header row only, an old 9-column file (no
    /// `api_domain`) is migrated to 10 columns. A corrupt file is an error and stays as it is.
    /// A symlink is resolved once here, so writes replace its target, not the link. The
    /// directory must be writable (temporary file, rename, lock file).
    pub fn open(path: impl Into<PathBuf>) -> Result<Self> {
        let path: PathBuf = path.into();
        if path.as_os_str().is_empty() {
            return Err(
                Error::new(ErrorKind::ConfigInvalid, "the token file path is empty")
                    .with_backend(BACKEND)
                    .with_operation("open"),
            );
        }
        // Atomic replacement renames over the path: write through a symlink to its target
        // instead of replacing the link.
        let path = match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => resolve_symlink(&path).map_err(|e| {
                io_error(e, "resolving the token file's symlink")
                    .with_backend(BACKEND)
                    .with_operation("open")
            })?,
            _ => path,
        };
        let mut lock_path = path.clone().into_os_string();
        lock_path.push(".lock");
        let path = Arc::new(path);
        let store = Self {
            cache: Arc::new(Cache::new(path.clone())),
            path,
            lock_path: Arc::new(lock_path.into()),
        };
        store
            .initialize()
            .map_err(|e| e.with_backend(BACKEND).with_operation("open"))?;
        Ok(store)
    }

    /// Open the file a `file:///absolute/path` URL names (percent-escapes decoded).
    pub fn from_url(url: &str) -> Result<Self> {
        let invalid = || {
            Error::new(
                ErrorKind::ConfigInvalid,
                "a file store URL looks like file:///absolute/path/sdk_tokens.txt",
            )
            .with_backend(BACKEND)
            .with_operation("open")
        };
        let parsed = url::Url::parse(url).map_err(|_| invalid())?;
        // `file:relative` would parse as `file:///relative`: require the `//`.
        if parsed.scheme() != "file" || !url.starts_with("file://") {
            return Err(invalid());
        }
        Self::open(parsed.to_file_path().map_err(|()| invalid())?)
    }

    /// Open the file named by `TOKEN_STORE_FILE`, or `sdk_tokens.txt` in the working
    /// directory (the Zoho SDK's default) when it is unset.
    pub fn from_env() -> Result<Self> {
        match std::env::var_os(ENV_VAR) {
            Some(path) if !path.is_empty() => Self::open(PathBuf::from(path)),
            _ => Self::open(DEFAULT_FILE),
        }
    }

    /// The token file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn initialize(&self) -> Result<()> {
        let _lock = self.lock()?;
        let snapshot = self.cache.current()?;
        if snapshot.is_blank() || snapshot.needs_migration {
            self.write(snapshot.rows.clone())?;
        }
        Ok(())
    }

    fn lock(&self) -> Result<FileLock> {
        FileLock::acquire(&self.lock_path).map_err(|e| io_error(e, "locking the token file"))
    }

    /// Replace the file with `rows` and cache them.
    fn write(&self, rows: Vec<Arc<Token>>) -> Result<()> {
        self.write_file(serialize(rows.iter().map(|row| &**row)), rows)
    }

    /// Replace the file with `file`, the serialized `rows`, and cache them.
    fn write_file(&self, file: Serialized, rows: Vec<Arc<Token>>) -> Result<()> {
        let meta = replace_atomically(&self.path, &file.bytes)
            .map_err(|e| io_error(e, "writing the token file"))?;
        self.cache.wrote(&meta, file, rows);
        Ok(())
    }

    fn find_sync(&self, query: &Token) -> Result<Option<Token>> {
        if lookup_keys(query).is_empty() {
            return Ok(None);
        }
        let snapshot = self.cache.current()?;
        Ok(snapshot.find(query, true).map(|stored| {
            let mut found = query.clone();
            found.merge_from(stored);
            found
        }))
    }

    fn save_sync(&self, token: &Token) -> Result<Token> {
        validate_for_save(token)?;
        let mut lock = self.lock()?;
        // Under the lock: the file as it is now (re-validated), never an older parse.
        let snapshot = self.cache.current()?;
        let rows = &snapshot.rows;
        let position = match &token.id {
            Some(id) => rows.iter().position(|row| row.id.as_ref() == Some(id)),
            // A one-off scan unless a lookup already built the index.
            None => snapshot
                .find(token, false)
                .and_then(|found| rows.iter().position(|row| row.id == found.id)),
        };
        let mut row = merge_for_save(token, position.map(|i| &*rows[i]))?;
        let high_water = lock
            .high_water()
            .map_err(|e| io_error(e, "reading the id mark"))?;
        if row.id.is_none() {
            let mark = high_water.to_string();
            let ids = rows.iter().filter_map(|r| r.id.as_deref());
            row.id = Some(next_id(ids.chain([mark.as_str()]))?);
        }
        let id = parse_id(row.id.as_deref().expect("id assigned"))?;
        if id > high_water {
            lock.set_high_water(id)
                .map_err(|e| io_error(e, "writing the id mark"))?;
        }
        // The other rows are shared with the cached snapshot, not copied, and so are their
        // bytes when this store wrote the file last.
        let index = position.unwrap_or(rows.len());
        let file = snapshot.with_row(index, &row);
        let mut rows = rows.clone();
        match position {
            Some(i) => rows[i] = Arc::new(row.clone()),
            None => rows.push(Arc::new(row.clone())),
        }
        match file {
            Some(file) => self.write_file(file, rows)?,
            None => self.write(rows)?,
        }
        Ok(row)
    }

    fn delete_sync(&self, id: &str) -> Result<()> {
        parse_id(id)?;
        let _lock = self.lock()?;
        let snapshot = self.cache.current()?;
        let before = snapshot.rows.len();
        let rows: Vec<Arc<Token>> = snapshot
            .rows
            .iter()
            .filter(|row| row.id.as_deref() != Some(id))
            .cloned()
            .collect();
        if rows.len() != before {
            self.write(rows)?;
        }
        Ok(())
    }

    fn list_sync(&self) -> Result<Vec<Token>> {
        Ok(self.cache.current()?.sorted())
    }

    fn clear_sync(&self) -> Result<()> {
        let mut lock = self.lock()?;
        let snapshot = self.cache.current()?; // a corrupt file is reported, not overwritten
        let largest = snapshot
            .rows
            .iter()
            .filter_map(|row| row.id.as_deref().map(id_number))
            .max()
            .unwrap_or(0);
        let high_water = lock
            .high_water()
            .map_err(|e| io_error(e, "reading the id mark"))?;
        if largest > high_water {
            lock.set_high_water(largest)
                .map_err(|e| io_error(e, "writing the id mark"))?;
        }
        self.write(Vec::new())
    }

    fn find_by_id_sync(&self, id: &str) -> Result<Option<Token>> {
        let id = parse_id(id)?;
        Ok(self.cache.current()?.by_id(id).cloned())
    }

    /// Run the blocking file `work` without stalling the runtime, and tag its error with the
    /// operation: in place on a multi-thread runtime (`block_in_place` hands this worker's
    /// other tasks to another worker; measured twice as fast as a hop to the blocking pool for
    /// a small file), on the blocking pool otherwise.
    async fn run<T: Send + 'static>(
        &self,
        operation: &'static str,
        work: impl FnOnce(&Self) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let in_place = tokio::runtime::Handle::try_current()
            .is_ok_and(|rt| rt.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        let result = if in_place {
            tokio::task::block_in_place(|| work(self))
        } else {
            let store = self.clone();
            tokio::task::spawn_blocking(move || work(&store))
                .await
                .unwrap_or_else(|join| {
                    Err(Error::new(ErrorKind::Unexpected, "file task failed").with_source(join))
                })
        };
        result.map_err(|e| e.with_backend(BACKEND).with_operation(operation))
    }
}

#[async_trait]
impl TokenStore for FileStore {
    async fn find_token(&self, query: &Token) -> Result<Option<Token>> {
        let query = query.clone().normalized();
        self.run("find_token", move |s| s.find_sync(&query)).await
    }

    async fn save_token(&self, token: &Token) -> Result<Token> {
        let token = token.clone().normalized();
        self.run("save_token", move |s| s.save_sync(&token)).await
    }

    async fn delete_token(&self, id: &str) -> Result<()> {
        let id = id.to_owned();
        self.run("delete_token", move |s| s.delete_sync(&id)).await
    }

    async fn get_tokens(&self) -> Result<Vec<Token>> {
        self.run("get_tokens", Self::list_sync).await
    }

    async fn delete_tokens(&self) -> Result<()> {
        self.run("delete_tokens", Self::clear_sync).await
    }

    async fn find_token_by_id(&self, id: &str) -> Result<Option<Token>> {
        let id = id.to_owned();
        self.run("find_token_by_id", move |s| s.find_by_id_sync(&id))
            .await
    }
}
