//! End-to-end tests of the `token-store` binary against MariaDB, LocalStack and drongo.
//! `scripts/test-cli.sh` starts them and sets `TOKEN_STORE_CLI_MYSQL_URL`,
//! `TOKEN_STORE_CLI_AWS_ENDPOINT` and `TOKEN_STORE_CLI_GCP_ENDPOINT` (plus test AWS
//! credentials); a variable that is missing fails the test, it never skips.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use common::*;

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run scripts/test-cli.sh"))
}

/// A name no other run uses.
fn unique(label: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("cli{label}{}x{}", std::process::id(), nanos % 1_000_000_000)
}

fn aws(label: &str) -> String {
    let endpoint = var("TOKEN_STORE_CLI_AWS_ENDPOINT");
    format!(
        "aws-secretsmanager://{}/?region=us-east-1&endpoint={endpoint}",
        unique(label)
    )
}

fn gcp(label: &str) -> String {
    let endpoint = var("TOKEN_STORE_CLI_GCP_ENDPOINT");
    format!(
        "gcp-secretmanager://cli-test/{}?endpoint={endpoint}",
        unique(label)
    )
}

fn mysql(label: &str) -> String {
    format!(
        "{}?table={}",
        var("TOKEN_STORE_CLI_MYSQL_URL"),
        unique(label)
    )
}

fn migrate_verified(from: &str, to: &str) -> serde_json::Value {
    let report = ok_json(from, &["migrate", "--to", to]);
    assert_eq!(report["report"]["verify"]["failed"], false, "{report}");
    report
}

#[test]
fn round_trip_file_aws_gcp_sqlite_mysql_file_is_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let seed = fixture(dir.path(), 25);
    let first = dir.path().join("first.txt");
    let last = dir.path().join("last.txt");
    ok_json(&file_url(&first), &["import", seed.to_str().unwrap()]);
    let chain = [
        file_url(&first),
        aws("rt"),
        gcp("rt"),
        sqlite_url(&dir.path().join("rt.db")),
        mysql("rt"),
        file_url(&last),
    ];
    for pair in chain.windows(2) {
        let report = migrate_verified(&pair[0], &pair[1]);
        assert_eq!(report["report"]["written"], 25, "{report}");
    }
    let first = std::fs::read(first).unwrap();
    assert_eq!(first, std::fs::read(&seed).unwrap());
    assert_eq!(
        first,
        std::fs::read(last).unwrap(),
        "the CSV after the round trip differs"
    );
}

#[test]
fn every_command_on_aws_gcp_and_mysql() {
    let dir = tempfile::tempdir().unwrap();
    let seed = fixture(dir.path(), 5);
    for store in [aws("cmd"), gcp("cmd"), mysql("cmd")] {
        let cloud = !store.starts_with("mysql");
        let import = ok_json(&store, &["import", seed.to_str().unwrap()]);
        assert_eq!(
            import["report"]["verify"]["target_tokens"], 5,
            "{store}: {import}"
        );
        if cloud {
            assert!(
                import["service_calls"]["target"]
                    .as_object()
                    .unwrap()
                    .values()
                    .count()
                    > 0
            );
        }
        let list = run(&store, &["list"]);
        assert_eq!(list.code, 0, "{list:?}");
        assert!(list.stdout.contains("user3@example.com:600") && list.stdout.contains("expired"));
        assert!(
            secrets(1).iter().all(|s| !list.stdout.contains(s)),
            "no secret in a list"
        );
        assert_eq!(ok_json(&store, &["show", "2"])["grant_token"], "<redacted>");
        assert_eq!(
            ok_json(&store, &["show", "2", "--reveal"])["grant_token"],
            "1000.grant0002"
        );
        assert_eq!(
            ok_json(&store, &["find", "--user", "user4@example.com:600"])["id"],
            "4"
        );
        assert_eq!(
            ok_json(&store, &["find", "--access-token", &secrets(5)[1]])["id"],
            "5"
        );
        let [refresh, _, secret] = secrets(1);
        let by_refresh = [
            "find",
            "--refresh-token",
            &refresh,
            "--client-id",
            "1000.CLIENT",
            "--client-secret",
            &secret,
        ];
        assert_eq!(ok_json(&store, &by_refresh)["id"], "1");
        fails(&store, &["show", "77"], 3, "not_found");

        let stats = ok_json(&store, &["stats"]);
        assert_eq!(stats["tokens"], 5, "{stats}");
        let doctor = run(&store, &["doctor"]);
        assert_eq!(
            (doctor.code, doctor.stdout.matches('✓').count()),
            (0, 6),
            "{doctor:?}"
        );
        if cloud {
            assert_eq!(stats["index"]["entries"], 5, "{stats}");
            assert_eq!(stats["index"]["token_secrets"], 5, "{stats}");
            assert!(
                stats["service_calls"]
                    .as_object()
                    .unwrap()
                    .values()
                    .map(|v| v.as_u64().unwrap())
                    .sum::<u64>()
                    > 0
            );
            assert!(
                doctor
                    .stdout
                    .contains("✓ permissions: list, read, write and delete"),
                "{doctor:?}"
            );
            let repair = ok_json(&store, &["repair"]);
            assert_eq!(repair["tokens_scanned"], 5, "{repair}");
            assert_eq!(
                repair["entries_added"], 0,
                "a healthy index needs nothing: {repair}"
            );
        } else {
            fails(&store, &["repair"], 2, "usage");
        }

        let exported = dir
            .path()
            .join(format!("{}.txt", stats["store"].as_str().unwrap()));
        ok_json(&store, &["export", exported.to_str().unwrap()]);
        assert_eq!(
            std::fs::read(&exported).unwrap(),
            std::fs::read(&seed).unwrap()
        );

        assert_eq!(ok_json(&store, &["delete", "3", "--yes"])["deleted"], 1);
        fails(&store, &["show", "3"], 3, "not_found");
        assert_eq!(ok_json(&store, &["delete", "--all", "--yes"])["deleted"], 4);
        assert_eq!(ok_json(&store, &["stats"])["tokens"], 0);
    }
}

