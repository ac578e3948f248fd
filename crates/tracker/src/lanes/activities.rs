//! The lanes' activities: a deployment joining and leaving its lane (the only activities that
//! hold a Temporal client: workflow code cannot signal-with-start), and the one GitHub lookup
//! a fresh lane makes for its previous success.

use std::time::Duration;

use gdt_github::{DeploymentFilter, DeploymentState};
use serde::{Deserialize, Serialize};
use temporalio_client::{
    Client, WorkflowIdConflictPolicy, WorkflowIdReusePolicy, WorkflowStartOptions,
};
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

use super::model::{LaneEvent, LaneInput, LaneKey, LaneSettings, LaneTicket, Success};
use super::workflow::LaneWorkflow;
use crate::activity::{in_activity_span, temporal_unavailable, to_activity_error};
use crate::deployments::model::payload;
use crate::service::rpc_options;

/// How many earlier deployments a fresh lane reads the statuses of, newest first, to find
/// its previous success: each costs one request.
pub const PREVIOUS_SUCCESS_CANDIDATES: usize = 5;

/// How long one signal-with-start may take before the attempt is retried.
const TEMPORAL_CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Input of `JoinLane`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinLane {
    /// The lane.
    pub key: LaneKey,
    /// The deployment's workflow id.
    pub workflow_id: String,
    /// The GitHub deployment id.
    pub deployment_id: u64,
}

/// Input of `LeaveLane`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaveLane {
    /// The lane.
    pub key: LaneKey,
    /// The lane's settings as the deployment joined.
    pub settings: LaneSettings,
    /// What to tell the lane.
    pub event: LaneEvent,
}

/// Input of `FindPreviousSuccess`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindPreviousSuccess {
    /// The lane.
    pub key: LaneKey,
    /// The new success: only deployments older than it count.
    pub before_deployment_id: u64,
}

/// The lanes' activities, with the worker's Temporal and GitHub clients.
pub struct LaneActivities {
    temporal: Client,
    github: gdt_github::Client,
    task_queue: String,
    settings: LaneSettings,
}

impl LaneActivities {
    /// Activities that start lanes on `task_queue` and follow `settings`.
    pub fn new(
        temporal: Client,
        github: gdt_github::Client,
        task_queue: String,
        settings: LaneSettings,
    ) -> Self {
        Self {
            temporal,
            github,
            task_queue,
            settings,
        }
    }

    /// Joins the deployment to its lane, as `JoinLane` does (also part of
    /// `StartGitHubDeployment`). Repeating it changes nothing: the lane applies a deployment's
    /// start once.
    pub(crate) async fn enter(&self, input: JoinLane) -> Result<LaneTicket, ActivityError> {
        let settings = self.settings;
        if !settings.needs_lane() {
            return Ok(LaneTicket {
                lane_id: None,
                settings,
            });
        }
        let event = LaneEvent::Started {
            member: super::model::Member {
                workflow_id: input.workflow_id,
                deployment_id: input.deployment_id,
            },
            supersede: settings.supersede,
        };
        self.signal(&input.key, settings.idle_timeout_secs, event)
            .await?;
        Ok(LaneTicket {
            lane_id: Some(input.key.workflow_id(&self.task_queue)),
            settings,
        })
    }

    async fn signal(
        &self,
        key: &LaneKey,
        idle_timeout_secs: u64,
        event: LaneEvent,
    ) -> Result<(), ActivityError> {
        let lane_id = key.workflow_id(&self.task_queue);
        let input = LaneInput {
            key: key.clone(),
            idle_timeout_secs,
            carried: None,
        };
        let options = WorkflowStartOptions::new(self.task_queue.clone(), lane_id.clone())
            // A running lane is signalled; an ended one starts again.
            .id_conflict_policy(WorkflowIdConflictPolicy::UseExisting)
            .id_reuse_policy(WorkflowIdReusePolicy::AllowDuplicate)
            .rpc_options(rpc_options(TEMPORAL_CALL_TIMEOUT))
            .build();
        let call = self.temporal.signal_with_start_workflow(
            LaneWorkflow::run,
            input,
            LaneWorkflow::event,
            event,
            options,
        );
        match tokio::time::timeout(TEMPORAL_CALL_TIMEOUT, call).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(temporal_unavailable(format!(
                "could not signal lane {lane_id}: {e}"
            ))),
            Err(_) => Err(temporal_unavailable(format!(
                "signalling lane {lane_id} took longer than {TEMPORAL_CALL_TIMEOUT:?}"
            ))),
        }
    }
}

