//! The lane's contract: its key and id, its input, its events and what it answers.

use serde::{Deserialize, Serialize};

/// Who marks a deployment inactive once a newer one of its lane succeeds (the worker's
/// `deployment.inactivation`, handed to each deployment in its [`LaneTicket`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Inactivation {
    /// gdt, per repository, environment and service, production included.
    #[default]
    Gdt,
    /// GitHub's `auto_inactive`: every earlier success of the environment name, production
    /// excluded.
    Github,
    /// Nobody.
    Off,
}

/// What the worker's configuration says about lanes: read by the `JoinLane` activity and
/// handed to the deployment in its result, so the decision is in the deployment's history
/// and a replay never reads configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaneSettings {
    /// `deployment.inactivation`.
    pub inactivation: Inactivation,
    /// `deployment.supersede`.
    pub supersede: bool,
    /// `deployment.lane_idle_timeout`, in seconds.
    pub idle_timeout_secs: u64,
}

impl Default for LaneSettings {
    fn default() -> Self {
        Self {
            inactivation: Inactivation::Gdt,
            supersede: true,
            idle_timeout_secs: 30 * 24 * 60 * 60,
        }
    }
}

impl LaneSettings {
    /// Whether a deployment needs a lane at all.
    pub fn needs_lane(&self) -> bool {
        self.supersede || self.inactivation == Inactivation::Gdt
    }
}

/// One lane: a repository, an environment and a service. GitHub compares owners,
/// repositories and environment names without regard to case, so the key does too.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaneKey {
    /// Repository owner, as the deployment spelt it.
    pub repo_owner: String,
    /// Repository name, as the deployment spelt it.
    pub repo_name: String,
    /// Environment, as the deployment spelt it.
    pub environment: String,
    /// Service; empty when the repository is the service.
    #[serde(default)]
    pub service: String,
}

impl LaneKey {
    /// The lane's workflow id on `task_queue`:
    /// `gdt-lane-{owner}/{repo}#{service}#{environment}@{task_queue}`, the key lower-cased.
    /// Owners, repositories and services hold no `#` or `@` (the input checks refuse them),
    /// so the id names one lane only. Deployments on different task queues are different
    /// installations (another GitHub, another team's worker fleet) and never share a lane.
    pub fn workflow_id(&self, task_queue: &str) -> String {
        let key = format!(
            "{}/{}#{}#{}",
            self.repo_owner, self.repo_name, self.service, self.environment
        )
        .to_lowercase();
        format!("gdt-lane-{key}@{task_queue}")
    }
}

/// What a deployment learns when it joins its lane: whether it joined and the rules it
/// follows for the rest of its run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaneTicket {
    /// The lane's workflow id; `None` when no lane was joined (both rules off).
    pub lane_id: Option<String>,
    /// The lane's settings when the deployment joined.
    pub settings: LaneSettings,
}

impl LaneTicket {
    /// GitHub's `auto_inactive` for this deployment's statuses: off unless GitHub does the
    /// inactivating.
    pub fn auto_inactive(&self) -> Option<bool> {
        (self.settings.inactivation != Inactivation::Github).then_some(false)
    }
}

/// A deployment of the lane: its workflow and its GitHub id. GitHub's deployment ids grow
/// with time, so they order a lane's deployments whatever order the events arrive in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The tracking workflow's id.
    pub workflow_id: String,
    /// The GitHub deployment id.
    pub deployment_id: u64,
}

/// The lane's last successful deployment: the live one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Success {
    /// The deployment.
    pub member: Member,
    /// Its newest status (the `success`), so a retried `inactive` post looks only at newer
    /// ones.
    pub status_id: Option<u64>,
}

/// The `lane-event` signal: a deployment of the lane started or ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LaneEvent {
    /// The deployment exists on GitHub and is being tracked.
    Started {
        /// The deployment.
        member: Member,
        /// Whether it supersedes (and may be superseded): its `deployment.supersede`.
        supersede: bool,
    },
    /// The deployment's workflow is ending in `state`.
    Ended {
        /// The deployment.
        member: Member,
        /// Its final GitHub state.
        state: String,
        /// Its newest status.
        status_id: Option<u64>,
        /// Whether gdt inactivates for it: its `deployment.inactivation` was `gdt`.
        inactivate: bool,
    },
}

impl LaneEvent {
    /// The deployment the event is about.
    pub fn member(&self) -> &Member {
        match self {
            Self::Started { member, .. } | Self::Ended { member, .. } => member,
        }
    }
}

/// The lane workflow's input.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LaneInput {
    /// Which lane.
    pub key: LaneKey,
    /// How long the lane waits with nothing running before it ends.
    pub idle_timeout_secs: u64,
    /// The state of the run this one continues, with the events it had not handled yet.
    #[serde(default)]
    pub carried: Option<Carried>,
}

/// What a lane run hands to the run it continues as.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Carried {
    /// The decisions' state.
    pub state: super::decide::LaneState,
    /// Events received and not yet applied, oldest first.
    pub events: Vec<LaneEvent>,
}

/// The answer of the `lane-state` query, and the lane's result.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LaneView {
    /// Which lane.
    pub key: LaneKey,
    /// The deployments running now, oldest first.
    pub running: Vec<Member>,
    /// The live deployment: the newest success.
    pub last_success: Option<Member>,
    /// How many deployments the lane superseded.
    pub superseded: u64,
    /// How many `inactive` statuses the lane posted for replaced successes.
    pub inactivated: u64,
    /// Events waiting to be applied.
    pub pending_events: usize,
}
