//! The deployment metrics only workflow code knows: a deployment started and finished, what
//! became of each status update, an inactivity timeout.
//!
//! Counting here is the one exception to "workflow code does no I/O": it only adds to this
//! process's in-process counters, which nothing reads back, so no decision can change. Each
//! function takes `live`, which the workflow sets to `!ctx.is_replaying_history_events()`:
//! replaying a history (a worker rebuilding a workflow evicted from its cache, or the
//! `WorkflowReplayer`) counts nothing, so each fact is counted by the workflow task that first
//! decides it. A worker that dies after counting but before Temporal records that workflow
//! task's completion has counted facts another worker then decides and counts again: a rare
//! double count, never a missed one.

use std::time::Duration;

use gdt_github::DeploymentState;
use gdt_metrics::metrics;

use super::model::UpdateOutcome;

/// The final state of a deployment whose GitHub Deployment could not be created.
pub const CREATE_FAILED: &str = "create_failed";

/// Creates, at zero, every deployment series the alerts read: each final state (the
/// terminal GitHub states and [`CREATE_FAILED`]) and each [`UpdateOutcome`]. The worker
/// calls it at start.
pub fn prime_metrics() {
    let states: Vec<&'static str> = final_states().collect();
    let outcomes: Vec<&'static str> = UpdateOutcome::ALL.iter().map(|o| o.as_str()).collect();
    metrics().prime_deployments(&states, &outcomes);
}

/// Every final state word a deployment can finish with.
fn final_states() -> impl Iterator<Item = &'static str> {
    DeploymentState::ALL
        .into_iter()
        .filter(|s| s.is_terminal())
        .map(DeploymentState::as_str)
        .chain([CREATE_FAILED])
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

    #[test]
    fn priming_creates_every_final_state_and_outcome() {
        prime_metrics();
        let text = metrics().encode();
        for state in ["success", "failure", "error", "inactive", "create_failed"] {
            let series = format!(r#"gdt_deployments_finished_total{{state="{state}"}}"#);
            assert!(text.contains(&series), "{series}");
        }
        assert_eq!(final_states().count(), 5);
        for outcome in UpdateOutcome::ALL {
            let series = format!(
                r#"gdt_deployment_status_updates_total{{outcome="{}"}}"#,
                outcome.as_str()
            );
            assert!(text.contains(&series), "{series}");
        }
    }
}
