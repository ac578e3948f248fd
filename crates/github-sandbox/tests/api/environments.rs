//! `/repos/{owner}/{repo}/environments[/{name}]`, as GitHub answers them.

use serde_json::{json, Value};

use crate::helpers::spawn_app;

/// The environment object's keys and their types, as in GitHub's reference
/// (the shared fixtures have no schema for environments).
fn assert_environment_shape(e: &Value, name: &str) {
    assert_eq!(e["name"], name);
    assert!(e["id"].as_u64().is_some_and(|id| id > 0), "{e}");
    assert!(e["node_id"].as_str().is_some_and(|n| !n.is_empty()), "{e}");
    let url = e["url"].as_str().expect("url");
    assert!(url.ends_with(&format!("/environments/{name}")), "{url}");
    let html = e["html_url"].as_str().expect("html_url");
    assert!(
        html.ends_with(&format!(
            "/deployments/activity_log?environments_filter={name}"
        )),
        "{html}"
    );
    for key in ["created_at", "updated_at"] {
        let at = e[key].as_str().expect(key);
        assert!(chrono::DateTime::parse_from_rfc3339(at).is_ok(), "{at}");
    }
    assert!(e["protection_rules"].is_array(), "{e}");
    assert!(
        e["deployment_branch_policy"].is_null() || e["deployment_branch_policy"].is_object(),
        "{e}"
    );
}

#[tokio::test]
async fn put_creates_then_updates_and_get_reads_it() {
    let app = spawn_app().await;
    assert_eq!(app.get("/repos/acme/env/environments/qa").await.status, 404);

    // The body is optional.
    let created = app
        .send(
            app.client
                .put(app.url("/repos/acme/env/environments/qa"))
                .bearer_auth(crate::helpers::TOKEN),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.text);
    assert_environment_shape(&created.body, "qa");
    assert_eq!(created.body["protection_rules"], json!([]));
    assert_eq!(created.body["deployment_branch_policy"], Value::Null);

    let updated = app
        .put(
            "/repos/acme/env/environments/qa",
            &json!({"wait_timer": 5, "deployment_branch_policy": {"protected_branches": true, "custom_branch_policies": false}}),
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.text);
    assert_eq!(updated.body["id"], created.body["id"]);
    assert_eq!(updated.body["protection_rules"][0]["type"], "wait_timer");
    assert_eq!(updated.body["protection_rules"][0]["wait_timer"], 5);
    assert_eq!(
        updated.body["deployment_branch_policy"],
        json!({"protected_branches": true, "custom_branch_policies": false})
    );

    // Names match case-insensitively, as on GitHub.
    let read = app.get("/repos/acme/env/environments/QA").await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body["id"], created.body["id"]);

    let bad = app
        .put(
            "/repos/acme/env/environments/qa",
            &json!({"wait_timer": "soon"}),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    let both = app
        .put(
            "/repos/acme/env/environments/qa",
            &json!({"deployment_branch_policy": {"protected_branches": true, "custom_branch_policies": true}}),
        )
        .await;
    assert_eq!(both.status, 422, "{}", both.text);
}

#[tokio::test]
async fn a_deployment_creates_its_environment_and_the_list_paginates() {
    let app = spawn_app().await;
    let empty = app.get("/repos/acme/list/environments").await;
    assert_eq!(empty.status, 200);
    assert_eq!(empty.body, json!({"total_count": 0, "environments": []}));

    for environment in ["staging", "production", "pr-1"] {
        app.deploy(
            "acme/list",
            json!({"ref": "main", "environment": environment}),
        )
        .await;
    }
    app.put("/repos/acme/list/environments/alpha", &json!({}))
        .await;
    let all = app.get("/repos/acme/list/environments").await;
    assert_eq!(all.body["total_count"], 4);
    let names: Vec<&str> = all.body["environments"]
        .as_array()
        .expect("environments")
        .iter()
        .map(|e| e["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["alpha", "pr-1", "production", "staging"]);
    for e in all.body["environments"].as_array().expect("environments") {
        assert_environment_shape(e, e["name"].as_str().expect("name"));
    }

    let page = app
        .get("/repos/acme/list/environments?per_page=3&page=2")
        .await;
    assert_eq!(page.body["total_count"], 4);
    assert_eq!(page.body["environments"][0]["name"], "staging");
    let link = page.header("link").expect("link");
    assert!(link.contains("rel=\"prev\""), "{link}");
}

#[tokio::test]
async fn deleting_an_environment_deletes_its_deployments() {
    let app = spawn_app().await;
    let repo = "acme/gone";
    let preview = app
        .deploy(repo, json!({"ref": "main", "environment": "pr-7"}))
        .await;
    let kept = app
        .deploy(repo, json!({"ref": "main", "environment": "staging"}))
        .await;
    let deleted = app
        .delete(&format!("/repos/{repo}/environments/pr-7"))
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    assert!(deleted.text.is_empty());
    assert_eq!(
        app.get(&format!("/repos/{repo}/environments/pr-7"))
            .await
            .status,
        404
    );
    assert_eq!(
        app.get(&format!("/repos/{repo}/deployments/{}", preview["id"]))
            .await
            .status,
        404
    );
    assert_eq!(
        app.get(&format!("/repos/{repo}/deployments/{}", kept["id"]))
            .await
            .status,
        200
    );
    assert_eq!(
        app.delete(&format!("/repos/{repo}/environments/pr-7"))
            .await
            .status,
        404
    );
    // Environment writes are journaled like every GitHub route.
    let journal = app.journal().await;
    assert!(
        journal.iter().any(|e| e["method"] == "DELETE"
            && e["path"] == format!("/repos/{repo}/environments/pr-7")
            && e["status"] == 204),
        "{journal:#?}"
    );
}
