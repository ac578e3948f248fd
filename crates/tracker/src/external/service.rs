//! Starting the watcher of a deployment created by someone else, as the webhook receiver
//! does: signal-with-start (`UseExisting`, `AllowDuplicate`) with `observed`, so a running
//! watcher is told and never replaced, a finished one's deployment gets a new watcher, and
//! deliveries reaching several API servers at once all land in the one workflow of the id.

use std::time::Duration;

use temporalio_client::errors::WorkflowStartError;
use temporalio_client::{
    Client, WorkflowIdConflictPolicy, WorkflowIdReusePolicy, WorkflowStartOptions,
};

use super::model::{workflow_id, ExternalDeploymentInput, Observed};
use super::workflow::ExternalDeploymentWorkflow;
use crate::lanes::LaneKey;
use crate::pr_checks::model::validate_repository;
use crate::service::{from_status, rpc_options, ServiceError};

/// The deployment a delivery is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalDeployment {
    /// Repository owner.
    pub owner: String,
    /// Repository name.
    pub repo: String,
    /// The GitHub deployment id.
    pub deployment_id: u64,
    /// Its environment.
    pub environment: String,
    /// Its service when gdt's lifecycle applies to it (`external.lifecycle`; empty: the
    /// repository is the service); `None`: the deployment joins no lane.
    pub lane_service: Option<String>,
}

/// The watcher a delivery reached.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Watching {
    /// The workflow id.
    pub workflow_id: String,
    /// The run told of the delivery (started by it, or already running).
    pub run_id: String,
}

/// Starts watchers on the deployments' task queue.
#[derive(Clone)]
pub struct ExternalDeploymentService {
    client: Client,
    task_queue: String,
    inactivity_timeout: Duration,
    call_timeout: Duration,
}

impl ExternalDeploymentService {
    /// Watchers on `task_queue` whose deployments are marked inactive after
    /// `inactivity_timeout` of silence; each Temporal call bounded by `call_timeout`.
    pub fn new(
        client: Client,
        task_queue: impl Into<String>,
        inactivity_timeout: Duration,
        call_timeout: Duration,
    ) -> Self {
        Self {
            client,
            task_queue: task_queue.into(),
            inactivity_timeout,
            call_timeout,
        }
    }

    /// Tells `deployment`'s watcher what a delivery observed, starting one if none runs.
    ///
    /// Errors: [`ServiceError::InvalidInput`] when the repository cannot exist on GitHub or
    /// Temporal refuses the request as invalid (redelivering cannot help);
    /// [`ServiceError::Unavailable`] when Temporal does not answer in time (redelivering is
    /// safe: the watcher keeps the newest observation only).
    pub async fn observe(
        &self,
        deployment: &ExternalDeployment,
        observed: Observed,
    ) -> Result<Watching, ServiceError> {
        validate_repository(&deployment.owner, &deployment.repo)
            .map_err(ServiceError::InvalidInput)?;
        let id = workflow_id(
            &deployment.owner,
            &deployment.repo,
            deployment.deployment_id,
        );
        let input = ExternalDeploymentInput {
            owner: deployment.owner.clone(),
            repo: deployment.repo.clone(),
            deployment_id: deployment.deployment_id,
            environment: deployment.environment.clone(),
            inactivity_timeout_ms: u64::try_from(self.inactivity_timeout.as_millis())
                .unwrap_or(u64::MAX),
            latest: None,
            lane: deployment.lane_service.as_ref().map(|service| LaneKey {
                repo_owner: deployment.owner.clone(),
                repo_name: deployment.repo.clone(),
                environment: deployment.environment.clone(),
                service: service.clone(),
            }),
            ticket: None,
        };
        let options = WorkflowStartOptions::new(self.task_queue.clone(), id.clone())
            // A running watcher is told, never replaced; a finished one's id starts again.
            .id_conflict_policy(WorkflowIdConflictPolicy::UseExisting)
            .id_reuse_policy(WorkflowIdReusePolicy::AllowDuplicate)
            .rpc_options(rpc_options(self.call_timeout))
            .build();
        let call = self.client.signal_with_start_workflow(
            ExternalDeploymentWorkflow::run,
            input,
            ExternalDeploymentWorkflow::observed,
            observed,
            options,
        );
        let started = crate::service::within(self.call_timeout, call).await?;
        match started {
            Ok(handle) => Ok(Watching {
                workflow_id: id,
                run_id: handle.run_id().unwrap_or_default().to_owned(),
            }),
            Err(WorkflowStartError::Rpc(status)) => Err(match from_status(&status) {
                ServiceError::InvalidInput(detail) => ServiceError::InvalidInput(format!(
                    "Temporal refused to start {id:?}: {detail}; redelivering cannot help"
                )),
                other => other,
            }),
            Err(e) => Err(ServiceError::Temporal(e.to_string())),
        }
    }
}
