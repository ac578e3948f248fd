//! The pull-request checks' contract: seed 001's workflow inputs and results, field for field
//! (`Owner`, `PRNumber`, `HeadSHA`, …), so its `temporal workflow start` example works as
//! written. Unlike the seed, no input carries a GitHub token: activities use the worker's.

use serde::{Deserialize, Serialize};

/// The input of `PluginUpdateValidationWorkflow`. Fields the seed's example leaves out
/// (`BaseBranch`, `HeadBranch`) default to empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PluginUpdateValidationInput {
    /// Repository owner.
    #[serde(rename = "Owner")]
    pub owner: String,
    /// Repository name.
    #[serde(rename = "Repo")]
    pub repo: String,
    /// Pull request number.
    #[serde(rename = "PRNumber")]
    pub pr_number: u64,
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
    /// The check's comment was created or updated.
    #[serde(rename = "CommentPosted")]
    pub comment_posted: bool,
    /// The comment's URL.
    #[serde(rename = "CommentURL")]
    pub comment_url: String,
    /// Problems met on the way (the check still completes).
    #[serde(rename = "Errors")]
    pub errors: Vec<String>,
}

/// The input of `VersionValidationWorkflow`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct VersionValidationInput {
    /// Repository owner.
    #[serde(rename = "Owner")]
    pub owner: String,
    /// Repository name.
    #[serde(rename = "Repo")]
    pub repo: String,
    /// Pull request number.
    #[serde(rename = "PRNumber")]
    pub pr_number: u64,
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
    /// The check's comment was created or updated.
    #[serde(rename = "CommentPosted")]
    pub comment_posted: bool,
    /// The comment's URL.
    #[serde(rename = "CommentURL")]
    pub comment_url: String,
    /// Problems met on the way (the check still completes).
    #[serde(rename = "Errors")]
    pub errors: Vec<String>,
}

/// Why a check input cannot be judged.
pub fn validate_target(
    owner: &str,
    repo: &str,
    pr_number: u64,
    head_sha: &str,
) -> Result<(), String> {
    let mut missing = Vec::new();
    if owner.trim().is_empty() {
        missing.push("Owner");
    }
    if repo.trim().is_empty() {
        missing.push("Repo");
    }
    if pr_number == 0 {
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

/// Workflow id of the plugin check of a PR (seed 001's, with the owner added so two
/// organisations' repositories of the same name do not collide).
pub fn plugin_workflow_id(owner: &str, repo: &str, pr: u64) -> String {
    format!("plugin-validation-{owner}-{repo}-{pr}")
}

/// Workflow id of the version check of a PR.
pub fn version_workflow_id(owner: &str, repo: &str, pr: u64) -> String {
    format!("version-validation-{owner}-{repo}-{pr}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_001s_example_input_decodes() {
        let input: PluginUpdateValidationInput = serde_json::from_str(
            r#"{"Owner":"fyrsmithlabs","Repo":"contextd","PRNumber":65,"HeadSHA":"abc123"}"#,
        )
        .unwrap();
        assert_eq!(input.pr_number, 65);
        assert_eq!(input.head_sha, "abc123");
        assert!(
            validate_target(&input.owner, &input.repo, input.pr_number, &input.head_sha).is_ok()
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
        assert!(validate_target("", "r", 0, "")
            .unwrap_err()
            .contains("Owner, PRNumber, HeadSHA"));
    }
}
