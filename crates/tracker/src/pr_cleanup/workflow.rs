//! `PullRequestCleanupWorkflow`: ends a closed pull request's preview deployments.
//!
//! One workflow per pull request (`pr-cleanup-{owner}/{repo}#{number}`), started by the
//! webhook with `UseExisting` and `AllowDuplicate`: a redelivery, or the same delivery
//! reaching several servers, finds the running one; a later one runs again and finds nothing
//! left to do (deployments already `inactive` are read, not written).
//!
//! 1. `FindPreviewDeploymentsActivity` reads the settings and what matches (see `matching`).
//! 2. Each matched deployment that a gdt tracker may still be writing to (its payload's
//!    `workflow_id`) is signalled `gdt-lifecycle` `PullRequestClosed`: a running tracker posts
//!    the one final `inactive` itself and ends, so each deployment has one writer. A signal
//!    Temporal refuses (no such workflow, or it has closed) means no tracker runs.
//! 3. The other deployments, one at a time: `inactive` unless already so, then deleted when
//!    `delete_deployments` is on (GitHub deletes only inactive ones: a 422 gets one more
//!    `inactive` and one more try).
//! 4. The tracked ones: their tracker is waited for (polled, up to [`TRACKER_WAIT`]); one that
//!    ended without posting `inactive` (it had already finished) leaves it to this workflow.
//!    Then deleted when configured.
//! 5. With `delete_environments`, the pattern-named environments that held a match.
//!
//! Writes are serial, each in its own activity, with a `write_interval` timer between two of
//! them: GitHub asks for a second between mutating requests to stay under its secondary rate
//! limits. What could not be done is reported in the result's `leftovers`; the workflow still
//! completes. Past [`CONTINUE_AS_NEW_AFTER_EVENTS`] history events it continues as new with
//! the work left. Determinism: no I/O and no clock here; every call is an activity or a
//! timer.

use std::time::Duration;

use temporalio_common::RetryPolicy;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{
    ActivityExecutionError, ActivityOptions, ApplicationFailure, ContinueAsNewOptions,
    SignalWorkflowOptions, WorkflowContext, WorkflowResult,
};

use super::activities::{
    DeleteDeploymentInput, DeleteEnvironmentInput, Deleted, InactivateInput, Inactivated,
    PrCleanupActivities,
};
use super::model::{
    validate, ClosedPullRequest, Leftover, LeftoverKind, Preview, Progress,
    PullRequestCleanupInput, PullRequestCleanupResult,
};
use crate::activity::{failure_message, invalid_input, NON_RETRYABLE_ERROR_TYPES};
use crate::deployments::{GitHubDeploymentWorkflow, Lifecycle};

/// History events after which the workflow continues as new with the work left.
pub const CONTINUE_AS_NEW_AFTER_EVENTS: u32 = 2_000;

/// How long a tracker asked to end its deployment is waited for before the deployment is
/// reported as a leftover.
pub const TRACKER_WAIT: Duration = Duration::from_secs(10 * 60);

/// The longest pause between two looks at a tracker.
const MAX_POLL_INTERVAL: Duration = Duration::from_secs(30);

/// Ends a closed pull request's preview deployments.
#[workflow]
#[derive(Default)]
pub struct PullRequestCleanupWorkflow {}

#[workflow_methods]
impl PullRequestCleanupWorkflow {
    /// Cleans up until nothing is left, or what is left is reported.
    #[run(name = "PullRequestCleanupWorkflow")]
    pub async fn run(
        ctx: &mut WorkflowContext<Self>,
        input: PullRequestCleanupInput,
    ) -> WorkflowResult<PullRequestCleanupResult> {
        validate(&input.pull_request).map_err(invalid_input)?;
        let pr = input.pull_request.clone();
        let view: &WorkflowContext<Self> = ctx;
        let mut progress = match input.continued {
            Some(progress) => progress,
            None => match begin(view, &pr).await? {
                Some(progress) => progress,
                None => {
                    return Ok(PullRequestCleanupResult {
                        disabled: true,
                        ..PullRequestCleanupResult::default()
                    })
                }
            },
        };
        let mut cleanup = Cleanup {
            ctx: view,
            pr: &pr,
            progress: &mut progress,
        };
        loop {
            if cleanup.ctx.history_length() >= CONTINUE_AS_NEW_AFTER_EVENTS
                || cleanup.ctx.continue_as_new_suggested()
            {
                let next = PullRequestCleanupInput {
                    pull_request: pr.clone(),
                    continued: Some(cleanup.progress.clone()),
                };
                ctx.continue_as_new(next, ContinueAsNewOptions::default())?;
                unreachable!("continue_as_new returns only errors");
            }
            if !cleanup.next().await {
                break;
            }
        }
        Ok(progress.result)
    }
}

