//! Mapping of I/O failures to token-store errors, in one place.

use std::io;

use token_store_core::{Error, ErrorKind};

/// The token-store error for an I/O failure while `doing` something with the token file.
/// Decided by the `io::ErrorKind`, never by message text.
pub(crate) fn io_error(err: io::Error, doing: &str) -> Error {
    let kind = match err.kind() {
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => {
            ErrorKind::PermissionDenied
        }
        io::ErrorKind::InvalidInput | io::ErrorKind::InvalidFilename => ErrorKind::ConfigInvalid,
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => ErrorKind::TooLarge,
        _ => ErrorKind::Unavailable,
    };
    Error::new(kind, format!("{doing} failed")).with_source(err)
}
