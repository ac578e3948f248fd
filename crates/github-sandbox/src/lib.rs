//! A local server that behaves like the GitHub REST API for everything the
//! deployment tracker calls, so tests, benchmarks and dev mode run without
//! GitHub.
//!
//! # Layout
//! - [`config`]: which Apps and tokens the sandbox accepts, and its bot's id.
//! - `server`: the router and the layer every GitHub route goes through
//!   (faults → authentication → rate limit → handler → validators and `304` →
//!   headers → journal).
//! - `conditional`: GitHub's conditional requests: `ETag`, `Last-Modified`,
//!   `If-None-Match`, `If-Modified-Since`; a `304` to an authorized request uses
//!   no quota.
//! - `context`: what handlers share (`Shared`) and receive (`RequestContext`,
//!   and `RepoRequest`, the extractor of every `/repos/{owner}/{repo}/...`
//!   handler).
//! - `auth`: plain tokens, App JWTs, minted installation tokens, quotas.
//! - `state`: the in-memory repositories and ref resolution, and in its
//!   submodules deployments with their statuses (`deployments`),
//!   environments (`environments`), pull
//!   requests with their files and contents (`pulls`), issue comments
//!   (`comments`) and check runs (`checks`).
//! - `objects`: GitHub's JSON shapes shared by several objects (users, Apps,
//!   base64 content, URL paths).
//! - `routes`: handlers for `/app`, deployments, pull requests and contents,
//!   issue comments, check runs, and `/_sandbox`; the one mapping from the
//!   store's refusals to GitHub's answers.
//! - `error`: GitHub's error answers; `pagination`: `per_page`, `page` and
//!   the `Link` header.
//! - [`faults`]: injectable failures; [`limits`]: the secondary rate limit on content
//!   creation, scaled for tests; [`journal`]: the request log;
//!   [`webhooks`]: signed `deployment`/`deployment_status` deliveries.
//!
//! # GitHub routes
//! All authenticated (except `/rate_limit`), counted against the caller's
//! quota, subject to faults and journaled:
//! - `GET /app` (App JWT), `POST /app/installations/{id}/access_tokens`,
//!   `GET /rate_limit`;
//! - `GET|POST /repos/{o}/{r}/deployments`, `GET|DELETE .../deployments/{id}`
//!   (only inactive ones while the repository has several),
//!   `GET|POST .../deployments/{id}/statuses` (with `auto_inactive`, sparing
//!   transient and production deployments);
//! - `GET /repos/{o}/{r}/environments`,
//!   `GET|PUT|DELETE /repos/{o}/{r}/environments/{name}`;
//! - `GET /repos/{o}/{r}/pulls/{n}` and `GET .../pulls/{n}/files` (at most
//!   3000 files, as on GitHub), `GET /repos/{o}/{r}/contents/{path}[?ref=]`;
//! - `GET|POST /repos/{o}/{r}/issues/{n}/comments`,
//!   `GET|PATCH /repos/{o}/{r}/issues/comments/{id}`;
//! - `POST /repos/{o}/{r}/check-runs`, `GET|PATCH .../check-runs/{id}`,
//!   `GET .../check-runs/{id}/annotations`,
//!   `GET /repos/{o}/{r}/commits/{ref}/check-runs`. Writing check runs needs
//!   an installation token (a plain token gets GitHub's 403 "You must
//!   authenticate via a GitHub App."); reading takes any token.
//!
//! Lists take `per_page` (default 30, at most 100) and `page` and answer with
//! GitHub's `Link` header. Every `200` to a `GET` but `/rate_limit` carries an
//! `ETag` (and a single object or a file's contents a `Last-Modified`); a
//! matching `If-None-Match` or `If-Modified-Since` gets a `304` that is not
//! counted against the quota.
//!
//! # Pull requests and contents
//! The sandbox has no git repository behind it. Pull requests are created
//! through the test controls with the files changed at their head, and those
//! files are all the contents it knows: a path reads at a head SHA only if it
//! was given there (not `removed`); every other path is a 404. Moving a head
//! keeps the old head's files readable by its SHA, as in git.
//!
//! A ref resolves, in this order, to the head of the pull request whose head
//! branch it names (the most recently created or updated one when branches
//! repeat), to the base of one whose base branch it names, to a pull
//! request's head SHA it abbreviates (7 or more hex digits), to `main` or `develop` (fixed
//! SHAs), or to any other commit of 7-40 hex digits. Deployments, contents and
//! check runs share this rule. `contents` without `ref` reads the head most
//! recently created or updated in the repository (standing in for the default
//! branch); a ref that resolves to nothing is GitHub's 404 "No commit found
//! for the ref ...".
//!
//! # Test controls
//! No authentication, no faults, not journaled:
//! `GET /_sandbox/requests[?since=N]`, `GET|POST|DELETE /_sandbox/faults`,
//! `POST /_sandbox/reset`, `GET /_sandbox/health`, `GET /_sandbox/deliveries`
//! (webhooks sent), `GET|PUT|DELETE /_sandbox/webhook` (where they go),
//! `GET|PUT|DELETE /_sandbox/limits` (the secondary rate limit on content creation, off by
//! default: `{"content_writes": N, "window_ms": M}`),
//! `POST /_sandbox/repos/{o}/{r}/pulls` (create or replace a pull request) and
//! `PATCH /_sandbox/repos/{o}/{r}/pulls/{n}` (move its head, change its refs,
//! title or files, close it, merged or not, or reopen it: closing and reopening send
//! `pull_request` events).

