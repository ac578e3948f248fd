//! Router assembly and the layer every GitHub route goes through: faults,
//! authentication, the primary and (when set) secondary rate limits, validators and
//! `304 Not Modified` (see [`crate::conditional`]), GitHub's headers and the journal.

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::Router;
use chrono::{DateTime, Utc};
use rand::Rng;

use crate::auth::{credential, Credential, Principal, RateLimit};
use crate::conditional::Read;
use crate::context::{RequestContext, Shared};
use crate::error::{json_response, ApiError};
use crate::faults::FaultKind;
use crate::journal::JournalEntry;
use crate::routes::{apps, checks, comments, control, deployments, environments, pulls};

/// The largest request body the test controls accept.
const CONTROL_BODY_LIMIT: usize = 64 * 1024 * 1024;

/// Builds the whole router: GitHub routes behind [`github_layer`], and the
/// test controls under `/_sandbox`, which bypass it.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let not_found = || async { ApiError::NotFound };
    let github = Router::new()
        .route("/app", get(apps::get_app))
        .route(
            "/app/installations/{installation_id}/access_tokens",
            post(apps::create_installation_token),
        )
        .route(
            "/repos/{owner}/{repo}/deployments",
            get(deployments::list).post(deployments::create),
        )
        .route(
            "/repos/{owner}/{repo}/deployments/{id}",
            get(deployments::get_one).delete(deployments::delete),
        )
        .route(
            "/repos/{owner}/{repo}/deployments/{id}/statuses",
            get(deployments::list_statuses).post(deployments::create_status),
        )
        .route(
            "/repos/{owner}/{repo}/environments",
            get(environments::list),
        )
        .route(
            "/repos/{owner}/{repo}/environments/{name}",
            get(environments::get_one)
                .put(environments::put)
                .delete(environments::delete),
        )
        .route(
            "/repos/{owner}/{repo}/pulls/{pull_number}",
            get(pulls::get_one),
        )
        .route(
            "/repos/{owner}/{repo}/pulls/{pull_number}/files",
            get(pulls::list_files),
        )
        .route(
            "/repos/{owner}/{repo}/contents/{*path}",
            get(pulls::get_contents),
        )
        .route(
            "/repos/{owner}/{repo}/issues/{issue_number}/comments",
            get(comments::list).post(comments::create),
        )
        .route(
            "/repos/{owner}/{repo}/issues/comments/{comment_id}",
            get(comments::get_one)
                .patch(comments::update)
                .delete(comments::delete),
        )
        .route("/repos/{owner}/{repo}/check-runs", post(checks::create))
        .route(
            "/repos/{owner}/{repo}/check-runs/{check_run_id}",
            get(checks::get_one).patch(checks::update),
        )
        .route(
            "/repos/{owner}/{repo}/check-runs/{check_run_id}/annotations",
            get(checks::list_annotations),
        )
        .route(
            "/repos/{owner}/{repo}/commits/{ref}/check-runs",
            get(checks::list_for_ref),
        )
        .route("/rate_limit", get(apps::rate_limit))
        // GitHub answers 404, not 405, to a method a path does not support.
        .method_not_allowed_fallback(not_found)
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(shared.clone(), github_layer));
    let controls = Router::new()
        .route("/requests", get(control::journal))
        .route(
            "/faults",
            get(control::list_faults)
                .post(control::add_fault)
                .delete(control::clear_faults),
        )
        .route("/reset", post(control::reset))
        .route(
            "/limits",
            get(control::get_limits)
                .put(control::put_limits)
                .delete(control::delete_limits),
        )
        .route("/deliveries", get(control::deliveries))
        .route(
            "/webhook",
            get(control::get_webhook)
                .put(control::put_webhook)
                .delete(control::delete_webhook),
        )
        .route("/repos/{owner}/{repo}/pulls", post(control::create_pull))
        .route(
            "/repos/{owner}/{repo}/pulls/{number}",
            patch(control::update_pull),
        )
        .route("/health", get(control::health))
        .fallback(control::not_found)
        // Pull requests sent to the controls carry whole files, thousands of
        // them to reach the 3000-file cap: more than axum's default 2 MB.
        .layer(DefaultBodyLimit::max(CONTROL_BODY_LIMIT));
    Router::new()
        .nest("/_sandbox", controls)
        .merge(github)
        .with_state(shared)
}

/// Which credential a route requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AuthPolicy {
    /// An App JWT (`/app...`).
    AppJwt,
    /// A plain or installation token (`/repos/...`).
    Token,
    /// Anything or nothing (unknown routes, `/rate_limit`): a token that is
    /// present must still be valid, as on GitHub.
    Optional,
}

impl AuthPolicy {
    fn of(path: &str) -> Self {
        if path == "/app" || path.starts_with("/app/") {
            Self::AppJwt
        } else if path.starts_with("/repos/") {
            Self::Token
        } else {
            Self::Optional
        }
    }
}

