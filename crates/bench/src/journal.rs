//! Reading the sandbox's journal: what the tracker sent to GitHub and when it arrived.
//!
//! The journal (`GET /_sandbox/requests`) has one entry per request to a GitHub route, with
//! its arrival time in RFC 3339 with milliseconds. This module sorts requests by endpoint and
//! finds, for each deployment, when each of its statuses reached GitHub, which is how the
//! benchmark measures the time from a pipeline's signal to GitHub.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::load::Trace;

/// One journal entry: the sandbox's own type, as `GET /_sandbox/requests` returns it.
pub use gdt_github_sandbox::JournalEntry as Entry;

/// What a request was for, as the benchmark splits GitHub's cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /repos/{o}/{r}/deployments`.
    CreateDeployment,
    /// `POST /repos/{o}/{r}/deployments/{id}/statuses`.
    CreateStatus,
    /// `POST /app/installations/{id}/access_tokens`.
    Token,
    /// Anything else: the lookups a retried activity makes first, `GET /app`, …
    Other,
}

/// What the benchmark reads from a journal entry (the entry is the sandbox's type, so this
/// is a trait of its own).
pub trait EntryExt {
    /// When the request arrived.
    fn arrived(&self) -> Result<DateTime<Utc>>;
    /// Whether GitHub took it (2xx).
    fn succeeded(&self) -> bool;
    /// The endpoint it called.
    fn endpoint(&self) -> Endpoint;
    /// `(owner/name, deployment id)` of a status post.
    fn status_target(&self) -> Option<(String, u64)>;
}

impl EntryExt for Entry {
    fn arrived(&self) -> Result<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(&self.time)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| Error::Parse(format!("journal time {:?}: {e}", self.time)))
    }

    fn succeeded(&self) -> bool {
        (200..300).contains(&self.status)
    }

    fn endpoint(&self) -> Endpoint {
        let segments: Vec<&str> = self.path.trim_start_matches('/').split('/').collect();
        if self.method != "POST" {
            return Endpoint::Other;
        }
        match segments.as_slice() {
            ["repos", _, _, "deployments"] => Endpoint::CreateDeployment,
            ["repos", _, _, "deployments", _, "statuses"] => Endpoint::CreateStatus,
            ["app", "installations", _, "access_tokens"] => Endpoint::Token,
            _ => Endpoint::Other,
        }
    }

    fn status_target(&self) -> Option<(String, u64)> {
        let segments: Vec<&str> = self.path.trim_start_matches('/').split('/').collect();
        match segments.as_slice() {
            ["repos", owner, name, "deployments", id, "statuses"] => {
                Some((format!("{owner}/{name}"), id.parse().ok()?))
            }
            _ => None,
        }
    }
}

/// `METHOD route` of a request: the path with the repository as `{owner}/{repo}`, numbers as
/// `{n}`, commit SHAs as `{sha}` and a file's path under `contents/` as `{path}`, so requests group by endpoint.
pub fn route(entry: &Entry) -> String {
    let segments: Vec<&str> = entry.path.trim_start_matches('/').split('/').collect();
    let mut route = Vec::with_capacity(segments.len());
    for (i, segment) in segments.iter().enumerate() {
        if segments.first() == Some(&"repos") && (i == 1 || i == 2) {
            route.push(if i == 1 { "{owner}" } else { "{repo}" });
        } else if i > 0 && segments[i - 1] == "contents" {
            route.push("{path}");
            break;
        } else if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
            route.push("{n}");
        } else if segment.len() == 40 && segment.bytes().all(|b| b.is_ascii_hexdigit()) {
            route.push("{sha}");
        } else {
            route.push(segment);
        }
    }
    format!("{} /{}", entry.method, route.join("/"))
}

/// Requests by endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct RequestCounts {
    /// Every request.
    pub total: u64,
    /// Deployments created (attempts, whatever the answer).
    pub create_deployment: u64,
    /// Statuses posted (attempts).
    pub create_status: u64,
    /// Installation tokens minted (attempts).
    pub token: u64,
    /// Everything else.
    pub other: u64,
    /// Requests GitHub did not answer with 2xx.
    pub not_2xx: u64,
}

impl RequestCounts {
    /// Counts `entries`.
    pub fn of(entries: &[Entry]) -> RequestCounts {
        let mut counts = RequestCounts::default();
        for entry in entries {
            counts.total += 1;
            match entry.endpoint() {
                Endpoint::CreateDeployment => counts.create_deployment += 1,
                Endpoint::CreateStatus => counts.create_status += 1,
                Endpoint::Token => counts.token += 1,
                Endpoint::Other => counts.other += 1,
            }
            if !entry.succeeded() {
                counts.not_2xx += 1;
            }
        }
        counts
    }

    /// The same counts divided by `deployments`.
    pub fn per(&self, deployments: usize) -> RequestsPerDeployment {
        let n = deployments.max(1) as f64;
        RequestsPerDeployment {
            total: self.total as f64 / n,
            create_deployment: self.create_deployment as f64 / n,
            create_status: self.create_status as f64 / n,
            token: self.token as f64 / n,
            other: self.other as f64 / n,
        }
    }
}

/// GitHub requests per deployment, by endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct RequestsPerDeployment {
    /// All requests.
    pub total: f64,
    /// `POST .../deployments`.
    pub create_deployment: f64,
    /// `POST .../statuses`.
    pub create_status: f64,
    /// `POST /app/installations/{id}/access_tokens`.
    pub token: f64,
    /// Everything else.
    pub other: f64,
}

/// When each successful status post of each deployment arrived, keyed by
/// `(owner/name, deployment id)`, in arrival order.
pub type StatusPosts = HashMap<(String, u64), Vec<DateTime<Utc>>>;

