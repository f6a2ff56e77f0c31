//! The merge log ([`MergeLog`](crate::MergeLog)) over per-secret sequential version numbers
//! 1, 2, 3, … (GCP Secret Manager).
//!
//! A backend implements the three service calls of [`NumberedVersions`], keeps one
//! [`NumberedLog`] and delegates its `MergeLog` methods to it:
//!
//! ```text
//! async fn versions_after(&self, name: &str, since: Option<&str>) -> Result<Vec<Versioned>> {
//!     self.log.versions_after(self, name, since).await
//! }
//! fn is_next_version(&self, base: &str, version: &str) -> Option<bool> {
//!     NumberedLog::is_next_version(base, version)
//! }
//! async fn retire_versions_before(&self, name: &str, keep_from: &str) -> Result<()> {
//!     self.log.retire_versions_before(self, name, keep_from).await
//! }
//! ```
//!
//! and calls [`NumberedLog::forget`] when it deletes a secret. Versions are the decimal
//! numbers as strings. The service calls stay the backend's, and so do call counting and error
//! mapping.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;

use crate::error::ResultExt as _;
use crate::{Error, ErrorKind, Result, Versioned, is_index_secret};

/// The service calls the protocol needs, on relative secret names.
#[async_trait]
pub trait NumberedVersions: Send + Sync {
    /// The backend name errors and logs carry (`"gcp"`).
    fn backend(&self) -> &'static str;

    /// Version `number` of a secret (`None`: the latest), its `version` the number in
    /// decimal; `Ok(None)` when the secret or the version does not exist, a
    /// [`Conflict`](ErrorKind::Conflict) error when the version is disabled or destroyed.
    async fn access(&self, name: &str, number: Option<u64>) -> Result<Option<Versioned>>;

    /// Numbers of the enabled versions of a secret, ascending, from every page; empty when
    /// the secret does not exist.
    async fn enabled_versions(&self, name: &str) -> Result<Vec<u64>>;

    /// Destroy version `number` of a secret; a version already destroyed is success.
    async fn destroy(&self, name: &str, number: u64) -> Result<()>;
}

/// A backend's protocol state: per secret, the lowest version that may still be enabled (all
/// below were retired by this process), so retiring costs one destroy per superseded
/// version. One per backend value (another process keeps its own floors).
#[derive(Debug, Default)]
pub struct NumberedLog {
    retired_below: Mutex<HashMap<String, u64>>,
}

impl NumberedLog {
    /// [`MergeLog::versions_after`](crate::MergeLog::versions_after): with `since = n`, the
    /// latest version (= L) and then each of n+1..L-1, oldest first, ending with L (empty
    /// when L ≤ n or the secret does not exist); with `None`, every enabled version.
    /// Versions disabled or destroyed meanwhile are left out: a retired version is covered by
    /// a later one.
    pub async fn versions_after<S: NumberedVersions + ?Sized>(
        &self,
        svc: &S,
        name: &str,
        since: Option<&str>,
    ) -> Result<Vec<Versioned>> {
        let Some(since) = since else {
            let mut all = Vec::new();
            for number in svc.enabled_versions(name).await? {
                all.extend(access_retained(svc, name, number).await?);
            }
            return Ok(all);
        };
        let since = parse_version(svc, since, "versions_after")?;
        let Some(latest) = svc.access(name, None).await? else {
            return Ok(Vec::new());
        };
        let latest_number = parse_version(svc, &latest.version, "versions_after")?;
        let mut tail = Vec::new();
        for number in since.saturating_add(1)..latest_number {
            tail.extend(access_retained(svc, name, number).await?);
        }
        if latest_number > since {
            tail.push(latest);
        }
        Ok(tail)
    }

