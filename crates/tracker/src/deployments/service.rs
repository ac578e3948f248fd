//! Deployments as a client of Temporal sees them: start one, report a status, read its
//! state, list them. The HTTP API and `gdt track` both go through here, so they make the same
//! calls and give the same answers.
//!
//! Every call is bounded by [`DeploymentService::call_timeout`]: when Temporal (or a worker,
//! for queries and updates) does not answer in time the caller gets
//! [`ServiceError::Unavailable`], never a hang.

use std::future::Future;
use std::time::{Duration, SystemTime};

use futures::StreamExt as _;
use serde::{Deserialize, Serialize};
use temporalio_client::errors::{
    WorkflowInteractionError, WorkflowQueryError, WorkflowStartError, WorkflowUpdateError,
};
use temporalio_client::{
    Client, HistoryEventFilterType, RpcOptions, WorkflowDescribeOptions,
    WorkflowExecuteUpdateOptions, WorkflowExecutionStatus, WorkflowFetchHistoryOptions,
    WorkflowGetResultOptions, WorkflowIdConflictPolicy, WorkflowIdReusePolicy, WorkflowListOptions,
    WorkflowQueryOptions, WorkflowSignalOptions, WorkflowStartOptions,
};
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;
use temporalio_common::search_attributes::SearchAttributes;

use super::fleet::FleetRevision;
use super::model::{
    AckOutcome, DeploymentStateView, DeploymentStatusUpdate, DeploymentWorkflowInput,
    StatusUpdateAck, UpdateRejection,
};
use super::workflow::{self, GitHubDeploymentWorkflow, WORKFLOW_TYPE};
use crate::search_attributes as sa;
use crate::service::{
    from_client_error, from_status, is_timeout, no_retries_after, rpc_options, ServiceError,
};

/// Starts, updates, reads and lists deployment workflows.
#[derive(Clone)]
pub struct DeploymentService {
    client: Client,
    task_queue: String,
    execution_timeout: Duration,
    call_timeout: Duration,
    /// The workflow revision the queue's workers all run (see [`super::fleet`]).
    fleet: FleetRevision,
}

/// What [`DeploymentService::start`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    /// The workflow id.
    pub workflow_id: String,
    /// The run id of the workflow tracking the deployment.
    pub run_id: String,
    /// `true` when this call started the workflow, `false` when it already existed.
    pub created: bool,
}

/// Filters of [`DeploymentService::list`]; `None` matches everything.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// `owner/name`.
    pub repository: Option<String>,
    /// The environment.
    pub environment: Option<String>,
    /// The GitHub state (`pending`, `in_progress`, `success`, …).
    pub state: Option<String>,
    /// The service.
    pub service: Option<String>,
    /// At most this many, newest first.
    pub limit: usize,
}

impl ListFilter {
    /// Whether a listed deployment has every value this filter asks for.
    pub fn matches(&self, row: &ListedDeployment) -> bool {
        [
            (&self.repository, &row.repository),
            (&self.environment, &row.environment),
            (&self.state, &row.state),
            (&self.service, &row.service),
        ]
        .into_iter()
        .all(|(wanted, got)| wanted.is_none() || wanted == got)
    }
}

/// One deployment workflow as visibility lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ListedDeployment {
    /// The workflow id.
    pub workflow_id: String,
    /// The run id.
    pub run_id: String,
    /// Temporal's status of the workflow: `running`, `completed`, `failed`, `timed_out`, …
    pub workflow_status: String,
    /// When the workflow started (RFC 3339).
    pub started_at: Option<String>,
    /// When the workflow closed (RFC 3339), if it did.
    pub closed_at: Option<String>,
    /// `owner/name`.
    pub repository: Option<String>,
    /// The environment.
    pub environment: Option<String>,
    /// The commit SHA.
    pub commit_sha: Option<String>,
    /// The GitHub state last posted.
    pub state: Option<String>,
    /// The service, when the deployment names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

