//! Deployments and their statuses, with GitHub's `auto_inactive`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::{
    held, render_repository, repo_entry, repository_url, Held, Inner, Listed, Repo, Scope, Store,
    StoreError,
};
use crate::objects::{node_id, timestamp, Actor, RenderContext};
use crate::pagination::Page;

/// The states a deployment status can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeploymentState {
    Error,
    Failure,
    Inactive,
    InProgress,
    Queued,
    Pending,
    Success,
}

impl DeploymentState {
    pub(crate) fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "error" => Self::Error,
            "failure" => Self::Failure,
            "inactive" => Self::Inactive,
            "in_progress" => Self::InProgress,
            "queued" => Self::Queued,
            "pending" => Self::Pending,
            "success" => Self::Success,
            _ => return None,
        })
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Failure => "failure",
            Self::Inactive => "inactive",
            Self::InProgress => "in_progress",
            Self::Queued => "queued",
            Self::Pending => "pending",
            Self::Success => "success",
        }
    }
}

/// A validated create-deployment request.
#[derive(Debug, Clone)]
pub(crate) struct NewDeployment {
    pub(crate) git_ref: String,
    pub(crate) task: String,
    pub(crate) payload: Value,
    pub(crate) environment: String,
    pub(crate) description: Option<String>,
    pub(crate) transient_environment: bool,
    pub(crate) production_environment: bool,
    pub(crate) actor: Actor,
}

/// A validated create-deployment-status request.
#[derive(Debug, Clone)]
pub(crate) struct NewStatus {
    pub(crate) state: DeploymentState,
    pub(crate) description: String,
    pub(crate) environment: Option<String>,
    pub(crate) environment_url: String,
    pub(crate) target_url: String,
    pub(crate) log_url: String,
    pub(crate) auto_inactive: bool,
    pub(crate) actor: Actor,
}

/// A created status as GitHub's API and webhooks show it.
#[derive(Debug)]
pub(crate) struct CreatedStatus {
    /// The new status, the API's answer.
    pub(crate) status: Value,
    /// Its deployment, after the status.
    pub(crate) deployment: Value,
    /// The repository, for webhook payloads.
    pub(crate) repository: Value,
    /// The `inactive` statuses `auto_inactive` added, each with its
    /// deployment, oldest deployment first.
    pub(crate) inactivated: Vec<(Value, Value)>,
}

/// Filters of the list-deployments endpoint; `None` matches everything.
#[derive(Debug, Clone, Default)]
pub(crate) struct DeploymentFilter {
    pub(crate) sha: Option<String>,
    pub(crate) git_ref: Option<String>,
    pub(crate) task: Option<String>,
    pub(crate) environment: Option<String>,
}

/// A deployment with its statuses.
#[derive(Debug)]
pub(crate) struct Deployment {
    id: u64,
    sha: String,
    git_ref: String,
    task: String,
    payload: Value,
    original_environment: String,
    environment: String,
    description: Option<String>,
    transient_environment: bool,
    production_environment: bool,
    actor: Actor,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// Oldest first.
    statuses: Vec<Status>,
}

impl Deployment {
    /// The environment it is in now (a status may have moved it).
    pub(super) fn environment(&self) -> &str {
        &self.environment
    }

    fn latest_state(&self) -> Option<DeploymentState> {
        self.statuses.last().map(|s| s.state)
    }
}

#[derive(Debug)]
struct Status {
    id: u64,
    state: DeploymentState,
    description: String,
    environment: String,
    environment_url: String,
    target_url: String,
    log_url: String,
    actor: Actor,
    created_at: DateTime<Utc>,
}

