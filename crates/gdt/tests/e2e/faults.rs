//! Smaller versions of the chaos runs (`make chaos`), in `make test`: GitHub down for a
//! while, GitHub failing at random, and the Temporal server restarted mid-deployment. Each
//! must lose no update and duplicate nothing.

use std::time::Duration;

use crate::support::{gdt_json, Harness, PrivateTemporal};
use serde_json::{json, Value};

const SHA: &str = "5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f";

fn start(h: &Harness, env: &[(String, String)], repo: &str, id: &str) {
    let started = gdt_json(
        env,
        h.dir.path(),
        &[
            "track",
            "start",
            "--repo",
            repo,
            "--sha",
            SHA,
            "--environment",
            "staging",
            "--status",
            "queued",
            "--workflow-id",
            id,
        ],
    );
    assert_eq!(started["workflow_id"], id);
}

fn update(h: &Harness, env: &[(String, String)], id: &str, status: &str) {
    gdt_json(
        env,
        h.dir.path(),
        &["track", "update", id, "--status", status],
    );
}

fn wait(h: &Harness, env: &[(String, String)], id: &str) -> Value {
    gdt_json(env, h.dir.path(), &["track", "wait", id])
}

/// Every deployment of `repo` with its states, oldest status first.
async fn audit(h: &Harness, repo: &str) -> Vec<(Value, Vec<String>)> {
    let deployments = h
        .github
        .get(&format!("/repos/{repo}/deployments?per_page=100"))
        .await;
    let mut out = Vec::new();
    for d in deployments.as_array().expect("deployments") {
        let statuses = h
            .github
            .get(&format!(
                "/repos/{repo}/deployments/{}/statuses?per_page=100",
                d["id"]
            ))
            .await;
        let mut states: Vec<String> = statuses
            .as_array()
            .expect("statuses")
            .iter()
            .map(|s| s["state"].as_str().unwrap_or("?").to_owned())
            .collect();
        states.reverse();
        out.push((d.clone(), states));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_down_for_a_while_loses_no_update() {
    let h = Harness::start("fault-down").await;
    let env = h.env.clone();
    start(&h, &env, "acme/down", "fault-down-1");
    // GitHub answers 503 to everything for 8 s, while the pipeline keeps reporting.
    h.github
        .fault(json!({"path": "/repos/**", "kind": "down", "seconds": 8}))
        .await;
    update(&h, &env, "fault-down-1", "running");
    update(&h, &env, "fault-down-1", "success");
    let result = wait(&h, &env, "fault-down-1");
    assert_eq!(result["final_status"], "success", "{result}");
    let audit = audit(&h, "acme/down").await;
    assert_eq!(audit.len(), 1, "one deployment: {audit:?}");
    assert_eq!(
        audit[0].1,
        ["queued", "in_progress", "success"],
        "{audit:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_failing_at_random_duplicates_nothing() {
    let h = Harness::start("fault-random").await;
    let env = h.env.clone();
    // 20% of GitHub requests fail, 5xx of both kinds, plus a rate limit of each kind.
    for fault in [
        json!({"path": "/repos/**", "kind": "500", "probability": 0.1}),
        json!({"path": "/repos/**", "kind": "502_after_apply", "probability": 0.1}),
        json!({"path": "/repos/**", "kind": "primary_rate_limit", "reset_in": 1, "count": 1}),
        json!({"path": "/repos/**", "kind": "secondary_rate_limit", "retry_after": 1, "count": 1}),
    ] {
        h.github.fault(fault).await;
    }
    // One repository each: GitHub's auto_inactive would otherwise mark earlier successful
    // deployments of the environment inactive, which is GitHub's doing, not ours.
    let ids: Vec<String> = (0..6).map(|i| format!("fault-random-{i}")).collect();
    for id in &ids {
        start(&h, &env, &format!("acme/{id}"), id);
    }
    for id in &ids {
        update(&h, &env, id, "running");
        update(&h, &env, id, "success");
    }
    for id in &ids {
        assert_eq!(wait(&h, &env, id)["final_status"], "success");
    }
    // The audit reads GitHub without faults.
    reqwest::Client::new()
        .delete(format!("{}/_sandbox/faults", h.github.url()))
        .send()
        .await
        .expect("clear faults");
    for id in &ids {
        let audit = audit(&h, &format!("acme/{id}")).await;
        assert_eq!(audit.len(), 1, "{id}: one deployment, got {audit:?}");
        assert_eq!(
            audit[0].1,
            ["queued", "in_progress", "success"],
            "{id}: lost or duplicated statuses"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporal_restarted_mid_deployment_loses_nothing() {
    let db = tempfile::tempdir().expect("tempdir");
    let mut temporal = PrivateTemporal::start_on_sqlite(&db.path().join("temporal.db"));
    let h = Harness::start_on("fault-temporal", &temporal.address).await;
    let env = h.env.clone();
    start(&h, &env, "acme/restart", "fault-temporal-1");
    update(&h, &env, "fault-temporal-1", "running");
    // The server goes away and comes back on the same port and database; the worker, which
    // kept running, reconnects by itself.
    temporal.restart();
    update(&h, &env, "fault-temporal-1", "success");
    let result = wait(&h, &env, "fault-temporal-1");
    assert_eq!(
        result["final_status"],
        "success",
        "{result}\n{}",
        h.worker.logs()
    );
    let audit = audit(&h, "acme/restart").await;
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(
        audit[0].1,
        ["queued", "in_progress", "success"],
        "{audit:?}"
    );
    tokio::time::sleep(Duration::from_millis(1)).await;
}
