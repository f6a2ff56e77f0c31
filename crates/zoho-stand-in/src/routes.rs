//! HTTP routes of the stand-in server.

use std::collections::HashMap;
use std::time::Duration;

use axum::Router;
use axum::extract::{Form, Json, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::state::{Behaviour, Shared};

pub(crate) fn router(shared: Shared) -> Router {
    Router::new()
        .route("/oauth/v2/token", post(token))
        .route("/oauth/v2/token/revoke", post(revoke))
        .route("/crm/v8/org", get(crm_org))
        .route("/_test/seed", post(seed))
        .route("/_test/grant", post(grant))
        .route("/_test/introspect", post(introspect))
        .route("/_test/stats", get(stats))
        .route("/_test/config", post(config))
        .route("/_test/drop", post(drop_access))
        .with_state(shared)
}

async fn token(
    State(shared): State<Shared>,
    Form(form): Form<HashMap<String, String>>,
) -> Json<Value> {
    let delay = shared.behaviour().delay_ms;
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    let (id, secret) = (field("client_id"), field("client_secret"));
    Json(match field("grant_type") {
        "refresh_token" => shared.refresh(id, secret, field("refresh_token")),
        "authorization_code" => shared.exchange(id, secret, field("code")),
        _ => json!({ "error": "unsupported_grant_type" }),
    })
}

/// `POST /oauth/v2/token/revoke?token=…`: 200 when revoked, 400 for an unknown token (as
/// Zoho documents).
async fn revoke(
    State(shared): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> (StatusCode, Json<Value>) {
    let token = query.get("token").map(String::as_str).unwrap_or_default();
    if shared.revoke(token) {
        (StatusCode::OK, Json(json!({ "status": "success" })))
    } else {
        (
            StatusCode::BAD_REQUEST,
            Json(json!({ "status": "failure", "error": "invalid_token" })),
        )
    }
}

async fn config(State(shared): State<Shared>, Json(behaviour): Json<Behaviour>) -> Json<Value> {
    shared.set_behaviour(behaviour);
    Json(json!({ "ok": true }))
}

async fn drop_access(
    State(shared): State<Shared>,
    Json(req): Json<IntrospectRequest>,
) -> Json<Value> {
    Json(json!({ "dropped": shared.drop_access_token(&req.access_token) }))
}

async fn crm_org(State(shared): State<Shared>, headers: HeaderMap) -> (StatusCode, Json<Value>) {
    let access = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Zoho-oauthtoken "))
        .unwrap_or_default();
    if shared.crm_call(access) {
        (StatusCode::OK, Json(json!({ "org": [{ "id": "1" }] })))
    } else {
        (
            StatusCode::UNAUTHORIZED,
            Json(json!({
                "code": "INVALID_TOKEN",
                "details": {},
                "message": "invalid oauth token",
                "status": "error",
            })),
        )
    }
}

#[derive(Deserialize)]
struct SeedRequest {
    client_id: String,
    client_secret: String,
    /// Milliseconds the seeded access token still lives.
    expires_in_ms: i64,
}

async fn seed(State(shared): State<Shared>, Json(req): Json<SeedRequest>) -> Json<Value> {
    Json(shared.seed(&req.client_id, &req.client_secret, req.expires_in_ms))
}

#[derive(Deserialize)]
struct GrantRequest {
    client_id: String,
    client_secret: String,
}

async fn grant(State(shared): State<Shared>, Json(req): Json<GrantRequest>) -> Json<Value> {
    Json(shared.grant(&req.client_id, &req.client_secret))
}

#[derive(Deserialize)]
struct IntrospectRequest {
    access_token: String,
}

async fn introspect(
    State(shared): State<Shared>,
    Json(req): Json<IntrospectRequest>,
) -> Json<Value> {
    Json(json!({ "live": shared.is_live(&req.access_token) }))
}

async fn stats(State(shared): State<Shared>) -> Json<Value> {
    Json(serde_json::to_value(shared.stats()).unwrap_or_default())
}
