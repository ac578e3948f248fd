//! The YAML layer, driven by the table of settings.
//!
//! The file is walked with serde: a map's keys must be settings or sections of
//! [`crate::SETTINGS`] (anything else is an error with a line and column, so a typo such as
//! `hostport` cannot pass silently), a key of [`crate::REMOVED`] says what to do instead, and
//! each value is read as its setting's type, then parsed as its variable would be. A file
//! only changes what it mentions; `key:` with no value changes nothing.

use std::fmt;
use std::fs;
use std::path::Path;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use crate::error::{ConfigError, Origin};
use crate::settings::{Config, Setting, SETTINGS};
use crate::table::REMOVED;
use crate::values::{self, Raw, SchemaRuleConfig, YamlKind};

/// The values a file holds, in the order written.
pub(crate) type FileValues = Vec<(&'static Setting, Raw)>;

/// Reads and parses `path`. An empty (or comments-only) file is valid and
/// changes nothing.
pub(crate) fn read(path: &Path) -> Result<FileValues, ConfigError> {
    let text = fs::read_to_string(path).map_err(|source| ConfigError::ReadConfigFile {
        path: path.to_owned(),
        source,
    })?;
    parse(&text, path)
}

pub(crate) fn parse(text: &str, path: &Path) -> Result<FileValues, ConfigError> {
    let mut values = Vec::new();
    let section = Section {
        prefix: String::new(),
        values: &mut values,
    };
    section
        .deserialize(serde_norway::Deserializer::from_str(text))
        .map_err(|e| parse_error(path, &e))?;
    Ok(values)
}

/// Applies the values of a file on top of `config`; a text that does not parse gets the
/// same message as the variable would, naming the key and the file.
pub(crate) fn apply(
    config: &mut Config,
    values: FileValues,
    path: &Path,
) -> Result<(), ConfigError> {
    for (setting, raw) in values {
        let written = match &raw {
            Raw::Text(text) => text.clone(),
            _ => String::new(),
        };
        (setting.set_yaml)(config, raw).map_err(|why| {
            let origin = Origin::File {
                key: setting.key,
                path: path.to_owned(),
            };
            ConfigError::rejected(origin, written, why)
        })?;
    }
    Ok(())
}

/// A map of settings and sections under `prefix` (empty at the top).
struct Section<'a> {
    prefix: String,
    values: &'a mut FileValues,
}

impl<'de> DeserializeSeed<'de> for Section<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for Section<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of keys")
    }

    /// `section:` with nothing under it, or an empty file.
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = Vec::new();
        while let Some(key) = map.next_key_seed(KeySeed {
            prefix: &self.prefix,
        })? {
            if seen.contains(&key.name) {
                return Err(de::Error::custom(format_args!(
                    "duplicate field `{}`",
                    key.name
                )));
            }
            match key.setting {
                Some(setting) => {
                    if let Some(raw) = map.next_value_seed(Leaf(setting.yaml))? {
                        self.values.push((setting, raw));
                    }
                }
                None => map.next_value_seed(Section {
                    prefix: key.full.clone(),
                    values: &mut *self.values,
                })?,
            }
            seen.push(key.name);
        }
        Ok(())
    }
}

/// A key of the map: a setting, or a section when `setting` is `None`.
struct Key {
    name: String,
    full: String,
    setting: Option<&'static Setting>,
}

struct KeySeed<'a> {
    prefix: &'a str,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Key;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Key, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for KeySeed<'_> {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Key, E> {
        let full = match self.prefix {
            "" => name.to_owned(),
            prefix => format!("{prefix}.{name}"),
        };
        let setting = SETTINGS.iter().copied().find(|s| s.key == full);
        let is_section = SETTINGS.iter().any(|s| {
            s.key
                .strip_prefix(full.as_str())
                .is_some_and(|rest| rest.starts_with('.'))
        });
        if setting.is_some() || is_section {
            return Ok(Key {
                name: name.to_owned(),
                full,
                setting,
            });
        }
        if let Some(removed) = REMOVED.iter().find(|r| r.key == full) {
            return Err(E::custom(format_args!(
                "{REMOVED_MARK}{full}` was removed: {}",
                removed.advice
            )));
        }
        // serde's own wording, which `parse_error` turns into the full key.
        let mut valid: Vec<&str> = Vec::new();
        for s in SETTINGS.iter() {
            let rest = match self.prefix {
                "" => Some(s.key),
                prefix => s.key.strip_prefix(prefix).and_then(|r| r.strip_prefix('.')),
            };
            if let Some(next) = rest.and_then(|r| r.split('.').next()) {
                if !valid.contains(&next) {
                    valid.push(next);
                }
            }
        }
        let valid: Vec<String> = valid.iter().map(|k| format!("`{k}`")).collect();
        Err(E::custom(format_args!(
            "unknown field `{name}`, expected one of {}",
            valid.join(", ")
        )))
    }
}

