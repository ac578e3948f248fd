//! The client against a scripted fake GitHub.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono::{TimeDelta, Utc};
use gdt_github::{
    Auth, CheckAnnotation, CheckRunOutput, CheckRunUpdate, Client, ClientConfig, DeploymentFilter,
    DeploymentState, Error, NewCheckRun, NewDeployment, NewDeploymentStatus, RateLimitKind,
    MAX_CHECK_OUTPUT_BYTES,
};
use secrecy::{ExposeSecret, SecretString};
use support::{
    app_client, deployment_json, fast_retry, status_json, token_client, token_config,
    verify_app_jwt, Reply, Server, APP_ID, INSTALLATION_ID,
};
use url::Url;

const DEPLOYMENTS: &str = "/repos/acme/web/deployments";
const TOKEN_PATH: &str = "/app/installations/99/access_tokens";

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

fn counter() -> Arc<AtomicUsize> {
    Arc::new(AtomicUsize::new(0))
}

/// The `page` query parameter of a request (1 when absent).
fn page_of(req: &support::Recorded) -> u64 {
    req.query
        .as_deref()
        .unwrap_or_default()
        .split('&')
        .find_map(|kv| kv.strip_prefix("page="))
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
}

#[tokio::test]
async fn create_deployment_is_not_repeated_after_a_5xx() {
    // GitHub may have created the deployment before answering 502: repeating the POST could
    // create a second one, so the client hands the (retryable) error back after one request.
    let server = Server::failing_first(1, Reply::message(502, "Server Error"), |_, base| {
        Reply::json(201, &deployment_json(7, base))
    })
    .await;
    let client = token_client(&server.base);

    let mut new = NewDeployment::new("main", "production");
    new.description = Some("Deploy main".into());
    let err = client
        .create_deployment("acme", "web", &new)
        .await
        .expect_err("the 502 comes back");
    assert!(matches!(err, Error::Server { status: 502, .. }), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(server.requests().len(), 1);

    // The caller's own retry then succeeds.
    let d = client
        .create_deployment("acme", "web", &new)
        .await
        .expect("created on the second call");
    assert_eq!(d.id, 7);
    assert_eq!(d.ref_, "main");
    assert_eq!(d.creator.map(|c| c.login).as_deref(), Some("gdt[bot]"));
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    for r in &requests {
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, DEPLOYMENTS);
        assert_eq!(r.bearer(), "ghp_testtoken");
        assert_eq!(
            r.headers.get("content-type").and_then(|v| v.to_str().ok()),
            Some("application/json")
        );
        let body = r.json();
        assert_eq!(body["ref"], "main");
        assert_eq!(body["environment"], "production");
        assert_eq!(body["auto_merge"], false);
        assert_eq!(body["required_contexts"], serde_json::json!([]));
        assert_eq!(body["description"], "Deploy main");
    }
    server.assert_github_headers();
}

#[tokio::test]
async fn reads_retry_5xx_then_succeed() {
    let server = Server::failing_first(2, Reply::message(502, "Server Error"), |_, _| {
        Reply::json(200, &serde_json::json!([]))
    })
    .await;
    let client = token_client(&server.base);
    let statuses = client
        .list_deployment_statuses("acme", "web", 1)
        .await
        .expect("listed after retries");
    assert!(statuses.is_empty());
    assert_eq!(server.requests().len(), 3);
    server.assert_github_headers();
}

#[tokio::test]
async fn the_latest_status_is_one_request_and_keeps_githubs_state_word() {
    // `waiting` (an environment's reviewers hold the job) is no state this client posts,
    // and a deployment with no status answers an empty page.
    let server = Server::start(|req, _| {
        let body = match req.path.as_str() {
            "/repos/acme/web/deployments/1/statuses" => {
                serde_json::json!([status_json(12, "waiting")])
            }
            _ => serde_json::json!([]),
        };
        Reply::json(200, &body)
    })
    .await;
    let client = token_client(&server.base);
    let latest = client
        .latest_deployment_status("acme", "web", 1)
        .await
        .expect("read")
        .expect("a status");
    assert_eq!((latest.id, latest.state.as_str()), (12, "waiting"));
    let none = client
        .latest_deployment_status("acme", "web", 2)
        .await
        .expect("read");
    assert_eq!(none, None);
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert!(requests
        .iter()
        .all(|r| r.method == "GET" && r.query.as_deref() == Some("per_page=1")));
}