/// Reads what to end and signals the running trackers; `None` when the worker has the
/// clean-up disabled.
async fn begin(
    ctx: &WorkflowContext<PullRequestCleanupWorkflow>,
    pr: &ClosedPullRequest,
) -> WorkflowResult<Option<Progress>> {
    let found = ctx
        .execute_activity(PrCleanupActivities::find_previews, pr.clone(), options())
        .await
        .map_err(|e| {
            ApplicationFailure::new(format!(
                "could not list the pull request's deployments: {}",
                failure_message(&e)
            ))
        })?;
    if !found.settings.enabled {
        return Ok(None);
    }
    let mut untracked = Vec::new();
    let mut tracked = Vec::new();
    for preview in found.previews.iter().cloned() {
        let Some(tracker) = preview.tracker.clone() else {
            untracked.push(preview);
            continue;
        };
        let signal = Lifecycle::PullRequestClosed { number: pr.number };
        let sent = ctx
            .external_workflow(tracker, None)
            .signal(
                GitHubDeploymentWorkflow::lifecycle,
                signal,
                SignalWorkflowOptions::default(),
            )
            .await;
        match sent {
            Ok(()) => tracked.push(preview),
            // No such workflow, or it has closed: nobody else writes to this deployment.
            Err(_) => untracked.push(Preview {
                tracker: None,
                ..preview
            }),
        }
    }
    let environments = if found.settings.delete_environments {
        found.environments
    } else {
        Vec::new()
    };
    Ok(Some(Progress {
        result: PullRequestCleanupResult {
            matched: found.previews.len() as u64,
            ..PullRequestCleanupResult::default()
        },
        settings: found.settings,
        untracked,
        tracked,
        environments,
        wrote_last: false,
    }))
}

/// One run's view of the clean-up: the work left, and how each piece is done.
struct Cleanup<'a> {
    ctx: &'a WorkflowContext<PullRequestCleanupWorkflow>,
    pr: &'a ClosedPullRequest,
    progress: &'a mut Progress,
}

