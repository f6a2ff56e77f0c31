//! HTTP handler for Google Cloud Run (`PORT`) and Azure Functions custom handlers
//! (`FUNCTIONS_CUSTOMHANDLER_PORT`): every request, on any path, gets a valid Zoho token
//! through the `TokenManager` and calls the CRM with it. Listens on `HTTP_HOST` (default
//! `0.0.0.0`, as Cloud Run needs). `REQUEST_TIMEOUT_MS`: the platform's request timeout (Cloud
//! Run's `timeoutSeconds`, Azure Functions' `functionTimeout`); each request is answered
//! before it (default: the manager's own wait bound).

use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use serde_json::Value;
use serverless_zoho::{App, init_logs, token_deadline};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port = std::env::var("FUNCTIONS_CUSTOMHANDLER_PORT")
        .or_else(|_| std::env::var("PORT"))
        .unwrap_or_else(|_| "8080".to_owned());
    let host = std::env::var("HTTP_HOST").unwrap_or_else(|_| "0.0.0.0".to_owned());
    init_logs();
    let app = Arc::new(App::from_env().await?);
    let timeout = match std::env::var("REQUEST_TIMEOUT_MS") {
        Ok(ms) => Some(std::time::Duration::from_millis(ms.parse()?)),
        Err(_) => None,
    };
    let router = Router::new().fallback(move || {
        let app = app.clone();
        async move {
            let deadline = timeout.map(|t| token_deadline(std::time::SystemTime::now() + t));
            match app.invoke(deadline).await {
                Ok(report) => (StatusCode::OK, report.to_string()),
                Err(err) => (
                    StatusCode::BAD_GATEWAY,
                    Value::from(err.to_string()).to_string(),
                ),
            }
        }
    });
    let listener = tokio::net::TcpListener::bind(format!("{host}:{port}")).await?;
    println!("listening on {}", listener.local_addr()?);
    axum::serve(listener, router).await?;
    Ok(())
}
