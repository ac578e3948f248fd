//! The client's conditional `GET`s against the sandbox over real HTTP: a repeated read is
//! answered `304` (not counted against the rate limit) and served from the cache, a change is
//! a `200` with the new answer, each page of a listing is its own entry, and two credentials
//! never share an answer.

use std::time::Duration;

use gdt_github::{Auth, Client, ClientConfig, RetryPolicy};
use gdt_github_sandbox::{JournalEntry, SandboxConfig, SpawnedSandbox};
use gdt_metrics::metrics;
use secrecy::SecretString;
use serde_json::json;
use url::Url;

fn client(sandbox: &SpawnedSandbox, token: &str) -> Client {
    let policy = RetryPolicy {
        max_retries: 2,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        backoff_multiplier: 2.0,
        max_inline_wait: Duration::from_secs(1),
    };
    Client::new(ClientConfig::new(
        Url::parse(&sandbox.base_url).expect("url"),
        Auth::Token(SecretString::from(token.to_owned())),
        policy,
    ))
    .expect("client")
}

async fn control(
    sandbox: &SpawnedSandbox,
    method: reqwest::Method,
    path: &str,
    body: serde_json::Value,
) {
    let response = reqwest::Client::new()
        .request(method, format!("{}{path}", sandbox.base_url))
        .json(&body)
        .send()
        .await
        .expect("control");
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
}

/// A sandbox taking `tokens`, with pull request `number` of `acme/app` at `head`.
async fn sandbox_with_pull(tokens: &[&str], number: u64, head: &str) -> SpawnedSandbox {
    let sandbox = gdt_github_sandbox::spawn(SandboxConfig {
        tokens: tokens.iter().map(|t| (*t).to_owned()).collect(),
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox");
    control(
        &sandbox,
        reqwest::Method::POST,
        "/_sandbox/repos/acme/app/pulls",
        json!({"number": number, "base_ref": "main", "head_ref": "f", "head_sha": head,
               "files": [{"filename": "a.go", "status": "modified", "content": "package a\n"}]}),
    )
    .await;
    sandbox
}

fn sha(c: char) -> String {
    c.to_string().repeat(40)
}

/// The journal entries after the first `since`.
fn after(sandbox: &SpawnedSandbox, since: usize) -> Vec<JournalEntry> {
    sandbox.sandbox().journal()[since..].to_vec()
}

/// Status and whether it was counted, of each request after the first `since`.
fn answers(sandbox: &SpawnedSandbox, since: usize) -> Vec<(u16, bool)> {
    after(sandbox, since)
        .iter()
        .map(|e| (e.status, e.counted))
        .collect()
}

fn hits(endpoint: &str) -> f64 {
    metrics().value(
        "gdt_github_conditional_hits_total",
        &[("endpoint", endpoint)],
    )
}

#[tokio::test]
async fn a_repeated_read_is_a_free_304_and_a_change_is_seen() {
    let sandbox = sandbox_with_pull(&["one", "two"], 4, &sha('a')).await;
    let one = client(&sandbox, "one");

    let first = one.get_pull("acme", "app", 4).await.expect("read");
    assert_eq!(first.head.sha, sha('a'));
    let mark = sandbox.sandbox().journal().len();
    let before = hits("pulls");
    let again = one.get_pull("acme", "app", 4).await.expect("read again");
    assert_eq!(again.head.sha, sha('a'));
    assert_eq!(answers(&sandbox, mark), [(304, false)], "one uncounted 304");
    assert_eq!(hits("pulls") - before, 1.0);

    // The head moves: the next read is a counted 200 with the new head, never the kept one.
    control(
        &sandbox,
        reqwest::Method::PATCH,
        "/_sandbox/repos/acme/app/pulls/4",
        json!({"head_sha": sha('b'), "files": [{"filename": "a.go", "status": "modified", "content": "package b\n"}]}),
    )
    .await;
    let mark = sandbox.sandbox().journal().len();
    let moved = one
        .get_pull("acme", "app", 4)
        .await
        .expect("read after the push");
    assert_eq!(moved.head.sha, sha('b'));
    assert_eq!(answers(&sandbox, mark), [(200, true)]);

    // Another credential never gets the first one's answer: its first read is a full 200.
    let two = client(&sandbox, "two");
    let mark = sandbox.sandbox().journal().len();
    assert_eq!(
        two.get_pull("acme", "app", 4).await.expect("read").head.sha,
        sha('b')
    );
    assert_eq!(
        answers(&sandbox, mark),
        [(200, true)],
        "no If-None-Match from another credential's answer"
    );

    // Writes are never conditional, and a listing's pages are entries of their own.
    for i in 0..120 {
        one.create_issue_comment("acme", "app", 4, &format!("comment {i}"))
            .await
            .expect("comment");
    }
    let listed = one
        .list_issue_comments("acme", "app", 4)
        .await
        .expect("list");
    assert_eq!(listed.len(), 120);
    let mark = sandbox.sandbox().journal().len();
    let listed = one
        .list_issue_comments("acme", "app", 4)
        .await
        .expect("list again");
    assert_eq!(listed.len(), 120, "both pages served from the cache");
    assert_eq!(answers(&sandbox, mark), [(304, false), (304, false)]);
    // A comment edited on the second page: page 1 is still a 304, page 2 a 200 with the edit.
    let edited = listed.last().expect("last").id;
    one.update_issue_comment("acme", "app", edited, "edited")
        .await
        .expect("edit");
    let mark = sandbox.sandbox().journal().len();
    let listed = one
        .list_issue_comments("acme", "app", 4)
        .await
        .expect("list after the edit");
    assert_eq!(listed.len(), 120);
    assert_eq!(listed.last().map(|c| c.body.as_str()), Some("edited"));
    assert_eq!(
        after(&sandbox, mark)
            .iter()
            .map(|e| (e.method.as_str(), e.status, e.counted))
            .collect::<Vec<_>>(),
        [("GET", 304, false), ("GET", 200, true)]
    );
}

#[tokio::test]
async fn two_reads_of_one_url_at_once_go_one_after_the_other() {
    let sandbox = sandbox_with_pull(&["one"], 5, &sha('c')).await;
    let one = client(&sandbox, "one");
    let mark = sandbox.sandbox().journal().len();
    // Two reads of the pull request's files at once (the pull request itself is read by the
    // test above, which counts its 304s): the second is sent once the first is answered, with
    // its tag, so only the first counts.
    let (a, b) = tokio::join!(
        one.list_pull_files("acme", "app", 5),
        one.list_pull_files("acme", "app", 5)
    );
    assert_eq!(a.expect("read").files.len(), 1);
    assert_eq!(b.expect("read").files.len(), 1);
    assert_eq!(
        answers(&sandbox, mark),
        [(200, true), (304, false)],
        "one after the other, not two full answers"
    );
}
