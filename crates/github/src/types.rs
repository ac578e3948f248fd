//! Request and response bodies of the Deployments, Pulls, Contents, Issue
//! comments and Check runs APIs.
//!
//! Response types are GitHub's objects and deserialize tolerantly: fields we
//! do not strictly need default when absent, so a GHES version or a sandbox
//! that omits them does not break decoding. An absent `Option` field is `None`
//! by serde's rule for `Option`; `#[serde(default)]` marks the other fields
//! that default (an empty string, zero, `false`).

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
    #[serde(skip_serializing_if = "Option::is_none")]
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
    pub description: Option<String>,
    /// The payload (GitHub may send an object or a string).
    #[serde(default)]
    pub payload: serde_json::Value,
    /// Who created the deployment.
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
    pub transient_environment: Option<bool>,
    /// Whether the environment is production.
    pub production_environment: Option<bool>,
    /// API URL of the deployment.
    #[serde(default)]
    pub url: String,
}

/// What [`Client::delete_deployment`](crate::Client::delete_deployment) did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeploymentDeletion {
    /// GitHub deleted it (`204`).
    Deleted,
    /// It did not exist (`404`): deleted before, by us or someone else.
    AlreadyGone,
    /// GitHub refused (`422`): the repository has other deployments and this one is not
    /// inactive. GitHub's message.
    NotInactive {
        /// GitHub's message.
        message: String,
    },
}

/// What [`Client::delete_environment`](crate::Client::delete_environment) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvironmentDeletion {
    /// GitHub deleted it (`204`).
    Deleted,
    /// It did not exist (`404`).
    AlreadyGone,
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
    pub description: Option<String>,
    /// The environment.
    pub environment: Option<String>,
    /// Where the logs are.
    pub log_url: Option<String>,
    /// Deprecated alias of `log_url`, still sent by GitHub.
    pub target_url: Option<String>,
    /// Where the environment is reachable.
    pub environment_url: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// API URL of the status.
    #[serde(default)]
    pub url: String,
}

/// A deployment status as read from a deployment that someone else reports. The state is
/// GitHub's word as sent, because such deployments carry states this client never posts:
/// `waiting`, while an environment's protection rules hold a GitHub Actions job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportedStatus {
    /// The status id.
    pub id: u64,
    /// The state, e.g. `"in_progress"` or `"waiting"`.
    pub state: String,
    /// The description.
    #[serde(default)]
    pub description: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// The authenticated GitHub App (`GET /app`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct App {
    /// The app id.
    pub id: u64,
    /// The URL-friendly name.
    pub slug: Option<String>,
    /// The display name.
    pub name: Option<String>,
    /// The account owning the app.
    pub owner: Option<Actor>,
    /// The app's page on GitHub.
    pub html_url: Option<String>,
}

// ---- pull requests ------------------------------------------------------

/// One end of a pull request (`head` or `base`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRef {
    /// The branch name, e.g. `"feature/login"`.
    #[serde(rename = "ref")]
    pub ref_: String,
    /// The commit SHA the branch pointed at.
    pub sha: String,
}

/// A pull request (`GET /repos/{owner}/{repo}/pulls/{number}`), reduced to
/// the fields the tracker uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequest {
    /// The pull request number.
    pub number: u64,
    /// `"open"` or `"closed"` (a merged pull request is `"closed"`).
    pub state: String,
    /// The pull request's page on GitHub.
    #[serde(default)]
    pub html_url: String,
    /// The branch with the changes.
    pub head: PullRef,
    /// The branch the changes go into.
    pub base: PullRef,
}

/// A file changed by a pull request
/// (`GET /repos/{owner}/{repo}/pulls/{number}/files`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullFile {
    /// The path of the file after the change.
    pub filename: String,
    /// `"added"`, `"removed"`, `"modified"`, `"renamed"`, `"copied"`,
    /// `"changed"` or `"unchanged"`.
    pub status: String,
    /// Lines added.
    #[serde(default)]
    pub additions: u64,
    /// Lines removed.
    #[serde(default)]
    pub deletions: u64,
    /// `additions + deletions`.
    #[serde(default)]
    pub changes: u64,
    /// The path before a rename or copy.
    pub previous_filename: Option<String>,
    /// The blob SHA of the file after the change.
    pub sha: Option<String>,
}

