//! `RUST_LOG=token_store=debug` explains what a store did: one span per operation with the
//! backend, the operation and the token id, and how it ended; never a token value or a user
//! name.

use std::io::Write;
use std::sync::{Arc, Mutex};

use token_store_core::testkit::MemoryBackend;
use token_store_core::{SecretIndexStore, Token, TokenStore};

/// Everything the subscriber writes, shared with the test.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn each_operation_is_a_span_without_secrets() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let store = SecretIndexStore::new(Arc::new(MemoryBackend::merge_log()));
    let token = Token::builder()
        .user_name("alice-secret-user@example.com")
        .client_id("1000.CLIENTID")
        .client_secret("client-secret-value")
        .refresh_token("1000.refresh-secret-value")
        .access_token("1000.access-secret-value")
        .expiry_time(1_900_000_000_000)
        .build();
    let saved = store.save_token(&token).await.unwrap();
    let id = saved.id.clone().unwrap();
    assert!(store.find_token(&saved).await.unwrap().is_some());
    assert!(store.find_token_by_id("not-an-id").await.is_err());

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("operation=\"save_token\""), "{log}");
    assert!(
        log.contains(&format!("operation=\"find_token\" id=\"{id}\"")),
        "{log}"
    );
    assert!(log.contains("backend=\"memory"), "{log}");
    assert!(log.contains("operation=\"find_token\""), "{log}");
    assert!(log.contains("done"), "{log}");
    assert!(
        log.contains("failed") && log.contains("InvalidInput"),
        "{log}"
    );
    for secret in [
        "alice-secret-user",
        "client-secret-value",
        "refresh-secret-value",
        "access-secret-value",
        "not-an-id",
    ] {
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
    }
}
