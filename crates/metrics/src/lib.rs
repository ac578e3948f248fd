//! The process's own metrics: every `gdt_` family, its labels and its buckets, declared once
//! here and kept in one registry per process, which `/metrics` serves beside the Temporal
//! SDK's own families.
//!
//! # Layout
//! - [`Metrics`]: the families, and one method per thing that happens (`github_request`,
//!   `deployment_finished`, …); [`metrics()`] is the process's instance;
//! - [`labels`]: the closed vocabularies of the labels.
//!
//! # Invariants
//! - Label values come from [`labels`] or from another crate's closed list of
//!   `&'static str` words (update outcomes, deployment states, route templates), or from the
//!   operator's list of environments read once at start
//!   ([`Metrics::prime_delivery`], at most [`MAX_METRIC_ENVIRONMENTS`], any other counted as
//!   `other`), never from a SHA, an id or text a request carries, so the number of series
//!   stays bounded.
//! - Every series an alert reads exists, at zero, from the start (see [`Metrics::new`]):
//!   `rate()` and `increase()` then see the first event, and an alert on a failure that has
//!   never happened yet evaluates to "no", not to "no data".
//! - Counting is an atomic add on a cached series: nothing here blocks or does I/O.

pub mod labels;

use std::sync::{LazyLock, PoisonError, RwLock};

use prometheus::{
    CounterVec, Encoder as _, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

use labels::{
    BoardRead, Conclusion, Endpoint, ErrorType, Method, Outcome, PrCheck, Process, RateLimitKind,
    RetryReason, SignIn, SignatureFailure, StatusClass, WebhookEvent, WebhookOutcome,
};

/// GitHub request latency buckets, in seconds; the client gives up on a request after 30 s.
const GITHUB_BUCKETS: &[f64] = &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
/// API request latency buckets, in seconds.
const API_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Deployment duration buckets, in seconds: ten seconds to a day (pipelines, not requests).
const DEPLOYMENT_BUCKETS: &[f64] = &[
    10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0, 7200.0, 14400.0, 43200.0,
    86400.0,
];

/// Lead time for changes buckets, in seconds: five minutes to thirty days.
const LEAD_TIME_BUCKETS: &[f64] = &[
    300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 86400.0, 172800.0, 604800.0, 2592000.0,
];

/// The most environments given their own `environment` label on the delivery metrics.
pub const MAX_METRIC_ENVIRONMENTS: usize = 20;
/// The `environment` label of every environment not in the operator's list.
pub const OTHER_ENVIRONMENT: &str = "other";

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);
    &METRICS
}

/// Every `gdt_` family, registered in one registry.
pub struct Metrics {
    registry: Registry,
    github_requests: IntCounterVec,
    github_request_duration: HistogramVec,
    github_retries: IntCounterVec,
    github_conditional_hits: IntCounterVec,
    github_rate_limited: IntCounterVec,
    github_rate_limit_wait: CounterVec,
    github_rate_limit_remaining: IntGauge,
    github_rate_limit_limit: IntGauge,
    github_token_refreshes: IntCounterVec,
    deployments_started: IntCounter,
    deployments_finished: IntCounterVec,
    deployment_duration: HistogramVec,
    deployments_by_environment: IntCounterVec,
    deployment_lead_time: HistogramVec,
    /// The environments given their own label, lower-cased (see [`Metrics::prime_delivery`]).
    metric_environments: RwLock<Vec<String>>,
    status_updates: IntCounterVec,
    inactivity_timeouts: IntCounter,
    activity_errors: IntCounterVec,
    pr_checks: IntCounterVec,
    version_matches: IntCounter,
    version_mismatches: IntCounter,
    schema_failures: IntCounter,
    api_requests: IntCounterVec,
    api_request_duration: HistogramVec,
    webhook_deliveries: IntCounterVec,
    webhook_signature_failures: IntCounterVec,
    board_sign_ins: IntCounterVec,
    board_reads: IntCounterVec,
    build_info: IntGaugeVec,
    sdk_scrape_errors: IntCounter,
}

