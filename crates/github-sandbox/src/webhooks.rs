//! Outgoing webhooks: the `deployment` and `deployment_status` events GitHub
//! sends when deployments are created or their statuses are, and the `pull_request` events
//! of pull requests closed or reopened through the controls, delivered to
//! one configured URL and signed as GitHub signs them.
//!
//! Delivery never blocks an API answer: events go on a queue that one
//! background task drains in order, so a receiver sees them in the order the
//! sandbox created them. Each is tried up to [`ATTEMPTS`] times (at least
//! once delivery, like GitHub's redeliveries), and every delivery is recorded
//! for `GET /_sandbox/deliveries`.

use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use chrono::Utc;
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::sync::mpsc;

use crate::objects::timestamp;

/// Attempts per delivery before it is recorded as failed.
const ATTEMPTS: u32 = 3;
/// Wait before the second attempt; doubled before each later one.
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(200);
/// How long one attempt may take (GitHub gives receivers 10 seconds).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// `X-GitHub-Hook-ID` of the sandbox's one hook.
const HOOK_ID: u64 = 1;

/// Where the sandbox sends its webhooks, and the secret that signs them.
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
pub struct WebhookTarget {
    /// The receiver, e.g. `http://127.0.0.1:3000/webhook`.
    pub url: String,
    /// Signs each body: `X-Hub-Signature-256: sha256=<HMAC-SHA256 hex>`.
    pub secret: String,
}

/// Never prints the secret.
impl fmt::Debug for WebhookTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookTarget")
            .field("url", &self.url)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// One event the sandbox sent, or is sending.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    /// `X-GitHub-Delivery`, a UUID.
    pub guid: String,
    /// `X-GitHub-Event`: `deployment` or `deployment_status`.
    pub event: String,
    pub action: String,
    pub url: String,
    /// The receiver's last answer; `None` before the first, or when none came.
    pub status_code: Option<u16>,
    pub attempts: u32,
    /// Whether the receiver answered 2xx.
    pub delivered: bool,
    /// When the event was queued.
    pub delivered_at: String,
    pub payload: Value,
}

/// An event on its way out.
struct Outgoing {
    index: usize,
    target: WebhookTarget,
    guid: String,
    event: &'static str,
    body: Vec<u8>,
}

/// The target, the queue and the record of deliveries.
#[derive(Default)]
pub(crate) struct Webhooks {
    target: Mutex<Option<WebhookTarget>>,
    deliveries: Arc<Mutex<Vec<Delivery>>>,
    /// Started on the first event, from inside the runtime that serves it.
    queue: OnceLock<mpsc::UnboundedSender<Outgoing>>,
}

impl Webhooks {
    pub(crate) fn new(target: Option<WebhookTarget>) -> Self {
        Self {
            target: Mutex::new(target),
            ..Self::default()
        }
    }

    pub(crate) fn set_target(&self, target: Option<WebhookTarget>) {
        *self.target.lock().expect("webhook target poisoned") = target;
    }

    pub(crate) fn target(&self) -> Option<WebhookTarget> {
        self.target.lock().expect("webhook target poisoned").clone()
    }

    /// Every delivery so far, oldest first.
    pub(crate) fn deliveries(&self) -> Vec<Delivery> {
        self.deliveries.lock().expect("deliveries poisoned").clone()
    }

    /// Forgets the deliveries (the target stays, as other configuration does).
    pub(crate) fn clear(&self) {
        self.deliveries.lock().expect("deliveries poisoned").clear();
    }

    /// Queues `payload` as an `event` delivery, if a target is configured.
    /// Must be called from inside a Tokio runtime.
    pub(crate) fn send(&self, event: &'static str, payload: Value) {
        let Some(target) = self.target() else {
            return;
        };
        let guid = uuid_v4();
        let body = serde_json::to_vec(&payload).unwrap_or_default();
        let index = {
            let mut deliveries = self.deliveries.lock().expect("deliveries poisoned");
            deliveries.push(Delivery {
                guid: guid.clone(),
                event: event.to_owned(),
                action: payload["action"].as_str().unwrap_or_default().to_owned(),
                url: target.url.clone(),
                status_code: None,
                attempts: 0,
                delivered: false,
                delivered_at: timestamp(Utc::now()),
                payload,
            });
            deliveries.len() - 1
        };
        let queue = self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(deliver_all(rx, self.deliveries.clone()));
            tx
        });
        let _ = queue.send(Outgoing {
            index,
            target,
            guid,
            event,
            body,
        });
    }
}

/// The background task: delivers each queued event in turn.
async fn deliver_all(
    mut rx: mpsc::UnboundedReceiver<Outgoing>,
    deliveries: Arc<Mutex<Vec<Delivery>>>,
) {
    let client = reqwest::Client::builder()
        .timeout(ATTEMPT_TIMEOUT)
        .build()
        .unwrap_or_default();
    while let Some(out) = rx.recv().await {
        let mut delay = FIRST_RETRY_DELAY;
        for attempt in 1..=ATTEMPTS {
            let answer = client
                .post(&out.target.url)
                .header("content-type", "application/json")
                .header("user-agent", "GitHub-Hookshot/gdt-sandbox")
                .header("x-github-event", out.event)
                .header("x-github-delivery", &out.guid)
                .header("x-github-hook-id", HOOK_ID.to_string())
                .header(
                    "x-hub-signature-256",
                    signature(&out.target.secret, &out.body),
                )
                .body(out.body.clone())
                .send()
                .await;
            let status = answer.as_ref().ok().map(|r| r.status().as_u16());
            let delivered = status.is_some_and(|s| (200..300).contains(&s));
            if let Some(record) = deliveries
                .lock()
                .expect("deliveries poisoned")
                .get_mut(out.index)
                .filter(|d| d.guid == out.guid)
            {
                record.status_code = status;
                record.attempts = attempt;
                record.delivered = delivered;
            }
            match answer {
                Ok(_) if delivered => break,
                Ok(response) => tracing::warn!(
                    guid = %out.guid, status = response.status().as_u16(), attempt,
                    "webhook receiver refused the delivery"
                ),
                Err(error) => tracing::warn!(
                    guid = %out.guid, %error, attempt, "webhook delivery failed"
                ),
            }
            if attempt < ATTEMPTS {
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
        }
    }
}

/// `sha256=` and the hex HMAC-SHA256 of `body` under `secret`, GitHub's
/// `X-Hub-Signature-256`.
pub(crate) fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A random (version 4) UUID, as GitHub's delivery ids are.
fn uuid_v4() -> String {
    let mut bytes: [u8; 16] = rand::random();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// The `installation` of a payload: GitHub sends the id and node id of the
/// installation the event is for.
pub(crate) fn installation(id: u64) -> Value {
    json!({"id": id, "node_id": crate::objects::node_id("Integration::Installation", id)})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_githubs_example() {
        // The example from GitHub's "Validating webhook deliveries".
        assert_eq!(
            signature("It's a Secret to Everybody", b"Hello, World!"),
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
    }

    #[test]
    fn uuids_are_version_4() {
        let id = uuid_v4();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"), "{id}");
    }
}
