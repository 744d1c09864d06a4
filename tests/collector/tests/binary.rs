//! The `tracklane-collector` binary as the Python and Node suites use it.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const PREFIX: &str = "tracklane-collector listening on ";

#[tokio::test]
async fn binary_prints_its_listening_line_and_serves() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tracklane-collector"))
        .args(["--port", "0", "--wa-rate-limit", "5"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("binary starts");
    let mut line = String::new();
    if let Some(stdout) = child.stdout.take() {
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("reads the line");
    }
    let url = line.trim().strip_prefix(PREFIX).map(str::to_owned);
    let health = match &url {
        Some(url) => Some(common::get(&format!("{url}/_health")).await),
        None => None,
    };
    let _ = child.kill();
    let _ = child.wait();

    let url = url.unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let health = health.expect("health answered");
    assert_eq!(health.status, 200);
    assert_eq!(health.json, serde_json::json!({"ok": true}));
}

#[test]
fn binary_help_prints_usage() {
    let output = Command::new(env!("CARGO_BIN_EXE_tracklane-collector"))
        .arg("--help")
        .output()
        .expect("binary runs");
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("--wa-key"));
}

#[test]
fn binary_rejects_unknown_options() {
    let output = Command::new(env!("CARGO_BIN_EXE_tracklane-collector"))
        .arg("--bogus")
        .arg("1")
        .output()
        .expect("binary runs");
    assert_eq!(output.status.code(), Some(2));
}
