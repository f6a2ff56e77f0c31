//! The one place where Secret Manager errors become [`token_store_core::Error`]s.
//!
//! The kind comes from the `google.rpc.Status` code the client decoded from the service's
//! error body; when the body carried none (a proxy, or an emulator that answers with another
//! shape) from the HTTP status; never from message text.

use google_cloud_gax::error::Error as GaxError;
use google_cloud_gax::error::rpc::Code;
use token_store_core::raw::http_status_kind;
use token_store_core::{Error, ErrorKind};

/// Map a client error from `operation` into a token-store error, keeping it as the source.
pub(crate) fn map_error(error: GaxError, operation: &'static str) -> Error {
    let (kind, retryable) = classify(&error);
    let message = match (error.status(), error.http_status_code()) {
        (Some(status), _) => format!("Secret Manager answered {}", status.code.name()),
        (None, Some(http)) => format!("Secret Manager answered HTTP {http}"),
        (None, None) => "Secret Manager request failed".to_owned(),
    };
    Error::new(kind, message)
        .with_backend("gcp")
        .with_operation(operation)
        .with_retryable(retryable)
        .with_source(error)
}

/// The kind of `error` and whether retrying the same call may succeed.
fn classify(error: &GaxError) -> (ErrorKind, bool) {
    if let Some(status) = error.status() {
        return from_code(status.code);
    }
    if let Some(http) = error.http_status_code() {
        return from_http(http);
    }
    if error.is_authentication() {
        (ErrorKind::Unauthenticated, false)
    } else if error.is_connect() || error.is_io() || error.is_timeout() || error.is_transport() {
        (ErrorKind::Unavailable, true)
    } else if error.is_exhausted() {
        // The client's retry policy gave up (not a quota): the last error it saw decides.
        std::error::Error::source(error)
            .and_then(|last| last.downcast_ref::<GaxError>())
            .map_or((ErrorKind::Unavailable, true), classify)
    } else {
        (ErrorKind::Unexpected, false)
    }
}

fn from_code(code: Code) -> (ErrorKind, bool) {
    match code {
        Code::NotFound => (ErrorKind::NotFound, false),
        Code::AlreadyExists => (ErrorKind::AlreadyExists, false),
        // Etag mismatch, or a disabled/destroyed version.
        Code::FailedPrecondition => (ErrorKind::Conflict, false),
        Code::Aborted => (ErrorKind::Conflict, true),
        Code::ResourceExhausted => (ErrorKind::RateLimited, true),
        Code::PermissionDenied => (ErrorKind::PermissionDenied, false),
        Code::Unauthenticated => (ErrorKind::Unauthenticated, false),
        Code::InvalidArgument | Code::OutOfRange => (ErrorKind::InvalidInput, false),
        Code::Unavailable | Code::DeadlineExceeded => (ErrorKind::Unavailable, true),
        Code::Unimplemented => (ErrorKind::Unsupported, false),
        _ => (ErrorKind::Unexpected, false),
    }
}

/// Secret Manager's HTTP statuses: 409 is an existing secret, and 500 is what the REST
/// gateway of some emulators sends for every failure, so it says nothing.
fn from_http(status: u16) -> (ErrorKind, bool) {
    match status {
        409 => (ErrorKind::AlreadyExists, false),
        500 => (ErrorKind::Unexpected, false),
        other => http_status_kind(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use google_cloud_gax::error::rpc::Status;

    fn service(code: Code) -> Error {
        map_error(
            GaxError::service(
                Status::default()
                    .set_code(code)
                    .set_message("do not parse me"),
            ),
            "AccessSecretVersion",
        )
    }

    #[test]
    fn retries_given_up_take_the_kind_of_the_last_error() {
        let refused = map_error(
            GaxError::exhausted(GaxError::connect("refused")),
            "AccessSecretVersion",
        );
        assert_eq!(refused.kind(), ErrorKind::Unavailable);
        let throttled = map_error(
            GaxError::exhausted(GaxError::service(
                Status::default().set_code(Code::ResourceExhausted),
            )),
            "AccessSecretVersion",
        );
        assert_eq!(throttled.kind(), ErrorKind::RateLimited);
    }

    #[test]
    fn maps_status_codes() {
        let cases = [
            (Code::NotFound, ErrorKind::NotFound, false),
            (Code::AlreadyExists, ErrorKind::AlreadyExists, false),
            (Code::FailedPrecondition, ErrorKind::Conflict, false),
            (Code::ResourceExhausted, ErrorKind::RateLimited, true),
            (Code::PermissionDenied, ErrorKind::PermissionDenied, false),
            (Code::Unauthenticated, ErrorKind::Unauthenticated, false),
            (Code::Unavailable, ErrorKind::Unavailable, true),
            (Code::InvalidArgument, ErrorKind::InvalidInput, false),
            (Code::Internal, ErrorKind::Unexpected, false),
        ];
        for (code, kind, retryable) in cases {
            let error = service(code);
            assert_eq!(
                (error.kind(), error.is_retryable()),
                (kind, retryable),
                "{code:?}"
            );
            assert_eq!(error.backend(), "gcp");
            assert_eq!(error.operation(), "AccessSecretVersion");
        }
    }

    #[test]
    fn falls_back_to_http_status() {
        let http = |s| {
            map_error(
                GaxError::http(s, Default::default(), bytes::Bytes::from_static(b"{}")),
                "AddSecretVersion",
            )
        };
        assert_eq!(http(404).kind(), ErrorKind::NotFound);
        assert_eq!(http(409).kind(), ErrorKind::AlreadyExists);
        assert_eq!(http(429).kind(), ErrorKind::RateLimited);
        assert!(http(429).is_retryable());
        assert_eq!(http(403).kind(), ErrorKind::PermissionDenied);
        assert_eq!(http(503).kind(), ErrorKind::Unavailable);
        // What the blackwell REST gateway sends for every failure.
        assert_eq!(http(500).kind(), ErrorKind::Unexpected);
    }
}