/// A deployment as the API and `gdt track show` present it: the workflow's own view
/// (`deployment-state`) and whether the workflow is still running, and if it ended without
/// completing, why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeploymentDetails {
    /// The workflow's view of the deployment.
    #[serde(flatten)]
    pub view: DeploymentStateView,
    /// Temporal's status of the workflow: `running`, `completed`, `failed`, `terminated`,
    /// `timed_out`, `canceled`. Anything but `running` means nothing more will be posted.
    pub workflow_status: String,
    /// Why the workflow ended without completing (`failed`, `terminated`, `timed_out`,
    /// `canceled`): the failure message, or the reason given for a termination.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl DeploymentDetails {
    /// The workflow has ended: nothing more will be posted.
    pub fn finished(&self) -> bool {
        self.workflow_status != "running"
    }
}

/// What [`DeploymentService::start_and_wait`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartOutcome {
    /// The workflow started, or found.
    pub started: Started,
    /// The GitHub deployment id, when it exists within the wait.
    pub deployment_id: Option<u64>,
    /// Temporal's status of the workflow (`running` unless it was found closed).
    pub workflow_status: String,
    /// Why the workflow ended without completing, when it did.
    pub error: Option<String>,
}

/// What became of the GitHub deployment a start asked for, as far as known within a wait.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Creation {
    /// The GitHub deployment exists.
    Created(u64),
    /// Not yet: the workflow is still creating it (GitHub slow, or no worker yet).
    Pending,
    /// The workflow ended; `deployment_id` when it had created one before.
    Ended {
        /// The GitHub deployment, if one was created.
        deployment_id: Option<u64>,
        /// Temporal's status of the workflow.
        workflow_status: String,
        /// Why it ended without completing.
        error: Option<String>,
    },
}

impl DeploymentService {
    /// A service starting workflows on `task_queue` with `execution_timeout`, giving each
    /// Temporal call at most `call_timeout`.
    pub fn new(
        client: Client,
        task_queue: impl Into<String>,
        execution_timeout: Duration,
        call_timeout: Duration,
    ) -> Self {
        let task_queue = task_queue.into();
        Self {
            fleet: FleetRevision::new(client.clone(), task_queue.clone(), call_timeout),
            client,
            task_queue,
            execution_timeout,
            call_timeout,
        }
    }

    /// The Temporal client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// How long one call may take.
    pub fn call_timeout(&self) -> Duration {
        self.call_timeout
    }

    /// Starts tracking a deployment, or finds the workflow already tracking it.
    ///
    /// A workflow id is never reused, not even after the workflow closed: a pipeline retrying
    /// its start call reaches the same workflow and no second GitHub deployment is created.
    /// An existing workflow with this id that tracks another repository, commit or
    /// environment is a [`ServiceError::Conflict`].
    pub async fn start(
        &self,
        input: &DeploymentWorkflowInput,
        workflow_id: &str,
    ) -> Result<Started, ServiceError> {
        input
            .validate()
            .map_err(|e| ServiceError::InvalidInput(e.to_string()))?;
        validate_workflow_id(workflow_id)?;
        let input = &input.clone().bounded();
        let attributes = SearchAttributes::new(sa::at_start(input, SystemTime::now()));
        // What the board shows and visibility does not index, set with the start: no event.
        let mut memo = temporalio_common::MemoValues::new();
        memo.insert(
            crate::board::MEMO_KEY,
            crate::board::BoardMemo::at_start(input),
        );
        // The newest revision every worker of the queue runs; none: the run asks the patches.
        if let Some(revision) = self.fleet.revision().await {
            memo.insert(workflow::REVISION_MEMO_KEY, revision);
        }
        let options = WorkflowStartOptions::new(self.task_queue.clone(), workflow_id.to_owned())
            .memo(memo)
            .execution_timeout(self.execution_timeout)
            .id_conflict_policy(WorkflowIdConflictPolicy::Fail)
            .id_reuse_policy(WorkflowIdReusePolicy::RejectDuplicate)
            .search_attributes(attributes)
            .rpc_options(self.rpc_options())
            .build();
        let payload = serde_json::to_value(input)
            .map_err(|e| ServiceError::InvalidInput(format!("invalid deployment input: {e}")))?;
        let started = self
            .bounded("start the deployment workflow", async {
                self.client
                    .start_workflow(GitHubDeploymentWorkflow::run, payload, options)
                    .await
            })
            .await?;
        match started {
            Ok(handle) => Ok(Started {
                workflow_id: workflow_id.to_owned(),
                run_id: handle.run_id().unwrap_or_default().to_owned(),
                created: true,
            }),
            Err(WorkflowStartError::AlreadyStarted { .. }) => {
                self.existing(input, workflow_id).await
            }
            Err(WorkflowStartError::Rpc(status)) => Err(from_status(&status)),
            Err(e) => Err(ServiceError::InvalidInput(e.to_string())),
        }
    }

