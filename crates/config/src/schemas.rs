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
