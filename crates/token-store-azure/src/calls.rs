//! Counting the requests sent to Key Vault, per REST operation, with a per-try pipeline
//! policy: every authenticated attempt the client transmits is counted, its own retries (429,
//! 5xx) included, as the AWS backend counts. The unauthenticated probe that fetches a new
//! client's authentication challenge carries no `Authorization` header and is not counted.

use std::sync::Arc;

use async_trait::async_trait;
use azure_core::http::headers::AUTHORIZATION;
use azure_core::http::policies::{Policy, PolicyResult};
use azure_core::http::{Context, Method, Request};
use token_store_core::CallCounter;

/// The policy that feeds a [`CallCounter`]; it runs after the client's authentication policy.
#[derive(Debug)]
pub(crate) struct CountingPolicy(pub(crate) CallCounter);

#[async_trait]
impl Policy for CountingPolicy {
    async fn send(
        &self,
        ctx: &Context,
        request: &mut Request,
        next: &[Arc<dyn Policy>],
    ) -> PolicyResult {
        if request.headers().get_optional_str(&AUTHORIZATION).is_some() {
            self.0
                .record(operation(request.method(), request.url().path()));
        }
        next[0].send(ctx, request, &next[1..]).await
    }
}

/// The REST operation of a Key Vault request, from its method and path.
fn operation(method: Method, path: &str) -> &'static str {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match (method, segments.as_slice()) {
        (Method::Get, ["secrets"]) => "GetSecrets",
        (Method::Get, ["secrets", _]) => "GetSecret",
        (Method::Get, ["secrets", _, "versions"]) => "GetSecretVersions",
        (Method::Get, ["secrets", _, _]) => "GetSecretVersion",
        (Method::Put, ["secrets", _]) => "SetSecret",
        (Method::Delete, ["secrets", _]) => "DeleteSecret",
        (Method::Get, ["deletedsecrets", _]) => "GetDeletedSecret",
        (Method::Delete, ["deletedsecrets", _]) => "PurgeDeletedSecret",
        (Method::Post, ["deletedsecrets", _, "recover"]) => "RecoverDeletedSecret",
        _ => "Other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_named_by_their_rest_operation() {
        for (method, path, expected) in [
            (Method::Get, "/secrets", "GetSecrets"),
            (Method::Get, "/secrets/ts-index/", "GetSecret"),
            (
                Method::Get,
                "/secrets/ts-index/versions",
                "GetSecretVersions",
            ),
            (Method::Get, "/secrets/ts-index/0a1b", "GetSecretVersion"),
            (Method::Put, "/secrets/ts-index", "SetSecret"),
            (Method::Delete, "/secrets/ts-index", "DeleteSecret"),
            (Method::Get, "/deletedsecrets/ts-index", "GetDeletedSecret"),
            (
                Method::Delete,
                "/deletedsecrets/ts-index",
                "PurgeDeletedSecret",
            ),
            (
                Method::Post,
                "/deletedsecrets/ts-index/recover",
                "RecoverDeletedSecret",
            ),
            (Method::Post, "/secrets/ts-index/backup", "Other"),
        ] {
            assert_eq!(operation(method, path), expected, "{method:?} {path}");
        }
    }
}
