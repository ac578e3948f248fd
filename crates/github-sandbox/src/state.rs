//! The in-memory store: repositories and how a ref resolves in them. What a
//! repository holds lives in the submodules: deployments with their statuses
//! and `auto_inactive` in [`deployments`], pull requests created through the
//! test controls with their files and contents in [`pulls`], issue comments
//! in [`comments`], check runs in [`checks`].
//!
//! One mutex guards everything; every operation is a short synchronous
//! critical section (never held across an await), which is ample for the
//! benchmark's ~100 requests/s.

mod checks;
mod comments;
mod deployments;
mod environments;
mod pulls;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::objects::RenderContext;
use crate::pagination::Page;

pub(crate) use checks::{
    Annotation, AnnotationLevel, CheckRun, CheckRunFields, CheckRunFilter, CheckRunUpdate,
    CheckStatus, Conclusion, NewCheckRun, OutputInput,
};
pub(crate) use comments::{Comment, NewComment};
pub(crate) use deployments::{
    Deployment, DeploymentFilter, DeploymentState, NewDeployment, NewStatus,
};
pub(crate) use environments::{BranchPolicy, EnvironmentUpdate};
use pulls::render_repository;
pub(crate) use pulls::{NewPull, PullPatch, UpdateRefused};

/// A repository as a request names it, `{owner}/{repo}`. GitHub matches both
/// parts case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RepoName {
    pub(crate) owner: String,
    pub(crate) name: String,
}

impl RepoName {
    /// The key the repository is stored under: both parts in lower case.
    fn key(&self) -> String {
        repo_key(&self.owner, &self.name)
    }
}

/// Where a store operation acts and how its answer is rendered: the
/// repository a request names, with the request's base URL and Apps.
pub(crate) struct Scope<'a> {
    pub(crate) repo: &'a RepoName,
    pub(crate) render: RenderContext<'a>,
}

fn repo_key(owner: &str, name: &str) -> String {
    format!(
        "{}/{}",
        owner.to_ascii_lowercase(),
        name.to_ascii_lowercase()
    )
}

/// Why a store operation failed. Each refusal carries what GitHub's message
/// quotes, and its `Display` is that message; `ApiError::from_store` (in
/// `routes`) turns it into GitHub's answer, in one place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum StoreError {
    /// The repository, or the deployment, pull request, comment or check run
    /// in it, does not exist.
    #[error("Not Found")]
    NotFound,
    /// A deployment's ref names neither a branch nor a commit.
    #[error("No ref found for: {0}")]
    NoRefFound(String),
    /// A check run's `head_sha`, or the ref its list is asked for, names no
    /// commit.
    #[error("No commit found for SHA: {0}")]
    NoCommitForSha(String),
    /// The `ref` of a contents request names no commit.
    #[error("No commit found for the ref {0}")]
    NoCommitForRef(String),
    /// A check run would be completed without a conclusion.
    #[error("\"conclusion\" wasn't supplied.")]
    ConclusionRequired,
    /// A deployment that is not inactive would be deleted while the
    /// repository has others.
    #[error("We cannot delete an active deployment unless it is the only deployment in a given environment.")]
    ActiveDeployment,
}

/// One page of a list and the total it was cut from.
#[derive(Debug, Default)]
pub(crate) struct Listed {
    pub(crate) total: usize,
    pub(crate) items: Vec<Value>,
}

impl Listed {
    /// `page` of `all`, each item rendered by `render`.
    fn page<T>(all: &[T], page: Page, render: impl FnMut(&T) -> Value) -> Self {
        Self {
            total: all.len(),
            items: all[page.range(all.len())].iter().map(render).collect(),
        }
    }
}

/// A repository. Visible to the crate only because [`Held`] names it; its
/// fields stay private to the store.
#[derive(Debug)]
pub(crate) struct Repo {
    id: u64,
    /// Owner and name as first used (GitHub treats them case-insensitively).
    owner: String,
    name: String,
    /// When the repository was first used.
    created_at: DateTime<Utc>,
    /// Ascending, so newest-first listing walks it backwards.
    deployment_ids: Vec<u64>,
    /// Pull requests by number.
    pulls: BTreeMap<u64, pulls::Pull>,
    /// The changed files of every head SHA a pull request has had. Old heads
    /// are kept when a head moves, so their contents stay readable by SHA, as
    /// in git.
    heads: HashMap<String, pulls::Snapshot>,
    /// The most recently created or moved head: what `contents` reads when the
    /// request names no `ref`.
    latest_head: Option<String>,
    /// Ascending.
    check_run_ids: Vec<u64>,
    /// Environments by lower-cased name (GitHub's names are
    /// case-insensitive), so lists come out sorted by name.
    environments: BTreeMap<String, environments::Environment>,
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
            environments: BTreeMap::new(),
        }
    }

    /// Resolves a ref the way this repository's git would: branches of its
    /// pull requests (the most recently moved head wins when two share a
    /// branch), abbreviations of their head SHAs, then the fixed branches and
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
            let mut heads = self.heads.keys().filter(|sha| sha.starts_with(&prefix));
            // An ambiguous abbreviation names none of the heads.
            if let (Some(sha), None) = (heads.next(), heads.next()) {
                return Some(sha.clone());
            }
        }
        resolve_ref(&self.owner, &self.name, git_ref)
    }
}