    /// [`MergeLog::is_next_version`](crate::MergeLog::is_next_version): whether `version` is
    /// `base + 1`; `None` when either is not a version number.
    pub fn is_next_version(base: &str, version: &str) -> Option<bool> {
        let (base, version) = (base.parse::<u64>().ok()?, version.parse::<u64>().ok()?);
        Some(base.checked_add(1) == Some(version))
    }

    /// [`MergeLog::retire_versions_before`](crate::MergeLog::retire_versions_before): destroy
    /// every version below `keep_from`. The first call for a secret in this process lists its
    /// enabled versions to find them; later calls destroy only the versions from the last
    /// `keep_from` on, without a listing.
    pub async fn retire_versions_before<S: NumberedVersions + ?Sized>(
        &self,
        svc: &S,
        name: &str,
        keep_from: &str,
    ) -> Result<()> {
        let keep_from = parse_version(svc, keep_from, "retire_versions")?;
        let floor = self.floors().get(name).copied();
        let doomed: Vec<u64> = match floor {
            Some(floor) => (floor..keep_from).collect(),
            None => svc
                .enabled_versions(name)
                .await?
                .into_iter()
                .filter(|&n| n < keep_from)
                .collect(),
        };
        for number in doomed {
            svc.destroy(name, number).await?;
        }
        let mut floors = self.floors();
        let entry = floors.entry(name.to_owned()).or_insert(keep_from);
        *entry = (*entry).max(keep_from);
        Ok(())
    }

    /// After a put of a token secret to `version`, destroy the version it superseded so token
    /// refreshes do not pile up billed versions (one destroy). The index is left alone: the
    /// engine merges its older versions and retires them itself. Best effort: the new value
    /// is already written, so a failure is only logged.
    pub async fn retire_previous<S: NumberedVersions + ?Sized>(
        &self,
        svc: &S,
        name: &str,
        version: &str,
    ) {
        if is_index_secret(name) {
            return;
        }
        let Some(previous) = version
            .parse::<u64>()
            .ok()
            .and_then(|v| v.checked_sub(1))
            .filter(|&v| v > 0)
        else {
            return;
        };
        if let Err(error) = svc.destroy(name, previous).await {
            tracing::warn!(backend = svc.backend(), secret = name, version = previous, %error, "could not destroy the superseded token version");
        }
    }

    /// Forget what this process retired of `name`, when the secret is deleted (a secret
    /// created again under the name starts at version 1).
    pub fn forget(&self, name: &str) {
        self.floors().remove(name);
    }

