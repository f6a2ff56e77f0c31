//! AWS-specific behaviour against a Secrets Manager emulator (LocalStack or moto): service
//! calls per operation, the raw stored form, error mapping, concurrency under load.

mod common;

#[path = "behaviour/backdoor.rs"]
mod backdoor;
#[path = "behaviour/calls.rs"]
mod calls;
#[path = "behaviour/errors.rs"]
mod errors;
#[path = "behaviour/stress.rs"]
mod stress;
