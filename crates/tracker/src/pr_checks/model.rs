//! The pull-request checks' contract: the workflows' inputs and results, whose JSON field
//! names (`Owner`, `Repo`, `PRNumber`, `HeadSHA`, …) are published, so that
//! `temporal workflow start --input '{"Owner":…,"Repo":…,"PRNumber":…,"HeadSHA":…}'` starts a
//! check by hand; the `recheck` signal; workflow ids. No input carries a GitHub token:
//! activities use the worker's.
//!
//! `HeadSHA` in an input is where the first pass starts, not what is reported: a check reports
//! only the head GitHub says the PR has when it writes (see `workflows.rs`).

use serde::{Deserialize, Serialize};

/// The task queue the checks run on by default (`pr_checks.task_queue`).
pub const TASK_QUEUE: &str = "plugin-validation-queue";

/// The pull request a check judges: the fields both checks' inputs start with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PullRequest {
    /// Repository owner.
    #[serde(rename = "Owner")]
    pub owner: String,
    /// Repository name.
    #[serde(rename = "Repo")]
    pub repo: String,
    /// Pull request number.
    #[serde(rename = "PRNumber")]
    pub pr_number: u64,
}

/// The input of `PluginUpdateValidationWorkflow`. Fields README's example leaves out
/// (`BaseBranch`, `HeadBranch`) default to empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PluginUpdateValidationInput {
    /// The pull request.
    #[serde(flatten)]
    pub pull_request: PullRequest,
    /// Base branch.
    #[serde(rename = "BaseBranch")]
    pub base_branch: String,
    /// Head branch.
    #[serde(rename = "HeadBranch")]
    pub head_branch: String,
    /// The head commit judged.
    #[serde(rename = "HeadSHA")]
    pub head_sha: String,
}

/// The result of `PluginUpdateValidationWorkflow`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginUpdateValidationResult {
    /// Changed files that require a plugin update.
    #[serde(rename = "CodeFilesChanged")]
    pub code_files_changed: Vec<String>,
    /// Changed plugin files.
    #[serde(rename = "PluginFilesChanged")]
    pub plugin_files_changed: Vec<String>,
    /// Code changed but the plugin did not.
    #[serde(rename = "NeedsUpdate")]
    pub needs_update: bool,
    /// Every JSON plugin file parsed and matched its schema.
    #[serde(rename = "SchemaValid")]
    pub schema_valid: bool,
    /// What was reported, and where.
    #[serde(flatten)]
    pub reported: Reported,
}

/// The input of `VersionValidationWorkflow`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct VersionValidationInput {
    /// The pull request.
    #[serde(flatten)]
    pub pull_request: PullRequest,
    /// The head commit judged.
    #[serde(rename = "HeadSHA")]
    pub head_sha: String,
}

/// The result of `VersionValidationWorkflow`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionValidationResult {
    /// The VERSION file and plugin.json agree.
    #[serde(rename = "VersionMatches")]
    pub version_matches: bool,
    /// The version in the VERSION file, as read.
    #[serde(rename = "VersionFile")]
    pub version_file: String,
    /// The version in plugin.json, as read.
    #[serde(rename = "PluginVersion")]
    pub plugin_version: String,
    /// What was reported, and where.
    #[serde(flatten)]
    pub reported: Reported,
}

/// What a check reported for one head, and where: the fields both checks' results end with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reported {
    /// The check's comment was created or updated.
    #[serde(rename = "CommentPosted")]
    pub comment_posted: bool,
    /// The comment's URL.
    #[serde(rename = "CommentURL")]
    pub comment_url: String,
    /// The check run of the head was created or updated.
    #[serde(rename = "CheckRunPosted")]
    pub check_run_posted: bool,
    /// The check run's URL.
    #[serde(rename = "CheckRunURL")]
    pub check_run_url: String,
    /// The head commit judged and reported: the PR's head when the result was written.
    #[serde(rename = "HeadSHA")]
    pub head_sha: String,
    /// Problems met on the way (the check still completes).
    #[serde(rename = "Errors")]
    pub errors: Vec<String>,
}

