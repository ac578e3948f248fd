//! What handlers share and receive: [`Shared`], the state behind the router;
//! [`RequestContext`], what the GitHub layer learned about a request; and
//! [`RepoRequest`], the extractor every `/repos/{owner}/{repo}/...` handler
//! starts from.
//!
//! These live apart from `server.rs`, which assembles the router from every
//! handler, so that the handlers depend on this module and not on the router.

use std::sync::{Arc, OnceLock};

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Extension;

use crate::auth::{Auth, Principal};
use crate::error::ApiError;
use crate::faults::Faults;
use crate::journal::Journal;
use crate::limits::Limits;
use crate::objects::{Actor, RenderContext};
use crate::state::{RepoName, Scope, Store};
use crate::webhooks::Webhooks;
use crate::SandboxConfig;

/// Everything the handlers share.
pub(crate) struct Shared {
    pub(crate) auth: Auth,
    pub(crate) store: Store,
    pub(crate) faults: Faults,
    pub(crate) journal: Journal,
    pub(crate) limits: Limits,
    pub(crate) webhooks: Webhooks,
    /// `SandboxConfig::public_url`, without a trailing slash.
    public_url: Option<String>,
    /// `http://{addr}` once [`crate::Sandbox::serve`] knows its listener.
    pub(crate) bound_url: OnceLock<String>,
}

impl Shared {
    pub(crate) fn new(config: SandboxConfig) -> Self {
        Self {
            auth: Auth::new(&config),
            store: Store::default(),
            faults: Faults::default(),
            journal: Journal::default(),
            limits: Limits::default(),
            webhooks: Webhooks::new(config.webhook.clone()),
            public_url: config
                .public_url
                .map(|url| url.trim_end_matches('/').to_owned()),
            bound_url: OnceLock::new(),
        }
    }

    /// Base of `url` fields: configured, else the bound address, else the
    /// request's `Host` (for routers driven without a socket).
    pub(crate) fn base_url(&self, headers: &HeaderMap) -> String {
        if let Some(url) = self.public_url.as_ref().or(self.bound_url.get()) {
            return url.clone();
        }
        let host = headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        format!("http://{host}")
    }

    /// The store's scope for `repo`, rendering `url` fields under `base_url`.
    pub(crate) fn scope<'a>(&'a self, repo: &'a RepoName, base_url: &'a str) -> Scope<'a> {
        Scope {
            repo,
            render: RenderContext {
                base_url,
                auth: &self.auth,
            },
        }
    }
}

/// What the layer hands to GitHub-route handlers.
#[derive(Debug, Clone)]
pub(crate) struct RequestContext {
    /// `None` only on routes that do not require authentication.
    pub(crate) principal: Option<Principal>,
    pub(crate) base_url: String,
}

impl RequestContext {
    /// The installation an installation token acts for, which webhook
    /// payloads name.
    pub(crate) fn installation_id(&self) -> Option<u64> {
        match self.principal {
            Some(Principal::Installation {
                installation_id, ..
            }) => Some(installation_id),
            _ => None,
        }
    }

    /// Who acts: the App behind an installation token, else the sandbox bot.
    pub(crate) fn actor(&self) -> Actor {
        match self.principal.as_ref().and_then(Principal::app_id) {
            Some(app_id) => Actor::App(app_id),
            None => Actor::SandboxBot,
        }
    }
}

/// A request to `/repos/{owner}/{repo}/...`: the shared state, the request's
/// context, the repository its path names, and the rest of the path as `T`
/// (see [`PathRest`]). A path whose rest does not parse names nothing, so it
/// is GitHub's 404 before the handler runs.
pub(crate) struct RepoRequest<T = ()> {
    pub(crate) shared: Arc<Shared>,
    pub(crate) ctx: RequestContext,
    pub(crate) repo: RepoName,
    /// The path's parameters after `{owner}/{repo}`.
    pub(crate) rest: T,
}

impl<T> RepoRequest<T> {
    pub(crate) fn store(&self) -> &Store {
        &self.shared.store
    }

    /// The repository this request acts on, and how its answer is rendered.
    pub(crate) fn scope(&self) -> Scope<'_> {
        self.shared.scope(&self.repo, &self.ctx.base_url)
    }
}

/// The parameters of a `/repos/{owner}/{repo}/...` path after the repository.
pub(crate) trait PathRest: Sized {
    /// `None` when the parameters name nothing.
    fn parse(rest: &[String]) -> Option<Self>;
}

/// No parameter: `/repos/{owner}/{repo}/deployments`.
impl PathRest for () {
    fn parse(rest: &[String]) -> Option<Self> {
        rest.is_empty().then_some(())
    }
}

/// An id or a number. Ids and numbers that are not numbers name nothing.
impl PathRest for u64 {
    fn parse(rest: &[String]) -> Option<Self> {
        match rest {
            [number] => number.parse().ok(),
            _ => None,
        }
    }
}

/// A ref or a file path, taken as it is.
impl PathRest for String {
    fn parse(rest: &[String]) -> Option<Self> {
        match rest {
            [text] => Some(text.clone()),
            _ => None,
        }
    }
}

impl<T: PathRest> FromRequestParts<Arc<Shared>> for RepoRequest<T> {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        shared: &Arc<Shared>,
    ) -> Result<Self, Self::Rejection> {
        // The GitHub layer puts the context on every request it lets through.
        let Extension(ctx) = Extension::<RequestContext>::from_request_parts(parts, shared)
            .await
            .map_err(IntoResponse::into_response)?;
        let Path(params) = Path::<Vec<String>>::from_request_parts(parts, shared)
            .await
            .map_err(IntoResponse::into_response)?;
        let [owner, name, rest @ ..] = params.as_slice() else {
            return Err(ApiError::NotFound.into_response());
        };
        let rest = T::parse(rest).ok_or_else(|| ApiError::NotFound.into_response())?;
        Ok(Self {
            shared: shared.clone(),
            ctx,
            repo: RepoName {
                owner: owner.clone(),
                name: name.clone(),
            },
            rest,
        })
    }
}
