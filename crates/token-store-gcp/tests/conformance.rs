//! The whole engine conformance suite on the GCP backend against a Secret Manager emulator.

mod common;

token_store_core::engine_conformance_tests!(common::harness());
