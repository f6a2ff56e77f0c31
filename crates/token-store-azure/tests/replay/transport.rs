//! An `azure_core` HTTP transport that checks each request the backend sends against the
//! next recorded one and answers with the recorded response bytes.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use azure_core::http::headers::{HeaderName, HeaderValue, Headers};
use azure_core::http::{AsyncRawResponse, Body, HttpClient, Request, StatusCode};
use serde_json::Value;

use crate::recording::Interaction;

/// What the backend must send for one step, and the answer it gets.
#[derive(Debug)]
pub struct Step {
    pub interaction: Interaction,
    /// Where the answer comes from, for failure messages (`file#index`, or how it was made).
    pub source: String,
    /// Keys the backend adds to the recorded request body, with their expected values (the
    /// recorded client set no tags and no content type).
    pub added_body: BTreeMap<String, Value>,
}

/// Replays [`Step`]s in order; any request that differs panics, failing the test.
#[derive(Debug, Default)]
pub struct ReplayTransport {
    steps: Mutex<VecDeque<Step>>,
}

impl ReplayTransport {
    pub fn new(steps: Vec<Step>) -> Self {
        Self {
            steps: Mutex::new(steps.into()),
        }
    }

    /// Steps not yet requested (a test ends with none).
    pub fn remaining(&self) -> Vec<String> {
        let steps = self.steps.lock().unwrap();
        steps.iter().map(|s| s.source.clone()).collect()
    }
}

fn query(url: &url::Url) -> BTreeMap<String, String> {
    url.query_pairs()
        .filter(|(k, _)| k != "api-version")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn body_of(request: &Request) -> Option<Value> {
    match request.body() {
        Body::Bytes(bytes) if bytes.is_empty() => None,
        Body::Bytes(bytes) => Some(serde_json::from_slice(bytes).expect("JSON request body")),
        Body::SeekableStream(_) => panic!("the backend streamed a request body"),
    }
}

/// Check `request` against `step`; panics with what differs.
fn check(request: &Request, step: &Step) {
    let recorded = &step.interaction;
    let at = &step.source;
    assert_eq!(
        request.method().as_ref(),
        recorded.method,
        "{at}: method of {}",
        request.url()
    );
    // Key Vault names are case-insensitive; this crate always spells them in lowercase.
    assert_eq!(
        request.url().path().to_ascii_lowercase(),
        recorded.uri.path().to_ascii_lowercase(),
        "{at}: path"
    );
    assert!(
        request.url().query_pairs().any(|(k, _)| k == "api-version"),
        "{at}: api-version sent"
    );
    assert_eq!(
        query(request.url()),
        query(&recorded.uri),
        "{at}: query other than api-version"
    );
    let authorization = request
        .headers()
        .get_optional_str(&HeaderName::from_static("authorization"));
    let sent = body_of(request);
    if recorded.status == 401 {
        assert_eq!(
            authorization, None,
            "{at}: the challenged request carries no token"
        );
        assert_eq!(sent, None, "{at}: the challenged request carries no body");
        return;
    }
    assert_eq!(
        authorization,
        Some(format!("Bearer {}", crate::TOKEN).as_str()),
        "{at}: bearer token"
    );
    let mut expected: Option<Value> = recorded
        .request_body
        .as_deref()
        .map(|b| serde_json::from_str(b).expect("recorded JSON body"));
    if !step.added_body.is_empty() {
        let object = expected.get_or_insert_with(|| Value::Object(Default::default()));
        for (k, v) in &step.added_body {
            object[k] = v.clone();
        }
    }
    assert_eq!(sent, expected, "{at}: request body");
}

#[async_trait::async_trait]
impl HttpClient for ReplayTransport {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        let step = self.steps.lock().unwrap().pop_front().unwrap_or_else(|| {
            panic!(
                "unexpected request {} {}: the recording has no more",
                request.method(),
                request.url()
            )
        });
        check(request, &step);
        let mut headers = Headers::new();
        for (name, value) in &step.interaction.headers {
            headers.insert(
                HeaderName::from(name.clone()),
                HeaderValue::from(value.clone()),
            );
        }
        Ok(AsyncRawResponse::from_bytes(
            StatusCode::from(step.interaction.status),
            headers,
            step.interaction.body.clone().into_bytes(),
        ))
    }
}
