//! `/metrics`: Prometheus's text format, from a [`MetricsSource`] the binary assembles (our
//! `gdt_` families and the Temporal SDK's, one endpoint per process).

use std::sync::Arc;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use futures::future::BoxFuture;

/// Writes the process's metrics in Prometheus's text format (version 0.0.4).
pub type MetricsSource = Arc<dyn Fn() -> BoxFuture<'static, String> + Send + Sync>;

/// The content type of Prometheus's text format.
pub const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `GET /metrics`, answered from `source`.
pub fn router(source: MetricsSource) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .fallback(crate::not_found)
        .with_state(source)
}

async fn scrape(State(source): State<MetricsSource>) -> impl IntoResponse {
    ([(CONTENT_TYPE, TEXT_FORMAT)], source().await)
}