    /// The workflow already using `workflow_id`, when it tracks the same deployment.
    async fn existing(
        &self,
        input: &DeploymentWorkflowInput,
        workflow_id: &str,
    ) -> Result<Started, ServiceError> {
        let description = self.describe(workflow_id).await?;
        let info = description
            .raw_description
            .workflow_execution_info
            .unwrap_or_default();
        let attrs = info
            .search_attributes
            .as_ref()
            .map(SearchAttributes::from_proto)
            .unwrap_or_default();
        let same = attrs.get(&sa::REPOSITORY).as_deref() == Some(input.repository().as_str())
            && attrs.get(&sa::ENVIRONMENT).as_deref() == Some(input.environment.as_str())
            && attrs.get(&sa::COMMIT_SHA).as_deref() == Some(input.commit_sha.as_str())
            && attrs.get(&sa::SERVICE).unwrap_or_default() == input.service;
        if !same {
            return Err(ServiceError::Conflict(format!(
                "workflow id {workflow_id:?} already tracks {}@{} to {}; choose another \
                 workflow_id (or leave it out) for {}@{} to {}",
                attrs.get(&sa::REPOSITORY).unwrap_or_default(),
                attrs.get(&sa::COMMIT_SHA).unwrap_or_default(),
                attrs.get(&sa::ENVIRONMENT).unwrap_or_default(),
                input.repository(),
                input.commit_sha,
                input.environment,
            )));
        }
        Ok(Started {
            workflow_id: workflow_id.to_owned(),
            run_id: info.execution.map(|e| e.run_id).unwrap_or_default(),
            created: false,
        })
    }

    /// [`Self::start`], then waits at most `wait` for the GitHub deployment id. A workflow
    /// found closed (a repeated start of a finished deployment) answers with its deployment
    /// id and how it ended; one that ended without creating the deployment (GitHub refused
    /// it: an unknown ref, bad credentials) is [`ServiceError::NotCreated`].
    pub async fn start_and_wait(
        &self,
        input: &DeploymentWorkflowInput,
        workflow_id: &str,
        wait: Duration,
    ) -> Result<StartOutcome, ServiceError> {
        let started = self.start(input, workflow_id).await?;
        let running = |deployment_id| StartOutcome {
            started: started.clone(),
            deployment_id,
            workflow_status: "running".to_owned(),
            error: None,
        };
        Ok(match self.creation(workflow_id, wait).await {
            Creation::Created(id) => running(Some(id)),
            Creation::Pending => running(None),
            Creation::Ended {
                deployment_id: None,
                workflow_status,
                error,
            } if workflow_status != "completed" => {
                return Err(ServiceError::NotCreated {
                    workflow_id: workflow_id.to_owned(),
                    workflow_status,
                    reason: error.unwrap_or_else(|| "no reason recorded".to_owned()),
                })
            }
            Creation::Ended {
                deployment_id,
                workflow_status,
                error,
            } => StartOutcome {
                started,
                deployment_id,
                workflow_status,
                error,
            },
        })
    }

    /// Waits at most `wait` for the workflow to have created the GitHub deployment. A
    /// workflow that has ended is [`Creation::Ended`], with the deployment id when there is
    /// one.
    async fn creation(&self, workflow_id: &str, wait: Duration) -> Creation {
        if let Some(id) = self.deployment_id(workflow_id, wait).await {
            return Creation::Created(id);
        }
        let Ok(description) = self.describe(workflow_id).await else {
            return Creation::Pending;
        };
        let status = description.status();
        if status == WorkflowExecutionStatus::Running {
            return Creation::Pending;
        }
        let (deployment_id, error) = self.ended(workflow_id, status).await;
        Creation::Ended {
            deployment_id,
            workflow_status: status_word(status),
            error,
        }
    }

