//! The version check: the `VERSION` file and the plugin's `plugin.json` must state the
//! same version, and it must be valid [Semantic Versioning 2.0.0](https://semver.org).
//!
//! Versions are compared as the exact strings written (after trimming the `VERSION`
//! file), so `1.0.0+build.1` and `1.0.0+build.2` differ even though SemVer gives them the
//! same precedence: the two files are meant to be copies of each other.

use semver::Version;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Where the two files live in the repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct VersionPaths {
    pub version_file: String,
    pub plugin_json: String,
}

/// Why a file's version could not be read. The messages do not name the file; the
/// caller, which knows the path, prefixes it (as [`compare_with_paths`] does).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum VersionProblem {
    #[error("it is empty")]
    Empty,
    #[error(
        "{} is not valid Semantic Versioning: remove the leading \"v\" and write {suggestion:?}",
        quoted(found)
    )]
    LeadingV { found: String, suggestion: String },
    #[error("{} is not valid Semantic Versioning 2.0.0 ({reason})", quoted(found))]
    InvalidSemver { found: String, reason: String },
    #[error("invalid JSON at line {line} column {column}: {message}")]
    InvalidJson {
        line: u32,
        column: u32,
        message: String,
    },
    #[error("it is not a JSON object")]
    NotAnObject,
    #[error("it has no \"version\" field")]
    MissingVersion,
    #[error("its \"version\" field is {found}, not a string")]
    VersionNotAString { found: String },
}

/// The outcome of the version check.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionVerdict {
    /// Both versions were read, are valid, and are the same string.
    pub matches: bool,
    /// The `VERSION` file's version as written (trimmed), even when invalid; empty when the
    /// file is missing or unreadable.
    pub version_file: String,
    /// `plugin.json`'s `version` as written, even when invalid; empty when the file is
    /// missing, is not JSON, or has no string `version`.
    pub plugin_version: String,
    /// Everything that kept the check from comparing, one sentence each naming its file. A
    /// plain mismatch is not an error: see [`mismatch_hint`].
    pub errors: Vec<String>,
}

impl Default for VersionPaths {
    fn default() -> Self {
        Self {
            version_file: "VERSION".to_owned(),
            plugin_json: ".claude-plugin/plugin.json".to_owned(),
        }
    }
}

impl VersionProblem {
    /// The text that was found to be invalid, when there was one.
    pub fn found(&self) -> Option<&str> {
        match self {
            Self::LeadingV { found, .. } | Self::InvalidSemver { found, .. } => Some(found),
            _ => None,
        }
    }
}

impl VersionVerdict {
    /// Both versions were read and are valid, but differ.
    pub fn is_mismatch(&self) -> bool {
        !self.matches && self.errors.is_empty()
    }
}

/// Reads the `VERSION` file: surrounding whitespace and newlines are ignored, the rest
/// must be a SemVer 2.0.0 version.
pub fn parse_version_file(text: &str) -> Result<Version, VersionProblem> {
    let text = text.trim();
    if text.is_empty() {
        return Err(VersionProblem::Empty);
    }
    parse_semver(text)
}

/// Reads `plugin.json`'s `version`, which must be a string holding a SemVer 2.0.0
/// version. The string is taken as is, whitespace included.
pub fn plugin_version(json_text: &str) -> Result<Version, VersionProblem> {
    let value: Value = serde_json::from_str(json_text).map_err(|e| {
        let (line, column) = crate::json_check::parse_error_position(json_text, &e);
        VersionProblem::InvalidJson {
            line,
            column,
            message: crate::json_check::parse_error_text(&e),
        }
    })?;
    let object = value.as_object().ok_or(VersionProblem::NotAnObject)?;
    match object.get("version") {
        None => Err(VersionProblem::MissingVersion),
        Some(Value::String(version)) => parse_semver(version),
        Some(other) => Err(VersionProblem::VersionNotAString {
            found: describe(other),
        }),
    }
}

/// [`compare_with_paths`] with the default paths.
pub fn compare(
    version_file: Option<Result<Version, VersionProblem>>,
    plugin: Option<Result<Version, VersionProblem>>,
) -> VersionVerdict {
    compare_with_paths(&VersionPaths::default(), version_file, plugin)
}

