//! The one place where `sqlx` errors become token-store [`Error`]s, by error variant and
//! database error code — never by message text.

use token_store_core::{Error, ErrorKind};

/// Map a `sqlx` error from `operation` on `backend` (`"sqlite"` or `"mysql"`).
///
/// Database errors are classified by their code (MySQL error number, SQLite extended result
/// code). The server's message is not attached for MySQL, since some MySQL messages quote the
/// offending value (for example "Incorrect string value: …"); the error number is kept.
pub(crate) fn map_sqlx(err: sqlx::Error, backend: &'static str, operation: &'static str) -> Error {
    let mapped = match err {
        sqlx::Error::Database(db) => {
            let code = error_code(db.as_ref());
            let kind = database_kind(backend, &code, db.kind());
            let mut mapped = Error::new(kind, format!("database error {code}"));
            if backend == "sqlite" {
                // SQLite messages name tables and columns, never values.
                mapped = Error::new(kind, format!("database error {code}: {}", db.message()));
            }
            mapped
        }
        sqlx::Error::Io(io) => {
            Error::new(ErrorKind::Unavailable, "database connection failed").with_source(io)
        }
        sqlx::Error::Tls(tls) => {
            Error::new(ErrorKind::Unavailable, "TLS to the database failed").with_source(tls)
        }
        sqlx::Error::PoolTimedOut => Error::new(
            ErrorKind::Unavailable,
            "timed out waiting for a database connection",
        ),
        sqlx::Error::PoolClosed => {
            Error::new(ErrorKind::Unavailable, "the connection pool is closed")
        }
        sqlx::Error::WorkerCrashed => {
            Error::new(ErrorKind::Unavailable, "the SQLite worker thread stopped")
        }
        sqlx::Error::Configuration(_) | sqlx::Error::InvalidArgument(_) => {
            Error::new(ErrorKind::ConfigInvalid, "invalid database configuration")
        }
        sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::TypeNotFound { .. } => Error::new(
            ErrorKind::Corrupt,
            "a stored row does not have the Zoho oauthtoken layout",
        ),
        sqlx::Error::RowNotFound => Error::not_found("no row"),
        other => Error::new(ErrorKind::Unexpected, "database driver error").with_source(other),
    };
    mapped.with_backend(backend).with_operation(operation)
}

/// The error's code: the MySQL error number (not the SQLSTATE, which lumps errors together),
/// or the SQLite extended result code.
fn error_code(db: &dyn sqlx::error::DatabaseError) -> String {
    #[cfg(feature = "mysql")]
    if let Some(mysql) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        return mysql.number().to_string();
    }
    db.code().map(|c| c.into_owned()).unwrap_or_default()
}

fn database_kind(backend: &str, code: &str, kind: sqlx::error::ErrorKind) -> ErrorKind {
    if kind == sqlx::error::ErrorKind::UniqueViolation {
        return ErrorKind::Conflict;
    }
    match (backend, code) {
        // MySQL / MariaDB error numbers.
        ("mysql", "1062") => ErrorKind::Conflict, // duplicate key
        ("mysql", "1213" | "1205") => ErrorKind::Conflict, // deadlock, lock wait timeout
        ("mysql", "1045") => ErrorKind::Unauthenticated,
        ("mysql", "1044" | "1142" | "1143" | "1227") => ErrorKind::PermissionDenied,
        ("mysql", "1049") => ErrorKind::ConfigInvalid, // unknown database
        ("mysql", "1146") => ErrorKind::NotFound,      // table does not exist
        ("mysql", "1406") => ErrorKind::TooLarge,      // data too long for column
        ("mysql", "1366" | "1300") => ErrorKind::InvalidInput, // value not valid in the column's charset
        ("mysql", "1040" | "1053" | "1927" | "2002" | "2003" | "2006" | "2013") => {
            ErrorKind::Unavailable
        }
        // SQLite extended result codes (the low byte is the primary code).
        ("sqlite", code) => match code.parse::<i32>().map(|c| c & 0xff) {
            Ok(5 | 6) => ErrorKind::Unavailable, // SQLITE_BUSY, SQLITE_LOCKED
            Ok(3 | 8 | 23) => ErrorKind::PermissionDenied, // SQLITE_PERM, SQLITE_READONLY, SQLITE_AUTH
            Ok(11 | 26) => ErrorKind::Corrupt,             // SQLITE_CORRUPT, SQLITE_NOTADB
            Ok(13) => ErrorKind::Unavailable,              // SQLITE_FULL
            Ok(14) => ErrorKind::ConfigInvalid,            // SQLITE_CANTOPEN
            Ok(18) => ErrorKind::TooLarge,                 // SQLITE_TOOBIG
            _ => ErrorKind::Unexpected,
        },
        _ => ErrorKind::Unexpected,
    }
}

