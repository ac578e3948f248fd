//! The bot comments: finding the one a check owns, and rendering its Markdown body.
//!
//! Each check keeps one comment per pull request and edits it when its verdict changes rather
//! than adding another. The comment is recognised by a hidden HTML marker on its first line
//! ([`PLUGIN_MARKER`], [`VERSION_MARKER`]); a second hidden line records whether it reported a
//! failure, so a later run can tell "fixed" from "fine all along" without any state of its own:
//!
//! ```text
//! <!-- gdt:check=version-validation -->
//! <!-- gdt:result=failure -->
//! ```
//!
//! The body names no commit: a push that leaves the verdict as it was leaves the comment as it
//! was, so the check writes nothing and its lookup of the comments is a `304` GitHub does not
//! count. The check run on each head says which commit was judged. (Comments written before
//! carried a `<!-- gdt:head-sha=… -->` line; they are rewritten once, on the next push.)
//!
//! Everything taken from the pull request (file names, found versions, parser messages)
//! is escaped before it reaches Markdown, and the sequence `<!--` in it is broken up, so
//! a file name can neither format the comment nor forge a marker.

use serde::{Deserialize, Serialize};

use crate::check::Check;
use crate::json_check::JsonProblem;
use crate::version::{differ_only_in_build_metadata, VersionPaths, VersionVerdict};

/// Marks the comment owned by the plugin-update check.
pub const PLUGIN_MARKER: &str = "<!-- gdt:check=plugin-update-validation -->";
/// Marks the comment owned by the version check.
pub const VERSION_MARKER: &str = "<!-- gdt:check=version-validation -->";

/// GitHub lists at most this many files of a pull request.
pub const GITHUB_PR_FILES_LIMIT: usize = 3000;

/// At most this many files or problems are listed in one section of a body; the rest
/// are counted. GitHub rejects comments over 65,536 characters.
pub const MAX_LISTED: usize = 50;

/// What the plugin-update check found for one head commit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginReport {
    pub head_sha: String,
    /// Changed files that call for a plugin update ([`crate::Categorized::code_files`]).
    pub code_files: Vec<String>,
    /// Changed plugin files ([`crate::Categorized::plugin_files`]).
    pub plugin_files: Vec<String>,
    /// Problems in the plugin JSON files that were checked.
    pub problems: Vec<JsonProblem>,
    /// The pull request changes more files than GitHub lists
    /// ([`GITHUB_PR_FILES_LIMIT`]), so the check saw only some of them.
    pub truncated: bool,
}

const RESULT_PREFIX: &str = "<!-- gdt:result=";
const MARKER_SUFFIX: &str = " -->";

/// Stops a section from growing past this many characters, whatever `MAX_LISTED` allows;
/// file names can be long.
const SECTION_BUDGET: usize = 15_000;

/// The marker of `check`'s comment.
pub fn marker_of(check: Check) -> &'static str {
    match check {
        Check::PluginUpdateValidation => PLUGIN_MARKER,
        Check::VersionValidation => VERSION_MARKER,
    }
}

/// The id of the comment that carries `marker`; the oldest (smallest id) when several do,
/// which can happen when two runs raced to create it.
///
/// Pass only comments written by the bot itself: a person can paste a marker into theirs.
pub fn find_owned_comment(comments: &[(u64, &str)], marker: &str) -> Option<u64> {
    comments
        .iter()
        .filter(|(_, body)| body.contains(marker))
        .map(|(id, _)| *id)
        .min()
}

/// Whether a body reported a failure (a version mismatch, a version or JSON error): the
/// `previously_mismatched` of [`render_version_comment`].
pub fn reported_failure(body: &str) -> bool {
    hidden_value(body, RESULT_PREFIX) == Some("failure")
}

/// The plugin-update comment, or `None` when the pull request changes neither code nor
/// plugin files and there is nothing to say.
///
/// With code files but no plugin files the body is a reminder to update `.claude-plugin/`;
/// with plugin files it reports them valid, or lists their JSON problems as
/// `path:line:column: message`.
pub fn render_plugin_comment(report: &PluginReport) -> Option<String> {
    if report.code_files.is_empty() && report.plugin_files.is_empty() && report.problems.is_empty()
    {
        return None;
    }
    let failed = !report.problems.is_empty();
    Some(with_header(
        Check::PluginUpdateValidation,
        failed,
        &plugin_sections(report),
    ))
}

