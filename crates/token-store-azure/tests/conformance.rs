//! The whole engine conformance suite on the Azure backend, against the Key Vault double
//! (or Lowkey Vault).

mod common;

token_store_core::engine_conformance_tests!(common::harness());
