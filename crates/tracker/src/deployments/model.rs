//! The deployment workflow's contract: its input, signal, query and result types.
//!
//! The JSON field names (`DeploymentWorkflowInput`, `DeploymentStatusUpdate`,
//! `DeploymentWorkflowResult`) are a published contract: pipelines and `temporal workflow
//! start --input` rely on them, so they never change.

use serde::{Deserialize, Serialize};

/// Default for [`DeploymentWorkflowInput::inactivity_timeout_seconds`]: 30 minutes.
pub const DEFAULT_INACTIVITY_TIMEOUT_SECS: u64 = 30 * 60;

/// What a deployment may carry. Every free-text field has a limit, so that a workflow's
/// history, its continue-as-new input and the `deployment-state` answer stay bounded however
/// many updates a pipeline sends (README, "Limits").
pub mod limits {
    /// GitHub keeps 140 characters of a description; longer ones are cut to 140 (the last
    /// one `…`) before they reach Temporal or GitHub.
    pub const DESCRIPTION_CHARS: usize = gdt_github::MAX_DESCRIPTION_CHARS;
    /// `log_url` and `environment_url`: longer ones are refused (a cut URL is a broken link).
    pub const URL_CHARS: usize = 2048;
    /// GitHub's longest user or organisation name.
    pub const OWNER_CHARS: usize = 39;
    /// GitHub's longest repository name.
    pub const REPO_CHARS: usize = 100;
    /// Refs, environments, branches, tasks and pipeline ids (a Git ref is at most 255 bytes).
    pub const NAME_CHARS: usize = 255;
    /// An update's `event_id`.
    pub const EVENT_ID_CHARS: usize = 200;
    /// An update's `updated_at` (an RFC 3339 time is 35 at most).
    pub const UPDATED_AT_CHARS: usize = 64;
    /// The deployment `payload`, as JSON.
    pub const PAYLOAD_BYTES: usize = 16 * 1024;
    /// The longest inactivity timeout: 30 days.
    pub const MAX_INACTIVITY_TIMEOUT_SECS: u64 = 30 * 24 * 60 * 60;
    /// How many updates `deployment-state` lists (the newest; older ones are counted in
    /// `updates_received` only).
    pub const RECORDED_UPDATES: usize = 50;
    /// How many updates may wait to be posted (while GitHub is down, say); past it the
    /// oldest waiting non-terminal one is recorded as `superseded` and not posted.
    pub const PENDING_UPDATES: usize = 100;
    /// How many `event_id`s a deployment remembers to recognise a repeated update.
    pub const REMEMBERED_EVENT_IDS: usize = 1000;
    /// Anything the workflow records from outside (a status word it did not know, a
    /// failure message) is cut to this many characters.
    pub const RECORDED_TEXT_CHARS: usize = 512;
}

/// `text` cut to at most `max` characters, the last one `…` when something was cut.
pub fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn too_long(field: &'static str, value: &str, max: usize) -> Result<(), InvalidInput> {
    let chars = value.chars().count();
    if chars > max {
        return Err(InvalidInput::Invalid {
            field,
            reason: format!("{chars} characters; at most {max} are accepted"),
        });
    }
    Ok(())
}

