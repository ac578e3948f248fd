//! Check runs: created and updated by Apps on a commit, listed per ref, with
//! annotations that accumulate across updates as on GitHub.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::pulls::render_pull_minimal;
use super::{
    held, is_commit_ref, repo_entry, repository_html_url, repository_url, Held, Inner, Listed,
    Repo, Scope, Store, StoreError,
};
use crate::objects::{encode_path, node_id, timestamp, Actor, RenderContext};
use crate::pagination::Page;

/// Defines a string enum of a check run field with its parser and names.
macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum $name {
            $($variant),+
        }

        impl $name {
            /// Every accepted value, in GitHub's documented order.
            pub(crate) const NAMES: &'static [&'static str] = &[$($text),+];

            pub(crate) fn parse(s: &str) -> Option<Self> {
                match s {
                    $($text => Some(Self::$variant),)+
                    _ => None,
                }
            }

            pub(crate) fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }
        }
    };
}

string_enum!(
    /// The statuses an App may set (`waiting`, `requested` and `pending` are
    /// reserved for GitHub Actions).
    CheckStatus {
        Queued = "queued",
        InProgress = "in_progress",
        Completed = "completed",
    }
);

string_enum!(
    /// How a completed check run ended.
    Conclusion {
        ActionRequired = "action_required",
        Cancelled = "cancelled",
        Failure = "failure",
        Neutral = "neutral",
        Success = "success",
        Skipped = "skipped",
        Stale = "stale",
        TimedOut = "timed_out",
    }
);

string_enum!(
    /// The severity of an annotation.
    AnnotationLevel {
        Notice = "notice",
        Warning = "warning",
        Failure = "failure",
    }
);

/// A validated annotation.
#[derive(Debug, Clone)]
pub(crate) struct Annotation {
    pub(crate) path: String,
    pub(crate) start_line: u64,
    pub(crate) end_line: u64,
    pub(crate) start_column: Option<u64>,
    pub(crate) end_column: Option<u64>,
    pub(crate) annotation_level: AnnotationLevel,
    pub(crate) message: String,
    pub(crate) title: Option<String>,
    pub(crate) raw_details: Option<String>,
}

/// A validated `output`. On update, absent texts keep their values.
#[derive(Debug, Clone, Default)]
pub(crate) struct OutputInput {
    pub(crate) title: Option<String>,
    pub(crate) summary: Option<String>,
    pub(crate) text: Option<String>,
    /// Appended to the run's annotations, never replacing them.
    pub(crate) annotations: Vec<Annotation>,
}

/// The fields create and update requests share; on update, absent fields
/// keep their values.
#[derive(Debug, Clone, Default)]
pub(crate) struct CheckRunFields {
    pub(crate) details_url: Option<String>,
    pub(crate) external_id: Option<String>,
    pub(crate) status: Option<CheckStatus>,
    pub(crate) conclusion: Option<Conclusion>,
    pub(crate) started_at: Option<DateTime<Utc>>,
    pub(crate) completed_at: Option<DateTime<Utc>>,
    pub(crate) output: Option<OutputInput>,
}

/// A validated create-check-run request.
#[derive(Debug, Clone)]
pub(crate) struct NewCheckRun {
    pub(crate) name: String,
    /// As requested: 7 to 40 hex digits, resolved by the store.
    pub(crate) head_sha: String,
    /// The App of the installation token that creates the run.
    pub(crate) app_id: u64,
    pub(crate) fields: CheckRunFields,
}

/// A validated update-check-run request.
#[derive(Debug, Clone, Default)]
pub(crate) struct CheckRunUpdate {
    pub(crate) name: Option<String>,
    pub(crate) fields: CheckRunFields,
}

/// Filters of the list-check-runs-for-a-ref endpoint.
#[derive(Debug, Clone, Default)]
pub(crate) struct CheckRunFilter {
    pub(crate) check_name: Option<String>,
    pub(crate) status: Option<CheckStatus>,
    pub(crate) app_id: Option<u64>,
    /// `filter=all` turns this off; by default only the newest run of each
    /// name (per App) is listed, as on GitHub.
    pub(crate) all: bool,
}

/// A check run with its annotations.
#[derive(Debug)]
pub(crate) struct CheckRun {
    id: u64,
    head_sha: String,
    name: String,
    app_id: u64,
    suite_id: u64,
    details_url: Option<String>,
    external_id: Option<String>,
    status: CheckStatus,
    conclusion: Option<Conclusion>,
    started_at: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
    title: Option<String>,
    summary: Option<String>,
    text: Option<String>,
    annotations: Vec<Annotation>,
}

