//! Each limit trips exactly past its threshold on the virtual clock, and its window slides.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::testkit::MemoryBackend;
use crate::{CompareAndSwap as _, ErrorKind, MergeLog as _, SecretBackend};

const MS: Duration = Duration::from_millis(1);
const S: Duration = Duration::from_secs(1);

fn model(service: Service) -> (QuotaBackend, VirtualClock) {
    let clock = VirtualClock::manual();
    (QuotaBackend::memory(service, clock.clone()), clock)
}

fn with_profile(profile: QuotaProfile) -> (QuotaBackend, VirtualClock) {
    let clock = VirtualClock::manual();
    let inner: Arc<dyn SecretBackend> = match profile.service {
        Service::Aws => Arc::new(MemoryBackend::compare_and_swap()),
        Service::Gcp => Arc::new(MemoryBackend::merge_log()),
        Service::Azure => Arc::new(MemoryBackend::merge_log_opaque()),
    };
    (QuotaBackend::new(inner, profile, clock.clone()), clock)
}

fn limited<T: std::fmt::Debug>(r: crate::Result<T>) -> bool {
    match r {
        Err(e) if e.kind() == ErrorKind::RateLimited => {
            assert!(e.is_retryable());
            true
        }
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => false,
    }
}

#[tokio::test]
async fn aws_write_tps_trips_at_51_and_slides() {
    let (b, clock) = model(Service::Aws);
    for i in 0..50 {
        b.create(&format!("s{i}"), "v").await.unwrap();
    }
    assert!(limited(b.create("s50", "v").await), "51st CreateSecret");
    clock.advance(S);
    for i in 0..50 {
        b.put(&format!("s{i}"), "w").await.unwrap();
    }
    assert!(limited(b.put("s0", "x").await), "51st PutSecretValue");
    clock.advance(S - MS);
    assert!(limited(b.put("s0", "x").await), "still inside the window");
    clock.advance(MS);
    b.put("s0", "x").await.unwrap();
    let r = b.report();
    assert_eq!(r.violations["aws_write_tps"], 2);
    assert_eq!(r.violations["aws_create_tps"], 1);
    assert_eq!(r.calls["PutSecretValue"], 51);
    assert_eq!(r.throttled["PutSecretValue"], 2);
    assert_eq!(r.violation_log[0].secret, "s50");
}

#[tokio::test]
async fn aws_versions_trip_at_101_in_24h_and_slide() {
    let (b, clock) = model(Service::Aws);
    b.create("idx", "v").await.unwrap();
    for _ in 1..100 {
        clock.advance(S);
        b.put("idx", "v").await.unwrap();
    }
    clock.advance(S);
    assert!(limited(b.put("idx", "v").await), "101st version in 24 h");
    // A lost compare-and-swap would also write a version: refused as well.
    let current = b.get("idx").await.unwrap().unwrap().version;
    assert!(limited(b.put_if_current("idx", "v", Some(&current)).await));
    // The first version was written at 0: it leaves the window at exactly 24 h.
    clock.set(Duration::from_secs(86_400) - MS);
    assert!(limited(b.put("idx", "v").await));
    clock.set(Duration::from_secs(86_400));
    b.put("idx", "v").await.unwrap();
    let r = b.report();
    assert_eq!(r.violations["aws_versions_24h"], 3);
    assert_eq!(r.max_versions_24h, 100);
    assert_eq!(r.max_versions_24h_secret, "idx");
    assert_eq!(r.max_attempted_versions_24h, 103);
    assert_eq!(r.secrets_over_write_target, 1);
}

#[tokio::test]
async fn aws_compare_and_swap_is_one_put_and_a_lost_one_is_counted() {
    let (b, clock) = model(Service::Aws);
    let v1 = b.put_if_current("idx", "a", None).await.unwrap();
    clock.advance(S);
    b.put_if_current("idx", "b", Some(&v1)).await.unwrap();
    clock.advance(S);
    let lost = b.put_if_current("idx", "c", Some(&v1)).await.unwrap_err();
    assert_eq!(lost.kind(), ErrorKind::Conflict);
    let r = b.report();
    assert_eq!(
        r.max_versions_24h, 3,
        "create + 2 PutSecretValue (the lost one counted)"
    );
    assert_eq!(r.calls["PutSecretValue"], 2);
    assert!(!r.calls.contains_key("UpdateSecretVersionStage"));
    assert_eq!(r.calls["CreateSecret"], 1);
    assert_eq!(
        b.versions_after("idx", None).await.unwrap_err().kind(),
        ErrorKind::Unsupported
    );
}

