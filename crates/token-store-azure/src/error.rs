//! The one place where Key Vault errors become [`token_store_core::Error`]s.
//!
//! The kind comes from the HTTP status of the service's answer (Key Vault and Lowkey Vault
//! put different codes in the body, so the body is never consulted), or for errors without
//! an answer from the client's error kind; never from message text.

use azure_core::error::ErrorKind as AzureKind;
use azure_core::http::headers::RETRY_AFTER;
use token_store_core::raw::http_status_kind;
use token_store_core::{Error, ErrorKind};

/// Map a client error from `operation` into a token-store error, keeping it as the source.
pub(crate) fn map_error(error: azure_core::Error, operation: &'static str) -> Error {
    let (kind, retryable, message) = match error.kind() {
        AzureKind::HttpResponse {
            status,
            error_code,
            raw_response,
        } => {
            let status = u16::from(*status);
            let (kind, retryable) = from_status(status);
            let mut message = format!("Key Vault answered HTTP {status}");
            if let Some(code) = error_code {
                message.push_str(&format!(" ({code})"));
            }
            if let Some(after) = raw_response
                .as_ref()
                .and_then(|r| r.headers().get_optional_str(&RETRY_AFTER))
            {
                message.push_str(&format!("; retry after {after}"));
            }
            if status == 409 {
                message.push_str(
                    "; the name is taken by a deleted secret that is not purged yet (or being deleted or recovered)",
                );
            }
            (kind, retryable, message)
        }
        AzureKind::Connection | AzureKind::Io => (
            ErrorKind::Unavailable,
            true,
            "Key Vault could not be reached".to_owned(),
        ),
        AzureKind::Credential => (
            ErrorKind::Unauthenticated,
            false,
            "no token for Key Vault could be obtained".to_owned(),
        ),
        AzureKind::DataConversion => (
            ErrorKind::Unexpected,
            false,
            "Key Vault's answer could not be decoded".to_owned(),
        ),
        _ => (
            ErrorKind::Unexpected,
            false,
            "Key Vault request failed".to_owned(),
        ),
    };
    Error::new(kind, message)
        .with_backend("azure")
        .with_operation(operation)
        .with_retryable(retryable)
        .with_source(error)
}

/// Key Vault's HTTP statuses: 409 is a name held by a deleted secret not purged yet, or one
/// being deleted or recovered (ObjectIsDeletedButRecoverable, ObjectIsBeingDeleted,
/// ObjectIsBeingRecovered), which passes.
fn from_status(status: u16) -> (ErrorKind, bool) {
    match status {
        409 => (ErrorKind::Conflict, true),
        other => http_status_kind(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use azure_core::http::headers::Headers;
    use azure_core::http::{RawResponse, StatusCode};

    fn http(status: u16, retry_after: Option<&str>) -> azure_core::Error {
        let mut headers = Headers::new();
        if let Some(after) = retry_after {
            headers.insert(RETRY_AFTER, after.to_owned());
        }
        azure_core::Error::new(
            AzureKind::HttpResponse {
                status: StatusCode::from(status),
                error_code: Some("SomeCode".to_owned()),
                raw_response: Some(Box::new(RawResponse::from_bytes(
                    StatusCode::from(status),
                    headers,
                    Vec::new(),
                ))),
            },
            "service said no",
        )
    }

    #[test]
    fn statuses_map_to_kinds() {
        let cases = [
            (400, ErrorKind::InvalidInput, false),
            (401, ErrorKind::Unauthenticated, false),
            (403, ErrorKind::PermissionDenied, false),
            (404, ErrorKind::NotFound, false),
            (409, ErrorKind::Conflict, true),
            (429, ErrorKind::RateLimited, true),
            (500, ErrorKind::Unavailable, true),
            (503, ErrorKind::Unavailable, true),
            (418, ErrorKind::Unexpected, false),
        ];
        for (status, kind, retryable) in cases {
            let e = map_error(http(status, None), "GetSecret");
            assert_eq!(e.kind(), kind, "{status}");
            assert_eq!(e.is_retryable(), retryable, "{status}");
            assert_eq!(e.backend(), "azure");
            assert_eq!(e.operation(), "GetSecret");
        }
    }

    #[test]
    fn throttling_names_retry_after() {
        let e = map_error(http(429, Some("7")), "SetSecret");
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        assert!(e.is_retryable());
        assert!(e.message().contains("retry after 7"), "{}", e.message());
    }

    #[test]
    fn transport_and_credential_errors() {
        let e = map_error(
            azure_core::Error::with_message(AzureKind::Io, "reset"),
            "GetSecret",
        );
        assert_eq!(e.kind(), ErrorKind::Unavailable);
        assert!(e.is_retryable());
        let e = map_error(
            azure_core::Error::with_message(AzureKind::Credential, "no az"),
            "GetSecret",
        );
        assert_eq!(e.kind(), ErrorKind::Unauthenticated);
    }
}
