//! Sending one request: URLs under the base, GitHub's headers, the bearer, and
//! [`Client::execute`], the one retry loop every request goes through (5xx,
//! broken connections, rate limits, a revoked installation token).
//!
//! It is also where the GitHub metrics are counted: each HTTP exchange, the quota headers
//! of each answer, each retry and its reason, and each rate limit hit and waited out.
//!
//! A `GET` sent with the installation token is conditional when an earlier `200` of the same
//! URL left an `ETag` (`client/conditional.rs`): each attempt sends `If-None-Match`, and a `304`
//! comes back to the caller as that `200`, counted as an exchange of status class `3xx` and in
//! `gdt_github_conditional_hits_total`. Two conditional `GET`s of one URL go one after the
//! other (`conditional::InFlight`), so the second can be a `304`.

use std::time::{Duration, Instant};

use chrono::Utc;
use gdt_metrics::labels::{Endpoint, RetryReason};
use gdt_metrics::metrics;
use http::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, IF_NONE_MATCH, USER_AGENT};
use http::{HeaderMap, Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use url::Url;

use super::conditional::Stored;
use super::Client;
use crate::auth::Credentials;
use crate::error::{classify, Error, RateLimitKind};

const ACCEPT_GITHUB_JSON: &str = "application/vnd.github+json";
const API_VERSION_HEADER: &str = "x-github-api-version";
const API_VERSION: &str = "2022-11-28";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Bounds a single attempt so a hung connection becomes a retryable
/// transport error instead of eating an activity's whole timeout.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The HTTP client a [`Client`] and all its clones share.
pub(super) fn http_client() -> Result<reqwest::Client, Error> {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .build()
        .map_err(|e| Error::Config(format!("could not build the HTTP client: {e}")))
}

/// Which credential a request is sent with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bearer {
    /// The plain token, or the (cached) installation token of an App.
    Installation,
    /// A freshly signed App JWT (`GET /app`, minting installation tokens).
    AppJwt,
}

/// A request to send through [`Client::execute`].
pub(crate) struct Request {
    /// The endpoint family the metrics count the request under, named by the endpoint
    /// method that builds the request rather than read back from the URL, which a GHES base
    /// path or a pagination link could make ambiguous.
    endpoint: Endpoint,
    method: Method,
    url: Url,
    body: Option<Vec<u8>>,
    bearer: Bearer,
    /// A write that has the same effect however often it is sent (e.g. a
    /// PATCH setting a comment's body), so it may be repeated after an
    /// ambiguous failure like a read.
    idempotent: bool,
}

/// A 2xx answer, its body read.
pub(crate) struct Response {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Request {
    /// A request to `endpoint`'s family, sent with the installation token (or the plain
    /// token).
    pub(crate) fn new(endpoint: Endpoint, method: Method, url: Url) -> Self {
        Self {
            endpoint,
            method,
            url,
            body: None,
            bearer: Bearer::Installation,
            idempotent: false,
        }
    }

    /// Sends the request with a freshly signed App JWT instead.
    pub(crate) fn with_app_jwt(mut self) -> Self {
        self.bearer = Bearer::AppJwt;
        self
    }

    /// Marks a write as safe to repeat after an ambiguous failure.
    pub(crate) fn idempotent(mut self) -> Self {
        self.idempotent = true;
        self
    }

    pub(crate) fn json<T: serde::Serialize>(mut self, body: &T) -> Result<Self, Error> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| Error::Unexpected(format!("could not encode request body: {e}")))?;
        self.body = Some(bytes);
        Ok(self)
    }

    /// Whether sending this request twice does no harm: reads, minting an installation
    /// token (a second token is merely unused), and writes marked idempotent.
    fn safe_to_repeat(&self) -> bool {
        self.method == Method::GET || self.bearer == Bearer::AppJwt || self.idempotent
    }

    /// Whether the answer may be kept and asked about again with `If-None-Match`: reads
    /// with the installation token (or the plain token); never writes, never the App's JWT.
    fn conditional(&self) -> bool {
        self.method == Method::GET && self.bearer == Bearer::Installation
    }
}

impl Client {
    /// `segments` under the base URL, each percent-encoded as one path segment.
    pub(crate) fn endpoint(&self, segments: &[&str]) -> Result<Url, Error> {
        let mut url = self.shared.base_url.clone();
        url.set_query(None);
        url.set_fragment(None);
        url.path_segments_mut()
            .map_err(|()| Error::Config("the GitHub API URL cannot be a base URL".to_owned()))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// `/repos/{owner}/{repo}/{rest...}` under the base URL.
    pub(crate) fn repo_endpoint(
        &self,
        owner: &str,
        repo: &str,
        rest: &[&str],
    ) -> Result<Url, Error> {
        if owner.trim().is_empty() || repo.trim().is_empty() {
            return Err(Error::Config(format!(
                "repository owner and name must not be empty (got {owner:?}/{repo:?})"
            )));
        }
        let mut segments = vec!["repos", owner, repo];
        segments.extend_from_slice(rest);
        self.endpoint(&segments)
    }

    /// Sends `req` and decodes the answer's JSON body, naming `what` if it cannot.
    pub(crate) async fn send_json<T: DeserializeOwned>(
        &self,
        req: Request,
        what: &str,
    ) -> Result<T, Error> {
        let resp = self.execute(&req).await?;
        decode(&resp.body, what)
    }

    /// `GET url` (of `endpoint`'s family) with the installation token, decoded.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        endpoint: Endpoint,
        url: Url,
        what: &str,
    ) -> Result<T, Error> {
        self.send_json(Request::new(endpoint, Method::GET, url), what)
            .await
    }