    fn floors(&self) -> std::sync::MutexGuard<'_, HashMap<String, u64>> {
        self.retired_below
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Version `number` for `versions_after`, `None` when it is gone or was disabled/destroyed
/// meanwhile: a retired version is covered by a later one.
async fn access_retained<S: NumberedVersions + ?Sized>(
    svc: &S,
    name: &str,
    number: u64,
) -> Result<Option<Versioned>> {
    let read = svc.access(name, Some(number)).await;
    Ok(read.none_on(&[ErrorKind::Conflict])?.flatten())
}

fn parse_version<S: NumberedVersions + ?Sized>(
    svc: &S,
    version: &str,
    operation: &'static str,
) -> Result<u64> {
    version.parse().map_err(|_| {
        Error::new(
            ErrorKind::InvalidInput,
            format!("{version:?} is not a version number"),
        )
        .with_backend(svc.backend())
        .with_operation(operation)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[derive(Clone, Copy, PartialEq, Debug)]
    enum State {
        Enabled,
        Disabled,
        Destroyed,
    }

    /// Numbered versions in a map, the calls made, and versions to disable right after the
    /// listing (another writer retiring them meanwhile).
    #[derive(Default)]
    struct Fake {
        secrets: Mutex<BTreeMap<String, Vec<(String, State)>>>,
        calls: Mutex<Vec<String>>,
        disable_after_list: Mutex<Vec<u64>>,
        fail_destroy: bool,
    }

    impl Fake {
        fn with(name: &str, values: &[&str]) -> Self {
            let fake = Self::default();
            fake.secrets.lock().unwrap().insert(
                name.to_owned(),
                values
                    .iter()
                    .map(|v| ((*v).to_owned(), State::Enabled))
                    .collect(),
            );
            fake
        }
        fn set(&self, name: &str, number: u64, state: State) {
            self.secrets.lock().unwrap().get_mut(name).unwrap()[number as usize - 1].1 = state;
        }
        fn states(&self, name: &str) -> Vec<State> {
            self.secrets.lock().unwrap()[name]
                .iter()
                .map(|v| v.1)
                .collect()
        }
        fn take_calls(&self) -> Vec<String> {
            std::mem::take(&mut *self.calls.lock().unwrap())
        }
    }

    #[async_trait]
    impl NumberedVersions for Fake {
        fn backend(&self) -> &'static str {
            "fake"
        }
        async fn access(&self, name: &str, number: Option<u64>) -> Result<Option<Versioned>> {
            self.calls.lock().unwrap().push(match number {
                Some(n) => format!("access {n}"),
                None => "access latest".to_owned(),
            });
            let secrets = self.secrets.lock().unwrap();
            let Some(versions) = secrets.get(name) else {
                return Ok(None);
            };
            let number = match number {
                Some(n) => n,
                None => match versions.iter().rposition(|v| v.1 == State::Enabled) {
                    Some(i) => i as u64 + 1,
                    None => return Ok(None),
                },
            };
            match versions.get(number as usize - 1) {
                None => Ok(None),
                Some((value, State::Enabled)) => Ok(Some(Versioned {
                    value: value.clone(),
                    version: number.to_string(),
                })),
                Some(_) => Err(Error::new(ErrorKind::Conflict, "not enabled")),
            }
        }
        async fn enabled_versions(&self, name: &str) -> Result<Vec<u64>> {
            self.calls.lock().unwrap().push("list".to_owned());
            let numbers = self
                .secrets
                .lock()
                .unwrap()
                .get(name)
                .map_or_else(Vec::new, |v| {
                    (1..=v.len() as u64)
                        .filter(|&n| v[n as usize - 1].1 == State::Enabled)
                        .collect()
                });
            for n in std::mem::take(&mut *self.disable_after_list.lock().unwrap()) {
                self.set(name, n, State::Disabled);
            }
            Ok(numbers)
        }
        async fn destroy(&self, name: &str, number: u64) -> Result<()> {
            self.calls.lock().unwrap().push(format!("destroy {number}"));
            if self.fail_destroy {
                return Err(Error::new(ErrorKind::Unavailable, "down"));
            }
            self.set(name, number, State::Destroyed);
            Ok(())
        }
    }

    fn values(versions: Vec<Versioned>) -> Vec<String> {
        versions
            .into_iter()
            .map(|v| format!("{}={}", v.version, v.value))
            .collect()
    }

    #[test]
    fn next_version_is_base_plus_one() {
        assert_eq!(NumberedLog::is_next_version("3", "4"), Some(true));
        assert_eq!(NumberedLog::is_next_version("2", "4"), Some(false));
        assert_eq!(NumberedLog::is_next_version("4", "4"), Some(false));
        assert_eq!(
            NumberedLog::is_next_version(&u64::MAX.to_string(), "0"),
            Some(false)
        );
        assert_eq!(NumberedLog::is_next_version("latest", "4"), None);
        assert_eq!(NumberedLog::is_next_version("3", "x"), None);
    }

    #[tokio::test]
    async fn versions_after_reads_latest_then_the_numbers_between() {
        let fake = Fake::with("index", &["a", "b", "c", "d", "e"]);
        fake.set("index", 3, State::Destroyed);
        let log = NumberedLog::default();
        assert_eq!(
            values(log.versions_after(&fake, "index", Some("1")).await.unwrap()),
            ["2=b", "4=d", "5=e"]
        );
        assert_eq!(
            fake.take_calls(),
            ["access latest", "access 2", "access 3", "access 4"]
        );
        assert_eq!(
            values(log.versions_after(&fake, "index", Some("4")).await.unwrap()),
            ["5=e"]
        );
        assert_eq!(fake.take_calls(), ["access latest"]);
        for since in ["5", "9"] {
            assert!(
                log.versions_after(&fake, "index", Some(since))
                    .await
                    .unwrap()
                    .is_empty()
            );
        }
        assert!(
            log.versions_after(&fake, "gone", Some("1"))
                .await
                .unwrap()
                .is_empty()
        );
        let error = log
            .versions_after(&fake, "index", Some("v1"))
            .await
            .unwrap_err();
        assert_eq!(
            (error.kind(), error.backend(), error.operation()),
            (ErrorKind::InvalidInput, "fake", "versions_after")
        );
    }

    #[tokio::test]
    async fn versions_after_none_reads_every_enabled_version() {
        let fake = Fake::with("index", &["a", "b", "c", "d"]);
        fake.set("index", 1, State::Destroyed);
        // Version 2 is retired by another writer between the listing and its access.
        fake.disable_after_list.lock().unwrap().push(2);
        let log = NumberedLog::default();
        assert_eq!(
            values(log.versions_after(&fake, "index", None).await.unwrap()),
            ["3=c", "4=d"]
        );
        assert_eq!(
            fake.take_calls(),
            ["list", "access 2", "access 3", "access 4"]
        );
        assert!(
            log.versions_after(&fake, "gone", None)
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn retiring_lists_once_then_destroys_from_the_floor() {
        use State::{Destroyed as X, Enabled as E};
        let fake = Fake::with("index", &["a", "b", "c", "d", "e", "f"]);
        fake.set("index", 2, State::Destroyed);
        let log = NumberedLog::default();
        log.retire_versions_before(&fake, "index", "4")
            .await
            .unwrap();
        assert_eq!(fake.take_calls(), ["list", "destroy 1", "destroy 3"]);
        assert_eq!(fake.states("index"), [X, X, X, E, E, E]);

        log.retire_versions_before(&fake, "index", "6")
            .await
            .unwrap();
        assert_eq!(fake.take_calls(), ["destroy 4", "destroy 5"]);
        // An older keep_from destroys nothing and never lowers the floor.
        log.retire_versions_before(&fake, "index", "5")
            .await
            .unwrap();
        log.retire_versions_before(&fake, "index", "6")
            .await
            .unwrap();
        assert!(fake.take_calls().is_empty());
        assert_eq!(fake.states("index"), [X, X, X, X, X, E]);

        // After a delete the secret starts over: list again.
        log.forget("index");
        log.retire_versions_before(&fake, "index", "6")
            .await
            .unwrap();
        assert_eq!(fake.take_calls(), ["list"]);

        let error = log
            .retire_versions_before(&fake, "index", "latest")
            .await
            .unwrap_err();
        assert_eq!(
            (error.kind(), error.backend(), error.operation()),
            (ErrorKind::InvalidInput, "fake", "retire_versions")
        );
    }

    #[tokio::test]
    async fn retire_previous_destroys_the_superseded_token_version_only() {
        let fake = Fake::with("token-1", &["a", "b", "c"]);
        let log = NumberedLog::default();
        log.retire_previous(&fake, "token-1", "3").await;
        assert_eq!(fake.take_calls(), ["destroy 2"]);
        for (name, version) in [("token-1", "1"), ("token-1", "x"), ("index", "3")] {
            log.retire_previous(&fake, name, version).await;
        }
        assert!(fake.take_calls().is_empty());

        let failing = Fake {
            fail_destroy: true,
            ..Fake::with("token-1", &["a", "b"])
        };
        log.retire_previous(&failing, "token-1", "2").await;
        assert_eq!(failing.take_calls(), ["destroy 1"]);
    }
}