/// Wraps every GitHub route: faults first (they fire before authentication,
/// like GitHub's front-end failures), then authentication and the rate limit,
/// then the handler; GitHub's headers go on every answer and every request is
/// journaled.
async fn github_layer(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let arrived = Utc::now();
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().map(str::to_owned);
    let request_id = request_id();

    let fault = shared.faults.take(&method, &path);
    let faulted = fault
        .as_ref()
        .and_then(|kind| fault_response(&shared, kind, request.headers(), &request_id));
    // Faults answer before authentication, so they use no quota.
    let (mut response, counted) = match faulted {
        Some(response) => (response, false),
        None => {
            if let Some(FaultKind::Latency { delay }) = &fault {
                // No lock is held here, so a slow request delays only itself.
                tokio::time::sleep(*delay).await;
            }
            let (applied, counted) = authenticated(&shared, request, next, &request_id).await;
            let response = if matches!(fault, Some(FaultKind::BadGatewayAfterApply)) {
                fault_response(
                    &shared,
                    &FaultKind::BadGateway,
                    &HeaderMap::new(),
                    &request_id,
                )
                .unwrap_or(applied)
            } else {
                applied
            };
            (response, counted)
        }
    };

    let headers = response.headers_mut();
    insert(headers, "x-github-request-id", &request_id);
    insert(headers, "x-github-api-version-selected", "2022-11-28");
    insert(headers, "x-github-media-type", "github.v3; format=json");
    shared.journal.push(JournalEntry {
        method,
        path,
        query,
        status: response.status().as_u16(),
        time: JournalEntry::format_time(arrived),
        fault: fault.map(|f| f.name().to_owned()),
        counted,
    });
    response
}

/// Authenticates, counts the request (the primary quota, and content creation against the
/// secondary limit when one is set), and runs the handler; with whether the request was
/// counted against a primary rate limit.
///
/// A conditional `GET` of an authenticated caller is counted only once its answer is known
/// not to be `304 Not Modified`, which GitHub does not count.
async fn authenticated(
    shared: &Shared,
    mut request: Request,
    next: Next,
    request_id: &str,
) -> (Response, bool) {
    let now = Utc::now();
    let policy = AuthPolicy::of(request.uri().path());
    let principal = match (policy, credential(request.headers())) {
        (AuthPolicy::AppJwt, Some(Credential::Unsupported)) => {
            Err(ApiError::Jwt("A JSON web token could not be decoded"))
        }
        (_, Some(Credential::Unsupported)) => Err(ApiError::BadCredentials),
        (AuthPolicy::AppJwt | AuthPolicy::Token, None) => Err(ApiError::RequiresAuthentication),
        (AuthPolicy::Optional, None) => Ok(None),
        (AuthPolicy::AppJwt, Some(Credential::Token(jwt))) => shared
            .auth
            .jwt(jwt, now)
            .map(|app_id| Some(Principal::App { app_id })),
        (_, Some(Credential::Token(token))) => shared.auth.token(token, now).map(Some),
    };
    let principal = match principal {
        Ok(principal) => principal,
        Err(err) => {
            let rate = shared.auth.consume_anonymous(now);
            return (with_rate_limit(err.into_response(), rate), true);
        }
    };
    let read = Read::of(request.method(), request.uri().path(), request.headers());
    // Only a caller "correctly authorized with an Authorization header" gets free 304s.
    let deferred = principal.is_some() && read.as_ref().is_some_and(Read::is_conditional);
    let rate = match &principal {
        Some(p) if deferred => {
            let rate = shared.auth.peek(p, now);
            if rate.remaining == 0 {
                return (primary_rate_limited(p, rate), false);
            }
            rate
        }
        Some(p) => match shared.auth.consume(p, now) {
            Ok(rate) => rate,
            Err(exhausted) => return (primary_rate_limited(p, exhausted), false),
        },
        None => shared.auth.consume_anonymous(now),
    };
    if let Some(p) = &principal {
        let method = request.method().as_str();
        if crate::limits::creates_content(method, request.uri().path()) {
            if let Err(wait) = shared
                .limits
                .admit(&p.bucket_key(), std::time::Instant::now())
            {
                let err = ApiError::SecondaryRateLimit {
                    request_id: request_id.to_owned(),
                };
                let mut response = with_rate_limit(err.into_response(), rate);
                let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
                insert(response.headers_mut(), "retry-after", &seconds.to_string());
                return (response, true);
            }
        }
    }
    let base_url = shared.base_url(request.headers());
    request.extensions_mut().insert(RequestContext {
        principal: principal.clone(),
        base_url,
    });
    let response = next.run(request).await;
    let Some(read) = read else {
        return (with_rate_limit(response, rate), true);
    };
    let answered = read.answer(response, deferred).await;
    match &principal {
        Some(_) if answered.not_modified => (with_rate_limit(answered.response, rate), false),
        Some(p) if deferred => match shared.auth.consume(p, Utc::now()) {
            Ok(rate) => (with_rate_limit(answered.response, rate), true),
            // Another request took the last unit while this one was answered.
            Err(exhausted) => (primary_rate_limited(p, exhausted), false),
        },
        _ => (with_rate_limit(answered.response, rate), true),
    }
}

