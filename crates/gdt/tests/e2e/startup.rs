//! Start-up: a worker whose GitHub credentials GitHub refuses stops and says why; a GitHub
//! that does not answer yet is waited for; `gdt config check` refuses what a start refuses;
//! a failed activity leaves a log line with GitHub's answer.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::support::{free_probe_ports, gdt, queue, wait_until, GitHub, WorkerProcess};
use gdt_github_sandbox::SandboxApp;
use serde_json::{json, Value};

/// A P-256 key: a well-formed PEM private key that is not RSA. Made for this test only.
const EC_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgmvMWfUAIpp4ky2AV
L4/WbZG2lWTTR1YI0kiYeZgvcCahRANCAARlHJgpt4cRIgBQBj3/NXTapgzsjFVf
lahZp0v8vEANjbG8ybsNGd0x7mASXcWzHO3EuIyDQxYHm3N4qoZkGYMX
-----END PRIVATE KEY-----
";

/// Runs `gdt <args>` to its end; a process still running after a minute fails the test
/// (today's worker would run forever instead of refusing).
fn run_to_exit(env: &[(String, String)], dir: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gdt"));
    cmd.current_dir(dir).env_clear();
    for key in ["PATH", "HOME"] {
        if let Ok(v) = std::env::var(key) {
            cmd.env(key, v);
        }
    }
    let mut child = cmd
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .envs(free_probe_ports())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run gdt");
    let mut exited = false;
    wait_until(
        Duration::from_secs(60),
        &format!("gdt {args:?} to exit"),
        || {
            exited = child.try_wait().expect("try_wait").is_some();
            exited
        },
    );
    child.wait_with_output().expect("gdt output")
}

