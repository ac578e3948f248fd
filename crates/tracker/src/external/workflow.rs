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
use crate::deployments::workflow::activity_options;

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
}

#[workflow_methods]
impl ExternalDeploymentWorkflow {
    /// Watches the deployment until it ends on its own or is marked inactive.
    #[run(name = "ExternalDeploymentWorkflow")]
    pub async fn run(
        ctx: &mut WorkflowContext<Self>,
        input: ExternalDeploymentInput,
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
                StateClass::Terminal => return Ok(result(&input, Ending::Finished, latest)),
                StateClass::Held => return Ok(result(&input, Ending::Held, latest)),
                StateClass::Running => {}
            }
            let long = ctx.history_length() >= CONTINUE_AS_NEW_AFTER_EVENTS
                || ctx.continue_as_new_suggested();
            if long && ctx.all_handlers_finished() {
                let next = ExternalDeploymentInput {
                    latest: Some(latest.clone()),
                    ..input.clone()
                };
                ctx.continue_as_new(next, ContinueAsNewOptions::default())?;
            }
            let timed_out = {
                let mut timer = std::pin::pin!(ctx.timer(timeout));
                let timed_out = temporalio_sdk::workflows::select! {
                    _ = timer.as_mut() => true,
                    _ = ctx.wait_condition(|s: &Self| s.changes != seen) => false,
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
                description: description.clone(),
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
                    return Ok(result(&input, Ending::MarkedInactive, inactive));
                }
                // GitHub's word wins over ours: taken even when its id is not larger.
                Ok(MarkSilentOutcome::Reported(observed)) => ctx.state_mut(|s| s.take(observed)),
                Ok(MarkSilentOutcome::Gone) => return Ok(result(&input, Ending::Gone, latest)),
                Err(e) => {
                    let mut failed = result(&input, Ending::PostFailed, latest);
                    failed.error = failure_message(&e);
                    return Ok(failed);
                }
            }
        }
    }

    /// A delivery about the deployment: kept when it is newer than what is known.
    #[signal(name = "observed")]
    pub fn observed(&mut self, _ctx: &mut SyncWorkflowContext<Self>, observed: Observed) {
        if is_newer(self.latest.as_ref(), &observed) {
            self.take(observed);
        }
    }
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
