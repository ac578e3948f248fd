//! End to end: `gdt worker` as its own process, a real Temporal dev server and the GitHub
//! sandbox over HTTP. Each test has its own task queue and sandbox.

use std::time::Duration;

use crate::support::{gdt, gdt_json, queue, replay, temporal, wait_until, GitHub, WorkerProcess};
use serde_json::{json, Value};

const SHA: &str = "4f9a1c2e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a39";

/// Starts a deployment with `gdt track start` and returns its workflow id.
fn start(env: &[(String, String)], dir: &std::path::Path, id: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "track",
        "start",
        "--repo",
        "acme/api",
        "--sha",
        SHA,
        "--environment",
        "staging",
        "--workflow-id",
        id,
        "--execution-id",
        "exec-42",
        "--pipeline-id",
        "pipe-7",
    ];
    args.extend_from_slice(extra);
    let started = gdt_json(env, dir, &args);
    assert_eq!(started["workflow_id"], id);
    id.to_owned()
}

fn update(env: &[(String, String)], dir: &std::path::Path, id: &str, args: &[&str]) {
    let mut all = vec!["track", "update", id];
    all.extend_from_slice(args);
    gdt_json(env, dir, &all);
}

fn wait(env: &[(String, String)], dir: &std::path::Path, id: &str) -> Value {
    gdt_json(env, dir, &["track", "wait", id])
}

fn show(env: &[(String, String)], dir: &std::path::Path, id: &str) -> Value {
    gdt_json(env, dir, &["track", "show", id])
}

fn states(statuses: &[Value]) -> Vec<&str> {
    statuses
        .iter()
        .map(|s| s["state"].as_str().unwrap_or("?"))
        .collect()
}