mod auth;
mod conditional;
pub mod config;
mod context;
mod error;
pub mod faults;
pub mod journal;
pub mod limits;
mod objects;
mod pagination;
mod routes;
mod server;
mod state;
pub mod webhooks;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

pub use config::{KeyGenError, SandboxApp, SandboxConfig};
pub use faults::FaultSpec;
pub use journal::JournalEntry;
pub use limits::ContentLimit;
pub use webhooks::{Delivery, WebhookTarget};

/// A GitHub API emulator; cheap to clone (all clones share one state).
#[derive(Clone)]
pub struct Sandbox {
    shared: Arc<context::Shared>,
}

impl Sandbox {
    /// A sandbox with no repositories, accepting `config`'s credentials.
    pub fn new(config: SandboxConfig) -> Sandbox {
        Sandbox {
            shared: Arc::new(context::Shared::new(config)),
        }
    }

    /// The router, e.g. to drive with `tower::ServiceExt::oneshot` or to nest
    /// into another server.
    pub fn router(&self) -> axum::Router {
        server::router(self.shared.clone())
    }

    /// The request journal (what `GET /_sandbox/requests` returns).
    pub fn journal(&self) -> Vec<JournalEntry> {
        self.shared.journal.since(0)
    }

    /// How many journaled requests were counted against a primary rate limit (see
    /// [`JournalEntry::counted`]).
    pub fn counted_requests(&self) -> usize {
        self.shared.journal.counted()
    }

    /// Serves on `listener` until `shutdown` completes.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let addr = listener.local_addr()?;
        // Ignoring the error is right: a second `serve` of a clone keeps the
        // first address, which is as good a base for `url` fields.
        let _ = self.shared.bound_url.set(format!("http://{addr}"));
        axum::serve(listener, self.router())
            .with_graceful_shutdown(shutdown)
            .await
    }
}

/// A sandbox serving on a loopback port; stops when dropped.
pub struct SpawnedSandbox {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub base_url: String,
    /// The bound address.
    pub addr: SocketAddr,
    sandbox: Sandbox,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl SpawnedSandbox {
    /// The served sandbox, for direct inspection.
    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }
}

impl Drop for SpawnedSandbox {
    fn drop(&mut self) {
        // Aborting rather than shutting down gracefully: a graceful shutdown
        // would wait for clients' idle keep-alive connections.
        self.task.abort();
    }
}

/// Binds `127.0.0.1:0` and serves a sandbox in a tokio task.
pub async fn spawn(config: SandboxConfig) -> std::io::Result<SpawnedSandbox> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let sandbox = Sandbox::new(config);
    let task = tokio::spawn(sandbox.clone().serve(listener, std::future::pending()));
    Ok(SpawnedSandbox {
        base_url: format!("http://{addr}"),
        addr,
        sandbox,
        task,
    })
}
