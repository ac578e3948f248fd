//! `PluginUpdateValidationWorkflow` and `VersionValidationWorkflow`.
//!
//! One workflow per check and PR, never terminated by a delivery: each delivery
//! signal-with-starts it (`recheck`). A pass judges a head and reports it in one comment per
//! check and a check run on the head. The comment activity re-reads the PR's head right before
//! writing: when the head moved, nothing is written and the next pass judges the new head.
//! When a `recheck` arrived during a pass, the workflow reads the PR's head again and judges
//! it if it is not the head just reported. It completes once a pass finished with no `recheck`
//! pending (Temporal refuses a completion while a signal is unhandled, so none is lost), and
//! continues as new after [`MAX_PASSES`] passes to bound its history. The result describes the
//! last head reported, which is the PR's head when it was written.
//!
//! The input's `HeadSHA` is where the first pass starts, a hint: a run started with a head
//! that is not (or no longer) the PR's judges the PR's current head instead.
//!
//! Whether a head's check run was written before is known from Temporal, not GitHub: the
//! check-run activity first starts a [`CheckRunClaimWorkflow`] whose id names the check, the PR
//! and the head ([`check_run_workflow_id`]), refused when that id was used before. The first
//! claim of a head creates the run directly; any later one (a redelivery, two servers taking one
//! delivery, a late delivery of an older push, a retried attempt) looks for it on GitHub first.
//!
//! Problems on the way (a file that cannot be read, GitHub refusing a comment or a check run)
//! go to the result's `Errors`; the workflow still completes. Only an input naming no PR fails
//! it. Determinism: no I/O and no clock here; every GitHub call is an activity.

use std::time::Duration;

use gdt_pr_checks::{Categorized, CheckRunReport, PluginReport, VersionPaths};
use temporalio_common::{RetryPolicy, WorkflowDefinition};
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{
    ActivityExecutionError, ActivityOptions, ApplicationFailure, ContinueAsNewOptions,
    SyncWorkflowContext, WorkflowContext, WorkflowResult,
};
use temporalio_workflow::workflows::WorkflowImplementation;

use super::activities::{
    FetchFileInput, FetchFilesInput, PrCheckActivities, PublishCheckRun, PublishPlugin,
    PublishVersion, Published, PullTarget, ValidateSchemasInput,
};
use super::model::{
    check_run_workflow_id, plugin_workflow_id, validate_target, version_workflow_id,
    PluginUpdateValidationInput, PluginUpdateValidationResult, PullRequest, Recheck, Reported,
    VersionValidationInput, VersionValidationResult,
};
use crate::activity::{failure_message, invalid_input, NON_RETRYABLE_ERROR_TYPES};

/// Passes one run makes before it continues as new (a PR pushed to this often while its
/// checks run is rare; the bound keeps the history short whatever happens).
pub const MAX_PASSES: u32 = 20;

/// How a pass ended.
enum Pass<R> {
    /// The head was judged and the result written (as far as GitHub let it be).
    Reported(R),
    /// The PR's head moved before anything was written: judge this one.
    Moved(String),
}

/// How a check's passes ended.
enum Passes<R> {
    /// The last pass reported the PR's current head and no `recheck` is pending (`None` when
    /// no pass reported anything).
    Done(Option<R>),
    /// [`MAX_PASSES`] passes ran: continue as new, starting from this head.
    ContinueFrom(String),
}

/// A check workflow: counts the `recheck` signals it received.
trait Rechecked {
    fn rechecks(&self) -> u64;
}

/// A check's input: the PR it judges and the head its first pass starts from.
trait CheckInput: Clone {
    fn pull_request(&self) -> &PullRequest;
    fn head_sha(&self) -> &str;
    /// The check's canonical workflow id for this PR, even when this run was started under
    /// another id (by hand, with `temporal workflow start`).
    fn check_workflow_id(&self) -> String;
    /// The input of the run this one continues as, starting from `head_sha`.
    fn starting_from(self, head_sha: String) -> Self;
}

