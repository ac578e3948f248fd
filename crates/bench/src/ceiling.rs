//! The ceiling: the tracker's own `GitHubDeploymentWorkflow` with activities that do nothing,
//! and the worker that runs it (`gdt-bench ceiling-worker`, its own process).
//!
//! Temporal dispatches an activity by its name, so this worker registers the real workflow
//! and, under the tracker's activity names, [`NoopActivities`], which take and return the
//! tracker's types and return at once. Driven with the same load as the tracker against the
//! same Temporal server, the very workflow code runs (the same input, search attributes,
//! activity options, signal, timer and result), and the run measures what Temporal, the SDK
//! and this machine allow for it. The tracker's throughput as a share of this one is what
//! its GitHub calls, token handling and logging cost.

use std::time::Duration;

use gdt_tracker::deployments::activities::{CreateDeploymentInput, UpdateDeploymentStatusInput};
use gdt_tracker::deployments::start::{InitialPosted, StartDeploymentInput, StartedDeployment};
use gdt_tracker::deployments::{
    fleet, DeploymentActivities, GitHubDeploymentWorkflow, StartActivities, STATUS_UPDATE_SIGNAL,
    WORKFLOW_TYPE,
};
use gdt_tracker::lanes::activities::JoinLane;
use gdt_tracker::lanes::{LaneActivities, LaneSettings, LaneTicket};
use temporalio_common::ActivityDefinition;
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};
use temporalio_sdk::runtime::worker_tuner::{FixedSizeSlotSupplier, TunerHolder};
use temporalio_sdk::{Runtime, Worker, WorkerOptions};

use crate::error::{Error, Result};

/// What the ceiling worker logs once it polls its task queue.
pub const READY_MARKER: &str = "ceiling worker started";

/// The tracker's deployment activities, doing nothing.
pub struct NoopActivities;

// Each no-op is registered under the name of the tracker's activity it stands in for (see
// `stand_in_for`), so the workflow's `execute_activity(DeploymentActivities::…)` reaches it.
#[activities]
impl NoopActivities {
    /// Returns a deployment id without creating anything.
    #[activity(name = stand_in_for(&DeploymentActivities::create_deployment, self))]
    pub async fn create_deployment(
        _ctx: ActivityContext,
        _input: CreateDeploymentInput,
    ) -> Result<u64, ActivityError> {
        Ok(1)
    }

    /// Returns a status id without posting anything.
    #[activity(name = stand_in_for(&DeploymentActivities::update_status, self))]
    pub async fn update_status(
        _ctx: ActivityContext,
        _input: UpdateDeploymentStatusInput,
    ) -> Result<u64, ActivityError> {
        Ok(1)
    }

    /// Starts without creating or posting anything, and joins no lane.
    #[activity(name = stand_in_for(&StartActivities::start_deployment, self))]
    pub async fn start_deployment(
        _ctx: ActivityContext,
        _input: StartDeploymentInput,
    ) -> Result<StartedDeployment, ActivityError> {
        Ok(StartedDeployment {
            deployment_id: 1,
            ticket: LaneTicket {
                lane_id: None,
                settings: LaneSettings::default(),
            },
            initial: InitialPosted::Posted { status_id: 1 },
        })
    }

    /// Joins no lane: the ceiling measures the deployment workflow alone.
    #[activity(name = stand_in_for(&LaneActivities::join, self))]
    pub async fn join_lane(
        _ctx: ActivityContext,
        _input: JoinLane,
    ) -> Result<LaneTicket, ActivityError> {
        Ok(LaneTicket {
            lane_id: None,
            settings: LaneSettings::default(),
        })
    }
}

/// The name of the tracker's activity `real`, for the no-op that stands in for it. It
/// compiles only when both take and return the same types, so the ceiling cannot drift from
/// the activities the workflow calls.
fn stand_in_for<Real, Noop>(real: &'static Real, _noop: &Noop) -> &'static str
where
    Real: ActivityDefinition,
    Noop: ActivityDefinition<Input = Real::Input, Output = Real::Output>,
{
    real.name()
}

/// How to run the ceiling worker.
#[derive(Debug, Clone)]
pub struct CeilingWorker {
    /// Temporal's `host:port`.
    pub temporal: String,
    /// The task queue to poll.
    pub task_queue: String,
    /// Workflow task slots (`gdt worker`'s `max_concurrent_workflow`).
    pub max_concurrent_workflow: usize,
    /// Activity slots (`gdt worker`'s `max_concurrent_activity`).
    pub max_concurrent_activity: usize,
}

impl CeilingWorker {
    /// Polls the task queue until the process is killed, with the slots `gdt worker` uses.
    pub async fn run(&self) -> Result<()> {
        let runtime = Runtime::from_current_tokio(Default::default())
            .map_err(|e| Error::Temporal(format!("cannot start the SDK runtime: {e}")))?;
        let client = crate::temporal::connect(&self.temporal, Duration::from_secs(60)).await?;
        let tuner = TunerHolder::builder()
            .workflow_task_slot_supplier(FixedSizeSlotSupplier::new(self.max_concurrent_workflow))
            .activity_task_slot_supplier(FixedSizeSlotSupplier::new(self.max_concurrent_activity))
            .local_activity_task_slot_supplier(FixedSizeSlotSupplier::new(
                self.max_concurrent_activity,
            ))
            .nexus_task_slot_supplier(FixedSizeSlotSupplier::new(1))
            .build();
        let options = WorkerOptions::new(self.task_queue.clone())
            // Like `gdt worker`, so the load's starts ask for the same revision.
            .client_identity_override(fleet::worker_identity())
            .register_activities(NoopActivities)
            .register_workflow::<GitHubDeploymentWorkflow>()
            .map_err(|e| Error::Temporal(format!("cannot register {WORKFLOW_TYPE}: {e}")))?
            .tuner(tuner)
            .build();
        let mut worker = Worker::new(&runtime, client, options)
            .map_err(|e| Error::Temporal(format!("cannot create the worker: {e}")))?;
        eprintln!(
            "{READY_MARKER}: {WORKFLOW_TYPE} with no-op activities on task queue {}, signal \
             {STATUS_UPDATE_SIGNAL}",
            self.task_queue
        );
        worker
            .run()
            .await
            .map_err(|e| Error::Temporal(format!("the ceiling worker stopped: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_no_ops_answer_to_the_tracker_activities_names() {
        assert_eq!(
            NoopActivities::create_deployment.name(),
            "CreateGitHubDeployment"
        );
        assert_eq!(
            NoopActivities::update_status.name(),
            "UpdateGitHubDeploymentStatus"
        );
        assert_eq!(
            NoopActivities::start_deployment.name(),
            "StartGitHubDeployment"
        );
    }
}
