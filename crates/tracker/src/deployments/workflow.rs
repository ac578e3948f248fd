//! `GitHubDeploymentWorkflow`: one CI/CD deployment, tracked as one GitHub Deployment.
//!
//! Creates the deployment, posts the initial status, then applies each
//! `deployment-status-update` signal in arrival order until a terminal state, or marks the
//! deployment `inactive` when no update arrives within the inactivity timeout.
//!
//! Bounded whatever a pipeline sends: inputs and updates have limits (`model::limits`), the
//! state keeps the newest updates only, and once the history grows long the workflow
//! continues as new, carrying its state ([`Continuation`]) in the new run's input.
//!
//! Behaviour added after histories were recorded in production sits behind `ctx.patched`,
//! so those histories replay unchanged: [`PATCH_LIMITS`], [`PATCH_STRICT_UPDATES`],
//! [`PATCH_CONTINUE_AS_NEW`], [`PATCH_BOUNDED_INBOX`], [`PATCH_LIFECYCLE`], [`PATCH_LEAN`],
//! [`PATCH_ONE_START`].
//!
//! Revisions: which path a run takes is keyed on the start memo's [`REVISION_MEMO_KEY`]
//! (no event), or for a start without it (the `temporal` CLI) on a patch. Revision 3
//! ([`PATCH_ONE_START`]) starts the deployment in one activity, `StartGitHubDeployment` (see
//! [`super::start`]): create, join the lane, post the initial status; revision 2
//! ([`PATCH_LEAN`]) and earlier make those three calls one by one. Revision 4 (the current
//! one) is revision 3 whose workers set `GdtUpdatedAt` with every `GdtState`; this code sets it
//! in every run, whatever its revision.
//!
//! History kept short (revision 2: [`REVISION`] in the start's memo, or [`PATCH_LEAN`]): the
//! lane's join and leave are first tried once as local activities (one marker event, in the
//! workflow task that asked, instead of three events and one more workflow task) and handed
//! to Temporal as ordinary activities when that attempt fails; one inactivity timer is kept
//! across updates instead of being cancelled and started again for each; and `GdtState` is
//! upserted only when it changes, the start call's attributes being kept.
//!
//! GitHub writes stay ordinary activities. A local activity's effect happens before Temporal
//! records the decision that asked for it: when its worker dies before the task completes,
//! the task is decided again, with whatever events arrived since (a `gdt-lifecycle` signal, a
//! timer), and may decide otherwise, leaving on GitHub a status the workflow never recorded
//! (`make chaos` found one such in 250 superseded deployments). Joining and leaving a lane are
//! signals the lane applies once per deployment, and leaving happens after the final status is
//! recorded, so repeating them changes nothing.
//!
//! Lifecycle: once created, the deployment joins its lane (`crate::lanes`): the lane may end
//! it early with the `gdt-lifecycle` signal (superseded), and hears when it ends, so that it
//! can mark the success it replaces inactive.
//!
//! Determinism: this file does no I/O and reads no clock; time comes from
//! `ctx.workflow_time()`, waiting from `ctx.timer` and `ctx.wait_condition`. The one
//! exception is counting metrics through [`super::observe`], which is never read back and
//! counts nothing on replay (`live` is `!ctx.is_replaying_history_events()`).

use std::collections::{HashSet, VecDeque};
use std::pin::Pin;
use std::time::{Duration, SystemTime};

use futures::future::FusedFuture;
use gdt_github::DeploymentState;
use serde::{Deserialize, Serialize};
use temporalio_common::data_converters::TemporalDeserializable;
use temporalio_common::protos::temporal::api::failure::v1::failure::FailureInfo;
use temporalio_common::{ActivityDefinition, RetryPolicy};
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{
    ActivityCloseTimeouts, ActivityExecutionError, ActivityOptions, ApplicationFailure,
    CancellableFuture, ContinueAsNewOptions, LocalActivityOptions, SyncWorkflowContext,
    TimerResult, WorkflowContext, WorkflowContextView, WorkflowResult,
};

use super::activities::{CreateDeploymentInput, DeploymentActivities, UpdateDeploymentStatusInput};
use super::model::{
    cut, limits, payload, AckOutcome, AppliedUpdate, DeploymentStateView, DeploymentStatusUpdate,
    DeploymentWorkflowInput, DeploymentWorkflowResult, LenientStatusUpdate, Lifecycle,
    StatusUpdateAck, UpdateOutcome, UpdateRejection,
};
use super::observe;
use super::start::{InitialPosted, InitialStatus, StartActivities, StartDeploymentInput};
use super::status::{go_duration_string, map_status};
use crate::activity::{failure_message, invalid_input, NON_RETRYABLE_ERROR_TYPES};
use crate::lanes::activities::{JoinLane, LaneActivities, LeaveLane};
use crate::lanes::model::{Inactivation, LaneEvent, LaneKey, LaneTicket, Member};
use crate::search_attributes as sa;

/// The task queue deployments run on by default (`temporal.task_queue`).
pub const TASK_QUEUE: &str = "github-deployment-tracker";
/// The workflow type name, which pipelines start with `temporal workflow start --type`.
pub const WORKFLOW_TYPE: &str = "GitHubDeploymentWorkflow";
/// The signal a pipeline reports a status with (a `DeploymentStatusUpdate`).
pub const STATUS_UPDATE_SIGNAL: &str = "deployment-status-update";
/// The state query name.
pub const STATE_QUERY: &str = "deployment-state";
/// The status-update update name (the signal, with an answer).
pub const STATUS_UPDATE_UPDATE: &str = "submit-status-update";
/// The update that answers with the GitHub deployment id once it exists.
pub const DEPLOYMENT_CREATED_UPDATE: &str = "deployment-created";
/// The signal with which gdt ends a deployment before its pipeline does (a [`Lifecycle`]):
/// a newer deployment of its lane superseded it, or its pull request closed.
pub const LIFECYCLE_SIGNAL: &str = "gdt-lifecycle";

