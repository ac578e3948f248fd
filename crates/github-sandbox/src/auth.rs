//! Credentials: plain tokens, App JWTs, minted installation tokens, and the
//! primary rate limit counted per credential.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use http::HeaderMap;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use rand::distr::{Alphanumeric, SampleString};
use serde_json::Value;

use crate::config::{SandboxApp, SandboxConfig, SANDBOX_BOT_ID};
use crate::error::ApiError;

/// Who a request is authenticated as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Principal {
    /// A configured plain token.
    Plain { token: String },
    /// A token minted for an App installation.
    Installation { app_id: u64, installation_id: u64 },
    /// An App authenticated with its JWT.
    App { app_id: u64 },
}

impl Principal {
    /// The rate-limit bucket. Installation tokens share their installation's
    /// bucket, as on GitHub, so minting a new token does not reset the quota.
    pub(crate) fn bucket_key(&self) -> String {
        match self {
            Self::Plain { token } => format!("token:{token}"),
            Self::Installation {
                installation_id, ..
            } => format!("installation:{installation_id}"),
            Self::App { app_id } => format!("app:{app_id}"),
        }
    }

    /// How GitHub names the limited party in the rate-limit message.
    pub(crate) fn limited_party(&self) -> String {
        match self {
            Self::Plain { .. } => format!("user ID {}", SANDBOX_BOT_ID),
            Self::Installation {
                installation_id, ..
            } => format!("installation ID {installation_id}"),
            Self::App { app_id } => format!("integration ID {app_id}"),
        }
    }

    /// The App acting, for `performed_via_github_app` and the creator.
    pub(crate) fn app_id(&self) -> Option<u64> {
        match self {
            Self::Plain { .. } => None,
            Self::Installation { app_id, .. } | Self::App { app_id } => Some(*app_id),
        }
    }
}

/// The `x-ratelimit-*` values of one answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RateLimit {
    pub(crate) limit: u32,
    pub(crate) remaining: u32,
    pub(crate) used: u32,
    /// Unix seconds at which the window ends.
    pub(crate) reset: i64,
}

/// GitHub's hourly limit for unauthenticated requests, reported (not enforced)
/// on answers to requests without valid credentials.
const ANONYMOUS_LIMIT: u32 = 60;
const WINDOW_SECS: i64 = 3600;
/// GitHub rejects App JWTs valid for more than ten minutes; Octokit and most
/// clients backdate `iat` by up to a minute for clock drift, so allow that much.
const MAX_JWT_LIFETIME_SECS: i64 = 600;
const JWT_SKEW_SECS: i64 = 60;
/// Lifetime of minted installation tokens.
const INSTALLATION_TOKEN_TTL_SECS: i64 = 3600;

const JWT_UNDECODABLE: &str = "A JSON web token could not be decoded";
const JWT_EXP_INVALID: &str = "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires";
const JWT_EXP_TOO_FAR: &str = "'Expiration time' claim ('exp') is too far in the future";
const JWT_IAT_INVALID: &str =
    "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued";
const JWT_IAT_FUTURE: &str =
    "'Issued at' claim ('iat') must be an Integer representing a time in the past";
const JWT_ISS_INVALID: &str = "'Issuer' claim ('iss') must be an Integer";
const JWT_APP_UNKNOWN: &str = "Integration not found";

/// A configured App with its parsed key.
struct KnownApp {
    app: SandboxApp,
    /// `None` when the configured PEM did not parse; such an App's JWTs are
    /// rejected as undecodable (logged once at start-up).
    key: Option<DecodingKey>,
}

struct MintedToken {
    app_id: u64,
    installation_id: u64,
    expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    window_start: i64,
    used: u32,
}

#[derive(Default)]
struct AuthState {
    minted: HashMap<String, MintedToken>,
    buckets: HashMap<String, Bucket>,
}

/// Verifies credentials and counts requests against their quota.
pub(crate) struct Auth {
    apps: HashMap<u64, KnownApp>,
    plain: HashSet<String>,
    limit: u32,
    state: Mutex<AuthState>,
}

