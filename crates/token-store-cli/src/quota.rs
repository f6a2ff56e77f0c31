//! Version quotas: how many versions each index secret got in the last 24 hours, on a
//! service that caps versions per secret and day (AWS).

use token_store::Result;
use token_store::raw::{INDEX_NAME, SHARD_PREFIX};

use crate::store::Cloud;

/// The index secret with the most versions created in the last 24 hours, and that number.
pub async fn busiest_index_secret(cloud: &Cloud) -> Result<(String, usize)> {
    let mut names = cloud.backend.list(SHARD_PREFIX).await?;
    names.push(INDEX_NAME.to_string());
    let since = chrono::Utc::now().timestamp() - 24 * 3600;
    let mut busiest = (INDEX_NAME.to_string(), 0);
    for name in names {
        let count = cloud.backend.versions_created_since(&name, since).await?;
        if count > busiest.1 {
            busiest = (name, count);
        }
    }
    Ok(busiest)
}
