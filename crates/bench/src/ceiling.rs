//! The ceiling: `BenchCeilingWorkflow`, the tracker's workflow with activities that do
//! nothing, and the worker that runs it (`gdt-bench ceiling-worker`, its own process).
//!
//! Driven with the same load as the tracker against the same Temporal server, it measures
//! what Temporal, the SDK and this machine allow for this shape of workflow: the same input,
//! search attributes, activities (create, initial status, one per update) with the same
//! options and input types, the same `deployment-status-update` signal, the same
//! inactivity timer raced against the inbox, the same result type. The tracker's throughput
//! as a share of this one is what its GitHub calls, token handling and logging cost.
//!
//! Determinism: the workflow does no I/O and reads no clock, like the tracker's.

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use gdt_github::DeploymentState;
use gdt_tracker::deployments::activities::{CreateDeploymentInput, UpdateDeploymentStatusInput};
use gdt_tracker::deployments::status::{go_duration_string, map_status};
use gdt_tracker::deployments::workflow::{ATTEMPT_TIMEOUT, GITHUB_OUTAGE_BUDGET};
use gdt_tracker::deployments::{
    DeploymentStatusUpdate, DeploymentWorkflowInput, DeploymentWorkflowResult, STATUS_UPDATE_SIGNAL,
};
use gdt_tracker::search_attributes as sa;
use temporalio_common::RetryPolicy;
use temporalio_macros::{activities, workflow, workflow_methods};
use temporalio_sdk::activities::{ActivityContext, ActivityError};
use temporalio_sdk::runtime::worker_tuner::{FixedSizeSlotSupplier, TunerHolder};
use temporalio_sdk::{
    ActivityCloseTimeouts, ActivityOptions, ApplicationFailure, CancellableFuture, Runtime,
    SyncWorkflowContext, Worker, WorkerOptions, WorkflowContext, WorkflowResult,
};

use crate::error::{Error, Result};

/// The workflow type.
pub const WORKFLOW_TYPE: &str = "BenchCeilingWorkflow";

/// What the ceiling worker logs once it polls its task queue.
pub const READY_MARKER: &str = "ceiling worker started";

/// The tracker's workflow with no-op activities.
#[workflow]
#[derive(Default)]
pub struct BenchCeilingWorkflow {
    inbox: VecDeque<DeploymentState>,
    seen_event_ids: HashSet<String>,
    current: Option<DeploymentState>,
    state: String,
    posted: u32,
}

#[workflow_methods]
impl BenchCeilingWorkflow {
    /// Creates (nothing), posts (nothing) the initial status, then one no-op post per
    /// update until a terminal state or the inactivity timeout, as the tracker does.
    #[run(name = "BenchCeilingWorkflow")]
    pub async fn run(
        ctx: &mut WorkflowContext<Self>,
        input: serde_json::Value,
    ) -> WorkflowResult<DeploymentWorkflowResult> {
        let input: DeploymentWorkflowInput = serde_json::from_value(input)
            .map_err(|e| ApplicationFailure::non_retryable(format!("invalid input: {e}")))?;
        let initial = map_status(&input.status)
            .map_err(|e| ApplicationFailure::non_retryable(e.to_string()))?;
        let started = ctx.workflow_time();
        let workflow_id = ctx.workflow_id().to_owned();
        ctx.upsert_search_attributes([
            sa::REPOSITORY.value_set(input.repository()),
            sa::ENVIRONMENT.value_set(input.environment.clone()),
            sa::COMMIT_SHA.value_set(input.commit_sha.clone()),
            sa::STATE.value_set(DeploymentState::Pending.as_str().to_owned()),
        ]);
        let deployment_id = ctx
            .execute_activity(
                NoopActivities::create_deployment,
                create_input(&input, &workflow_id),
                activity_options(),
            )
            .await
            .map_err(|e| ApplicationFailure::non_retryable(format!("no-op create: {e}")))?;
        post(ctx, &input, deployment_id, initial).await;

        while !ctx.state(|s| s.is_terminal()) {
            if ctx.state(|s| s.inbox.is_empty()) {
                let timed_out = {
                    let mut timer = std::pin::pin!(ctx.timer(input.inactivity_timeout()));
                    let timed_out = temporalio_sdk::workflows::select! {
                        _ = timer.as_mut() => true,
                        _ = ctx.wait_condition(|s: &Self| !s.inbox.is_empty()) => false,
                    };
                    if !timed_out {
                        timer.cancel();
                    }
                    timed_out
                };
                if timed_out {
                    post(ctx, &input, deployment_id, DeploymentState::Inactive).await;
                    ctx.state_mut(|s| s.current = Some(DeploymentState::Inactive));
                    break;
                }
            }
            if let Some(next) = ctx.state_mut(|s| s.inbox.pop_front()) {
                post(ctx, &input, deployment_id, next).await;
            }
        }
        let total = match (started, ctx.workflow_time()) {
            (Some(a), Some(b)) => b.duration_since(a).unwrap_or_default(),
            _ => Duration::ZERO,
        };
        Ok(ctx.state(|s| DeploymentWorkflowResult {
            deployment_id,
            final_status: s.state.clone(),
            completed_at: String::new(),
            total_duration: go_duration_string(total),
            status_updates: s.posted,
        }))
    }

