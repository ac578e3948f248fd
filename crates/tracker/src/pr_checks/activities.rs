//! The activities of the pull-request checks, under seed 001's names. Every GitHub call goes
//! through the worker's one [`gdt_github::Client`]: no token travels in any input.
//!
//! Writing a check's result ([`PrCheckActivities::publish`]) keeps one comment per check and
//! PR, found by its hidden marker across every page of comments and edited in place. Before
//! writing it checks that the PR's head is still the commit judged, so a run judging an older
//! head never overwrites a newer result. Within one worker, writes to one PR's comment are
//! serialised, so two runs cannot both create it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use gdt_github::{CheckAnnotation, CheckRunOutput, CheckRunUpdate, NewCheckRun};
use gdt_pr_checks::{
    Categorized, ChangedFile, CheckRunReport, CompiledPatterns, CompiledSchemaRule, FileStatus,
    JsonProblem, PluginReport, VersionPaths, VersionVerdict,
};
use serde::{Deserialize, Serialize};
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};
use tracing::Instrument as _;

use crate::deployments::activities::{activity_span, to_activity_error};

/// What the checks report and where.
#[derive(Debug, Clone)]
pub struct PrCheckSettings {
    /// Code and plugin file patterns.
    pub patterns: CompiledPatterns,
    /// JSON Schemas by path pattern.
    pub schemas: Vec<CompiledSchemaRule>,
    /// Keep a comment per check.
    pub comments: bool,
    /// Report a check run per check.
    pub check_runs: bool,
    /// Where the versions are read.
    pub version_paths: VersionPaths,
}

/// The activities of both checks.
pub struct PrCheckActivities {
    github: gdt_github::Client,
    settings: PrCheckSettings,
    /// One lock per (repository, PR, check): comment writes of one PR never interleave.
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// Input of `FetchPRFilesActivity`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FetchFilesInput {
    /// Repository owner.
    pub owner: String,
    /// Repository name.
    pub repo: String,
    /// Pull request number.
    pub pr_number: u64,
}

/// Output of `FetchPRFilesActivity`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FetchedFiles {
    /// Every file GitHub lists for the PR.
    pub files: Vec<ChangedFile>,
    /// GitHub stopped at its 3,000-file cap: the PR may change more.
    pub truncated: bool,
}

/// Input of `ValidatePluginSchemasActivity`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ValidateSchemasInput {
    /// Repository owner.
    pub owner: String,
    /// Repository name.
    pub repo: String,
    /// The head whose files are read.
    pub head_sha: String,
    /// The PR's files.
    pub files: Vec<ChangedFile>,
}

/// Input of `FetchFileContentActivity`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FetchFileInput {
    /// Repository owner.
    pub owner: String,
    /// Repository name.
    pub repo: String,
    /// The file's path.
    pub path: String,
    /// The commit to read it at.
    pub git_ref: String,
}

/// Input of the plugin check's comment activities.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PublishPlugin {
    /// Repository owner.
    pub owner: String,
    /// Repository name.
    pub repo: String,
    /// Pull request number.
    pub pr_number: u64,
    /// The head judged.
    pub head_sha: String,
    /// The categorised files.
    pub categorized: Categorized,
    /// Problems in JSON plugin files.
    pub problems: Vec<JsonProblem>,
    /// The file list stopped at GitHub's cap.
    pub truncated: bool,
}

/// Input of `PostVersionMismatchCommentActivity`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PublishVersion {
    /// Repository owner.
    pub owner: String,
    /// Repository name.
    pub repo: String,
    /// Pull request number.
    pub pr_number: u64,
    /// The head judged.
    pub head_sha: String,
    /// The verdict.
    pub verdict: VersionVerdict,
}

/// What reporting did.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Published {
    /// The comment was created or updated.
    pub comment_posted: bool,
    /// The comment's URL (also when it was already up to date).
    pub comment_url: String,
    /// Why something was not written (e.g. the head moved on).
    pub skipped: Option<String>,
}