/// Patch: inputs over the limits of `model::limits` fail the workflow before GitHub is called.
pub const PATCH_LIMITS: &str = "gdt-input-limits";
/// Patch: a signal with no status word, an unknown field or a field over its limit is
/// recorded as rejected instead of being posted (as `pending`).
pub const PATCH_STRICT_UPDATES: &str = "gdt-strict-status-updates";
/// Patch: a long history continues as new.
pub const PATCH_CONTINUE_AS_NEW: &str = "gdt-continue-as-new";
/// Patch: past [`limits::PENDING_UPDATES`] waiting updates, the oldest waiting non-terminal
/// one is recorded as `superseded` instead of being posted.
pub const PATCH_BOUNDED_INBOX: &str = "gdt-bounded-inbox";
/// Patch: the deployment joins its lane (repository, environment, service) once created, and
/// leaves it when it ends; its statuses carry the lane's `auto_inactive`.
pub const PATCH_LIFECYCLE: &str = "gdt-lifecycle";
/// Patch: a short history (see the module docs): joining and leaving the lane as local
/// activities, one inactivity timer kept across updates, search attributes upserted only
/// when they change. Implies joining the lane ([`PATCH_LIFECYCLE`] is not asked). Asked
/// only of runs started without [`REVISION_MEMO_KEY`] (the `temporal` CLI): a patch costs
/// two events (its marker, and the `TemporalChangeVersion` attribute the SDK upserts).
pub const PATCH_LEAN: &str = "gdt-lean-history";
/// Patch: revision 3, the short history and a start in one activity (create, join, initial
/// status: `StartGitHubDeployment`). Asked only of runs started without
/// [`REVISION_MEMO_KEY`], before [`PATCH_LEAN`], which revision 2's runs still answer.
pub const PATCH_ONE_START: &str = "gdt-one-start";

/// The memo key under which `DeploymentService::start` says which revision of this workflow
/// it starts ([`REVISION`]): set with the start, it costs no event, and a run that finds it
/// keeps its history short without asking [`PATCH_LEAN`]. Runs started before it existed
/// have no such key, so they replay as they were recorded.
pub const REVISION_MEMO_KEY: &str = "gdt-revision";
/// The revision of this workflow: 4. Revision 3 is the short history of [`PATCH_LEAN`] and
/// the start in one activity of [`PATCH_ONE_START`]; revision 4 runs the same commands, and
/// each state upsert also sets `GdtUpdatedAt` (an attribute's value is not part of what a
/// replay compares, so any revision's runs replay on this code). A start names it only once
/// every worker of the queue runs it ([`super::fleet`]): a worker that knows only revision 2
/// would run such a run as revision 2, and a newer worker could not replay it. The board reads
/// only what changed once every worker runs revision 4 (`crate::board::service`).
pub const REVISION: u32 = 4;

/// The input key under which a run continued as new finds the state of the run before it.
pub const CONTINUATION_KEY: &str = "continued_from";

/// A run continues as new once its history is this long (or Temporal suggests it), between
/// updates. Each update costs about nine events, and Temporal's hard limit is 51,200: a
/// pipeline reporting every second for two hours would pass it in one run. A typical
/// deployment (under 40 events) never gets here.
pub const CONTINUE_AS_NEW_AFTER_EVENTS: u32 = 1_000;

/// What a run hands to the run it continues as: everything the deployment has learned.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Continuation {
    /// The GitHub deployment.
    pub deployment_id: u64,
    /// The last state posted.
    pub current: Option<DeploymentState>,
    /// The state view (bounded).
    pub view: DeploymentStateView,
    /// The newest `event_id`s, oldest first.
    pub event_ids: Vec<String>,
    /// Statuses posted so far.
    pub posted: u32,
    /// The id of the newest status this deployment posted.
    pub last_status_id: Option<u64>,
    /// When the first run started (milliseconds since the Unix epoch).
    pub started_at_ms: Option<u64>,
    /// How many runs came before this one.
    pub runs: u32,
    /// Updates received and not yet posted, oldest first (at most
    /// [`limits::PENDING_UPDATES`]).
    #[serde(default)]
    pub inbox: Vec<Pending>,
    /// The deployment's lane ticket, when it joined one.
    #[serde(default)]
    pub ticket: Option<LaneTicket>,
    /// A lifecycle signal received and not acted on yet.
    #[serde(default)]
    pub lifecycle: Option<Lifecycle>,
    /// The run kept its history short ([`PATCH_LEAN`]): so does the next.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lean: bool,
}

/// A received update waiting to be posted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pending {
    /// The update.
    pub update: DeploymentStatusUpdate,
    /// The GitHub state it maps to.
    pub state: DeploymentState,
    /// When it was received (workflow time).
    pub received_at: String,
}

/// The workflow's state; queries read it, signals append to it.
#[workflow]
#[derive(Default)]
pub struct GitHubDeploymentWorkflow {
    view: DeploymentStateView,
    current: Option<DeploymentState>,
    inbox: VecDeque<Pending>,
    seen_event_ids: HashSet<String>,
    /// `seen_event_ids` in arrival order, so the oldest is forgotten first.
    event_id_order: VecDeque<String>,
    /// The id of the newest status this deployment posted: a retried post compares only
    /// against statuses after it.
    last_status_id: Option<u64>,
    /// A terminal update is waiting in the inbox: the update validator refuses more.
    terminal_queued: bool,
    posted: u32,
    /// The lane the deployment joined and the rules it follows (`None`: no lane, GitHub's
    /// `auto_inactive`).
    ticket: Option<LaneTicket>,
    /// gdt ends this deployment: the next thing posted is the final `inactive`.
    lifecycle: Option<Lifecycle>,
    /// This run keeps its history short ([`PATCH_LEAN`]).
    lean: bool,
}

