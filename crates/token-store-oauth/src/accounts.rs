//! The HTTP client for Zoho's accounts server: the token endpoint and revocation.

use std::time::{Duration, SystemTime};

use token_store_core::{Error, ErrorKind, Result};

use crate::response::{self, BACKEND, Grant};

/// Posts to `{accounts}/oauth/v2/token`: refreshes and grant-code exchanges; and to
/// `{accounts}/oauth/v2/token/revoke`.
#[derive(Debug, Clone)]
pub struct AccountsClient {
    http: reqwest::Client,
}

/// The client credentials and the grant a request presents.
pub(crate) enum Request<'a> {
    /// `grant_type=refresh_token`.
    Refresh { refresh_token: &'a str },
    /// `grant_type=authorization_code`.
    Exchange {
        code: &'a str,
        redirect_uri: Option<&'a str>,
    },
}

/// What a revocation found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Revoked {
    /// The server revoked the refresh token (and every access token it minted).
    Now,
    /// The server did not know the token (HTTP 400): revoked or deleted before.
    Already,
}

impl AccountsClient {
    /// A client (rustls, no proxy lookups beyond reqwest's); each request sets its timeout.
    pub fn new() -> Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| {
                Error::new(ErrorKind::ConfigInvalid, "cannot build the HTTP client")
                    .with_backend(BACKEND)
                    .with_source(e)
            })?;
        Ok(Self { http })
    }

    /// Post one token request to `accounts_url` within `timeout` and classify the answer.
    ///
    /// A request that provably never reached the server's handler (connection refused, or a
    /// pooled connection closed before any answer — the usual fate of a connection kept across
    /// a frozen serverless instance) is sent once more; a timeout is not (the server may be
    /// minting: a second request could cost a second mint).
    pub(crate) async fn post(
        &self,
        accounts_url: &str,
        client_id: &str,
        client_secret: &str,
        request: Request<'_>,
        timeout: Duration,
    ) -> Result<Grant> {
        let operation = match request {
            Request::Refresh { .. } => "refresh",
            Request::Exchange { .. } => "exchange_grant",
        };
        let body = form_body(client_id, client_secret, &request);
        let url = format!("{}/oauth/v2/token", accounts_url.trim_end_matches('/'));
        let send = || {
            self.http
                .post(&url)
                .timeout(timeout)
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(body.clone())
                .send()
        };
        let answer = match send().await {
            Err(err) if never_reached_the_server(&err) => {
                tracing::debug!("the accounts server was not reached; sending once more");
                send().await
            }
            other => other,
        }
        .map_err(|e| unavailable(e).with_operation(operation))?;
        let status = answer.status();
        let body = answer
            .text()
            .await
            .map_err(|e| unavailable(e).with_operation(operation))?;
        match response::parse(&body, SystemTime::now()) {
            Err(err) if err.kind() == ErrorKind::Unavailable => Err(Error::new(
                ErrorKind::Unavailable,
                format!("the accounts server answered HTTP {}", status.as_u16()),
            )
            .with_backend(BACKEND)
            .with_operation(operation)),
            other => other.map_err(|e| e.with_operation(operation)),
        }
    }

    /// Revoke `refresh_token` at `accounts_url` (`POST /oauth/v2/token/revoke?token=…`, as
    /// Zoho documents; HTTP 400 means the token is not (or no longer) valid).
    pub(crate) async fn revoke(
        &self,
        accounts_url: &str,
        refresh_token: &str,
        timeout: Duration,
    ) -> Result<Revoked> {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("token", refresh_token)
            .finish();
        let url = format!(
            "{}/oauth/v2/token/revoke?{query}",
            accounts_url.trim_end_matches('/')
        );
        let answer = self
            .http
            .post(url)
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| unavailable(e).with_operation("revoke"))?;
        match answer.status().as_u16() {
            200..=299 => Ok(Revoked::Now),
            400 => Ok(Revoked::Already),
            status => {
                let (kind, retryable) = token_store_core::raw::http_status_kind(status);
                Err(Error::new(
                    kind,
                    format!("the accounts server answered HTTP {status} to the revocation"),
                )
                .with_retryable(retryable)
                .with_backend(BACKEND)
                .with_operation("revoke"))
            }
        }
    }
}

/// The form body of a token request.
fn form_body(client_id: &str, client_secret: &str, request: &Request<'_>) -> String {
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("client_id", client_id)
        .append_pair("client_secret", client_secret);
    match request {
        Request::Refresh { refresh_token } => {
            form.append_pair("grant_type", "refresh_token")
                .append_pair("refresh_token", refresh_token);
        }
        Request::Exchange { code, redirect_uri } => {
            form.append_pair("grant_type", "authorization_code")
                .append_pair("code", code);
            if let Some(uri) = redirect_uri {
                form.append_pair("redirect_uri", uri);
            }
        }
    }
    form.finish()
}

/// Whether the request failed before any byte of it could have been handled: the connection
/// was refused, or a reused connection was found closed or reset before an answer began.
fn never_reached_the_server(err: &reqwest::Error) -> bool {
    if err.is_timeout() {
        return false;
    }
    if err.is_connect() {
        return true;
    }
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        if let Some(hyper) = cause.downcast_ref::<hyper::Error>()
            && hyper.is_incomplete_message()
        {
            return true;
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionRefused
                    | std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
            )
        {
            return true;
        }
        source = cause.source();
    }
    false
}

fn unavailable(err: reqwest::Error) -> Error {
    // reqwest's error text names the URL, never the form body; the URL is dropped as it may
    // carry a token (revocation).
    Error::new(ErrorKind::Unavailable, "cannot reach the accounts server")
        .with_backend(BACKEND)
        .with_source(err.without_url())
}