#[tokio::test]
async fn server_errors_give_up_after_max_retries() {
    let server = Server::start(|_, _| Reply::message(503, "unavailable")).await;
    let client = token_client(&server.base);

    let err = client
        .list_deployment_statuses("acme", "web", 1)
        .await
        .expect_err("always 503");

    assert!(matches!(err, Error::Server { status: 503, .. }), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(server.requests().len(), 4, "1 try + 3 retries");
}

#[tokio::test]
async fn long_backoff_is_returned_instead_of_slept() {
    let server = Server::start(|_, _| Reply::message(500, "boom")).await;
    let mut config = token_config(&server.base);
    config.retry.initial_backoff = Duration::from_secs(2);
    config.retry.max_backoff = Duration::from_secs(60);
    let client = Client::new(config)
        .expect("client")
        .with_max_inline_wait(Duration::from_millis(100));

    let started = Instant::now();
    let err = client
        .list_deployment_statuses("acme", "web", 1)
        .await
        .expect_err("500");
    assert!(matches!(err, Error::Server { status: 500, .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_millis(900));
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn primary_rate_limit_with_near_reset_is_slept_through() {
    let reset = unix_now() + 2;
    let rate_limited = Reply::message(403, "API rate limit exceeded for installation ID 99.")
        .header("x-ratelimit-remaining", 0)
        .header("x-ratelimit-reset", reset);
    let server = Server::failing_first(1, rate_limited, |_, _| {
        Reply::json(200, &serde_json::json!([]))
    })
    .await;
    let client = token_client(&server.base);

    let started = Instant::now();
    let list = client
        .list_deployments("acme", "web", &DeploymentFilter::default())
        .await
        .expect("succeeds after waiting");
    assert!(list.is_empty());
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(1) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
    assert_eq!(server.requests().len(), 2);
    server.assert_github_headers();
}

#[tokio::test]
async fn secondary_rate_limit_retry_after_is_honoured() {
    let rate_limited =
        Reply::message(429, "You have exceeded a secondary rate limit.").header("retry-after", 1);
    let server = Server::failing_first(1, rate_limited, |_, _| {
        Reply::json(200, &serde_json::json!([status_json(1, "success")]))
    })
    .await;
    let client = token_client(&server.base);

    let started = Instant::now();
    let statuses = client
        .list_deployment_statuses("acme", "web", 1)
        .await
        .expect("succeeds after retry-after");
    assert_eq!(statuses.len(), 1);
    assert_eq!(statuses[0].state, DeploymentState::Success);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(1) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn far_rate_limit_reset_is_returned_immediately() {
    let reset = unix_now() + 120;
    let server = Server::start(move |_, _| Reply::quota_exhausted(reset)).await;
    let client = token_client(&server.base).with_max_inline_wait(Duration::from_secs(10));

    let started = Instant::now();
    let err = client
        .create_deployment_status(
            "acme",
            "web",
            1,
            &NewDeploymentStatus::new(DeploymentState::InProgress),
        )
        .await
        .expect_err("rate limited");
    assert!(started.elapsed() < Duration::from_secs(1));

    match &err {
        Error::RateLimited {
            kind: RateLimitKind::Primary,
            wait,
            message,
        } => {
            assert!(
                (Duration::from_secs(118)..=Duration::from_secs(122)).contains(wait),
                "{wait:?}"
            );
            assert_eq!(message, "API rate limit exceeded");
        }
        other => panic!("{other:?}"),
    }
    assert!(err.is_retryable());
    assert!(err.retry_after().is_some_and(|w| w.as_secs() >= 118));
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let server = Server::start(|req, _| match req.path.as_str() {
        "/repos/acme/missing/deployments" => Reply::message(404, "Not Found"),
        "/repos/acme/web/deployments" => Reply::message(422, "No ref found for: nope"),
        "/repos/acme/private/deployments" => {
            Reply::message(403, "Resource not accessible by integration")
                .header("x-ratelimit-remaining", 4999)
        }
        "/repos/acme/conflict/deployments" => Reply::json(
            409,
            &serde_json::json!({"message": "Conflict: Commit status checks failed for main."}),
        ),
        _ => Reply::message(401, "Bad credentials"),
    })
    .await;
    let client = token_client(&server.base);
    let new = NewDeployment::new("nope", "production");
    let mut errors = Vec::new();

    let err = client
        .create_deployment("acme", "missing", &new)
        .await
        .expect_err("404");
    errors.push(err.clone());
    assert!(matches!(err, Error::NotFound { ref message } if message == "Not Found"));
    assert_eq!(err.status(), Some(404));

    let err = client
        .create_deployment("acme", "web", &new)
        .await
        .expect_err("422");
    errors.push(err.clone());
    assert!(matches!(err, Error::Validation { .. }));
    assert_eq!(
        err.to_string(),
        "GitHub rejected the request (422 Validation Failed): No ref found for: nope"
    );

    let err = client
        .create_deployment("acme", "private", &new)
        .await
        .expect_err("403");
    errors.push(err.clone());
    assert!(matches!(err, Error::Forbidden { .. }), "{err:?}");

    let err = client
        .create_deployment("acme", "conflict", &new)
        .await
        .expect_err("409");
    errors.push(err.clone());
    assert!(matches!(err, Error::Client { status: 409, .. }), "{err:?}");

    let err = client
        .create_deployment("acme", "other", &new)
        .await
        .expect_err("401");
    assert!(matches!(err, Error::Unauthorized { .. }), "{err:?}");
    assert!(!err.to_string().contains("ghp_testtoken"));

    errors.push(err);
    assert!(errors.iter().all(|e| !e.is_retryable()));
    assert_eq!(
        server.requests().len(),
        5,
        "each failure tried exactly once"
    );
    server.assert_github_headers();
}

#[tokio::test]
async fn accepted_without_id_is_unexpected() {
    let server = Server::start(|_, _| {
        Reply::message(202, "Auto-merged master into topic-branch on deployment.")
    })
    .await;
    let client = token_client(&server.base);
    let err = client
        .create_deployment("acme", "web", &NewDeployment::new("topic", "qa"))
        .await
        .expect_err("202");
    assert!(
        matches!(err, Error::Unexpected(ref m) if m.contains("Auto-merged")),
        "{err:?}"
    );
}

#[tokio::test]
async fn deployment_status_description_is_truncated_and_none_fields_omitted() {
    let server = Server::start(|_, _| Reply::json(201, &status_json(5, "failure"))).await;
    let client = token_client(&server.base);

    let status = NewDeploymentStatus {
        description: Some("é".repeat(300)),
        log_url: Some("https://ci.example/run/1".into()),
        auto_inactive: Some(false),
        ..NewDeploymentStatus::new(DeploymentState::Failure)
    };
    let created = client
        .create_deployment_status("acme", "web", 1, &status)
        .await
        .expect("created");
    assert_eq!(created.id, 5);
    assert_eq!(created.state, DeploymentState::Failure);

    let requests = server.requests_to("/repos/acme/web/deployments/1/statuses");
    assert_eq!(requests.len(), 1);
    let body = requests[0].json();
    let description = body["description"].as_str().expect("description");
    assert_eq!(description.chars().count(), 140);
    assert!(description.ends_with('…'));
    assert_eq!(body["state"], "failure");
    assert_eq!(body["auto_inactive"], false);
    let keys: Vec<&String> = body.as_object().expect("object").keys().collect();
    assert_eq!(keys.len(), 4, "None fields must be omitted: {keys:?}");
    server.assert_github_headers();
}

#[tokio::test]
async fn list_deployments_follows_link_pagination() {
    // The base URL has a path, as on GHES.
    let server = Server::start(|req, base| {
        let page = page_of(req);
        let items: Vec<_> = (0..2).map(|i| deployment_json(page * 10 + i, base)).collect();
        let mut reply = Reply::json(200, &serde_json::Value::Array(items));
        let link = |p: u64, rel: &str| {
            format!("<{base}api/v3/repos/acme/web/deployments?environment=production&per_page=100&page={p}>; rel=\"{rel}\"")
        };
        if page < 3 {
            reply = reply.header("link", format!("{}, {}", link(page + 1, "next"), link(3, "last")));
        } else {
            reply = reply.header("link", format!("{}, {}", link(1, "first"), link(2, "prev")));
        }
        reply
    })
    .await;
    let base = server.base.join("api/v3").expect("base");
    let client = token_client(&base);
    assert_eq!(client.base_url(), &base);

    let filter = DeploymentFilter {
        environment: Some("production".into()),
        sha: Some("a84d88e".into()),
        ..DeploymentFilter::default()
    };
    let all = client
        .list_deployments("acme", "web", &filter)
        .await
        .expect("list");
    let ids: Vec<u64> = all.iter().map(|d| d.id).collect();
    assert_eq!(ids, vec![10, 11, 20, 21, 30, 31]);

    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    assert!(requests
        .iter()
        .all(|r| r.path == "/api/v3/repos/acme/web/deployments"));
    let first_query = requests[0].query.clone().unwrap_or_default();
    assert_eq!(
        first_query,
        "sha=a84d88e&environment=production&per_page=100"
    );
    server.assert_github_headers();

    // max_pages bounds the walk.
    let limited = client
        .list_deployments(
            "acme",
            "web",
            &DeploymentFilter {
                max_pages: 2,
                ..DeploymentFilter::default()
            },
        )
        .await
        .expect("list");
    assert_eq!(limited.len(), 4);
    assert_eq!(server.requests().len(), 5);
}

#[tokio::test]
async fn connection_errors_are_transport_errors_and_retried() {
    // A port nobody listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let base = Url::parse(&format!("http://{addr}/")).expect("url");
    let client = token_client(&base);

    let started = Instant::now();
    let err = client
        .list_deployments("acme", "web", &DeploymentFilter::default())
        .await
        .expect_err("nothing listens");
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert!(err.is_retryable());
    let text = err.to_string();
    assert!(
        !text.contains("ghp_testtoken") && !text.contains("per_page"),
        "{text}"
    );
    // 3 backoffs of at least 5, 10, 20 ms (equal jitter): retries happened.
    assert!(started.elapsed() >= Duration::from_millis(35));
}

// ---- GitHub App auth ----------------------------------------------------

/// A fake GitHub that mints `ghs_<n>` tokens (n = mint count) valid for
/// `lifetime(n)`, and answers API calls with `api(request)`.
async fn app_server(
    mints: Arc<AtomicUsize>,
    lifetime: impl Fn(usize) -> TimeDelta + Send + Sync + 'static,
    api: impl Fn(&support::Recorded, &Url) -> Reply + Send + Sync + 'static,
) -> Server {
    Server::start(move |req, base| {
        if req.path == TOKEN_PATH {
            match verify_app_jwt(&req.bearer()) {
                Ok(iss) if iss == APP_ID.to_string() => {}
                other => return Reply::message(401, &format!("bad JWT: {other:?}")),
            }
            let n = mints.fetch_add(1, Ordering::SeqCst) + 1;
            let expires_at = Utc::now() + lifetime(n);
            // Slow enough that concurrent callers pile up behind the mint.
            return Reply::json(
                201,
                &serde_json::json!({
                    "token": format!("ghs_{n}"),
                    "expires_at": expires_at.to_rfc3339(),
                    "permissions": {"deployments": "write"},
                    "repository_selection": "selected"
                }),
            )
            .delay(Duration::from_millis(100));
        }
        if req.path == "/app" {
            return match verify_app_jwt(&req.bearer()) {
                Ok(_) => Reply::json(
                    200,
                    &serde_json::json!({
                        "id": APP_ID, "slug": "gdt", "name": "GDT",
                        "owner": {"login": "acme", "id": 3},
                        "html_url": "https://github.com/apps/gdt"
                    }),
                ),
                Err(e) => Reply::message(401, &e),
            };
        }
        api(req, base)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_calls_share_one_installation_token() {
    let mints = counter();
    let server = app_server(
        Arc::clone(&mints),
        |_| TimeDelta::hours(1),
        |req, _| {
            if req.bearer().starts_with("ghs_") {
                Reply::json(200, &serde_json::json!([status_json(1, "queued")]))
            } else {
                Reply::message(401, "Bad credentials")
            }
        },
    )
    .await;
    let client = app_client(&server.base);

    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move { client.list_deployment_statuses("acme", "web", i).await })
        })
        .collect();
    for task in tasks {
        let statuses = task.await.expect("join").expect("call succeeds");
        assert_eq!(statuses[0].state, DeploymentState::Queued);
    }

    assert_eq!(mints.load(Ordering::SeqCst), 1, "exactly one token minted");
    assert_eq!(server.requests_to(TOKEN_PATH).len(), 1);
    let api_calls: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.path != TOKEN_PATH)
        .collect();
    assert_eq!(api_calls.len(), 50);
    assert!(api_calls.iter().all(|r| r.bearer() == "ghs_1"));
    server.assert_github_headers();

    let token = client.installation_token().await.expect("token");
    assert_eq!(token.token.expose_secret(), "ghs_1");
    assert!(token
        .expires_at
        .is_some_and(|t| t > Utc::now() + TimeDelta::minutes(55)));
    assert_eq!(mints.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn token_close_to_expiry_is_refreshed() {
    let mints = counter();
    let server = app_server(
        Arc::clone(&mints),
        // The first token has only 4 minutes left: inside the 5-minute margin.
        |n| {
            if n == 1 {
                TimeDelta::minutes(4)
            } else {
                TimeDelta::hours(1)
            }
        },
        |_, _| Reply::json(200, &serde_json::json!([])),
    )
    .await;
    let client = app_client(&server.base);

    for _ in 0..3 {
        client
            .list_deployment_statuses("acme", "web", 1)
            .await
            .expect("call");
    }
    assert_eq!(mints.load(Ordering::SeqCst), 2);
    let bearers: Vec<String> = server
        .requests()
        .iter()
        .filter(|r| r.path != TOKEN_PATH)
        .map(support::Recorded::bearer)
        .collect();
    assert_eq!(bearers, vec!["ghs_1", "ghs_2", "ghs_2"]);
}

#[tokio::test]
async fn unauthorized_with_app_token_refreshes_once() {
    let mints = counter();
    let server = app_server(
        Arc::clone(&mints),
        |_| TimeDelta::hours(1),
        // ghs_1 was "revoked"; ghs_2 works on repo web, nothing works on repo locked.
        |req, _| {
            if req.bearer() == "ghs_2" && req.path.starts_with("/repos/acme/web/") {
                Reply::json(200, &serde_json::json!([]))
            } else {
                Reply::message(401, "Bad credentials")
            }
        },
    )
    .await;
    let client = app_client(&server.base);

    client
        .list_deployment_statuses("acme", "web", 1)
        .await
        .expect("succeeds with a fresh token");
    assert_eq!(mints.load(Ordering::SeqCst), 2);

    let err = client
        .list_deployment_statuses("acme", "locked", 1)
        .await
        .expect_err("still 401");
    assert!(matches!(err, Error::Unauthorized { .. }), "{err:?}");
    assert_eq!(mints.load(Ordering::SeqCst), 3, "one refresh, no more");
    assert_eq!(
        server
            .requests_to("/repos/acme/locked/deployments/1/statuses")
            .len(),
        2
    );
}

#[tokio::test]
async fn get_app_uses_the_jwt() {
    let mints = counter();
    let server = app_server(
        Arc::clone(&mints),
        |_| TimeDelta::hours(1),
        |_, _| Reply::message(500, "unused"),
    )
    .await;
    let client = app_client(&server.base);
    let app = client.get_app().await.expect("app");
    assert_eq!(app.id, APP_ID);
    assert_eq!(app.slug.as_deref(), Some("gdt"));
    assert_eq!(app.owner.map(|o| o.login).as_deref(), Some("acme"));
    assert_eq!(
        mints.load(Ordering::SeqCst),
        0,
        "GET /app needs no installation token"
    );
    server.assert_github_headers();

    let plain = token_client(&server.base);
    let err = plain.get_app().await.expect_err("plain token");
    assert!(
        matches!(err, Error::Config(ref m) if m.contains("GitHub App")),
        "{err:?}"
    );
    let token = plain.installation_token().await.expect("token");
    assert_eq!(token.token.expose_secret(), "ghp_testtoken");
    assert!(token.expires_at.is_none());
}

#[tokio::test]
async fn token_exchange_failure_names_the_installation() {
    let server = Server::start(|req, _| {
        if req.path == TOKEN_PATH {
            Reply::message(404, "Not Found")
        } else {
            Reply::json(200, &serde_json::json!([]))
        }
    })
    .await;
    let client = app_client(&server.base);
    let err = client
        .list_deployment_statuses("acme", "web", 1)
        .await
        .expect_err("no installation");
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains(&format!("installation {INSTALLATION_ID}")),
        "{err}"
    );
    assert_eq!(server.requests().len(), 1, "no API call without a token");
}

#[test]
fn bad_private_key_fails_at_construction() {
    let config = ClientConfig::new(
        Url::parse("https://api.github.com").expect("url"),
        Auth::App {
            app_id: 1,
            installation_id: 2,
            private_key_pem: SecretString::from("not a key SECRETMATERIAL"),
        },
        fast_retry(),
    );
    let err = Client::new(config).expect_err("bad key");
    assert!(matches!(err, Error::Config(_)));
    let text = format!("{err} {err:?}");
    assert!(text.contains("private key"), "{text}");
    assert!(!text.contains("SECRETMATERIAL"), "{text}");
}

// ---- pulls, contents, comments, check runs -------------------------------

/// A reply whose `Link` header points at `page + 1` of the same path when `more`.
fn paged(reply: Reply, req: &support::Recorded, base: &Url, more: bool) -> Reply {
    if !more {
        return reply;
    }
    let path = req.path.trim_start_matches('/');
    reply.header(
        "link",
        format!(
            "<{base}{path}?per_page=100&page={}>; rel=\"next\"",
            page_of(req) + 1
        ),
    )
}

fn pull_file_json(n: u64) -> serde_json::Value {
    serde_json::json!({
        "sha": format!("blob{n}"),
        "filename": format!("src/file{n}.rs"),
        "status": if n % 2 == 0 { "modified" } else { "renamed" },
        "additions": 3, "deletions": 1, "changes": 4,
        "previous_filename": if n % 2 == 0 { serde_json::Value::Null } else { serde_json::json!(format!("old/file{n}.rs")) },
        "blob_url": "https://github.com/acme/web/blob/x", "patch": "@@ -1 +1 @@"
    })
}

/// A fake GitHub listing pull request files: `page(n)` says how many files page `n`
/// has and whether a next page follows; file `i` of page `n` is `src/file{n*1000+i}.rs`.
async fn pull_files_server(page: impl Fn(u64) -> (u64, bool) + Send + Sync + 'static) -> Server {
    Server::start(move |req, base| {
        let n = page_of(req);
        let (count, more) = page(n);
        let files: Vec<_> = (0..count).map(|i| pull_file_json(n * 1000 + i)).collect();
        paged(
            Reply::json(200, &serde_json::Value::Array(files)),
            req,
            base,
            more,
        )
    })
    .await
}

fn comment_json(id: u64, body: &str) -> serde_json::Value {
    serde_json::json!({
        "id": id,
        "node_id": format!("IC_{id}"),
        "url": format!("https://api.github.com/repos/acme/web/issues/comments/{id}"),
        "html_url": format!("https://github.com/acme/web/pull/7#issuecomment-{id}"),
        "body": body,
        "user": {"login": "gdt[bot]", "id": 1, "type": "Bot"},
        "created_at": "2024-05-01T10:00:00Z",
        "updated_at": "2024-05-01T11:00:00Z",
        "author_association": "NONE"
    })
}

/// A fake GitHub whose first answer is a 502 and which then answers with comment 9
/// carrying the body the request sent (`status` 201 for a create, 200 for an update),
/// and a client for it.
async fn comments_after_one_502(status: u16) -> (Server, Client) {
    let server = Server::failing_first(1, Reply::message(502, "Server Error"), move |req, _| {
        Reply::json(
            status,
            &comment_json(9, req.json()["body"].as_str().unwrap_or("")),
        )
    })
    .await;
    let client = token_client(&server.base);
    (server, client)
}

fn check_run_json(id: u64, status: &str) -> serde_json::Value {
    serde_json::json!({
        "id": id,
        "name": "deploy-plan",
        "node_id": format!("CR_{id}"),
        "head_sha": "ce587453ced02b1526dfb4cb910479d431683101",
        "external_id": "42",
        "url": format!("https://api.github.com/repos/acme/web/check-runs/{id}"),
        "html_url": format!("https://github.com/acme/web/runs/{id}"),
        "status": status,
        "conclusion": null,
        "started_at": "2024-05-01T10:00:00Z",
        "output": {"title": null, "summary": null, "text": null, "annotations_count": 0},
        "pull_requests": []
    })
}

fn annotation(n: u32) -> CheckAnnotation {
    CheckAnnotation {
        path: format!("deploy/app{n}.yaml"),
        start_line: n,
        end_line: n,
        start_column: Some(1),
        end_column: Some(5),
        annotation_level: "warning".into(),
        message: format!("problem {n}"),
        title: None,
    }
}

#[tokio::test]
async fn get_pull_reads_head_and_base() {
    let server = Server::start(|_, _| {
        Reply::json(
            200,
            &serde_json::json!({
                "id": 1, "number": 7, "state": "open",
                "html_url": "https://github.com/acme/web/pull/7",
                "head": {"label": "acme:feature/x", "ref": "feature/x", "sha": "h1", "repo": {"id": 1}},
                "base": {"label": "acme:main", "ref": "main", "sha": "b1", "repo": {"id": 1}},
                "merged": false
            }),
        )
    })
    .await;
    let client = token_client(&server.base);
    let pr = client.get_pull("acme", "web", 7).await.expect("pull");
    assert_eq!(pr.number, 7);
    assert_eq!(pr.state, "open");
    assert_eq!(pr.head.ref_, "feature/x");
    assert_eq!(pr.head.sha, "h1");
    assert_eq!(pr.base.ref_, "main");
    let requests = server.requests_to("/repos/acme/web/pulls/7");
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "GET");
    server.assert_github_headers();
}

#[tokio::test]
async fn list_pull_files_follows_three_pages() {
    let server = pull_files_server(|page| (if page < 3 { 100 } else { 37 }, page < 3)).await;
    let client = token_client(&server.base);
    let listed = client
        .list_pull_files("acme", "web", 7)
        .await
        .expect("files");
    assert_eq!(listed.files.len(), 237);
    assert!(!listed.truncated);
    assert_eq!(listed.files[0].filename, "src/file1000.rs");
    assert_eq!(listed.files[0].status, "modified");
    assert_eq!(listed.files[0].previous_filename, None);
    assert_eq!(listed.files[0].sha.as_deref(), Some("blob1000"));
    assert_eq!(
        listed.files[1].previous_filename.as_deref(),
        Some("old/file1001.rs")
    );
    assert_eq!(
        (
            listed.files[1].additions,
            listed.files[1].deletions,
            listed.files[1].changes
        ),
        (3, 1, 4)
    );
    assert_eq!(listed.files[236].filename, "src/file3036.rs");

    let requests = server.requests_to("/repos/acme/web/pulls/7/files");
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[0].query.as_deref(), Some("per_page=100"));
    assert_eq!(requests[2].query.as_deref(), Some("per_page=100&page=3"));
    server.assert_github_headers();
}

#[tokio::test]
async fn list_pull_files_stops_at_githubs_3000_file_cap() {
    // A server that always offers another page: the client stops after 30.
    let server = pull_files_server(|_| (100, true)).await;
    let client = token_client(&server.base);
    let listed = client
        .list_pull_files("acme", "web", 7)
        .await
        .expect("files");
    assert_eq!(listed.files.len(), 3000);
    assert!(listed.truncated);
    assert_eq!(server.requests().len(), 30);

    // Exactly 3,000 files without a further page is GitHub's cap too.
    let server = pull_files_server(|page| (100, page < 30)).await;
    let client = token_client(&server.base);
    let listed = client
        .list_pull_files("acme", "web", 7)
        .await
        .expect("files");
    assert_eq!(listed.files.len(), 3000);
    assert!(listed.truncated);
}

/// Base64 with a newline after every 60 characters, as GitHub sends it.
fn github_base64(data: &[u8]) -> String {
    use base64::Engine as _;
    let plain = base64::engine::general_purpose::STANDARD.encode(data);
    let lines: Vec<&str> = plain
        .as_bytes()
        .chunks(60)
        .map(|line| std::str::from_utf8(line).expect("base64 is ASCII"))
        .collect();
    lines.join("\n") + "\n"
}

#[tokio::test]
async fn get_file_decodes_wrapped_base64_and_encodes_the_path() {
    let text = "# Déploiement 🚀\n\nenvironments:\n  - production\n  - staging\n".repeat(5);
    let content = github_base64(text.as_bytes());
    assert!(content.matches('\n').count() > 3, "{content}");
    let size = text.len();
    let server = Server::start(move |req, _| {
        if req.path == "/repos/acme/web/contents/deploy%20config/my%20app/gdt%231.yaml" {
            Reply::json(
                200,
                &serde_json::json!({
                    "type": "file", "encoding": "base64", "size": size,
                    "name": "gdt#1.yaml", "path": "deploy config/my app/gdt#1.yaml",
                    "content": content, "sha": "3d21ec53a331a6f037a91c368710b99387d012c1",
                    "url": "u", "git_url": "g", "html_url": "h", "download_url": "d"
                }),
            )
        } else {
            Reply::message(404, "Not Found")
        }
    })
    .await;
    let client = token_client(&server.base);
    let file = client
        .get_file(
            "acme",
            "web",
            "deploy config/my app/gdt#1.yaml",
            "feature/x",
        )
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(file.text, text);
    assert_eq!(file.path, "deploy config/my app/gdt#1.yaml");
    assert_eq!(file.sha, "3d21ec53a331a6f037a91c368710b99387d012c1");
    assert_eq!(file.size, text.len() as u64);

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].query.as_deref(), Some("ref=feature%2Fx"));
    server.assert_github_headers();
}

#[tokio::test]
async fn get_file_404_is_none_and_directories_are_errors() {
    let server = Server::start(|req, _| match req.path.as_str() {
        "/repos/acme/web/contents/deploy" => Reply::json(
            200,
            &serde_json::json!([{"type": "file", "name": "a.yaml", "path": "deploy/a.yaml", "sha": "s", "size": 1}]),
        ),
        "/repos/acme/web/contents/bin/logo.png" => Reply::json(
            200,
            &serde_json::json!({"type": "file", "encoding": "base64", "size": 4, "path": "bin/logo.png",
                                "sha": "s", "content": "iVBORw==\n"}),
        ),
        _ => Reply::message(404, "Not Found"),
    })
    .await;
    let client = token_client(&server.base);

    let missing = client
        .get_file("acme", "web", "gdt.yaml", "main")
        .await
        .expect("404 is not an error");
    assert_eq!(missing, None);
    assert_eq!(server.requests().len(), 1, "a 404 is not retried");

    let err = client
        .get_file("acme", "web", "deploy", "main")
        .await
        .expect_err("directory");
    assert!(
        matches!(err, Error::Unexpected(ref m) if m.contains("\"deploy\" is a directory")),
        "{err:?}"
    );

    let err = client
        .get_file("acme", "web", "bin/logo.png", "main")
        .await
        .expect_err("binary");
    assert!(
        matches!(err, Error::Unexpected(ref m) if m.contains("\"bin/logo.png\" is not UTF-8")),
        "{err:?}"
    );
}

#[tokio::test]
async fn list_issue_comments_follows_pages() {
    let server = Server::start(|req, base| {
        let page = page_of(req);
        let count = if page == 1 { 100 } else { 5 };
        let comments: Vec<_> = (0..count)
            .map(|i| comment_json(page * 1000 + i, &format!("comment {i}")))
            .collect();
        paged(
            Reply::json(200, &serde_json::Value::Array(comments)),
            req,
            base,
            page < 2,
        )
    })
    .await;
    let client = token_client(&server.base);
    let comments = client
        .list_issue_comments("acme", "web", 7)
        .await
        .expect("comments");
    assert_eq!(comments.len(), 105);
    assert_eq!(comments[0].id, 1000);
    assert_eq!(comments[104].id, 2004);
    assert_eq!(comments[0].body, "comment 0");
    let user = comments[0].user.clone().expect("user");
    assert_eq!(
        (user.login.as_str(), user.type_.as_str()),
        ("gdt[bot]", "Bot")
    );
    assert!(comments[0].updated_at > comments[0].created_at);

    let requests = server.requests_to("/repos/acme/web/issues/7/comments");
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].query.as_deref(), Some("per_page=100"));
    server.assert_github_headers();
}