impl PrCheckActivities {
    /// Activities using `github` and `settings`.
    pub fn new(github: gdt_github::Client, settings: PrCheckSettings) -> Self {
        Self {
            github,
            settings,
            locks: Mutex::new(HashMap::new()),
        }
    }
}

#[activities]
impl PrCheckActivities {
    /// Lists every file of the PR (100 per page, up to GitHub's 3,000).
    #[activity(name = "FetchPRFilesActivity")]
    pub async fn fetch_pr_files(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: FetchFilesInput,
    ) -> Result<FetchedFiles, ActivityError> {
        let span = activity_span(&ctx);
        async move {
            let listed = self
                .github
                .list_pull_files(&input.owner, &input.repo, input.pr_number)
                .await
                .map_err(|e| to_activity_error(&e))?;
            let files = listed
                .files
                .into_iter()
                .map(|f| ChangedFile {
                    filename: f.filename,
                    status: FileStatus::parse(&f.status),
                    previous_filename: f.previous_filename,
                })
                .collect::<Vec<_>>();
            tracing::info!(
                files = files.len(),
                truncated = listed.truncated,
                "listed PR files"
            );
            Ok(FetchedFiles {
                files,
                truncated: listed.truncated,
            })
        }
        .instrument(span)
        .await
    }

    /// Sorts the files into code files and plugin files with the configured patterns.
    #[activity(name = "CategorizeFilesActivity")]
    pub async fn categorize_files(
        self: Arc<Self>,
        _ctx: ActivityContext,
        files: Vec<ChangedFile>,
    ) -> Result<Categorized, ActivityError> {
        Ok(self.settings.patterns.categorize(&files))
    }

    /// Reads each JSON plugin file that was not removed at the head and checks it.
    #[activity(name = "ValidatePluginSchemasActivity")]
    pub async fn validate_plugin_schemas(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: ValidateSchemasInput,
    ) -> Result<Vec<JsonProblem>, ActivityError> {
        let span = activity_span(&ctx);
        async move {
            let mut problems = Vec::new();
            for path in gdt_pr_checks::json_files_to_check(&self.settings.patterns, &input.files) {
                let file = self
                    .github
                    .get_file(&input.owner, &input.repo, &path, &input.head_sha)
                    .await
                    .map_err(|e| to_activity_error(&e))?;
                match file {
                    Some(file) => problems.extend(gdt_pr_checks::check_json_file(
                        &path,
                        &file.text,
                        &self.settings.schemas,
                    )),
                    None => problems.push(JsonProblem {
                        path: path.clone(),
                        line: 1,
                        column: 1,
                        message: format!("not found at {}", input.head_sha),
                    }),
                }
            }
            Ok(problems)
        }
        .instrument(span)
        .await
    }

    /// Reports that code changed without a plugin update.
    #[activity(name = "PostReminderCommentActivity")]
    pub async fn post_reminder_comment(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: PublishPlugin,
    ) -> Result<Published, ActivityError> {
        let span = activity_span(&ctx);
        let retried = ctx.info().attempt > 1;
        self.publish_plugin(input, retried).instrument(span).await
    }

    /// Reports that the plugin was updated (or that there is nothing to remind of).
    #[activity(name = "PostSuccessCommentActivity")]
    pub async fn post_success_comment(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: PublishPlugin,
    ) -> Result<Published, ActivityError> {
        let span = activity_span(&ctx);
        let retried = ctx.info().attempt > 1;
        self.publish_plugin(input, retried).instrument(span).await
    }

    /// Where the version check reads its files (worker configuration, read through an
    /// activity so the workflow stays deterministic).
    #[activity(name = "VersionPathsActivity")]
    pub async fn version_paths(
        self: Arc<Self>,
        _ctx: ActivityContext,
        _input: (),
    ) -> Result<VersionPaths, ActivityError> {
        Ok(self.settings.version_paths.clone())
    }

