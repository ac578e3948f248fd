//! The activities of the pull-request checks (`FetchPRFilesActivity`,
//! `CategorizeFilesActivity`, `ValidatePluginSchemasActivity`, `PostReminderCommentActivity`,
//! `PostSuccessCommentActivity`, `FetchFileContentActivity`,
//! `PostVersionMismatchCommentActivity`, `GetPullRequestHeadActivity`,
//! `PostCheckRunActivity`, `VersionPathsActivity`). Every GitHub call goes through the
//! worker's one [`gdt_github::Client`]: no token travels in any input.
//!
//! Writing a check's comment ([`PrCheckActivities::publish`]) keeps one comment per check and
//! PR, found by its hidden marker across every page of comments and edited in place; extra
//! copies (left by a race of older versions, or by two workflows on one PR) are deleted, the
//! oldest kept. Before writing it checks that the PR's head is still the commit judged, and
//! when it is not it writes nothing and says where the head is now, so the workflow judges
//! that. Writes to one PR's comment are serial because one workflow per check and PR does
//! them. The check run is its own activity (`PostCheckRunActivity`), so a refused check run
//! (GitHub takes them only from Apps) never hides a comment that was written.
//!
//! What a pushed head costs GitHub: files read at the head go through [`HeadFiles`], so both
//! checks share one read of plugin.json per head and worker, and every other read goes
//! through the client's ETag cache, so a read repeated when nothing changed (the second
//! check's re-read of the PR, a comment lookup finding the list as it was) is a `304` that
//! GitHub does not count. The re-read before writing and the lookup across every page of
//! comments are still made each time: conditional, never skipped or shared. A comment names
//! no commit, so a push that leaves a verdict as it was writes no comment; whether a head's
//! check run may exist is known from Temporal ([`CheckRunClaims`]), so a new head's run is
//! created without looking first.
//!
//! The checks' metrics are counted by the activity that reports each fact, once it has
//! succeeded, so a retried attempt never counts twice: a check's conclusion by
//! `PostCheckRunActivity`, a version verdict by `PostVersionMismatchCommentActivity`, the
//! files failing their schema by `ValidatePluginSchemasActivity`.

use std::collections::BTreeSet;

use std::sync::Arc;
use std::time::Duration;

use gdt_github::{CheckAnnotation, CheckRunOutput, CheckRunUpdate, NewCheckRun};
use gdt_metrics::labels::{Conclusion, PrCheck};
use gdt_metrics::metrics;
use gdt_pr_checks::{
    Categorized, ChangedFile, CheckRunReport, CompiledPatterns, CompiledSchemaRule, FileStatus,
    JsonProblem, PluginReport, VersionPaths, VersionVerdict,
};
use serde::{Deserialize, Serialize};
use temporalio_client::errors::WorkflowStartError;
use temporalio_client::{WorkflowIdConflictPolicy, WorkflowIdReusePolicy, WorkflowStartOptions};
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

use super::head_files::HeadFiles;
use super::workflows::CheckRunClaimWorkflow;
use crate::activity::{in_activity_span, temporal_unavailable, to_activity_error};
use crate::service::rpc_options;

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

/// Input of `GetPullRequestHeadActivity` (same fields as [`FetchFilesInput`]).
pub type PullTarget = FetchFilesInput;

/// Input of `PostCheckRunActivity`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PublishCheckRun {
    /// Repository owner.
    pub owner: String,
    /// Repository name.
    pub repo: String,
    /// The commit the run is about.
    pub head_sha: String,
    /// What to report.
    pub report: CheckRunReport,
    /// This head may have a run of this check already: look before creating. The checks now
    /// always send `false` (the claim decides); the field stays so that inputs of either
    /// release decode in the other's workers.
    pub may_exist: bool,
    /// The id of the `CheckRunClaimWorkflow` that records this head's run
    /// (`check_run_workflow_id`); empty (an input from before claims): look before creating.
    #[serde(default)]
    pub claim_id: String,
}

/// Output of `PostCheckRunActivity`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CheckRunPosted {
    /// The check run was created or updated.
    pub posted: bool,
    /// Its page on GitHub.
    pub url: String,
    /// Check runs are not reported (`pr_checks.report: comment`).
    pub disabled: bool,
}

