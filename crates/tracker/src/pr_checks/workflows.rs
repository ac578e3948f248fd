//! `PluginUpdateValidationWorkflow` and `VersionValidationWorkflow` (seed 001).
//!
//! Both judge one PR head and report it in one comment per check (and a check run), then
//! complete. Problems on the way (a file that cannot be read, GitHub refusing a comment) go to
//! the result's `Errors`; the workflow still completes. Only an input naming no PR fails it.
//! Determinism: no I/O and no clock here; every GitHub call is an activity.

use std::time::Duration;

use gdt_pr_checks::{Categorized, VersionPaths};
use temporalio_common::RetryPolicy;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{ActivityOptions, ApplicationFailure, WorkflowContext, WorkflowResult};

use super::activities::{
    FetchFileInput, FetchFilesInput, PrCheckActivities, PublishPlugin, PublishVersion,
    ValidateSchemasInput,
};
use super::model::{
    validate_target, PluginUpdateValidationInput, PluginUpdateValidationResult,
    VersionValidationInput, VersionValidationResult,
};
use crate::deployments::activities::NON_RETRYABLE_ERROR_TYPES;

/// The task queue of the pull-request checks (seed 001).
pub const TASK_QUEUE: &str = "plugin-validation-queue";

/// Judges whether a PR that changes plugin-relevant code also updates the plugin, and
/// whether its JSON plugin files are valid.
#[workflow]
#[derive(Default)]
pub struct PluginUpdateValidationWorkflow;

#[workflow_methods]
impl PluginUpdateValidationWorkflow {
    /// Runs the check.
    #[run(name = "PluginUpdateValidationWorkflow")]
    pub async fn run(
        ctx: &mut WorkflowContext<Self>,
        input: PluginUpdateValidationInput,
    ) -> WorkflowResult<PluginUpdateValidationResult> {
        validate_target(&input.owner, &input.repo, input.pr_number, &input.head_sha)
            .map_err(invalid_input)?;
        let mut result = PluginUpdateValidationResult::default();
        let fetched = ctx
            .execute_activity(
                PrCheckActivities::fetch_pr_files,
                FetchFilesInput {
                    owner: input.owner.clone(),
                    repo: input.repo.clone(),
                    pr_number: input.pr_number,
                },
                activity_options(),
            )
            .await;
        let fetched = match fetched {
            Ok(fetched) => fetched,
            Err(e) => {
                result.errors.push(format!(
                    "could not list the PR's files: {}",
                    failure_message(&e)
                ));
                return Ok(result);
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
                result.errors.push(format!(
                    "could not categorise the files: {}",
                    failure_message(&e)
                ));
                return Ok(result);
            }
        };
        result.code_files_changed = categorized.code_files.clone();
        result.plugin_files_changed = categorized.plugin_files.clone();
        result.needs_update =
            !categorized.code_files.is_empty() && categorized.plugin_files.is_empty();

        let problems = ctx
            .execute_activity(
                PrCheckActivities::validate_plugin_schemas,
                ValidateSchemasInput {
                    owner: input.owner.clone(),
                    repo: input.repo.clone(),
                    head_sha: input.head_sha.clone(),
                    files: fetched.files.clone(),
                },
                activity_options(),
            )
            .await;
        let problems = match problems {
            Ok(problems) => problems,
            Err(e) => {
                result.errors.push(format!(
                    "could not validate the plugin's JSON files: {}",
                    failure_message(&e)
                ));
                Vec::new()
            }
        };
        result.schema_valid = problems.is_empty() && result.errors.is_empty();
        result.errors.extend(
            problems
                .iter()
                .map(|p| format!("{}:{}:{}: {}", p.path, p.line, p.column, p.message)),
        );

        let publish = PublishPlugin {
            owner: input.owner.clone(),
            repo: input.repo.clone(),
            pr_number: input.pr_number,
            head_sha: input.head_sha.clone(),
            categorized,
            problems,
            truncated: fetched.truncated,
        };
        // Seed 001: a reminder when code changed without the plugin, success otherwise.
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
        match published {
            Ok(p) => {
                result.comment_posted = p.comment_posted;
                result.comment_url = p.comment_url;
                result.errors.extend(p.skipped);
            }
            Err(e) => result.errors.push(format!(
                "could not report the result: {}",
                failure_message(&e)
            )),
        }
        Ok(result)
    }
}

/// Judges whether the VERSION file and plugin.json agree on a valid SemVer version.
#[workflow]
#[derive(Default)]
pub struct VersionValidationWorkflow;

#[workflow_methods]
impl VersionValidationWorkflow {
    /// Runs the check.
    #[run(name = "VersionValidationWorkflow")]
    pub async fn run(
        ctx: &mut WorkflowContext<Self>,
        input: VersionValidationInput,
    ) -> WorkflowResult<VersionValidationResult> {
        validate_target(&input.owner, &input.repo, input.pr_number, &input.head_sha)
            .map_err(invalid_input)?;
        let paths: VersionPaths = ctx
            .execute_activity(PrCheckActivities::version_paths, (), activity_options())
            .await
            .map_err(|e| ApplicationFailure::new(failure_message(&e)))?;
        let mut errors = Vec::new();
        let mut texts = Vec::new();
        for path in [&paths.version_file, &paths.plugin_json] {
            let text = ctx
                .execute_activity(
                    PrCheckActivities::fetch_file_content,
                    FetchFileInput {
                        owner: input.owner.clone(),
                        repo: input.repo.clone(),
                        path: path.clone(),
                        git_ref: input.head_sha.clone(),
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
            &paths,
            version_text
                .as_deref()
                .map(gdt_pr_checks::parse_version_file),
            plugin_text.as_deref().map(gdt_pr_checks::plugin_version),
        );
        let mut result = VersionValidationResult {
            version_matches: verdict.matches,
            version_file: verdict.version_file.clone(),
            plugin_version: verdict.plugin_version.clone(),
            errors,
            ..VersionValidationResult::default()
        };
        result.errors.extend(verdict.errors.iter().cloned());
        let published = ctx
            .execute_activity(
                PrCheckActivities::post_version_comment,
                PublishVersion {
                    owner: input.owner.clone(),
                    repo: input.repo.clone(),
                    pr_number: input.pr_number,
                    head_sha: input.head_sha.clone(),
                    verdict,
                },
                activity_options(),
            )
            .await;
        match published {
            Ok(p) => {
                result.comment_posted = p.comment_posted;
                result.comment_url = p.comment_url;
                result.errors.extend(p.skipped);
            }
            Err(e) => result.errors.push(format!(
                "could not report the result: {}",
                failure_message(&e)
            )),
        }
        Ok(result)
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

fn invalid_input(message: String) -> ApplicationFailure {
    ApplicationFailure::builder(message)
        .type_name("InvalidInput".to_owned())
        .non_retryable(true)
        .build()
}

/// The innermost message of an activity failure (GitHub's own words).
fn failure_message(err: &temporalio_sdk::ActivityExecutionError) -> String {
    let Some(mut failure) = err.failure() else {
        return err.to_string();
    };
    while let Some(cause) = failure.cause.as_deref() {
        failure = cause;
    }
    failure.message.clone()
}
