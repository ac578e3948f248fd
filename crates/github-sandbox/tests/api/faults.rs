use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{spawn_app, TOKEN};

#[tokio::test]
async fn server_errors_are_consumed_in_order_by_matching_requests() {
    let app = spawn_app().await;
    let fault = app
        .add_fault(
            json!({"method": "POST", "path": "/repos/*/*/deployments", "count": 2, "kind": "500"}),
        )
        .await;
    assert_eq!(fault["kind"], "500");
    assert!(fault["id"].as_u64().is_some());
    app.add_fault(json!({"path": "/repos/**", "kind": "502"}))
        .await;

    let pending = app.send(app.client.get(app.url("/_sandbox/faults"))).await;
    assert_eq!(pending.body.as_array().map(Vec::len), Some(2));

    // A GET does not match the first fault, so it takes the second.
    let bad_gateway = app.get("/repos/o/r/deployments").await;
    assert_eq!(bad_gateway.status, 502);
    assert!(bad_gateway.text.contains("502"));
    assert!(bad_gateway
        .header("content-type")
        .is_some_and(|c| c.starts_with("text/html")));

    for _ in 0..2 {
        let answer = app
            .post("/repos/o/r/deployments", &json!({"ref": "main"}))
            .await;
        assert_eq!(answer.status, 500);
        assert_eq!(answer.body, json!({"message": "Server Error"}));
        assert!(answer.header("x-github-request-id").is_some());
    }
    let ok = app
        .post("/repos/o/r/deployments", &json!({"ref": "main"}))
        .await;
    assert_eq!(ok.status, 201);
    let pending = app.send(app.client.get(app.url("/_sandbox/faults"))).await;
    assert_eq!(pending.body, json!([]));
}