#[tokio::test]
async fn gcp_add_version_per_secret_per_second() {
    let (b, clock) = model(Service::Gcp);
    b.create("a", "v").await.unwrap(); // CreateSecret + AddSecretVersion at 0
    b.put("a", "v").await.unwrap();
    assert!(
        limited(b.put("a", "v").await),
        "3rd AddSecretVersion in 1 s"
    );
    b.create("b", "v").await.unwrap();
    clock.advance(S - MS);
    assert!(limited(b.put("a", "v").await));
    clock.advance(MS);
    b.put("a", "v").await.unwrap();
    let r = b.report();
    assert_eq!(r.violations["gcp_add_version_per_sec_per_secret"], 2);
    assert_eq!(r.violation_log[0].secret, "a");
}

#[tokio::test]
async fn gcp_add_version_per_secret_per_minute() {
    let mut profile = QuotaProfile::gcp();
    profile
        .rate_limits
        .retain(|l| l.name != "gcp_add_version_per_sec_per_secret");
    let (b, clock) = with_profile(profile);
    b.create("a", "v").await.unwrap();
    for _ in 1..120 {
        b.put("a", "v").await.unwrap();
    }
    assert!(limited(b.put("a", "v").await), "121st in a minute");
    clock.advance(Duration::from_secs(60));
    b.put("a", "v").await.unwrap();
    assert_eq!(
        b.report().violations["gcp_add_version_per_min_per_secret"],
        1
    );
}

#[tokio::test]
async fn gcp_project_writes_and_access_per_minute() {
    let (b, clock) = model(Service::Gcp);
    for i in 0..300 {
        b.create(&format!("s{i}"), "v").await.unwrap(); // 2 writes each
    }
    assert!(limited(b.delete("s0").await), "601st write in a minute");
    for _ in 0..GCP_ACCESS_PER_MIN {
        b.get("s1").await.unwrap();
    }
    assert!(limited(b.get("s1").await), "90,001st access");
    clock.advance(Duration::from_secs(60));
    b.delete("s0").await.unwrap();
    b.get("s1").await.unwrap();
    let r = b.report();
    assert_eq!(r.violations["gcp_writes_per_min"], 1);
    assert_eq!(r.violations["gcp_access_per_min"], 1);
    assert_eq!(r.secrets_now, 299);
}