/// Compares the two versions. `None` means the file does not exist at the head commit.
/// Every problem becomes one entry of [`VersionVerdict::errors`], prefixed with its path.
pub fn compare_with_paths(
    paths: &VersionPaths,
    version_file: Option<Result<Version, VersionProblem>>,
    plugin: Option<Result<Version, VersionProblem>>,
) -> VersionVerdict {
    let mut errors = Vec::new();
    let mut read = |path: &str, outcome: Option<Result<Version, VersionProblem>>| match outcome {
        None => {
            errors.push(format!("{path}: file not found"));
            String::new()
        }
        Some(Ok(version)) => version.to_string(),
        Some(Err(problem)) => {
            errors.push(format!("{path}: {problem}"));
            problem.found().unwrap_or_default().to_owned()
        }
    };
    let version_file = read(&paths.version_file, version_file);
    let plugin_version = read(&paths.plugin_json, plugin);
    VersionVerdict {
        matches: errors.is_empty() && version_file == plugin_version,
        version_file,
        plugin_version,
        errors,
    }
}

/// What to change when the versions are valid but differ, as a plain sentence naming
/// both paths; `None` otherwise.
pub fn mismatch_hint(verdict: &VersionVerdict, paths: &VersionPaths) -> Option<String> {
    if !verdict.is_mismatch() {
        return None;
    }
    let (file, plugin) = (&verdict.version_file, &verdict.plugin_version);
    let mut hint = format!(
        "{} says {file:?} but {} says {plugin:?}: set {} to {plugin:?} or {}'s version to {file:?}",
        paths.version_file, paths.plugin_json, paths.version_file, paths.plugin_json
    );
    if differ_only_in_build_metadata(file, plugin) {
        hint.push_str(" (they differ only in build metadata, which must match too)");
    }
    Some(hint)
}

pub(crate) fn differ_only_in_build_metadata(a: &str, b: &str) -> bool {
    match (Version::parse(a), Version::parse(b)) {
        (Ok(a), Ok(b)) => a != b && a.cmp_precedence(&b).is_eq(),
        _ => false,
    }
}

fn parse_semver(text: &str) -> Result<Version, VersionProblem> {
    let error = match Version::parse(text) {
        Ok(version) => return Ok(version),
        Err(error) => error,
    };
    if let Some(rest) = text.strip_prefix(['v', 'V']) {
        if Version::parse(rest).is_ok() {
            return Err(VersionProblem::LeadingV {
                found: text.to_owned(),
                suggestion: rest.to_owned(),
            });
        }
    }
    let mut reason = error.to_string();
    if text.trim() != text && Version::parse(text.trim()).is_ok() {
        reason.push_str("; remove the surrounding whitespace");
    }
    Err(VersionProblem::InvalidSemver {
        found: text.to_owned(),
        reason,
    })
}

/// A JSON value's type and, for short scalars, the value, for "is X, not a string".
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(_) => "a string".to_owned(),
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

