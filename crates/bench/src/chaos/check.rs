//! After the faults: waiting for every workflow of a phase, then auditing each against the
//! GitHub deployments whose payload names it ([`crate::audit::judge`]).

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use gdt_github::DeploymentFilter;
use gdt_tracker::deployments::status::map_status;
use gdt_tracker::deployments::{DeploymentService, Lifecycle};
use temporalio_client::Client;

use crate::audit::{self, GitHubDeployment, LaneMember, Reason, Verdict, WorkflowEnd};
use crate::error::{Error, Result};
use crate::github::GitHub;
use crate::load::{Driver, Outcome, Trace, INITIAL_STATUS, OWNER};

/// Waits for every started workflow of `traces` to finish, each until `stuck_after_secs`
/// after its last update; returns the ids of those that did not.
pub(super) async fn wait_all(
    driver: &Driver,
    traces: &[Trace],
    stuck_after_secs: u64,
) -> HashSet<String> {
    let now_utc = chrono::Utc::now();
    let now = Instant::now();
    let waits = traces
        .iter()
        .filter(|t| t.start_error.is_none())
        .map(|trace| async move {
            let since_last = (now_utc - trace.last_sent_at())
                .to_std()
                .unwrap_or_default();
            let left = Duration::from_secs(stuck_after_secs).saturating_sub(since_last);
            let (_, finished) = driver.wait_result(&trace.workflow_id, now + left).await;
            (!finished).then(|| trace.workflow_id.clone())
        });
    futures::stream::iter(waits)
        .buffer_unordered(100)
        .filter_map(|stuck| async move { stuck })
        .collect()
        .await
}

/// One workflow's audit.
pub(super) struct Audited {
    pub(super) verdict: Verdict,
    pub(super) end: WorkflowEnd,
    pub(super) workflow_updates: Vec<String>,
}

/// What the audit reads of one workflow before judging it.
struct Read {
    end: WorkflowEnd,
    deployments: Vec<GitHubDeployment>,
}

/// Audits every workflow of `traces` against GitHub, and every lane of the superseding phase
/// as a whole: a deployment is judged knowing whether a newer one of its lane succeeded.
pub(super) async fn audit_all(
    github: &GitHub,
    client: &Client,
    task_queue: &str,
    traces: &[Trace],
    stuck: &HashSet<String>,
) -> Result<(Vec<Audited>, Vec<Reason>)> {
    let reader = github.reader()?;
    let driver = Driver::new(client.clone(), task_queue);
    let service = DeploymentService::new(
        client.clone(),
        task_queue,
        Duration::from_secs(3600),
        Duration::from_secs(30),
    );
    let reads = traces.iter().map(|trace| {
        let reader = reader.clone();
        let driver = driver.clone();
        async move {
            let end = if stuck.contains(&trace.workflow_id) || trace.start_error.is_some() {
                WorkflowEnd::Unfinished
            } else {
                // Finished already (wait_all saw it), so this answers at once.
                let deadline = Instant::now() + Duration::from_secs(60);
                match driver.wait_result(&trace.workflow_id, deadline).await.0 {
                    Outcome::Completed(r) => match r.ended_by {
                        Some(Lifecycle::Superseded {
                            by_deployment_id, ..
                        }) => WorkflowEnd::Superseded(by_deployment_id),
                        _ => WorkflowEnd::Completed(r.final_status),
                    },
                    Outcome::Closed(why) => WorkflowEnd::Closed(why),
                    Outcome::NotWaited | Outcome::Unknown(_) => WorkflowEnd::Unfinished,
                }
            };
            let deployments = github_deployments(&reader, trace).await?;
            Ok::<_, Error>(Read { end, deployments })
        }
    });
    let reads: Vec<Read> = futures::stream::iter(reads)
        .buffered(20)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_>>()?;

    // The lanes: their members, and the newest success of each.
    let mut lanes: BTreeMap<&str, Vec<LaneMember>> = BTreeMap::new();
    for (trace, read) in traces.iter().zip(&reads) {
        if let (Some(lane), Some(deployment)) = (&trace.lane, read.deployments.first()) {
            lanes.entry(lane).or_default().push(LaneMember {
                workflow_id: trace.workflow_id.clone(),
                deployment_id: deployment.id,
                last_state: deployment.states.last().cloned(),
            });
        }
    }
    let newest_success = |lane: &str| {
        lanes.get(lane).and_then(|members| {
            members
                .iter()
                .filter(|m| m.last_state.as_deref() == Some("success"))
                .map(|m| m.deployment_id)
                .max()
        })
    };

    let audits = traces.iter().zip(reads).map(|(trace, read)| {
        let service = service.clone();
        let replaced = trace
            .lane
            .as_deref()
            .and_then(newest_success)
            .is_some_and(|newest| read.deployments.first().is_some_and(|d| d.id < newest));
        async move {
            let verdict =
                audit::judge_in_lane(&sent_states(trace), &read.deployments, &read.end, replaced);
            // Only for deployments with a problem: the workflow's own account of each update.
            let workflow_updates = if verdict != Verdict::default() {
                match service.state(&trace.workflow_id).await {
                    Ok(view) => view
                        .updates
                        .iter()
                        .map(|u| {
                            format!(
                                "{} {}{}",
                                u.status,
                                u.outcome,
                                u.detail
                                    .as_deref()
                                    .map(|d| format!(": {d}"))
                                    .unwrap_or_default()
                            )
                        })
                        .collect(),
                    Err(e) => vec![format!("(deployment-state query failed: {e})")],
                }
            } else {
                Vec::new()
            };
            Audited {
                verdict,
                end: read.end,
                workflow_updates,
            }
        }
    });
    let audited = futures::stream::iter(audits).buffered(20).collect().await;
    let lane_problems = lanes
        .values()
        .flat_map(|members| audit::judge_lane(members))
        .collect();
    Ok((audited, lane_problems))
}

/// The GitHub states of what a deployment's pipeline sent, or tried to send, in order.
fn sent_states(trace: &Trace) -> Vec<String> {
    std::iter::once(INITIAL_STATUS)
        .chain(
            trace
                .updates
                .iter()
                .filter(|u| u.sent_at.is_some())
                .map(|u| u.word),
        )
        .map(|word| map_status(word).map_or_else(|_| word.to_owned(), |s| s.as_str().to_owned()))
        .collect()
}

/// Every deployment in the trace's repository whose payload names its workflow, with its
/// statuses oldest first.
async fn github_deployments(
    reader: &gdt_github::Client,
    trace: &Trace,
) -> Result<Vec<GitHubDeployment>> {
    let listed = reader
        .list_deployments(OWNER, &trace.repo, &DeploymentFilter::default())
        .await
        .map_err(|e| Error::Sandbox(format!("listing deployments of {}: {e}", trace.repo)))?;
    let mut found = Vec::new();
    for deployment in listed {
        if deployment
            .payload
            .get("workflow_id")
            .and_then(|v| v.as_str())
            != Some(trace.workflow_id.as_str())
        {
            continue;
        }
        let mut statuses = reader
            .list_deployment_statuses(OWNER, &trace.repo, deployment.id)
            .await
            .map_err(|e| {
                Error::Sandbox(format!(
                    "listing statuses of deployment {}: {e}",
                    deployment.id
                ))
            })?;
        statuses.sort_by_key(|s| s.id);
        found.push(GitHubDeployment {
            id: deployment.id,
            states: statuses
                .iter()
                .map(|s| s.state.as_str().to_owned())
                .collect(),
        });
    }
    found.sort_by_key(|d| d.id);
    Ok(found)
}