async fn deployments(github: &GitHub, repo: &str) -> Vec<Value> {
    github
        .get(&format!("/repos/{repo}/deployments?per_page=100"))
        .await
        .as_array()
        .cloned()
        .expect("deployments array")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn happy_path_posts_each_update_once_and_costs_n_plus_2_requests() {
    let github = GitHub::start().await;
    let env = github.env(&queue("happy"));
    let dir = github.dir.path();
    let _worker = WorkerProcess::start(&env, dir);

    let id = start(
        &env,
        dir,
        "happy-1",
        &["--status", "queued", "--description", "Queued by CI"],
    );
    update(
        &env,
        dir,
        &id,
        &[
            "--status",
            "RUNNING",
            "--log-url",
            "https://ci.example.com/42",
        ],
    );
    update(
        &env,
        dir,
        &id,
        &[
            "--status",
            "succeeded",
            "--environment-url",
            "https://staging.example.com",
        ],
    );
    let result = wait(&env, dir, &id);

    assert_eq!(result["final_status"], "success");
    assert_eq!(result["status_updates"], 3);
    assert!(result["completed_at"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z')));
    let deployment_id = result["deployment_id"].as_u64().expect("deployment id");

    let all = deployments(&github, "acme/api").await;
    assert_eq!(all.len(), 1, "exactly one GitHub deployment");
    let d = &all[0];
    assert_eq!(d["id"].as_u64(), Some(deployment_id));
    assert_eq!(d["sha"], SHA);
    assert_eq!(d["environment"], "staging");
    assert_eq!(d["production_environment"], false);
    assert_eq!(d["payload"]["workflow_id"], id);
    assert_eq!(d["payload"]["harness_execution_id"], "exec-42");
    assert_eq!(d["payload"]["harness_pipeline_id"], "pipe-7");

    let posted = github.statuses("acme/api", deployment_id).await;
    assert_eq!(states(&posted), ["queued", "in_progress", "success"]);
    assert_eq!(posted[0]["description"], "Queued by CI");
    assert_eq!(posted[1]["log_url"], "https://ci.example.com/42");
    assert_eq!(posted[2]["environment_url"], "https://staging.example.com");

    // Cost: the sandbox journal holds every GitHub request the worker made.
    let journal = github.journal().await;
    let worker_requests: Vec<&Value> = journal
        .iter()
        .filter(|e| {
            e["method"] == "POST"
                || !e["path"]
                    .as_str()
                    .unwrap_or("")
                    .contains("/repos/acme/api/deployments/")
        })
        .filter(|e| e["method"] != "GET")
        .collect();
    let tokens = github.count("POST", "/access_tokens").await;
    let creates = github.count("POST", "/deployments").await;
    let posts = github.count("POST", "/statuses").await;
    println!(
        "GitHub requests for one deployment with 2 updates: {} ({tokens} token, {creates} create, {posts} statuses)",
        worker_requests.len()
    );
    assert_eq!((tokens, creates, posts), (1, 1, 3));
    assert_eq!(
        worker_requests.len(),
        5,
        "N+2 requests plus the token: {journal:#?}"
    );

    // The query and the search attributes.
    let state = show(&env, dir, &id);
    assert_eq!(state["deployment_id"].as_u64(), Some(deployment_id));
    assert_eq!(state["state"], "success");
    assert_eq!(state["terminal"], true);
    let outcomes: Vec<&str> = state["updates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["applied", "applied", "applied"]);
    let mut listed = Value::Null;
    wait_until(
        Duration::from_secs(20),
        "the deployment in `gdt track list`",
        || {
            listed = gdt_json(
                &env,
                dir,
                &["track", "list", "--repo", "acme/api", "--state", "success"],
            );
            listed
                .as_array()
                .is_some_and(|rows| rows.iter().any(|r| r["workflow_id"] == id.as_str()))
        },
    );
    let row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["workflow_id"] == id.as_str())
        .unwrap();
    assert_eq!(row["environment"], "staging");
    assert_eq!(row["commit_sha"], SHA);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_deployment_is_marked_inactive_after_the_inactivity_timeout() {
    let github = GitHub::start().await;
    let env = github.env(&queue("inactive"));
    let dir = github.dir.path();
    let _worker = WorkerProcess::start(&env, dir);

    let id = start(
        &env,
        dir,
        "inactive-1",
        &["--status", "running", "--inactivity-timeout", "2s"],
    );
    let result = wait(&env, dir, &id);
    assert_eq!(result["final_status"], "inactive");
    assert_eq!(result["status_updates"], 2);
    let posted = github
        .statuses("acme/api", result["deployment_id"].as_u64().unwrap())
        .await;
    assert_eq!(states(&posted), ["in_progress", "inactive"]);
    assert_eq!(
        posted[1]["description"],
        "No status update received within 2s; marked inactive"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_5xx_and_rate_limits_are_retried_without_duplicates() {
    let github = GitHub::start().await;
    let env = github.env(&queue("faults"));
    let dir = github.dir.path();
    github
        .fault(json!({"method": "POST", "path": "/repos/*/*/deployments", "kind": "500"}))
        .await;
    github
        .fault(json!({"method": "POST", "path": "/repos/**/statuses", "kind": "502"}))
        .await;
    github.fault(json!({"method": "POST", "path": "/repos/**/statuses", "kind": "primary_rate_limit", "reset_in": 1})).await;
    github.fault(json!({"method": "POST", "path": "/repos/**/statuses", "kind": "secondary_rate_limit", "retry_after": 1})).await;
    let _worker = WorkerProcess::start(&env, dir);

    let id = start(&env, dir, "faults-1", &["--status", "running"]);
    update(&env, dir, &id, &["--status", "success"]);
    let result = wait(&env, dir, &id);
    assert_eq!(result["final_status"], "success");
    assert_eq!(result["status_updates"], 2);

    assert_eq!(deployments(&github, "acme/api").await.len(), 1);
    assert_eq!(
        github.states("acme/api", &result["deployment_id"]).await,
        ["in_progress", "success"],
        "each status exactly once"
    );
    let faulted: Vec<String> = github
        .journal()
        .await
        .iter()
        .filter_map(|e| e["fault"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        faulted,
        ["500", "502", "primary_rate_limit", "secondary_rate_limit"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_that_github_applied_before_failing_is_not_repeated() {
    let github = GitHub::start().await;
    let env = github.env(&queue("applied"));
    let dir = github.dir.path();
    github
        .fault(
            json!({"method": "POST", "path": "/repos/*/*/deployments", "kind": "502_after_apply"}),
        )
        .await;
    let _worker = WorkerProcess::start(&env, dir);

    // An abbreviated SHA, as pipelines often send: the retry must still recognise it.
    let started = gdt_json(
        &env,
        dir,
        &[
            "track",
            "start",
            "--repo",
            "acme/api",
            "--sha",
            "4f9a1c2",
            "--environment",
            "staging",
            "--workflow-id",
            "applied-1",
            "--status",
            "running",
        ],
    );
    let id = started["workflow_id"].as_str().unwrap().to_owned();
    update(&env, dir, &id, &["--status", "success"]);
    let result = wait(&env, dir, &id);
    assert_eq!(result["final_status"], "success");

    // The retry looked before creating (one list by ref), and did not create again. (The
    // other list of the environment's deployments is the lane's look-up for the success
    // before this one, on the first success it sees: the lane makes it after the deployment
    // told it that it ended, so it may come after the result.)
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let lists: Vec<String> = loop {
        let lists: Vec<String> = github
            .journal()
            .await
            .iter()
            .filter(|e| e["method"] == "GET" && e["path"] == "/repos/acme/api/deployments")
            .map(|e| e["query"].as_str().unwrap_or("").to_owned())
            .collect();
        if lists.len() >= 2 || std::time::Instant::now() >= deadline {
            break lists;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        lists.iter().filter(|q| q.contains("ref=4f9a1c2")).count(),
        1,
        "{lists:?}"
    );
    assert_eq!(lists.len(), 2, "{lists:?}");
    let all = deployments(&github, "acme/api").await;
    assert_eq!(
        all.len(),
        1,
        "the retried create found the first deployment: {all:#?}"
    );
    assert_eq!(all[0]["id"], result["deployment_id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_asks_for_the_revision_every_worker_runs_and_starts_in_one_activity() {
    use temporalio_client::{WorkflowDescribeOptions, WorkflowFetchHistoryOptions};

    let github = GitHub::start().await;
    let queue = queue("revision");
    let env = github.env(&queue);
    let dir = github.dir.path();
    let _worker = WorkerProcess::start(&env, dir);
    // The worker tells Temporal which revision it runs.
    let mark = format!(
        "gdt-workflow-revision={}",
        gdt_tracker::deployments::workflow::REVISION
    );
    wait_until(
        Duration::from_secs(30),
        "the worker polling with its revision",
        || {
            let out = temporal(&["task-queue", "describe", "--task-queue", &queue]);
            String::from_utf8_lossy(&out.stdout).contains(&mark)
        },
    );

    let id = start(&env, dir, "revision-1", &["--status", "running"]);
    update(&env, dir, &id, &["--status", "success"]);
    assert_eq!(wait(&env, dir, &id)["final_status"], "success");

    let handle = crate::support::client()
        .await
        .get_workflow_handle::<gdt_tracker::deployments::GitHubDeploymentWorkflow>(id.clone());
    let described = handle
        .describe(WorkflowDescribeOptions::default())
        .await
        .expect("describe");
    let revision: Option<u32> = described
        .memo()
        .get(gdt_tracker::deployments::workflow::REVISION_MEMO_KEY)
        .expect("memo");
    assert_eq!(revision, Some(gdt_tracker::deployments::workflow::REVISION));
    let json = handle
        .fetch_history(WorkflowFetchHistoryOptions::default())
        .to_json()
        .await
        .expect("history");
    let history: Value = serde_json::from_slice(&json).expect("history json");
    let events = history["events"].as_array().expect("events");
    let attributes = |kind: &str| -> Vec<&Value> {
        events
            .iter()
            .filter_map(|e| e["attributes"].get(kind))
            .collect()
    };
    let activities: Vec<&str> = attributes("ActivityTaskScheduledEventAttributes")
        .iter()
        .map(|a| a["activity_type"]["name"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(
        activities,
        ["StartGitHubDeployment", "UpdateGitHubDeploymentStatus"],
        "create, join and the initial status in one activity, then the update"
    );
    // No patch was asked: the memo said which revision (a patch costs two events).
    let markers: Vec<&str> = attributes("MarkerRecordedEventAttributes")
        .iter()
        .map(|a| a["marker_name"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(markers, ["core_local_activity"], "only leaving the lane");
    replay(&id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_initial_status_that_github_applied_before_failing_is_not_repeated() {
    // The deployment starts in one activity (create, join the lane, initial status): when
    // GitHub takes the initial status but answers 502, the whole start is retried, and the
    // retry must find both the deployment and the status instead of making them again.
    let github = GitHub::start().await;
    let env = github.env(&queue("initial-applied"));
    let dir = github.dir.path();
    github
        .fault(
            json!({"method": "POST", "path": "/repos/*/*/deployments/*/statuses",
                      "kind": "502_after_apply"}),
        )
        .await;
    let _worker = WorkerProcess::start(&env, dir);
    let id = start(&env, dir, "initial-applied-1", &["--status", "running"]);
    update(&env, dir, &id, &["--status", "success"]);
    let result = wait(&env, dir, &id);
    assert_eq!(result["final_status"], "success", "{result}");
    assert_eq!(result["status_updates"], 2, "{result}");

    let all = deployments(&github, "acme/api").await;
    assert_eq!(all.len(), 1, "one deployment: {all:#?}");
    let statuses = github
        .get(&format!(
            "/repos/acme/api/deployments/{}/statuses",
            all[0]["id"]
        ))
        .await;
    let states: Vec<&str> = statuses
        .as_array()
        .expect("statuses")
        .iter()
        .rev()
        .map(|s| s["state"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(states, ["in_progress", "success"], "{statuses:#}");
    let journal = github.journal().await;
    let posts = |path_end: &str| {
        journal
            .iter()
            .filter(|e| {
                e["method"] == "POST"
                    && e["path"]
                        .as_str()
                        .is_some_and(|p| p.starts_with("/repos/acme/api/") && p.ends_with(path_end))
            })
            .count()
    };
    assert_eq!(posts("/deployments"), 1, "created once");
    assert_eq!(posts("/statuses"), 2, "each status posted once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_deployment_loses_nothing_and_duplicates_nothing() {
    let github = GitHub::start().await;
    let env = github.env(&queue("kill"));
    let dir = github.dir.path();
    let mut worker = WorkerProcess::start(&env, dir);

    let id = start(&env, dir, "kill-1", &["--status", "queued"]);
    wait_until(
        Duration::from_secs(30),
        "the deployment to be created",
        || {
            show(&env, dir, &id)["updates"]
                .as_array()
                .is_some_and(|u| !u.is_empty())
        },
    );
    worker.kill();

    // The pipeline keeps reporting while no worker runs.
    update(&env, dir, &id, &["--status", "running", "--event-id", "e1"]);
    update(&env, dir, &id, &["--status", "success", "--event-id", "e2"]);
    let _restarted = WorkerProcess::start(&env, dir);
    let result = wait(&env, dir, &id);

    assert_eq!(result["final_status"], "success");
    assert_eq!(result["status_updates"], 3);
    assert_eq!(deployments(&github, "acme/api").await.len(), 1);
    assert_eq!(
        github.states("acme/api", &result["deployment_id"]).await,
        ["queued", "in_progress", "success"]
    );
    // The history written across the crash replays cleanly against the workflow code.
    replay(&id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_whose_event_id_was_seen_is_applied_once() {
    let github = GitHub::start().await;
    let env = github.env(&queue("dedupe"));
    let dir = github.dir.path();
    let _worker = WorkerProcess::start(&env, dir);

    let id = start(&env, dir, "dedupe-1", &["--status", "queued"]);
    update(
        &env,
        dir,
        &id,
        &["--status", "running", "--event-id", "evt-1"],
    );
    update(
        &env,
        dir,
        &id,
        &["--status", "running", "--event-id", "evt-1"],
    );
    update(
        &env,
        dir,
        &id,
        &["--status", "success", "--event-id", "evt-2"],
    );
    let result = wait(&env, dir, &id);
    assert_eq!(result["status_updates"], 3);
    assert_eq!(
        github.states("acme/api", &result["deployment_id"]).await,
        ["queued", "in_progress", "success"]
    );
    let state = show(&env, dir, &id);
    let duplicates: Vec<&Value> = state["updates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["outcome"] == "duplicate_event")
        .collect();
    assert_eq!(duplicates.len(), 1);
    assert_eq!(duplicates[0]["event_id"], "evt-1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_input_fails_with_a_clear_message_and_touches_nothing() {
    let github = GitHub::start().await;
    let q = queue("invalid");
    let env = github.env(&q);
    let dir = github.dir.path();
    let _worker = WorkerProcess::start(&env, dir);

    // The CLI refuses a status word nobody maps before starting anything.
    let out = gdt(
        &env,
        dir,
        &[
            "track",
            "start",
            "--repo",
            "acme/api",
            "--sha",
            SHA,
            "--environment",
            "prod",
            "--status",
            "sucess",
        ],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("unknown deployment status \"sucess\""),
        "{stderr}"
    );
    let out = gdt(
        &env,
        dir,
        &[
            "track",
            "start",
            "--repo",
            "acme",
            "--sha",
            SHA,
            "--environment",
            "prod",
        ],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("use owner/name"));

    // A workflow started by hand with missing fields fails, naming them.
    let started = temporal(&[
        "workflow",
        "start",
        "--type",
        "GitHubDeploymentWorkflow",
        "--task-queue",
        &q,
        "--workflow-id",
        "invalid-1",
        "--input",
        r#"{"repo_name":"api","status":"running"}"#,
    ]);
    assert!(
        started.status.success(),
        "{}",
        String::from_utf8_lossy(&started.stderr)
    );
    let result = temporal(&["workflow", "result", "--workflow-id", "invalid-1"]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr)
    );
    assert!(
        text.contains("missing required field(s) repo_owner, commit_sha, environment"),
        "{text}"
    );
    // Wrong types too.
    temporal(&[
        "workflow",
        "start",
        "--type",
        "GitHubDeploymentWorkflow",
        "--task-queue",
        &q,
        "--workflow-id",
        "invalid-2",
        "--input",
        r#"{"repo_owner":"acme","repo_name":"api","commit_sha":"abc1234","environment":"x","is_transient":"yes"}"#,
    ]);
    let result = temporal(&["workflow", "result", "--workflow-id", "invalid-2"]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr)
    );
    assert!(
        text.contains("invalid deployment input") && text.contains("is_transient")
            || text.contains("invalid type"),
        "{text}"
    );

    // A GitHub 422 (unknown ref) fails the workflow with GitHub's message, not retried.
    let bad_ref = gdt(
        &env,
        dir,
        &[
            "track",
            "start",
            "--repo",
            "acme/api",
            "--sha",
            "not-a-ref",
            "--environment",
            "prod",
            "--workflow-id",
            "invalid-4",
        ],
    );
    // The start already says so: the workflow ended before the deployment existed.
    assert!(!bad_ref.status.success());
    let stderr = String::from_utf8_lossy(&bad_ref.stderr);
    assert!(stderr.contains("No ref found for: not-a-ref"), "{stderr}");
    let out = gdt(&env, dir, &["track", "wait", "invalid-4"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("No ref found for: not-a-ref"), "{stderr}");
    assert_eq!(
        github
            .journal()
            .await
            .iter()
            .filter(|e| e["path"] == "/repos/acme/api/deployments" && e["status"] == 422)
            .count(),
        1,
        "a validation error is not retried"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_contract_holds_through_the_temporal_cli() {
    let github = GitHub::start().await;
    let q = queue("contract");
    let env = github.env(&q);
    let dir = github.dir.path();
    let _worker = WorkerProcess::start(&env, dir);

    // A DeploymentWorkflowInput as a pipeline sends it, every documented field set.
    let input = json!({
        "repo_owner": "acme", "repo_name": "web", "commit_sha": SHA, "branch_name": "main",
        "environment": "production", "is_transient": false,
        "harness_pipeline_id": "pipeline-1", "harness_execution_id": "exec-1",
        "status": "running", "log_url": "https://harness.example.com/exec-1",
        "environment_url": "https://www.example.com", "description": "Deploying main"
    })
    .to_string();
    let out = temporal(&[
        "workflow",
        "start",
        "--type",
        "GitHubDeploymentWorkflow",
        "--task-queue",
        &q,
        "--workflow-id",
        "contract-1",
        "--input",
        &input,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = temporal(&[
        "workflow",
        "signal",
        "--workflow-id",
        "contract-1",
        "--name",
        "deployment-status-update",
        "--input",
        r#"{"status":"succeeded","description":"Deployed","updated_at":"2026-11-22T10:00:00Z"}"#,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = temporal(&[
        "workflow",
        "result",
        "--workflow-id",
        "contract-1",
        "--output",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("\"final_status\": \"success\"")
            || text.contains("\"final_status\":\"success\""),
        "{text}"
    );

    let out = temporal(&[
        "workflow",
        "query",
        "--workflow-id",
        "contract-1",
        "--name",
        "deployment-state",
        "--output",
        "json",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Deployed"), "{text}");

    let all = deployments(&github, "acme/web").await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["production_environment"], true);
    assert_eq!(all[0]["payload"]["harness_execution_id"], "exec-1");
    let posted = github.statuses("acme/web", &all[0]["id"]).await;
    assert_eq!(states(&posted), ["in_progress", "success"]);
    assert_eq!(posted[0]["log_url"], "https://harness.example.com/exec-1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_github_commands_work_without_temporal() {
    let github = GitHub::start().await;
    let env = github.env("unused");
    let dir = github.dir.path();

    let token = gdt_json(&env, dir, &["auth", "token"]);
    assert!(token["token"]
        .as_str()
        .is_some_and(|t| t.starts_with("ghs_")));
    assert!(token["expires_at"].as_str().is_some());

    let steps = gdt_json(
        &env,
        dir,
        &[
            "deployment",
            "simulate",
            "--repo",
            "acme/sim",
            "--ref",
            "main",
            "--environment",
            "qa",
        ],
    );
    let names: Vec<&str> = steps
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["auth", "create", "in_progress", "success"]);
    let all = deployments(&github, "acme/sim").await;
    assert_eq!(all.len(), 1);
    assert_eq!(
        github.states("acme/sim", &all[0]["id"]).await,
        ["in_progress", "success"]
    );

    let created = gdt_json(
        &env,
        dir,
        &[
            "deployment",
            "create",
            "--repo",
            "acme/sim",
            "--ref",
            "develop",
            "--environment",
            "qa",
        ],
    );
    let id = created["id"].as_u64().unwrap().to_string();
    let status = gdt_json(
        &env,
        dir,
        &[
            "deployment",
            "status",
            "--repo",
            "acme/sim",
            "--id",
            &id,
            "--state",
            "failed",
        ],
    );
    assert_eq!(status["state"], "failure");

    // Config check shows the key path, never the key.
    let out = gdt(&env, dir, &["config", "check"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("github-app.pem"));
    assert!(!text.contains("PRIVATE KEY"), "{text}");
}
