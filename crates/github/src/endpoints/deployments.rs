//! Deployments and their statuses (`/repos/{owner}/{repo}/deployments`).

use gdt_metrics::labels::Endpoint;
use http::Method;

use url::Url;

use crate::client::transport::{decode, Request};
use crate::error::Error;
use crate::types::{
    truncate_description, Deployment, DeploymentDeletion, DeploymentFilter, DeploymentStatus,
    NewDeployment, NewDeploymentStatus, ReportedStatus,
};
use crate::Client;

/// A safety net against pagination loops; no deployment has this many statuses.
const STATUS_MAX_PAGES: u32 = 50;

impl Client {
    /// Creates a deployment (`POST /repos/{owner}/{repo}/deployments`).
    pub async fn create_deployment(
        &self,
        owner: &str,
        repo: &str,
        deployment: &NewDeployment,
    ) -> Result<Deployment, Error> {
        let url = self.repo_endpoint(owner, repo, &["deployments"])?;
        let req = Request::new(Endpoint::Deployments, Method::POST, url).json(deployment)?;
        let resp = self.execute(&req).await?;
        // GitHub answers 202 with only a message when it merged the default
        // branch instead of deploying; anything without an id is no deployment.
        let value: serde_json::Value = decode(&resp.body, "deployment")?;
        if value.get("id").is_some_and(serde_json::Value::is_u64) {
            return serde_json::from_value(value)
                .map_err(|e| Error::Unexpected(format!("could not decode deployment: {e}")));
        }
        let message = value
            .get("message")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("no message");
        Err(Error::Unexpected(format!(
            "GitHub answered {} without creating a deployment: {message}",
            resp.status
        )))
    }

    /// Lists deployments matching `filter`, following pagination up to
    /// `filter.max_pages` pages of 100.
    pub async fn list_deployments(
        &self,
        owner: &str,
        repo: &str,
        filter: &DeploymentFilter,
    ) -> Result<Vec<Deployment>, Error> {
        let mut url = self.repo_endpoint(owner, repo, &["deployments"])?;
        let filters = [
            ("sha", &filter.sha),
            ("ref", &filter.ref_),
            ("task", &filter.task),
            ("environment", &filter.environment),
        ];
        for (name, value) in filters {
            if let Some(value) = value {
                url.query_pairs_mut().append_pair(name, value);
            }
        }
        self.get_all(Endpoint::Deployments, url, filter.max_pages, "deployments")
            .await
    }

    /// Adds a status to a deployment (`POST .../deployments/{id}/statuses`).
    /// The description is cut to GitHub's 140 characters first.
    pub async fn create_deployment_status(
        &self,
        owner: &str,
        repo: &str,
        deployment_id: u64,
        status: &NewDeploymentStatus,
    ) -> Result<DeploymentStatus, Error> {
        let url = self.statuses_endpoint(owner, repo, deployment_id)?;
        let status = NewDeploymentStatus {
            description: status.description.as_deref().map(truncate_description),
            ..status.clone()
        };
        let req = Request::new(Endpoint::DeploymentStatuses, Method::POST, url).json(&status)?;
        self.send_json(req, "deployment status").await
    }

    /// Lists a deployment's statuses (newest first), following pagination.
    pub async fn list_deployment_statuses(
        &self,
        owner: &str,
        repo: &str,
        deployment_id: u64,
    ) -> Result<Vec<DeploymentStatus>, Error> {
        let url = self.statuses_endpoint(owner, repo, deployment_id)?;
        self.get_all(
            Endpoint::DeploymentStatuses,
            url,
            STATUS_MAX_PAGES,
            "deployment statuses",
        )
        .await
    }

    /// The newest status of a deployment, `None` when it has none: one request
    /// (`GET .../deployments/{id}/statuses?per_page=1`; GitHub lists newest first). Its state
    /// is kept as GitHub's word ([`ReportedStatus`]), so a deployment someone else reports
    /// with a state this client never posts (`waiting`) still reads.
    pub async fn latest_deployment_status(
        &self,
        owner: &str,
        repo: &str,
        deployment_id: u64,
    ) -> Result<Option<ReportedStatus>, Error> {
        let mut url = self.statuses_endpoint(owner, repo, deployment_id)?;
        url.query_pairs_mut().append_pair("per_page", "1");
        let newest: Vec<ReportedStatus> = self
            .get_json(Endpoint::DeploymentStatuses, url, "deployment statuses")
            .await?;
        Ok(newest.into_iter().next())
    }

    /// Deletes a deployment (`DELETE /repos/{owner}/{repo}/deployments/{id}`, `204`).
    ///
    /// GitHub deletes only inactive deployments while the repository has more than one, and
    /// answers 422 otherwise: that is [`DeploymentDeletion::NotInactive`], not an error, so
    /// the caller can mark it inactive and try again. Deleting twice leaves the same result,
    /// so this is retried like a read, and a deployment already gone (404) counts as
    /// deleted.
    pub async fn delete_deployment(
        &self,
        owner: &str,
        repo: &str,
        deployment_id: u64,
    ) -> Result<DeploymentDeletion, Error> {
        let id = deployment_id.to_string();
        let url = self.repo_endpoint(owner, repo, &["deployments", &id])?;
        let req = Request::new(Endpoint::Deployments, Method::DELETE, url).idempotent();
        match self.execute(&req).await {
            Ok(_) => Ok(DeploymentDeletion::Deleted),
            Err(Error::NotFound { .. }) => Ok(DeploymentDeletion::AlreadyGone),
            Err(Error::Validation { message, .. }) => {
                Ok(DeploymentDeletion::NotInactive { message })
            }
            Err(err) => Err(err),
        }
    }

    fn statuses_endpoint(&self, owner: &str, repo: &str, deployment_id: u64) -> Result<Url, Error> {
        let id = deployment_id.to_string();
        self.repo_endpoint(owner, repo, &["deployments", &id, "statuses"])
    }
}