/// The input of `GitHubDeploymentWorkflow`. Every field may be absent in the JSON and takes
/// its default; [`DeploymentWorkflowInput::validate`] says what is missing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeploymentWorkflowInput {
    /// Repository owner (user or organisation).
    #[cfg_attr(feature = "openapi", schema(required = true, min_length = 1))]
    pub repo_owner: String,
    /// Repository name.
    #[cfg_attr(feature = "openapi", schema(required = true, min_length = 1))]
    pub repo_name: String,
    /// The commit being deployed; GitHub's deployment `ref`.
    #[cfg_attr(feature = "openapi", schema(required = true, min_length = 1))]
    pub commit_sha: String,
    /// The branch the commit came from (informational; carried in the payload).
    pub branch_name: String,
    /// The target environment (`production`, `staging`, …).
    #[cfg_attr(feature = "openapi", schema(required = true, min_length = 1))]
    pub environment: String,
    /// A short-lived environment (a review app): GitHub's `transient_environment`.
    pub is_transient: bool,
    /// The pipeline id in the CI/CD system (carried in the deployment payload).
    pub harness_pipeline_id: String,
    /// The pipeline execution id in the CI/CD system (carried in the deployment payload).
    pub harness_execution_id: String,
    /// The initial status word; empty means `pending`.
    pub status: String,
    /// Link to the pipeline's logs.
    pub log_url: String,
    /// URL of the deployed environment.
    pub environment_url: String,
    /// Human description; GitHub keeps 140 characters, longer ones are cut to 140.
    pub description: String,
    /// GitHub's `production_environment`; default: the environment is named `production`.
    pub production_environment: Option<bool>,
    /// GitHub's deployment `task`; default `deploy`.
    pub task: Option<String>,
    /// Extra payload fields stored with the GitHub deployment (a JSON object).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub payload: Option<serde_json::Value>,
    /// Seconds without an update after which the deployment is marked `inactive`;
    /// 1 to 2,592,000 (30 days), default 30 minutes.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 2_592_000))]
    pub inactivity_timeout_seconds: Option<u64>,
    /// The service deployed, when one repository holds several (a monorepo): letters,
    /// digits, `.`, `_`, `-`, `/` and `:`, at most 100 characters. Absent or empty: the repository
    /// is the service. Inactivation and superseding apply per repository, environment and
    /// service. Stored in the GitHub deployment's payload under `service`.
    #[cfg_attr(
        feature = "openapi",
        schema(max_length = 100, pattern = "^[A-Za-z0-9._/:-]*$")
    )]
    pub service: String,
    /// When the deployed commit was made (RFC 3339, e.g. `git show -s --format=%cI SHA`): the
    /// start of its lead time for changes on the board and in the delivery metrics. Kept by
    /// Temporal (the workflow's memo), never sent to GitHub.
    pub commit_timestamp: Option<String>,
}

/// A commit time must be RFC 3339, so lead times are computed from a known instant.
fn check_commit_timestamp(value: Option<&str>) -> Result<(), InvalidInput> {
    match value {
        Some(text) if chrono::DateTime::parse_from_rfc3339(text).is_err() => {
            Err(InvalidInput::Invalid {
                field: "commit_timestamp",
                reason: format!(
                    "{:?} is not an RFC 3339 time such as 2026-11-26T10:00:00Z (git show -s \
                     --format=%cI SHA prints one)",
                    cut(text, 64)
                ),
            })
        }
        _ => Ok(()),
    }
}

/// GitHub's `production_environment` default as this tracker applies it: the environment is
/// named `production` (any case).
pub fn is_production_environment(environment: &str) -> bool {
    environment.eq_ignore_ascii_case("production")
}

/// Why a workflow input cannot start a deployment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidInput {
    /// Required fields are empty or absent.
    #[error("invalid deployment input: missing required field(s) {}", .0.join(", "))]
    Missing(Vec<&'static str>),
    /// A field has a value GitHub or the tracker cannot use.
    #[error("invalid deployment input: {field}: {reason}")]
    Invalid {
        /// The JSON field name.
        field: &'static str,
        /// What is wrong and what to do.
        reason: String,
    },
}

impl DeploymentWorkflowInput {
    /// Checks the input before anything is sent to GitHub: [`Self::validate_required`] and
    /// [`Self::validate_limits`].
    pub fn validate(&self) -> Result<(), InvalidInput> {
        self.validate_required()?;
        self.validate_limits()
    }

