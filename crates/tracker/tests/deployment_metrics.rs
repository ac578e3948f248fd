//! The deployment metrics workflow code counts: a live run counts each fact once, and
//! replaying its history counts nothing.
//!
//! A real Temporal dev server (`GDT_TEMPORAL_CLI`), the GitHub sandbox, and a worker in this
//! process, so the workflow counts into this process's metrics. The one test of its own
//! binary: no other test moves these series while it reads them.

use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use gdt_github_sandbox::SandboxConfig;
use gdt_tracker::deployments::{
    DeploymentActivities, DeploymentService, DeploymentStatusUpdate, DeploymentWorkflowInput,
    GitHubDeploymentWorkflow, StartActivities,
};
use gdt_tracker::dev_server::DevServerCommand;
use gdt_tracker::lanes::{LaneActivities, LaneSettings, LaneWorkflow};
use temporalio_client::{
    Client, ClientOptions, Connection, ConnectionOptions, WorkflowFetchHistoryOptions,
    WorkflowGetResultOptions,
};
use temporalio_sdk::workflow_replayer::{WorkflowReplayer, WorkflowReplayerOptions};
use temporalio_sdk::{Runtime, Worker, WorkerOptions};

const TOKEN: &str = "ghp_metrics";
const QUEUE: &str = "deployment-metrics";

/// The dev server, stopped when the test ends (or panics).
struct DevServer(Child);

impl Drop for DevServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `GDT_TEMPORAL_CLI` (the Makefile sets it), else the workspace's `.venv/bin/temporal`.
fn temporal_cli() -> PathBuf {
    std::env::var_os("GDT_TEMPORAL_CLI").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/temporal"),
        PathBuf::from,
    )
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").port()
}

/// A client of a dev server that may still be starting.
async fn connect(address: &str) -> Client {
    let target = url::Url::parse(&format!("http://{address}")).expect("url");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match Connection::connect(ConnectionOptions::new(target.clone()).build()).await {
            Ok(connection) => {
                return Client::new(connection, ClientOptions::new("default").build())
                    .expect("client")
            }
            Err(e) if Instant::now() > deadline => panic!("Temporal at {address}: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// Every deployment series this test reads: name and labels.
const SERIES: [(&str, &[(&str, &str)]); 7] = [
    ("gdt_deployments_started_total", &[]),
    ("gdt_deployments_finished_total", &[("state", "success")]),
    (
        "gdt_deployment_duration_seconds_count",
        &[("state", "success")],
    ),
    (
        "gdt_deployment_status_updates_total",
        &[("outcome", "applied")],
    ),
    ("gdt_deployment_inactivity_timeouts_total", &[]),
    (
        "gdt_deployments_by_environment_total",
        &[("environment", "staging"), ("state", "success")],
    ),
    (
        "gdt_deployment_lead_time_seconds_count",
        &[("environment", "staging")],
    ),
];

/// The value of each of [`SERIES`] now.
fn samples() -> Vec<f64> {
    SERIES
        .iter()
        .map(|(name, labels)| gdt_metrics::metrics().value(name, labels))
        .collect()
}

fn update(status: &str, event_id: &str) -> DeploymentStatusUpdate {
    DeploymentStatusUpdate {
        status: status.to_owned(),
        event_id: Some(event_id.to_owned()),
        ..DeploymentStatusUpdate::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_deployment_counts_once_and_its_replay_counts_nothing() {
    let server = DevServerCommand::new(temporal_cli(), free_port(), free_port())
        .headless()
        .log_level("error");
    let _server = DevServer(
        server
            .command()
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start the Temporal dev server: set GDT_TEMPORAL_CLI"),
    );
    let temporal = connect(&server.address()).await;
    let sandbox = gdt_github_sandbox::spawn(SandboxConfig {
        tokens: vec![TOKEN.to_owned()],
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox");
    let github = gdt_github::Client::new(gdt_github::ClientConfig::new(
        url::Url::parse(&sandbox.base_url).expect("url"),
        gdt_github::Auth::Token(TOKEN.to_owned().into()),
        gdt_github::RetryPolicy {
            max_retries: 3,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(100),
            backoff_multiplier: 2.0,
            max_inline_wait: Duration::from_secs(1),
        },
    ))
    .expect("GitHub client");

    let runtime = Runtime::from_current_tokio(Default::default()).expect("runtime");
    let lanes = || {
        LaneActivities::new(
            temporal.clone(),
            github.clone(),
            QUEUE.to_owned(),
            LaneSettings::default(),
        )
    };
    let options = WorkerOptions::new(QUEUE)
        .register_activities(DeploymentActivities::new(github.clone()))
        .register_activities(StartActivities::new(
            DeploymentActivities::new(github.clone()),
            lanes(),
        ))
        .register_workflow::<GitHubDeploymentWorkflow>()
        .expect("register")
        .register_activities(lanes())
        .register_workflow::<LaneWorkflow>()
        .expect("register")
        .build();
    let mut worker = Worker::new(&runtime, temporal.clone(), options).expect("worker");
    let stop = worker.shutdown_handle();

    let service = DeploymentService::new(
        temporal.clone(),
        QUEUE,
        Duration::from_secs(600),
        Duration::from_secs(10),
    );
    let workflow_id = "deployment-metrics-1";
    // As the worker does at start: the delivery metrics label `staging` by name.
    gdt_tracker::deployments::prime_metrics(&["Staging".to_owned()]);
    let before = samples();
    let live = async {
        let input = DeploymentWorkflowInput {
            repo_owner: "acme".to_owned(),
            repo_name: "web".to_owned(),
            commit_sha: "a84d88e7554fc1fa21bcbc4efae3c782a70d2b9d".to_owned(),
            environment: "staging".to_owned(),
            commit_timestamp: Some("2026-01-01T00:00:00Z".to_owned()),
            ..DeploymentWorkflowInput::default()
        };
        let started = service
            .start_and_wait(&input, workflow_id, Duration::from_secs(30))
            .await
            .expect("started");
        assert!(started.deployment_id.is_some(), "{started:?}");
        for (status, event_id) in [("in_progress", "e1"), ("success", "e2")] {
            service
                .submit_status(workflow_id, update(status, event_id))
                .await
                .expect("submitted");
        }
        let result = temporal
            .get_workflow_handle::<GitHubDeploymentWorkflow>(workflow_id.to_owned())
            .get_result(WorkflowGetResultOptions::default())
            .await
            .expect("the deployment finishes");
        assert_eq!(result.final_status, "success");
        stop();
    };
    let (ran, ()) = tokio::join!(worker.run(), live);
    ran.expect("the worker ran");

    let after_live = samples();
    let moved: Vec<f64> = after_live.iter().zip(&before).map(|(a, b)| a - b).collect();
    // Started once, finished once in `success` (with its duration), three updates applied
    // (the start's `pending`, `in_progress`, `success`), no timeout; one delivery to
    // `staging`, its lead time measured from the commit time.
    assert_eq!(moved, [1.0, 1.0, 1.0, 3.0, 0.0, 1.0, 1.0], "{SERIES:?}");

    let history = temporal
        .get_workflow_handle::<GitHubDeploymentWorkflow>(workflow_id.to_owned())
        .fetch_history(WorkflowFetchHistoryOptions::default());
    let replayer = WorkflowReplayer::new(
        WorkflowReplayerOptions::new()
            .register_workflow::<GitHubDeploymentWorkflow>()
            .expect("register")
            .build(),
    )
    .expect("replayer");
    replayer
        .replay_workflow(history)
        .await
        .expect("the history replays");
    assert_eq!(samples(), after_live, "a replay counts nothing: {SERIES:?}");
}