/// A failure inside an operation: a driver error still to be mapped, or a store error.
pub(crate) enum Failure {
    /// From sqlx.
    Sql(sqlx::Error),
    /// Already a token-store error (validation, corrupt row).
    Store(Error),
}

impl From<sqlx::Error> for Failure {
    fn from(e: sqlx::Error) -> Self {
        Self::Sql(e)
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Self::Store(e)
    }
}

impl Failure {
    /// The token-store error, tagged with `backend` and `operation`.
    pub(crate) fn into_error(self, backend: &'static str, operation: &'static str) -> Error {
        match self {
            Self::Sql(e) => map_sqlx(e, backend, operation),
            Self::Store(e) => e.with_backend(backend).with_operation(operation),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::error::ErrorKind as DbKind;

    #[test]
    fn database_codes_map_to_kinds() {
        let cases = [
            ("mysql", "1062", ErrorKind::Conflict),
            ("mysql", "1213", ErrorKind::Conflict),
            ("mysql", "1205", ErrorKind::Conflict),
            ("mysql", "1045", ErrorKind::Unauthenticated),
            ("mysql", "1142", ErrorKind::PermissionDenied),
            ("mysql", "1049", ErrorKind::ConfigInvalid),
            ("mysql", "1146", ErrorKind::NotFound),
            ("mysql", "1406", ErrorKind::TooLarge),
            ("mysql", "1366", ErrorKind::InvalidInput),
            ("mysql", "2013", ErrorKind::Unavailable),
            ("mysql", "1064", ErrorKind::Unexpected),
            ("sqlite", "5", ErrorKind::Unavailable),
            ("sqlite", "517", ErrorKind::Unavailable), // SQLITE_BUSY_SNAPSHOT
            ("sqlite", "8", ErrorKind::PermissionDenied),
            ("sqlite", "26", ErrorKind::Corrupt),
            ("sqlite", "14", ErrorKind::ConfigInvalid),
            ("sqlite", "1", ErrorKind::Unexpected),
        ];
        for (backend, code, kind) in cases {
            assert_eq!(
                database_kind(backend, code, DbKind::Other),
                kind,
                "{backend} {code}"
            );
        }
        assert_eq!(
            database_kind("sqlite", "2067", DbKind::UniqueViolation),
            ErrorKind::Conflict
        );
    }

    #[test]
    fn driver_errors_map_to_kinds_and_are_tagged() {
        let io = map_sqlx(std::io::Error::other("refused").into(), "mysql", "open");
        assert_eq!(
            (io.kind(), io.backend(), io.operation()),
            (ErrorKind::Unavailable, "mysql", "open")
        );
        assert!(io.is_retryable());
        assert_eq!(
            map_sqlx(sqlx::Error::PoolTimedOut, "mysql", "x").kind(),
            ErrorKind::Unavailable
        );
        let config = map_sqlx(
            sqlx::Error::Configuration("bad url mysql://u:pw@h".into()),
            "mysql",
            "open",
        );
        assert_eq!(config.kind(), ErrorKind::ConfigInvalid);
        assert!(
            !format!("{config} {config:?}").contains("pw@h"),
            "the URL is not echoed"
        );
        let decode = map_sqlx(
            sqlx::Error::ColumnNotFound("x".into()),
            "sqlite",
            "get_tokens",
        );
        assert_eq!(decode.kind(), ErrorKind::Corrupt);
    }
}
