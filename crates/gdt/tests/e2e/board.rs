//! End to end: the deployments board in a real browser. Deployments reported through the API
//! (two repositories, two environments, one repository by service, a lane that failed and
//! then succeeded, one still running), then `browser/board.cjs` drives Debian's Chromium
//! headless through playwright-core: a wrong token is refused, the right one shows the grid,
//! the filter hides rows, the keyboard opens and closes a history, a status posted meanwhile
//! reaches the page by itself, and the session cookie stays out of the scripts' reach.
//! Screenshots land in `target/board/`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{Api, Harness, API_TOKEN};

const VIEWER_TOKEN: &str = "test-viewer-token-0123456789abcdef";
const PLAYWRIGHT_VERSION: &str = "1.64.1";

/// `(workflow id, repository, service, environment, status, sha)`, reported in this order.
const DEPLOYMENTS: [(&str, &str, &str, &str, &str, &str); 5] = [
    (
        "board-shop-api-staging",
        "acme/shop",
        "api",
        "staging",
        "failure",
        "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1",
    ),
    (
        "board-shop-api-prod-1",
        "acme/shop",
        "api",
        "production",
        "failure",
        "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2",
    ),
    (
        "board-shop-api-prod-2",
        "acme/shop",
        "api",
        "production",
        "success",
        "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3",
    ),
    (
        "board-web-staging",
        "acme/web",
        "",
        "staging",
        "success",
        "d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4",
    ),
    (
        "board-web-prod",
        "acme/web",
        "",
        "production",
        "in_progress",
        "e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5",
    ),
];

/// The workspace's `.tools/playwright/node_modules/playwright-core`, which `make bootstrap`
/// installs.
fn playwright() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../.tools/playwright/node_modules/playwright-core")
}

/// axe-core, the accessibility rules engine, installed beside playwright-core.
fn axe() -> PathBuf {
    playwright().with_file_name("axe-core")
}