#[workflow_methods]
impl GitHubDeploymentWorkflow {
    /// Tracks one deployment. The input is taken as raw JSON so that a malformed input fails
    /// the workflow with a message naming the problem instead of failing workflow tasks forever.
    #[run(name = "GitHubDeploymentWorkflow")]
    pub async fn run(
        ctx: &mut WorkflowContext<Self>,
        input: serde_json::Value,
    ) -> WorkflowResult<DeploymentWorkflowResult> {
        let mut input = input;
        let continued: Option<Continuation> = match input.as_object_mut() {
            Some(map) => match map.remove(CONTINUATION_KEY) {
                Some(value) => Some(serde_json::from_value(value).map_err(|e| {
                    invalid_input(format!("invalid {CONTINUATION_KEY} in the input: {e}"))
                })?),
                None => None,
            },
            None => None,
        };
        let input: DeploymentWorkflowInput = serde_json::from_value(input).map_err(|e| {
            invalid_input(format!(
                "invalid deployment input: {e}; see DeploymentWorkflowInput in README"
            ))
        })?;
        input
            .validate_required()
            .map_err(|e| invalid_input(e.to_string()))?;
        if let Err(e) = input.validate_limits() {
            if ctx.patched(PATCH_LIMITS) {
                return Err(invalid_input(e.to_string()).into());
            }
        }
        let input = input.bounded();
        let initial_state = map_status(&input.status).map_err(|e| invalid_input(e.to_string()))?;
        let workflow_id = ctx.workflow_id().to_owned();
        let revision = if continued.as_ref().is_some_and(|c| c.lean) {
            // A continued run only tracks: it needs to know it is lean, nothing more.
            2
        } else if let Ok(Some(revision)) = ctx.memo().get::<u32>(REVISION_MEMO_KEY) {
            revision
        } else if continued.is_none() && ctx.patched(PATCH_ONE_START) {
            REVISION
        } else if ctx.patched(PATCH_LEAN) {
            2
        } else {
            1
        };
        let lean = revision >= 2;
        ctx.state_mut(|s| {
            s.lean = lean;
        });
        if let Some(continued) = continued {
            let (deployment_id, started_at_ms, runs) = (
                continued.deployment_id,
                continued.started_at_ms,
                continued.runs,
            );
            ctx.state_mut(|s| s.restore(continued));
            return track(ctx, input, deployment_id, started_at_ms, runs).await;
        }
        let started = ctx.workflow_time();

        ctx.state_mut(|s| {
            s.view.repository = input.repository();
            s.view.service = input.service.clone();
            s.view.environment = input.environment.clone();
            s.view.commit_sha = input.commit_sha.clone();
            s.view.state = DeploymentState::Pending.as_str().to_owned();
        });
        // The start call sets them (`DeploymentService`); a client that did not (the
        // `temporal` CLI) gets them from the workflow.
        if !lean || !sa::started_with(&ctx.search_attributes(), &input) {
            ctx.upsert_search_attributes(sa::at_start(&input, workflow_now(ctx)));
        }

        let initial = initial_update(&input);
        if revision >= 3 {
            let start = StartDeploymentInput {
                create: create_input(&input, &workflow_id),
                lane: lane_key(&input),
                initial: InitialStatus {
                    state: initial_state,
                    log_url: initial.log_url.clone(),
                    environment_url: initial.environment_url.clone(),
                    description: initial.description.clone(),
                },
            };
            let received_at = timestamp(ctx.workflow_time());
            let begun = ctx
                .execute_activity(StartActivities::start_deployment, start, activity_options())
                .await;
            let live = !ctx.is_replaying_history_events();
            let begun = begun.map_err(|e| not_created(ctx, &input, started, &e))?;
            observe::started(live);
            let deployment_id = begun.deployment_id;
            ctx.state_mut(|s| {
                s.view.deployment_id = Some(deployment_id);
                s.ticket = Some(begun.ticket);
            });
            let outcome = match begun.initial {
                InitialPosted::Posted { status_id } => Ok(status_id),
                InitialPosted::Refused { message } => Err(message),
            };
            let pending = Pending {
                update: initial,
                state: initial_state,
                received_at,
            };
            record_post(ctx, &pending, outcome);
            return track(ctx, input, deployment_id, started.map(millis), 0).await;
        }

        let created = ctx
            .execute_activity(
                DeploymentActivities::create_deployment,
                create_input(&input, &workflow_id),
                activity_options(),
            )
            .await;
        let live = !ctx.is_replaying_history_events();
        let deployment_id = created.map_err(|e| not_created(ctx, &input, started, &e))?;
        observe::started(live);
        ctx.state_mut(|s| s.view.deployment_id = Some(deployment_id));
        if lean || ctx.patched(PATCH_LIFECYCLE) {
            let join = JoinLane {
                key: lane_key(&input),
                workflow_id: workflow_id.clone(),
                deployment_id,
            };
            // Retried for the whole outage budget, so it fails only after that; the
            // deployment is then tracked without a lane, as before lanes existed.
            let joined = if lean {
                locally_then_remotely(ctx, || LaneActivities::join, join).await
            } else {
                ctx.execute_activity(LaneActivities::join, join, activity_options())
                    .await
            };
            if let Ok(ticket) = joined {
                ctx.state_mut(|s| s.ticket = Some(ticket));
            }
        }

        let received_at = timestamp(ctx.workflow_time());
        post(
            ctx,
            &input,
            deployment_id,
            Pending {
                update: initial,
                state: initial_state,
                received_at,
            },
        )
        .await;

        track(ctx, input, deployment_id, started.map(millis), 0).await
    }

    /// Receives a status update from the pipeline. Never fails: an update that cannot be
    /// applied is recorded with the reason, so `deployment-state` shows what happened to it.
    #[signal(name = "deployment-status-update")]
    pub fn status_update(
        &mut self,
        ctx: &mut SyncWorkflowContext<Self>,
        update: serde_json::Value,
    ) {
        let live = !ctx.is_replaying_history_events();
        let received_at = timestamp(ctx.workflow_time());
        let update = match serde_json::from_value::<DeploymentStatusUpdate>(update.clone()) {
            Ok(update) => update,
            Err(strict) => match serde_json::from_value::<LenientStatusUpdate>(update) {
                // Histories from before the strict reading took such an update as it was.
                Ok(lenient) if !ctx.patched(PATCH_STRICT_UPDATES) => lenient.into(),
                Ok(lenient) => {
                    self.record(
                        &lenient.into(),
                        None,
                        received_at,
                        UpdateOutcome::RejectedInvalid,
                        Some(format!("invalid status update: {strict}")),
                        live,
                    );
                    return;
                }
                Err(e) => {
                    self.record(
                        &DeploymentStatusUpdate::default(),
                        None,
                        received_at,
                        UpdateOutcome::RejectedInvalid,
                        Some(format!("invalid status update: {e}")),
                        live,
                    );
                    return;
                }
            },
        };
        if let Err(e) = update.check() {
            if ctx.patched(PATCH_STRICT_UPDATES) {
                self.record(
                    &update,
                    None,
                    received_at,
                    UpdateOutcome::RejectedInvalid,
                    Some(e.to_string()),
                    live,
                );
                return;
            }
        }
        self.receive(update.bounded(), received_at, live);
        self.bound_inbox(ctx);
    }

