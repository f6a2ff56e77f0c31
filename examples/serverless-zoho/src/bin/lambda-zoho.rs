//! AWS Lambda function (custom runtime; deploy the binary as `bootstrap`): every invocation
//! gets a valid Zoho token through the `TokenManager` and calls the CRM with it.

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;
use serverless_zoho::{App, init_logs, token_deadline};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    // Cold start: open the store and build the manager once per instance.
    init_logs();
    let app = App::from_env().await?;
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        // Answer before Lambda's timeout ends the invocation (3 s by default).
        let deadline = token_deadline(event.context.deadline());
        app.invoke(Some(deadline)).await.map_err(|err| Diagnostic {
            error_type: err.kind().as_str().to_owned(),
            error_message: err.to_string(),
        })
    }))
    .await
}
