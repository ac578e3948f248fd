//! Deployment environments (`/repos/{owner}/{repo}/environments/{name}`).

use gdt_metrics::labels::Endpoint;
use http::Method;

use crate::client::transport::Request;
use crate::error::Error;
use crate::types::EnvironmentDeletion;
use crate::Client;

impl Client {
    /// Deletes an environment, and with it its deployments
    /// (`DELETE /repos/{owner}/{repo}/environments/{name}`, `204`).
    ///
    /// The name is sent as one percent-encoded path segment (`review/x` becomes
    /// `review%2Fx`). A GitHub App needs the repository permission **Administration: write**
    /// for this; without it GitHub answers 403 ([`Error::Forbidden`]). Deleting twice leaves
    /// the same result, so this is retried like a read, and an environment already gone
    /// (404) counts as deleted.
    pub async fn delete_environment(
        &self,
        owner: &str,
        repo: &str,
        name: &str,
    ) -> Result<EnvironmentDeletion, Error> {
        if name.is_empty() {
            return Err(Error::Config(
                "an environment name must not be empty".to_owned(),
            ));
        }
        let url = self.repo_endpoint(owner, repo, &["environments", name])?;
        let req = Request::new(Endpoint::Environments, Method::DELETE, url).idempotent();
        match self.execute(&req).await {
            Ok(_) => Ok(EnvironmentDeletion::Deleted),
            Err(Error::NotFound { .. }) => Ok(EnvironmentDeletion::AlreadyGone),
            Err(err) => Err(err),
        }
    }
}