impl Store {
    /// Creates a deployment, creating the repository on first use. Returns
    /// the deployment and its repository (for webhook payloads).
    pub(crate) fn create_deployment(
        &self,
        at: &Scope<'_>,
        new: NewDeployment,
        now: DateTime<Utc>,
    ) -> Result<(Value, Value), StoreError> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let sha = inner
            .resolve(at.repo, &new.git_ref)
            .ok_or_else(|| StoreError::NoRefFound(new.git_ref.clone()))?;
        let repo = repo_entry(&mut inner.repos, &mut inner.last_repo_id, at.repo, now);
        // A deployment to an environment the repository lacks creates it.
        repo.ensure_environment(&mut inner.last_environment_id, &new.environment, now);
        inner.last_deployment_id += 1;
        let deployment = Deployment {
            id: inner.last_deployment_id,
            sha,
            git_ref: new.git_ref,
            task: new.task,
            payload: new.payload,
            original_environment: new.environment.clone(),
            environment: new.environment,
            description: new.description,
            transient_environment: new.transient_environment,
            production_environment: new.production_environment,
            actor: new.actor,
            created_at: now,
            updated_at: now,
            statuses: Vec::new(),
        };
        repo.deployment_ids.push(deployment.id);
        let rendered = render_deployment(&at.render, repo, &deployment);
        let repository = render_repository(&at.render, repo);
        inner.deployments.insert(deployment.id, deployment);
        Ok((rendered, repository))
    }

    /// One page of a repository's deployments, newest first.
    pub(crate) fn list_deployments(
        &self,
        at: &Scope<'_>,
        filter: &DeploymentFilter,
        page: Page,
    ) -> Listed {
        let inner = self.lock();
        let Ok(repo) = inner.repo(at.repo) else {
            // Repositories exist from their first use; before it they are empty.
            return Listed::default();
        };
        let matching: Vec<&Deployment> = repo
            .deployment_ids
            .iter()
            .rev()
            .filter_map(|id| inner.deployments.get(id))
            .filter(|d| {
                filter
                    .sha
                    .as_deref()
                    .is_none_or(|s| d.sha.eq_ignore_ascii_case(s))
                    && filter.git_ref.as_deref().is_none_or(|r| d.git_ref == r)
                    && filter.task.as_deref().is_none_or(|t| d.task == t)
                    && filter
                        .environment
                        .as_deref()
                        .is_none_or(|e| d.environment == e)
            })
            .collect();
        Listed::page(&matching, page, |d| render_deployment(&at.render, repo, d))
    }

    /// Adds a status to a deployment, applying `auto_inactive`.
    ///
    /// `auto_inactive` follows GitHub's reference ("Adds a new inactive
    /// status to all prior non-transient, non-production environment
    /// deployments with the same repository and environment name as the
    /// created status's deployment. An inactive status is only added to
    /// deployments that had a success state."): a new `success` status
    /// appends an `inactive` status to every *earlier* deployment of the same
    /// repository and environment whose latest state is `success`, unless
    /// that deployment is transient or production. A `success` on a
    /// transient deployment deactivates nothing (its environment is its own,
    /// short-lived one). Deployments that failed or are still in progress are
    /// left alone.
    pub(crate) fn create_status(
        &self,
        at: &Scope<'_>,
        id: u64,
        new: NewStatus,
        now: DateTime<Utc>,
    ) -> Result<CreatedStatus, StoreError> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        Deployment::find(inner, at.repo, id)?;
        let Some(deployment) = inner.deployments.get_mut(&id) else {
            return Err(StoreError::NotFound);
        };
        inner.last_status_id += 1;
        let status_id = inner.last_status_id;
        // GitHub lets a status move its deployment to another environment.
        if let Some(environment) = new.environment {
            deployment.environment = environment;
        }
        let moved_to = deployment.environment.clone();
        let status = Status {
            id: status_id,
            state: new.state,
            description: new.description,
            environment: deployment.environment.clone(),
            environment_url: new.environment_url,
            target_url: new.target_url,
            log_url: new.log_url,
            actor: new.actor,
            created_at: now,
        };
        deployment.statuses.push(status);
        deployment.updated_at = now;

        let deactivate_others = new.state == DeploymentState::Success
            && new.auto_inactive
            && !deployment.transient_environment;
        let environment = deployment.environment.clone();
        let mut inactivated = Vec::new();
        if deactivate_others {
            let earlier: Vec<u64> = inner
                .repo(at.repo)
                .map(|repo| {
                    repo.deployment_ids
                        .iter()
                        .copied()
                        .filter(|d| *d < id)
                        .collect()
                })
                .unwrap_or_default();
            for other_id in earlier {
                let Some(other) = inner.deployments.get_mut(&other_id) else {
                    continue;
                };
                if other.transient_environment
                    || other.production_environment
                    || other.environment != environment
                    || other.latest_state() != Some(DeploymentState::Success)
                {
                    continue;
                }
                inner.last_status_id += 1;
                other.statuses.push(Status {
                    id: inner.last_status_id,
                    state: DeploymentState::Inactive,
                    description: String::new(),
                    environment: other.environment.clone(),
                    environment_url: String::new(),
                    target_url: String::new(),
                    log_url: String::new(),
                    actor: new.actor,
                    created_at: now,
                });
                other.updated_at = now;
                inactivated.push(other_id);
            }
        }

        // Moving a deployment to an environment the repository lacks
        // creates it, as creating the deployment there would.
        if let Some(repo) = inner.repos.get_mut(&at.repo.key()) {
            repo.ensure_environment(&mut inner.last_environment_id, &moved_to, now);
        }

        let (repo, deployment) = Deployment::find(inner, at.repo, id)?;
        let status = deployment.statuses.last().ok_or(StoreError::NotFound)?;
        let inactivated = inactivated
            .into_iter()
            .filter_map(|other| Deployment::find(inner, at.repo, other).ok())
            .filter_map(|(repo, other)| {
                let status = other.statuses.last()?;
                Some((
                    render_status(&at.render, repo, other, status),
                    render_deployment(&at.render, repo, other),
                ))
            })
            .collect();
        Ok(CreatedStatus {
            status: render_status(&at.render, repo, deployment, status),
            deployment: render_deployment(&at.render, repo, deployment),
            repository: render_repository(&at.render, repo),
            inactivated,
        })
    }

    /// Deletes a deployment with its statuses. As on GitHub, a repository's
    /// only deployment can always be deleted; otherwise only an inactive one
    /// can ("This ensures that repositories with multiple deployments will
    /// always have an active deployment").
    pub(crate) fn delete_deployment(&self, at: &Scope<'_>, id: u64) -> Result<(), StoreError> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let (repo, deployment) = Deployment::find(inner, at.repo, id)?;
        if repo.deployment_ids.len() > 1
            && deployment.latest_state() != Some(DeploymentState::Inactive)
        {
            return Err(StoreError::ActiveDeployment);
        }
        inner.deployments.remove(&id);
        if let Some(repo) = inner.repos.get_mut(&at.repo.key()) {
            repo.deployment_ids.retain(|d| *d != id);
        }
        Ok(())
    }

    /// One page of a deployment's statuses, newest first.
    pub(crate) fn list_statuses(
        &self,
        at: &Scope<'_>,
        id: u64,
        page: Page,
    ) -> Result<Listed, StoreError> {
        let inner = self.lock();
        let (repo, deployment) = Deployment::find(&inner, at.repo, id)?;
        let newest_first: Vec<&Status> = deployment.statuses.iter().rev().collect();
        Ok(Listed::page(&newest_first, page, |s| {
            render_status(&at.render, repo, deployment, s)
        }))
    }
}