    /// The required fields, the status word, the payload's shape.
    pub fn validate_required(&self) -> Result<(), InvalidInput> {
        let required = [
            ("repo_owner", &self.repo_owner),
            ("repo_name", &self.repo_name),
            ("commit_sha", &self.commit_sha),
            ("environment", &self.environment),
        ];
        let missing: Vec<&'static str> = required
            .iter()
            .filter(|(_, value)| value.trim().is_empty())
            .map(|(name, _)| *name)
            .collect();
        if !missing.is_empty() {
            return Err(InvalidInput::Missing(missing));
        }
        super::status::map_status(&self.status).map_err(|e| InvalidInput::Invalid {
            field: "status",
            reason: e.to_string(),
        })?;
        if let Some(payload) = &self.payload {
            if !payload.is_object() {
                return Err(InvalidInput::Invalid {
                    field: "payload",
                    reason: "must be a JSON object".to_owned(),
                });
            }
        }
        if self.inactivity_timeout_seconds == Some(0) {
            return Err(InvalidInput::Invalid {
                field: "inactivity_timeout_seconds",
                reason: "must be at least 1".to_owned(),
            });
        }
        check_service(&self.service)?;
        check_commit_timestamp(self.commit_timestamp.as_deref())
    }

    /// The length and range limits ([`limits`]). Part of [`Self::validate`]; the workflow
    /// also checks them on their own, behind a patch, so histories recorded before the
    /// limits existed replay unchanged.
    pub fn validate_limits(&self) -> Result<(), InvalidInput> {
        use limits::*;
        if let Some(secs) = self.inactivity_timeout_seconds {
            if secs > MAX_INACTIVITY_TIMEOUT_SECS {
                return Err(InvalidInput::Invalid {
                    field: "inactivity_timeout_seconds",
                    reason: format!(
                        "{secs} is out of range: use 1 to {MAX_INACTIVITY_TIMEOUT_SECS} (30 days)"
                    ),
                });
            }
        }
        too_long("repo_owner", &self.repo_owner, OWNER_CHARS)?;
        too_long("repo_name", &self.repo_name, REPO_CHARS)?;
        for (field, value) in [
            ("commit_sha", &self.commit_sha),
            ("branch_name", &self.branch_name),
            ("environment", &self.environment),
            ("harness_pipeline_id", &self.harness_pipeline_id),
            ("harness_execution_id", &self.harness_execution_id),
            ("status", &self.status),
        ] {
            too_long(field, value, NAME_CHARS)?;
        }
        too_long("task", self.task.as_deref().unwrap_or_default(), NAME_CHARS)?;
        too_long("log_url", &self.log_url, URL_CHARS)?;
        too_long("environment_url", &self.environment_url, URL_CHARS)?;
        if let Some(payload) = &self.payload {
            let bytes = serde_json::to_vec(payload).map_or(0, |v| v.len());
            if bytes > PAYLOAD_BYTES {
                return Err(InvalidInput::Invalid {
                    field: "payload",
                    reason: format!("{bytes} bytes of JSON; at most {PAYLOAD_BYTES} are accepted"),
                });
            }
        }
        Ok(())
    }

    /// The input as it is stored: the description cut to GitHub's 140 characters.
    pub fn bounded(mut self) -> Self {
        self.description = cut(&self.description, limits::DESCRIPTION_CHARS);
        self
    }

    /// `owner/name`.
    pub fn repository(&self) -> String {
        format!("{}/{}", self.repo_owner, self.repo_name)
    }

    /// GitHub's `production_environment` for this deployment.
    pub fn is_production(&self) -> bool {
        self.production_environment
            .unwrap_or_else(|| is_production_environment(&self.environment))
    }

    /// GitHub's deployment `task`.
    pub fn task(&self) -> &str {
        self.task
            .as_deref()
            .filter(|t| !t.is_empty())
            .unwrap_or("deploy")
    }