/// The body that replaces an existing plugin-update comment once a push leaves the pull
/// request with nothing to say (the code changes were reverted), so no stale reminder stays.
pub fn render_plugin_cleared() -> String {
    with_header(
        Check::PluginUpdateValidation,
        false,
        "✅ This pull request no longer changes code that calls for a plugin update.\n",
    )
}

/// The version comment.
///
/// A mismatch says which of the two files to change and to what; a match says "fixed"
/// when `previously_mismatched` (the earlier comment reported a failure, see
/// [`reported_failure`]) and is a short confirmation otherwise; errors are listed.
pub fn render_version_comment(
    verdict: &VersionVerdict,
    paths: &VersionPaths,
    previously_mismatched: bool,
) -> String {
    let failed = !verdict.matches;
    with_header(
        Check::VersionValidation,
        failed,
        &version_sections(verdict, paths, previously_mismatched),
    )
}

/// The Markdown of a plugin report, without the hidden header; also a check run's summary.
pub(crate) fn plugin_sections(report: &PluginReport) -> String {
    let mut out = String::new();
    if report.truncated {
        out.push_str(&format!(
            "ℹ️ This pull request changes more than {} files. GitHub lists only the first {}, \
             so files past them were not checked.\n\n",
            thousands(GITHUB_PR_FILES_LIMIT),
            thousands(GITHUB_PR_FILES_LIMIT),
        ));
    }
    if !report.problems.is_empty() {
        let n = report.problems.len();
        out.push_str(&format!(
            "❌ **{n} {} in plugin JSON files.** Please fix {}:\n\n",
            plural(n, "problem", "problems"),
            plural(n, "it", "them")
        ));
        let lines: Vec<String> = report
            .problems
            .iter()
            .map(|p| format!("{}:{}:{}: {}", p.path, p.line, p.column, p.message))
            .collect();
        push_code_block(&mut out, &lines);
        if !report.plugin_files.is_empty() {
            push_details(&mut out, "Changed plugin files", &report.plugin_files);
        }
    } else if !report.plugin_files.is_empty() {
        out.push_str("✅ **Plugin files updated and valid.**\n\nChanged plugin files:\n\n");
        push_file_list(&mut out, &report.plugin_files);
    } else if !report.code_files.is_empty() {
        out.push_str(
            "⚠️ **Plugin update needed?** This pull request changes code that the Claude Code plugin \
             describes, but no file under `.claude-plugin/` changed. If it adds, removes or changes \
             tools, handlers or settings, please update the plugin files (such as \
             `.claude-plugin/plugin.json`) in this pull request.\n\nChanged code files:\n\n",
        );
        push_file_list(&mut out, &report.code_files);
        return out;
    } else {
        out.push_str("✅ No changed file calls for a plugin update.\n");
        return out;
    }
    if !report.code_files.is_empty() {
        push_details(
            &mut out,
            "Changed code files that call for a plugin update",
            &report.code_files,
        );
    }
    out
}

/// The Markdown of a version verdict, without the hidden header; also a check run's
/// summary.
pub(crate) fn version_sections(
    verdict: &VersionVerdict,
    paths: &VersionPaths,
    previously_mismatched: bool,
) -> String {
    let (file_path, json_path) = (
        code_span(&paths.version_file),
        code_span(&paths.plugin_json),
    );
    let (file, plugin) = (
        code_span(&verdict.version_file),
        code_span(&verdict.plugin_version),
    );
    if verdict.matches {
        return if previously_mismatched {
            format!("✅ **Fixed:** {file_path} and {json_path} now both say {file}.\n")
        } else {
            format!("✅ {file_path} and {json_path} both say {file}.\n")
        };
    }
    if verdict.is_mismatch() {
        let mut out = format!(
            "❌ **Version mismatch:** {file_path} says {file} but {json_path} says {plugin}.\n\n\
             To fix it, either\n\n\
             - set {file_path} to {plugin}, or\n\
             - set `version` in {json_path} to {file}.\n"
        );
        if differ_only_in_build_metadata(&verdict.version_file, &verdict.plugin_version) {
            out.push_str(
                "\nThey differ only in build metadata (after `+`), which must match too.\n",
            );
        }
        return out;
    }
    let n = verdict.errors.len();
    let mut out = format!(
        "❌ **The version check found {n} {}:**\n\n",
        plural(n, "problem", "problems")
    );
    for error in &verdict.errors {
        out.push_str(&format!("- {}\n", escape_text(error)));
    }
    out.push_str(&format!(
        "\nBoth files must exist at the head commit and hold the same \
         [Semantic Versioning 2.0.0](https://semver.org) version, such as `1.2.3`, `1.0.0-rc.1` or \
         `1.0.0+build.123`; {json_path} holds it in its `version` field.\n"
    ));
    out
}

