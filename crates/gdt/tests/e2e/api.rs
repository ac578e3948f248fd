//! End to end through the HTTP API: `gdt serve` and `gdt worker` as their own processes, a
//! real Temporal dev server and the GitHub sandbox over HTTP.

use std::time::Duration;

use crate::support::{
    gdt, gdt_json, temporal_cli, wait_until, Api, Harness, PrivateTemporal, ServerProcess,
    API_TOKEN, API_TOKEN_NEXT,
};
use reqwest::StatusCode;
use serde_json::{json, Value};

const SHA: &str = "9c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d";

fn deployment(workflow_id: &str) -> Value {
    json!({
        "workflow_id": workflow_id,
        "repo_owner": "acme",
        "repo_name": "api",
        "commit_sha": SHA,
        "branch_name": "main",
        "environment": "staging",
        "status": "queued",
        "harness_execution_id": "exec-1",
        "description": "Deploying from the pipeline"
    })
}

/// Waits until the deployment's workflow has posted `state` as its current state.
async fn wait_for_state(api: &Api, id: &str, state: &str) -> Value {
    let what = format!("reached {state}");
    api.wait_for_deployment(id, &what, Duration::from_secs(20), |v| v["state"] == state)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipeline_reports_a_deployment_through_the_api() {
    let h = Harness::start("api-flow").await;
    let server = h.serve();
    let api = Api::new(&server);
    let id = "api-flow-1";

    // Start: 201 with the GitHub deployment id.
    let (status, started) = api.post("/api/v1/deployments", &deployment(id)).await;
    assert_eq!(status, StatusCode::CREATED, "{started}\n{}", server.logs());
    assert_eq!(started["workflow_id"], id);
    assert_eq!(started["created"], true);
    let deployment_id = started["deployment_id"]
        .as_u64()
        .unwrap_or_else(|| panic!("no deployment id: {started}"));
    assert_eq!(
        started["status_url"],
        format!("/api/v1/deployments/{id}/status")
    );

    // The pipeline retries its call: 200, same workflow, nothing new on GitHub.
    let (status, again) = api.post("/api/v1/deployments", &deployment(id)).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["run_id"], started["run_id"]);
    assert_eq!(again["created"], false);
    assert_eq!(again["deployment_id"], deployment_id);
    assert_eq!(h.github.count("POST", "/deployments").await, 1);

    // The same workflow id for another commit is a conflict, not a silent 200.
    let mut other = deployment(id);
    other["commit_sha"] = json!("0123456789abcdef0123456789abcdef01234567");
    let (status, problem) = api.post("/api/v1/deployments", &other).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(problem["code"], "workflow_id_conflict");

    // Status updates: accepted, duplicate event, unknown word.
    let status_path = format!("/api/v1/deployments/{id}/status");
    let (status, ack) = api
        .post(
            &status_path,
            &json!({"status": "running", "event_id": "e1", "log_url": "https://ci.example/1"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{ack}");
    assert_eq!(ack["outcome"], "queued");
    assert_eq!(ack["state"], "in_progress");
    let (status, ack) = api
        .post(
            &status_path,
            &json!({"status": "running", "event_id": "e1"}),
        )
        .await;
    // The pipeline retried: Temporal knows the update by its event_id and answers the same.
    assert_eq!(status, StatusCode::ACCEPTED, "{ack}");
    assert_eq!(ack["outcome"], "queued");
    let (status, problem) = api.post(&status_path, &json!({"status": "sucess"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["code"], "unknown_status");
    assert!(problem["detail"].as_str().unwrap().contains("sucess"));
    wait_for_state(&api, id, "in_progress").await;

    // Terminal: success is accepted, anything after it is a conflict.
    let (status, ack) = api
        .post(
            &status_path,
            &json!({"status": "success", "event_id": "e2"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{ack}");
    let (status, problem) = api.post(&status_path, &json!({"status": "running"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert!(
        problem["code"] == "deployment_terminal" || problem["code"] == "deployment_finished",
        "{problem}"
    );

    // Show: the deployment-state query.
    let view = wait_for_state(&api, id, "success").await;
    assert_eq!(view["deployment_id"], deployment_id);
    assert_eq!(view["terminal"], true);
    assert_eq!(view["repository"], "acme/api");
    let outcomes: Vec<&str> = view["updates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["applied", "applied", "applied"], "{view}");

    // Once the workflow has finished: 409 deployment_finished.
    wait_until(Duration::from_secs(20), "the workflow to finish", || {
        let out = gdt(&h.env, h.dir.path(), &["track", "wait", id]);
        out.status.success()
    });
    let (status, problem) = api.post(&status_path, &json!({"status": "running"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(problem["code"], "deployment_finished");

    // GitHub saw one deployment and each status once: queued, in_progress, success.
    let statuses = h
        .github
        .get(&format!(
            "/repos/acme/api/deployments/{deployment_id}/statuses"
        ))
        .await;
    let mut states: Vec<&str> = statuses
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["state"].as_str().unwrap())
        .collect();
    states.reverse();
    assert_eq!(states, ["queued", "in_progress", "success"]);

    // Unknown deployments: 404 for show and for status.
    let (status, problem) = api.get("/api/v1/deployments/no-such-deployment").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{problem}");
    let (status, problem) = api
        .post(
            "/api/v1/deployments/no-such-deployment/status",
            &json!({"status": "running"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{problem}");

    // List from visibility (eventually consistent), filtered, newest first.
    let path = "/api/v1/deployments?repository=acme/api&environment=staging&state=success";
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let listed = loop {
        let (status, list) = api.get(path).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        let rows = list["deployments"].as_array().cloned().unwrap_or_default();
        if rows.iter().any(|r| r["workflow_id"] == id) {
            break rows;
        }
        assert!(std::time::Instant::now() < deadline, "never listed: {list}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let row = listed.iter().find(|r| r["workflow_id"] == id).unwrap();
    assert_eq!(row["commit_sha"], SHA);
    assert_eq!(row["workflow_status"], "completed");
    let (status, problem) = api.get("/api/v1/deployments?repository=acme").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let (status, problem) = api.get("/api/v1/deployments?limit=lots").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_refuses_bad_requests_with_problem_details() {
    let h = Harness::start("api-refusals").await;
    let server = h.serve();
    let api = Api::new(&server);
    let url = format!("{}/api/v1/deployments", server.api);

    // Missing token, wrong token, wrong scheme: 401 with a challenge; the next token works.
    for request in [
        api.http.get(&url),
        api.http.get(&url).bearer_auth("not-a-token"),
        api.http.get(&url).basic_auth("user", Some(API_TOKEN)),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let challenge = response.headers()["www-authenticate"].to_str().unwrap();
        assert!(challenge.starts_with("Bearer realm=\"gdt\""), "{challenge}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "unauthorized");
        assert!(!body.to_string().contains(API_TOKEN));
    }
    let response = api
        .http
        .get(&url)
        .bearer_auth(API_TOKEN_NEXT)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // Health needs no token; the OpenAPI document neither.
    let health = reqwest::get(format!("{}/health", server.health))
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let ready: Value = reqwest::get(format!("{}/ready", server.health))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["status"], "ready", "{ready}");
    assert_eq!(ready["github"]["status"], "ok", "{ready}");
    let doc: Value = reqwest::get(format!("{}/api/v1/openapi.json", server.api))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{doc}");
    for path in [
        "/api/v1/deployments",
        "/api/v1/deployments/{workflow_id}",
        "/api/v1/deployments/{workflow_id}/status",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }

    // Bodies: malformed JSON 400, wrong content type 415, missing fields 422, too large 413.
    let send_raw = |body: Vec<u8>, content_type: &'static str| {
        api.http
            .post(&url)
            .bearer_auth(API_TOKEN)
            .header("content-type", content_type)
            .body(body)
    };
    let (status, problem) = api
        .send(send_raw(b"{\"repo_owner\": ".to_vec(), "application/json"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    let (status, problem) = api
        .send(send_raw(b"repo_owner=acme".to_vec(), "text/plain"))
        .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{problem}");
    let (status, problem) = api
        .post("/api/v1/deployments", &json!({"repo_owner": "acme"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("commit_sha"),
        "{problem}"
    );
    let (status, problem) = api
        .post(
            "/api/v1/deployments",
            &json!({"repo_owner": "acme", "repo_name": "api", "commit_sha": SHA,
                    "environment": "staging", "status": "launched"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let mut big = deployment("api-too-big");
    big["description"] = json!("x".repeat(2 * 1024 * 1024));
    // Its own client: the server answers before reading the body and closes that connection,
    // which a pooled client would otherwise try to reuse.
    let (status, problem) = Api::new(&server).post("/api/v1/deployments", &big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{problem}");
    assert_eq!(problem["code"], "payload_too_large");
    let (status, _) = api.get("/api/v1/nothing-here").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Nothing of the refused requests reached GitHub.
    assert_eq!(h.github.count("POST", "/deployments").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporal_down_is_a_503_not_a_hang() {
    let mut temporal = PrivateTemporal::start();
    let h = Harness::start_on("api-temporal-down", &temporal.address).await;
    let mut env = h.env.clone();
    env.push(("GDT_SERVER_TEMPORAL_TIMEOUT".into(), "2s".into()));
    env.push(("GDT_SERVER_READY_CACHE".into(), "0s".into()));
    let server = ServerProcess::start(&env, h.dir.path());
    let api = Api::new(&server);

    // Up: the list answers.
    let (status, list) = api.get("/api/v1/deployments").await;
    assert_eq!(status, StatusCode::OK, "{list}\n{}", server.logs());

    temporal.stop();
    let started = std::time::Instant::now();
    let (status, problem) = api
        .post("/api/v1/deployments", &deployment("api-temporal-down-1"))
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{problem}");
    assert_eq!(problem["code"], "temporal_unavailable", "{problem}");
    let (status, problem) = api.get("/api/v1/deployments/whatever").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{problem}");
    let (status, problem) = api
        .post(
            "/api/v1/deployments/whatever/status",
            &json!({"status": "running"}),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{problem}");
    // A signed webhook delivery: 503, so GitHub shows it failed and can redeliver.
    let delivery = std::fs::read(format!(
        "{}/../../fixtures/github-webhooks/pull_request.opened.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let response = api
        .http
        .post(format!("{}/webhook", server.api))
        .header("content-type", "application/json")
        .header("x-github-event", "pull_request")
        .header(
            "x-hub-signature-256",
            gdt_server::webhook::signature::sign(crate::support::WEBHOOK_SECRET, &delivery),
        )
        .body(delivery)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    // Bounded by the configured timeouts, not a hang (a loose bound, not a benchmark).
    assert!(started.elapsed() < Duration::from_secs(25));

    let ready = reqwest::get(format!("{}/ready", server.health))
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let health = reqwest::get(format!("{}/health", server.health))
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);

    // A server started while Temporal is down starts anyway, answers 503, and says why.
    let mut env = h.env.clone();
    env.push(("GDT_TEMPORAL_HOST_PORT".into(), "127.0.0.1:1".into()));
    env.push(("GDT_SERVER_TEMPORAL_TIMEOUT".into(), "2s".into()));
    let early = ServerProcess::start(&env, h.dir.path());
    let (status, problem) = Api::new(&early).get("/api/v1/deployments").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("127.0.0.1:1"),
        "{problem}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_stops_gracefully_on_sigterm() {
    let h = Harness::start("api-shutdown").await;
    let mut server = h.serve();
    let status = server.terminate();
    assert!(status.success(), "{status:?}\n{}", server.logs());
    assert!(
        server.logs().contains("API server stopped"),
        "{}",
        server.logs()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gdt_track_goes_through_the_api() {
    let h = Harness::start("api-cli").await;
    let server = h.serve();
    let mut env = h.env.clone();
    env.push(("GDT_API_URL".into(), server.api.clone()));
    env.push(("GDT_API_TOKEN".into(), API_TOKEN.into()));
    // No Temporal for the CLI: everything must go through the API.
    env.retain(|(k, _)| k != "GDT_TEMPORAL_HOST_PORT");
    env.push(("GDT_TEMPORAL_HOST_PORT".into(), "127.0.0.1:1".into()));
    let dir = h.dir.path();
    let id = "api-cli-1";
    let started = gdt_json(
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
            "qa",
            "--workflow-id",
            id,
        ],
    );
    assert_eq!(started["workflow_id"], id);
    assert!(started["deployment_id"].as_u64().is_some(), "{started}");
    gdt_json(&env, dir, &["track", "update", id, "--status", "success"]);
    let refused = gdt(&env, dir, &["track", "update", id, "--status", "bogus"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("bogus"));
    let view = gdt_json(&env, dir, &["track", "wait", id]);
    assert_eq!(view["state"], "success", "{view}");
    let list = gdt_json(&env, dir, &["track", "list", "--repo", "acme/api"]);
    assert!(list.as_array().is_some(), "{list}");
}

/// Property-based: schemathesis generates requests from the served OpenAPI document and
/// checks every answer against it (no 5xx, documented status codes, content types, bodies
/// and headers). On a Temporal server of its own: deployments of other tests, whose workers
/// are gone, would rightly answer 503 to the queries schemathesis sends them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_errors_and_no_undocumented_answers() {
    let temporal = PrivateTemporal::start();
    let h = Harness::start_on("api-schemathesis", &temporal.address).await;
    let server = h.serve();
    let st = temporal_cli().with_file_name("st");
    assert!(
        st.exists(),
        "schemathesis is not installed at {}: run `make bootstrap`",
        st.display()
    );
    let report = h.dir.path().join("schemathesis.xml");
    let output = tokio::process::Command::new(&st)
        .current_dir(h.dir.path())
        .env("NO_COLOR", "1")
        .args([
            "run",
            &format!("{}/api/v1/openapi.json", server.api),
            "--header",
            &format!("Authorization: Bearer {API_TOKEN}"),
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,\
             response_schema_conformance,response_headers_conformance",
            "--max-examples",
            "25",
            "--seed",
            "1",
            "--workers",
            "1",
            "--request-timeout",
            "20",
            "--generation-database",
            "none",
            "--report-junit-path",
            report.to_str().unwrap(),
        ])
        .output()
        .await
        .expect("run schemathesis");
    assert!(
        output.status.success(),
        "schemathesis found problems:\n{}\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        server.logs()
    );
}
