//! A quota and cost model of the three secret managers, and a virtual-time simulation of the
//! engine against it.
//!
//! * [`QuotaBackend`] wraps any [`SecretBackend`](crate::SecretBackend) (normally
//!   [`MemoryBackend`](super::MemoryBackend)) and turns every backend method into the service
//!   calls the matching cloud adapter makes ([`ServiceCall`]), on a [`VirtualClock`]. It
//!   enforces the service's documented limits ([`QuotaProfile`]), fails like the service does
//!   (a throttled call is [`ErrorKind::RateLimited`](crate::ErrorKind::RateLimited), an
//!   oversized value [`ErrorKind::TooLarge`](crate::ErrorKind::TooLarge)), records every
//!   violation and meters the cost ([`QuotaReport`]).
//! * [`simulate`] runs writers of a refresh/find/churn workload through
//!   [`SecretIndexStore`](crate::SecretIndexStore) over a `QuotaBackend` on a paused tokio
//!   clock (days in seconds) and returns a [`SimReport`]; the `quota_sim` example prints a
//!   table of them.
//!
//! The model uses only the [`SecretBackend`](crate::SecretBackend) trait: it never looks at
//! secret names or values. Which secrets the engine manages as a version log (GCP destroys
//! the superseded version of other secrets on every put) is learnt from the engine calling
//! `versions_after` or `retire_versions_before` on them.
//!
//! Every limit and price below names its source; the shorthands are those of
//! `cloud-secret-stores.md` (the workspace's reference notes on the three services).

mod backend;
mod sim;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub use backend::{CostEstimate, QuotaBackend, QuotaReport, Violation};
pub use sim::{Percentiles, SimConfig, SimReport, format_table, simulate};

/// The cloud service a [`QuotaProfile`] models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    /// AWS Secrets Manager (compare-and-swap index protocol).
    Aws,
    /// Google Cloud Secret Manager (merge log, numbered versions).
    Gcp,
    /// Azure Key Vault (merge log, opaque versions).
    Azure,
}

impl Service {
    /// `aws`, `gcp` or `azure`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Aws => "aws",
            Self::Gcp => "gcp",
            Self::Azure => "azure",
        }
    }

    /// Parse [`name`](Self::name).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "aws" => Some(Self::Aws),
            "gcp" => Some(Self::Gcp),
            "azure" => Some(Self::Azure),
            _ => None,
        }
    }
}

/// One billed/throttled request to a service, as the cloud adapters make them.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServiceCall {
    AwsGetSecretValue,
    AwsBatchGetSecretValue,
    AwsCreateSecret,
    AwsPutSecretValue,
    AwsUpdateSecretVersionStage,
    AwsDeleteSecret,
    AwsListSecrets,
    GcpAccessSecretVersion,
    GcpCreateSecret,
    GcpAddSecretVersion,
    GcpDestroySecretVersion,
    GcpDeleteSecret,
    GcpListSecrets,
    GcpListSecretVersions,
    AzureGetSecret,
    AzureSetSecret,
    AzureGetSecretVersions,
    AzureGetSecrets,
    AzureDeleteSecret,
    AzurePurgeDeletedSecret,
}

impl ServiceCall {
    /// The service's operation name.
    pub fn name(self) -> &'static str {
        use ServiceCall::*;
        match self {
            AwsGetSecretValue => "GetSecretValue",
            AwsBatchGetSecretValue => "BatchGetSecretValue",
            AwsCreateSecret => "CreateSecret",
            AwsPutSecretValue => "PutSecretValue",
            AwsUpdateSecretVersionStage => "UpdateSecretVersionStage",
            AwsDeleteSecret => "DeleteSecret",
            AwsListSecrets => "ListSecrets",
            GcpAccessSecretVersion => "AccessSecretVersion",
            GcpCreateSecret => "CreateSecret",
            GcpAddSecretVersion => "AddSecretVersion",
            GcpDestroySecretVersion => "DestroySecretVersion",
            GcpDeleteSecret => "DeleteSecret",
            GcpListSecrets => "ListSecrets",
            GcpListSecretVersions => "ListSecretVersions",
            AzureGetSecret => "GetSecret",
            AzureSetSecret => "SetSecret",
            AzureGetSecretVersions => "GetSecretVersions",
            AzureGetSecrets => "GetSecrets",
            AzureDeleteSecret => "DeleteSecret",
            AzurePurgeDeletedSecret => "PurgeDeletedSecret",
        }
    }
}

