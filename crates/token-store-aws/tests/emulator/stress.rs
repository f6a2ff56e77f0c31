//! 16 writers × 25 distinct users against one index secret.

use crate::harness::AwsHarness;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_writers_of_distinct_users_lose_nothing() {
    if crate::harness::gated("sixteen_writers_of_distinct_users_lose_nothing") {
        return;
    }
    let report = token_store_core::testkit::stress_distinct_users(&AwsHarness, 16, 25).await;
    println!(
        "stress on {:?}: saved {} tokens, index entries {}, CAS retries {}",
        crate::harness::target(),
        report.saved,
        report.index_entries,
        report.cas_retries
    );
    assert_eq!(report.saved, 400);
    assert_eq!(report.index_entries, 400);
}