    /// A closed workflow's deployment id (from its result, or else from its query) and,
    /// unless it completed, why it ended.
    async fn ended(
        &self,
        workflow_id: &str,
        status: WorkflowExecutionStatus,
    ) -> (Option<u64>, Option<String>) {
        let handle = self
            .client
            .get_workflow_handle::<GitHubDeploymentWorkflow>(workflow_id.to_owned());
        if status == WorkflowExecutionStatus::Completed {
            let options = WorkflowGetResultOptions::builder()
                .rpc_options(self.rpc_options())
                .build();
            let result = self
                .bounded("read the deployment workflow's result", async {
                    handle.get_result(options).await
                })
                .await;
            if let Ok(Ok(result)) = result {
                return (Some(result.deployment_id).filter(|id| *id > 0), None);
            }
        }
        let error = self.close_reason(workflow_id).await;
        let deployment_id = match self.state(workflow_id).await {
            Ok(view) => view.deployment_id,
            Err(_) => None,
        };
        (deployment_id, error)
    }

    /// Why a closed workflow did not complete, from its close event.
    async fn close_reason(&self, workflow_id: &str) -> Option<String> {
        let handle = self
            .client
            .get_workflow_handle::<GitHubDeploymentWorkflow>(workflow_id.to_owned());
        let options = WorkflowFetchHistoryOptions::builder()
            .skip_archival(true)
            .event_filter_type(HistoryEventFilterType::CloseEvent)
            .rpc_options(self.rpc_options())
            .build();
        let events = self
            .bounded("read how the deployment workflow ended", async {
                handle.fetch_history(options).into_events().await
            })
            .await
            .ok()?
            .ok()?;
        match events.into_iter().last()?.attributes? {
            Attributes::WorkflowExecutionFailedEventAttributes(a) => {
                Some(a.failure.map(|f| f.message).unwrap_or_default())
            }
            Attributes::WorkflowExecutionTerminatedEventAttributes(a) => Some(format!(
                "terminated{}{}",
                if a.identity.is_empty() {
                    String::new()
                } else {
                    format!(" by {}", a.identity)
                },
                if a.reason.is_empty() {
                    String::new()
                } else {
                    format!(": {}", a.reason)
                }
            )),
            Attributes::WorkflowExecutionTimedOutEventAttributes(_) => Some(
                "the workflow exceeded its execution timeout (temporal.workflow_execution_timeout)"
                    .to_owned(),
            ),
            Attributes::WorkflowExecutionCanceledEventAttributes(_) => {
                Some("the workflow was canceled".to_owned())
            }
            _ => None,
        }
    }

    /// Waits at most `wait` for the workflow to have created the GitHub deployment and
    /// returns its id; `None` when it has not within `wait` or the workflow ended.
    async fn deployment_id(&self, workflow_id: &str, wait: Duration) -> Option<u64> {
        if wait.is_zero() {
            return None;
        }
        let handle = self
            .client
            .get_workflow_handle::<GitHubDeploymentWorkflow>(workflow_id.to_owned());
        let options = WorkflowExecuteUpdateOptions::builder()
            .rpc_options(rpc_options(wait))
            .build();
        let id = tokio::time::timeout(
            wait,
            handle.execute_update(GitHubDeploymentWorkflow::deployment_created, (), options),
        )
        .await;
        match id {
            Ok(Ok(id)) if id > 0 => Some(id),
            _ => None,
        }
    }

