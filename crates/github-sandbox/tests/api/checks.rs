use serde_json::{json, Value};

use crate::helpers::{assert_valid, spawn_app, TestApp, APP_ID, APP_SCHEMA};

const HEAD: &str = "c0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ff";

fn annotations(count: usize, first_line: u64) -> Vec<Value> {
    (0..count as u64)
        .map(|i| {
            json!({
                "path": "src/lib.rs",
                "start_line": first_line + i,
                "end_line": first_line + i,
                "annotation_level": "warning",
                "message": format!("warning {}", first_line + i),
            })
        })
        .collect()
}

/// A repository with pull request #4 at `HEAD` on branch `plan`, and an
/// installation token.
async fn setup(app: &TestApp) -> String {
    app.create_pull(
        "acme/infra",
        json!({"number": 4, "base_ref": "main", "head_ref": "plan", "head_sha": HEAD}),
    )
    .await;
    app.installation_token().await
}

#[tokio::test]
async fn plain_tokens_cannot_write_check_runs() {
    let app = spawn_app().await;
    let token = setup(&app).await;
    let body = json!({"name": "plan", "head_sha": HEAD});
    let created = app.post("/repos/acme/infra/check-runs", &body).await;
    assert_eq!(created.status, 403);
    assert_eq!(
        created.body,
        json!({
            "message": "You must authenticate via a GitHub App.",
            "documentation_url": "https://docs.github.com/rest/checks/runs#create-a-check-run",
            "status": "403"
        })
    );
    // Counted like any request, and not a rate limit.
    assert!(created.header_u64("x-ratelimit-remaining") > 0);

    let run = app
        .post_as("/repos/acme/infra/check-runs", &token, &body)
        .await;
    assert_eq!(run.status, 201, "{}", run.text);
    let path = format!("/repos/acme/infra/check-runs/{}", run.body["id"]);
    let updated = app.patch(&path, &json!({"status": "in_progress"})).await;
    assert_eq!(updated.status, 403);
    assert_eq!(
        updated.body["documentation_url"],
        "https://docs.github.com/rest/checks/runs#update-a-check-run"
    );
    // Reading is open to any token.
    assert_eq!(app.get(&path).await.status, 200);
    let listed = app
        .get(&format!("/repos/acme/infra/commits/{HEAD}/check-runs"))
        .await;
    assert_eq!(listed.body["total_count"], 1);
}

