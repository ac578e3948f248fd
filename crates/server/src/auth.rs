//! Bearer tokens for the API (`INTERNAL_API_SHARED_SECRET`, several separated by commas, or
//! `server.api_tokens_file`, one per line).
//!
//! Several tokens may be valid at once so one can be rotated without downtime. Tokens are
//! kept only as SHA-256 digests and a presented token is compared with every one of them in
//! constant time, so neither the match nor a token's length shows in the response time.

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use secrecy::{ExposeSecret as _, SecretString};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use crate::problem::ApiError;
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
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Middleware: lets a request through only with `Authorization: Bearer <one of the tokens>`.
pub(crate) async fn require_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let header = request
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or_default());
    let Some(header) = header else {
        return Err(ApiError::Unauthorized {
            detail: "this API needs `Authorization: Bearer <token>`; tokens are configured with \
                     INTERNAL_API_SHARED_SECRET or server.api_tokens_file"
                .to_owned(),
            invalid: false,
        });
    };
    let token = header
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    match token {
        Some(token) if state.tokens.accepts(token) => Ok(next.run(request).await),
        Some(_) => Err(ApiError::Unauthorized {
            detail: "the bearer token is not valid for this server".to_owned(),
            invalid: true,
        }),
        None => Err(ApiError::Unauthorized {
            detail: "the Authorization header must use the Bearer scheme: \
                     `Authorization: Bearer <token>`"
                .to_owned(),
            invalid: true,
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
