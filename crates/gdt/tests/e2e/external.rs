//! End to end: deployments created by others. The sandbox sends its signed `deployment` and
//! `deployment_status` webhooks to `gdt serve`, as GitHub does to a subscribed App; deployments
//! made with the plain token (not through the App) are someone else's, and `gdt worker` runs
//! their watchers on a real Temporal dev server. The inactivity timeout is 3 s.

use std::time::Duration;

use crate::pr_checks::{deliver, result_of};
use crate::support::{
    gdt_json, queue, replay, temporal, GitHub, ServerProcess, WorkerProcess, WEBHOOK_SECRET,
};
use serde_json::{json, Value};

const SHA: &str = "7d1c2e8b4f9a6a5f4e3d2c1b0a9f8e7d6c5b4a39";
const REPO: &str = "acme/web";
/// The App's own slug, so its bot is not the plain token's `gdt-sandbox[bot]`.
const APP_SLUG: &str = "gdt-e2e";

/// A POST on the GitHub API with the sandbox's plain token: someone else's write.
async fn post(github: &GitHub, path: &str, body: Value) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", github.url()))
        .bearer_auth("test-token")
        .json(&body)
        .send()
        .await
        .expect("post");
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    response.json().await.expect("json")
}

/// Creates a deployment to `environment` with the plain token, and returns its id.
async fn foreign_deployment(github: &GitHub, environment: &str) -> u64 {
    let body = json!({"ref": SHA, "environment": environment, "payload": {"run": 1}});
    let created = post(github, &format!("/repos/{REPO}/deployments"), body).await;
    created["id"].as_u64().expect("deployment id")
}

async fn foreign_status(github: &GitHub, id: u64, state: &str) {
    let path = format!("/repos/{REPO}/deployments/{id}/statuses");
    post(github, &path, json!({"state": state})).await;
}

/// The sandbox's webhook deliveries, oldest first.
async fn deliveries(github: &GitHub) -> Vec<Value> {
    reqwest::get(format!("{}/_sandbox/deliveries", github.url()))
        .await
        .expect("deliveries")
        .json::<Vec<Value>>()
        .await
        .expect("deliveries json")
}

