//! Counting the requests sent to Secrets Manager, per API operation, with an SDK interceptor.
//! Every attempt the SDK transmits is counted (retries too), so the counts are what AWS bills.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_sdk_secretsmanager::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_secretsmanager::config::{ConfigBag, Intercept, RuntimeComponents};

/// Requests sent to Secrets Manager per API operation (`GetSecretValue`, …). Cheap to clone;
/// clones share the counts.
#[derive(Debug, Clone, Default)]
pub struct CallCounter {
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl CallCounter {
    /// Requests per operation since creation or the last [`reset`](Self::reset).
    pub fn counts(&self) -> BTreeMap<String, u64> {
        self.counts.lock().expect("counter lock").clone()
    }

    /// All requests since creation or the last reset.
    pub fn total(&self) -> u64 {
        self.counts.lock().expect("counter lock").values().sum()
    }

    /// Forget the counts.
    pub fn reset(&self) {
        self.counts.lock().expect("counter lock").clear();
    }

    fn record(&self, operation: &str) {
        *self
            .counts
            .lock()
            .expect("counter lock")
            .entry(operation.to_string())
            .or_default() += 1;
    }
}

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