    /// The tracker's signal: queued in arrival order, a repeated `event_id` ignored.
    #[signal(name = "deployment-status-update")]
    pub fn status_update(
        &mut self,
        _ctx: &mut SyncWorkflowContext<Self>,
        update: serde_json::Value,
    ) {
        let Ok(update) = serde_json::from_value::<DeploymentStatusUpdate>(update) else {
            return;
        };
        if let Some(id) = update.event_id.filter(|id| !id.is_empty()) {
            if !self.seen_event_ids.insert(id) {
                return;
            }
        }
        if let Ok(state) = map_status(&update.status) {
            if !self.is_terminal() {
                self.inbox.push_back(state);
            }
        }
    }
}

impl BenchCeilingWorkflow {
    fn is_terminal(&self) -> bool {
        self.current.is_some_and(|s| s.is_terminal())
    }
}

async fn post(
    ctx: &mut WorkflowContext<BenchCeilingWorkflow>,
    input: &DeploymentWorkflowInput,
    deployment_id: u64,
    state: DeploymentState,
) {
    let request = UpdateDeploymentStatusInput {
        repo_owner: input.repo_owner.clone(),
        repo_name: input.repo_name.clone(),
        deployment_id,
        state,
        log_url: input.log_url.clone(),
        environment_url: input.environment_url.clone(),
        description: input.description.clone(),
        after_status_id: None,
    };
    let posted = ctx
        .execute_activity(NoopActivities::update_status, request, activity_options())
        .await;
    ctx.state_mut(|s| {
        if posted.is_ok() {
            s.posted += 1;
            s.state = state.as_str().to_owned();
        }
        if posted.is_ok() || state.is_terminal() {
            s.current = Some(state);
        }
    });
    if posted.is_ok() {
        ctx.upsert_search_attributes([sa::STATE.value_set(state.as_str().to_owned())]);
    }
}

/// The tracker's create input, payload included, so histories are the same size.
fn create_input(input: &DeploymentWorkflowInput, workflow_id: &str) -> CreateDeploymentInput {
    let payload = serde_json::json!({
        "harness_pipeline_id": input.harness_pipeline_id,
        "harness_execution_id": input.harness_execution_id,
        "branch_name": input.branch_name,
        "triggered_by": "github-deployment-tracker",
        "workflow_id": workflow_id,
    });
    CreateDeploymentInput {
        repo_owner: input.repo_owner.clone(),
        repo_name: input.repo_name.clone(),
        commit_sha: input.commit_sha.clone(),
        environment: input.environment.clone(),
        task: input.task().to_owned(),
        description: input.description.clone(),
        is_transient: input.is_transient,
        production_environment: input.is_production(),
        payload,
        workflow_id: workflow_id.to_owned(),
    }
}

/// The tracker's activity options (`workflow.rs`'s `activity_options()`): 30 s per
/// attempt, no heartbeat timeout, 1 s → 30 s backoff, retried for at most
/// [`GITHUB_OUTAGE_BUDGET`]. A no-op never retries, but the commands Temporal records are
/// the same.
fn activity_options() -> ActivityOptions {
    ActivityOptions::with_close_timeouts(ActivityCloseTimeouts::ScheduleAndStartToClose {
        schedule_to_close: GITHUB_OUTAGE_BUDGET,
        start_to_close: ATTEMPT_TIMEOUT,
    })
    .retry_policy(
        RetryPolicy::builder()
            .initial_interval(Duration::from_secs(1))
            .backoff_coefficient(2.0)
            .maximum_interval(Duration::from_secs(30))
            .maximum_attempts(0)
            .build(),
    )
    .build()
}

/// Activities with the tracker's names' shape and input types that return at once.
pub struct NoopActivities;

#[activities]
impl NoopActivities {
    /// Returns a deployment id without creating anything.
    #[activity(name = "BenchNoopCreateDeployment")]
    pub async fn create_deployment(
        _ctx: ActivityContext,
        _input: CreateDeploymentInput,
    ) -> Result<u64, ActivityError> {
        Ok(1)
    }

    /// Returns a status id without posting anything.
    #[activity(name = "BenchNoopUpdateStatus")]
    pub async fn update_status(
        _ctx: ActivityContext,
        _input: UpdateDeploymentStatusInput,
    ) -> Result<u64, ActivityError> {
        Ok(1)
    }
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
        let client = crate::load::connect(&self.temporal, Duration::from_secs(60)).await?;
        let tuner = TunerHolder::builder()
            .workflow_task_slot_supplier(FixedSizeSlotSupplier::new(self.max_concurrent_workflow))
            .activity_task_slot_supplier(FixedSizeSlotSupplier::new(self.max_concurrent_activity))
            .local_activity_task_slot_supplier(FixedSizeSlotSupplier::new(
                self.max_concurrent_activity,
            ))
            .nexus_task_slot_supplier(FixedSizeSlotSupplier::new(1))
            .build();
        let options = WorkerOptions::new(self.task_queue.clone())
            .register_activities(NoopActivities)
            .register_workflow::<BenchCeilingWorkflow>()
            .map_err(|e| Error::Temporal(format!("cannot register {WORKFLOW_TYPE}: {e}")))?
            .tuner(tuner)
            .build();
        let mut worker = Worker::new(&runtime, client, options)
            .map_err(|e| Error::Temporal(format!("cannot create the worker: {e}")))?;
        eprintln!(
            "{READY_MARKER}: task queue {}, signal {STATUS_UPDATE_SIGNAL}",
            self.task_queue
        );
        worker
            .run()
            .await
            .map_err(|e| Error::Temporal(format!("the ceiling worker stopped: {e}")))
    }
}
