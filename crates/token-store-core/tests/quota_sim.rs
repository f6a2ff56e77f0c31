//! The quota simulation (`testkit::quota`) in CI: a tiny coherent run, and 1,000 tokens for a
//! simulated day on each service's quota model with no violation, no failed operation, no
//! miss and no secret written more than 96 times in 24 hours.

use token_store_core::testkit::quota::{Service, SimConfig, SimReport, format_table, simulate};

const SERVICES: [Service; 3] = [Service::Aws, Service::Gcp, Service::Azure];

#[test]
fn tiny_simulation_is_coherent() {
    for service in SERVICES {
        let report = simulate(&SimConfig::new(service, 10, 1.0));
        println!("{}", format_table(std::slice::from_ref(&report)));
        let name = service.name();
        assert_eq!(
            report.ops,
            report.saves + report.finds + report.deletes,
            "{name}"
        );
        // 10 tokens, one save per 55 minutes for a day, three finds per save.
        let per_day = (10.0 * 1440.0 / 55.0) as u64;
        assert!(
            report.saves.abs_diff(per_day) <= 10,
            "{name}: {} saves",
            report.saves
        );
        assert!(
            report.finds.abs_diff(3 * per_day) <= 30,
            "{name}: {} finds",
            report.finds
        );
        assert_eq!(report.calls_per_save.count, report.saves, "{name}");
        assert_eq!(report.calls_per_find.count, report.finds, "{name}");
        assert!(
            report.calls_per_find.p50 >= 1,
            "{name}: at least the token read"
        );
        assert!(report.calls_per_save.max >= report.calls_per_save.p50);
        assert_eq!(report.wrong_answers, 0, "{name}");
        assert_eq!(report.users_live, 10, "{name}");
        assert!(report.total_failed() <= report.ops, "{name}");
        let quota = &report.quota;
        assert!(quota.total_calls() >= report.ops, "{name}");
        assert!(
            quota.elapsed.as_secs() >= 86_400 - 3_600,
            "{name}: virtual day covered"
        );
        assert!(quota.secrets_now >= 10, "{name}: tokens plus index");
        assert!(quota.cost.monthly_usd > 0.0, "{name}");
        assert!(
            report.wall.as_secs() < 60,
            "{name}: virtual time, not wall time"
        );
    }
}

fn assert_clean(report: &SimReport) {
    let name = report.config.service.name();
    assert!(
        report.quota.violations.is_empty(),
        "{name}: violations {:?}",
        report.quota.violations
    );
    assert!(
        report.failed.is_empty(),
        "{name}: failed {:?}",
        report.failed
    );
    assert_eq!(report.find_misses, 0, "{name}");
    assert_eq!(report.wrong_answers, 0, "{name}");
    assert_eq!(report.users_stored, report.users_live, "{name}");
    assert!(
        report.quota.secrets_over_write_target == 0,
        "{name}: a secret written more than 96 times in 24 hours ({} on {})",
        report.quota.max_versions_24h,
        report.quota.max_versions_24h_secret
    );
    assert_eq!(report.quota.dropped_value_reads, 0, "{name}");
}

/// 1,000 tokens for a simulated day on `service`, with no violation (one test per service, so
/// the three run side by side).
fn a_thousand_tokens_for_a_day(service: Service) {
    let report = simulate(&SimConfig::new(service, 1_000, 1.0));
    println!("{}", format_table(std::slice::from_ref(&report)));
    assert_clean(&report);
}

#[test]
fn aws_a_thousand_tokens_for_a_day_stay_within_every_quota() {
    a_thousand_tokens_for_a_day(Service::Aws);
}

#[test]
fn gcp_a_thousand_tokens_for_a_day_stay_within_every_quota() {
    a_thousand_tokens_for_a_day(Service::Gcp);
}

#[test]
fn azure_a_thousand_tokens_for_a_day_stay_within_every_quota() {
    a_thousand_tokens_for_a_day(Service::Azure);
}
