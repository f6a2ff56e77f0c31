//! [`GcpSecretManagerStoreBuilder`]: project, prefix, endpoint, credentials, labels,
//! replication; plus the environment and URL forms.

use std::collections::BTreeMap;
use std::time::Duration;

use google_cloud_auth::credentials::{Credentials, anonymous};
use google_cloud_gax::retry_policy::{Aip194Strict, RetryPolicyExt};
use google_cloud_secretmanager_v1::client::SecretManagerService;
use google_cloud_secretmanager_v1::model::{Replication, replication};
use token_store_core::raw::{StoreUrl, TagRules, env_var};
use token_store_core::{EngineOptions, Error, Result};

use crate::backend::GcpBackend;
use crate::names::Names;

/// Secret-id prefix used when none is configured.
pub const DEFAULT_PREFIX: &str = "token-store-";
/// Environment variable naming an emulator endpoint (`http://127.0.0.1:8086`); when set,
/// [`GcpSecretManagerStore::from_env`](crate::GcpSecretManagerStore::from_env) uses it with anonymous credentials.
pub const ENDPOINT_ENV: &str = "TOKEN_STORE_GCP_ENDPOINT";
/// Environment variable with the secret-id prefix (default [`DEFAULT_PREFIX`]).
pub const PREFIX_ENV: &str = "TOKEN_STORE_GCP_PREFIX";
/// Environment variable with the project id (the Google Cloud convention).
pub const PROJECT_ENV: &str = "GOOGLE_CLOUD_PROJECT";
/// URL scheme of [`GcpSecretManagerStore::from_url`](crate::GcpSecretManagerStore::from_url).
pub const URL_SCHEME: &str = "gcp-secretmanager";

/// Label every secret of this store carries so an operator can see what owns it.
const OWNER_LABEL: (&str, &str) = ("managed-by", "token-store");

/// Where Secret Manager keeps the secret's payloads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum GcpReplication {
    /// Google chooses the locations (billed as one location).
    #[default]
    Automatic,
    /// User-managed replication in these locations (e.g. `europe-west1`), each billed.
    UserManaged(Vec<String>),
}

impl GcpReplication {
    pub(crate) fn to_model(&self) -> Replication {
        match self {
            Self::Automatic => Replication::new().set_automatic(replication::Automatic::new()),
            Self::UserManaged(locations) => {
                Replication::new().set_user_managed(
                    replication::UserManaged::new().set_replicas(locations.iter().map(|l| {
                        replication::user_managed::Replica::new().set_location(l.clone())
                    })),
                )
            }
        }
    }
}

token_store_core::cloud_settings! {
    /// Builds a [`GcpSecretManagerStore`](crate::GcpSecretManagerStore) (or just its [`GcpBackend`]).
    ///
    /// ```no_run
    /// # async fn demo() -> token_store_core::Result<()> {
    /// use token_store_gcp::GcpSecretManagerStore;
    /// let store = GcpSecretManagerStore::builder()
    ///     .project("my-project")
    ///     .prefix("crm-tokens-")
    ///     .label("team", "billing")
    ///     .build()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    GcpSettings => GcpSecretManagerStoreBuilder("GcpSecretManagerStoreBuilder") {
        /// The Google Cloud project id (required).
        project: Option<String>,
        /// Secret-id prefix, `[A-Za-z0-9_-]`, 1..=223 characters (default [`DEFAULT_PREFIX`]).
        /// Secrets are named `<prefix>index` and `<prefix>token-<id>`.
        prefix: Option<String>,
        /// Service endpoint, e.g. an emulator at `http://127.0.0.1:8086` (default: Google's).
        endpoint: Option<String>,
        /// Credentials to call with (default: Application Default Credentials).
        credentials: Option<Credentials>,
        /// Use this already configured client; endpoint and credentials are then ignored.
        client: Option<SecretManagerService>,
        /// Labels of every secret created (besides `managed-by=token-store`).
        #[builder(setter(custom))]
        labels: BTreeMap<String, String>,
        /// Replication of secrets created (default [`GcpReplication::Automatic`]).
        replication: GcpReplication,
        /// Page size asked for when listing (default: the service decides).
        page_size: Option<i32>,
        /// Keep every version of token secrets (an audit trail, each version billed) instead of
        /// destroying the superseded one after each save (default: destroy).
        keep_token_versions: bool,
        /// Destroy every superseded index shard version one by one (two project writes per shard
        /// write) instead of keeping them and deleting a shard generation whole every 50 versions
        /// (default: generations). Generations let a project hold more tokens under its 600
        /// writes a minute (about 10,600 refreshed hourly instead of 8,250) but keep up to ~100
        /// billed versions per shard: below a few thousand tokens, retiring costs less.
        retire_index_versions: bool,
        /// Retry and tombstone tuning of the index engine.
        engine_options: EngineOptions,
    }
}