    /// Refuses, before anything is written to history, an update nobody can apply: an
    /// unknown status word, or any update once the deployment is terminal (or a terminal
    /// update is already queued). A repeated `event_id` passes: the handler answers that it
    /// was already received, so a pipeline retrying its call gets the same answer.
    #[update_validator(submit_status_update)]
    fn validate_submit_status_update(
        &self,
        _ctx: &WorkflowContextView,
        update: &DeploymentStatusUpdate,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        if self.is_duplicate(update) {
            return Ok(());
        }
        update
            .check()
            .map_err(|e| UpdateRejection::Invalid(e.to_string()))?;
        map_status(&update.status).map_err(|e| UpdateRejection::UnknownStatus(e.to_string()))?;
        if let Some(lifecycle) = &self.lifecycle {
            return Err(UpdateRejection::Terminal(format!(
                "the deployment was ended by gdt ({}); start a new deployment to report \
                 another run",
                lifecycle.description()
            ))
            .into());
        }
        if self.is_terminal() || self.terminal_queued {
            return Err(UpdateRejection::Terminal(format!(
                "the deployment has already reached a terminal state ({}); start a new \
                 deployment to report another run",
                self.final_word()
            ))
            .into());
        }
        Ok(())
    }

    /// The same status update as the signal, as a workflow update: the caller learns whether
    /// the workflow took it (the validator's decision) instead of firing and forgetting.
    /// Answers once the update is queued; posting it to GitHub follows in arrival order.
    #[update(name = "submit-status-update")]
    pub fn submit_status_update(
        &mut self,
        ctx: &mut SyncWorkflowContext<Self>,
        update: DeploymentStatusUpdate,
    ) -> StatusUpdateAck {
        let received_at = timestamp(ctx.workflow_time());
        let live = !ctx.is_replaying_history_events();
        let ack = self.receive(update.bounded(), received_at, live);
        self.bound_inbox(ctx);
        ack
    }

    /// Answers with the GitHub deployment id once the workflow has created the deployment.
    /// The API calls it right after starting a workflow, so a pipeline gets the id in the
    /// start response without polling.
    #[update(name = "deployment-created")]
    pub async fn deployment_created(
        ctx: &mut WorkflowContext<Self>,
        _input: (),
    ) -> Result<u64, Box<dyn std::error::Error + Send + Sync>> {
        ctx.wait_condition(|s: &Self| s.view.deployment_id.is_some())
            .await?;
        Ok(ctx.state(|s| s.view.deployment_id).unwrap_or_default())
    }

    /// gdt ends the deployment before its pipeline does: a newer deployment of the same
    /// repository, environment and service superseded it, or its pull request closed. A
    /// running deployment posts one final `inactive` saying why and ends; one that has
    /// already ended records the signal and posts nothing.
    #[signal(name = "gdt-lifecycle")]
    pub fn lifecycle(&mut self, ctx: &mut SyncWorkflowContext<Self>, lifecycle: Lifecycle) {
        let live = !ctx.is_replaying_history_events();
        if self.is_terminal() || self.lifecycle.is_some() {
            let received_at = timestamp(ctx.workflow_time());
            self.record(
                &DeploymentStatusUpdate {
                    status: DeploymentState::Inactive.as_str().to_owned(),
                    description: lifecycle.description(),
                    ..DeploymentStatusUpdate::default()
                },
                Some(DeploymentState::Inactive),
                received_at,
                UpdateOutcome::IgnoredAfterTerminal,
                Some(format!(
                    "{}: the deployment had already ended",
                    lifecycle.description()
                )),
                live,
            );
            return;
        }
        self.lifecycle = Some(lifecycle);
    }

    /// The deployment id, the current state and every update with what became of it.
    #[query(name = "deployment-state")]
    pub fn deployment_state(&self, _ctx: &WorkflowContextView) -> DeploymentStateView {
        self.view.clone()
    }
}

impl GitHubDeploymentWorkflow {
    fn is_terminal(&self) -> bool {
        self.current.is_some_and(|s| s.is_terminal())
    }

    fn is_duplicate(&self, update: &DeploymentStatusUpdate) -> bool {
        update
            .event_id
            .as_ref()
            .is_some_and(|id| !id.is_empty() && self.seen_event_ids.contains(id))
    }

    /// Why an update that arrives now is not posted.
    fn why_ignored(&self) -> String {
        match self.lifecycle.as_ref().or(self.view.ended_by.as_ref()) {
            Some(lifecycle) => format!("not posted: {}", lifecycle.description()),
            None => "the deployment had already reached a terminal state".to_owned(),
        }
    }

