//! The deployment metrics only workflow code knows: a deployment started and finished, what
//! became of each status update, an inactivity timeout, and the delivery metrics (a
//! deployment's final state by environment, its lead time for changes).
//!
//! Counting here is the one exception to "workflow code does no I/O": it only adds to this
//! process's in-process counters, which nothing reads back, so no decision can change. Each
//! function takes `live`, which the workflow sets to `!ctx.is_replaying_history_events()`:
//! replaying a history (a worker rebuilding a workflow evicted from its cache, or the
//! `WorkflowReplayer`) counts nothing, so each fact is counted by the workflow task that first
//! decides it. A worker that dies after counting but before Temporal records that workflow
//! task's completion has counted facts another worker then decides and counts again: a rare
//! double count, never a missed one.

use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};

use gdt_github::DeploymentState;
use gdt_metrics::metrics;

use super::model::UpdateOutcome;

/// The final state of a deployment whose GitHub Deployment could not be created.
pub const CREATE_FAILED: &str = "create_failed";

/// Creates, at zero, every deployment series the alerts read: each final state (the
/// terminal GitHub states and [`CREATE_FAILED`]) and each [`UpdateOutcome`]; and sets the
/// environments the delivery metrics label by name (`dora.metric_environments`; any other is
/// `other`), with their series at zero. Returns the environments left out for being past
/// [`gdt_metrics::MAX_METRIC_ENVIRONMENTS`]. The worker calls it at start.
pub fn prime_metrics(metric_environments: &[String]) -> Vec<String> {
    let states: Vec<&'static str> = final_states().collect();
    let outcomes: Vec<&'static str> = UpdateOutcome::ALL.iter().map(|o| o.as_str()).collect();
    metrics().prime_deployments(&states, &outcomes);
    metrics().prime_delivery(metric_environments, &terminal_states().collect::<Vec<_>>())
}

/// The GitHub states that end a deployment: the delivery metrics' `state`.
fn terminal_states() -> impl Iterator<Item = &'static str> {
    DeploymentState::ALL
        .into_iter()
        .filter(|s| s.is_terminal())
        .map(DeploymentState::as_str)
}

/// Every final state word a deployment can finish with.
fn final_states() -> impl Iterator<Item = &'static str> {
    terminal_states().chain([CREATE_FAILED])
}

/// The GitHub Deployment was created.
pub(super) fn started(live: bool) {
    if live {
        metrics().deployment_started();
    }
}

/// The workflow returns its result (or fails for want of a GitHub Deployment) in `state`,
/// `took` after it started (workflow time, so the same on every replay).
pub(super) fn finished(live: bool, state: &'static str, took: Duration) {
    if live {
        metrics().deployment_finished(state, took.as_secs_f64());
    }
}

/// A deployment to `environment` ended in `state` (terminal) at `finished` (workflow time);
/// on `success`, its lead time for changes is counted from `commit_time`, the input's
/// `commit_timestamp`, when that reads as RFC 3339 (unreadable: no lead time, and nothing
/// else changes).
pub(super) fn delivered(
    live: bool,
    environment: &str,
    state: &'static str,
    commit_time: Option<&str>,
    finished: Option<SystemTime>,
) {
    if live {
        let lead = (state == DeploymentState::Success.as_str())
            .then(|| lead_seconds(commit_time?, finished?))
            .flatten();
        metrics().deployment_delivered(environment, state, lead);
    }
}

/// Seconds from `commit_time` (RFC 3339) to `finished`; negative when the commit time is
/// later.
fn lead_seconds(commit_time: &str, finished: SystemTime) -> Option<f64> {
    let commit = DateTime::parse_from_rfc3339(commit_time).ok()?;
    let finished = DateTime::<Utc>::from(finished);
    Some((finished - commit.with_timezone(&Utc)).num_milliseconds() as f64 / 1000.0)
}

/// What became of one status update.
pub(super) fn status_update(live: bool, outcome: UpdateOutcome) {
    if live {
        metrics().status_update(outcome.as_str());
    }
}