/// A sliding-window request limit: at most `max` accepted calls of `calls` in any `window`
/// (per project/region/vault, or per secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimit {
    /// Violation kind reported when it trips, e.g. `aws_write_tps`.
    pub name: &'static str,
    /// The calls that count against it.
    pub calls: &'static [ServiceCall],
    /// Window length of virtual time.
    pub window: Duration,
    /// Calls accepted per window; the next one is throttled.
    pub max: u32,
    /// Counted per secret rather than for the whole namespace.
    pub per_secret: bool,
}

/// List prices.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pricing {
    /// USD per existing secret per month, prorated.
    pub per_secret_month: f64,
    /// USD per active (not destroyed) version per month, prorated.
    pub per_active_version_month: f64,
    /// USD per 10,000 billed calls.
    pub per_10k_calls: f64,
    /// Only `AccessSecretVersion` is billed (GCP: management operations are free).
    pub only_access_billed: bool,
}

/// Everything the [`QuotaBackend`] enforces and prices for one service.
#[derive(Debug, Clone, PartialEq)]
pub struct QuotaProfile {
    /// The service.
    pub service: Service,
    /// Largest value accepted; larger is `TooLarge` (violation `value_size`).
    pub max_value_bytes: usize,
    /// Ids per `get_many` call (what the adapter reports).
    pub batch_size: usize,
    /// Items per page of a secret listing.
    pub list_page_size: usize,
    /// Items per page of a version listing.
    pub version_page_size: usize,
    /// Request limits.
    pub rate_limits: Vec<RateLimit>,
    /// AWS: versions a secret may get in any 24 h (violation `aws_versions_24h`).
    pub versions_per_24h: Option<u32>,
    /// Our own target of writes per secret in any 24 h, reported as a statistic.
    pub write_target_24h: Option<u32>,
    /// Azure: a secret with more versions than this cannot be backed up (violation
    /// `backup_limit`, reported once per secret; the write itself succeeds).
    pub backup_max_versions: Option<u64>,
    /// GCP adapter: a put to a secret outside the index ([`crate::is_index_secret`]) destroys
    /// the superseded version.
    pub destroy_superseded_on_put: bool,
    /// GCP adapter: index shards roll to a new generation every this many versions
    /// ([`crate::BackendLimits::versions_per_generation`]).
    pub versions_per_generation: Option<u32>,
    /// List prices.
    pub pricing: Pricing,
}

/// AWS: largest `SecretString` (`aws-model` `SecretStringType` 1..65,536; "Length of a secret
/// 65,536 bytes" in `aws-quotas-2022`).
pub const AWS_MAX_VALUE_BYTES: usize = 65_536;
/// AWS: versions a secret may get in 24 h: Secrets Manager removes unlabelled versions past
/// ~100 but never those created in the last 24 h, so the 101st fails with
/// `LimitExceededException` (`aws-quotas` intro; `aws-model` PutSecretValue doc).
pub const AWS_VERSIONS_PER_24H: u32 = 100;
/// Our own target: no secret written more than 96 times in any 24 h (one write per 15 min;
/// AWS advises at most one per 10 min sustained, `aws-quotas`).
pub const AWS_WRITE_TARGET_24H: u32 = 96;
/// AWS: PutSecretValue + UpdateSecret + UpdateSecretVersionStage, combined per region per
/// second, not adjustable (`aws-quotas`).
pub const AWS_WRITE_TPS: u32 = 50;
/// AWS: GetSecretValue per region per second (`aws-quotas`; what's-new 2025-03).
pub const AWS_GET_TPS: u32 = 10_000;
/// AWS: BatchGetSecretValue per region per second (`aws-quotas`, zh_TW row).
pub const AWS_BATCH_GET_TPS: u32 = 100;
/// AWS: CreateSecret per region per second (`aws-quotas-2022`).
pub const AWS_CREATE_TPS: u32 = 50;
/// AWS: DeleteSecret per region per second (`aws-quotas-2022`).
pub const AWS_DELETE_TPS: u32 = 50;
/// AWS: ListSecrets per region per second (what's-new 2022-11).
pub const AWS_LIST_TPS: u32 = 100;
/// AWS: ids per BatchGetSecretValue (`aws-model` `SecretIdListType`).
pub const AWS_BATCH_SIZE: usize = 20;
/// AWS: the adapter lists with `MaxResults = 100`.
pub const AWS_LIST_PAGE_SIZE: usize = 100;
/// AWS: USD per secret per month, prorated (aws.amazon.com/secrets-manager/pricing, via
/// api-evangelist transcription 2026-09-20).
pub const AWS_PRICE_SECRET_MONTH: f64 = 0.40;
/// AWS: USD per 10,000 API calls (same page).
pub const AWS_PRICE_10K_CALLS: f64 = 0.05;