    /// The terminal state reached or queued, for messages.
    fn final_word(&self) -> &'static str {
        self.current
            .filter(|s| s.is_terminal())
            .or_else(|| self.inbox.iter().map(|p| p.state).find(|s| s.is_terminal()))
            .map_or("unknown", DeploymentState::as_str)
    }

    /// Takes one update from the signal or the update handler: queues it for posting, or
    /// records why it will not be posted. `live`: see [`observe`].
    fn receive(
        &mut self,
        update: DeploymentStatusUpdate,
        received_at: String,
        live: bool,
    ) -> StatusUpdateAck {
        if let Some(event_id) = update.event_id.as_ref().filter(|id| !id.is_empty()) {
            if !self.remember_event_id(event_id) {
                self.record(
                    &update,
                    None,
                    received_at,
                    UpdateOutcome::DuplicateEvent,
                    Some(format!("event_id {event_id} was already received")),
                    live,
                );
                return StatusUpdateAck::new(AckOutcome::DuplicateEvent, None);
            }
        }
        let state = match map_status(&update.status) {
            Ok(state) => state,
            Err(e) => {
                self.record(
                    &update,
                    None,
                    received_at,
                    UpdateOutcome::RejectedUnknownStatus,
                    Some(e.to_string()),
                    live,
                );
                return StatusUpdateAck::new(AckOutcome::RejectedUnknownStatus, None);
            }
        };
        if self.is_terminal() || self.lifecycle.is_some() {
            self.record(
                &update,
                Some(state),
                received_at,
                UpdateOutcome::IgnoredAfterTerminal,
                Some(self.why_ignored()),
                live,
            );
            return StatusUpdateAck::new(AckOutcome::IgnoredAfterTerminal, Some(state));
        }
        self.terminal_queued |= state.is_terminal();
        self.inbox.push_back(Pending {
            update,
            state,
            received_at,
        });
        StatusUpdateAck::new(AckOutcome::Queued, Some(state))
    }

    /// Keeps at most [`limits::PENDING_UPDATES`] updates waiting (while GitHub is down, say):
    /// the oldest waiting non-terminal update is recorded as `superseded` instead of being
    /// posted. Newer ones say more about the deployment, and a terminal one is never dropped.
    fn bound_inbox(&mut self, ctx: &SyncWorkflowContext<Self>) {
        let live = !ctx.is_replaying_history_events();
        while self.inbox.len() > limits::PENDING_UPDATES && ctx.patched(PATCH_BOUNDED_INBOX) {
            let Some(oldest) = self.inbox.iter().position(|p| !p.state.is_terminal()) else {
                break;
            };
            if let Some(skipped) = self.inbox.remove(oldest) {
                self.record(
                    &skipped.update,
                    Some(skipped.state),
                    skipped.received_at,
                    UpdateOutcome::Superseded,
                    Some(format!(
                        "not posted: more than {} updates were waiting for GitHub; the newer \
                         ones are posted",
                        limits::PENDING_UPDATES
                    )),
                    live,
                );
            }
        }
    }

    /// Remembers `event_id`; `false` when it was already known. Only the newest
    /// [`limits::REMEMBERED_EVENT_IDS`] are kept.
    fn remember_event_id(&mut self, event_id: &str) -> bool {
        if !self.seen_event_ids.insert(event_id.to_owned()) {
            return false;
        }
        self.event_id_order.push_back(event_id.to_owned());
        while self.event_id_order.len() > limits::REMEMBERED_EVENT_IDS {
            if let Some(oldest) = self.event_id_order.pop_front() {
                self.seen_event_ids.remove(&oldest);
            }
        }
        true
    }

    /// Records what became of an update, and counts it unless `live` is false (replay: see
    /// [`observe`]); every outcome of every update is recorded here and only here. The record
    /// is bounded: each field cut to its limit and only the newest
    /// [`limits::RECORDED_UPDATES`] kept.
    /// The newest non-empty link of the statuses GitHub took, else the start's: what the
    /// board links to once the deployment ended.
    fn last_link(&self, link: fn(&AppliedUpdate) -> &String, initial: &str) -> String {
        self.view
            .updates
            .iter()
            .rev()
            .filter(|u| u.outcome == UpdateOutcome::Applied)
            .map(link)
            .find(|l| !l.is_empty())
            .map_or_else(|| initial.to_owned(), Clone::clone)
    }

    fn record(
        &mut self,
        update: &DeploymentStatusUpdate,
        state: Option<DeploymentState>,
        received_at: String,
        outcome: UpdateOutcome,
        detail: Option<String>,
        live: bool,
    ) {
        observe::status_update(live, outcome);
        let update = update.clipped();
        self.view.updates_received += 1;
        self.view.updates.push(AppliedUpdate {
            status: update.status,
            state: state.map(|s| s.as_str().to_owned()),
            description: update.description,
            log_url: update.log_url,
            environment_url: update.environment_url,
            event_id: update.event_id,
            received_at,
            outcome,
            detail: detail.map(|d| cut(&d, limits::RECORDED_TEXT_CHARS)),
        });
        let excess = self
            .view
            .updates
            .len()
            .saturating_sub(limits::RECORDED_UPDATES);
        self.view.updates.drain(..excess);
    }

    /// The state a continued run starts from.
    fn restore(&mut self, continued: Continuation) {
        self.view = continued.view;
        self.current = continued.current;
        self.posted = continued.posted;
        self.last_status_id = continued.last_status_id;
        self.terminal_queued = continued.inbox.iter().any(|p| p.state.is_terminal());
        self.inbox = continued.inbox.into();
        self.ticket = continued.ticket;
        self.lifecycle = continued.lifecycle;
        self.lean = continued.lean;
        for id in continued.event_ids {
            self.remember_event_id(&id);
        }
    }

    /// What the next run needs to go on where this one stops.
    fn continuation(
        &self,
        deployment_id: u64,
        started_at_ms: Option<u64>,
        runs: u32,
    ) -> Continuation {
        Continuation {
            deployment_id,
            current: self.current,
            view: self.view.clone(),
            event_ids: self.event_id_order.iter().cloned().collect(),
            posted: self.posted,
            last_status_id: self.last_status_id,
            started_at_ms,
            runs,
            inbox: self.inbox.iter().cloned().collect(),
            ticket: self.ticket.clone(),
            lifecycle: self.lifecycle.clone(),
            lean: self.lean,
        }
    }
}

