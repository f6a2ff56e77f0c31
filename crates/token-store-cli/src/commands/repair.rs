//! `repair`: the engine's index rebuild on a cloud store.

use serde_json::json;

use super::Ctx;
use crate::error::{CliError, OK};
use crate::store::total;

/// Rebuild the index of a cloud store from its token secrets and print what was fixed.
pub async fn run(ctx: &Ctx) -> Result<u8, CliError> {
    let store = ctx.open().await?;
    let cloud = store.cloud().ok_or_else(|| {
        CliError::usage(
            format!("a {} store has no index to repair", store.kind),
            "repair works on aws-secretsmanager://, gcp-secretmanager:// and azure-keyvault:// stores",
        )
    })?;
    let report = cloud.engine.repair().await?;
    let calls = store.calls().unwrap_or_default();
    ctx.out.result(
        || {
            format!(
                "scanned {} token secrets: {} index entries added, {} stale entries removed or reset, \
                 {} duplicate tokens folded ({} service calls)",
                report.tokens_scanned,
                report.entries_added,
                report.entries_fixed,
                report.duplicates_folded,
                total(&calls)
            )
        },
        || {
            json!({
                "tokens_scanned": report.tokens_scanned,
                "entries_added": report.entries_added,
                "entries_fixed": report.entries_fixed,
                "duplicates_folded": report.duplicates_folded,
                "service_calls": calls,
            })
        },
    );
    Ok(OK)
}