impl Auth {
    pub(crate) fn new(config: &SandboxConfig) -> Self {
        let apps = config
            .apps
            .iter()
            .map(|app| {
                let key = match DecodingKey::from_rsa_pem(app.public_key_pem.as_bytes()) {
                    Ok(key) => Some(key),
                    Err(err) => {
                        tracing::error!(app_id = app.id, %err, "sandbox app public key does not parse; its JWTs will be rejected");
                        None
                    }
                };
                (app.id, KnownApp { app: app.clone(), key })
            })
            .collect();
        Self {
            apps,
            plain: config.tokens.iter().cloned().collect(),
            limit: config.rate_limit,
            state: Mutex::new(AuthState::default()),
        }
    }

    pub(crate) fn app(&self, app_id: u64) -> Option<&SandboxApp> {
        self.apps.get(&app_id).map(|known| &known.app)
    }

    /// Authenticates a token credential (plain or minted installation token).
    pub(crate) fn token(
        &self,
        credential: &str,
        now: DateTime<Utc>,
    ) -> Result<Principal, ApiError> {
        if self.plain.contains(credential) {
            return Ok(Principal::Plain {
                token: credential.to_owned(),
            });
        }
        let state = self.state.lock().expect("auth mutex poisoned");
        match state.minted.get(credential) {
            Some(minted) if minted.expires_at > now => Ok(Principal::Installation {
                app_id: minted.app_id,
                installation_id: minted.installation_id,
            }),
            _ => Err(ApiError::BadCredentials),
        }
    }

    /// Verifies an App JWT the way GitHub does and returns the App id.
    pub(crate) fn jwt(&self, jwt: &str, now: DateTime<Utc>) -> Result<u64, ApiError> {
        let undecodable = ApiError::Jwt(JWT_UNDECODABLE);
        let header = jsonwebtoken::decode_header(jwt).map_err(|_| undecodable.clone())?;
        if header.alg != Algorithm::RS256 {
            return Err(undecodable);
        }
        // The issuer picks the key, so the claims are read before the signature
        // can be checked; nothing from them is trusted until it has been.
        let claims = jwt
            .split('.')
            .nth(1)
            .and_then(|segment| URL_SAFE_NO_PAD.decode(segment.trim_end_matches('=')).ok())
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
            .filter(Value::is_object)
            .ok_or_else(|| undecodable.clone())?;
        let app_id = match claims.get("iss") {
            Some(Value::Number(n)) => n.as_u64(),
            Some(Value::String(s)) => s.parse().ok(),
            _ => None,
        }
        .ok_or(ApiError::Jwt(JWT_ISS_INVALID))?;
        let known = self
            .apps
            .get(&app_id)
            .ok_or(ApiError::Jwt(JWT_APP_UNKNOWN))?;
        let key = known.key.as_ref().ok_or_else(|| undecodable.clone())?;

        let mut validation = Validation::new(Algorithm::RS256);
        // Time claims are checked below with GitHub's own rules and messages.
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        validation.validate_aud = false;
        jsonwebtoken::decode::<Value>(jwt, key, &validation).map_err(|_| undecodable)?;

        let now = now.timestamp();
        let exp = claims
            .get("exp")
            .and_then(Value::as_i64)
            .ok_or(ApiError::Jwt(JWT_EXP_INVALID))?;
        let iat = claims
            .get("iat")
            .and_then(Value::as_i64)
            .ok_or(ApiError::Jwt(JWT_IAT_INVALID))?;
        if exp <= now {
            return Err(ApiError::Jwt(JWT_EXP_INVALID));
        }
        if iat > now + JWT_SKEW_SECS {
            return Err(ApiError::Jwt(JWT_IAT_FUTURE));
        }
        if exp - now > MAX_JWT_LIFETIME_SECS + JWT_SKEW_SECS
            || exp - iat > MAX_JWT_LIFETIME_SECS + JWT_SKEW_SECS
        {
            return Err(ApiError::Jwt(JWT_EXP_TOO_FAR));
        }
        Ok(app_id)
    }

    /// Mints an installation token: `ghs_` and 36 alphanumerics, valid an hour.
    pub(crate) fn mint(
        &self,
        app_id: u64,
        installation_id: u64,
        now: DateTime<Utc>,
    ) -> Result<(String, DateTime<Utc>), ApiError> {
        let app = self.app(app_id).ok_or(ApiError::NotFound)?;
        if !app.installation_ids.contains(&installation_id) {
            return Err(ApiError::NotFound);
        }
        let token = format!("ghs_{}", Alphanumeric.sample_string(&mut rand::rng(), 36));
        let expires_at = now + Duration::seconds(INSTALLATION_TOKEN_TTL_SECS);
        let mut state = self.state.lock().expect("auth mutex poisoned");
        // Expired tokens are pruned here so a long benchmark cannot grow the map
        // without bound.
        state.minted.retain(|_, minted| minted.expires_at > now);
        state.minted.insert(
            token.clone(),
            MintedToken {
                app_id,
                installation_id,
                expires_at,
            },
        );
        Ok((token, expires_at))
    }

