//! What a webhook delivery asks of us, decoded from GitHub's payload.

use gdt_metrics::labels::WebhookEvent;
use gdt_tracker::pr_checks::PullRequestHead;
use gdt_tracker::pr_cleanup::ClosedPullRequest;
use serde::Deserialize;

use super::deployment::{DeploymentEvent, DeploymentEventKind};

/// The `pull_request` actions that start the checks: new code to judge.
pub const CHECKED_ACTIONS: [&str; 4] = ["opened", "synchronize", "reopened", "ready_for_review"];

/// The `pull_request` action that starts the clean-up of its preview deployments.
pub const CLEANUP_ACTION: &str = "closed";

/// The `action` label of a `pull_request` action that is neither one of [`CHECKED_ACTIONS`]
/// nor [`CLEANUP_ACTION`].
pub const OTHER_ACTION: &str = "other";

/// The action of the `deployment` and `deployment_status` deliveries that are read (GitHub
/// sends no other), and their `action` label.
pub const CREATED_ACTION: &str = "created";

/// The `action` label of a delivery whose action was not read: an event other than
/// `pull_request`, or a delivery refused before its body was decoded.
pub const NO_ACTION: &str = "none";

/// A decoded delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// GitHub's `ping` when a hook is created.
    Ping,
    /// A pull request with new code to check.
    PullRequest(PullRequestEvent),
    /// A deployment was created, or a status added to one (action `created`).
    Deployment(DeploymentEvent),
    /// A pull request closed (merged or not): its previews are cleaned up.
    PullRequestClosed(ClosedPullRequest),
    /// Something we do not handle, and why.
    Ignored {
        /// The `action` label ([`action_label`], or [`NO_ACTION`]).
        action: &'static str,
        /// Why nothing is done.
        reason: String,
    },
}

impl Delivery {
    /// The `action` label of the delivery: one of [`CHECKED_ACTIONS`], [`CLEANUP_ACTION`], [`CREATED_ACTION`],
    /// [`OTHER_ACTION`] or [`NO_ACTION`].
    pub fn action(&self) -> &'static str {
        match self {
            Self::Ping => NO_ACTION,
            Self::PullRequest(pr) => action_label(&pr.action),
            Self::Deployment(_) => CREATED_ACTION,
            Self::PullRequestClosed(_) => CLEANUP_ACTION,
            Self::Ignored { action, .. } => action,
        }
    }
}

/// The `event` label of an `X-GitHub-Event`.
pub fn event_label(event: &str) -> WebhookEvent {
    match event {
        "pull_request" => WebhookEvent::PullRequest,
        "ping" => WebhookEvent::Ping,
        "deployment" => WebhookEvent::Deployment,
        "deployment_status" => WebhookEvent::DeploymentStatus,
        _ => WebhookEvent::Other,
    }
}

/// The `action` label of a `pull_request` action: the word itself when it is one of
/// [`CHECKED_ACTIONS`] or [`CLEANUP_ACTION`], otherwise [`OTHER_ACTION`], so a label never
/// carries a request's text.
pub fn action_label(action: &str) -> &'static str {
    CHECKED_ACTIONS
        .iter()
        .chain(&[CLEANUP_ACTION])
        .find(|&&known| known == action)
        .copied()
        .unwrap_or(OTHER_ACTION)
}

/// The parts of a `pull_request` payload the checks need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequestEvent {
    /// `opened`, `synchronize`, …
    pub action: String,
    /// The pull request and the head commit to check.
    pub head: PullRequestHead,
}

/// Why a body could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Not JSON, or not the shape of the event.
    #[error("the payload is not a valid {event} event: {detail}")]
    Malformed {
        /// The `X-GitHub-Event`.
        event: String,
        /// What was wrong.
        detail: String,
    },
    /// A form body without `payload=`.
    #[error("a form-encoded delivery must carry the JSON in its `payload` field")]
    NoFormPayload,
}

#[derive(Deserialize)]
struct PullRequestPayload {
    action: String,
    number: u64,
    pull_request: PullRequest,
    repository: Repository,
}

