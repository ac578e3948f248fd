//! The watcher's contract and its decisions, pure: the input, the `observed` signal, the
//! workflow id, how a GitHub state word is sorted, which of two observations is the newer,
//! and what to do once a deployment has been silent for the timeout. No I/O, no clock;
//! workflow code and the activity call these, and the tests below are tables.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::lanes::{LaneKey, LaneTicket};

/// The workflow type of the watcher.
pub const WORKFLOW_TYPE: &str = "ExternalDeploymentWorkflow";

/// The signal every delivery sends the watcher (an [`Observed`]).
pub const OBSERVED_SIGNAL: &str = "observed";

/// The state GitHub gives a deployment that has no status yet.
pub const CREATED_STATE: &str = "pending";

/// Workflow id of the watcher of one deployment: `gdt-external-{owner}/{repo}#{deployment_id}`.
/// GitHub names hold neither `/` nor `#`, and deployment ids are unique per GitHub host, so
/// every delivery about one deployment reaches the same workflow.
pub fn workflow_id(owner: &str, repo: &str, deployment_id: u64) -> String {
    format!("gdt-external-{owner}/{repo}#{deployment_id}")
}

/// What a delivery says of a deployment: its newest state as GitHub's word, and the id of the
/// status that set it (`0` for a `deployment` delivery: created, no status yet).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observed {
    /// GitHub's state word: `queued`, `in_progress`, `success`, … or one this tracker never
    /// posts (`waiting`).
    pub state: String,
    /// The deployment status id; ids grow with time, so the larger is the newer.
    pub status_id: u64,
}

impl Observed {
    /// What a `deployment` delivery says: created, no status yet.
    pub fn created() -> Self {
        Self {
            state: CREATED_STATE.to_owned(),
            status_id: 0,
        }
    }
}

/// The input of `ExternalDeploymentWorkflow`. Carries no credentials: the worker has them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalDeploymentInput {
    /// Repository owner.
    pub owner: String,
    /// Repository name.
    pub repo: String,
    /// The GitHub deployment id.
    pub deployment_id: u64,
    /// The deployment's environment, so the history says which one was watched.
    #[serde(default)]
    pub environment: String,
    /// How long the deployment may stay queued, pending or in progress with no new status
    /// (`external.inactivity_timeout` of the server that started the watcher), in ms.
    pub inactivity_timeout_ms: u64,
    /// The newest status a run before this one saw (set when it continued as new).
    #[serde(default)]
    pub latest: Option<Observed>,
    /// The lane the deployment belongs to, when `external.lifecycle` applies gdt's
    /// superseding and inactivation to deployments created by others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lane: Option<LaneKey>,
    /// The lane ticket a run before this one got (set when it continued as new).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<LaneTicket>,
}

impl ExternalDeploymentInput {
    /// The inactivity timeout, at least one second.
    pub fn inactivity_timeout(&self) -> Duration {
        Duration::from_millis(self.inactivity_timeout_ms).max(Duration::from_secs(1))
    }
}

/// How the watcher ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ending {
    /// The deployment reached a terminal state on its own: nothing was posted.
    Finished,
    /// GitHub holds the deployment (`waiting`, or a state this tracker does not know): it is
    /// not ours to judge, and nothing was posted; its next status starts a new watcher.
    Held,
    /// It went silent: the watcher posted one `inactive` status.
    MarkedInactive,
    /// The deployment no longer exists on GitHub.
    Gone,
    /// GitHub refused the `inactive` status after every retry.
    PostFailed,
    /// A newer deployment of its lane superseded it (`external.lifecycle`): the watcher
    /// posted one `inactive` saying so.
    Superseded,
}

/// The watcher's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalDeploymentResult {
    /// The GitHub deployment id.
    pub deployment_id: u64,
    /// How it ended.
    pub ending: Ending,
    /// The last state known (GitHub's word).
    pub final_state: String,
    /// The id of the status that state comes from (the `inactive` posted, when one was).
    pub status_id: u64,
    /// Why GitHub refused the `inactive` status ([`Ending::PostFailed`] only).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub error: String,
}

/// Where the service of a deployment created by others is read from (`external.service_source`):
/// nowhere (`none`: the repository is the service), its `task` (`task`), or a key of its
/// payload (`payload:KEY`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceSource {
    /// The repository is the service.
    None,
    /// GitHub's `task` (`deploy:api` names service `deploy:api`).
    Task,
    /// A string under this key of the deployment's payload.
    Payload(String),
}

