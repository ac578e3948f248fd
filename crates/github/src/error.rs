//! Error type of the crate and the pure classification of GitHub's failure
//! responses.
//!
//! Classification is a pure function of status, headers and body so it can be
//! table-tested without a server; the retry loop in [`crate::client`] only
//! acts on the resulting [`Error`].

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, StatusCode};
use serde::Deserialize;

/// Which of GitHub's rate limits was hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimitKind {
    /// The hourly request quota (`x-ratelimit-remaining: 0`).
    Primary,
    /// Abuse / concurrency limits (`retry-after`, "secondary rate limit").
    Secondary,
}

impl fmt::Display for RateLimitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Primary => "primary",
            Self::Secondary => "secondary",
        })
    }
}

/// Everything that can go wrong talking to GitHub, classified so callers can
/// decide whether to retry without parsing messages.
///
/// Messages carry GitHub's own `message` field but never credentials or
/// request headers.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// A primary or secondary rate limit; `wait` is how long GitHub asked us to
    /// back off.
    #[error("GitHub {kind} rate limit exceeded; retry in {}s: {message}", wait.as_secs_f64().ceil())]
    RateLimited {
        /// Which limit was hit.
        kind: RateLimitKind,
        /// How long to wait before trying again.
        wait: Duration,
        /// GitHub's message.
        message: String,
    },
    /// A 5xx answer.
    #[error("GitHub server error ({status}): {message}")]
    Server {
        /// The HTTP status (500..=599).
        status: u16,
        /// GitHub's message, or the status text.
        message: String,
    },
    /// Connecting, sending or reading the body failed.
    #[error("could not talk to GitHub: {0}")]
    Transport(String),
    /// 401: the credentials were rejected.
    #[error("GitHub rejected the credentials (401 Unauthorized): {message}")]
    Unauthorized {
        /// GitHub's message.
        message: String,
    },
    /// 403 that is not a rate limit (missing permission, ...).
    #[error("GitHub refused the request (403 Forbidden): {message}")]
    Forbidden {
        /// GitHub's message.
        message: String,
    },
    /// 404: the resource does not exist or the credentials cannot see it.
    #[error("GitHub could not find the resource (404 Not Found): {message}")]
    NotFound {
        /// GitHub's message.
        message: String,
    },
    /// 422: GitHub validated the request and rejected it.
    #[error(
        "GitHub rejected the request (422 Validation Failed): {message}{}",
        format_validation_errors(errors)
    )]
    Validation {
        /// GitHub's message.
        message: String,
        /// GitHub's `errors` array, as sent.
        errors: Vec<serde_json::Value>,
    },
    /// Any other 4xx.
    #[error("GitHub rejected the request ({status}): {message}")]
    Client {
        /// The HTTP status.
        status: u16,
        /// GitHub's message, or the status text.
        message: String,
    },
    /// Invalid configuration (bad key, bad URL, wrong auth kind).
    #[error("invalid GitHub client configuration: {0}")]
    Config(String),
    /// GitHub answered something we cannot make sense of.
    #[error("unexpected answer from GitHub: {0}")]
    Unexpected(String),
}

impl Error {
    /// Whether trying the same request again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. } | Self::Server { .. } | Self::Transport(_)
        )
    }

    /// The wait GitHub asked for, for rate limits.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { wait, .. } => Some(*wait),
            _ => None,
        }
    }

    /// The HTTP status behind the error, where one is known.
    ///
    /// Rate limits return `None`: GitHub uses both 403 and 429 for them, and
    /// the distinction carries no meaning for callers.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Server { status, .. } | Self::Client { status, .. } => Some(*status),
            Self::Unauthorized { .. } => Some(401),
            Self::Forbidden { .. } => Some(403),
            Self::NotFound { .. } => Some(404),
            Self::Validation { .. } => Some(422),
            Self::RateLimited { .. }
            | Self::Transport(_)
            | Self::Config(_)
            | Self::Unexpected(_) => None,
        }
    }
}

impl Error {
    /// Prefixes the message with what the client was doing, keeping the
    /// variant (and thus retryability) intact.
    pub(crate) fn context(mut self, context: &str) -> Self {
        let message = match &mut self {
            Self::RateLimited { message, .. }
            | Self::Server { message, .. }
            | Self::Unauthorized { message }
            | Self::Forbidden { message }
            | Self::NotFound { message }
            | Self::Validation { message, .. }
            | Self::Client { message, .. }
            | Self::Transport(message)
            | Self::Config(message)
            | Self::Unexpected(message) => message,
        };
        *message = format!("{context}: {message}");
        self
    }
}