fn config_error(message: impl Into<String>) -> Error {
    token_store_core::raw::config_error("gcp", message)
}

/// Secret Manager's label rules (the ASCII subset of GCP's): 64 per secret, keys
/// `[a-z][a-z0-9_-]{0,62}`, values `[a-z0-9_-]{0,63}`.
const LABEL_RULES: TagRules = TagRules::new("gcp", 64, 63, 63)
    .named("label")
    .alphabet(label_char, "lowercase letters, digits, '-' and '_'")
    .key_starts_with_letter();

fn label_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_'
}

impl GcpSecretManagerStoreBuilder {
    /// Call without credentials (emulators only).
    pub fn anonymous(self) -> Self {
        self.credentials(anonymous::Builder::new().build())
    }

    /// Add a label to every secret created (besides `managed-by=token-store`).
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let labels = self.labels.get_or_insert_with(BTreeMap::new);
        labels.insert(key.into(), value.into());
        self
    }

    /// Settings from the environment: [`PROJECT_ENV`] (required), [`PREFIX_ENV`], and
    /// [`ENDPOINT_ENV`] (an emulator: anonymous credentials); otherwise Application Default
    /// Credentials.
    pub fn from_env() -> Result<Self> {
        let project = env_var(PROJECT_ENV)
            .ok_or_else(|| config_error(format!("{PROJECT_ENV} is not set")))?;
        let mut builder = Self::default().project(project);
        if let Some(prefix) = env_var(PREFIX_ENV) {
            builder = builder.prefix(prefix);
        }
        if let Some(endpoint) = env_var(ENDPOINT_ENV) {
            builder = builder.endpoint(endpoint).anonymous();
        }
        Ok(builder)
    }

    /// Settings from `gcp-secretmanager://<project>/<prefix>?endpoint=<url>&locations=<a,b>`.
    /// An `http://` endpoint is an emulator and is called with anonymous credentials; an empty
    /// prefix means [`DEFAULT_PREFIX`]; `locations` selects user-managed replication.
    pub fn from_url(url: &str) -> Result<Self> {
        let url = StoreUrl::parse(url, URL_SCHEME, "gcp")?;
        let (project, prefix) = url.location_and_prefix("project")?;
        let mut builder = Self::default().project(project);
        if let Some(prefix) = prefix {
            builder = builder.prefix(prefix);
        }
        for (key, value) in url.params() {
            builder = match key {
                "endpoint" if value.starts_with("http://") => builder.endpoint(value).anonymous(),
                "endpoint" => builder.endpoint(value),
                "locations" => builder.replication(GcpReplication::UserManaged(
                    value.split(',').map(str::to_owned).collect(),
                )),
                other => return Err(url.unknown_param(other)),
            };
        }
        Ok(builder)
    }
}

