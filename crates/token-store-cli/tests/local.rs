//! End-to-end tests of the `token-store` binary on the file store and SQLite (no service
//! needed; part of `cargo test --workspace`).

mod common;

use common::*;

#[test]
fn every_command_on_a_file_and_a_sqlite_store() {
    let dir = tempfile::tempdir().unwrap();
    let seed = fixture(dir.path(), 5);
    let file = file_url(&dir.path().join("tokens.txt"));
    let db = sqlite_url(&dir.path().join("tokens.db"));

    // import: every token, verified, and the file the file crate writes is the SDK's bytes.
    let import = ok_json(&file, &["import", seed.to_str().unwrap()]);
    assert_eq!(import["report"]["written"], 5, "{import}");
    assert_eq!(import["report"]["verify"]["failed"], false);
    assert_eq!(
        std::fs::read(&seed).unwrap(),
        std::fs::read(dir.path().join("tokens.txt")).unwrap()
    );

    for store in [&file, &db] {
        if store == &db {
            let migrate = ok_json(&file, &["migrate", "--to", &db]);
            assert_eq!(migrate["report"]["verify"]["target_tokens"], 5, "{migrate}");
        }
        // list: ids, users, expiry and which tokens are present; never a secret.
        let list = run(store, &["list"]);
        assert_eq!(list.code, 0, "{list:?}");
        assert!(list.stdout.contains("user1@example.com:600") && list.stdout.contains("expired"));
        assert!(list.stdout.contains("- refresh grant"), "{}", list.stdout);
        assert!(list.stdout.trim_end().ends_with("5 tokens"));
        let listed = ok_json(store, &["list"]);
        assert_eq!(listed["tokens"].as_array().unwrap().len(), 5);
        for i in 1..=5 {
            for secret in secrets(i) {
                assert!(!list.stdout.contains(&secret) && !listed.to_string().contains(&secret));
            }
        }
        // show: redacted, or revealed with --reveal.
        let shown = ok_json(store, &["show", "4"]);
        assert_eq!(shown["user_name"], "user4@example.com:600");
        assert_eq!(shown["refresh_token"], "<redacted>");
        assert_eq!(shown["grant_token"], serde_json::Value::Null);
        let text = run(store, &["show", "4"]);
        assert!(
            text.stdout.contains("refresh_token  <redacted>"),
            "{text:?}"
        );
        let revealed = ok_json(store, &["show", "4", "--reveal"]);
        assert_eq!(revealed["refresh_token"], secrets(4)[0]);
        // find by each key.
        let by_user = ok_json(store, &["find", "--user", "user2@example.com:600"]);
        assert_eq!(by_user["id"], "2");
        let [_, access, _] = secrets(5);
        assert_eq!(
            ok_json(store, &["find", "--access-token", &access])["id"],
            "5"
        );
        let [refresh, _, secret] = secrets(4);
        let by_refresh = [
            "find",
            "--refresh-token",
            &refresh,
            "--client-id",
            "1000.CLIENT",
            "--client-secret",
            &secret,
        ];
        assert_eq!(ok_json(store, &by_refresh)["id"], "4");
        fails(store, &["find", "--user", "nobody"], 3, "not_found");
        // stats and doctor.
        let stats = ok_json(store, &["stats"]);
        assert_eq!(
            (stats["tokens"].as_u64(), stats["expired_tokens"].as_u64()),
            (Some(5), Some(1))
        );
        let doctor = run(store, &["doctor"]);
        assert_eq!(doctor.code, 0, "{doctor:?}");
        assert_eq!(doctor.stdout.matches('✓').count(), 6, "{doctor:?}");
        // repair is for cloud stores.
        fails(store, &["repair"], 2, "usage");
    }

    // export: the SQLite store written back to a token file byte-identical to the first.
    let exported = dir.path().join("exported.txt");
    let export = ok_json(&db, &["export", exported.to_str().unwrap()]);
    assert_eq!(export["report"]["verify"]["failed"], false);
    assert_eq!(
        std::fs::read(&seed).unwrap(),
        std::fs::read(&exported).unwrap()
    );

    // delete: refused without a terminal or --yes; then one token, then all.
    fails(&db, &["delete", "1"], 2, "usage");
    assert_eq!(ok_json(&db, &["stats"])["tokens"], 5, "nothing deleted");
    assert_eq!(ok_json(&db, &["delete", "1", "--yes"])["deleted"], 1);
    fails(&db, &["show", "1"], 3, "not_found");
    assert_eq!(ok_json(&db, &["delete", "--all", "--yes"])["deleted"], 4);
    assert_eq!(
        ok_json(&db, &["list"])["tokens"].as_array().unwrap().len(),
        0
    );
}

