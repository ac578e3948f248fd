//! The board's reader API: `GET /api/v1/environments`, `/api/v1/environments/history` and
//! `/api/v1/dora`, answered from the server's snapshot ([`BoardService`]).
//!
//! Answers carry an `ETag` (a digest of the body): a page that sends it back in
//! `If-None-Match` gets `304 Not Modified` and keeps what it shows. Identical data gives
//! identical tags on every server.
//!
//! [`BoardService`]: gdt_tracker::board::BoardService

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use gdt_tracker::board::model::{DoraView, EnvironmentsView, HistoryView};
use gdt_tracker::board::service::tag_of;
use gdt_tracker::board::BoardFilter;
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use crate::deployments::{checked_repository, checked_service, checked_state, given};
use crate::problem::ApiError;
use crate::AppState;

/// Most lanes in one answer (`truncated` says when more matched).
pub const MAX_LANES: usize = 5_000;
/// Largest `limit` of a history.
pub const MAX_HISTORY_LIMIT: u32 = 200;
/// `limit` of a history when none is given.
pub const DEFAULT_HISTORY_LIMIT: u32 = 50;
/// Most windows in one DORA request.
pub const MAX_WINDOWS: usize = 5;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/environments", get(environments))
        .route("/api/v1/environments/history", get(history))
        .route("/api/v1/dora", get(dora))
}

/// Filters of `GET /api/v1/environments`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EnvironmentsParams {
    /// Only this repository, `owner/name`.
    pub repository: Option<String>,
    /// Only this environment.
    pub environment: Option<String>,
    /// Only this service.
    pub service: Option<String>,
    /// Only lanes whose latest deployment is in this state (a GitHub state, or `unknown`).
    pub state: Option<String>,
    /// Also transient environments (review apps); default `false`.
    pub include_transient: Option<bool>,
}

/// Which lane `GET /api/v1/environments/history` reads.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    /// The repository, `owner/name`.
    pub repository: Option<String>,
    /// The environment.
    pub environment: Option<String>,
    /// The service; absent: the repository-level lane.
    pub service: Option<String>,
    /// At most this many deployments (1–200, default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

/// What `GET /api/v1/dora` measures.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DoraParams {
    /// Only this repository, `owner/name`.
    pub repository: Option<String>,
    /// Only this environment.
    pub environment: Option<String>,
    /// Only this service.
    pub service: Option<String>,
    /// Window lengths in days, comma-separated (default `7,30`; each 1 to
    /// `board.history_days`, at most 5).
    pub windows: Option<String>,
}

/// What is deployed where: one entry per repository, service and environment, with the
/// deployment in place, the latest one and the one in progress.
///
/// Read from the server's snapshot of Temporal's visibility, refreshed while someone looks
/// (`board.refresh_interval`): `as_of` says when it was read. Send the `ETag` back in
/// `If-None-Match` to get `304` when nothing changed.
#[utoipa::path(
    get,
    path = "/api/v1/environments",
    tag = "board",
    params(EnvironmentsParams),
    responses(
        (status = 200, description = "The lanes", body = EnvironmentsView,
            headers(("ETag" = String, description = "A digest of the body"))),
        (status = 304, description = "Not modified since the `If-None-Match` tag"),
        (status = 422, description = "A filter is not valid", body = crate::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("board_session" = []))
)]
pub async fn environments(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<EnvironmentsParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = query?;
    let filter = board_filter(params)?;
    let board = &state.temporal.services().await?.board;
    let encoded = board.environments_json(&filter, MAX_LANES).await?;
    Ok(answer(&headers, &encoded.tag, || encoded.json.clone()))
}

/// One environment's deployments (one lane: repository, service, environment), newest first,
/// within `board.history_days`. A lane without deployments in the window answers an empty
/// list.
#[utoipa::path(
    get,
    path = "/api/v1/environments/history",
    tag = "board",
    params(HistoryParams),
    responses(
        (status = 200, description = "The lane's deployments", body = HistoryView,
            headers(("ETag" = String, description = "A digest of the body"))),
        (status = 304, description = "Not modified since the `If-None-Match` tag"),
        (status = 422, description = "A parameter is missing or not valid", body = crate::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("board_session" = []))
)]
pub async fn history(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<HistoryParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = query?;
    let repository = checked_repository(params.repository)?
        .ok_or_else(|| ApiError::invalid("repository is required: owner/name, e.g. acme/api"))?;
    let environment = given(params.environment)
        .ok_or_else(|| ApiError::invalid("environment is required, e.g. production"))?;
    let service = checked_service(params.service)?;
    let limit = params.limit.unwrap_or(DEFAULT_HISTORY_LIMIT);
    if !(1..=MAX_HISTORY_LIMIT).contains(&limit) {
        return Err(ApiError::invalid(format!(
            "limit {limit}: use 1 to {MAX_HISTORY_LIMIT}"
        )));
    }
    let board = &state.temporal.services().await?.board;
    let view: HistoryView = board
        .history(
            &repository,
            service.as_deref(),
            &environment,
            limit as usize,
        )
        .await?;
    Ok(tagged(&headers, &view))
}