/// The [`StatusPosts`] of `entries`.
pub fn status_posts(entries: &[Entry]) -> Result<StatusPosts> {
    let mut posts = StatusPosts::new();
    for entry in entries {
        if entry.endpoint() != Endpoint::CreateStatus || !entry.succeeded() {
            continue;
        }
        if let Some(target) = entry.status_target() {
            posts.entry(target).or_default().push(entry.arrived()?);
        }
    }
    // The journal is appended when a request is answered; the workflow posts one status at
    // a time, but sorting by arrival makes the order not depend on that.
    for times in posts.values_mut() {
        times.sort();
    }
    Ok(posts)
}

/// Signal-to-GitHub latencies of a set of deployments.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SignalLatencies {
    /// Signal sent → its status arrived at GitHub, in milliseconds.
    pub raw_ms: Vec<f64>,
    /// The same, counted from when the workflow was free to post it: the later of the
    /// signal and the arrival of the deployment's previous status. Updates are posted one at
    /// a time in arrival order, so the raw figure of an update sent while the previous one
    /// was still being posted includes that wait; this one does not.
    pub unqueued_ms: Vec<f64>,
    /// Signals for which no matching status post was found.
    pub unmatched: usize,
}

/// Matches each signal of each traced deployment with its status post: the deployment's
/// first successful post is its initial status, the (i+1)-th answers the i-th signal.
pub fn signal_latencies(traces: &[Trace], posts: &StatusPosts) -> SignalLatencies {
    let mut latencies = SignalLatencies::default();
    for trace in traces {
        let times = trace
            .deployment_id()
            .and_then(|id| posts.get(&(trace.repository(), id)));
        for (i, update) in trace.updates.iter().enumerate() {
            let (Some(sent), Some(times)) = (update.sent_at, times) else {
                latencies.unmatched += 1;
                continue;
            };
            let (Some(arrived), Some(previous)) = (times.get(i + 1), times.get(i)) else {
                latencies.unmatched += 1;
                continue;
            };
            let from_free = sent.max(*previous);
            latencies.raw_ms.push(millis(*arrived - sent));
            latencies.unqueued_ms.push(millis(*arrived - from_free));
        }
    }
    latencies
}

fn millis(d: chrono::TimeDelta) -> f64 {
    d.num_microseconds().unwrap_or(i64::MAX) as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(method: &str, path: &str, status: u16, time: &str) -> Entry {
        Entry {
            method: method.into(),
            path: path.into(),
            query: None,
            status,
            time: time.into(),
            fault: None,
            counted: true,
        }
    }

    #[test]
    fn routes_group_requests_by_endpoint() {
        let t = "2026-01-01T00:00:00.000Z";
        let cases = [
            (
                "GET",
                "/repos/o/r/pulls/12/files",
                "GET /repos/{owner}/{repo}/pulls/{n}/files",
            ),
            (
                "GET",
                "/repos/o/r/contents/.claude-plugin/plugin.json",
                "GET /repos/{owner}/{repo}/contents/{path}",
            ),
            (
                "PATCH",
                "/repos/o/r/issues/comments/99",
                "PATCH /repos/{owner}/{repo}/issues/comments/{n}",
            ),
            (
                "POST",
                "/app/installations/1/access_tokens",
                "POST /app/installations/{n}/access_tokens",
            ),
        ];
        for (method, path, expected) in cases {
            assert_eq!(route(&entry(method, path, 200, t)), expected, "{path}");
        }
    }

    #[test]
    fn endpoints() {
        let cases = [
            ("POST", "/repos/o/r/deployments", Endpoint::CreateDeployment),
            ("GET", "/repos/o/r/deployments", Endpoint::Other),
            (
                "POST",
                "/repos/o/r/deployments/7/statuses",
                Endpoint::CreateStatus,
            ),
            ("GET", "/repos/o/r/deployments/7/statuses", Endpoint::Other),
            (
                "POST",
                "/app/installations/1/access_tokens",
                Endpoint::Token,
            ),
            ("GET", "/app", Endpoint::Other),
        ];
        for (method, path, expected) in cases {
            assert_eq!(
                entry(method, path, 201, "").endpoint(),
                expected,
                "{method} {path}"
            );
        }
    }

    #[test]
    fn counts_split_by_endpoint() {
        let entries = [
            entry("POST", "/app/installations/1/access_tokens", 201, ""),
            entry("POST", "/repos/o/r/deployments", 201, ""),
            entry("POST", "/repos/o/r/deployments/1/statuses", 500, ""),
            entry("GET", "/repos/o/r/deployments/1/statuses", 200, ""),
            entry("POST", "/repos/o/r/deployments/1/statuses", 201, ""),
        ];
        let counts = RequestCounts::of(&entries);
        assert_eq!(
            counts,
            RequestCounts {
                total: 5,
                create_deployment: 1,
                create_status: 2,
                token: 1,
                other: 1,
                not_2xx: 1,
            }
        );
        assert_eq!(counts.per(1).create_status, 2.0);
    }

    #[test]
    fn status_posts_keep_only_successes_in_arrival_order() {
        let entries = [
            entry(
                "POST",
                "/repos/o/r/deployments/3/statuses",
                201,
                "2026-01-01T00:00:00.200Z",
            ),
            entry(
                "POST",
                "/repos/o/r/deployments/3/statuses",
                201,
                "2026-01-01T00:00:00.100Z",
            ),
            entry(
                "POST",
                "/repos/o/r/deployments/3/statuses",
                502,
                "2026-01-01T00:00:00.050Z",
            ),
        ];
        let posts = status_posts(&entries).expect("parse");
        let times = &posts[&("o/r".to_owned(), 3)];
        assert_eq!(times.len(), 2);
        assert!(times[0] < times[1]);
    }
}
