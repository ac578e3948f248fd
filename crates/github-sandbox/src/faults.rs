//! Injected faults: queued misbehaviours that matching GitHub-route requests
//! consume in the order they were added.
//!
//! A fault is `{"method": "POST", "path": "/repos/*/*/deployments", "count": 3,
//! "kind": "500"}`; see [`FaultSpec`] for every field.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{json, Value};

/// The body of `POST /_sandbox/faults`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// HTTP method to match (case-insensitive); any method when absent.
    pub method: Option<String>,
    /// Path pattern: `*` matches within one segment, a `**` segment matches any
    /// number of segments. Every path when absent.
    pub path: Option<String>,
    /// How many requests the fault answers (default 1, or unlimited with `probability`);
    /// ignored by `down`.
    pub count: Option<u32>,
    /// Fire on each matching request with this probability (0–1) instead of on every one:
    /// `{"kind": "500", "probability": 0.1}` makes 10% of requests fail, for chaos runs.
    /// Requests it spares go on to the next matching fault, or through.
    pub probability: Option<f64>,
    /// "500", "502", "primary_rate_limit", "secondary_rate_limit", "latency" or "down".
    pub kind: String,
    /// Seconds of `retry-after` (secondary_rate_limit; default 1).
    pub retry_after: Option<u64>,
    /// Seconds until `x-ratelimit-reset` (primary_rate_limit; default 2).
    pub reset_in: Option<u64>,
    /// Delay before the request proceeds normally (latency; default 100).
    pub latency_ms: Option<u64>,
    /// How long every matching request answers 503 (down; default 30).
    pub seconds: Option<u64>,
}

/// What a fault does to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FaultKind {
    /// 500 with GitHub's JSON "Server Error".
    ServerError,
    /// 502 with an HTML page, as GitHub's load balancers send.
    BadGateway,
    /// 403 with `x-ratelimit-remaining: 0` and a reset `reset_in` from now.
    PrimaryRateLimit { reset_in: Duration },
    /// 403 with `retry-after`.
    SecondaryRateLimit { retry_after: Duration },
    /// Waits, then lets the request through.
    Latency { delay: Duration },
    /// Lets the request through (GitHub acts on it), then answers 502 anyway: the gateway
    /// timed out after the write. The case that makes retried creates dangerous.
    BadGatewayAfterApply,
    /// 503 for every matching request until `until`; not consumed by count.
    Down { until: Instant },
}

impl FaultKind {
    /// The name used in the spec and in the journal.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::ServerError => "500",
            Self::BadGateway => "502",
            Self::PrimaryRateLimit { .. } => "primary_rate_limit",
            Self::SecondaryRateLimit { .. } => "secondary_rate_limit",
            Self::Latency { .. } => "latency",
            Self::BadGatewayAfterApply => "502_after_apply",
            Self::Down { .. } => "down",
        }
    }
}

/// A pending fault.
#[derive(Debug, Clone)]
struct Fault {
    id: u64,
    /// Upper-cased method, or any.
    method: Option<String>,
    path: String,
    remaining: u32,
    probability: Option<f64>,
    kind: FaultKind,
}

impl Fault {
    fn matches(&self, method: &str, path: &str) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && path_matches(&self.path, path)
    }

    fn to_json(&self, now: Instant) -> Value {
        let mut value = json!({
            "id": self.id,
            "method": self.method,
            "path": self.path,
            "count": self.remaining,
            "kind": self.kind.name(),
        });
        if let (Some(p), Some(obj)) = (self.probability, value.as_object_mut()) {
            obj.insert("probability".to_owned(), json!(p));
        }
        let extra = match &self.kind {
            FaultKind::PrimaryRateLimit { reset_in } => Some(("reset_in", reset_in.as_secs())),
            FaultKind::SecondaryRateLimit { retry_after } => {
                Some(("retry_after", retry_after.as_secs()))
            }
            FaultKind::Latency { delay } => Some((
                "latency_ms",
                u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            )),
            FaultKind::Down { until } => Some((
                "seconds",
                until.saturating_duration_since(now).as_secs_f64().ceil() as u64,
            )),
            FaultKind::ServerError | FaultKind::BadGateway | FaultKind::BadGatewayAfterApply => {
                None
            }
        };
        if let (Some((key, v)), Some(obj)) = (extra, value.as_object_mut()) {
            obj.insert(key.to_owned(), json!(v));
        }
        value
    }
}

