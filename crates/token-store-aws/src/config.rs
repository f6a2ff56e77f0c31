//! `AwsSecretsManagerStoreBuilder`: prefix, region, endpoint, client, KMS key, tags, deletion;
//! plus the settings read by `from_env` and `from_url`.

use aws_config::BehaviorVersion;
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::config::Region;
use aws_sdk_secretsmanager::types::Tag;
use token_store_core::raw::{Namespace, StoreUrl, TagRules, env_var};
use token_store_core::{EngineOptions, Error, Result};

use crate::backend::{AwsBackend, Deletion};
use crate::calls::CountingInterceptor;
use crate::error::BACKEND;
use crate::names::{DEFAULT_PREFIX, RULES};
use token_store_core::CallCounter;

/// URL scheme of [`AwsSecretsManagerStoreBuilder::from_url`].
pub const URL_SCHEME: &str = "aws-secretsmanager";
/// Environment variable holding the secret name prefix for `from_env`.
pub const PREFIX_ENV: &str = "TOKEN_STORE_AWS_PREFIX";
/// Tag key marking every secret this library creates; the value is `token-store`.
pub const OWNER_TAG: &str = "token-store:owner";
/// Tag key holding the prefix (namespace) a secret belongs to.
pub const PREFIX_TAG: &str = "token-store:prefix";
/// Tags this library puts on every secret: owner, prefix and role.
const OWN_TAGS: usize = 3;
/// Secrets Manager's tag rules (`TagResource`: 50 tags, keys 1..=127 characters, values at
/// most 255, the `aws:` prefix reserved).
const TAG_RULES: TagRules = TagRules::new(BACKEND, 50, 127, 255).reserving("aws:");

token_store_core::cloud_settings! {
    /// Builds an [`AwsSecretsManagerStore`](crate::AwsSecretsManagerStore) (or just its [`AwsBackend`]).
    ///
    /// Without an injected [`client`](Self::client) the SDK configuration is loaded from the
    /// standard AWS chain (environment, profile files, container/instance credentials), which
    /// also honours `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_SECRETS_MANAGER`; `region` and
    /// `endpoint` set here override it.
    AwsSettings => AwsSecretsManagerStoreBuilder("AwsSecretsManagerStoreBuilder") {
        /// Secret name prefix (namespace), default `token-store/`. AWS name characters only
        /// (`A-Za-z0-9/_+=.@-`), at most 232 characters. End it with `/` to read well.
        prefix: Option<String>,
        /// AWS region, e.g. `eu-central-1`.
        region: Option<String>,
        /// Service endpoint, e.g. `http://127.0.0.1:4566` for LocalStack.
        endpoint: Option<String>,
        /// Use this SDK client (its configuration is kept; a call-counting interceptor is added,
        /// and `region`/`endpoint` set here override its own).
        client: Option<Client>,
        /// KMS key (id, ARN or alias) new secrets are encrypted with; default: the account's
        /// `aws/secretsmanager` key.
        kms_key_id: Option<String>,
        /// Extra tags put on every secret created (besides the ownership tags).
        #[builder(setter(custom))]
        tags: Vec<(String, String)>,
        /// What deleting a secret does (default: force).
        #[builder(setter(custom))]
        deletion: Deletion,
        /// Retry and tombstone tuning of the index engine.
        engine_options: EngineOptions,
    }
}

fn config_error(message: impl Into<String>) -> Error {
    token_store_core::raw::config_error(BACKEND, message)
}

impl AwsSecretsManagerStoreBuilder {
    /// An extra tag put on every secret created (besides the ownership tags).
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let tags = self.tags.get_or_insert_with(Vec::new);
        tags.push((key.into(), value.into()));
        self
    }

    /// Delete with a recovery window of `days` (7..=30) instead of force deletion.
    pub fn recovery_window_days(mut self, days: u8) -> Self {
        self.deletion = Some(Deletion::RecoveryWindow(days));
        self
    }

    /// Delete without recovery (the default): the name is free again right away.
    pub fn force_delete(mut self) -> Self {
        self.deletion = Some(Deletion::Force);
        self
    }

    /// Settings from the environment: the standard AWS chain plus [`PREFIX_ENV`].
    /// (`Result` like every backend's `from_env`; nothing here fails today.)
    pub fn from_env() -> Result<Self> {
        Ok(match env_var(PREFIX_ENV) {
            Some(prefix) => Self::default().prefix(prefix),
            None => Self::default(),
        })
    }

    /// Settings from `aws-secretsmanager://<prefix>?region=..&endpoint=..&kms_key_id=..&recovery_window_days=..`
    /// (every part optional; the prefix is everything between `//` and `?`, `/` included).
    pub fn from_url(url: &str) -> Result<Self> {
        let url = StoreUrl::parse(url, URL_SCHEME, BACKEND)?;
        let mut builder = Self::default();
        if let Some(prefix) = url.whole_prefix() {
            builder = builder.prefix(prefix);
        }
        for (key, value) in url.params() {
            builder = match key {
                "region" => builder.region(value),
                "endpoint" | "endpoint_url" => builder.endpoint(value),
                "kms_key_id" => builder.kms_key_id(value),
                "recovery_window_days" => {
                    builder.recovery_window_days(value.parse().map_err(|_| {
                        url.error("recovery_window_days must be a number of days (7..=30)")
                    })?)
                }
                "force_delete" if value == "true" => builder.force_delete(),
                other => return Err(url.unknown_param(other)),
            };
        }
        Ok(builder)
    }
}