    /// Sends `req`, retrying per the policy. Returns the 2xx response or the
    /// classified error.
    pub(crate) async fn execute(&self, req: &Request) -> Result<Response, Error> {
        let mut retries: u32 = 0;
        let mut refreshed_after_401 = false;
        // A conditional read waits for one of the same URL being sent, so it asks with that
        // one's tag (a `304` when nothing changed) rather than beside it (two full answers).
        let _one_at_a_time = if req.conditional() {
            Some(
                self.shared
                    .in_flight
                    .one_at_a_time(self.shared.identity, req.url.as_str())
                    .await,
            )
        } else {
            None
        };
        // What a `304` stands for, taken once: an entry replaced meanwhile (by another
        // request's `200`) does not change what this request asked about.
        let cached = req
            .conditional()
            .then(|| {
                self.shared
                    .etags
                    .get(self.shared.identity, req.url.as_str())
            })
            .flatten();
        loop {
            let bearer = self.bearer(req.bearer).await?;
            let err = match self.attempt(req, &bearer, cached.as_deref()).await {
                Ok(resp) => {
                    if req.conditional() && resp.status == StatusCode::OK {
                        self.shared.etags.put(
                            self.shared.identity,
                            req.url.as_str(),
                            &resp.headers,
                            &resp.body,
                        );
                    }
                    return Ok(resp);
                }
                Err(err) => err,
            };
            // Counted whether it is waited out here or handed back to the caller.
            if let Error::RateLimited { kind, .. } = err {
                metrics().github_rate_limited(kind.label());
            }

            // An installation token can be revoked before its expiry (or the
            // cache can be stale after a key rotation): mint once more.
            if matches!(err, Error::Unauthorized { .. })
                && req.bearer == Bearer::Installation
                && matches!(self.shared.credentials, Credentials::App(_))
                && !refreshed_after_401
            {
                refreshed_after_401 = true;
                self.drop_cached_token(&bearer).await;
                metrics().github_retry(req.endpoint, RetryReason::TokenRejected);
                tracing::warn!(
                    method = %req.method,
                    path = req.url.path(),
                    "GitHub answered 401; retrying once with a fresh installation token"
                );
                continue;
            }

            if !err.is_retryable() || retries >= self.retry.max_retries {
                return Err(err);
            }
            // A 5xx or a broken connection leaves it unknown whether GitHub acted on the
            // request. Repeating a create here could make a second deployment or status, so
            // only requests that are safe to repeat are retried in-process; the caller (a
            // Temporal activity) retries creates after checking what already exists.
            // Rate limits are different: GitHub refused the request, so repeating is safe.
            let ambiguous = matches!(err, Error::Server { .. } | Error::Transport(_));
            if ambiguous && !req.safe_to_repeat() {
                return Err(err);
            }
            let wait = err
                .retry_after()
                .unwrap_or_else(|| self.retry.backoff(retries, &mut rand::rng()));
            // Long waits go back to the caller, who may have a deadline.
            if wait > self.retry.max_inline_wait {
                return Err(err);
            }
            retries += 1;
            let reason = match err {
                Error::RateLimited { kind, .. } => {
                    metrics().github_rate_limit_wait(kind.label(), wait.as_secs_f64());
                    RetryReason::RateLimit
                }
                Error::Server { .. } => RetryReason::ServerError,
                _ => RetryReason::Transport,
            };
            metrics().github_retry(req.endpoint, reason);
            tracing::warn!(
                method = %req.method,
                path = req.url.path(),
                status = err.status(),
                attempt = retries,
                max_retries = self.retry.max_retries,
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                error = %err,
                "retrying GitHub request"
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// One HTTP exchange, including reading the body, counted with its status (none when
    /// GitHub's answer never fully arrived) and the time from sending to having the body.
    /// With `cached`, the request asks `If-None-Match` its tag, and a `304` is answered with
    /// its `200`.
    async fn attempt(
        &self,
        req: &Request,
        bearer: &SecretString,
        cached: Option<&Stored>,
    ) -> Result<Response, Error> {
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", bearer.expose_secret()))
            // Never echo the value: it is the token.
            .map_err(|_| Error::Config("the GitHub token contains invalid characters".into()))?;
        auth.set_sensitive(true);

        let mut builder = self
            .shared
            .http
            .request(req.method.clone(), req.url.clone())
            .header(ACCEPT, ACCEPT_GITHUB_JSON)
            .header(API_VERSION_HEADER, API_VERSION)
            .header(USER_AGENT, self.shared.user_agent.clone())
            .header(AUTHORIZATION, auth);
        if let Some(body) = &req.body {
            builder = builder
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        if let Some(cached) = cached {
            builder = builder.header(IF_NONE_MATCH, cached.etag.clone());
        }

        let method = gdt_metrics::labels::Method::of(req.method.as_str());
        let started = Instant::now();
        let exchanged = |status: Option<StatusCode>| {
            metrics().github_request(
                req.endpoint,
                method,
                status.map(|s| s.as_u16()),
                started.elapsed().as_secs_f64(),
            );
        };
        let resp = builder.send().await.map_err(|e| {
            exchanged(None);
            transport_error(req, &e)
        })?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.map_err(|e| {
            exchanged(None);
            transport_error(req, &e)
        })?;
        exchanged(Some(status));
        count_quota(&headers);
        let body = body.to_vec();
        tracing::debug!(method = %req.method, path = req.url.path(), status = status.as_u16(), "GitHub response");

        if status == StatusCode::NOT_MODIFIED {
            // GitHub compared the tag with what it would send now: the kept 200 is current.
            return match cached {
                Some(cached) => {
                    metrics().github_conditional_hit(req.endpoint);
                    Ok(Response {
                        status: StatusCode::OK,
                        headers: cached.headers.clone(),
                        body: cached.body.clone(),
                    })
                }
                None => Err(Error::Unexpected(format!(
                    "GitHub answered 304 Not Modified to {} {}, which asked about no earlier answer",
                    req.method,
                    req.url.path()
                ))),
            };
        }
        if status.is_success() {
            Ok(Response {
                status,
                headers,
                body,
            })
        } else {
            Err(classify(status, &headers, &body))
        }
    }

    async fn bearer(&self, kind: Bearer) -> Result<SecretString, Error> {
        match (kind, &self.shared.credentials) {
            (Bearer::Installation, Credentials::Token(token)) => Ok(token.clone()),
            (Bearer::Installation, Credentials::App(app)) => {
                Ok(self.cached_installation_token(app).await?.token)
            }
            (Bearer::AppJwt, Credentials::App(app)) => app.jwt(Utc::now()),
            (Bearer::AppJwt, Credentials::Token(_)) => Err(app_credentials_needed("this request")),
        }
    }
}

/// The error for a request that needs a GitHub App but was given a plain token.
pub(crate) fn app_credentials_needed(what: &str) -> Error {
    Error::Config(format!(
        "{what} needs GitHub App credentials (app id, installation id, private key), not a plain token"
    ))
}

/// Decodes a JSON body, naming `what` if it cannot.
pub(crate) fn decode<T: DeserializeOwned>(body: &[u8], what: &str) -> Result<T, Error> {
    serde_json::from_slice(body)
        .map_err(|e| Error::Unexpected(format!("could not decode {what}: {e}")))
}

/// Sets the quota gauges from an answer's `x-ratelimit-remaining` and `x-ratelimit-limit`,
/// when it carries both (error answers included: a 403 at the end of the quota says 0).
fn count_quota(headers: &HeaderMap) {
    let number = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<i64>().ok())
    };
    if let (Some(remaining), Some(limit)) =
        (number("x-ratelimit-remaining"), number("x-ratelimit-limit"))
    {
        metrics().github_rate_limit(remaining, limit);
    }
}

impl RateLimitKind {
    /// The metrics' label for this kind.
    fn label(self) -> gdt_metrics::labels::RateLimitKind {
        match self {
            Self::Primary => gdt_metrics::labels::RateLimitKind::Primary,
            Self::Secondary => gdt_metrics::labels::RateLimitKind::Secondary,
        }
    }
}

/// Describes a reqwest failure without headers or query strings.
fn transport_error(req: &Request, err: &reqwest::Error) -> Error {
    let what = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "could not connect"
    } else if err.is_body() || err.is_decode() {
        "failed reading the response"
    } else {
        "request failed"
    };
    let mut url = req.url.clone();
    url.set_query(None);
    // reqwest's own message is terse ("error sending request"); the causes
    // (connection refused, DNS, TLS) are in the source chain.
    let mut detail = String::new();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        detail.push_str(": ");
        detail.push_str(&cause.to_string());
        source = cause.source();
    }
    Error::Transport(format!("{} {url} {what}{detail}", req.method))
}

#[cfg(test)]
mod tests {
    use crate::client::tests::client_with_token;

    #[test]
    fn endpoints_keep_the_base_path_and_escape_segments() {
        let c = client_with_token("https://ghe.example.com/api/v3/", "t").expect("client");
        let url = c
            .repo_endpoint("acme", "web app", &["deployments", "7", "statuses"])
            .expect("url");
        assert_eq!(
            url.as_str(),
            "https://ghe.example.com/api/v3/repos/acme/web%20app/deployments/7/statuses"
        );
        let c = client_with_token("https://api.github.com", "t").expect("client");
        assert_eq!(
            c.endpoint(&["app"]).expect("url").as_str(),
            "https://api.github.com/app"
        );
        assert!(c.repo_endpoint("", "r", &[]).is_err());
    }
}