    /// The inactivity timeout.
    pub fn inactivity_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(
            self.inactivity_timeout_seconds
                .unwrap_or(DEFAULT_INACTIVITY_TIMEOUT_SECS),
        )
    }

    /// A workflow id for this deployment when the caller does not choose one: stable for a
    /// pipeline execution, so a pipeline that retries its start reaches the same workflow.
    /// Two services deployed by one pipeline run get two workflows: the service is part of
    /// the id when there is one.
    pub fn default_workflow_id(&self) -> String {
        let run = if self.harness_execution_id.is_empty() {
            self.commit_sha.as_str()
        } else {
            self.harness_execution_id.as_str()
        };
        if self.service.is_empty() {
            format!(
                "deployment-{}-{}-{}-{}",
                self.repo_owner, self.repo_name, self.environment, run
            )
        } else {
            format!(
                "deployment-{}-{}-{}-{}-{}",
                self.repo_owner, self.repo_name, self.environment, self.service, run
            )
        }
    }
}

/// What gdt writes into the payload of the GitHub deployments it creates, and how any
/// deployment's payload is read back: the lanes, the PR clean-up and the webhook recognise
/// gdt's own deployments by these keys.
pub mod payload {
    use serde_json::{Map, Value};

    /// The key whose value [`GDT`] marks a deployment gdt created.
    pub const TRIGGERED_BY: &str = "triggered_by";
    /// The value of [`TRIGGERED_BY`] in gdt's deployments.
    pub const GDT: &str = "github-deployment-tracker";
    /// The key holding the id of the workflow that tracks the deployment.
    pub const WORKFLOW_ID: &str = "workflow_id";
    /// The key holding the deployment's service, when it names one.
    pub const SERVICE: &str = "service";

    /// A deployment payload as an object. GitHub hands back an object, or the JSON text of
    /// one when the deployment was created with a string payload; anything else is empty.
    pub fn object(payload: &Value) -> Map<String, Value> {
        match payload {
            Value::Object(map) => map.clone(),
            Value::String(text) => {
                serde_json::from_str::<Map<String, Value>>(text).unwrap_or_default()
            }
            _ => Map::new(),
        }
    }

    /// The text under `key` of a deployment payload, when there is one.
    pub fn text(payload: &Value, key: &str) -> Option<String> {
        object(payload).get(key)?.as_str().map(str::to_owned)
    }
}

/// The longest service name.
pub const SERVICE_CHARS: usize = 100;

/// A service name is empty (the repository is the service) or 1 to [`SERVICE_CHARS`] of
/// letters, digits, `.`, `_`, `-`, `/` and `:`: enough for `api`, `billing-worker`, `deploy:api` or
/// `services/api`, and nothing that needs escaping in a workflow id or a visibility query.
pub fn check_service(service: &str) -> Result<(), InvalidInput> {
    too_long("service", service, SERVICE_CHARS)?;
    if let Some(bad) = service
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | ':')))
    {
        return Err(InvalidInput::Invalid {
            field: "service",
            reason: format!(
                "{bad:?} is not allowed; use letters, digits, '.', '_', '-', '/' and ':' \
                 (for example api or services/billing)"
            ),
        });
    }
    Ok(())
}

/// Why gdt ended a deployment before its pipeline did: the `gdt-lifecycle` signal, and the
/// `ended_by` of the state and the result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Lifecycle {
    /// A newer deployment of the same repository, environment and service started.
    Superseded {
        /// The newer deployment's workflow.
        by_workflow_id: String,
        /// The newer deployment's GitHub id.
        by_deployment_id: u64,
    },
    /// The pull request whose preview environment this deployment went to was closed.
    PullRequestClosed {
        /// The pull request's number.
        number: u64,
    },
}

impl Lifecycle {
    /// The description of the final `inactive` status (at most 140 characters).
    pub fn description(&self) -> String {
        let text = match self {
            Self::Superseded {
                by_deployment_id, ..
            } => format!("Superseded by deployment {by_deployment_id}"),
            Self::PullRequestClosed { number } => format!("Pull request #{number} closed"),
        };
        cut(&text, limits::DESCRIPTION_CHARS)
    }
}

