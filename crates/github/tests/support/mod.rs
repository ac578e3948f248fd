//! A scriptable in-test HTTP server standing in for GitHub.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use gdt_github::{Auth, Client, ClientConfig, RetryPolicy};
use secrecy::SecretString;
use url::Url;

/// One request the server received.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) query: Option<String>,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Recorded {
    pub(crate) fn bearer(&self) -> String {
        self.headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default()
            .to_owned()
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }
}

/// What the server answers.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
    pub(crate) delay: Duration,
}

impl Reply {
    pub(crate) fn json(status: u16, body: &serde_json::Value) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }

    pub(crate) fn message(status: u16, message: &str) -> Self {
        Self::json(
            status,
            &serde_json::json!({
                "message": message,
                "documentation_url": "https://docs.github.com/rest"
            }),
        )
    }

    /// GitHub's 403 at the end of the hourly quota of 5,000, which resets at `reset` (Unix
    /// seconds).
    pub(crate) fn quota_exhausted(reset: u64) -> Self {
        Self::message(403, "API rate limit exceeded")
            .header("x-ratelimit-remaining", 0)
            .header("x-ratelimit-limit", 5000)
            .header("x-ratelimit-reset", reset)
    }

    pub(crate) fn header(mut self, name: &str, value: impl std::fmt::Display) -> Self {
        self.headers.push((name.to_owned(), value.to_string()));
        self
    }

    pub(crate) fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

type Handler = dyn Fn(&Recorded, &Url) -> Reply + Send + Sync;

#[derive(Clone)]
struct ServerState {
    handler: Arc<Handler>,
    requests: Arc<Mutex<Vec<Recorded>>>,
    base: Url,
}

/// A running fake GitHub.
pub(crate) struct Server {
    /// The server root, `http://127.0.0.1:PORT/`.
    pub(crate) base: Url,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl Server {
    /// Starts a server answering every request with `handler(request, root)`.
    pub(crate) async fn start(
        handler: impl Fn(&Recorded, &Url) -> Reply + Send + Sync + 'static,
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let base = Url::parse(&format!("http://{addr}/")).expect("base url");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let state = ServerState {
            handler: Arc::new(handler),
            requests: Arc::clone(&requests),
            base: base.clone(),
        };
        let app = Router::new().fallback(handle).with_state(state);
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serve");
        });
        Self { base, requests }
    }

    /// Starts a server answering the request numbered `n` (from 0) with
    /// `handler(n, request, root)`.
    pub(crate) async fn start_counting(
        handler: impl Fn(usize, &Recorded, &Url) -> Reply + Send + Sync + 'static,
    ) -> Self {
        let calls = AtomicUsize::new(0);
        Self::start(move |req, base| handler(calls.fetch_add(1, Ordering::SeqCst), req, base)).await
    }

    /// Starts a server answering the first `failures` requests with `failure` and
    /// every later one with `then(request, root)`.
    pub(crate) async fn failing_first(
        failures: usize,
        failure: Reply,
        then: impl Fn(&Recorded, &Url) -> Reply + Send + Sync + 'static,
    ) -> Self {
        Self::start_counting(move |n, req, base| {
            if n < failures {
                failure.clone()
            } else {
                then(req, base)
            }
        })
        .await
    }

    pub(crate) fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().expect("lock").clone()
    }

    pub(crate) fn requests_to(&self, path: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }

    /// Asserts that every request carried GitHub's required headers.
    pub(crate) fn assert_github_headers(&self) {
        let requests = self.requests();
        assert!(!requests.is_empty(), "no requests were made");
        for r in &requests {
            let h = |name: &str| r.headers.get(name).and_then(|v| v.to_str().ok());
            assert_eq!(
                h("accept"),
                Some("application/vnd.github+json"),
                "{} {}",
                r.method,
                r.path
            );
            assert_eq!(h("x-github-api-version"), Some("2022-11-28"));
            assert!(
                h("user-agent").is_some_and(|ua| ua.starts_with("github-deployment-tracker/")),
                "user agent: {:?}",
                h("user-agent")
            );
            assert!(!r.bearer().is_empty(), "missing bearer on {}", r.path);
        }
    }
}

async fn handle(
    State(state): State<ServerState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let recorded = Recorded {
        method,
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        headers,
        body: body.to_vec(),
    };
    state.requests.lock().expect("lock").push(recorded.clone());
    let reply = (state.handler)(&recorded, &state.base);
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    for (name, value) in &reply.headers {
        headers.append(
            HeaderName::from_bytes(name.as_bytes()).expect("header name"),
            HeaderValue::from_str(value).expect("header value"),
        );
    }
    (
        StatusCode::from_u16(reply.status).expect("status"),
        headers,
        reply.body,
    )
        .into_response()
}

