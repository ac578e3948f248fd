//! Issue comments on pull requests (GitHub keeps a pull request's
//! conversation on the issue of the same number).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::{
    held, repo_key, repository_html_url, repository_url, Held, Inner, Listed, Repo, RepoName,
    Scope, Store, StoreError,
};
use crate::objects::{node_id, timestamp, Actor, RenderContext};
use crate::pagination::Page;

/// A validated create-comment request.
#[derive(Debug, Clone)]
pub(crate) struct NewComment {
    pub(crate) body: String,
    pub(crate) actor: Actor,
}

/// An issue comment.
#[derive(Debug)]
pub(crate) struct Comment {
    id: u64,
    /// [`RepoName::key`] of the repository, so an id from another repository
    /// is a 404.
    repo_key: String,
    issue_number: u64,
    body: String,
    actor: Actor,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl Store {
    /// Comments on a pull request; `NotFound` for any other number.
    pub(crate) fn create_comment(
        &self,
        at: &Scope<'_>,
        number: u64,
        new: NewComment,
        now: DateTime<Utc>,
    ) -> Result<Value, StoreError> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let key = at.repo.key();
        let repo = inner.repos.get_mut(&key).ok_or(StoreError::NotFound)?;
        let pull = repo.pulls.get_mut(&number).ok_or(StoreError::NotFound)?;
        inner.last_comment_id += 1;
        let comment = Comment {
            id: inner.last_comment_id,
            repo_key: key,
            issue_number: number,
            body: new.body,
            actor: new.actor,
            created_at: now,
            updated_at: now,
        };
        pull.comment_ids.push(comment.id);
        // A new comment bumps the pull request's `updated_at`, as on GitHub.
        pull.updated_at = now;
        let rendered = render_comment(&at.render, repo, &comment);
        inner.comments.insert(comment.id, comment);
        Ok(rendered)
    }

    /// One page of a pull request's comments, oldest first.
    pub(crate) fn list_comments(
        &self,
        at: &Scope<'_>,
        number: u64,
        page: Page,
    ) -> Result<Listed, StoreError> {
        let inner = self.lock();
        let (repo, pull) = inner.pull(at.repo, number)?;
        let ids = &pull.comment_ids;
        let items = ids[page.range(ids.len())]
            .iter()
            .filter_map(|id| inner.comments.get(id))
            .map(|comment| render_comment(&at.render, repo, comment))
            .collect();
        Ok(Listed {
            total: ids.len(),
            items,
        })
    }

    /// Replaces a comment's body; `updated_at` moves, `created_at` stays.
    pub(crate) fn update_comment(
        &self,
        at: &Scope<'_>,
        id: u64,
        body: String,
        now: DateTime<Utc>,
    ) -> Result<Value, StoreError> {
        self.change(at, id, |comment: &mut Comment| {
            comment.body = body;
            comment.updated_at = now;
            Ok(())
        })
    }

    /// Deletes a comment: it leaves its pull request's list and its id names nothing.
    pub(crate) fn delete_comment(&self, repo: &RepoName, id: u64) -> Result<(), StoreError> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        Comment::find(inner, repo, id)?;
        let comment = inner.comments.remove(&id).ok_or(StoreError::NotFound)?;
        let repo = inner
            .repos
            .get_mut(&comment.repo_key)
            .ok_or(StoreError::NotFound)?;
        if let Some(pull) = repo.pulls.get_mut(&comment.issue_number) {
            pull.comment_ids.retain(|c| *c != id);
        }
        Ok(())
    }
}

held!(
    Comment,
    comments,
    |object, repo| object.repo_key == repo_key(&repo.owner, &repo.name),
    render_comment
);

fn render_comment(ctx: &RenderContext<'_>, repo: &Repo, comment: &Comment) -> Value {
    let api = repository_url(ctx, repo);
    let html = repository_html_url(ctx, repo);
    let url = format!("{api}/issues/comments/{}", comment.id);
    json!({
        "url": url,
        "html_url": format!("{html}/pull/{}#issuecomment-{}", comment.issue_number, comment.id),
        "issue_url": format!("{api}/issues/{}", comment.issue_number),
        "id": comment.id,
        "node_id": node_id("IssueComment", comment.id),
        "user": ctx.creator(comment.actor),
        "created_at": timestamp(comment.created_at),
        "updated_at": timestamp(comment.updated_at),
        // Apps' bots are neither members nor collaborators of the repository.
        "author_association": "NONE",
        "body": comment.body,
        "reactions": {
            "url": format!("{url}/reactions"),
            "total_count": 0,
            "+1": 0,
            "-1": 0,
            "laugh": 0,
            "hooray": 0,
            "confused": 0,
            "heart": 0,
            "rocket": 0,
            "eyes": 0,
        },
        "performed_via_github_app": ctx.performed_via(comment.actor),
    })
}