#[test]
fn unreachable_services_are_a_clear_error() {
    for store in [
        "aws-secretsmanager://cli/?region=us-east-1&endpoint=http://127.0.0.1:9",
        "gcp-secretmanager://cli-test/cli?endpoint=http://127.0.0.1:9",
    ] {
        // GCP's client retries a refused connection and reports it as throttling.
        let listed = fails(store, &["list"], 5, "");
        let kind_ok = ["error: unavailable", "error: rate_limited"];
        assert!(
            kind_ok.iter().any(|k| listed.stderr.starts_with(k)),
            "{listed:?}"
        );
        let doctor = run(store, &["doctor"]);
        assert_eq!(doctor.code, 4, "{doctor:?}");
        assert!(doctor.stdout.contains("✗ service answers"), "{doctor:?}");
        assert!(
            doctor.stdout.contains("- permissions: skipped"),
            "{doctor:?}"
        );
    }
}

#[test]
fn a_migrate_to_localstack_killed_half_way_ends_complete_and_verified() {
    let dir = tempfile::tempdir().unwrap();
    let source = file_url(&fixture(dir.path(), 1000));
    let target = aws("kill");
    let copied = migrate_killed(&source, &target, 500);
    assert_eq!(copied, 500, "the migrate was killed half-way, not finished");
    resume_and_verify(&source, &target, 1000, copied, false);
    let doctor = run(&target, &["doctor"]);
    assert_eq!(
        doctor.code, 0,
        "the index agrees with the token secrets: {doctor:?}"
    );
}

/// The migrate throughput the README reports: file → LocalStack → drongo, 200 tokens (CI)
/// or `TOKEN_STORE_MIGRATE_TOKENS` (the README's figures: 1,000).
#[test]
fn migrate_throughput_file_to_localstack_to_drongo() {
    let tokens: usize = std::env::var("TOKEN_STORE_MIGRATE_TOKENS")
        .ok()
        .map(|n| n.parse().expect("TOKEN_STORE_MIGRATE_TOKENS is a number"))
        .unwrap_or(200);
    let dir = tempfile::tempdir().unwrap();
    let source = file_url(&fixture(dir.path(), tokens));
    let (aws, gcp) = (aws("tp"), gcp("tp"));
    for (label, from, to) in [
        ("file -> LocalStack", &source, &aws),
        ("LocalStack -> drongo", &aws, &gcp),
    ] {
        let report = migrate_verified(from, to);
        let r = &report["report"];
        assert_eq!(r["written"], tokens, "{report}");
        let calls = |side: &str| {
            report["service_calls"][side]
                .as_object()
                .map(|c| c.values().map(|v| v.as_u64().unwrap()).sum::<u64>())
                .unwrap_or(0)
        };
        println!(
            "throughput {label}: {tokens} tokens in {:.1} s = {:.0} tokens/s; service calls: source {} target {} ({})",
            r["write_seconds"].as_f64().unwrap(),
            report["tokens_per_second"].as_f64().unwrap(),
            calls("source"),
            calls("target"),
            report["service_calls"]["target"]
        );
    }
}

/// A token secret the index does not list (as a crash between the two writes of an older
/// version could leave): `doctor` reports it, `repair` fixes it.
#[tokio::test(flavor = "multi_thread")]
async fn doctor_finds_a_token_the_index_lacks_and_repair_fixes_it() {
    use token_store::Token;
    use token_store::aws::AwsSecretsManagerStoreBuilder;
    use token_store::gcp::GcpSecretManagerStoreBuilder;
    use token_store::raw::SecretBackend;

    let dir = tempfile::tempdir().unwrap();
    let seed = fixture(dir.path(), 3);
    for store in [aws("rep"), gcp("rep")] {
        ok_json(&store, &["import", seed.to_str().unwrap()]);
        let backend: Box<dyn SecretBackend> = if store.starts_with("aws") {
            Box::new(
                AwsSecretsManagerStoreBuilder::from_url(&store)
                    .unwrap()
                    .build_backend()
                    .await
                    .unwrap(),
            )
        } else {
            Box::new(
                GcpSecretManagerStoreBuilder::from_url(&store)
                    .unwrap()
                    .build_backend()
                    .await
                    .unwrap(),
            )
        };
        let stray = Token::builder()
            .user_name("stray@example.com:600")
            .refresh_token("1000.rstray")
            .build();
        let stray = Token {
            id: Some("9".into()),
            ..stray
        };
        backend
            .put("token-9", &serde_json::to_string(&stray).unwrap())
            .await
            .unwrap();

        let doctor = run(&store, &["doctor"]);
        assert_eq!(doctor.code, 4, "{doctor:?}");
        assert!(
            doctor
                .stdout
                .contains("✗ index: the index lists 3 tokens but 4 token secrets exist"),
            "{doctor:?}"
        );
        assert!(doctor.stdout.contains("token-store repair"), "{doctor:?}");
        let repair = ok_json(&store, &["repair"]);
        assert_eq!(repair["tokens_scanned"], 4, "{repair}");
        assert!(
            repair["entries_added"].as_u64().unwrap() >= 2,
            "id and user entries: {repair}"
        );
        assert_eq!(run(&store, &["doctor"]).code, 0);
        assert_eq!(
            ok_json(&store, &["find", "--user", "stray@example.com:600"])["id"],
            "9"
        );
    }
}