#[derive(Deserialize)]
struct PullRequest {
    head: Branch,
    base: Branch,
    #[serde(default)]
    merged: Option<bool>,
}

#[derive(Deserialize)]
struct Branch {
    sha: String,
    #[serde(rename = "ref")]
    ref_: String,
}

/// The `repository` of a payload: what every event names its repository by.
#[derive(Deserialize)]
pub(super) struct Repository {
    pub(super) name: String,
    pub(super) owner: Owner,
}

/// A repository's owner.
#[derive(Deserialize)]
pub(super) struct Owner {
    pub(super) login: String,
}

/// Only the `action` of a payload.
#[derive(Deserialize)]
struct Action {
    #[serde(default)]
    action: String,
}

/// The JSON of a delivery: the body itself, or its `payload` field when GitHub sends the
/// form encoding (`application/x-www-form-urlencoded`).
pub fn payload_json(content_type: &str, body: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let media = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if media == "application/x-www-form-urlencoded" {
        return url::form_urlencoded::parse(body)
            .find(|(key, _)| key == "payload")
            .map(|(_, value)| value.into_owned().into_bytes())
            .ok_or(DecodeError::NoFormPayload);
    }
    Ok(body.to_vec())
}

/// Decodes a delivery of `event` whose JSON is `json`.
pub fn decode(event: &str, json: &[u8]) -> Result<Delivery, DecodeError> {
    let malformed = |e: serde_json::Error| DecodeError::Malformed {
        event: event.to_owned(),
        detail: e.to_string(),
    };
    match event {
        "ping" => {
            serde_json::from_slice::<serde_json::Value>(json).map_err(malformed)?;
            Ok(Delivery::Ping)
        }
        "pull_request" => {
            let p: PullRequestPayload = serde_json::from_slice(json).map_err(malformed)?;
            if p.action == CLEANUP_ACTION {
                return Ok(Delivery::PullRequestClosed(ClosedPullRequest {
                    owner: p.repository.owner.login,
                    repo: p.repository.name,
                    number: p.number,
                    head_ref: p.pull_request.head.ref_,
                    merged: p.pull_request.merged.unwrap_or(false),
                }));
            }
            if !CHECKED_ACTIONS.contains(&p.action.as_str()) {
                return Ok(Delivery::Ignored {
                    action: action_label(&p.action),
                    reason: format!(
                        "pull_request action {:?} starts nothing (only {}, and {CLEANUP_ACTION})",
                        p.action,
                        CHECKED_ACTIONS.join(", ")
                    ),
                });
            }
            Ok(Delivery::PullRequest(PullRequestEvent {
                action: p.action,
                head: PullRequestHead {
                    owner: p.repository.owner.login,
                    repo: p.repository.name,
                    number: p.number,
                    head_sha: p.pull_request.head.sha,
                    head_ref: p.pull_request.head.ref_,
                    base_ref: p.pull_request.base.ref_,
                },
            }))
        }
        "deployment" | "deployment_status" => {
            let kind = if event == "deployment" {
                DeploymentEventKind::Deployment
            } else {
                DeploymentEventKind::DeploymentStatus
            };
            let action = serde_json::from_slice::<Action>(json)
                .map_err(malformed)?
                .action;
            if action != CREATED_ACTION {
                return Ok(Delivery::Ignored {
                    action: OTHER_ACTION,
                    reason: format!("{event} action {action:?} is not handled (only created)"),
                });
            }
            super::deployment::decode(kind, json).map(Delivery::Deployment)
        }
        other => {
            serde_json::from_slice::<serde_json::Value>(json).map_err(malformed)?;
            Ok(Delivery::Ignored {
                action: NO_ACTION,
                reason: format!("event {other:?} is not handled"),
            })
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// The payload of `fixtures/github-webhooks/{name}.json`.
    pub(in crate::webhook) fn fixture(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/../../fixtures/github-webhooks/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn the_real_payloads_decode() {
        for (name, action) in [
            ("pull_request.opened", "opened"),
            ("pull_request.synchronize", "synchronize"),
            ("pull_request.reopened", "reopened"),
        ] {
            let Delivery::PullRequest(pr) = decode("pull_request", &fixture(name)).unwrap() else {
                panic!("{name} not checked");
            };
            assert_eq!(pr.action, action);
            assert_eq!(
                (pr.head.owner.as_str(), pr.head.repo.as_str()),
                ("Codertocat", "Hello-World")
            );
            assert_eq!(pr.head.head_sha.len(), 40);
        }
        assert!(matches!(
            decode("pull_request", &fixture("pull_request.labeled")).unwrap(),
            Delivery::Ignored { .. }
        ));
        let Delivery::PullRequestClosed(closed) =
            decode("pull_request", &fixture("pull_request.closed")).unwrap()
        else {
            panic!("closed starts no clean-up");
        };
        assert_eq!(
            (closed.owner.as_str(), closed.repo.as_str(), closed.number),
            ("Codertocat", "Hello-World", 2)
        );
        assert_eq!(closed.head_ref, "changes");
        assert_eq!(decode("ping", &fixture("ping")).unwrap(), Delivery::Ping);
        for event in ["deployment", "deployment_status"] {
            assert!(matches!(
                decode(event, &fixture(event)).unwrap(),
                Delivery::Deployment(_)
            ));
        }
        assert!(matches!(
            decode("check_suite", br#"{"action":"requested"}"#).unwrap(),
            Delivery::Ignored { .. }
        ));
    }

    #[test]
    fn form_encoded_deliveries_carry_the_json_in_payload() {
        let json = br#"{"zen":"a b&c"}"#;
        let form: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("payload", std::str::from_utf8(json).unwrap())
            .finish();
        assert_eq!(
            payload_json("application/x-www-form-urlencoded", form.as_bytes()).unwrap(),
            json
        );
        assert_eq!(
            payload_json("application/json; charset=utf-8", json).unwrap(),
            json
        );
        assert_eq!(
            payload_json("application/x-www-form-urlencoded", b"other=1"),
            Err(DecodeError::NoFormPayload)
        );
    }

    #[test]
    fn labels_are_known_words_never_the_request_text() {
        assert_eq!(event_label("pull_request"), WebhookEvent::PullRequest);
        assert_eq!(event_label("ping"), WebhookEvent::Ping);
        assert_eq!(event_label("deployment"), WebhookEvent::Deployment);
        assert_eq!(
            event_label("deployment_status"),
            WebhookEvent::DeploymentStatus
        );
        assert_eq!(event_label("deployment_review"), WebhookEvent::Other);
        assert_eq!(event_label(""), WebhookEvent::Other);
        assert_eq!(action_label("ready_for_review"), "ready_for_review");
        assert_eq!(action_label("closed"), CLEANUP_ACTION);
        assert_eq!(action_label("labeled"), OTHER_ACTION);
        assert_eq!(action_label("opened\u{0}"), OTHER_ACTION);
        let closed = decode("pull_request", &fixture("pull_request.closed")).unwrap();
        assert_eq!(closed.action(), CLEANUP_ACTION);
        let labeled = decode("pull_request", &fixture("pull_request.labeled")).unwrap();
        assert_eq!(labeled.action(), OTHER_ACTION);
        let opened = decode("pull_request", &fixture("pull_request.opened")).unwrap();
        assert_eq!(opened.action(), "opened");
        assert_eq!(Delivery::Ping.action(), NO_ACTION);
        let deployment = decode("deployment", &fixture("deployment")).unwrap();
        assert_eq!(deployment.action(), CREATED_ACTION);
        let mut other: serde_json::Value =
            serde_json::from_slice(&fixture("deployment_status")).unwrap();
        other["action"] = "edited".into();
        let other = decode("deployment_status", other.to_string().as_bytes()).unwrap();
        assert_eq!(other.action(), OTHER_ACTION);
    }

    #[test]
    fn malformed_bodies_are_errors() {
        assert!(decode("pull_request", b"{").is_err());
        assert!(decode("pull_request", br#"{"action":"opened"}"#).is_err());
        assert!(decode("ping", b"not json").is_err());
    }
}
