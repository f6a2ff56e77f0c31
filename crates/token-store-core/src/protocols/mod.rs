//! Index concurrency protocols written once over small service primitives, for backend
//! writers: a backend implements the few service calls a protocol needs and delegates its
//! [`CompareAndSwap`](crate::CompareAndSwap) or [`MergeLog`](crate::MergeLog) to the protocol.
//!
//! | protocol | for services whose | used by |
//! | --- | --- | --- |
//! | [`sequenced_cas`] | write requests carry an idempotency token that becomes the version id | AWS Secrets Manager |
//! | [`numbered`] | versions are numbered 1, 2, 3, … per secret | GCP Secret Manager |
//! | [`timestamped`] | versions have random ids and a whole-second creation time | Azure Key Vault |

pub mod numbered;
pub mod sequenced_cas;
pub mod timestamped;