/// No update arrived within the inactivity timeout.
pub(super) fn inactivity_timeout(live: bool) {
    if live {
        metrics().inactivity_timeout();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The environments every test here primes: the same list, as tests share the process's
    /// metrics and run in parallel.
    fn environments() -> Vec<String> {
        vec!["production".to_owned(), "QA".to_owned()]
    }

    /// Replayed facts count nothing. Only `superseded` and `create_failed` series are used,
    /// which no other test of this binary moves.
    #[test]
    fn only_live_facts_count() {
        let superseded = || {
            metrics().value(
                "gdt_deployment_status_updates_total",
                &[("outcome", "superseded")],
            )
        };
        let create_failed = || {
            metrics().value(
                "gdt_deployments_finished_total",
                &[("state", "create_failed")],
            )
        };
        let before = (superseded(), create_failed());
        status_update(false, UpdateOutcome::Superseded);
        finished(false, CREATE_FAILED, Duration::from_secs(3));
        assert_eq!((superseded(), create_failed()), before, "replay");
        status_update(true, UpdateOutcome::Superseded);
        finished(true, CREATE_FAILED, Duration::from_secs(3));
        assert_eq!(superseded(), before.0 + 1.0);
        assert_eq!(create_failed(), before.1 + 1.0);
    }

    /// A success counts with its lead time, in its environment's series or `other`'s; a
    /// replay counts nothing. Only the `qa` environment is used, which no other test of this
    /// binary names.
    #[test]
    fn deliveries_count_by_environment_with_lead_times() {
        prime_metrics(&environments());
        let finished = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let commit = DateTime::<Utc>::from(finished - Duration::from_secs(5400)).to_rfc3339();
        let count = |state| {
            metrics().value(
                "gdt_deployments_by_environment_total",
                &[("environment", "qa"), ("state", state)],
            )
        };
        let lead = |series| metrics().value(series, &[("environment", "qa")]);
        let (successes, failures) = (count("success"), count("failure"));
        let (leads, lead_sum) = (
            lead("gdt_deployment_lead_time_seconds_count"),
            lead("gdt_deployment_lead_time_seconds_sum"),
        );
        delivered(false, "qa", "success", Some(&commit), Some(finished));
        delivered(true, "Qa", "success", Some(&commit), Some(finished));
        delivered(true, "qa", "success", Some("not a time"), Some(finished));
        delivered(true, "qa", "success", None, Some(finished));
        delivered(true, "QA", "failure", Some(&commit), Some(finished));
        assert_eq!(
            (count("success"), count("failure")),
            (successes + 3.0, failures + 1.0)
        );
        assert_eq!(
            (
                lead("gdt_deployment_lead_time_seconds_count"),
                lead("gdt_deployment_lead_time_seconds_sum")
            ),
            (leads + 1.0, lead_sum + 5400.0)
        );
        assert_eq!(
            lead_seconds("2026-11-26T12:00:00+01:00", finished),
            Some((1_800_000_000 - 1_795_690_800) as f64)
        );
    }

    #[test]
    fn priming_creates_every_final_state_and_outcome() {
        prime_metrics(&environments());
        let text = metrics().encode();
        for state in ["success", "failure", "error", "inactive", "create_failed"] {
            let series = format!(r#"gdt_deployments_finished_total{{state="{state}"}}"#);
            assert!(text.contains(&series), "{series}");
        }
        assert_eq!(final_states().count(), 5);
        for environment in ["production", "other"] {
            for state in ["success", "failure", "error", "inactive"] {
                let series = format!(
                    r#"gdt_deployments_by_environment_total{{environment="{environment}",state="{state}"}}"#
                );
                assert!(text.contains(&series), "{series}");
            }
        }
        for outcome in UpdateOutcome::ALL {
            let series = format!(
                r#"gdt_deployment_status_updates_total{{outcome="{}"}}"#,
                outcome.as_str()
            );
            assert!(text.contains(&series), "{series}");
        }
    }
}
