//! Reading the JSON Schemas of the pull-request checks.
//!
//! Like the credential files, the schemas are read on demand rather than in
//! `load`: only a process that runs the checks needs them, and `gdt config
//! check` can still show a configuration whose schema file is missing.

use std::fs;

use serde_json::Value;

use crate::error::ConfigError;
use crate::settings::PrChecksConfig;

impl PrChecksConfig {
    /// Reads and parses the schema file of every [`PrChecksConfig::schemas`]
    /// entry, in order, giving `(pattern, schema)` pairs. Only the JSON syntax
    /// is checked here; whether the value is a usable JSON Schema is up to the
    /// check that compiles it. The files are read on every call.
    ///
    /// An error names the entry (`pr_checks.schemas[i].schema_path`), the file
    /// and, for invalid JSON, the line and column.
    pub fn load_schemas(&self) -> Result<Vec<(String, Value)>, ConfigError> {
        self.schemas
            .iter()
            .enumerate()
            .map(|(index, rule)| {
                let path = &rule.schema_path;
                let text = fs::read_to_string(path).map_err(|source| {
                    ConfigError::SchemaFileUnreadable {
                        index,
                        path: path.clone(),
                        source,
                    }
                })?;
                let schema = serde_json::from_str(&text).map_err(|e| {
                    let (line, column) = (e.line(), e.column());
                    let message = e.to_string();
                    let suffix = format!(" at line {line} column {column}");
                    ConfigError::SchemaFileNotJson {
                        index,
                        path: path.clone(),
                        detail: message.strip_suffix(&suffix).unwrap_or(&message).to_owned(),
                        line,
                        column,
                    }
                })?;
                Ok((rule.pattern.clone(), schema))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use serde_json::json;

    use super::*;
    use crate::values::SchemaRuleConfig;

    fn checks(rules: &[(&str, &Path)]) -> PrChecksConfig {
        PrChecksConfig {
            schemas: rules
                .iter()
                .map(|(pattern, path)| SchemaRuleConfig {
                    pattern: (*pattern).to_owned(),
                    schema_path: path.to_path_buf(),
                })
                .collect(),
            ..PrChecksConfig::default()
        }
    }

    fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
        let path = dir.join(name);
        fs::write(&path, content).expect("write");
        path
    }

    #[test]
    fn no_schemas_reads_nothing() {
        let loaded = PrChecksConfig::default().load_schemas().expect("nothing");
        assert!(loaded.is_empty());
    }

    #[test]
    fn schemas_are_read_in_order_with_their_patterns() {
        let dir = tempfile::TempDir::new().expect("tempdir");
        let plugin = write(
            dir.path(),
            "plugin.schema.json",
            r#"{"type": "object", "required": ["name", "version"]}"#,
        );
        let hooks = write(dir.path(), "hooks.schema.json", "true\n");
        let loaded = checks(&[
            (".claude-plugin/plugin.json", &plugin),
            (".claude-plugin/hooks/*.json", &hooks),
        ])
        .load_schemas()
        .expect("valid");
        assert_eq!(
            loaded,
            [
                (
                    ".claude-plugin/plugin.json".to_owned(),
                    json!({"type": "object", "required": ["name", "version"]})
                ),
                (".claude-plugin/hooks/*.json".to_owned(), json!(true)),
            ]
        );
    }

    #[test]
    fn an_unreadable_schema_names_the_entry_and_the_path() {
        let dir = tempfile::TempDir::new().expect("tempdir");
        let good = write(dir.path(), "good.json", "{}");
        let missing = dir.path().join("missing.json");
        let err = checks(&[("a.json", &good), ("b.json", &missing)])
            .load_schemas()
            .expect_err("missing");
        assert!(
            matches!(err, ConfigError::SchemaFileUnreadable { index: 1, .. }),
            "{err:?}"
        );
        let shown = err.to_string();
        let want = format!(
            "cannot read the JSON Schema at {} (pr_checks.schemas[1].schema_path): ",
            missing.display()
        );
        assert!(shown.starts_with(&want), "\n got: {shown}\nwant: {want}");
    }

    #[test]
    fn invalid_json_names_the_entry_the_path_and_the_position() {
        let dir = tempfile::TempDir::new().expect("tempdir");
        let bad = write(dir.path(), "bad.json", "{\n  \"type\": \"object\",\n}\n");
        let err = checks(&[("*.json", &bad)])
            .load_schemas()
            .expect_err("trailing comma");
        assert!(
            matches!(
                err,
                ConfigError::SchemaFileNotJson {
                    index: 0,
                    line: 3,
                    column: 1,
                    ..
                }
            ),
            "{err:?}"
        );
        let shown = err.to_string();
        let want = format!(
            "the JSON Schema at {} (pr_checks.schemas[0].schema_path) is not valid JSON: \
             trailing comma at line 3 column 1",
            bad.display()
        );
        assert_eq!(shown, want);

        let empty = write(dir.path(), "empty.json", "");
        let err = checks(&[("*.json", &empty)])
            .load_schemas()
            .expect_err("empty");
        let shown = err.to_string();
        assert!(
            shown.contains("(pr_checks.schemas[0].schema_path) is not valid JSON: EOF"),
            "{shown}"
        );
        assert!(shown.contains(" at line 1 column 0"), "{shown}");
    }
}
