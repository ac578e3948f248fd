//! Sorting a pull request's changed files into *code files* (whose change calls for a
//! plugin update) and *plugin files* (the update itself).
//!
//! Patterns are globs matched against the whole repository-relative path. `*` and `?`
//! never cross a `/` (so `internal/*/service.go` does not match
//! `internal/a/b/service.go`), `**` spans any number of directories, and `{a,b}` is an
//! alternation.

use std::collections::HashSet;

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use serde::{Deserialize, Serialize};

/// The glob patterns that decide what a changed file is.
///
/// Deserialising fills a missing list with its default, so a configuration that only
/// overrides `code` keeps the default `plugin` patterns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FilePatterns {
    /// Files whose change means the plugin description probably needs updating.
    pub code: Vec<String>,
    /// Files that make up the plugin.
    pub plugin: Vec<String>,
}

/// [`FilePatterns`] ready to match; build it with [`FilePatterns::compile`].
#[derive(Debug, Clone)]
pub struct CompiledPatterns {
    code: GlobSet,
    plugin: GlobSet,
}

/// One entry of a pull request's file list, as GitHub's "list pull request files" gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangedFile {
    /// The path at the head of the pull request.
    pub filename: String,
    pub status: FileStatus,
    /// The path before the change; GitHub sets it for renamed (and copied) files only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_filename: Option<String>,
}

/// GitHub's `status` of a changed file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileStatus {
    Added,
    Removed,
    Modified,
    Renamed,
    Copied,
    Changed,
    Unchanged,
    /// A status this crate does not know yet. It is treated like `modified`: the file is
    /// there at the head, so it is categorised and, if it is JSON, checked.
    #[serde(other)]
    Other,
}

/// The outcome of [`CompiledPatterns::categorize`]: paths in the order the pull request
/// lists them, each at most once per list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Categorized {
    pub code_files: Vec<String>,
    pub plugin_files: Vec<String>,
}

/// Which pattern list a [`PatternError`] comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternList {
    Code,
    Plugin,
}

/// A glob pattern that could not be compiled.
#[derive(Debug, thiserror::Error)]
#[error("invalid {list} file pattern {pattern:?}: {source}")]
pub struct PatternError {
    /// The pattern exactly as configured.
    pub pattern: String,
    pub list: PatternList,
    #[source]
    source: globset::Error,
}

impl Default for FilePatterns {
    /// The patterns of the project this check was written for: the MCP tool surface and
    /// configuration types on the code side, the `.claude-plugin/` folder on the other.
    fn default() -> Self {
        Self {
            code: vec![
                "internal/mcp/tools.go".to_owned(),
                "internal/mcp/handlers/*.go".to_owned(),
                "internal/*/service.go".to_owned(),
                "internal/config/{types,config}.go".to_owned(),
            ],
            plugin: vec![".claude-plugin/**/*".to_owned()],
        }
    }
}

impl FilePatterns {
    /// Compiles both lists, failing on the first bad pattern.
    pub fn compile(&self) -> Result<CompiledPatterns, PatternError> {
        Ok(CompiledPatterns {
            code: compile_set(&self.code, PatternList::Code)?,
            plugin: compile_set(&self.plugin, PatternList::Plugin)?,
        })
    }
}

impl CompiledPatterns {
    /// Sorts `files` into code and plugin files.
    ///
    /// A renamed file counts under its new name and under its previous name: moving a
    /// handler out of `internal/mcp/handlers/` changes the tool surface just as editing it
    /// does. A file that matches both lists appears in both.
    pub fn categorize(&self, files: &[ChangedFile]) -> Categorized {
        let mut out = Categorized::default();
        let mut seen_code = HashSet::new();
        let mut seen_plugin = HashSet::new();
        for file in files {
            let names =
                std::iter::once(file.filename.as_str()).chain(file.previous_filename.as_deref());
            for name in names {
                if self.is_code_file(name) && seen_code.insert(name) {
                    out.code_files.push(name.to_owned());
                }
                if self.is_plugin_file(name) && seen_plugin.insert(name) {
                    out.plugin_files.push(name.to_owned());
                }
            }
        }
        out
    }

    /// Whether `path` matches one of the code patterns.
    pub fn is_code_file(&self, path: &str) -> bool {
        self.code.is_match(path)
    }