fn chromium() -> PathBuf {
    std::env::var_os("GDT_CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

fn sha_of(id: &str) -> &'static str {
    DEPLOYMENTS
        .iter()
        .find(|d| d.0 == id)
        .expect("a deployment")
        .5
}

/// A lane as the script expects to see it.
fn lane(repository: &str, service: &str, environment: &str, word: &str, sha: &str) -> Value {
    json!({
        "repository": repository,
        "service": (!service.is_empty()).then_some(service),
        "environment": environment,
        "word": word,
        "sha": sha,
    })
}

/// Polls `GET /api/v1/environments` with the viewer token until every lane's latest state is
/// `want`'s, for at most 30 s.
async fn lanes_become(api: &Api, want: &[(&str, &str, &str, &str)]) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let response = api
            .http
            .get(format!("{}/api/v1/environments", api.base))
            .bearer_auth(VIEWER_TOKEN)
            .send()
            .await
            .expect("environments");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["cache-control"], "no-store");
        let view: Value = response.json().await.expect("environments json");
        let lanes = view["lanes"].as_array().cloned().unwrap_or_default();
        let seen: Vec<(String, String, String, String)> = lanes
            .iter()
            .map(|l| {
                (
                    l["repository"].as_str().unwrap_or("").to_owned(),
                    l["service"].as_str().unwrap_or("").to_owned(),
                    l["environment"].as_str().unwrap_or("").to_owned(),
                    l["latest"]["state"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect();
        let all = want.iter().all(|(r, s, e, state)| {
            seen.iter().any(|x| {
                (x.0.as_str(), x.1.as_str(), x.2.as_str(), x.3.as_str()) == (*r, *s, *e, *state)
            })
        });
        if all && seen.len() == want.len() {
            return view;
        }
        assert!(
            Instant::now() < deadline,
            "the board's lanes never became {want:?}: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_board_shows_filters_opens_histories_and_follows_new_statuses_in_chromium() {
    assert!(
        chromium().exists(),
        "Chromium is not installed at {}: run `make bootstrap` (or set GDT_CHROMIUM)",
        chromium().display()
    );
    assert!(
        playwright().join("package.json").exists() && axe().join("axe.min.js").exists(),
        "playwright-core or axe-core is not installed at {}: run `make bootstrap`",
        playwright().display()
    );

    let mut h = Harness::start("board").await;
    h.env.extend(
        [
            ("GDT_BOARD_VIEWER_TOKENS", VIEWER_TOKEN),
            ("GDT_BOARD_REFRESH_INTERVAL", "1s"),
            ("GDT_BOARD_POLL_INTERVAL", "1s"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    let server = h.serve();
    let api = Api::new(&server);

    for (n, (id, repository, service, environment, status, sha)) in
        DEPLOYMENTS.into_iter().enumerate()
    {
        // Commits made an hour or two before, so the lead times look like real ones.
        let committed = chrono::Utc::now() - chrono::Duration::minutes(150 - 20 * n as i64);
        let (owner, name) = repository.split_once('/').expect("owner/name");
        let (code, started) = api
            .post(
                "/api/v1/deployments",
                &json!({
                    "workflow_id": id, "repo_owner": owner, "repo_name": name,
                    "commit_sha": sha, "branch_name": "main", "environment": environment,
                    "log_url": format!("https://ci.example.com/runs/{id}"),
                    "service": service, "status": status,
                    "environment_url": format!("https://{environment}.{name}.example.com"),
                    "commit_timestamp": committed.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                }),
            )
            .await;
        assert_eq!(code, StatusCode::CREATED, "{id}: {started}");
        if status != "in_progress" {
            // One after the other, so the lane's order is the order above.
            api.wait_for_deployment(id, "finished", Duration::from_secs(60), |v| {
                v["workflow_status"] == "completed"
            })
            .await;
        }
    }

    // A viewer token reads, never writes.
    let (code, refused) = api
        .send(
            api.http
                .post(format!(
                    "{}/api/v1/deployments/board-web-prod/status",
                    api.base
                ))
                .bearer_auth(VIEWER_TOKEN)
                .json(&json!({"status": "success"})),
        )
        .await;
    assert_eq!(code, StatusCode::FORBIDDEN, "{refused}");
    assert_eq!(refused["code"], "forbidden");

    lanes_become(
        &api,
        &[
            ("acme/shop", "api", "staging", "failure"),
            ("acme/shop", "api", "production", "success"),
            ("acme/web", "", "staging", "success"),
            ("acme/web", "", "production", "in_progress"),
        ],
    )
    .await;

    let expect = json!({
        "lanes": [
            lane("acme/shop", "api", "staging", "failure", sha_of("board-shop-api-staging")),
            lane("acme/shop", "api", "production", "success", sha_of("board-shop-api-prod-2")),
            lane("acme/web", "", "staging", "success", sha_of("board-web-staging")),
            lane("acme/web", "", "production", "in progress", sha_of("board-web-prod")),
        ],
        "filter": "acme/web",
        "open": {
            "repository": "acme/shop", "service": "api", "environment": "production",
            "history": [
                ["success", sha_of("board-shop-api-prod-2")],
                ["failure", sha_of("board-shop-api-prod-1")],
            ],
        },
        "update": {
            "workflow_id": "board-web-prod",
            "lane": lane("acme/web", "", "production", "success", sha_of("board-web-prod")),
            "word": "success",
        },
    });
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/board");
    std::fs::create_dir_all(&shots).expect("target/board");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/browser/board.cjs");
    let started = Instant::now();
    let output = tokio::process::Command::new("node")
        .arg(&script)
        .env("GDT_BOARD_URL", &server.api)
        .env("GDT_VIEWER_TOKEN", VIEWER_TOKEN)
        .env("GDT_API_TOKEN", API_TOKEN)
        .env("GDT_EXPECT", expect.to_string())
        .env("GDT_SCREENSHOTS", &shots)
        .env("GDT_PLAYWRIGHT", playwright())
        .env("GDT_AXE", axe())
        .env("GDT_CHROMIUM", chromium())
        .kill_on_drop(true)
        .output()
        .await
        .expect("run node (it comes with `make bootstrap`'s npm)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the board failed in Chromium:\n{}\n{stdout}\nserver log:\n{}",
        String::from_utf8_lossy(&output.stderr),
        server.logs()
    );
    let report: Value = serde_json::from_str(stdout.trim()).expect("the script's report");
    assert_eq!(report["playwright"], PLAYWRIGHT_VERSION, "{report}");
    println!(
        "board in Chromium {} (playwright-core {}): {report} in {:?}",
        report["chromium"],
        report["playwright"],
        started.elapsed()
    );
}