/// Applies updates in arrival order until a terminal state or the inactivity timeout, and
/// continues as new between updates once the history is long.
async fn track(
    ctx: &mut WorkflowContext<GitHubDeploymentWorkflow>,
    input: DeploymentWorkflowInput,
    deployment_id: u64,
    started_at_ms: Option<u64>,
    runs: u32,
) -> WorkflowResult<DeploymentWorkflowResult> {
    let ctx: &WorkflowContext<GitHubDeploymentWorkflow> = ctx;
    let lean = ctx.state(|s| s.lean);
    let mut inactivity = Inactivity::new(input.inactivity_timeout(), ctx.workflow_time());
    while !ctx.state(|s| s.is_terminal()) {
        if let Some(lifecycle) = ctx.state(|s| s.lifecycle.clone()) {
            let ending = Pending {
                update: DeploymentStatusUpdate {
                    status: DeploymentState::Inactive.as_str().to_owned(),
                    description: lifecycle.description(),
                    ..DeploymentStatusUpdate::default()
                },
                state: DeploymentState::Inactive,
                received_at: timestamp(ctx.workflow_time()),
            };
            post(ctx, &input, deployment_id, ending).await;
            ctx.state_mut(|s| {
                s.current = Some(DeploymentState::Inactive);
                s.view.terminal = true;
                s.view.ended_by = s.lifecycle.take();
            });
            break;
        }
        // Between two posts nothing is in flight: the pending updates travel in the input.
        let long =
            ctx.history_length() >= CONTINUE_AS_NEW_AFTER_EVENTS || ctx.continue_as_new_suggested();
        if long && ctx.all_handlers_finished() && ctx.patched(PATCH_CONTINUE_AS_NEW) {
            let next = ctx.state(|s| s.continuation(deployment_id, started_at_ms, runs + 1));
            let mut value = serde_json::to_value(&input)
                .map_err(|e| ApplicationFailure::non_retryable(e.to_string()))?;
            value[CONTINUATION_KEY] = serde_json::to_value(next)
                .map_err(|e| ApplicationFailure::non_retryable(e.to_string()))?;
            ctx.continue_as_new(value, ContinueAsNewOptions::default())?;
        }
        if ctx.state(|s| s.inbox.is_empty()) {
            let timed_out = if lean {
                inactivity.wait(ctx).await
            } else {
                let mut timer = std::pin::pin!(ctx.timer(input.inactivity_timeout()));
                let timed_out = temporalio_sdk::workflows::select! {
                    _ = timer.as_mut() => true,
                    _ = ctx.wait_condition(|s: &GitHubDeploymentWorkflow| {
                        !s.inbox.is_empty() || s.lifecycle.is_some()
                    }) => false,
                };
                if !timed_out {
                    // Cancel rather than drop, so the server forgets the timer too.
                    timer.cancel();
                }
                timed_out
            };
            if timed_out {
                observe::inactivity_timeout(!ctx.is_replaying_history_events());
                let timeout = go_duration_string(input.inactivity_timeout());
                let inactive = Pending {
                    update: DeploymentStatusUpdate {
                        status: "inactive".to_owned(),
                        description: format!(
                            "No status update received within {timeout}; marked inactive"
                        ),
                        ..DeploymentStatusUpdate::default()
                    },
                    state: DeploymentState::Inactive,
                    received_at: timestamp(ctx.workflow_time()),
                };
                post(ctx, &input, deployment_id, inactive).await;
                // Whether or not GitHub took it, nobody is reporting any more.
                ctx.state_mut(|s| s.current = Some(DeploymentState::Inactive));
                break;
            }
        }
        if ctx.state(|s| s.lifecycle.is_some()) {
            continue;
        }
        if let Some(next) = ctx.state_mut(|s| s.inbox.pop_front()) {
            post(ctx, &input, deployment_id, next).await;
            inactivity.restart(ctx.workflow_time());
        }
    }
    let live = !ctx.is_replaying_history_events();
    ctx.state_mut(|s| {
        let why = s.why_ignored();
        while let Some(left) = s.inbox.pop_front() {
            s.record(
                &left.update,
                Some(left.state),
                left.received_at,
                UpdateOutcome::IgnoredAfterTerminal,
                Some(why.clone()),
                live,
            );
        }
    });
    leave_lane(ctx, &input, deployment_id).await;

    let finished = ctx.workflow_time();
    let total = elapsed(
        started_at_ms.map(|a| SystemTime::UNIX_EPOCH + Duration::from_millis(a)),
        finished,
    );
    // The state the deployment ended in as the workflow decided it (always terminal here),
    // even when GitHub did not take that last status: the `failed` update counts that.
    let final_word = ctx.state(|s| s.final_word());
    observe::finished(live, final_word, total);
    observe::delivered(
        live,
        &input.environment,
        final_word,
        input.commit_timestamp.as_deref(),
        finished,
    );
    Ok(ctx.state(|s| DeploymentWorkflowResult {
        deployment_id,
        final_status: s.view.state.clone(),
        completed_at: timestamp(finished),
        total_duration: go_duration_string(total),
        status_updates: s.posted,
        ended_by: s.view.ended_by.clone(),
        log_url: s.last_link(|u| &u.log_url, &input.log_url),
        environment_url: s.last_link(|u| &u.environment_url, &input.environment_url),
    }))
}

/// The inactivity timeout of a lean run: one timer, started when the workflow begins to
/// wait and kept across updates, since cancelling and starting one for each update costs two
/// history events. When it fires while updates came in the meantime, it is started again for
/// what is left of the timeout since the last post.
struct Inactivity<'a> {
    timeout: Duration,
    /// When the workflow last finished posting (or started): the timeout counts from there.
    since: Option<SystemTime>,
    timer: Option<Pin<Box<dyn FusedFuture<Output = TimerResult> + 'a>>>,
}

impl<'a> Inactivity<'a> {
    fn new(timeout: Duration, now: Option<SystemTime>) -> Self {
        Self {
            timeout,
            since: now,
            timer: None,
        }
    }

    /// The timeout counts again from `now`; the running timer is kept.
    fn restart(&mut self, now: Option<SystemTime>) {
        self.since = now;
    }

    /// Waits for an update or a lifecycle signal (`false`) or for the timeout (`true`).
    async fn wait(&mut self, ctx: &'a WorkflowContext<GitHubDeploymentWorkflow>) -> bool {
        loop {
            let left = self
                .timeout
                .saturating_sub(elapsed(self.since, ctx.workflow_time()));
            if left.is_zero() {
                return true;
            }
            let mut timer = self
                .timer
                .get_or_insert_with(|| Box::pin(ctx.timer(left)))
                .as_mut();
            let fired = temporalio_sdk::workflows::select! {
                _ = timer => true,
                _ = ctx.wait_condition(|s: &GitHubDeploymentWorkflow| {
                    !s.inbox.is_empty() || s.lifecycle.is_some()
                }) => false,
            };
            if !fired {
                return false;
            }
            self.timer = None;
        }
    }
}

