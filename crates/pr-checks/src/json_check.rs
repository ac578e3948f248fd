//! Validating the plugin's JSON files: which files are checked, parsing, optional JSON
//! Schema validation, and pointing each problem at a line and column of the source text.
//!
//! # Locating schema violations
//!
//! `jsonschema` reports where a violation is as a JSON pointer into the parsed value
//! (`/hooks/0/type`), but a reviewer needs a line and a column. `serde_json` keeps no
//! spans, so [`check_json_file`] walks the source text a second time with a small
//! tokenizer that follows the pointer: object members are matched by their decoded key
//! (escapes such as `\u00e9` included) and, as `serde_json` keeps the *last* of duplicate
//! keys, so does the walk; array elements are counted. The walk never builds values, it
//! only skips them, and it runs only for files that parsed, so it can assume well-formed
//! JSON and give up (line 1, column 1) on anything else. For "additional properties are
//! not allowed" the position is that of the first unexpected key rather than of the
//! object that holds it.
//!
//! Lines and columns are 1-based; columns count characters (Unicode scalar values), not
//! bytes, for parse errors as well as for schema violations.

use std::collections::HashSet;
use std::sync::Arc;

use globset::GlobMatcher;
use jsonschema::error::ValidationErrorKind;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::categorize::{glob, ChangedFile, CompiledPatterns, FileStatus};

/// A JSON Schema that files whose path matches `pattern` must satisfy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchemaRule {
    /// A glob with the same rules as [`crate::FilePatterns`] (`*` stops at `/`).
    pub pattern: String,
    pub schema: Value,
}

/// A [`SchemaRule`] ready to validate; build it with [`CompiledSchemaRule::compile`] or
/// [`compile_schema_rules`]. Cloning is cheap.
#[derive(Debug, Clone)]
pub struct CompiledSchemaRule {
    pattern: String,
    matcher: GlobMatcher,
    validator: Arc<jsonschema::Validator>,
}

/// One thing wrong with a JSON file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonProblem {
    pub path: String,
    /// 1-based.
    pub line: u32,
    /// 1-based, in characters.
    pub column: u32,
    pub message: String,
}

/// A [`SchemaRule`] that could not be compiled.
#[derive(Debug, thiserror::Error)]
pub enum SchemaRuleError {
    #[error("invalid schema file pattern {pattern:?}: {source}")]
    InvalidPattern {
        pattern: String,
        #[source]
        source: globset::Error,
    },
    #[error("invalid JSON Schema for pattern {pattern:?}: {message}")]
    InvalidSchema { pattern: String, message: String },
}

/// Messages longer than this (in characters) are cut: a violation message quotes the
/// offending value, which can be a whole object, and problems travel through workflow
/// histories and into comments.
pub const MAX_MESSAGE_CHARS: usize = 500;

/// At most this many problems are reported per file; one more problem says how many were
/// left out.
pub const MAX_PROBLEMS_PER_FILE: usize = 100;

impl CompiledSchemaRule {
    /// Compiles the glob and the schema. Schemas may not `$ref` anything outside
    /// themselves: nothing is fetched, from the network or the disk.
    pub fn compile(rule: &SchemaRule) -> Result<Self, SchemaRuleError> {
        let matcher = glob(&rule.pattern)
            .map_err(|source| SchemaRuleError::InvalidPattern {
                pattern: rule.pattern.clone(),
                source,
            })?
            .compile_matcher();
        let validator = jsonschema::validator_for(&rule.schema).map_err(|e| {
            SchemaRuleError::InvalidSchema {
                pattern: rule.pattern.clone(),
                message: e.to_string(),
            }
        })?;
        Ok(Self {
            pattern: rule.pattern.clone(),
            matcher,
            validator: Arc::new(validator),
        })
    }

    /// The pattern as configured.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Whether files at `path` must satisfy this rule's schema.
    pub fn matches(&self, path: &str) -> bool {
        self.matcher.is_match(path)
    }
}

/// Compiles every rule, failing on the first bad one.
pub fn compile_schema_rules(
    rules: &[SchemaRule],
) -> Result<Vec<CompiledSchemaRule>, SchemaRuleError> {
    rules.iter().map(CompiledSchemaRule::compile).collect()
}

