//! End to end: the board's reader API (`/api/v1/environments`, its history, `/api/v1/dora`)
//! read from Temporal's visibility, the start memo and the results, through `gdt serve`.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{temporal, Api, Harness, ServerProcess, API_TOKEN};

const SHA: &str = "b0a4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2";

async fn deploy(api: &Api, id: &str, repo: &str, environment: &str, extra: Value) {
    let mut body = json!({
        "workflow_id": id,
        "repo_owner": "board",
        "repo_name": repo,
        "commit_sha": SHA,
        "branch_name": "main",
        "environment": environment,
        "harness_pipeline_id": "deploy-pipeline",
        "harness_execution_id": id,
        "log_url": format!("https://ci.example/{id}"),
    });
    for (k, v) in extra.as_object().expect("object") {
        body[k] = v.clone();
    }
    let (code, started) = api.post("/api/v1/deployments", &body).await;
    assert_eq!(code, StatusCode::CREATED, "{id}: {started}");
}

async fn finished(api: &Api, id: &str) {
    api.wait_for_deployment(id, "finished", Duration::from_secs(60), |v| {
        v["workflow_status"] == "completed"
    })
    .await;
}

/// Polls `path` until `done` holds for its answer.
async fn poll(api: &Api, path: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (code, body) = api.get(path).await;
        assert_eq!(code, StatusCode::OK, "{path}: {body}");
        if done(&body) {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: the board never showed it; last answer {body}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

fn lane<'a>(view: &'a Value, repo: &str, service: Option<&str>, env: &str) -> Option<&'a Value> {
    view["lanes"].as_array()?.iter().find(|l| {
        l["repository"] == format!("board/{repo}")
            && l["environment"] == env
            && l["service"].as_str() == service
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_board_shows_what_is_deployed_where_its_history_and_the_delivery_metrics() {
    let mut h = Harness::start("board-api").await;
    h.env
        .push(("GDT_BOARD_REFRESH_INTERVAL".into(), "1s".into()));
    h.env.push(("GDT_BOARD_VISIBILITY_LAG".into(), "1s".into()));
    let server = h.serve();
    let api = Api::new(&server);
    let hour_ago = (chrono::Utc::now() - chrono::Duration::hours(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);

    // shop's api in production: a success, a failure, then a success again (restored).
    let api_prod = |status: &str, commit_time: Option<&str>| {
        let mut extra = json!({"service": "api", "status": status});
        if let Some(t) = commit_time {
            extra["commit_timestamp"] = json!(t);
        }
        extra
    };
    deploy(
        &api,
        "shop-api-1",
        "shop",
        "production",
        api_prod("success", Some(&hour_ago)),
    )
    .await;
    finished(&api, "shop-api-1").await;
    deploy(
        &api,
        "shop-api-2",
        "shop",
        "production",
        api_prod("failure", None),
    )
    .await;
    finished(&api, "shop-api-2").await;
    deploy(
        &api,
        "shop-api-3",
        "shop",
        "production",
        api_prod("success", None),
    )
    .await;
    finished(&api, "shop-api-3").await;
    // shop as a whole in staging: still running. docs in production: an unsafe link.
    deploy(
        &api,
        "shop-staging-1",
        "shop",
        "staging",
        json!({"status": "in_progress"}),
    )
    .await;
    deploy(
        &api,
        "docs-prod-1",
        "docs",
        "production",
        json!({"status": "success", "environment_url": "javascript:alert(1)"}),
    )
    .await;
    finished(&api, "docs-prod-1").await;

    let path = "/api/v1/environments?repository=board/shop";
    let view = poll(&api, path, "shop's two lanes, api's outcome read", |v| {
        let api_lane = lane(v, "shop", Some("api"), "production");
        lane(v, "shop", None, "staging").is_some()
            && api_lane.is_some_and(|l| {
                l["current"]["workflow_id"] == "shop-api-3"
                    && l["current"]["deployment_id"].is_u64()
            })
    })
    .await;
    // The dev server keeps closed workflows one day: the board says it covers one, not the
    // 30 days of board.history_days.
    assert_eq!(view["coverage_days"], 1, "{view}");
    assert!(view["poll_seconds"].as_u64().unwrap() >= 1, "{view}");
    let api_lane = lane(&view, "shop", Some("api"), "production").unwrap();
    assert_eq!(api_lane["latest"]["state"], "success", "{api_lane}");
    assert_eq!(api_lane["latest"]["ref"], "main", "{api_lane}");
    assert_eq!(api_lane["latest"]["pipeline_id"], "deploy-pipeline");
    assert_eq!(
        api_lane["latest"]["log_url"],
        "https://ci.example/shop-api-3"
    );
    assert_eq!(api_lane["deployments_in_window"], 3);
    assert_eq!(api_lane["production"], true);
    assert!(api_lane["in_progress"].is_null(), "{api_lane}");
    assert!(api_lane["github_url"]
        .as_str()
        .unwrap()
        .ends_with("/board/shop/deployments/production"));
    let staging = lane(&view, "shop", None, "staging").unwrap();
    assert_eq!(staging["in_progress"]["workflow_id"], "shop-staging-1");
    assert!(staging["current"].is_null(), "{staging}");
    assert!(
        lane(&view, "docs", None, "production").is_none(),
        "filtered out"
    );

    // Filters, and the unsafe link dropped.
    let (_, running) = api
        .get("/api/v1/environments?repository=board/shop&state=in_progress")
        .await;
    assert_eq!(running["lanes"].as_array().unwrap().len(), 1, "{running}");
    let docs = poll(
        &api,
        "/api/v1/environments?repository=board/docs",
        "docs",
        |v| lane(v, "docs", None, "production").is_some(),
    )
    .await;
    let docs = lane(&docs, "docs", None, "production").unwrap();
    assert!(docs["current"]["environment_url"].is_null(), "{docs}");

    // The history, newest first.
    let (code, history) = api
        .get(
            "/api/v1/environments/history?repository=board/shop&environment=production&service=api",
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{history}");
    let states: Vec<(&str, &str)> = history["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["workflow_id"].as_str().unwrap(),
                d["state"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            ("shop-api-3", "success"),
            ("shop-api-2", "failure"),
            ("shop-api-1", "success")
        ]
    );
    assert!(history["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["deployment_id"].is_u64()));

    // The delivery metrics of that lane.
    let (code, dora) = api
        .get("/api/v1/dora?repository=board/shop&environment=production&service=api&windows=7")
        .await;
    assert_eq!(code, StatusCode::OK, "{dora}");
    let week = &dora["windows"][0];
    assert_eq!(
        week["days"], 1,
        "the window asked is capped to the retention: {dora}"
    );
    assert_eq!(
        (&week["deployments"], &week["successes"], &week["failures"]),
        (&json!(3), &json!(2), &json!(1)),
        "{dora}"
    );
    let rate = week["change_failure_rate"].as_f64().unwrap();
    assert!((rate - 1.0 / 3.0).abs() < 1e-9, "{dora}");
    assert_eq!(week["lead_time"]["samples"], 1, "{dora}");
    assert_eq!(week["lead_time"]["without_commit_time"], 1, "{dora}");
    let lead = week["lead_time"]["median_seconds"].as_f64().unwrap();
    assert!((3600.0..3900.0).contains(&lead), "{dora}");
    assert_eq!(week["time_to_restore"]["restored"], 1, "{dora}");
    assert_eq!(week["time_to_restore"]["unrestored"], 0, "{dora}");
    assert_eq!(dora["daily"].as_array().unwrap().len(), 1, "{dora}");

    // A status through the API shows on the board within a refresh.
    let (code, ack) = api
        .post(
            "/api/v1/deployments/shop-staging-1/status",
            &json!({"status": "success"}),
        )
        .await;
    assert_eq!(code, StatusCode::ACCEPTED, "{ack}");
    poll(&api, path, "staging's success", |v| {
        lane(v, "shop", None, "staging")
            .is_some_and(|l| l["current"]["workflow_id"] == "shop-staging-1")
    })
    .await;
    // The worker runs revision 4, so refreshes read what changed (`GdtUpdatedAt`) and count
    // the running deployments instead of listing them all.
    assert!(
        board_reads(&server, "changed").await > 0.0,
        "no refresh read only what changed"
    );
    let running_reads = board_reads(&server, "running").await;

    // A deployment terminated by hand changes no state: once its last change is older than
    // what a refresh reads again, the running count finds it closed.
    deploy(
        &api,
        "shop-qa-1",
        "shop",
        "qa",
        json!({"status": "in_progress"}),
    )
    .await;
    poll(&api, path, "qa running", |v| {
        lane(v, "shop", None, "qa").is_some_and(|l| l["latest"]["workflow_status"] == "running")
    })
    .await;
    // Looks that keep the board refreshing, so its reads move past the deployment's change.
    for _ in 0..20 {
        api.get(path).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let terminated = temporal(&[
        "workflow",
        "terminate",
        "--workflow-id",
        "shop-qa-1",
        "--reason",
        "board test",
    ]);
    assert!(terminated.status.success(), "{terminated:?}");
    poll(&api, path, "qa terminated", |v| {
        lane(v, "shop", None, "qa").is_some_and(|l| {
            l["latest"]["workflow_status"] == "terminated" && l["latest"]["state"] == "unknown"
        })
    })
    .await;
    assert!(
        board_reads(&server, "running").await > running_reads,
        "the running count's difference did not make the board read every running deployment"
    );

    // Conditional reads: the same answer again is 304.
    let url = format!("{}{path}", api.base);
    let first = api
        .http
        .get(&url)
        .bearer_auth(API_TOKEN)
        .send()
        .await
        .unwrap();
    let tag = first.headers()["etag"].clone();
    let again = api
        .http
        .get(&url)
        .bearer_auth(API_TOKEN)
        .header("if-none-match", tag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    // Bad requests say what was wrong; no token, no board.
    for bad in [
        "/api/v1/dora?windows=0",
        "/api/v1/dora?windows=7,x",
        "/api/v1/environments/history?repository=board/shop",
        "/api/v1/environments/history?repository=board/shop&environment=production&limit=500",
        "/api/v1/environments?state=done",
    ] {
        let (code, problem) = api.get(bad).await;
        assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {problem}");
    }
    let anonymous = api
        .http
        .get(format!("{}/api/v1/environments", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

/// `gdt_board_reads_total` of `read` on `gdt serve`'s metrics.
async fn board_reads(server: &ServerProcess, read: &str) -> f64 {
    let text = reqwest::get(format!("{}/metrics", server.metrics))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let series = format!("gdt_board_reads_total{{read=\"{read}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(series.as_str())?.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no {series} in\n{text}"))
}
