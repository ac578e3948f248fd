//! Pull requests created through the test controls: the pull request object,
//! its changed files, and the contents of those files at every head the pull
//! request has had.
//!
//! The sandbox knows a repository's files only through the pull requests
//! created in it: the contents of a path at a head SHA are those of the file
//! given with that head, and every other path is missing there.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{
    branch_sha, fake_id, fake_sha, repo_entry, repository_html_url, repository_url, Inner, Listed,
    Repo, RepoName, Scope, Store, StoreError,
};
use crate::objects::{base64_lines, encode_path, merge, node_id, timestamp, user, RenderContext};
use crate::pagination::Page;

/// GitHub lists at most this many files of a pull request, however many
/// changed; the rest are returned by no page.
const MAX_LISTED_FILES: usize = 3000;

/// How a file changed, as the files endpoint reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum FileStatus {
    Added,
    Removed,
    Modified,
    Renamed,
    Copied,
    Changed,
    Unchanged,
}

impl FileStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Added => "added",
            Self::Removed => "removed",
            Self::Modified => "modified",
            Self::Renamed => "renamed",
            Self::Copied => "copied",
            Self::Changed => "changed",
            Self::Unchanged => "unchanged",
        }
    }
}

/// The body of `POST /_sandbox/repos/{owner}/{repo}/pulls`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewPull {
    pub(crate) number: u64,
    pub(crate) base_ref: String,
    pub(crate) head_ref: String,
    /// 40 hex digits.
    pub(crate) head_sha: String,
    /// Defaults to "Pull request #{number}".
    pub(crate) title: Option<String>,
    #[serde(default)]
    pub(crate) files: Vec<NewFile>,
}

/// The body of `PATCH /_sandbox/repos/{owner}/{repo}/pulls/{number}`: every
/// key optional. A new `head_sha` moves the head (keeping the old head's
/// files readable by its SHA); `files` replace the file list of the head.
/// Without `files`, a head moved to a SHA never seen before carries the old head's
/// files over, and one moved back to an earlier head finds that head's files.
/// `state` `closed` closes it (`merged: true` merges it as it closes), `open` reopens one
/// that was closed without merging (GitHub cannot reopen a merged pull request).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PullPatch {
    /// Must match the path's number when given.
    pub(crate) number: Option<u64>,
    pub(crate) base_ref: Option<String>,
    pub(crate) head_ref: Option<String>,
    pub(crate) head_sha: Option<String>,
    pub(crate) title: Option<String>,
    pub(crate) files: Option<Vec<NewFile>>,
    pub(crate) state: Option<PullState>,
    pub(crate) merged: Option<bool>,
}

/// Whether a pull request is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum PullState {
    Open,
    Closed,
}

/// A change of a pull request's state, which GitHub announces as a `pull_request` event of
/// this action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PullTransition {
    Closed,
    Reopened,
}

impl PullTransition {
    /// The event's `action`.
    pub(crate) fn action(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Reopened => "reopened",
        }
    }
}

/// Why a pull request was not updated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum UpdateRefused {
    #[error("no such pull request")]
    NotFound,
    #[error("a merged pull request cannot be reopened")]
    MergedCannotReopen,
}

/// What updating a pull request did: the pull request, its repository (both rendered), and
/// the state change it made, if any.
pub(crate) struct PullUpdate {
    pub(crate) pull: Value,
    pub(crate) repository: Value,
    pub(crate) transition: Option<PullTransition>,
}

/// One changed file at a pull request's head.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewFile {
    pub(crate) filename: String,
    pub(crate) status: FileStatus,
    /// The file's text at the head: required to be absent for removed files;
    /// a file given without it reads as empty.
    pub(crate) content: Option<String>,
    /// Required for renamed files, allowed for copied ones.
    pub(crate) previous_filename: Option<String>,
    /// By default an added file counts its lines as additions; every other
    /// count defaults to 0.
    pub(crate) additions: Option<u64>,
    pub(crate) deletions: Option<u64>,
    /// By default only added files with content have a patch (all lines added).
    pub(crate) patch: Option<String>,
}

