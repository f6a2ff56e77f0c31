//! token-store-aws against a real AWS emulator (LocalStack or moto, chosen by environment).

mod backdoor;
mod calls;
mod errors;
mod harness;
mod stress;

token_store_core::engine_conformance_tests!(crate::harness::AwsHarness);
