//! What the board reads from Temporal ([`Row`], [`BoardMemo`], [`Outcome`]) and what its API
//! answers ([`EnvironmentsView`], [`HistoryView`], [`DoraView`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::deployments::DeploymentWorkflowInput;

/// The memo key under which a deployment's [`BoardMemo`] is stored.
pub const MEMO_KEY: &str = "gdt";

/// What the board shows of a deployment and Temporal does not index: set once, by the start
/// call, as the workflow's memo. A start option, not a workflow command: it adds no history
/// event. Deployments started without it (by the `temporal` CLI) are shown from their search
/// attributes alone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BoardMemo {
    /// The branch or tag deployed (`branch_name`).
    #[serde(rename = "ref", skip_serializing_if = "String::is_empty")]
    pub git_ref: String,
    /// The pipeline id in the CI/CD system.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub pipeline_id: String,
    /// The pipeline execution id.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub execution_id: String,
    /// The pipeline's log URL given at the start.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub log_url: String,
    /// The environment URL given at the start.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub environment_url: String,
    /// When the deployed commit was made (RFC 3339), for lead times.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit_time: Option<String>,
    /// GitHub's `production_environment`.
    pub production: bool,
    /// GitHub's `transient_environment`.
    pub transient: bool,
}

impl BoardMemo {
    /// The memo of a deployment about to be started.
    pub fn at_start(input: &DeploymentWorkflowInput) -> Self {
        Self {
            git_ref: input.branch_name.clone(),
            pipeline_id: input.harness_pipeline_id.clone(),
            execution_id: input.harness_execution_id.clone(),
            log_url: input.log_url.clone(),
            environment_url: input.environment_url.clone(),
            commit_time: input.commit_timestamp.clone(),
            production: input.is_production(),
            transient: input.is_transient,
        }
    }
}

/// What a deployment's result adds once it closed: read from its close event, once per run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The GitHub deployment id (0: none was created).
    pub deployment_id: u64,
    /// The final GitHub state as the workflow decided it.
    pub final_status: String,
    /// The last log URL GitHub took.
    pub log_url: String,
    /// The last environment URL GitHub took.
    pub environment_url: String,
}

/// One deployment workflow run as visibility lists it, with its memo and, once read, its
/// outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The workflow id.
    pub workflow_id: String,
    /// The run id.
    pub run_id: String,
    /// Temporal's status word (`running`, `completed`, `failed`, …).
    pub workflow_status: String,
    /// When the workflow started.
    pub started_at: DateTime<Utc>,
    /// When it closed, if it did.
    pub closed_at: Option<DateTime<Utc>>,
    /// `owner/name`.
    pub repository: String,
    /// The environment.
    pub environment: String,
    /// The service; `None`: the repository as a whole.
    pub service: Option<String>,
    /// The commit deployed.
    pub commit_sha: String,
    /// The GitHub state last posted (`GdtState`).
    pub state: String,
    /// The start call's memo; `None` for deployments started without one.
    pub memo: Option<BoardMemo>,
    /// The result's facts, once read.
    pub outcome: Option<Outcome>,
}

/// The states that end a deployment.
pub const TERMINAL_STATES: [&str; 4] = ["success", "failure", "error", "inactive"];

impl Row {
    /// Whether the workflow still runs.
    pub fn running(&self) -> bool {
        self.closed_at.is_none()
    }

    /// The deployment's state as the board shows it: the result's final state once known,
    /// else the last one posted; a closed workflow whose last posted state is not terminal
    /// (it was terminated, timed out or failed) is `unknown`.
    pub fn shown_state(&self) -> &str {
        if let Some(outcome) = self.outcome.as_ref().filter(|o| !o.final_status.is_empty()) {
            return &outcome.final_status;
        }
        if self.running() || TERMINAL_STATES.contains(&self.state.as_str()) {
            &self.state
        } else {
            "unknown"
        }
    }

    /// The lane this row belongs to.
    pub fn lane(&self) -> LaneId<'_> {
        LaneId {
            repository: &self.repository,
            service: self.service.as_deref(),
            environment: &self.environment,
        }
    }

    /// When the deployed commit was made, if the start said.
    pub fn commit_time(&self) -> Option<DateTime<Utc>> {
        let text = self.memo.as_ref()?.commit_time.as_deref()?;
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }
}

/// A lane: repository, service (or none) and environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LaneId<'a> {
    /// `owner/name`.
    pub repository: &'a str,
    /// The service; `None` sorts first.
    pub service: Option<&'a str>,
    /// The environment.
    pub environment: &'a str,
}

