//! The deployments board: a page served by `gdt serve` (and so `gdt dev`) showing which
//! commit of which service is in which environment, read from the reader API.
//!
//! - [`api`]: the reader API (`/api/v1/environments…`, `/api/v1/dora`) the page reads;
//! - [`page`]: `/board`, the sign-in form and sign-out;
//! - [`session`]: the session cookie a sign-in sets (no store: it verifies against the
//!   configured tokens' digests);
//! - [`assets`]: the page's HTML, script and style, compiled in.
//!
//! Every answer under `/board` and `/api/v1` carries the headers of [`protect`]: nothing is
//! cached (answers hold deployments and depend on who asks), nothing runs but the page's own
//! script, and the page cannot be framed.

pub mod api;
pub mod assets;
pub mod page;
pub mod session;

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use crate::AppState;

/// The Content Security Policy of every board and API answer: the page's own script and
/// style only, no inline code, no framing, forms only to the server itself.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; \
    base-uri 'none'; form-action 'self'";

/// The page's routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/board", get(page::board))
        .route(
            "/board/sign-in",
            get(page::sign_in_form).post(page::sign_in),
        )
        .route("/board/sign-out", post(page::sign_out))
        .route("/board/assets/{file}", get(assets::asset))
}

/// Middleware: the security headers on every `/board` and `/api/v1` answer. `Cache-Control:
/// no-store` unless the handler chose otherwise (the assets, which hold no data).
pub(crate) async fn protect(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let covered = path == "/board" || path.starts_with("/board/") || path.starts_with("/api/v1");
    let mut response = next.run(request).await;
    if covered {
        let headers = response.headers_mut();
        headers
            .entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("no-store"));
        headers
            .entry(header::VARY)
            .or_insert(HeaderValue::from_static("Cookie, Authorization"));
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
    response
}

/// Seconds since the Unix epoch, the clock of session expiries.
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