const REMOVED_MARK: &str = "the key `";

/// A setting's value, read as its type so that serde's messages (with the key path,
/// line and column) say what was expected.
struct Leaf(YamlKind);

impl<'de> DeserializeSeed<'de> for Leaf {
    type Value = Option<Raw>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<Raw>, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for Leaf {
    type Value = Option<Raw>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value")
    }

    /// `key:` with no value changes nothing.
    fn visit_none<E: de::Error>(self) -> Result<Option<Raw>, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<Raw>, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<Raw>, D::Error> {
        Ok(Some(match self.0 {
            YamlKind::Text => Raw::Text(String::deserialize(d)?),
            YamlKind::Bool => Raw::Bool(bool::deserialize(d)?),
            YamlKind::U16 => Raw::Int(u16::deserialize(d)?.into()),
            YamlKind::U32 => Raw::Int(u32::deserialize(d)?.into()),
            YamlKind::U64 => Raw::Int(u64::deserialize(d)?),
            YamlKind::Usize => Raw::Int(usize::deserialize(d)? as u64),
            YamlKind::F64 => Raw::Float(f64::deserialize(d)?),
            YamlKind::Secret => Raw::Secret(d.deserialize_any(SecretText)?),
            YamlKind::List => Raw::List(Vec::deserialize(d)?),
            YamlKind::Schemas => Raw::Schemas(Vec::<SchemaRuleConfig>::deserialize(d)?),
        }))
    }
}

/// Secrets accept only strings, and a wrong type is reported without echoing
/// the value (serde's default message would quote it).
struct SecretText;

impl<'de> Visitor<'de> for SecretText {
    type Value = Option<secrecy::SecretString>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(values::secret(v))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Err(not_a_string())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Err(not_a_string())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Err(not_a_string())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Err(not_a_string())
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(not_a_string())
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(not_a_string())
    }
}

fn not_a_string<E: de::Error>() -> E {
    E::custom("a secret must be a quoted string (value not shown)")
}

fn parse_error(path: &Path, e: &serde_norway::Error) -> ConfigError {
    let location = e.location().map(|l| (l.line(), l.column()));
    let mut message = e.to_string();
    let mut at = String::new();
    if let Some((line, column)) = location {
        let suffix = format!(" at line {line} column {column}");
        if let Some(stripped) = message.strip_suffix(&suffix) {
            message = stripped.to_owned();
        }
        if !message.contains(" at line ") {
            at = suffix;
        }
    }
    let detail = match explain(&message) {
        Some(Explained::Unknown { key, hint }) => format!("unknown key `{key}`{at} ({hint})"),
        Some(Explained::Removed(text)) => format!("{REMOVED_MARK}{text}").replacen(
            "` was removed",
            &format!("`{at} was removed"),
            1,
        ),
        None => format!("{message}{at}"),
    };
    ConfigError::ParseConfigFile {
        path: path.to_owned(),
        detail,
        line: location.map(|(l, _)| l),
        column: location.map(|(_, c)| c),
    }
}

enum Explained {
    /// The full dotted key and the list of valid keys.
    Unknown { key: String, hint: String },
    /// The text after the mark.
    Removed(String),
}

