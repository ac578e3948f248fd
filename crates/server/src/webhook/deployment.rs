//! `deployment` and `deployment_status` deliveries: deployments created by others (GitHub
//! Actions jobs with `environment:`, hosting providers' apps), each of which gets a watcher
//! that marks it inactive if it goes silent (`gdt_tracker::external`).
//!
//! GitHub sends an App the events its own writes caused, so gdt receives deliveries for the
//! deployments it created and the statuses it posted. Those are recognised ([`ours`], a pure
//! function of the delivery and of this App's id and bot) and answered `202` ignored, with no
//! Temporal call. Everything else about a watched environment signal-with-starts the watcher
//! of the deployment with what the delivery observed; redelivering is always safe.

use std::sync::{Arc, OnceLock};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use gdt_metrics::labels::WebhookOutcome;
// gdt's payload keys and marker: their one home is the tracker, which writes them.
use gdt_tracker::deployments::model::payload::{self, GDT as MARKER};
use gdt_tracker::external::{ExternalDeployment, Observed, ServiceSource};
use gdt_tracker::ServiceError;
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use serde::Deserialize;
use serde_json::{json, Value};

use super::event::{DecodeError, Repository};
use super::{ignored, START_BUDGET};
use crate::problem::ApiError;
use crate::AppState;

/// Which of the two events a delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeploymentEventKind {
    /// `deployment`: a deployment was created.
    Deployment,
    /// `deployment_status`: a status was added to one.
    DeploymentStatus,
}

/// What a `deployment` or `deployment_status` delivery (action `created`) says, and what
/// [`ours`] needs to know who caused it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentEvent {
    /// Which event.
    pub kind: DeploymentEventKind,
    /// The deployment.
    pub deployment: ExternalDeployment,
    /// Its newest state as the delivery tells it.
    pub observed: Observed,
    /// `deployment.payload.triggered_by`, when it is a string.
    pub marker: Option<String>,
    /// Whether `deployment.payload` has `workflow_id`.
    pub has_workflow_id: bool,
    /// `deployment.performed_via_github_app.id`: the App that created the deployment.
    pub deployment_app_id: Option<u64>,
    /// `deployment_status.performed_via_github_app.id`: the App that posted the status.
    pub status_app_id: Option<u64>,
    /// Whether the status says which App posted it (`performed_via_github_app` present, an
    /// App or `null`); older payloads leave it out, and then only the sender tells.
    pub status_names_app: bool,
    /// `sender.login`: who caused the delivery.
    pub sender: String,
    /// `deployment.task`.
    pub task: String,
    /// `deployment.payload` as an object (empty when it is none).
    pub payload: serde_json::Map<String, Value>,
}

/// This installation's GitHub App, as deliveries name it.
#[derive(Debug, Clone, Default)]
pub struct OurApp {
    /// `github.app_id` (`None` with a plain token: then only the payload marks gdt's own).
    pub app_id: Option<u64>,
    /// `{slug}[bot]`, the login the App's writes are sent by; learned from `GET /app` once
    /// the server can reach GitHub, so it may be missing at first.
    pub bot_login: Arc<OnceLock<String>>,
}

/// What `gdt serve` does with deployments created by others (`external.*`).
#[derive(Debug, Clone)]
pub struct ExternalWatch {
    /// `external.enabled`.
    pub enabled: bool,
    /// `external.environments` compiled (case-insensitive, as GitHub's environment names);
    /// `None`: every environment.
    environments: Option<GlobSet>,
    /// The App whose own deployments and statuses are not watched.
    pub app: OurApp,
    /// `external.lifecycle`: where the service of a deployment is read from, when gdt's
    /// superseding and inactivation apply to deployments created by others.
    pub lifecycle: Option<ServiceSource>,
}

impl Default for ExternalWatch {
    /// Enabled for every environment, with no App known.
    fn default() -> Self {
        Self {
            enabled: true,
            environments: None,
            app: OurApp::default(),
            lifecycle: None,
        }
    }
}

impl ExternalWatch {
    /// The settings, with `environments` (globs; `None`: all) compiled.
    ///
    /// Errors: a pattern that is not a glob, with the pattern and why.
    pub fn new(
        enabled: bool,
        environments: Option<&[String]>,
        app: OurApp,
    ) -> Result<Self, globset::Error> {
        let environments = match environments {
            None => None,
            Some(patterns) => {
                let mut set = GlobSetBuilder::new();
                for pattern in patterns {
                    set.add(GlobBuilder::new(pattern).case_insensitive(true).build()?);
                }
                Some(set.build()?)
            }
        };
        Ok(Self {
            enabled,
            environments,
            app,
            lifecycle: None,
        })
    }