/// Why a check input cannot be judged.
pub fn validate_target(pull_request: &PullRequest, head_sha: &str) -> Result<(), String> {
    let mut missing = Vec::new();
    if pull_request.owner.trim().is_empty() {
        missing.push("Owner");
    }
    if pull_request.repo.trim().is_empty() {
        missing.push("Repo");
    }
    if pull_request.pr_number == 0 {
        missing.push("PRNumber");
    }
    if head_sha.trim().is_empty() {
        missing.push("HeadSHA");
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "invalid check input: missing required field(s) {}",
            missing.join(", ")
        ))
    }
}

/// The signal a delivery sends a running check: look at the PR again once the current pass
/// is done. `HeadSHA` is the head the delivery named, for the history's reader; the check
/// reads the PR's head from GitHub.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Recheck {
    /// The head the delivery named.
    #[serde(rename = "HeadSHA")]
    pub head_sha: String,
}

/// The name of the [`Recheck`] signal.
pub const RECHECK_SIGNAL: &str = "recheck";

/// GitHub's longest login is 39 characters and its longest repository name 100; logins of
/// Enterprise Managed Users are longer (`handle_shortcode`), so owners get the same bound.
pub const MAX_NAME_CHARS: usize = 100;

/// Why `owner`/`repo` cannot be a GitHub repository: empty, longer than
/// [`MAX_NAME_CHARS`], or holding a character GitHub never allows in these names (which
/// also keeps workflow ids unambiguous: see [`plugin_workflow_id`]).
pub fn validate_repository(owner: &str, repo: &str) -> Result<(), String> {
    for (what, name, allowed) in [
        ("owner", owner, "letters, digits, '-' and '_'"),
        ("name", repo, "letters, digits, '-', '_' and '.'"),
    ] {
        let chars = name.chars().count();
        let ok = |c: char| {
            c.is_ascii_alphanumeric() || c == '-' || c == '_' || (what == "name" && c == '.')
        };
        if chars == 0 {
            return Err(format!("the repository {what} is empty"));
        }
        if chars > MAX_NAME_CHARS {
            return Err(format!(
                "the repository {what} is {chars} characters long; GitHub's are at most \
                 {MAX_NAME_CHARS}"
            ));
        }
        if let Some(bad) = name.chars().find(|c| !ok(*c)) {
            return Err(format!(
                "the repository {what} {name:?} contains {bad:?}; GitHub allows only {allowed}"
            ));
        }
    }
    Ok(())
}

/// Workflow id of the plugin check of a PR: `plugin-validation-{owner}/{repo}#{pr}`. GitHub
/// names hold neither `/` nor `#`, so no two repositories share an id (with `-` between
/// them, `acme/foo-bar` and `acme-foo/bar` did).
pub fn plugin_workflow_id(owner: &str, repo: &str, pr: u64) -> String {
    format!("plugin-validation-{owner}/{repo}#{pr}")
}

/// Workflow id of the version check of a PR: `version-validation-{owner}/{repo}#{pr}`.
pub fn version_workflow_id(owner: &str, repo: &str, pr: u64) -> String {
    format!("version-validation-{owner}/{repo}#{pr}")
}

