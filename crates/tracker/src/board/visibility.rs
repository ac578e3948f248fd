//! What the board asks Temporal's visibility, and how it merges the answers: the queries, a
//! listed workflow as a [`Row`], and a read of what changed folded into the last snapshot.
//! Pure, apart from [`row_of`] reading an SDK type.
//!
//! What a query costs decides its shape. Measured on the dev server's SQLite visibility with
//! 10,000 deployments in the namespace (`make bench`'s board scenario, `unit_costs`):
//! - the server spends about 0.6 ms of CPU per row a list returns;
//! - `ExecutionStatus = 'Running'` goes through the status index, and touches every running
//!   workflow of the namespace (the lanes too);
//! - a `CloseTime` condition goes through the whole namespace (20 to 40 ms);
//! - a range on a `Datetime` attribute (`GdtUpdatedAt >= T`) is one index range, and a count
//!   returns no rows.
//!
//! So once every worker sets `GdtUpdatedAt` with each state change, a refresh lists only the
//! deployments changed since the last read and counts the running ones ([`refresh_queries`]);
//! before that (or when the count disagrees) it lists every running deployment and those
//! closed since ([`rows_queries`]).

use std::collections::HashSet;
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use temporalio_client::WorkflowExecutionStatus;

use super::build;
use super::model::{BoardMemo, Row, MEMO_KEY};
use crate::deployments::service::{quote, status_word};
use crate::deployments::WORKFLOW_TYPE;
use crate::search_attributes as sa;

/// The deployment workflows of `task_queue`.
fn deployments_of(task_queue: &str) -> String {
    format!(
        "WorkflowType = {} AND TaskQueue = {}",
        quote(WORKFLOW_TYPE),
        quote(task_queue)
    )
}

/// The visibility lists of a read of every running deployment, in order: the deployment
/// workflows of `task_queue` running, then those closed since `since` (the whole window on a
/// full read, the last read otherwise). Two plain filters (status; close time) rather than
/// one `OR` of them, which a store can less easily answer from its indexes.
pub fn rows_queries(task_queue: &str, since: DateTime<Utc>) -> [String; 2] {
    let base = deployments_of(task_queue);
    [
        format!("{base} AND ExecutionStatus = 'Running'"),
        format!("{base} AND CloseTime >= {}", quote(&build::rfc3339(since))),
    ]
}

/// The queries of a refresh once every worker sets `GdtUpdatedAt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshQueries {
    /// The deployments whose state changed (or that started) since the last read: a list.
    pub changed: String,
    /// The deployments running: a count, to learn whether one closed without a state change
    /// (terminated, timed out) or started without `GdtUpdatedAt`.
    pub running: String,
}

/// The queries of a refresh reading what changed since `since`.
pub fn refresh_queries(task_queue: &str, since: DateTime<Utc>) -> RefreshQueries {
    let base = deployments_of(task_queue);
    RefreshQueries {
        changed: format!(
            "{base} AND {} >= {}",
            sa::UPDATED_AT.name(),
            quote(&build::rfc3339(since))
        ),
        running: format!("{base} AND ExecutionStatus = 'Running'"),
    }
}

/// A count of the deployments closed since `since` that the board shows (a run continued as
/// new is not one): `board.rebuild_interval`'s check that the snapshot holds the window.
pub fn closed_count_query(task_queue: &str, since: DateTime<Utc>) -> String {
    format!(
        "{} AND CloseTime >= {} AND ExecutionStatus != 'ContinuedAsNew'",
        deployments_of(task_queue),
        quote(&build::rfc3339(since))
    )
}

/// The snapshot's `rows` with what a read of changes found: a changed row replaces the row of
/// the same workflow (a run continued as new is replaced by its successor), and closed rows
/// from before `window_start` are dropped.
pub fn merge_changed(rows: &[Row], changed: Vec<Row>, window_start: DateTime<Utc>) -> Vec<Row> {
    let fresh: HashSet<&str> = changed.iter().map(|r| r.workflow_id.as_str()).collect();
    let mut merged: Vec<Row> = rows
        .iter()
        .filter(|r| !fresh.contains(r.workflow_id.as_str()))
        .filter(|r| r.closed_at.is_none_or(|c| c >= window_start))
        .cloned()
        .collect();
    merged.extend(changed);
    merged
}