/// The initial status, from the start's input (no status: `pending`).
fn initial_update(input: &DeploymentWorkflowInput) -> DeploymentStatusUpdate {
    DeploymentStatusUpdate {
        status: if input.status.is_empty() {
            "pending".to_owned()
        } else {
            input.status.clone()
        },
        log_url: input.log_url.clone(),
        environment_url: input.environment_url.clone(),
        description: input.description.clone(),
        updated_at: None,
        event_id: None,
    }
}

/// The failure a workflow ends with when its GitHub deployment could not be created (after
/// every retry, or refused for good), counted as `create_failed`.
fn not_created(
    ctx: &WorkflowContext<GitHubDeploymentWorkflow>,
    input: &DeploymentWorkflowInput,
    started: Option<SystemTime>,
    err: &ActivityExecutionError,
) -> ApplicationFailure {
    observe::finished(
        !ctx.is_replaying_history_events(),
        observe::CREATE_FAILED,
        elapsed(started, ctx.workflow_time()),
    );
    ApplicationFailure::non_retryable(format!(
        "could not create the GitHub deployment of {}@{} to {}: {}",
        input.repository(),
        input.commit_sha,
        input.environment,
        failure_message(err)
    ))
}

/// The deployment's lane.
fn lane_key(input: &DeploymentWorkflowInput) -> LaneKey {
    LaneKey {
        repo_owner: input.repo_owner.clone(),
        repo_name: input.repo_name.clone(),
        environment: input.environment.clone(),
        service: input.service.clone(),
    }
}

/// Tells the lane the deployment ended, with the state GitHub last took from it. Without a
/// lane, nothing: the deployment did not join one (an older history, or both rules off).
async fn leave_lane(
    ctx: &WorkflowContext<GitHubDeploymentWorkflow>,
    input: &DeploymentWorkflowInput,
    deployment_id: u64,
) {
    let Some(ticket) = ctx.state(|s| s.ticket.clone()) else {
        return;
    };
    if ticket.lane_id.is_none() {
        return;
    }
    let event = LaneEvent::Ended {
        member: Member {
            workflow_id: ctx.workflow_id().to_owned(),
            deployment_id,
        },
        state: ctx.state(|s| s.view.state.clone()),
        status_id: ctx.state(|s| s.last_status_id),
        inactivate: ticket.settings.inactivation == Inactivation::Gdt,
    };
    let leave = LeaveLane {
        key: lane_key(input),
        settings: ticket.settings,
        event,
    };
    // As for joining: only a Temporal outage longer than the budget fails it, and then the
    // lane simply never hears of this end.
    let _ = if ctx.state(|s| s.lean) {
        locally_then_remotely(ctx, || LaneActivities::leave, leave).await
    } else {
        ctx.execute_activity(LaneActivities::leave, leave, activity_options())
            .await
    };
}

/// Posts one status and records the outcome. A status GitHub does not take after every
/// retry is recorded as `failed` and the deployment goes on: the pipeline's next update
/// still deserves to be posted.
async fn post(
    ctx: &WorkflowContext<GitHubDeploymentWorkflow>,
    input: &DeploymentWorkflowInput,
    deployment_id: u64,
    pending: Pending,
) {
    let request = UpdateDeploymentStatusInput {
        repo_owner: input.repo_owner.clone(),
        repo_name: input.repo_name.clone(),
        deployment_id,
        state: pending.state,
        log_url: pending.update.log_url.clone(),
        environment_url: pending.update.environment_url.clone(),
        description: pending.update.description.clone(),
        after_status_id: ctx.state(|s| s.last_status_id),
        auto_inactive: ctx.state(|s| s.ticket.as_ref().and_then(LaneTicket::auto_inactive)),
    };
    let result = ctx
        .execute_activity(
            DeploymentActivities::update_status,
            request,
            activity_options(),
        )
        .await
        .map_err(|e| failure_message(&e));
    record_post(ctx, &pending, result);
}

/// Records what became of a posted status: GitHub took it (its id) or did not after every
/// retry (the reason), and upserts `GdtState` when the state GitHub holds changed.
fn record_post(
    ctx: &WorkflowContext<GitHubDeploymentWorkflow>,
    pending: &Pending,
    result: Result<u64, String>,
) {
    let lean = ctx.state(|s| s.lean);
    let live = !ctx.is_replaying_history_events();
    match result {
        Ok(status_id) => {
            // `GdtState` holds the state GitHub last took (`pending` until the first post; a
            // run continued as new keeps its attributes), so it changes only when this differs.
            let changed = ctx.state_mut(|s| {
                let changed = s.current.unwrap_or(DeploymentState::Pending) != pending.state;
                s.posted += 1;
                if status_id > 0 {
                    s.last_status_id = Some(status_id);
                }
                s.current = Some(pending.state);
                s.view.state = pending.state.as_str().to_owned();
                s.view.terminal = pending.state.is_terminal();
                s.record(
                    &pending.update,
                    Some(pending.state),
                    pending.received_at.clone(),
                    UpdateOutcome::Applied,
                    None,
                    live,
                );
                changed
            });
            if changed || !lean {
                ctx.upsert_search_attributes(sa::state_changed(pending.state, workflow_now(ctx)));
            }
        }
        Err(e) => {
            ctx.state_mut(|s| {
                // A terminal word still ends tracking: the pipeline is done either way.
                if pending.state.is_terminal() {
                    s.current = Some(pending.state);
                    s.view.terminal = true;
                }
                s.record(
                    &pending.update,
                    Some(pending.state),
                    pending.received_at.clone(),
                    UpdateOutcome::Failed,
                    Some(e),
                    live,
                );
            });
        }
    }
}