/// Whether a plugin file is one whose JSON is checked: its name ends with `.json` in any
/// case and it still exists at the head (it was not removed). Whether it is a plugin file
/// at all is [`CompiledPatterns::is_plugin_file`]'s decision.
pub fn is_json_plugin_file(path: &str, status: FileStatus) -> bool {
    let is_json =
        path.len() >= 5 && path.as_bytes()[path.len() - 5..].eq_ignore_ascii_case(b".json");
    is_json && status != FileStatus::Removed
}

/// The plugin JSON files of a pull request to fetch and check, in the order listed, each
/// once. Only current names count: a renamed file's previous name no longer exists.
pub fn json_files_to_check(patterns: &CompiledPatterns, files: &[ChangedFile]) -> Vec<String> {
    let mut seen = HashSet::new();
    files
        .iter()
        .filter(|f| {
            patterns.is_plugin_file(&f.filename) && is_json_plugin_file(&f.filename, f.status)
        })
        .filter(|f| seen.insert(f.filename.as_str()))
        .map(|f| f.filename.clone())
        .collect()
}

/// Checks one JSON file: it must parse, and satisfy the schema of every rule whose
/// pattern matches `path`. Problems come sorted by position; an empty list means the file
/// is fine.
pub fn check_json_file(path: &str, text: &str, schemas: &[CompiledSchemaRule]) -> Vec<JsonProblem> {
    let problem = |(line, column): (u32, u32), message: String| JsonProblem {
        path: path.to_owned(),
        line,
        column,
        message: truncate_chars(&message, MAX_MESSAGE_CHARS),
    };

    let value: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(e) => {
            return vec![problem(
                parse_error_position(text, &e),
                parse_error_message(text, &e),
            )]
        }
    };

    let mut problems = Vec::new();
    for rule in schemas.iter().filter(|rule| rule.matches(path)) {
        for error in rule.validator.iter_errors(&value) {
            let pointer = error.instance_path.as_str();
            let tokens = pointer_tokens(pointer);
            let key = match &error.kind {
                ValidationErrorKind::AdditionalProperties { unexpected }
                | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
                    unexpected.first().map(String::as_str)
                }
                _ => None,
            };
            let at = locate(text, &tokens, key).map_or((1, 1), |offset| line_col(text, offset));
            let place = if pointer.is_empty() {
                "the document root".to_owned()
            } else {
                format!("{pointer:?}")
            };
            problems.push(problem(at, format!("schema violation at {place}: {error}")));
        }
    }
    problems.sort_by_key(|p| (p.line, p.column));
    if problems.len() > MAX_PROBLEMS_PER_FILE {
        let left_out = problems.len() - MAX_PROBLEMS_PER_FILE;
        problems.truncate(MAX_PROBLEMS_PER_FILE);
        problems.push(problem(
            (1, 1),
            format!("{left_out} more schema violations not shown"),
        ));
    }
    problems
}

/// `serde_json`'s line, with its byte column turned into a character column.
pub(crate) fn parse_error_position(text: &str, error: &serde_json::Error) -> (u32, u32) {
    let line = error.line().max(1);
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line - 1)
        .map(str::len)
        .sum();
    let line_bytes = &text.as_bytes()[line_start.min(text.len())..];
    let column_bytes = &line_bytes[..error.column().min(line_bytes.len())];
    (to_u32(line), to_u32(char_count(column_bytes).max(1)))
}

/// A parse problem's message, with a hint when a byte order mark is to blame.
fn parse_error_message(text: &str, error: &serde_json::Error) -> String {
    let message = parse_error_text(error);
    if text.starts_with('\u{feff}') {
        format!("invalid JSON: {message} (the file starts with a byte order mark; save it as UTF-8 without one)")
    } else {
        format!("invalid JSON: {message}")
    }
}

/// `serde_json`'s message without its " at line L column C" tail, which the caller
/// reports in its own fields.
pub(crate) fn parse_error_text(error: &serde_json::Error) -> String {
    let full = error.to_string();
    let tail = format!(" at line {} column {}", error.line(), error.column());
    match full.strip_suffix(&tail) {
        Some(message) => message.to_owned(),
        None => full,
    }
}

