//! The one error type every store and backend returns.

use std::fmt;

/// What went wrong, independent of the backend. Callers match on this, never on messages.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The named item does not exist where the contract requires it to.
    NotFound,
    /// An item with that name already exists (create-only writes).
    AlreadyExists,
    /// A concurrent writer changed the item first (compare-and-swap lost), or the name is
    /// blocked (for example scheduled for deletion).
    Conflict,
    /// The caller is authenticated but not allowed to do this.
    PermissionDenied,
    /// No or invalid credentials.
    Unauthenticated,
    /// The service throttled the request. Retryable.
    RateLimited,
    /// The caller's input was rejected before anything changed.
    InvalidInput,
    /// A value or the index would exceed the backend's size limit.
    TooLarge,
    /// Stored data could not be parsed; nothing was overwritten.
    Corrupt,
    /// The service or file could not be reached. Retryable.
    Unavailable,
    /// The store was configured wrongly (bad URL, missing setting).
    ConfigInvalid,
    /// The backend cannot do this operation.
    Unsupported,
    /// Anything else.
    Unexpected,
}

impl ErrorKind {
    /// Short stable name, e.g. `not_found`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::AlreadyExists => "already_exists",
            Self::Conflict => "conflict",
            Self::PermissionDenied => "permission_denied",
            Self::Unauthenticated => "unauthenticated",
            Self::RateLimited => "rate_limited",
            Self::InvalidInput => "invalid_input",
            Self::TooLarge => "too_large",
            Self::Corrupt => "corrupt",
            Self::Unavailable => "unavailable",
            Self::ConfigInvalid => "config_invalid",
            Self::Unsupported => "unsupported",
            Self::Unexpected => "unexpected",
        }
    }
}

/// The kind of an HTTP error status and whether retrying the same call may succeed, as REST
/// services commonly mean it. A backend matches its own exceptions first (Key Vault's 409
/// is a retryable conflict, Secret Manager's an existing secret).
pub fn http_status_kind(status: u16) -> (ErrorKind, bool) {
    match status {
        400 => (ErrorKind::InvalidInput, false),
        401 => (ErrorKind::Unauthenticated, false),
        403 => (ErrorKind::PermissionDenied, false),
        404 => (ErrorKind::NotFound, false),
        409 | 412 => (ErrorKind::Conflict, false),
        413 => (ErrorKind::TooLarge, false),
        429 => (ErrorKind::RateLimited, true),
        501 => (ErrorKind::Unsupported, false),
        408 | 500 | 502..=504 => (ErrorKind::Unavailable, true),
        _ => (ErrorKind::Unexpected, false),
    }
}

type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A token-store error: a [`ErrorKind`], the backend and operation it came from, a message
/// that never contains secret values, and the underlying cause.
pub struct Error {
    kind: ErrorKind,
    backend: &'static str,
    operation: &'static str,
    message: String,
    retryable: Option<bool>,
    source: Option<Source>,
}

/// Result alias used across the workspace.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An [`ErrorKind::Unexpected`] error of `backend`'s `operation`: the service answered
/// without `what` (`"a version id"`), which its API promises.
pub fn bad_answer(backend: &'static str, operation: &'static str, what: &str) -> Error {
    Error::new(
        ErrorKind::Unexpected,
        format!("the service answered without {what}"),
    )
    .with_backend(backend)
    .with_operation(operation)
}

/// Reading a service answer where some errors are answers: "not found" on a read means
/// `None`, "already gone" on a delete means done.
pub trait ResultExt<T> {
    /// `Ok(Some(value))` on success, `Ok(None)` for an error of one of `kinds`, the error
    /// otherwise.
    fn none_on(self, kinds: &[ErrorKind]) -> Result<Option<T>>;

    /// `Ok(None)` for `NotFound`: [`none_on`](Self::none_on)`(&[ErrorKind::NotFound])`.
    fn found(self) -> Result<Option<T>>
    where
        Self: Sized,
    {
        self.none_on(&[ErrorKind::NotFound])
    }
}

impl<T> ResultExt<T> for Result<T> {
    fn none_on(self, kinds: &[ErrorKind]) -> Result<Option<T>> {
        match self {
            Ok(value) => Ok(Some(value)),
            Err(e) if kinds.contains(&e.kind()) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl Error {
    /// A new error. `message` must not contain token material or credentials.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            backend: "",
            operation: "",
            message: message.into(),
            retryable: None,
            source: None,
        }
    }

    /// Attach the backend name (`"aws"`, `"file"`, …).
    pub fn with_backend(mut self, backend: &'static str) -> Self {
        self.backend = backend;
        self
    }

    /// Attach the operation (`"find_token"`, `"get_secret"`, …); keeps the first one set.
    pub fn with_operation(mut self, operation: &'static str) -> Self {
        if self.operation.is_empty() {
            self.operation = operation;
        }
        self
    }

    /// Attach the underlying cause.
    pub fn with_source(mut self, source: impl Into<Source>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Override the retryable flag derived from the kind (e.g. a retryable HTTP 503 mapped
    /// to `Unexpected`).
    pub fn with_retryable(mut self, retryable: bool) -> Self {
        self.retryable = Some(retryable);
        self
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The backend that failed, or `""` when not set.
    pub fn backend(&self) -> &'static str {
        self.backend
    }

    /// The operation that failed, or `""` when not set.
    pub fn operation(&self) -> &'static str {
        self.operation
    }

    /// The message, without backend/operation context.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether retrying the same call later may succeed (throttling, outages, lost races).
    pub fn is_retryable(&self) -> bool {
        self.retryable.unwrap_or(matches!(
            self.kind,
            ErrorKind::RateLimited | ErrorKind::Unavailable | ErrorKind::Conflict
        ))
    }

    /// Shorthand for [`ErrorKind::InvalidInput`].
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    /// Shorthand for [`ErrorKind::Corrupt`].
    pub fn corrupt(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Corrupt, message)
    }

    /// Shorthand for [`ErrorKind::NotFound`].
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind.as_str())?;
        if !self.backend.is_empty() {
            write!(f, " in {}", self.backend)?;
        }
        if !self.operation.is_empty() {
            write!(f, " during {}", self.operation)?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("backend", &self.backend)
            .field("operation", &self.operation)
            .field("message", &self.message)
            .field("retryable", &self.is_retryable())
            .field("source", &self.source)
            .finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}