/// A check's result: what it reported for a head, and where.
trait CheckResult {
    fn reported(&self) -> &Reported;
    fn reported_mut(&mut self) -> &mut Reported;
}

/// Runs `pass` on `head`, then on whatever head the PR has, until a pass has reported the
/// PR's current head and no `recheck` arrived meanwhile, or [`MAX_PASSES`] passes ran. Both
/// checks loop through here.
async fn until_current_head<W: Rechecked, R: CheckResult>(
    ctx: &WorkflowContext<W>,
    target: &PullTarget,
    mut head: String,
    mut pass: impl AsyncFnMut(String) -> Pass<R>,
) -> Passes<R> {
    let mut reported: Option<R> = None;
    let mut passes = 0;
    loop {
        let seen = ctx.state(W::rechecks);
        if reported.as_ref().map(|r| r.reported().head_sha.as_str()) != Some(head.as_str()) {
            if passes == MAX_PASSES {
                return Passes::ContinueFrom(head);
            }
            passes += 1;
            match pass(head.clone()).await {
                Pass::Moved(current) => {
                    head = current;
                    continue;
                }
                Pass::Reported(result) => reported = Some(result),
            }
        }
        if ctx.state(W::rechecks) == seen {
            return Passes::Done(reported);
        }
        match current_head(ctx, target).await {
            Ok(current) => head = current,
            Err(e) => {
                if let Some(r) = reported.as_mut() {
                    r.reported_mut().errors.push(e);
                }
                return Passes::Done(reported);
            }
        }
    }
}

/// Runs a check's passes from its input's head until the PR's current head is reported (see
/// [`until_current_head`]), and continues as new from the head reached after
/// [`MAX_PASSES`] passes. Both checks run through here.
async fn run_passes<W, I, R>(
    ctx: &WorkflowContext<W>,
    input: &I,
    pass: impl AsyncFnMut(String) -> Pass<R>,
) -> WorkflowResult<R>
where
    W: Rechecked + WorkflowImplementation,
    W::Run: WorkflowDefinition<Input = I>,
    I: CheckInput,
    R: CheckResult + Default,
{
    let target = pull_target(input.pull_request());
    match until_current_head(ctx, &target, input.head_sha().to_owned(), pass).await {
        Passes::Done(reported) => Ok(reported.unwrap_or_default()),
        Passes::ContinueFrom(head_sha) => {
            let next = input.clone().starting_from(head_sha);
            ctx.continue_as_new(next, ContinueAsNewOptions::default())?;
            unreachable!("continue_as_new returns only errors")
        }
    }
}

/// The loop's view of one check: its workflow's `recheck` count, its input's PR and head,
/// its result's reporting fields. Both checks name these fields alike.
macro_rules! check_parts {
    ($workflow:ty, $input:ty, $result:ty, $workflow_id:path) => {
        impl Rechecked for $workflow {
            fn rechecks(&self) -> u64 {
                self.rechecks
            }
        }

        impl CheckInput for $input {
            fn pull_request(&self) -> &PullRequest {
                &self.pull_request
            }
            fn head_sha(&self) -> &str {
                &self.head_sha
            }
            fn check_workflow_id(&self) -> String {
                let pr = &self.pull_request;
                $workflow_id(&pr.owner, &pr.repo, pr.pr_number)
            }
            fn starting_from(self, head_sha: String) -> Self {
                Self { head_sha, ..self }
            }
        }

        impl CheckResult for $result {
            fn reported(&self) -> &Reported {
                &self.reported
            }
            fn reported_mut(&mut self) -> &mut Reported {
                &mut self.reported
            }
        }
    };
}

check_parts!(
    PluginUpdateValidationWorkflow,
    PluginUpdateValidationInput,
    PluginUpdateValidationResult,
    plugin_workflow_id
);
check_parts!(
    VersionValidationWorkflow,
    VersionValidationInput,
    VersionValidationResult,
    version_workflow_id
);