/// The `deployment-status-update` signal (`DeploymentStatusUpdate`). `status` is
/// required; unknown fields are refused, so a misspelt field (`state`, `Status`) is an error
/// and never a silent `pending`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeploymentStatusUpdate {
    /// The status word (`running`, `success`, …). Required.
    #[cfg_attr(
        feature = "openapi",
        schema(required = true, min_length = 1, max_length = 255)
    )]
    pub status: String,
    /// Link to the pipeline's logs.
    pub log_url: String,
    /// URL of the deployed environment.
    pub environment_url: String,
    /// Human description.
    pub description: String,
    /// When the pipeline produced the update (RFC 3339), as the pipeline says.
    pub updated_at: Option<String>,
    /// An id for the update: an update whose `event_id` was already applied is applied once.
    pub event_id: Option<String>,
}

/// The update's fields the way an older tracker read them: unknown fields ignored and
/// `status` optional. Only histories recorded before the stricter reading replay through it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct LenientStatusUpdate {
    status: String,
    log_url: String,
    environment_url: String,
    description: String,
    updated_at: Option<String>,
    event_id: Option<String>,
}

impl From<LenientStatusUpdate> for DeploymentStatusUpdate {
    fn from(u: LenientStatusUpdate) -> Self {
        Self {
            status: u.status,
            log_url: u.log_url,
            environment_url: u.environment_url,
            description: u.description,
            updated_at: u.updated_at,
            event_id: u.event_id,
        }
    }
}

impl DeploymentStatusUpdate {
    /// Why this update cannot be applied, before its status word is looked at: a missing
    /// status word, or a field over its limit ([`limits`]).
    pub fn check(&self) -> Result<(), InvalidInput> {
        use limits::*;
        if self.status.trim().is_empty() {
            return Err(InvalidInput::Invalid {
                field: "status",
                reason: "required: send the status word (e.g. {\"status\": \"success\"})"
                    .to_owned(),
            });
        }
        too_long("status", &self.status, NAME_CHARS)?;
        too_long("log_url", &self.log_url, URL_CHARS)?;
        too_long("environment_url", &self.environment_url, URL_CHARS)?;
        too_long(
            "event_id",
            self.event_id.as_deref().unwrap_or_default(),
            EVENT_ID_CHARS,
        )?;
        too_long(
            "updated_at",
            self.updated_at.as_deref().unwrap_or_default(),
            UPDATED_AT_CHARS,
        )?;
        Ok(())
    }

    /// The update as it is stored: the description cut to GitHub's 140 characters.
    pub fn bounded(mut self) -> Self {
        self.description = cut(&self.description, limits::DESCRIPTION_CHARS);
        self
    }

    /// A copy small enough to record whatever was sent: every field cut to its limit.
    pub(crate) fn clipped(&self) -> Self {
        use limits::*;
        Self {
            status: cut(&self.status, NAME_CHARS),
            log_url: cut(&self.log_url, URL_CHARS),
            environment_url: cut(&self.environment_url, URL_CHARS),
            description: cut(&self.description, DESCRIPTION_CHARS),
            updated_at: self.updated_at.as_deref().map(|t| cut(t, UPDATED_AT_CHARS)),
            event_id: self.event_id.as_deref().map(|e| cut(e, EVENT_ID_CHARS)),
        }
    }
}

/// The workflow's result (`DeploymentWorkflowResult`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeploymentWorkflowResult {
    /// The GitHub deployment id.
    pub deployment_id: u64,
    /// The final GitHub state (`success`, `failure`, `error`, `inactive`).
    pub final_status: String,
    /// When the workflow finished (RFC 3339).
    pub completed_at: String,
    /// How long the deployment was tracked, as Go formats durations (`1m30s`).
    pub total_duration: String,
    /// How many statuses were posted to GitHub, the initial one included.
    pub status_updates: u32,
    /// Why gdt ended the deployment before its pipeline did, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_by: Option<Lifecycle>,
    /// The last log URL GitHub took (empty: none), for the board's links.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub log_url: String,
    /// The last environment URL GitHub took (empty: none).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub environment_url: String,
}