/// The delivery metrics (DORA) of the deployments the filters select, over each window:
/// deployment frequency, lead time for changes, change failure rate and time to restore
/// service, with a day-by-day series over the largest window. README's "Delivery metrics"
/// defines each figure.
#[utoipa::path(
    get,
    path = "/api/v1/dora",
    tag = "board",
    params(DoraParams),
    responses(
        (status = 200, description = "The figures", body = DoraView,
            headers(("ETag" = String, description = "A digest of the body"))),
        (status = 304, description = "Not modified since the `If-None-Match` tag"),
        (status = 422, description = "A filter or window is not valid", body = crate::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("board_session" = []))
)]
pub async fn dora(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<DoraParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = query?;
    let board = &state.temporal.services().await?.board;
    let history_days = board.settings().history_days;
    let windows = windows(params.windows.as_deref(), history_days)?;
    let filter = BoardFilter {
        repository: checked_repository(params.repository)?,
        environment: given(params.environment),
        service: checked_service(params.service)?,
        ..BoardFilter::default()
    };
    let view: DoraView = board.dora(&filter, &windows).await?;
    Ok(tagged(&headers, &view))
}

fn board_filter(params: EnvironmentsParams) -> Result<BoardFilter, ApiError> {
    let state = match given(params.state) {
        Some(word) if word == "unknown" => Some(word),
        other => checked_state(other)?,
    };
    Ok(BoardFilter {
        repository: checked_repository(params.repository)?,
        environment: given(params.environment),
        service: checked_service(params.service)?,
        state,
        include_transient: params.include_transient.unwrap_or(false),
    })
}

/// `7,30` → `[7, 30]`, each within `1..=max`.
fn windows(text: Option<&str>, max: u32) -> Result<Vec<u32>, ApiError> {
    let text = text.filter(|t| !t.trim().is_empty()).unwrap_or("7,30");
    let bad = |part: &str| {
        ApiError::invalid(format!(
            "windows {text:?}: {part:?} is not a number of days from 1 to {max} \
             (board.history_days); give e.g. windows=7,30"
        ))
    };
    let days: Vec<u32> = text
        .split(',')
        .map(|part| {
            part.trim()
                .parse::<u32>()
                .ok()
                .filter(|d| (1..=max).contains(d))
                .ok_or_else(|| bad(part))
        })
        .collect::<Result<_, _>>()?;
    if days.len() > MAX_WINDOWS {
        return Err(ApiError::invalid(format!(
            "windows {text:?}: at most {MAX_WINDOWS} windows"
        )));
    }
    Ok(days)
}

/// The JSON answer with its `ETag`, or `304` when the client already holds it.
fn tagged<T: Serialize>(headers: &HeaderMap, body: &T) -> Response {
    let bytes = match serde_json::to_vec(body) {
        Ok(bytes) => bytes,
        Err(e) => {
            return ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                crate::ProblemCode::Internal,
                format!("could not write the answer: {e}"),
            )
            .into_response()
        }
    };
    answer(headers, &tag_of(&bytes), || bytes)
}

/// The JSON answer `body()` tagged `tag`, or `304` when the client already holds it (and the
/// body is not even copied).
fn answer(headers: &HeaderMap, tag: &str, body: impl FnOnce() -> Vec<u8>) -> Response {
    let tag_value = HeaderValue::from_str(tag).expect("a tag is a valid header");
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
    if matches {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, tag_value)]).into_response();
    }
    (
        [
            (header::ETAG, tag_value),
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
        ],
        body(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_default_to_a_week_and_a_month_and_bad_ones_are_named() {
        assert_eq!(windows(None, 30).unwrap(), [7, 30]);
        assert_eq!(windows(Some(" 1, 14 "), 30).unwrap(), [1, 14]);
        for bad in ["0", "31", "7,x", "1,2,3,4,5,6", ""] {
            let got = windows(Some(bad), 30);
            if bad.is_empty() {
                assert!(got.is_ok());
                continue;
            }
            assert_eq!(
                got.unwrap_err().status(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "{bad}"
            );
        }
    }

    #[test]
    fn the_grid_filter_accepts_unknown_and_refuses_other_words() {
        let f = board_filter(EnvironmentsParams {
            state: Some("unknown".to_owned()),
            repository: Some("acme/api".to_owned()),
            ..EnvironmentsParams::default()
        })
        .unwrap();
        assert_eq!(f.state.as_deref(), Some("unknown"));
        assert!(!f.include_transient);
        for bad in [
            EnvironmentsParams {
                state: Some("done".to_owned()),
                ..EnvironmentsParams::default()
            },
            EnvironmentsParams {
                repository: Some("acme".to_owned()),
                ..EnvironmentsParams::default()
            },
            EnvironmentsParams {
                service: Some("a b".to_owned()),
                ..EnvironmentsParams::default()
            },
        ] {
            assert!(board_filter(bad).is_err());
        }
    }

    #[test]
    fn a_matching_tag_answers_not_modified() {
        let body = serde_json::json!({"lanes": []});
        let first = tagged(&HeaderMap::new(), &body);
        assert_eq!(first.status(), StatusCode::OK);
        let tag = first.headers()[header::ETAG].clone();
        let mut headers = HeaderMap::new();
        headers.insert(header::IF_NONE_MATCH, tag);
        assert_eq!(tagged(&headers, &body).status(), StatusCode::NOT_MODIFIED);
        let other = serde_json::json!({"lanes": [1]});
        assert_eq!(tagged(&headers, &other).status(), StatusCode::OK);
    }
}