#[test]
fn migrate_is_resumable_has_a_dry_run_and_fails_on_a_difference() {
    let dir = tempfile::tempdir().unwrap();
    let source = file_url(&fixture(dir.path(), 10));
    let target = sqlite_url(&dir.path().join("t.db"));
    let dry = ok_json(&source, &["migrate", "--to", &target, "--dry-run"]);
    assert_eq!(
        (
            dry["report"]["missing"].as_u64(),
            dry["report"]["written"].as_u64()
        ),
        (Some(10), Some(0))
    );
    assert!(dry["report"]["verify"].is_null());
    assert_eq!(
        ok_json(&target, &["stats"])["tokens"],
        0,
        "a dry run writes nothing"
    );

    let first = ok_json(&source, &["migrate", "--to", &target]);
    assert_eq!(first["report"]["written"], 10);
    // Change one token in the target, drop another: the next run copies exactly those two.
    let other = dir.path().join("other.csv");
    std::fs::write(&other, "id,user_name,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_uri,api_domain\r\n7,user7@example.com:600,,,1000.changed,,,,,\r\n").unwrap();
    ok_json(&target, &["import", other.to_str().unwrap()]);
    ok_json(&target, &["delete", "8", "--yes"]);
    let again = ok_json(&source, &["migrate", "--to", &target]);
    let r = &again["report"];
    assert_eq!(
        (
            r["missing"].as_u64(),
            r["different"].as_u64(),
            r["unchanged"].as_u64()
        ),
        (Some(1), Some(1), Some(8)),
        "{again}"
    );
    assert_eq!(r["verify"]["failed"], false);

    // A target holding a token the source lacks differs: exit code 4, named in the report.
    let small = file_url(&fixture(&dir.path().join("small").tap_mkdir(), 9));
    let run = run(&small, &["--json", "migrate", "--to", &target]);
    assert_eq!(run.code, 4, "{run:?}");
    assert_eq!(
        run.json()["report"]["verify"]["extra"],
        serde_json::json!(["10"])
    );
    let text = common::run(&small, &["migrate", "--to", &target]);
    assert!(text.stdout.contains("✗ verification"), "{text:?}");
}

#[test]
fn bad_input_is_one_clear_line_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(&dir.path().join("t.db"));
    ok_json(&db, &["import", fixture(dir.path(), 3).to_str().unwrap()]);

    fails("nosuch://x", &["list"], 2, "config_invalid");
    fails("file://relative", &["list"], 2, "config_invalid");
    let no_store = common::command("", &["list"]).output().unwrap();
    assert_eq!(no_store.status.code(), Some(2));
    let from_env = std::process::Command::new(env!("CARGO_BIN_EXE_token-store"))
        .env("TOKEN_STORE_URL", &db)
        .args(["--json", "stats"])
        .output()
        .unwrap();
    let stats: serde_json::Value = serde_json::from_slice(&from_env.stdout).unwrap();
    assert_eq!(stats["tokens"], 3, "the store from TOKEN_STORE_URL");
    fails(&db, &["show", "999"], 3, "not_found");
    let as_json = run(&db, &["--json", "show", "999"]);
    assert_eq!(as_json.json()["error"]["kind"], "not_found", "{as_json:?}");
    assert_eq!(as_json.json()["error"]["exit_code"], 3);
    let quiet = run(&db, &["--quiet", "list"]);
    assert_eq!(
        (quiet.code, quiet.stdout.as_str(), quiet.stderr.as_str()),
        (0, "", "")
    );
    fails(&db, &["delete", "999", "--yes"], 3, "not_found");
    fails(&db, &["show", "not-an-id"], 2, "invalid_input");
    fails(&db, &["import", "/nonexistent/tokens.csv"], 3, "not_found");

    // A corrupt CSV file: typed error, the file and the store untouched.
    let corrupt = dir.path().join("corrupt.csv");
    let bytes = b"id,user_name,client_id\r\n1,a,b,c,d\r\n";
    std::fs::write(&corrupt, bytes).unwrap();
    fails(&db, &["import", corrupt.to_str().unwrap()], 7, "corrupt");
    assert_eq!(std::fs::read(&corrupt).unwrap(), bytes);
    assert_eq!(ok_json(&db, &["stats"])["tokens"], 3);
    // Export into a corrupt file: refused, the file left as it was.
    fails(&db, &["export", corrupt.to_str().unwrap()], 7, "corrupt");
    assert_eq!(std::fs::read(&corrupt).unwrap(), bytes);

    // Unreachable services: a closed port, clear error, nothing written anywhere.
    let closed = "aws-secretsmanager://cli-test/?region=us-east-1&endpoint=http://127.0.0.1:9";
    let run = common::command(closed, &["list"])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(5), "{run:?}");
    assert!(
        String::from_utf8_lossy(&run.stderr).starts_with("error: unavailable"),
        "{run:?}"
    );
    let mysql = "mysql://user:hunter2@127.0.0.1:9/zohooauth";
    let run = fails(&db, &["migrate", "--to", mysql], 5, "unavailable");
    assert!(
        !run.stderr.contains("hunter2"),
        "a password never shows: {run:?}"
    );
    assert_eq!(ok_json(&db, &["stats"])["tokens"], 3);
    let doctor = common::run(mysql, &["doctor"]);
    assert_eq!(doctor.code, 4, "{doctor:?}");
    assert!(
        doctor.stdout.contains("✗ service answers") && !doctor.stdout.contains("hunter2"),
        "{doctor:?}"
    );
}

#[test]
fn a_migrate_killed_half_way_ends_complete_and_verified_when_run_again() {
    let dir = tempfile::tempdir().unwrap();
    let source = file_url(&fixture(dir.path(), 1000));
    let target = sqlite_url(&dir.path().join("t.db"));
    let copied = migrate_killed(&source, &target, 500);
    assert_eq!(copied, 500, "the migrate was killed half-way, not finished");
    resume_and_verify(&source, &target, 1000, copied, true);
}

trait TapMkdir {
    fn tap_mkdir(self) -> Self;
}

impl TapMkdir for std::path::PathBuf {
    fn tap_mkdir(self) -> Self {
        std::fs::create_dir_all(&self).unwrap();
        self
    }
}