    /// Hands a status update to the workflow and returns what it did with it. The workflow's
    /// validator decides: an unknown word or a terminal deployment is
    /// [`ServiceError::Rejected`]. Updates with the same `event_id` are one update.
    ///
    /// A Temporal update needs a running worker to be accepted. When none takes it within
    /// the call timeout (the worker is restarting, say), the update is sent as the
    /// `deployment-status-update` signal instead, which Temporal stores durably until a
    /// worker runs: the pipeline's report is never lost to a worker restart. The update
    /// always carries an `event_id` (one is made up when the caller gives none), so if the
    /// first attempt is applied after all, the workflow applies the pair once.
    pub async fn submit_status(
        &self,
        workflow_id: &str,
        update: DeploymentStatusUpdate,
    ) -> Result<StatusUpdateAck, ServiceError> {
        update
            .check()
            .map_err(|e| ServiceError::Rejected(UpdateRejection::Invalid(e.to_string())))?;
        super::status::map_status(&update.status)
            .map_err(|e| ServiceError::Rejected(UpdateRejection::UnknownStatus(e.to_string())))?;
        let mut update = update.bounded();
        let event_id = match update.event_id.as_ref().filter(|id| !id.is_empty()) {
            Some(id) => id.clone(),
            None => {
                let id = format!("api-{:032x}", rand::random::<u128>());
                update.event_id = Some(id.clone());
                id
            }
        };
        let handle = self
            .client
            .get_workflow_handle::<GitHubDeploymentWorkflow>(workflow_id.to_owned());
        // The RPC's own deadline is a little later than ours, so "no answer in time" is
        // normally our timeout; when the RPC's fires first after all (a loaded machine), it
        // arrives as DeadlineExceeded or Cancelled, and means the same.
        let options = WorkflowExecuteUpdateOptions::builder()
            .update_id(format!("status-{event_id}"))
            .rpc_options(
                RpcOptions::builder()
                    .timeout(self.call_timeout + Duration::from_secs(1))
                    .retry_options(no_retries_after(self.call_timeout))
                    .build(),
            )
            .build();
        let result = tokio::time::timeout(
            self.call_timeout,
            handle.execute_update(
                GitHubDeploymentWorkflow::submit_status_update,
                update.clone(),
                options,
            ),
        )
        .await;
        match result {
            Ok(Ok(ack)) => Ok(ack),
            Ok(Err(WorkflowUpdateError::Failed(failure))) => {
                Err(match UpdateRejection::parse(&failure.message) {
                    Some(rejection) => ServiceError::Rejected(rejection),
                    None => ServiceError::InvalidInput(format!(
                        "the deployment workflow refused the update: {}",
                        failure.message
                    )),
                })
            }
            Ok(Err(WorkflowUpdateError::NotFound(_))) => {
                Err(self.closed_or_missing(workflow_id).await)
            }
            Ok(Err(WorkflowUpdateError::Rpc(status))) if !is_timeout(&status) => {
                Err(from_status(&status))
            }
            // No worker took the update in time.
            Ok(Err(WorkflowUpdateError::Rpc(_))) | Err(_) => {
                self.signal_instead(workflow_id, update).await
            }
            Ok(Err(e)) => Err(ServiceError::Temporal(e.to_string())),
        }
    }

    /// No worker took the update in time: store it durably as the signal.
    async fn signal_instead(
        &self,
        workflow_id: &str,
        update: DeploymentStatusUpdate,
    ) -> Result<StatusUpdateAck, ServiceError> {
        let handle = self
            .client
            .get_workflow_handle::<GitHubDeploymentWorkflow>(workflow_id.to_owned());
        let payload = serde_json::to_value(&update)
            .map_err(|e| ServiceError::InvalidInput(format!("invalid status update: {e}")))?;
        let options = WorkflowSignalOptions::builder()
            .rpc_options(self.rpc_options())
            .build();
        let sent = self
            .bounded("send the status update to the deployment workflow", async {
                handle
                    .signal(GitHubDeploymentWorkflow::status_update, payload, options)
                    .await
            })
            .await?;
        match sent {
            Ok(()) => {
                tracing::warn!(
                    workflow_id,
                    "no worker took the status update in time; sent it as a signal instead"
                );
                Ok(StatusUpdateAck {
                    outcome: AckOutcome::QueuedForWorker,
                    state: None,
                })
            }
            Err(WorkflowInteractionError::NotFound(_)) => {
                Err(self.closed_or_missing(workflow_id).await)
            }
            Err(WorkflowInteractionError::Rpc(status)) => Err(from_status(&status)),
            Err(e) => Err(ServiceError::Temporal(e.to_string())),
        }
    }

    /// The deployment with the workflow's status, and why it ended if it did not complete.
    /// A closed workflow whose query cannot be answered (no worker running) is shown from
    /// its search attributes.
    pub async fn details(&self, workflow_id: &str) -> Result<DeploymentDetails, ServiceError> {
        let description = self.describe(workflow_id).await?;
        let status = description.status();
        if status == WorkflowExecutionStatus::Running {
            let view = self.state(workflow_id).await?;
            return Ok(DeploymentDetails {
                view,
                workflow_status: status_word(status),
                error: None,
            });
        }
        let view = match self.state(workflow_id).await {
            Ok(view) => view,
            Err(ServiceError::Unavailable(_)) => {
                let attrs = description
                    .raw_description
                    .workflow_execution_info
                    .as_ref()
                    .and_then(|i| i.search_attributes.as_ref())
                    .map(SearchAttributes::from_proto)
                    .unwrap_or_default();
                DeploymentStateView {
                    repository: attrs.get(&sa::REPOSITORY).unwrap_or_default(),
                    environment: attrs.get(&sa::ENVIRONMENT).unwrap_or_default(),
                    commit_sha: attrs.get(&sa::COMMIT_SHA).unwrap_or_default(),
                    state: attrs.get(&sa::STATE).unwrap_or_default(),
                    ..DeploymentStateView::default()
                }
            }
            Err(e) => return Err(e),
        };
        let error = if status == WorkflowExecutionStatus::Completed {
            None
        } else {
            self.close_reason(workflow_id).await
        };
        Ok(DeploymentDetails {
            view,
            workflow_status: status_word(status),
            error,
        })
    }

