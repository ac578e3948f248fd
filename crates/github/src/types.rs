//! Request and response bodies of the Deployments API.
//!
//! Response types are GitHub's objects and deserialize tolerantly: fields we
//! do not strictly need default when absent, so a GHES version or a sandbox
//! that omits them does not break decoding.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// GitHub's limit on a deployment status description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 140;

/// Cuts `s` to GitHub's 140-character limit for status descriptions: longer
/// text becomes its first 139 characters plus "…". Counts characters, not
/// bytes, so multi-byte text is never split inside a character.
pub fn truncate_description(s: &str) -> String {
    if s.chars().count() <= MAX_DESCRIPTION_CHARS {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(MAX_DESCRIPTION_CHARS - 1).collect();
    out.push('…');
    out
}

/// The state of a deployment status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeploymentState {
    /// The deployment errored (infrastructure problem).
    Error,
    /// The deployment failed.
    Failure,
    /// The deployment was superseded or torn down.
    Inactive,
    /// The deployment is running.
    InProgress,
    /// The deployment is waiting to start.
    Queued,
    /// The deployment was created but nothing happened yet.
    Pending,
    /// The deployment succeeded.
    Success,
}

impl DeploymentState {
    /// Every state, in declaration order.
    pub const ALL: [Self; 7] = [
        Self::Error,
        Self::Failure,
        Self::Inactive,
        Self::InProgress,
        Self::Queued,
        Self::Pending,
        Self::Success,
    ];

    /// GitHub's name of the state, e.g. `"in_progress"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Failure => "failure",
            Self::Inactive => "inactive",
            Self::InProgress => "in_progress",
            Self::Queued => "queued",
            Self::Pending => "pending",
            Self::Success => "success",
        }
    }

    /// Whether the state ends a deployment (success, failure, error, inactive).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Success | Self::Failure | Self::Error | Self::Inactive
        )
    }
}

impl fmt::Display for DeploymentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is not one of GitHub's deployment states.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown deployment state {0:?} (expected one of error, failure, inactive, in_progress, queued, pending, success)")]
pub struct UnknownDeploymentState(pub String);

impl FromStr for DeploymentState {
    type Err = UnknownDeploymentState;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase().replace('-', "_");
        Self::ALL
            .into_iter()
            .find(|state| state.as_str() == wanted)
            .ok_or_else(|| UnknownDeploymentState(s.to_owned()))
    }
}

/// A GitHub user or organisation, as embedded in other objects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The login, e.g. `"octocat"` or `"my-app[bot]"`.
    pub login: String,
    /// The numeric id, when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
}

/// Body of `POST /repos/{owner}/{repo}/deployments`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewDeployment {
    /// The ref to deploy: a branch, tag or SHA.
    #[serde(rename = "ref")]
    pub ref_: String,
    /// The task, e.g. `"deploy"` or `"deploy:migrations"`.
    pub task: String,
    /// The target environment, e.g. `"production"`.
    pub environment: String,
    /// A short description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether GitHub should merge the default branch into the ref first.
    pub auto_merge: bool,
    /// Status contexts that must pass; empty bypasses the check.
    pub required_contexts: Vec<String>,
    /// Free-form JSON stored with the deployment.
    pub payload: serde_json::Value,
    /// Whether the environment is ephemeral.
    pub transient_environment: bool,
    /// Whether the environment is production.
    pub production_environment: bool,
}

impl NewDeployment {
    /// A deployment of `ref_` to `environment` with task `"deploy"`, no
    /// auto-merge, no required contexts (the tracker records deployments that
    /// already happen; it is no gate), an empty object payload, and
    /// `production_environment` set as GitHub would default it (true only
    /// for `"production"`).
    pub fn new(ref_: impl Into<String>, environment: impl Into<String>) -> Self {
        let environment = environment.into();
        Self {
            ref_: ref_.into(),
            task: "deploy".to_owned(),
            production_environment: environment == "production",
            environment,
            description: None,
            auto_merge: false,
            required_contexts: Vec::new(),
            payload: serde_json::Value::Object(serde_json::Map::new()),
            transient_environment: false,
        }
    }
}

