//! `ExternalDeploymentWorkflow`: watches one GitHub deployment that someone else created
//! (a GitHub Actions job with `environment:`, a hosting provider's app), so that one left
//! queued, pending or in progress when its job was cancelled does not stay so forever.
//!
//! Every `deployment` and `deployment_status` delivery signal-with-starts it with
//! `observed`; it keeps the newest observation by status id, so deliveries may come in any
//! order, late, or more than once. A terminal state ends it with nothing posted, and so does
//! a state GitHub holds (`waiting`). Otherwise, once `inactivity_timeout` has passed since the
//! newest observation arrived, the one activity re-reads GitHub's newest status (a missed
//! delivery must not make it post) and posts one `inactive` only if the deployment still runs
//! with no newer status.
//!
//! Determinism: this file does no I/O and reads no clock; waiting is `ctx.timer` and
//! `ctx.wait_condition`, and every decision is a pure function of `model`.

use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{
    CancellableFuture, ContinueAsNewOptions, SyncWorkflowContext, WorkflowContext, WorkflowResult,
};

use super::activities::{ExternalActivities, MarkSilentInput, MarkSilentOutcome};
use super::model::{
    classify, is_newer, silent_description, Ending, ExternalDeploymentInput,
    ExternalDeploymentResult, Observed, StateClass,
};
use crate::activity::failure_message;
use crate::deployments::model::Lifecycle;
use crate::deployments::workflow::activity_options;
use crate::lanes::activities::{JoinLane, LeaveLane};
use crate::lanes::{Inactivation, LaneActivities, LaneEvent, Member};

/// A run continues as new once its history is this long (or Temporal suggests it): each
/// observation costs about six events, so a job reporting every minute for six hours would
/// pass it.
pub const CONTINUE_AS_NEW_AFTER_EVENTS: u32 = 1_000;

/// The watcher's state: the newest observation, and how many newer ones arrived.
#[workflow]
#[derive(Default)]
pub struct ExternalDeploymentWorkflow {
    latest: Option<Observed>,
    /// Bumped by every observation newer than `latest`: the wait restarts when it moves.
    changes: u64,
    /// A newer deployment of the lane superseded this one (`external.lifecycle`).
    lifecycle: Option<Lifecycle>,
}

#[workflow_methods]
impl ExternalDeploymentWorkflow {
    /// Watches the deployment until it ends on its own or is marked inactive. With a lane
    /// (`external.lifecycle`), the deployment joins it first and leaves it at the end, as gdt's
    /// own deployments do, so the lane's superseding and inactivation apply to it.
    #[run(name = "ExternalDeploymentWorkflow")]
    pub async fn run(
        ctx: &mut WorkflowContext<Self>,
        input: ExternalDeploymentInput,
    ) -> WorkflowResult<ExternalDeploymentResult> {
        let mut input = input;
        if let (Some(lane), None) = (input.lane.clone(), input.ticket.as_ref()) {
            let join = JoinLane {
                key: lane,
                workflow_id: ctx.workflow_id().to_owned(),
                deployment_id: input.deployment_id,
            };
            // Fails only after a Temporal outage longer than the budget: then no lane.
            input.ticket = ctx
                .execute_activity(LaneActivities::join, join, activity_options())
                .await
                .ok();
        }
        let result = watch(ctx, &input).await?;
        leave_lane(ctx, &input, &result).await;
        Ok(result)
    }

    /// A delivery about the deployment: kept when it is newer than what is known.
    #[signal(name = "observed")]
    pub fn observed(&mut self, _ctx: &mut SyncWorkflowContext<Self>, observed: Observed) {
        if is_newer(self.latest.as_ref(), &observed) {
            self.take(observed);
        }
    }

    /// The lane ends the deployment: a newer one of the same repository, environment and
    /// service started. The watcher posts one `inactive` saying so, unless the deployment
    /// reports a newer status first.
    #[signal(name = "gdt-lifecycle")]
    pub fn lifecycle(&mut self, _ctx: &mut SyncWorkflowContext<Self>, lifecycle: Lifecycle) {
        self.lifecycle.get_or_insert(lifecycle);
    }
}

