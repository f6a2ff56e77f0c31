//! The whole engine conformance suite on the AWS backend against a Secrets Manager emulator
//! (LocalStack or moto, chosen by the environment).

mod common;

token_store_core::engine_conformance_tests!(common::harness());