/// Polls until `done` holds, for at most `timeout`.
async fn eventually<F, Fut>(timeout: Duration, what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + timeout;
    while !done().await {
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The watcher's result, through the temporal CLI (waits for it to finish).
fn watcher_result(deployment_id: u64) -> Value {
    result_of(&watcher_id(deployment_id))
}

fn watcher_id(deployment_id: u64) -> String {
    format!("gdt-external-{REPO}#{deployment_id}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_deployment_of_someone_elses_is_marked_inactive_once_and_a_finished_one_never() {
    let github = GitHub::start_with_app_slug(APP_SLUG).await;
    let mut env = github.env(&queue("external"));
    env.push(("GDT_EXTERNAL_INACTIVITY_TIMEOUT".into(), "3s".into()));
    let dir = github.dir.path();
    let _worker = WorkerProcess::start(&env, dir);
    let server = ServerProcess::start(&env, dir);
    let target = json!({"url": format!("{}/webhook", server.api), "secret": WEBHOOK_SECRET});
    let status = reqwest::Client::new()
        .put(format!("{}/_sandbox/webhook", github.url()))
        .json(&target)
        .send()
        .await
        .expect("set the webhook")
        .status();
    assert!(status.is_success(), "{status}");

    // gdt's own deployment, through the App: its deliveries start no watcher.
    let own = gdt_json(
        &env,
        dir,
        &[
            "track",
            "start",
            "--repo",
            REPO,
            "--sha",
            SHA,
            "--environment",
            "staging",
            "--workflow-id",
            "external-own-1",
            "--status",
            "running",
        ],
    );
    let own_id = own["deployment_id"].as_u64().expect("own deployment id");

    // Someone else's: one goes silent in progress, one finishes within the timeout.
    let silent = foreign_deployment(&github, "staging").await;
    foreign_status(&github, silent, "in_progress").await;
    let finished = foreign_deployment(&github, "production").await;
    foreign_status(&github, finished, "in_progress").await;
    foreign_status(&github, finished, "success").await;

    // The finished one's watcher ends on `success`. Then its `deployment` delivery arrives
    // again, late and twice at once: both reach one new run, which must not post either.
    let about_finished = |all: &[Value]| -> Vec<Value> {
        all.iter()
            .filter(|d| d["payload"]["deployment"]["id"] == finished)
            .cloned()
            .collect()
    };
    eventually(
        Duration::from_secs(20),
        "the finished one's deliveries",
        || async {
            let sent = about_finished(&deliveries(&github).await);
            sent.len() == 3 && sent.iter().all(|d| d["status_code"].is_u64())
        },
    )
    .await;
    let first = watcher_result(finished);
    assert_eq!(first["ending"], "finished", "{first}");
    let created = about_finished(&deliveries(&github).await)[0]["payload"].to_string();
    let (a, b) = tokio::join!(
        deliver(
            &server,
            "deployment",
            "late-1",
            created.clone().into_bytes()
        ),
        deliver(&server, "deployment", "late-2", created.into_bytes()),
    );
    for (status, answer) in [&a, &b] {
        assert_eq!(*status, reqwest::StatusCode::ACCEPTED, "{answer}");
    }
    assert_eq!(a.1["watching"]["workflow_id"], watcher_id(finished));
    assert_eq!(
        a.1["watching"]["run_id"], b.1["watching"]["run_id"],
        "one run"
    );

    let result = watcher_result(silent);
    assert_eq!(result["ending"], "marked_inactive", "{result}");
    let posted = github.statuses(REPO, silent).await;
    let states: Vec<&str> = posted.iter().filter_map(|s| s["state"].as_str()).collect();
    assert_eq!(states, ["in_progress", "inactive"]);
    assert_eq!(
        posted[1]["description"],
        "No new status for 3s: the deployment went silent; marked inactive by gdt"
    );
    assert_eq!(posted[1]["creator"]["login"], format!("{APP_SLUG}[bot]"));
    assert_eq!(result["status_id"], posted[1]["id"]);

    // The late run saw `pending`, waited the timeout, and read `success` on GitHub.
    let result = watcher_result(finished);
    assert_eq!(result["ending"], "finished", "{result}");
    assert_eq!(result["final_state"], "success", "{result}");
    assert_eq!(result["status_id"], first["status_id"], "{result}");
    // The late run waited the timeout after the finished one's last status: past it, that
    // one still has only what its own job posted.
    eventually(
        Duration::from_secs(20),
        "every delivery answered",
        || async {
            deliveries(&github)
                .await
                .iter()
                .all(|d| d["status_code"].is_u64())
        },
    )
    .await;
    assert_eq!(
        github.states(REPO, finished).await,
        ["in_progress", "success"]
    );
    assert_eq!(
        github.states(REPO, silent).await,
        ["in_progress", "inactive"]
    );

    // Every delivery was taken (2xx); gdt's own deployment has no watcher, and the inactive
    // status gdt posted did not start a second run of the silent one's.
    let all = deliveries(&github).await;
    assert!(all.iter().all(|d| d["delivered"] == true), "{all:#?}");
    let about = |id: u64| {
        all.iter()
            .filter(|d| d["payload"]["deployment"]["id"] == id)
            .count()
    };
    assert!(about(own_id) >= 2, "gdt's own deployment sent its webhooks");
    assert_eq!(about(silent), 3, "created, in_progress, inactive");
    let out = temporal(&["workflow", "describe", "--workflow-id", &watcher_id(own_id)]);
    assert!(!out.status.success(), "gdt's own deployment got a watcher");
    assert_eq!(watcher_result(silent)["ending"], "marked_inactive");
    let logs = server.logs();
    assert!(
        logs.contains("this GitHub App posted the status"),
        "gdt's inactive was not recognised: {logs}"
    );
    assert!(
        logs.contains("gdt created this deployment (payload triggered_by)"),
        "{logs}"
    );

    replay(&watcher_id(silent)).await;
    replay(&watcher_id(finished)).await;
}

/// The repository of the lifecycle test: watcher ids are per deployment id, and each test's
/// sandbox numbers deployments from 1, so two tests must not share a repository.
const SHOP: &str = "acme/shop";

fn shop_watcher_id(deployment_id: u64) -> String {
    format!("gdt-external-{SHOP}#{deployment_id}")
}

async fn shop_status(github: &GitHub, id: u64, state: &str) {
    let path = format!("/repos/{SHOP}/deployments/{id}/statuses");
    post(github, &path, json!({"state": state})).await;
}

fn shop_watcher_result(deployment_id: u64) -> Value {
    result_of(&shop_watcher_id(deployment_id))
}

/// Creates a deployment of `task` to `environment` with the plain token, and returns its id.
async fn foreign_task_deployment(github: &GitHub, environment: &str, task: &str) -> u64 {
    let body = json!({"ref": SHA, "environment": environment, "task": task, "payload": {}});
    let created = post(github, &format!("/repos/{SHOP}/deployments"), body).await;
    created["id"].as_u64().expect("deployment id")
}

/// Polls the sandbox until deployment `id` holds exactly `want`, and returns its statuses.
async fn states_become(github: &GitHub, id: u64, want: &[&str]) -> Vec<Value> {
    github
        .statuses_become(SHOP, id, want, Duration::from_secs(30))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_lifecycle_on_others_deployments_supersede_and_replace_per_service() {
    let github = GitHub::start_with_app_slug(APP_SLUG).await;
    let mut env = github.env(&queue("external-lifecycle"));
    env.extend([
        ("GDT_EXTERNAL_INACTIVITY_TIMEOUT".into(), "1h".into()),
        ("GDT_EXTERNAL_LIFECYCLE".into(), "true".into()),
        ("GDT_EXTERNAL_SERVICE_SOURCE".into(), "task".into()),
    ]);
    let dir = github.dir.path();
    let _worker = WorkerProcess::start(&env, dir);
    let server = ServerProcess::start(&env, dir);
    let target = json!({"url": format!("{}/webhook", server.api), "secret": WEBHOOK_SECRET});
    reqwest::Client::new()
        .put(format!("{}/_sandbox/webhook", github.url()))
        .json(&target)
        .send()
        .await
        .expect("set the webhook")
        .error_for_status()
        .expect("webhook set");

    // Production, where GitHub's auto_inactive never reaches. Service deploy:web succeeds.
    let web = foreign_task_deployment(&github, "production", "deploy:web").await;
    shop_status(&github, web, "success").await;
    assert_eq!(shop_watcher_result(web)["ending"], "finished");
    // Service deploy:api: A succeeds, then B: B replaces A.
    let a = foreign_task_deployment(&github, "production", "deploy:api").await;
    shop_status(&github, a, "success").await;
    assert_eq!(shop_watcher_result(a)["ending"], "finished");
    let b = foreign_task_deployment(&github, "production", "deploy:api").await;
    shop_status(&github, b, "in_progress").await;
    shop_status(&github, b, "success").await;
    assert_eq!(shop_watcher_result(b)["ending"], "finished");
    let replaced = states_become(&github, a, &["success", "inactive"]).await;
    assert_eq!(
        replaced[1]["description"],
        format!("Replaced by deployment {b} of deploy:api")
    );

    // C runs when D starts: D supersedes C, whose watcher posts the one inactive.
    let c = foreign_task_deployment(&github, "production", "deploy:api").await;
    shop_status(&github, c, "in_progress").await;
    eventually(Duration::from_secs(20), "C's watcher joined", || async {
        temporal(&["workflow", "describe", "--workflow-id", &shop_watcher_id(c)])
            .status
            .success()
    })
    .await;
    let d = foreign_task_deployment(&github, "production", "deploy:api").await;
    shop_status(&github, d, "in_progress").await;
    let result = shop_watcher_result(c);
    assert_eq!(result["ending"], "superseded", "{result}");
    let superseded = states_become(&github, c, &["in_progress", "inactive"]).await;
    assert_eq!(
        superseded[1]["description"],
        format!("Superseded by deployment {d}")
    );
    assert_eq!(
        superseded[1]["creator"]["login"],
        format!("{APP_SLUG}[bot]")
    );

    // D succeeds: it replaces B, the lane's live one. Service deploy:web is untouched.
    shop_status(&github, d, "success").await;
    assert_eq!(shop_watcher_result(d)["ending"], "finished");
    states_become(&github, b, &["in_progress", "success", "inactive"]).await;
    states_become(&github, d, &["in_progress", "success"]).await;
    assert_eq!(github.states(SHOP, web).await, ["success"]);
    assert_eq!(github.states(SHOP, c).await, ["in_progress", "inactive"]);
    replay(&shop_watcher_id(c)).await;
}