/// Why a pull request sent to the test controls was refused (answered 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PullError {
    #[error("number must be at least 1")]
    ZeroNumber,
    #[error("number {body} in the body does not match {path} in the path")]
    NumberMismatch { body: u64, path: u64 },
    #[error("{0} must not be empty")]
    Empty(&'static str),
    #[error("head_sha must be 40 hex digits, not {0:?}")]
    BadSha(String),
    #[error("file name {0:?} is not a relative path without empty, '.' or '..' segments")]
    BadFilename(String),
    #[error("file {0:?} is listed twice")]
    DuplicateFile(String),
    #[error("removed file {0:?} cannot have content")]
    RemovedWithContent(String),
    #[error("renamed file {0:?} needs previous_filename")]
    RenameWithoutPrevious(String),
    #[error("previous_filename is only for renamed and copied files, not {0:?}")]
    UnexpectedPrevious(String),
    #[error("merged: true needs state: closed (a pull request is merged as it closes)")]
    MergedWithoutClosing,
}

impl NewPull {
    pub(crate) fn check(&self) -> Result<(), PullError> {
        if self.number == 0 {
            return Err(PullError::ZeroNumber);
        }
        check_ref("base_ref", &self.base_ref)?;
        check_ref("head_ref", &self.head_ref)?;
        check_sha(&self.head_sha)?;
        check_files(&self.files)
    }
}

impl PullPatch {
    pub(crate) fn check(&self, number: u64) -> Result<(), PullError> {
        if let Some(body) = self.number.filter(|body| *body != number) {
            return Err(PullError::NumberMismatch { body, path: number });
        }
        if let Some(base_ref) = &self.base_ref {
            check_ref("base_ref", base_ref)?;
        }
        if let Some(head_ref) = &self.head_ref {
            check_ref("head_ref", head_ref)?;
        }
        if let Some(sha) = &self.head_sha {
            check_sha(sha)?;
        }
        if self.merged == Some(true) && self.state != Some(PullState::Closed) {
            return Err(PullError::MergedWithoutClosing);
        }
        self.files.as_deref().map_or(Ok(()), check_files)
    }
}

fn check_ref(field: &'static str, value: &str) -> Result<(), PullError> {
    if value.trim().is_empty() {
        return Err(PullError::Empty(field));
    }
    Ok(())
}

fn check_sha(sha: &str) -> Result<(), PullError> {
    if sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(PullError::BadSha(sha.to_owned()))
    }
}

fn check_files(files: &[NewFile]) -> Result<(), PullError> {
    let mut seen = HashSet::new();
    for file in files {
        let name = &file.filename;
        let valid = !name.is_empty()
            && name
                .split('/')
                .all(|segment| !matches!(segment, "" | "." | ".."));
        if !valid {
            return Err(PullError::BadFilename(name.clone()));
        }
        if !seen.insert(name.as_str()) {
            return Err(PullError::DuplicateFile(name.clone()));
        }
        match file.status {
            FileStatus::Removed if file.content.is_some() => {
                return Err(PullError::RemovedWithContent(name.clone()));
            }
            FileStatus::Renamed if file.previous_filename.is_none() => {
                return Err(PullError::RenameWithoutPrevious(name.clone()));
            }
            FileStatus::Renamed | FileStatus::Copied => {}
            _ if file.previous_filename.is_some() => {
                return Err(PullError::UnexpectedPrevious(name.clone()));
            }
            _ => {}
        }
    }
    Ok(())
}

/// A pull request.
#[derive(Debug)]
pub(super) struct Pull {
    id: u64,
    number: u64,
    title: String,
    pub(super) base_ref: String,
    pub(super) base_sha: String,
    pub(super) head_ref: String,
    pub(super) head_sha: String,
    created_at: DateTime<Utc>,
    pub(super) updated_at: DateTime<Utc>,
    /// One, plus one per head move: the sandbox's stand-in for a commit count.
    commits: u64,
    /// Ascending. Comments belong to the number, so replacing the pull
    /// request keeps them.
    pub(super) comment_ids: Vec<u64>,
    /// When this pull request was last created or updated, in
    /// [`super::Inner::last_move`] ticks: the latest one wins a branch name
    /// two pull requests share.
    pub(super) moved: u64,
    /// When it was closed; `None` while open.
    closed_at: Option<DateTime<Utc>>,
    /// When it was merged (as it closed).
    merged_at: Option<DateTime<Utc>>,
}