impl std::str::FromStr for ServiceSource {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim() {
            "none" | "" => Ok(Self::None),
            "task" => Ok(Self::Task),
            other => match other.strip_prefix("payload:") {
                Some(key) if !key.trim().is_empty() => Ok(Self::Payload(key.trim().to_owned())),
                _ => Err(format!(
                    "{other:?} is not a service source: use none, task or payload:KEY \
                     (for example payload:service)"
                )),
            },
        }
    }
}

impl ServiceSource {
    /// The service of a deployment with `task` and `payload`; one that could not be a lane's
    /// service (see `deployments::model::check_service`) reads as none.
    pub fn service(
        &self,
        task: &str,
        payload: &serde_json::Map<String, serde_json::Value>,
    ) -> String {
        let found = match self {
            Self::None => "",
            Self::Task => task,
            Self::Payload(key) => payload
                .get(key)
                .and_then(serde_json::Value::as_str)
                .unwrap_or(""),
        };
        if crate::deployments::model::check_service(found).is_ok() {
            found.to_owned()
        } else {
            String::new()
        }
    }
}

/// How a GitHub state word is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateClass {
    /// `queued`, `pending`, `in_progress`: the deployment runs and should report again; when
    /// it stays silent past the timeout it is marked inactive.
    Running,
    /// `success`, `failure`, `error`, `inactive`: it is over.
    Terminal,
    /// Anything else (`waiting` for an environment's reviewers can last 30 days): not ours
    /// to judge.
    Held,
}

/// Sorts GitHub's state word `state`.
pub fn classify(state: &str) -> StateClass {
    match state {
        "queued" | "pending" | "in_progress" => StateClass::Running,
        "success" | "failure" | "error" | "inactive" => StateClass::Terminal,
        _ => StateClass::Held,
    }
}

/// Whether `candidate` is newer than `latest`: a larger status id. A repeated delivery (same
/// id) or a late one (smaller id) changes nothing, so deliveries may come in any order and
/// any number of times.
pub fn is_newer(latest: Option<&Observed>, candidate: &Observed) -> bool {
    latest.is_none_or(|l| candidate.status_id > l.status_id)
}

/// The description of the `inactive` status the watcher posts (at most 140 characters).
pub fn silent_description(timeout: Duration) -> String {
    format!(
        "No new status for {}: the deployment went silent; marked inactive by gdt",
        short_duration(timeout)
    )
}

/// A duration as people write it, zero units left out: `6h`, `1h30m`, `3s`, `250ms`
/// (milliseconds are dropped from anything of a second or more).
pub fn short_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let secs = d.as_secs();
    let parts = [
        (secs / 3600, "h"),
        ((secs / 60) % 60, "m"),
        (secs % 60, "s"),
    ];
    parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect()
}

/// What GitHub's newest status says once the deployment was silent for the timeout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum SilenceCheck {
    /// Still queued, pending or in progress with no status newer than the last one seen:
    /// post `inactive`.
    Post,
    /// GitHub has a status the watcher had not seen (a delivery was missed or is late): take
    /// it as observed and decide again.
    Reported(Observed),
    /// The newest status is the `inactive` this watcher posts: an earlier attempt landed.
    AlreadyMarked {
        /// Its id.
        status_id: u64,
    },
}

