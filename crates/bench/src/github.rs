//! The GitHub side of a run: the sandbox, served in this process on a loopback port, with a
//! GitHub App whose key the worker reads from a file; its fault controls; and a GitHub client
//! for reading back what the tracker wrote.

use std::path::{Path, PathBuf};
use std::time::Duration;

use gdt_github_sandbox::{SandboxApp, SandboxConfig, SpawnedSandbox};
use secrecy::SecretString;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::journal;

/// The plain token the harness reads the sandbox with (the worker uses the App).
const READ_TOKEN: &str = "gdt-bench-read-token";

/// The sandbox's per-credential hourly quota for runs. GitHub's real 5,000 would stop a
/// benchmark of 1,000 deployments after about 1,200 of them; the rate limits a run wants
/// are injected as faults instead.
const UNLIMITED_QUOTA: u32 = 1_000_000_000;

/// How the audit reader retries. The phase's faults are cleared before the audit, so a
/// retry only covers a busy moment of the loopback sandbox, which passes in well under a
/// second: up to 5 retries, backing off from 250 ms doubling to 5 s, no sleep over 10 s.
fn audit_retry() -> gdt_github::RetryPolicy {
    gdt_github::RetryPolicy {
        max_retries: 5,
        initial_backoff: Duration::from_millis(250),
        max_backoff: Duration::from_secs(5),
        backoff_multiplier: 2.0,
        max_inline_wait: Duration::from_secs(10),
    }
}

/// A sandbox with one GitHub App (id 1, installation 1).
pub struct GitHub {
    sandbox: SpawnedSandbox,
    key_path: PathBuf,
    http: reqwest::Client,
}

impl GitHub {
    /// Generates the App's key, writes it to `dir/github-app.pem` and serves the sandbox.
    pub async fn start(dir: &Path) -> Result<GitHub> {
        let (app, private_key) = SandboxApp::try_generate(1, 1)
            .map_err(|e| Error::Sandbox(format!("cannot generate the App key: {e}")))?;
        let key_path = dir.join("github-app.pem");
        std::fs::write(&key_path, private_key).map_err(Error::io(format!(
            "cannot write the App key to {}",
            key_path.display()
        )))?;
        let sandbox = gdt_github_sandbox::spawn(SandboxConfig {
            apps: vec![app],
            tokens: vec![READ_TOKEN.to_owned()],
            rate_limit: UNLIMITED_QUOTA,
            ..SandboxConfig::default()
        })
        .await
        .map_err(|e| Error::Sandbox(format!("cannot serve the sandbox: {e}")))?;
        Ok(GitHub {
            sandbox,
            key_path,
            http: reqwest::Client::new(),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.sandbox.base_url
    }

    /// The variables that point `gdt worker` at this sandbox with the App's credentials.
    pub fn worker_env(&self) -> Vec<(String, String)> {
        vec![
            ("GDT_GITHUB_BASE_URL".into(), self.url().to_owned()),
            ("GDT_GITHUB_APP_ID".into(), "1".into()),
            ("GDT_GITHUB_INSTALLATION_ID".into(), "1".into()),
            (
                "GITHUB_APP_PRIVATE_KEY_PATH".into(),
                self.key_path.display().to_string(),
            ),
        ]
    }

    /// How many requests the journal holds; [`GitHub::journal_since`] with this number
    /// returns only what comes after.
    pub fn journal_len(&self) -> usize {
        self.sandbox.sandbox().journal().len()
    }

    /// Journal entries from index `since` on (`GET /_sandbox/requests?since=N`), so a
    /// poller only transfers what it has not seen.
    pub async fn journal_since(&self, since: usize) -> Result<Vec<journal::Entry>> {
        let response = self
            .http
            .get(format!("{}/_sandbox/requests", self.url()))
            .query(&[("since", since)])
            .send()
            .await
            .map_err(|e| Error::Sandbox(format!("cannot read the journal: {e}")))?;
        if !response.status().is_success() {
            return Err(Error::Sandbox(format!(
                "the journal answered {}",
                response.status()
            )));
        }
        response
            .json()
            .await
            .map_err(|e| Error::Sandbox(format!("unreadable journal: {e}")))
    }

    /// Queues a fault (`POST /_sandbox/faults`); see `gdt_github_sandbox::FaultSpec`.
    pub async fn add_fault(&self, fault: &Value) -> Result<()> {
        self.control("/_sandbox/faults", fault, &format!("fault {fault}"))
            .await
    }

    /// Creates (or replaces) a pull request (`POST /_sandbox/repos/{owner}/{repo}/pulls`).
    pub async fn create_pull(&self, owner: &str, repo: &str, pull: Value) -> Result<()> {
        self.control(
            &format!("/_sandbox/repos/{owner}/{repo}/pulls"),
            &pull,
            &format!("a pull request of {owner}/{repo}"),
        )
        .await
    }

    /// Moves a pull request's head, with the files changed there
    /// (`PATCH /_sandbox/repos/{owner}/{repo}/pulls/{number}`).
    pub async fn update_pull(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
        patch: Value,
    ) -> Result<()> {
        self.control_with(
            reqwest::Method::PATCH,
            &format!("/_sandbox/repos/{owner}/{repo}/pulls/{number}"),
            &patch,
            &format!("an update of pull request {owner}/{repo}#{number}"),
        )
        .await
    }

    /// POSTs `body` to one of the sandbox's control routes; `what` names it in errors.
    async fn control(&self, path: &str, body: &Value, what: &str) -> Result<()> {
        self.control_with(reqwest::Method::POST, path, body, what)
            .await
    }

    /// Sends `body` to one of the sandbox's control routes with `method`.
    async fn control_with(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
        what: &str,
    ) -> Result<()> {
        let response = self
            .http
            .request(method, format!("{}{path}", self.url()))
            .json(body)
            .send()
            .await
            .map_err(|e| Error::Sandbox(format!("cannot send {what}: {e}")))?;
        if !response.status().is_success() {
            let status = response.status();
            let text = response.text().await.unwrap_or_default();
            return Err(Error::Sandbox(format!("{what} refused ({status}): {text}")));
        }
        Ok(())
    }

    /// Drops every pending fault (`DELETE /_sandbox/faults`), outages included.
    pub async fn clear_faults(&self) -> Result<()> {
        let response = self
            .http
            .delete(format!("{}/_sandbox/faults", self.url()))
            .send()
            .await
            .map_err(|e| Error::Sandbox(format!("cannot clear faults: {e}")))?;
        if !response.status().is_success() {
            return Err(Error::Sandbox(format!(
                "clearing faults answered {}",
                response.status()
            )));
        }
        Ok(())
    }

    /// A GitHub client that reads the sandbox with a plain token, for audits. It goes
    /// through `gdt-github`, the crate that speaks GitHub's API.
    pub fn reader(&self) -> Result<gdt_github::Client> {
        let base = url::Url::parse(self.url())
            .map_err(|e| Error::Sandbox(format!("sandbox URL {}: {e}", self.url())))?;
        let auth = gdt_github::Auth::Token(SecretString::from(READ_TOKEN.to_owned()));
        gdt_github::Client::new(gdt_github::ClientConfig::new(base, auth, audit_retry()))
            .map_err(|e| Error::Sandbox(format!("cannot build the audit client: {e}")))
    }
}