/// Quotes a found text for a message, cut short: a `VERSION` file could hold anything.
fn quoted(found: &str) -> String {
    const MAX: usize = 80;
    match found.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{:?}…", &found[..cut]),
        None => format!("{found:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_file_accepts_semver_and_trims() {
        let valid = [
            ("1.2.3", "1.2.3"),
            ("1.2.3\n", "1.2.3"),
            ("  1.2.3 \r\n\n", "1.2.3"),
            ("0.0.0", "0.0.0"),
            ("1.0.0-rc.1", "1.0.0-rc.1"),
            ("1.0.0-beta.1", "1.0.0-beta.1"),
            ("1.0.0+build.123", "1.0.0+build.123"),
            (
                "2.0.0-beta.1+exp.sha.5114f85",
                "2.0.0-beta.1+exp.sha.5114f85",
            ),
            (
                "1.0.0-alpha-a.b-c-somethinglong+build.1-aef.1-its-okay",
                "1.0.0-alpha-a.b-c-somethinglong+build.1-aef.1-its-okay",
            ),
        ];
        for (text, want) in valid {
            assert_eq!(
                parse_version_file(text).map(|v| v.to_string()),
                Ok(want.to_owned()),
                "{text:?}"
            );
        }
    }

    #[test]
    fn version_file_rejects_what_semver_rejects() {
        // (text, fragment of the message)
        let invalid = [
            ("", "it is empty"),
            (" \n", "it is empty"),
            ("v1.2.3", "remove the leading \"v\" and write \"1.2.3\""),
            ("V1.0.0-rc.1", "write \"1.0.0-rc.1\""),
            ("1.2", "\"1.2\" is not valid Semantic Versioning 2.0.0"),
            ("1", "not valid"),
            ("01.2.3", "leading zero"),
            ("1.2.3-01", "leading zero"),
            ("1.2.3.4", "not valid"),
            ("1.2.3-", "not valid"),
            ("1.2.3+", "not valid"),
            ("1.2.3 beta", "not valid"),
            ("version 1.2.3", "not valid"),
            ("1.2.3\n1.2.4", "not valid"),
            ("v1.2", "not valid"),
        ];
        for (text, fragment) in invalid {
            let problem = parse_version_file(text).unwrap_err();
            assert!(
                problem.to_string().contains(fragment),
                "{text:?}: {problem}"
            );
        }
    }

    #[test]
    fn plugin_version_needs_a_string_version_field() {
        let ok = [
            (r#"{"name":"p","version":"1.2.3"}"#, "1.2.3"),
            (
                "{\n  \"version\": \"2.0.0-beta.1+exp.sha.5114f85\"\n}\n",
                "2.0.0-beta.1+exp.sha.5114f85",
            ),
        ];
        for (text, want) in ok {
            assert_eq!(
                plugin_version(text).map(|v| v.to_string()),
                Ok(want.to_owned()),
                "{text}"
            );
        }
        let bad = [
            (
                "{",
                "invalid JSON at line 1 column 1: EOF while parsing an object",
            ),
            (
                "{\"version\": \"1.0.0\",}",
                "invalid JSON at line 1 column 21: trailing comma",
            ),
            ("[]", "it is not a JSON object"),
            (r#"{"name":"p"}"#, "it has no \"version\" field"),
            (
                r#"{"version":1.2}"#,
                "its \"version\" field is the number 1.2, not a string",
            ),
            (r#"{"version":null}"#, "is null, not a string"),
            (r#"{"version":["1.0.0"]}"#, "is an array, not a string"),
            (r#"{"version":"v1.0.0"}"#, "remove the leading \"v\""),
            (
                r#"{"version":" 1.0.0"}"#,
                "remove the surrounding whitespace",
            ),
            (r#"{"version":"1.0"}"#, "\"1.0\" is not valid"),
        ];
        for (text, fragment) in bad {
            let problem = plugin_version(text).unwrap_err();
            assert!(problem.to_string().contains(fragment), "{text}: {problem}");
        }
    }

    #[test]
    fn compare_covers_every_outcome() {
        let v = |s: &str| Some(Version::parse(s).map_err(|_| VersionProblem::Empty));
        let file = |s: &str| Some(parse_version_file(s));
        let json = |s: &str| Some(plugin_version(s));
        // (case, VERSION, plugin.json, matches, version_file, plugin_version, error fragments)
        type Case<'a> = (
            &'a str,
            Option<Result<Version, VersionProblem>>,
            Option<Result<Version, VersionProblem>>,
            bool,
            &'a str,
            &'a str,
            Vec<&'a str>,
        );
        let cases: Vec<Case<'_>> = vec![
            (
                "equal",
                v("1.2.3"),
                v("1.2.3"),
                true,
                "1.2.3",
                "1.2.3",
                vec![],
            ),
            (
                "equal with a newline",
                file("1.2.3\n"),
                json(r#"{"version":"1.2.3"}"#),
                true,
                "1.2.3",
                "1.2.3",
                vec![],
            ),
            (
                "equal pre-release",
                v("1.0.0-rc.1"),
                v("1.0.0-rc.1"),
                true,
                "1.0.0-rc.1",
                "1.0.0-rc.1",
                vec![],
            ),
            (
                "equal build",
                v("1.0.0+build.123"),
                v("1.0.0+build.123"),
                true,
                "1.0.0+build.123",
                "1.0.0+build.123",
                vec![],
            ),
            (
                "mismatch",
                v("1.2.3"),
                v("1.3.0"),
                false,
                "1.2.3",
                "1.3.0",
                vec![],
            ),
            (
                "pre-release differs",
                v("1.0.0"),
                v("1.0.0-rc.1"),
                false,
                "1.0.0",
                "1.0.0-rc.1",
                vec![],
            ),
            (
                "build differs",
                v("1.0.0+a"),
                v("1.0.0+b"),
                false,
                "1.0.0+a",
                "1.0.0+b",
                vec![],
            ),
            (
                "VERSION missing",
                None,
                v("1.0.0"),
                false,
                "",
                "1.0.0",
                vec!["VERSION: file not found"],
            ),
            (
                "plugin.json missing",
                v("1.0.0"),
                None,
                false,
                "1.0.0",
                "",
                vec![".claude-plugin/plugin.json: file not found"],
            ),
            (
                "both missing",
                None,
                None,
                false,
                "",
                "",
                vec![
                    "VERSION: file not found",
                    ".claude-plugin/plugin.json: file not found",
                ],
            ),
            (
                "invalid JSON",
                v("1.0.0"),
                json("{"),
                false,
                "1.0.0",
                "",
                vec![".claude-plugin/plugin.json: invalid JSON at line 1 column 1"],
            ),
            (
                "invalid VERSION",
                file("v1.0.0"),
                v("1.0.0"),
                false,
                "v1.0.0",
                "1.0.0",
                vec!["VERSION: \"v1.0.0\" is not valid"],
            ),
            (
                "both invalid",
                file("1.0"),
                json(r#"{"version":"1.0"}"#),
                false,
                "1.0",
                "1.0",
                vec!["VERSION: \"1.0\"", ".claude-plugin/plugin.json: \"1.0\""],
            ),
            (
                "no version field",
                v("1.0.0"),
                json("{}"),
                false,
                "1.0.0",
                "",
                vec![".claude-plugin/plugin.json: it has no \"version\" field"],
            ),
        ];
        for (name, version_file, plugin, matches, want_file, want_plugin, fragments) in cases {
            let verdict = compare(version_file, plugin);
            assert_eq!(verdict.matches, matches, "{name}: {verdict:?}");
            assert_eq!(verdict.version_file, want_file, "{name}");
            assert_eq!(verdict.plugin_version, want_plugin, "{name}");
            assert_eq!(verdict.errors.len(), fragments.len(), "{name}: {verdict:?}");
            for (error, fragment) in verdict.errors.iter().zip(fragments) {
                assert!(
                    error.starts_with(fragment),
                    "{name}: {error:?} should start with {fragment:?}"
                );
            }
        }
    }

    #[test]
    fn mismatch_hint_says_what_to_change() {
        let paths = VersionPaths::default();
        let hint = |a: &str, b: &str| {
            mismatch_hint(
                &compare(Some(parse_version_file(a)), Some(parse_version_file(b))),
                &paths,
            )
        };
        assert_eq!(
            hint("1.2.3", "1.3.0").as_deref(),
            Some(
                "VERSION says \"1.2.3\" but .claude-plugin/plugin.json says \"1.3.0\": \
                 set VERSION to \"1.3.0\" or .claude-plugin/plugin.json's version to \"1.2.3\""
            )
        );
        assert!(hint("1.0.0+a", "1.0.0+b")
            .unwrap()
            .ends_with("(they differ only in build metadata, which must match too)"));
        assert_eq!(hint("1.0.0", "1.0.0"), None);
        assert_eq!(
            mismatch_hint(&compare(None, Some(parse_version_file("1.0.0"))), &paths),
            None
        );

        let custom = VersionPaths {
            version_file: "plugin/VERSION".into(),
            plugin_json: "p.json".into(),
        };
        let verdict = compare_with_paths(
            &custom,
            Some(parse_version_file("1.0.0")),
            Some(parse_version_file("2.0.0")),
        );
        assert!(mismatch_hint(&verdict, &custom)
            .unwrap()
            .contains("set plugin/VERSION to \"2.0.0\" or p.json's version"));
        let verdict = compare_with_paths(&custom, None, None);
        assert_eq!(
            verdict.errors,
            ["plugin/VERSION: file not found", "p.json: file not found"]
        );
    }

    #[test]
    fn long_invalid_text_is_cut_in_messages() {
        let junk = "x".repeat(500);
        let problem = parse_version_file(&junk).unwrap_err();
        assert_eq!(problem.found(), Some(junk.as_str()));
        assert!(problem.to_string().len() < 300, "{problem}");
    }

    #[test]
    fn verdict_serializes_with_its_field_names() {
        let verdict = compare(Some(parse_version_file("1.0.0")), None);
        let json = serde_json::to_value(&verdict).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "matches": false,
                "version_file": "1.0.0",
                "plugin_version": "",
                "errors": [".claude-plugin/plugin.json: file not found"]
            })
        );
        assert_eq!(
            serde_json::from_value::<VersionVerdict>(json).unwrap(),
            verdict
        );
    }
}
