//! Compare-and-swap in one write, for services whose write request carries an idempotency
//! token that becomes the new version's id (AWS Secrets Manager's `ClientRequestToken`).
//!
//! Every version id written here encodes a sequence number ([`successor`]), so all writers
//! that read version `n` write version `n + 1` under the same token. Such a service keeps
//! versions immutable: the first write with that token creates the version and makes it
//! current; any later one with different data is refused and changes nothing, so the loser
//! gets `Conflict` and the engine re-reads and retries. A repeated request with the *same*
//! data is an idempotent no-op, so replaying our own write after a timeout is safe. One call
//! per commit.
//!
//! A backend implements [`SequencedWrites`] (three service calls) and forwards
//! [`CompareAndSwap::put_if_current`](crate::CompareAndSwap::put_if_current) to
//! [`put_if_current`].

mod seen;
mod version_ids;

use std::time::Duration;

use async_trait::async_trait;

pub use seen::{MAX_READ_AGE, SeenVersions};
pub use version_ids::{VERSION_PREFIX, first, successor};

use crate::raw::{Retryable as _, backoff};
use crate::{Error, ErrorKind, Result};

/// The service calls the protocol is made of, on relative secret names.
#[async_trait]
pub trait SequencedWrites: Send + Sync {
    /// The backend's name, for errors.
    fn backend(&self) -> &'static str;

    /// Versions this backend read or wrote lately; the backend records every version its
    /// `get` returns.
    fn seen(&self) -> &SeenVersions;

    /// Create secret `name` holding `value` as version `version_id`: `AlreadyExists` or
    /// `Conflict` when the name is taken.
    async fn create_as(&self, name: &str, value: &str, version_id: &str) -> Result<String>;

    /// One request (no retries) making `value` current as version `version_id`:
    /// `AlreadyExists` when that version id holds other data, `NotFound` or `Conflict` when
    /// the secret is gone or being deleted, `RateLimited` when throttled, `Unavailable` when
    /// the request may or may not have been applied.
    async fn write_as(&self, name: &str, value: &str, version_id: &str) -> Result<String>;

    /// The value of version `version_id`, `None` when the secret has no such version.
    async fn value_of(&self, name: &str, version_id: &str) -> Result<Option<String>>;
}

/// Retries of one write (same token, same data) after throttling or an unknown outcome, and
/// their first and longest waits (50 ms, then 100 ms).
const WRITE_RETRIES: usize = 2;
const WRITE_FIRST_WAIT: Duration = Duration::from_millis(50);
const WRITE_MAX_WAIT: Duration = Duration::from_millis(400);

/// Make `value` current only when the current version is `expected` (`None`: only when the
/// secret does not exist): the [`CompareAndSwap`](crate::CompareAndSwap) contract.
///
/// A write from a version not seen within [`MAX_READ_AGE`] is refused as `Conflict` before
/// any call (see [`SeenVersions`]). After throttling or an unknown outcome the same write is
/// retried; after an unknown outcome version `successor(expected)` is read back first: our
/// data means our write landed (success, even if a later writer has moved on since); other
/// data means another writer won (`Conflict`); no such version means it was not applied
/// (yet), and sending the very same request again is safe.
pub async fn put_if_current<S: SequencedWrites + ?Sized>(
    service: &S,
    name: &str,
    value: &str,
    expected: Option<&str>,
) -> Result<String> {
    let Some(expected) = expected else {
        // AWS answers a repeated create with the same token and data as a no-op; LocalStack
        // and moto answer ResourceExists, which is a Conflict: the engine re-reads, finds its
        // own index and has nothing left to do.
        let created = service
            .create_as(name, value, &first())
            .await
            .map_err(|e| match e.kind() {
                ErrorKind::AlreadyExists | ErrorKind::Conflict => lost_race(e),
                _ => e,
            })?;
        service.seen().record(name, &created);
        return Ok(created);
    };
    if !service.seen().is_fresh(name, expected) {
        return Err(Error::new(
            ErrorKind::Conflict,
            "the expected version was not read recently by this process; read it again",
        )
        .with_backend(service.backend())
        .with_operation("put_if_current"));
    }
    let version_id = successor(expected);
    let attempt = || write_once(service, name, value, &version_id);
    attempt
        .retry(backoff(WRITE_FIRST_WAIT, WRITE_MAX_WAIT, WRITE_RETRIES))
        .when(|e| matches!(e.kind(), ErrorKind::RateLimited | ErrorKind::Unavailable))
        .await
}