#[activities]
impl LaneActivities {
    /// Joins the deployment to its lane (starting the lane if it is not running) and answers
    /// with the rules the deployment follows. Joins nothing when both rules are off.
    #[activity(name = "JoinLane")]
    pub async fn join(
        self: std::sync::Arc<Self>,
        ctx: ActivityContext,
        input: JoinLane,
    ) -> Result<LaneTicket, ActivityError> {
        in_activity_span(&ctx, self.enter(input)).await
    }

    /// Tells the lane the deployment ended, and how.
    #[activity(name = "LeaveLane")]
    pub async fn leave(
        self: std::sync::Arc<Self>,
        ctx: ActivityContext,
        input: LeaveLane,
    ) -> Result<(), ActivityError> {
        in_activity_span(
            &ctx,
            self.signal(&input.key, input.settings.idle_timeout_secs, input.event),
        )
        .await
    }

    /// The lane's previous success on GitHub, for a lane that has no memory of one: among the
    /// newest deployments of the environment that gdt created for the same service and that
    /// are older than the new success, the newest whose latest status is `success`. Reads one
    /// page of deployments and the statuses of at most [`PREVIOUS_SUCCESS_CANDIDATES`].
    #[activity(name = "FindPreviousSuccess")]
    pub async fn find_previous_success(
        self: std::sync::Arc<Self>,
        ctx: ActivityContext,
        input: FindPreviousSuccess,
    ) -> Result<Option<Success>, ActivityError> {
        in_activity_span(&ctx, async move {
            let key = &input.key;
            let filter = DeploymentFilter {
                environment: Some(key.environment.clone()),
                max_pages: 1,
                ..DeploymentFilter::default()
            };
            let deployments = self
                .github
                .list_deployments(&key.repo_owner, &key.repo_name, &filter)
                .await
                .map_err(|e| to_activity_error(&e))?;
            let candidates = deployments
                .iter()
                .filter(|d| d.id < input.before_deployment_id)
                .filter(|d| same_lane(&d.payload, &key.service))
                .take(PREVIOUS_SUCCESS_CANDIDATES);
            for deployment in candidates {
                let statuses = self
                    .github
                    .list_deployment_statuses(&key.repo_owner, &key.repo_name, deployment.id)
                    .await
                    .map_err(|e| to_activity_error(&e))?;
                // Newest first: the latest status says whether it is live.
                if let Some(latest) = statuses.first() {
                    if latest.state == DeploymentState::Success {
                        return Ok(Some(Success {
                            member: super::model::Member {
                                workflow_id: payload::text(
                                    &deployment.payload,
                                    payload::WORKFLOW_ID,
                                )
                                .unwrap_or_default(),
                                deployment_id: deployment.id,
                            },
                            status_id: Some(latest.id),
                        }));
                    }
                }
            }
            Ok(None)
        })
        .await
    }
}

/// Whether a deployment's payload says gdt created it for `service` (no `service` key: the
/// repository-level service). GitHub may hand the payload back as a JSON string.
pub fn same_lane(payload: &serde_json::Value, service: &str) -> bool {
    let object = payload::object(payload);
    let text = |key: &str| object.get(key).and_then(serde_json::Value::as_str);
    text(payload::TRIGGERED_BY) == Some(payload::GDT)
        && text(payload::SERVICE).unwrap_or_default() == service
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_lane_counts_only_gdt_deployments_of_its_service() {
        let cases = [
            (json!({"triggered_by": payload::GDT}), "", true),
            (
                json!({"triggered_by": payload::GDT, "service": "api"}),
                "api",
                true,
            ),
            (
                json!({"triggered_by": payload::GDT, "service": "api"}),
                "",
                false,
            ),
            (json!({"triggered_by": payload::GDT}), "api", false),
            (json!({"triggered_by": "someone-else"}), "", false),
            (json!({}), "", false),
            (
                json!("{\"triggered_by\":\"github-deployment-tracker\",\"service\":\"web\"}"),
                "web",
                true,
            ),
            (json!("not json"), "", false),
        ];
        for (payload, service, want) in cases {
            assert_eq!(same_lane(&payload, service), want, "{payload} {service}");
        }
    }
}