/// Watches until the deployment ends on its own, goes silent, or is superseded.
async fn watch(
    ctx: &mut WorkflowContext<ExternalDeploymentWorkflow>,
    input: &ExternalDeploymentInput,
) -> WorkflowResult<ExternalDeploymentResult> {
    if let Some(latest) = input.latest.clone() {
        ctx.state_mut(|s| s.take(latest));
    }
    let timeout = input.inactivity_timeout();
    let description = silent_description(timeout);
    loop {
        // A run signal-with-started has its signal by now; one started by hand waits as
        // for a deployment created with no status.
        let (latest, seen) = ctx.state(|s| {
            (
                s.latest.clone().unwrap_or_else(Observed::created),
                s.changes,
            )
        });
        match classify(&latest.state) {
            StateClass::Terminal => return Ok(result(input, Ending::Finished, latest)),
            StateClass::Held => return Ok(result(input, Ending::Held, latest)),
            StateClass::Running => {}
        }
        let long =
            ctx.history_length() >= CONTINUE_AS_NEW_AFTER_EVENTS || ctx.continue_as_new_suggested();
        if long && ctx.all_handlers_finished() {
            let next = ExternalDeploymentInput {
                latest: Some(latest.clone()),
                ..input.clone()
            };
            ctx.continue_as_new(next, ContinueAsNewOptions::default())?;
        }
        let superseded = ctx.state(|s| s.lifecycle.clone());
        let timed_out = superseded.is_some() || {
            let mut timer = std::pin::pin!(ctx.timer(timeout));
            let timed_out = temporalio_sdk::workflows::select! {
                _ = timer.as_mut() => true,
                _ = ctx.wait_condition(|s: &ExternalDeploymentWorkflow| {
                    s.changes != seen || s.lifecycle.is_some()
                }) => false,
            };
            if !timed_out {
                // Cancel rather than drop, so the server forgets the timer too.
                timer.cancel();
            }
            timed_out
        };
        // An observation that arrived with the timer still counts.
        if !timed_out || ctx.state(|s| s.changes) != seen {
            continue;
        }
        let request = MarkSilentInput {
            owner: input.owner.clone(),
            repo: input.repo.clone(),
            deployment_id: input.deployment_id,
            last_seen_status_id: latest.status_id,
            description: superseded
                .as_ref()
                .map_or_else(|| description.clone(), Lifecycle::description),
        };
        let marked = if superseded.is_some() {
            Ending::Superseded
        } else {
            Ending::MarkedInactive
        };
        let outcome = ctx
            .execute_activity(
                ExternalActivities::mark_silent_inactive,
                request,
                activity_options(),
            )
            .await;
        match outcome {
            Ok(MarkSilentOutcome::Marked { status_id }) => {
                let inactive = Observed {
                    state: "inactive".to_owned(),
                    status_id,
                };
                return Ok(result(input, marked, inactive));
            }
            // GitHub's word wins over ours: taken even when its id is not larger.
            Ok(MarkSilentOutcome::Reported(observed)) => ctx.state_mut(|s| s.take(observed)),
            Ok(MarkSilentOutcome::Gone) => return Ok(result(input, Ending::Gone, latest)),
            Err(e) => {
                let mut failed = result(input, Ending::PostFailed, latest);
                failed.error = failure_message(&e);
                return Ok(failed);
            }
        }
    }
}

/// Tells the lane the deployment ended, with its last state. A deployment GitHub holds
/// (`waiting`) stays in the lane: its next status starts a new watcher, whose end counts.
async fn leave_lane(
    ctx: &mut WorkflowContext<ExternalDeploymentWorkflow>,
    input: &ExternalDeploymentInput,
    result: &ExternalDeploymentResult,
) {
    let (Some(key), Some(ticket)) = (input.lane.clone(), input.ticket.clone()) else {
        return;
    };
    if ticket.lane_id.is_none() || result.ending == Ending::Held {
        return;
    }
    let leave = LeaveLane {
        key,
        settings: ticket.settings,
        event: LaneEvent::Ended {
            member: Member {
                workflow_id: ctx.workflow_id().to_owned(),
                deployment_id: input.deployment_id,
            },
            state: result.final_state.clone(),
            status_id: (result.status_id > 0).then_some(result.status_id),
            inactivate: ticket.settings.inactivation == Inactivation::Gdt,
        },
    };
    // Fails only after a Temporal outage longer than the budget: the lane never hears of it.
    let _ = ctx
        .execute_activity(LaneActivities::leave, leave, activity_options())
        .await;
}

impl ExternalDeploymentWorkflow {
    fn take(&mut self, observed: Observed) {
        self.latest = Some(observed);
        self.changes += 1;
    }
}

fn result(
    input: &ExternalDeploymentInput,
    ending: Ending,
    last: Observed,
) -> ExternalDeploymentResult {
    ExternalDeploymentResult {
        deployment_id: input.deployment_id,
        ending,
        final_state: last.state,
        status_id: last.status_id,
        error: String::new(),
    }
}
