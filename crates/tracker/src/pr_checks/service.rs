//! Starting the pull-request checks for a PR head, as the webhook receiver does.
//!
//! One workflow per check and PR (`plugin-validation-{owner}-{repo}-{pr}`,
//! `version-validation-{owner}-{repo}-{pr}`), and the head SHA it judges in its memo:
//! - the head it already judges (a redelivery, or `reopened` on the same commit): nothing new;
//! - a newer head: a new run, terminating a run still working on an older head (the newest head
//!   wins; activities also re-check the head before writing, for races with runs already past
//!   this point).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use temporalio_client::errors::{WorkflowInteractionError, WorkflowStartError};
use temporalio_client::{
    Client, RetryOptions, RpcOptions, WorkflowDescribeOptions, WorkflowExecutionStatus,
    WorkflowIdConflictPolicy, WorkflowIdReusePolicy, WorkflowStartOptions,
};
use temporalio_common::MemoValues;

use super::model::{
    plugin_workflow_id, version_workflow_id, PluginUpdateValidationInput, VersionValidationInput,
};
use super::workflows::{PluginUpdateValidationWorkflow, VersionValidationWorkflow};
use crate::deployments::ServiceError;

/// The memo key holding the head SHA a check run judges.
pub const HEAD_SHA_MEMO: &str = "head_sha";

/// A PR head to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequestHead {
    /// Repository owner.
    pub owner: String,
    /// Repository name.
    pub repo: String,
    /// Pull request number.
    pub number: u64,
    /// Head commit.
    pub head_sha: String,
    /// Head branch.
    pub head_ref: String,
    /// Base branch.
    pub base_ref: String,
}