/// Why a [`FaultSpec`] was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FaultSpecError {
    #[error("unknown fault kind {0:?}; expected 500, 502, 502_after_apply, primary_rate_limit, secondary_rate_limit, latency or down")]
    UnknownKind(String),
    #[error("count must be at least 1")]
    ZeroCount,
    #[error("path must start with '/'")]
    RelativePath,
    #[error("probability must be between 0 and 1")]
    Probability,
}

/// The pending faults, in the order they were added.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    inner: Mutex<FaultList>,
}

#[derive(Debug, Default)]
struct FaultList {
    next_id: u64,
    faults: Vec<Fault>,
}

impl Faults {
    /// Queues a fault and returns its JSON description (with its id).
    pub(crate) fn add(&self, spec: FaultSpec) -> Result<Value, FaultSpecError> {
        let now = Instant::now();
        let kind = match spec.kind.as_str() {
            "500" => FaultKind::ServerError,
            "502" => FaultKind::BadGateway,
            "primary_rate_limit" => FaultKind::PrimaryRateLimit {
                reset_in: Duration::from_secs(spec.reset_in.unwrap_or(2)),
            },
            "secondary_rate_limit" => FaultKind::SecondaryRateLimit {
                retry_after: Duration::from_secs(spec.retry_after.unwrap_or(1)),
            },
            "latency" => FaultKind::Latency {
                delay: Duration::from_millis(spec.latency_ms.unwrap_or(100)),
            },
            "502_after_apply" => FaultKind::BadGatewayAfterApply,
            "down" => FaultKind::Down {
                until: now + Duration::from_secs(spec.seconds.unwrap_or(30)),
            },
            other => return Err(FaultSpecError::UnknownKind(other.to_owned())),
        };
        if spec.probability.is_some_and(|p| !(0.0..=1.0).contains(&p)) {
            return Err(FaultSpecError::Probability);
        }
        let count = spec.count.unwrap_or(if spec.probability.is_some() {
            u32::MAX
        } else {
            1
        });
        if count == 0 {
            return Err(FaultSpecError::ZeroCount);
        }
        let path = spec.path.unwrap_or_else(|| "/**".to_owned());
        if !path.starts_with('/') {
            return Err(FaultSpecError::RelativePath);
        }
        let mut list = self.inner.lock().expect("faults mutex poisoned");
        list.next_id += 1;
        let fault = Fault {
            id: list.next_id,
            method: spec.method.map(|m| m.to_ascii_uppercase()),
            path,
            remaining: count,
            probability: spec.probability,
            kind,
        };
        let described = fault.to_json(now);
        list.faults.push(fault);
        Ok(described)
    }

    /// Consumes the first pending fault matching the request, if any.
    pub(crate) fn take(&self, method: &str, path: &str) -> Option<FaultKind> {
        let now = Instant::now();
        let mut list = self.inner.lock().expect("faults mutex poisoned");
        // Expired outages are dropped here rather than by a timer task so the
        // sandbox needs no background work.
        list.faults
            .retain(|f| !matches!(f.kind, FaultKind::Down { until } if until <= now));
        let index = list.faults.iter().position(|f| {
            f.matches(method, path) && f.probability.is_none_or(|p| rand::random::<f64>() < p)
        })?;
        let fault = &mut list.faults[index];
        let kind = fault.kind.clone();
        if !matches!(kind, FaultKind::Down { .. }) {
            fault.remaining -= 1;
            if fault.remaining == 0 {
                list.faults.remove(index);
            }
        }
        Some(kind)
    }

    /// The pending faults as JSON.
    pub(crate) fn list(&self) -> Vec<Value> {
        let now = Instant::now();
        let list = self.inner.lock().expect("faults mutex poisoned");
        list.faults
            .iter()
            .filter(|f| !matches!(f.kind, FaultKind::Down { until } if until <= now))
            .map(|f| f.to_json(now))
            .collect()
    }

