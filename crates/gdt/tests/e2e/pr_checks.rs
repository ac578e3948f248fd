//! End to end: GitHub's real webhook payloads (fixtures/github-webhooks), signed by the test,
//! into `gdt serve`; the PR checks run by `gdt worker` against the sandbox over HTTP, on a
//! real Temporal dev server.

use std::time::Duration;

use crate::support::{
    temporal, temporal_cli, Harness, PrivateTemporal, ServerProcess, WEBHOOK_SECRET,
};
use reqwest::StatusCode;
use serde_json::{json, Value};

pub(crate) fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../../fixtures/github-webhooks/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub(crate) fn sign(body: &[u8]) -> String {
    gdt_server::webhook::signature::sign(WEBHOOK_SECRET, body)
}

/// Delivers `body` as event `event`, signed with `signature`.
async fn deliver_signed(
    server: &ServerProcess,
    event: &str,
    delivery: &str,
    body: Vec<u8>,
    signature: Option<String>,
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}/webhook", server.api))
        .header("content-type", "application/json")
        .header("x-github-event", event)
        .header("x-github-delivery", delivery);
    if let Some(signature) = signature {
        request = request.header("x-hub-signature-256", signature);
    }
    let response = request.body(body).send().await.expect("deliver");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub(crate) async fn deliver(
    server: &ServerProcess,
    event: &str,
    delivery: &str,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let signature = sign(&body);
    deliver_signed(server, event, delivery, body, Some(signature)).await
}

