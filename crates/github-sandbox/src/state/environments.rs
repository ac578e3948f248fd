//! Deployment environments: created explicitly (`PUT`) or by the first
//! deployment that names them, as on GitHub; deleting one deletes its
//! deployments.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::{
    repo_entry, repository_html_url, repository_url, Listed, Repo, Scope, Store, StoreError,
};
use crate::objects::{encode_path, node_id, timestamp, RenderContext};
use crate::pagination::Page;

/// A validated create-or-update-environment request. `None` leaves a
/// setting as it was (or at its default for a new environment).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct EnvironmentUpdate {
    /// Minutes a job waits before it may run; 0 is no wait timer.
    pub(crate) wait_timer: Option<u64>,
    /// `Some(None)` clears the policy (`null`, any branch may deploy).
    pub(crate) deployment_branch_policy: Option<Option<BranchPolicy>>,
}

/// Which branches may deploy to an environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BranchPolicy {
    pub(crate) protected_branches: bool,
    pub(crate) custom_branch_policies: bool,
}

/// An environment of a repository.
#[derive(Debug)]
pub(crate) struct Environment {
    id: u64,
    /// As first spelled; GitHub matches environment names case-insensitively.
    name: String,
    wait_timer: u64,
    deployment_branch_policy: Option<BranchPolicy>,
    /// The id of its wait-timer protection rule, stable across updates.
    wait_timer_rule_id: u64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// The key an environment is stored under in its repository.
pub(super) fn environment_key(name: &str) -> String {
    name.to_lowercase()
}

impl Repo {
    /// The environment `name`, created if the repository has none of that
    /// name. `last_id` is the store's environment id counter.
    pub(super) fn ensure_environment(
        &mut self,
        last_id: &mut u64,
        name: &str,
        now: DateTime<Utc>,
    ) -> &mut Environment {
        self.environments
            .entry(environment_key(name))
            .or_insert_with(|| {
                *last_id += 2;
                Environment {
                    id: *last_id - 1,
                    name: name.to_owned(),
                    wait_timer: 0,
                    deployment_branch_policy: None,
                    wait_timer_rule_id: *last_id,
                    created_at: now,
                    updated_at: now,
                }
            })
    }
}

impl Store {
    /// One page of a repository's environments, by name, and their total.
    pub(crate) fn list_environments(&self, at: &Scope<'_>, page: Page) -> Listed {
        let inner = self.lock();
        let Ok(repo) = inner.repo(at.repo) else {
            return Listed::default();
        };
        let all: Vec<&Environment> = repo.environments.values().collect();
        Listed::page(&all, page, |e| render_environment(&at.render, repo, e))
    }

    /// The environment `name`.
    pub(crate) fn get_environment(&self, at: &Scope<'_>, name: &str) -> Result<Value, StoreError> {
        let inner = self.lock();
        let repo = inner.repo(at.repo)?;
        let environment = repo
            .environments
            .get(&environment_key(name))
            .ok_or(StoreError::NotFound)?;
        Ok(render_environment(&at.render, repo, environment))
    }

    /// Creates the environment `name` or updates its settings.
    pub(crate) fn put_environment(
        &self,
        at: &Scope<'_>,
        name: &str,
        update: EnvironmentUpdate,
        now: DateTime<Utc>,
    ) -> Value {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let repo = repo_entry(&mut inner.repos, &mut inner.last_repo_id, at.repo, now);
        let environment = repo.ensure_environment(&mut inner.last_environment_id, name, now);
        if let Some(wait_timer) = update.wait_timer {
            environment.wait_timer = wait_timer;
        }
        if let Some(policy) = update.deployment_branch_policy {
            environment.deployment_branch_policy = policy;
        }
        environment.updated_at = now;
        let repo = &inner.repos[&at.repo.key()];
        render_environment(&at.render, repo, &repo.environments[&environment_key(name)])
    }

    /// Deletes the environment `name` and, as GitHub does, every deployment
    /// to it.
    pub(crate) fn delete_environment(&self, at: &Scope<'_>, name: &str) -> Result<(), StoreError> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let repo = inner
            .repos
            .get_mut(&at.repo.key())
            .ok_or(StoreError::NotFound)?;
        let key = environment_key(name);
        repo.environments.remove(&key).ok_or(StoreError::NotFound)?;
        let deployments = &mut inner.deployments;
        repo.deployment_ids.retain(|id| {
            let doomed = deployments
                .get(id)
                .is_some_and(|d| environment_key(d.environment()) == key);
            if doomed {
                deployments.remove(id);
            }
            !doomed
        });
        Ok(())
    }
}

fn render_environment(ctx: &RenderContext<'_>, repo: &Repo, e: &Environment) -> Value {
    let name = encode_path(&e.name);
    let mut protection_rules = Vec::new();
    if e.wait_timer > 0 {
        protection_rules.push(json!({
            "id": e.wait_timer_rule_id,
            "node_id": node_id("EnvironmentProtectionRule", e.wait_timer_rule_id),
            "type": "wait_timer",
            "wait_timer": e.wait_timer,
        }));
    }
    let policy = e.deployment_branch_policy.map(|p| {
        json!({
            "protected_branches": p.protected_branches,
            "custom_branch_policies": p.custom_branch_policies,
        })
    });
    json!({
        "id": e.id,
        "node_id": node_id("Environment", e.id),
        "name": e.name,
        "url": format!("{}/environments/{name}", repository_url(ctx, repo)),
        "html_url": format!(
            "{}/deployments/activity_log?environments_filter={name}",
            repository_html_url(ctx, repo)
        ),
        "created_at": timestamp(e.created_at),
        "updated_at": timestamp(e.updated_at),
        "protection_rules": protection_rules,
        "deployment_branch_policy": policy,
    })
}
