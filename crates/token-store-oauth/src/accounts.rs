//! The HTTP client for Zoho's token endpoint.

use std::time::{Duration, SystemTime};

use token_store_core::{Error, ErrorKind, Result};

use crate::response::{self, BACKEND, Grant};

/// Posts to `{accounts}/oauth/v2/token`: refreshes and grant-code exchanges.
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

impl AccountsClient {
    /// A client with the given request timeout (rustls, no proxy lookups beyond reqwest's).
    pub fn new(timeout: Duration) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| {
                Error::new(ErrorKind::ConfigInvalid, "cannot build the HTTP client")
                    .with_backend(BACKEND)
                    .with_source(e)
            })?;
        Ok(Self { http })
    }

    /// Post one token request to `accounts_url` and classify the answer.
    pub(crate) async fn post(
        &self,
        accounts_url: &str,
        client_id: &str,
        client_secret: &str,
        request: Request<'_>,
    ) -> Result<Grant> {
        let operation = match request {
            Request::Refresh { .. } => "refresh",
            Request::Exchange { .. } => "exchange_grant",
        };
        let body = form_body(client_id, client_secret, &request);
        let url = format!("{}/oauth/v2/token", accounts_url.trim_end_matches('/'));
        let answer = self
            .http
            .post(url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .await
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
}

/// The form body of a token request (built before any await: the serializer is not `Send`).
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

fn unavailable(err: reqwest::Error) -> Error {
    // reqwest's error text names the URL, never the form body: safe to keep as the source.
    Error::new(ErrorKind::Unavailable, "cannot reach the accounts server")
        .with_backend(BACKEND)
        .with_source(err.without_url())
}