fn with_header(check: Check, failed: bool, sections: &str) -> String {
    let title = match check {
        Check::PluginUpdateValidation => "Plugin update validation",
        Check::VersionValidation => "Version validation",
    };
    let result = if failed { "failure" } else { "success" };
    format!(
        "{}\n{RESULT_PREFIX}{result}{MARKER_SUFFIX}\n### {title}\n\n{sections}\n\
         <sub>This comment is updated when the result changes; each commit's check run \
         shows the result for that commit.</sub>\n",
        marker_of(check)
    )
}

/// The value of the first hidden `<!-- gdt:NAME=VALUE -->` line with `prefix`.
fn hidden_value<'b>(body: &'b str, prefix: &str) -> Option<&'b str> {
    let start = body.find(prefix)? + prefix.len();
    let rest = &body[start..];
    Some(rest[..rest.find(MARKER_SUFFIX)?].trim())
}

fn push_file_list(out: &mut String, files: &[String]) {
    let items: Vec<String> = files
        .iter()
        .map(|f| format!("- {}\n", code_span(f)))
        .collect();
    push_bounded(out, &items, |left| format!("- …and {left} more\n"));
}

fn push_details(out: &mut String, summary: &str, files: &[String]) {
    out.push_str(&format!(
        "\n<details><summary>{summary} ({})</summary>\n\n",
        files.len()
    ));
    push_file_list(out, files);
    out.push_str("\n</details>\n");
}

/// A fenced block of plain lines; the fence is longer than any backtick run inside.
fn push_code_block(out: &mut String, lines: &[String]) {
    let lines: Vec<String> = lines
        .iter()
        .map(|l| format!("{}\n", defuse(&one_line(l))))
        .collect();
    let fence = "`".repeat(3.max(longest_backtick_run(&lines.concat()) + 1));
    out.push_str(&format!("{fence}text\n"));
    push_bounded(out, &lines, |left| format!("…and {left} more\n"));
    out.push_str(&format!("{fence}\n"));
}

/// Appends items while both [`MAX_LISTED`] and [`SECTION_BUDGET`] allow, then a line
/// counting the rest.
fn push_bounded(out: &mut String, items: &[String], more: impl Fn(usize) -> String) {
    let mut used = 0;
    for (i, item) in items.iter().enumerate() {
        let len = item.chars().count();
        if i == MAX_LISTED || used + len > SECTION_BUDGET {
            out.push_str(&more(items.len() - i));
            return;
        }
        used += len;
        out.push_str(item);
    }
}

/// An inline code span holding `text` literally, whatever backticks it contains.
fn code_span(text: &str) -> String {
    let text = defuse(&one_line(text));
    let fence = "`".repeat(longest_backtick_run(&text) + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// Plain text with Markdown and HTML made inert and mentions made harmless.
fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in one_line(text).chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|' | '~' | '!' | '&' => {
                out.push('\\');
                out.push(c);
            }
            // A zero-width space keeps "@someone" from notifying anyone.
            '@' => out.push_str("@\u{200B}"),
            _ => out.push(c),
        }
    }
    out
}

/// Breaks up `<!--` so text from a pull request cannot carry a marker.
fn defuse(text: &str) -> String {
    text.replace("<!--", "<\u{200B}!--")
}

fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

fn plural<'w>(n: usize, one: &'w str, many: &'w str) -> &'w str {
    if n == 1 {
        one
    } else {
        many
    }
}

fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::{compare, parse_version_file};

    const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

    fn report(code: &[&str], plugin: &[&str], problems: &[(&str, u32, u32, &str)]) -> PluginReport {
        PluginReport {
            head_sha: SHA.to_owned(),
            code_files: code.iter().map(|s| (*s).to_owned()).collect(),
            plugin_files: plugin.iter().map(|s| (*s).to_owned()).collect(),
            problems: problems
                .iter()
                .map(|(path, line, column, message)| JsonProblem {
                    path: (*path).to_owned(),
                    line: *line,
                    column: *column,
                    message: (*message).to_owned(),
                })
                .collect(),
            truncated: false,
        }
    }

    fn verdict(file: Option<&str>, plugin: Option<&str>) -> VersionVerdict {
        compare(file.map(parse_version_file), plugin.map(parse_version_file))
    }

    /// Checks that `body` (of the case `name`) holds every fragment of `want` and none of
    /// `absent`.
    fn assert_fragments(name: &str, body: &str, want: &[&str], absent: &[&str]) {
        for fragment in want {
            assert!(
                body.contains(fragment),
                "{name}: {fragment:?} missing from\n{body}"
            );
        }
        for fragment in absent {
            assert!(
                !body.contains(fragment),
                "{name}: {fragment:?} present in\n{body}"
            );
        }
    }

    #[test]
    fn markers_find_the_oldest_owned_comment() {
        let plugin_body = render_plugin_comment(&report(&["a.go"], &[], &[])).unwrap();
        let version_body = render_version_comment(
            &verdict(Some("1.0.0"), Some("1.0.0")),
            &VersionPaths::default(),
            false,
        );
        // (comments, marker, expected id)
        type Case<'a> = (Vec<(u64, &'a str)>, &'a str, Option<u64>);
        let cases: Vec<Case<'_>> = vec![
            (vec![], PLUGIN_MARKER, None),
            (vec![(1, "hello"), (2, "LGTM")], PLUGIN_MARKER, None),
            (
                vec![(1, "hello"), (7, &plugin_body), (9, &version_body)],
                PLUGIN_MARKER,
                Some(7),
            ),
            (
                vec![(1, "hello"), (7, &plugin_body), (9, &version_body)],
                VERSION_MARKER,
                Some(9),
            ),
            (
                vec![(12, &plugin_body), (5, &plugin_body), (8, &plugin_body)],
                PLUGIN_MARKER,
                Some(5),
            ),
        ];
        for (comments, marker, want) in cases {
            assert_eq!(
                find_owned_comment(&comments, marker),
                want,
                "{marker} in {:?}",
                comments.iter().map(|c| c.0).collect::<Vec<_>>()
            );
        }
        assert_eq!(marker_of(Check::PluginUpdateValidation), PLUGIN_MARKER);
        assert_eq!(marker_of(Check::VersionValidation), VERSION_MARKER);
        assert!(plugin_body.starts_with(PLUGIN_MARKER));
        assert!(version_body.starts_with(VERSION_MARKER));
    }

    #[test]
    fn the_result_reads_back_and_no_commit_is_named() {
        let failing =
            render_plugin_comment(&report(&[], &["p.json"], &[("p.json", 1, 1, "bad")])).unwrap();
        let passing = render_version_comment(
            &verdict(Some("1.0.0"), Some("1.0.0")),
            &VersionPaths::default(),
            true,
        );
        let cases = [
            (failing.as_str(), true),
            (passing.as_str(), false),
            ("no markers", false),
            ("<!-- gdt:result=failure", false),
            (
                "<!-- gdt:head-sha=abc123 -->\n<!-- gdt:result=failure -->",
                true,
            ),
        ];
        for (body, failed) in cases {
            assert_eq!(reported_failure(body), failed, "{body}");
        }
        for body in [&failing, &passing] {
            assert!(!body.contains("head-sha"), "{body}");
            assert!(!body.contains(&SHA[..7]), "{body}");
        }
    }

    #[test]
    fn a_new_head_with_the_same_verdict_renders_the_same_body() {
        let at = |sha: &str| {
            render_plugin_comment(&PluginReport {
                head_sha: sha.to_owned(),
                ..report(
                    &["internal/mcp/tools.go"],
                    &[".claude-plugin/plugin.json"],
                    &[],
                )
            })
        };
        assert_eq!(at(SHA), at("fedcba9876543210fedcba9876543210fedcba98"));
        assert_ne!(
            at(SHA),
            render_plugin_comment(&report(&["internal/mcp/tools.go"], &[], &[])),
            "a different verdict is a different body"
        );
    }

    #[test]
    fn plugin_comment_sections() {
        // (case, report, Some(fragments expected) or None for no comment, fragments that must be absent)
        type Case<'a> = (&'a str, PluginReport, Option<Vec<&'a str>>, Vec<&'a str>);
        let cases: Vec<Case<'_>> = vec![
            ("nothing changed", report(&[], &[], &[]), None, vec![]),
            (
                "reminder",
                report(&["internal/mcp/tools.go", "internal/config/types.go"], &[], &[]),
                Some(vec![
                    "⚠️ **Plugin update needed?**",
                    "`.claude-plugin/`",
                    "- `internal/mcp/tools.go`\n- `internal/config/types.go`\n",
                    "<!-- gdt:result=success -->",
                    "updated when the result changes",
                ]),
                vec!["✅", "❌", "<details>"],
            ),
            (
                "success with code files",
                report(&["internal/mcp/tools.go"], &[".claude-plugin/plugin.json"], &[]),
                Some(vec![
                    "✅ **Plugin files updated and valid.**",
                    "- `.claude-plugin/plugin.json`\n",
                    "<details><summary>Changed code files that call for a plugin update (1)</summary>",
                    "- `internal/mcp/tools.go`",
                ]),
                vec!["⚠️", "❌"],
            ),
            (
                "plugin files only",
                report(&[], &[".claude-plugin/commands/x.md"], &[]),
                Some(vec!["✅ **Plugin files updated and valid.**", "- `.claude-plugin/commands/x.md`"]),
                vec!["<details>", "⚠️"],
            ),
            (
                "problems",
                report(
                    &["internal/mcp/tools.go"],
                    &[".claude-plugin/plugin.json", ".claude-plugin/a.json"],
                    &[
                        (".claude-plugin/plugin.json", 3, 14, "schema violation at \"/version\": 1 is not of type \"string\""),
                        (".claude-plugin/a.json", 1, 1, "invalid JSON: EOF while parsing a value"),
                    ],
                ),
                Some(vec![
                    "❌ **2 problems in plugin JSON files.** Please fix them:",
                    "```text\n.claude-plugin/plugin.json:3:14: schema violation at \"/version\": 1 is not of type \"string\"\n\
                     .claude-plugin/a.json:1:1: invalid JSON: EOF while parsing a value\n```\n",
                    "<details><summary>Changed plugin files (2)</summary>",
                    "<!-- gdt:result=failure -->",
                ]),
                vec!["✅", "⚠️"],
            ),
            (
                "one problem",
                report(&[], &["p.json"], &[("p.json", 1, 2, "bad")]),
                Some(vec!["❌ **1 problem in plugin JSON files.** Please fix it:"]),
                vec![],
            ),
            (
                "truncated",
                PluginReport { truncated: true, ..report(&["internal/mcp/tools.go"], &[], &[]) },
                Some(vec!["more than 3,000 files", "only the first 3,000"]),
                vec![],
            ),
        ];
        for (name, report, want, absent) in cases {
            let body = render_plugin_comment(&report);
            let Some(fragments) = want else {
                assert_eq!(body, None, "{name}");
                continue;
            };
            let body = body.unwrap_or_else(|| panic!("{name}: no comment"));
            assert!(body.starts_with(PLUGIN_MARKER), "{name}");
            assert_fragments(name, &body, &fragments, &absent);
        }
    }

    #[test]
    fn cleared_plugin_comment_keeps_the_marker() {
        let body = render_plugin_cleared();
        assert!(body.starts_with(PLUGIN_MARKER));
        assert!(body.contains("no longer changes code"));
        assert!(!reported_failure(&body));
    }

    #[test]
    fn long_lists_are_cut() {
        let many: Vec<String> = (0..120)
            .map(|i| format!("internal/mcp/handlers/h{i}.go"))
            .collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let body = render_plugin_comment(&report(&many, &[], &[])).unwrap();
        assert!(
            body.contains("- `internal/mcp/handlers/h49.go`\n- …and 70 more\n"),
            "{body}"
        );
        assert!(!body.contains("h50.go"));

        let long = "d/".repeat(2000) + "x.go";
        let long_files: Vec<&str> = std::iter::repeat_n(long.as_str(), 40).collect();
        let body = render_plugin_comment(&report(&long_files, &[], &[])).unwrap();
        assert!(
            body.chars().count() < SECTION_BUDGET + 2_000,
            "{}",
            body.len()
        );
        assert!(body.contains("more\n"));
    }

    #[test]
    fn pull_request_text_cannot_format_the_comment_or_forge_a_marker() {
        let evil = format!("a`b``c {VERSION_MARKER}\n**x**.json");
        let body =
            render_plugin_comment(&report(&[], &[&evil], &[(&evil, 1, 1, "```\n<!-- x -->")]))
                .unwrap();
        assert_eq!(find_owned_comment(&[(1, &body)], VERSION_MARKER), None);
        assert_eq!(
            body.matches("<!--").count(),
            2,
            "only the header's markers:\n{body}"
        );
        assert!(
            body.contains(
                "- ```a`b``c <\u{200B}!-- gdt:check=version-validation --> **x**.json```\n"
            ),
            "{body}"
        );
        assert!(
            body.contains("````text\n"),
            "the fence outgrows the message's backticks:\n{body}"
        );

        let verdict = VersionVerdict {
            errors: vec!["VERSION: \"@team <b>*hi*</b>\"".into()],
            ..VersionVerdict::default()
        };
        let body = render_version_comment(&verdict, &VersionPaths::default(), false);
        assert!(
            body.contains("- VERSION: \"@\u{200B}team \\<b\\>\\*hi\\*\\</b\\>\"\n"),
            "{body}"
        );
    }

    #[test]
    fn version_comment_sections() {
        let paths = VersionPaths::default();
        // (case, verdict, previously mismatched, expected fragments, absent fragments)
        type Case<'a> = (&'a str, VersionVerdict, bool, Vec<&'a str>, Vec<&'a str>);
        let cases: Vec<Case<'_>> = vec![
            (
                "mismatch",
                verdict(Some("1.2.3"), Some("1.3.0")),
                false,
                vec![
                    "❌ **Version mismatch:** `VERSION` says `1.2.3` but `.claude-plugin/plugin.json` says `1.3.0`.",
                    "- set `VERSION` to `1.3.0`, or\n- set `version` in `.claude-plugin/plugin.json` to `1.2.3`.",
                    "<!-- gdt:result=failure -->",
                ],
                vec!["build metadata", "✅"],
            ),
            (
                "build metadata mismatch",
                verdict(Some("1.0.0+a"), Some("1.0.0+b")),
                false,
                vec!["differ only in build metadata"],
                vec![],
            ),
            (
                "fixed",
                verdict(Some("2.0.0-beta.1+exp.sha.5114f85"), Some("2.0.0-beta.1+exp.sha.5114f85")),
                true,
                vec![
                    "✅ **Fixed:** `VERSION` and `.claude-plugin/plugin.json` now both say `2.0.0-beta.1+exp.sha.5114f85`.",
                    "<!-- gdt:result=success -->",
                ],
                vec!["❌"],
            ),
            (
                "fine all along",
                verdict(Some("1.0.0"), Some("1.0.0")),
                false,
                vec!["✅ `VERSION` and `.claude-plugin/plugin.json` both say `1.0.0`."],
                vec!["Fixed", "❌"],
            ),
            (
                "errors",
                verdict(None, Some("v1.0.0")),
                true,
                vec![
                    "❌ **The version check found 2 problems:**",
                    "- VERSION: file not found\n",
                    "- .claude-plugin/plugin.json: \"v1.0.0\" is not valid Semantic Versioning: remove the leading \"v\"",
                    "<!-- gdt:result=failure -->",
                ],
                vec!["Fixed", "mismatch"],
            ),
        ];
        for (name, verdict, previously, want, absent) in cases {
            let body = render_version_comment(&verdict, &paths, previously);
            assert!(body.starts_with(VERSION_MARKER), "{name}");
            assert_fragments(name, &body, &want, &absent);
        }
    }

    #[test]
    fn helpers() {
        let spans = [
            ("a", "`a`"),
            ("a`b", "``a`b``"),
            ("`a", "`` `a ``"),
            ("a\nb", "`a b`"),
        ];
        for (text, want) in spans {
            assert_eq!(code_span(text), want, "{text:?}");
        }
        let numbers = [
            (0, "0"),
            (999, "999"),
            (1000, "1,000"),
            (3000, "3,000"),
            (1_234_567, "1,234,567"),
        ];
        for (n, want) in numbers {
            assert_eq!(thousands(n), want);
        }
    }

    #[test]
    fn report_round_trips_through_json() {
        let report = report(&["a.go"], &["p.json"], &[("p.json", 2, 3, "m")]);
        let json = serde_json::to_string(&report).unwrap();
        assert_eq!(serde_json::from_str::<PluginReport>(&json).unwrap(), report);
    }
}
