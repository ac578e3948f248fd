//! Custom search attributes that make deployments findable in the Temporal UI and CLI
//! (`temporal workflow list --query 'GdtRepository="acme/api"'`).
//!
//! They must be registered in the namespace before a workflow upserts them; `gdt dev`
//! passes them to the dev server and `gdt worker` registers any that are missing.

use temporalio_common::search_attributes::SearchAttributeKey;

/// `owner/name` of the repository.
pub const REPOSITORY: SearchAttributeKey<String> = SearchAttributeKey::keyword("GdtRepository");
/// The deployment environment (`production`, `staging`, `pr-42`, …).
pub const ENVIRONMENT: SearchAttributeKey<String> = SearchAttributeKey::keyword("GdtEnvironment");
/// The commit SHA being deployed.
pub const COMMIT_SHA: SearchAttributeKey<String> = SearchAttributeKey::keyword("GdtCommitSha");
/// The deployment's current GitHub state (`pending`, `in_progress`, `success`, …).
pub const STATE: SearchAttributeKey<String> = SearchAttributeKey::keyword("GdtState");

/// Every custom search attribute, by name; all are `Keyword`.
pub const ALL: [&str; 4] = [
    "GdtRepository",
    "GdtEnvironment",
    "GdtCommitSha",
    "GdtState",
];