/// Decides from GitHub's newest status (`None`: it has none) what the silent deployment
/// needs, `last_seen` being the id of the newest status the watcher saw and `ours` the
/// description the watcher posts.
pub fn check_silence(
    last_seen: u64,
    newest: Option<(u64, &str, &str)>,
    ours: &str,
) -> SilenceCheck {
    let Some((id, state, description)) = newest else {
        return SilenceCheck::Post;
    };
    if id > last_seen && state == "inactive" && description == ours {
        return SilenceCheck::AlreadyMarked { status_id: id };
    }
    if id > last_seen || classify(state) != StateClass::Running {
        return SilenceCheck::Reported(Observed {
            state: state.to_owned(),
            status_id: id,
        });
    }
    SilenceCheck::Post
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(state: &str, status_id: u64) -> Observed {
        Observed {
            state: state.to_owned(),
            status_id,
        }
    }

    #[test]
    fn states_sort_into_running_terminal_and_held() {
        for (state, class) in [
            ("queued", StateClass::Running),
            ("pending", StateClass::Running),
            ("in_progress", StateClass::Running),
            ("success", StateClass::Terminal),
            ("failure", StateClass::Terminal),
            ("error", StateClass::Terminal),
            ("inactive", StateClass::Terminal),
            ("waiting", StateClass::Held),
            ("IN_PROGRESS", StateClass::Held),
            ("", StateClass::Held),
        ] {
            assert_eq!(classify(state), class, "{state:?}");
        }
    }

    #[test]
    fn only_a_larger_status_id_is_newer() {
        let latest = seen("in_progress", 5);
        for (candidate, newer) in [
            (seen("success", 6), true),
            (seen("in_progress", 5), false),
            (seen("queued", 4), false),
            (Observed::created(), false),
        ] {
            assert_eq!(is_newer(Some(&latest), &candidate), newer, "{candidate:?}");
        }
        assert!(is_newer(None, &Observed::created()));
    }

    #[test]
    fn silence_is_judged_on_githubs_newest_status() {
        let ours = silent_description(Duration::from_secs(6 * 3600));
        for (last_seen, newest, expected) in [
            // Nothing on GitHub but the deployment itself: silent since it was created.
            (0, None, SilenceCheck::Post),
            // The last status seen is still the newest and still running.
            (5, Some((5, "in_progress", "")), SilenceCheck::Post),
            (5, Some((5, "queued", "")), SilenceCheck::Post),
            // A delivery was missed: a newer status, running or not, is taken as observed.
            (
                5,
                Some((6, "in_progress", "")),
                SilenceCheck::Reported(seen("in_progress", 6)),
            ),
            (
                5,
                Some((7, "success", "")),
                SilenceCheck::Reported(seen("success", 7)),
            ),
            (
                0,
                Some((3, "waiting", "")),
                SilenceCheck::Reported(seen("waiting", 3)),
            ),
            // Someone else's `inactive` is their ending, not ours.
            (
                5,
                Some((6, "inactive", "torn down")),
                SilenceCheck::Reported(seen("inactive", 6)),
            ),
            // Our own `inactive` from an attempt whose answer was lost.
            (
                5,
                Some((9, "inactive", ours.as_str())),
                SilenceCheck::AlreadyMarked { status_id: 9 },
            ),
        ] {
            assert_eq!(
                check_silence(last_seen, newest, &ours),
                expected,
                "{last_seen} {newest:?}"
            );
        }
    }

    #[test]
    fn the_description_fits_githubs_140_characters_and_says_who() {
        let d = silent_description(Duration::from_secs(999 * 3600 + 59 * 60 + 59));
        assert!(d.chars().count() <= 140, "{d}");
        assert!(d.contains("for 999h59m59s: "), "{d}");
        assert!(d.contains("marked inactive by gdt"), "{d}");
    }

    #[test]
    fn durations_read_as_people_write_them() {
        for (d, text) in [
            (Duration::from_secs(6 * 3600), "6h"),
            (Duration::from_secs(5400), "1h30m"),
            (Duration::from_secs(3601), "1h1s"),
            (Duration::from_millis(3_500), "3s"),
            (Duration::from_millis(250), "250ms"),
        ] {
            assert_eq!(short_duration(d), text, "{d:?}");
        }
    }

    #[test]
    fn ids_name_the_repository_and_the_deployment() {
        assert_eq!(workflow_id("acme", "shop", 42), "gdt-external-acme/shop#42");
    }

    #[test]
    fn services_are_read_from_where_the_configuration_says() {
        let payload: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(r#"{"service": "api", "bad": "a b", "n": 1}"#).unwrap();
        let cases = [
            ("none", "deploy", ""),
            ("task", "deploy:api", "deploy:api"),
            ("task", "has space", ""),
            ("payload:service", "deploy", "api"),
            ("payload:bad", "deploy", ""),
            ("payload:n", "deploy", ""),
            ("payload:missing", "deploy", ""),
        ];
        for (source, task, want) in cases {
            let source: ServiceSource = source.parse().unwrap();
            assert_eq!(source.service(task, &payload), want, "{source:?} {task}");
        }
        for bad in ["payload:", "tasks", "payload: "] {
            assert!(bad.parse::<ServiceSource>().is_err(), "{bad}");
        }
    }
}
