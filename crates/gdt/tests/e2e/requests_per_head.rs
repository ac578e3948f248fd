//! End to end: what a pushed head costs in requests GitHub counts against the rate limit,
//! read from the sandbox's journal, whose entries say whether each request was
//! counted (a `304 Not Modified` to a conditional request is not), and that a change made
//! between two pushes is still seen: the client's ETag cache only ever answers a `304` GitHub
//! itself gave.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::pr_checks::{create_pull, deliver, move_head, push_payload, result_of, sha};
use crate::support::{Harness, ServerProcess};

const OWNER: &str = "acme";

/// A head where both checks pass: code, VERSION and plugin.json changed, the versions agree.
fn passing_files(n: u8) -> Value {
    json!([
        {"filename": "internal/mcp/tools.go", "status": "modified", "content": format!("package mcp // {n}\n")},
        {"filename": "VERSION", "status": "modified", "content": format!("1.4.{n}\n")},
        {"filename": ".claude-plugin/plugin.json", "status": "modified",
         "content": format!("{{\"name\": \"p\", \"version\": \"1.4.{n}\"}}\n")},
    ])
}

/// Counted and free requests by `METHOD path`, with the totals under `counted` and `free`.
#[derive(Debug, Default)]
struct Cost {
    counted: usize,
    free: usize,
    by_request: BTreeMap<String, (usize, usize)>,
}

impl Cost {
    /// The checks' requests among `entries`: `gdt serve`'s readiness (`GET /app`) and the
    /// worker's installation token (once an hour) are not the head's.
    fn of(entries: &[Value]) -> Cost {
        let mut cost = Cost::default();
        let checks = entries
            .iter()
            .filter(|e| e["path"].as_str().is_some_and(|p| p.starts_with("/repos/")));
        for entry in checks {
            let request = format!(
                "{} {} {}",
                entry["method"].as_str().unwrap_or("?"),
                entry["path"].as_str().unwrap_or("?"),
                entry["status"]
            );
            let slot = cost.by_request.entry(request).or_default();
            if entry["counted"].as_bool().unwrap_or(true) {
                cost.counted += 1;
                slot.0 += 1;
            } else {
                cost.free += 1;
                slot.1 += 1;
            }
        }
        cost
    }

    /// Requests (counted or free) whose `METHOD path status` starts with `prefix`.
    fn requests(&self, prefix: &str) -> usize {
        self.by_request
            .iter()
            .filter(|(request, _)| request.starts_with(prefix))
            .map(|(_, (counted, free))| counted + free)
            .sum()
    }
}

/// Delivers a push of `head` to PR `number` of `repo` and waits for both checks' results.
async fn push_and_wait(
    server: &ServerProcess,
    repo: &str,
    number: u64,
    head: &str,
) -> (Value, Value) {
    let (status, answer) = deliver(
        server,
        "pull_request",
        &format!("{repo}-{head}"),
        push_payload(OWNER, repo, number, head),
    )
    .await;
    assert_eq!(status, reqwest::StatusCode::ACCEPTED, "{answer}");
    let plugin = result_of(&format!("plugin-validation-{OWNER}/{repo}#{number}"));
    let version = result_of(&format!("version-validation-{OWNER}/{repo}#{number}"));
    assert_eq!(plugin["HeadSHA"], head, "{plugin}");
    assert_eq!(version["HeadSHA"], head, "{version}");
    (plugin, version)
}

/// Delivers a push of `head` (see [`push_and_wait`]): both checks' results, and what GitHub
/// was asked meanwhile.
async fn measured_push(
    h: &Harness,
    server: &ServerProcess,
    repo: &str,
    number: u64,
    head: &str,
) -> (Value, Value, Cost) {
    let mark = h.github.journal().await.len();
    let (plugin, version) = push_and_wait(server, repo, number, head).await;
    (plugin, version, Cost::of(&h.github.journal().await[mark..]))
}

/// Moves PR `number` of `repo` to head `n`, where both checks pass ([`passing_files`]).
async fn move_to_passing_head(h: &Harness, repo: &str, number: u64, n: u8) {
    move_head(
        h,
        OWNER,
        repo,
        number,
        json!({"head_sha": sha(n), "files": passing_files(n)}),
    )
    .await;
}