fn create_input(input: &DeploymentWorkflowInput, workflow_id: &str) -> CreateDeploymentInput {
    let mut payload = match &input.payload {
        Some(serde_json::Value::Object(map)) => map.clone(),
        _ => serde_json::Map::new(),
    };
    let mut set = |key: &str, value: &str| {
        if !value.is_empty() {
            payload.insert(key.to_owned(), serde_json::Value::String(value.to_owned()));
        }
    };
    set("harness_pipeline_id", &input.harness_pipeline_id);
    set("harness_execution_id", &input.harness_execution_id);
    set("branch_name", &input.branch_name);
    set(payload::TRIGGERED_BY, payload::GDT);
    set(payload::WORKFLOW_ID, workflow_id);
    set(payload::SERVICE, &input.service);
    CreateDeploymentInput {
        repo_owner: input.repo_owner.clone(),
        repo_name: input.repo_name.clone(),
        commit_sha: input.commit_sha.clone(),
        environment: input.environment.clone(),
        task: input.task().to_owned(),
        description: input.description.clone(),
        is_transient: input.is_transient,
        production_environment: input.is_production(),
        payload: serde_json::Value::Object(payload),
        workflow_id: workflow_id.to_owned(),
    }
}

/// How long the activities keep retrying a GitHub that fails or is down, in all.
pub const GITHUB_OUTAGE_BUDGET: Duration = Duration::from_secs(30 * 60);

/// How long one attempt of an activity may take.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);

/// Activity options: at most [`ATTEMPT_TIMEOUT`] per attempt (each GitHub request has its
/// own 30 s timeout; an attempt whose worker died is retried after that), backoff from 1 s,
/// doubling, at most 30 s between attempts, and validation and authentication errors never
/// retried ([`NON_RETRYABLE_ERROR_TYPES`]). Retries are bounded by time, not by count: they
/// go on for [`GITHUB_OUTAGE_BUDGET`], so a GitHub outage of a few minutes loses no
/// deployment and no status; retried attempts check what already landed before writing, so
/// more attempts cost no duplicates. No heartbeats: every heartbeat is a write in Temporal,
/// and the attempt's own timeout already notices a worker that died.
pub(crate) fn activity_options() -> ActivityOptions {
    ActivityOptions::with_close_timeouts(ActivityCloseTimeouts::ScheduleAndStartToClose {
        schedule_to_close: GITHUB_OUTAGE_BUDGET,
        start_to_close: ATTEMPT_TIMEOUT,
    })
    .retry_policy(retry_policy())
    .build()
}

/// How long the one local attempt of a call may take. A local activity holds its workflow
/// task open (10 s by default, and Temporal fails a task that buffers more than 100 signals
/// meanwhile), so it gets one short attempt; a call that fails or is slow is handed to
/// Temporal as an ordinary activity with the whole retry budget.
pub const LOCAL_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// The options of the local attempt: one, within [`LOCAL_ATTEMPT_TIMEOUT`].
fn local_activity_options() -> LocalActivityOptions {
    LocalActivityOptions::builder()
        .retry_policy(
            RetryPolicy::builder()
                .maximum_attempts(1)
                .non_retryable_error_types(NON_RETRYABLE_ERROR_TYPES)
                .build(),
        )
        .schedule_to_close_timeout(LOCAL_ATTEMPT_TIMEOUT)
        .start_to_close_timeout(LOCAL_ATTEMPT_TIMEOUT)
        .build()
}

/// Runs `activity` once as a local activity (one marker event when it succeeds), and when
/// that attempt fails for a reason worth retrying (Temporal slow or down), as an ordinary
/// activity with [`activity_options`]: Temporal then retries it for the whole outage budget
/// without holding a workflow task open. Only for calls that repeating changes nothing (see
/// the module docs).
async fn locally_then_remotely<AD>(
    ctx: &WorkflowContext<GitHubDeploymentWorkflow>,
    activity: impl Fn() -> AD,
    input: AD::Input,
) -> Result<AD::Output, ActivityExecutionError>
where
    AD: ActivityDefinition,
    AD::Input: Clone,
    AD::Output: TemporalDeserializable,
{
    match ctx
        .execute_local_activity(activity(), input.clone(), local_activity_options())
        .await
    {
        Err(e) if !is_final(&e) => {
            ctx.execute_activity(activity(), input, activity_options())
                .await
        }
        done => done,
    }
}

/// Whether an activity failure is one no retry can change: the activity said so
/// (non-retryable), or its type is one of [`NON_RETRYABLE_ERROR_TYPES`].
fn is_final(err: &ActivityExecutionError) -> bool {
    let mut failure = err.failure();
    while let Some(f) = failure {
        if let Some(FailureInfo::ApplicationFailureInfo(info)) = &f.failure_info {
            if info.non_retryable || NON_RETRYABLE_ERROR_TYPES.contains(&info.r#type.as_str()) {
                return true;
            }
        }
        failure = f.cause.as_deref();
    }
    false
}

fn retry_policy() -> RetryPolicy {
    RetryPolicy::builder()
        .initial_interval(Duration::from_secs(1))
        .backoff_coefficient(2.0)
        .maximum_interval(Duration::from_secs(30))
        .maximum_attempts(0)
        .non_retryable_error_types(NON_RETRYABLE_ERROR_TYPES)
        .build()
}

/// Workflow time from `from` to `to` (zero when either is unknown, or time went back).
fn elapsed(from: Option<SystemTime>, to: Option<SystemTime>) -> Duration {
    match (from, to) {
        (Some(a), Some(b)) => b.duration_since(a).unwrap_or_default(),
        _ => Duration::ZERO,
    }
}

fn millis(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The workflow's time, for `GdtUpdatedAt` (the epoch when the SDK has none, which it always
/// has once a task runs).
fn workflow_now(ctx: &WorkflowContext<GitHubDeploymentWorkflow>) -> SystemTime {
    ctx.workflow_time().unwrap_or(SystemTime::UNIX_EPOCH)
}

fn timestamp(t: Option<SystemTime>) -> String {
    t.map(|t| {
        chrono::DateTime::<chrono::Utc>::from(t)
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    })
    .unwrap_or_default()
}
