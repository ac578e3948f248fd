//! Values that need escaping on their way through: workflow ids in the API's URLs, and list
//! filters in Temporal's visibility queries.

use std::time::Duration;

use crate::support::{gdt_json, wait_until, Harness, API_TOKEN};
use reqwest::StatusCode;
use serde_json::{json, Value};

const SHA: &str = "0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workflow_ids_with_reserved_characters_round_trip_through_the_api() {
    let h = Harness::start("escaping-ids").await;
    let server = h.serve();
    let http = reqwest::Client::new();
    let id = format!("a/b c?d#e%f ü-{}", std::process::id());
    let body = |workflow_id: &str| {
        json!({
            "workflow_id": workflow_id,
            "repo_owner": "acme",
            "repo_name": "api",
            "commit_sha": SHA,
            "environment": "staging",
            "status": "in_progress",
        })
    };
    let response = http
        .post(format!("{}/api/v1/deployments", server.api))
        .bearer_auth(API_TOKEN)
        .json(&body(&id))
        .send()
        .await
        .expect("start");
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let started: Value = response.json().await.expect("json");
    let encoded = format!("a%2Fb%20c%3Fd%23e%25f%20%C3%BC-{}", std::process::id());
    assert_eq!(location, format!("/api/v1/deployments/{encoded}"));
    assert_eq!(started["status_url"], format!("{location}/status"));

    // The URLs the API handed out reach this deployment.
    let shown = http
        .get(format!("{}{location}", server.api))
        .bearer_auth(API_TOKEN)
        .send()
        .await
        .expect("get");
    assert_eq!(shown.status(), StatusCode::OK);
    let view: Value = shown.json().await.expect("json");
    assert_eq!(view["deployment_id"], started["deployment_id"], "{view}");
    assert_eq!(view["repository"], "acme/api", "{view}");
    let status_url = started["status_url"].as_str().expect("status_url");
    let updated = http
        .post(format!("{}{status_url}", server.api))
        .bearer_auth(API_TOKEN)
        .json(&json!({"status": "success"}))
        .send()
        .await
        .expect("status");
    assert!(updated.status().is_success(), "{}", updated.status());
    let result = gdt_json(&h.env, h.dir.path(), &["track", "wait", &id]);
    assert_eq!(result["final_status"], "success", "{result}");

    // Ids no URL can carry (clients resolve them as relative paths) are refused up front.
    for dots in [".", ".."] {
        let refused = http
            .post(format!("{}/api/v1/deployments", server.api))
            .bearer_auth(API_TOKEN)
            .json(&body(dots))
            .send()
            .await
            .expect("start");
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{dots}");
        let problem: Value = refused.json().await.expect("json");
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.contains("workflow_id")),
            "{problem}"
        );
    }
}

/// Lists deployments of `repo` in `environment`, as workflow ids.
fn listed(h: &Harness, repo: &str, environment: &str) -> Vec<String> {
    let rows = gdt_json(
        &h.env,
        h.dir.path(),
        &[
            "track",
            "list",
            "--repo",
            repo,
            "--environment",
            environment,
        ],
    );
    rows.as_array()
        .expect("rows")
        .iter()
        .map(|r| r["workflow_id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_filters_match_values_with_quotes_and_backslashes_exactly() {
    let h = Harness::start("escaping-list").await;
    let repo = format!("acme/list{}", std::process::id());
    let environments = ["it's\\prod", "it's", "'quoted'", "say \"hi\""];
    let mut ids = Vec::new();
    for (n, environment) in environments.iter().enumerate() {
        let id = format!("escaping-list-{n}-{}", std::process::id());
        gdt_json(
            &h.env,
            h.dir.path(),
            &[
                "track",
                "start",
                "--repo",
                &repo,
                "--sha",
                SHA,
                "--environment",
                environment,
                "--workflow-id",
                &id,
            ],
        );
        ids.push(id);
    }
    // Visibility catches up in the background: wait until every deployment is listed.
    wait_until(
        Duration::from_secs(30),
        "the deployments to be listed",
        || {
            let rows = gdt_json(&h.env, h.dir.path(), &["track", "list", "--repo", &repo]);
            rows.as_array()
                .is_some_and(|r| r.len() == environments.len())
        },
    );
    for (environment, id) in environments.iter().zip(&ids) {
        assert_eq!(
            listed(&h, &repo, environment),
            vec![id.clone()],
            "environment {environment:?}"
        );
    }
    // A value cannot change the query's meaning.
    assert_eq!(listed(&h, &repo, "x' OR 'a'='a"), Vec::<String>::new());
    assert_eq!(listed(&h, &repo, "it"), Vec::<String>::new());
}