/// Starts the `CheckRunClaimWorkflow`s of the checks' task queue.
#[derive(Clone)]
pub struct CheckRunClaims {
    temporal: temporalio_client::Client,
    task_queue: String,
}

impl CheckRunClaims {
    /// Claims started on `task_queue` (the checks' own, whose workers run them).
    pub fn new(temporal: temporalio_client::Client, task_queue: impl Into<String>) -> Self {
        Self {
            temporal,
            task_queue: task_queue.into(),
        }
    }

    /// Records that the run `id` stands for is being written: `true` when this is the id's
    /// first claim (no run can exist), `false` when it was claimed before (within the
    /// namespace's retention: a run may exist).
    async fn first(&self, id: &str) -> Result<bool, ActivityError> {
        let options = WorkflowStartOptions::new(self.task_queue.clone(), id.to_owned())
            // Once claimed, always claimed: whatever became of the claim, a run may exist.
            .id_reuse_policy(WorkflowIdReusePolicy::RejectDuplicate)
            .id_conflict_policy(WorkflowIdConflictPolicy::Fail)
            // The claim counts from its start; one no worker completes (none registers it)
            // ends by itself rather than staying open.
            .execution_timeout(CLAIM_LIFETIME)
            .rpc_options(rpc_options(CLAIM_CALL_TIMEOUT))
            .build();
        let call = self
            .temporal
            .start_workflow(CheckRunClaimWorkflow::run, (), options);
        match tokio::time::timeout(CLAIM_CALL_TIMEOUT, call).await {
            Ok(Ok(_)) => Ok(true),
            Ok(Err(WorkflowStartError::AlreadyStarted { .. })) => Ok(false),
            Ok(Err(e)) => Err(temporal_unavailable(format!(
                "could not record the check run {id} in Temporal: {e}"
            ))),
            Err(_) => Err(temporal_unavailable(format!(
                "Temporal did not answer within {}s when recording the check run {id}",
                CLAIM_CALL_TIMEOUT.as_secs()
            ))),
        }
    }
}

/// How long starting a claim may take before the attempt is retried.
const CLAIM_CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a claim may stay open waiting for a worker to complete it.
const CLAIM_LIFETIME: Duration = Duration::from_secs(3600);

/// The activities of both checks.
pub struct PrCheckActivities {
    github: gdt_github::Client,
    claims: CheckRunClaims,
    settings: PrCheckSettings,
    /// Files read at a commit, shared by both checks in this worker process.
    files: HeadFiles,
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

/// What writing a comment did.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Published {
    /// The comment was created or updated.
    pub comment_posted: bool,
    /// The comment's URL (also when it was already up to date).
    pub comment_url: String,
    /// The PR's head is no longer the commit judged: nothing was written, and this is the
    /// head to judge now.
    pub moved_to: Option<String>,
}

impl PrCheckActivities {
    /// Activities using `github`, `claims` and `settings`.
    pub fn new(
        github: gdt_github::Client,
        claims: CheckRunClaims,
        settings: PrCheckSettings,
    ) -> Self {
        Self {
            github,
            claims,
            settings,
            files: HeadFiles::default(),
        }
    }