    /// The same, with gdt's lifecycle applied to the deployments watched, their service read
    /// from `source` (`external.lifecycle`, `external.service_source`).
    pub fn with_lifecycle(self, source: Option<ServiceSource>) -> Self {
        Self {
            lifecycle: source,
            ..self
        }
    }

    /// Whether deployments to `environment` are watched.
    pub fn watches(&self, environment: &str) -> bool {
        self.environments
            .as_ref()
            .is_none_or(|set| set.is_match(environment))
    }
}

/// Why a delivery is about gdt's own doing, or `None` when it is someone else's.
///
/// gdt's deployments carry `triggered_by: github-deployment-tracker` or `workflow_id` in their
/// payload, and everything this App creates names it in `performed_via_github_app`; the
/// statuses gdt posts on others' deployments (the watcher's `inactive`) name the App in the
/// status's `performed_via_github_app`; a payload that leaves that field out is recognised by
/// its sender, the App's bot. (A status whose `performed_via_github_app` is `null` was not
/// posted through an App, whoever the sender: the sandbox's plain token acts as a bot too.)
pub fn ours(event: &DeploymentEvent, app: &OurApp) -> Option<&'static str> {
    let is_app = |id: Option<u64>| id.is_some() && id == app.app_id;
    if event.marker.as_deref() == Some(MARKER) {
        return Some("gdt created this deployment (payload triggered_by)");
    }
    if event.has_workflow_id {
        return Some("gdt tracks this deployment (payload workflow_id)");
    }
    if is_app(event.deployment_app_id) {
        return Some("this GitHub App created the deployment");
    }
    if event.kind == DeploymentEventKind::DeploymentStatus {
        if is_app(event.status_app_id) {
            return Some("this GitHub App posted the status");
        }
        let bot = app.bot_login.get();
        if !event.status_names_app && bot.is_some_and(|bot| *bot == event.sender) {
            return Some("this GitHub App's bot posted the status");
        }
    }
    None
}

#[derive(Deserialize)]
struct Payload {
    deployment: DeploymentObject,
    #[serde(default)]
    deployment_status: Option<StatusObject>,
    repository: Repository,
    #[serde(default)]
    sender: Option<Login>,
}

#[derive(Deserialize)]
struct DeploymentObject {
    id: u64,
    #[serde(default)]
    environment: String,
    #[serde(default)]
    task: String,
    #[serde(default)]
    payload: Value,
    #[serde(default)]
    performed_via_github_app: Option<AppRef>,
}

#[derive(Deserialize)]
struct StatusObject {
    id: u64,
    state: String,
    /// `None`: the field is absent; `Some(None)`: it is `null`.
    #[serde(default, deserialize_with = "present")]
    performed_via_github_app: Option<Option<AppRef>>,
}

/// A field that is present, `null` or not, as `Some`: with `#[serde(default)]`, an absent
/// field stays `None`.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
struct AppRef {
    id: u64,
}

#[derive(Deserialize)]
struct Login {
    login: String,
}

/// Decodes the JSON of a `deployment` or `deployment_status` delivery whose action is
/// `created`.
pub fn decode(kind: DeploymentEventKind, json: &[u8]) -> Result<DeploymentEvent, DecodeError> {
    let event = match kind {
        DeploymentEventKind::Deployment => "deployment",
        DeploymentEventKind::DeploymentStatus => "deployment_status",
    };
    let malformed = |detail: String| DecodeError::Malformed {
        event: event.to_owned(),
        detail,
    };
    let p: Payload = serde_json::from_slice(json).map_err(|e| malformed(e.to_string()))?;
    let status_app = p
        .deployment_status
        .as_ref()
        .and_then(|s| s.performed_via_github_app.as_ref());
    let status_names_app = status_app.is_some();
    let status_app_id = status_app.and_then(Option::as_ref).map(|a| a.id);
    let observed = match (kind, p.deployment_status) {
        (DeploymentEventKind::Deployment, _) => Observed::created(),
        (DeploymentEventKind::DeploymentStatus, Some(status)) => Observed {
            state: status.state,
            status_id: status.id,
        },
        (DeploymentEventKind::DeploymentStatus, None) => {
            return Err(malformed("missing field `deployment_status`".to_owned()))
        }
    };
    let object = payload::object(&p.deployment.payload);
    Ok(DeploymentEvent {
        kind,
        deployment: ExternalDeployment {
            owner: p.repository.owner.login,
            repo: p.repository.name,
            deployment_id: p.deployment.id,
            environment: p.deployment.environment,
            lane_service: None,
        },
        observed,
        marker: object
            .get(payload::TRIGGERED_BY)
            .and_then(Value::as_str)
            .map(str::to_owned),
        has_workflow_id: object.get(payload::WORKFLOW_ID).is_some(),
        deployment_app_id: p.deployment.performed_via_github_app.map(|a| a.id),
        status_app_id,
        status_names_app,
        sender: p.sender.map(|s| s.login).unwrap_or_default(),
        task: p.deployment.task,
        payload: object,
    })
}

