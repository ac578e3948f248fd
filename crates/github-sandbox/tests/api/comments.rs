use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{assert_valid, spawn_app, TestApp, APP_ID, ISSUE_COMMENT_SCHEMA};

const HEAD: &str = "abcdefabcdefabcdefabcdefabcdefabcdefabcd";

async fn create(app: &TestApp, number: u64) {
    app.create_pull(
        "acme/shop",
        json!({"number": number, "base_ref": "main", "head_ref": format!("topic-{number}"), "head_sha": HEAD}),
    )
    .await;
}

fn path(number: u64) -> String {
    format!("/repos/acme/shop/issues/{number}/comments")
}

/// Waits until the clock has left the second of `timestamp`, so a later
/// write gets a later (second-precision) `updated_at`.
async fn wait_past(timestamp: &Value) {
    let time = chrono::DateTime::parse_from_rfc3339(timestamp.as_str().expect("timestamp"))
        .expect("RFC 3339");
    while chrono::Utc::now().timestamp() <= time.timestamp() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn comments_are_created_listed_and_schema_valid() {
    let app = spawn_app().await;
    create(&app, 5).await;
    let base = &app.server.base_url;

    let plain = app.post(&path(5), &json!({"body": "Plan: 2 to add"})).await;
    assert_eq!(plain.status, 201, "{}", plain.text);
    let c = &plain.body;
    assert_valid(&ISSUE_COMMENT_SCHEMA, c);
    let id = c["id"].as_u64().expect("id");
    assert_eq!(c["body"], "Plan: 2 to add");
    assert_eq!(
        c["url"],
        json!(format!("{base}/repos/acme/shop/issues/comments/{id}"))
    );
    assert_eq!(
        c["html_url"],
        json!(format!("{base}/acme/shop/pull/5#issuecomment-{id}"))
    );
    assert_eq!(
        c["issue_url"],
        json!(format!("{base}/repos/acme/shop/issues/5"))
    );
    assert_eq!(c["user"]["login"], "gdt-sandbox[bot]");
    assert_eq!(c["user"]["type"], "Bot");
    assert_eq!(c["performed_via_github_app"], Value::Null);
    assert_eq!(c["created_at"], c["updated_at"]);

    // Through an installation token the App's bot comments.
    let token = app.installation_token().await;
    let by_app = app
        .post_as(&path(5), &token, &json!({"body": "from the App"}))
        .await;
    assert_eq!(by_app.status, 201, "{}", by_app.text);
    assert_valid(&ISSUE_COMMENT_SCHEMA, &by_app.body);
    assert_eq!(by_app.body["user"]["login"], "gdt-sandbox[bot]");
    assert_eq!(by_app.body["user"]["type"], "Bot");
    assert_ne!(by_app.body["user"]["id"], c["user"]["id"]);
    assert_eq!(by_app.body["performed_via_github_app"]["id"], APP_ID);

    let listed = app.get(&path(5)).await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body, json!([plain.body, by_app.body]));
    assert_eq!(listed.header("link"), None);
    let fetched = app
        .get(&format!("/repos/acme/shop/issues/comments/{id}"))
        .await;
    assert_eq!(fetched.body, plain.body);
    let pull = app.get("/repos/acme/shop/pulls/5").await;
    assert_eq!(pull.body["comments"], 2);
}

#[tokio::test]
async fn comments_paginate_oldest_first() {
    let app = spawn_app().await;
    create(&app, 9).await;
    for i in 0..65 {
        let answer = app
            .post(&path(9), &json!({"body": format!("comment {i}")}))
            .await;
        assert_eq!(answer.status, 201, "{}", answer.text);
    }
    let url = format!("{}{}", app.server.base_url, path(9));
    let first = app.get(&path(9)).await;
    let items = first.body.as_array().expect("array");
    assert_eq!(items.len(), 30);
    assert_eq!(items[0]["body"], "comment 0");
    assert_eq!(
        first.header("link"),
        Some(format!("<{url}?page=2>; rel=\"next\", <{url}?page=3>; rel=\"last\"").as_str())
    );
    let last = app.get(&format!("{}?page=3", path(9))).await;
    let items = last.body.as_array().expect("array");
    let bodies: Vec<&str> = items.iter().filter_map(|c| c["body"].as_str()).collect();
    assert_eq!(
        bodies,
        [
            "comment 60",
            "comment 61",
            "comment 62",
            "comment 63",
            "comment 64"
        ]
    );
    assert_eq!(
        last.header("link"),
        Some(format!("<{url}?page=2>; rel=\"prev\", <{url}?page=1>; rel=\"first\"").as_str())
    );
    let ids: Vec<u64> = app
        .get(&format!("{}?per_page=100", path(9)))
        .await
        .body
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|c| c["id"].as_u64())
        .collect();
    assert_eq!(ids.len(), 65);
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
}

