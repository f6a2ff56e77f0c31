//! Running the built `token-store` binary, and token file fixtures.
#![allow(dead_code)] // each test binary uses its own part of these helpers

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

/// The Zoho SDK's header row.
const HEADER: &str = "id,user_name,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_uri,api_domain";

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    /// Exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Stdout as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }
}

/// A command for the binary with `--store URL`, no `TOKEN_STORE_URL` from the environment,
/// and stdin closed (not a terminal).
pub fn command(store: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_token-store"));
    cmd.env_remove("TOKEN_STORE_URL")
        .stdin(Stdio::null())
        .arg("--store")
        .arg(store)
        .args(args);
    cmd
}

/// Run the binary to completion.
pub fn run(store: &str, args: &[&str]) -> Run {
    let output = command(store, args).output().expect("run token-store");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Run with `--json`, expect exit code 0, and return the JSON.
pub fn ok_json(store: &str, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let run = run(store, &all);
    assert_eq!(run.code, 0, "token-store {args:?} failed: {run:?}");
    run.json()
}

/// Run, expect `code`, one error line on stderr naming `kind`, and nothing on stdout.
pub fn fails(store: &str, args: &[&str], code: i32, kind: &str) -> Run {
    let run = run(store, args);
    assert_eq!(run.code, code, "token-store {args:?}: {run:?}");
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(lines.len(), 1, "one error line expected: {run:?}");
    assert!(lines[0].starts_with(&format!("error: {kind}")), "{run:?}");
    assert!(
        lines[0].contains(" — "),
        "the line says what to do: {run:?}"
    );
    run
}

/// `file://` URL of a path.
pub fn file_url(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// `sqlite://` URL of a path.
pub fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// The secret values of the fixture's token `i` (never to appear unless revealed).
pub fn secrets(i: usize) -> [String; 3] {
    [
        format!("1000.refresh{i:04}x"),
        format!("1000.access{i:04}x"),
        format!("secret{i:04}x"),
    ]
}

/// A Zoho CSV token file with tokens 1..=n as the Zoho SDK writes it (CRLF, a field quoted
/// only when it holds a comma, quote or line break). Token 1 has a comma and quotes in its
/// redirect URL, token 2 has a grant token and no access token, token 3 only a refresh token.
pub fn fixture(dir: &Path, n: usize) -> PathBuf {
    let mut text = format!("{HEADER}\r\n");
    for i in 1..=n {
        let [refresh, access, secret] = secrets(i);
        let row = match i {
            1 => format!(
                "1,user1@example.com:600,1000.CLIENT,{secret},{refresh},{access},,1764000000000,\"https://app/cb?a=1,b=\"\"q\"\"\",https://www.zohoapis.eu"
            ),
            2 => format!(
                "2,user2@example.com:600,1000.CLIENT,{secret},{refresh},,1000.grant0002,4102444800000,https://app/cb,https://www.zohoapis.com"
            ),
            3 => format!("3,user3@example.com:600,,,{refresh},,,,,"),
            _ => format!(
                "{i},user{i}@example.com:600,1000.CLIENT,{secret},{refresh},{access},,4102444800000,https://app/cb,https://www.zohoapis.com"
            ),
        };
        text += &row;
        text += "\r\n";
    }
    let path = dir.join(format!("fixture-{n}.csv"));
    std::fs::write(&path, text).expect("write fixture");
    path
}

/// Start a `migrate` with `-v`, kill it once `after` tokens were copied, and return how many
/// it reported copied.
pub fn migrate_killed(source: &str, target: &str, after: usize) -> usize {
    let mut child = command(source, &["-v", "migrate", "--to", target, "--jobs", "4"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn migrate");
    let stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut copied = 0;
    for line in stderr.lines() {
        let line = line.expect("stderr line");
        let secret = ["1000.refresh", "1000.access", ",secret", "=secret"];
        assert!(
            !secret.iter().any(|s| line.contains(s)),
            "a secret in the log: {line}"
        );
        if line.contains("copied token") {
            copied += 1;
            if copied == after {
                child.kill().expect("kill migrate");
                break;
            }
        }
    }
    child.wait().expect("reap migrate");
    copied
}

/// Run `migrate` again after an interruption and check it copied only the rest, verified.
/// `atomic_target`: the target never loses an update, so every token the first run reported
/// copied is found unchanged.
pub fn resume_and_verify(
    source: &str,
    target: &str,
    total: usize,
    copied_before: usize,
    atomic_target: bool,
) {
    let report = ok_json(source, &["migrate", "--to", target]);
    let r = &report["report"];
    assert_eq!(r["source_tokens"], total);
    let count = |field: &str| r[field].as_u64().unwrap() as usize;
    // Tokens the first run copied are found unchanged, unless the target can lose index
    // updates (LocalStack does not serialize concurrent writes to one secret).
    if atomic_target {
        assert!(
            count("unchanged") >= copied_before,
            "what the first run copied stays: {report}"
        );
    }
    assert!(
        count("written") > 0 && count("written") < total,
        "the second run copies only the rest: {report}"
    );
    assert_eq!(
        count("written"),
        count("missing") + count("different"),
        "{report}"
    );
    assert_eq!(count("written") + count("unchanged"), total, "{report}");
    assert_eq!(r["verify"]["failed"], false, "{report}");
    assert_eq!(r["verify"]["target_tokens"], total, "{report}");
    let again = ok_json(source, &["migrate", "--to", target]);
    assert_eq!(
        again["report"]["written"], 0,
        "a third run has nothing to copy: {again}"
    );
}
