//! The YAML file layer.
//!
//! The file is parsed into a mirror of [`Config`] whose every field is
//! optional, so a file only overrides what it mentions, and whose structs
//! deny unknown fields, so a typo such as `hostport` is an error with a line
//! number instead of a silently ignored setting.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use secrecy::SecretString;
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use crate::error::{ConfigError, Setting};
use crate::model::{Config, SchemaRuleConfig};
use crate::values::{self, Invalid, Parsed};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileConfig {
    temporal: Option<FileTemporal>,
    github: Option<FileGitHub>,
    app: Option<FileApp>,
    deployment: Option<FileDeployment>,
    server: Option<FileServer>,
    webhook: Option<FileWebhook>,
    pr_checks: Option<FilePrChecks>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTemporal {
    host_port: Option<String>,
    namespace: Option<String>,
    task_queue: Option<String>,
    max_concurrent: Option<usize>,
    worker_options: Option<FileWorkerOptions>,
    #[serde(default, deserialize_with = "secret")]
    api_key: Option<SecretString>,
    tls: Option<FileTls>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileWorkerOptions {
    max_concurrent_activity: Option<usize>,
    max_concurrent_workflow: Option<usize>,
    enable_logging_replay: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTls {
    enabled: Option<bool>,
    server_name: Option<String>,
    server_ca_cert_path: Option<String>,
    client_cert_path: Option<String>,
    client_key_path: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileGitHub {
    base_url: Option<String>,
    upload_url: Option<String>,
    enterprise: Option<bool>,
    enterprise_host: Option<String>,
    app_id: Option<u64>,
    installation_id: Option<u64>,
    private_key_path: Option<PathBuf>,
    #[serde(default, deserialize_with = "secret")]
    token: Option<SecretString>,
    rate_limit: Option<FileRateLimit>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRateLimit {
    max_retries: Option<u32>,
    initial_backoff: Option<DurationText>,
    max_backoff: Option<DurationText>,
    backoff_multiplier: Option<f64>,
    max_inline_wait: Option<DurationText>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileApp {
    environment: Option<String>,
    log_level: Option<String>,
    log_format: Option<String>,
    metrics_enabled: Option<bool>,
    metrics_port: Option<u16>,
    health_port: Option<u16>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDeployment {
    inactivity_timeout: Option<DurationText>,
    execution_timeout: Option<DurationText>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileServer {
    listen: Option<String>,
    max_body_bytes: Option<usize>,
    request_timeout: Option<DurationText>,
    temporal_timeout: Option<DurationText>,
    deployment_id_wait: Option<DurationText>,
    ready_cache: Option<DurationText>,
    api_tokens_file: Option<String>,
    #[serde(default, deserialize_with = "secret")]
    api_tokens: Option<SecretString>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileWebhook {
    #[serde(default, deserialize_with = "secret")]
    secrets: Option<SecretString>,
    secrets_file: Option<String>,
    max_body_bytes: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FilePrChecks {
    enabled: Option<bool>,
    task_queue: Option<String>,
    report: Option<String>,
    code_patterns: Option<Vec<String>>,
    plugin_patterns: Option<Vec<String>>,
    schemas: Option<Vec<FileSchemaRule>>,
    version_file: Option<String>,
    plugin_manifest: Option<String>,
}

/// Both keys are required: a rule without either means nothing.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSchemaRule {
    pattern: String,
    schema_path: PathBuf,
}

/// A duration as written; converted after parsing so the error can name the
/// key and file in the same words as an environment-variable error.
#[derive(Debug)]
struct DurationText(String);

impl<'de> Deserialize<'de> for DurationText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = DurationText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"2s\" or \"30m\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<DurationText, E> {
                Ok(DurationText(v.to_owned()))
            }
            // A bare number has no unit; keep it so the error shows it.
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<DurationText, E> {
                Ok(DurationText(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<DurationText, E> {
                Ok(DurationText(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<DurationText, E> {
                Ok(DurationText(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// Secrets accept only strings, and a wrong type is reported without echoing
/// the value (serde's default message would quote it).
fn secret<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SecretString>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<SecretString>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            values::secret(v).map_err(|_| E::custom("invalid secret"))
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_any(self)
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
        fn visit_map<A: de::MapAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
            Err(not_a_string())
        }
    }
    d.deserialize_option(V)
}

fn not_a_string<E: de::Error>() -> E {
    E::custom("a secret must be a quoted string (value not shown)")
}

/// Reads and parses `path`. An empty (or comments-only) file is valid and
/// changes nothing.
pub(crate) fn read(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = fs::read_to_string(path).map_err(|source| ConfigError::ReadConfigFile {
        path: path.to_owned(),
        source,
    })?;
    let parsed: Option<FileConfig> =
        serde_yaml::from_str(&text).map_err(|e| parse_error(path, &e))?;
    Ok(parsed.unwrap_or_default())
}

fn parse_error(path: &Path, e: &serde_yaml::Error) -> ConfigError {
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
    let detail = match unknown_key(&message) {
        Some((key, hint)) => format!("unknown key `{key}`{at} ({hint})"),
        None => format!("{message}{at}"),
    };
    ConfigError::ParseConfigFile {
        path: path.to_owned(),
        detail,
        line: location.map(|(l, _)| l),
        column: location.map(|(_, c)| c),
    }
}

/// Turns serde_yaml's "`temporal: unknown field `hostport`, expected …`" into
/// the full dotted key and the list of valid keys.
fn unknown_key(message: &str) -> Option<(String, String)> {
    const MARK: &str = "unknown field `";
    let (prefix, rest) = match message.strip_prefix(MARK) {
        Some(rest) => (None, rest),
        None => {
            let (path, rest) = message.split_once(": ")?;
            let is_key_path = path
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '[' | ']'));
            if !is_key_path {
                return None;
            }
            (Some(path), rest.strip_prefix(MARK)?)
        }
    };
    let (field, tail) = rest.split_once('`')?;
    let key = prefix.map_or_else(|| field.to_owned(), |p| format!("{p}.{field}"));
    let hint = tail.trim_start_matches(',').trim();
    let hint = hint
        .strip_prefix("expected ")
        .map_or_else(|| hint.to_owned(), |h| format!("valid keys here: {h}"));
    Some((key, hint))
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

fn set_some<T>(slot: &mut Option<T>, value: Option<T>) {
    if value.is_some() {
        *slot = value;
    }
}

/// Optional text where `""` (as in the example file) means "not set".
fn set_text(slot: &mut Option<String>, value: Option<String>) {
    if let Some(v) = value {
        *slot = Some(v.trim().to_owned()).filter(|s| !s.is_empty());
    }
}

fn set_path(slot: &mut Option<PathBuf>, value: Option<String>) {
    if let Some(v) = value {
        *slot = Some(v.trim().to_owned())
            .filter(|s| !s.is_empty())
            .map(PathBuf::from);
    }
}

/// Parses a value the way its environment variable would be parsed, so a bad
/// value gets the same message, naming the key and the file.
fn convert<T>(
    slot: &mut T,
    value: Option<String>,
    key: &'static str,
    path: &Path,
    parse: fn(&str) -> Parsed<T>,
) -> Result<(), ConfigError> {
    let Some(raw) = value else {
        return Ok(());
    };
    *slot = parse(&raw).map_err(|why| {
        let setting = Setting::File {
            key,
            path: path.to_owned(),
        };
        match why {
            Invalid::Expected(expected) => ConfigError::InvalidValue {
                setting,
                value: raw.clone(),
                expected: expected.to_owned(),
            },
            Invalid::Duration => ConfigError::InvalidDuration {
                setting,
                value: raw.clone(),
            },
        }
    })?;
    Ok(())
}

/// Applies a parsed file on top of `config`.
pub(crate) fn apply(config: &mut Config, file: FileConfig, path: &Path) -> Result<(), ConfigError> {
    if let Some(t) = file.temporal {
        let c = &mut config.temporal;
        set(&mut c.host_port, t.host_port);
        set(&mut c.namespace, t.namespace);
        set(&mut c.task_queue, t.task_queue);
        set(&mut c.max_concurrent, t.max_concurrent);
        if let Some(w) = t.worker_options {
            let o = &mut c.worker_options;
            set(&mut o.max_concurrent_activity, w.max_concurrent_activity);
            set(&mut o.max_concurrent_workflow, w.max_concurrent_workflow);
            set(&mut o.enable_logging_replay, w.enable_logging_replay);
        }
        set_some(&mut c.api_key, t.api_key);
        if let Some(tls) = t.tls {
            set(&mut c.tls.enabled, tls.enabled);
            set_text(&mut c.tls.server_name, tls.server_name);
            set_path(&mut c.tls.server_ca_cert_path, tls.server_ca_cert_path);
            set_path(&mut c.tls.client_cert_path, tls.client_cert_path);
            set_path(&mut c.tls.client_key_path, tls.client_key_path);
        }
    }

    if let Some(g) = file.github {
        let c = &mut config.github;
        convert(
            &mut c.base_url,
            g.base_url,
            "github.base_url",
            path,
            values::http_url,
        )?;
        convert(
            &mut c.upload_url,
            g.upload_url,
            "github.upload_url",
            path,
            values::http_url,
        )?;
        set(&mut c.enterprise, g.enterprise);
        set(
            &mut c.enterprise_host,
            g.enterprise_host.map(|h| h.trim().to_owned()),
        );
        set(&mut c.app_id, g.app_id);
        set(&mut c.installation_id, g.installation_id);
        set(&mut c.private_key_path, g.private_key_path);
        set_some(&mut c.token, g.token);
        if let Some(r) = g.rate_limit {
            let l = &mut c.rate_limit;
            set(&mut l.max_retries, r.max_retries);
            convert(
                &mut l.initial_backoff,
                r.initial_backoff.map(|d| d.0),
                "github.rate_limit.initial_backoff",
                path,
                values::duration,
            )?;
            convert(
                &mut l.max_backoff,
                r.max_backoff.map(|d| d.0),
                "github.rate_limit.max_backoff",
                path,
                values::duration,
            )?;
            set(&mut l.backoff_multiplier, r.backoff_multiplier);
            convert(
                &mut l.max_inline_wait,
                r.max_inline_wait.map(|d| d.0),
                "github.rate_limit.max_inline_wait",
                path,
                values::duration,
            )?;
        }
    }

    if let Some(a) = file.app {
        let c = &mut config.app;
        set(&mut c.environment, a.environment);
        convert(
            &mut c.log_level,
            a.log_level,
            "app.log_level",
            path,
            values::log_level,
        )?;
        convert(
            &mut c.log_format,
            a.log_format,
            "app.log_format",
            path,
            values::log_format,
        )?;
        set(&mut c.metrics_enabled, a.metrics_enabled);
        set(&mut c.metrics_port, a.metrics_port);
        set(&mut c.health_port, a.health_port);
    }

    if let Some(d) = file.deployment {
        let c = &mut config.deployment;
        convert(
            &mut c.inactivity_timeout,
            d.inactivity_timeout.map(|d| d.0),
            "deployment.inactivity_timeout",
            path,
            values::duration,
        )?;
        convert(
            &mut c.execution_timeout,
            d.execution_timeout.map(|d| d.0),
            "deployment.execution_timeout",
            path,
            values::duration,
        )?;
    }

    if let Some(s) = file.server {
        let c = &mut config.server;
        set(&mut c.listen, s.listen.map(|l| l.trim().to_owned()));
        set(&mut c.max_body_bytes, s.max_body_bytes);
        for (slot, value, key) in [
            (
                &mut c.request_timeout,
                s.request_timeout,
                "server.request_timeout",
            ),
            (
                &mut c.temporal_timeout,
                s.temporal_timeout,
                "server.temporal_timeout",
            ),
            (
                &mut c.deployment_id_wait,
                s.deployment_id_wait,
                "server.deployment_id_wait",
            ),
            (&mut c.ready_cache, s.ready_cache, "server.ready_cache"),
        ] {
            convert(slot, value.map(|d| d.0), key, path, values::duration)?;
        }
        set_path(&mut c.api_tokens_file, s.api_tokens_file);
        set_some(&mut c.api_tokens, s.api_tokens);
    }

    if let Some(w) = file.webhook {
        let c = &mut config.webhook;
        set_some(&mut c.secrets, w.secrets);
        set_path(&mut c.secrets_file, w.secrets_file);
        set(&mut c.max_body_bytes, w.max_body_bytes);
    }

    if let Some(p) = file.pr_checks {
        let c = &mut config.pr_checks;
        set(&mut c.enabled, p.enabled);
        set(&mut c.task_queue, p.task_queue.map(|q| q.trim().to_owned()));
        convert(
            &mut c.report,
            p.report,
            "pr_checks.report",
            path,
            values::report_mode,
        )?;
        set_some(&mut c.code_patterns, p.code_patterns.map(trim_all));
        set_some(&mut c.plugin_patterns, p.plugin_patterns.map(trim_all));
        set(
            &mut c.schemas,
            p.schemas.map(|rules| {
                rules
                    .into_iter()
                    .map(|r| SchemaRuleConfig {
                        pattern: r.pattern.trim().to_owned(),
                        schema_path: r.schema_path,
                    })
                    .collect()
            }),
        );
        set(
            &mut c.version_file,
            p.version_file.map(|v| v.trim().to_owned()),
        );
        set(
            &mut c.plugin_manifest,
            p.plugin_manifest.map(|m| m.trim().to_owned()),
        );
    }
    Ok(())
}

/// Patterns are trimmed like every other text; an empty one is rejected by
/// `load`'s checks, which can name its position.
fn trim_all(patterns: Vec<String>) -> Vec<String> {
    patterns.into_iter().map(|p| p.trim().to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::model::ReportMode;

    fn parse(yaml: &str) -> Result<Config, ConfigError> {
        let path = Path::new("config.yaml");
        let file: Option<FileConfig> =
            serde_yaml::from_str(yaml).map_err(|e| parse_error(path, &e))?;
        let mut config = Config::default();
        apply(&mut config, file.unwrap_or_default(), path)?;
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
