//! `FileStore`: the `TokenStore` over the Zoho SDK's CSV token file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use token_store_core::lookup::{
    find_match, id_number, lookup_keys, merge_for_save, next_id, parse_id, validate_for_save,
};
use token_store_core::{Error, ErrorKind, Result, Token, TokenStore};

use crate::durable::{FileLock, read_if_exists, replace_atomically, resolve_symlink};
use crate::error::io_error;
use crate::format::{Parsed, column, parse, parse_where, serialize};

/// Environment variable naming the token file for [`FileStore::from_env`].
pub const ENV_VAR: &str = "TOKEN_STORE_FILE";

/// The file the Zoho SDK uses when none is configured (in the working directory).
pub const DEFAULT_FILE: &str = "sdk_tokens.txt";

const BACKEND: &str = "file";

/// Tokens in the Zoho SDK's CSV token file, shareable with a Python service on the Zoho SDK.
///
/// Every change is a read-modify-write under an exclusive `flock` on `<file>.lock` and
/// replaces the file atomically (temporary file, fsync, rename, fsync of the directory), so a
/// crash never truncates it and concurrent writers — threads or processes using `FileStore` —
/// lose nothing. Reads take no lock: they always see a whole file. The Python SDK neither
/// locks nor writes atomically; a Python writer racing a Rust writer can still lose an update
/// (spec §6 items 1-2).
///
/// A file that is not the Zoho layout (wrong header or cell count, a bad or repeated id, a
/// non-numeric expiry, invalid UTF-8) is an [`ErrorKind::Corrupt`] error and is never
/// rewritten. Blocking file work runs on tokio's blocking pool.
#[derive(Clone)]
pub struct FileStore {
    path: Arc<PathBuf>,
    lock_path: Arc<PathBuf>,
}

impl std::fmt::Debug for FileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The path is configuration, not a secret; the store holds no token in memory.
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
        let store = Self {
            path: Arc::new(path),
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
        match read_if_exists(&self.path).map_err(|e| io_error(e, "reading the token file"))? {
            Some(bytes) if !bytes.is_empty() => {
                let parsed = parse(bytes)?;
                if parsed.needs_migration {
                    self.write(&parsed.rows)?;
                }
            }
            _ => self.write(&[])?,
        }
        Ok(())
    }

    fn lock(&self) -> Result<FileLock> {
        FileLock::acquire(&self.lock_path).map_err(|e| io_error(e, "locking the token file"))
    }

    /// The rows of the file; a missing or empty file has none.
    fn read(&self) -> Result<Parsed> {
        match read_if_exists(&self.path).map_err(|e| io_error(e, "reading the token file"))? {
            Some(bytes) => parse(bytes),
            None => Ok(Parsed::default()),
        }
    }

    fn write(&self, rows: &[Token]) -> Result<()> {
        replace_atomically(&self.path, &serialize(rows))
            .map_err(|e| io_error(e, "writing the token file"))
    }

    /// The rows `keep` selects, after validating the whole file.
    fn read_where(&self, keep: impl FnMut(&csv::ByteRecord) -> bool) -> Result<Vec<Token>> {
        match read_if_exists(&self.path).map_err(|e| io_error(e, "reading the token file"))? {
            Some(bytes) => Ok(parse_where(bytes, keep)?.rows),
            None => Ok(Vec::new()),
        }
    }

    fn find_sync(&self, query: &Token) -> Result<Option<Token>> {
        let keys: Vec<(usize, &str)> = lookup_keys(query)
            .iter()
            .map(|key| (column(key.field()), key.value()))
            .collect();
        if keys.is_empty() {
            return Ok(None);
        }
        // Only rows with a key cell equal to a key value can match; the rules pick among them.
        let candidates = self.read_where(|record| {
            keys.iter()
                .any(|&(col, value)| &record[col] == value.as_bytes())
        })?;
        Ok(find_match(query, &candidates).map(|stored| {
            let mut found = query.clone();
            found.merge_from(stored);
            found
        }))
    }

    fn save_sync(&self, token: &Token) -> Result<Token> {
        validate_for_save(token)?;
        let mut lock = self.lock()?;
        let mut rows = self.read()?.rows;
        let position = match &token.id {
            Some(id) => rows.iter().position(|row| row.id == Some(id.clone())),
            None => find_match(token, &rows)
                .and_then(|found| rows.iter().position(|row| row.id == found.id)),
        };
        let mut row = merge_for_save(token, position.map(|i| &rows[i]))?;
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
        match position {
            Some(i) => rows[i] = row.clone(),
            None => rows.push(row.clone()),
        }
        self.write(&rows)?;
        Ok(row)
    }

    fn delete_sync(&self, id: &str) -> Result<()> {
        parse_id(id)?;
        let _lock = self.lock()?;
        let mut rows = self.read()?.rows;
        let before = rows.len();
        rows.retain(|row| row.id.as_deref() != Some(id));
        if rows.len() != before {
            self.write(&rows)?;
        }
        Ok(())
    }

    fn list_sync(&self) -> Result<Vec<Token>> {
        let mut rows = self.read()?.rows;
        rows.sort_by_key(|row| row.id.as_deref().map(id_number));
        Ok(rows)
    }

    fn clear_sync(&self) -> Result<()> {
        let mut lock = self.lock()?;
        let rows = self.read()?.rows; // a corrupt file is reported, not overwritten
        let largest = rows
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
        self.write(&[])
    }

    fn find_by_id_sync(&self, id: &str) -> Result<Option<Token>> {
        parse_id(id)?;
        Ok(self.read_where(|record| &record[0] == id.as_bytes())?.pop())
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