/// The `error: …` line `gdt` ends with when it fails.
fn error_line(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .rfind(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error line in: {}", String::from_utf8_lossy(&out.stderr)))
        .to_owned()
}

/// `env` without any of `keys`, then `extra`.
fn with(env: &[(String, String)], keys: &[&str], extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = env
        .iter()
        .filter(|(k, _)| !keys.contains(&k.as_str()))
        .cloned()
        .collect();
    env.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    env
}

/// Asserts that `gdt worker` exits non-zero, naming each of `expected`, and shows none of
/// `secrets` anywhere in its output.
fn assert_worker_refuses(
    env: &[(String, String)],
    dir: &Path,
    expected: &[&str],
    secrets: &[&str],
) {
    let out = run_to_exit(env, dir, &["worker"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "the worker started: {stderr}");
    assert!(!stderr.contains("worker started"), "{stderr}");
    let error = error_line(&out);
    for word in expected {
        assert!(error.contains(word), "{word:?} missing from: {error}");
    }
    for secret in secrets {
        assert!(
            !stderr.contains(secret) && !stdout.contains(secret),
            "a secret leaked: {stderr}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_stops_at_start_when_github_refuses_its_credentials() {
    let github = GitHub::start().await;
    let env = github.env(&queue("startup-refused"));
    let dir = tempfile::tempdir().expect("tempdir");
    let app_keys = [
        "GDT_GITHUB_APP_ID",
        "GDT_GITHUB_INSTALLATION_ID",
        "GITHUB_APP_PRIVATE_KEY_PATH",
    ];

    // A token GitHub does not know.
    let token = "ghp_UnknownToTheSandbox0123456789abcdef";
    let token_env = with(&env, &app_keys, &[("GITHUB_TOKEN", token)]);
    assert_worker_refuses(
        &token_env,
        dir.path(),
        &[
            "rejected the token",
            "401",
            "Bad credentials",
            "GITHUB_TOKEN",
        ],
        &[token],
    );

    // A well-formed RSA key that is not the App's.
    let (_, other_key) = SandboxApp::generate(1, 1);
    let other_path = dir.path().join("other-app.pem");
    std::fs::write(&other_path, &other_key).expect("write key");
    let key_env = with(
        &env,
        &["GITHUB_APP_PRIVATE_KEY_PATH"],
        &[(
            "GITHUB_APP_PRIVATE_KEY_PATH",
            other_path.to_str().expect("utf-8 path"),
        )],
    );
    let key_body = other_key.lines().nth(1).expect("a key line");
    assert_worker_refuses(
        &key_env,
        dir.path(),
        &[
            "401",
            "other-app.pem",
            "GDT_GITHUB_APP_ID",
            "GDT_GITHUB_PRIVATE_KEY_PATH",
        ],
        &[key_body],
    );

    // An App id GitHub does not know.
    let app_env = with(
        &env,
        &["GDT_GITHUB_APP_ID"],
        &[("GDT_GITHUB_APP_ID", "4242")],
    );
    assert_worker_refuses(
        &app_env,
        dir.path(),
        &["401", "App 4242", "GDT_GITHUB_APP_ID"],
        &[],
    );

    // The right App and key, an installation it does not have.
    let installation_env = with(
        &env,
        &["GDT_GITHUB_INSTALLATION_ID"],
        &[("GDT_GITHUB_INSTALLATION_ID", "999")],
    );
    assert_worker_refuses(
        &installation_env,
        dir.path(),
        &["404", "installation 999", "GDT_GITHUB_INSTALLATION_ID"],
        &[],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_waits_for_github_to_answer_then_starts() {
    let github = GitHub::start().await;
    let env = github.env(&queue("startup-transient"));
    let dir = tempfile::tempdir().expect("tempdir");
    // More 500s than the client retries in one check (5 retries): the first check fails, a
    // later one succeeds.
    github
        .fault(json!({
            "method": "POST",
            "path": "/app/installations/*/access_tokens",
            "kind": "500",
            "count": 8,
        }))
        .await;
    let worker = WorkerProcess::start(&env, dir.path());
    wait_until(Duration::from_secs(60), "the worker to start", || {
        worker.logs().contains("worker started")
    });
    let logs = worker.logs();
    assert!(
        logs.contains("cannot check the GitHub credentials: GitHub did not answer; trying again"),
        "{logs}"
    );
    assert!(logs.contains("GitHub accepted the credentials"), "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_activity_logs_the_workflow_and_githubs_answer() {
    let github = GitHub::start().await;
    let env = github.env(&queue("startup-activity-log"));
    let dir = tempfile::tempdir().expect("tempdir");
    let worker = WorkerProcess::start(&env, dir.path());
    let id = format!("startup-unknown-ref-{}", std::process::id());
    // A ref the repository does not have: GitHub answers 422 "No ref found for: …", and
    // the start itself already says the deployment was not created.
    let started = gdt(
        &env,
        dir.path(),
        &[
            "track",
            "start",
            "--repo",
            "acme/api",
            "--sha",
            "no-such-branch",
            "--environment",
            "staging",
            "--workflow-id",
            &id,
        ],
    );
    assert!(!started.status.success(), "{started:?}");
    let mut line = Value::Null;
    wait_until(
        Duration::from_secs(60),
        "the failed activity's log line",
        || {
            line = worker
                .logs()
                .lines()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .find(|l| l["span"]["workflow_id"] == id.as_str() && l["github_status"] == 422)
                .unwrap_or_default();
            !line.is_null()
        },
    );
    assert_eq!(line["level"], "ERROR", "{line}");
    assert_eq!(line["span"]["activity"], "StartGitHubDeployment", "{line}");
    let error = line["error"].as_str().unwrap_or_default();
    assert!(error.contains("No ref found for: no-such-branch"), "{line}");
}

/// `gdt config check` and the start it stands for fail alike, with the same message.
fn assert_check_and_start_refuse(
    env: &[(String, String)],
    dir: &Path,
    start: &str,
    expected: &[&str],
) {
    let check = gdt(env, dir, &["config", "check"]);
    assert!(
        !check.status.success(),
        "config check passed: {}",
        String::from_utf8_lossy(&check.stdout)
    );
    let message = error_line(&check);
    for word in expected {
        assert!(message.contains(word), "{word:?} missing from: {message}");
    }
    let started = run_to_exit(env, dir, &[start]);
    assert!(!started.status.success());
    assert_eq!(
        error_line(&started),
        message,
        "config check and gdt {start} disagree"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_check_refuses_what_the_start_refuses() {
    let github = GitHub::start().await;
    let env = github.env(&queue("startup-config-check"));
    let dir = tempfile::tempdir().expect("tempdir");
    let key_setting = ["GITHUB_APP_PRIVATE_KEY_PATH"];

    // A key cut short (its BEGIN and END lines intact).
    let key = std::fs::read_to_string(&github.key_path).expect("key");
    let lines: Vec<&str> = key.lines().collect();
    let truncated = format!(
        "{}\n{}\n{}\n",
        lines[0],
        lines[1..lines.len() / 2].join("\n"),
        lines[lines.len() - 1]
    );
    let truncated_path = dir.path().join("truncated.pem");
    std::fs::write(&truncated_path, &truncated).expect("write");
    let truncated_env = with(
        &env,
        &key_setting,
        &[(
            "GITHUB_APP_PRIVATE_KEY_PATH",
            truncated_path.to_str().unwrap(),
        )],
    );
    assert_check_and_start_refuse(
        &truncated_env,
        dir.path(),
        "worker",
        &["truncated.pem", "GDT_GITHUB_PRIVATE_KEY_PATH", "RSA"],
    );

    // A private key that is not RSA.
    let ec_path = dir.path().join("ec.pem");
    std::fs::write(&ec_path, EC_KEY).expect("write");
    let ec_env = with(
        &env,
        &key_setting,
        &[("GITHUB_APP_PRIVATE_KEY_PATH", ec_path.to_str().unwrap())],
    );
    assert_check_and_start_refuse(&ec_env, dir.path(), "worker", &["ec.pem", "RSA"]);
    let check = gdt(&ec_env, dir.path(), &["config", "check"]);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(!all.contains("MIGHAgEAMBMG"), "the key leaked: {all}");

    // An invalid glob among the PR checks' patterns.
    let glob_env = with(&env, &[], &[("GDT_PR_CHECKS_CODE_PATTERNS", "src/[x.rs")]);
    assert_check_and_start_refuse(
        &glob_env,
        dir.path(),
        "worker",
        &["pr_checks.code_patterns"],
    );

    // A webhook secrets file that is not there.
    let missing = dir.path().join("no-such-secrets");
    let secrets_env = with(
        &env,
        &["GITHUB_WEBHOOK_SECRET"],
        &[("GITHUB_WEBHOOK_SECRET_FILE", missing.to_str().unwrap())],
    );
    let mut serve_env = secrets_env;
    serve_env.extend([
        (
            "INTERNAL_API_SHARED_SECRET".to_owned(),
            "t0123456789abcdef".to_owned(),
        ),
        ("GDT_SERVER_LISTEN".to_owned(), "127.0.0.1:0".to_owned()),
    ]);
    assert_check_and_start_refuse(&serve_env, dir.path(), "serve", &["no-such-secrets"]);

    // And the configuration as the harness has it passes.
    let check = gdt(&env, dir.path(), &["config", "check"]);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}