/// Everything the store holds, behind its one mutex. Visible to the crate
/// only because [`Held`] names it; its fields stay private to the store.
#[derive(Debug, Default)]
pub(crate) struct Inner {
    repos: HashMap<String, Repo>,
    deployments: HashMap<u64, deployments::Deployment>,
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
    /// Environments and their protection rules share this counter.
    last_environment_id: u64,
    last_pull_id: u64,
    last_comment_id: u64,
    last_check_run_id: u64,
    last_check_suite_id: u64,
    /// Counts pull request creations and updates, to know which came last.
    last_move: u64,
}

impl Inner {
    /// Resolves a ref in a repository, which need not have been used yet.
    fn resolve(&self, repo: &RepoName, git_ref: &str) -> Option<String> {
        match self.repos.get(&repo.key()) {
            Some(known) => known.resolve(git_ref),
            None => resolve_ref(&repo.owner, &repo.name, git_ref),
        }
    }

    /// A repository that has been used; `NotFound` before its first use.
    fn repo(&self, repo: &RepoName) -> Result<&Repo, StoreError> {
        self.repos.get(&repo.key()).ok_or(StoreError::NotFound)
    }
}

/// The repository `owner/name`, created on first use. Takes the fields it
/// needs rather than all of [`Inner`] so callers can keep using the others.
fn repo_entry<'a>(
    repos: &'a mut HashMap<String, Repo>,
    last_repo_id: &mut u64,
    repo: &RepoName,
    now: DateTime<Utc>,
) -> &'a mut Repo {
    repos.entry(repo.key()).or_insert_with(|| {
        *last_repo_id += 1;
        Repo::new(*last_repo_id, &repo.owner, &repo.name, now)
    })
}

/// An object a repository holds under a global id: a deployment, an issue
/// comment or a check run. Ids are global, as on GitHub, but only the
/// object's own repository's paths reach it.
pub(crate) trait Held: Sized {
    /// Every object of this kind, by id.
    fn all(inner: &Inner) -> &HashMap<u64, Self>;

    fn all_mut(inner: &mut Inner) -> &mut HashMap<u64, Self>;

    /// Whether `repo` holds this object.
    fn held_by(&self, repo: &Repo) -> bool;

    /// The object as GitHub sends it.
    fn render(&self, ctx: &RenderContext<'_>, repo: &Repo) -> Value;

    /// The object `id` with its repository; `NotFound` unless `repo` holds it.
    fn find<'a>(
        inner: &'a Inner,
        repo: &RepoName,
        id: u64,
    ) -> Result<(&'a Repo, &'a Self), StoreError> {
        let repo = inner.repo(repo)?;
        let object = Self::all(inner)
            .get(&id)
            .filter(|object| object.held_by(repo))
            .ok_or(StoreError::NotFound)?;
        Ok((repo, object))
    }
}

/// Implements [`Held`] for a kind kept in `Inner::$all`, held by a repository when `$held`
/// (with the object and the repository named as given) and rendered by `$render`.
macro_rules! held {
    ($ty:ty, $all:ident, |$object:ident, $repo:ident| $held:expr, $render:path) => {
        impl Held for $ty {
            fn all(inner: &Inner) -> &HashMap<u64, Self> {
                &inner.$all
            }

            fn all_mut(inner: &mut Inner) -> &mut HashMap<u64, Self> {
                &mut inner.$all
            }

            fn held_by(&self, $repo: &Repo) -> bool {
                let $object = self;
                $held
            }

            fn render(&self, ctx: &RenderContext<'_>, repo: &Repo) -> Value {
                $render(ctx, repo, self)
            }
        }
    };
}
pub(crate) use held;

/// The repositories with everything in them.
#[derive(Debug, Default)]
pub(crate) struct Store {
    inner: Mutex<Inner>,
}

impl Store {
    /// The whole state, locked for one operation.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().expect("store mutex poisoned")
    }

    /// One deployment, comment or check run, rendered.
    pub(crate) fn get<T: Held>(&self, at: &Scope<'_>, id: u64) -> Result<Value, StoreError> {
        let inner = self.lock();
        let (repo, object) = T::find(&inner, at.repo, id)?;
        Ok(object.render(&at.render, repo))
    }

    /// Changes one object with `change` and renders it. A `change` that
    /// refuses returns the error and leaves the object as it was.
    fn change<T: Held>(
        &self,
        at: &Scope<'_>,
        id: u64,
        change: impl FnOnce(&mut T) -> Result<(), StoreError>,
    ) -> Result<Value, StoreError> {
        let mut inner = self.lock();
        T::find(&inner, at.repo, id)?;
        let object = T::all_mut(&mut inner).get_mut(&id);
        change(object.ok_or(StoreError::NotFound)?)?;
        let (repo, object) = T::find(&inner, at.repo, id)?;
        Ok(object.render(&at.render, repo))
    }

    /// Forgets every repository with its deployments, statuses, pull
    /// requests, comments and check runs.
    pub(crate) fn reset(&self) {
        let mut inner = self.lock();
        inner.repos.clear();
        inner.deployments.clear();
        inner.comments.clear();
        inner.check_runs.clear();
        inner.check_suites.clear();
    }
}

fn repository_url(ctx: &RenderContext<'_>, repo: &Repo) -> String {
    format!("{}/repos/{}/{}", ctx.base_url, repo.owner, repo.name)
}

/// The repository's page, the base of `html_url` fields. The sandbox serves
/// the web pages' URLs under its own base, as it does users' `html_url`.
fn repository_html_url(ctx: &RenderContext<'_>, repo: &Repo) -> String {
    format!("{}/{}/{}", ctx.base_url, repo.owner, repo.name)
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
