//! The in-memory repositories: deployments and their statuses here, seeded
//! pull requests with their files and contents in [`pulls`], issue comments in
//! [`comments`], check runs in [`checks`].
//!
//! One mutex guards everything; every operation is a short synchronous
//! critical section (never held across an await), which is ample for the
//! benchmark's ~100 requests/s.

mod checks;
mod comments;
mod pulls;

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::objects::{node_id, timestamp, Actor, RenderContext};
use crate::pagination::Page;

pub(crate) use checks::{
    Annotation, AnnotationLevel, CheckRunFields, CheckRunFilter, CheckRunUpdate, CheckStatus,
    Conclusion, NewCheckRun, OutputInput,
};
pub(crate) use comments::NewComment;
pub(crate) use pulls::{PullPatch, PullSeed};

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

/// Filters of the list-deployments endpoint; `None` matches everything.
#[derive(Debug, Clone, Default)]
pub(crate) struct DeploymentFilter {
    pub(crate) sha: Option<String>,
    pub(crate) git_ref: Option<String>,
    pub(crate) task: Option<String>,
    pub(crate) environment: Option<String>,
}

/// Why a store operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StoreError {
    /// The deployment, pull request, comment or check run does not exist in
    /// that repository.
    NotFound,
    /// The ref names neither a branch nor a commit.
    UnknownRef,
    /// A check run would be completed without a conclusion.
    ConclusionRequired,
}

/// One page of a list and the total it was cut from.
pub(crate) struct Listed {
    pub(crate) total: usize,
    pub(crate) items: Vec<Value>,
}

#[derive(Debug)]
struct Repo {
    id: u64,
    /// Owner and name as first used (GitHub treats them case-insensitively).
    owner: String,
    name: String,
    /// When the repository was first used.
    created_at: DateTime<Utc>,
    /// Ascending, so newest-first listing walks it backwards.
    deployment_ids: Vec<u64>,
    /// Seeded pull requests by number.
    pulls: BTreeMap<u64, pulls::Pull>,
    /// The changed files of every head SHA a pull request has had. Old heads
    /// are kept when a head moves, so their contents stay readable by SHA, as
    /// in git.
    heads: HashMap<String, pulls::Snapshot>,
    /// The most recently seeded or moved head: what `contents` reads when the
    /// request names no `ref`.
    latest_head: Option<String>,
    /// Ascending.
    check_run_ids: Vec<u64>,
}

impl Repo {
    fn new(id: u64, owner: &str, name: &str, now: DateTime<Utc>) -> Self {
        Self {
            id,
            owner: owner.to_owned(),
            name: name.to_owned(),
            created_at: now,
            deployment_ids: Vec::new(),
            pulls: BTreeMap::new(),
            heads: HashMap::new(),
            latest_head: None,
            check_run_ids: Vec::new(),
        }
    }

    /// Resolves a ref the way this repository's git would: branches of seeded
    /// pull requests (the most recently moved head wins when two share a
    /// branch), abbreviations of seeded head SHAs, then the fixed branches and
    /// any commit (see [`resolve_ref`]).
    fn resolve(&self, git_ref: &str) -> Option<String> {
        let branch = branch_name(git_ref);
        let head = self
            .pulls
            .values()
            .filter(|pull| pull.head_ref == branch)
            .max_by_key(|pull| pull.moved);
        if let Some(pull) = head {
            return Some(pull.head_sha.clone());
        }
        if let Some(pull) = self.pulls.values().find(|pull| pull.base_ref == branch) {
            return Some(pull.base_sha.clone());
        }
        if is_commit_ref(git_ref) {
            let prefix = git_ref.to_ascii_lowercase();
            let mut seeded = self.heads.keys().filter(|sha| sha.starts_with(&prefix));
            // An ambiguous abbreviation names none of the seeded heads.
            if let (Some(sha), None) = (seeded.next(), seeded.next()) {
                return Some(sha.clone());
            }
        }
        resolve_ref(&self.owner, &self.name, git_ref)
    }
}

