use serde_json::json;

use crate::helpers::{assert_valid, spawn_app, DEPLOYMENT_SCHEMA, STATUS_SCHEMA};

#[tokio::test]
async fn create_status_returns_201_and_a_schema_valid_status() {
    let app = spawn_app().await;
    let d = app.deploy("acme/shop", json!({"ref": "main"})).await;
    let id = d["id"].as_u64().expect("id");
    let answer = app
        .post(
            &format!("/repos/acme/shop/deployments/{id}/statuses"),
            &json!({"state": "in_progress", "target_url": "https://ci.example/run/1", "description": "deploying"}),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let s = &answer.body;
    assert_valid(&STATUS_SCHEMA, s);
    assert_eq!(s["state"], "in_progress");
    // GitHub mirrors target_url and log_url.
    assert_eq!(s["target_url"], "https://ci.example/run/1");
    assert_eq!(s["log_url"], "https://ci.example/run/1");
    assert_eq!(s["environment"], "production");
    assert_eq!(s["environment_url"], "");
    assert_eq!(s["description"], "deploying");
    assert_eq!(s["creator"]["login"], "gdt-sandbox[bot]");
    let base = &app.server.base_url;
    assert_eq!(
        s["deployment_url"],
        json!(format!("{base}/repos/acme/shop/deployments/{id}"))
    );
    assert_eq!(
        s["url"],
        json!(format!(
            "{base}/repos/acme/shop/deployments/{id}/statuses/{}",
            s["id"]
        ))
    );

    let bare = app
        .set_status("acme/shop", id, json!({"state": "success", "log_url": "https://logs.example/1", "environment_url": "https://shop.example"}))
        .await;
    assert_valid(&STATUS_SCHEMA, &bare);
    assert_eq!(bare["target_url"], "https://logs.example/1");
    let minimal = app
        .set_status("acme/shop", id, json!({"state": "queued"}))
        .await;
    assert_valid(&STATUS_SCHEMA, &minimal);
    assert_eq!(minimal["description"], "");
    assert_eq!(minimal["target_url"], "");

    // Listing is newest first and the deployment's updated_at follows.
    let list = app
        .get(&format!("/repos/acme/shop/deployments/{id}/statuses"))
        .await;
    assert_eq!(list.status, 200);
    let states: Vec<&str> = list
        .body
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|s| s["state"].as_str())
        .collect();
    assert_eq!(states, ["queued", "success", "in_progress"]);
    let fetched = app.get(&format!("/repos/acme/shop/deployments/{id}")).await;
    assert_valid(&DEPLOYMENT_SCHEMA, &fetched.body);
    assert_eq!(fetched.body["updated_at"], minimal["created_at"]);
}

#[tokio::test]
async fn invalid_state_and_long_description_are_422() {
    let app = spawn_app().await;
    let d = app.deploy("o/r", json!({"ref": "main"})).await;
    let path = format!("/repos/o/r/deployments/{}/statuses", d["id"]);
    let answer = app.post(&path, &json!({"state": "exploded"})).await;
    assert_eq!(answer.status, 422);
    assert_eq!(
        answer.body,
        json!({
            "message": "Validation Failed",
            "errors": [{
                "resource": "DeploymentStatus",
                "code": "custom",
                "field": "state",
                "message": "state is not included in the list"
            }],
            "documentation_url": "https://docs.github.com/rest/deployments/statuses#create-a-deployment-status",
            "status": "422"
        })
    );
    let long = app
        .post(
            &path,
            &json!({"state": "success", "description": "x".repeat(141)}),
        )
        .await;
    assert_eq!(long.status, 422);
    assert_eq!(
        long.body["errors"][0]["message"],
        "description is too long (maximum is 140 characters)"
    );
    let exact = app
        .post(
            &path,
            &json!({"state": "success", "description": "é".repeat(140)}),
        )
        .await;
    assert_eq!(exact.status, 201);
    let missing = app.post(&path, &json!({})).await;
    assert_eq!(missing.status, 422);
    assert_eq!(
        missing.body["message"],
        "Invalid request.\n\n\"state\" wasn't supplied."
    );
    let unknown = app
        .post(
            "/repos/o/r/deployments/424242/statuses",
            &json!({"state": "success"}),
        )
        .await;
    assert_eq!(unknown.status, 404);
    let unknown_list = app.get("/repos/o/r/deployments/424242/statuses").await;
    assert_eq!(unknown_list.status, 404);
}