    /// Reads one file at a commit; `None` when it does not exist there.
    #[activity(name = "FetchFileContentActivity")]
    pub async fn fetch_file_content(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: FetchFileInput,
    ) -> Result<Option<String>, ActivityError> {
        let span = activity_span(&ctx);
        async move {
            let file = self
                .github
                .get_file(&input.owner, &input.repo, &input.path, &input.git_ref)
                .await
                .map_err(|e| to_activity_error(&e))?;
            Ok(file.map(|f| f.text))
        }
        .instrument(span)
        .await
    }

    /// Keeps the version check's comment current: what to change on a mismatch, "fixed" once
    /// a mismatch is resolved; a matching PR that never mismatched gets no comment.
    #[activity(name = "PostVersionMismatchCommentActivity")]
    pub async fn post_version_comment(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: PublishVersion,
    ) -> Result<Published, ActivityError> {
        let span = activity_span(&ctx);
        let retried = ctx.info().attempt > 1;
        async move {
            let paths = self.settings.version_paths.clone();
            let report = CheckRunReport::from_version_verdict(&input.verdict, &paths);
            let verdict = input.verdict.clone();
            let head_sha = input.head_sha.clone();
            let render = move |existing: Option<&str>| {
                let previously_mismatched = existing.is_some_and(gdt_pr_checks::reported_failure);
                if verdict.matches && existing.is_none() {
                    // Matching and never reported otherwise: nothing to say.
                    return None;
                }
                Some(gdt_pr_checks::render_version_comment(
                    &verdict,
                    &paths,
                    &head_sha,
                    previously_mismatched,
                ))
            };
            self.publish(
                &Target {
                    owner: input.owner.clone(),
                    repo: input.repo.clone(),
                    pr_number: input.pr_number,
                    head_sha: input.head_sha.clone(),
                    marker: gdt_pr_checks::VERSION_MARKER,
                },
                render,
                &report,
                retried,
            )
            .await
        }
        .instrument(span)
        .await
    }
}

/// Where a check writes.
struct Target {
    owner: String,
    repo: String,
    pr_number: u64,
    head_sha: String,
    marker: &'static str,
}

impl PrCheckActivities {
    async fn publish_plugin(
        &self,
        input: PublishPlugin,
        retried: bool,
    ) -> Result<Published, ActivityError> {
        let report = PluginReport {
            head_sha: input.head_sha.clone(),
            code_files: input.categorized.code_files.clone(),
            plugin_files: input.categorized.plugin_files.clone(),
            problems: input.problems.clone(),
            truncated: input.truncated,
        };
        let check_run = CheckRunReport::from_plugin_report(&report);
        let code_changed = !report.code_files.is_empty();
        let body = gdt_pr_checks::render_plugin_comment(&report);
        let cleared = gdt_pr_checks::render_plugin_cleared(&report.head_sha);
        self.publish(
            &Target {
                owner: input.owner,
                repo: input.repo,
                pr_number: input.pr_number,
                head_sha: input.head_sha,
                marker: gdt_pr_checks::PLUGIN_MARKER,
            },
            // No code changed: nothing to say, unless an earlier push left a comment that
            // must not stay up stale.
            |existing: Option<&str>| match existing {
                _ if code_changed => body,
                Some(_) => Some(cleared),
                None => None,
            },
            &check_run,
            retried,
        )
        .await
    }

