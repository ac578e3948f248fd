//! Histories recorded by earlier releases replay against today's workflow code: a workflow
//! running when a worker is upgraded goes on from its history, so a change that makes
//! different decisions for those histories would break it (a nondeterminism error).
//!
//! `tests/histories/` holds, for each of the two earlier revisions of the deployment workflow
//! (`old-*`: before the short history; `rev2-*`: revision 2, the short history of
//! `PATCH_LEAN`), a deployment that reported twice and succeeded, one superseded and the one
//! superseding it, one marked inactive after its inactivity timeout (started by the `temporal`
//! CLI, without search attributes or memo), one still running, and a lane. Exported from a
//! Temporal server where that release ran them with
//! `GDT_EXPORT_HISTORIES=host:port GDT_EXPORT_PREFIX=rev2- cargo test -p gdt-tracker --test
//! replay -- --ignored` (the SDK's own JSON, which is not `temporal workflow show`'s; the
//! prefix picks the files, since both revisions' lanes have the same workflow id).

use gdt_tracker::deployments::GitHubDeploymentWorkflow;
use gdt_tracker::lanes::LaneWorkflow;
use temporalio_client::{
    Client, ClientOptions, Connection, ConnectionOptions, UntypedWorkflow,
    WorkflowFetchHistoryOptions, WorkflowHistory,
};
use temporalio_sdk::workflow_replayer::{WorkflowReplayer, WorkflowReplayerOptions};

/// File name and workflow id of each history.
const HISTORIES: [(&str, &str); 12] = [
    ("old-success", "old-success"),
    ("old-superseded", "old-superseded"),
    ("old-superseder", "old-superseder"),
    ("old-silent", "old-silent"),
    ("old-running", "old-running"),
    (
        "old-lane",
        "gdt-lane-acme/web##production@github-deployment-tracker",
    ),
    ("rev2-success", "rev2-success"),
    ("rev2-superseded", "rev2-superseded"),
    ("rev2-superseder", "rev2-superseder"),
    ("rev2-silent", "rev2-silent"),
    ("rev2-running", "rev2-running"),
    (
        "rev2-lane",
        "gdt-lane-acme/web##production@github-deployment-tracker",
    ),
];

fn path_of(name: &str) -> String {
    format!("{}/tests/histories/{name}.json", env!("CARGO_MANIFEST_DIR"))
}

/// Writes the histories from the Temporal server at `GDT_EXPORT_HISTORIES` (`host:port`).
#[tokio::test]
#[ignore = "exports the fixtures; needs a server where the previous release ran them"]
async fn export() {
    let address = std::env::var("GDT_EXPORT_HISTORIES").expect("GDT_EXPORT_HISTORIES=host:port");
    let url = url::Url::parse(&format!("http://{address}")).expect("address");
    let connection = Connection::connect(ConnectionOptions::new(url).build())
        .await
        .expect("connect");
    let client = Client::new(connection, ClientOptions::new("default").build()).expect("client");
    let prefix = std::env::var("GDT_EXPORT_PREFIX").expect("GDT_EXPORT_PREFIX=old- or rev2-");
    for (name, workflow_id) in HISTORIES
        .into_iter()
        .filter(|(name, _)| name.starts_with(&prefix))
    {
        let json = client
            .get_workflow_handle::<UntypedWorkflow>(workflow_id.to_owned())
            .fetch_history(WorkflowFetchHistoryOptions::default())
            .to_json()
            .await
            .expect("history");
        std::fs::write(path_of(name), json).expect("write");
    }
}

#[tokio::test]
async fn histories_of_earlier_releases_replay_unchanged() {
    let options = WorkflowReplayerOptions::new()
        .register_workflow::<GitHubDeploymentWorkflow>()
        .expect("register the deployment workflow")
        .register_workflow::<LaneWorkflow>()
        .expect("register the lane workflow")
        .build();
    let replayer = WorkflowReplayer::new(options).expect("replayer");
    for (name, _) in HISTORIES {
        let path = path_of(name);
        let json = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let history = WorkflowHistory::from_json(&json).unwrap_or_else(|e| panic!("{path}: {e}"));
        replayer
            .replay_workflow(history)
            .await
            .unwrap_or_else(|e| panic!("{name} no longer replays: {e}"));
    }
}