/// A deployment as GitHub returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    /// The deployment id.
    pub id: u64,
    /// The GraphQL node id.
    #[serde(default)]
    pub node_id: String,
    /// The commit SHA the ref resolved to.
    #[serde(default)]
    pub sha: String,
    /// The ref that was deployed.
    #[serde(rename = "ref", default)]
    pub ref_: String,
    /// The task.
    #[serde(default)]
    pub task: String,
    /// The environment.
    #[serde(default)]
    pub environment: String,
    /// The description.
    #[serde(default)]
    pub description: Option<String>,
    /// The payload (GitHub may send an object or a string).
    #[serde(default)]
    pub payload: serde_json::Value,
    /// Who created the deployment.
    #[serde(default)]
    pub creator: Option<Actor>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last updated.
    pub updated_at: DateTime<Utc>,
    /// API URL of its statuses.
    #[serde(default)]
    pub statuses_url: String,
    /// API URL of the repository.
    #[serde(default)]
    pub repository_url: String,
    /// Whether the environment is ephemeral.
    #[serde(default)]
    pub transient_environment: Option<bool>,
    /// Whether the environment is production.
    #[serde(default)]
    pub production_environment: Option<bool>,
    /// API URL of the deployment.
    #[serde(default)]
    pub url: String,
}

/// Filters for `GET /repos/{owner}/{repo}/deployments`; `None` filters are
/// not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentFilter {
    /// Only deployments of this SHA.
    pub sha: Option<String>,
    /// Only deployments of this ref.
    pub ref_: Option<String>,
    /// Only deployments with this task.
    pub task: Option<String>,
    /// Only deployments to this environment.
    pub environment: Option<String>,
    /// The most pages (of 100) to fetch; GitHub lists newest first, so this
    /// bounds the work on busy repositories.
    pub max_pages: u32,
}

impl Default for DeploymentFilter {
    fn default() -> Self {
        Self {
            sha: None,
            ref_: None,
            task: None,
            environment: None,
            max_pages: 10,
        }
    }
}

/// Body of `POST .../deployments/{id}/statuses`; `None` fields are omitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewDeploymentStatus {
    /// The new state.
    pub state: DeploymentState,
    /// A short description (cut to 140 characters before sending).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Where the deployment's logs are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_url: Option<String>,
    /// Where the deployed environment is reachable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment_url: Option<String>,
    /// Changes the deployment's environment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Whether a success marks earlier deployments of the environment inactive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_inactive: Option<bool>,
}

impl NewDeploymentStatus {
    /// A status with only `state` set.
    pub fn new(state: DeploymentState) -> Self {
        Self {
            state,
            description: None,
            log_url: None,
            environment_url: None,
            environment: None,
            auto_inactive: None,
        }
    }
}

/// A deployment status as GitHub returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentStatus {
    /// The status id.
    pub id: u64,
    /// The state.
    pub state: DeploymentState,
    /// The description.
    #[serde(default)]
    pub description: Option<String>,
    /// The environment.
    #[serde(default)]
    pub environment: Option<String>,
    /// Where the logs are.
    #[serde(default)]
    pub log_url: Option<String>,
    /// Deprecated alias of `log_url`, still sent by GitHub.
    #[serde(default)]
    pub target_url: Option<String>,
    /// Where the environment is reachable.
    #[serde(default)]
    pub environment_url: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// API URL of the status.
    #[serde(default)]
    pub url: String,
}