    /// The `deployment-state` query's answer.
    pub async fn state(&self, workflow_id: &str) -> Result<DeploymentStateView, ServiceError> {
        let handle = self
            .client
            .get_workflow_handle::<GitHubDeploymentWorkflow>(workflow_id.to_owned());
        let options = WorkflowQueryOptions::builder()
            .rpc_options(self.rpc_options())
            .build();
        let result = self
            .bounded("query the deployment workflow", async {
                handle
                    .query(GitHubDeploymentWorkflow::deployment_state, (), options)
                    .await
            })
            .await?;
        match result {
            Ok(view) => Ok(view),
            Err(WorkflowQueryError::NotFound(_)) => {
                Err(ServiceError::NotFound(workflow_id.to_owned()))
            }
            Err(WorkflowQueryError::Rpc(status)) => Err(from_status(&status)),
            Err(e) => Err(ServiceError::Temporal(e.to_string())),
        }
    }

    /// Deployment workflows matching `filter`, newest first.
    pub async fn list(&self, filter: &ListFilter) -> Result<Vec<ListedDeployment>, ServiceError> {
        let ListQuery { query, exact } = list_query(
            filter.repository.as_deref(),
            filter.environment.as_deref(),
            filter.state.as_deref(),
            filter.service.as_deref(),
        );
        let options = WorkflowListOptions::builder()
            .maybe_limit(exact.then_some(filter.limit))
            .rpc_options(self.rpc_options())
            .build();
        let rows = self
            .bounded("list deployment workflows", async {
                let mut stream = self.client.list_workflows(query, options);
                let mut rows = Vec::new();
                while let Some(item) = stream.next().await {
                    let execution = item.map_err(|e| from_client_error(&e))?;
                    let attrs = execution.search_attributes();
                    let row = ListedDeployment {
                        workflow_id: execution.id().to_owned(),
                        run_id: execution.run_id().to_owned(),
                        workflow_status: status_word(execution.status()),
                        started_at: execution.start_time().map(rfc3339),
                        closed_at: execution.close_time().map(rfc3339),
                        repository: attrs.get(&sa::REPOSITORY),
                        environment: attrs.get(&sa::ENVIRONMENT),
                        commit_sha: attrs.get(&sa::COMMIT_SHA),
                        state: attrs.get(&sa::STATE),
                        service: attrs.get(&sa::SERVICE),
                    };
                    if exact || filter.matches(&row) {
                        rows.push(row);
                    }
                    if rows.len() >= filter.limit {
                        break;
                    }
                }
                Ok::<_, ServiceError>(rows)
            })
            .await??;
        let mut rows = rows;
        rows.sort_by(|a, b| b.started_at.cmp(&a.started_at));
        Ok(rows)
    }

    /// Whether Temporal answers (the namespace's system info), for readiness checks.
    pub async fn ping(&self) -> Result<(), ServiceError> {
        let query = format!("WorkflowType = '{WORKFLOW_TYPE}'");
        let options = temporalio_client::WorkflowCountOptions::builder()
            .rpc_options(self.rpc_options())
            .build();
        self.bounded("reach Temporal", async {
            self.client.count_workflows(query, options).await
        })
        .await?
        .map(|_| ())
        .map_err(|e| from_client_error(&e))
    }