    /// Counts a request against the principal's quota. `Err` carries the
    /// exhausted quota: the request must be answered with a primary rate limit.
    pub(crate) fn consume(
        &self,
        principal: &Principal,
        now: DateTime<Utc>,
    ) -> Result<RateLimit, RateLimit> {
        let mut state = self.state.lock().expect("auth mutex poisoned");
        let bucket = current_bucket(&mut state, principal.bucket_key(), now.timestamp());
        if bucket.used >= self.limit {
            return Err(self.snapshot(*bucket));
        }
        bucket.used += 1;
        Ok(self.snapshot(*bucket))
    }

    /// The quota of a principal without counting a request.
    pub(crate) fn peek(&self, principal: &Principal, now: DateTime<Utc>) -> RateLimit {
        let mut state = self.state.lock().expect("auth mutex poisoned");
        let bucket = *current_bucket(&mut state, principal.bucket_key(), now.timestamp());
        self.snapshot(bucket)
    }

    /// Counts an unauthenticated request. GitHub limits these to 60 an hour per
    /// IP; the sandbox only reports that, so tests probing auth errors never
    /// turn into rate limits.
    pub(crate) fn consume_anonymous(&self, now: DateTime<Utc>) -> RateLimit {
        self.anonymous(now, 1)
    }

    /// The unauthenticated quota without counting a request.
    pub(crate) fn peek_anonymous(&self, now: DateTime<Utc>) -> RateLimit {
        self.anonymous(now, 0)
    }

    fn anonymous(&self, now: DateTime<Utc>, count: u32) -> RateLimit {
        let mut state = self.state.lock().expect("auth mutex poisoned");
        let bucket = current_bucket(&mut state, "anonymous".to_owned(), now.timestamp());
        bucket.used = bucket.used.saturating_add(count);
        RateLimit {
            limit: ANONYMOUS_LIMIT,
            remaining: ANONYMOUS_LIMIT.saturating_sub(bucket.used),
            used: bucket.used.min(ANONYMOUS_LIMIT),
            reset: bucket.window_start + WINDOW_SECS,
        }
    }

    /// The configured limit, for answers that report an exhausted quota.
    pub(crate) fn limit(&self) -> u32 {
        self.limit
    }

    /// Forgets quotas (minted tokens stay valid: a running client keeps its token).
    pub(crate) fn reset_quotas(&self) {
        self.state
            .lock()
            .expect("auth mutex poisoned")
            .buckets
            .clear();
    }

    fn snapshot(&self, bucket: Bucket) -> RateLimit {
        RateLimit {
            limit: self.limit,
            remaining: self.limit.saturating_sub(bucket.used),
            used: bucket.used,
            reset: bucket.window_start + WINDOW_SECS,
        }
    }
}

/// The bucket of `key`, starting a new hour window when the last one ended.
fn current_bucket(state: &mut AuthState, key: String, now: i64) -> &mut Bucket {
    let bucket = state.buckets.entry(key).or_insert(Bucket {
        window_start: now,
        used: 0,
    });
    if now >= bucket.window_start + WINDOW_SECS {
        *bucket = Bucket {
            window_start: now,
            used: 0,
        };
    }
    bucket
}

/// The kind of credential in an `Authorization` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Credential<'a> {
    /// `Bearer X` or `token X`.
    Token(&'a str),
    /// A header that is not a token (e.g. `Basic`) or not text.
    Unsupported,
}

/// Reads the `Authorization` header; `None` when absent.
pub(crate) fn credential(headers: &HeaderMap) -> Option<Credential<'_>> {
    let value = headers.get(http::header::AUTHORIZATION)?;
    let Ok(value) = value.to_str() else {
        return Some(Credential::Unsupported);
    };
    match value.trim().split_once(' ') {
        Some((scheme, rest))
            if (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token"))
                && !rest.trim().is_empty() =>
        {
            Some(Credential::Token(rest.trim()))
        }
        _ => Some(Credential::Unsupported),
    }
}