/// The files of a pull request, as far as GitHub lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullFiles {
    /// The files, in GitHub's order.
    pub files: Vec<PullFile>,
    /// True when GitHub's limit of 3,000 files was reached: the pull request
    /// may change more files than listed.
    pub truncated: bool,
}

/// GitHub lists at most this many files of a pull request.
pub const MAX_PULL_FILES: usize = 3000;

// ---- repository contents -----------------------------------------------

/// A file read through `GET /repos/{owner}/{repo}/contents/{path}`, decoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileContent {
    /// The path in the repository.
    pub path: String,
    /// The blob SHA.
    pub sha: String,
    /// The size in bytes.
    pub size: u64,
    /// The content, decoded from base64 (must be UTF-8).
    pub text: String,
}

// ---- issue comments -----------------------------------------------------

/// The author of a comment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The account id (logins can be reused; ids are not).
    #[serde(default)]
    pub id: u64,
    /// The login, e.g. `"octocat"` or `"my-app[bot]"`.
    pub login: String,
    /// `"User"`, `"Bot"` or `"Organization"`.
    #[serde(rename = "type", default)]
    pub type_: String,
}

/// A comment on an issue or pull request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueComment {
    /// The comment id.
    pub id: u64,
    /// The Markdown body.
    #[serde(default)]
    pub body: String,
    /// The comment's page on GitHub.
    #[serde(default)]
    pub html_url: String,
    /// The author; absent for deleted ("ghost") accounts.
    pub user: Option<User>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last edited.
    pub updated_at: DateTime<Utc>,
}

// ---- check runs ---------------------------------------------------------

/// GitHub's limit on the size of a check run's `output.summary` and
/// `output.text`. The documentation says characters, but GitHub measures
/// bytes ("summary exceeds a maximum bytesize of 65535").
pub const MAX_CHECK_OUTPUT_BYTES: usize = 65535;

/// GitHub accepts at most this many annotations per check run request.
pub const MAX_ANNOTATIONS_PER_REQUEST: usize = 50;

/// Cuts `s` to at most [`MAX_CHECK_OUTPUT_BYTES`] bytes of UTF-8, on a
/// character boundary; a cut text ends with "…".
pub fn truncate_check_output(s: &str) -> String {
    if s.len() <= MAX_CHECK_OUTPUT_BYTES {
        return s.to_owned();
    }
    let ellipsis = '…';
    let mut end = MAX_CHECK_OUTPUT_BYTES - ellipsis.len_utf8();
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = String::with_capacity(end + ellipsis.len_utf8());
    out.push_str(&s[..end]);
    out.push(ellipsis);
    out
}

/// An annotation on a line range of a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckAnnotation {
    /// The path of the file, relative to the repository root.
    pub path: String,
    /// The first line (1-based).
    pub start_line: u32,
    /// The last line.
    pub end_line: u32,
    /// The first column; only valid when `start_line == end_line`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_column: Option<u32>,
    /// The last column; only valid when `start_line == end_line`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_column: Option<u32>,
    /// `"notice"`, `"warning"` or `"failure"`.
    pub annotation_level: String,
    /// The message.
    pub message: String,
    /// A short title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// The `output` of a check run. The client sends any number of annotations
/// (50 per request) and cuts `summary` and `text` to GitHub's limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckRunOutput {
    /// The title.
    pub title: String,
    /// The Markdown summary.
    pub summary: String,
    /// Further Markdown details.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Annotations on lines of code.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub annotations: Vec<CheckAnnotation>,
}

impl CheckRunOutput {
    /// An output with a title and summary, no text and no annotations.
    pub fn new(title: impl Into<String>, summary: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            summary: summary.into(),
            text: None,
            annotations: Vec::new(),
        }
    }
}

/// Body of `POST /repos/{owner}/{repo}/check-runs`; `None` fields are omitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCheckRun {
    /// The check's name, e.g. `"deploy-plan"`.
    pub name: String,
    /// The commit the check is about.
    pub head_sha: String,
    /// `"queued"`, `"in_progress"` or `"completed"` (GitHub's default is queued).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Required with status `"completed"`: `"success"`, `"failure"`,
    /// `"neutral"`, `"cancelled"`, `"skipped"`, `"timed_out"` or `"action_required"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conclusion: Option<String>,
    /// Our own reference for the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Where the details are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details_url: Option<String>,
    /// The output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<CheckRunOutput>,
}

