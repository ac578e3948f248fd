//! End to end: deployment lifecycles per repository, environment and service. gdt's own
//! inactivation (production included, GitHub's `auto_inactive` off) and superseding, with
//! several workers and API servers and a worker killed.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{client, gdt_json, Api, Harness, WorkerProcess};

const SHA: &str = "9c1e2d3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d";

fn body(id: &str, environment: &str, service: &str, status: &str) -> Value {
    json!({
        "workflow_id": id,
        "repo_owner": "acme",
        "repo_name": "mono",
        "commit_sha": SHA,
        "environment": environment,
        "service": service,
        "status": status,
    })
}

/// Starts a deployment through `api` and returns its GitHub deployment id.
async fn start(api: &Api, id: &str, environment: &str, service: &str, status: &str) -> u64 {
    let (code, started) = api
        .post(
            "/api/v1/deployments",
            &body(id, environment, service, status),
        )
        .await;
    assert_eq!(code, StatusCode::CREATED, "{id}: {started}");
    started["deployment_id"]
        .as_u64()
        .unwrap_or_else(|| panic!("{id}: no deployment id: {started}"))
}

/// Waits for a deployment's workflow to finish and returns its view.
async fn finished(api: &Api, id: &str) -> Value {
    api.wait_for_deployment(id, "finished", Duration::from_secs(60), |v| {
        v["workflow_status"] == "completed"
    })
    .await
}

/// Polls the sandbox until deployment `deployment_id` of acme/mono has exactly `want` states.
async fn wait_states(h: &Harness, deployment_id: u64, want: &[&str]) -> Vec<Value> {
    h.github
        .statuses_become("acme/mono", deployment_id, want, Duration::from_secs(60))
        .await
}

/// The lane of acme/mono, `environment` and `service` on this harness's task queue.
fn lane_id(h: &Harness, environment: &str, service: &str) -> String {
    let queue = &h
        .env
        .iter()
        .find(|(k, _)| k == "GDT_TEMPORAL_TASK_QUEUE")
        .expect("queue")
        .1;
    format!("gdt-lane-acme/mono#{service}#{environment}@{queue}")
}

