//! JSON shapes of the objects the sandbox returns, field for field as GitHub
//! sends them (and as the octokit payload schemas in the shared fixtures
//! require).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::auth::Auth;
use crate::config::{SandboxApp, DEFAULT_APP_SLUG, SANDBOX_BOT_ID};
/// User id of the organisation that owns every sandbox App.
const APP_OWNER_ID: u64 = 900_100_000;
const APP_OWNER_LOGIN: &str = "gdt-sandbox-org";
/// Fixed creation time of Apps, so `GET /app` is stable across runs.
const APP_CREATED_AT: &str = "2024-01-01T00:00:00Z";

/// Formats a timestamp as GitHub does: seconds precision, `Z`.
pub(crate) fn timestamp(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// GitHub's legacy global node id: base64 of `0{len(type)}:{type}{id}`,
/// e.g. "010:Deployment42".
pub(crate) fn node_id(kind: &str, id: u64) -> String {
    STANDARD.encode(format!("0{}:{kind}{id}", kind.len()))
}

/// `base` with the fields of `extra` added: big objects are written as two
/// `json!` literals because one would exceed the macro's recursion limit.
pub(crate) fn merge(mut base: Value, extra: Value) -> Value {
    if let (Some(base), Value::Object(extra)) = (base.as_object_mut(), extra) {
        base.extend(extra);
    }
    base
}

/// Base64 the way GitHub's contents endpoint sends it: a line feed after
/// every 60 characters and at the end (none for empty content).
pub(crate) fn base64_lines(bytes: &[u8]) -> String {
    let encoded = STANDARD.encode(bytes);
    let mut out = String::with_capacity(encoded.len() + encoded.len() / 60 + 1);
    for (index, c) in encoded.chars().enumerate() {
        if index > 0 && index % 60 == 0 {
            out.push('\n');
        }
        out.push(c);
    }
    if !encoded.is_empty() {
        out.push('\n');
    }
    out
}

/// Percent-encodes a repository path (or ref) for a URL, keeping its slashes.
pub(crate) fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Who created an object: the App acting through an installation token, or
/// the sandbox bot for plain tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Actor {
    SandboxBot,
    App(u64),
}

/// What rendering needs besides the object: where the API lives and the Apps.
pub(crate) struct RenderContext<'a> {
    pub(crate) base_url: &'a str,
    pub(crate) auth: &'a Auth,
}

impl RenderContext<'_> {
    /// The creator user object of `actor`.
    pub(crate) fn creator(&self, actor: Actor) -> Value {
        match actor {
            Actor::App(app_id) => match self.auth.app(app_id) {
                Some(app) => user(
                    self.base_url,
                    &format!("{}[bot]", app.slug),
                    SANDBOX_BOT_ID + app_id,
                    "Bot",
                ),
                None => self.creator(Actor::SandboxBot),
            },
            Actor::SandboxBot => user(
                self.base_url,
                &format!("{DEFAULT_APP_SLUG}[bot]"),
                SANDBOX_BOT_ID,
                "Bot",
            ),
        }
    }

    /// `performed_via_github_app`: the App for App actors, else null.
    pub(crate) fn performed_via(&self, actor: Actor) -> Value {
        match actor {
            Actor::App(app_id) => self
                .auth
                .app(app_id)
                .map(|app| app_object(self.base_url, app))
                .unwrap_or(Value::Null),
            Actor::SandboxBot => Value::Null,
        }
    }
}

/// A user object with every field `user.schema.json` requires.
pub(crate) fn user(base_url: &str, login: &str, id: u64, kind: &str) -> Value {
    // Bot logins end in "[bot]", which is not allowed unescaped in a URI path.
    // Lower-case hex (GitHub sends upper) because the schema validator's
    // uri-template check only accepts lower-case escapes; both mean the same.
    let escaped = login.replace('[', "%5b").replace(']', "%5d");
    let api = format!("{base_url}/users/{escaped}");
    let node_kind = match kind {
        "Bot" => "Bot",
        "Organization" => "Organization",
        _ => "User",
    };
    json!({
        "login": login,
        "id": id,
        "node_id": node_id(node_kind, id),
        "avatar_url": format!("{base_url}/avatars/u/{id}?v=4"),
        "gravatar_id": "",
        "url": api,
        "html_url": format!("{base_url}/{escaped}"),
        "followers_url": format!("{api}/followers"),
        "following_url": format!("{api}/following{{/other_user}}"),
        "gists_url": format!("{api}/gists{{/gist_id}}"),
        "starred_url": format!("{api}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{api}/subscriptions"),
        "organizations_url": format!("{api}/orgs"),
        "repos_url": format!("{api}/repos"),
        "events_url": format!("{api}/events{{/privacy}}"),
        "received_events_url": format!("{api}/received_events"),
        "type": kind,
        "site_admin": false,
    })
}

/// The App object of `GET /app` and `performed_via_github_app`.
pub(crate) fn app_object(base_url: &str, app: &SandboxApp) -> Value {
    json!({
        "id": app.id,
        "slug": app.slug,
        "node_id": node_id("Integration", app.id),
        "owner": user(base_url, APP_OWNER_LOGIN, APP_OWNER_ID, "Organization"),
        "name": app.slug,
        "description": "GitHub App emulated by the gdt sandbox",
        "external_url": base_url,
        "html_url": format!("{base_url}/apps/{}", app.slug),
        "created_at": APP_CREATED_AT,
        "updated_at": APP_CREATED_AT,
        "permissions": installation_permissions(),
        "events": ["deployment", "deployment_status"],
    })
}

/// The permissions of every App and installation token: what the emulated
/// endpoints need.
pub(crate) fn installation_permissions() -> Value {
    json!({
        "checks": "write",
        "contents": "read",
        "deployments": "write",
        "issues": "write",
        "metadata": "read",
        "pull_requests": "write",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_match_github() {
        assert_eq!(
            node_id("Deployment", 145988746),
            "MDEwOkRlcGxveW1lbnQxNDU5ODg3NDY="
        );
        assert_eq!(
            node_id("DeploymentStatus", 209916254),
            "MDE2OkRlcGxveW1lbnRTdGF0dXMyMDk5MTYyNTQ="
        );
        assert_eq!(node_id("User", 21031067), "MDQ6VXNlcjIxMDMxMDY3");
    }

    #[test]
    fn base64_is_wrapped_at_60_like_github() {
        assert_eq!(base64_lines(b""), "");
        assert_eq!(base64_lines(b"hello"), "aGVsbG8=\n");
        // 45 bytes encode to exactly 60 characters: one full line.
        let line = base64_lines(&[0u8; 45]);
        assert_eq!(line, format!("{}\n", "A".repeat(60)));
        let two = base64_lines(&[0u8; 46]);
        assert_eq!(two, format!("{}\nAA==\n", "A".repeat(60)));
    }

    #[test]
    fn paths_are_percent_encoded_but_keep_slashes() {
        assert_eq!(encode_path("src/a b/ü.rs"), "src/a%20b/%C3%BC.rs");
        assert_eq!(encode_path("feature/x-1_2.~"), "feature/x-1_2.~");
    }
}