    async fn describe(
        &self,
        workflow_id: &str,
    ) -> Result<temporalio_client::WorkflowExecutionDescription, ServiceError> {
        let handle = self
            .client
            .get_workflow_handle::<GitHubDeploymentWorkflow>(workflow_id.to_owned());
        let options = WorkflowDescribeOptions::builder()
            .rpc_options(self.rpc_options())
            .build();
        self.bounded("describe the deployment workflow", async {
            handle.describe(options).await
        })
        .await?
        .map_err(|e| match e {
            WorkflowInteractionError::NotFound(_) => ServiceError::NotFound(workflow_id.to_owned()),
            WorkflowInteractionError::Rpc(status) => from_status(&status),
            other => ServiceError::Temporal(other.to_string()),
        })
    }

    /// Temporal answers "not found" to an update of a closed workflow too; tell them apart.
    async fn closed_or_missing(&self, workflow_id: &str) -> ServiceError {
        match self.describe(workflow_id).await {
            Ok(description) if description.status() != WorkflowExecutionStatus::Running => {
                ServiceError::Finished {
                    workflow_id: workflow_id.to_owned(),
                    status: status_word(description.status()),
                }
            }
            Ok(_) => ServiceError::Unavailable(format!(
                "deployment workflow {workflow_id:?} is running but did not take the update; retry"
            )),
            Err(e) => e,
        }
    }

    fn rpc_options(&self) -> RpcOptions {
        rpc_options(self.call_timeout)
    }

    /// Runs one call with the service's deadline.
    async fn bounded<T>(
        &self,
        what: &str,
        call: impl Future<Output = T>,
    ) -> Result<T, ServiceError> {
        tokio::time::timeout(self.call_timeout, call)
            .await
            .map_err(|_| {
                ServiceError::Unavailable(format!(
                    "could not {what} within {:?}: Temporal or the worker did not answer. \
                     Check that Temporal is reachable and `gdt worker` is running",
                    self.call_timeout
                ))
            })
    }
}

/// A visibility query for deployments matching the filters, and whether its matches are
/// exactly the filter's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// The list filter, in Temporal's query language.
    pub query: String,
    /// False when a value could not be compared exactly by Temporal, so the query asks for a
    /// superset and each row must be checked with [`ListFilter::matches`].
    pub exact: bool,
}

/// The query for deployments matching the filters.
///
/// Values become string literals of Temporal's list-filter language (a MySQL-dialect SQL
/// tokenizer): single quotes, with `\` and `'` escaped by a backslash, so no value can change
/// the query's meaning. Two flaws of Temporal's visibility stores still stop some values from
/// matching with `=`: the SQL stores write the decoded value back into their own SQL with
/// MySQL's backslash escapes (`\` → `\\`, `"` → `\"`, newline → `\n`, …), which SQLite (the
/// dev server) and PostgreSQL read literally; and every store strips all leading and trailing
/// `'` from a value (temporalio/temporal#12019). For such a value the query asks with
/// `STARTS_WITH` for the longest prefix free of both, and the caller keeps exact matches only.
pub fn list_query(
    repo: Option<&str>,
    environment: Option<&str>,
    state: Option<&str>,
    service: Option<&str>,
) -> ListQuery {
    let mut query = format!("WorkflowType = {}", quote(WORKFLOW_TYPE));
    let mut exact = true;
    for (name, value) in [
        (sa::REPOSITORY.name(), repo),
        (sa::ENVIRONMENT.name(), environment),
        (sa::STATE.name(), state),
        (sa::SERVICE.name(), service),
    ] {
        let Some(value) = value else { continue };
        let safe_end = value
            .find(['\\', '"', '\n', '\r', '\t', '\u{8}'])
            .unwrap_or(value.len());
        if safe_end == value.len() && !value.starts_with('\'') && !value.ends_with('\'') {
            query.push_str(&format!(" AND {name} = {}", quote(value)));
            continue;
        }
        exact = false;
        let prefix = value[..safe_end].trim_end_matches('\'');
        if !prefix.is_empty() && !prefix.starts_with('\'') {
            query.push_str(&format!(" AND {name} STARTS_WITH {}", quote(prefix)));
        }
    }
    ListQuery { query, exact }
}

/// `value` as a string literal of Temporal's list-filter language: single quotes, with `\`
/// and `'` escaped by a backslash (see [`list_query`] for what the stores still get wrong).
pub(crate) fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// Temporal's limit on workflow id length.
const MAX_WORKFLOW_ID_LEN: usize = 1000;

