//! GitHub's secondary rate limit on content creation, made small enough for tests to reach.
//!
//! GitHub allows "no more than 80 content-generating requests per minute and no more than 500
//! per hour" per caller, and answers more with a secondary rate limit: 403, a `retry-after`
//! header and the message "You have exceeded a secondary rate limit…". The sandbox counts the
//! same requests (POST, PATCH, PUT and DELETE under `/repos/`) per caller (an installation's
//! tokens share one count, as they share the primary quota) over a window a test chooses:
//! `PUT /_sandbox/limits {"content_writes": 3, "window_ms": 1000}`. Off until set; a request
//! refused does not count.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// The body of `PUT /_sandbox/limits` and the answer of `GET`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContentLimit {
    /// Content-creating requests one caller may make in any window (GitHub: 80).
    pub content_writes: u32,
    /// The window, in milliseconds (GitHub: 60,000).
    pub window_ms: u64,
}

/// The limit in force and, per caller, when its recent content-creating requests arrived.
#[derive(Debug, Default)]
pub(crate) struct Limits {
    state: Mutex<LimitState>,
}

#[derive(Debug, Default)]
struct LimitState {
    limit: Option<ContentLimit>,
    recent: HashMap<String, VecDeque<Instant>>,
}

impl Limits {
    /// Sets (or, with `None`, lifts) the limit, forgetting what was counted.
    pub(crate) fn set(&self, limit: Option<ContentLimit>) {
        let mut state = self.state.lock().expect("limits mutex poisoned");
        state.limit = limit;
        state.recent.clear();
    }

    /// The limit in force.
    pub(crate) fn get(&self) -> Option<ContentLimit> {
        self.state.lock().expect("limits mutex poisoned").limit
    }

    /// Counts a content-creating request of `caller` arriving at `now`, or refuses it with
    /// how long until the window has room again.
    pub(crate) fn admit(&self, caller: &str, now: Instant) -> Result<(), Duration> {
        let mut state = self.state.lock().expect("limits mutex poisoned");
        let Some(limit) = state.limit else {
            return Ok(());
        };
        let window = Duration::from_millis(limit.window_ms);
        let recent = state.recent.entry(caller.to_owned()).or_default();
        while recent
            .front()
            .is_some_and(|&at| now.saturating_duration_since(at) >= window)
        {
            recent.pop_front();
        }
        if recent.len() >= limit.content_writes as usize {
            let oldest = recent.front().copied().unwrap_or(now);
            return Err(window.saturating_sub(now.saturating_duration_since(oldest)));
        }
        recent.push_back(now);
        Ok(())
    }
}

/// Whether GitHub counts the request as content creation.
pub(crate) fn creates_content(method: &str, path: &str) -> bool {
    matches!(method, "POST" | "PATCH" | "PUT" | "DELETE") && path.starts_with("/repos/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_admits_its_count_per_caller_then_refuses_until_it_slides() {
        let limits = Limits::default();
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        assert_eq!(limits.admit("a", t0), Ok(()), "off by default");
        limits.set(Some(ContentLimit {
            content_writes: 2,
            window_ms: 1000,
        }));
        assert_eq!(limits.admit("a", t0), Ok(()));
        assert_eq!(limits.admit("a", t0 + ms(400)), Ok(()));
        assert_eq!(limits.admit("a", t0 + ms(500)), Err(ms(500)));
        assert_eq!(limits.admit("b", t0 + ms(500)), Ok(()), "another caller");
        assert_eq!(
            limits.admit("a", t0 + ms(1000)),
            Ok(()),
            "the first slid out"
        );
        assert_eq!(limits.admit("a", t0 + ms(1100)), Err(ms(300)));
        limits.set(None);
        assert_eq!(limits.admit("a", t0 + ms(1100)), Ok(()));
    }

    #[test]
    fn only_writes_to_repositories_create_content() {
        for (method, path, creates) in [
            ("POST", "/repos/a/b/deployments", true),
            ("DELETE", "/repos/a/b/environments/pr-7", true),
            ("PUT", "/repos/a/b/environments/pr-7", true),
            ("PATCH", "/repos/a/b/check-runs/1", true),
            ("GET", "/repos/a/b/deployments", false),
            ("POST", "/app/installations/1/access_tokens", false),
        ] {
            assert_eq!(creates_content(method, path), creates, "{method} {path}");
        }
    }
}
