//! The watcher's one activity: once a deployment of someone else's has been silent for the
//! timeout, read GitHub's newest status and post `inactive` only if it is still running.
//!
//! Read and post are one activity so that a retried attempt starts from what GitHub shows:
//! if an earlier attempt's `inactive` landed (its answer lost), the read finds it and nothing
//! is posted again ([`check_silence`]). Each attempt costs one GET, and one POST only when
//! the deployment is still silent.

use std::sync::Arc;

use gdt_github::{DeploymentState, NewDeploymentStatus};
use serde::{Deserialize, Serialize};
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

use super::model::{check_silence, SilenceCheck};
use crate::activity::{in_activity_span, inline_wait_budget, to_activity_error};

/// Input of `MarkSilentDeploymentInactive`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkSilentInput {
    /// Repository owner.
    pub owner: String,
    /// Repository name.
    pub repo: String,
    /// The GitHub deployment id.
    pub deployment_id: u64,
    /// The id of the newest status the watcher saw (`0`: none).
    pub last_seen_status_id: u64,
    /// The description of the `inactive` status.
    pub description: String,
}

/// What the activity found, and did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum MarkSilentOutcome {
    /// It posted `inactive` (or found the one an earlier attempt posted).
    Marked {
        /// The status id.
        status_id: u64,
    },
    /// GitHub shows a status the watcher had not seen: nothing was posted.
    Reported(super::model::Observed),
    /// The deployment no longer exists (404): nothing was posted.
    Gone,
}

/// The activities of `ExternalDeploymentWorkflow`.
pub struct ExternalActivities {
    github: gdt_github::Client,
}

impl ExternalActivities {
    /// Activities that use `github` (the worker's one client) for every call.
    pub fn new(github: gdt_github::Client) -> Self {
        Self { github }
    }
}

#[activities]
impl ExternalActivities {
    /// Reads the deployment's newest status and, when it is still the running one the
    /// watcher last saw, posts `inactive` with `auto_inactive: false` (marking this
    /// deployment must not touch any other).
    ///
    /// Failures: GitHub's refusals of the request or the credentials are not retried
    /// (`ValidationError`, `AuthenticationError`); 5xx, rate limits and broken connections
    /// are. A 404 on the read is [`MarkSilentOutcome::Gone`], not a failure.
    #[activity(name = "MarkSilentDeploymentInactive")]
    pub async fn mark_silent_inactive(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: MarkSilentInput,
    ) -> Result<MarkSilentOutcome, ActivityError> {
        in_activity_span(&ctx, self.mark(&ctx, input)).await
    }
}

impl ExternalActivities {
    async fn mark(
        &self,
        ctx: &ActivityContext,
        input: MarkSilentInput,
    ) -> Result<MarkSilentOutcome, ActivityError> {
        let github = self.github.with_max_inline_wait(inline_wait_budget(ctx));
        let (owner, repo, id) = (&input.owner, &input.repo, input.deployment_id);
        let newest = match github.latest_deployment_status(owner, repo, id).await {
            Ok(newest) => newest,
            Err(gdt_github::Error::NotFound { .. }) => {
                tracing::info!(
                    deployment_id = id,
                    "the deployment is gone; nothing to mark"
                );
                return Ok(MarkSilentOutcome::Gone);
            }
            Err(e) => return Err(to_activity_error(&e)),
        };
        let seen = newest.as_ref().map(|s| {
            (
                s.id,
                s.state.as_str(),
                s.description.as_deref().unwrap_or(""),
            )
        });
        match check_silence(input.last_seen_status_id, seen, &input.description) {
            SilenceCheck::AlreadyMarked { status_id } => {
                tracing::info!(
                    deployment_id = id,
                    status_id,
                    "an earlier attempt already marked the deployment inactive"
                );
                Ok(MarkSilentOutcome::Marked { status_id })
            }
            SilenceCheck::Reported(observed) => {
                tracing::info!(
                    deployment_id = id,
                    state = %observed.state,
                    status_id = observed.status_id,
                    "the deployment reported since; not marking it"
                );
                Ok(MarkSilentOutcome::Reported(observed))
            }
            SilenceCheck::Post => {
                let status = NewDeploymentStatus {
                    description: Some(input.description.clone()),
                    auto_inactive: Some(false),
                    ..NewDeploymentStatus::new(DeploymentState::Inactive)
                };
                let posted = github
                    .create_deployment_status(owner, repo, id, &status)
                    .await
                    .map_err(|e| to_activity_error(&e))?;
                tracing::info!(
                    deployment_id = id,
                    repository = %format!("{owner}/{repo}"),
                    status_id = posted.id,
                    "marked a silent deployment inactive"
                );
                Ok(MarkSilentOutcome::Marked {
                    status_id: posted.id,
                })
            }
        }
    }
}