/// GitHub's answer to a caller whose primary quota is used up.
fn primary_rate_limited(principal: &Principal, exhausted: RateLimit) -> Response {
    let err = ApiError::PrimaryRateLimit {
        who: principal.limited_party(),
    };
    with_rate_limit(err.into_response(), exhausted)
}

/// The answer of a fault; `None` for latency, which lets the request through.
fn fault_response(
    shared: &Shared,
    kind: &FaultKind,
    headers: &HeaderMap,
    request_id: &str,
) -> Option<Response> {
    let now = Utc::now();
    // Faults fire before authentication, but the quota headers should still be
    // those of the caller when its token is valid.
    let principal = match credential(headers) {
        Some(Credential::Token(token)) => shared.auth.token(token, now).ok(),
        _ => None,
    };
    let rate = principal.as_ref().map_or_else(
        || fresh_quota(shared.auth.limit(), now),
        |p| shared.auth.peek(p, now),
    );
    let response = match kind {
        FaultKind::ServerError => with_rate_limit(
            json_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                &serde_json::json!({"message": "Server Error"}),
            ),
            rate,
        ),
        FaultKind::BadGateway => {
            // GitHub's load balancers answer 502 with an HTML page, not JSON;
            // clients must cope with that.
            let body = "<!DOCTYPE html>\n<html><head><title>Unicorn! &middot; GitHub</title></head>\n<body><h1>502 Bad Gateway</h1><p>We had issues producing the response to your request.</p></body></html>\n";
            let response = (
                StatusCode::BAD_GATEWAY,
                [(http::header::CONTENT_TYPE, "text/html; charset=utf-8")],
                body,
            )
                .into_response();
            with_rate_limit(response, rate)
        }
        FaultKind::Down { .. } => with_rate_limit(
            json_response(
                StatusCode::SERVICE_UNAVAILABLE,
                &serde_json::json!({"message": "Service Unavailable"}),
            ),
            rate,
        ),
        FaultKind::PrimaryRateLimit { reset_in } => {
            let who = principal
                .as_ref()
                .map_or_else(|| "installation ID 1".to_owned(), Principal::limited_party);
            let reset_in = i64::try_from(reset_in.as_secs()).unwrap_or(i64::MAX / 2);
            let exhausted = RateLimit {
                limit: rate.limit,
                remaining: 0,
                used: rate.limit,
                reset: now.timestamp().saturating_add(reset_in),
            };
            with_rate_limit(
                ApiError::PrimaryRateLimit { who }.into_response(),
                exhausted,
            )
        }
        FaultKind::SecondaryRateLimit { retry_after } => {
            let err = ApiError::SecondaryRateLimit {
                request_id: request_id.to_owned(),
            };
            let mut response = with_rate_limit(err.into_response(), rate);
            insert(
                response.headers_mut(),
                "retry-after",
                &retry_after.as_secs().to_string(),
            );
            response
        }
        FaultKind::Latency { .. } | FaultKind::BadGatewayAfterApply => return None,
    };
    Some(response)
}

/// A quota nobody has used yet.
fn fresh_quota(limit: u32, now: DateTime<Utc>) -> RateLimit {
    RateLimit {
        limit,
        remaining: limit,
        used: 0,
        reset: now.timestamp() + 3600,
    }
}

fn with_rate_limit(mut response: Response, rate: RateLimit) -> Response {
    let headers = response.headers_mut();
    insert(headers, "x-ratelimit-limit", &rate.limit.to_string());
    insert(
        headers,
        "x-ratelimit-remaining",
        &rate.remaining.to_string(),
    );
    insert(headers, "x-ratelimit-reset", &rate.reset.to_string());
    insert(headers, "x-ratelimit-used", &rate.used.to_string());
    insert(headers, "x-ratelimit-resource", "core");
    response
}

fn insert(headers: &mut HeaderMap, name: &'static str, value: &str) {
    // Every value here is ASCII we produced ourselves; one that is not would be
    // a bug, and dropping the header is preferable to failing the request.
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(HeaderName::from_static(name), value);
    }
}

/// A request id shaped like GitHub's, e.g. `C2A4:2F0A0B:1A2B3C4:1B2C3D4:6553F1A2`.
fn request_id() -> String {
    let mut rng = rand::rng();
    format!(
        "{:04X}:{:06X}:{:07X}:{:07X}:{:08X}",
        rng.random::<u16>(),
        rng.random_range(0..0x100_0000u32),
        rng.random_range(0..0x1000_0000u32),
        rng.random_range(0..0x1000_0000u32),
        rng.random::<u32>(),
    )
}