impl Metrics {
    /// Registers every family and creates, at zero, each series whose labels are all known
    /// here. Families labelled by another crate's words are primed by that crate
    /// ([`Metrics::prime_deployments`]).
    pub fn new() -> Self {
        let registry = Registry::new();
        let m = Self {
            github_requests: counter_vec(
                &registry,
                "gdt_github_requests_total",
                "HTTP exchanges with GitHub's REST API, by endpoint family, method and status \
                 class (`error`: no answer). Each retry is an exchange of its own.",
                &["endpoint", "method", "status_class"],
            ),
            github_request_duration: histogram_vec(
                &registry,
                "gdt_github_request_duration_seconds",
                "Time from sending a request to GitHub to having read its answer.",
                &["endpoint", "method"],
                GITHUB_BUCKETS,
            ),
            github_retries: counter_vec(
                &registry,
                "gdt_github_retries_total",
                "GitHub requests tried again, by endpoint family and reason.",
                &["endpoint", "reason"],
            ),
            github_conditional_hits: counter_vec(
                &registry,
                "gdt_github_conditional_hits_total",
                "GitHub answers of 304 Not Modified to a conditional GET, answered from the \
                 client's ETag cache, by endpoint family: reads GitHub does not count against \
                 the rate limit (each is also an exchange of status class 3xx).",
                &["endpoint"],
            ),
            github_rate_limited: counter_vec(
                &registry,
                "gdt_github_rate_limited_total",
                "Answers from GitHub saying a rate limit was hit, by kind (primary: the hourly \
                 quota; secondary: abuse protection).",
                &["kind"],
            ),
            github_rate_limit_wait: float_counter_vec(
                &registry,
                "gdt_github_rate_limit_wait_seconds_total",
                "Seconds spent waiting for a GitHub rate limit to reset before trying again.",
                &["kind"],
            ),
            github_rate_limit_remaining: gauge(
                &registry,
                "gdt_github_rate_limit_remaining",
                "The last x-ratelimit-remaining GitHub sent: requests left in the hour.",
            ),
            github_rate_limit_limit: gauge(
                &registry,
                "gdt_github_rate_limit_limit",
                "The last x-ratelimit-limit GitHub sent: the hourly quota.",
            ),
            github_token_refreshes: counter_vec(
                &registry,
                "gdt_github_token_refreshes_total",
                "GitHub App installation tokens minted, by outcome.",
                &["outcome"],
            ),
            deployments_started: counter(
                &registry,
                "gdt_deployments_started_total",
                "Deployments whose GitHub Deployment was created.",
            ),
            deployments_finished: counter_vec(
                &registry,
                "gdt_deployments_finished_total",
                "Deployment workflows finished, by final state (create_failed: GitHub's \
                 Deployment could not be created).",
                &["state"],
            ),
            deployment_duration: histogram_vec(
                &registry,
                "gdt_deployment_duration_seconds",
                "Time from a deployment's start to its final state, by final state.",
                &["state"],
                DEPLOYMENT_BUCKETS,
            ),
            deployments_by_environment: counter_vec(
                &registry,
                "gdt_deployments_by_environment_total",
                "Deployments ended, by environment (one of dora.metric_environments, else \
                 other) and final state: the delivery metrics' deployments.",
                &["environment", "state"],
            ),
            deployment_lead_time: histogram_vec(
                &registry,
                "gdt_deployment_lead_time_seconds",
                "Lead time for changes: from the deployed commit's time to the deployment's \
                 success, by environment (one of dora.metric_environments, else other).",
                &["environment"],
                LEAD_TIME_BUCKETS,
            ),
            metric_environments: RwLock::new(Vec::new()),
            status_updates: counter_vec(
                &registry,
                "gdt_deployment_status_updates_total",
                "Status updates a deployment workflow received, by what became of them.",
                &["outcome"],
            ),
            inactivity_timeouts: counter(
                &registry,
                "gdt_deployment_inactivity_timeouts_total",
                "Deployments marked inactive because their pipeline stopped reporting.",
            ),
            activity_errors: counter_vec(
                &registry,
                "gdt_activity_errors_total",
                "Failed activity attempts, by error type.",
                &["error_type"],
            ),
            pr_checks: counter_vec(
                &registry,
                "gdt_pr_checks_total",
                "Pull-request checks reported, by check and conclusion.",
                &["check", "conclusion"],
            ),
            version_matches: counter(
                &registry,
                "gdt_pr_check_version_matches_total",
                "Version validations where the version file and the plugin manifest agree.",
            ),
            version_mismatches: counter(
                &registry,
                "gdt_pr_check_version_mismatches_total",
                "Version validations where the version file and the plugin manifest differ.",
            ),
            schema_failures: counter(
                &registry,
                "gdt_pr_check_schema_validation_failures_total",
                "Changed files that failed their JSON Schema in a plugin-update validation.",
            ),
            api_requests: counter_vec(
                &registry,
                "gdt_api_requests_total",
                "HTTP requests the API server answered, by route template, method and status.",
                &["route", "method", "status"],
            ),
            api_request_duration: histogram_vec(
                &registry,
                "gdt_api_request_duration_seconds",
                "Time the API server took to answer, by route template and method.",
                &["route", "method"],
                API_BUCKETS,
            ),
            webhook_deliveries: counter_vec(
                &registry,
                "gdt_webhook_deliveries_total",
                "GitHub webhook deliveries received, by event, action and what was done.",
                &["event", "action", "outcome"],
            ),
            webhook_signature_failures: counter_vec(
                &registry,
                "gdt_webhook_signature_failures_total",
                "Webhook deliveries refused because their signature did not verify, by reason.",
                &["reason"],
            ),
            board_sign_ins: counter_vec(
                &registry,
                "gdt_board_sign_ins_total",
                "Sign-ins to the deployments board, by outcome.",
                &["outcome"],
            ),
            board_reads: counter_vec(
                &registry,
                "gdt_board_reads_total",
                "The board's reads of Temporal's visibility, by kind.",
                &["read"],
            ),
            build_info: gauge_vec(
                &registry,
                "gdt_build_info",
                "Always 1: the version and the command of this process.",
                &["version", "process"],
            ),
            sdk_scrape_errors: counter(
                &registry,
                "gdt_sdk_metrics_scrape_errors_total",
                "Scrapes of /metrics that could not include the Temporal SDK's metrics.",
            ),
            registry,
        };
        m.prime();
        m
    }