#[derive(Debug)]
struct Deployment {
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

#[derive(Debug, Default)]
struct Inner {
    repos: HashMap<String, Repo>,
    deployments: HashMap<u64, Deployment>,
    /// Comments by id; each pull request lists the ids of its own.
    comments: HashMap<u64, comments::Comment>,
    /// Check runs by id; each repository lists the ids of its own.
    check_runs: HashMap<u64, checks::CheckRun>,
    /// The check suite of each (repository, head SHA, App), created with the
    /// suite's first check run as GitHub does.
    check_suites: HashMap<(String, String, u64), u64>,
    /// Id counters survive [`Store::reset`] so a client that cached ids from
    /// before a reset can never confuse them with new objects (GitHub never
    /// reuses ids either).
    last_repo_id: u64,
    last_deployment_id: u64,
    last_status_id: u64,
    last_pull_id: u64,
    last_comment_id: u64,
    last_check_run_id: u64,
    last_check_suite_id: u64,
    /// Counts pull request seeds and updates, to know which came last.
    last_move: u64,
}

impl Inner {
    /// Resolves a ref in a repository, which need not have been used yet.
    fn resolve(&self, owner: &str, name: &str, git_ref: &str) -> Option<String> {
        match self.repos.get(&repo_key(owner, name)) {
            Some(repo) => repo.resolve(git_ref),
            None => resolve_ref(owner, name, git_ref),
        }
    }

    fn repo(&self, owner: &str, name: &str) -> Result<&Repo, StoreError> {
        self.repos
            .get(&repo_key(owner, name))
            .ok_or(StoreError::NotFound)
    }
}

/// The repository `owner/name`, created on first use. Takes the fields it
/// needs rather than all of [`Inner`] so callers can keep using the others.
fn repo_entry<'a>(
    repos: &'a mut HashMap<String, Repo>,
    last_repo_id: &mut u64,
    owner: &str,
    name: &str,
    now: DateTime<Utc>,
) -> &'a mut Repo {
    repos.entry(repo_key(owner, name)).or_insert_with(|| {
        *last_repo_id += 1;
        Repo::new(*last_repo_id, owner, name, now)
    })
}

/// Repositories with their deployments and statuses.
#[derive(Debug, Default)]
pub(crate) struct Store {
    inner: Mutex<Inner>,
}

fn repo_key(owner: &str, name: &str) -> String {
    format!(
        "{}/{}",
        owner.to_ascii_lowercase(),
        name.to_ascii_lowercase()
    )
}

impl Store {
    /// Creates a deployment, creating the repository on first use.
    pub(crate) fn create_deployment(
        &self,
        ctx: &RenderContext<'_>,
        owner: &str,
        name: &str,
        new: NewDeployment,
        now: DateTime<Utc>,
    ) -> Result<Value, StoreError> {
        let mut guard = self.inner.lock().expect("store mutex poisoned");
        let inner = &mut *guard;
        let sha = inner
            .resolve(owner, name, &new.git_ref)
            .ok_or(StoreError::UnknownRef)?;
        let repo = repo_entry(&mut inner.repos, &mut inner.last_repo_id, owner, name, now);
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
        let rendered = render_deployment(ctx, repo, &deployment);
        inner.deployments.insert(deployment.id, deployment);
        Ok(rendered)
    }

