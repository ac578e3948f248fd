//! Deployments under hostile input and awkward timing: bounded free text and history, refused
//! misspellings and out-of-range numbers, workflows that ended without a final state, status
//! updates while no worker runs, and a retried status after GitHub's `auto_inactive`.

use std::time::Duration;

use gdt_tracker::deployments::{DeploymentStatusUpdate, GitHubDeploymentWorkflow};
use reqwest::StatusCode;
use serde_json::{json, Value};
use temporalio_client::{WorkflowGetResultOptions, WorkflowSignalOptions};

use crate::support::{client, gdt, replay, temporal, Api, Harness, WorkerProcess};

const SHA: &str = "5e1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d";

fn deployment(workflow_id: &str) -> Value {
    json!({
        "workflow_id": workflow_id,
        "repo_owner": "acme",
        "repo_name": "api",
        "commit_sha": SHA,
        "environment": "staging",
        "status": "queued",
    })
}

/// Polls the deployment until `done` holds for the answer, for up to a minute.
async fn wait_for(api: &Api, id: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    api.wait_for_deployment(id, what, Duration::from_secs(60), done)
        .await
}

/// Waits until the deployment's workflow has completed.
async fn completed(api: &Api, id: &str) -> Value {
    wait_for(api, id, "completed", |v| {
        v["workflow_status"] == "completed"
    })
    .await
}