held!(
    Deployment,
    deployments,
    |object, repo| repo.deployment_ids.binary_search(&object.id).is_ok(),
    render_deployment
);

fn render_deployment(ctx: &RenderContext<'_>, repo: &Repo, d: &Deployment) -> Value {
    let repository_url = repository_url(ctx, repo);
    let url = format!("{repository_url}/deployments/{}", d.id);
    json!({
        "url": url,
        "id": d.id,
        "node_id": node_id("Deployment", d.id),
        "sha": d.sha,
        "ref": d.git_ref,
        "task": d.task,
        "payload": d.payload,
        "original_environment": d.original_environment,
        "environment": d.environment,
        "description": d.description,
        "creator": ctx.creator(d.actor),
        "created_at": timestamp(d.created_at),
        "updated_at": timestamp(d.updated_at),
        "statuses_url": format!("{url}/statuses"),
        "repository_url": repository_url,
        "transient_environment": d.transient_environment,
        "production_environment": d.production_environment,
        "performed_via_github_app": ctx.performed_via(d.actor),
    })
}

fn render_status(ctx: &RenderContext<'_>, repo: &Repo, d: &Deployment, s: &Status) -> Value {
    let repository_url = repository_url(ctx, repo);
    let deployment_url = format!("{repository_url}/deployments/{}", d.id);
    let mut object = Map::new();
    object.insert(
        "url".into(),
        json!(format!("{deployment_url}/statuses/{}", s.id)),
    );
    object.insert("id".into(), json!(s.id));
    object.insert("node_id".into(), json!(node_id("DeploymentStatus", s.id)));
    object.insert("state".into(), json!(s.state.as_str()));
    object.insert("creator".into(), ctx.creator(s.actor));
    object.insert("description".into(), json!(s.description));
    object.insert("environment".into(), json!(s.environment));
    object.insert("target_url".into(), json!(s.target_url));
    // GitHub sends `log_url: ""` when unset, but the payload schema requires a
    // URI there, so the field is left out instead of sending an invalid value.
    if !s.log_url.is_empty() {
        object.insert("log_url".into(), json!(s.log_url));
    }
    object.insert("environment_url".into(), json!(s.environment_url));
    object.insert("created_at".into(), json!(timestamp(s.created_at)));
    // Statuses are immutable, so they are never updated after creation.
    object.insert("updated_at".into(), json!(timestamp(s.created_at)));
    object.insert("deployment_url".into(), json!(deployment_url));
    object.insert("repository_url".into(), json!(repository_url));
    object.insert(
        "performed_via_github_app".into(),
        ctx.performed_via(s.actor),
    );
    Value::Object(object)
}