    fn prime(&self) {
        for &endpoint in Endpoint::ALL {
            self.github_conditional_hits
                .with_label_values(&[endpoint.as_str()]);
            for &reason in RetryReason::ALL {
                self.github_retries
                    .with_label_values(&[endpoint.as_str(), reason.as_str()]);
            }
        }
        for &kind in RateLimitKind::ALL {
            self.github_rate_limited.with_label_values(&[kind.as_str()]);
            self.github_rate_limit_wait
                .with_label_values(&[kind.as_str()]);
        }
        for &outcome in Outcome::ALL {
            self.github_token_refreshes
                .with_label_values(&[outcome.as_str()]);
        }
        for &error_type in ErrorType::ALL {
            self.activity_errors
                .with_label_values(&[error_type.as_str()]);
        }
        for &check in PrCheck::ALL {
            for &conclusion in Conclusion::ALL {
                self.pr_checks
                    .with_label_values(&[check.as_str(), conclusion.as_str()]);
            }
        }
        for &reason in SignatureFailure::ALL {
            self.webhook_signature_failures
                .with_label_values(&[reason.as_str()]);
        }
        for &outcome in SignIn::ALL {
            self.board_sign_ins.with_label_values(&[outcome.as_str()]);
        }
        for &read in BoardRead::ALL {
            self.board_reads.with_label_values(&[read.as_str()]);
        }
    }

    /// Creates, at zero, the deployment series labelled by the tracker's words: its final
    /// states and its update outcomes.
    pub fn prime_deployments(&self, states: &[&'static str], outcomes: &[&'static str]) {
        for state in states {
            self.deployments_finished.with_label_values(&[state]);
            self.deployment_duration.with_label_values(&[state]);
        }
        for outcome in outcomes {
            self.status_updates.with_label_values(&[outcome]);
        }
    }

