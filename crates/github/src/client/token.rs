//! The installation token of a GitHub App: minted with the App JWT, cached by
//! all clones of a client, refreshed 5 minutes before expiry, and minted by one
//! caller at a time (single-flight) so concurrent requests share one token.

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, TimeDelta, Utc};
use gdt_metrics::labels::{Endpoint, Outcome};
use gdt_metrics::metrics;
use http::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::Mutex;

use super::transport::Request;
use super::Client;
use crate::auth::{AppCredentials, Credentials, InstallationToken};
use crate::error::Error;

/// An installation token is refreshed when less than this is left, so a
/// request never starts with a token about to die mid-flight.
const REFRESH_MARGIN: TimeDelta = TimeDelta::minutes(5);

/// The installation token shared by the clones of a client. The lock is held
/// while minting, so concurrent callers wait for one token instead of each
/// minting their own.
#[derive(Default)]
pub(super) struct TokenCache(Mutex<Option<CachedToken>>);

/// A cached installation token.
#[derive(Debug, Clone)]
pub(crate) struct CachedToken {
    pub(crate) token: SecretString,
    pub(crate) expires_at: DateTime<Utc>,
}

impl CachedToken {
    fn is_fresh(&self, now: DateTime<Utc>) -> bool {
        self.expires_at - now > REFRESH_MARGIN
    }
}

/// The answer of `POST /app/installations/{id}/access_tokens`.
#[derive(Deserialize)]
struct AccessTokenResponse {
    token: SecretString,
    expires_at: DateTime<Utc>,
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

impl Client {
    /// The token requests are sent with: for an App the cached installation
    /// token (minted or refreshed as needed), for a plain token the token
    /// itself with unknown expiry.
    pub async fn installation_token(&self) -> Result<InstallationToken, Error> {
        match &self.shared.credentials {
            Credentials::Token(token) => Ok(InstallationToken {
                token: token.clone(),
                expires_at: None,
            }),
            Credentials::App(app) => {
                let cached = self.cached_installation_token(app).await?;
                Ok(InstallationToken {
                    token: cached.token,
                    expires_at: Some(cached.expires_at),
                })
            }
        }
    }

    /// Returns the cached installation token, minting a new one when it is
    /// missing or within 5 minutes of expiry. The lock is held while minting
    /// (single-flight).
    pub(crate) async fn cached_installation_token(
        &self,
        app: &AppCredentials,
    ) -> Result<CachedToken, Error> {
        let mut cache = self.shared.tokens.0.lock().await;
        if let Some(cached) = cache.as_ref().filter(|c| c.is_fresh(Utc::now())) {
            return Ok(cached.clone());
        }
        let minted = self.mint_installation_token(app).await?;
        *cache = Some(minted.clone());
        Ok(minted)
    }

    /// Forgets the cached token if it is still the one that was rejected
    /// (another caller may already have replaced it).
    pub(super) async fn drop_cached_token(&self, rejected: &SecretString) {
        let mut cache = self.shared.tokens.0.lock().await;
        if cache
            .as_ref()
            .is_some_and(|c| c.token.expose_secret() == rejected.expose_secret())
        {
            *cache = None;
        }
    }

    /// Exchanges an App JWT for an installation token.
    ///
    /// Boxed because it re-enters `execute`, which may call back here;
    /// an unboxed async recursion would have infinite size.
    fn mint_installation_token<'a>(
        &'a self,
        app: &'a AppCredentials,
    ) -> BoxFuture<'a, Result<CachedToken, Error>> {
        Box::pin(async move {
            let installation = app.installation_id.to_string();
            let url = self.endpoint(&["app", "installations", &installation, "access_tokens"])?;
            let context = format!(
                "minting an installation token (app {}, installation {})",
                app.app_id, app.installation_id
            );
            let req = Request::new(Endpoint::InstallationToken, Method::POST, url).with_app_jwt();
            // Counted here, where the token is actually minted: the single-flight lock in
            // `cached_installation_token` makes that once per mint, not once per waiter.
            let minted: Result<AccessTokenResponse, Error> =
                self.send_json(req, "installation access token").await;
            metrics().github_token_refresh(if minted.is_ok() {
                Outcome::Success
            } else {
                Outcome::Failure
            });
            let parsed = minted.map_err(|e| e.context(&context))?;
            tracing::debug!(
                app_id = app.app_id,
                installation_id = app.installation_id,
                expires_at = %parsed.expires_at,
                "minted GitHub installation token"
            );
            Ok(CachedToken {
                token: parsed.token,
                expires_at: parsed.expires_at,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freshness_uses_five_minute_margin() {
        let now = Utc::now();
        let t = |mins| CachedToken {
            token: SecretString::from("t"),
            expires_at: now + TimeDelta::minutes(mins),
        };
        assert!(t(60).is_fresh(now));
        assert!(t(6).is_fresh(now));
        assert!(!t(4).is_fresh(now));
        assert!(!t(-1).is_fresh(now));
    }
}
