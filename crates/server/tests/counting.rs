//! What the API server counts: each answer of the API router by route template, method and
//! status, and each webhook delivery by event, action and outcome, driven through the router
//! with `oneshot` and read back from the process's metrics.
//!
//! The metrics are one registry per process and the tests run in parallel, so each test reads
//! the series only it moves, before and after, and asserts on the difference.

mod support;

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::response::Response;
use gdt_metrics::metrics;
use gdt_server::webhook::signature::sign;
use gdt_server::{api_router, AppState, Connect};
use support::{silent, unreachable};
use tower::ServiceExt as _;

const TOKEN: &str = "api-token";
const SECRET: &str = "webhook-secret";
const MAX_BODY_BYTES: usize = 1024;

fn state(connect: Connect, request_timeout: Duration) -> AppState {
    support::state(connect, TOKEN, SECRET, MAX_BODY_BYTES, request_timeout)
}

/// A state whose Temporal refuses at once.
fn quick() -> AppState {
    state(unreachable(), Duration::from_secs(30))
}

async fn send(request: Request<Body>) -> Response {
    send_to(quick(), request).await
}

async fn send_to(state: AppState, request: Request<Body>) -> Response {
    api_router(state)
        .oneshot(request)
        .await
        .expect("infallible")
}

/// The value of one series in the process's metrics, `0` while it does not exist yet.
fn value(name: &str, labels: &[(&str, &str)]) -> f64 {
    metrics().value(name, labels)
}

/// `gdt_api_requests_total` and the count of `gdt_api_request_duration_seconds` of `route`
/// and `method`, the first with `status`.
fn api(route: &str, method: &str, status: &str) -> (f64, f64) {
    (
        value(
            "gdt_api_requests_total",
            &[("route", route), ("method", method), ("status", status)],
        ),
        value(
            "gdt_api_request_duration_seconds_count",
            &[("route", route), ("method", method)],
        ),
    )
}

fn delivery(event: &str, action: &str, outcome: &str) -> f64 {
    value(
        "gdt_webhook_deliveries_total",
        &[("event", event), ("action", action), ("outcome", outcome)],
    )
}

fn signature_failures(reason: &str) -> f64 {
    value(
        "gdt_webhook_signature_failures_total",
        &[("reason", reason)],
    )
}

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../../fixtures/github-webhooks/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A delivery of `event` with `body`, signed with `secret` when there is one.
fn webhook(event: &str, body: Vec<u8>, secret: Option<&str>) -> Request<Body> {
    let mut request = Request::post("/webhook")
        .header("x-github-event", event)
        .header("x-github-delivery", "d-1")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, body.len());
    if let Some(secret) = secret {
        request = request.header("x-hub-signature-256", sign(secret, &body));
    }
    request.body(Body::from(body)).unwrap()
}

/// Sends `request` to a router on `state`, checks that its answer is `status` and that it
/// moved `gdt_api_requests_total{route,method,status}` and the latency count of `route` and
/// `method` by one each; returns the answer.
async fn counted_once(
    state: AppState,
    request: Request<Body>,
    route: &str,
    status: StatusCode,
) -> Response {
    let method = request.method().as_str().to_owned();
    let code = status.as_str();
    let before = api(route, &method, code);
    let response = send_to(state, request).await;
    assert_eq!(response.status(), status, "{route}");
    let after = api(route, &method, code);
    assert_eq!(
        (after.0 - before.0, after.1 - before.1),
        (1.0, 1.0),
        "{method} {route} {code}"
    );
    response
}

#[tokio::test]
async fn a_matched_route_counts_under_its_template() {
    let request = Request::post("/api/v1/deployments/checkout-7f3a/status")
        .body(Body::empty())
        .unwrap();
    let route = "/api/v1/deployments/{workflow_id}/status";
    counted_once(quick(), request, route, StatusCode::UNAUTHORIZED).await;
    assert!(!metrics().encode().contains("checkout-7f3a"));
}

