//! Bearer tokens for the API (`INTERNAL_API_SHARED_SECRET`, several separated by commas, or
//! `server.api_tokens_file`, one per line), and the read-only viewer tokens of the board
//! (`board.viewer_tokens`).
//!
//! Several tokens may be valid at once so one can be rotated without downtime. Tokens are
//! kept only as SHA-256 digests and a presented token is compared with every one of them in
//! constant time, so neither the match nor a token's length shows in the response time.
//!
//! Two gates: [`require_token`] (writes: an API token as bearer, nothing else; a viewer
//! token gets `403`) and [`require_reader`] (reads: an API token or a viewer token as bearer,
//! or the board's session cookie, see [`crate::board::session`]). A cookie never authorises
//! a write, so a page of another site cannot make a signed-in browser change anything.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use secrecy::{ExposeSecret as _, SecretString};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use crate::board::session;
use crate::problem::{ApiError, ProblemCode};
use crate::AppState;

/// The accepted API tokens, as digests.
#[derive(Clone)]
pub struct ApiTokens {
    digests: Vec<[u8; 32]>,
}

impl std::fmt::Debug for ApiTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiTokens({} tokens)", self.digests.len())
    }
}

impl ApiTokens {
    /// Accepts these tokens; empty tokens are ignored.
    pub fn new(tokens: &[SecretString]) -> Self {
        Self {
            digests: tokens
                .iter()
                .map(|t| t.expose_secret().trim())
                .filter(|t| !t.is_empty())
                .map(digest)
                .collect(),
        }
    }

    /// No token is configured: every API request would be refused.
    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }

    /// Whether `presented` is one of the tokens.
    pub fn accepts(&self, presented: &str) -> bool {
        let presented = digest(presented);
        // No early return: every token is compared whatever the outcome.
        self.digests
            .iter()
            .fold(subtle::Choice::from(0), |found, d| {
                found | d.ct_eq(&presented)
            })
            .into()
    }

    /// The digests, the keys of the board's session cookies.
    pub(crate) fn digests(&self) -> &[[u8; 32]] {
        &self.digests
    }
}

/// The SHA-256 digest of a token, as [`ApiTokens`] keeps it.
pub(crate) fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The bearer token of a request: `Ok(None)` without an `Authorization` header, an error
/// when the header is not `Bearer <token>`.
fn bearer(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(header) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    header
        .to_str()
        .ok()
        .and_then(|h| h.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| Some(token.trim()))
        .ok_or_else(|| ApiError::Unauthorized {
            detail: "the Authorization header must use the Bearer scheme: \
                     `Authorization: Bearer <token>`"
                .to_owned(),
            invalid: true,
        })
}

fn not_ours() -> ApiError {
    ApiError::Unauthorized {
        detail: "the bearer token is not valid for this server".to_owned(),
        invalid: true,
    }
}

/// Whether the request carries a board session cookie made with one of the API or viewer
/// tokens that has not expired.
pub(crate) fn has_session(state: &AppState, headers: &HeaderMap) -> bool {
    let cookies = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok());
    let Some(value) = session::from_cookie_header(cookies) else {
        return false;
    };
    let keys = state
        .tokens
        .digests()
        .iter()
        .chain(state.viewer_tokens.digests());
    session::verify(value, keys, crate::board::unix_now())
}

/// Middleware for routes that read and write: a read (`GET`, `HEAD`) passes with an API
/// token or a viewer token as bearer, or with a board session cookie; anything else goes
/// through [`require_token`].
pub(crate) async fn require_reader(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return require_token(State(state), request, next).await;
    }
    match bearer(request.headers())? {
        Some(token) if state.tokens.accepts(token) || state.viewer_tokens.accepts(token) => {
            Ok(next.run(request).await)
        }
        Some(_) => Err(not_ours()),
        None if has_session(&state, request.headers()) => Ok(next.run(request).await),
        None => Err(ApiError::Unauthorized {
            detail: "this API needs `Authorization: Bearer <token>` (an API token or a viewer \
                     token) or the board's session cookie (sign in at /board)"
                .to_owned(),
            invalid: false,
        }),
    }
}

/// Middleware: lets a request through only with `Authorization: Bearer <one of the API
/// tokens>`. A viewer token is recognised and refused with `403`: it may only read.
pub(crate) async fn require_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    match bearer(request.headers())? {
        Some(token) if state.tokens.accepts(token) => Ok(next.run(request).await),
        Some(token) if state.viewer_tokens.accepts(token) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ProblemCode::Forbidden,
            "a viewer token may only read; this operation needs an API token \
             (INTERNAL_API_SHARED_SECRET or server.api_tokens_file)",
        )),
        Some(_) => Err(not_ours()),
        None => Err(ApiError::Unauthorized {
            detail: "this API needs `Authorization: Bearer <token>`; tokens are configured with \
                     INTERNAL_API_SHARED_SECRET or server.api_tokens_file"
                .to_owned(),
            invalid: false,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_configured_token_is_accepted_and_nothing_else() {
        let tokens = ApiTokens::new(&[
            SecretString::from("old-token-0123456789"),
            SecretString::from("new-token-9876543210"),
            SecretString::from("  "),
        ]);
        assert!(tokens.accepts("old-token-0123456789"));
        assert!(tokens.accepts("new-token-9876543210"));
        assert!(!tokens.accepts("new-token-987654321"));
        assert!(!tokens.accepts(""));
        assert!(!format!("{tokens:?}").contains("token-"));
        assert!(ApiTokens::new(&[]).is_empty());
    }
}
