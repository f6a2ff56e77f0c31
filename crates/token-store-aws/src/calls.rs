//! Counting the requests sent to Secrets Manager, per API operation, with an SDK interceptor.
//! Every attempt the SDK transmits is counted (retries too), so the counts are what AWS bills.

use aws_sdk_secretsmanager::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_secretsmanager::config::{ConfigBag, Intercept, RuntimeComponents};
use token_store_core::CallCounter;

/// The interceptor that feeds a [`CallCounter`]. The operation comes from the awsJson
/// `X-Amz-Target` header (`secretsmanager.GetSecretValue`).
#[derive(Debug)]
pub(crate) struct CountingInterceptor(pub(crate) CallCounter);

impl Intercept for CountingInterceptor {
    fn name(&self) -> &'static str {
        "token-store-call-counter"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let target = context
            .request()
            .headers()
            .get("x-amz-target")
            .unwrap_or("unknown");
        let operation = target.rsplit('.').next().unwrap_or(target);
        self.0.record(operation);
        Ok(())
    }
}