    /// The text of `path` at `git_ref` (`None`: not there), read once per worker process
    /// when `git_ref` is a commit SHA (see [`HeadFiles`]), so both checks and their retries
    /// share one read of the same file at the same head.
    async fn file_at(
        &self,
        owner: &str,
        repo: &str,
        path: &str,
        git_ref: &str,
    ) -> Result<Option<Arc<str>>, gdt_github::Error> {
        self.files
            .read(owner, repo, git_ref, path, || async {
                let file = self.github.get_file(owner, repo, path, git_ref).await?;
                Ok(file.map(|f| f.text))
            })
            .await
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
        in_activity_span(&ctx, async move {
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
        })
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
        in_activity_span(&ctx, async move {
            let mut problems = Vec::new();
            for path in gdt_pr_checks::json_files_to_check(&self.settings.patterns, &input.files) {
                let file = self
                    .file_at(&input.owner, &input.repo, &path, &input.head_sha)
                    .await
                    .map_err(|e| to_activity_error(&e))?;
                match file {
                    Some(text) => problems.extend(gdt_pr_checks::check_json_file(
                        &path,
                        &text,
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
            let failing: BTreeSet<&str> = problems.iter().map(|p| p.path.as_str()).collect();
            metrics().schema_validation_failures(u64::try_from(failing.len()).unwrap_or(u64::MAX));
            Ok(problems)
        })
        .await
    }

    /// Reports that code changed without a plugin update.
    #[activity(name = "PostReminderCommentActivity")]
    pub async fn post_reminder_comment(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: PublishPlugin,
    ) -> Result<Published, ActivityError> {
        in_activity_span(&ctx, self.publish_plugin(input)).await
    }

    /// Reports that the plugin was updated (or that there is nothing to remind of).
    #[activity(name = "PostSuccessCommentActivity")]
    pub async fn post_success_comment(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: PublishPlugin,
    ) -> Result<Published, ActivityError> {
        in_activity_span(&ctx, self.publish_plugin(input)).await
    }

    /// The PR's head commit as GitHub has it now.
    #[activity(name = "GetPullRequestHeadActivity")]
    pub async fn get_pull_request_head(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: PullTarget,
    ) -> Result<String, ActivityError> {
        in_activity_span(&ctx, async move {
            let pull = self
                .github
                .get_pull(&input.owner, &input.repo, input.pr_number)
                .await
                .map_err(|e| to_activity_error(&e))?;
            Ok(pull.head.sha)
        })
        .await
    }

    /// Creates or updates a check's run on a head. The head's claim is recorded first
    /// ([`CheckRunClaims`]): on its first claim the run is created directly, so a new head
    /// costs no lookup; when it was claimed before (an earlier run or attempt), or the input
    /// asks (`may_exist`, or no `claim_id`), the run is looked up first.
    #[activity(name = "PostCheckRunActivity")]
    pub async fn post_check_run(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: PublishCheckRun,
    ) -> Result<CheckRunPosted, ActivityError> {
        let retried = ctx.info().attempt > 1;
        in_activity_span(&ctx, async move {
            let posted = if self.settings.check_runs {
                let first_claim = if input.claim_id.is_empty() {
                    false
                } else {
                    self.claims.first(&input.claim_id).await?
                };
                let look_first = input.may_exist || retried || !first_claim;
                self.write_check_run(&input, look_first, retried).await?
            } else {
                CheckRunPosted {
                    disabled: true,
                    ..CheckRunPosted::default()
                }
            };
            // The pass's conclusion is reported, by its check run or (check runs off) by its
            // comment alone.
            if let Some(check) = check_label(&input.report.name) {
                metrics().pr_check(check, conclusion_label(input.report.conclusion));
            }
            Ok(posted)
        })
        .await
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
        in_activity_span(&ctx, async move {
            let file = self
                .file_at(&input.owner, &input.repo, &input.path, &input.git_ref)
                .await
                .map_err(|e| to_activity_error(&e))?;
            Ok(file.map(|text| text.to_string()))
        })
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
        in_activity_span(&ctx, async move {
            // Only a comparison is a verdict: a version file that could not be read is
            // neither a match nor a mismatch (its check run's failure counts it).
            let compared = input.verdict.matches || input.verdict.is_mismatch();
            let matches = input.verdict.matches;
            let paths = self.settings.version_paths.clone();
            let verdict = input.verdict.clone();
            let render = move |existing: Option<&str>| {
                let previously_mismatched = existing.is_some_and(gdt_pr_checks::reported_failure);
                if verdict.matches && existing.is_none() {
                    // Matching and never reported otherwise: nothing to say.
                    return None;
                }
                Some(gdt_pr_checks::render_version_comment(
                    &verdict,
                    &paths,
                    previously_mismatched,
                ))
            };
            let published = self
                .publish(
                    &Target {
                        owner: input.owner.clone(),
                        repo: input.repo.clone(),
                        pr_number: input.pr_number,
                        head_sha: input.head_sha.clone(),
                        marker: gdt_pr_checks::VERSION_MARKER,
                    },
                    render,
                )
                .await?;
            // A head that moved is judged again: its verdict is counted then.
            if compared && published.moved_to.is_none() {
                metrics().version_check(matches);
            }
            Ok(published)
        })
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
    async fn publish_plugin(&self, input: PublishPlugin) -> Result<Published, ActivityError> {
        let report = PluginReport {
            head_sha: input.head_sha.clone(),
            code_files: input.categorized.code_files.clone(),
            plugin_files: input.categorized.plugin_files.clone(),
            problems: input.problems.clone(),
            truncated: input.truncated,
        };
        let code_changed = !report.code_files.is_empty();
        let body = gdt_pr_checks::render_plugin_comment(&report);
        let cleared = gdt_pr_checks::render_plugin_cleared();
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
        )
        .await
    }

    /// Writes a check's comment (when `render` has something to say given the existing
    /// comment's body), if the PR head is still the one judged; otherwise says where it is.
    async fn publish(
        &self,
        target: &Target,
        render: impl FnOnce(Option<&str>) -> Option<String>,
    ) -> Result<Published, ActivityError> {
        let pull = self
            .github
            .get_pull(&target.owner, &target.repo, target.pr_number)
            .await
            .map_err(|e| to_activity_error(&e))?;
        if pull.head.sha != target.head_sha {
            tracing::info!(
                judged = short(&target.head_sha),
                head = short(&pull.head.sha),
                "not reported: the PR head moved; judging the new head"
            );
            return Ok(Published {
                moved_to: Some(pull.head.sha),
                ..Published::default()
            });
        }
        let mut published = Published::default();
        if !self.settings.comments {
            return Ok(published);
        }
        let comments = self
            .github
            .list_issue_comments(&target.owner, &target.repo, target.pr_number)
            .await
            .map_err(|e| to_activity_error(&e))?;
        let (owned, extra) = owned_comment(&comments, target.marker);
        // Copies a race left behind: the oldest stays, the rest go (only the same author's,
        // so a person quoting the marker keeps their comment).
        for duplicate in extra {
            self.github
                .delete_issue_comment(&target.owner, &target.repo, duplicate.id)
                .await
                .map_err(|e| to_activity_error(&e))?;
            tracing::info!(comment = duplicate.id, "deleted a duplicate check comment");
        }
        let Some(body) = render(owned.map(|c| c.body.as_str())) else {
            published.comment_url = owned.map(|c| c.html_url.clone()).unwrap_or_default();
            return Ok(published);
        };
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
                    .create_issue_comment(&target.owner, &target.repo, target.pr_number, &body)
                    .await
                    .map_err(|e| to_activity_error(&e))?;
                published.comment_posted = true;
                published.comment_url = created.html_url;
            }
        }
        Ok(published)
    }

    /// Creates the check run of this head or, when `look_first` finds one, updates it unless
    /// it already says the same. `retried`: an earlier attempt of this write may have made it.
    async fn write_check_run(
        &self,
        input: &PublishCheckRun,
        look_first: bool,
        retried: bool,
    ) -> Result<CheckRunPosted, ActivityError> {
        let report = &input.report;
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
        let existing = if look_first {
            self.github
                .list_check_runs(&input.owner, &input.repo, &input.head_sha, &report.name)
                .await
                .map_err(|e| to_activity_error(&e))?
        } else {
            Vec::new()
        };
        let run = match existing.first() {
            Some(run) if reports(run, report) => {
                // Found as this pass would write it: an earlier attempt of this write created
                // it (GitHub took it, the answer was lost), or an earlier run did.
                return Ok(CheckRunPosted {
                    posted: retried,
                    url: run.html_url.clone().unwrap_or_default(),
                    disabled: false,
                });
            }
            Some(run) => {
                // GitHub appends annotations: send them only to a run that has none yet.
                let has_annotations = run.output.as_ref().is_some_and(|o| o.annotations_count > 0);
                let mut output = output;
                if has_annotations {
                    output.annotations.clear();
                }
                let update = CheckRunUpdate {
                    status: Some("completed".to_owned()),
                    conclusion: Some(report.conclusion.as_str().to_owned()),
                    output: Some(output),
                    ..CheckRunUpdate::default()
                };
                self.github
                    .update_check_run(&input.owner, &input.repo, run.id, &update)
                    .await
                    .map_err(|e| to_activity_error(&e))?
            }
            None => {
                let run = NewCheckRun {
                    name: report.name.clone(),
                    head_sha: input.head_sha.clone(),
                    status: Some("completed".to_owned()),
                    conclusion: Some(report.conclusion.as_str().to_owned()),
                    external_id: None,
                    details_url: None,
                    output: Some(output),
                };
                self.github
                    .create_check_run(&input.owner, &input.repo, &run)
                    .await
                    .map_err(|e| to_activity_error(&e))?
            }
        };
        Ok(CheckRunPosted {
            posted: true,
            url: run.html_url.unwrap_or_default(),
            disabled: false,
        })
    }
}

/// Whether `run` already says what `report` would: completed, with its conclusion, title and
/// summary (annotations go with the summary: they describe the same problems).
fn reports(run: &gdt_github::CheckRun, report: &CheckRunReport) -> bool {
    let output = run.output.as_ref();
    run.status == "completed"
        && run.conclusion.as_deref() == Some(report.conclusion.as_str())
        && output.and_then(|o| o.title.as_deref()) == Some(report.title.as_str())
        && output.and_then(|o| o.summary.as_deref()) == Some(report.summary.as_str())
}

/// The comment a check owns (the oldest carrying its marker) and the copies to delete: later
/// comments with the marker by the same author.
fn owned_comment<'a>(
    comments: &'a [gdt_github::IssueComment],
    marker: &str,
) -> (
    Option<&'a gdt_github::IssueComment>,
    Vec<&'a gdt_github::IssueComment>,
) {
    let mut marked: Vec<&gdt_github::IssueComment> = comments
        .iter()
        .filter(|c| c.body.contains(marker))
        .collect();
    marked.sort_by_key(|c| c.id);
    let Some((first, rest)) = marked.split_first() else {
        return (None, Vec::new());
    };
    let author = |c: &gdt_github::IssueComment| c.user.as_ref().map(|u| (u.id, u.login.clone()));
    let extra = rest
        .iter()
        .filter(|c| author(c).is_some() && author(c) == author(first))
        .copied()
        .collect();
    (Some(*first), extra)
}

/// The metrics' label of a check, from its check run name.
fn check_label(name: &str) -> Option<PrCheck> {
    use gdt_pr_checks::Check;
    [Check::PluginUpdateValidation, Check::VersionValidation]
        .into_iter()
        .find(|check| check.name() == name)
        .map(|check| match check {
            Check::PluginUpdateValidation => PrCheck::PluginUpdateValidation,
            Check::VersionValidation => PrCheck::VersionValidation,
        })
}

/// The metrics' label of a check run's conclusion.
fn conclusion_label(conclusion: gdt_pr_checks::Conclusion) -> Conclusion {
    match conclusion {
        gdt_pr_checks::Conclusion::Success => Conclusion::Success,
        gdt_pr_checks::Conclusion::Failure => Conclusion::Failure,
        gdt_pr_checks::Conclusion::Neutral => Conclusion::Neutral,
    }
}

fn short(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_found_saying_the_same_is_left_alone() {
        let report = CheckRunReport {
            name: "version-validation".into(),
            conclusion: gdt_pr_checks::Conclusion::Success,
            title: "Versions match".into(),
            summary: "✅ both say `1.0.0`".into(),
            annotations: Vec::new(),
        };
        let run = |status: &str, conclusion: &str, title: &str, summary: Option<&str>| {
            gdt_github::CheckRun {
                id: 1,
                name: report.name.clone(),
                head_sha: "abc".into(),
                status: status.into(),
                conclusion: Some(conclusion.into()),
                html_url: None,
                output: Some(gdt_github::CheckRunOutputInfo {
                    title: Some(title.into()),
                    summary: summary.map(str::to_owned),
                    annotations_count: 0,
                }),
            }
        };
        let same = Some(report.summary.as_str());
        assert!(reports(
            &run("completed", "success", "Versions match", same),
            &report
        ));
        for other in [
            run("in_progress", "success", "Versions match", same),
            run("completed", "failure", "Versions match", same),
            run("completed", "success", "Version mismatch", same),
            run("completed", "success", "Versions match", Some("older text")),
            run("completed", "success", "Versions match", None),
        ] {
            assert!(!reports(&other, &report), "{other:?}");
        }
    }

    #[test]
    fn each_check_run_name_has_its_label() {
        assert_eq!(
            check_label(gdt_pr_checks::Check::PluginUpdateValidation.name()),
            Some(PrCheck::PluginUpdateValidation)
        );
        assert_eq!(
            check_label(gdt_pr_checks::Check::VersionValidation.name()),
            Some(PrCheck::VersionValidation)
        );
        assert_eq!(check_label("something-else"), None);
        assert_eq!(
            conclusion_label(gdt_pr_checks::Conclusion::Neutral),
            Conclusion::Neutral
        );
    }
}