/// Splits a JSON pointer (RFC 6901) into unescaped reference tokens; `""` is the root.
fn pointer_tokens(pointer: &str) -> Vec<String> {
    pointer
        .split('/')
        .skip(1)
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// The byte offset of the value at `tokens` in `text` or, with `key`, of that member's
/// key in the object at `tokens`.
fn locate(text: &str, tokens: &[String], key: Option<&str>) -> Option<usize> {
    Walker {
        text: text.as_bytes(),
        pos: 0,
    }
    .find(tokens, key)
}

/// 1-based line and character column of a byte offset.
fn line_col(text: &str, offset: usize) -> (u32, u32) {
    let before = &text.as_bytes()[..offset.min(text.len())];
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    (to_u32(line), to_u32(1 + char_count(&before[line_start..])))
}

/// Characters that start within `bytes` (UTF-8 continuation bytes are not counted).
fn char_count(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b & 0xC0 != 0x80).count()
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn truncate_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_owned(),
    }
}

/// A cursor over JSON text known to be well formed. Every method returns `None` when the
/// text is not what it expects, which ends the search.
struct Walker<'t> {
    text: &'t [u8],
    pos: usize,
}

impl Walker<'_> {
    fn find(&mut self, tokens: &[String], key: Option<&str>) -> Option<usize> {
        self.skip_ws();
        let Some((first, rest)) = tokens.split_first() else {
            return match key {
                None => Some(self.pos),
                Some(key) => self.find_key(key),
            };
        };
        match self.peek()? {
            b'{' => {
                let mut found = None;
                self.members(|walker, name, _| {
                    if name == *first {
                        let mut inner = Walker {
                            text: walker.text,
                            pos: walker.pos,
                        };
                        found = inner.find(rest, key).or(found);
                    }
                })?;
                found
            }
            b'[' => {
                let index: usize = first.parse().ok()?;
                self.pos += 1;
                for i in 0.. {
                    self.skip_ws();
                    if self.peek()? == b']' {
                        return None;
                    }
                    if i == index {
                        return self.find(rest, key);
                    }
                    self.skip_value()?;
                    self.skip_ws();
                    if self.bump()? != b',' {
                        return None;
                    }
                }
                None
            }
            _ => None,
        }
    }

    /// The offset of the last member named `key` of the object at the cursor.
    fn find_key(&mut self, key: &str) -> Option<usize> {
        if self.peek()? != b'{' {
            return None;
        }
        let mut found = None;
        self.members(|_, name, key_at| {
            if name == key {
                found = Some(key_at);
            }
        })?;
        found
    }

    /// Walks the object at the cursor, calling `visit(walker at the value, key, key
    /// offset)` for each member, and leaves the cursor after the object.
    fn members(&mut self, mut visit: impl FnMut(&Self, &str, usize)) -> Option<()> {
        self.expect(b'{')?;
        self.skip_ws();
        if self.peek()? == b'}' {
            self.pos += 1;
            return Some(());
        }
        loop {
            self.skip_ws();
            let key_at = self.pos;
            let name = self.string()?;
            self.skip_ws();
            self.expect(b':')?;
            self.skip_ws();
            visit(self, &name, key_at);
            self.skip_value()?;
            self.skip_ws();
            match self.bump()? {
                b',' => continue,
                b'}' => return Some(()),
                _ => return None,
            }
        }
    }

    fn skip_value(&mut self) -> Option<()> {
        self.skip_ws();
        match self.peek()? {
            b'{' => self.members(|_, _, _| {}),
            b'[' => {
                self.pos += 1;
                self.skip_ws();
                if self.peek()? == b']' {
                    self.pos += 1;
                    return Some(());
                }
                loop {
                    self.skip_value()?;
                    self.skip_ws();
                    match self.bump()? {
                        b',' => continue,
                        b']' => return Some(()),
                        _ => return None,
                    }
                }
            }
            b'"' => self.string().map(drop),
            _ => {
                let start = self.pos;
                while self.peek().is_some_and(|b| {
                    !matches!(b, b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r')
                }) {
                    self.pos += 1;
                }
                (self.pos > start).then_some(())
            }
        }
    }

    /// Reads a string literal, decoding its escapes so keys compare as `serde_json` sees
    /// them.
    fn string(&mut self) -> Option<String> {
        self.expect(b'"')?;
        let mut out = Vec::new();
        loop {
            match self.bump()? {
                b'"' => return String::from_utf8(out).ok(),
                b'\\' => match self.bump()? {
                    b'"' => out.push(b'"'),
                    b'\\' => out.push(b'\\'),
                    b'/' => out.push(b'/'),
                    b'b' => out.push(0x08),
                    b'f' => out.push(0x0C),
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'u' => {
                        let unit = self.hex4()?;
                        let c = if (0xD800..0xDC00).contains(&unit) {
                            self.expect(b'\\')?;
                            self.expect(b'u')?;
                            let low = self.hex4()?;
                            char::from_u32(
                                0x10000 + ((unit - 0xD800) << 10) + (low.checked_sub(0xDC00)?),
                            )?
                        } else {
                            char::from_u32(unit)?
                        };
                        out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                    }
                    _ => return None,
                },
                b => out.push(b),
            }
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.text.get(self.pos..self.pos + 4)?;
        self.pos += 4;
        u32::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
    }

    fn skip_ws(&mut self) {
        while self
            .peek()
            .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    fn expect(&mut self, want: u8) -> Option<()> {
        (self.bump()? == want).then_some(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::categorize::FilePatterns;

    fn rules(rules: &[(&str, Value)]) -> Vec<CompiledSchemaRule> {
        let rules: Vec<SchemaRule> = rules
            .iter()
            .map(|(pattern, schema)| SchemaRule {
                pattern: (*pattern).to_owned(),
                schema: schema.clone(),
            })
            .collect();
        compile_schema_rules(&rules).unwrap()
    }

    fn plugin_schema() -> Value {
        json!({
            "type": "object",
            "required": ["name", "version"],
            "properties": {
                "name": {"type": "string"},
                "version": {"type": "string"},
                "hooks": {"type": "array", "items": {
                    "type": "object",
                    "properties": {"type": {"enum": ["command", "prompt"]}},
                    "additionalProperties": false
                }}
            }
        })
    }

    #[test]
    fn which_files_are_checked() {
        let cases = [
            ("a.json", FileStatus::Added, true),
            ("a.JSON", FileStatus::Modified, true),
            ("dir/a.Json", FileStatus::Renamed, true),
            ("a.json", FileStatus::Removed, false),
            ("a.jsonc", FileStatus::Modified, false),
            ("a.json.md", FileStatus::Modified, false),
            ("json", FileStatus::Modified, false),
            (".json", FileStatus::Modified, true),
            ("a.json", FileStatus::Other, true),
        ];
        for (path, status, want) in cases {
            assert_eq!(is_json_plugin_file(path, status), want, "{path} {status:?}");
        }
    }

    #[test]
    fn json_files_to_check_takes_existing_plugin_json_files_once() {
        let patterns = FilePatterns::default().compile().unwrap();
        let file = |name: &str, status, previous: Option<&str>| ChangedFile {
            filename: name.to_owned(),
            status,
            previous_filename: previous.map(str::to_owned),
        };
        let files = [
            file(".claude-plugin/plugin.json", FileStatus::Modified, None),
            file(".claude-plugin/old.json", FileStatus::Removed, None),
            file(
                ".claude-plugin/new.json",
                FileStatus::Renamed,
                Some(".claude-plugin/was.json"),
            ),
            file(".claude-plugin/README.md", FileStatus::Added, None),
            file("config.json", FileStatus::Added, None),
            file(".claude-plugin/plugin.json", FileStatus::Modified, None),
        ];
        assert_eq!(
            json_files_to_check(&patterns, &files),
            [".claude-plugin/plugin.json", ".claude-plugin/new.json"]
        );
    }

    #[test]
    fn parse_errors_carry_serde_json_positions() {
        // (text, line, column, message fragment)
        let cases = [
            ("", 1, 1, "EOF while parsing a value"),
            ("{", 1, 1, "EOF while parsing an object"),
            ("{\n", 2, 1, "EOF while parsing an object"),
            ("{\"a\": x}", 1, 7, "expected value"),
            ("{\n  \"a\": 1,\n}", 3, 1, "trailing comma"),
            ("{\n  \"a\": 1\n  \"b\": 2\n}", 3, 3, "expected `,` or `}`"),
            // Columns count characters: "é" is two bytes, so serde_json says column 11.
            ("{\"é\": tru}", 1, 10, "expected ident"),
            ("\u{feff}{}", 1, 1, "byte order mark"),
        ];
        assert_eq!(
            serde_json::from_str::<Value>("{\"é\": tru}")
                .unwrap_err()
                .column(),
            11
        );
        for (text, line, column, fragment) in cases {
            let problems = check_json_file("p.json", text, &[]);
            assert_eq!(problems.len(), 1, "{text:?}");
            let p = &problems[0];
            assert_eq!(
                (p.path.as_str(), p.line, p.column),
                ("p.json", line, column),
                "{text:?}: {p:?}"
            );
            assert!(p.message.starts_with("invalid JSON: "), "{p:?}");
            assert!(p.message.contains(fragment), "{text:?}: {p:?}");
            assert!(!p.message.contains(" at line "), "{p:?}");
        }
    }

    #[test]
    fn valid_files_without_a_matching_schema_have_no_problems() {
        let schemas = rules(&[("other/*.json", json!({"type": "string"}))]);
        for text in ["{}", "[]", "1", "  {\"a\": [1, {\"b\": null}]}\n"] {
            assert_eq!(
                check_json_file(".claude-plugin/plugin.json", text, &schemas),
                [],
                "{text}"
            );
        }
    }

    #[test]
    fn schema_violations_point_at_the_offending_value() {
        let schemas = rules(&[(".claude-plugin/*.json", plugin_schema())]);
        // (text, expected (line, column, message fragments))
        type Case<'a> = (&'a str, Vec<(u32, u32, Vec<&'a str>)>);
        let cases: Vec<Case<'_>> = vec![
            ("{\"name\": \"p\", \"version\": \"1.0.0\"}", vec![]),
            (
                "{\n  \"name\": \"p\",\n  \"version\": 1\n}",
                vec![(3, 14, vec!["\"/version\"", "1 is not of type \"string\""])],
            ),
            ("{\n  \"name\": \"p\"\n}", vec![(1, 1, vec!["the document root", "\"version\" is a required property"])]),
            ("[1]", vec![(1, 1, vec!["the document root", "not of type \"object\""])]),
            (
                "{\"name\": \"p\", \"version\": \"1\",\n \"hooks\": [\n  {\"type\": \"command\"},\n  {\"type\": \"bogus\"}\n ]}",
                vec![(4, 12, vec!["\"/hooks/1/type\"", "\"bogus\" is not one of"])],
            ),
            (
                "{\"name\": \"p\", \"version\": \"1\", \"hooks\": [{\n    \"type\": \"command\",\n    \"extra\": true\n}]}",
                vec![(3, 5, vec!["\"/hooks/0\"", "Additional properties are not allowed ('extra' was unexpected)"])],
            ),
            (
                // Two violations, reported in text order.
                "{\n \"version\": 2,\n \"name\": 1\n}",
                vec![(2, 13, vec!["\"/version\""]), (3, 10, vec!["\"/name\""])],
            ),
            (
                // serde_json keeps the last of duplicate keys; so does the locator.
                "{\"name\": \"p\", \"version\": \"1\",\n \"version\": false}",
                vec![(2, 13, vec!["\"/version\""])],
            ),
        ];
        for (text, want) in cases {
            let got = check_json_file(".claude-plugin/plugin.json", text, &schemas);
            assert_eq!(got.len(), want.len(), "{text}: {got:#?}");
            for (p, (line, column, fragments)) in got.iter().zip(want) {
                assert_eq!((p.line, p.column), (line, column), "{text}: {p:?}");
                for fragment in fragments {
                    assert!(
                        p.message.contains(fragment),
                        "{text}: {p:?} lacks {fragment}"
                    );
                }
            }
        }
    }

    #[test]
    fn locator_follows_escaped_keys_and_pointer_escapes() {
        let text =
            "{\n \"a/b\": {\"t~x\": [0, {\"\\u00e9\\\"\": \"here\"}]},\n \"\\ud83d\\ude00\": 5 }";
        // (pointer, key, expected (line, column))
        let cases = [
            ("", None, Some((1, 1))),
            ("/a~1b", None, Some((2, 9))),
            ("/a~1b/t~0x/1/é\"", None, Some((2, 34))),
            ("/a~1b/t~0x/0", None, Some((2, 18))),
            ("/😀", None, Some((3, 18))),
            ("/a~1b", Some("t~x"), Some((2, 10))),
            ("/missing", None, None),
            ("/a~1b/t~0x/7", None, None),
            ("/a~1b/t~0x/x", None, None),
        ];
        for (pointer, key, want) in cases {
            let got =
                locate(text, &pointer_tokens(pointer), key).map(|offset| line_col(text, offset));
            assert_eq!(got, want, "{pointer} {key:?}");
        }
    }

    #[test]
    fn every_matching_rule_applies() {
        let schemas = rules(&[
            ("**/*.json", json!({"required": ["a"]})),
            (".claude-plugin/*.json", json!({"required": ["b"]})),
            ("elsewhere/*.json", json!({"required": ["c"]})),
        ]);
        let messages: Vec<String> = check_json_file(".claude-plugin/x.json", "{}", &schemas)
            .into_iter()
            .map(|p| p.message)
            .collect();
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(messages[0].contains("\"a\""), "{messages:?}");
        assert!(messages[1].contains("\"b\""), "{messages:?}");
    }

    #[test]
    fn long_messages_and_many_problems_are_capped() {
        let schemas = rules(&[(
            "*.json",
            json!({"type": "array", "items": {"type": "string"}}),
        )]);
        let big = format!("[{}]", vec!["1"; MAX_PROBLEMS_PER_FILE + 5].join(","));
        let problems = check_json_file("a.json", &big, &schemas);
        assert_eq!(problems.len(), MAX_PROBLEMS_PER_FILE + 1);
        assert_eq!(
            problems.last().unwrap().message,
            "5 more schema violations not shown"
        );

        let schemas = rules(&[("*.json", json!({"type": "string"}))]);
        let huge = format!("[\"{}\"]", "x".repeat(2000));
        let problems = check_json_file("a.json", &huge, &schemas);
        assert_eq!(problems[0].message.chars().count(), MAX_MESSAGE_CHARS + 1);
        assert!(problems[0].message.ends_with('…'));
    }

    #[test]
    fn bad_rules_are_named() {
        let bad_pattern = SchemaRule {
            pattern: "a/[".into(),
            schema: json!({}),
        };
        let err = CompiledSchemaRule::compile(&bad_pattern).unwrap_err();
        assert!(
            matches!(&err, SchemaRuleError::InvalidPattern { pattern, .. } if pattern == "a/["),
            "{err}"
        );

        let bad_schema = SchemaRule {
            pattern: "*.json".into(),
            schema: json!({"type": 12}),
        };
        let err = CompiledSchemaRule::compile(&bad_schema).unwrap_err();
        assert!(
            matches!(&err, SchemaRuleError::InvalidSchema { pattern, .. } if pattern == "*.json"),
            "{err}"
        );

        // Nothing is fetched: a remote reference cannot be resolved.
        let remote = SchemaRule {
            pattern: "*.json".into(),
            schema: json!({"$ref": "https://example.com/s.json"}),
        };
        assert!(CompiledSchemaRule::compile(&remote).is_err());
    }

    #[test]
    fn schema_rule_globs_do_not_cross_directories() {
        let rule = &rules(&[(".claude-plugin/*.json", json!({}))])[0];
        assert_eq!(rule.pattern(), ".claude-plugin/*.json");
        assert!(rule.matches(".claude-plugin/plugin.json"));
        assert!(!rule.matches(".claude-plugin/sub/plugin.json"));
    }
}
