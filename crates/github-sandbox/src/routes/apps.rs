//! GitHub App endpoints: `GET /app`, installation tokens, and `/rate_limit`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use chrono::Utc;
use serde_json::json;

use crate::auth::Principal;
use crate::context::{RequestContext, Shared};
use crate::error::{json_response, ApiError};
use crate::objects::{app_object, installation_permissions, timestamp};

/// The App of the request's JWT; the layer guarantees one on `/app` routes.
fn jwt_app(ctx: &RequestContext) -> Result<u64, ApiError> {
    match ctx.principal {
        Some(Principal::App { app_id }) => Ok(app_id),
        _ => Err(ApiError::Jwt("A JSON web token could not be decoded")),
    }
}

/// `GET /app`
pub(crate) async fn get_app(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RequestContext>,
) -> Result<Response, ApiError> {
    let app_id = jwt_app(&ctx)?;
    let app = shared
        .auth
        .app(app_id)
        .ok_or(ApiError::Jwt("Integration not found"))?;
    Ok(json_response(
        StatusCode::OK,
        &app_object(&ctx.base_url, app),
    ))
}

/// `POST /app/installations/{installation_id}/access_tokens`
pub(crate) async fn create_installation_token(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RequestContext>,
    Path(installation_id): Path<String>,
) -> Result<Response, ApiError> {
    let app_id = jwt_app(&ctx)?;
    let installation_id: u64 = installation_id.parse().map_err(|_| ApiError::NotFound)?;
    let (token, expires_at) = shared.auth.mint(app_id, installation_id, Utc::now())?;
    Ok(json_response(
        StatusCode::CREATED,
        &json!({
            "token": token,
            "expires_at": timestamp(expires_at),
            "permissions": installation_permissions(),
            "repository_selection": "all",
        }),
    ))
}

/// `GET /rate_limit`: the caller's core quota (this request included).
pub(crate) async fn rate_limit(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RequestContext>,
) -> Response {
    let now = Utc::now();
    let rate = match &ctx.principal {
        Some(principal) => shared.auth.peek(principal, now),
        None => shared.auth.peek_anonymous(now),
    };
    let core = json!({
        "limit": rate.limit,
        "used": rate.used,
        "remaining": rate.remaining,
        "reset": rate.reset,
    });
    json_response(
        StatusCode::OK,
        &json!({"resources": {"core": core}, "rate": core}),
    )
}