    /// Writes a check's comment (when `render` has something to say given the existing
    /// comment's body) and its check run, if the PR head is still the one judged. `retried`:
    /// an earlier attempt of this activity may have created the check run already.
    async fn publish(
        &self,
        target: &Target,
        render: impl FnOnce(Option<&str>) -> Option<String>,
        check_run: &CheckRunReport,
        retried: bool,
    ) -> Result<Published, ActivityError> {
        let lock = self.lock_for(target);
        let _guard = lock.lock().await;
        let pull = self
            .github
            .get_pull(&target.owner, &target.repo, target.pr_number)
            .await
            .map_err(|e| to_activity_error(&e))?;
        if pull.head.sha != target.head_sha {
            let why = format!(
                "not reported: the PR head moved from {} to {}; the newer run reports",
                short(&target.head_sha),
                short(&pull.head.sha)
            );
            tracing::info!(%why);
            return Ok(Published {
                skipped: Some(why),
                ..Published::default()
            });
        }
        let mut published = Published::default();
        if self.settings.comments {
            let comments = self
                .github
                .list_issue_comments(&target.owner, &target.repo, target.pr_number)
                .await
                .map_err(|e| to_activity_error(&e))?;
            let owned = comments
                .iter()
                .filter(|c| c.body.contains(target.marker))
                .min_by_key(|c| c.id);
            if let Some(body) = render(owned.map(|c| c.body.as_str())) {
                match owned {
                    Some(existing) if existing.body == body => {
                        published.comment_url = existing.html_url.clone();
                    }
                    Some(existing) => {
                        let updated = self
                            .github
                            .update_issue_comment(&target.owner, &target.repo, existing.id, &body)
                            .await
                            .map_err(|e| to_activity_error(&e))?;
                        published.comment_posted = true;
                        published.comment_url = updated.html_url;
                    }
                    None => {
                        let created = self
                            .github
                            .create_issue_comment(
                                &target.owner,
                                &target.repo,
                                target.pr_number,
                                &body,
                            )
                            .await
                            .map_err(|e| to_activity_error(&e))?;
                        published.comment_posted = true;
                        published.comment_url = created.html_url;
                    }
                }
            } else if let Some(existing) = owned {
                published.comment_url = existing.html_url.clone();
            }
        }
        if self.settings.check_runs {
            self.write_check_run(target, check_run, retried).await?;
        }
        Ok(published)
    }

    /// Creates the check run of this head or, on a retried attempt that finds the one an
    /// earlier attempt created, updates it. A first attempt creates directly: only a retry
    /// can have been here before, so the happy path costs no lookup (the same rule as the
    /// deployment statuses). Each run judges a head its workflow started for, and a head is
    /// judged by one run (the webhook's memo check), so first attempts create nothing twice.
    async fn write_check_run(
        &self,
        target: &Target,
        report: &CheckRunReport,
        retried: bool,
    ) -> Result<(), ActivityError> {
        let output = CheckRunOutput {
            title: report.title.clone(),
            summary: report.summary.clone(),
            text: None,
            annotations: report
                .annotations
                .iter()
                .map(|a| CheckAnnotation {
                    path: a.path.clone(),
                    start_line: a.start_line,
                    end_line: a.end_line,
                    start_column: Some(a.start_column),
                    end_column: Some(a.end_column),
                    annotation_level: a.level.as_str().to_owned(),
                    message: a.message.clone(),
                    title: None,
                })
                .collect(),
        };
        let existing = if retried {
            self.github
                .list_check_runs(&target.owner, &target.repo, &target.head_sha, &report.name)
                .await
                .map_err(|e| to_activity_error(&e))?
        } else {
            Vec::new()
        };
        match existing.first() {
            Some(run) => {
                let update = CheckRunUpdate {
                    status: Some("completed".to_owned()),
                    conclusion: Some(report.conclusion.as_str().to_owned()),
                    output: Some(output),
                    ..CheckRunUpdate::default()
                };
                self.github
                    .update_check_run(&target.owner, &target.repo, run.id, &update)
                    .await
                    .map_err(|e| to_activity_error(&e))?;
            }
            None => {
                let run = NewCheckRun {
                    name: report.name.clone(),
                    head_sha: target.head_sha.clone(),
                    status: Some("completed".to_owned()),
                    conclusion: Some(report.conclusion.as_str().to_owned()),
                    external_id: None,
                    details_url: None,
                    output: Some(output),
                };
                self.github
                    .create_check_run(&target.owner, &target.repo, &run)
                    .await
                    .map_err(|e| to_activity_error(&e))?;
            }
        }
        Ok(())
    }

    fn lock_for(&self, target: &Target) -> Arc<tokio::sync::Mutex<()>> {
        let key = format!(
            "{}/{}#{} {}",
            target.owner, target.repo, target.pr_number, target.marker
        );
        let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(locks.entry(key).or_default())
    }
}

fn short(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}
