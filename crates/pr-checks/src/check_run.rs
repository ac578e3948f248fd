//! The GitHub check runs the two checks report, as data the GitHub client can send.

use serde::{Deserialize, Serialize};

use crate::check::Check;
use crate::comment::{plugin_sections, version_sections, PluginReport};
use crate::version::{mismatch_hint, VersionPaths, VersionVerdict};

/// A check run's outcome and output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckRunReport {
    /// The check run's name, which is also what branch protection rules refer to.
    pub name: String,
    pub conclusion: Conclusion,
    pub title: String,
    /// Markdown.
    pub summary: String,
    /// At most [`MAX_ANNOTATIONS`], the number GitHub accepts in one request.
    pub annotations: Vec<Annotation>,
}

/// The subset of GitHub's check run conclusions these checks use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Conclusion {
    Success,
    Failure,
    /// Worth a look, but nothing is wrong for sure: merging stays allowed.
    Neutral,
}

/// A note on a line of a file, shown in the pull request's diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Annotation {
    pub path: String,
    pub start_line: u32,
    pub end_line: u32,
    pub start_column: u32,
    pub end_column: u32,
    pub level: AnnotationLevel,
    pub message: String,
}

/// GitHub's `annotation_level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnnotationLevel {
    Notice,
    Warning,
    Failure,
}

/// GitHub takes at most this many annotations per create or update request.
pub const MAX_ANNOTATIONS: usize = 50;

impl Conclusion {
    /// GitHub's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Neutral => "neutral",
        }
    }
}

impl AnnotationLevel {
    /// GitHub's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Notice => "notice",
            Self::Warning => "warning",
            Self::Failure => "failure",
        }
    }
}

impl CheckRunReport {
    /// The plugin-update check run: a failure when a plugin JSON file has problems (each
    /// one annotated where it is), neutral when code changed without a plugin update (a
    /// reminder, not a verdict), a success otherwise.
    pub fn from_plugin_report(report: &PluginReport) -> Self {
        let n = report.problems.len();
        let (conclusion, title) = if n > 0 {
            (
                Conclusion::Failure,
                format!(
                    "{n} {} in plugin JSON files",
                    if n == 1 { "problem" } else { "problems" }
                ),
            )
        } else if !report.plugin_files.is_empty() {
            (
                Conclusion::Success,
                "Plugin files updated and valid".to_owned(),
            )
        } else if !report.code_files.is_empty() {
            (
                Conclusion::Neutral,
                "Code changed but no plugin files did".to_owned(),
            )
        } else {
            (Conclusion::Success, "No plugin update needed".to_owned())
        };
        let annotations = report
            .problems
            .iter()
            .take(MAX_ANNOTATIONS)
            .map(|p| Annotation {
                path: p.path.clone(),
                start_line: p.line,
                end_line: p.line,
                start_column: p.column,
                end_column: p.column,
                level: AnnotationLevel::Failure,
                message: p.message.clone(),
            })
            .collect();
        Self {
            name: Check::PluginUpdateValidation.name().to_owned(),
            conclusion,
            title,
            summary: plugin_sections(report),
            annotations,
        }
    }