/// Waits until the lane's workflow has completed (it was idle for its idle timeout).
async fn lane_ended(lane: &str) {
    client()
        .await
        .get_workflow_handle::<gdt_tracker::lanes::LaneWorkflow>(lane.to_owned())
        .get_result(temporalio_client::WorkflowGetResultOptions::default())
        .await
        .unwrap_or_else(|e| panic!("lane {lane} did not end: {e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_service_inactivates_only_its_own_previous_success_production_included() {
    // A lane ends one second after its last deployment, so the second success of a service
    // finds the first on GitHub (the path every lane takes after a restart or an upgrade).
    let mut h = Harness::start("lifecycle-services").await;
    h.env
        .push(("GDT_DEPLOYMENT_LANE_IDLE_TIMEOUT".into(), "1s".into()));
    h.worker = WorkerProcess::start(&h.env, h.dir.path());
    let server = h.serve();
    let api = Api::new(&server);

    for environment in ["production", "staging"] {
        let mut first = Vec::new();
        for service in ["api", "web", ""] {
            let id = format!("{environment}-{service}-1");
            first.push(start(&api, &id, environment, service, "success").await);
            let view = finished(&api, &id).await;
            assert_eq!(view["state"], "success", "{view}");
            assert_eq!(view["service"].as_str().unwrap_or(""), service, "{view}");
        }
        lane_ended(&lane_id(&h, environment, "api")).await;

        let mut second = Vec::new();
        for service in ["api", "web"] {
            let id = format!("{environment}-{service}-2");
            second.push(start(&api, &id, environment, service, "success").await);
            finished(&api, &id).await;
        }
        // Each service's first success is replaced by its own second one, and only by it.
        for (old, new) in first.iter().zip(&second) {
            let statuses = wait_states(&h, *old, &["success", "inactive"]).await;
            assert_eq!(
                statuses[1]["description"],
                format!(
                    "Replaced by deployment {new} of {}",
                    if *old == first[0] { "api" } else { "web" }
                )
            );
            wait_states(&h, *new, &["success"]).await;
        }
        // The repository-level deployment is a lane of its own: still live.
        wait_states(&h, first[2], &["success"]).await;
    }

    // Services are listed and filtered (visibility catches up within a few seconds).
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (code, listed) = api
            .get("/api/v1/deployments?repository=acme/mono&service=web&limit=100")
            .await;
        assert_eq!(code, StatusCode::OK, "{listed}");
        let rows = listed["deployments"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if rows.len() == 4 {
            assert!(rows.iter().all(|r| r["service"] == "web"), "{listed}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "four web deployments listed: {listed}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let cli = gdt_json(
        &h.env,
        h.dir.path(),
        &["track", "list", "--repo", "acme/mono", "--service", "api"],
    );
    let rows = cli.as_array().expect("rows");
    assert!(
        rows.iter().all(|r| r["service"] == "api") && !rows.is_empty(),
        "{cli}"
    );

    // Two services deployed by one pipeline run (no workflow id given) are two workflows.
    let run = |service: &str| {
        let mut b = body("", "qa", service, "success");
        b.as_object_mut().unwrap().remove("workflow_id");
        b["harness_execution_id"] = json!("run-7");
        b
    };
    let (_, a) = api.post("/api/v1/deployments", &run("api")).await;
    let (_, b) = api.post("/api/v1/deployments", &run("web")).await;
    assert_eq!(a["workflow_id"], "deployment-acme-mono-qa-api-run-7", "{a}");
    assert_eq!(b["workflow_id"], "deployment-acme-mono-qa-web-run-7", "{b}");
    assert_eq!(
        (a["created"].clone(), b["created"].clone()),
        (json!(true), json!(true))
    );

    // A service name that could not be a lane is refused at the door.
    let (code, problem) = api
        .post(
            "/api/v1/deployments",
            &body("bad", "qa", "api#2", "success"),
        )
        .await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap_or("").contains("service"),
        "{problem}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_newest_deployment_supersedes_the_running_ones_across_workers_and_servers() {
    let mut h = Harness::start("lifecycle-supersede").await;
    let _second_worker = WorkerProcess::start(&h.env, h.dir.path());
    let (one, two) = (h.serve(), h.serve());
    let (api1, api2) = (Api::new(&one), Api::new(&two));

    // One deployment of the api service runs.
    let first = start(&api1, "sup-1", "staging", "api", "in_progress").await;
    wait_states(&h, first, &["in_progress"]).await;

    // A worker dies; two newer deployments start at once, one through each server.
    h.worker.kill();
    let (second, third) = tokio::join!(
        start(&api1, "sup-2", "staging", "api", "in_progress"),
        start(&api2, "sup-3", "staging", "api", "in_progress"),
    );
    let (winner, loser, loser_id) = if second > third {
        (second, third, "sup-3")
    } else {
        (third, second, "sup-2")
    };
    let winner_id = if winner == second { "sup-2" } else { "sup-3" };

    // Exactly one winner, the newest: every other one ends with one `inactive` naming it.
    for (deployment, id) in [(first, "sup-1"), (loser, loser_id)] {
        let view = finished(&api2, id).await;
        assert_eq!(view["state"], "inactive", "{view}");
        assert_eq!(view["ended_by"]["kind"], "superseded", "{view}");
        let statuses = wait_states(&h, deployment, &["in_progress", "inactive"]).await;
        let by = statuses[1]["description"].as_str().unwrap_or("");
        assert!(
            by == format!("Superseded by deployment {winner}")
                || (deployment == first && by == format!("Superseded by deployment {loser}")),
            "{id}: {by}"
        );
    }

    // A late status for a superseded deployment is refused and never posted.
    let (code, problem) = api1
        .post(
            "/api/v1/deployments/sup-1/status",
            &json!({"status": "success"}),
        )
        .await;
    assert_eq!(code, StatusCode::CONFLICT, "{problem}");
    wait_states(&h, first, &["in_progress", "inactive"]).await;

    // The winner goes on and finishes; nothing else was written.
    let (code, ack) = api2
        .post(
            &format!("/api/v1/deployments/{winner_id}/status"),
            &json!({"status": "success"}),
        )
        .await;
    assert_eq!(code, StatusCode::ACCEPTED, "{ack}");
    let view = finished(&api1, winner_id).await;
    assert_eq!(view["state"], "success", "{view}");
    wait_states(&h, winner, &["in_progress", "success"]).await;
    let lane = client()
        .await
        .get_workflow_handle::<gdt_tracker::lanes::LaneWorkflow>(lane_id(&h, "staging", "api"))
        .query(
            gdt_tracker::lanes::LaneWorkflow::lane_state,
            (),
            temporalio_client::WorkflowQueryOptions::default(),
        )
        .await
        .expect("lane-state");
    assert!(lane.running.is_empty(), "{lane:?}");
    assert_eq!(lane.superseded, 2, "{lane:?}");
    assert_eq!(
        lane.last_success.map(|m| m.deployment_id),
        Some(winner),
        "the lane knows the live deployment"
    );
}
