//! What a deployment costs Temporal in history events: the histories of workflows that
//! completed, read back after a load, counted by event type.
//!
//! Events do not vary between runs of the same code and load, unlike CPU seconds, so this is
//! the figure to compare across commits. A deployment's own workflow is counted apart from the
//! lanes it joins: every deployment of the bench's loads has a repository, and so a lane, of its
//! own, the most a lane can cost per deployment.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use gdt_tracker::lanes::LaneKey;
use serde::Serialize;
use temporalio_client::{
    Client, UntypedWorkflow, WorkflowFetchHistoryOptions, WorkflowListOptions,
};
use temporalio_common::protos::temporal::api::enums::v1::EventType;

use crate::error::{Error, Result};

/// How many workflows of each kind are read.
pub const SAMPLE: usize = 100;

/// How long reading one history may take.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Events per workflow over a sample of completed workflows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryEvents {
    /// Workflows read.
    pub sampled: usize,
    /// Mean events per workflow.
    pub per_workflow: f64,
    /// The fewest events one of them had.
    pub min: usize,
    /// The most.
    pub max: usize,
    /// Mean per workflow by event type (Temporal's name, e.g. `ACTIVITY_TASK_SCHEDULED`).
    pub by_type: BTreeMap<String, f64>,
}

/// The deployment workflows' events, and their lanes' per deployment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeploymentHistory {
    /// `GitHubDeploymentWorkflow` runs.
    pub deployments: HistoryEvents,
    /// The `LaneWorkflow`s of the sampled deployments (one each in the bench's loads), `None`
    /// when they joined none (the ceiling).
    pub lanes: Option<HistoryEvents>,
}

/// Reads the histories of up to [`SAMPLE`] of `workflow_ids` (spread over the list) and of
/// the lanes of those deployments, as `lane_of` names them.
pub async fn sample(
    client: &Client,
    workflow_ids: &[String],
    lane_of: impl Fn(&str) -> Option<LaneKey>,
    task_queue: &str,
) -> Result<Option<DeploymentHistory>> {
    let picked = spread(workflow_ids, SAMPLE);
    let mut deployments = Vec::with_capacity(picked.len());
    let mut lanes = Vec::new();
    for id in picked {
        deployments.push(read(client, id).await?);
        if let Some(key) = lane_of(id) {
            let lane = key.workflow_id(task_queue);
            if lane_exists(client, &lane).await? {
                lanes.push(read(client, &lane).await?);
            }
        }
    }
    Ok(
        summarise(&deployments).map(|deployments| DeploymentHistory {
            deployments,
            lanes: summarise(&lanes),
        }),
    )
}

/// `n` items spread evenly over `all` (all of them when there are fewer).
fn spread<T>(all: &[T], n: usize) -> Vec<&T> {
    if all.len() <= n {
        return all.iter().collect();
    }
    (0..n).map(|i| &all[i * all.len() / n]).collect()
}

/// Whether a workflow with this id exists (a deployment that joined no lane has none).
async fn lane_exists(client: &Client, workflow_id: &str) -> Result<bool> {
    let query = format!("WorkflowId = '{workflow_id}'");
    let mut stream = client.list_workflows(query, WorkflowListOptions::default());
    match tokio::time::timeout(READ_TIMEOUT, stream.next()).await {
        Ok(Some(Ok(_))) => Ok(true),
        Ok(None) => Ok(false),
        Ok(Some(Err(e))) => Err(Error::Temporal(format!("listing {workflow_id}: {e}"))),
        Err(_) => Err(Error::Temporal(format!("listing {workflow_id} timed out"))),
    }
}

/// The event types of one workflow's history (every run's events are in one history until it
/// continues as new, which no load here makes).
async fn read(client: &Client, workflow_id: &str) -> Result<Vec<EventType>> {
    let handle = client.get_workflow_handle::<UntypedWorkflow>(workflow_id.to_owned());
    let events = tokio::time::timeout(
        READ_TIMEOUT,
        handle
            .fetch_history(WorkflowFetchHistoryOptions::default())
            .into_events(),
    )
    .await
    .map_err(|_| Error::Temporal(format!("reading the history of {workflow_id} timed out")))?
    .map_err(|e| Error::Temporal(format!("reading the history of {workflow_id}: {e}")))?;
    Ok(events
        .iter()
        .map(|e| EventType::try_from(e.event_type).unwrap_or(EventType::Unspecified))
        .collect())
}

/// Mean, extremes and mean by type; `None` for no workflow.
fn summarise(histories: &[Vec<EventType>]) -> Option<HistoryEvents> {
    if histories.is_empty() {
        return None;
    }
    let n = histories.len() as f64;
    let mut by_type: BTreeMap<String, f64> = BTreeMap::new();
    for event in histories.iter().flatten() {
        let name = event.as_str_name().trim_start_matches("EVENT_TYPE_");
        *by_type.entry(name.to_owned()).or_default() += 1.0;
    }
    for count in by_type.values_mut() {
        *count = round(*count / n);
    }
    let lengths = histories.iter().map(Vec::len);
    Some(HistoryEvents {
        sampled: histories.len(),
        per_workflow: round(histories.iter().map(Vec::len).sum::<usize>() as f64 / n),
        min: lengths.clone().min().unwrap_or(0),
        max: lengths.max().unwrap_or(0),
        by_type,
    })
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_is_spread_over_the_whole_list() {
        let all: Vec<usize> = (0..10).collect();
        assert_eq!(spread(&all, 20).len(), 10, "fewer than asked: all of them");
        assert_eq!(spread(&all, 5), [&0, &2, &4, &6, &8]);
    }

    #[test]
    fn events_are_averaged_per_workflow_and_by_type() {
        use EventType::*;
        let summary = summarise(&[
            vec![
                WorkflowExecutionStarted,
                WorkflowTaskScheduled,
                MarkerRecorded,
            ],
            vec![
                WorkflowExecutionStarted,
                WorkflowTaskScheduled,
                MarkerRecorded,
                MarkerRecorded,
                TimerStarted,
            ],
        ])
        .expect("two histories");
        assert_eq!(summary.sampled, 2);
        assert_eq!(summary.per_workflow, 4.0);
        assert_eq!((summary.min, summary.max), (3, 5));
        assert_eq!(summary.by_type["MARKER_RECORDED"], 1.5);
        assert_eq!(summary.by_type["TIMER_STARTED"], 0.5);
        assert_eq!(summary.by_type["WORKFLOW_EXECUTION_STARTED"], 1.0);
        assert_eq!(summarise(&[]), None);
    }
}