#[tokio::test]
async fn gcp_token_puts_destroy_the_superseded_version_and_retire_destroys() {
    let (b, clock) = model(Service::Gcp);
    b.create("t", "1").await.unwrap();
    clock.advance(S);
    b.put("t", "2").await.unwrap();
    let r = b.report();
    assert_eq!(r.calls["DestroySecretVersion"], 1);
    assert_eq!(r.active_versions_now, 1);
    // An index secret keeps its versions until the engine retires them.
    b.put(crate::SHARD_PREFIX, "1").await.unwrap(); // AddSecretVersion (NOT_FOUND) + CreateSecret + Add
    b.versions_after(crate::SHARD_PREFIX, None).await.unwrap();
    clock.advance(S);
    b.put(crate::SHARD_PREFIX, "2").await.unwrap();
    let v3 = b.put(crate::SHARD_PREFIX, "3").await.unwrap();
    assert_eq!(b.report().active_versions_now, 4);
    b.retire_versions_before(crate::SHARD_PREFIX, &v3)
        .await
        .unwrap();
    let r = b.report();
    assert_eq!(r.active_versions_now, 2);
    assert_eq!(r.calls["DestroySecretVersion"], 3);
    assert_eq!(r.calls["AddSecretVersion"], 2 + 4);
    assert_eq!(r.calls["CreateSecret"], 2);
    assert_eq!(
        b.versions_after(crate::SHARD_PREFIX, None)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn azure_sets_and_other_transactions_per_10s() {
    let (b, clock) = model(Service::Azure);
    for i in 0..AZURE_SETS_PER_10S {
        b.put(&format!("s{}", i % 7), "v").await.unwrap();
    }
    assert!(limited(b.put("s0", "v").await), "301st SET in 10 s");
    for _ in 0..AZURE_OTHER_PER_10S {
        b.get("s0").await.unwrap();
    }
    assert!(limited(b.get("s0").await), "4,001st other transaction");
    clock.advance(Duration::from_secs(10) - MS);
    assert!(limited(b.put("s0", "v").await));
    clock.advance(MS);
    b.put("s0", "v").await.unwrap();
    b.get("s0").await.unwrap();
    let r = b.report();
    assert_eq!(r.violations["azure_sets_per_10s"], 2);
    assert_eq!(r.violations["azure_other_per_10s"], 1);
}

#[tokio::test]
async fn azure_backup_limit_past_500_versions_and_paged_version_lists() {
    let (b, clock) = model(Service::Azure);
    for _ in 0..500 {
        clock.advance(S);
        b.put("idx", "v").await.unwrap();
    }
    assert!(b.report().violations.is_empty());
    clock.advance(S);
    b.put("idx", "v").await.unwrap(); // the write succeeds, the backup would not
    clock.advance(S);
    b.put("idx", "v").await.unwrap();
    let r = b.report();
    assert_eq!(r.violations["backup_limit"], 1, "reported once per secret");
    assert_eq!(r.max_versions_per_secret, 502);
    // Listing 502 versions costs 21 pages of 25, plus one read per version returned.
    let before = b
        .report()
        .calls
        .get("GetSecretVersions")
        .copied()
        .unwrap_or(0);
    let all = b.versions_after("idx", None).await.unwrap();
    let r = b.report();
    assert_eq!(r.calls["GetSecretVersions"] - before, 21);
    assert_eq!(all.len(), 502, "Key Vault retires nothing");
}

#[tokio::test]
async fn values_over_the_profile_size_are_too_large() {
    for (service, max) in [
        (Service::Aws, AWS_MAX_VALUE_BYTES),
        (Service::Gcp, GCP_MAX_VALUE_BYTES),
        (Service::Azure, AZURE_MAX_VALUE_BYTES),
    ] {
        let (b, _) = model(service);
        assert_eq!(b.limits().max_value_bytes, max);
        b.put("s", &"x".repeat(max)).await.unwrap();
        let e = b.put("s", &"x".repeat(max + 1)).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TooLarge, "{service:?}");
        let r = b.report();
        assert_eq!(r.violations["value_size"], 1);
    }
}

#[tokio::test]
async fn cost_meter_integrates_over_virtual_time() {
    let (b, clock) = model(Service::Aws);
    b.create("a", "v").await.unwrap();
    clock.advance(Duration::from_secs(365 * 3600));
    b.create("b", "v").await.unwrap();
    clock.advance(Duration::from_secs(365 * 3600));
    let r = b.report();
    assert!((r.secret_hours - 1095.0).abs() < 1e-6);
    let expected = 1095.0 / 730.0 * 0.40 + 2.0 / 10_000.0 * 0.05;
    assert!((r.cost.period_usd - expected).abs() < 1e-9);
    assert!(
        (r.cost.monthly_usd - expected).abs() < 1e-9,
        "730 h = one month"
    );

    let (b, clock) = model(Service::Gcp);
    b.create("a", "v").await.unwrap();
    b.get("a").await.unwrap();
    clock.advance(Duration::from_secs(73 * 3600));
    let r = b.report();
    let expected = 73.0 / 730.0 * 0.06 + 1.0 / 10_000.0 * 0.03; // management calls are free
    assert!((r.cost.period_usd - expected).abs() < 1e-9);
    assert!((r.cost.monthly_usd - expected * 10.0).abs() < 1e-9);
}

#[tokio::test]
async fn kept_values_are_bounded_and_a_dropped_one_is_reported() {
    let clock = VirtualClock::manual();
    let b = QuotaBackend::memory(Service::Gcp, clock.clone()).keep_values(2);
    b.versions_after("log", None).await.unwrap();
    for v in ["1", "2", "3"] {
        clock.advance(S);
        b.put("log", v).await.unwrap();
    }
    assert_eq!(b.get("log").await.unwrap().unwrap().value, "3");
    let e = b.versions_after("log", None).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupt);
    let tail = b.versions_after("log", Some("1")).await.unwrap();
    let values: Vec<_> = tail.iter().map(|v| v.value.as_str()).collect();
    assert_eq!(values, ["2", "3"]);
    assert_eq!(b.report().dropped_value_reads, 1);
}

#[tokio::test]
async fn forks_count_their_own_calls() {
    let (b, _) = model(Service::Azure);
    let one = b.fork();
    let two = b.fork();
    one.create("a", "v").await.unwrap(); // GetSecret + SetSecret + GetSecretVersions
    two.get("a").await.unwrap();
    assert_eq!(one.local_calls(), 3);
    assert_eq!(two.local_calls(), 1);
    assert_eq!(b.report().total_calls(), 4);
}
