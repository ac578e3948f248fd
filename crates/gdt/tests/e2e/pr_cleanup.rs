//! End to end: a pull request closes and its preview deployments are cleaned up. Three
//! previews (two in `pr-7`, one of them still tracked by a running gdt workflow, and one of
//! the head branch in a transient environment) each get exactly one `inactive`, are deleted,
//! and `pr-7` with them; the writes are paced under a secondary rate limit the sandbox
//! enforces; the delivery reaching two servers at once starts one clean-up, and a redelivery
//! writes nothing.

use std::time::Duration;

use gdt_tracker::deployments::GitHubDeploymentWorkflow;
use gdt_tracker::pr_cleanup::{PullRequestCleanupResult, PullRequestCleanupWorkflow};
use reqwest::StatusCode;
use serde_json::{json, Value};
use temporalio_client::WorkflowGetResultOptions;

use crate::pr_checks::{deliver, fixture};
use crate::support::{client, gdt_json, queue, replay, GitHub, ServerProcess, WorkerProcess};

const OWNER: &str = "acme";
const NAME: &str = "previews";
const REPO: &str = "acme/previews";
const HEAD_SHA: &str = "7e1c0a9b5d3f2e4c6a8b0d1f3e5c7a9b1d3f5e7c";
const TRACKER: &str = "preview-acme-previews-7";
/// The clean-up's pause between writes.
const INTERVAL: Duration = Duration::from_millis(400);

/// The `closed` fixture moved to PR #7 of acme/previews, head `feature-x`, merged.
fn closed_payload() -> Vec<u8> {
    let mut payload: Value = serde_json::from_slice(&fixture("pull_request.closed")).unwrap();
    payload["number"] = json!(7);
    payload["pull_request"]["number"] = json!(7);
    payload["pull_request"]["merged"] = json!(true);
    payload["pull_request"]["head"]["ref"] = json!("feature-x");
    payload["pull_request"]["head"]["sha"] = json!(HEAD_SHA);
    payload["repository"]["name"] = json!(NAME);
    payload["repository"]["owner"]["login"] = json!(OWNER);
    serde_json::to_vec(&payload).unwrap()
}

/// A deployment that no gdt workflow tracks (`gdt deployment`, GitHub without Temporal), and
/// its `success`.
fn untracked(env: &[(String, String)], dir: &std::path::Path, extra: &[&str]) -> u64 {
    let mut args = vec!["deployment", "create", "--repo", REPO, "--ref", "feature-x"];
    args.extend_from_slice(extra);
    let id = gdt_json(env, dir, &args)["id"]
        .as_u64()
        .expect("deployment id");
    let id_text = id.to_string();
    let status = [
        "deployment",
        "status",
        "--repo",
        REPO,
        "--id",
        &id_text,
        "--state",
        "success",
    ];
    gdt_json(env, dir, &status);
    id
}