impl Cleanup<'_> {
    /// Does the next piece of work; false when none is left.
    async fn next(&mut self) -> bool {
        if let Some(preview) = self.progress.untracked.first().cloned() {
            self.end_untracked(&preview).await;
            self.progress.untracked.remove(0);
        } else if let Some(preview) = self.progress.tracked.first().cloned() {
            self.end_tracked(&preview).await;
            self.progress.tracked.remove(0);
        } else if let Some(environment) = self.progress.environments.first().cloned() {
            self.delete_environment(&environment).await;
            self.progress.environments.remove(0);
        } else {
            return false;
        }
        true
    }

    /// A deployment nobody else writes to: `inactive`, then deleted when configured.
    async fn end_untracked(&mut self, preview: &Preview) {
        match self.inactivate(preview.deployment_id, None).await {
            Ok(Inactivated::Posted) => self.progress.result.inactivated += 1,
            Ok(Inactivated::AlreadyInactive) => self.progress.result.already_inactive += 1,
            Ok(Inactivated::Gone) => {
                self.progress.result.already_inactive += 1;
                return;
            }
            Ok(Inactivated::TrackerRunning) => unreachable!("no tracker was named"),
            Err(e) => return self.leftover_deployment(preview, &e),
        }
        self.delete_deployment(preview).await;
    }

    /// A deployment whose tracker was asked to end it: waited for; if the tracker ended
    /// without marking it `inactive`, marked here. Then deleted when configured.
    async fn end_tracked(&mut self, preview: &Preview) {
        let mut waited = Duration::ZERO;
        let mut pause = self
            .progress
            .settings
            .write_interval()
            .max(Duration::from_millis(100));
        loop {
            match self
                .inactivate(preview.deployment_id, preview.tracker.clone())
                .await
            {
                Ok(Inactivated::TrackerRunning) if waited >= TRACKER_WAIT => {
                    let tracker = preview.tracker.clone().unwrap_or_default();
                    return self.leftover(
                        LeftoverKind::Deployment,
                        preview.deployment_id.to_string(),
                        format!(
                            "its tracker {tracker:?} was still running after {}s",
                            TRACKER_WAIT.as_secs()
                        ),
                    );
                }
                Ok(Inactivated::TrackerRunning) => {
                    self.ctx.timer(pause).await;
                    waited += pause;
                    pause = (pause * 2).min(MAX_POLL_INTERVAL);
                }
                Ok(Inactivated::AlreadyInactive) => {
                    self.progress.result.inactivated_by_tracker += 1;
                    break;
                }
                Ok(Inactivated::Posted) => {
                    self.progress.result.inactivated += 1;
                    break;
                }
                Ok(Inactivated::Gone) => {
                    self.progress.result.already_inactive += 1;
                    return;
                }
                Err(e) => return self.leftover_deployment(preview, &e),
            }
        }
        self.delete_deployment(preview).await;
    }

    /// Deletes a deployment when configured; a 422 (not inactive: someone posted a status
    /// since) gets one more `inactive` and one more try.
    async fn delete_deployment(&mut self, preview: &Preview) {
        if !self.progress.settings.delete_deployments {
            return;
        }
        for attempt in 0..2 {
            self.pace().await;
            let input = DeleteDeploymentInput {
                owner: self.pr.owner.clone(),
                repo: self.pr.repo.clone(),
                deployment_id: preview.deployment_id,
            };
            let deleted = self
                .ctx
                .execute_activity(PrCleanupActivities::delete_deployment, input, options())
                .await;
            self.progress.wrote_last = true;
            match deleted {
                Ok(Deleted::Deleted | Deleted::AlreadyGone) => {
                    self.progress.result.deployments_deleted += 1;
                    return;
                }
                Ok(Deleted::NotInactive { .. }) if attempt == 0 => {
                    if let Err(e) = self.inactivate(preview.deployment_id, None).await {
                        return self.leftover_deployment(preview, &e);
                    }
                }
                Ok(Deleted::NotInactive { message }) => {
                    return self.leftover(
                        LeftoverKind::Deployment,
                        preview.deployment_id.to_string(),
                        format!("GitHub would not delete it: {message}"),
                    )
                }
                Err(e) => return self.leftover_deployment(preview, &e),
            }
        }
    }

    /// Deletes an environment named by a pattern.
    async fn delete_environment(&mut self, environment: &str) {
        self.pace().await;
        let input = DeleteEnvironmentInput {
            owner: self.pr.owner.clone(),
            repo: self.pr.repo.clone(),
            environment: environment.to_owned(),
        };
        let deleted = self
            .ctx
            .execute_activity(PrCleanupActivities::delete_environment, input, options())
            .await;
        self.progress.wrote_last = true;
        match deleted {
            Ok(_) => self.progress.result.environments_deleted += 1,
            Err(e) => self.leftover(
                LeftoverKind::Environment,
                environment.to_owned(),
                failure_message(&e),
            ),
        }
    }

    /// Runs `InactivatePreviewActivity` (which may write), after the pause a write needs.
    async fn inactivate(
        &mut self,
        deployment_id: u64,
        tracker: Option<String>,
    ) -> Result<Inactivated, ActivityExecutionError> {
        self.pace().await;
        let input = InactivateInput {
            owner: self.pr.owner.clone(),
            repo: self.pr.repo.clone(),
            number: self.pr.number,
            deployment_id,
            tracker,
        };
        let outcome = self
            .ctx
            .execute_activity(PrCleanupActivities::inactivate, input, options())
            .await;
        // A failed attempt may have written before failing: pace as if it had.
        self.progress.wrote_last = outcome.as_ref().map_or(true, |o| o.wrote());
        outcome
    }

    /// Waits `write_interval` when the last activity that could write did.
    async fn pace(&mut self) {
        if self.progress.wrote_last {
            self.ctx
                .timer(self.progress.settings.write_interval())
                .await;
            self.progress.wrote_last = false;
        }
    }

    fn leftover_deployment(&mut self, preview: &Preview, e: &ActivityExecutionError) {
        self.leftover(
            LeftoverKind::Deployment,
            preview.deployment_id.to_string(),
            failure_message(e),
        );
    }

    fn leftover(&mut self, kind: LeftoverKind, name: String, reason: String) {
        self.progress
            .result
            .leftovers
            .push(Leftover { kind, name, reason });
    }
}

/// Short calls to GitHub: 1 min per attempt, 1 s → 60 s backoff, 6 attempts (a rate limit's
/// wait is GitHub's); validation and authentication errors are not retried.
fn options() -> ActivityOptions {
    ActivityOptions::with_start_to_close_timeout(Duration::from_secs(60))
        .retry_policy(
            RetryPolicy::builder()
                .initial_interval(Duration::from_secs(1))
                .backoff_coefficient(2.0)
                .maximum_interval(Duration::from_secs(60))
                .maximum_attempts(6)
                .non_retryable_error_types(NON_RETRYABLE_ERROR_TYPES)
                .build(),
        )
        .build()
}