/// Judges whether a PR that changes plugin-relevant code also updates the plugin, and
/// whether its JSON plugin files are valid.
#[workflow]
#[derive(Default)]
pub struct PluginUpdateValidationWorkflow {
    /// `recheck` signals received so far.
    rechecks: u64,
}

#[workflow_methods]
impl PluginUpdateValidationWorkflow {
    /// Runs the check until the PR's current head is reported.
    #[run(name = "PluginUpdateValidationWorkflow")]
    pub async fn run(
        ctx: &mut WorkflowContext<Self>,
        input: PluginUpdateValidationInput,
    ) -> WorkflowResult<PluginUpdateValidationResult> {
        validate_target(&input.pull_request, &input.head_sha).map_err(invalid_input)?;
        let view: &WorkflowContext<Self> = ctx;
        run_passes(view, &input, async |head| {
            plugin_pass(view, &input, &head).await
        })
        .await
    }

    /// A delivery for this PR arrived: look at its head again once the current pass is done.
    #[signal(name = "recheck")]
    pub fn recheck(&mut self, _ctx: &mut SyncWorkflowContext<Self>, _recheck: Recheck) {
        self.rechecks += 1;
    }
}

/// One pass of the plugin check on `head`.
async fn plugin_pass(
    ctx: &WorkflowContext<PluginUpdateValidationWorkflow>,
    input: &PluginUpdateValidationInput,
    head: &str,
) -> Pass<PluginUpdateValidationResult> {
    let mut result = PluginUpdateValidationResult {
        reported: Reported {
            head_sha: head.to_owned(),
            ..Reported::default()
        },
        ..PluginUpdateValidationResult::default()
    };
    let fetched = ctx
        .execute_activity(
            PrCheckActivities::fetch_pr_files,
            pull_target(&input.pull_request),
            activity_options(),
        )
        .await;
    let fetched = match fetched {
        Ok(fetched) => fetched,
        Err(e) => {
            result.reported.errors.push(format!(
                "could not list the PR's files: {}",
                failure_message(&e)
            ));
            return Pass::Reported(result);
        }
    };
    let categorized: Categorized = match ctx
        .execute_activity(
            PrCheckActivities::categorize_files,
            fetched.files.clone(),
            activity_options(),
        )
        .await
    {
        Ok(c) => c,
        Err(e) => {
            result.reported.errors.push(format!(
                "could not categorise the files: {}",
                failure_message(&e)
            ));
            return Pass::Reported(result);
        }
    };
    result.code_files_changed = categorized.code_files.clone();
    result.plugin_files_changed = categorized.plugin_files.clone();
    result.needs_update = !categorized.code_files.is_empty() && categorized.plugin_files.is_empty();

    let problems = ctx
        .execute_activity(
            PrCheckActivities::validate_plugin_schemas,
            ValidateSchemasInput {
                owner: input.pull_request.owner.clone(),
                repo: input.pull_request.repo.clone(),
                head_sha: head.to_owned(),
                files: fetched.files.clone(),
            },
            activity_options(),
        )
        .await;
    let problems = match problems {
        Ok(problems) => problems,
        Err(e) => {
            result.reported.errors.push(format!(
                "could not validate the plugin's JSON files: {}",
                failure_message(&e)
            ));
            Vec::new()
        }
    };
    result.schema_valid = problems.is_empty() && result.reported.errors.is_empty();
    result.reported.errors.extend(
        problems
            .iter()
            .map(|p| format!("{}:{}:{}: {}", p.path, p.line, p.column, p.message)),
    );

    let check_run = CheckRunReport::from_plugin_report(&PluginReport {
        head_sha: head.to_owned(),
        code_files: categorized.code_files.clone(),
        plugin_files: categorized.plugin_files.clone(),
        problems: problems.clone(),
        truncated: fetched.truncated,
    });
    let publish = PublishPlugin {
        owner: input.pull_request.owner.clone(),
        repo: input.pull_request.repo.clone(),
        pr_number: input.pull_request.pr_number,
        head_sha: head.to_owned(),
        categorized,
        problems,
        truncated: fetched.truncated,
    };
    // A reminder when code changed without the plugin, success otherwise.
    let published = if result.needs_update {
        ctx.execute_activity(
            PrCheckActivities::post_reminder_comment,
            publish,
            activity_options(),
        )
        .await
    } else {
        ctx.execute_activity(
            PrCheckActivities::post_success_comment,
            publish,
            activity_options(),
        )
        .await
    };
    finish_pass(ctx, input, head, published, check_run, result).await
}