/// Renders the `errors` array of a 422 compactly, e.g. ` (ref: invalid; code custom)`,
/// because GitHub's top-level message is often just "Validation Failed".
fn format_validation_errors(errors: &[serde_json::Value]) -> String {
    let parts: Vec<String> = errors
        .iter()
        .map(|e| match e {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Object(o) => {
                let field = o.get("field").and_then(|v| v.as_str());
                let text = o
                    .get("message")
                    .and_then(|v| v.as_str())
                    .or_else(|| o.get("code").and_then(|v| v.as_str()))
                    .unwrap_or("invalid");
                match field {
                    Some(field) => format!("{field}: {text}"),
                    None => text.to_owned(),
                }
            }
            other => other.to_string(),
        })
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join("; "))
    }
}

/// GitHub's JSON error body.
#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    errors: Vec<serde_json::Value>,
}

/// The longest piece of a non-JSON body quoted in a message; proxies answer
/// with whole HTML pages.
const MAX_QUOTED_BODY_CHARS: usize = 200;

/// The least time to wait for a secondary rate limit without `retry-after`,
/// as GitHub's documentation recommends.
const SECONDARY_DEFAULT_WAIT: Duration = Duration::from_secs(60);

/// Classifies a non-success response. Pure apart from reading the clock
/// (for `x-ratelimit-reset`).
pub fn classify(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Error {
    classify_at(status, headers, body, SystemTime::now())
}

/// [`classify`] with an explicit "now", for tests.
pub(crate) fn classify_at(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    now: SystemTime,
) -> Error {
    let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
    let message = parsed
        .message
        .filter(|m| !m.trim().is_empty())
        .unwrap_or_else(|| fallback_message(status, body));
    let code = status.as_u16();

    if code == 403 || code == 429 {
        if let Some(err) = rate_limit(code, headers, &message, now) {
            return err;
        }
    }

    match code {
        401 => Error::Unauthorized { message },
        403 => Error::Forbidden { message },
        404 => Error::NotFound { message },
        422 => Error::Validation {
            message,
            errors: parsed.errors,
        },
        500..=599 => Error::Server {
            status: code,
            message,
        },
        400..=499 => Error::Client {
            status: code,
            message,
        },
        _ => Error::Unexpected(format!("status {status}: {message}")),
    }
}

/// Recognises a rate limit on a 403/429, following GitHub's documented order:
/// `retry-after` first, then `x-ratelimit-remaining: 0` with its reset time,
/// then the "secondary rate limit" wording.
fn rate_limit(code: u16, headers: &HeaderMap, message: &str, now: SystemTime) -> Option<Error> {
    let remaining_zero = header_str(headers, "x-ratelimit-remaining").map(str::trim) == Some("0");
    let kind = if remaining_zero {
        RateLimitKind::Primary
    } else {
        RateLimitKind::Secondary
    };
    let rate_limited = |kind, wait| Error::RateLimited {
        kind,
        wait,
        message: message.to_owned(),
    };

    if let Some(secs) = header_u64(headers, "retry-after") {
        return Some(rate_limited(kind, Duration::from_secs(secs)));
    }
    if remaining_zero {
        let wait = match header_u64(headers, "x-ratelimit-reset") {
            Some(reset) => {
                let now_secs = now
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                // +1 s because the reset second itself may still be limited.
                Duration::from_secs(reset.saturating_sub(now_secs).saturating_add(1).max(1))
            }
            // No reset time: the quota window is an hour, but a minute is
            // a sane probe interval.
            None => SECONDARY_DEFAULT_WAIT,
        };
        return Some(rate_limited(RateLimitKind::Primary, wait));
    }
    let lower = message.to_ascii_lowercase();
    // 429 means "too many requests" whatever the body says.
    if lower.contains("secondary rate limit") || lower.contains("abuse detection") || code == 429 {
        return Some(rate_limited(
            RateLimitKind::Secondary,
            SECONDARY_DEFAULT_WAIT,
        ));
    }
    None
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    header_str(headers, name).and_then(|v| v.trim().parse().ok())
}

/// A message for bodies that are not GitHub JSON: a short quote of the body,
/// or the status text.
fn fallback_message(status: StatusCode, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return status.canonical_reason().unwrap_or("no message").to_owned();
    }
    let mut quoted: String = text.chars().take(MAX_QUOTED_BODY_CHARS).collect();
    if text.chars().count() > MAX_QUOTED_BODY_CHARS {
        quoted.push('…');
    }
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    const NOW: u64 = 1_700_000_000;

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(NOW)
    }

    fn headers(pairs: &[(&'static str, String)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).expect("header value"));
        }
        h
    }

    fn run(code: u16, pairs: &[(&'static str, String)], body: &str) -> Error {
        classify_at(
            StatusCode::from_u16(code).expect("status"),
            &headers(pairs),
            body.as_bytes(),
            now(),
        )
    }

    #[test]
    fn primary_rate_limit_waits_until_reset_plus_one() {
        for code in [403, 429] {
            let err = run(
                code,
                &[
                    ("x-ratelimit-remaining", "0".into()),
                    ("x-ratelimit-reset", (NOW + 30).to_string()),
                ],
                r#"{"message":"API rate limit exceeded for installation ID 1."}"#,
            );
            match err {
                Error::RateLimited {
                    kind: RateLimitKind::Primary,
                    wait,
                    ref message,
                } => {
                    assert_eq!(wait, Duration::from_secs(31));
                    assert!(message.contains("API rate limit exceeded"));
                }
                other => panic!("{code}: {other:?}"),
            }
        }
    }

    #[test]
    fn primary_rate_limit_reset_in_the_past_waits_at_least_one_second() {
        let err = run(
            403,
            &[
                ("x-ratelimit-remaining", "0".into()),
                ("x-ratelimit-reset", (NOW - 100).to_string()),
            ],
            "",
        );
        assert_eq!(err.retry_after(), Some(Duration::from_secs(1)));
    }

    #[test]
    fn retry_after_is_a_secondary_limit() {
        let err = run(
            429,
            &[("retry-after", "7".into())],
            r#"{"message":"slow down"}"#,
        );
        assert!(matches!(
            err,
            Error::RateLimited {
                kind: RateLimitKind::Secondary,
                ..
            }
        ));
        assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
        assert!(err.is_retryable());
        assert_eq!(err.status(), None);
    }

    #[test]
    fn secondary_message_without_retry_after_waits_a_minute() {
        let err = run(
            403,
            &[("x-ratelimit-remaining", "4000".into())],
            r#"{"message":"You have exceeded a secondary rate limit. Please wait."}"#,
        );
        assert!(matches!(
            err,
            Error::RateLimited {
                kind: RateLimitKind::Secondary,
                ..
            }
        ));
        assert_eq!(err.retry_after(), Some(Duration::from_secs(60)));
    }

    #[test]
    fn plain_403_is_forbidden() {
        let err = run(
            403,
            &[("x-ratelimit-remaining", "4999".into())],
            r#"{"message":"Resource not accessible by integration","documentation_url":"https://docs.github.com"}"#,
        );
        assert!(
            matches!(err, Error::Forbidden { ref message } if message == "Resource not accessible by integration")
        );
        assert!(!err.is_retryable());
        assert_eq!(err.status(), Some(403));
    }

    #[test]
    fn status_table() {
        // (status, the variant's name as `Debug` prints it, retryable)
        let cases = [
            (401, "Unauthorized", false),
            (404, "NotFound", false),
            (409, "Client", false),
            (400, "Client", false),
            (500, "Server", true),
            (502, "Server", true),
            (503, "Server", true),
        ];
        for (code, variant, retryable) in cases {
            let err = run(code, &[], r#"{"message":"m"}"#);
            assert!(
                format!("{err:?}").starts_with(&format!("{variant} {{")),
                "{code}: {err:?}"
            );
            assert_eq!(err.is_retryable(), retryable, "{code}");
            assert_eq!(err.status(), Some(code));
        }
    }

    #[test]
    fn validation_carries_message_and_errors() {
        let err = run(
            422,
            &[],
            r#"{"message":"No ref found for: nope","documentation_url":"x"}"#,
        );
        assert_eq!(
            err.to_string(),
            "GitHub rejected the request (422 Validation Failed): No ref found for: nope"
        );
        let err = run(
            422,
            &[],
            r#"{"message":"Validation Failed","errors":[{"resource":"DeploymentStatus","code":"custom","field":"state","message":"state is not included in the list"}]}"#,
        );
        match &err {
            Error::Validation { message, errors } => {
                assert_eq!(message, "Validation Failed");
                assert_eq!(errors.len(), 1);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            err.to_string(),
            "GitHub rejected the request (422 Validation Failed): Validation Failed (state: state is not included in the list)"
        );
    }

    #[test]
    fn non_json_bodies_are_quoted_briefly() {
        let html = format!("<html>{}</html>", "x".repeat(1000));
        match run(502, &[], &html) {
            Error::Server { message, .. } => {
                assert!(message.starts_with("<html>"));
                assert!(message.chars().count() <= MAX_QUOTED_BODY_CHARS + 1);
            }
            other => panic!("{other:?}"),
        }
        match run(503, &[], "") {
            Error::Server { message, .. } => assert_eq!(message, "Service Unavailable"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bare_429_is_a_secondary_limit() {
        let err = run(429, &[], "");
        assert_eq!(err.retry_after(), Some(Duration::from_secs(60)));
    }
}