#[tokio::test]
async fn updating_a_comment_replaces_its_body_and_moves_updated_at() {
    let app = spawn_app().await;
    create(&app, 2).await;
    let created = app.post(&path(2), &json!({"body": "first"})).await.body;
    let id = created["id"].as_u64().expect("id");
    wait_past(&created["created_at"]).await;

    let comment_path = format!("/repos/acme/shop/issues/comments/{id}");
    let updated = app.patch(&comment_path, &json!({"body": "second"})).await;
    assert_eq!(updated.status, 200, "{}", updated.text);
    assert_valid(&ISSUE_COMMENT_SCHEMA, &updated.body);
    assert_eq!(updated.body["body"], "second");
    assert_eq!(updated.body["id"], created["id"]);
    assert_eq!(updated.body["created_at"], created["created_at"]);
    assert!(
        updated.body["updated_at"].as_str() > created["updated_at"].as_str(),
        "{} vs {}",
        updated.body["updated_at"],
        created["updated_at"]
    );
    assert_eq!(app.get(&comment_path).await.body, updated.body);
    assert_eq!(app.get(&path(2)).await.body, json!([updated.body]));

    let other_repo = app
        .patch(
            &format!("/repos/acme/other/issues/comments/{id}"),
            &json!({"body": "x"}),
        )
        .await;
    assert_eq!(other_repo.status, 404);
    let unknown = app
        .patch(
            "/repos/acme/shop/issues/comments/999999",
            &json!({"body": "x"}),
        )
        .await;
    assert_eq!(unknown.status, 404);
}

#[tokio::test]
async fn a_deleted_comment_is_gone_from_its_pull_request() {
    let app = spawn_app().await;
    create(&app, 3).await;
    let first = app.post(&path(3), &json!({"body": "first"})).await.body;
    let second = app.post(&path(3), &json!({"body": "second"})).await.body;
    let comment_path = |c: &Value| format!("/repos/acme/shop/issues/comments/{}", c["id"]);
    let url = |c: &Value| app.url(&comment_path(c));
    let deleted = app
        .send(
            app.client
                .delete(url(&second))
                .bearer_auth(crate::helpers::TOKEN),
        )
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    assert_eq!(app.get(&comment_path(&second)).await.status, 404);
    assert_eq!(app.get(&path(3)).await.body, json!([first]));
    let again = app
        .send(
            app.client
                .delete(url(&second))
                .bearer_auth(crate::helpers::TOKEN),
        )
        .await;
    assert_eq!(again.status, 404);
}

#[tokio::test]
async fn blank_or_missing_bodies_are_422_and_other_issues_404() {
    let app = spawn_app().await;
    create(&app, 1).await;
    let blank = app.post(&path(1), &json!({"body": ""})).await;
    assert_eq!(blank.status, 422);
    assert_eq!(
        blank.body,
        json!({
            "message": "Validation Failed",
            "errors": [{"resource": "IssueComment", "code": "missing_field", "field": "body"}],
            "documentation_url": "https://docs.github.com/rest/issues/comments#create-an-issue-comment",
            "status": "422"
        })
    );
    let spaces = app.post(&path(1), &json!({"body": "  \n "})).await;
    assert_eq!(spaces.status, 422);
    let missing = app.post(&path(1), &json!({})).await;
    assert_eq!(missing.status, 422);
    assert_eq!(
        missing.body["message"],
        "Invalid request.\n\n\"body\" wasn't supplied."
    );
    let not_text = app.post(&path(1), &json!({"body": 5})).await;
    assert_eq!(not_text.status, 422);
    let too_long = app
        .post(&path(1), &json!({"body": "x".repeat(65_537)}))
        .await;
    assert_eq!(too_long.status, 422);
    assert_eq!(
        too_long.body["errors"][0]["message"],
        "body is too long (maximum is 65536 characters)"
    );
    assert_eq!(app.get(&path(1)).await.body, json!([]));

    let created = app.post(&path(1), &json!({"body": "ok"})).await.body;
    let blank_update = app
        .patch(
            &format!("/repos/acme/shop/issues/comments/{}", created["id"]),
            &json!({"body": ""}),
        )
        .await;
    assert_eq!(blank_update.status, 422);
    assert_eq!(
        blank_update.body["documentation_url"],
        "https://docs.github.com/rest/issues/comments#update-an-issue-comment"
    );

    // Only pull requests that were created have comments.
    let elsewhere = app.post(&path(2), &json!({"body": "hello"})).await;
    assert_eq!(elsewhere.status, 404);
    assert_eq!(elsewhere.body["message"], "Not Found");
    assert_eq!(app.get(&path(2)).await.status, 404);
}