fn validate_workflow_id(id: &str) -> Result<(), ServiceError> {
    if id.trim().is_empty() {
        return Err(ServiceError::InvalidInput(
            "invalid deployment input: workflow_id: must not be empty (leave it out for the default)"
                .to_owned(),
        ));
    }
    if id == "." || id == ".." {
        return Err(ServiceError::InvalidInput(format!(
            "invalid deployment input: workflow_id: {id:?} cannot be part of a URL (clients \
             resolve it as a relative path); choose another id"
        )));
    }
    if id.len() > MAX_WORKFLOW_ID_LEN || id.chars().any(char::is_control) {
        return Err(ServiceError::InvalidInput(format!(
            "invalid deployment input: workflow_id: at most {MAX_WORKFLOW_ID_LEN} bytes of \
             printable characters"
        )));
    }
    Ok(())
}

pub(crate) fn status_word(status: WorkflowExecutionStatus) -> String {
    match status {
        WorkflowExecutionStatus::Running => "running",
        WorkflowExecutionStatus::Completed => "completed",
        WorkflowExecutionStatus::Failed => "failed",
        WorkflowExecutionStatus::Canceled => "canceled",
        WorkflowExecutionStatus::Terminated => "terminated",
        WorkflowExecutionStatus::ContinuedAsNew => "continued_as_new",
        WorkflowExecutionStatus::TimedOut => "timed_out",
        WorkflowExecutionStatus::Paused => "paused",
        _ => "unknown",
    }
    .to_owned()
}

fn rfc3339(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_queries_quote_values() {
        let exact = |query: &str| ListQuery {
            query: query.to_owned(),
            exact: true,
        };
        assert_eq!(
            list_query(None, None, None, None),
            exact("WorkflowType = 'GitHubDeploymentWorkflow'")
        );
        assert_eq!(
            list_query(
                Some("acme/api"),
                Some("prod' OR 1=1"),
                Some("success"),
                None
            ),
            exact(
                "WorkflowType = 'GitHubDeploymentWorkflow' AND GdtRepository = 'acme/api' \
                 AND GdtEnvironment = 'prod\\' OR 1=1' AND GdtState = 'success'"
            )
        );
    }

    #[test]
    fn values_temporal_cannot_compare_ask_for_a_prefix() {
        let superset = |query: &str| ListQuery {
            query: format!("WorkflowType = 'GitHubDeploymentWorkflow' AND {query}"),
            exact: false,
        };
        let env = |value: &str| list_query(None, Some(value), None, None);
        assert_eq!(
            env("it's\\prod"),
            superset("GdtEnvironment STARTS_WITH 'it\\'s'")
        );
        assert_eq!(env("a\"b"), superset("GdtEnvironment STARTS_WITH 'a'"));
        assert_eq!(env("prod'"), superset("GdtEnvironment STARTS_WITH 'prod'"));
        // Nothing usable is left: every deployment is read and checked.
        let all = ListQuery {
            query: "WorkflowType = 'GitHubDeploymentWorkflow'".to_owned(),
            exact: false,
        };
        assert_eq!(env("'quoted'"), all);
        assert_eq!(env("\\prod"), all);
    }

    #[test]
    fn rows_are_checked_against_every_filter_value() {
        let filter = ListFilter {
            repository: Some("acme/api".to_owned()),
            environment: Some("it's\\prod".to_owned()),
            state: None,
            service: None,
            limit: 20,
        };
        let row = |environment: &str| ListedDeployment {
            workflow_id: "w".to_owned(),
            run_id: "r".to_owned(),
            workflow_status: "running".to_owned(),
            started_at: None,
            closed_at: None,
            repository: Some("acme/api".to_owned()),
            environment: Some(environment.to_owned()),
            commit_sha: None,
            state: Some("success".to_owned()),
            service: None,
        };
        assert!(filter.matches(&row("it's\\prod")));
        assert!(!filter.matches(&row("it's\\prod2")));
        assert!(!filter.matches(&row("it's")));
    }

    #[test]
    fn workflow_ids_are_checked() {
        assert!(validate_workflow_id("deployment-acme-api-prod-1").is_ok());
        assert!(validate_workflow_id(" ").is_err());
        assert!(validate_workflow_id("..").is_err());
        assert!(validate_workflow_id(".").is_err());
        assert!(validate_workflow_id("..a").is_ok());
        assert!(validate_workflow_id("a\nb").is_err());
        assert!(validate_workflow_id(&"x".repeat(1001)).is_err());
    }
}