#[tokio::test]
async fn a_path_no_route_matches_counts_as_unmatched() {
    let request = Request::get("/no/such/route-5e1c")
        .body(Body::empty())
        .unwrap();
    counted_once(quick(), request, "unmatched", StatusCode::NOT_FOUND).await;
    assert!(!metrics().encode().contains("route-5e1c"));
}

#[tokio::test]
async fn a_request_that_times_out_counts_its_503() {
    let request = Request::get("/api/v1/deployments/slow")
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap();
    let response = counted_once(
        state(silent(), Duration::from_millis(100)),
        request,
        "/api/v1/deployments/{workflow_id}",
        StatusCode::SERVICE_UNAVAILABLE,
    )
    .await;
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["code"], "timeout", "{body}");
}

#[tokio::test]
async fn a_body_over_the_limit_counts_its_413() {
    let request = Request::post("/api/v1/deployments")
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(vec![b' '; MAX_BODY_BYTES + 1]))
        .unwrap();
    let route = "/api/v1/deployments";
    counted_once(quick(), request, route, StatusCode::PAYLOAD_TOO_LARGE).await;
}

/// Signed deliveries: a pull request to check and one closed (Temporal is not reachable here,
/// so GitHub is asked to redeliver), one whose action starts nothing, and a ping.
#[tokio::test]
async fn each_signed_delivery_counts_its_event_action_and_outcome() {
    for (event, name, status, action, outcome) in [
        (
            "pull_request",
            "pull_request.opened",
            StatusCode::SERVICE_UNAVAILABLE,
            "opened",
            "unavailable",
        ),
        // A closed pull request starts its clean-up: Temporal is not reachable either.
        (
            "pull_request",
            "pull_request.closed",
            StatusCode::SERVICE_UNAVAILABLE,
            "closed",
            "unavailable",
        ),
        (
            "pull_request",
            "pull_request.labeled",
            StatusCode::ACCEPTED,
            "other",
            "ignored",
        ),
        ("ping", "ping", StatusCode::OK, "none", "pong"),
    ] {
        let before = delivery(event, action, outcome);
        let response = send(webhook(event, fixture(name), Some(SECRET))).await;
        assert_eq!(response.status(), status, "{name}");
        assert_eq!(delivery(event, action, outcome) - before, 1.0, "{name}");
    }
}

/// A wrong signature, none, and one without the shape of a signature (refused before the
/// body is read), each counted as `unauthorized` and by its reason.
#[tokio::test]
async fn each_refused_signature_counts_unauthorized_and_its_reason() {
    let wrong = webhook(
        "pull_request",
        fixture("pull_request.opened"),
        Some("another-secret"),
    );
    let missing = webhook("ping", fixture("ping"), None);
    let mut malformed = webhook("deployment", fixture("deployment"), None);
    malformed
        .headers_mut()
        .insert("x-hub-signature-256", "sha1=abc".parse().unwrap());
    for (request, event, reason) in [
        (wrong, "pull_request", "mismatch"),
        (missing, "ping", "missing"),
        (malformed, "deployment", "malformed"),
    ] {
        let counts = || {
            (
                delivery(event, "none", "unauthorized"),
                signature_failures(reason),
            )
        };
        let before = counts();
        let response = send(request).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{reason}");
        let after = counts();
        assert_eq!(
            (after.0 - before.0, after.1 - before.1),
            (1.0, 1.0),
            "{reason}"
        );
    }
}

#[tokio::test]
async fn a_delivery_announcing_too_large_a_body_counts_too_large() {
    let before = delivery("other", "none", "too_large");
    let mut request = webhook("push", b"{}".to_vec(), Some(SECRET));
    request
        .headers_mut()
        .insert(header::CONTENT_LENGTH, (2usize << 20).into());
    let response = send(request).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(delivery("other", "none", "too_large") - before, 1.0);
}