/// The changed files of one head SHA.
#[derive(Debug, Clone)]
pub(super) struct Snapshot {
    /// In the order given, which is the order the files endpoint lists them.
    files: Vec<ChangedFile>,
    /// Index into `files` by file name.
    by_name: HashMap<String, usize>,
    /// When these files were given: the sandbox's stand-in for the date of the commit that
    /// last touched them, which GitHub sends as the contents' `Last-Modified`.
    given_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
struct ChangedFile {
    filename: String,
    status: FileStatus,
    previous_filename: Option<String>,
    /// Empty for removed files.
    content: String,
    /// The blob SHA of `content` (derived like the sandbox's other SHAs, not
    /// git's hash), so equal contents share a SHA as in git.
    sha: String,
    additions: u64,
    deletions: u64,
    patch: Option<String>,
}

impl Snapshot {
    fn new(head_sha: &str, files: Vec<NewFile>, given_at: DateTime<Utc>) -> Self {
        let files: Vec<ChangedFile> = files
            .into_iter()
            .map(|file| ChangedFile::new(head_sha, file))
            .collect();
        let by_name = files
            .iter()
            .enumerate()
            .map(|(index, file)| (file.filename.clone(), index))
            .collect();
        Self {
            files,
            by_name,
            given_at,
        }
    }

    /// The file at `path` if it exists at this head.
    fn present(&self, path: &str) -> Option<&ChangedFile> {
        let file = &self.files[*self.by_name.get(path)?];
        (file.status != FileStatus::Removed).then_some(file)
    }

    /// Additions, deletions and changed files over every file (not only the
    /// first 3000 the files endpoint lists).
    fn totals(&self) -> (u64, u64, usize) {
        let additions = self.files.iter().map(|f| f.additions).sum();
        let deletions = self.files.iter().map(|f| f.deletions).sum();
        (additions, deletions, self.files.len())
    }
}

impl ChangedFile {
    fn new(head_sha: &str, file: NewFile) -> Self {
        let content = file.content.unwrap_or_default();
        let sha = if file.status == FileStatus::Removed {
            // The blob that was removed is unknown; any stable SHA will do.
            fake_sha(&format!("removed:{head_sha}:{}", file.filename))
        } else {
            fake_sha(&format!("blob:{content}"))
        };
        let added = file.status == FileStatus::Added;
        let line_count = u64::try_from(content.lines().count()).unwrap_or(u64::MAX);
        let additions = file.additions.unwrap_or(if added { line_count } else { 0 });
        let patch = file
            .patch
            .or_else(|| (added && !content.is_empty()).then(|| added_file_patch(&content)));
        Self {
            filename: file.filename,
            status: file.status,
            previous_filename: file.previous_filename,
            content,
            sha,
            additions,
            deletions: file.deletions.unwrap_or(0),
            patch,
        }
    }
}

/// The unified diff GitHub shows for a new file: every line added.
fn added_file_patch(content: &str) -> String {
    let lines: Vec<String> = content.lines().map(|line| format!("+{line}")).collect();
    let mut patch = format!("@@ -0,0 +1,{} @@\n{}", lines.len(), lines.join("\n"));
    if !content.ends_with('\n') {
        patch.push_str("\n\\ No newline at end of file");
    }
    patch
}

impl Store {
    /// Creates a pull request, replacing one with the same number (which keeps
    /// its id, creation time and comments).
    pub(crate) fn create_pull(&self, at: &Scope<'_>, new: NewPull, now: DateTime<Utc>) -> Value {
        let mut guard = self.lock();
        let inner = &mut *guard;
        inner.last_move += 1;
        let repo = repo_entry(&mut inner.repos, &mut inner.last_repo_id, at.repo, now);
        let head_sha = new.head_sha.to_ascii_lowercase();
        let base_sha = base_sha(repo, &new.base_ref);
        let (id, created_at, comment_ids) = match repo.pulls.remove(&new.number) {
            Some(old) => (old.id, old.created_at, old.comment_ids),
            None => {
                inner.last_pull_id += 1;
                (inner.last_pull_id, now, Vec::new())
            }
        };
        repo.heads
            .insert(head_sha.clone(), Snapshot::new(&head_sha, new.files, now));
        repo.latest_head = Some(head_sha.clone());
        let pull = Pull {
            id,
            number: new.number,
            title: new
                .title
                .unwrap_or_else(|| format!("Pull request #{}", new.number)),
            base_ref: new.base_ref,
            base_sha,
            head_ref: new.head_ref,
            head_sha,
            created_at,
            updated_at: now,
            commits: 1,
            comment_ids,
            moved: inner.last_move,
            closed_at: None,
            merged_at: None,
        };
        let number = pull.number;
        repo.pulls.insert(number, pull);
        render_pull(&at.render, repo, &repo.pulls[&number])
    }