#[tokio::test]
async fn faults_fire_before_authentication() {
    let app = spawn_app().await;
    app.add_fault(json!({"kind": "500"})).await;
    let answer = app.get_as("/repos/o/r/deployments", "bad-token").await;
    assert_eq!(answer.status, 500);
    assert_eq!(
        app.get_as("/repos/o/r/deployments", "bad-token")
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn primary_rate_limit_fault() {
    let app = spawn_app().await;
    app.add_fault(json!({"kind": "primary_rate_limit", "reset_in": 5}))
        .await;
    let before = chrono::Utc::now().timestamp().unsigned_abs();
    let answer = app.get("/repos/o/r/deployments").await;
    assert_eq!(answer.status, 403);
    assert_eq!(answer.header_u64("x-ratelimit-remaining"), 0);
    let reset = answer.header_u64("x-ratelimit-reset");
    assert!(
        (before + 4..=before + 6).contains(&reset),
        "{reset} vs {before}"
    );
    assert!(answer.body["message"]
        .as_str()
        .is_some_and(|m| m.starts_with("API rate limit exceeded for ")));
    assert_eq!(
        answer.body["documentation_url"],
        "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"
    );
    assert_eq!(app.get("/repos/o/r/deployments").await.status, 200);
}

#[tokio::test]
async fn secondary_rate_limit_fault() {
    let app = spawn_app().await;
    app.add_fault(json!({"kind": "secondary_rate_limit", "retry_after": 7}))
        .await;
    let answer = app.get("/repos/o/r/deployments").await;
    assert_eq!(answer.status, 403);
    assert_eq!(answer.header("retry-after"), Some("7"));
    assert!(answer.header_u64("x-ratelimit-remaining") > 0);
    let request_id = answer
        .header("x-github-request-id")
        .expect("request id")
        .to_owned();
    let message = answer.body["message"].as_str().expect("message");
    assert!(
        message.starts_with("You have exceeded a secondary rate limit."),
        "{message}"
    );
    assert!(message.contains(&request_id), "{message}");
}

#[tokio::test]
async fn latency_fault_delays_then_proceeds() {
    let app = spawn_app().await;
    app.add_fault(
        json!({"method": "post", "path": "/repos/**", "kind": "latency", "latency_ms": 300}),
    )
    .await;
    let started = Instant::now();
    let answer = app
        .post("/repos/o/r/deployments", &json!({"ref": "main"}))
        .await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(answer.status, 201);
    let journal = app.journal().await;
    assert_eq!(journal[0]["fault"], "latency");
    assert_eq!(journal[0]["status"], 201);
}

#[tokio::test]
async fn down_answers_503_until_cleared() {
    let app = spawn_app().await;
    app.add_fault(json!({"kind": "down", "seconds": 30})).await;
    for _ in 0..3 {
        assert_eq!(app.get("/repos/o/r/deployments").await.status, 503);
    }
    // The controls still work while GitHub is "down".
    let health = app.send(app.client.get(app.url("/_sandbox/health"))).await;
    assert_eq!(health.status, 200);
    let listed = app.send(app.client.get(app.url("/_sandbox/faults"))).await;
    assert_eq!(listed.body[0]["kind"], "down");
    let cleared = app
        .send(app.client.delete(app.url("/_sandbox/faults")))
        .await;
    assert_eq!(cleared.status, 204);
    assert_eq!(app.get("/repos/o/r/deployments").await.status, 200);
}

#[tokio::test]
async fn invalid_fault_specs_are_400() {
    let app = spawn_app().await;
    for body in [
        json!({"kind": "teapot"}),
        json!({"kind": "500", "count": 0}),
        json!({"kind": "500", "path": "repos"}),
        json!({"kind": "500", "colour": "red"}),
    ] {
        let answer = app
            .send(app.client.post(app.url("/_sandbox/faults")).json(&body))
            .await;
        assert_eq!(answer.status, 400, "{body}: {}", answer.text);
        assert!(answer.body["message"].is_string());
    }
    // Nothing was queued.
    assert_eq!(
        app.send(
            app.client
                .get(app.url("/_sandbox/faults"))
                .bearer_auth(TOKEN)
        )
        .await
        .body,
        json!([])
    );
}

#[tokio::test]
async fn bad_gateway_after_apply_creates_and_still_answers_502() {
    let app = spawn_app().await;
    app.add_fault(
        json!({"method": "POST", "path": "/repos/*/*/deployments", "kind": "502_after_apply"}),
    )
    .await;
    let answer = app
        .post("/repos/o/r/deployments", &json!({"ref": "main"}))
        .await;
    assert_eq!(answer.status, 502);
    let listed = app.get("/repos/o/r/deployments").await;
    assert_eq!(listed.status, 200);
    assert_eq!(
        listed.body.as_array().map(Vec::len),
        Some(1),
        "the deployment was created despite the 502"
    );
    let journal = app
        .send(app.client.get(app.url("/_sandbox/requests")))
        .await;
    assert_eq!(journal.body[0]["fault"], "502_after_apply");
    assert_eq!(journal.body[0]["status"], 502);
}

/// GitHub's secondary limit on content creation (80 per minute per caller), scaled down: a
/// write over the count is GitHub's 403 with `retry-after` and its message; reads and other
/// callers are not counted; the control validates and reports the limit.
#[tokio::test]
async fn content_creation_over_the_limit_is_a_secondary_rate_limit() {
    let app = spawn_app().await;
    let limits = app.url("/_sandbox/limits");
    let off = app.send(app.client.get(&limits)).await;
    assert_eq!((off.status, off.body.clone()), (200, json!(null)));
    for bad in [
        json!({"content_writes": 0, "window_ms": 1000}),
        json!({"content_writes": 2}),
        json!({"content_writes": 2, "window_ms": 1000, "other": 1}),
    ] {
        let refused = app.send(app.client.put(&limits).json(&bad)).await;
        assert_eq!(refused.status, 400, "{bad}");
    }
    let limit = json!({"content_writes": 2, "window_ms": 60_000});
    let set = app.send(app.client.put(&limits).json(&limit)).await;
    assert_eq!((set.status, set.body.clone()), (200, limit.clone()));
    assert_eq!(app.send(app.client.get(&limits)).await.body, limit);

    let created = app
        .post(
            "/repos/o/r/deployments",
            &json!({"ref": "main", "environment": "pr-7"}),
        )
        .await;
    assert_eq!(created.status, 201);
    let id = created.body["id"].as_u64().expect("id");
    assert_eq!(
        app.get("/repos/o/r/deployments").await.status,
        200,
        "reads do not count"
    );
    let status = app
        .post(
            &format!("/repos/o/r/deployments/{id}/statuses"),
            &json!({"state": "inactive"}),
        )
        .await;
    assert_eq!(status.status, 201);
    let refused = app.delete(&format!("/repos/o/r/deployments/{id}")).await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    let retry_after: u64 = refused
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("retry-after");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert!(
        refused.header_u64("x-ratelimit-remaining") > 0,
        "not the primary limit"
    );
    let message = refused.body["message"].as_str().expect("message");
    assert!(
        message.starts_with("You have exceeded a secondary rate limit."),
        "{message}"
    );
    assert!(refused.body["documentation_url"]
        .as_str()
        .is_some_and(|u| u.contains("secondary-rate-limits")));
    // Refused, so not done: the deployment is still there.
    assert_eq!(
        app.get(&format!("/repos/o/r/deployments/{id}"))
            .await
            .status,
        200
    );

    // Another caller has its own count.
    let token = app.installation_token().await;
    let other = app
        .post_as("/repos/o/r/deployments", &token, &json!({"ref": "main"}))
        .await;
    assert_eq!(other.status, 201);

    let lifted = app.send(app.client.delete(&limits)).await;
    assert_eq!(lifted.status, 204);
    assert_eq!(
        app.delete(&format!("/repos/o/r/deployments/{id}"))
            .await
            .status,
        204
    );
    let journal = app.journal().await;
    assert!(journal
        .iter()
        .any(|e| e["status"] == 403 && e["method"] == "DELETE"));
}
