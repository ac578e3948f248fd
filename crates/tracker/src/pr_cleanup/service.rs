//! Starting a pull request's clean-up, as the webhook receiver does.
//!
//! `start` with `UseExisting` and `AllowDuplicate`: a redelivered `closed` delivery, or one
//! that reached several API servers, finds the clean-up already running and starts nothing
//! more; one arriving after it finished runs it again, which finds the deployments already
//! `inactive` (or deleted) and writes nothing.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use temporalio_client::{
    Client, WorkflowIdConflictPolicy, WorkflowIdReusePolicy, WorkflowStartOptions,
};

use super::model::{validate, workflow_id, ClosedPullRequest, PullRequestCleanupInput};
use super::workflow::PullRequestCleanupWorkflow;
use crate::pr_checks::service::start_error;
use crate::service::{rpc_options, ServiceError};

/// The clean-up a delivery started, or found running.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CleanupStart {
    /// `pr-cleanup-{owner}/{repo}#{number}`.
    pub workflow_id: String,
    /// The run that cleans up.
    pub run_id: String,
}

/// Starts clean-ups on `task_queue`.
#[derive(Clone)]
pub struct PrCleanupService {
    client: Client,
    task_queue: String,
    call_timeout: Duration,
}

impl PrCleanupService {
    /// A service bounded by `call_timeout` per Temporal call.
    pub fn new(client: Client, task_queue: impl Into<String>, call_timeout: Duration) -> Self {
        Self {
            client,
            task_queue: task_queue.into(),
            call_timeout,
        }
    }

    /// Starts the clean-up of `pr`, or finds it running.
    ///
    /// Errors: [`ServiceError::InvalidInput`] when the repository or pull request cannot exist
    /// or Temporal refuses the start as invalid (redelivering cannot help);
    /// [`ServiceError::Unavailable`] when Temporal does not answer in time (redelivering is
    /// safe).
    pub async fn start(&self, pr: &ClosedPullRequest) -> Result<CleanupStart, ServiceError> {
        validate(pr).map_err(ServiceError::InvalidInput)?;
        let id = workflow_id(&pr.owner, &pr.repo, pr.number);
        let options = WorkflowStartOptions::new(self.task_queue.clone(), id.clone())
            // A running clean-up is found, never replaced; a finished one runs again.
            .id_conflict_policy(WorkflowIdConflictPolicy::UseExisting)
            .id_reuse_policy(WorkflowIdReusePolicy::AllowDuplicate)
            .rpc_options(rpc_options(self.call_timeout))
            .build();
        let input = PullRequestCleanupInput {
            pull_request: pr.clone(),
            continued: None,
        };
        let started = crate::service::within(
            self.call_timeout,
            self.client
                .start_workflow(PullRequestCleanupWorkflow::run, input, options),
        )
        .await?;
        match started {
            Ok(handle) => Ok(CleanupStart {
                workflow_id: id,
                run_id: handle.run_id().unwrap_or_default().to_owned(),
            }),
            Err(e) => Err(start_error(&id, e)),
        }
    }
}
