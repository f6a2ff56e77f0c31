//! The one place where AWS errors become [`token_store_core::Error`]s: by the error code the
//! service returns (the typed error's code) and the HTTP status, never by message text.

use aws_sdk_secretsmanager::config::http::HttpResponse;
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use token_store_core::raw::http_status_kind;
use token_store_core::{Error, ErrorKind};

/// Backend name in errors.
pub(crate) const BACKEND: &str = "aws";

/// Kind and a value-free message for a service error `code` / HTTP `status`.
pub(crate) fn classify(code: Option<&str>, status: Option<u16>) -> (ErrorKind, &'static str) {
    use ErrorKind::*;
    match code.unwrap_or("") {
        "ResourceNotFoundException" => (NotFound, "the secret does not exist"),
        "ResourceExistsException" => (AlreadyExists, "a secret with this name already exists"),
        // The only documented cause for these calls: the secret is scheduled for deletion.
        "InvalidRequestException" => (
            Conflict,
            "the secret is not in a state that allows this (for example it is scheduled for deletion)",
        ),
        "InvalidParameterException"
        | "ValidationException"
        | "MalformedPolicyDocumentException" => (InvalidInput, "the service rejected a parameter"),
        "PreconditionNotMetException" => {
            (InvalidInput, "a precondition of the request was not met")
        }
        "LimitExceededException" => (RateLimited, "a Secrets Manager quota was exceeded"),
        "ThrottlingException"
        | "Throttling"
        | "TooManyRequestsException"
        | "RequestLimitExceeded" => (RateLimited, "the request was throttled"),
        "AccessDeniedException" | "AccessDenied" => (PermissionDenied, "access denied"),
        "UnrecognizedClientException"
        | "InvalidClientTokenId"
        | "InvalidSignatureException"
        | "SignatureDoesNotMatch"
        | "ExpiredTokenException"
        | "MissingAuthenticationToken"
        | "IncompleteSignature" => (Unauthenticated, "the credentials were not accepted"),
        "DecryptionFailure" | "EncryptionFailure" => (
            PermissionDenied,
            "KMS could not encrypt or decrypt the secret",
        ),
        // LocalStack 4.10 also answers a PutSecretValue that reuses a ClientRequestToken with
        // different data with HTTP 500 InternalError (AWS: ResourceExistsException); the
        // compare-and-swap resolves that by reading the version back (backend.rs).
        "InternalServiceError" | "InternalFailure" | "InternalError" | "ServiceUnavailable" => {
            (Unavailable, "Secrets Manager had an internal error")
        }
        // AWS answers most errors, throttling included, with HTTP 400: an unknown code with
        // 400 says nothing about the input.
        _ => match status {
            Some(400) | None => (Unexpected, "unexpected error from Secrets Manager"),
            Some(status) => match http_status_kind(status).0 {
                Unexpected => (Unexpected, "unexpected error from Secrets Manager"),
                kind => (kind, "Secrets Manager answered an HTTP error"),
            },
        },
    }
}

/// Map an SDK error of `call` (the Secrets Manager operation, e.g. `"PutSecretValue"`).
pub(crate) fn map_sdk_error<E>(call: &'static str, err: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let (kind, message) = match &err {
        SdkError::ServiceError(ctx) => {
            classify(ctx.err().code(), Some(ctx.raw().status().as_u16()))
        }
        SdkError::TimeoutError(_) => (ErrorKind::Unavailable, "the request timed out"),
        SdkError::DispatchFailure(_) => (ErrorKind::Unavailable, "the request could not be sent"),
        SdkError::ResponseError(_) => (ErrorKind::Unavailable, "the response could not be read"),
        SdkError::ConstructionFailure(_) => (
            ErrorKind::ConfigInvalid,
            "the request could not be built (check region and credentials)",
        ),
        _ => (ErrorKind::Unexpected, "unexpected SDK error"),
    };
    Error::new(kind, message)
        .with_backend(BACKEND)
        .with_operation(call)
        .with_source(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_kinds() {
        let cases = [
            ("ResourceNotFoundException", ErrorKind::NotFound),
            ("ResourceExistsException", ErrorKind::AlreadyExists),
            ("InvalidRequestException", ErrorKind::Conflict),
            ("InternalError", ErrorKind::Unavailable),
            ("InvalidParameterException", ErrorKind::InvalidInput),
            ("ThrottlingException", ErrorKind::RateLimited),
            ("LimitExceededException", ErrorKind::RateLimited),
            ("AccessDeniedException", ErrorKind::PermissionDenied),
            ("UnrecognizedClientException", ErrorKind::Unauthenticated),
            ("InternalServiceError", ErrorKind::Unavailable),
        ];
        for (code, kind) in cases {
            assert_eq!(classify(Some(code), Some(400)).0, kind, "{code}");
        }
    }

    #[test]
    fn unknown_codes_fall_back_to_status() {
        assert_eq!(classify(None, Some(503)).0, ErrorKind::Unavailable);
        assert_eq!(classify(Some("Odd"), Some(429)).0, ErrorKind::RateLimited);
        assert_eq!(classify(Some("Odd"), Some(400)).0, ErrorKind::Unexpected);
    }

    #[test]
    fn throttling_is_retryable_and_denial_is_not() {
        let retryable = |code| {
            let (kind, msg) = classify(Some(code), Some(400));
            Error::new(kind, msg).is_retryable()
        };
        assert!(retryable("ThrottlingException"));
        assert!(!retryable("AccessDeniedException"));
    }
}
