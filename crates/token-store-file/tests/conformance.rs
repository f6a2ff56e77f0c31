//! The shared conformance suite on `FileStore`, one temporary token file per namespace.

use token_store_core::TokenStore;
use token_store_core::testkit::{BoxFuture, Capabilities, StoreHarness};
use token_store_file::FileStore;

/// Every namespace is `<namespace>.txt` in one temporary directory, removed afterwards.
struct FileHarness {
    dir: tempfile::TempDir,
}

fn harness() -> FileHarness {
    FileHarness {
        dir: tempfile::tempdir().expect("temporary directory"),
    }
}

impl StoreHarness for FileHarness {
    fn open<'a>(&'a self, namespace: &'a str) -> BoxFuture<'a, Box<dyn TokenStore>> {
        Box::pin(async move {
            let path = self.dir.path().join(format!("{namespace}.txt"));
            Box::new(FileStore::open(&path).expect("open the token file")) as Box<dyn TokenStore>
        })
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            durable: true,
            ..Capabilities::default()
        }
    }
}

token_store_core::conformance_tests!(harness());