/// One status the workflow posted, or decided not to post.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AppliedUpdate {
    /// The word the pipeline sent (or `inactive` for the inactivity timeout).
    pub status: String,
    /// The GitHub state it mapped to, when it mapped.
    pub state: Option<String>,
    /// The description as sent.
    pub description: String,
    /// Log URL as sent.
    pub log_url: String,
    /// Environment URL as sent.
    pub environment_url: String,
    /// The update's `event_id`, if any.
    pub event_id: Option<String>,
    /// When the workflow received it (workflow time, RFC 3339).
    pub received_at: String,
    /// What became of it.
    pub outcome: UpdateOutcome,
    /// Why it was not applied, when it was not.
    pub detail: Option<String>,
}

/// Declares an enum of words on the wire, with `ALL`, `as_str()` and a `Display` that
/// pads. Serde and the OpenAPI schema spell variants in `snake_case`, which is what each
/// variant's word must be (tested): utoipa does not read a `rename` that comes from a macro.
macro_rules! wire_words {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $($(#[$variant_meta:meta])* $variant:ident = $word:literal,)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub enum $name {
            $($(#[$variant_meta])* $variant,)*
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),*];

            /// The word on the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $word,)*
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(self.as_str())
            }
        }
    };
}

wire_words! {
    /// What became of one update, as `deployment-state` records it.
    pub enum UpdateOutcome {
        /// Posted to GitHub.
        Applied = "applied",
        /// Not posted: the deployment had already reached a terminal state.
        IgnoredAfterTerminal = "ignored_after_terminal",
        /// Not posted: an update with this `event_id` was already received.
        DuplicateEvent = "duplicate_event",
        /// Not posted: the status word maps to no GitHub state.
        RejectedUnknownStatus = "rejected_unknown_status",
        /// Not posted: the update was malformed (no status word, an unknown field, a field
        /// over its limit).
        RejectedInvalid = "rejected_invalid",
        /// Not posted: more than 100 updates were waiting for GitHub, and newer ones were
        /// posted.
        Superseded = "superseded",
        /// GitHub did not take it after every retry.
        Failed = "failed",
    }
}

wire_words! {
    /// What the workflow did with a submitted update.
    pub enum AckOutcome {
        /// It will be posted to GitHub in arrival order.
        Queued = "queued",
        /// An update with this `event_id` was already received; nothing new is posted.
        DuplicateEvent = "duplicate_event",
        /// No worker took the update in time: it is stored and applied when one runs, unless
        /// the deployment is terminal by then.
        QueuedForWorker = "queued_for_worker",
        /// The status word maps to no GitHub state (the update's validator refuses such an
        /// update first, so only the signal's path records it).
        RejectedUnknownStatus = "rejected_unknown_status",
        /// The deployment had already reached a terminal state (the validator refuses such an
        /// update first, so only the signal's path records it).
        IgnoredAfterTerminal = "ignored_after_terminal",
    }
}

/// The answer of the `deployment-state` query.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeploymentStateView {
    /// `owner/name`.
    pub repository: String,
    /// The environment.
    pub environment: String,
    /// The commit SHA.
    pub commit_sha: String,
    /// The GitHub deployment id, once created.
    pub deployment_id: Option<u64>,
    /// The current GitHub state (`pending` before the first status lands).
    pub state: String,
    /// Whether the deployment reached a terminal state.
    pub terminal: bool,
    /// The newest updates (at most 50), in arrival order, with what became of each.
    pub updates: Vec<AppliedUpdate>,
    /// How many updates the deployment received in all (the initial status and the
    /// inactivity timeout included); `updates` lists the newest of them.
    #[serde(default)]
    pub updates_received: u64,
    /// The service, when the deployment names one.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub service: String,
    /// Why gdt ended the deployment before its pipeline did (a newer deployment of the same
    /// service superseded it, its pull request closed), when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_by: Option<Lifecycle>,
}