    /// Whether `path` matches one of the plugin patterns.
    pub fn is_plugin_file(&self, path: &str) -> bool {
        self.plugin.is_match(path)
    }
}

impl FileStatus {
    /// GitHub's spelling of the status.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "added",
            Self::Removed => "removed",
            Self::Modified => "modified",
            Self::Renamed => "renamed",
            Self::Copied => "copied",
            Self::Changed => "changed",
            Self::Unchanged => "unchanged",
            Self::Other => "other",
        }
    }

    /// Reads GitHub's spelling; anything unknown becomes [`FileStatus::Other`].
    pub fn parse(status: &str) -> Self {
        match status {
            "added" => Self::Added,
            "removed" => Self::Removed,
            "modified" => Self::Modified,
            "renamed" => Self::Renamed,
            "copied" => Self::Copied,
            "changed" => Self::Changed,
            "unchanged" => Self::Unchanged,
            _ => Self::Other,
        }
    }
}

impl std::fmt::Display for PatternList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Code => "code",
            Self::Plugin => "plugin",
        })
    }
}

/// Builds one glob with the crate's matching rules (`*` stops at `/`).
pub(crate) fn glob(pattern: &str) -> Result<Glob, globset::Error> {
    GlobBuilder::new(pattern).literal_separator(true).build()
}