    /// Sets the environments given their own `environment` label on the delivery metrics
    /// (matched without case, lower-cased; the first [`MAX_METRIC_ENVIRONMENTS`] non-empty
    /// ones) and creates, at zero, their series and `other`'s, in each of `states` (the
    /// tracker's final states). Returns the names left out for being past the maximum. The
    /// worker calls it once at start; a later call replaces the list (series already created
    /// stay).
    pub fn prime_delivery(&self, environments: &[String], states: &[&'static str]) -> Vec<String> {
        let mut kept: Vec<String> = Vec::new();
        let mut left_out = Vec::new();
        for name in environments.iter().map(|e| e.trim().to_lowercase()) {
            if name.is_empty() || name == OTHER_ENVIRONMENT || kept.contains(&name) {
                continue;
            }
            if kept.len() == MAX_METRIC_ENVIRONMENTS {
                left_out.push(name);
            } else {
                kept.push(name);
            }
        }
        for environment in kept.iter().map(String::as_str).chain([OTHER_ENVIRONMENT]) {
            for state in states {
                self.deployments_by_environment
                    .with_label_values(&[environment, state]);
            }
            self.deployment_lead_time.with_label_values(&[environment]);
        }
        *self
            .metric_environments
            .write()
            .unwrap_or_else(PoisonError::into_inner) = kept;
        left_out
    }

    /// A deployment to `environment` ended in `state`; `lead_secs`: its lead time for changes,
    /// when it succeeded and its commit time is known (below 0 counts as 0).
    pub fn deployment_delivered(
        &self,
        environment: &str,
        state: &'static str,
        lead_secs: Option<f64>,
    ) {
        let environment = environment.to_lowercase();
        let known = self
            .metric_environments
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let label = known
            .iter()
            .find(|known| **known == environment)
            .map_or(OTHER_ENVIRONMENT, String::as_str);
        self.deployments_by_environment
            .with_label_values(&[label, state])
            .inc();
        if let Some(secs) = lead_secs {
            self.deployment_lead_time
                .with_label_values(&[label])
                .observe(secs.max(0.0));
        }
    }

    /// The families in Prometheus's text format (version 0.0.4).
    pub fn encode(&self) -> String {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("encoding metrics to memory cannot fail");
        String::from_utf8(out).expect("the text format is UTF-8")
    }

    /// The current value of one series (`0` while it does not exist), its labels in any
    /// order; a histogram's count and sum are the series `<name>_count` and `<name>_sum`.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        // The text format writes each series' labels sorted by name.
        let mut labels = labels.to_vec();
        labels.sort_unstable();
        let pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
        let series = if pairs.is_empty() {
            name.to_owned()
        } else {
            format!("{name}{{{}}}", pairs.join(","))
        };
        self.encode()
            .lines()
            .find_map(|line| line.strip_prefix(&series)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or(0.0)
    }

    /// One HTTP exchange with GitHub: its answer's status (`None`: no answer) and how long
    /// it took.
    pub fn github_request(
        &self,
        endpoint: Endpoint,
        method: Method,
        status: Option<u16>,
        secs: f64,
    ) {
        let class = status.map_or(StatusClass::Error, StatusClass::of);
        self.github_requests
            .with_label_values(&[endpoint.as_str(), method.as_str(), class.as_str()])
            .inc();
        self.github_request_duration
            .with_label_values(&[endpoint.as_str(), method.as_str()])
            .observe(secs);
    }

    /// The quota headers of one GitHub answer.
    pub fn github_rate_limit(&self, remaining: i64, limit: i64) {
        self.github_rate_limit_remaining.set(remaining);
        self.github_rate_limit_limit.set(limit);
    }

    /// A GitHub request about to be tried again.
    pub fn github_retry(&self, endpoint: Endpoint, reason: RetryReason) {
        self.github_retries
            .with_label_values(&[endpoint.as_str(), reason.as_str()])
            .inc();
    }

    /// A conditional `GET` answered `304 Not Modified`, its body taken from the cache.
    pub fn github_conditional_hit(&self, endpoint: Endpoint) {
        self.github_conditional_hits
            .with_label_values(&[endpoint.as_str()])
            .inc();
    }

    /// An answer saying a rate limit was hit.
    pub fn github_rate_limited(&self, kind: RateLimitKind) {
        self.github_rate_limited
            .with_label_values(&[kind.as_str()])
            .inc();
    }

    /// Time about to be spent waiting for a rate limit to reset.
    pub fn github_rate_limit_wait(&self, kind: RateLimitKind, secs: f64) {
        self.github_rate_limit_wait
            .with_label_values(&[kind.as_str()])
            .inc_by(secs);
    }

    /// An installation token minted, or not.
    pub fn github_token_refresh(&self, outcome: Outcome) {
        self.github_token_refreshes
            .with_label_values(&[outcome.as_str()])
            .inc();
    }

    /// A deployment's GitHub Deployment was created.
    pub fn deployment_started(&self) {
        self.deployments_started.inc();
    }

    /// A deployment workflow finished in `state` after `secs`.
    pub fn deployment_finished(&self, state: &'static str, secs: f64) {
        self.deployments_finished.with_label_values(&[state]).inc();
        self.deployment_duration
            .with_label_values(&[state])
            .observe(secs);
    }

    /// What became of one status update.
    pub fn status_update(&self, outcome: &'static str) {
        self.status_updates.with_label_values(&[outcome]).inc();
    }

    /// A deployment marked inactive because its pipeline stopped reporting.
    pub fn inactivity_timeout(&self) {
        self.inactivity_timeouts.inc();
    }

    /// A failed activity attempt.
    pub fn activity_error(&self, error_type: ErrorType) {
        self.activity_errors
            .with_label_values(&[error_type.as_str()])
            .inc();
    }

    /// A pull-request check reported.
    pub fn pr_check(&self, check: PrCheck, conclusion: Conclusion) {
        self.pr_checks
            .with_label_values(&[check.as_str(), conclusion.as_str()])
            .inc();
    }

    /// A version validation's verdict.
    pub fn version_check(&self, matches: bool) {
        if matches {
            self.version_matches.inc();
        } else {
            self.version_mismatches.inc();
        }
    }

    /// Changed files that failed their schema in one validation.
    pub fn schema_validation_failures(&self, files: u64) {
        self.schema_failures.inc_by(files);
    }

    /// One API request answered. `route` is the router's template (`/api/v1/deployments/{workflow_id}`)
    /// or `unmatched`, never the request's path.
    pub fn api_request(&self, route: &str, method: Method, status: u16, secs: f64) {
        self.api_requests
            .with_label_values(&[route, method.as_str(), status_label(status)])
            .inc();
        self.api_request_duration
            .with_label_values(&[route, method.as_str()])
            .observe(secs);
    }

    /// One webhook delivery; `action` is one of the server's known actions or `other`.
    pub fn webhook_delivery(
        &self,
        event: WebhookEvent,
        action: &'static str,
        outcome: WebhookOutcome,
    ) {
        self.webhook_deliveries
            .with_label_values(&[event.as_str(), action, outcome.as_str()])
            .inc();
    }

    /// One read of the board's, by kind.
    pub fn board_read(&self, read: BoardRead) {
        self.board_reads.with_label_values(&[read.as_str()]).inc();
    }

    /// A sign-in to the board, by how it ended.
    pub fn board_sign_in(&self, outcome: SignIn) {
        self.board_sign_ins
            .with_label_values(&[outcome.as_str()])
            .inc();
    }

    /// A webhook delivery refused because its signature did not verify.
    pub fn webhook_signature_failure(&self, reason: SignatureFailure) {
        self.webhook_signature_failures
            .with_label_values(&[reason.as_str()])
            .inc();
    }

    /// Sets `gdt_build_info` for this process.
    pub fn build_info(&self, version: &'static str, process: Process) {
        self.build_info
            .with_label_values(&[version, process.as_str()])
            .set(1);
    }

    /// A scrape that could not include the Temporal SDK's metrics.
    pub fn sdk_scrape_error(&self) {
        self.sdk_scrape_errors.inc();
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// The status label: the code as text, from a fixed table so labels stay `&'static`.
fn status_label(status: u16) -> &'static str {
    const CODES: &[(u16, &str)] = &[
        (200, "200"),
        (201, "201"),
        (202, "202"),
        (204, "204"),
        (304, "304"),
        (400, "400"),
        (401, "401"),
        (403, "403"),
        (404, "404"),
        (405, "405"),
        (408, "408"),
        (409, "409"),
        (410, "410"),
        (413, "413"),
        (415, "415"),
        (422, "422"),
        (429, "429"),
        (500, "500"),
        (502, "502"),
        (503, "503"),
        (504, "504"),
    ];
    CODES
        .iter()
        .find(|(code, _)| *code == status)
        .map_or_else(|| StatusClass::of(status).as_str(), |(_, label)| label)
}

fn counter(registry: &Registry, name: &str, help: &str) -> IntCounter {
    let c = IntCounter::new(name, help).expect("valid metric");
    registry
        .register(Box::new(c.clone()))
        .expect("registered once");
    c
}

fn counter_vec(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
    registry
        .register(Box::new(c.clone()))
        .expect("registered once");
    c
}

fn float_counter_vec(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> CounterVec {
    let c = CounterVec::new(Opts::new(name, help), labels).expect("valid metric");
    registry
        .register(Box::new(c.clone()))
        .expect("registered once");
    c
}

fn gauge(registry: &Registry, name: &str, help: &str) -> IntGauge {
    let g = IntGauge::new(name, help).expect("valid metric");
    registry
        .register(Box::new(g.clone()))
        .expect("registered once");
    g
}

fn gauge_vec(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let g = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
    registry
        .register(Box::new(g.clone()))
        .expect("registered once");
    g
}

fn histogram_vec(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
    buckets: &[f64],
) -> HistogramVec {
    let h = HistogramVec::new(
        HistogramOpts::new(name, help).buckets(buckets.to_vec()),
        labels,
    )
    .expect("valid metric");
    registry
        .register(Box::new(h.clone()))
        .expect("registered once");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every family, each with at least one sample.
    fn exercised() -> Metrics {
        let m = Metrics::new();
        m.github_request(Endpoint::Deployments, Method::Post, Some(201), 0.2);
        m.github_request(Endpoint::Contents, Method::Get, None, 30.0);
        m.github_rate_limit(4990, 5000);
        m.github_retry(Endpoint::Deployments, RetryReason::ServerError);
        m.github_rate_limited(RateLimitKind::Secondary);
        m.github_rate_limit_wait(RateLimitKind::Secondary, 1.5);
        m.github_token_refresh(Outcome::Success);
        m.prime_deployments(&["success", "failure"], &["applied", "failed"]);
        m.deployment_started();
        m.deployment_finished("success", 42.0);
        m.prime_delivery(&["Production".to_owned()], &["success", "failure"]);
        m.deployment_delivered("production", "success", Some(4000.0));
        m.deployment_delivered("review-42", "failure", None);
        m.status_update("applied");
        m.inactivity_timeout();
        m.activity_error(ErrorType::RateLimit);
        m.pr_check(PrCheck::VersionValidation, Conclusion::Failure);
        m.version_check(true);
        m.version_check(false);
        m.schema_validation_failures(2);
        m.api_request("/api/v1/deployments/{workflow_id}", Method::Get, 200, 0.01);
        m.api_request("unmatched", Method::Other, 599, 0.01);
        m.webhook_delivery(WebhookEvent::PullRequest, "opened", WebhookOutcome::Started);
        m.webhook_signature_failure(SignatureFailure::Mismatch);
        m.build_info("0.1.0", Process::Worker);
        m.sdk_scrape_error();
        m
    }

    #[test]
    fn each_event_moves_its_series_by_one() {
        let text = exercised().encode();
        for line in [
            r#"gdt_github_requests_total{endpoint="deployments",method="POST",status_class="2xx"} 1"#,
            r#"gdt_github_requests_total{endpoint="contents",method="GET",status_class="error"} 1"#,
            r#"gdt_github_request_duration_seconds_bucket{endpoint="deployments",method="POST",le="0.25"} 1"#,
            "gdt_github_rate_limit_remaining 4990",
            r#"gdt_github_rate_limit_wait_seconds_total{kind="secondary"} 1.5"#,
            r#"gdt_deployments_finished_total{state="success"} 1"#,
            r#"gdt_deployment_duration_seconds_sum{state="success"} 42"#,
            r#"gdt_deployments_by_environment_total{environment="production",state="success"} 1"#,
            r#"gdt_deployments_by_environment_total{environment="other",state="failure"} 1"#,
            r#"gdt_deployment_lead_time_seconds_bucket{environment="production",le="7200"} 1"#,
            r#"gdt_deployment_lead_time_seconds_bucket{environment="production",le="3600"} 0"#,
            r#"gdt_deployment_status_updates_total{outcome="applied"} 1"#,
            "gdt_pr_check_version_mismatches_total 1",
            "gdt_pr_check_schema_validation_failures_total 2",
            r#"gdt_api_requests_total{method="GET",route="/api/v1/deployments/{workflow_id}",status="200"} 1"#,
            r#"gdt_api_requests_total{method="OTHER",route="unmatched",status="5xx"} 1"#,
            r#"gdt_webhook_deliveries_total{action="opened",event="pull_request",outcome="started"} 1"#,
            r#"gdt_build_info{process="worker",version="0.1.0"} 1"#,
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "no line {line:?} in\n{text}"
            );
        }
    }

    #[test]
    fn series_alerts_read_exist_before_their_first_event() {
        let m = Metrics::new();
        m.prime_deployments(&["create_failed"], &["failed"]);
        m.prime_delivery(&["Staging".to_owned()], &["error"]);
        let text = m.encode();
        for line in [
            r#"gdt_github_rate_limited_total{kind="primary"} 0"#,
            r#"gdt_github_token_refreshes_total{outcome="failure"} 0"#,
            r#"gdt_github_retries_total{endpoint="deployment_statuses",reason="rate_limit"} 0"#,
            r#"gdt_github_conditional_hits_total{endpoint="issue_comments"} 0"#,
            r#"gdt_activity_errors_total{error_type="unexpected"} 0"#,
            r#"gdt_pr_checks_total{check="plugin_update_validation",conclusion="failure"} 0"#,
            r#"gdt_webhook_signature_failures_total{reason="missing"} 0"#,
            r#"gdt_board_sign_ins_total{outcome="refused"} 0"#,
            r#"gdt_board_reads_total{read="running"} 0"#,
            r#"gdt_deployments_finished_total{state="create_failed"} 0"#,
            r#"gdt_deployment_status_updates_total{outcome="failed"} 0"#,
            "gdt_deployment_inactivity_timeouts_total 0",
            r#"gdt_deployments_by_environment_total{environment="staging",state="error"} 0"#,
            r#"gdt_deployments_by_environment_total{environment="other",state="error"} 0"#,
            r#"gdt_deployment_lead_time_seconds_count{environment="other"} 0"#,
            "gdt_pr_check_version_mismatches_total 0",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "no line {line:?} in\n{text}"
            );
        }
    }

    #[test]
    fn delivery_environments_are_bounded_and_matched_without_case() {
        let m = Metrics::new();
        let mut names: Vec<String> = ["PRODUCTION", " Staging ", "production", "", "other"]
            .map(str::to_owned)
            .to_vec();
        names.extend((0..MAX_METRIC_ENVIRONMENTS).map(|i| format!("env-{i}")));
        let left_out = m.prime_delivery(&names, &["success"]);
        assert_eq!(left_out, ["env-18", "env-19"]);
        m.deployment_delivered("Production", "success", Some(-5.0));
        m.deployment_delivered("STAGING", "success", None);
        m.deployment_delivered("env-19", "success", None);
        let count = |environment| {
            m.value(
                "gdt_deployments_by_environment_total",
                &[("environment", environment), ("state", "success")],
            )
        };
        assert_eq!(
            (count("production"), count("staging"), count("other")),
            (1.0, 1.0, 1.0)
        );
        let lead = |series| m.value(series, &[("environment", "production")]);
        assert_eq!(
            (
                lead("gdt_deployment_lead_time_seconds_count"),
                lead("gdt_deployment_lead_time_seconds_sum")
            ),
            (1.0, 0.0)
        );
    }

    #[test]
    fn status_classes_and_labels() {
        assert_eq!(StatusClass::of(204), StatusClass::Success);
        assert_eq!(StatusClass::of(429), StatusClass::ClientError);
        assert_eq!(StatusClass::of(502), StatusClass::ServerError);
        assert_eq!(status_label(503), "503");
        assert_eq!(status_label(418), "4xx");
        assert_eq!(Method::of("PATCH"), Method::Patch);
        assert_eq!(Method::of("BREW"), Method::Other);
    }

    /// `promtool check metrics` (installed by `make bootstrap`) finds nothing to say about
    /// any family.
    #[test]
    fn promtool_finds_nothing_to_complain_about() {
        use std::io::Write as _;
        let text = exercised().encode();
        let mut child = std::process::Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("promtool is not installed: run `make bootstrap`");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "promtool check metrics: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