/// Judges whether the VERSION file and plugin.json agree on a valid SemVer version.
#[workflow]
#[derive(Default)]
pub struct VersionValidationWorkflow {
    /// `recheck` signals received so far.
    rechecks: u64,
}

#[workflow_methods]
impl VersionValidationWorkflow {
    /// Runs the check until the PR's current head is reported.
    #[run(name = "VersionValidationWorkflow")]
    pub async fn run(
        ctx: &mut WorkflowContext<Self>,
        input: VersionValidationInput,
    ) -> WorkflowResult<VersionValidationResult> {
        validate_target(&input.pull_request, &input.head_sha).map_err(invalid_input)?;
        let paths: VersionPaths = ctx
            .execute_activity(PrCheckActivities::version_paths, (), activity_options())
            .await
            .map_err(|e| ApplicationFailure::new(failure_message(&e)))?;
        let view: &WorkflowContext<Self> = ctx;
        run_passes(view, &input, async |head| {
            version_pass(view, &input, &paths, &head).await
        })
        .await
    }

    /// A delivery for this PR arrived: look at its head again once the current pass is done.
    #[signal(name = "recheck")]
    pub fn recheck(&mut self, _ctx: &mut SyncWorkflowContext<Self>, _recheck: Recheck) {
        self.rechecks += 1;
    }
}

/// One pass of the version check on `head`.
async fn version_pass(
    ctx: &WorkflowContext<VersionValidationWorkflow>,
    input: &VersionValidationInput,
    paths: &VersionPaths,
    head: &str,
) -> Pass<VersionValidationResult> {
    let mut errors = Vec::new();
    let mut texts = Vec::new();
    for path in [&paths.version_file, &paths.plugin_json] {
        let text = ctx
            .execute_activity(
                PrCheckActivities::fetch_file_content,
                FetchFileInput {
                    owner: input.pull_request.owner.clone(),
                    repo: input.pull_request.repo.clone(),
                    path: path.clone(),
                    git_ref: head.to_owned(),
                },
                activity_options(),
            )
            .await;
        texts.push(match text {
            Ok(text) => text,
            Err(e) => {
                errors.push(format!("could not read {path}: {}", failure_message(&e)));
                None
            }
        });
    }
    let plugin_text = texts.pop().flatten();
    let version_text = texts.pop().flatten();
    let verdict = gdt_pr_checks::compare_with_paths(
        paths,
        version_text
            .as_deref()
            .map(gdt_pr_checks::parse_version_file),
        plugin_text.as_deref().map(gdt_pr_checks::plugin_version),
    );
    let mut result = VersionValidationResult {
        version_matches: verdict.matches,
        version_file: verdict.version_file.clone(),
        plugin_version: verdict.plugin_version.clone(),
        reported: Reported {
            head_sha: head.to_owned(),
            errors,
            ..Reported::default()
        },
    };
    result
        .reported
        .errors
        .extend(verdict.errors.iter().cloned());
    let check_run = CheckRunReport::from_version_verdict(&verdict, paths);
    let published = ctx
        .execute_activity(
            PrCheckActivities::post_version_comment,
            PublishVersion {
                owner: input.pull_request.owner.clone(),
                repo: input.pull_request.repo.clone(),
                pr_number: input.pull_request.pr_number,
                head_sha: head.to_owned(),
                verdict,
            },
            activity_options(),
        )
        .await;
    finish_pass(ctx, input, head, published, check_run, result).await
}