/// GCP: largest payload, 64 KiB (`gcp-quotas` "Content limits"; `gcp-model`).
pub const GCP_MAX_VALUE_BYTES: usize = 65_536;
/// GCP: write requests (create/update/delete secret, add/enable/disable/destroy version) per
/// minute per project (`gcp-quotas`).
pub const GCP_WRITES_PER_MIN: u32 = 600;
/// GCP: other non-mutating requests (get/list metadata) per minute per project (`gcp-quotas`).
pub const GCP_READS_PER_MIN: u32 = 600;
/// GCP: AccessSecretVersion per minute per project (`gcp-quotas`).
pub const GCP_ACCESS_PER_MIN: u32 = 90_000;
/// GCP: AddSecretVersion + UpdateSecret per second per (global) secret (`gcp-quotas`).
pub const GCP_ADD_VERSION_PER_SEC_PER_SECRET: u32 = 2;
/// GCP: AddSecretVersion + UpdateSecret per minute per (global) secret (`gcp-quotas`).
pub const GCP_ADD_VERSION_PER_MIN_PER_SECRET: u32 = 120;
/// GCP: page size assumed for ListSecrets / ListSecretVersions (the adapter leaves it to the
/// service by default; 25 is an assumption).
pub const GCP_PAGE_SIZE: usize = 25;
/// GCP: USD per active version per month, prorated (cloud.google.com/secret-manager/pricing).
pub const GCP_PRICE_VERSION_MONTH: f64 = 0.06;
/// GCP: USD per 10,000 access operations; management operations are free (same page).
pub const GCP_PRICE_10K_ACCESS: f64 = 0.03;

/// Azure: largest value, 25 KB (`az-secrets`; the adapter checks 25,600 bytes).
pub const AZURE_MAX_VALUE_BYTES: usize = 25_600;
/// Azure: SET (create/put) per vault per 10 s (`az-limits`).
pub const AZURE_SETS_PER_10S: u32 = 300;
/// Azure: all other transactions per vault per 10 s (`az-limits`; older pages: 2,000).
pub const AZURE_OTHER_PER_10S: u32 = 4_000;
/// Azure: a secret with more versions cannot be backed up (`az-limits`).
pub const AZURE_BACKUP_MAX_VERSIONS: u64 = 500;
/// Azure: items per list page (`maxresults` default, Rust SDK `method_options.rs`).
pub const AZURE_PAGE_SIZE: usize = 25;
/// Azure: USD per 10,000 transactions, no per-secret charge (Microsoft Q&A 5608202;
/// secondary source, the official page was not readable).
pub const AZURE_PRICE_10K_CALLS: f64 = 0.03;

const SECOND: Duration = Duration::from_secs(1);
const MINUTE: Duration = Duration::from_secs(60);
const TEN_SECONDS: Duration = Duration::from_secs(10);

impl QuotaProfile {
    /// The profile of `service`.
    pub fn of(service: Service) -> Self {
        match service {
            Service::Aws => Self::aws(),
            Service::Gcp => Self::gcp(),
            Service::Azure => Self::azure(),
        }
    }