/// Workflow id of the `CheckRunClaimWorkflow` that records a check's run on one head of a PR:
/// `{check's workflow id}@{head}`, such as `version-validation-acme/shop#12@0123abc…`. Temporal
/// starts one execution per id (within the namespace's retention), so the id is the memory
/// that this head's run may exist.
pub fn check_run_workflow_id(check_workflow_id: &str, head_sha: &str) -> String {
    format!("{check_workflow_id}@{head_sha}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_input_decodes() {
        let input: PluginUpdateValidationInput = serde_json::from_str(
            r#"{"Owner":"fyrsmithlabs","Repo":"contextd","PRNumber":65,"HeadSHA":"abc123"}"#,
        )
        .unwrap();
        assert_eq!(input.pull_request.pr_number, 65);
        assert_eq!(input.pull_request.owner, "fyrsmithlabs");
        assert_eq!(input.head_sha, "abc123");
        assert!(validate_target(&input.pull_request, &input.head_sha).is_ok());
        assert_eq!(
            serde_json::to_string(&input).unwrap(),
            r#"{"Owner":"fyrsmithlabs","Repo":"contextd","PRNumber":65,"BaseBranch":"","HeadBranch":"","HeadSHA":"abc123"}"#
        );
        let version: VersionValidationInput =
            serde_json::from_str(r#"{"Owner":"o","Repo":"r","PRNumber":7,"HeadSHA":"abc"}"#)
                .unwrap();
        assert_eq!(
            (
                version.pull_request.repo.as_str(),
                version.pull_request.pr_number
            ),
            ("r", 7)
        );
        let result = serde_json::to_value(PluginUpdateValidationResult::default()).unwrap();
        for key in [
            "CodeFilesChanged",
            "PluginFilesChanged",
            "NeedsUpdate",
            "SchemaValid",
            "CommentPosted",
            "CommentURL",
            "Errors",
        ] {
            assert!(result.get(key).is_some(), "{key}");
        }
        // The shared fields sit at the top level of the JSON, after the check's own, and
        // read back.
        let result = PluginUpdateValidationResult {
            needs_update: true,
            reported: Reported {
                head_sha: "abc123".to_owned(),
                errors: vec!["e".to_owned()],
                ..Reported::default()
            },
            ..PluginUpdateValidationResult::default()
        };
        let json = serde_json::to_string(&result).unwrap();
        assert!(
            json.ends_with(
                r#""SchemaValid":false,"CommentPosted":false,"CommentURL":"","CheckRunPosted":false,"CheckRunURL":"","HeadSHA":"abc123","Errors":["e"]}"#
            ),
            "{json}"
        );
        assert_eq!(
            serde_json::from_str::<PluginUpdateValidationResult>(&json).unwrap(),
            result
        );
        let version = serde_json::to_value(VersionValidationResult::default()).unwrap();
        for key in ["VersionMatches", "CheckRunURL", "HeadSHA", "Errors"] {
            assert!(version.get(key).is_some(), "{key}");
        }
        let nameless = PullRequest {
            repo: "r".to_owned(),
            ..PullRequest::default()
        };
        assert!(validate_target(&nameless, "")
            .unwrap_err()
            .contains("Owner, PRNumber, HeadSHA"));
    }

    #[test]
    fn workflow_ids_are_unique_per_repository_and_pr() {
        assert_ne!(
            plugin_workflow_id("acme", "foo-bar", 5),
            plugin_workflow_id("acme-foo", "bar", 5)
        );
        assert_ne!(
            version_workflow_id("acme", "foo-bar", 5),
            version_workflow_id("acme-foo", "bar", 5)
        );
        assert_ne!(
            plugin_workflow_id("acme", "foo", 15),
            plugin_workflow_id("acme", "foo-1", 5)
        );
        assert_eq!(
            plugin_workflow_id("fyrsmithlabs", "contextd", 65),
            "plugin-validation-fyrsmithlabs/contextd#65"
        );
    }

    #[test]
    fn repository_names_github_cannot_have_are_refused_with_the_reason() {
        assert!(validate_repository("Codertocat", "Hello-World").is_ok());
        assert!(validate_repository("user_emu", "site.github.io").is_ok());
        let long = "o".repeat(300);
        let err = validate_repository(&long, "repo").unwrap_err();
        assert!(err.contains("owner") && err.contains("300"), "{err}");
        assert!(validate_repository("acme", "")
            .unwrap_err()
            .contains("name"));
        let err = validate_repository("acme", "a/b").unwrap_err();
        assert!(err.contains("'/'"), "{err}");
        assert!(validate_repository("ac.me", "x").is_err());
    }
}
