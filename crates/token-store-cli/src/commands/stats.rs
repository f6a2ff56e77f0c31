//! `stats`: token counts, index size against its limit, service calls spent.

use serde::Serialize;
use serde_json::json;
use token_store::Result;
use token_store::raw::{INDEX_NAME, SHARD_PREFIX, TOKEN_PREFIX};

use super::Ctx;
use crate::error::{CliError, OK};
use crate::store::{Cloud, total};
use crate::view;

/// The index of a cloud store, measured.
#[derive(Debug, Serialize)]
pub struct IndexSize {
    /// Index secrets (the root and every shard).
    pub secrets: usize,
    /// Bytes of all index secrets together.
    pub total_bytes: usize,
    /// Bytes of the largest index secret.
    pub largest_bytes: usize,
    /// The service's limit on one secret value; a shard splits at half of it.
    pub limit_bytes: usize,
    /// Token ids the index lists.
    pub entries: usize,
    /// Token secrets present.
    pub token_secrets: usize,
}

/// Read every index secret and count the token secrets.
pub async fn index_size(cloud: &Cloud) -> Result<IndexSize> {
    let mut names = cloud.backend.list(SHARD_PREFIX).await?;
    names.push(INDEX_NAME.to_string());
    let mut sizes = Vec::with_capacity(names.len());
    for name in &names {
        if let Some(value) = cloud.backend.get(name).await? {
            sizes.push(value.value.len());
        }
    }
    Ok(IndexSize {
        secrets: sizes.len(),
        total_bytes: sizes.iter().sum(),
        largest_bytes: sizes.iter().copied().max().unwrap_or(0),
        limit_bytes: cloud.backend.limits().max_value_bytes,
        entries: cloud.engine.index_entries().await?,
        token_secrets: cloud.backend.list(TOKEN_PREFIX).await?.len(),
    })
}

/// Print the statistics.
pub async fn run(ctx: &Ctx) -> Result<u8, CliError> {
    let store = ctx.open().await?;
    let tokens = store.tokens().get_tokens().await?;
    let now = view::now_ms();
    let expired = tokens
        .iter()
        .filter(|t| t.expiry_time.is_some_and(|e| e <= now))
        .count();
    let index = match store.cloud() {
        Some(cloud) => Some(index_size(cloud).await?),
        None => None,
    };
    let calls = store.calls();
    ctx.out.result(
        || {
            let mut out = format!(
                "store:          {}\ntokens:         {}\nexpired tokens: {expired}\n",
                store.kind,
                tokens.len()
            );
            if let Some(i) = &index {
                out += &format!(
                    "index:          {} secrets, {} bytes; largest {} of {} bytes ({:.1} %)\n\
                     index entries:  {} tokens listed, {} token secrets\n",
                    i.secrets,
                    i.total_bytes,
                    i.largest_bytes,
                    i.limit_bytes,
                    100.0 * i.largest_bytes as f64 / i.limit_bytes.max(1) as f64,
                    i.entries,
                    i.token_secrets
                );
            }
            match &calls {
                Some(calls) => {
                    let each: Vec<String> =
                        calls.iter().map(|(op, n)| format!("{op} {n}")).collect();
                    out += &format!("service calls:  {} ({})\n", total(calls), each.join(", "));
                }
                None => out += "service calls:  - (not a cloud store)\n",
            }
            out
        },
        || {
            json!({
                "store": store.kind, "tokens": tokens.len(), "expired_tokens": expired,
                "index": index, "service_calls": calls,
            })
        },
    );
    Ok(OK)
}