    /// Updates a pull request; see [`PullPatch`]. Refuses to reopen a merged one.
    pub(crate) fn update_pull(
        &self,
        at: &Scope<'_>,
        number: u64,
        patch: PullPatch,
        now: DateTime<Utc>,
    ) -> Result<PullUpdate, UpdateRefused> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let repo = inner
            .repos
            .get_mut(&at.repo.key())
            .ok_or(UpdateRefused::NotFound)?;
        let base = patch
            .base_ref
            .map(|base_ref| (base_sha(repo, &base_ref), base_ref));
        let pull = repo.pulls.get_mut(&number).ok_or(UpdateRefused::NotFound)?;
        let transition = match (patch.state, pull.closed_at) {
            (Some(PullState::Closed), None) => Some(PullTransition::Closed),
            (Some(PullState::Open), Some(_)) if pull.merged_at.is_some() => {
                return Err(UpdateRefused::MergedCannotReopen)
            }
            (Some(PullState::Open), Some(_)) => Some(PullTransition::Reopened),
            _ => None,
        };
        let new_head = patch
            .head_sha
            .map(|sha| sha.to_ascii_lowercase())
            .filter(|sha| *sha != pull.head_sha);
        let snapshot = match (patch.files, &new_head) {
            (Some(files), _) => {
                let head = new_head.as_deref().unwrap_or(&pull.head_sha);
                Some(Snapshot::new(head, files, now))
            }
            // A head seen before keeps its files, as a commit does in git;
            // a new one starts with the files of the head it replaces.
            (None, Some(head)) if !repo.heads.contains_key(head) => {
                repo.heads.get(&pull.head_sha).cloned()
            }
            (None, _) => None,
        };
        if let Some((base_sha, base_ref)) = base {
            pull.base_ref = base_ref;
            pull.base_sha = base_sha;
        }
        if let Some(head_ref) = patch.head_ref {
            pull.head_ref = head_ref;
        }
        if let Some(title) = patch.title {
            pull.title = title;
        }
        if let Some(head_sha) = new_head {
            pull.head_sha = head_sha;
            pull.commits += 1;
        }
        if let Some(snapshot) = snapshot {
            repo.heads.insert(pull.head_sha.clone(), snapshot);
        }
        match transition {
            Some(PullTransition::Closed) => {
                pull.closed_at = Some(now);
                pull.merged_at = patch.merged.unwrap_or(false).then_some(now);
            }
            Some(PullTransition::Reopened) => pull.closed_at = None,
            None => {}
        }
        inner.last_move += 1;
        pull.moved = inner.last_move;
        pull.updated_at = now;
        repo.latest_head = Some(pull.head_sha.clone());
        let pull = &repo.pulls[&number];
        Ok(PullUpdate {
            pull: render_pull(&at.render, repo, pull),
            repository: render_repository(&at.render, repo),
            transition,
        })
    }

    /// `GET /repos/{owner}/{repo}/pulls/{number}`
    pub(crate) fn get_pull(&self, at: &Scope<'_>, number: u64) -> Result<Value, StoreError> {
        let inner = self.lock();
        let (repo, pull) = inner.pull(at.repo, number)?;
        Ok(render_pull(&at.render, repo, pull))
    }

