//! End to end: `/metrics`, `/health` and `/ready` of real `gdt worker` and `gdt serve`
//! processes. A deployment, API calls and a webhook move exactly the series they should, by
//! exactly what they did; `promtool check metrics` finds nothing to say about either scrape.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::pr_checks::{create_pull, deliver, push_payload, result_of, sha};
use crate::support::{wait_until, Api, Harness, WorkerProcess};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// One scrape: each series (name and sorted labels) and its value.
struct Scrape {
    text: String,
    samples: BTreeMap<String, f64>,
}

impl Scrape {
    async fn of(base: &str) -> Scrape {
        let response = reqwest::get(format!("{base}/metrics"))
            .await
            .expect("scrape /metrics");
        assert_eq!(response.status(), StatusCode::OK);
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            content_type.starts_with("text/plain; version=0.0.4"),
            "{content_type}"
        );
        let text = response.text().await.unwrap();
        let samples = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(|l| {
                let (series, value) = l.rsplit_once(' ').expect("series and value");
                (canonical(series), value.parse().expect("a number"))
            })
            .collect();
        Scrape { text, samples }
    }

    /// The value of `name{labels}`, 0 when the series does not exist.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let mut labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
        labels.sort();
        let key = if labels.is_empty() {
            name.to_owned()
        } else {
            format!("{name}{{{}}}", labels.join(","))
        };
        self.samples.get(&key).copied().unwrap_or(0.0)
    }

    fn has_family(&self, name: &str) -> bool {
        self.text.contains(&format!("# TYPE {name} "))
    }
}

/// `name{b="2",a="1"}` as `name{a="1",b="2"}`. Label values here hold no `",`.
fn canonical(series: &str) -> String {
    match series.split_once('{') {
        None => series.to_owned(),
        Some((name, rest)) => {
            let inner = rest.strip_suffix('}').expect("closing brace");
            let mut labels: Vec<&str> = inner.split("\",").collect();
            let last = labels.len() - 1;
            let mut labels: Vec<String> = labels
                .drain(..)
                .enumerate()
                .map(|(i, l)| {
                    if i == last {
                        l.to_owned()
                    } else {
                        format!("{l}\"")
                    }
                })
                .collect();
            labels.sort();
            format!("{name}{{{}}}", labels.join(","))
        }
    }
}

/// Moves from `before` to `after` of one series.
fn moved(before: &Scrape, after: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    after.value(name, labels) - before.value(name, labels)
}

