//! The App itself (`GET /app`) and the credentials check of readiness probes.

use gdt_metrics::labels::Endpoint;
use http::Method;

use crate::auth::Credentials;
use crate::client::transport::{app_credentials_needed, Request};
use crate::error::Error;
use crate::types::App;
use crate::Client;

impl Client {
    /// The authenticated GitHub App (`GET /app`, with the App JWT).
    pub async fn get_app(&self) -> Result<App, Error> {
        if !matches!(self.credentials(), Credentials::App(_)) {
            return Err(app_credentials_needed("GET /app"));
        }
        let url = self.endpoint(&["app"])?;
        self.send_json(
            Request::new(Endpoint::App, Method::GET, url).with_app_jwt(),
            "GitHub App",
        )
        .await
    }

    /// Checks that the credentials work, for readiness probes: an App mints (or reuses its
    /// cached) installation token; a plain token reads `GET /rate_limit`, which GitHub does
    /// not count against the quota.
    pub async fn check_credentials(&self) -> Result<(), Error> {
        match self.credentials() {
            Credentials::App(app) => self.cached_installation_token(app).await.map(|_| ()),
            Credentials::Token(_) => {
                let url = self.endpoint(&["rate_limit"])?;
                self.execute(&Request::new(Endpoint::Other, Method::GET, url))
                    .await
                    .map(|_| ())
            }
        }
    }
}
