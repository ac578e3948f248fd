//! What both features' services (deployments and PR checks, as a Temporal *client* sees
//! them) share: [`ServiceError`], the sorting of Temporal's answers into it, and the options
//! that bound each call.

use std::time::Duration;

use temporalio_client::errors::ClientError;
use temporalio_client::{RetryOptions, RpcOptions};
use tonic::Code;

use crate::deployments::model::UpdateRejection;

/// Why a call did not do what was asked. Messages say what was wrong and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    /// The input cannot start a deployment or a check.
    #[error("{0}")]
    InvalidInput(String),
    /// The workflow id is already used by a different deployment.
    #[error("{0}")]
    Conflict(String),
    /// The workflow ended without creating the GitHub deployment (GitHub refused it).
    #[error("deployment workflow {workflow_id:?} {workflow_status} without creating the GitHub deployment: {reason}; fix the cause and start again with another workflow_id (a workflow id is never reused)")]
    NotCreated {
        /// The workflow id.
        workflow_id: String,
        /// Temporal's status of the closed workflow.
        workflow_status: String,
        /// Why (the workflow's failure message).
        reason: String,
    },
    /// No deployment workflow has this id.
    #[error("no deployment workflow with id {0:?}")]
    NotFound(String),
    /// The deployment workflow has finished; it takes no more updates.
    #[error("deployment workflow {workflow_id:?} has finished ({status}); start a new deployment to report another run")]
    Finished {
        /// The workflow id.
        workflow_id: String,
        /// Temporal's status of the closed workflow.
        status: String,
    },
    /// The workflow refused the update (its validator's decision).
    #[error("{0}")]
    Rejected(UpdateRejection),
    /// Temporal, or a worker, did not answer in time or could not be reached.
    #[error("{0}")]
    Unavailable(String),
    /// Temporal answered with an error this service does not expect.
    #[error("Temporal refused the call: {0}")]
    Temporal(String),
}

impl ServiceError {
    /// Temporal is unavailable, for the reason in `detail`; retrying later may help.
    pub(crate) fn unavailable(detail: &str) -> Self {
        Self::Unavailable(format!("Temporal is unavailable ({detail}); retry later"))
    }
}

/// Options for one Temporal call: the RPC's deadline, and the client's own retries stopped
/// before it.
/// `call`, given at most `timeout`: past it, [`ServiceError::Unavailable`] (the caller, or
/// GitHub redelivering, may try again).
pub(crate) async fn within<T>(
    timeout: Duration,
    call: impl std::future::Future<Output = T>,
) -> Result<T, ServiceError> {
    tokio::time::timeout(timeout, call).await.map_err(|_| {
        ServiceError::unavailable(&format!("Temporal did not answer within {timeout:?}"))
    })
}

pub(crate) fn rpc_options(timeout: Duration) -> RpcOptions {
    RpcOptions::builder()
        .timeout(timeout)
        .retry_options(no_retries_after(timeout))
        .build()
}

/// The client's retries for one call, stopped before the call's deadline.
pub(crate) fn no_retries_after(deadline: Duration) -> RetryOptions {
    RetryOptions::builder()
        .max_elapsed_time(Some(deadline))
        .max_interval(Duration::from_millis(500))
        .build()
}

/// Whether a call ended because its deadline passed: the server's `DeadlineExceeded`, or the
/// client's own timeout, which tonic reports as `Cancelled` ("Timeout expired").
pub(crate) fn is_timeout(status: &tonic::Status) -> bool {
    matches!(status.code(), Code::DeadlineExceeded | Code::Cancelled)
}

/// Temporal's gRPC status as a [`ServiceError`]: unreachable or overloaded is
/// [`ServiceError::Unavailable`], a refused argument [`ServiceError::InvalidInput`].
pub(crate) fn from_status(status: &tonic::Status) -> ServiceError {
    match status.code() {
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::ResourceExhausted => {
            ServiceError::unavailable(status.message())
        }
        Code::InvalidArgument => ServiceError::InvalidInput(status.message().to_owned()),
        _ => ServiceError::Temporal(status.message().to_owned()),
    }
}

/// A client error as a [`ServiceError`], by its gRPC status when it has one.
pub(crate) fn from_client_error(e: &ClientError) -> ServiceError {
    match e {
        ClientError::Rpc(status) => from_status(status),
        other => ServiceError::Temporal(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_from_either_side_is_a_timeout() {
        assert!(is_timeout(&tonic::Status::deadline_exceeded("deadline")));
        assert!(is_timeout(&tonic::Status::cancelled("Timeout expired")));
        assert!(!is_timeout(&tonic::Status::unavailable(
            "connection refused"
        )));
        assert!(!is_timeout(&tonic::Status::invalid_argument("bad id")));
    }

    #[test]
    fn unreachable_temporal_is_unavailable_not_an_internal_error() {
        let err = from_status(&tonic::Status::unavailable("connection refused"));
        assert!(matches!(err, ServiceError::Unavailable(_)), "{err:?}");
        assert!(err.to_string().contains("retry later"));
    }
}