async fn control(http: &reqwest::Client, github: &GitHub, path: &str, body: Value) {
    let answer = http
        .put(format!("{}/_sandbox/{path}", github.url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{path}: {}", answer.status());
}

/// The clean-up's result, once it has finished.
async fn cleanup_result(workflow_id: &str) -> PullRequestCleanupResult {
    let handle = client()
        .await
        .get_workflow_handle::<PullRequestCleanupWorkflow>(workflow_id.to_owned());
    tokio::time::timeout(
        Duration::from_secs(90),
        handle.get_result(WorkflowGetResultOptions::default()),
    )
    .await
    .expect("the clean-up finishes")
    .expect("the clean-up's result")
}

fn is_write(entry: &Value) -> bool {
    ["POST", "PATCH", "PUT", "DELETE"].contains(&entry["method"].as_str().unwrap_or_default())
}

fn millis(entry: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(entry["time"].as_str().unwrap())
        .unwrap()
        .timestamp_millis()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_pull_request_ends_each_preview_once_paced_and_deletes_them() {
    let github = GitHub::start().await;
    let mut env = github.env(&queue("pr-cleanup"));
    for (key, value) in [
        ("GDT_PR_CLEANUP_DELETE_DEPLOYMENTS", "true"),
        ("GDT_PR_CLEANUP_DELETE_ENVIRONMENTS", "true"),
        ("GDT_PR_CLEANUP_WRITE_INTERVAL", "400ms"),
    ] {
        env.push((key.into(), value.into()));
    }
    let dir = tempfile::tempdir().unwrap();
    let worker = WorkerProcess::start(&env, dir.path());
    let server = ServerProcess::start(&env, dir.path());
    let other_server = ServerProcess::start(&env, dir.path());
    let http = reqwest::Client::new();
    let answer = http
        .post(format!("{}/_sandbox/repos/{REPO}/pulls", github.url()))
        .json(
            &json!({"number": 7, "base_ref": "main", "head_ref": "feature-x",
                      "head_sha": HEAD_SHA, "files": []}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::CREATED);

    // A: gdt's, in pr-7, still running. B: someone else's, in pr-7. C: the head branch in a
    // transient environment. D: the head branch in a lasting one, which must be left alone.
    let started = gdt_json(
        &env,
        dir.path(),
        &[
            "track",
            "start",
            "--repo",
            REPO,
            "--sha",
            HEAD_SHA,
            "--environment",
            "pr-7",
            "--transient",
            "--status",
            "running",
            "--workflow-id",
            TRACKER,
        ],
    );
    let a = started["deployment_id"].as_u64().expect("deployment id");
    let b = untracked(&env, dir.path(), &["--environment", "pr-7", "--transient"]);
    let c = untracked(
        &env,
        dir.path(),
        &["--environment", "review-feature-x", "--transient"],
    );
    let d = untracked(&env, dir.path(), &["--environment", "staging"]);
    for _ in 0..100 {
        if github
            .states(REPO, a)
            .await
            .contains(&"in_progress".to_owned())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        github.states(REPO, a).await,
        ["in_progress"],
        "{}",
        worker.logs()
    );

    // GitHub's secondary limit, scaled: 4 writes per caller per second. The clean-up's own
    // writes, 400 ms apart, make at most 3 in any second; the tracker's one final status is
    // the fourth.
    control(
        &http,
        &github,
        "limits",
        json!({"content_writes": 4, "window_ms": 1000}),
    )
    .await;
    // Statuses are recorded as webhook deliveries (to a port nobody listens on).
    control(
        &http,
        &github,
        "webhook",
        json!({"url": "http://127.0.0.1:9/", "secret": "s"}),
    )
    .await;
    let since = github.journal().await.len();

    // The same delivery reaches two API servers at once: one clean-up.
    let ((status, body), (other_status, other)) = tokio::join!(
        deliver(&server, "pull_request", "closed-7", closed_payload()),
        deliver(&other_server, "pull_request", "closed-7", closed_payload()),
    );
    assert_eq!(status, StatusCode::ACCEPTED, "{body}\n{}", server.logs());
    assert_eq!(other_status, StatusCode::ACCEPTED, "{other}");
    assert_eq!(other["cleanup"], body["cleanup"], "one workflow, one run");
    let cleanup_id = body["cleanup"]["workflow_id"]
        .as_str()
        .expect("workflow id");
    assert_eq!(cleanup_id, "pr-cleanup-acme/previews#7");
    let result = cleanup_result(cleanup_id).await;
    let logs = worker.logs();
    assert!(result.leftovers.is_empty(), "{result:?}\n{logs}");
    assert_eq!(result.matched, 3, "{result:?}");
    assert_eq!(
        (result.inactivated, result.inactivated_by_tracker),
        (2, 1),
        "B and C by the clean-up, A by its tracker: {result:?}"
    );
    assert_eq!(
        (result.deployments_deleted, result.environments_deleted),
        (3, 1),
        "{result:?}"
    );

    // Each preview got exactly one status since, `inactive`, naming the pull request.
    let deliveries = github.get("/_sandbox/deliveries").await;
    let deliveries = deliveries.as_array().expect("deliveries");
    for id in [a, b, c] {
        let statuses: Vec<&Value> = deliveries
            .iter()
            .filter(|d| d["event"] == "deployment_status" && d["payload"]["deployment"]["id"] == id)
            .map(|d| &d["payload"]["deployment_status"])
            .collect();
        assert_eq!(statuses.len(), 1, "deployment {id}: {statuses:?}");
        assert_eq!(statuses[0]["state"], "inactive", "deployment {id}");
        assert_eq!(statuses[0]["description"], "Pull request #7 closed");
    }
    // The tracker posted A's and ended.
    let tracker = client()
        .await
        .get_workflow_handle::<GitHubDeploymentWorkflow>(TRACKER.to_owned())
        .get_result(WorkflowGetResultOptions::default())
        .await
        .expect("the tracker completed");
    assert_eq!(tracker.final_status, "inactive");

    // What reached GitHub: every write paced, none refused, D untouched, deleted once each.
    let journal: Vec<Value> = github.journal().await.split_off(since);
    let tracker_post = format!("/repos/{REPO}/deployments/{a}/statuses");
    let writes: Vec<&Value> = journal
        .iter()
        .filter(|e| is_write(e) && e["path"] != tracker_post.as_str())
        .collect();
    let paths: Vec<String> = writes
        .iter()
        .map(|e| format!("{} {} {}", e["method"], e["path"], e["status"]))
        .collect();
    assert_eq!(
        writes.len(),
        6,
        "2 inactive, 3 deletes, 1 environment: {paths:#?}"
    );
    for pair in writes.windows(2) {
        let gap = millis(pair[1]) - millis(pair[0]);
        assert!(
            gap >= INTERVAL.as_millis() as i64 - 5,
            "writes {gap} ms apart: {paths:#?}"
        );
    }
    assert!(
        journal
            .iter()
            .all(|e| e["status"] != 403 && e["status"] != 429),
        "refused: {journal:#?}"
    );
    for id in [a, b, c] {
        let deletes = writes
            .iter()
            .filter(|e| {
                e["method"] == "DELETE"
                    && e["path"] == format!("/repos/{REPO}/deployments/{id}").as_str()
            })
            .count();
        assert_eq!(deletes, 1, "deployment {id}: {paths:#?}");
        let gone = github.get(&format!("/repos/{REPO}/deployments/{id}")).await;
        assert_eq!(gone["message"], "Not Found", "{gone}");
    }
    assert!(journal.iter().all(|e| !e["path"]
        .as_str()
        .unwrap()
        .contains(&format!("/deployments/{d}"))));
    assert_eq!(github.states(REPO, d).await, ["success"]);
    // pr-7 is deleted; the environments matched by the branch alone, or not at all, stay.
    let pr7 = github
        .get(&format!("/repos/{REPO}/environments/pr-7"))
        .await;
    assert_eq!(pr7["message"], "Not Found", "{pr7}");
    for kept in ["review-feature-x", "staging"] {
        let environment = github
            .get(&format!("/repos/{REPO}/environments/{kept}"))
            .await;
        assert_eq!(environment["name"], kept, "{environment}");
    }

    // The same delivery again: a new run finds nothing to end and writes nothing.
    let since = github.journal().await.len();
    let (status, again) = deliver(&server, "pull_request", "closed-7", closed_payload()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{again}");
    assert_eq!(again["cleanup"]["workflow_id"], cleanup_id);
    assert_ne!(again["cleanup"]["run_id"], body["cleanup"]["run_id"]);
    let second = cleanup_result(cleanup_id).await;
    assert_eq!(second, PullRequestCleanupResult::default(), "{second:?}");
    let journal = github.journal().await.split_off(since);
    assert!(!journal.iter().any(is_write), "{journal:#?}");

    replay(cleanup_id).await;
    replay(TRACKER).await;
}