/// Turns serde's "`temporal: unknown field `hostport`, expected …`" into the full dotted
/// key and the list of valid keys, and drops the path before a removed key's message.
fn explain(message: &str) -> Option<Explained> {
    const MARK: &str = "unknown field `";
    let (prefix, rest) = match message.split_once(": ") {
        Some((path, rest))
            if path
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '[' | ']')) =>
        {
            (Some(path), rest)
        }
        _ => (None, message),
    };
    if let Some(removed) = rest.strip_prefix(REMOVED_MARK) {
        return Some(Explained::Removed(removed.to_owned()));
    }
    let (field, tail) = rest.strip_prefix(MARK)?.split_once('`')?;
    let key = prefix.map_or_else(|| field.to_owned(), |p| format!("{p}.{field}"));
    let hint = tail.trim_start_matches(',').trim();
    let hint = hint
        .strip_prefix("expected ")
        .map_or_else(|| hint.to_owned(), |h| format!("valid keys here: {h}"));
    Some(Explained::Unknown { key, hint })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use super::*;
    use crate::values::ReportMode;

    fn parse(yaml: &str) -> Result<Config, ConfigError> {
        let path = Path::new("config.yaml");
        let values = super::parse(yaml, path)?;
        let mut config = Config::default();
        apply(&mut config, values, path)?;
        Ok(config)
    }

    fn error(yaml: &str) -> String {
        match parse(yaml) {
            Ok(_) => panic!("expected an error for {yaml:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn empty_and_comment_only_files_change_nothing() {
        for yaml in ["", "# nothing\n", "temporal:\n", "github:\n  rate_limit:\n"] {
            let c = parse(yaml).expect("parses");
            assert_eq!(c.temporal.host_port, "localhost:7233", "{yaml:?}");
        }
    }

    #[test]
    fn error_messages_name_the_key() {
        let cases = [
            (
                "temporal:\n  hostport: x\n",
                "config file config.yaml: unknown key `temporal.hostport` at line 2 column 3 \
                 (valid keys here: one of `host_port`,",
            ),
            (
                "tempral: {}\n",
                "config file config.yaml: unknown key `tempral` at line 1 column 1",
            ),
            (
                "github:\n  rate_limit:\n    initial_backoff: 5 parsecs\n",
                "invalid duration \"5 parsecs\" for github.rate_limit.initial_backoff \
                 in config.yaml: use e.g. \"2s\", \"30m\"",
            ),
            (
                "deployment:\n  execution_timeout: 120\n",
                "invalid duration \"120\" for deployment.execution_timeout in config.yaml",
            ),
            (
                "github:\n  app_id: abc\n",
                "config file config.yaml: github.app_id: invalid type: string \"abc\", \
                 expected u64 at line 2 column 11",
            ),
            (
                "app:\n  log_format: text\n",
                "invalid value \"text\" for app.log_format in config.yaml: expected json or console",
            ),
            (
                "app:\n  log_level: verbose\n",
                "expected one of trace, debug, info, warn, error",
            ),
            (
                "github:\n  base_url: api.github.com\n",
                "invalid value \"api.github.com\" for github.base_url in config.yaml: \
                 expected an absolute http(s) URL such as https://api.github.com",
            ),
            ("temporal: [\n", "config file config.yaml: "),
            ("app:\n  metrics_port: 70000\n", "app.metrics_port"),
        ];
        for (yaml, want) in cases {
            let got = error(yaml);
            assert!(got.contains(want), "{yaml:?}\n got: {got}\nwant: {want}");
        }
    }

    #[test]
    fn removed_keys_say_what_to_do_instead() {
        let cases = [
            (
                "temporal:\n  max_concurrent: 10\n",
                "config file config.yaml: the key `temporal.max_concurrent` at line 2 column 3 \
                 was removed: the worker's limits are temporal.worker_options.max_concurrent_activity",
            ),
            (
                "temporal:\n  worker_options:\n    enable_logging_replay: false\n",
                "`temporal.worker_options.enable_logging_replay` at line 3 column 5 was removed: \
                 the workflows write no log lines",
            ),
            (
                "github:\n  upload_url: https://uploads.github.com\n",
                "`github.upload_url` at line 2 column 3 was removed: gdt uploads nothing",
            ),
        ];
        for (yaml, want) in cases {
            let got = error(yaml);
            assert!(got.contains(want), "{yaml:?}\n got: {got}\nwant: {want}");
        }
    }

    #[test]
    fn yaml_syntax_errors_have_a_location() {
        match parse("temporal:\n  host_port: [\n") {
            Err(ConfigError::ParseConfigFile { line, .. }) => assert!(line.is_some()),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn secrets_of_the_wrong_type_are_not_echoed() {
        let got = error("github:\n  token: 123456789\n");
        assert!(!got.contains("123456789"), "{got}");
        assert!(got.contains("github.token"), "{got}");
    }

    #[test]
    fn empty_strings_mean_unset() {
        let c = parse(
            "temporal:\n  api_key: \"\"\n  tls:\n    server_name: \"\"\n    client_cert_path: \"\"\n",
        )
        .expect("parses");
        assert!(c.temporal.api_key.is_none());
        assert!(c.temporal.tls.server_name.is_none());
        assert!(c.temporal.tls.client_cert_path.is_none());
        let c = parse("server:\n  api_tokens_file: \"\"\n  api_tokens: \"\"\n").expect("parses");
        assert!(c.server.api_tokens_file.is_none() && c.server.api_tokens.is_none());
    }

    #[test]
    fn the_server_section() {
        let c = parse(
            "server:\n  listen: \" 127.0.0.1:8000 \"\n  max_body_bytes: 4096\n  \
             request_timeout: 1m\n  temporal_timeout: 2s\n  deployment_id_wait: 0s\n  \
             ready_cache: 500ms\n  api_tokens_file: /var/secrets/api/tokens\n  \
             api_tokens: tok_a\n",
        )
        .expect("parses");
        let s = &c.server;
        assert_eq!(s.listen, "127.0.0.1:8000");
        assert_eq!(s.max_body_bytes, 4096);
        assert_eq!(s.request_timeout, Duration::from_secs(60));
        assert_eq!(s.temporal_timeout, Duration::from_secs(2));
        assert_eq!(s.deployment_id_wait, Duration::ZERO);
        assert_eq!(s.ready_cache, Duration::from_millis(500));
        assert_eq!(
            s.api_tokens_file.as_deref(),
            Some(Path::new("/var/secrets/api/tokens"))
        );
        assert!(s.api_tokens.is_some());

        let untouched = parse("server:\n  listen: \"[::]:3000\"\n").expect("parses");
        assert_eq!(untouched.server.listen, "[::]:3000");
        assert_eq!(untouched.server.request_timeout, Duration::from_secs(30));
    }

    #[test]
    fn server_errors_name_the_key() {
        let cases = [
            (
                "server:\n  request_timeout: soon\n",
                "invalid duration \"soon\" for server.request_timeout in config.yaml: \
                 use e.g. \"2s\", \"30m\"",
            ),
            (
                "server:\n  temporal_timeout: 5\n",
                "invalid duration \"5\" for server.temporal_timeout in config.yaml",
            ),
            (
                "server:\n  deployment_id_wait: -1s\n",
                "for server.deployment_id_wait in config.yaml",
            ),
            (
                "server:\n  ready_cache: [5s]\n",
                "server.ready_cache: invalid type: sequence",
            ),
            (
                "server:\n  max_body_bytes: 1MiB\n",
                "config file config.yaml: server.max_body_bytes: invalid type: string \"1MiB\"",
            ),
            (
                "server:\n  max_body_bytes: -1\n",
                "server.max_body_bytes: invalid type: integer `-1`, expected usize",
            ),
            (
                "server:\n  port: 3000\n",
                "unknown key `server.port` at line 2 column 3 (valid keys here: one of `listen`,",
            ),
        ];
        for (yaml, want) in cases {
            let got = error(yaml);
            assert!(got.contains(want), "{yaml:?}\n got: {got}\nwant: {want}");
        }
        let got = error("server:\n  api_tokens: [tok_in_a_list]\n");
        assert!(!got.contains("tok_in_a_list"), "{got}");
        assert!(got.contains("server.api_tokens"), "{got}");
    }

    #[test]
    fn the_webhook_section() {
        let c = parse(
            "webhook:\n  secrets: \"whs_a, whs_b\"\n  secrets_file: /var/secrets/webhook/secrets\n  \
             max_body_bytes: 1048576\n",
        )
        .expect("parses");
        let w = &c.webhook;
        assert!(w.secrets.is_some());
        assert_eq!(
            w.secrets_file.as_deref(),
            Some(Path::new("/var/secrets/webhook/secrets"))
        );
        assert_eq!(w.max_body_bytes, 1_048_576);
        assert!(!format!("{c:?}").contains("whs_a"));

        let unset = parse("webhook:\n  secrets: \"\"\n  secrets_file: \"\"\n").expect("parses");
        assert!(unset.webhook.secrets.is_none() && unset.webhook.secrets_file.is_none());
        assert_eq!(unset.webhook.max_body_bytes, 26_214_400);
    }

    #[test]
    fn the_pr_checks_section() {
        let c = parse(
            "pr_checks:\n  enabled: false\n  task_queue: \" pr-checks \"\n  report: comment\n  \
             code_patterns:\n    - \"src/**/*.rs\"\n    - \" internal/config/{types,config}.go \"\n  \
             plugin_patterns: []\n  \
             schemas:\n    - pattern: .claude-plugin/plugin.json\n      \
             schema_path: schemas/plugin.schema.json\n    - pattern: \"*.json\"\n      \
             schema_path: /etc/gdt/any.json\n  \
             version_file: version.txt\n  plugin_manifest: plugin/manifest.json\n",
        )
        .expect("parses");
        let p = &c.pr_checks;
        assert!(!p.enabled);
        assert_eq!(p.task_queue, "pr-checks");
        assert_eq!(p.report, ReportMode::Comment);
        assert_eq!(
            p.code_patterns.as_deref(),
            Some(
                &[
                    "src/**/*.rs".to_owned(),
                    "internal/config/{types,config}.go".to_owned()
                ][..]
            )
        );
        assert_eq!(
            p.plugin_patterns.as_deref(),
            Some(&[][..]),
            "an empty list is kept"
        );
        assert_eq!(
            p.schemas,
            [
                SchemaRuleConfig {
                    pattern: ".claude-plugin/plugin.json".to_owned(),
                    schema_path: PathBuf::from("schemas/plugin.schema.json"),
                },
                SchemaRuleConfig {
                    pattern: "*.json".to_owned(),
                    schema_path: PathBuf::from("/etc/gdt/any.json"),
                },
            ]
        );
        assert_eq!(p.version_file, "version.txt");
        assert_eq!(p.plugin_manifest, "plugin/manifest.json");

        let untouched = parse("pr_checks:\n  report: check_run\n").expect("parses");
        let p = &untouched.pr_checks;
        assert_eq!(p.report, ReportMode::CheckRun);
        assert!(p.enabled && p.code_patterns.is_none() && p.plugin_patterns.is_none());
        assert_eq!(p.task_queue, "plugin-validation-queue");
    }

    #[test]
    fn webhook_and_pr_checks_errors_name_the_key() {
        let cases = [
            (
                "pr_checks:\n  report: checks\n",
                "invalid value \"checks\" for pr_checks.report in config.yaml: \
                 expected one of comment, check_run, both",
            ),
            (
                "pr_checks:\n  code_patterns: \"src/**/*.rs\"\n",
                "config file config.yaml: pr_checks.code_patterns: invalid type: string",
            ),
            (
                "pr_checks:\n  schemas:\n    - pattern: a.json\n      schema: s.json\n",
                "unknown key `pr_checks.schemas[0].schema` at line 4 column 7 \
                 (valid keys here: `pattern` or `schema_path`)",
            ),
            (
                "pr_checks:\n  schemas:\n    - pattern: a.json\n",
                "pr_checks.schemas[0]: missing field `schema_path`",
            ),
            (
                "pr_checks:\n  enable: true\n",
                "unknown key `pr_checks.enable` at line 2 column 3 (valid keys here: one of `enabled`,",
            ),
            (
                "webhook:\n  secret: x\n",
                "unknown key `webhook.secret` at line 2 column 3 (valid keys here: one of `secrets`,",
            ),
            (
                "webhook:\n  max_body_bytes: 25MiB\n",
                "webhook.max_body_bytes: invalid type: string \"25MiB\"",
            ),
        ];
        for (yaml, want) in cases {
            let got = error(yaml);
            assert!(got.contains(want), "{yaml:?}\n got: {got}\nwant: {want}");
        }
        for yaml in [
            "webhook:\n  secrets: [whs_in_a_list]\n",
            "webhook:\n  secrets: {whs_in_a_map: 1}\n",
        ] {
            let got = error(yaml);
            assert!(!got.contains("whs_in_a"), "{got}");
            assert!(got.contains("webhook.secrets"), "{got}");
        }
    }
}
