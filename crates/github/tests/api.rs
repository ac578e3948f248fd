//! The client against a scripted fake GitHub.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono::{TimeDelta, Utc};
use gdt_github::{
    Auth, Client, ClientConfig, DeploymentFilter, DeploymentState, Error, NewDeployment,
    NewDeploymentStatus, RateLimitKind,
};
use secrecy::{ExposeSecret, SecretString};
use support::{
    app_config, deployment_json, status_json, token_config, verify_app_jwt, Reply, Server, APP_ID,
    INSTALLATION_ID,
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

#[tokio::test]
async fn create_deployment_is_not_repeated_after_a_5xx() {
    // GitHub may have created the deployment before answering 502: repeating the POST could
    // create a second one, so the client hands the (retryable) error back after one request.
    let calls = counter();
    let c = Arc::clone(&calls);
    let server = Server::start(move |_req, base| {
        if c.fetch_add(1, Ordering::SeqCst) < 1 {
            Reply::message(502, "Server Error")
        } else {
            Reply::json(201, &deployment_json(7, base))
        }
    })
    .await;
    let client = Client::new(token_config(&server.base)).expect("client");

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
    let calls = counter();
    let c = Arc::clone(&calls);
    let server = Server::start(move |_req, _base| {
        if c.fetch_add(1, Ordering::SeqCst) < 2 {
            Reply::message(502, "Server Error")
        } else {
            Reply::json(200, &serde_json::json!([]))
        }
    })
    .await;
    let client = Client::new(token_config(&server.base)).expect("client");
    let statuses = client
        .list_deployment_statuses("acme", "web", 1)
        .await
        .expect("listed after retries");
    assert!(statuses.is_empty());
    assert_eq!(server.requests().len(), 3);
    server.assert_github_headers();
}

#[tokio::test]
async fn server_errors_give_up_after_max_retries() {
    let server = Server::start(|_, _| Reply::message(503, "unavailable")).await;
    let client = Client::new(token_config(&server.base)).expect("client");

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
    let calls = counter();
    let c = Arc::clone(&calls);
    let reset = unix_now() + 2;
    let server = Server::start(move |_, _| {
        if c.fetch_add(1, Ordering::SeqCst) == 0 {
            Reply::message(403, "API rate limit exceeded for installation ID 99.")
                .header("x-ratelimit-remaining", 0)
                .header("x-ratelimit-reset", reset)
        } else {
            Reply::json(200, &serde_json::json!([]))
        }
    })
    .await;
    let client = Client::new(token_config(&server.base)).expect("client");

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
    let calls = counter();
    let c = Arc::clone(&calls);
    let server = Server::start(move |_, _| {
        if c.fetch_add(1, Ordering::SeqCst) == 0 {
            Reply::message(429, "You have exceeded a secondary rate limit.")
                .header("retry-after", 1)
        } else {
            Reply::json(200, &serde_json::json!([status_json(1, "success")]))
        }
    })
    .await;
    let client = Client::new(token_config(&server.base)).expect("client");

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
    let server = Server::start(move |_, _| {
        Reply::message(403, "API rate limit exceeded")
            .header("x-ratelimit-remaining", 0)
            .header("x-ratelimit-limit", 5000)
            .header("x-ratelimit-reset", reset)
    })
    .await;
    let client = Client::new(token_config(&server.base))
        .expect("client")
        .with_max_inline_wait(Duration::from_secs(10));

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
    let client = Client::new(token_config(&server.base)).expect("client");
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
    let client = Client::new(token_config(&server.base)).expect("client");
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
    let client = Client::new(token_config(&server.base)).expect("client");

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
        let page: u64 = req
            .query
            .as_deref()
            .unwrap_or_default()
            .split('&')
            .find_map(|kv| kv.strip_prefix("page="))
            .and_then(|p| p.parse().ok())
            .unwrap_or(1);
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
    let client = Client::new(token_config(&base)).expect("client");
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
    let client = Client::new(token_config(&base)).expect("client");

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
    let client = Client::new(app_config(&server.base)).expect("client");

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
    let client = Client::new(app_config(&server.base)).expect("client");

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
    let client = Client::new(app_config(&server.base)).expect("client");

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
    let client = Client::new(app_config(&server.base)).expect("client");
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

    let plain = Client::new(token_config(&server.base)).expect("client");
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
    let client = Client::new(app_config(&server.base)).expect("client");
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
    );
    let err = Client::new(config).expect_err("bad key");
    assert!(matches!(err, Error::Config(_)));
    let text = format!("{err} {err:?}");
    assert!(text.contains("private key"), "{text}");
    assert!(!text.contains("SECRETMATERIAL"), "{text}");
}