/// Delivers a push of `head_sha` to PR `owner/repo#number`, signed, and expects `202`.
async fn push(
    server: &ServerProcess,
    delivery: &str,
    owner: &str,
    repo: &str,
    number: u64,
    head_sha: &str,
) -> Value {
    let (status, answer) = deliver(
        server,
        "pull_request",
        delivery,
        push_payload(owner, repo, number, head_sha),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    answer
}

/// The `synchronize` fixture moved to another PR and head.
pub(crate) fn push_payload(owner: &str, repo: &str, number: u64, head_sha: &str) -> Vec<u8> {
    let mut payload: Value = serde_json::from_slice(&fixture("pull_request.synchronize")).unwrap();
    payload["number"] = json!(number);
    payload["pull_request"]["number"] = json!(number);
    payload["pull_request"]["head"]["sha"] = json!(head_sha);
    payload["repository"]["name"] = json!(repo);
    payload["repository"]["owner"]["login"] = json!(owner);
    serde_json::to_vec(&payload).unwrap()
}

fn describe(namespace: &str, address: &str, workflow_id: &str) -> Option<Value> {
    let out = std::process::Command::new(temporal_cli())
        .args([
            "workflow",
            "describe",
            "--namespace",
            namespace,
            "--address",
            address,
            "--workflow-id",
            workflow_id,
            "--output",
            "json",
        ])
        .output()
        .expect("temporal");
    out.status
        .success()
        .then(|| serde_json::from_slice(&out.stdout).expect("describe json"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_accepted_action_starts_both_checks_and_the_rest_start_nothing() {
    // One namespace per case on a private server: the real payloads all name PR #2 of
    // Codertocat/Hello-World at one head, so each action needs a clean slate.
    let actions = ["opened", "synchronize", "reopened"];
    let temporal =
        PrivateTemporal::start_with_namespaces(&["opened", "synchronize", "reopened", "ignored"]);
    let h = Harness::start_on("pr-actions", &temporal.address).await;
    for action in actions {
        let mut env = h.env.clone();
        env.push(("GDT_TEMPORAL_NAMESPACE".into(), action.into()));
        let server = ServerProcess::start(&env, h.dir.path());
        let (status, body) = deliver(
            &server,
            "pull_request",
            &format!("delivery-{action}"),
            fixture(&format!("pull_request.{action}")),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::ACCEPTED,
            "{action}: {body}\n{}",
            server.logs()
        );
        let checks = body["checks"].as_array().expect("checks");
        let ids: Vec<&str> = checks
            .iter()
            .map(|c| c["workflow_id"].as_str().unwrap())
            .collect();
        assert_eq!(
            ids,
            [
                "plugin-validation-Codertocat/Hello-World#2",
                "version-validation-Codertocat/Hello-World#2"
            ],
            "{body}"
        );
        assert!(checks.iter().all(|c| c["outcome"] == "checking"), "{body}");
        for (id, kind) in [
            (
                "plugin-validation-Codertocat/Hello-World#2",
                "PluginUpdateValidationWorkflow",
            ),
            (
                "version-validation-Codertocat/Hello-World#2",
                "VersionValidationWorkflow",
            ),
        ] {
            let described = describe(action, &temporal.address, id)
                .unwrap_or_else(|| panic!("{id} not started"));
            let text = described.to_string();
            assert!(text.contains(kind), "{text}");
            assert!(text.contains("pr-actions"), "task queue: {text}");
        }
        // A redelivery reaches the same checks (running ones look at the PR again).
        let (status, again) = deliver(
            &server,
            "pull_request",
            &format!("delivery-{action}"),
            fixture(&format!("pull_request.{action}")),
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{again}");
        for (first, second) in checks.iter().zip(again["checks"].as_array().unwrap()) {
            assert_eq!(second["outcome"], "checking", "{again}");
            assert_eq!(second["workflow_id"], first["workflow_id"], "{again}");
        }
    }

    // Ignored actions and events, and ping: answered, nothing started.
    let mut env = h.env.clone();
    env.push(("GDT_TEMPORAL_NAMESPACE".into(), "ignored".into()));
    // Deployment events start watchers unless watching others' deployments is off (see
    // external.rs); off, they are ignored like any other event.
    env.push(("GDT_EXTERNAL_ENABLED".into(), "false".into()));
    let server = ServerProcess::start(&env, h.dir.path());
    for (event, file, expected) in [
        ("pull_request", "pull_request.labeled", StatusCode::ACCEPTED),
        ("deployment", "deployment", StatusCode::ACCEPTED),
        (
            "deployment_status",
            "deployment_status",
            StatusCode::ACCEPTED,
        ),
        ("ping", "ping", StatusCode::OK),
    ] {
        let (status, body) = deliver(&server, event, "d-ignored", fixture(file)).await;
        assert_eq!(status, expected, "{file}: {body}");
        if expected == StatusCode::ACCEPTED {
            assert!(body["ignored"].is_string(), "{file}: {body}");
        }
    }
    // A closed pull request starts no check: it starts the clean-up of its previews.
    let (status, body) = deliver(
        &server,
        "pull_request",
        "d-closed",
        fixture("pull_request.closed"),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(
        body["cleanup"]["workflow_id"], "pr-cleanup-Codertocat/Hello-World#2",
        "{body}"
    );
    let listed = std::process::Command::new(temporal_cli())
        .args([
            "workflow",
            "list",
            "--namespace",
            "ignored",
            "--address",
            &temporal.address,
            "--output",
            "json",
        ])
        .output()
        .expect("temporal");
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        !listed.contains("validation"),
        "something started: {listed}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_signatures_and_bodies_get_their_codes() {
    let h = Harness::start("pr-refusals").await;
    let mut env = h.env.clone();
    env.push(("GDT_WEBHOOK_MAX_BODY_BYTES".into(), "65536".into()));
    let server = ServerProcess::start(&env, h.dir.path());
    let body = push_payload("acme", "refusals", 901, &"a".repeat(40));

    let (status, problem) = deliver_signed(&server, "pull_request", "d1", body.clone(), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{problem}");
    let wrong = gdt_server::webhook::signature::sign("not-the-secret", &body);
    let (status, problem) =
        deliver_signed(&server, "pull_request", "d2", body.clone(), Some(wrong)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{problem}");
    assert!(!problem.to_string().contains(WEBHOOK_SECRET));
    let mut tampered = body.clone();
    tampered[10] ^= 1;
    let (status, _) =
        deliver_signed(&server, "pull_request", "d3", tampered, Some(sign(&body))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, problem) = deliver(&server, "pull_request", "d4", b"{\"action\": ".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    let (status, problem) = deliver(
        &server,
        "pull_request",
        "d5",
        br#"{"action":"opened"}"#.to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    let mut big = body.clone();
    big.extend(std::iter::repeat_n(b' ', 70_000));
    let (status, _) = deliver(&server, "pull_request", "d6", big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);

    // GitHub's form encoding: the JSON in `payload=`, signed as sent.
    let ping = fixture("ping");
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", std::str::from_utf8(&ping).unwrap())
        .finish()
        .into_bytes();
    let response = reqwest::Client::new()
        .post(format!("{}/webhook", server.api))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-github-event", "ping")
        .header("x-hub-signature-256", sign(&form))
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // None of the refused deliveries started anything.
    let out = temporal(&[
        "workflow",
        "describe",
        "--workflow-id",
        "plugin-validation-acme/refusals#901",
    ]);
    assert!(!out.status.success(), "a refused delivery started a check");
}

/// Seeds a PR in the sandbox.
pub(crate) async fn create_pull(h: &Harness, owner: &str, repo: &str, body: Value) {
    let response = reqwest::Client::new()
        .post(format!(
            "{}/_sandbox/repos/{owner}/{repo}/pulls",
            h.github.url()
        ))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "create pull request: {}",
        response.text().await.unwrap()
    );
}

pub(crate) async fn move_head(h: &Harness, owner: &str, repo: &str, number: u64, body: Value) {
    let response = reqwest::Client::new()
        .patch(format!(
            "{}/_sandbox/repos/{owner}/{repo}/pulls/{number}",
            h.github.url()
        ))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "move: {}",
        response.text().await.unwrap()
    );
}

/// Waits for a workflow's result through the temporal CLI.
pub(crate) fn result_of(workflow_id: &str) -> Value {
    let out = temporal(&[
        "workflow",
        "result",
        "--workflow-id",
        workflow_id,
        "--output",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let value: Value = serde_json::from_slice(&out.stdout).expect("result json");
    value.get("result").cloned().unwrap_or(value)
}

pub(crate) fn sha(n: u8) -> String {
    format!("{n:x}").repeat(40).chars().take(40).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_pushes_leave_one_comment_with_the_latest_result() {
    let h = Harness::start("pr-pushes").await;
    let server = h.serve();
    let (owner, repo, number) = ("acme", "plugin", 7);
    let code = json!({"filename": "internal/mcp/tools.go", "status": "modified", "content": "package mcp\n"});
    let version =
        |v: &str| json!({"filename": "VERSION", "status": "modified", "content": format!("{v}\n")});
    let manifest = |v: &str| {
        json!({"filename": ".claude-plugin/plugin.json", "status": "modified",
                                   "content": format!("{{\"name\": \"p\", \"version\": \"{v}\"}}\n")})
    };
    // Push 1: code without plugin; VERSION 1.1.0 but plugin.json (unchanged) says 1.0.0.
    create_pull(
        &h,
        owner,
        repo,
        json!({"number": number, "base_ref": "main", "head_ref": "feature",
        "head_sha": sha(1), "files": [code, version("1.1.0")]}),
    )
    .await;
    // The unchanged plugin.json is readable at the head too (GitHub serves every file).
    deliver(
        &server,
        "pull_request",
        "p1",
        push_payload(owner, repo, number, &sha(1)),
    )
    .await;
    let first = result_of("plugin-validation-acme/plugin#7");
    assert_eq!(first["NeedsUpdate"], true, "{first}");
    assert_eq!(first["CommentPosted"], true, "{first}");

    // Push 2: still no plugin change.
    move_head(
        &h,
        owner,
        repo,
        number,
        json!({"head_sha": sha(2), "files": [code, version("1.1.0")]}),
    )
    .await;
    deliver(
        &server,
        "pull_request",
        "p2",
        push_payload(owner, repo, number, &sha(2)),
    )
    .await;
    let second = result_of("plugin-validation-acme/plugin#7");
    assert_eq!(second["NeedsUpdate"], true, "{second}");

    // Push 3: the plugin is updated and the versions agree.
    move_head(
        &h,
        owner,
        repo,
        number,
        json!({"head_sha": sha(3),
        "files": [code, version("1.1.0"), manifest("1.1.0")]}),
    )
    .await;
    push(&server, "p3", owner, repo, number, &sha(3)).await;

    let third = result_of("plugin-validation-acme/plugin#7");
    assert_eq!(third["NeedsUpdate"], false, "{third}");
    assert_eq!(third["SchemaValid"], true, "{third}");
    let version_result = result_of("version-validation-acme/plugin#7");
    assert_eq!(version_result["VersionMatches"], true, "{version_result}");

    let comments = h
        .github
        .get(&format!(
            "/repos/{owner}/{repo}/issues/{number}/comments?per_page=100"
        ))
        .await;
    let comments = comments.as_array().expect("comments");
    let plugin: Vec<&Value> = comments
        .iter()
        .filter(|c| {
            c["body"]
                .as_str()
                .unwrap()
                .contains("gdt:check=plugin-update-validation")
        })
        .collect();
    assert_eq!(plugin.len(), 1, "one plugin comment: {comments:#?}");
    let body = plugin[0]["body"].as_str().unwrap();
    assert!(
        body.contains("Plugin files updated and valid") && !body.contains("Plugin update needed?"),
        "the comment holds the latest head's verdict: {body}"
    );
    // The version mismatch of pushes 1–2 was reported, and now says it is fixed.
    let version: Vec<&Value> = comments
        .iter()
        .filter(|c| {
            c["body"]
                .as_str()
                .unwrap()
                .contains("gdt:check=version-validation")
        })
        .collect();
    assert_eq!(version.len(), 1, "one version comment: {comments:#?}");
    assert!(
        version[0]["body"].as_str().unwrap().contains("**Fixed:**"),
        "{version:#?}"
    );

    // Check runs on the latest head.
    let runs = h
        .github
        .get(&format!(
            "/repos/{owner}/{repo}/commits/{}/check-runs",
            sha(3)
        ))
        .await;
    let names: Vec<&str> = runs["check_runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"plugin-update-validation"), "{runs}");
    assert!(names.contains(&"version-validation"), "{runs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pr_with_250_files_is_read_completely() {
    let h = Harness::start("pr-250").await;
    let server = h.serve();
    let files: Vec<Value> = (0..250)
        .map(|i| json!({"filename": format!("internal/pkg{i:03}/service.go"), "status": "modified", "content": "package x\n"}))
        .collect();
    create_pull(
        &h,
        "acme",
        "big",
        json!({"number": 250, "base_ref": "main", "head_ref": "big",
        "head_sha": sha(5), "files": files}),
    )
    .await;
    push(&server, "b1", "acme", "big", 250, &sha(5)).await;

    let result = result_of("plugin-validation-acme/big#250");
    assert_eq!(
        result["CodeFilesChanged"].as_array().unwrap().len(),
        250,
        "{result}"
    );
    let pages = h
        .github
        .journal()
        .await
        .iter()
        .filter(|e| e["method"] == "GET" && e["path"] == "/repos/acme/big/pulls/250/files")
        .count();
    assert_eq!(pages, 3, "100 per page: 3 pages");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_temporal_workflow_start_example_runs_as_written() {
    let h = Harness::start("pr-readme").await;
    // The example names the task queue, so this worker polls it.
    let mut env = h.env.clone();
    env.push((
        "GDT_PR_CHECKS_TASK_QUEUE".into(),
        "plugin-validation-queue".into(),
    ));
    let _worker = crate::support::WorkerProcess::start(&env, h.dir.path());
    create_pull(&h, "fyrsmithlabs", "contextd", json!({"number": 65, "base_ref": "main", "head_ref": "f",
        "head_sha": sha(6), "files": [{"filename": "internal/mcp/tools.go", "status": "modified", "content": "x"}]})).await;
    let workflow_id = format!("test-123-{}", std::process::id());
    let out = temporal(&[
        "workflow",
        "start",
        "--task-queue",
        "plugin-validation-queue",
        "--type",
        "PluginUpdateValidationWorkflow",
        "--workflow-id",
        &workflow_id,
        "--input",
        r#"{
    "Owner": "fyrsmithlabs",
    "Repo": "contextd",
    "PRNumber": 65,
    "HeadSHA": "abc123"
  }"#,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result = result_of(&workflow_id);
    assert_eq!(
        result["CodeFilesChanged"],
        json!(["internal/mcp/tools.go"]),
        "{result}"
    );
    assert_eq!(result["NeedsUpdate"], true, "{result}");
    // HeadSHA "abc123" is not the PR's head: the run judges and reports the PR's head.
    assert_eq!(result["HeadSHA"], sha(6), "{result}");
    assert_eq!(result["CommentPosted"], true, "{result}");
    let comments = marked_comments(
        &h,
        "fyrsmithlabs",
        "contextd",
        65,
        "gdt:check=plugin-update-validation",
    )
    .await;
    assert_eq!(comments.len(), 1, "{comments:#?}");
    assert!(
        comments[0]["body"]
            .as_str()
            .unwrap()
            .contains("Plugin update needed?"),
        "{comments:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_plugin_json_fails_the_check_run_with_an_annotation() {
    let h = Harness::start("pr-json").await;
    let server = h.serve();
    create_pull(
        &h,
        "acme",
        "broken",
        json!({"number": 3, "base_ref": "main", "head_ref": "b",
        "head_sha": sha(9), "files": [
            {"filename": "internal/mcp/tools.go", "status": "modified", "content": "x"},
            {"filename": ".claude-plugin/plugin.json", "status": "modified",
             "content": "{\n  \"name\": \"p\",\n  \"version\": \"1.0.0\",\n}\n"}
        ]}),
    )
    .await;
    push(&server, "j1", "acme", "broken", 3, &sha(9)).await;

    let result = result_of("plugin-validation-acme/broken#3");
    assert_eq!(result["SchemaValid"], false, "{result}");
    let errors = result["Errors"].to_string();
    assert!(
        errors.contains(".claude-plugin/plugin.json:4:1"),
        "file:line:column in {errors}"
    );
    let runs = h
        .github
        .get(&format!("/repos/acme/broken/commits/{}/check-runs", sha(9)))
        .await;
    let run = runs["check_runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "plugin-update-validation")
        .cloned()
        .unwrap_or_else(|| panic!("no check run: {runs}"));
    assert_eq!(run["conclusion"], "failure", "{run}");
    let annotations = h
        .github
        .get(&format!(
            "/repos/acme/broken/check-runs/{}/annotations",
            run["id"]
        ))
        .await;
    assert_eq!(
        annotations[0]["path"], ".claude-plugin/plugin.json",
        "{annotations}"
    );
    assert_eq!(annotations[0]["start_line"], 4, "{annotations}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_run_created_before_a_502_is_found_on_retry_not_doubled() {
    let h = Harness::start("pr-check-run-retry").await;
    let server = h.serve();
    let files = json!([
        {"filename": "internal/mcp/tools.go", "status": "modified", "content": "package mcp\n"},
        {"filename": "VERSION", "status": "modified", "content": "2.0.0\n"},
        {"filename": ".claude-plugin/plugin.json", "status": "modified",
         "content": "{\"name\": \"p\", \"version\": \"2.0.0\"}\n"}
    ]);
    for (repo, number) in [("retried", 4), ("happy", 5)] {
        create_pull(
            &h,
            "acme",
            repo,
            json!({"number": number, "base_ref": "main", "head_ref": "f",
            "head_sha": sha(10 + number as u8), "files": files}),
        )
        .await;
    }
    // GitHub creates each check's run, then the gateway answers 502: the activity's retry must
    // find the run (already saying what it would write) and not create another.
    h.github
        .fault(
            json!({"method": "POST", "path": "/repos/acme/retried/check-runs",
                      "kind": "502_after_apply", "count": 2}),
        )
        .await;
    let pulls = [("retried", 4u64), ("happy", 5)];
    for (repo, number) in pulls {
        let head = sha(10 + number as u8);
        let (status, body) = deliver(
            &server,
            "pull_request",
            &format!("cr-{repo}"),
            push_payload("acme", repo, number, &head),
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        result_of(&format!("plugin-validation-acme/{repo}#{number}"));
        result_of(&format!("version-validation-acme/{repo}#{number}"));
    }
    // The lookup happened on the two retries only: a head's first run is created directly,
    // since Temporal knows the head's check run was not written before. (Counted before this
    // test reads the check runs itself, which the journal records too.)
    let check_runs_of = |repo: &str, number: u64| {
        format!(
            "/repos/acme/{repo}/commits/{}/check-runs",
            sha(10 + number as u8)
        )
    };
    assert_eq!(h.github.count("GET", &check_runs_of("retried", 4)).await, 2);
    assert_eq!(h.github.count("GET", &check_runs_of("happy", 5)).await, 0);
    for (repo, number) in pulls {
        let runs = h.github.get(&check_runs_of(repo, number)).await;
        let mut names: Vec<&str> = runs["check_runs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                assert_eq!(r["status"], "completed", "{r}");
                r["name"].as_str().unwrap()
            })
            .collect();
        names.sort_unstable();
        assert_eq!(
            names,
            ["plugin-update-validation", "version-validation"],
            "{repo}: one run per check: {runs}"
        );
    }
}

// ---- issue 10: pull-request checks ------------------------------------------------------

/// The workflow ids a 202 answer names, in order (plugin check, version check).
fn started_ids(body: &Value) -> Vec<String> {
    body["checks"]
        .as_array()
        .unwrap_or_else(|| panic!("no checks in {body}"))
        .iter()
        .map(|c| c["workflow_id"].as_str().expect("workflow_id").to_owned())
        .collect()
}

/// The comments of a PR whose body carries `marker`.
async fn marked_comments(
    h: &Harness,
    owner: &str,
    repo: &str,
    number: u64,
    marker: &str,
) -> Vec<Value> {
    let comments = h
        .github
        .get(&format!(
            "/repos/{owner}/{repo}/issues/{number}/comments?per_page=100"
        ))
        .await;
    comments
        .as_array()
        .expect("comments")
        .iter()
        .filter(|c| c["body"].as_str().unwrap_or_default().contains(marker))
        .cloned()
        .collect()
}

/// The names of the check runs on `head`, sorted.
async fn check_run_names(h: &Harness, owner: &str, repo: &str, head: &str) -> Vec<String> {
    let runs = h
        .github
        .get(&format!("/repos/{owner}/{repo}/commits/{head}/check-runs"))
        .await;
    let mut names: Vec<String> = runs["check_runs"]
        .as_array()
        .unwrap_or_else(|| panic!("{runs}"))
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort_unstable();
    names
}

/// Waits until the sandbox has no pending fault (the last one fired).
async fn wait_for_faults_to_fire(h: &Harness) {
    let url = format!("{}/_sandbox/faults", h.github.url());
    for _ in 0..600 {
        let pending: Value = reqwest::get(&url).await.unwrap().json().await.unwrap();
        if pending.as_array().is_some_and(Vec::is_empty) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the sandbox's faults never fired");
}

/// Files of head `n`: code and a new plugin.json changed, and VERSION (1.0.n) disagreeing with
/// plugin.json (0.9.0), so both checks comment and the version comment names head `n`'s version.
fn files_of_head(n: u8) -> Value {
    json!([
        {"filename": "internal/mcp/tools.go", "status": "modified", "content": format!("package mcp // {n}\n")},
        {"filename": "VERSION", "status": "modified", "content": format!("1.0.{n}\n")},
        {"filename": ".claude-plugin/plugin.json", "status": "added",
         "content": "{\"name\": \"p\", \"version\": \"0.9.0\"}\n"}
    ])
}

/// Asserts what must hold at the end: one comment per check, the version comment reflecting
/// head `n` ([`files_of_head`]), and one check run per check on head `n`.
async fn assert_reported_once(h: &Harness, owner: &str, repo: &str, number: u64, n: u8) {
    for marker in [
        "gdt:check=plugin-update-validation",
        "gdt:check=version-validation",
    ] {
        let comments = marked_comments(h, owner, repo, number, marker).await;
        assert_eq!(comments.len(), 1, "{marker}: one comment: {comments:#?}");
        let body = comments[0]["body"].as_str().unwrap();
        if marker.ends_with("version-validation") {
            let version = format!("`1.0.{n}`");
            assert!(
                body.contains(&version),
                "{marker}: reflects head {n}: {body}"
            );
        }
    }
    let head = sha(n);
    assert_eq!(
        check_run_names(h, owner, repo, &head).await,
        ["plugin-update-validation", "version-validation"],
        "one check run per check on {head}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_newest_head_wins_whatever_order_the_deliveries_arrive_in() {
    let h = Harness::start("pr-order").await;
    let _second_worker = crate::support::WorkerProcess::start(&h.env, h.dir.path());
    let servers = [h.serve(), h.serve()];
    let owner = "acme";

    // 1. A late delivery of an older head while the newest head's check is still working.
    let (repo, number) = ("late", 21);
    create_pull(
        &h,
        owner,
        repo,
        json!({"number": number, "base_ref": "main", "head_ref": "f",
        "head_sha": sha(3), "files": files_of_head(3)}),
    )
    .await;
    move_head(
        &h,
        owner,
        repo,
        number,
        json!({"head_sha": sha(5), "files": files_of_head(5)}),
    )
    .await;
    // The check of the newest head is slow to read the PR's files, so the older head's
    // delivery surely arrives while it works.
    h.github
        .fault(
            json!({"method": "GET", "path": format!("/repos/{owner}/{repo}/pulls/{number}/files"),
            "kind": "latency", "latency_ms": 1500, "count": 1}),
        )
        .await;
    push(&servers[0], "late-5", owner, repo, number, &sha(5)).await;

    wait_for_faults_to_fire(&h).await;
    let late = push(&servers[1], "late-3", owner, repo, number, &sha(3)).await;

    for id in started_ids(&late) {
        result_of(&id);
    }
    assert_reported_once(&h, owner, repo, number, 5).await;

    // 2. Fifty concurrent deliveries over five heads, to two API servers, out of order.
    let (repo, number) = ("storm", 22);
    create_pull(
        &h,
        owner,
        repo,
        json!({"number": number, "base_ref": "main", "head_ref": "f",
        "head_sha": sha(1), "files": files_of_head(1)}),
    )
    .await;
    let mut deliveries = Vec::new();
    let mut ids = Vec::new();
    for k in 1..=5u8 {
        if k > 1 {
            move_head(
                &h,
                owner,
                repo,
                number,
                json!({"head_sha": sha(k), "files": files_of_head(k)}),
            )
            .await;
        }
        for i in 0..10u8 {
            // Heads 1..=k in a scrambled order: redeliveries and retries of older pushes.
            let head = 1 + (i * 7 + k * 3) % k;
            let server = servers[usize::from(i % 2)].api.clone();
            let body = push_payload(owner, repo, number, &sha(head));
            deliveries.push(tokio::spawn(async move {
                let response = reqwest::Client::new()
                    .post(format!("{server}/webhook"))
                    .header("content-type", "application/json")
                    .header("x-github-event", "pull_request")
                    .header("x-github-delivery", format!("storm-{k}-{i}"))
                    .header("x-hub-signature-256", sign(&body))
                    .body(body)
                    .send()
                    .await
                    .expect("deliver");
                let status = response.status();
                (
                    status,
                    response.json::<Value>().await.unwrap_or(Value::Null),
                )
            }));
        }
    }
    for delivery in deliveries {
        let (status, body) = delivery.await.unwrap();
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        ids = started_ids(&body);
    }
    // Every delivery was answered: the latest runs have all of them.
    for id in &ids {
        result_of(id);
    }
    assert_reported_once(&h, owner, repo, number, 5).await;
    // Histories with signals arriving between passes replay to the same decisions, and so do
    // the claims of the head's check runs.
    for id in &ids {
        crate::support::replay(id).await;
        let child = gdt_tracker::pr_checks::check_run_workflow_id(id, &sha(5));
        crate::support::replay(&child).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_and_two_servers_keep_one_comment_per_check() {
    // One activity at a time per worker: while one worker's comment creation is slow, the
    // other worker does everything else.
    let mut h = Harness::start("pr-writers").await;
    h.worker.kill();
    let mut env = h.env.clone();
    env.push((
        "GDT_TEMPORAL_WORKER_OPTIONS_MAX_CONCURRENT_ACTIVITY".into(),
        "1".into(),
    ));
    let _workers = [
        crate::support::WorkerProcess::start(&env, h.dir.path()),
        crate::support::WorkerProcess::start(&env, h.dir.path()),
    ];
    let servers = [h.serve(), h.serve()];
    let owner = "acme";

    // 1. Two heads pushed seconds apart while GitHub is slow to create the first comment.
    let (repo, number) = ("slow", 31);
    create_pull(
        &h,
        owner,
        repo,
        json!({"number": number, "base_ref": "main", "head_ref": "f",
        "head_sha": sha(1), "files": files_of_head(1)}),
    )
    .await;
    h.github
        .fault(json!({"method": "POST", "path": format!("/repos/{owner}/{repo}/issues/{number}/comments"),
            "kind": "latency", "latency_ms": 3000, "count": 1}))
        .await;
    push(&servers[0], "slow-1", owner, repo, number, &sha(1)).await;

    wait_for_faults_to_fire(&h).await;
    move_head(
        &h,
        owner,
        repo,
        number,
        json!({"head_sha": sha(2), "files": files_of_head(2)}),
    )
    .await;
    let second = push(&servers[1], "slow-2", owner, repo, number, &sha(2)).await;

    for id in started_ids(&second) {
        result_of(&id);
    }
    // The slow creation has landed too (whoever made it), so a duplicate would show.
    for _ in 0..600 {
        let journal = h.github.journal().await;
        if journal
            .iter()
            .any(|e| e["method"] == "POST" && e["fault"] == "latency")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_reported_once(&h, owner, repo, number, 2).await;

    // 2. Duplicates left by an earlier race: the oldest is kept and brought up to date, the
    // others are removed. A person quoting the marker is left alone.
    let (repo, number) = ("dupes", 32);
    create_pull(
        &h,
        owner,
        repo,
        json!({"number": number, "base_ref": "main", "head_ref": "f",
        "head_sha": sha(4), "files": files_of_head(4)}),
    )
    .await;
    let post = |token: &'static str, body: String| {
        let url = format!(
            "{}/repos/{owner}/{repo}/issues/{number}/comments",
            h.github.url()
        );
        async move {
            let response = reqwest::Client::new()
                .post(url)
                .bearer_auth(token)
                .json(&json!({"body": body}))
                .send()
                .await
                .unwrap();
            assert!(
                response.status().is_success(),
                "{}",
                response.text().await.unwrap()
            );
            response.json::<Value>().await.unwrap()["id"]
                .as_u64()
                .unwrap()
        }
    };
    // The worker writes with the App's installation token: so do these duplicates.
    let installation = installation_token(&h).await;
    let installation: &'static str = Box::leak(installation.into_boxed_str());
    let stale = "<!-- gdt:check=plugin-update-validation -->\nstale result".to_owned();
    let oldest = post(installation, stale.clone()).await;
    let _duplicate = post(installation, stale.clone()).await;
    let quoted = post("test-token", format!("I saw this: {stale}")).await;
    let body = push(&servers[0], "dupes-4", owner, repo, number, &sha(4)).await;

    for id in started_ids(&body) {
        result_of(&id);
    }
    let plugin = marked_comments(
        &h,
        owner,
        repo,
        number,
        "gdt:check=plugin-update-validation",
    )
    .await;
    let ids: Vec<u64> = plugin.iter().map(|c| c["id"].as_u64().unwrap()).collect();
    assert_eq!(
        ids,
        [oldest, quoted],
        "the oldest kept, the person's comment untouched: {plugin:#?}"
    );
    assert!(
        plugin[0]["body"]
            .as_str()
            .unwrap()
            .contains("Plugin files updated and valid"),
        "brought up to date: {plugin:#?}"
    );
}

/// An installation token of the sandbox's App (id 1, installation 1), as the worker mints it.
async fn installation_token(h: &Harness) -> String {
    let token = crate::support::gdt_json(&h.env, h.dir.path(), &["auth", "token"]);
    token["token"].as_str().expect("token").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_temporal_refuses_get_a_4xx_naming_the_problem() {
    let h = Harness::start("pr-invalid").await;
    let server = h.serve();
    let owner = "o".repeat(300);
    let (status, problem) = deliver(
        &server,
        "pull_request",
        "long-owner",
        push_payload(&owner, "repo", 1, &sha(1)),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["code"], "invalid_input", "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("owner"),
        "{problem}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_plain_token_the_comment_is_reported_and_the_check_run_failure_too() {
    // GitHub refuses check-run writes from anything but an App: the comment still counts.
    let h = Harness::start("pr-plain").await;
    let mut env: Vec<(String, String)> = h
        .env
        .iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "GDT_GITHUB_APP_ID"
                    | "GDT_GITHUB_INSTALLATION_ID"
                    | "GITHUB_APP_PRIVATE_KEY_PATH"
                    | "GDT_PR_CHECKS_TASK_QUEUE"
            )
        })
        .cloned()
        .collect();
    env.push(("GITHUB_TOKEN".into(), "test-token".into()));
    env.push((
        "GDT_PR_CHECKS_TASK_QUEUE".into(),
        format!("{}-plain", crate::support::queue("pr-plain")),
    ));
    let _worker = crate::support::WorkerProcess::start(&env, h.dir.path());
    let server = ServerProcess::start(&env, h.dir.path());
    let (owner, repo, number) = ("acme", "plain", 41);
    create_pull(
        &h,
        owner,
        repo,
        json!({"number": number, "base_ref": "main", "head_ref": "f",
        "head_sha": sha(7), "files": files_of_head(7)}),
    )
    .await;
    let body = push(&server, "plain-7", owner, repo, number, &sha(7)).await;

    let ids = started_ids(&body);
    for id in &ids {
        let result = result_of(id);
        assert_eq!(result["CommentPosted"], true, "{id}: {result}");
        assert!(
            result["CommentURL"].as_str().is_some_and(|u| !u.is_empty()),
            "{result}"
        );
        assert!(
            result["Errors"].to_string().contains("GitHub App"),
            "the check-run refusal is reported: {result}"
        );
    }
    assert_eq!(
        marked_comments(&h, owner, repo, number, "gdt:check=")
            .await
            .len(),
        2
    );
}

/// Sends the head of a POST to /webhook whose body is `content_length` bytes but of which only
/// `sent` bytes are sent, then reads the answer's status line while the rest is held back.
fn answer_before_the_body(
    api: &str,
    signature: Option<&str>,
    content_length: usize,
    sent: usize,
) -> u16 {
    use std::io::{Read as _, Write as _};
    let address = api.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    // A guard against hanging forever on a server that waits for the whole body; the
    // assertion is on what the answer says, not on how fast it comes.
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut head = format!(
        "POST /webhook HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\n\
         x-github-event: pull_request\r\ncontent-length: {content_length}\r\n"
    );
    if let Some(signature) = signature {
        head.push_str(&format!("x-hub-signature-256: {signature}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&vec![b' '; sent]).unwrap();
    let mut answer = [0u8; 12];
    stream
        .read_exact(&mut answer)
        .expect("an answer while most of the body is unsent");
    let line = String::from_utf8_lossy(&answer).into_owned();
    line.trim_start_matches("HTTP/1.1 ")
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{line}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthenticated_deliveries_are_refused_before_their_body_is_read() {
    let h = Harness::start("pr-unread").await;
    let mut env = h.env.clone();
    env.push(("GDT_WEBHOOK_MAX_BODY_BYTES".into(), "65536".into()));
    let server = ServerProcess::start(&env, h.dir.path());
    let api = server.api.clone();
    let bogus = format!("sha256={}", "0".repeat(64));
    tokio::task::spawn_blocking(move || {
        // No signature, a malformed one: 401 with 24 MB announced and 1 KB sent.
        assert_eq!(answer_before_the_body(&api, None, 24 << 20, 1024), 401);
        assert_eq!(
            answer_before_the_body(&api, Some("sha1=abc"), 24 << 20, 1024),
            401
        );
        // Over webhook.max_body_bytes: 413 without reading it.
        assert_eq!(
            answer_before_the_body(&api, Some(&bogus), 24 << 20, 1024),
            413
        );
    })
    .await
    .unwrap();

    // No secret configured: every delivery is refused, signed or not, before its body is read.
    let unconfigured: Vec<(String, String)> = env
        .iter()
        .filter(|(k, _)| k != "GITHUB_WEBHOOK_SECRET")
        .cloned()
        .collect();
    let unconfigured = ServerProcess::start(&unconfigured, h.dir.path());
    let api = unconfigured.api.clone();
    let signed = format!("sha256={}", "1".repeat(64));
    tokio::task::spawn_blocking(move || {
        assert_eq!(
            answer_before_the_body(&api, Some(&signed), 60_000, 1024),
            401
        );
    })
    .await
    .unwrap();

    // Bodies being verified share a budget (twice webhook.max_body_bytes): two deliveries
    // of the largest size that hold back their bodies fill it, and the next is refused with
    // 503 and Retry-After until they are gone.
    let hold = |api: String| {
        use std::io::Write as _;
        let address = api.trim_start_matches("http://").to_owned();
        let mut stream = std::net::TcpStream::connect(&address).unwrap();
        let head = format!(
            "POST /webhook HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\n\
             x-github-event: pull_request\r\ncontent-length: 65536\r\n\
             x-hub-signature-256: sha256={}\r\n\r\n",
            "0".repeat(64)
        );
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(&[b' '; 1024]).unwrap();
        stream
    };
    let holders = [hold(server.api.clone()), hold(server.api.clone())];
    let big = vec![b' '; 65536];
    let post_big = || {
        let body = big.clone();
        let url = format!("{}/webhook", server.api);
        async move {
            reqwest::Client::new()
                .post(url)
                .header("content-type", "application/json")
                .header("x-github-event", "pull_request")
                .header("x-hub-signature-256", format!("sha256={}", "0".repeat(64)))
                .body(body)
                .send()
                .await
                .unwrap()
        }
    };
    let mut refused = None;
    for _ in 0..200 {
        let response = post_big().await;
        if response.status() == StatusCode::SERVICE_UNAVAILABLE {
            refused = Some(response);
            break;
        }
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let refused = refused.expect("a delivery over the budget is refused");
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
    drop(holders);
    let mut admitted = false;
    for _ in 0..200 {
        if post_big().await.status() == StatusCode::UNAUTHORIZED {
            admitted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(admitted, "the budget is released when the holders go");
}