impl AwsSettings {
    /// Check the settings and connect the backend; the engine options go with it.
    pub(crate) async fn connect(self) -> Result<(AwsBackend, EngineOptions)> {
        let (names, tags) = self.validate()?;
        let base = match self.client {
            Some(client) => client.config().to_builder(),
            None => {
                let shared = aws_config::defaults(BehaviorVersion::latest()).load().await;
                aws_sdk_secretsmanager::config::Builder::from(&shared)
            }
        };
        let counter = CallCounter::default();
        let mut config = base.interceptor(CountingInterceptor(counter.clone()));
        if let Some(region) = self.region {
            config = config.region(Region::new(region));
        }
        if let Some(endpoint) = self.endpoint {
            config = config.endpoint_url(endpoint);
        }
        let config = config.build();
        if config.region().is_none() {
            return Err(config_error(
                "no AWS region: set AWS_REGION, a profile region, `region(..)` or ?region= in the URL",
            ));
        }
        let backend = AwsBackend {
            client: Client::from_conf(config),
            names,
            tags,
            kms_key_id: self.kms_key_id,
            deletion: self.deletion,
            counter,
            seen: Default::default(),
        };
        Ok((backend, self.engine_options))
    }

    /// The namespace and the tags of every secret, or why the settings are wrong.
    fn validate(&self) -> Result<(Namespace, Vec<Tag>)> {
        let prefix = self.prefix.as_deref().unwrap_or(DEFAULT_PREFIX);
        let names = Namespace::new(RULES, prefix)?;
        if let Deletion::RecoveryWindow(days) = self.deletion
            && !(7..=30).contains(&days)
        {
            return Err(config_error("the recovery window must be 7 to 30 days"));
        }
        TAG_RULES.check(self.tags.iter().map(|(key, value)| (key, value)), OWN_TAGS)?;
        let mut tags = vec![
            Tag::builder().key(OWNER_TAG).value("token-store").build(),
            Tag::builder().key(PREFIX_TAG).value(prefix).build(),
        ];
        let user_tags = self.tags.iter();
        tags.extend(user_tags.map(|(key, value)| Tag::builder().key(key).value(value).build()));
        Ok((names, tags))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use token_store_core::ErrorKind;

    #[test]
    fn url_parts_are_read() {
        let url = "aws-secretsmanager://apps/crm/?region=eu-west-1&endpoint=http%3A%2F%2F127.0.0.1%3A4566&recovery_window_days=7";
        let Ok(b) = AwsSecretsManagerStoreBuilder::from_url(url)
            .unwrap()
            .settings();
        assert_eq!(b.deletion, Deletion::RecoveryWindow(7));
        let read = [b.prefix, b.region, b.endpoint].map(Option::unwrap_or_default);
        assert_eq!(read, ["apps/crm/", "eu-west-1", "http://127.0.0.1:4566"]);
        let plain = AwsSecretsManagerStoreBuilder::from_url("aws-secretsmanager://").unwrap();
        assert_eq!(plain.settings().map(|s| s.prefix), Ok(None));
    }

    #[test]
    fn bad_urls_and_settings_are_config_errors() {
        token_store_core::testkit::assert_urls_refused(
            AwsSecretsManagerStoreBuilder::from_url,
            &[
                "s3://x",
                "aws-secretsmanager://p/?colour=blue",
                "aws-secretsmanager://p/?recovery_window_days=week",
            ],
        );
        let invalid = |builder: AwsSecretsManagerStoreBuilder| {
            let Ok(settings) = builder.settings();
            settings.validate().unwrap_err().kind()
        };
        let builder = AwsSecretsManagerStoreBuilder::default;
        for bad in [
            builder().prefix("has space"),
            builder().recovery_window_days(3),
            builder().tag("aws:x", "y"),
        ] {
            assert_eq!(invalid(bad), ErrorKind::ConfigInvalid);
        }
    }

    #[tokio::test]
    async fn injected_client_gets_region_and_endpoint() {
        let client = Client::from_conf(
            aws_sdk_secretsmanager::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .build(),
        );
        let err = AwsSecretsManagerStoreBuilder::default()
            .client(client.clone())
            .build_backend()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConfigInvalid, "no region");
        let backend = AwsSecretsManagerStoreBuilder::default()
            .client(client)
            .region("us-east-1")
            .endpoint("http://127.0.0.1:1")
            .prefix("apps/x/")
            .build_backend()
            .await
            .unwrap();
        assert_eq!(backend.secret_name("token-7").unwrap(), "apps/x/token/7");
        assert_eq!(
            backend.client().config().region().map(|r| r.as_ref()),
            Some("us-east-1")
        );
    }
}
