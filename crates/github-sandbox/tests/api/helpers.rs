//! Shared test setup: a sandbox on a loopback port, an HTTP client, generated
//! App keys, and validators for the GitHub payload schemas in the shared
//! fixtures.

use std::path::PathBuf;
use std::sync::{Arc, LazyLock};

use gdt_github_sandbox::{spawn, SandboxApp, SandboxConfig, SpawnedSandbox};
use jsonschema::{Retrieve, Uri, Validator};
use serde_json::{json, Value};

pub(crate) const TOKEN: &str = "test-token";
pub(crate) const APP_ID: u64 = 4242;
pub(crate) const INSTALLATION_ID: u64 = 77;

/// Keys are generated once per test binary: RSA generation is the slowest
/// thing these tests do.
pub(crate) static APP_KEY: LazyLock<(SandboxApp, String)> =
    LazyLock::new(|| SandboxApp::generate(APP_ID, INSTALLATION_ID));
/// A second key pair, to sign JWTs the sandbox must reject.
pub(crate) static OTHER_KEY: LazyLock<(SandboxApp, String)> =
    LazyLock::new(|| SandboxApp::generate(1, 1));

pub(crate) struct TestApp {
    pub(crate) server: SpawnedSandbox,
    pub(crate) client: reqwest::Client,
}

pub(crate) fn config() -> SandboxConfig {
    SandboxConfig {
        apps: vec![APP_KEY.0.clone()],
        tokens: vec![TOKEN.to_owned()],
        ..SandboxConfig::default()
    }
}

pub(crate) async fn spawn_app() -> TestApp {
    spawn_with(config()).await
}

pub(crate) async fn spawn_with(config: SandboxConfig) -> TestApp {
    let server = spawn(config).await.expect("sandbox binds");
    TestApp {
        server,
        client: reqwest::Client::new(),
    }
}

/// A response read whole.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) body: Value,
    pub(crate) text: String,
}

impl Answer {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub(crate) fn header_u64(&self, name: &str) -> u64 {
        self.header(name)
            .unwrap_or_else(|| panic!("missing header {name}"))
            .parse()
            .expect("numeric header")
    }
}

impl TestApp {
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.base_url)
    }

    pub(crate) async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.expect("request sent");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body read");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            body,
            text,
        }
    }

    pub(crate) async fn get(&self, path: &str) -> Answer {
        self.send(self.client.get(self.url(path)).bearer_auth(TOKEN))
            .await
    }

    pub(crate) async fn post(&self, path: &str, body: &Value) -> Answer {
        self.send(
            self.client
                .post(self.url(path))
                .bearer_auth(TOKEN)
                .json(body),
        )
        .await
    }

    pub(crate) async fn patch(&self, path: &str, body: &Value) -> Answer {
        self.patch_as(path, TOKEN, body).await
    }

    pub(crate) async fn patch_as(&self, path: &str, token: &str, body: &Value) -> Answer {
        self.send(
            self.client
                .patch(self.url(path))
                .bearer_auth(token)
                .json(body),
        )
        .await
    }

    pub(crate) async fn put(&self, path: &str, body: &Value) -> Answer {
        self.send(
            self.client
                .put(self.url(path))
                .bearer_auth(TOKEN)
                .json(body),
        )
        .await
    }

    pub(crate) async fn delete(&self, path: &str) -> Answer {
        self.send(self.client.delete(self.url(path)).bearer_auth(TOKEN))
            .await
    }

    pub(crate) async fn get_as(&self, path: &str, token: &str) -> Answer {
        self.send(self.client.get(self.url(path)).bearer_auth(token))
            .await
    }

    pub(crate) async fn post_as(&self, path: &str, token: &str, body: &Value) -> Answer {
        self.send(
            self.client
                .post(self.url(path))
                .bearer_auth(token)
                .json(body),
        )
        .await
    }

    /// Creates a deployment and returns it (asserting 201).
    pub(crate) async fn deploy(&self, repo: &str, body: Value) -> Value {
        let answer = self
            .post(&format!("/repos/{repo}/deployments"), &body)
            .await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        answer.body
    }

    /// Adds a status and returns it (asserting 201).
    pub(crate) async fn set_status(&self, repo: &str, id: u64, body: Value) -> Value {
        let answer = self
            .post(&format!("/repos/{repo}/deployments/{id}/statuses"), &body)
            .await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        answer.body
    }

    /// The latest state of a deployment, from its statuses list.
    pub(crate) async fn latest_state(&self, repo: &str, id: u64) -> Option<String> {
        let answer = self
            .get(&format!("/repos/{repo}/deployments/{id}/statuses"))
            .await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        answer.body[0]["state"].as_str().map(str::to_owned)
    }

    /// Mints an installation token of the test App (the credential check runs
    /// need).
    pub(crate) async fn installation_token(&self) -> String {
        let signed = jwt(&APP_KEY.1, &app_claims(&json!(APP_ID)));
        let path = format!("/app/installations/{INSTALLATION_ID}/access_tokens");
        let answer = self.post_as(&path, &signed, &json!({})).await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        answer.body["token"].as_str().expect("token").to_owned()
    }

    /// Creates a pull request through the test controls and returns it
    /// (asserting 201).
    pub(crate) async fn create_pull(&self, repo: &str, body: Value) -> Value {
        let answer = self.create_pull_answer(repo, &body).await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        answer.body
    }

    pub(crate) async fn create_pull_answer(&self, repo: &str, body: &Value) -> Answer {
        let path = format!("/_sandbox/repos/{repo}/pulls");
        self.send(self.client.post(self.url(&path)).json(body))
            .await
    }

    /// Updates a pull request through the test controls.
    pub(crate) async fn move_pull(&self, repo: &str, number: u64, body: &Value) -> Answer {
        let path = format!("/_sandbox/repos/{repo}/pulls/{number}");
        self.send(self.client.patch(self.url(&path)).json(body))
            .await
    }

    pub(crate) async fn add_fault(&self, fault: Value) -> Value {
        let answer = self
            .send(self.client.post(self.url("/_sandbox/faults")).json(&fault))
            .await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        answer.body
    }

    pub(crate) async fn journal(&self) -> Vec<Value> {
        let answer = self
            .send(self.client.get(self.url("/_sandbox/requests")))
            .await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        answer
            .body
            .as_array()
            .cloned()
            .expect("journal is an array")
    }
}