    /// One page of the files changed at a pull request's head, capped at
    /// GitHub's 3000.
    pub(crate) fn list_pull_files(
        &self,
        at: &Scope<'_>,
        number: u64,
        page: Page,
    ) -> Result<Listed, StoreError> {
        let inner = self.lock();
        let (repo, pull) = inner.pull(at.repo, number)?;
        let files = repo
            .heads
            .get(&pull.head_sha)
            .map_or(&[][..], |snapshot| &snapshot.files[..]);
        let listed = &files[..files.len().min(MAX_LISTED_FILES)];
        Ok(Listed::page(listed, page, |file| {
            render_file(&at.render, repo, &pull.head_sha, file)
        }))
    }

    /// The contents object of the file at `path` at `git_ref`, with when its files were
    /// given; without a ref, at the head most recently created or updated in the repository.
    /// `NoCommitForRef` when the ref names no commit; `NotFound` when the file is
    /// missing or removed there.
    pub(crate) fn get_contents(
        &self,
        at: &Scope<'_>,
        path: &str,
        git_ref: Option<&str>,
    ) -> Result<(Value, DateTime<Utc>), StoreError> {
        let inner = self.lock();
        let (shown_ref, sha) = match git_ref {
            Some(git_ref) => {
                let sha = inner
                    .resolve(at.repo, git_ref)
                    .ok_or_else(|| StoreError::NoCommitForRef(git_ref.to_owned()))?;
                (git_ref.to_owned(), sha)
            }
            None => {
                let sha = inner
                    .repo(at.repo)?
                    .latest_head
                    .clone()
                    .ok_or(StoreError::NotFound)?;
                (sha.clone(), sha)
            }
        };
        let repo = inner.repo(at.repo)?;
        let snapshot = repo.heads.get(&sha).ok_or(StoreError::NotFound)?;
        let file = snapshot.present(path).ok_or(StoreError::NotFound)?;
        Ok((
            render_contents(&at.render, repo, &shown_ref, file),
            snapshot.given_at,
        ))
    }
}

impl Inner {
    /// Pull request `number` with its repository.
    pub(super) fn pull(&self, repo: &RepoName, number: u64) -> Result<(&Repo, &Pull), StoreError> {
        let repo = self.repo(repo)?;
        let pull = repo.pulls.get(&number).ok_or(StoreError::NotFound)?;
        Ok((repo, pull))
    }
}

/// The SHA of a base branch: another pull request's head when the branch is
/// one (stacked pull requests), else the branch's fixed head.
fn base_sha(repo: &Repo, base_ref: &str) -> String {
    repo.resolve(base_ref)
        .unwrap_or_else(|| branch_sha(&repo.owner, &repo.name, base_ref))
}