    /// AWS Secrets Manager, one region.
    pub fn aws() -> Self {
        use ServiceCall::*;
        let tps = |name, calls, max| RateLimit {
            name,
            calls,
            window: SECOND,
            max,
            per_secret: false,
        };
        Self {
            service: Service::Aws,
            max_value_bytes: AWS_MAX_VALUE_BYTES,
            batch_size: AWS_BATCH_SIZE,
            list_page_size: AWS_LIST_PAGE_SIZE,
            version_page_size: AWS_LIST_PAGE_SIZE,
            rate_limits: vec![
                tps(
                    "aws_write_tps",
                    &[AwsPutSecretValue, AwsUpdateSecretVersionStage],
                    AWS_WRITE_TPS,
                ),
                tps("aws_get_tps", &[AwsGetSecretValue], AWS_GET_TPS),
                tps(
                    "aws_batch_get_tps",
                    &[AwsBatchGetSecretValue],
                    AWS_BATCH_GET_TPS,
                ),
                tps("aws_create_tps", &[AwsCreateSecret], AWS_CREATE_TPS),
                tps("aws_delete_tps", &[AwsDeleteSecret], AWS_DELETE_TPS),
                tps("aws_list_tps", &[AwsListSecrets], AWS_LIST_TPS),
            ],
            versions_per_24h: Some(AWS_VERSIONS_PER_24H),
            write_target_24h: Some(AWS_WRITE_TARGET_24H),
            backup_max_versions: None,
            destroy_superseded_on_put: false,
            versions_per_generation: None,
            pricing: Pricing {
                per_secret_month: AWS_PRICE_SECRET_MONTH,
                per_active_version_month: 0.0,
                per_10k_calls: AWS_PRICE_10K_CALLS,
                only_access_billed: false,
            },
        }
    }

    /// Google Cloud Secret Manager, one project, global secrets.
    pub fn gcp() -> Self {
        use ServiceCall::*;
        const WRITES: &[ServiceCall] = &[
            GcpCreateSecret,
            GcpAddSecretVersion,
            GcpDestroySecretVersion,
            GcpDeleteSecret,
        ];
        Self {
            service: Service::Gcp,
            max_value_bytes: GCP_MAX_VALUE_BYTES,
            batch_size: 1,
            list_page_size: GCP_PAGE_SIZE,
            version_page_size: GCP_PAGE_SIZE,
            rate_limits: vec![
                RateLimit {
                    name: "gcp_writes_per_min",
                    calls: WRITES,
                    window: MINUTE,
                    max: GCP_WRITES_PER_MIN,
                    per_secret: false,
                },
                RateLimit {
                    name: "gcp_reads_per_min",
                    calls: &[GcpListSecrets, GcpListSecretVersions],
                    window: MINUTE,
                    max: GCP_READS_PER_MIN,
                    per_secret: false,
                },
                RateLimit {
                    name: "gcp_access_per_min",
                    calls: &[GcpAccessSecretVersion],
                    window: MINUTE,
                    max: GCP_ACCESS_PER_MIN,
                    per_secret: false,
                },
                RateLimit {
                    name: "gcp_add_version_per_sec_per_secret",
                    calls: &[GcpAddSecretVersion],
                    window: SECOND,
                    max: GCP_ADD_VERSION_PER_SEC_PER_SECRET,
                    per_secret: true,
                },
                RateLimit {
                    name: "gcp_add_version_per_min_per_secret",
                    calls: &[GcpAddSecretVersion],
                    window: MINUTE,
                    max: GCP_ADD_VERSION_PER_MIN_PER_SECRET,
                    per_secret: true,
                },
            ],
            versions_per_24h: None,
            write_target_24h: None,
            backup_max_versions: None,
            destroy_superseded_on_put: true,
            versions_per_generation: Some(crate::raw::VERSIONS_PER_GENERATION),
            pricing: Pricing {
                per_secret_month: 0.0,
                per_active_version_month: GCP_PRICE_VERSION_MONTH,
                per_10k_calls: GCP_PRICE_10K_ACCESS,
                only_access_billed: true,
            },
        }
    }

