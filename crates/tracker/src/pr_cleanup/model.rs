//! The clean-up's contract: its workflow id, input, result and the word lists in them. No
//! input carries a GitHub token: activities use the worker's.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The workflow type of the clean-up.
pub const WORKFLOW_TYPE: &str = "PullRequestCleanupWorkflow";

/// Workflow id of a pull request's clean-up: `pr-cleanup-{owner}/{repo}#{number}`. GitHub
/// names hold neither `/` nor `#`, so ids are unique per repository and pull request, and
/// every delivery about one closing (redelivered, or sent to several servers) reaches the
/// same workflow.
pub fn workflow_id(owner: &str, repo: &str, number: u64) -> String {
    format!("pr-cleanup-{owner}/{repo}#{number}")
}

/// A closed pull request, as its `pull_request` `closed` delivery names it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosedPullRequest {
    /// Repository owner.
    pub owner: String,
    /// Repository name.
    pub repo: String,
    /// Pull request number.
    pub number: u64,
    /// Head branch (`pull_request.head.ref`).
    pub head_ref: String,
    /// Whether it was merged (closed without merging otherwise); both are cleaned up.
    #[serde(default)]
    pub merged: bool,
}

/// The input of `PullRequestCleanupWorkflow`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequestCleanupInput {
    /// The pull request that closed.
    #[serde(flatten)]
    pub pull_request: ClosedPullRequest,
    /// Set only by the workflow itself when it continues as new: the work left and what was
    /// done so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continued: Option<Progress>,
}

/// What the worker's configuration says the clean-up does (`pr_cleanup.*`), read by an
/// activity so that the decision is in the history and replay reads no configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CleanupSettings {
    /// `pr_cleanup.enabled`.
    pub enabled: bool,
    /// `pr_cleanup.delete_deployments`.
    pub delete_deployments: bool,
    /// `pr_cleanup.delete_environments`.
    pub delete_environments: bool,
    /// `pr_cleanup.write_interval`, in milliseconds.
    pub write_interval_ms: u64,
}

impl CleanupSettings {
    /// The pause between two writes.
    pub fn write_interval(&self) -> Duration {
        Duration::from_millis(self.write_interval_ms)
    }
}

/// A deployment the clean-up ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preview {
    /// GitHub's deployment id.
    pub deployment_id: u64,
    /// Its environment.
    pub environment: String,
    /// The gdt workflow tracking it (its payload's `workflow_id`), if gdt created it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracker: Option<String>,
}

/// What `FindPreviewDeploymentsActivity` found: the settings, the deployments to end and
/// the environments that may be deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Found {
    /// The worker's settings.
    pub settings: CleanupSettings,
    /// The matched deployments, oldest first.
    pub previews: Vec<Preview>,
    /// Environments named by a pattern that held a matched deployment (never `production`,
    /// never one matched by the head branch alone).
    pub environments: Vec<String>,
}

/// The work left and what was done, carried from one run to the next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// The worker's settings, as the first run read them.
    pub settings: CleanupSettings,
    /// Deployments still to end that no running tracker writes to.
    pub untracked: Vec<Preview>,
    /// Deployments whose running tracker was asked to end them: waited for.
    pub tracked: Vec<Preview>,
    /// Environments still to delete.
    pub environments: Vec<String>,
    /// The previous write's activity wrote: pause before the next.
    pub wrote_last: bool,
    /// What was done so far.
    pub result: PullRequestCleanupResult,
}

/// The result of `PullRequestCleanupWorkflow`: counts, and what was left and why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequestCleanupResult {
    /// Deployments matched.
    pub matched: u64,
    /// Of those, marked `inactive` by this workflow.
    pub inactivated: u64,
    /// Marked `inactive` by their own gdt tracker, on this workflow's signal.
    pub inactivated_by_tracker: u64,
    /// Already `inactive` (or gone) when looked at.
    pub already_inactive: u64,
    /// Deployments deleted (or found already gone).
    pub deployments_deleted: u64,
    /// Environments deleted (or found already gone).
    pub environments_deleted: u64,
    /// What could not be done.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub leftovers: Vec<Leftover>,
    /// `pr_cleanup.enabled` is false on the worker: nothing was looked at.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
}

/// Something the clean-up could not do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leftover {
    /// `deployment` or `environment`.
    pub kind: LeftoverKind,
    /// The deployment id or the environment name.
    pub name: String,
    /// Why.
    pub reason: String,
}

/// What a [`Leftover`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeftoverKind {
    /// A deployment (its id).
    Deployment,
    /// An environment (its name).
    Environment,
}

/// Checks what a clean-up input names: a repository and a pull request that can exist.
pub fn validate(pull_request: &ClosedPullRequest) -> Result<(), String> {
    crate::pr_checks::model::validate_repository(&pull_request.owner, &pull_request.repo)?;
    if pull_request.number == 0 {
        return Err("the pull request number must be at least 1".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_input_words() {
        assert_eq!(workflow_id("acme", "web", 7), "pr-cleanup-acme/web#7");
        let input: PullRequestCleanupInput = serde_json::from_value(serde_json::json!({
            "owner": "acme", "repo": "web", "number": 7, "head_ref": "feature-x"
        }))
        .unwrap();
        assert_eq!(input.pull_request.number, 7);
        assert!(!input.pull_request.merged && input.continued.is_none());
        assert!(validate(&input.pull_request).is_ok());
        let zero = ClosedPullRequest {
            number: 0,
            ..input.pull_request
        };
        assert!(validate(&zero).is_err());
        let result = serde_json::to_value(PullRequestCleanupResult::default()).unwrap();
        assert!(result.get("leftovers").is_none() && result.get("disabled").is_none());
        assert_eq!(
            serde_json::to_value(LeftoverKind::Environment).unwrap(),
            "environment"
        );
    }
}