impl GcpSettings {
    /// Check the settings and connect the backend; the engine options go with it.
    pub(crate) async fn connect(self) -> Result<(GcpBackend, EngineOptions)> {
        let project = self
            .project
            .ok_or_else(|| config_error("a GCP project id is required"))?;
        let names = Names::new(&project, self.prefix.as_deref().unwrap_or(DEFAULT_PREFIX))?;
        let mut labels = self.labels;
        // Ours replaces a user label of the same key; the rest must fit beside it.
        labels.remove(OWNER_LABEL.0);
        LABEL_RULES.check(&labels, 1)?;
        labels.insert(OWNER_LABEL.0.to_owned(), OWNER_LABEL.1.to_owned());
        if let GcpReplication::UserManaged(locations) = &self.replication
            && (locations.is_empty() || locations.iter().any(|l| l.is_empty()))
        {
            return Err(config_error(
                "user-managed replication needs at least one location",
            ));
        }
        if self.page_size.is_some_and(|size| size <= 0) {
            return Err(config_error("page size must be positive"));
        }
        let client = match self.client {
            Some(client) => client,
            None => {
                let mut builder = SecretManagerService::builder().with_retry_policy(
                    Aip194Strict
                        .continue_on_too_many_requests()
                        .with_attempt_limit(5)
                        .with_time_limit(Duration::from_secs(30)),
                );
                if let Some(endpoint) = self.endpoint {
                    builder = builder.with_endpoint(endpoint);
                }
                if let Some(credentials) = self.credentials {
                    builder = builder.with_credentials(credentials);
                }
                builder.build().await.map_err(|e| {
                    config_error("could not create the Secret Manager client").with_source(e)
                })?
            }
        };
        let backend = GcpBackend {
            client,
            names,
            labels,
            replication: self.replication,
            page_size: self.page_size,
            keep_token_versions: self.keep_token_versions,
            shard_generations: !self.retire_index_versions,
            log: Default::default(),
            calls: Default::default(),
        };
        Ok((backend, self.engine_options))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use token_store_core::ErrorKind;

    #[tokio::test]
    async fn rejects_bad_settings_before_any_call() {
        let kind =
            |b: GcpSecretManagerStoreBuilder| async { b.build_backend().await.unwrap_err().kind() };
        let base = || {
            GcpSecretManagerStoreBuilder::default()
                .project("p")
                .endpoint("http://127.0.0.1:9")
                .anonymous()
        };
        assert_eq!(
            kind(GcpSecretManagerStoreBuilder::default()).await,
            ErrorKind::ConfigInvalid
        );
        assert_eq!(kind(base().prefix("a/b")).await, ErrorKind::ConfigInvalid);
        assert_eq!(
            kind(base().label("Team", "x")).await,
            ErrorKind::ConfigInvalid
        );
        assert_eq!(
            kind(base().label("team", "X y")).await,
            ErrorKind::ConfigInvalid
        );
        assert_eq!(
            kind(base().replication(GcpReplication::UserManaged(vec![]))).await,
            ErrorKind::ConfigInvalid
        );
        assert_eq!(kind(base().page_size(0)).await, ErrorKind::ConfigInvalid);
        assert!(base().label("team", "crm_1").build_backend().await.is_ok());
    }

    #[tokio::test]
    async fn index_shards_roll_generations_unless_told_to_retire_each_version() {
        use token_store_core::SecretBackend as _;
        let base = || {
            GcpSecretManagerStoreBuilder::default()
                .project("p")
                .endpoint("http://127.0.0.1:9")
                .anonymous()
        };
        let every = |retire| async move {
            let backend = base().retire_index_versions(retire).build_backend().await;
            backend.unwrap().limits().versions_per_generation
        };
        assert_eq!(
            every(false).await,
            Some(token_store_core::raw::VERSIONS_PER_GENERATION)
        );
        assert_eq!(every(true).await, None);
    }

    #[test]
    fn parses_urls() {
        let b = GcpSecretManagerStoreBuilder::from_url("gcp-secretmanager://my-proj/app_-?endpoint=http%3A%2F%2F127.0.0.1%3A8086&locations=us-east1,europe-west1").unwrap();
        let Ok(b) = b.settings();
        assert_eq!(b.project.as_deref(), Some("my-proj"));
        assert_eq!(b.prefix.as_deref(), Some("app_-"));
        assert_eq!(b.endpoint.as_deref(), Some("http://127.0.0.1:8086"));
        assert!(b.credentials.is_some());
        assert_eq!(
            b.replication,
            GcpReplication::UserManaged(vec!["us-east1".into(), "europe-west1".into()])
        );
        let b = GcpSecretManagerStoreBuilder::from_url("gcp-secretmanager://p").unwrap();
        let Ok(b) = b.settings();
        assert_eq!(
            (b.prefix, b.endpoint, b.credentials.is_some()),
            (None, None, false)
        );
        token_store_core::testkit::assert_urls_refused(
            GcpSecretManagerStoreBuilder::from_url,
            &[
                "aws-sm://p/x",
                "gcp-secretmanager:///x",
                "gcp-secretmanager://p/x?colour=red",
                "not a url",
            ],
        );
    }

    #[test]
    fn debug_hides_credentials() {
        let b = GcpSecretManagerStoreBuilder::default()
            .project("p")
            .anonymous();
        let shown = format!("{b:?}");
        assert!(shown.contains("<set>"), "{shown}");
    }
}