/// A fast retry policy so the suite runs in seconds.
pub(crate) fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_retries: 3,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        backoff_multiplier: 2.0,
        max_inline_wait: Duration::from_secs(10),
    }
}

pub(crate) fn token_config(base: &Url) -> ClientConfig {
    ClientConfig::new(
        base.clone(),
        Auth::Token(SecretString::from("ghp_testtoken")),
        fast_retry(),
    )
}

/// A client with the plain token `ghp_testtoken` and the fast retry policy.
pub(crate) fn token_client(base: &Url) -> Client {
    Client::new(token_config(base)).expect("client")
}

pub(crate) const APP_ID: u64 = 4242;
pub(crate) const INSTALLATION_ID: u64 = 99;

/// A client authenticating as App [`APP_ID`], installation [`INSTALLATION_ID`], with
/// the key from [`keypair`] and the fast retry policy.
pub(crate) fn app_client(base: &Url) -> Client {
    let auth = Auth::App {
        app_id: APP_ID,
        installation_id: INSTALLATION_ID,
        private_key_pem: SecretString::from(keypair().private_pem.clone()),
    };
    Client::new(ClientConfig::new(base.clone(), auth, fast_retry())).expect("client")
}

pub(crate) struct Keypair {
    pub(crate) private_pem: String,
    pub(crate) public_pem: String,
}

/// One RSA keypair per test binary: generation is the slow part.
pub(crate) fn keypair() -> &'static Keypair {
    static KEY: OnceLock<Keypair> = OnceLock::new();
    KEY.get_or_init(|| {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        use rsa::pkcs8::{EncodePublicKey, LineEnding};
        let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("keygen");
        Keypair {
            private_pem: key.to_pkcs1_pem(LineEnding::LF).expect("pem").to_string(),
            public_pem: key
                .to_public_key()
                .to_public_key_pem(LineEnding::LF)
                .expect("public pem"),
        }
    })
}

/// Verifies an App JWT the way GitHub does; returns its `iss`.
pub(crate) fn verify_app_jwt(jwt: &str) -> Result<String, String> {
    #[derive(serde::Deserialize)]
    struct Claims {
        iss: String,
        iat: i64,
        exp: i64,
    }
    let key = jsonwebtoken::DecodingKey::from_rsa_pem(keypair().public_pem.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_required_spec_claims(&["exp", "iat", "iss"]);
    let data = jsonwebtoken::decode::<Claims>(jwt, &key, &validation).map_err(|e| e.to_string())?;
    let c = data.claims;
    if c.exp - c.iat > 11 * 60 {
        return Err("JWT lives too long".into());
    }
    Ok(c.iss)
}

pub(crate) fn deployment_json(id: u64, base: &Url) -> serde_json::Value {
    serde_json::json!({
        "url": format!("{base}repos/acme/web/deployments/{id}"),
        "id": id,
        "node_id": format!("DE_{id}"),
        "sha": "a84d88e7554fc1fa21bcbc4efae3c782a70d2b9d",
        "ref": "main",
        "task": "deploy",
        "payload": {},
        "original_environment": "production",
        "environment": "production",
        "description": null,
        "creator": {"login": "gdt[bot]", "id": 1, "type": "Bot"},
        "created_at": "2024-05-01T10:00:00Z",
        "updated_at": "2024-05-01T10:00:00Z",
        "statuses_url": format!("{base}repos/acme/web/deployments/{id}/statuses"),
        "repository_url": format!("{base}repos/acme/web"),
        "transient_environment": false,
        "production_environment": true
    })
}

pub(crate) fn status_json(id: u64, state: &str) -> serde_json::Value {
    serde_json::json!({
        "url": format!("https://api.github.com/repos/acme/web/deployments/1/statuses/{id}"),
        "id": id,
        "node_id": format!("DES_{id}"),
        "state": state,
        "creator": {"login": "gdt[bot]", "id": 1},
        "description": "",
        "environment": "production",
        "target_url": "https://ci.example/1",
        "log_url": "https://ci.example/1",
        "environment_url": "",
        "created_at": "2024-05-01T10:00:00Z",
        "updated_at": "2024-05-01T10:00:00Z"
    })
}