/// Does what a decoded delivery asks: nothing when watching is off, the environment is not
/// watched or gdt caused it; otherwise tells the deployment's watcher, starting one if none
/// runs. `503` when Temporal cannot be reached in time (GitHub can redeliver), `422` when it
/// refuses the start as invalid.
pub(super) async fn act(
    state: &AppState,
    delivery_id: &str,
    mut event: DeploymentEvent,
) -> (WebhookOutcome, Response) {
    let watch = &state.settings.external;
    if let Some(source) = &watch.lifecycle {
        event.deployment.lane_service = Some(source.service(&event.task, &event.payload));
    }
    if !watch.enabled {
        let reason = "deployments created by others are not watched (external.enabled)";
        return (WebhookOutcome::Ignored, ignored(delivery_id, reason));
    }
    if let Some(reason) = ours(&event, &watch.app) {
        return (WebhookOutcome::Ignored, ignored(delivery_id, reason));
    }
    if !watch.watches(&event.deployment.environment) {
        let reason = "the environment is not watched (external.environments)";
        return (WebhookOutcome::Ignored, ignored(delivery_id, reason));
    }
    let deadline = tokio::time::Instant::now() + START_BUDGET;
    let watched = async {
        let services = state.temporal.services().await?;
        services
            .external
            .observe(&event.deployment, event.observed.clone())
            .await
    };
    let result = tokio::time::timeout_at(deadline, watched)
        .await
        .unwrap_or_else(|_| {
            Err(ServiceError::Unavailable(format!(
                "Temporal did not answer within {START_BUDGET:?}; GitHub can redeliver"
            )))
        });
    let d = &event.deployment;
    match result {
        Ok(watching) => {
            tracing::info!(
                delivery = %delivery_id,
                repository = %format!("{}/{}", d.owner, d.repo),
                deployment_id = d.deployment_id,
                state = %event.observed.state,
                status_id = event.observed.status_id,
                workflow_id = %watching.workflow_id,
                "deployment created by others: watcher told"
            );
            let body = json!({"delivery": delivery_id, "watching": watching});
            (
                WebhookOutcome::Started,
                (StatusCode::ACCEPTED, Json(body)).into_response(),
            )
        }
        Err(e) => {
            let outcome = match e {
                ServiceError::InvalidInput(_) => WebhookOutcome::Invalid,
                _ => WebhookOutcome::Unavailable,
            };
            (outcome, ApiError::from(e).into_response())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::event::tests::fixture;
    use super::*;

    /// The `deployment_status` fixture with its deployment payload, the Apps and the sender
    /// replaced.
    fn status_delivery(
        payload: Value,
        deployment_app: Option<u64>,
        status_app: Option<Option<u64>>,
        sender: &str,
    ) -> Vec<u8> {
        let mut v: Value = serde_json::from_slice(&fixture("deployment_status")).unwrap();
        let app = |id: Option<u64>| id.map_or(Value::Null, |id| json!({"id": id, "slug": "x"}));
        v["deployment"]["payload"] = payload;
        v["deployment"]["performed_via_github_app"] = app(deployment_app);
        if let Some(status_app) = status_app {
            v["deployment_status"]["performed_via_github_app"] = app(status_app);
        }
        v["sender"]["login"] = json!(sender);
        serde_json::to_vec(&v).unwrap()
    }

    #[test]
    fn the_real_payloads_decode() {
        let created = decode(DeploymentEventKind::Deployment, &fixture("deployment")).unwrap();
        assert_eq!(created.observed, Observed::created());
        assert_eq!(
            (
                created.deployment.owner.as_str(),
                created.deployment.repo.as_str()
            ),
            ("Codertocat", "Hello-World")
        );
        assert_eq!(created.deployment.deployment_id, 145_988_746);
        assert_eq!(created.deployment.environment, "production");
        let status = decode(
            DeploymentEventKind::DeploymentStatus,
            &fixture("deployment_status"),
        )
        .unwrap();
        assert_eq!(
            status.observed,
            Observed {
                state: "success".to_owned(),
                status_id: 209_916_254
            }
        );
        assert_eq!(status.sender, "Codertocat");
        assert_eq!(ours(&status, &app(Some(1), Some("gdt[bot]"))), None);
    }

    #[test]
    fn malformed_bodies_are_errors() {
        assert!(decode(DeploymentEventKind::Deployment, b"{").is_err());
        assert!(decode(DeploymentEventKind::Deployment, br#"{"deployment":{}}"#).is_err());
        // A status delivery must carry its status.
        assert!(decode(
            DeploymentEventKind::DeploymentStatus,
            &fixture("deployment")
        )
        .is_err());
    }

    fn app(id: Option<u64>, bot: Option<&str>) -> OurApp {
        let app = OurApp {
            app_id: id,
            bot_login: Arc::default(),
        };
        if let Some(bot) = bot {
            app.bot_login.set(bot.to_owned()).unwrap();
        }
        app
    }

    #[test]
    fn gdts_own_deployments_and_statuses_are_recognised() {
        let ours_app = app(Some(7), Some("gdt-app[bot]"));
        let no_app = app(None, None);
        let marker = json!({"triggered_by": MARKER, "workflow_id": "w"});
        let marker_text = json!(marker.to_string());
        let by_marker = Some("gdt created this deployment (payload triggered_by)");
        let by_app_status = Some("this GitHub App posted the status");
        let by_bot = Some("this GitHub App's bot posted the status");
        // The status's App: None absent, Some(None) null, Some(Some(id)) an App.
        #[rustfmt::skip]
        let table = [
            ("a user's", json!({}), None, Some(None), "octocat", &ours_app, None),
            ("another App's", json!({}), Some(8), Some(Some(8)), "other[bot]", &ours_app, None),
            ("ours, marker", marker, None, Some(None), "octocat", &ours_app, by_marker),
            ("ours, marker as JSON text", marker_text, None, Some(None), "x", &ours_app, by_marker),
            ("ours, workflow_id only", json!({"workflow_id": "w"}), None, Some(None), "x",
                &ours_app, Some("gdt tracks this deployment (payload workflow_id)")),
            ("someone else's marker", json!({"triggered_by": "argo"}), None, None, "x",
                &ours_app, None),
            ("ours, created by the App", json!({}), Some(7), Some(Some(8)), "x", &ours_app,
                Some("this GitHub App created the deployment")),
            ("our status on a user's", json!({}), None, Some(Some(7)), "x", &ours_app,
                by_app_status),
            ("our bot's status, no App named", json!({}), None, None, "gdt-app[bot]", &ours_app,
                by_bot),
            // Named as no App: a plain token, whoever the sender (the sandbox's is a bot).
            ("a bot's status, null App", json!({}), None, Some(None), "gdt-app[bot]", &ours_app,
                None),
            // With a plain token there is no App: only the payload tells.
            ("no App configured", json!({}), None, None, "gdt-app[bot]", &no_app, None),
            ("payload not an object", json!("not json"), None, None, "x", &ours_app, None),
        ];
        for (what, payload, deployment_app, status_app, sender, app, expected) in table {
            let body = status_delivery(payload, deployment_app, status_app, sender);
            let event = decode(DeploymentEventKind::DeploymentStatus, &body).unwrap();
            assert_eq!(ours(&event, app), expected, "{what}");
        }
    }

    #[test]
    fn a_bot_sender_marks_only_statuses() {
        let ours_app = app(Some(7), Some("gdt-app[bot]"));
        let mut v: Value = serde_json::from_slice(&fixture("deployment")).unwrap();
        v["sender"]["login"] = json!("gdt-app[bot]");
        let event = decode(
            DeploymentEventKind::Deployment,
            &serde_json::to_vec(&v).unwrap(),
        )
        .unwrap();
        assert_eq!(ours(&event, &ours_app), None);
    }

    #[test]
    fn environments_are_matched_by_glob_ignoring_case() {
        let all = ExternalWatch::default();
        assert!(all.watches("anything"));
        let patterns = ["prod*".to_owned(), "staging".to_owned()];
        let some = ExternalWatch::new(true, Some(&patterns), OurApp::default()).unwrap();
        for (environment, watched) in [
            ("production", true),
            ("Production-EU", true),
            ("STAGING", true),
            ("staging-2", false),
            ("pr-7", false),
        ] {
            assert_eq!(some.watches(environment), watched, "{environment}");
        }
        let none = ExternalWatch::new(true, Some(&[]), OurApp::default()).unwrap();
        assert!(!none.watches("production"));
        assert!(ExternalWatch::new(true, Some(&["[".to_owned()]), OurApp::default()).is_err());
    }
}
