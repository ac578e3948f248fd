//! Starting the pull-request checks for a PR, as the webhook receiver does.
//!
//! One workflow per check and PR (`plugin-validation-{owner}/{repo}#{pr}`,
//! `version-validation-{owner}/{repo}#{pr}`), never terminated by a delivery. Each delivery
//! signal-with-starts it with `recheck`: a running check looks at the PR again once its current
//! pass is done, and when none runs one starts. The check judges the head GitHub says the PR
//! has, not the delivery's, so deliveries may arrive in any order and any number of times:
//! redelivering is always safe.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use temporalio_client::errors::WorkflowStartError;
use temporalio_client::{
    Client, WorkflowIdConflictPolicy, WorkflowIdReusePolicy, WorkflowStartOptions,
};

use super::model::{
    plugin_workflow_id, validate_repository, version_workflow_id, PluginUpdateValidationInput,
    PullRequest, Recheck, VersionValidationInput,
};
use super::workflows::{PluginUpdateValidationWorkflow, VersionValidationWorkflow};
use crate::service::{rpc_options, ServiceError};

/// A PR head to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequestHead {
    /// Repository owner.
    pub owner: String,
    /// Repository name.
    pub repo: String,
    /// Pull request number.
    pub number: u64,
    /// Head commit (where the check's first pass starts; it reports GitHub's current head).
    pub head_sha: String,
    /// Head branch.
    pub head_ref: String,
    /// Base branch.
    pub base_ref: String,
}

/// The two checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// `PluginUpdateValidationWorkflow`.
    PluginUpdateValidation,
    /// `VersionValidationWorkflow`.
    VersionValidation,
}

impl Check {
    /// Both checks, in the order they are reported.
    pub const ALL: [Check; 2] = [Check::PluginUpdateValidation, Check::VersionValidation];

    /// The check's workflow type.
    pub fn workflow_type(self) -> &'static str {
        match self {
            Check::PluginUpdateValidation => "PluginUpdateValidationWorkflow",
            Check::VersionValidation => "VersionValidationWorkflow",
        }
    }

    /// The check's workflow id for a PR.
    pub fn workflow_id(self, owner: &str, repo: &str, number: u64) -> String {
        match self {
            Check::PluginUpdateValidation => plugin_workflow_id(owner, repo, number),
            Check::VersionValidation => version_workflow_id(owner, repo, number),
        }
    }
}

/// A check a delivery started or asked to look again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckStart {
    /// The workflow id.
    pub workflow_id: String,
    /// The run that will report the PR's current head.
    pub run_id: String,
    /// Always [`CheckOutcome::Checking`].
    pub outcome: CheckOutcome,
}

/// What became of a check a delivery asked for, in the webhook's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckOutcome {
    /// A run judges the PR's current head: it was started, or was running and will look
    /// again once its current pass is done.
    Checking,
    /// The check was not started; the answer says why.
    NotStarted,
}

/// Starts the checks on `task_queue`.
#[derive(Clone)]
pub struct PrCheckService {
    client: Client,
    task_queue: String,
    call_timeout: Duration,
}

impl PrCheckService {
    /// A service bounded by `call_timeout` per Temporal call.
    pub fn new(client: Client, task_queue: impl Into<String>, call_timeout: Duration) -> Self {
        Self {
            client,
            task_queue: task_queue.into(),
            call_timeout,
        }
    }

