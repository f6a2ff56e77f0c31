//! The built binaries end to end on one machine: `seed-token` stores a token due for refresh in
//! a CSV file, two `http-zoho` processes serve requests (one configured the Cloud Run way, one
//! the Azure Functions way), and the stand-in accounts server sees one refresh.
//! (`scripts/test-oauth.sh` runs the full 200-invocation checks, Lambda included.)

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

use zoho_stand_in::StandIn;

fn request(addr: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

fn start_handler(port_var: &str, store: &str, accounts: &str) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_http-zoho"))
        .env_remove("PORT")
        .env_remove("FUNCTIONS_CUSTOMHANDLER_PORT")
        .env(port_var, "0")
        .env("HTTP_HOST", "127.0.0.1")
        .env("TOKEN_STORE_URL", store)
        .env("ZOHO_USER", "me@example.com")
        .env("ZOHO_ACCOUNTS_URL", accounts)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    (child, addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_handler_processes_share_one_refresh() {
    let zoho = StandIn::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = format!("file://{}", dir.path().join("sdk_tokens.txt").display());
    let seeded = Command::new(env!("CARGO_BIN_EXE_seed-token"))
        .env("TOKEN_STORE_URL", &store)
        .env("ZOHO_USER", "me@example.com")
        .env("ZOHO_ACCOUNTS_URL", zoho.url())
        .env("SEED_EXPIRES_IN_MS", "60000")
        .status()
        .unwrap();
    assert!(seeded.success());
    let url = zoho.url().to_owned();
    let answers = tokio::task::spawn_blocking(move || {
        let handlers = [
            start_handler("PORT", &store, &url),
            start_handler("FUNCTIONS_CUSTOMHANDLER_PORT", &store, &url),
        ];
        let mut answers = Vec::new();
        for _ in 0..5 {
            for (_, addr) in &handlers {
                answers.push(request(addr, "/api/zoho"));
            }
        }
        for (mut child, _) in handlers {
            child.kill().unwrap();
            child.wait().unwrap();
        }
        answers
    })
    .await
    .unwrap();
    for answer in &answers {
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.contains(r#""crm_status":200"#), "{answer}");
    }
    assert_eq!(
        answers
            .iter()
            .filter(|a| a.contains(r#""source":"refreshed""#))
            .count(),
        1,
        "one refresh across both processes"
    );
}
