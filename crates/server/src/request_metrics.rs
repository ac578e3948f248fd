//! Counts every answer of [`crate::api_router`] in `gdt_api_requests_total` and
//! `gdt_api_request_duration_seconds`, by route template, method and status.
//!
//! [`track`] is layered with `Router::layer`, outside the timeout and its error handler, so
//! the `503` of a request that took too long is counted like any other answer. Axum applies
//! such a layer to each route and to the fallback, after it has put the route's
//! [`MatchedPath`] in the request: a matched request is labelled with its template
//! (`/api/v1/deployments/{workflow_id}`), one that matched no route with [`UNMATCHED`], and
//! never with the path it asked for, so the number of series stays bounded.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use gdt_metrics::labels::Method;
use gdt_metrics::metrics;

/// The `route` of a request no route matched.
pub(crate) const UNMATCHED: &str = "unmatched";

/// Middleware: answers the request with `next` and counts the answer. A request whose
/// client went away before the answer was ready is not counted: it got no answer.
pub(crate) async fn track(request: Request, next: Next) -> Response {
    // A clone of the template's `Arc`, not of its text.
    let route = request.extensions().get::<MatchedPath>().cloned();
    let method = Method::of(request.method().as_str());
    let started = Instant::now();
    let response = next.run(request).await;
    metrics().api_request(
        route.as_ref().map_or(UNMATCHED, MatchedPath::as_str),
        method,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}