/// The end of a pass, the same for both checks: what the comment activity did (or that the
/// PR's head moved, and the pass reports nothing), then the check run, posted and recorded.
async fn finish_pass<W, R: CheckResult>(
    ctx: &WorkflowContext<W>,
    input: &impl CheckInput,
    head: &str,
    published: Result<Published, ActivityExecutionError>,
    check_run: CheckRunReport,
    mut result: R,
) -> Pass<R> {
    let reported = result.reported_mut();
    match published {
        Ok(Published {
            moved_to: Some(current),
            ..
        }) => return Pass::Moved(current),
        Ok(p) => {
            reported.comment_posted = p.comment_posted;
            reported.comment_url = p.comment_url;
        }
        Err(e) => reported.errors.push(format!(
            "could not write the comment: {}",
            failure_message(&e)
        )),
    }
    let posted = ctx
        .execute_activity(
            PrCheckActivities::post_check_run,
            PublishCheckRun {
                owner: input.pull_request().owner.clone(),
                repo: input.pull_request().repo.clone(),
                head_sha: head.to_owned(),
                report: check_run,
                may_exist: false,
                claim_id: check_run_workflow_id(&input.check_workflow_id(), head),
            },
            activity_options(),
        )
        .await;
    match posted {
        Ok(posted) => {
            reported.check_run_posted = posted.posted;
            reported.check_run_url = posted.url;
        }
        Err(e) => reported.errors.push(format!(
            "could not write the check run: {}",
            failure_message(&e)
        )),
    }
    Pass::Reported(result)
}

/// Marks that a check's run on one head is being written: `PostCheckRunActivity` starts it with
/// an id naming the check, the PR and the head ([`check_run_workflow_id`]), which Temporal
/// refuses once used (within the namespace's retention), so the activity knows whether this
/// head's run may exist already. It decides nothing and completes at once.
#[workflow]
#[derive(Default)]
pub struct CheckRunClaimWorkflow;

#[workflow_methods]
impl CheckRunClaimWorkflow {
    /// Completes at once: the execution's id is the record.
    #[run(name = "CheckRunClaimWorkflow")]
    pub async fn run(_ctx: &mut WorkflowContext<Self>, _input: ()) -> WorkflowResult<()> {
        Ok(())
    }
}

/// The PR's head now, or why it could not be read.
async fn current_head<W>(ctx: &WorkflowContext<W>, target: &PullTarget) -> Result<String, String> {
    ctx.execute_activity(
        PrCheckActivities::get_pull_request_head,
        target.clone(),
        activity_options(),
    )
    .await
    .map_err(|e| {
        format!(
            "could not read the PR's head to look again: {}",
            failure_message(&e)
        )
    })
}

fn pull_target(pull_request: &PullRequest) -> PullTarget {
    FetchFilesInput {
        owner: pull_request.owner.clone(),
        repo: pull_request.repo.clone(),
        pr_number: pull_request.pr_number,
    }
}

/// Short calls to GitHub: 1 min per attempt, 1 s → 30 s backoff, 5 attempts; validation and
/// authentication errors are not retried.
fn activity_options() -> ActivityOptions {
    ActivityOptions::with_start_to_close_timeout(Duration::from_secs(60))
        .retry_policy(
            RetryPolicy::builder()
                .initial_interval(Duration::from_secs(1))
                .backoff_coefficient(2.0)
                .maximum_interval(Duration::from_secs(30))
                .maximum_attempts(5)
                .non_retryable_error_types(NON_RETRYABLE_ERROR_TYPES)
                .build(),
        )
        .build()
}