/// Signs an App JWT with `private_pem`.
pub(crate) fn jwt(private_pem: &str, claims: &Value) -> String {
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(private_pem.as_bytes()).expect("key parses");
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
        claims,
        &key,
    )
    .expect("JWT signs")
}

/// Claims as Octokit makes them: backdated a minute, valid ten.
pub(crate) fn app_claims(iss: &Value) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({"iat": now - 60, "exp": now + 540, "iss": iss})
}

// ---- Schemas ----------------------------------------------------------------

fn schema_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/github-schemas")
}

fn load(name: &str) -> Value {
    let path = schema_dir().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("reading {}: {err}", path.display()));
    serde_json::from_str(&text).expect("schema is JSON")
}

/// The App schema is referenced by the fixtures but not shipped with them, so
/// the tests use this one, written from GitHub's App object.
fn app_schema() -> Value {
    let string = json!({"type": "string"});
    json!({
        "$schema": "http://json-schema.org/draft-07/schema",
        "$id": "common/app.schema.json",
        "type": "object",
        "required": ["id", "node_id", "owner", "name", "description", "external_url",
                     "html_url", "created_at", "updated_at"],
        "properties": {
            "id": {"type": "integer"},
            "slug": string,
            "node_id": string,
            "owner": {"$ref": "user.schema.json"},
            "name": string,
            "description": {"type": ["string", "null"]},
            "external_url": {"type": "string", "format": "uri"},
            "html_url": {"type": "string", "format": "uri"},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
            "permissions": {
                "type": "object",
                "additionalProperties": {"type": "string", "enum": ["read", "write"]}
            },
            "events": {"type": "array", "items": string}
        },
        "additionalProperties": false
    })
}

/// The full repository object of a pull request's `head.repo` and
/// `base.repo`. The fixtures ship only `repository-lite`, so this is that
/// schema (still closed to unknown fields) plus what GitHub's full repository
/// object adds, all required.
fn repository_schema() -> Value {
    let mut schema = load("repository-lite.schema.json");
    schema["title"] = json!("Repository");
    let string = json!({"type": "string"});
    let nullable_string = json!({"type": ["string", "null"]});
    let integer = json!({"type": "integer"});
    let boolean = json!({"type": "boolean"});
    let date_time = json!({"type": "string", "format": "date-time"});
    let uri = json!({"type": "string", "format": "uri"});
    let extra = [
        ("created_at", date_time.clone()),
        ("updated_at", date_time.clone()),
        ("pushed_at", date_time),
        ("git_url", string.clone()),
        ("ssh_url", string.clone()),
        ("clone_url", uri.clone()),
        ("svn_url", uri),
        ("homepage", nullable_string.clone()),
        ("size", integer.clone()),
        ("stargazers_count", integer.clone()),
        ("watchers_count", integer.clone()),
        ("language", nullable_string.clone()),
        ("has_issues", boolean.clone()),
        ("has_projects", boolean.clone()),
        ("has_downloads", boolean.clone()),
        ("has_wiki", boolean.clone()),
        ("has_pages", boolean.clone()),
        ("has_discussions", boolean.clone()),
        ("forks_count", integer.clone()),
        ("mirror_url", nullable_string),
        ("archived", boolean.clone()),
        ("disabled", boolean.clone()),
        ("open_issues_count", integer.clone()),
        ("license", json!({"type": ["object", "null"]})),
        ("allow_forking", boolean.clone()),
        ("is_template", boolean.clone()),
        ("web_commit_signoff_required", boolean),
        ("topics", json!({"type": "array", "items": string})),
        (
            "visibility",
            json!({"type": "string", "enum": ["public", "private", "internal"]}),
        ),
        ("forks", integer.clone()),
        ("open_issues", integer.clone()),
        ("watchers", integer),
        ("default_branch", string),
    ];
    for (name, property) in extra {
        schema["properties"][name] = property;
        if let Some(required) = schema["required"].as_array_mut() {
            required.push(json!(name));
        }
    }
    schema
}