/// The answer of the `submit-status-update` update: what the workflow did with the update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusUpdateAck {
    /// What the workflow did with the update.
    pub outcome: AckOutcome,
    /// The GitHub state the status word maps to, when it was queued.
    pub state: Option<String>,
}

impl StatusUpdateAck {
    pub(crate) fn new(outcome: AckOutcome, state: Option<gdt_github::DeploymentState>) -> Self {
        Self {
            outcome,
            state: state.map(|s| s.as_str().to_owned()),
        }
    }
}

/// Why the workflow refused a `submit-status-update` (its validator's decision).
///
/// Temporal carries a validator's refusal as a failure message only, so the kind travels as
/// the message's first word: [`UpdateRejection::parse`] reads back what `Display` wrote.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpdateRejection {
    /// The status word maps to no GitHub state.
    #[error("unknown_status: {0}")]
    UnknownStatus(String),
    /// The deployment is terminal, or a terminal update is already queued.
    #[error("terminal: {0}")]
    Terminal(String),
    /// The update has no status word, or a field over its limit.
    #[error("invalid: {0}")]
    Invalid(String),
}

impl UpdateRejection {
    /// Recovers a rejection from a failure message written by [`UpdateRejection`]'s
    /// `Display`; `None` for any other message.
    pub fn parse(message: &str) -> Option<Self> {
        let (kind, detail) = message.split_once(": ")?;
        match kind {
            "unknown_status" => Some(Self::UnknownStatus(detail.to_owned())),
            "terminal" => Some(Self::Terminal(detail.to_owned())),
            "invalid" => Some(Self::Invalid(detail.to_owned())),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> DeploymentWorkflowInput {
        DeploymentWorkflowInput {
            repo_owner: "acme".to_owned(),
            repo_name: "api".to_owned(),
            commit_sha: "abc1234".to_owned(),
            environment: "staging".to_owned(),
            ..DeploymentWorkflowInput::default()
        }
    }

    #[test]
    fn inputs_over_their_limits_are_refused_naming_the_field() {
        assert!(input().validate().is_ok());
        let max = DeploymentWorkflowInput {
            inactivity_timeout_seconds: Some(limits::MAX_INACTIVITY_TIMEOUT_SECS),
            ..input()
        };
        assert!(max.validate().is_ok());
        let cases: Vec<(&str, DeploymentWorkflowInput)> = vec![
            (
                "inactivity_timeout_seconds",
                DeploymentWorkflowInput {
                    inactivity_timeout_seconds: Some(limits::MAX_INACTIVITY_TIMEOUT_SECS + 1),
                    ..input()
                },
            ),
            (
                "inactivity_timeout_seconds",
                DeploymentWorkflowInput {
                    inactivity_timeout_seconds: Some(u64::MAX),
                    ..input()
                },
            ),
            (
                "repo_owner",
                DeploymentWorkflowInput {
                    repo_owner: "o".repeat(40),
                    ..input()
                },
            ),
            (
                "environment",
                DeploymentWorkflowInput {
                    environment: "e".repeat(256),
                    ..input()
                },
            ),
            (
                "log_url",
                DeploymentWorkflowInput {
                    log_url: "u".repeat(limits::URL_CHARS + 1),
                    ..input()
                },
            ),
            (
                "payload",
                DeploymentWorkflowInput {
                    payload: Some(serde_json::json!({"big": "p".repeat(limits::PAYLOAD_BYTES)})),
                    ..input()
                },
            ),
        ];
        for (field, case) in cases {
            let err = case.validate().unwrap_err().to_string();
            assert!(err.contains(field), "{field}: {err}");
        }
        // A long description is cut, not refused.
        let long = DeploymentWorkflowInput {
            description: "d".repeat(10_000),
            ..input()
        };
        assert!(long.validate().is_ok());
        assert_eq!(long.bounded().description.chars().count(), 140);
    }

    #[test]
    fn a_status_update_needs_its_word_and_refuses_unknown_fields() {
        for (body, names) in [
            (r#"{"state":"success"}"#, "`state`"),
            (r#"{"Status":"failed"}"#, "`Status`"),
        ] {
            let err = serde_json::from_str::<DeploymentStatusUpdate>(body)
                .unwrap_err()
                .to_string();
            assert!(err.contains(names), "{body}: {err}");
        }
        let missing: DeploymentStatusUpdate =
            serde_json::from_str(r#"{"description":"x"}"#).unwrap();
        assert!(missing.check().unwrap_err().to_string().contains("status"));
        let ok: DeploymentStatusUpdate = serde_json::from_str(r#"{"status":"success"}"#).unwrap();
        assert!(ok.check().is_ok());
        let long_url = DeploymentStatusUpdate {
            status: "running".to_owned(),
            environment_url: "u".repeat(limits::URL_CHARS + 1),
            ..DeploymentStatusUpdate::default()
        };
        assert!(long_url
            .check()
            .unwrap_err()
            .to_string()
            .contains("environment_url"));
        let clipped = DeploymentStatusUpdate {
            status: "s".repeat(1_000_000),
            description: "d".repeat(1_000_000),
            ..DeploymentStatusUpdate::default()
        }
        .clipped();
        assert_eq!(clipped.status.chars().count(), limits::NAME_CHARS);
        assert_eq!(clipped.description.chars().count(), 140);
    }

    #[test]
    fn outcomes_serialise_to_their_words() {
        for outcome in UpdateOutcome::ALL {
            assert_eq!(serde_json::to_value(outcome).unwrap(), outcome.as_str());
            assert_eq!(format!("{outcome}"), outcome.as_str());
        }
        for outcome in AckOutcome::ALL {
            assert_eq!(serde_json::to_value(outcome).unwrap(), outcome.as_str());
            let back: AckOutcome = serde_json::from_value(outcome.as_str().into()).unwrap();
            assert_eq!(back, *outcome);
        }
        assert_eq!(
            UpdateOutcome::ALL
                .iter()
                .map(|o| o.as_str())
                .collect::<Vec<_>>(),
            [
                "applied",
                "ignored_after_terminal",
                "duplicate_event",
                "rejected_unknown_status",
                "rejected_invalid",
                "superseded",
                "failed",
            ]
        );
        assert_eq!(
            AckOutcome::ALL
                .iter()
                .map(|o| o.as_str())
                .collect::<Vec<_>>(),
            [
                "queued",
                "duplicate_event",
                "queued_for_worker",
                "rejected_unknown_status",
                "ignored_after_terminal",
            ]
        );
        assert_eq!(format!("{:<10}|", AckOutcome::Queued), "queued    |");
    }

    #[test]
    fn cut_keeps_short_text_and_marks_a_cut() {
        assert_eq!(cut("abc", 3), "abc");
        assert_eq!(cut("abcd", 3), "ab…");
        assert_eq!(cut("ééé", 2), "é…");
    }

    #[test]
    fn update_rejections_survive_the_trip_through_a_failure_message() {
        for rejection in [
            UpdateRejection::UnknownStatus("unknown status word \"sucess\": use …".to_owned()),
            UpdateRejection::Terminal("already success: start a new deployment".to_owned()),
            UpdateRejection::Invalid("status: required".to_owned()),
        ] {
            assert_eq!(
                UpdateRejection::parse(&rejection.to_string()),
                Some(rejection)
            );
        }
        assert_eq!(UpdateRejection::parse("Workflow not found"), None);
        assert_eq!(UpdateRejection::parse("terminal"), None);
    }
}
