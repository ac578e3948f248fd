//! End to end: GitHub's real webhook payloads (fixtures/github-webhooks), signed by the test,
//! into `gdt serve`; the PR checks run by `gdt worker` against the sandbox over HTTP, on a
//! real Temporal dev server.

use std::time::Duration;

use crate::support::{
    temporal, temporal_cli, Harness, PrivateTemporal, ServerProcess, WEBHOOK_SECRET,
};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../../fixtures/github-webhooks/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn sign(body: &[u8]) -> String {
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

async fn deliver(
    server: &ServerProcess,
    event: &str,
    delivery: &str,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let signature = sign(&body);
    deliver_signed(server, event, delivery, body, Some(signature)).await
}

/// The `synchronize` fixture moved to another PR and head.
fn push_payload(owner: &str, repo: &str, number: u64, head_sha: &str) -> Vec<u8> {
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
                "plugin-validation-Codertocat-Hello-World-2",
                "version-validation-Codertocat-Hello-World-2"
            ],
            "{body}"
        );
        assert!(checks.iter().all(|c| c["outcome"] == "started"), "{body}");
        for (id, kind) in [
            (
                "plugin-validation-Codertocat-Hello-World-2",
                "PluginUpdateValidationWorkflow",
            ),
            (
                "version-validation-Codertocat-Hello-World-2",
                "VersionValidationWorkflow",
            ),
        ] {
            let described = describe(action, &temporal.address, id)
                .unwrap_or_else(|| panic!("{id} not started"));
            let text = described.to_string();
            assert!(text.contains(kind), "{text}");
            assert!(text.contains("pr-actions"), "task queue: {text}");
        }
        // A redelivery of the same delivery starts nothing new.
        let (status, again) = deliver(
            &server,
            "pull_request",
            &format!("delivery-{action}"),
            fixture(&format!("pull_request.{action}")),
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{again}");
        for (first, second) in checks.iter().zip(again["checks"].as_array().unwrap()) {
            assert_eq!(second["outcome"], "unchanged", "{again}");
            assert_eq!(second["run_id"], first["run_id"], "{again}");
        }
    }

    // Ignored actions and events, and ping: answered, nothing started.
    let mut env = h.env.clone();
    env.push(("GDT_TEMPORAL_NAMESPACE".into(), "ignored".into()));
    let server = ServerProcess::start(&env, h.dir.path());
    for (event, file, expected) in [
        ("pull_request", "pull_request.closed", StatusCode::ACCEPTED),
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
        "plugin-validation-acme-refusals-901",
    ]);
    assert!(!out.status.success(), "a refused delivery started a check");
}

/// Seeds a PR in the sandbox.
async fn seed_pull(h: &Harness, owner: &str, repo: &str, body: Value) {
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
        "seed: {}",
        response.text().await.unwrap()
    );
}

async fn move_head(h: &Harness, owner: &str, repo: &str, number: u64, body: Value) {
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
fn result_of(workflow_id: &str) -> Value {
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

fn sha(n: u8) -> String {
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
    seed_pull(
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
    let first = result_of("plugin-validation-acme-plugin-7");
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
    let second = result_of("plugin-validation-acme-plugin-7");
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
    let (status, body) = deliver(
        &server,
        "pull_request",
        "p3",
        push_payload(owner, repo, number, &sha(3)),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let third = result_of("plugin-validation-acme-plugin-7");
    assert_eq!(third["NeedsUpdate"], false, "{third}");
    assert_eq!(third["SchemaValid"], true, "{third}");
    let version_result = result_of("version-validation-acme-plugin-7");
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
        body.contains(&sha(3)),
        "the comment holds the latest head: {body}"
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
        version[0]["body"].as_str().unwrap().contains(&sha(3)),
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
    seed_pull(
        &h,
        "acme",
        "big",
        json!({"number": 250, "base_ref": "main", "head_ref": "big",
        "head_sha": sha(5), "files": files}),
    )
    .await;
    let (status, body) = deliver(
        &server,
        "pull_request",
        "b1",
        push_payload("acme", "big", 250, &sha(5)),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let result = result_of("plugin-validation-acme-big-250");
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
async fn seed_001s_temporal_workflow_start_example_runs_as_written() {
    let h = Harness::start("pr-seed").await;
    // The example names the task queue, so this worker polls it.
    let mut env = h.env.clone();
    env.push((
        "GDT_PR_CHECKS_TASK_QUEUE".into(),
        "plugin-validation-queue".into(),
    ));
    let _worker = crate::support::WorkerProcess::start(&env, h.dir.path());
    seed_pull(&h, "fyrsmithlabs", "contextd", json!({"number": 65, "base_ref": "main", "head_ref": "f",
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
    // HeadSHA "abc123" is not the PR's head: the run judged it but does not overwrite.
    assert_eq!(result["CommentPosted"], false, "{result}");
    assert!(
        result["Errors"].to_string().contains("head moved"),
        "{result}"
    );
    tokio::time::sleep(Duration::from_millis(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_plugin_json_fails_the_check_run_with_an_annotation() {
    let h = Harness::start("pr-json").await;
    let server = h.serve();
    seed_pull(
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
    let (status, body) = deliver(
        &server,
        "pull_request",
        "j1",
        push_payload("acme", "broken", 3, &sha(9)),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let result = result_of("plugin-validation-acme-broken-3");
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
async fn a_check_run_created_before_a_502_is_updated_on_retry_not_doubled() {
    let h = Harness::start("pr-check-run-retry").await;
    let server = h.serve();
    let files = json!([
        {"filename": "internal/mcp/tools.go", "status": "modified", "content": "package mcp\n"},
        {"filename": "VERSION", "status": "modified", "content": "2.0.0\n"},
        {"filename": ".claude-plugin/plugin.json", "status": "modified",
         "content": "{\"name\": \"p\", \"version\": \"2.0.0\"}\n"}
    ]);
    for (repo, number) in [("retried", 4), ("happy", 5)] {
        seed_pull(
            &h,
            "acme",
            repo,
            json!({"number": number, "base_ref": "main", "head_ref": "f",
            "head_sha": sha(10 + number as u8), "files": files}),
        )
        .await;
    }
    // GitHub creates each check's run, then the gateway answers 502: the activity's retry must
    // find the run and update it.
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
        result_of(&format!("plugin-validation-acme-{repo}-{number}"));
        result_of(&format!("version-validation-acme-{repo}-{number}"));
    }
    // The lookup happened on the retries only: the happy path pays no request for it. (Counted
    // before this test reads the check runs itself, which the journal records too.)
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