fn render_pull(ctx: &RenderContext<'_>, repo: &Repo, pull: &Pull) -> Value {
    let api = repository_url(ctx, repo);
    let html = repository_html_url(ctx, repo);
    let number = pull.number;
    let url = format!("{api}/pulls/{number}");
    let html_url = format!("{html}/pull/{number}");
    let issue_url = format!("{api}/issues/{number}");
    let comments_url = format!("{issue_url}/comments");
    let review_comments_url = format!("{url}/comments");
    let review_comment_url = format!("{api}/pulls/comments{{/number}}");
    let commits_url = format!("{url}/commits");
    let statuses_url = format!("{api}/statuses/{}", pull.head_sha);
    let (additions, deletions, changed_files) = repo
        .heads
        .get(&pull.head_sha)
        .map_or((0, 0, 0), Snapshot::totals);
    let owner = owner_user(ctx, repo);
    let repository = render_repository(ctx, repo);
    let branch = |git_ref: &str, sha: &str| {
        json!({
            "label": format!("{}:{git_ref}", repo.owner),
            "ref": git_ref,
            "sha": sha,
            "user": owner,
            "repo": repository,
        })
    };
    let link = |href: &str| json!({ "href": href });
    let identity = json!({
        "url": url,
        "id": pull.id,
        "node_id": node_id("PullRequest", pull.id),
        "html_url": html_url,
        "diff_url": format!("{html_url}.diff"),
        "patch_url": format!("{html_url}.patch"),
        "issue_url": issue_url,
        "number": number,
        "state": if pull.closed_at.is_some() { "closed" } else { "open" },
        "locked": false,
        "title": pull.title,
        "user": owner,
        "body": null,
        "created_at": timestamp(pull.created_at),
        "updated_at": timestamp(pull.updated_at),
        "closed_at": pull.closed_at.map(timestamp),
        "merged_at": pull.merged_at.map(timestamp),
        "merge_commit_sha": null,
        "assignee": null,
        "assignees": [],
        "requested_reviewers": [],
        "requested_teams": [],
        "labels": [],
        "milestone": null,
        "draft": false,
        "commits_url": commits_url,
        "review_comments_url": review_comments_url,
        "review_comment_url": review_comment_url,
        "comments_url": comments_url,
        "statuses_url": statuses_url,
        "head": branch(&pull.head_ref, &pull.head_sha),
        "base": branch(&pull.base_ref, &pull.base_sha),
        "_links": {
            "self": link(&url),
            "html": link(&html_url),
            "issue": link(&issue_url),
            "comments": link(&comments_url),
            "review_comments": link(&review_comments_url),
            "review_comment": link(&review_comment_url),
            "commits": link(&commits_url),
            "statuses": link(&statuses_url),
        },
    });
    let state = json!({
        "author_association": "OWNER",
        "auto_merge": null,
        "active_lock_reason": null,
        "merged": pull.merged_at.is_some(),
        "mergeable": true,
        "rebaseable": true,
        "mergeable_state": "clean",
        "merged_by": if pull.merged_at.is_some() { owner.clone() } else { Value::Null },
        "comments": pull.comment_ids.len(),
        "review_comments": 0,
        "maintainer_can_modify": false,
        "commits": pull.commits,
        "additions": additions,
        "deletions": deletions,
        "changed_files": changed_files,
    });
    merge(identity, state)
}

/// The user that owns a repository and authors its pull requests.
fn owner_user(ctx: &RenderContext<'_>, repo: &Repo) -> Value {
    user(
        ctx.base_url,
        &repo.owner,
        fake_id(&format!("user:{}", repo.owner.to_ascii_lowercase())),
        "User",
    )
}