/// The authenticated GitHub App (`GET /app`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct App {
    /// The app id.
    pub id: u64,
    /// The URL-friendly name.
    #[serde(default)]
    pub slug: Option<String>,
    /// The display name.
    #[serde(default)]
    pub name: Option<String>,
    /// The account owning the app.
    #[serde(default)]
    pub owner: Option<Actor>,
    /// The app's page on GitHub.
    #[serde(default)]
    pub html_url: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_descriptions_are_kept() {
        assert_eq!(truncate_description(""), "");
        assert_eq!(truncate_description("deployed"), "deployed");
        let exact = "a".repeat(140);
        assert_eq!(truncate_description(&exact), exact);
    }

    #[test]
    fn long_descriptions_are_cut_to_140_chars() {
        let long = "a".repeat(141);
        let cut = truncate_description(&long);
        assert_eq!(cut.chars().count(), 140);
        assert!(cut.ends_with('…'));
        assert_eq!(&cut[..139], &long[..139]);
    }

    #[test]
    fn multi_byte_text_is_cut_on_char_boundaries() {
        // 140 three-byte characters fit (420 bytes): the limit is characters.
        let fits = "デ".repeat(140);
        assert_eq!(truncate_description(&fits), fits);

        let long = "ü🚀".repeat(100); // 200 chars, mixed 2- and 4-byte
        let cut = truncate_description(&long);
        assert_eq!(cut.chars().count(), 140);
        let expected: String = long.chars().take(139).chain(['…']).collect();
        assert_eq!(cut, expected);
    }

    #[test]
    fn state_round_trips() {
        for state in DeploymentState::ALL {
            assert_eq!(state.as_str().parse::<DeploymentState>(), Ok(state));
            let json = serde_json::to_string(&state).expect("serialize");
            assert_eq!(json, format!("\"{}\"", state.as_str()));
            let back: DeploymentState = serde_json::from_str(&json).expect("deserialize");
            assert_eq!(back, state);
        }
        assert_eq!("In-Progress".parse(), Ok(DeploymentState::InProgress));
        assert!("done".parse::<DeploymentState>().is_err());
    }

    #[test]
    fn terminal_states() {
        let terminal: Vec<_> = DeploymentState::ALL
            .into_iter()
            .filter(|s| s.is_terminal())
            .collect();
        assert_eq!(
            terminal,
            vec![
                DeploymentState::Error,
                DeploymentState::Failure,
                DeploymentState::Inactive,
                DeploymentState::Success
            ]
        );
    }

    #[test]
    fn new_deployment_serializes_ref() {
        let d = NewDeployment::new("main", "staging");
        let v = serde_json::to_value(&d).expect("serialize");
        assert_eq!(v["ref"], "main");
        assert_eq!(v["auto_merge"], false);
        assert_eq!(v["required_contexts"], serde_json::json!([]));
        assert!(v.get("ref_").is_none());
        assert!(v.get("description").is_none());
    }

    #[test]
    fn new_status_omits_none_fields() {
        let s = NewDeploymentStatus {
            log_url: Some("https://ci/1".into()),
            ..NewDeploymentStatus::new(DeploymentState::InProgress)
        };
        let v = serde_json::to_value(&s).expect("serialize");
        assert_eq!(
            v,
            serde_json::json!({"state": "in_progress", "log_url": "https://ci/1"})
        );
    }

    #[test]
    fn deployment_decodes_minimal_and_full_objects() {
        let minimal = r#"{"id": 1, "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z"}"#;
        let d: Deployment = serde_json::from_str(minimal).expect("minimal");
        assert_eq!(d.id, 1);
        assert!(d.creator.is_none());

        let full = r#"{
            "url": "https://api.github.com/repos/o/r/deployments/1", "id": 1, "node_id": "MDEw",
            "sha": "a84d88e", "ref": "topic-branch", "task": "deploy", "payload": {},
            "original_environment": "staging", "environment": "production",
            "description": "Deploy request from hubot",
            "creator": {"login": "octocat", "id": 1, "type": "User"},
            "created_at": "2012-07-20T01:19:13Z", "updated_at": "2012-07-20T01:19:13Z",
            "statuses_url": "https://api.github.com/repos/o/r/deployments/1/statuses",
            "repository_url": "https://api.github.com/repos/o/r",
            "transient_environment": false, "production_environment": true
        }"#;
        let d: Deployment = serde_json::from_str(full).expect("full");
        assert_eq!(d.ref_, "topic-branch");
        assert_eq!(d.creator.map(|c| c.login).as_deref(), Some("octocat"));
        assert_eq!(d.production_environment, Some(true));
    }
}