/// One attempt: `RateLimited` or `Unavailable` when trying again is safe (nothing of ours
/// is visible), `Conflict` when another writer won.
async fn write_once<S: SequencedWrites + ?Sized>(
    service: &S,
    name: &str,
    value: &str,
    version_id: &str,
) -> Result<String> {
    let err = match service.write_as(name, value, version_id).await {
        Ok(version) => {
            service.seen().record(name, &version);
            return Ok(version);
        }
        Err(e) => e,
    };
    match err.kind() {
        // The id is taken by another writer's data, or the secret was deleted (or scheduled
        // for deletion) since the read.
        ErrorKind::AlreadyExists | ErrorKind::NotFound | ErrorKind::Conflict => Err(lost_race(err)),
        ErrorKind::Unavailable => match service.value_of(name, version_id).await? {
            Some(stored) if stored == value => {
                service.seen().record(name, version_id);
                Ok(version_id.to_string())
            }
            Some(_) => Err(lost_race(err)),
            None => Err(err),
        },
        _ => Err(err),
    }
}

fn lost_race(e: Error) -> Error {
    Error::new(
        ErrorKind::Conflict,
        "another writer changed the secret since it was read",
    )
    .with_backend(e.backend())
    .with_operation(e.operation())
    .with_source(e)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use super::*;

    /// The three calls over a map of (name, version id) → value, with the current version
    /// per name; `unknown_outcome` makes the next write apply and then answer `Unavailable`.
    #[derive(Default)]
    struct Versions {
        stored: Mutex<HashMap<(String, String), String>>,
        current: Mutex<HashMap<String, String>>,
        unknown_outcome: Mutex<bool>,
        seen: SeenVersions,
    }

    #[async_trait]
    impl SequencedWrites for Versions {
        fn backend(&self) -> &'static str {
            "test"
        }
        fn seen(&self) -> &SeenVersions {
            &self.seen
        }
        async fn create_as(&self, name: &str, value: &str, id: &str) -> Result<String> {
            if self.current.lock().unwrap().contains_key(name) {
                return Err(Error::new(ErrorKind::AlreadyExists, "exists").with_backend("test"));
            }
            self.write_as(name, value, id).await
        }
        async fn write_as(&self, name: &str, value: &str, id: &str) -> Result<String> {
            let key = (name.to_string(), id.to_string());
            let mut stored = self.stored.lock().unwrap();
            match stored.get(&key) {
                Some(old) if old != value => {
                    return Err(
                        Error::new(ErrorKind::AlreadyExists, "id taken").with_backend("test")
                    );
                }
                _ => {}
            }
            stored.insert(key, value.to_string());
            self.current
                .lock()
                .unwrap()
                .insert(name.to_string(), id.to_string());
            if std::mem::take(&mut *self.unknown_outcome.lock().unwrap()) {
                return Err(Error::new(ErrorKind::Unavailable, "timed out"));
            }
            Ok(id.to_string())
        }
        async fn value_of(&self, name: &str, id: &str) -> Result<Option<String>> {
            let key = (name.to_string(), id.to_string());
            Ok(self.stored.lock().unwrap().get(&key).cloned())
        }
    }

    #[tokio::test]
    async fn one_of_two_writers_from_the_same_read_wins() {
        let service = Versions::default();
        let v1 = put_if_current(&service, "index", "a", None).await.unwrap();
        assert_eq!(v1, first());
        let lost = put_if_current(&service, "index", "b", None)
            .await
            .unwrap_err();
        assert_eq!(lost.kind(), ErrorKind::Conflict);
        let v2 = put_if_current(&service, "index", "c", Some(&v1))
            .await
            .unwrap();
        assert_eq!(v2, successor(&v1));
        let lost = put_if_current(&service, "index", "d", Some(&v1))
            .await
            .unwrap_err();
        assert_eq!(lost.kind(), ErrorKind::Conflict);
        assert_eq!(lost.backend(), "test");
        assert_eq!(service.current.lock().unwrap()["index"], v2);
    }

    #[tokio::test]
    async fn an_unknown_outcome_is_read_back() {
        let service = Versions::default();
        let v1 = put_if_current(&service, "index", "a", None).await.unwrap();
        *service.unknown_outcome.lock().unwrap() = true;
        let v2 = put_if_current(&service, "index", "b", Some(&v1))
            .await
            .unwrap();
        assert_eq!(
            v2,
            successor(&v1),
            "our data under the id: our write landed"
        );
    }

    #[tokio::test]
    async fn a_version_never_read_here_is_refused_before_any_call() {
        let service = Versions::default();
        let err = put_if_current(&service, "index", "a", Some(&first()))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Conflict);
        assert!(service.stored.lock().unwrap().is_empty());
    }
}
