use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn journal_records_github_requests_only() {
    let app = spawn_app().await;
    app.add_fault(json!({"path": "/repos/o/r/deployments/*", "kind": "500"}))
        .await;
    let d = app.deploy("o/r", json!({"ref": "main"})).await;
    app.get(&format!("/repos/o/r/deployments/{}", d["id"]))
        .await;
    app.get("/repos/o/r/deployments?per_page=5&page=2").await;
    app.get_as("/repos/o/r/deployments", "wrong").await;
    app.send(app.client.get(app.url("/_sandbox/health"))).await;

    let journal = app.journal().await;
    let summary: Vec<(String, String, u64)> = journal
        .iter()
        .map(|e| {
            (
                e["method"].as_str().unwrap_or_default().to_owned(),
                e["path"].as_str().unwrap_or_default().to_owned(),
                e["status"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    let path = format!("/repos/o/r/deployments/{}", d["id"]);
    assert_eq!(
        summary,
        [
            ("POST".to_owned(), "/repos/o/r/deployments".to_owned(), 201),
            ("GET".to_owned(), path, 500),
            ("GET".to_owned(), "/repos/o/r/deployments".to_owned(), 200),
            ("GET".to_owned(), "/repos/o/r/deployments".to_owned(), 401),
        ]
    );
    assert_eq!(journal[0]["query"], json!(null));
    assert_eq!(journal[0]["fault"], json!(null));
    assert_eq!(journal[1]["fault"], "500");
    assert_eq!(journal[2]["query"], "per_page=5&page=2");
    // A fault answers before authentication and uses no quota; a bad token uses the
    // unauthenticated one.
    let counted: Vec<bool> = journal.iter().map(|e| e["counted"] == true).collect();
    assert_eq!(counted, [true, false, true, true]);
    for entry in &journal {
        let keys: Vec<&str> = entry
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        let mut keys = keys;
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["counted", "fault", "method", "path", "query", "status", "time"]
        );
        let time = entry["time"].as_str().expect("time");
        assert!(
            chrono::NaiveDateTime::parse_from_str(time, "%Y-%m-%dT%H:%M:%S%.3fZ").is_ok(),
            "{time}"
        );
        assert_eq!(time.len(), "2024-01-01T00:00:00.000Z".len());
    }

    let since = app
        .send(app.client.get(app.url("/_sandbox/requests?since=3")))
        .await;
    assert_eq!(since.body.as_array().map(Vec::len), Some(1));
    assert_eq!(since.body[0]["status"], 401);
    let past_end = app
        .send(app.client.get(app.url("/_sandbox/requests?since=99")))
        .await;
    assert_eq!(past_end.body, json!([]));
    assert_eq!(app.server.sandbox().journal().len(), 4);
}

#[tokio::test]
async fn reset_clears_everything_but_credentials() {
    let app = spawn_app().await;
    let d = app.deploy("o/r", json!({"ref": "main"})).await;
    app.add_fault(json!({"path": "/nowhere", "kind": "500"}))
        .await;
    let reset = app.send(app.client.post(app.url("/_sandbox/reset"))).await;
    assert_eq!(reset.status, 204);
    assert_eq!(app.journal().await, Vec::<serde_json::Value>::new());
    let faults = app.send(app.client.get(app.url("/_sandbox/faults"))).await;
    assert_eq!(faults.body, json!([]));
    let gone = app
        .get(&format!("/repos/o/r/deployments/{}", d["id"]))
        .await;
    assert_eq!(gone.status, 404);
    assert_eq!(app.get("/repos/o/r/deployments").await.body, json!([]));
    // Ids keep growing across resets.
    let next = app.deploy("o/r", json!({"ref": "main"})).await;
    assert!(next["id"].as_u64() > d["id"].as_u64());
}

#[tokio::test]
async fn health_and_unknown_controls() {
    let app = spawn_app().await;
    let health = app.send(app.client.get(app.url("/_sandbox/health"))).await;
    assert_eq!(health.status, 200);
    let unknown = app.send(app.client.get(app.url("/_sandbox/nope"))).await;
    assert_eq!(unknown.status, 404);
    assert_eq!(app.journal().await.len(), 0);
}

#[tokio::test]
async fn reset_clears_pull_requests_comments_and_check_runs() {
    let app = spawn_app().await;
    let head = "0123456789abcdef0123456789abcdef01234567";
    app.create_pull(
        "o/r",
        json!({"number": 1, "base_ref": "main", "head_ref": "topic", "head_sha": head,
               "files": [{"filename": "a.txt", "status": "added", "content": "a"}]}),
    )
    .await;
    let comment = app
        .post("/repos/o/r/issues/1/comments", &json!({"body": "hi"}))
        .await;
    assert_eq!(comment.status, 201);
    let token = app.installation_token().await;
    let run = app
        .post_as(
            "/repos/o/r/check-runs",
            &token,
            &json!({"name": "lint", "head_sha": head}),
        )
        .await;
    assert_eq!(run.status, 201);

    let reset = app.send(app.client.post(app.url("/_sandbox/reset"))).await;
    assert_eq!(reset.status, 204);
    for path in [
        "/repos/o/r/pulls/1".to_owned(),
        "/repos/o/r/pulls/1/files".to_owned(),
        "/repos/o/r/issues/1/comments".to_owned(),
        format!("/repos/o/r/issues/comments/{}", comment.body["id"]),
        format!("/repos/o/r/check-runs/{}", run.body["id"]),
        format!("/repos/o/r/contents/a.txt?ref={head}"),
    ] {
        assert_eq!(app.get(&path).await.status, 404, "{path}");
    }
    let runs = app
        .get(&format!("/repos/o/r/commits/{head}/check-runs"))
        .await;
    assert_eq!(runs.body["total_count"], 0);
    // The branch of the forgotten pull request is gone with it.
    assert_eq!(
        app.get("/repos/o/r/commits/topic/check-runs").await.status,
        422
    );
}