/// One deployment as the board's API presents it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = BoardDeployment))]
pub struct Deployment {
    /// The tracking workflow's id.
    pub workflow_id: String,
    /// Its run id.
    pub run_id: String,
    /// The commit deployed.
    pub commit_sha: String,
    /// The branch or tag deployed, when the start said.
    #[serde(rename = "ref")]
    pub git_ref: Option<String>,
    /// `success`, `failure`, `error`, `inactive`, `in_progress`, `queued`, `pending`, or
    /// `unknown` (the workflow ended without a final state: terminated, timed out).
    pub state: String,
    /// Temporal's status of the tracking workflow (`running`, `completed`, …).
    pub workflow_status: String,
    /// When tracking started (RFC 3339).
    pub started_at: String,
    /// When it ended (RFC 3339), if it did.
    pub finished_at: Option<String>,
    /// The GitHub deployment id, once known to the board (after the deployment ended).
    pub deployment_id: Option<u64>,
    /// The pipeline id in the CI/CD system.
    pub pipeline_id: Option<String>,
    /// The pipeline execution id.
    pub execution_id: Option<String>,
    /// The pipeline's logs (only `http` and `https` links are given).
    pub log_url: Option<String>,
    /// The deployed environment (only `http` and `https` links are given).
    pub environment_url: Option<String>,
    /// When the deployed commit was made, when the start said.
    pub commit_time: Option<String>,
}

/// One lane on the board.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Lane {
    /// `owner/name`.
    pub repository: String,
    /// The service; `null`: the repository as a whole.
    pub service: Option<String>,
    /// The environment.
    pub environment: String,
    /// GitHub's `production_environment` of the latest deployment.
    pub production: bool,
    /// GitHub's `transient_environment` of the latest deployment.
    pub transient: bool,
    /// The environment's deployments on GitHub's web pages.
    pub github_url: String,
    /// What is deployed in place: the lane's newest successful deployment.
    pub current: Option<Deployment>,
    /// The lane's newest deployment (the same as `current` when that one succeeded).
    pub latest: Deployment,
    /// The newest deployment still running, if any.
    pub in_progress: Option<Deployment>,
    /// How many deployments the lane had within the board's window.
    pub deployments_in_window: usize,
}

/// `GET /api/v1/environments`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnvironmentsView {
    /// When the server last read Temporal (RFC 3339); ages are relative to it.
    pub as_of: String,
    /// The last read failed, and this is the one before.
    pub stale: bool,
    /// Days of history the board holds (`board.history_days`).
    pub coverage_days: u32,
    /// How often a page should ask again, in seconds (`board.poll_interval`).
    pub poll_seconds: u64,
    /// The lanes, by repository, service (none first) and environment.
    pub lanes: Vec<Lane>,
    /// More lanes matched than are listed.
    pub truncated: bool,
}

/// `GET /api/v1/environments/history`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryView {
    /// `owner/name`.
    pub repository: String,
    /// The service; `null`: the repository as a whole.
    pub service: Option<String>,
    /// The environment.
    pub environment: String,
    /// The lane's deployments within the window, newest first.
    pub deployments: Vec<Deployment>,
    /// More deployments than `limit` are in the window.
    pub has_more: bool,
}

/// The delivery metrics of one window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DoraWindow {
    /// The window's length in days.
    pub days: u32,
    /// Its start (RFC 3339).
    pub from: String,
    /// Its end (RFC 3339): the time of the answer.
    pub to: String,
    /// Deployments that ended in the window: successes, failures and abandoned ones.
    pub deployments: u64,
    /// Those that ended `success`.
    pub successes: u64,
    /// Those that ended `failure` or `error`.
    pub failures: u64,
    /// Those that ended `inactive` before succeeding or failing (superseded, silent, their
    /// pull request closed).
    pub abandoned: u64,
    /// Successes per day.
    pub deployment_frequency_per_day: f64,
    /// failures / (successes + failures); `null` when there were neither.
    pub change_failure_rate: Option<f64>,
    /// Lead time for changes.
    pub lead_time: LeadTime,
    /// Time to restore service.
    pub time_to_restore: TimeToRestore,
}

/// Lead time for changes: from the commit's time to the success of its deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LeadTime {
    /// Successes whose commit time is known.
    pub samples: u64,
    /// Successes started without `commit_timestamp`.
    pub without_commit_time: u64,
    /// The median, in seconds.
    pub median_seconds: Option<f64>,
    /// The 90th percentile, in seconds.
    pub p90_seconds: Option<f64>,
}

/// Time to restore service: from a lane's first failure after a success to its next success.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TimeToRestore {
    /// Failures restored within the window.
    pub restored: u64,
    /// Lanes whose latest deployment failed and has not been followed by a success.
    pub unrestored: u64,
    /// The median of the restored ones, in seconds.
    pub median_seconds: Option<f64>,
}

/// One UTC day of the largest window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DoraDay {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Deployments that succeeded that day.
    pub successes: u64,
    /// Deployments that failed that day.
    pub failures: u64,
    /// The median lead time of that day's successes, in seconds.
    pub lead_time_median_seconds: Option<f64>,
}

/// `GET /api/v1/dora`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DoraView {
    /// The time of the answer (RFC 3339).
    pub as_of: String,
    /// Days of history the board holds; no window reaches further back.
    pub coverage_days: u32,
    /// One entry per asked window, in the order asked.
    pub windows: Vec<DoraWindow>,
    /// Day by day over the largest window, oldest first.
    pub daily: Vec<DoraDay>,
}

/// What the board's lists are filtered by; `None` matches anything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BoardFilter {
    /// `owner/name`.
    pub repository: Option<String>,
    /// The environment.
    pub environment: Option<String>,
    /// The service; `Some("")` would match only repository-level lanes.
    pub service: Option<String>,
    /// The latest deployment's state.
    pub state: Option<String>,
    /// Include transient (review app) environments.
    pub include_transient: bool,
}
