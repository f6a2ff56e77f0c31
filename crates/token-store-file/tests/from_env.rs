//! `FileStore::from_env` (its own test binary: it sets a process environment variable).

use token_store_file::{ENV_VAR, FileStore};

#[test]
fn from_env_opens_the_named_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.csv");
    // SAFETY: the only test in this binary; no other thread reads the environment.
    unsafe { std::env::set_var(ENV_VAR, &path) };
    let store = FileStore::from_env().unwrap();
    assert_eq!(store.path(), path);
    assert!(path.exists(), "created with the header row");
}
