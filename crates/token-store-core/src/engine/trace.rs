//! One `tracing` span per store operation: `RUST_LOG=token_store=debug` shows which operation
//! ran on which backend, for which token id, how it ended and how long it took. The engine's
//! retry and merge events are emitted inside it. Never a token value or a user name.

use std::future::Future;
use std::time::Instant;

use tracing::Instrument as _;

use super::SecretIndexStore;
use crate::Result;

impl SecretIndexStore {
    /// Run `work`, the body of store operation `operation` (on token `id` when known), in its
    /// span; its error carries this backend and operation.
    pub(super) async fn traced<T>(
        &self,
        operation: &'static str,
        id: Option<&str>,
        work: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        // Ids are digits; anything else is bad input and is not echoed.
        let id = id.filter(|id| id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit()));
        let span = tracing::debug_span!(
            target: "token_store",
            "token_store",
            backend = self.backend.kind(),
            operation,
            id,
        );
        async {
            let started = Instant::now();
            let result = work.await.map_err(|e| self.err(e, operation));
            let elapsed_ms = started.elapsed().as_millis() as u64;
            match &result {
                Ok(_) => tracing::debug!(target: "token_store", elapsed_ms, "done"),
                Err(e) => tracing::debug!(
                    target: "token_store",
                    elapsed_ms,
                    kind = ?e.kind(),
                    retryable = e.is_retryable(),
                    "failed"
                ),
            }
            result
        }
        .instrument(span)
        .await
    }
}
