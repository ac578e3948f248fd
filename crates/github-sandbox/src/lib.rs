//! A local server that behaves like the GitHub REST API for everything the
//! deployment tracker calls, so tests, benchmarks and dev mode run without
//! GitHub.
//!
//! # Layout
//! - [`config`]: which Apps and tokens the sandbox accepts.
//! - `server`: the router and the layer every GitHub route goes through
//!   (faults → authentication → rate limit → handler → headers → journal).
//! - `auth`: plain tokens, App JWTs, minted installation tokens, quotas.
//! - `state`: the in-memory repositories, deployments and statuses.
//! - `objects`: GitHub's JSON shapes (users, Apps).
//! - `routes`: handlers for `/app`, `/repos/.../deployments` and `/_sandbox`.
//! - [`faults`]: injectable failures; [`journal`]: the request log.
//!
//! Test controls (no authentication): `GET /_sandbox/requests[?since=N]`,
//! `GET|POST|DELETE /_sandbox/faults`, `POST /_sandbox/reset`,
//! `GET /_sandbox/health`.

mod auth;
pub mod config;
mod error;
pub mod faults;
pub mod journal;
mod objects;
mod pagination;
mod routes;
mod server;
mod state;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

pub use config::{KeyGenError, SandboxApp, SandboxConfig};
pub use faults::FaultSpec;
pub use journal::JournalEntry;

/// A GitHub API emulator; cheap to clone (all clones share one state).
#[derive(Clone)]
pub struct Sandbox {
    shared: Arc<server::Shared>,
}

impl Sandbox {
    /// A sandbox with no repositories, accepting `config`'s credentials.
    pub fn new(config: SandboxConfig) -> Sandbox {
        Sandbox {
            shared: Arc::new(server::Shared::new(config)),
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
