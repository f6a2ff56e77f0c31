//! AWS version quota: how many versions each index secret got in the last 24 hours.

use token_store::aws::AwsBackend;
use token_store::raw::{INDEX_NAME, SHARD_PREFIX};
use token_store::{Error, ErrorKind, Result};

use crate::store::Cloud;

/// The index secret with the most versions created in the last 24 hours, and that number.
pub async fn busiest_aws_secret(cloud: &Cloud, aws: &AwsBackend) -> Result<(String, usize)> {
    let mut names = cloud.backend.list(SHARD_PREFIX).await?;
    names.push(INDEX_NAME.to_string());
    let since = chrono::Utc::now().timestamp() - 24 * 3600;
    let mut busiest = (INDEX_NAME.to_string(), 0);
    for name in names {
        let count = versions_since(aws, &aws.secret_name(&name)?, since).await?;
        if count > busiest.1 {
            busiest = (name, count);
        }
    }
    Ok(busiest)
}

async fn versions_since(aws: &AwsBackend, secret: &str, since_secs: i64) -> Result<usize> {
    let mut count = 0;
    let mut next = None;
    loop {
        let page = aws
            .client()
            .list_secret_version_ids()
            .secret_id(secret)
            .include_deprecated(true)
            .max_results(100)
            .set_next_token(next)
            .send()
            .await
            .map_err(|e| {
                Error::new(ErrorKind::Unavailable, "ListSecretVersionIds failed")
                    .with_backend("aws")
                    .with_source(e)
            })?;
        count += page
            .versions()
            .iter()
            .filter(|v| v.created_date().is_some_and(|d| d.secs() >= since_secs))
            .count();
        next = page.next_token().map(str::to_string);
        if next.is_none() {
            return Ok(count);
        }
    }
}