fn promtool_check(what: &str, text: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool is not installed: run `make bootstrap`");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics on {what}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn wait_for_listener(base: &str, what: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while reqwest::get(format!("{base}/health")).await.is_err()
        && reqwest::get(format!("{base}/metrics")).await.is_err()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "{what} never listened on {base}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_an_api_call_and_a_webhook_move_their_series() {
    let h = Harness::start("metrics").await;
    let server = h.serve();
    let api = Api::new(&server);
    wait_for_listener(&h.worker.metrics, "the worker's /metrics").await;
    wait_for_listener(&server.metrics, "the API server's /metrics").await;
    let worker_before = Scrape::of(&h.worker.metrics).await;
    let server_before = Scrape::of(&server.metrics).await;

    // A deployment through the API: queued at the start, then in_progress and success.
    let id = "metrics-flow-1";
    let (status, started) = api
        .post(
            "/api/v1/deployments",
            &json!({"workflow_id": id, "repo_owner": "acme", "repo_name": "metrics",
                    "commit_sha": sha(9), "environment": "staging", "status": "queued"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    let status_path = format!("/api/v1/deployments/{id}/status");
    for (word, event) in [("running", "m1"), ("success", "m2")] {
        let (status, ack) = api
            .post(&status_path, &json!({"status": word, "event_id": event}))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{ack}");
    }
    let view = api
        .wait_for_deployment(id, "finished", Duration::from_secs(30), |v| {
            v["state"] == "success" && v["workflow_status"] == "completed"
        })
        .await;
    let applied = view["updates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["outcome"] == "applied")
        .count() as f64;
    let deployment_id = view["deployment_id"].as_u64().expect("deployment id");
    let statuses = h.github.statuses("acme/metrics", deployment_id).await.len() as f64;

    // A webhook: the PR checks of a pull request the sandbox knows.
    let (owner, repo, number) = ("acme", "metrics-plugin", 3);
    create_pull(
        &h,
        owner,
        repo,
        json!({"number": number, "base_ref": "main", "head_ref": "feature", "head_sha": sha(5),
               "files": [{"filename": "VERSION", "status": "modified", "content": "1.2.0\n"},
                         {"filename": ".claude-plugin/plugin.json", "status": "modified",
                          "content": "{\"name\": \"p\", \"version\": \"1.2.0\"}\n"}]}),
    )
    .await;
    let (status, answer) = deliver(
        &server,
        "pull_request",
        "metrics-delivery-1",
        push_payload(owner, repo, number, &sha(5)),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let version = result_of(&format!("version-validation-{owner}/{repo}#{number}"));
    assert_eq!(version["VersionMatches"], true, "{version}");
    let plugin = result_of(&format!("plugin-validation-{owner}/{repo}#{number}"));

    let worker = Scrape::of(&h.worker.metrics).await;
    let server_after = Scrape::of(&server.metrics).await;

    // The worker: the deployment, its GitHub requests, the checks.
    assert_eq!(
        moved(
            &worker_before,
            &worker,
            "gdt_deployments_started_total",
            &[]
        ),
        1.0
    );
    assert_eq!(
        moved(
            &worker_before,
            &worker,
            "gdt_deployments_finished_total",
            &[("state", "success")]
        ),
        1.0
    );
    assert_eq!(
        moved(
            &worker_before,
            &worker,
            "gdt_deployment_duration_seconds_count",
            &[("state", "success")]
        ),
        1.0
    );
    assert_eq!(
        moved(
            &worker_before,
            &worker,
            "gdt_deployment_status_updates_total",
            &[("outcome", "applied")]
        ),
        applied,
        "{view}"
    );
    // The delivery metrics: `staging` is one of the default dora.metric_environments.
    assert_eq!(
        moved(
            &worker_before,
            &worker,
            "gdt_deployments_by_environment_total",
            &[("environment", "staging"), ("state", "success")]
        ),
        1.0
    );
    let github = |endpoint: &str, method: &str| {
        moved(
            &worker_before,
            &worker,
            "gdt_github_requests_total",
            &[
                ("endpoint", endpoint),
                ("method", method),
                ("status_class", "2xx"),
            ],
        )
    };
    assert_eq!(github("deployments", "POST"), 1.0);
    assert_eq!(github("deployment_statuses", "POST"), statuses);
    assert!(
        github("contents", "GET") >= 1.0,
        "the version check reads files"
    );
    assert!(
        worker.value("gdt_github_rate_limit_limit", &[]) > 0.0,
        "the quota headers were read"
    );
    assert_eq!(
        moved(
            &worker_before,
            &worker,
            "gdt_pr_check_version_matches_total",
            &[]
        ),
        1.0
    );
    assert_eq!(
        moved(
            &worker_before,
            &worker,
            "gdt_pr_check_version_mismatches_total",
            &[]
        ),
        0.0
    );
    let checks: f64 = ["success", "failure", "neutral"]
        .iter()
        .map(|c| {
            moved(
                &worker_before,
                &worker,
                "gdt_pr_checks_total",
                &[("check", "plugin_update_validation"), ("conclusion", c)],
            )
        })
        .sum();
    assert_eq!(checks, 1.0, "one plugin-update check reported: {plugin}");
    assert_eq!(
        moved(
            &worker_before,
            &worker,
            "gdt_activity_errors_total",
            &[("error_type", "unexpected")]
        ),
        0.0
    );
    // The SDK's families are on the same endpoint.
    for family in [
        "temporal_worker_task_slots_available",
        "temporal_request_total",
        "temporal_workflow_completed_total",
        "temporal_activity_execution_latency_seconds",
    ] {
        assert!(
            worker.has_family(family),
            "no {family} on the worker:\n{}",
            worker.text
        );
    }

    // The API server: each request counted under its route template.
    let api_requests = |route: &str, method: &str, status: &str| {
        moved(
            &server_before,
            &server_after,
            "gdt_api_requests_total",
            &[("route", route), ("method", method), ("status", status)],
        )
    };
    assert_eq!(api_requests("/api/v1/deployments", "POST", "201"), 1.0);
    assert_eq!(
        api_requests("/api/v1/deployments/{workflow_id}/status", "POST", "202"),
        2.0
    );
    assert_eq!(
        moved(
            &server_before,
            &server_after,
            "gdt_webhook_deliveries_total",
            &[
                ("event", "pull_request"),
                ("action", "synchronize"),
                ("outcome", "started")
            ]
        ),
        1.0
    );
    assert!(
        server_after.has_family("temporal_request_total"),
        "{}",
        server_after.text
    );
    // One GET, exactly one more in its series and its histogram.
    let (status, _) = api.get(&format!("/api/v1/deployments/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    let last = Scrape::of(&server.metrics).await;
    let route = [
        ("route", "/api/v1/deployments/{workflow_id}"),
        ("method", "GET"),
    ];
    assert_eq!(
        moved(
            &server_after,
            &last,
            "gdt_api_requests_total",
            &[route[0], route[1], ("status", "200")]
        ),
        1.0
    );
    assert_eq!(
        moved(
            &server_after,
            &last,
            "gdt_api_request_duration_seconds_count",
            &route
        ),
        1.0
    );

    promtool_check("the worker's /metrics", &worker.text);
    promtool_check("the API server's /metrics", &last.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_answers_health_and_ready_like_the_api_server() {
    let h = Harness::start("worker-health").await;
    let server = h.serve();
    wait_for_listener(&h.worker.health, "the worker's /health").await;

    let health: Value = reqwest::get(format!("{}/health", h.worker.health))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health, json!({"status": "ok"}));

    // Ready once its pollers run; the answer has the API server's shape.
    let mut ready = Value::Null;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let response = reqwest::get(format!("{}/ready", h.worker.health))
            .await
            .unwrap();
        let status = response.status();
        ready = response.json().await.unwrap_or(ready);
        if status == StatusCode::OK {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the worker never got ready: {ready}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(ready["status"], "ready", "{ready}");
    assert_eq!(ready["temporal"], json!({"status": "ok"}), "{ready}");
    assert_eq!(ready["github"], json!({"status": "ok"}), "{ready}");
    let served: Value = reqwest::get(format!("{}/ready", server.health))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&ready), keys(&served), "{ready} vs {served}");
    let (status, _) = (
        reqwest::get(format!("{}/nothing", h.worker.health))
            .await
            .unwrap()
            .status(),
        (),
    );
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_metrics_disabled_nothing_listens_on_the_metrics_port() {
    let h = Harness::start("metrics-off").await;
    let mut env = h.env.clone();
    env.push(("GDT_APP_METRICS_ENABLED".into(), "false".into()));
    let worker = WorkerProcess::start(&env, h.dir.path());
    wait_until(
        Duration::from_secs(30),
        "the second worker to start",
        || worker.logs().contains("worker started"),
    );
    wait_for_listener(&worker.health, "the worker's /health").await;
    assert!(
        reqwest::get(format!("{}/metrics", worker.metrics))
            .await
            .is_err(),
        "something answers on the metrics port"
    );
    assert!(
        worker.logs().contains(r#""metrics":"(off)""#),
        "{}",
        worker.logs()
    );
}
