//! `LaneWorkflow`: the one place that decides, for one repository, environment and service,
//! which deployment supersedes which and which success replaces which.
//!
//! A workflow id has at most one running execution, so one lane per key is a serial,
//! cluster-wide decider: every deployment of the lane reports to it (`lane-event`, sent by
//! signal-with-start from the `JoinLane` and `LeaveLane` activities), it applies the events
//! one at a time through [`super::decide::apply`], and it alone acts on the result: it signals
//! a superseded deployment's workflow (`gdt-lifecycle`), and posts the `inactive` status of a
//! replaced success. However many workers and API servers run, there is exactly one winner,
//! and no `inactive` is posted twice for one replacement.
//!
//! The lane ends after `deployment.lane_idle_timeout` with nothing running, and continues as
//! new when its history grows long, carrying what it knows.
//!
//! Determinism: this file does no I/O and reads no clock.

use std::collections::VecDeque;
use std::time::Duration;

use gdt_github::DeploymentState;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{
    CancellableFuture, ContinueAsNewOptions, SignalWorkflowOptions, SyncWorkflowContext,
    WorkflowContext, WorkflowContextView, WorkflowResult,
};

use super::activities::{FindPreviousSuccess, LaneActivities};
use super::decide::{apply, Action, LaneState};
use super::model::{Carried, LaneEvent, LaneInput, LaneKey, LaneView, Member, Success};
use crate::deployments::activities::{DeploymentActivities, UpdateDeploymentStatusInput};
use crate::deployments::model::{cut, limits, Lifecycle};
use crate::deployments::workflow::{activity_options, GitHubDeploymentWorkflow};

/// The lane's workflow type.
pub const LANE_WORKFLOW_TYPE: &str = "LaneWorkflow";
/// The signal deployments report to their lane with (a [`LaneEvent`]).
pub const LANE_EVENT_SIGNAL: &str = "lane-event";
/// The query that answers with a [`LaneView`].
pub const LANE_STATE_QUERY: &str = "lane-state";

/// A lane continues as new once its history is this long (or Temporal suggests it), between
/// events. An event costs about five events of history, a supersede or an inactivation a few
/// more.
pub const CONTINUE_AS_NEW_AFTER_EVENTS: u32 = 2_000;

/// The lane's state; the signal appends to `events`, the run applies them in order.
#[workflow]
#[derive(Default)]
pub struct LaneWorkflow {
    key: LaneKey,
    state: LaneState,
    events: VecDeque<LaneEvent>,
}

#[workflow_methods]
impl LaneWorkflow {
    /// Runs the lane until it has been idle for its idle timeout.
    #[run(name = "LaneWorkflow")]
    pub async fn run(
        ctx: &mut WorkflowContext<Self>,
        input: LaneInput,
    ) -> WorkflowResult<LaneView> {
        let idle = Duration::from_secs(input.idle_timeout_secs.max(1));
        ctx.state_mut(|s| {
            s.key = input.key.clone();
            if let Some(carried) = input.carried.clone() {
                s.state = carried.state;
                // Events that arrived before this run's first task come first in `events`
                // already; the carried ones are older.
                for event in carried.events.into_iter().rev() {
                    s.events.push_front(event);
                }
            }
        });
        loop {
            let long = ctx.history_length() >= CONTINUE_AS_NEW_AFTER_EVENTS
                || ctx.continue_as_new_suggested();
            if long && ctx.all_handlers_finished() {
                let carried = ctx.state(|s| Carried {
                    state: s.state.clone(),
                    events: s.events.iter().cloned().collect(),
                });
                let next = LaneInput {
                    key: input.key.clone(),
                    idle_timeout_secs: input.idle_timeout_secs,
                    carried: Some(carried),
                };
                ctx.continue_as_new(next, ContinueAsNewOptions::default())?;
            }
            if ctx.state(|s| s.events.is_empty()) {
                if ctx.state(|s| s.state.running.is_empty()) {
                    let mut timer = std::pin::pin!(ctx.timer(idle));
                    let idle_out = temporalio_sdk::workflows::select! {
                        _ = timer.as_mut() => true,
                        _ = ctx.wait_condition(|s: &LaneWorkflow| !s.events.is_empty()) => false,
                    };
                    if idle_out && ctx.state(|s| s.events.is_empty()) {
                        return Ok(ctx.state(|s| s.state.view(&s.key, 0)));
                    }
                    if !idle_out {
                        timer.cancel();
                    }
                } else {
                    ctx.wait_condition(|s: &LaneWorkflow| !s.events.is_empty())
                        .await?;
                }
            }
            let Some(event) = ctx.state_mut(|s| s.events.pop_front()) else {
                continue;
            };
            let actions = ctx.state_mut(|s| apply(&mut s.state, &event));
            for action in actions {
                act(ctx, &input.key, action).await;
            }
        }
    }