#[tokio::test]
async fn auto_inactive_deactivates_earlier_successes_of_the_environment_only() {
    let app = spawn_app().await;
    let repo = "acme/web";
    let id = |d: &serde_json::Value| d["id"].as_u64().expect("id");
    // GitHub never inactivates production deployments (the default
    // environment, `production`, is one), so this runs in `qa`.

    let old = id(&app
        .deploy(repo, json!({"ref": "main", "environment": "qa"}))
        .await);
    app.set_status(repo, old, json!({"state": "success"})).await;
    let failed = id(&app
        .deploy(repo, json!({"ref": "main", "environment": "qa"}))
        .await);
    app.set_status(repo, failed, json!({"state": "failure"}))
        .await;
    let staging = id(&app
        .deploy(repo, json!({"ref": "main", "environment": "staging"}))
        .await);
    app.set_status(repo, staging, json!({"state": "success"}))
        .await;
    let transient = id(&app
        .deploy(
            repo,
            json!({"ref": "main", "environment": "qa", "transient_environment": true}),
        )
        .await);
    // A success on a transient deployment deactivates nothing.
    app.set_status(repo, transient, json!({"state": "success"}))
        .await;
    assert_eq!(
        app.latest_state(repo, old).await.as_deref(),
        Some("success")
    );

    let new = id(&app
        .deploy(repo, json!({"ref": "develop", "environment": "qa"}))
        .await);
    app.set_status(repo, new, json!({"state": "in_progress"}))
        .await;
    assert_eq!(
        app.latest_state(repo, old).await.as_deref(),
        Some("success")
    );
    app.set_status(repo, new, json!({"state": "success"})).await;

    assert_eq!(
        app.latest_state(repo, old).await.as_deref(),
        Some("inactive")
    );
    // Failed deployments, other environments and transient ones are left alone.
    assert_eq!(
        app.latest_state(repo, failed).await.as_deref(),
        Some("failure")
    );
    assert_eq!(
        app.latest_state(repo, staging).await.as_deref(),
        Some("success")
    );
    assert_eq!(
        app.latest_state(repo, transient).await.as_deref(),
        Some("success")
    );
    assert_eq!(
        app.latest_state(repo, new).await.as_deref(),
        Some("success")
    );

    // auto_inactive: false leaves the previous success active.
    let quiet = id(&app
        .deploy(repo, json!({"ref": "main", "environment": "qa"}))
        .await);
    app.set_status(
        repo,
        quiet,
        json!({"state": "success", "auto_inactive": false}),
    )
    .await;
    assert_eq!(
        app.latest_state(repo, new).await.as_deref(),
        Some("success")
    );

    // The inactive status is a full status object (only its state is outside
    // the webhook schema's enum, which omits "inactive").
    let statuses = app
        .get(&format!("/repos/{repo}/deployments/{old}/statuses"))
        .await;
    let mut inactive = statuses.body[0].clone();
    assert_eq!(inactive["state"], "inactive");
    inactive["state"] = json!("success");
    assert_valid(&STATUS_SCHEMA, &inactive);
}

#[tokio::test]
async fn auto_inactive_leaves_production_deployments_active() {
    // GitHub's reference: auto_inactive "adds a new inactive status to all
    // prior non-transient, non-production environment deployments".
    let app = spawn_app().await;
    let repo = "acme/api";
    let id = |d: &serde_json::Value| d["id"].as_u64().expect("id");
    let first = id(&app.deploy(repo, json!({"ref": "main"})).await);
    app.set_status(repo, first, json!({"state": "success"}))
        .await;
    let flagged = id(&app
        .deploy(
            repo,
            json!({"ref": "main", "environment": "live", "production_environment": true}),
        )
        .await);
    app.set_status(repo, flagged, json!({"state": "success"}))
        .await;
    let second = id(&app.deploy(repo, json!({"ref": "develop"})).await);
    app.set_status(repo, second, json!({"state": "success"}))
        .await;
    let live = id(&app
        .deploy(repo, json!({"ref": "develop", "environment": "live"}))
        .await);
    app.set_status(repo, live, json!({"state": "success"}))
        .await;
    for earlier in [first, flagged] {
        assert_eq!(
            app.latest_state(repo, earlier).await.as_deref(),
            Some("success")
        );
    }
    // A non-production deployment of `live` is inactivated by the next one.
    let after = id(&app
        .deploy(repo, json!({"ref": "main", "environment": "live"}))
        .await);
    app.set_status(repo, after, json!({"state": "success"}))
        .await;
    assert_eq!(
        app.latest_state(repo, live).await.as_deref(),
        Some("inactive")
    );
    assert_eq!(
        app.latest_state(repo, flagged).await.as_deref(),
        Some("success")
    );
}

#[tokio::test]
async fn statuses_paginate() {
    let app = spawn_app().await;
    let d = app.deploy("o/r", json!({"ref": "main"})).await;
    let id = d["id"].as_u64().expect("id");
    for _ in 0..5 {
        app.set_status("o/r", id, json!({"state": "pending"})).await;
    }
    let page = app
        .get(&format!(
            "/repos/o/r/deployments/{id}/statuses?per_page=2&page=3"
        ))
        .await;
    assert_eq!(page.body.as_array().map(Vec::len), Some(1));
    let link = page.header("link").expect("link");
    assert!(
        link.contains("page=2>; rel=\"prev\"") && link.contains("page=1>; rel=\"first\""),
        "{link}"
    );
}