fn outcomes(view: &Value) -> Vec<String> {
    view["updates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["outcome"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_without_a_status_word_is_refused_not_posted_as_pending() {
    let h = Harness::start("misspelt").await;
    let server = h.serve();
    let api = Api::new(&server);
    let id = format!("misspelt-{}", std::process::id());
    let (status, started) = api.post("/api/v1/deployments", &deployment(&id)).await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    let status_path = format!("/api/v1/deployments/{id}/status");

    // Through the API: 422 naming the field, nothing sent on.
    for (body, names) in [
        (json!({"state": "success"}), "state"),
        (json!({"Status": "failed"}), "Status"),
        (json!({"description": "deployed"}), "status"),
        (json!({"status": "  "}), "status"),
    ] {
        let (status, problem) = api.post(&status_path, &body).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {problem}"
        );
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains(names), "{body}: {problem}");
    }

    // Through the signal: recorded as rejected, not posted.
    for input in [r#"{"state":"success"}"#, r#"{"description":"no word"}"#] {
        let out = temporal(&[
            "workflow",
            "signal",
            "--workflow-id",
            &id,
            "--name",
            "deployment-status-update",
            "--input",
            input,
        ]);
        assert!(out.status.success(), "{out:?}");
    }
    let view = wait_for(&api, &id, "recorded both rejections", |v| {
        outcomes(v)
            .iter()
            .filter(|o| *o == "rejected_invalid")
            .count()
            == 2
    })
    .await;
    let details: Vec<&str> = view["updates"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u["detail"].as_str())
        .collect();
    assert!(details.iter().any(|d| d.contains("`state`")), "{view}");
    assert!(details.iter().any(|d| d.contains("status")), "{view}");

    let (status, _) = api.post(&status_path, &json!({"status": "success"})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let view = completed(&api, &id).await;
    assert_eq!(view["state"], "success");
    // GitHub got the initial status and the success, never a `pending` from a misspelling.
    assert_eq!(
        h.github.states("acme/api", &view["deployment_id"]).await,
        ["queued", "success"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_free_text_and_numbers_out_of_range_are_bounded_or_refused() {
    let h = Harness::start("oversized").await;
    let server = h.serve();
    let api = Api::new(&server);
    let pid = std::process::id();

    // Numbers out of range and oversized fields at the door: 422 naming the field.
    for (field, value) in [
        (
            "inactivity_timeout_seconds",
            json!(9_223_372_036_854_775_808_u64),
        ),
        ("inactivity_timeout_seconds", json!(30 * 24 * 3600 + 1)),
        ("environment", json!("e".repeat(256))),
        (
            "log_url",
            json!(format!("https://ci.example/{}", "x".repeat(2100))),
        ),
    ] {
        let mut body = deployment(&format!("oversized-refused-{pid}"));
        body[field] = value;
        let (status, problem) = api.post("/api/v1/deployments", &body).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {problem}"
        );
        assert!(
            problem["detail"].as_str().unwrap().contains(field),
            "{field}: {problem}"
        );
    }
    // The CLI refuses the same range.
    let out = gdt(
        &h.env,
        h.dir.path(),
        &[
            "track",
            "start",
            "--repo",
            "acme/api",
            "--sha",
            SHA,
            "--environment",
            "staging",
            "--inactivity-timeout",
            "9999h",
        ],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("inactivity_timeout_seconds"),
        "{out:?}"
    );
    // And a workflow started by hand fails before GitHub is called, instead of panicking
    // in every workflow task with the deployment left pending.
    let by_hand = format!("oversized-by-hand-{pid}");
    let input = json!({
        "repo_owner": "acme", "repo_name": "api", "commit_sha": SHA, "environment": "staging",
        "inactivity_timeout_seconds": 18_446_744_073_709_551_615_u64
    })
    .to_string();
    let queue = crate::support::queue("oversized");
    let out = temporal(&[
        "workflow",
        "start",
        "--type",
        "GitHubDeploymentWorkflow",
        "--task-queue",
        &queue,
        "--workflow-id",
        &by_hand,
        "--input",
        &input,
    ]);
    assert!(out.status.success(), "{out:?}");
    let view = wait_for(&api, &by_hand, "failed", |v| {
        v["workflow_status"] == "failed"
    })
    .await;
    assert!(
        view["error"]
            .as_str()
            .unwrap()
            .contains("inactivity_timeout_seconds"),
        "{view}"
    );
    assert_eq!(
        h.github.count("POST", "/repos/acme/api/deployments").await,
        0
    );

    // Five status posts with a ~900 KB description each: all accepted, each cut to GitHub's
    // 140 characters before it reaches Temporal, so the state stays small and the workflow
    // lives on.
    let id = format!("oversized-{pid}");
    let (status, started) = api.post("/api/v1/deployments", &deployment(&id)).await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    let huge = "d".repeat(900 * 1024);
    for i in 0..5 {
        let (status, ack) = api
            .post(
                &format!("/api/v1/deployments/{id}/status"),
                &json!({"status": "running", "description": huge, "event_id": format!("big-{i}")}),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{ack}");
    }
    let (status, problem) = api
        .post(
            &format!("/api/v1/deployments/{id}/status"),
            &json!({"status": "running", "environment_url": format!("https://{}", "u".repeat(2100))}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("environment_url"));
    let view = wait_for(&api, &id, "posted all five", |v| {
        outcomes(v).iter().filter(|o| *o == "applied").count() == 6
    })
    .await;
    assert!(
        view.to_string().len() < 16 * 1024,
        "state: {} bytes",
        view.to_string().len()
    );
    for update in view["updates"].as_array().unwrap() {
        assert!(update["description"].as_str().unwrap().chars().count() <= 140);
    }
    let statuses = h
        .github
        .get(&format!(
            "/repos/acme/api/deployments/{}/statuses",
            view["deployment_id"]
        ))
        .await;
    assert_eq!(
        statuses[0]["description"].as_str().unwrap().chars().count(),
        140
    );
    let (status, _) = api
        .post(
            &format!("/api/v1/deployments/{id}/status"),
            &json!({"status": "success"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    completed(&api, &id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workflow_that_ended_without_a_final_state_says_why() {
    let h = Harness::start("ended").await;
    let server = h.serve();
    let api = Api::new(&server);
    let pid = std::process::id();

    // GitHub refuses the deployment (unknown ref): the start answer says so, and so does a
    // retried start.
    let bad = format!("ended-bad-ref-{pid}");
    let mut body = deployment(&bad);
    body["commit_sha"] = json!("not-a-ref");
    for _ in 0..2 {
        let (status, problem) = api.post("/api/v1/deployments", &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(problem["code"], "deployment_not_created", "{problem}");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("No ref found for: not-a-ref"),
            "{problem}"
        );
    }
    let (status, view) = api.get(&format!("/api/v1/deployments/{bad}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(view["workflow_status"], "failed", "{view}");

    // A terminated deployment shows that it was terminated and why; `track wait --api`
    // ends with the reason and a non-zero exit.
    let killed = format!("ended-terminated-{pid}");
    let (status, started) = api.post("/api/v1/deployments", &deployment(&killed)).await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    let out = temporal(&[
        "workflow",
        "terminate",
        "--workflow-id",
        &killed,
        "--reason",
        "operator stopped it",
    ]);
    assert!(out.status.success(), "{out:?}");
    let view = wait_for(&api, &killed, "terminated", |v| {
        v["workflow_status"] == "terminated"
    })
    .await;
    assert!(
        view["error"]
            .as_str()
            .unwrap()
            .contains("operator stopped it"),
        "{view}"
    );
    assert_eq!(view["deployment_id"], started["deployment_id"]);
    let mut env = h.env.clone();
    env.push(("GDT_API_TOKEN".into(), crate::support::API_TOKEN.into()));
    let out = gdt(
        &env,
        h.dir.path(),
        &["track", "--api", &server.api, "wait", &killed],
    );
    assert!(!out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("operator stopped it"),
        "{out:?}"
    );

    // A finished deployment started again: 200 with its deployment id, not null.
    let done = format!("ended-done-{pid}");
    let (_, started) = api.post("/api/v1/deployments", &deployment(&done)).await;
    api.post(
        &format!("/api/v1/deployments/{done}/status"),
        &json!({"status": "success"}),
    )
    .await;
    completed(&api, &done).await;
    let (status, again) = api.post("/api/v1/deployments", &deployment(&done)).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["deployment_id"], started["deployment_id"], "{again}");
    assert_eq!(again["workflow_status"], "completed", "{again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_update_while_no_worker_runs_is_queued_for_the_worker() {
    let mut h = Harness::start("no-worker").await;
    h.env
        .push(("GDT_SERVER_TEMPORAL_TIMEOUT".into(), "2s".into()));
    h.env
        .push(("GDT_SERVER_DEPLOYMENT_ID_WAIT".into(), "1s".into()));
    let server = h.serve();
    let api = Api::new(&server);
    let pid = std::process::id();

    // One of two workers is killed right after it took the deployment: the update goes to
    // its sticky queue first and the other worker gets it only later.
    let id = format!("no-worker-restart-{pid}");
    let (status, started) = api.post("/api/v1/deployments", &deployment(&id)).await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    wait_for(&api, &id, "queued", |v| v["state"] == "queued").await;
    let _second = WorkerProcess::start(&h.env, h.dir.path());
    h.worker.kill();
    let (status, ack) = api
        .post(
            &format!("/api/v1/deployments/{id}/status"),
            &json!({"status": "success", "event_id": "after-kill"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{ack}\n{}", server.logs());
    let view = completed(&api, &id).await;
    assert_eq!(
        h.github.states("acme/api", &view["deployment_id"]).await,
        ["queued", "success"]
    );
    drop(_second);

    // No worker at all: the update is stored for one.
    let id = format!("no-worker-{pid}");
    let (status, started) = api.post("/api/v1/deployments", &deployment(&id)).await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    assert_eq!(started["deployment_id"], Value::Null);
    let (status, ack) = api
        .post(
            &format!("/api/v1/deployments/{id}/status"),
            &json!({"status": "success", "event_id": "while-down"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{ack}\n{}", server.logs());
    assert_eq!(ack["outcome"], "queued_for_worker", "{ack}");

    // A worker comes back and applies it.
    let _worker = WorkerProcess::start(&h.env, h.dir.path());
    let view = completed(&api, &id).await;
    assert_eq!(view["state"], "success");
    assert_eq!(
        h.github.states("acme/api", &view["deployment_id"]).await,
        ["queued", "success"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_status_after_github_auto_inactive_is_not_posted_twice() {
    let h = Harness::start("auto-inactive").await;
    let server = h.serve();
    let api = Api::new(&server);
    let id = format!("auto-inactive-{}", std::process::id());
    let (status, started) = api.post("/api/v1/deployments", &deployment(&id)).await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    let deployment_id = started["deployment_id"].as_u64().expect("deployment id");
    let statuses = format!("/repos/acme/api/deployments/{deployment_id}/statuses");
    wait_for(&api, &id, "queued", |v| v["state"] == "queued").await;

    // GitHub takes the success but answers 502; the retry's look at the statuses is slow,
    // and meanwhile a newer deployment of the same environment succeeds, so GitHub's
    // auto_inactive puts an `inactive` on top of our success.
    h.github
        .fault(json!({"method": "POST", "path": statuses, "kind": "502_after_apply"}))
        .await;
    h.github
        .fault(json!({"method": "GET", "path": statuses, "kind": "latency", "latency_ms": 3000}))
        .await;
    let (status, _) = api
        .post(
            &format!("/api/v1/deployments/{id}/status"),
            &json!({"status": "success"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !h
        .github
        .journal()
        .await
        .iter()
        .any(|e| e["method"] == "POST" && e["path"] == statuses.as_str() && e["status"] == 502)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the success was never posted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let http = reqwest::Client::new();
    let newer: Value = http
        .post(format!("{}/repos/acme/api/deployments", h.github.url()))
        .bearer_auth("test-token")
        .json(&json!({"ref": SHA, "environment": "staging", "required_contexts": []}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let response = http
        .post(format!(
            "{}/repos/acme/api/deployments/{}/statuses",
            h.github.url(),
            newer["id"]
        ))
        .bearer_auth("test-token")
        .json(&json!({"state": "success"}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());

    let view = completed(&api, &id).await;
    assert_eq!(
        h.github.states("acme/api", &json!(deployment_id)).await,
        ["queued", "success", "inactive"],
        "{view}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_stream_of_updates_keeps_the_history_and_the_state_bounded() {
    let h = Harness::start("long-stream").await;
    let server = h.serve();
    let api = Api::new(&server);
    let id = format!("long-stream-{}", std::process::id());
    let (status, started) = api.post("/api/v1/deployments", &deployment(&id)).await;
    assert_eq!(status, StatusCode::CREATED, "{started}");

    // 200 updates as fast as the signal goes: more history than one run keeps.
    let handle = client()
        .await
        .get_workflow_handle::<GitHubDeploymentWorkflow>(id.clone());
    let updates = 200;
    for i in 0..updates {
        let update = DeploymentStatusUpdate {
            status: "running".to_owned(),
            description: format!("step {i}"),
            event_id: Some(format!("step-{i}")),
            ..DeploymentStatusUpdate::default()
        };
        handle
            .signal(
                GitHubDeploymentWorkflow::status_update,
                serde_json::to_value(&update).unwrap(),
                WorkflowSignalOptions::default(),
            )
            .await
            .expect("signal");
    }
    let view = wait_for(&api, &id, "applied every update", |v| {
        v["updates_received"] == updates + 1
            && v["updates"].as_array().unwrap().last().unwrap()["outcome"] == "applied"
            && v["updates"].as_array().unwrap().last().unwrap()["description"]
                == format!("step {}", updates - 1)
    })
    .await;
    assert_eq!(view["updates"].as_array().unwrap().len(), 50, "{view}");

    // An event id from before the first continue-as-new is still recognised.
    let repeat = DeploymentStatusUpdate {
        status: "running".to_owned(),
        event_id: Some("step-3".to_owned()),
        ..DeploymentStatusUpdate::default()
    };
    handle
        .signal(
            GitHubDeploymentWorkflow::status_update,
            serde_json::to_value(&repeat).unwrap(),
            WorkflowSignalOptions::default(),
        )
        .await
        .expect("signal");
    let (status, _) = api
        .post(
            &format!("/api/v1/deployments/{id}/status"),
            &json!({"status": "success"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let result = handle
        .get_result(WorkflowGetResultOptions::default())
        .await
        .expect("result");
    assert_eq!(result.final_status, "success");
    // No status posted twice across the runs. (A burst this fast outruns GitHub: past 100
    // waiting, the oldest waiting ones are superseded rather than posted.)
    assert!(result.status_updates <= updates as u32 + 2);
    assert_eq!(
        h.github
            .count(
                "POST",
                &format!(
                    "/repos/acme/api/deployments/{}/statuses",
                    started["deployment_id"]
                )
            )
            .await,
        result.status_updates as usize
    );
    let view = completed(&api, &id).await;
    let last = view["updates"].as_array().unwrap();
    assert!(
        last.iter().any(|u| u["outcome"] == "duplicate_event"),
        "{view}"
    );

    // The workflow continued as new along the way, and its search attributes came along.
    let runs = temporal_runs(&id);
    assert!(
        runs >= 2,
        "expected continue-as-new, saw {runs} run(s): {}",
        String::from_utf8_lossy(&temporal(&["workflow", "describe", "--workflow-id", &id]).stdout)
    );
    let (_, listed) = api
        .get("/api/v1/deployments?repository=acme/api&state=success&limit=100")
        .await;
    assert!(
        listed["deployments"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["workflow_id"] == id.as_str()),
        "{listed}"
    );
    replay(&id).await;
}

/// How many runs the workflow id has had.
fn temporal_runs(workflow_id: &str) -> usize {
    let out = temporal(&[
        "workflow",
        "list",
        "--query",
        &format!("WorkflowId = '{workflow_id}'"),
        "--output",
        "json",
    ]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    // One JSON array, or one object per line, depending on the CLI version.
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Array(runs)) => runs.len(),
        _ => text
            .lines()
            .filter(|l| l.trim_start().starts_with('{'))
            .count(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updates_piling_up_during_a_github_outage_stay_bounded() {
    let h = Harness::start("outage-inbox").await;
    let server = h.serve();
    let api = Api::new(&server);
    let id = format!("outage-inbox-{}", std::process::id());
    let (status, started) = api.post("/api/v1/deployments", &deployment(&id)).await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    wait_for(&api, &id, "queued", |v| v["state"] == "queued").await;
    let statuses = format!(
        "/repos/acme/api/deployments/{}/statuses",
        started["deployment_id"]
    );
    h.github
        .fault(json!({"method": "POST", "path": statuses, "kind": "down", "seconds": 10}))
        .await;

    // 130 reports while GitHub takes none: one is being retried, at most 100 wait.
    let handle = client()
        .await
        .get_workflow_handle::<GitHubDeploymentWorkflow>(id.clone());
    let reports = 130;
    for i in 0..reports {
        let update = DeploymentStatusUpdate {
            status: if i + 1 == reports {
                "success"
            } else {
                "running"
            }
            .to_owned(),
            description: format!("step {i}"),
            ..DeploymentStatusUpdate::default()
        };
        handle
            .signal(
                GitHubDeploymentWorkflow::status_update,
                serde_json::to_value(&update).unwrap(),
                WorkflowSignalOptions::default(),
            )
            .await
            .expect("signal");
    }
    let result = handle
        .get_result(WorkflowGetResultOptions::default())
        .await
        .expect("result");
    assert_eq!(result.final_status, "success");
    // The initial status, the one in flight and the 100 that waited: the oldest waiting
    // ones were superseded, the success among the posted.
    assert!(
        result.status_updates <= 102,
        "{} statuses posted",
        result.status_updates
    );
    assert_eq!(
        h.github.count("POST", &statuses).await,
        result.status_updates as usize
    );
    let view = completed(&api, &id).await;
    assert_eq!(view["updates_received"], reports + 1);
    assert_eq!(
        view["updates"].as_array().unwrap().last().unwrap()["description"],
        format!("step {}", reports - 1)
    );
}