#[tokio::test]
async fn check_runs_are_created_updated_and_listed() {
    let app = spawn_app().await;
    let token = setup(&app).await;
    let base = &app.server.base_url;
    let created = app
        .post_as(
            "/repos/acme/infra/check-runs",
            &token,
            &json!({
                "name": "deploy-plan",
                "head_sha": HEAD,
                "status": "in_progress",
                "external_id": "wf-1",
                "details_url": "https://ci.example/runs/1",
                "output": {
                    "title": "Planning",
                    "summary": "2 files",
                    "text": "details",
                    "annotations": [
                        {"path": "a b.tf", "start_line": 3, "end_line": 3, "start_column": 2, "end_column": 9,
                         "annotation_level": "failure", "message": "bad", "title": "Lint", "raw_details": "raw"},
                        {"path": "main.tf", "start_line": 1, "end_line": 4, "annotation_level": "notice", "message": "fine"},
                    ],
                },
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let run = &created.body;
    let id = run["id"].as_u64().expect("id");
    let url = format!("{base}/repos/acme/infra/check-runs/{id}");
    assert_eq!(run["head_sha"], HEAD);
    assert!(run["node_id"].as_str().is_some_and(|n| !n.is_empty()));
    assert_eq!(run["external_id"], "wf-1");
    assert_eq!(run["url"], json!(url));
    assert_eq!(
        run["html_url"],
        json!(format!("{base}/acme/infra/runs/{id}"))
    );
    assert_eq!(run["details_url"], "https://ci.example/runs/1");
    assert_eq!(run["status"], "in_progress");
    assert_eq!(run["conclusion"], Value::Null);
    assert!(run["started_at"].is_string());
    assert_eq!(run["completed_at"], Value::Null);
    assert_eq!(
        run["output"],
        json!({"title": "Planning", "summary": "2 files", "text": "details",
               "annotations_count": 2, "annotations_url": format!("{url}/annotations")})
    );
    assert_eq!(run["name"], "deploy-plan");
    assert!(run["check_suite"]["id"].as_u64().is_some());
    assert_valid(&APP_SCHEMA, &run["app"]);
    assert_eq!(run["app"]["id"], APP_ID);
    assert_eq!(run["pull_requests"][0]["number"], 4);
    assert_eq!(run["pull_requests"][0]["head"]["ref"], "plan");

    let path = format!("/repos/acme/infra/check-runs/{id}");
    let updated = app
        .patch_as(
            &path,
            &token,
            &json!({"conclusion": "success", "output": {"summary": "done", "annotations": annotations(1, 10)}}),
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.text);
    let run = &updated.body;
    assert_eq!(run["status"], "completed");
    assert_eq!(run["conclusion"], "success");
    assert!(run["completed_at"].is_string());
    assert_eq!(run["started_at"], created.body["started_at"]);
    assert_eq!(run["output"]["title"], "Planning");
    assert_eq!(run["output"]["summary"], "done");
    assert_eq!(run["output"]["text"], "details");
    assert_eq!(run["output"]["annotations_count"], 3);
    assert_eq!(run["check_suite"], created.body["check_suite"]);
    assert_eq!(app.get(&path).await.body, updated.body);

    let stored = app.get(&format!("{path}/annotations")).await;
    assert_eq!(stored.status, 200);
    assert_eq!(
        stored.body[0],
        json!({
            "path": "a b.tf",
            "blob_href": format!("{base}/acme/infra/blob/{HEAD}/a%20b.tf"),
            "start_line": 3, "start_column": 2, "end_line": 3, "end_column": 9,
            "annotation_level": "failure", "title": "Lint", "message": "bad", "raw_details": "raw",
        })
    );
    let messages: Vec<&str> = stored
        .body
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|a| a["message"].as_str())
        .collect();
    assert_eq!(messages, ["bad", "fine", "warning 10"]);

    // A second run of the same name: by default only the newest is listed.
    let rerun = app
        .post_as(
            "/repos/acme/infra/check-runs",
            &token,
            &json!({"name": "deploy-plan", "head_sha": &HEAD[..7], "status": "queued"}),
        )
        .await;
    assert_eq!(rerun.status, 201, "{}", rerun.text);
    assert_eq!(rerun.body["head_sha"], HEAD);
    assert_eq!(rerun.body["output"]["annotations_count"], 0);
    let other = app
        .post_as(
            "/repos/acme/infra/check-runs",
            &token,
            &json!({"name": "lint", "head_sha": HEAD, "conclusion": "failure"}),
        )
        .await;
    assert_eq!(other.body["status"], "completed");

    let list = |query: &str| {
        let path = format!("/repos/acme/infra/commits/{query}");
        let app = &app;
        async move { app.get(&path).await }
    };
    let latest = list(&format!("{HEAD}/check-runs?check_name=deploy-plan")).await;
    assert_eq!(latest.status, 200, "{}", latest.text);
    assert_eq!(latest.body["total_count"], 1);
    assert_eq!(latest.body["check_runs"][0]["id"], rerun.body["id"]);
    let all = list(&format!(
        "{HEAD}/check-runs?check_name=deploy-plan&filter=all"
    ))
    .await;
    let ids: Vec<Value> = all.body["check_runs"]
        .as_array()
        .expect("array")
        .iter()
        .map(|r| r["id"].clone())
        .collect();
    assert_eq!(ids, [rerun.body["id"].clone(), json!(id)]);
    // A ref with slashes is one path segment, so clients percent-encode it.
    for git_ref in ["plan", "refs%2Fheads%2Fplan", &HEAD[..10]] {
        let by_ref = list(&format!("{git_ref}/check-runs")).await;
        assert_eq!(by_ref.body["total_count"], 2, "{git_ref}: {}", by_ref.text);
    }
    let completed = list(&format!("{HEAD}/check-runs?status=completed")).await;
    assert_eq!(completed.body["total_count"], 1);
    assert_eq!(completed.body["check_runs"][0]["name"], "lint");
    let none = list(&format!("{HEAD}/check-runs?check_name=nothing")).await;
    assert_eq!(none.body, json!({"total_count": 0, "check_runs": []}));
    let elsewhere = list("main/check-runs").await;
    assert_eq!(elsewhere.body["total_count"], 0);
    let unknown = list("no-such-branch/check-runs").await;
    assert_eq!(unknown.status, 422);
    assert_eq!(
        unknown.body["message"],
        "No commit found for SHA: no-such-branch"
    );
}

#[tokio::test]
async fn at_most_50_annotations_per_request() {
    let app = spawn_app().await;
    let token = setup(&app).await;
    let too_many = app
        .post_as(
            "/repos/acme/infra/check-runs",
            &token,
            &json!({"name": "lint", "head_sha": HEAD,
                    "output": {"title": "t", "summary": "s", "annotations": annotations(51, 1)}}),
        )
        .await;
    assert_eq!(too_many.status, 422);
    assert_eq!(
        too_many.body,
        json!({
            "message": "Invalid request.\n\nNo more than 50 items are allowed; 51 were supplied.",
            "documentation_url": "https://docs.github.com/rest/checks/runs#create-a-check-run",
            "status": "422"
        })
    );
    let created = app
        .post_as(
            "/repos/acme/infra/check-runs",
            &token,
            &json!({"name": "lint", "head_sha": HEAD,
                    "output": {"title": "t", "summary": "s", "annotations": annotations(50, 1)}}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let path = format!("/repos/acme/infra/check-runs/{}", created.body["id"]);
    let refused = app
        .patch_as(
            &path,
            &token,
            &json!({"output": {"summary": "s", "annotations": annotations(51, 51)}}),
        )
        .await;
    assert_eq!(refused.status, 422);
    let appended = app
        .patch_as(
            &path,
            &token,
            &json!({"output": {"summary": "s", "annotations": annotations(50, 51)}}),
        )
        .await;
    assert_eq!(appended.status, 200, "{}", appended.text);
    assert_eq!(appended.body["output"]["annotations_count"], 100);

    let url = format!("{}{path}/annotations", app.server.base_url);
    let page = app
        .get(&format!("{path}/annotations?per_page=40&page=3"))
        .await;
    let items = page.body.as_array().expect("array");
    assert_eq!(items.len(), 20);
    assert_eq!(items[19]["message"], "warning 100");
    assert_eq!(
        page.header("link"),
        Some(
            format!(
            "<{url}?per_page=40&page=2>; rel=\"prev\", <{url}?per_page=40&page=1>; rel=\"first\""
        )
            .as_str()
        )
    );
}

#[tokio::test]
async fn invalid_check_runs_are_refused_like_github() {
    let app = spawn_app().await;
    let token = setup(&app).await;
    let create = |body: Value| {
        let app = &app;
        let token = token.clone();
        async move {
            app.post_as("/repos/acme/infra/check-runs", &token, &body)
                .await
        }
    };
    let message = |answer: &crate::helpers::Answer| {
        answer.body["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };

    let unconcluded = create(json!({"name": "n", "head_sha": HEAD, "status": "completed"})).await;
    assert_eq!(unconcluded.status, 422);
    assert_eq!(
        message(&unconcluded),
        "Invalid request.\n\n\"conclusion\" wasn't supplied."
    );
    let finished_at =
        create(json!({"name": "n", "head_sha": HEAD, "completed_at": "2024-05-01T10:00:00Z"}))
            .await;
    assert_eq!(finished_at.status, 422);

    let no_name = create(json!({"head_sha": HEAD})).await;
    assert_eq!(
        message(&no_name),
        "Invalid request.\n\n\"name\" wasn't supplied."
    );
    let bad_status = create(json!({"name": "n", "head_sha": HEAD, "status": "done"})).await;
    assert_eq!(bad_status.status, 422);
    assert!(
        message(&bad_status).contains("status"),
        "{}",
        bad_status.text
    );
    let bad_level = create(json!({"name": "n", "head_sha": HEAD, "output": {"title": "t", "summary": "s",
        "annotations": [{"path": "a", "start_line": 1, "end_line": 1, "annotation_level": "error", "message": "m"}]}})).await;
    assert_eq!(bad_level.status, 422);
    let no_summary = create(json!({"name": "n", "head_sha": HEAD, "output": {"title": "t"}})).await;
    assert_eq!(
        message(&no_summary),
        "Invalid request.\n\n\"summary\" wasn't supplied."
    );

    let branch = create(json!({"name": "n", "head_sha": "plan"})).await;
    assert_eq!(branch.status, 422);
    assert_eq!(message(&branch), "No commit found for SHA: plan");

    // Output texts: characters first, then bytes, as GitHub checks them.
    let long = create(json!({"name": "n", "head_sha": HEAD, "output": {"title": "t", "summary": "x".repeat(65_536)}})).await;
    assert_eq!(long.status, 422);
    assert_eq!(
        message(&long),
        "Invalid request.\n\nOnly 65535 characters are allowed; 65536 were supplied."
    );
    let wide = create(json!({"name": "n", "head_sha": HEAD, "output": {"title": "t", "summary": "é".repeat(40_000)}})).await;
    assert_eq!(wide.status, 422);
    assert_eq!(
        wide.body["errors"],
        json!([{"resource": "CheckRun", "code": "custom", "field": "summary",
                "message": "summary exceeds a maximum bytesize of 65535"}])
    );

    // Nothing above was created.
    let listed = app
        .get(&format!(
            "/repos/acme/infra/commits/{HEAD}/check-runs?filter=all"
        ))
        .await;
    assert_eq!(listed.body["total_count"], 0);
    let unknown = app
        .patch_as(
            "/repos/acme/infra/check-runs/999999",
            &token,
            &json!({"status": "queued"}),
        )
        .await;
    assert_eq!(unknown.status, 404);
}