impl NewCheckRun {
    /// A check run named `name` on `head_sha` with every optional field unset.
    pub fn new(name: impl Into<String>, head_sha: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            head_sha: head_sha.into(),
            status: None,
            conclusion: None,
            external_id: None,
            details_url: None,
            output: None,
        }
    }
}

/// Body of `PATCH /repos/{owner}/{repo}/check-runs/{id}`; `None` fields are
/// omitted (left unchanged by GitHub).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckRunUpdate {
    /// The new status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The conclusion (required when completing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conclusion: Option<String>,
    /// Our own reference for the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Where the details are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details_url: Option<String>,
    /// The output; annotations are appended to those the run already has.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<CheckRunOutput>,
}

/// A check run as GitHub returns it, reduced to the fields the tracker uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckRun {
    /// The check run id.
    pub id: u64,
    /// The check's name.
    pub name: String,
    /// The commit it is about.
    pub head_sha: String,
    /// `"queued"`, `"in_progress"`, `"completed"`, ...
    pub status: String,
    /// The conclusion, once completed.
    pub conclusion: Option<String>,
    /// The check run's page on GitHub.
    pub html_url: Option<String>,
    /// What the run reports (its title and how many annotations it has).
    pub output: Option<CheckRunOutputInfo>,
}

/// The parts of a check run's `output` as GitHub lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckRunOutputInfo {
    /// The title.
    pub title: Option<String>,
    /// The summary (Markdown).
    #[serde(default)]
    pub summary: Option<String>,
    /// How many annotations the run has.
    #[serde(default)]
    pub annotations_count: u64,
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

    #[test]
    fn check_output_is_cut_to_65535_bytes_on_char_boundaries() {
        let fits = "a".repeat(MAX_CHECK_OUTPUT_BYTES);
        assert_eq!(truncate_check_output(&fits), fits);
        // 4-byte characters: the limit is bytes, so fewer characters fit.
        let long = "🚀".repeat(20_000);
        let cut = truncate_check_output(&long);
        assert!(cut.len() <= MAX_CHECK_OUTPUT_BYTES, "{}", cut.len());
        assert!(cut.ends_with('…'));
        assert!(cut.len() > MAX_CHECK_OUTPUT_BYTES - 8);
        assert!(long.starts_with(cut.trim_end_matches('…')));
    }

    #[test]
    fn check_run_bodies_use_github_names_and_omit_none() {
        let mut run = NewCheckRun::new("plan", "abc");
        run.output = Some(CheckRunOutput::new("t", "s"));
        let v = serde_json::to_value(&run).expect("serialize");
        assert_eq!(
            v,
            serde_json::json!({"name": "plan", "head_sha": "abc", "output": {"title": "t", "summary": "s"}})
        );
        let update = CheckRunUpdate {
            status: Some("completed".into()),
            conclusion: Some("success".into()),
            ..CheckRunUpdate::default()
        };
        assert_eq!(
            serde_json::to_value(&update).expect("serialize"),
            serde_json::json!({"status": "completed", "conclusion": "success"})
        );
    }

    #[test]
    fn pull_and_comment_decode_github_objects() {
        let pr: PullRequest = serde_json::from_str(
            r#"{"id": 1, "number": 7, "state": "open", "html_url": "https://github.com/o/r/pull/7",
                "head": {"label": "o:feat", "ref": "feat", "sha": "h1"},
                "base": {"label": "o:main", "ref": "main", "sha": "b1"}}"#,
        )
        .expect("pull");
        assert_eq!(pr.head.ref_, "feat");
        assert_eq!(pr.base.sha, "b1");
        let c: IssueComment = serde_json::from_str(
            r#"{"id": 3, "body": "hi", "html_url": "h", "user": {"login": "gdt[bot]", "id": 9, "type": "Bot"},
                "created_at": "2024-05-01T10:00:00Z", "updated_at": "2024-05-01T10:00:00Z"}"#,
        )
        .expect("comment");
        assert_eq!(c.user.map(|u| u.type_).as_deref(), Some("Bot"));
    }
}