/// The rows running: what [`RefreshQueries::running`] counts in Temporal.
pub fn running(rows: &[Row]) -> usize {
    rows.iter().filter(|r| r.running()).count()
}

/// The rows closed since `since`: what [`closed_count_query`] counts in Temporal.
pub fn closed_since(rows: &[Row], since: DateTime<Utc>) -> usize {
    rows.iter()
        .filter(|r| r.closed_at.is_some_and(|c| c >= since))
        .count()
}

/// A listed workflow as a board row; `None` for a run that continued as new (its successor
/// is listed) or one without the deployment's search attributes.
pub fn row_of(execution: &temporalio_client::WorkflowExecution) -> Option<Row> {
    if execution.status() == WorkflowExecutionStatus::ContinuedAsNew {
        return None;
    }
    let attrs = execution.search_attributes();
    let utc = |t: SystemTime| DateTime::<Utc>::from(t);
    Some(Row {
        workflow_id: execution.id().to_owned(),
        run_id: execution.run_id().to_owned(),
        workflow_status: status_word(execution.status()),
        started_at: utc(execution.start_time()?),
        closed_at: execution.close_time().map(utc),
        repository: attrs.get(&sa::REPOSITORY)?,
        environment: attrs.get(&sa::ENVIRONMENT)?,
        service: attrs.get(&sa::SERVICE).filter(|s: &String| !s.is_empty()),
        commit_sha: attrs.get(&sa::COMMIT_SHA).unwrap_or_default(),
        state: attrs.get(&sa::STATE).unwrap_or_default(),
        memo: execution.memo().get::<BoardMemo>(MEMO_KEY).ok().flatten(),
        outcome: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_790_000_000 + minute * 60, 0).expect("a time")
    }

    fn row(workflow_id: &str, run_id: &str, closed_minute: Option<i64>) -> Row {
        Row {
            workflow_id: workflow_id.to_owned(),
            run_id: run_id.to_owned(),
            workflow_status: if closed_minute.is_some() {
                "completed"
            } else {
                "running"
            }
            .to_owned(),
            started_at: at(0),
            closed_at: closed_minute.map(at),
            repository: "acme/api".to_owned(),
            environment: "production".to_owned(),
            service: None,
            commit_sha: "abc".to_owned(),
            state: "in_progress".to_owned(),
            memo: None,
            outcome: None,
        }
    }

    #[test]
    fn a_refresh_asks_for_changes_through_the_datetime_attribute_and_counts_the_running() {
        let queries = refresh_queries("gdt", at(0));
        assert_eq!(
            queries.changed,
            "WorkflowType = 'GitHubDeploymentWorkflow' AND TaskQueue = 'gdt' AND \
             GdtUpdatedAt >= '2026-09-21T14:13:20Z'"
        );
        assert_eq!(
            queries.running,
            "WorkflowType = 'GitHubDeploymentWorkflow' AND TaskQueue = 'gdt' AND \
             ExecutionStatus = 'Running'"
        );
        assert_eq!(
            closed_count_query("it's", at(0)),
            "WorkflowType = 'GitHubDeploymentWorkflow' AND TaskQueue = 'it\\'s' AND \
             CloseTime >= '2026-09-21T14:13:20Z' AND ExecutionStatus != 'ContinuedAsNew'"
        );
    }

    #[test]
    fn a_changed_row_replaces_its_workflow_s_row_and_old_closed_rows_leave() {
        let snapshot = [
            row("a", "a1", None),
            row("b", "b1", None),
            row("old", "o1", Some(-10)),
            row("kept", "k1", Some(5)),
        ];
        let changed = vec![
            row("a", "a1", Some(20)),
            row("b", "b2", None),
            row("new", "n1", None),
        ];
        let merged = merge_changed(&snapshot, changed, at(0));
        let mut runs: Vec<(&str, bool)> = merged
            .iter()
            .map(|r| (r.run_id.as_str(), r.running()))
            .collect();
        runs.sort_unstable();
        assert_eq!(
            runs,
            [("a1", false), ("b2", true), ("k1", false), ("n1", true)],
            "a closed, b continued as new, the old closed row gone, new listed"
        );
        assert_eq!(running(&merged), 2);
        assert_eq!(closed_since(&merged, at(10)), 1);
        assert_eq!(closed_since(&merged, at(0)), 2);
    }
}