async fn plugin_comments(h: &Harness, repo: &str, number: u64) -> Vec<Value> {
    let comments = h
        .github
        .get(&format!(
            "/repos/{OWNER}/{repo}/issues/{number}/comments?per_page=100"
        ))
        .await;
    comments
        .as_array()
        .expect("comments")
        .iter()
        .filter(|c| {
            c["body"]
                .as_str()
                .is_some_and(|b| b.contains("gdt:check=plugin-update-validation"))
        })
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_push_costs_fewer_counted_requests_and_changes_are_still_seen() {
    let h = Harness::start("pr-cost").await;
    let server = h.serve();
    let (repo, number) = ("cost", 31);
    create_pull(
        &h,
        OWNER,
        repo,
        json!({"number": number, "base_ref": "main", "head_ref": "f",
        "head_sha": sha(1), "files": passing_files(1)}),
    )
    .await;

    // Push 1: a new pull request.
    let (plugin, version, first) = measured_push(&h, &server, repo, number, &sha(1)).await;
    assert_eq!(plugin["CommentPosted"], true, "{plugin}");
    assert_eq!(version["VersionMatches"], true, "{version}");
    eprintln!("first push: {first:#?}");

    // Push 2: a new head of the same pull request, both checks passing again.
    move_to_passing_head(&h, repo, number, 2).await;
    let (_, _, second) = measured_push(&h, &server, repo, number, &sha(2)).await;
    eprintln!("later push: {second:#?}");

    // Both checks read plugin.json at the head; the worker reads it once.
    let manifest = format!("GET /repos/{OWNER}/{repo}/contents/.claude-plugin/plugin.json");
    assert_eq!(first.requests(&manifest), 1, "{first:#?}");
    assert_eq!(second.requests(&manifest), 1, "{second:#?}");
    // A head costs the files, VERSION and plugin.json, the re-read of the pull request by each
    // check, each check's comment lookup and the two check runs; the first also writes the
    // plugin comment. No check run is looked up: Temporal knows each head's is new.
    let check_run_lookups = format!("GET /repos/{OWNER}/{repo}/commits/");
    let comment_edits = format!("PATCH /repos/{OWNER}/{repo}/issues/comments");
    assert_eq!(first.counted + first.free, 10, "{first:#?}");
    assert_eq!(second.counted + second.free, 9, "{second:#?}");
    for cost in [&first, &second] {
        assert_eq!(cost.requests(&check_run_lookups), 0, "{cost:#?}");
        assert_eq!(
            cost.requests(&format!("POST /repos/{OWNER}/{repo}/check-runs 201")),
            2,
            "{cost:#?}"
        );
    }
    // The comment names no commit: the same verdict at a new head writes nothing.
    assert_eq!(second.requests(&comment_edits), 0, "{second:#?}");

    // Push 3, the same verdict again: nothing was written to the comments since the last
    // lookups, so both are free 304s, and what counts is the files, the two files at the head,
    // the pull request's first re-read at the new head (the second is a 304: the worker sends
    // two reads of one URL one after the other) and the two check runs: 6.
    move_to_passing_head(&h, repo, number, 3).await;
    let (_, _, steady) = measured_push(&h, &server, repo, number, &sha(3)).await;
    eprintln!("steady push: {steady:#?}");
    let comments_list = format!("GET /repos/{OWNER}/{repo}/issues/{number}/comments");
    let pull = format!("GET /repos/{OWNER}/{repo}/pulls/{number} ");
    assert_eq!(
        steady.requests(&format!("{comments_list} 304")),
        2,
        "{steady:#?}"
    );
    assert_eq!(steady.requests(&comment_edits), 0, "{steady:#?}");
    assert_eq!(steady.requests(&check_run_lookups), 0, "{steady:#?}");
    assert_eq!(steady.requests(&format!("{pull}200")), 1, "{steady:#?}");
    assert_eq!(steady.requests(&format!("{pull}304")), 1, "{steady:#?}");
    assert_eq!(steady.counted, 6, "{steady:#?}");

    // The same head delivered again (a redelivery, or another action on the same head):
    // nothing changed since the last reads, so the files, both re-reads of the pull request and
    // both comment lookups are free 304s and the files at the head are not read again. Temporal
    // knows the head's check runs were written, so each is looked up (the only counted
    // requests) and, saying what this pass would, left as it is.
    let (plugin, version, again) = measured_push(&h, &server, repo, number, &sha(3)).await;
    eprintln!("same head again: {again:#?}");
    let files = format!("GET /repos/{OWNER}/{repo}/pulls/{number}/files");
    assert_eq!(again.requests(&format!("{files} 304")), 1, "{again:#?}");
    assert_eq!(again.requests(&format!("{pull}304")), 2, "{again:#?}");
    assert_eq!(
        again.requests(&format!("{comments_list} 304")),
        2,
        "{again:#?}"
    );
    assert_eq!(
        again.requests(&format!("GET /repos/{OWNER}/{repo}/contents/")),
        0,
        "{again:#?}"
    );
    let check_runs = format!("GET /repos/{OWNER}/{repo}/commits/{}/check-runs", sha(3));
    assert_eq!(again.requests(&check_runs), 2, "{again:#?}");
    assert_eq!(again.counted, 2, "only the two lookups count: {again:#?}");
    assert_eq!(
        again.requests(&format!("POST /repos/{OWNER}/{repo}/check-runs")),
        0,
        "{again:#?}"
    );
    assert_eq!(
        again.requests(&format!("PATCH /repos/{OWNER}/{repo}/check-runs")),
        0,
        "{again:#?}"
    );
    for result in [&plugin, &version] {
        assert_eq!(result["CheckRunPosted"], false, "{result}");
        assert!(
            result["CheckRunURL"]
                .as_str()
                .is_some_and(|u| !u.is_empty()),
            "{result}"
        );
        assert!(
            result["Errors"].as_array().is_none_or(Vec::is_empty),
            "{result}"
        );
    }
    for name in ["plugin-update-validation", "version-validation"] {
        let runs = h
            .github
            .get(&format!(
                "/repos/{OWNER}/{repo}/commits/{}/check-runs?check_name={name}",
                sha(3)
            ))
            .await;
        assert_eq!(runs["total_count"], 1, "one {name} run on the head: {runs}");
    }

    // A change between pushes is seen, not answered from the cache: the plugin comment is
    // deleted by someone else, so the next push's lookup must find it gone (a 200, not a 304
    // with the old list) and write a new one rather than update the deleted one.
    let comments = plugin_comments(&h, repo, number).await;
    assert_eq!(comments.len(), 1, "{comments:#?}");
    let deleted = reqwest::Client::new()
        .delete(format!(
            "{}/repos/{OWNER}/{repo}/issues/comments/{}",
            h.github.url(),
            comments[0]["id"]
        ))
        .bearer_auth("test-token")
        .send()
        .await
        .expect("delete");
    assert!(deleted.status().is_success(), "{}", deleted.status());
    move_to_passing_head(&h, repo, number, 4).await;
    let (plugin, _, third) = measured_push(&h, &server, repo, number, &sha(4)).await;
    eprintln!("push after a change: {third:#?}");
    assert!(
        plugin["Errors"].as_array().is_none_or(Vec::is_empty),
        "{plugin}"
    );
    assert_eq!(plugin["CommentPosted"], true, "{plugin}");
    let comments = plugin_comments(&h, repo, number).await;
    assert_eq!(comments.len(), 1, "one plugin comment: {comments:#?}");
    assert!(
        comments[0]["body"]
            .as_str()
            .unwrap()
            .contains("Plugin files updated and valid"),
        "{comments:#?}"
    );
    assert_eq!(
        third.requests(&format!(
            "POST /repos/{OWNER}/{repo}/issues/{number}/comments"
        )),
        1,
        "a new comment, not an update of the deleted one: {third:#?}"
    );
    assert_eq!(
        third.requests(&format!("PATCH /repos/{OWNER}/{repo}/issues/comments")),
        0,
        "{third:#?}"
    );
}