fn compile_set(patterns: &[String], list: PatternList) -> Result<GlobSet, PatternError> {
    let error = |pattern: &String, source| PatternError {
        pattern: pattern.clone(),
        list,
        source,
    };
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        builder.add(glob(pattern).map_err(|e| error(pattern, e))?);
    }
    // Building the set only fails on internal limits (e.g. a regex too large); blame the
    // whole list since no single pattern is at fault.
    builder.build().map_err(|e| PatternError {
        pattern: patterns.join(", "),
        list,
        source: e,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, status: &str) -> ChangedFile {
        ChangedFile {
            filename: name.to_owned(),
            status: FileStatus::parse(status),
            previous_filename: None,
        }
    }

    fn renamed(from: &str, to: &str) -> ChangedFile {
        ChangedFile {
            filename: to.to_owned(),
            status: FileStatus::Renamed,
            previous_filename: Some(from.to_owned()),
        }
    }

    #[test]
    fn default_patterns_classify_paths() {
        let patterns = FilePatterns::default().compile().unwrap();
        // (path, is code, is plugin)
        let cases = [
            ("internal/mcp/tools.go", true, false),
            ("internal/mcp/tools_test.go", false, false),
            ("internal/mcp/handlers/deploy.go", true, false),
            ("internal/mcp/handlers/sub/deploy.go", false, false),
            ("internal/mcp/handlers/README.md", false, false),
            ("internal/deploy/service.go", true, false),
            ("internal/a/b/service.go", false, false),
            ("internal/service.go", false, false),
            ("internal/config/types.go", true, false),
            ("internal/config/config.go", true, false),
            ("internal/config/loader.go", false, false),
            ("cmd/internal/mcp/tools.go", false, false),
            (".claude-plugin/plugin.json", false, true),
            (".claude-plugin/commands/deploy.md", false, true),
            (".claude-plugin/a/b/c.json", false, true),
            (".claude-plugin", false, false),
            ("docs/.claude-plugin/plugin.json", false, false),
            ("README.md", false, false),
        ];
        for (path, code, plugin) in cases {
            assert_eq!(patterns.is_code_file(path), code, "code? {path}");
            assert_eq!(patterns.is_plugin_file(path), plugin, "plugin? {path}");
        }
    }

    #[test]
    fn categorize_keeps_order_dedupes_and_counts_both_names_of_a_rename() {
        let patterns = FilePatterns::default().compile().unwrap();
        // (case, files, code files, plugin files)
        type Case<'a> = (&'a str, Vec<ChangedFile>, Vec<&'a str>, Vec<&'a str>);
        let cases: Vec<Case<'_>> = vec![
            ("empty", vec![], vec![], vec![]),
            (
                "nothing relevant",
                vec![file("README.md", "modified")],
                vec![],
                vec![],
            ),
            (
                "order kept",
                vec![
                    file("internal/mcp/tools.go", "modified"),
                    file(".claude-plugin/plugin.json", "modified"),
                    file("internal/config/types.go", "added"),
                ],
                vec!["internal/mcp/tools.go", "internal/config/types.go"],
                vec![".claude-plugin/plugin.json"],
            ),
            (
                "removed files count",
                vec![
                    file("internal/mcp/handlers/old.go", "removed"),
                    file(".claude-plugin/x.json", "removed"),
                ],
                vec!["internal/mcp/handlers/old.go"],
                vec![".claude-plugin/x.json"],
            ),
            (
                "rename out of a code path counts the old name",
                vec![renamed("internal/mcp/handlers/a.go", "pkg/a.go")],
                vec!["internal/mcp/handlers/a.go"],
                vec![],
            ),
            (
                "rename into a code path counts the new name",
                vec![renamed("pkg/a.go", "internal/mcp/handlers/a.go")],
                vec!["internal/mcp/handlers/a.go"],
                vec![],
            ),
            (
                "rename within plugin files counts both",
                vec![renamed(".claude-plugin/a.json", ".claude-plugin/b.json")],
                vec![],
                vec![".claude-plugin/b.json", ".claude-plugin/a.json"],
            ),
            (
                "no duplicates when a rename's old name is listed again",
                vec![
                    renamed("internal/mcp/tools.go", "internal/mcp/handlers/tools.go"),
                    file("internal/mcp/tools.go", "added"),
                ],
                vec!["internal/mcp/handlers/tools.go", "internal/mcp/tools.go"],
                vec![],
            ),
        ];
        for (name, files, code, plugin) in cases {
            let got = patterns.categorize(&files);
            assert_eq!(got.code_files, code, "{name}: code");
            assert_eq!(got.plugin_files, plugin, "{name}: plugin");
        }
    }

    #[test]
    fn a_file_matching_both_lists_is_in_both() {
        let patterns = FilePatterns {
            code: vec!["**/*.json".into()],
            plugin: vec![".claude-plugin/*".into()],
        };
        let got = patterns
            .compile()
            .unwrap()
            .categorize(&[file(".claude-plugin/plugin.json", "modified")]);
        assert_eq!(got.code_files, [".claude-plugin/plugin.json"]);
        assert_eq!(got.plugin_files, [".claude-plugin/plugin.json"]);
    }

    #[test]
    fn bad_patterns_are_named() {
        let cases = [
            (
                FilePatterns {
                    code: vec!["ok/*.go".into(), "bad/[".into()],
                    plugin: vec![],
                },
                "bad/[",
                PatternList::Code,
            ),
            (
                FilePatterns {
                    code: vec![],
                    plugin: vec!["{a,b".into()],
                },
                "{a,b",
                PatternList::Plugin,
            ),
        ];
        for (patterns, bad, list) in cases {
            let err = patterns.compile().unwrap_err();
            assert_eq!(err.pattern, bad);
            assert_eq!(err.list, list);
            assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");
        }
    }

    #[test]
    fn empty_lists_match_nothing() {
        let patterns = FilePatterns {
            code: vec![],
            plugin: vec![],
        }
        .compile()
        .unwrap();
        assert_eq!(
            patterns.categorize(&[file("internal/mcp/tools.go", "modified")]),
            Categorized::default()
        );
    }

    #[test]
    fn serde_uses_github_spelling_and_defaults() {
        let json = r#"[{"filename":"a","status":"renamed","previous_filename":"b"},
                       {"filename":"c","status":"brand-new-status"}]"#;
        let files: Vec<ChangedFile> = serde_json::from_str(json).unwrap();
        assert_eq!(files[0], renamed("b", "a"));
        assert_eq!(files[1].status, FileStatus::Other);
        assert_eq!(
            serde_json::to_value(FileStatus::Removed).unwrap(),
            "removed"
        );

        let patterns: FilePatterns = serde_json::from_str(r#"{"code":["x/*.go"]}"#).unwrap();
        assert_eq!(patterns.code, ["x/*.go"]);
        assert_eq!(patterns.plugin, FilePatterns::default().plugin);
    }

    #[test]
    fn status_round_trips_through_its_spelling() {
        for status in [
            "added",
            "removed",
            "modified",
            "renamed",
            "copied",
            "changed",
            "unchanged",
        ] {
            assert_eq!(FileStatus::parse(status).as_str(), status);
        }
        assert_eq!(FileStatus::parse("nope"), FileStatus::Other);
    }
}