    pub(crate) fn clear(&self) {
        self.inner
            .lock()
            .expect("faults mutex poisoned")
            .faults
            .clear();
    }
}

/// Whether `path` matches `pattern` (`*` within a segment, `**` across segments).
pub(crate) fn path_matches(pattern: &str, path: &str) -> bool {
    let pattern: Vec<&str> = pattern.trim_start_matches('/').split('/').collect();
    let path: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    segments_match(&pattern, &path)
}

fn segments_match(pattern: &[&str], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((&"**", rest)) => (0..=path.len()).any(|skip| segments_match(rest, &path[skip..])),
        Some((first, rest)) => match path.split_first() {
            Some((segment, path_rest)) => {
                glob_segment(first.as_bytes(), segment.as_bytes())
                    && segments_match(rest, path_rest)
            }
            None => false,
        },
    }
}

/// Glob match of one segment where `*` matches any run of bytes.
fn glob_segment(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|skip| glob_segment(rest, &text[skip..])),
        Some((c, rest)) => text
            .split_first()
            .is_some_and(|(t, text_rest)| t == c && glob_segment(rest, text_rest)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        let cases = [
            ("/repos/*/*/deployments", "/repos/o/r/deployments", true),
            ("/repos/*/*/deployments", "/repos/o/r/deployments/1", false),
            ("/repos/*/*/deployments", "/repos/o/deployments", false),
            ("/repos/**", "/repos/o/r/deployments/1/statuses", true),
            ("/**", "/app", true),
            (
                "/repos/**/statuses",
                "/repos/o/r/deployments/1/statuses",
                true,
            ),
            ("/repos/**/statuses", "/repos/o/r/deployments/1", false),
            (
                "/repos/o/r/deployments/*",
                "/repos/o/r/deployments/12",
                true,
            ),
            ("/repos/o/r/dep*", "/repos/o/r/deployments", true),
            ("/app", "/app/installations/1/access_tokens", false),
        ];
        for (pattern, path, expected) in cases {
            assert_eq!(path_matches(pattern, path), expected, "{pattern} vs {path}");
        }
    }

    #[test]
    fn probabilistic_faults_fire_on_about_that_share_of_requests() {
        let faults = Faults::default();
        faults
            .add(FaultSpec {
                method: None,
                path: Some("/repos/**".to_owned()),
                count: None,
                probability: Some(0.1),
                kind: "500".to_owned(),
                retry_after: None,
                reset_in: None,
                latency_ms: None,
                seconds: None,
            })
            .unwrap();
        let fired = (0..10_000)
            .filter(|_| faults.take("GET", "/repos/a/b/deployments").is_some())
            .count();
        assert!((700..1300).contains(&fired), "{fired} of 10000");
        assert_eq!(faults.list().len(), 1, "not consumed");
    }

    #[test]
    fn consumed_in_order() {
        let faults = Faults::default();
        let spec = |kind: &str, count| FaultSpec {
            method: Some("post".into()),
            path: Some("/repos/**".into()),
            count: Some(count),
            probability: None,
            kind: kind.into(),
            retry_after: None,
            reset_in: None,
            latency_ms: None,
            seconds: None,
        };
        faults.add(spec("500", 2)).expect("valid");
        faults.add(spec("502", 1)).expect("valid");
        assert_eq!(faults.take("GET", "/repos/o/r"), None);
        assert_eq!(
            faults.take("POST", "/repos/o/r"),
            Some(FaultKind::ServerError)
        );
        assert_eq!(
            faults.take("POST", "/repos/o/r"),
            Some(FaultKind::ServerError)
        );
        assert_eq!(
            faults.take("POST", "/repos/o/r"),
            Some(FaultKind::BadGateway)
        );
        assert_eq!(faults.take("POST", "/repos/o/r"), None);
        assert!(faults.add(spec("418", 1)).is_err());
        assert!(faults.add(spec("500", 0)).is_err());
    }
}