    /// A deployment of the lane started or ended.
    #[signal(name = "lane-event")]
    pub fn event(&mut self, _ctx: &mut SyncWorkflowContext<Self>, event: LaneEvent) {
        self.events.push_back(event);
    }

    /// What the lane knows: what runs, what is live, what it did.
    #[query(name = "lane-state")]
    pub fn lane_state(&self, _ctx: &WorkflowContextView) -> LaneView {
        self.state.view(&self.key, self.events.len())
    }
}

/// Carries out one decision. A deployment whose workflow has already closed cannot be
/// signalled: it ended on its own and reported that, or was terminated, and either way
/// nothing is left to stop.
async fn act(ctx: &mut WorkflowContext<LaneWorkflow>, key: &LaneKey, action: Action) {
    match action {
        Action::Supersede { target, by } => {
            let signal = Lifecycle::Superseded {
                by_workflow_id: by.workflow_id,
                by_deployment_id: by.deployment_id,
            };
            let _ = ctx
                .external_workflow(target.workflow_id, None)
                .signal(
                    GitHubDeploymentWorkflow::lifecycle,
                    signal,
                    SignalWorkflowOptions::default(),
                )
                .await;
        }
        Action::Inactivate { target, by } => inactivate(ctx, key, target, &by).await,
        Action::InactivatePreviousOnGitHub { by } => {
            let found = ctx
                .execute_activity(
                    LaneActivities::find_previous_success,
                    FindPreviousSuccess {
                        key: key.clone(),
                        before_deployment_id: by.deployment_id,
                    },
                    activity_options(),
                )
                .await;
            if let Ok(Some(previous)) = found {
                let id = previous.member.deployment_id;
                if ctx.state_mut(|s| s.state.note_replaced(id)) {
                    inactivate(ctx, key, previous, &by).await;
                }
            }
        }
    }
}

/// Posts `inactive` on a replaced success. GitHub refusing it after every retry leaves that
/// deployment active; the lane goes on with the next event.
async fn inactivate(
    ctx: &mut WorkflowContext<LaneWorkflow>,
    key: &LaneKey,
    target: Success,
    by: &Member,
) {
    let request = UpdateDeploymentStatusInput {
        repo_owner: key.repo_owner.clone(),
        repo_name: key.repo_name.clone(),
        deployment_id: target.member.deployment_id,
        state: DeploymentState::Inactive,
        log_url: String::new(),
        environment_url: String::new(),
        description: replaced_description(key, by.deployment_id),
        after_status_id: target.status_id,
        auto_inactive: Some(false),
    };
    let posted = ctx
        .execute_activity(
            DeploymentActivities::update_status,
            request,
            activity_options(),
        )
        .await;
    if posted.is_ok() {
        ctx.state_mut(|s| s.state.inactivated += 1);
    }
}

/// The description of a replaced success's `inactive` status.
pub fn replaced_description(key: &LaneKey, by_deployment_id: u64) -> String {
    let text = if key.service.is_empty() {
        format!("Replaced by deployment {by_deployment_id}")
    } else {
        format!(
            "Replaced by deployment {by_deployment_id} of {}",
            key.service
        )
    };
    cut(&text, limits::DESCRIPTION_CHARS)
}