impl CheckRun {
    /// Applies a create or update by GitHub's rules: a conclusion or a
    /// completion time completes the run, a completed run needs a conclusion,
    /// leaving `completed` clears both, output texts replace and annotations
    /// append. Nothing changes when the request is refused.
    fn apply(&mut self, fields: CheckRunFields, now: DateTime<Utc>) -> Result<(), StoreError> {
        let completes = fields.conclusion.is_some() || fields.completed_at.is_some();
        let status = if completes {
            CheckStatus::Completed
        } else {
            fields.status.unwrap_or(self.status)
        };
        let (conclusion, completed_at) = if status == CheckStatus::Completed {
            let conclusion = fields
                .conclusion
                .or(self.conclusion)
                .ok_or(StoreError::ConclusionRequired)?;
            let completed_at = fields.completed_at.or(self.completed_at).unwrap_or(now);
            (Some(conclusion), Some(completed_at))
        } else {
            (None, None)
        };
        self.status = status;
        self.conclusion = conclusion;
        self.completed_at = completed_at;
        if let Some(started_at) = fields.started_at {
            self.started_at = started_at;
        }
        if let Some(details_url) = fields.details_url {
            self.details_url = Some(details_url);
        }
        if let Some(external_id) = fields.external_id {
            self.external_id = Some(external_id);
        }
        if let Some(output) = fields.output {
            self.title = output.title.or(self.title.take());
            self.summary = output.summary.or(self.summary.take());
            self.text = output.text.or(self.text.take());
            self.annotations.extend(output.annotations);
        }
        Ok(())
    }
}

impl Store {
    /// Creates a check run on a commit, creating the repository on first use.
    pub(crate) fn create_check_run(
        &self,
        at: &Scope<'_>,
        new: NewCheckRun,
        now: DateTime<Utc>,
    ) -> Result<Value, StoreError> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        // `head_sha` must be a commit; branch names are refused, as on GitHub.
        let head_sha = Some(&new.head_sha)
            .filter(|sha| is_commit_ref(sha))
            .and_then(|sha| inner.resolve(at.repo, sha))
            .ok_or_else(|| StoreError::NoCommitForSha(new.head_sha.clone()))?;
        let suite_key = (at.repo.key(), head_sha.clone(), new.app_id);
        let mut run = CheckRun {
            id: inner.last_check_run_id + 1,
            head_sha,
            name: new.name,
            app_id: new.app_id,
            // Set below, once the request is known to succeed.
            suite_id: 0,
            details_url: None,
            external_id: None,
            status: CheckStatus::Queued,
            conclusion: None,
            started_at: now,
            completed_at: None,
            title: None,
            summary: None,
            text: None,
            annotations: Vec::new(),
        };
        run.apply(new.fields, now)?;
        // Ids are taken only once the request is known to succeed.
        inner.last_check_run_id = run.id;
        run.suite_id = *inner.check_suites.entry(suite_key).or_insert_with(|| {
            inner.last_check_suite_id += 1;
            inner.last_check_suite_id
        });
        let repo = repo_entry(&mut inner.repos, &mut inner.last_repo_id, at.repo, now);
        repo.check_run_ids.push(run.id);
        let rendered = render_check_run(&at.render, repo, &run);
        inner.check_runs.insert(run.id, run);
        Ok(rendered)
    }

    /// Updates a check run; see [`CheckRun::apply`].
    pub(crate) fn update_check_run(
        &self,
        at: &Scope<'_>,
        id: u64,
        update: CheckRunUpdate,
        now: DateTime<Utc>,
    ) -> Result<Value, StoreError> {
        self.change(at, id, |run: &mut CheckRun| {
            run.apply(update.fields, now)?;
            if let Some(new_name) = update.name {
                run.name = new_name;
            }
            Ok(())
        })
    }

    /// The check runs of the commit `git_ref` names, newest first, and their
    /// total before paging.
    pub(crate) fn list_check_runs(
        &self,
        at: &Scope<'_>,
        git_ref: &str,
        filter: &CheckRunFilter,
        page: Page,
    ) -> Result<Listed, StoreError> {
        let inner = self.lock();
        let sha = inner
            .resolve(at.repo, git_ref)
            .ok_or_else(|| StoreError::NoCommitForSha(git_ref.to_owned()))?;
        let Ok(repo) = inner.repo(at.repo) else {
            return Ok(Listed::default());
        };
        let mut runs: Vec<&CheckRun> = repo
            .check_run_ids
            .iter()
            .rev()
            .filter_map(|id| inner.check_runs.get(id))
            .filter(|run| {
                run.head_sha == sha
                    && filter.check_name.as_deref().is_none_or(|n| run.name == n)
                    && filter.app_id.is_none_or(|app_id| run.app_id == app_id)
            })
            .collect();
        if !filter.all {
            let mut seen = HashSet::new();
            runs.retain(|run| seen.insert((run.name.as_str(), run.app_id)));
        }
        runs.retain(|run| filter.status.is_none_or(|status| run.status == status));
        Ok(Listed::page(&runs, page, |run| {
            render_check_run(&at.render, repo, run)
        }))
    }

    /// One page of a check run's annotations, in the order they were added.
    pub(crate) fn list_annotations(
        &self,
        at: &Scope<'_>,
        id: u64,
        page: Page,
    ) -> Result<Listed, StoreError> {
        let inner = self.lock();
        let (repo, run) = CheckRun::find(&inner, at.repo, id)?;
        Ok(Listed::page(&run.annotations, page, |annotation| {
            render_annotation(&at.render, repo, run, annotation)
        }))
    }
}