/// What happened to one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckStart {
    /// The workflow id.
    pub workflow_id: String,
    /// The run judging this head.
    pub run_id: String,
    /// `started`, `replaced` (an older head's run was terminated) or `unchanged` (a run for
    /// this head already exists; nothing started).
    pub outcome: String,
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

    /// Starts both checks for `head` (see the module docs for when nothing starts).
    pub async fn start(&self, head: &PullRequestHead) -> Result<Vec<CheckStart>, ServiceError> {
        let plugin_id = plugin_workflow_id(&head.owner, &head.repo, head.number);
        let version_id = version_workflow_id(&head.owner, &head.repo, head.number);
        let plugin = PluginUpdateValidationInput {
            owner: head.owner.clone(),
            repo: head.repo.clone(),
            pr_number: head.number,
            base_branch: head.base_ref.clone(),
            head_branch: head.head_ref.clone(),
            head_sha: head.head_sha.clone(),
        };
        let version = VersionValidationInput {
            owner: head.owner.clone(),
            repo: head.repo.clone(),
            pr_number: head.number,
            head_sha: head.head_sha.clone(),
        };
        let mut started = Vec::new();
        match self.current(&plugin_id, &head.head_sha).await? {
            Current::SameHead(run_id) => started.push(unchanged(plugin_id, run_id)),
            current => {
                let options = self.options(&plugin_id, &head.head_sha);
                let result = self
                    .bounded(self.client.start_workflow(
                        PluginUpdateValidationWorkflow::run,
                        plugin,
                        options,
                    ))
                    .await?;
                started.push(outcome(
                    plugin_id,
                    &current,
                    result.map(|h| h.run_id().map(str::to_owned)),
                )?);
            }
        }
        match self.current(&version_id, &head.head_sha).await? {
            Current::SameHead(run_id) => started.push(unchanged(version_id, run_id)),
            current => {
                let options = self.options(&version_id, &head.head_sha);
                let result = self
                    .bounded(self.client.start_workflow(
                        VersionValidationWorkflow::run,
                        version,
                        options,
                    ))
                    .await?;
                started.push(outcome(
                    version_id,
                    &current,
                    result.map(|h| h.run_id().map(str::to_owned)),
                )?);
            }
        }
        Ok(started)
    }

    fn options(&self, workflow_id: &str, head_sha: &str) -> WorkflowStartOptions {
        let mut memo = MemoValues::new();
        memo.insert(HEAD_SHA_MEMO, head_sha.to_owned());
        WorkflowStartOptions::new(self.task_queue.clone(), workflow_id.to_owned())
            .id_conflict_policy(WorkflowIdConflictPolicy::TerminateExisting)
            .id_reuse_policy(WorkflowIdReusePolicy::AllowDuplicate)
            .execution_timeout(Duration::from_secs(30 * 60))
            .memo(memo)
            .rpc_options(self.rpc_options())
            .build()
    }

    /// The latest run of `workflow_id` and whether it judges `head_sha`.
    async fn current(&self, workflow_id: &str, head_sha: &str) -> Result<Current, ServiceError> {
        let handle = self
            .client
            .get_workflow_handle::<PluginUpdateValidationWorkflow>(workflow_id.to_owned());
        let options = WorkflowDescribeOptions::builder()
            .rpc_options(self.rpc_options())
            .build();
        match self.bounded(handle.describe(options)).await? {
            Ok(description) => {
                let judged: Option<String> = description.memo().get(HEAD_SHA_MEMO).ok().flatten();
                let run_id = description.run_id().to_owned();
                let running = description.status() == WorkflowExecutionStatus::Running;
                Ok(match judged {
                    Some(sha) if sha == head_sha => Current::SameHead(run_id),
                    _ if running => Current::OlderRunning,
                    _ => Current::None,
                })
            }
            Err(WorkflowInteractionError::NotFound(_)) => Ok(Current::None),
            Err(WorkflowInteractionError::Rpc(status)) => Err(unavailable(status.message())),
            Err(e) => Err(ServiceError::Temporal(e.to_string())),
        }
    }

    fn rpc_options(&self) -> RpcOptions {
        RpcOptions::builder()
            .timeout(self.call_timeout)
            .retry_options(
                RetryOptions::builder()
                    .max_elapsed_time(Some(self.call_timeout))
                    .max_interval(Duration::from_millis(500))
                    .build(),
            )
            .build()
    }

    async fn bounded<T>(
        &self,
        call: impl std::future::Future<Output = T>,
    ) -> Result<T, ServiceError> {
        tokio::time::timeout(self.call_timeout, call)
            .await
            .map_err(|_| {
                unavailable(&format!(
                    "Temporal did not answer within {:?}",
                    self.call_timeout
                ))
            })
    }
}

enum Current {
    /// A run exists for this very head.
    SameHead(String),
    /// A run for another head is still working.
    OlderRunning,
    /// Nothing running (never started, or finished with another head).
    None,
}

fn unchanged(workflow_id: String, run_id: String) -> CheckStart {
    CheckStart {
        workflow_id,
        run_id,
        outcome: "unchanged".to_owned(),
    }
}

fn outcome(
    workflow_id: String,
    current: &Current,
    result: Result<Option<String>, WorkflowStartError>,
) -> Result<CheckStart, ServiceError> {
    match result {
        Ok(run_id) => Ok(CheckStart {
            workflow_id,
            run_id: run_id.unwrap_or_default(),
            outcome: match current {
                Current::OlderRunning => "replaced",
                _ => "started",
            }
            .to_owned(),
        }),
        // Another delivery started it between our describe and our start.
        Err(WorkflowStartError::AlreadyStarted { run_id, .. }) => Ok(CheckStart {
            workflow_id,
            run_id: run_id.unwrap_or_default(),
            outcome: "unchanged".to_owned(),
        }),
        Err(WorkflowStartError::Rpc(status)) => Err(unavailable(status.message())),
        Err(e) => Err(ServiceError::Temporal(e.to_string())),
    }
}

fn unavailable(detail: &str) -> ServiceError {
    ServiceError::Unavailable(format!("Temporal is unavailable ({detail}); retry later"))
}