    /// One page of a repository's deployments, newest first.
    pub(crate) fn list_deployments(
        &self,
        ctx: &RenderContext<'_>,
        owner: &str,
        name: &str,
        filter: &DeploymentFilter,
        page: Page,
    ) -> Listed {
        let inner = self.inner.lock().expect("store mutex poisoned");
        let Some(repo) = inner.repos.get(&repo_key(owner, name)) else {
            // Repositories exist from their first use; before it they are empty.
            return Listed {
                total: 0,
                items: Vec::new(),
            };
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
        let items = matching[page.range(matching.len())]
            .iter()
            .map(|d| render_deployment(ctx, repo, d))
            .collect();
        Listed {
            total: matching.len(),
            items,
        }
    }

    /// One deployment.
    pub(crate) fn get_deployment(
        &self,
        ctx: &RenderContext<'_>,
        owner: &str,
        name: &str,
        id: u64,
    ) -> Result<Value, StoreError> {
        let inner = self.inner.lock().expect("store mutex poisoned");
        let (repo, deployment) = find(&inner, owner, name, id)?;
        Ok(render_deployment(ctx, repo, deployment))
    }

    /// Adds a status to a deployment, applying `auto_inactive`.
    ///
    /// `auto_inactive` follows GitHub's documentation: a new `success` status
    /// appends an `inactive` status to every *earlier* deployment of the same
    /// repository and environment whose latest state is `success`. Transient
    /// deployments are exempt both ways: a `success` on a transient deployment
    /// deactivates nothing (its environment is its own, short-lived one), and
    /// a transient deployment is never deactivated by another one (it is
    /// expected to be marked inactive explicitly when its environment goes
    /// away). Deployments that failed or are still in progress are left alone.
    pub(crate) fn create_status(
        &self,
        ctx: &RenderContext<'_>,
        owner: &str,
        name: &str,
        id: u64,
        new: NewStatus,
        now: DateTime<Utc>,
    ) -> Result<Value, StoreError> {
        let mut guard = self.inner.lock().expect("store mutex poisoned");
        let inner = &mut *guard;
        find(inner, owner, name, id)?;
        let Some(deployment) = inner.deployments.get_mut(&id) else {
            return Err(StoreError::NotFound);
        };
        inner.last_status_id += 1;
        let status_id = inner.last_status_id;
        // GitHub lets a status move its deployment to another environment.
        if let Some(environment) = new.environment {
            deployment.environment = environment;
        }
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
        let key = repo_key(owner, name);
        if deactivate_others {
            let earlier: Vec<u64> = inner
                .repos
                .get(&key)
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
            }
        }

        let (repo, deployment) = find(inner, owner, name, id)?;
        let status = deployment.statuses.last().ok_or(StoreError::NotFound)?;
        Ok(render_status(ctx, repo, deployment, status))
    }

    /// One page of a deployment's statuses, newest first.
    pub(crate) fn list_statuses(
        &self,
        ctx: &RenderContext<'_>,
        owner: &str,
        name: &str,
        id: u64,
        page: Page,
    ) -> Result<Listed, StoreError> {
        let inner = self.inner.lock().expect("store mutex poisoned");
        let (repo, deployment) = find(&inner, owner, name, id)?;
        let total = deployment.statuses.len();
        let range = page.range(total);
        // Newest first: page ranges index the reversed list.
        let items = deployment
            .statuses
            .iter()
            .rev()
            .skip(range.start)
            .take(range.len())
            .map(|s| render_status(ctx, repo, deployment, s))
            .collect();
        Ok(Listed { total, items })
    }

    /// Forgets every repository with its deployments, statuses, pull
    /// requests, comments and check runs.
    pub(crate) fn reset(&self) {
        let mut inner = self.inner.lock().expect("store mutex poisoned");
        inner.repos.clear();
        inner.deployments.clear();
        inner.comments.clear();
        inner.check_runs.clear();
        inner.check_suites.clear();
    }
}

fn find<'a>(
    inner: &'a Inner,
    owner: &str,
    name: &str,
    id: u64,
) -> Result<(&'a Repo, &'a Deployment), StoreError> {
    let repo = inner
        .repos
        .get(&repo_key(owner, name))
        .ok_or(StoreError::NotFound)?;
    // Ids are global, so an id of another repository's deployment is a 404 here.
    if repo.deployment_ids.binary_search(&id).is_err() {
        return Err(StoreError::NotFound);
    }
    let deployment = inner.deployments.get(&id).ok_or(StoreError::NotFound)?;
    Ok((repo, deployment))
}

fn repository_url(ctx: &RenderContext<'_>, repo: &Repo) -> String {
    format!("{}/repos/{}/{}", ctx.base_url, repo.owner, repo.name)
}