/// The full repository object, as in a pull request's `head.repo` and
/// `base.repo`.
pub(super) fn render_repository(ctx: &RenderContext<'_>, repo: &Repo) -> Value {
    let api = repository_url(ctx, repo);
    let html = repository_html_url(ctx, repo);
    let host = ctx
        .base_url
        .split_once("://")
        .map_or(ctx.base_url, |(_, host)| host);
    let full_name = format!("{}/{}", repo.owner, repo.name);
    let created_at = timestamp(repo.created_at);
    let open_pulls = repo.pulls.len();
    let mut lite = json!({
        "id": repo.id,
        "node_id": node_id("Repository", repo.id),
        "name": repo.name,
        "full_name": full_name,
        "private": false,
        "owner": owner_user(ctx, repo),
        "html_url": html,
        "description": null,
        "fork": false,
        "url": api,
    });
    let urls = [
        ("forks_url", format!("{api}/forks")),
        ("keys_url", format!("{api}/keys{{/key_id}}")),
        (
            "collaborators_url",
            format!("{api}/collaborators{{/collaborator}}"),
        ),
        ("teams_url", format!("{api}/teams")),
        ("hooks_url", format!("{api}/hooks")),
        (
            "issue_events_url",
            format!("{api}/issues/events{{/number}}"),
        ),
        ("events_url", format!("{api}/events")),
        ("assignees_url", format!("{api}/assignees{{/user}}")),
        ("branches_url", format!("{api}/branches{{/branch}}")),
        ("tags_url", format!("{api}/tags")),
        ("blobs_url", format!("{api}/git/blobs{{/sha}}")),
        ("git_tags_url", format!("{api}/git/tags{{/sha}}")),
        ("git_refs_url", format!("{api}/git/refs{{/sha}}")),
        ("trees_url", format!("{api}/git/trees{{/sha}}")),
        ("statuses_url", format!("{api}/statuses/{{sha}}")),
        ("languages_url", format!("{api}/languages")),
        ("stargazers_url", format!("{api}/stargazers")),
        ("contributors_url", format!("{api}/contributors")),
        ("subscribers_url", format!("{api}/subscribers")),
        ("subscription_url", format!("{api}/subscription")),
        ("commits_url", format!("{api}/commits{{/sha}}")),
        ("git_commits_url", format!("{api}/git/commits{{/sha}}")),
        ("comments_url", format!("{api}/comments{{/number}}")),
        (
            "issue_comment_url",
            format!("{api}/issues/comments{{/number}}"),
        ),
        ("contents_url", format!("{api}/contents/{{+path}}")),
        ("compare_url", format!("{api}/compare/{{base}}...{{head}}")),
        ("merges_url", format!("{api}/merges")),
        ("archive_url", format!("{api}/{{archive_format}}{{/ref}}")),
        ("downloads_url", format!("{api}/downloads")),
        ("issues_url", format!("{api}/issues{{/number}}")),
        ("pulls_url", format!("{api}/pulls{{/number}}")),
        ("milestones_url", format!("{api}/milestones{{/number}}")),
        (
            "notifications_url",
            format!("{api}/notifications{{?since,all,participating}}"),
        ),
        ("labels_url", format!("{api}/labels{{/name}}")),
        ("releases_url", format!("{api}/releases{{/id}}")),
        ("deployments_url", format!("{api}/deployments")),
    ];
    if let Some(object) = lite.as_object_mut() {
        for (key, url) in urls {
            object.insert(key.to_owned(), Value::String(url));
        }
    }
    // What the full repository object adds to the "lite" one above.
    let full = json!({
        "created_at": created_at,
        "updated_at": created_at,
        "pushed_at": created_at,
        "git_url": format!("git://{host}/{full_name}.git"),
        "ssh_url": format!("git@{host}:{full_name}.git"),
        "clone_url": format!("{html}.git"),
        "svn_url": html,
        "homepage": null,
        "size": 0,
        "stargazers_count": 0,
        "watchers_count": 0,
        "language": null,
        "has_issues": true,
        "has_projects": true,
        "has_downloads": true,
        "has_wiki": true,
        "has_pages": false,
        "has_discussions": false,
        "forks_count": 0,
        "mirror_url": null,
        "archived": false,
        "disabled": false,
        "open_issues_count": open_pulls,
        "license": null,
        "allow_forking": true,
        "is_template": false,
        "web_commit_signoff_required": false,
        "topics": [],
        "visibility": "public",
        "forks": 0,
        "open_issues": open_pulls,
        "watchers": 0,
        "default_branch": "main",
    });
    merge(lite, full)
}

/// The minimal pull request object of a check run's `pull_requests`.
pub(super) fn render_pull_minimal(ctx: &RenderContext<'_>, repo: &Repo, pull: &Pull) -> Value {
    let api = repository_url(ctx, repo);
    let repository = json!({"id": repo.id, "url": api, "name": repo.name});
    json!({
        "url": format!("{api}/pulls/{}", pull.number),
        "id": pull.id,
        "number": pull.number,
        "head": {"ref": pull.head_ref, "sha": pull.head_sha, "repo": repository},
        "base": {"ref": pull.base_ref, "sha": pull.base_sha, "repo": repository},
    })
}

fn render_file(ctx: &RenderContext<'_>, repo: &Repo, head_sha: &str, file: &ChangedFile) -> Value {
    let api = repository_url(ctx, repo);
    let html = repository_html_url(ctx, repo);
    let path = encode_path(&file.filename);
    let mut object = Map::new();
    object.insert("sha".into(), json!(file.sha));
    object.insert("filename".into(), json!(file.filename));
    object.insert("status".into(), json!(file.status.as_str()));
    object.insert("additions".into(), json!(file.additions));
    object.insert("deletions".into(), json!(file.deletions));
    object.insert(
        "changes".into(),
        json!(file.additions.saturating_add(file.deletions)),
    );
    object.insert(
        "blob_url".into(),
        json!(format!("{html}/blob/{head_sha}/{path}")),
    );
    object.insert(
        "raw_url".into(),
        json!(format!("{html}/raw/{head_sha}/{path}")),
    );
    object.insert(
        "contents_url".into(),
        json!(format!("{api}/contents/{path}?ref={head_sha}")),
    );
    // GitHub leaves `patch` out for binary files and very large diffs.
    if let Some(patch) = &file.patch {
        object.insert("patch".into(), json!(patch));
    }
    if let Some(previous) = &file.previous_filename {
        object.insert("previous_filename".into(), json!(previous));
    }
    Value::Object(object)
}