    /// The version check run: a success when the versions match, a failure on a mismatch
    /// (annotated on the first line of the `VERSION` file) or on any error.
    pub fn from_version_verdict(verdict: &VersionVerdict, paths: &VersionPaths) -> Self {
        let (conclusion, title) = if verdict.matches {
            (
                Conclusion::Success,
                format!("Versions match: {}", verdict.version_file),
            )
        } else if verdict.is_mismatch() {
            (
                Conclusion::Failure,
                format!(
                    "Version mismatch: {} vs {}",
                    verdict.version_file, verdict.plugin_version
                ),
            )
        } else {
            let n = verdict.errors.len();
            (
                Conclusion::Failure,
                format!(
                    "{n} version {}",
                    if n == 1 { "problem" } else { "problems" }
                ),
            )
        };
        let annotations = mismatch_hint(verdict, paths)
            .map(|message| Annotation {
                path: paths.version_file.clone(),
                start_line: 1,
                end_line: 1,
                start_column: 1,
                end_column: 1,
                level: AnnotationLevel::Failure,
                message,
            })
            .into_iter()
            .collect();
        Self {
            name: Check::VersionValidation.name().to_owned(),
            conclusion,
            title,
            summary: version_sections(verdict, paths, false),
            annotations,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json_check::JsonProblem;
    use crate::version::{compare, parse_version_file};

    fn problem(path: &str, line: u32, column: u32) -> JsonProblem {
        JsonProblem {
            path: path.to_owned(),
            line,
            column,
            message: format!("bad at {line}"),
        }
    }

    fn report(code: &[&str], plugin: &[&str], problems: Vec<JsonProblem>) -> PluginReport {
        PluginReport {
            head_sha: "abc".to_owned(),
            code_files: code.iter().map(|s| (*s).to_owned()).collect(),
            plugin_files: plugin.iter().map(|s| (*s).to_owned()).collect(),
            problems,
            truncated: false,
        }
    }

    #[test]
    fn plugin_check_run_conclusions() {
        // (case, report, conclusion, title, annotation count)
        let cases = [
            (
                "nothing",
                report(&[], &[], vec![]),
                Conclusion::Success,
                "No plugin update needed",
                0,
            ),
            (
                "reminder",
                report(&["a.go"], &[], vec![]),
                Conclusion::Neutral,
                "Code changed but no plugin files did",
                0,
            ),
            (
                "updated",
                report(&["a.go"], &["p.json"], vec![]),
                Conclusion::Success,
                "Plugin files updated and valid",
                0,
            ),
            (
                "one problem",
                report(&[], &["p.json"], vec![problem("p.json", 3, 4)]),
                Conclusion::Failure,
                "1 problem in plugin JSON files",
                1,
            ),
            (
                "many problems",
                report(
                    &["a.go"],
                    &["p.json"],
                    (1..=60).map(|l| problem("p.json", l, 1)).collect(),
                ),
                Conclusion::Failure,
                "60 problems in plugin JSON files",
                MAX_ANNOTATIONS,
            ),
        ];
        for (name, report, conclusion, title, annotations) in cases {
            let run = CheckRunReport::from_plugin_report(&report);
            assert_eq!(run.name, "plugin-update-validation", "{name}");
            assert_eq!(run.conclusion, conclusion, "{name}");
            assert_eq!(run.title, title, "{name}");
            assert_eq!(run.annotations.len(), annotations, "{name}");
            assert!(!run.summary.is_empty(), "{name}");
            assert!(
                !run.summary.contains("<!--"),
                "{name}: the summary has no hidden markers"
            );
        }

        let run = CheckRunReport::from_plugin_report(&report(
            &[],
            &["p.json"],
            vec![problem("p.json", 3, 4)],
        ));
        assert_eq!(
            run.annotations,
            [Annotation {
                path: "p.json".into(),
                start_line: 3,
                end_line: 3,
                start_column: 4,
                end_column: 4,
                level: AnnotationLevel::Failure,
                message: "bad at 3".into(),
            }]
        );
    }

    #[test]
    fn version_check_run_conclusions() {
        let paths = VersionPaths::default();
        let v = |s: Option<&str>| s.map(parse_version_file);
        // (case, VERSION, plugin.json, conclusion, title, annotated)
        let cases = [
            (
                "match",
                Some("1.2.3"),
                Some("1.2.3"),
                Conclusion::Success,
                "Versions match: 1.2.3",
                false,
            ),
            (
                "mismatch",
                Some("1.2.3"),
                Some("1.3.0"),
                Conclusion::Failure,
                "Version mismatch: 1.2.3 vs 1.3.0",
                true,
            ),
            (
                "missing",
                None,
                Some("1.3.0"),
                Conclusion::Failure,
                "1 version problem",
                false,
            ),
            (
                "both bad",
                Some("v1"),
                None,
                Conclusion::Failure,
                "2 version problems",
                false,
            ),
        ];
        for (name, file, plugin, conclusion, title, annotated) in cases {
            let run = CheckRunReport::from_version_verdict(&compare(v(file), v(plugin)), &paths);
            assert_eq!(run.name, "version-validation", "{name}");
            assert_eq!(run.conclusion, conclusion, "{name}");
            assert_eq!(run.title, title, "{name}");
            assert_eq!(run.annotations.len(), usize::from(annotated), "{name}");
            if annotated {
                assert_eq!(run.annotations[0].path, "VERSION");
                assert!(
                    run.annotations[0]
                        .message
                        .contains("set VERSION to \"1.3.0\""),
                    "{:?}",
                    run.annotations
                );
            }
        }
    }

    #[test]
    fn spellings_match_github() {
        for conclusion in [
            Conclusion::Success,
            Conclusion::Failure,
            Conclusion::Neutral,
        ] {
            assert_eq!(
                serde_json::to_value(conclusion).unwrap(),
                conclusion.as_str()
            );
        }
        for level in [
            AnnotationLevel::Notice,
            AnnotationLevel::Warning,
            AnnotationLevel::Failure,
        ] {
            assert_eq!(serde_json::to_value(level).unwrap(), level.as_str());
        }
    }
}
