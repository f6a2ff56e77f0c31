//! What every cloud adapter's configuration does the same way: the error for a bad setting,
//! reading environment variables, and splitting a store URL
//! (`scheme://<location>/<prefix>?<key>=<value>&…`).

use crate::{Error, ErrorKind, Result};

/// A [`ErrorKind::ConfigInvalid`] error of `backend`.
pub fn config_error(backend: &'static str, message: impl Into<String>) -> Error {
    Error::new(ErrorKind::ConfigInvalid, message).with_backend(backend)
}

/// The value of environment variable `name`, or `None` when it is unset or empty.
pub fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// A store URL split into the part before the query and its decoded parameters. Errors are
/// [`ErrorKind::ConfigInvalid`] and never echo the URL (it may hold a password).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreUrl {
    backend: &'static str,
    body: String,
    params: Vec<(String, String)>,
}

impl StoreUrl {
    /// Split `url`, which must start with `scheme://`; `backend` names the errors.
    pub fn parse(url: &str, scheme: &str, backend: &'static str) -> Result<Self> {
        let rest = url
            .strip_prefix(scheme)
            .and_then(|rest| rest.strip_prefix("://"))
            .ok_or_else(|| config_error(backend, format!("the URL must start with {scheme}://")))?;
        let (body, query) = rest.split_once('?').unwrap_or((rest, ""));
        let params = form_urlencoded::parse(query.as_bytes())
            .map(|(key, value)| (key.into_owned(), value.into_owned()))
            .collect();
        Ok(Self {
            backend,
            body: body.to_owned(),
            params,
        })
    }

    /// Everything between `://` and `?` as the prefix (`None` when empty): for services whose
    /// URL names no location (AWS: the region comes from a parameter or the SDK chain).
    pub fn whole_prefix(&self) -> Option<&str> {
        Some(self.body.as_str()).filter(|body| !body.is_empty())
    }

    /// The location (`host[:port]`, a project id, …) before the first `/`, required and
    /// without credentials, and the prefix after it (`None` when empty).
    pub fn location_and_prefix(&self, what: &str) -> Result<(&str, Option<&str>)> {
        let (location, prefix) = self.body.split_once('/').unwrap_or((&self.body, ""));
        if location.is_empty() {
            return Err(self.error(format!("the URL names no {what}")));
        }
        if location.contains('@') {
            return Err(self.error(
                "credentials do not belong in the URL; use the service's credential chain",
            ));
        }
        Ok((location, Some(prefix).filter(|p| !p.is_empty())))
    }

    /// The query parameters, decoded, in order.
    pub fn params(&self) -> impl Iterator<Item = (&str, &str)> {
        self.params.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The error for a parameter this backend does not know.
    pub fn unknown_param(&self, key: &str) -> Error {
        self.error(format!("unknown URL parameter {key:?}"))
    }

    /// A configuration error of this URL's backend.
    pub fn error(&self, message: impl Into<String>) -> Error {
        config_error(self.backend, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_location_prefix_and_params() {
        let url = StoreUrl::parse("s://host:1/a/b?x=1&y=a%2Fb", "s", "t").unwrap();
        assert_eq!(
            url.location_and_prefix("host").unwrap(),
            ("host:1", Some("a/b"))
        );
        assert_eq!(url.whole_prefix(), Some("host:1/a/b"));
        assert_eq!(url.params().collect::<Vec<_>>(), [("x", "1"), ("y", "a/b")]);
        let bare = StoreUrl::parse("s://p", "s", "t").unwrap();
        assert_eq!(bare.location_and_prefix("host").unwrap(), ("p", None));
        assert_eq!(
            StoreUrl::parse("s://", "s", "t").unwrap().whole_prefix(),
            None
        );
    }

    #[test]
    fn bad_urls_are_config_errors_of_the_backend() {
        let error = StoreUrl::parse("other://p", "s", "t").unwrap_err();
        assert_eq!(
            (error.kind(), error.backend()),
            (ErrorKind::ConfigInvalid, "t")
        );
        for bad in ["s:///p", "s://user:secret@host/p"] {
            let error = StoreUrl::parse(bad, "s", "t")
                .unwrap()
                .location_and_prefix("host")
                .unwrap_err();
            assert_eq!(error.kind(), ErrorKind::ConfigInvalid, "{bad}");
            assert!(!error.to_string().contains("secret"));
        }
    }
}