#[tokio::test]
async fn create_issue_comment_is_not_repeated_after_a_502() {
    let (server, client) = comments_after_one_502(201).await;

    let err = client
        .create_issue_comment("acme", "web", 7, "Deployed to production")
        .await
        .expect_err("the 502 comes back");
    assert!(matches!(err, Error::Server { status: 502, .. }), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(server.requests().len(), 1);

    let created = client
        .create_issue_comment("acme", "web", 7, "Deployed to production")
        .await
        .expect("created on the caller's retry");
    assert_eq!(created.id, 9);
    assert_eq!(created.body, "Deployed to production");
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    for r in &requests {
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/repos/acme/web/issues/7/comments");
        assert_eq!(
            r.json(),
            serde_json::json!({"body": "Deployed to production"})
        );
    }
    server.assert_github_headers();
}

#[tokio::test]
async fn update_issue_comment_patches_and_is_retried() {
    let (server, client) = comments_after_one_502(200).await;
    let updated = client
        .update_issue_comment("acme", "web", 9, "Deployed v2")
        .await
        .expect("updated after an in-process retry");
    assert_eq!(updated.id, 9);
    assert_eq!(updated.body, "Deployed v2");
    let requests = server.requests_to("/repos/acme/web/issues/comments/9");
    assert_eq!(requests.len(), 2, "the same PATCH is safe to repeat");
    for r in &requests {
        assert_eq!(r.method, "PATCH");
        assert_eq!(r.json(), serde_json::json!({"body": "Deployed v2"}));
    }
    server.assert_github_headers();
}

#[tokio::test]
async fn check_run_annotations_go_in_batches_of_50() {
    let server = Server::start(|req, _| match (req.method.as_str(), req.path.as_str()) {
        ("POST", "/repos/acme/web/check-runs") => {
            Reply::json(201, &check_run_json(4, "in_progress"))
        }
        ("PATCH", "/repos/acme/web/check-runs/4") => {
            Reply::json(200, &check_run_json(4, "completed"))
        }
        _ => Reply::message(404, "Not Found"),
    })
    .await;
    let client = token_client(&server.base);

    let mut output = CheckRunOutput::new("Deploy plan", "3 services change");
    output.text = Some("details".into());
    output.annotations = (1..=120).map(annotation).collect();
    let run = NewCheckRun {
        status: Some("completed".into()),
        conclusion: Some("neutral".into()),
        external_id: Some("42".into()),
        output: Some(output),
        ..NewCheckRun::new("deploy-plan", "ce587453ced02b1526dfb4cb910479d431683101")
    };
    let created = client
        .create_check_run("acme", "web", &run)
        .await
        .expect("created");
    assert_eq!(created.id, 4);
    assert_eq!(created.status, "completed", "the last answer is returned");
    assert_eq!(
        created.html_url.as_deref(),
        Some("https://github.com/acme/web/runs/4")
    );

    let requests = server.requests();
    let shape: Vec<(String, usize)> = requests
        .iter()
        .map(|r| {
            (
                r.method.to_string(),
                r.json()["output"]["annotations"]
                    .as_array()
                    .map_or(0, Vec::len),
            )
        })
        .collect();
    assert_eq!(
        shape,
        vec![
            ("POST".to_owned(), 50),
            ("PATCH".to_owned(), 50),
            ("PATCH".to_owned(), 20)
        ]
    );
    let post = requests[0].json();
    assert_eq!(post["name"], "deploy-plan");
    assert_eq!(post["head_sha"], "ce587453ced02b1526dfb4cb910479d431683101");
    assert_eq!(post["status"], "completed");
    assert_eq!(post["conclusion"], "neutral");
    assert_eq!(post["external_id"], "42");
    assert!(post.get("details_url").is_none());
    assert_eq!(
        post["output"]["annotations"][0],
        serde_json::json!({
            "path": "deploy/app1.yaml", "start_line": 1, "end_line": 1,
            "start_column": 1, "end_column": 5, "annotation_level": "warning",
            "message": "problem 1"
        })
    );
    for (r, first) in requests[1..].iter().zip([51, 101]) {
        assert_eq!(r.path, "/repos/acme/web/check-runs/4");
        let body = r.json();
        let keys: Vec<&String> = body.as_object().expect("object").keys().collect();
        assert_eq!(keys, vec!["output"], "follow-ups only add annotations");
        assert_eq!(body["output"]["title"], "Deploy plan");
        assert_eq!(body["output"]["summary"], "3 services change");
        assert_eq!(body["output"]["text"], "details");
        assert_eq!(body["output"]["annotations"][0]["start_line"], first);
    }
    server.assert_github_headers();
}

#[tokio::test]
async fn check_run_summary_is_truncated_to_githubs_limit() {
    let server = Server::start(|req, _| {
        if req.method == "POST" {
            Reply::json(201, &check_run_json(5, "queued"))
        } else {
            Reply::json(200, &check_run_json(5, "completed"))
        }
    })
    .await;
    let client = token_client(&server.base);
    // 70,000 bytes of mixed 1- and 3-byte characters.
    let summary = "aデ".repeat(17_500);
    assert!(summary.len() > MAX_CHECK_OUTPUT_BYTES);
    let run = NewCheckRun {
        output: Some(CheckRunOutput::new("Plan", summary.clone())),
        ..NewCheckRun::new("deploy-plan", "abc")
    };
    client
        .create_check_run("acme", "web", &run)
        .await
        .expect("created");
    let update = CheckRunUpdate {
        status: Some("completed".into()),
        conclusion: Some("success".into()),
        output: Some(CheckRunOutput::new("Plan", summary.clone())),
        ..CheckRunUpdate::default()
    };
    client
        .update_check_run("acme", "web", 5, &update)
        .await
        .expect("updated");

    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    for r in &requests {
        let body = r.json();
        let sent = body["output"]["summary"].as_str().expect("summary");
        assert!(sent.len() <= MAX_CHECK_OUTPUT_BYTES, "{}", sent.len());
        assert!(sent.len() > MAX_CHECK_OUTPUT_BYTES - 8);
        assert!(sent.ends_with('…'));
        assert!(summary.starts_with(sent.trim_end_matches('…')));
        assert!(body["output"].get("annotations").is_none());
    }
    assert_eq!(requests[1].method, "PATCH");
    assert_eq!(requests[1].path, "/repos/acme/web/check-runs/5");
    assert_eq!(requests[1].json()["conclusion"], "success");
}

#[tokio::test]
async fn check_run_updates_with_annotations_are_not_repeated() {
    // GitHub appends annotations: repeating such a PATCH after a 502 could
    // duplicate them, while a plain status update is safe to repeat.
    let server = Server::start_counting(|n, _, _| {
        if n % 2 == 0 {
            Reply::message(502, "Server Error")
        } else {
            Reply::json(200, &check_run_json(6, "completed"))
        }
    })
    .await;
    let client = token_client(&server.base);

    let plain = CheckRunUpdate {
        status: Some("completed".into()),
        conclusion: Some("success".into()),
        ..CheckRunUpdate::default()
    };
    let run = client
        .update_check_run("acme", "web", 6, &plain)
        .await
        .expect("retried in-process");
    assert_eq!(run.id, 6);
    assert_eq!(server.requests().len(), 2);

    let mut output = CheckRunOutput::new("Plan", "s");
    output.annotations = vec![annotation(1)];
    let annotated = CheckRunUpdate {
        output: Some(output),
        ..CheckRunUpdate::default()
    };
    let err = client
        .update_check_run("acme", "web", 6, &annotated)
        .await
        .expect_err("the 502 comes back");
    assert!(matches!(err, Error::Server { status: 502, .. }), "{err:?}");
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn list_check_runs_unwraps_the_object_and_follows_pages() {
    let server = Server::start(|req, base| {
        let page = page_of(req);
        let runs: Vec<_> = (0..2)
            .map(|i| check_run_json(page * 10 + i, "completed"))
            .collect();
        let reply = Reply::json(
            200,
            &serde_json::json!({"total_count": 4, "check_runs": runs}),
        );
        if page == 1 {
            let path = req.path.trim_start_matches('/');
            reply.header(
                "link",
                format!("<{base}{path}?check_name=deploy-plan&per_page=100&page=2>; rel=\"next\""),
            )
        } else {
            reply
        }
    })
    .await;
    let client = token_client(&server.base);
    let runs = client
        .list_check_runs("acme", "web", "release/1.2", "deploy plan")
        .await
        .expect("runs");
    let ids: Vec<u64> = runs.iter().map(|r| r.id).collect();
    assert_eq!(ids, vec![10, 11, 20, 21]);
    assert_eq!(runs[0].name, "deploy-plan");
    assert_eq!(runs[0].conclusion, None);

    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[0].path,
        "/repos/acme/web/commits/release%2F1.2/check-runs"
    );
    assert_eq!(
        requests[0].query.as_deref(),
        Some("check_name=deploy+plan&per_page=100")
    );
    server.assert_github_headers();
}

#[tokio::test]
async fn failed_annotation_batch_names_the_check_run() {
    let server = Server::start(|req, _| {
        if req.method == "POST" {
            Reply::json(201, &check_run_json(8, "in_progress"))
        } else {
            Reply::message(422, "Invalid annotation")
        }
    })
    .await;
    let client = token_client(&server.base);
    let mut output = CheckRunOutput::new("Plan", "s");
    output.annotations = (1..=60).map(annotation).collect();
    let run = NewCheckRun {
        output: Some(output),
        ..NewCheckRun::new("deploy-plan", "abc")
    };
    let err = client
        .create_check_run("acme", "web", &run)
        .await
        .expect_err("second batch rejected");
    assert!(matches!(err, Error::Validation { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("check run 8 was written") && text.contains("batch 1 of 1"),
        "{text}"
    );
    assert_eq!(server.requests().len(), 2);
}

fn no_content() -> Reply {
    Reply {
        status: 204,
        headers: Vec::new(),
        body: String::new(),
        delay: Duration::ZERO,
    }
}

#[tokio::test]
async fn delete_deployment_sorts_githubs_answers_and_is_retried() {
    // 502 first (did GitHub delete it?), then 204: deleting twice is harmless, so the
    // client repeats it in-process.
    let server = Server::start_counting(|n, req, _| match (n, req.path.as_str()) {
        (0, _) => Reply::message(502, "Server Error"),
        (_, "/repos/acme/web/deployments/7") => no_content(),
        (_, "/repos/acme/web/deployments/8") => Reply::message(404, "Not Found"),
        _ => Reply::json(
            422,
            &serde_json::json!({
                "message": "We cannot delete an active deployment unless it is the only deployment in a given environment.",
                "documentation_url": "https://docs.github.com/rest/deployments/deployments#delete-a-deployment"
            }),
        ),
    })
    .await;
    let client = token_client(&server.base);
    let deleted = client.delete_deployment("acme", "web", 7).await.unwrap();
    assert_eq!(deleted, gdt_github::DeploymentDeletion::Deleted);
    assert_eq!(server.requests_to("/repos/acme/web/deployments/7").len(), 2);
    assert_eq!(
        client.delete_deployment("acme", "web", 8).await.unwrap(),
        gdt_github::DeploymentDeletion::AlreadyGone
    );
    let refused = client.delete_deployment("acme", "web", 9).await.unwrap();
    let gdt_github::DeploymentDeletion::NotInactive { message } = refused else {
        panic!("{refused:?}");
    };
    assert!(message.contains("active deployment"), "{message}");
    assert!(server.requests().iter().all(|r| r.method == "DELETE"));
    server.assert_github_headers();
}

#[tokio::test]
async fn latest_deployment_status_reads_one_page_of_one() {
    let server = Server::start(|req, _| {
        if req.path.ends_with("/deployments/1/statuses") {
            Reply::json(200, &serde_json::json!([status_json(5, "inactive")])).header(
                "link",
                "<https://api.github.com/x?per_page=1&page=2>; rel=\"next\"",
            )
        } else {
            Reply::json(200, &serde_json::json!([]))
        }
    })
    .await;
    let client = token_client(&server.base);
    let latest = client
        .latest_deployment_status("acme", "web", 1)
        .await
        .unwrap()
        .expect("a status");
    assert_eq!((latest.id, latest.state.as_str()), (5, "inactive"));
    assert!(client
        .latest_deployment_status("acme", "web", 2)
        .await
        .unwrap()
        .is_none());
    let requests = server.requests();
    assert_eq!(requests.len(), 2, "no page followed");
    assert_eq!(requests[0].query.as_deref(), Some("per_page=1"));
}

#[tokio::test]
async fn delete_environment_encodes_the_name_as_one_segment() {
    let server = Server::start(|req, _| match req.path.as_str() {
        "/repos/acme/web/environments/review%2Ffeature-x" => no_content(),
        "/repos/acme/web/environments/gone" => Reply::message(404, "Not Found"),
        _ => Reply::message(403, "Resource not accessible by integration"),
    })
    .await;
    let client = token_client(&server.base);
    assert_eq!(
        client
            .delete_environment("acme", "web", "review/feature-x")
            .await
            .unwrap(),
        gdt_github::EnvironmentDeletion::Deleted
    );
    assert_eq!(
        client
            .delete_environment("acme", "web", "gone")
            .await
            .unwrap(),
        gdt_github::EnvironmentDeletion::AlreadyGone
    );
    let err = client
        .delete_environment("acme", "web", "pr-7")
        .await
        .expect_err("403");
    assert!(matches!(err, Error::Forbidden { .. }), "{err:?}");
    assert!(client.delete_environment("acme", "web", "").await.is_err());
    assert_eq!(
        server.requests().len(),
        3,
        "an empty name is refused before sending"
    );
    assert!(server.requests().iter().all(|r| r.method == "DELETE"));
}