    /// Azure Key Vault (Standard), one vault.
    pub fn azure() -> Self {
        use ServiceCall::*;
        Self {
            service: Service::Azure,
            max_value_bytes: AZURE_MAX_VALUE_BYTES,
            batch_size: 1,
            list_page_size: AZURE_PAGE_SIZE,
            version_page_size: AZURE_PAGE_SIZE,
            rate_limits: vec![
                RateLimit {
                    name: "azure_sets_per_10s",
                    calls: &[AzureSetSecret],
                    window: TEN_SECONDS,
                    max: AZURE_SETS_PER_10S,
                    per_secret: false,
                },
                RateLimit {
                    name: "azure_other_per_10s",
                    calls: &[
                        AzureGetSecret,
                        AzureGetSecretVersions,
                        AzureGetSecrets,
                        AzureDeleteSecret,
                        AzurePurgeDeletedSecret,
                    ],
                    window: TEN_SECONDS,
                    max: AZURE_OTHER_PER_10S,
                    per_secret: false,
                },
            ],
            versions_per_24h: None,
            write_target_24h: None,
            backup_max_versions: Some(AZURE_BACKUP_MAX_VERSIONS),
            destroy_superseded_on_put: false,
            versions_per_generation: None,
            pricing: Pricing {
                per_secret_month: 0.0,
                per_active_version_month: 0.0,
                per_10k_calls: AZURE_PRICE_10K_CALLS,
                only_access_billed: false,
            },
        }
    }
}

impl QuotaProfile {
    /// The per-secret limit on versions written in a minute (GCP), the adapter reports.
    pub fn versions_per_minute_per_secret(&self) -> Option<u32> {
        self.rate_limits
            .iter()
            .find(|limit| limit.per_secret && limit.window == MINUTE)
            .map(|limit| limit.max)
    }
}

/// Virtual time for the quota windows and the cost meter. Clones share the clock.
#[derive(Clone, Debug)]
pub struct VirtualClock(Arc<ClockSource>);

#[derive(Debug)]
enum ClockSource {
    /// Nanoseconds since the start, moved by [`VirtualClock::advance`].
    Manual(AtomicU64),
    /// Time since this tokio instant (virtual under a paused runtime).
    Tokio(tokio::time::Instant),
}

impl VirtualClock {
    /// A clock at 0 that moves only by [`advance`](Self::advance) / [`set`](Self::set).
    pub fn manual() -> Self {
        Self(Arc::new(ClockSource::Manual(AtomicU64::new(0))))
    }

    /// A clock that follows `tokio::time::Instant` from now on: virtual time when the runtime
    /// is paused (`start_paused = true`), so the engine's backoff sleeps and the quota windows
    /// share one clock. Must be created inside a runtime.
    pub fn tokio() -> Self {
        Self(Arc::new(ClockSource::Tokio(tokio::time::Instant::now())))
    }

    /// Time since the clock's start.
    pub fn now(&self) -> Duration {
        match &*self.0 {
            ClockSource::Manual(nanos) => Duration::from_nanos(nanos.load(Ordering::SeqCst)),
            ClockSource::Tokio(start) => tokio::time::Instant::now() - *start,
        }
    }

    /// Move a manual clock forward. Panics on a tokio clock (sleep or
    /// `tokio::time::advance` instead).
    pub fn advance(&self, by: Duration) {
        match &*self.0 {
            ClockSource::Manual(nanos) => {
                nanos.fetch_add(by.as_nanos() as u64, Ordering::SeqCst);
            }
            ClockSource::Tokio(_) => panic!("a tokio clock moves with tokio time"),
        }
    }

    /// Set a manual clock to `at` since its start (never backwards).
    pub fn set(&self, at: Duration) {
        match &*self.0 {
            ClockSource::Manual(nanos) => {
                nanos.fetch_max(at.as_nanos() as u64, Ordering::SeqCst);
            }
            ClockSource::Tokio(_) => panic!("a tokio clock moves with tokio time"),
        }
    }

    /// Whether this clock follows tokio time (so latency can be simulated by sleeping).
    pub fn is_tokio(&self) -> bool {
        matches!(&*self.0, ClockSource::Tokio(_))
    }
}

#[cfg(test)]
mod tests;
