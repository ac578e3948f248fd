//! The client's metrics, read from the process's one registry.
//!
//! A test binary of its own, so no test of `api.rs` moves these series in between: the tests
//! here take `SERIAL` and assert on the change of each series across what they do.

// Each test binary compiles `support` whole; this one uses only part of it.
#[allow(dead_code)]
mod support;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use gdt_github::{
    CheckRunUpdate, Client, DeploymentFilter, NewCheckRun, NewDeployment, NewDeploymentStatus,
};
use gdt_metrics::labels::Endpoint;
use gdt_metrics::metrics;
use support::{app_client, token_client, Reply, Server, INSTALLATION_ID};

/// The tests of this binary run one at a time: they read the same global series.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The value of one series now (0 before it exists). Labels in any order.
fn value(name: &str, labels: &[(&str, &str)]) -> f64 {
    metrics().value(name, labels)
}

/// The sum of every series of a family.
fn family_total(name: &str) -> f64 {
    metrics()
        .encode()
        .lines()
        .filter(|line| {
            line.starts_with(&format!("{name}{{")) || line.starts_with(&format!("{name} "))
        })
        .filter_map(|line| line.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

fn requests(endpoint: Endpoint, method: &str, class: &str) -> f64 {
    value(
        "gdt_github_requests_total",
        &[
            ("endpoint", endpoint.as_str()),
            ("method", method),
            ("status_class", class),
        ],
    )
}

fn retries(endpoint: Endpoint, reason: &str) -> f64 {
    value(
        "gdt_github_retries_total",
        &[("endpoint", endpoint.as_str()), ("reason", reason)],
    )
}

fn token_refreshes(outcome: &str) -> f64 {
    value("gdt_github_token_refreshes_total", &[("outcome", outcome)])
}

type Call = fn(Client) -> Pin<Box<dyn Future<Output = ()> + Send>>;

/// Every endpoint method is counted under its own family and method: each is called once
/// against a server that answers 404 to everything (so nothing is retried), and exactly one
/// request is counted, in the series the method belongs to.
#[tokio::test]
async fn each_endpoint_method_is_counted_under_its_family() {
    let _serial = SERIAL.lock().await;
    let server = Server::start(|_, _| Reply::message(404, "Not Found")).await;
    // (family, method, needs App credentials, the call)
    let cases: &[(Endpoint, &str, bool, Call)] = &[
        (Endpoint::App, "GET", true, |c| {
            Box::pin(async move {
                let _ = c.get_app().await;
            })
        }),
        (Endpoint::InstallationToken, "POST", true, |c| {
            Box::pin(async move {
                let _ = c.installation_token().await;
            })
        }),
        (Endpoint::InstallationToken, "POST", true, |c| {
            Box::pin(async move {
                let _ = c.check_credentials().await;
            })
        }),
        (Endpoint::Other, "GET", false, |c| {
            Box::pin(async move {
                let _ = c.check_credentials().await;
            })
        }),
        (Endpoint::Deployments, "POST", false, |c| {
            Box::pin(async move {
                let new = NewDeployment::new("main", "production");
                let _ = c.create_deployment("acme", "web", &new).await;
            })
        }),
        (Endpoint::Deployments, "GET", false, |c| {
            Box::pin(async move {
                let filter = DeploymentFilter::default();
                let _ = c.list_deployments("acme", "web", &filter).await;
            })
        }),
        (Endpoint::DeploymentStatuses, "POST", false, |c| {
            Box::pin(async move {
                let status = NewDeploymentStatus::new(gdt_github::DeploymentState::Success);
                let _ = c.create_deployment_status("acme", "web", 1, &status).await;
            })
        }),
        (Endpoint::DeploymentStatuses, "GET", false, |c| {
            Box::pin(async move {
                let _ = c.list_deployment_statuses("acme", "web", 1).await;
            })
        }),
        (Endpoint::DeploymentStatuses, "GET", false, |c| {
            Box::pin(async move {
                let _ = c.latest_deployment_status("acme", "web", 1).await;
            })
        }),
        (Endpoint::Deployments, "DELETE", false, |c| {
            Box::pin(async move {
                let _ = c.delete_deployment("acme", "web", 1).await;
            })
        }),
        (Endpoint::Environments, "DELETE", false, |c| {
            Box::pin(async move {
                let _ = c.delete_environment("acme", "web", "pr-7").await;
            })
        }),
        (Endpoint::Pulls, "GET", false, |c| {
            Box::pin(async move {
                let _ = c.get_pull("acme", "web", 1).await;
            })
        }),
        (Endpoint::PullFiles, "GET", false, |c| {
            Box::pin(async move {
                let _ = c.list_pull_files("acme", "web", 1).await;
            })
        }),
        (Endpoint::Contents, "GET", false, |c| {
            Box::pin(async move {
                let _ = c.get_file("acme", "web", "VERSION", "main").await;
            })
        }),
        (Endpoint::IssueComments, "GET", false, |c| {
            Box::pin(async move {
                let _ = c.list_issue_comments("acme", "web", 1).await;
            })
        }),
        (Endpoint::IssueComments, "POST", false, |c| {
            Box::pin(async move {
                let _ = c.create_issue_comment("acme", "web", 1, "hi").await;
            })
        }),
        (Endpoint::IssueComments, "PATCH", false, |c| {
            Box::pin(async move {
                let _ = c.update_issue_comment("acme", "web", 1, "hi").await;
            })
        }),
        (Endpoint::IssueComments, "DELETE", false, |c| {
            Box::pin(async move {
                let _ = c.delete_issue_comment("acme", "web", 1).await;
            })
        }),
        (Endpoint::CheckRuns, "POST", false, |c| {
            Box::pin(async move {
                let run = NewCheckRun {
                    name: "version-validation".to_owned(),
                    head_sha: "a".repeat(40),
                    status: None,
                    conclusion: None,
                    external_id: None,
                    details_url: None,
                    output: None,
                };
                let _ = c.create_check_run("acme", "web", &run).await;
            })
        }),
        (Endpoint::CheckRuns, "PATCH", false, |c| {
            Box::pin(async move {
                let update = CheckRunUpdate::default();
                let _ = c.update_check_run("acme", "web", 1, &update).await;
            })
        }),
        (Endpoint::CheckRuns, "GET", false, |c| {
            Box::pin(async move {
                let _ = c
                    .list_check_runs("acme", "web", "main", "version-validation")
                    .await;
            })
        }),
    ];
    for (i, (endpoint, method, app, call)) in cases.iter().enumerate() {
        let client = if *app {
            app_client(&server.base)
        } else {
            token_client(&server.base)
        };
        let (series, all) = (
            requests(*endpoint, method, "4xx"),
            family_total("gdt_github_requests_total"),
        );
        call(client).await;
        let what = format!("case {i}: {} {method}", endpoint.as_str());
        assert_eq!(requests(*endpoint, method, "4xx") - series, 1.0, "{what}");
        assert_eq!(
            family_total("gdt_github_requests_total") - all,
            1.0,
            "{what}: one request, counted once"
        );
    }
}

/// A read answered 502 and then 200: both exchanges are counted with their class, the retry
/// with its reason, and the quota gauges follow the headers of the latest answer that had
/// them.
#[tokio::test]
async fn a_retried_5xx_counts_both_exchanges_and_the_retry() {
    let _serial = SERIAL.lock().await;
    let server = Server::start_counting(|n, _, _| match n {
        0 => Reply::message(502, "Server Error")
            .header("x-ratelimit-remaining", 4999)
            .header("x-ratelimit-limit", 5000),
        1 => Reply::json(200, &serde_json::json!([]))
            .header("x-ratelimit-remaining", 4998)
            .header("x-ratelimit-limit", 5000),
        // An answer without the headers leaves the gauges as they were.
        _ => Reply::json(200, &serde_json::json!([])),
    })
    .await;
    let client = token_client(&server.base);
    let family = Endpoint::DeploymentStatuses;
    let before = (
        requests(family, "GET", "5xx"),
        requests(family, "GET", "2xx"),
        retries(family, "server_error"),
    );

    client
        .list_deployment_statuses("acme", "web", 1)
        .await
        .expect("listed after one retry");

    assert_eq!(requests(family, "GET", "5xx") - before.0, 1.0);
    assert_eq!(requests(family, "GET", "2xx") - before.1, 1.0);
    assert_eq!(retries(family, "server_error") - before.2, 1.0);
    assert_eq!(value("gdt_github_rate_limit_remaining", &[]), 4998.0);
    assert_eq!(value("gdt_github_rate_limit_limit", &[]), 5000.0);

    client
        .list_deployment_statuses("acme", "web", 1)
        .await
        .expect("listed");
    assert_eq!(value("gdt_github_rate_limit_remaining", &[]), 4998.0);
}

/// A secondary limit waited out inline counts the hit, the retry and the wait; a primary
/// limit too far away to wait for counts the hit only, and sets the remaining quota to 0.
#[tokio::test]
async fn rate_limits_count_hits_retries_and_waits() {
    let _serial = SERIAL.lock().await;
    let hits = |kind: &str| value("gdt_github_rate_limited_total", &[("kind", kind)]);
    let waited = |kind: &str| {
        value(
            "gdt_github_rate_limit_wait_seconds_total",
            &[("kind", kind)],
        )
    };
    let family = Endpoint::Pulls;

    let server = Server::failing_first(
        1,
        Reply::message(429, "slow down").header("retry-after", 1),
        |_, _| Reply::json(200, &serde_json::json!({})),
    )
    .await;
    let before = (
        hits("secondary"),
        waited("secondary"),
        retries(family, "rate_limit"),
    );
    // The answer does not decode as a pull request; the exchanges are what is counted.
    let _ = token_client(&server.base).get_pull("acme", "web", 1).await;
    assert_eq!(hits("secondary") - before.0, 1.0);
    assert_eq!(waited("secondary") - before.1, 1.0);
    assert_eq!(retries(family, "rate_limit") - before.2, 1.0);

    let reset = u64::try_from(Utc::now().timestamp()).expect("after 1970") + 3600;
    let server = Server::start(move |_, _| Reply::quota_exhausted(reset)).await;
    let before = (
        hits("primary"),
        waited("primary"),
        retries(family, "rate_limit"),
    );
    let err = token_client(&server.base)
        .get_pull("acme", "web", 1)
        .await
        .expect_err("rate limited for an hour");
    assert!(
        matches!(err, gdt_github::Error::RateLimited { .. }),
        "{err:?}"
    );
    assert_eq!(hits("primary") - before.0, 1.0);
    assert_eq!(waited("primary") - before.1, 0.0, "returned, not waited");
    assert_eq!(retries(family, "rate_limit") - before.2, 0.0);
    assert_eq!(value("gdt_github_rate_limit_remaining", &[]), 0.0);
}

/// A fake GitHub minting `ghs_<n>` tokens (slowly, so callers pile up behind a mint) and
/// answering reads with `api(request number)`.
async fn minting_server(api: impl Fn(usize) -> Reply + Send + Sync + 'static) -> Server {
    let token_path = format!("/app/installations/{INSTALLATION_ID}/access_tokens");
    let mints = std::sync::atomic::AtomicUsize::new(0);
    let reads = std::sync::atomic::AtomicUsize::new(0);
    Server::start(move |req, _| {
        use std::sync::atomic::Ordering::SeqCst;
        if req.path == token_path {
            let n = mints.fetch_add(1, SeqCst) + 1;
            return Reply::json(
                201,
                &serde_json::json!({
                    "token": format!("ghs_{n}"),
                    "expires_at": (Utc::now() + TimeDelta::hours(1)).to_rfc3339(),
                }),
            )
            .delay(Duration::from_millis(100));
        }
        api(reads.fetch_add(1, SeqCst))
    })
    .await
}

/// One mint is one refresh, however many callers waited for it; a token GitHub rejects is
/// minted again and the request retried as `token_rejected`; a refused mint is a failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn token_refreshes_are_counted_once_per_mint() {
    let _serial = SERIAL.lock().await;
    let server = minting_server(|_| Reply::json(200, &serde_json::json!([]))).await;
    let client = app_client(&server.base);
    let before = token_refreshes("success");
    let calls: Vec<_> = (0..10)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move { client.list_deployment_statuses("acme", "web", i).await })
        })
        .collect();
    for call in calls {
        call.await.expect("join").expect("listed");
    }
    assert_eq!(
        token_refreshes("success") - before,
        1.0,
        "ten callers, one mint"
    );

    // The first read is refused: the token is minted again and the read retried.
    let server = minting_server(|n| match n {
        0 => Reply::message(401, "Bad credentials"),
        _ => Reply::json(200, &serde_json::json!([])),
    })
    .await;
    let family = Endpoint::DeploymentStatuses;
    let before = (
        token_refreshes("success"),
        retries(family, "token_rejected"),
    );
    app_client(&server.base)
        .list_deployment_statuses("acme", "web", 1)
        .await
        .expect("listed with a fresh token");
    assert_eq!(token_refreshes("success") - before.0, 2.0);
    assert_eq!(retries(family, "token_rejected") - before.1, 1.0);

    let server = Server::start(|_, _| Reply::message(404, "Not Found")).await;
    let before = token_refreshes("failure");
    app_client(&server.base)
        .installation_token()
        .await
        .expect_err("no such installation");
    assert_eq!(token_refreshes("failure") - before, 1.0);
}