held!(
    CheckRun,
    check_runs,
    |object, repo| repo.check_run_ids.binary_search(&object.id).is_ok(),
    render_check_run
);

fn render_check_run(ctx: &RenderContext<'_>, repo: &Repo, run: &CheckRun) -> Value {
    let url = format!("{}/check-runs/{}", repository_url(ctx, repo), run.id);
    let app = ctx.performed_via(Actor::App(run.app_id));
    // Without a details URL GitHub links the App's homepage.
    let details_url = run.details_url.clone().map_or_else(
        || app.get("external_url").cloned().unwrap_or(Value::Null),
        Value::String,
    );
    let pull_requests: Vec<Value> = repo
        .pulls
        .values()
        .filter(|pull| pull.head_sha == run.head_sha)
        .map(|pull| render_pull_minimal(ctx, repo, pull))
        .collect();
    json!({
        "id": run.id,
        "head_sha": run.head_sha,
        "node_id": node_id("CheckRun", run.id),
        "external_id": run.external_id.as_deref().unwrap_or(""),
        "url": url,
        "html_url": format!("{}/runs/{}", repository_html_url(ctx, repo), run.id),
        "details_url": details_url,
        "status": run.status.as_str(),
        "conclusion": run.conclusion.map(Conclusion::as_str),
        "started_at": timestamp(run.started_at),
        "completed_at": run.completed_at.map(timestamp),
        "output": {
            "title": run.title,
            "summary": run.summary,
            "text": run.text,
            "annotations_count": run.annotations.len(),
            "annotations_url": format!("{url}/annotations"),
        },
        "name": run.name,
        "check_suite": {"id": run.suite_id},
        "app": app,
        "pull_requests": pull_requests,
    })
}

fn render_annotation(
    ctx: &RenderContext<'_>,
    repo: &Repo,
    run: &CheckRun,
    annotation: &Annotation,
) -> Value {
    let blob_href = format!(
        "{}/blob/{}/{}",
        repository_html_url(ctx, repo),
        run.head_sha,
        encode_path(&annotation.path)
    );
    json!({
        "path": annotation.path,
        "blob_href": blob_href,
        "start_line": annotation.start_line,
        "start_column": annotation.start_column,
        "end_line": annotation.end_line,
        "end_column": annotation.end_column,
        "annotation_level": annotation.annotation_level.as_str(),
        "title": annotation.title,
        "message": annotation.message,
        "raw_details": annotation.raw_details,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run() -> CheckRun {
        CheckRun {
            id: 1,
            head_sha: "a".repeat(40),
            name: "lint".into(),
            app_id: 1,
            suite_id: 1,
            details_url: None,
            external_id: None,
            status: CheckStatus::Queued,
            conclusion: None,
            started_at: Utc::now(),
            completed_at: None,
            title: None,
            summary: None,
            text: None,
            annotations: Vec::new(),
        }
    }

    #[test]
    fn status_and_conclusion_follow_githubs_rules() {
        let now = Utc::now();
        let mut check = run();
        let completed = CheckRunFields {
            status: Some(CheckStatus::Completed),
            ..CheckRunFields::default()
        };
        assert_eq!(
            check.apply(completed, now),
            Err(StoreError::ConclusionRequired)
        );
        assert_eq!(check.status, CheckStatus::Queued, "refused: unchanged");

        // A conclusion alone completes the run, even next to another status.
        let concluded = CheckRunFields {
            status: Some(CheckStatus::InProgress),
            conclusion: Some(Conclusion::Success),
            ..CheckRunFields::default()
        };
        assert_eq!(check.apply(concluded, now), Ok(()));
        assert_eq!(
            (check.status, check.conclusion, check.completed_at),
            (CheckStatus::Completed, Some(Conclusion::Success), Some(now))
        );

        // Staying completed keeps the conclusion; leaving clears it.
        let renamed = CheckRunFields {
            external_id: Some("x".into()),
            ..CheckRunFields::default()
        };
        assert_eq!(check.apply(renamed, now), Ok(()));
        assert_eq!(check.conclusion, Some(Conclusion::Success));
        let reopened = CheckRunFields {
            status: Some(CheckStatus::InProgress),
            ..CheckRunFields::default()
        };
        assert_eq!(check.apply(reopened, now), Ok(()));
        assert_eq!((check.conclusion, check.completed_at), (None, None));
    }
}