/// The repository's page, the base of `html_url` fields. The sandbox serves
/// the web pages' URLs under its own base, as it does users' `html_url`.
fn repository_html_url(ctx: &RenderContext<'_>, repo: &Repo) -> String {
    format!("{}/{}/{}", ctx.base_url, repo.owner, repo.name)
}

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

/// Resolves a ref as in a repository whose branches are `main` and `develop`
/// and which contains every commit: branches get a fixed per-repository head
/// SHA; 7 to 40 hex digits are a commit, abbreviated ones padded
/// deterministically (keeping the given prefix, as git's abbreviations do).
fn resolve_ref(owner: &str, name: &str, git_ref: &str) -> Option<String> {
    let repo = repo_key(owner, name);
    let branch = branch_name(git_ref);
    if branch == "main" || branch == "develop" {
        return Some(branch_sha(owner, name, branch));
    }
    if !is_commit_ref(git_ref) {
        return None;
    }
    let prefix = git_ref.to_ascii_lowercase();
    if prefix.len() == 40 {
        return Some(prefix);
    }
    let filler = fake_sha(&format!("{repo}#commit:{prefix}"));
    Some(format!("{prefix}{}", &filler[prefix.len()..]))
}

/// The branch a ref names, without `refs/heads/` or `heads/`.
fn branch_name(git_ref: &str) -> &str {
    git_ref
        .strip_prefix("refs/heads/")
        .or_else(|| git_ref.strip_prefix("heads/"))
        .unwrap_or(git_ref)
}

/// Whether a ref is spelled as a commit: 7 to 40 hex digits.
fn is_commit_ref(git_ref: &str) -> bool {
    (7..=40).contains(&git_ref.len()) && git_ref.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The fixed head SHA of a branch that no pull request has moved.
fn branch_sha(owner: &str, name: &str, branch: &str) -> String {
    fake_sha(&format!("{}#branch:{branch}", repo_key(owner, name)))
}

/// A positive id derived from `seed`, for objects the sandbox does not count
/// (such as the users that own repositories).
fn fake_id(seed: &str) -> u64 {
    let hex = &fake_sha(seed)[..8];
    u64::from_str_radix(hex, 16).map_or(1, |id| id.max(1))
}

/// 40 hex digits derived from `seed`: FNV-1a with a SplitMix64 finaliser,
/// three lanes. Stable across Rust versions, unlike std's hasher.
fn fake_sha(seed: &str) -> String {
    let mut out = String::with_capacity(48);
    for lane in 0u64..3 {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325 ^ lane.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        for byte in seed.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        hash ^= hash >> 30;
        hash = hash.wrapping_mul(0xbf58_476d_1ce4_e5b9);
        hash ^= hash >> 27;
        hash = hash.wrapping_mul(0x94d0_49bb_1331_11eb);
        hash ^= hash >> 31;
        out.push_str(&format!("{hash:016x}"));
    }
    out.truncate(40);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_resolve() {
        let main = resolve_ref("o", "r", "main").expect("branch");
        assert_eq!(main.len(), 40);
        assert_eq!(
            resolve_ref("O", "R", "refs/heads/main").as_deref(),
            Some(main.as_str())
        );
        assert_ne!(
            resolve_ref("o", "other", "main").as_deref(),
            Some(main.as_str())
        );
        assert_ne!(
            resolve_ref("o", "r", "develop").as_deref(),
            Some(main.as_str())
        );
        let full = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(resolve_ref("o", "r", full).as_deref(), Some(full));
        let short = resolve_ref("o", "r", "ABCDEF1").expect("short sha");
        assert!(short.starts_with("abcdef1") && short.len() == 40);
        assert_eq!(
            resolve_ref("o", "r", "abcdef1").as_deref(),
            Some(short.as_str())
        );
        assert!(short.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(resolve_ref("o", "r", "feature/x"), None);
        assert_eq!(resolve_ref("o", "r", "abc123"), None);
        assert_eq!(resolve_ref("o", "r", &format!("{full}0")), None);
    }
}
