//! A GitHub REST API client for GitHub Deployments.
//!
//! Authenticates with a plain token or as a GitHub App (JWT exchanged for
//! cached installation tokens), classifies failures into [`Error`] variants,
//! retries 5xx / connection errors and short rate limits in-process, and
//! returns long waits to the caller so it can schedule the retry itself.

pub mod auth;
pub mod client;
pub mod error;
mod pagination;
pub mod retry;
pub mod types;

pub use auth::{Auth, InstallationToken};
pub use client::{default_user_agent, enterprise_base_url, Client, ClientConfig, DEFAULT_BASE_URL};
pub use error::{classify, Error, RateLimitKind};
pub use retry::RetryPolicy;
pub use types::{
    truncate_description, Actor, App, Deployment, DeploymentFilter, DeploymentState,
    DeploymentStatus, NewDeployment, NewDeploymentStatus, UnknownDeploymentState,
    MAX_DESCRIPTION_CHARS,
};