fn render_contents(
    ctx: &RenderContext<'_>,
    repo: &Repo,
    git_ref: &str,
    file: &ChangedFile,
) -> Value {
    let api = repository_url(ctx, repo);
    let html = repository_html_url(ctx, repo);
    let path = encode_path(&file.filename);
    let query_ref: String = url::form_urlencoded::byte_serialize(git_ref.as_bytes()).collect();
    let url = format!("{api}/contents/{path}?ref={query_ref}");
    let git_url = format!("{api}/git/blobs/{}", file.sha);
    let html_url = format!("{html}/blob/{}/{path}", encode_path(git_ref));
    let name = file.filename.rsplit('/').next().unwrap_or(&file.filename);
    json!({
        "type": "file",
        "encoding": "base64",
        "size": file.content.len(),
        "name": name,
        "path": file.filename,
        "content": base64_lines(file.content.as_bytes()),
        "sha": file.sha,
        "url": url,
        "git_url": git_url,
        "html_url": html_url,
        "download_url": format!("{html}/raw/{}/{path}", encode_path(git_ref)),
        "_links": {"self": url, "git": git_url, "html": html_url},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(filename: &str, status: FileStatus) -> NewFile {
        NewFile {
            filename: filename.to_owned(),
            status,
            content: None,
            previous_filename: None,
            additions: None,
            deletions: None,
            patch: None,
        }
    }

    #[test]
    fn pull_inputs_are_checked() {
        let removed_with_content = NewFile {
            content: Some("x".into()),
            ..file("a", FileStatus::Removed)
        };
        let modified_with_previous = NewFile {
            previous_filename: Some("b".into()),
            ..file("a", FileStatus::Modified)
        };
        let cases = [
            (vec![file("a/b.txt", FileStatus::Added)], None),
            (
                vec![
                    file("a", FileStatus::Added),
                    file("a", FileStatus::Modified),
                ],
                Some(PullError::DuplicateFile("a".into())),
            ),
            (
                vec![file("/abs", FileStatus::Added)],
                Some(PullError::BadFilename("/abs".into())),
            ),
            (
                vec![file("a/../b", FileStatus::Added)],
                Some(PullError::BadFilename("a/../b".into())),
            ),
            (
                vec![removed_with_content],
                Some(PullError::RemovedWithContent("a".into())),
            ),
            (
                vec![file("a", FileStatus::Renamed)],
                Some(PullError::RenameWithoutPrevious("a".into())),
            ),
            (
                vec![modified_with_previous],
                Some(PullError::UnexpectedPrevious("a".into())),
            ),
        ];
        for (files, expected) in cases {
            assert_eq!(check_files(&files).err(), expected, "{files:?}");
        }
        assert!(check_sha("0123456789abcdef0123456789ABCDEF01234567").is_ok());
        assert!(check_sha("0123456").is_err());
    }

    #[test]
    fn added_files_count_lines_and_get_a_patch() {
        let added = NewFile {
            content: Some("one\ntwo\n".into()),
            ..file("a.txt", FileStatus::Added)
        };
        let changed = ChangedFile::new("h", added);
        assert_eq!((changed.additions, changed.deletions), (2, 0));
        assert_eq!(
            changed.patch.as_deref(),
            Some("@@ -0,0 +1,2 @@\n+one\n+two")
        );
        assert_eq!(
            added_file_patch("last"),
            "@@ -0,0 +1,1 @@\n+last\n\\ No newline at end of file"
        );
        let modified = ChangedFile::new(
            "h",
            NewFile {
                content: Some("x".into()),
                ..file("b", FileStatus::Modified)
            },
        );
        assert_eq!((modified.additions, modified.patch), (0, None));
    }
}
