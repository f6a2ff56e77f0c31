//! The `zoho-stand-in` binary serves on the address it prints and answers like Zoho.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

#[test]
fn the_binary_serves_zoho_errors_as_http_200() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_zoho-stand-in"))
        .arg("127.0.0.1:0")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap()
        .to_owned();
    let body = "grant_type=refresh_token&client_id=c&client_secret=s&refresh_token=unknown";
    let mut stream = TcpStream::connect(&addr).unwrap();
    write!(
        stream,
        "POST /oauth/v2/token HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(r#"{"error":"invalid_code"}"#), "{answer}");
}
