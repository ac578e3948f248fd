//! The decisions behind gdt's two pull-request checks, as pure functions.
//!
//! A GitHub webhook starts two workflows for a pull request. *Plugin update validation*
//! reminds authors to update the Claude Code plugin (`.claude-plugin/`) when they change
//! the code it describes, and checks the plugin's JSON files. *Version validation* checks
//! that the `VERSION` file and `.claude-plugin/plugin.json` state the same Semantic
//! Versioning 2.0.0 version. The workflows and activities fetch files and post results;
//! every decision they act on is made here.
//!
//! This crate does no I/O, reads no clock and knows nothing of Temporal or HTTP, so the
//! decisions are unit-tested from tables and behave the same in an activity, a workflow
//! or a test. Every type that crosses an activity boundary is `Serialize + Deserialize`.
//!
//! # Layout
//!
//! - [`categorize`]: glob patterns sorting changed files into code files (which call for a
//!   plugin update) and plugin files.
//! - [`json_check`]: which plugin files are JSON to check; parsing and JSON Schema
//!   validation, with every problem placed at a line and column of the source.
//! - [`version`]: reading the two versions and comparing them into a [`VersionVerdict`].
//! - [`comment`]: the hidden markers that let each check find and edit its one comment, and
//!   the Markdown bodies.
//! - [`check`]: the two checks and their names, which the comments and the check runs share.
//! - [`check_run`]: the check run (conclusion, summary, annotations) each check reports.

pub mod categorize;
pub mod check;
pub mod check_run;
pub mod comment;
pub mod json_check;
pub mod version;

pub use categorize::{
    Categorized, ChangedFile, CompiledPatterns, FilePatterns, FileStatus, PatternError, PatternList,
};
pub use check::Check;
pub use check_run::{Annotation, AnnotationLevel, CheckRunReport, Conclusion, MAX_ANNOTATIONS};
pub use comment::{
    find_owned_comment, marker_of, render_plugin_cleared, render_plugin_comment,
    render_version_comment, reported_failure, PluginReport, GITHUB_PR_FILES_LIMIT, PLUGIN_MARKER,
    VERSION_MARKER,
};
pub use json_check::{
    check_json_file, compile_schema_rules, is_json_plugin_file, json_files_to_check,
    CompiledSchemaRule, JsonProblem, SchemaRule, SchemaRuleError,
};
pub use version::{
    compare, compare_with_paths, mismatch_hint, parse_version_file, plugin_version, VersionPaths,
    VersionProblem, VersionVerdict,
};