    /// Starts `check` for `head`'s PR, or asks its running workflow to look again.
    ///
    /// Errors: [`ServiceError::InvalidInput`] when the repository or PR cannot exist on
    /// GitHub or Temporal refuses the request as invalid (redelivering cannot help);
    /// [`ServiceError::Unavailable`] when Temporal does not answer in time (redelivering
    /// is safe and will start it).
    pub async fn start(
        &self,
        check: Check,
        head: &PullRequestHead,
    ) -> Result<CheckStart, ServiceError> {
        validate_repository(&head.owner, &head.repo).map_err(ServiceError::InvalidInput)?;
        if head.number == 0 || head.head_sha.trim().is_empty() {
            return Err(ServiceError::InvalidInput(
                "the pull request has no number or no head commit".to_owned(),
            ));
        }
        let workflow_id = check.workflow_id(&head.owner, &head.repo, head.number);
        let options = self.options(&workflow_id);
        let recheck = Recheck {
            head_sha: head.head_sha.clone(),
        };
        let pull_request = PullRequest {
            owner: head.owner.clone(),
            repo: head.repo.clone(),
            pr_number: head.number,
        };
        let started = match check {
            Check::PluginUpdateValidation => {
                let input = PluginUpdateValidationInput {
                    pull_request: pull_request.clone(),
                    base_branch: head.base_ref.clone(),
                    head_branch: head.head_ref.clone(),
                    head_sha: head.head_sha.clone(),
                };
                self.bounded(self.client.signal_with_start_workflow(
                    PluginUpdateValidationWorkflow::run,
                    input,
                    PluginUpdateValidationWorkflow::recheck,
                    recheck,
                    options,
                ))
                .await?
                .map(|h| h.run_id().map(str::to_owned))
            }
            Check::VersionValidation => {
                let input = VersionValidationInput {
                    pull_request,
                    head_sha: head.head_sha.clone(),
                };
                self.bounded(self.client.signal_with_start_workflow(
                    VersionValidationWorkflow::run,
                    input,
                    VersionValidationWorkflow::recheck,
                    recheck,
                    options,
                ))
                .await?
                .map(|h| h.run_id().map(str::to_owned))
            }
        };
        match started {
            Ok(run_id) => Ok(CheckStart {
                workflow_id,
                run_id: run_id.unwrap_or_default(),
                outcome: CheckOutcome::Checking,
            }),
            Err(e) => Err(start_error(&workflow_id, e)),
        }
    }

    fn options(&self, workflow_id: &str) -> WorkflowStartOptions {
        WorkflowStartOptions::new(self.task_queue.clone(), workflow_id.to_owned())
            // A running check is signalled, never replaced; a finished one is started again.
            .id_conflict_policy(WorkflowIdConflictPolicy::UseExisting)
            .id_reuse_policy(WorkflowIdReusePolicy::AllowDuplicate)
            .run_timeout(Duration::from_secs(30 * 60))
            .rpc_options(rpc_options(self.call_timeout))
            .build()
    }

    async fn bounded<T>(
        &self,
        call: impl std::future::Future<Output = T>,
    ) -> Result<T, ServiceError> {
        crate::service::within(self.call_timeout, call).await
    }
}

/// Sorts a refused start: what retrying cannot fix is invalid input, the rest is Temporal
/// being unavailable.
pub(crate) fn start_error(workflow_id: &str, e: WorkflowStartError) -> ServiceError {
    match e {
        WorkflowStartError::Rpc(status) if is_permanent(status.code()) => {
            ServiceError::InvalidInput(format!(
                "Temporal refused to start {workflow_id:?}: {}; redelivering cannot help",
                status.message()
            ))
        }
        WorkflowStartError::Rpc(status) => ServiceError::unavailable(status.message()),
        e => ServiceError::Temporal(e.to_string()),
    }
}

fn is_permanent(code: tonic::Code) -> bool {
    matches!(
        code,
        tonic::Code::InvalidArgument | tonic::Code::FailedPrecondition | tonic::Code::OutOfRange
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_outcomes_serialise_to_their_words() {
        assert_eq!(
            serde_json::to_value(CheckOutcome::Checking).unwrap(),
            "checking"
        );
        assert_eq!(
            serde_json::to_value(CheckOutcome::NotStarted).unwrap(),
            "not_started"
        );
    }

    #[test]
    fn what_temporal_refuses_as_invalid_is_not_retry_later() {
        let too_long = WorkflowStartError::Rpc(tonic::Status::invalid_argument(
            "WorkflowId exceeds maximum allowed length (1002/1000)",
        ));
        let ServiceError::InvalidInput(detail) = start_error("plugin-validation-x/y#1", too_long)
        else {
            panic!("not invalid input");
        };
        assert!(
            detail.contains("WorkflowId exceeds maximum allowed length"),
            "{detail}"
        );
        let down = WorkflowStartError::Rpc(tonic::Status::unavailable("connection refused"));
        assert!(matches!(
            start_error("x", down),
            ServiceError::Unavailable(_)
        ));
    }
}
