//! Outgoing `deployment` and `deployment_status` webhooks, received by a
//! small local receiver.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use gdt_github_sandbox::WebhookTarget;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::helpers::{
    assert_valid, config, spawn_with, TestApp, DEPLOYMENT_SCHEMA, STATUS_EVENT_REQUIRED,
    STATUS_SCHEMA,
};

const SECRET: &str = "receiver-secret";

/// What the receiver got, in order.
#[derive(Clone, Default)]
struct Received {
    hits: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    /// Answers 500 to this many requests before accepting.
    refuse: Arc<Mutex<u32>>,
}

async fn hook(State(received): State<Received>, headers: HeaderMap, body: Bytes) -> StatusCode {
    received.hits.lock().expect("hits").push((headers, body));
    let mut refuse = received.refuse.lock().expect("refuse");
    if *refuse > 0 {
        *refuse -= 1;
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    StatusCode::OK
}

/// Starts a receiver and returns its URL and what it receives.
async fn receiver(refuse: u32) -> (String, Received) {
    let received = Received::default();
    *received.refuse.lock().expect("refuse") = refuse;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("receiver binds");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let app = Router::new()
        .route("/hook", post(hook))
        .with_state(received.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

async fn sandbox_sending_to(url: &str) -> TestApp {
    spawn_with(gdt_github_sandbox::SandboxConfig {
        webhook: Some(WebhookTarget {
            url: url.to_owned(),
            secret: SECRET.to_owned(),
        }),
        ..config()
    })
    .await
}

/// Waits until the sandbox reports `count` deliveries done (delivered or
/// given up), and returns them.
async fn deliveries(app: &TestApp, count: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let answer = app.get("/_sandbox/deliveries").await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        let all = answer.body.as_array().cloned().unwrap_or_default();
        let done = all
            .iter()
            .filter(|d| d["delivered"] == true || d["attempts"] == 3)
            .count();
        if done >= count {
            return all;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {done} of {count} deliveries after 10 s: {all:#?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn valid_signature(body: &[u8], header: &str) -> bool {
    let Some(hex_mac) = header.strip_prefix("sha256=") else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_mac) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("key");
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

#[tokio::test]
async fn deployments_and_statuses_are_sent_signed_and_in_order() {
    let (url, received) = receiver(0).await;
    let app = sandbox_sending_to(&url).await;
    let token = app.installation_token().await;
    let repo = "acme/hooks";
    let deploy = |r#ref: &'static str| {
        let app = &app;
        let token = token.clone();
        async move {
            let answer = app
                .post_as(
                    &format!("/repos/{repo}/deployments"),
                    &token,
                    &json!({"ref": r#ref, "environment": "qa"}),
                )
                .await;
            assert_eq!(answer.status, 201, "{}", answer.text);
            answer.body["id"].as_u64().expect("id")
        }
    };
    let first = deploy("main").await;
    app.set_status(repo, first, json!({"state": "success"}))
        .await;
    let second = deploy("develop").await;
    // This success makes `auto_inactive` inactivate the first deployment,
    // which is sent too.
    app.set_status(repo, second, json!({"state": "success"}))
        .await;

    let recorded = deliveries(&app, 5).await;
    assert!(
        recorded.iter().all(|d| d["delivered"] == true),
        "{recorded:#?}"
    );
    let hits = received.hits.lock().expect("hits").clone();
    assert_eq!(hits.len(), 5);

    let header = |headers: &HeaderMap, name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let mut seen = Vec::new();
    let mut guids = std::collections::HashSet::new();
    for (headers, body) in &hits {
        assert!(
            valid_signature(body, &header(headers, "x-hub-signature-256")),
            "bad signature"
        );
        assert!(header(headers, "user-agent").starts_with("GitHub-Hookshot/"));
        assert_eq!(header(headers, "content-type"), "application/json");
        let guid = header(headers, "x-github-delivery");
        assert_eq!(guid.len(), 36, "{guid}");
        assert!(guids.insert(guid));
        let payload: Value = serde_json::from_slice(body).expect("json");
        assert_eq!(payload["action"], "created");
        assert_eq!(payload["repository"]["full_name"], repo);
        assert!(payload["sender"]["login"].is_string());
        assert_valid(&DEPLOYMENT_SCHEMA, &payload["deployment"]);
        let event = header(headers, "x-github-event");
        let state = payload["deployment_status"]["state"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        if event == "deployment_status" && state != "inactive" {
            assert_valid(&STATUS_SCHEMA, &payload["deployment_status"]);
            for key in STATUS_EVENT_REQUIRED.iter() {
                assert!(payload.get(key).is_some(), "{key} missing from {payload:#}");
            }
        }
        seen.push((event, payload["deployment"]["id"].as_u64(), state));
    }
    assert_eq!(
        seen,
        vec![
            ("deployment".to_owned(), Some(first), String::new()),
            (
                "deployment_status".to_owned(),
                Some(first),
                "success".to_owned()
            ),
            ("deployment".to_owned(), Some(second), String::new()),
            (
                "deployment_status".to_owned(),
                Some(second),
                "success".to_owned()
            ),
            (
                "deployment_status".to_owned(),
                Some(first),
                "inactive".to_owned()
            ),
        ]
    );
    // Deployments created with an installation token name the installation.
    let first_payload: Value = serde_json::from_slice(&hits[0].1).expect("json");
    assert_eq!(
        first_payload["installation"]["id"],
        json!(crate::helpers::INSTALLATION_ID)
    );
    // The record has what was sent.
    assert_eq!(recorded[4]["event"], "deployment_status");
    assert_eq!(
        recorded[4]["payload"]["deployment_status"]["state"],
        "inactive"
    );
    assert_eq!(recorded[4]["status_code"], 200);
}

#[tokio::test]
async fn a_refused_delivery_is_retried_and_nothing_is_sent_without_a_target() {
    let (url, received) = receiver(1).await;
    let app = sandbox_sending_to(&url).await;
    app.deploy("acme/retry", json!({"ref": "main"})).await;
    let recorded = deliveries(&app, 1).await;
    assert_eq!(recorded[0]["attempts"], 2, "{recorded:#?}");
    assert_eq!(recorded[0]["delivered"], true);
    assert_eq!(received.hits.lock().expect("hits").len(), 2);
    // Both attempts carry the same delivery id, as GitHub's redeliveries do.
    let hits = received.hits.lock().expect("hits").clone();
    assert_eq!(
        hits[0].0.get("x-github-delivery"),
        hits[1].0.get("x-github-delivery")
    );

    // Turning the target off through the controls stops the events.
    let off = app
        .send(app.client.delete(app.url("/_sandbox/webhook")))
        .await;
    assert_eq!(off.status, 204);
    assert_eq!(
        app.get("/_sandbox/webhook").await.body,
        json!({"url": null})
    );
    app.deploy("acme/retry", json!({"ref": "main"})).await;
    assert_eq!(
        app.get("/_sandbox/deliveries")
            .await
            .body
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    // And turning it on again sends later ones.
    let on = app
        .send(
            app.client
                .put(app.url("/_sandbox/webhook"))
                .json(&json!({"url": url, "secret": SECRET})),
        )
        .await;
    assert_eq!(on.status, 204, "{}", on.text);
    app.deploy("acme/retry", json!({"ref": "main"})).await;
    let recorded = deliveries(&app, 2).await;
    assert_eq!(recorded.len(), 2);
    assert_eq!(recorded[1]["delivered"], true);
}

/// Closing a pull request through the controls is GitHub's `pull_request` `closed` event (merged
/// or not), reopening one closed unmerged its `reopened`; the pull request reads as GitHub
/// shows it then, and a merged one cannot be reopened.
#[tokio::test]
async fn closing_and_reopening_a_pull_request_send_its_events() {
    let (url, received) = receiver(0).await;
    let app = sandbox_sending_to(&url).await;
    let repo = "acme/closing";
    for number in [7, 8] {
        app.create_pull(
            repo,
            json!({"number": number, "base_ref": "main", "head_ref": format!("feature-{number}"),
                   "head_sha": "a".repeat(40), "files": []}),
        )
        .await;
    }
    let path = |n: u64| format!("/_sandbox/repos/{repo}/pulls/{n}");
    let refused = app
        .send(
            app.client
                .patch(app.url(&path(7)))
                .json(&json!({"merged": true})),
        )
        .await;
    assert_eq!(
        refused.status, 400,
        "merging needs closing: {}",
        refused.text
    );
    let merged = app
        .send(
            app.client
                .patch(app.url(&path(7)))
                .json(&json!({"state": "closed", "merged": true})),
        )
        .await;
    assert_eq!(merged.status, 200, "{}", merged.text);
    let closed = app
        .send(
            app.client
                .patch(app.url(&path(8)))
                .json(&json!({"state": "closed"})),
        )
        .await;
    assert_eq!(closed.status, 200, "{}", closed.text);
    // Closing again changes nothing and announces nothing.
    app.send(
        app.client
            .patch(app.url(&path(8)))
            .json(&json!({"state": "closed"})),
    )
    .await;
    let reopened = app
        .send(
            app.client
                .patch(app.url(&path(8)))
                .json(&json!({"state": "open"})),
        )
        .await;
    assert_eq!(reopened.status, 200, "{}", reopened.text);
    let merged_reopen = app
        .send(
            app.client
                .patch(app.url(&path(7)))
                .json(&json!({"state": "open"})),
        )
        .await;
    assert_eq!(merged_reopen.status, 400, "{}", merged_reopen.text);

    let pull = app.get(&format!("/repos/{repo}/pulls/7")).await.body;
    crate::helpers::assert_valid(&crate::helpers::PULL_REQUEST_SCHEMA, &pull);
    assert_eq!(
        (pull["state"].clone(), pull["merged"].clone()),
        (json!("closed"), json!(true))
    );
    assert!(pull["closed_at"].is_string() && pull["merged_at"] == pull["closed_at"]);
    assert_eq!(pull["merged_by"]["login"], "acme");
    let pull = app.get(&format!("/repos/{repo}/pulls/8")).await.body;
    assert_eq!(
        (pull["state"].clone(), pull["merged"].clone()),
        (json!("open"), json!(false))
    );
    assert!(pull["closed_at"].is_null() && pull["merged_at"].is_null());

    let recorded = deliveries(&app, 3).await;
    let events: Vec<(String, String, u64, bool)> = recorded
        .iter()
        .map(|d| {
            let payload = &d["payload"];
            (
                d["event"].as_str().unwrap().to_owned(),
                payload["action"].as_str().unwrap().to_owned(),
                payload["number"].as_u64().unwrap(),
                payload["pull_request"]["merged"].as_bool().unwrap(),
            )
        })
        .collect();
    let expected = [
        ("pull_request", "closed", 7, true),
        ("pull_request", "closed", 8, false),
        ("pull_request", "reopened", 8, false),
    ]
    .map(|(e, a, n, m)| (e.to_owned(), a.to_owned(), n, m));
    assert_eq!(events, expected);
    let first = &recorded[0]["payload"];
    assert_eq!(first["pull_request"]["head"]["ref"], "feature-7");
    assert_eq!(first["repository"]["full_name"], repo);
    assert_eq!(first["sender"]["login"], "acme");
    let hits = received.hits.lock().expect("hits").clone();
    let (headers, body) = &hits[0];
    assert_eq!(headers["x-github-event"], "pull_request");
    assert!(valid_signature(
        body,
        headers["x-hub-signature-256"].to_str().unwrap()
    ));
}