/// Schemas the pull request and issue comment fixtures reference but the
/// fixtures do not ship, written from GitHub's objects. `team`, `label`,
/// `milestone` and `auto-merge` only type-check: the sandbox always sends
/// empty lists and nulls in their places.
fn referenced_schema(name: &str) -> Option<Value> {
    let count = json!({"type": "integer"});
    let schema = match name {
        "app.schema.json" => app_schema(),
        "repository.schema.json" => repository_schema(),
        "link.schema.json" => json!({
            "type": "object",
            "required": ["href"],
            "properties": {"href": {"type": "string", "format": "uri-template"}},
            "additionalProperties": false
        }),
        "author_association.schema.json" => json!({
            "type": "string",
            "enum": ["COLLABORATOR", "CONTRIBUTOR", "FIRST_TIMER", "FIRST_TIME_CONTRIBUTOR",
                     "MANNEQUIN", "MEMBER", "NONE", "OWNER"]
        }),
        "reactions.schema.json" => json!({
            "type": "object",
            "required": ["url", "total_count", "+1", "-1", "laugh", "hooray", "confused",
                         "heart", "rocket", "eyes"],
            "properties": {
                "url": {"type": "string", "format": "uri"},
                "total_count": count, "+1": count, "-1": count, "laugh": count,
                "hooray": count, "confused": count, "heart": count, "rocket": count,
                "eyes": count
            },
            "additionalProperties": false
        }),
        "team.schema.json"
        | "label.schema.json"
        | "milestone.schema.json"
        | "auto-merge.schema.json" => json!({"type": "object"}),
        _ => return None,
    };
    Some(schema)
}

/// Resolves `$ref`s by file name from the fixtures directory.
struct FixtureRetriever;

impl Retrieve for FixtureRetriever {
    fn retrieve(
        &self,
        uri: &Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let name = uri.as_str().rsplit('/').next().unwrap_or_default();
        let mut schema = match referenced_schema(name) {
            Some(schema) => schema,
            None => {
                let path = schema_dir().join(name);
                let text = std::fs::read_to_string(&path)
                    .map_err(|err| format!("{}: {err}", path.display()))?;
                serde_json::from_str(&text)?
            }
        };
        // The fixtures' `$id`s are relative ("common/user.schema.json"), so
        // each level of nesting would add a "common/" to the next reference.
        // An absolute `$id` keeps every schema at one address, which the
        // validator needs for references it resolves lazily (recursive ones).
        schema["$id"] = json!(format!("json-schema:///common/{name}"));
        Ok(schema)
    }
}

fn validator(schema: &Value) -> Validator {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .should_validate_formats(true)
        .with_retriever(FixtureRetriever)
        .build(schema)
        .expect("schema compiles")
}

pub(crate) static DEPLOYMENT_SCHEMA: LazyLock<Arc<Validator>> =
    LazyLock::new(|| Arc::new(validator(&load("deployment.schema.json"))));

/// The `deployment_status` object of the `deployment_status.created` payload.
pub(crate) static STATUS_SCHEMA: LazyLock<Arc<Validator>> = LazyLock::new(|| {
    let event = load("deployment_status.created.schema.json");
    let mut status = event["properties"]["deployment_status"].clone();
    status["$schema"] = json!("http://json-schema.org/draft-07/schema");
    Arc::new(validator(&status))
});

/// The top-level keys the `deployment_status.created` payload requires.
pub(crate) static STATUS_EVENT_REQUIRED: LazyLock<Vec<String>> = LazyLock::new(|| {
    let event = load("deployment_status.created.schema.json");
    serde_json::from_value(event["required"].clone()).expect("required keys")
});

pub(crate) static PULL_REQUEST_SCHEMA: LazyLock<Arc<Validator>> =
    LazyLock::new(|| Arc::new(validator(&load("pull-request.schema.json"))));

pub(crate) static ISSUE_COMMENT_SCHEMA: LazyLock<Arc<Validator>> =
    LazyLock::new(|| Arc::new(validator(&load("issue-comment.schema.json"))));

pub(crate) static APP_SCHEMA: LazyLock<Arc<Validator>> =
    LazyLock::new(|| Arc::new(validator(&app_schema())));

pub(crate) fn assert_valid(validator: &Validator, instance: &Value) {
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "schema errors: {errors:#?}\nin {instance:#}"
    );
}
