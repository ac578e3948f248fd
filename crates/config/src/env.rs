//! The environment layer: an explicit table of variables, and `.env`.
//!
//! Viper derived variable names by splitting on `_`, which cannot work for
//! keys that contain underscores (`host_port`), so every variable is listed
//! here as data. `gdt config check` prints [`ENV_BINDINGS`] and the docs are
//! generated from it, so what is documented is what is read.

use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{ConfigError, Setting};
use crate::model::Config;
use crate::values::{self, Invalid, Parsed};

/// One environment variable and the configuration key it sets.
#[derive(Clone, Copy)]
pub struct EnvBinding {
    /// Variable name, e.g. `GDT_GITHUB_APP_ID`.
    pub var: &'static str,
    /// Dotted configuration key, e.g. `github.app_id`.
    pub key: &'static str,
    /// Whether the value is a credential (never shown, never echoed in errors).
    pub secret: bool,
    set: fn(&mut Config, &str) -> Parsed<()>,
}

impl fmt::Debug for EnvBinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnvBinding")
            .field("var", &self.var)
            .field("key", &self.key)
            .field("secret", &self.secret)
            .finish()
    }
}

impl EnvBinding {
    /// Parses `raw` and stores it in `config`, or explains what was expected.
    pub(crate) fn apply(&self, config: &mut Config, raw: &str) -> Result<(), ConfigError> {
        let setting = Setting::Env {
            var: self.var,
            key: self.key,
        };
        let shown = if self.secret {
            "<redacted>".to_owned()
        } else {
            raw.to_owned()
        };
        (self.set)(config, raw).map_err(|why| match why {
            Invalid::Expected(expected) => ConfigError::InvalidValue {
                setting,
                value: shown,
                expected: expected.to_owned(),
            },
            Invalid::Duration => ConfigError::InvalidDuration {
                setting,
                value: shown,
            },
        })
    }
}

macro_rules! bind {
    ($var:literal => $key:literal, $parse:ident, |$c:ident| $slot:expr) => {
        bind!(@ false, $var, $key, $parse, |$c| $slot)
    };
    (secret $var:literal => $key:literal, $parse:ident, |$c:ident| $slot:expr) => {
        bind!(@ true, $var, $key, $parse, |$c| $slot)
    };
    (@ $secret:literal, $var:literal, $key:literal, $parse:ident, |$c:ident| $slot:expr) => {
        EnvBinding {
            var: $var,
            key: $key,
            secret: $secret,
            set: |$c: &mut Config, raw: &str| {
                $slot = values::$parse(raw)?;
                Ok(())
            },
        }
    };
}

/// Every variable read, in the order applied: a later entry overrides an
/// earlier one for the same key. Temporal's own variables come first and the
/// older script names (`GITHUB_APP_ID`, …) next, so the `GDT_` ones win.
pub const ENV_BINDINGS: &[EnvBinding] = &[
    // Temporal's own variables (shared with the `temporal` CLI).
    bind!("TEMPORAL_ADDRESS" => "temporal.host_port", text, |c| c.temporal.host_port),
    bind!("TEMPORAL_NAMESPACE" => "temporal.namespace", text, |c| c.temporal.namespace),
    bind!(secret "TEMPORAL_API_KEY" => "temporal.api_key", secret, |c| c.temporal.api_key),
    bind!("TEMPORAL_TLS" => "temporal.tls.enabled", flag, |c| c.temporal.tls.enabled),
    bind!("TEMPORAL_TLS_SERVER_NAME" => "temporal.tls.server_name", opt_text,
        |c| c.temporal.tls.server_name),
    bind!("TEMPORAL_TLS_SERVER_CA_CERT_PATH" => "temporal.tls.server_ca_cert_path", opt_path,
        |c| c.temporal.tls.server_ca_cert_path),
    bind!("TEMPORAL_TLS_CLIENT_CERT_PATH" => "temporal.tls.client_cert_path", opt_path,
        |c| c.temporal.tls.client_cert_path),
    bind!("TEMPORAL_TLS_CLIENT_KEY_PATH" => "temporal.tls.client_key_path", opt_path,
        |c| c.temporal.tls.client_key_path),
    // Names from the design documents and the proof-of-concept scripts.
    bind!("GITHUB_APP_PRIVATE_KEY_PATH" => "github.private_key_path", path,
        |c| c.github.private_key_path),
    bind!(secret "GITHUB_TOKEN" => "github.token", secret, |c| c.github.token),
    bind!("GITHUB_APP_ID" => "github.app_id", id, |c| c.github.app_id),
    bind!("GITHUB_APP_INSTALLATION_ID" => "github.installation_id", id,
        |c| c.github.installation_id),
    bind!("INTERNAL_API_SHARED_SECRET_FILE" => "server.api_tokens_file", opt_path,
        |c| c.server.api_tokens_file),
    bind!(secret "INTERNAL_API_SHARED_SECRET" => "server.api_tokens", secret,
        |c| c.server.api_tokens),
    bind!(secret "GITHUB_WEBHOOK_SECRET" => "webhook.secrets", secret, |c| c.webhook.secrets),
    bind!("GITHUB_WEBHOOK_SECRET_FILE" => "webhook.secrets_file", opt_path,
        |c| c.webhook.secrets_file),
    // Ours: GDT_ + the key with dots as underscores.
    bind!("GDT_TEMPORAL_HOST_PORT" => "temporal.host_port", text, |c| c.temporal.host_port),
    bind!("GDT_TEMPORAL_NAMESPACE" => "temporal.namespace", text, |c| c.temporal.namespace),
    bind!("GDT_TEMPORAL_TASK_QUEUE" => "temporal.task_queue", text, |c| c.temporal.task_queue),
    bind!("GDT_TEMPORAL_MAX_CONCURRENT" => "temporal.max_concurrent", count,
        |c| c.temporal.max_concurrent),
    bind!("GDT_TEMPORAL_WORKER_OPTIONS_MAX_CONCURRENT_ACTIVITY"
        => "temporal.worker_options.max_concurrent_activity", count,
        |c| c.temporal.worker_options.max_concurrent_activity),
    bind!("GDT_TEMPORAL_WORKER_OPTIONS_MAX_CONCURRENT_WORKFLOW"
        => "temporal.worker_options.max_concurrent_workflow", count,
        |c| c.temporal.worker_options.max_concurrent_workflow),
    bind!("GDT_TEMPORAL_WORKER_OPTIONS_ENABLE_LOGGING_REPLAY"
        => "temporal.worker_options.enable_logging_replay", flag,
        |c| c.temporal.worker_options.enable_logging_replay),
    bind!(secret "GDT_TEMPORAL_API_KEY" => "temporal.api_key", secret, |c| c.temporal.api_key),
    bind!("GDT_TEMPORAL_TLS_ENABLED" => "temporal.tls.enabled", flag, |c| c.temporal.tls.enabled),
    bind!("GDT_TEMPORAL_TLS_SERVER_NAME" => "temporal.tls.server_name", opt_text,
        |c| c.temporal.tls.server_name),
    bind!("GDT_TEMPORAL_TLS_SERVER_CA_CERT_PATH" => "temporal.tls.server_ca_cert_path", opt_path,
        |c| c.temporal.tls.server_ca_cert_path),
    bind!("GDT_TEMPORAL_TLS_CLIENT_CERT_PATH" => "temporal.tls.client_cert_path", opt_path,
        |c| c.temporal.tls.client_cert_path),
    bind!("GDT_TEMPORAL_TLS_CLIENT_KEY_PATH" => "temporal.tls.client_key_path", opt_path,
        |c| c.temporal.tls.client_key_path),
    bind!("GDT_GITHUB_BASE_URL" => "github.base_url", http_url, |c| c.github.base_url),
    bind!("GDT_GITHUB_UPLOAD_URL" => "github.upload_url", http_url, |c| c.github.upload_url),
    bind!("GDT_GITHUB_ENTERPRISE" => "github.enterprise", flag, |c| c.github.enterprise),
    bind!("GDT_GITHUB_ENTERPRISE_HOST" => "github.enterprise_host", text,
        |c| c.github.enterprise_host),
    bind!("GDT_GITHUB_APP_ID" => "github.app_id", id, |c| c.github.app_id),
    bind!("GDT_GITHUB_INSTALLATION_ID" => "github.installation_id", id,
        |c| c.github.installation_id),
    bind!("GDT_GITHUB_PRIVATE_KEY_PATH" => "github.private_key_path", path,
        |c| c.github.private_key_path),
    bind!(secret "GDT_GITHUB_TOKEN" => "github.token", secret, |c| c.github.token),
    bind!("GDT_GITHUB_RATE_LIMIT_MAX_RETRIES" => "github.rate_limit.max_retries", retries,
        |c| c.github.rate_limit.max_retries),
    bind!("GDT_GITHUB_RATE_LIMIT_INITIAL_BACKOFF" => "github.rate_limit.initial_backoff", duration,
        |c| c.github.rate_limit.initial_backoff),
    bind!("GDT_GITHUB_RATE_LIMIT_MAX_BACKOFF" => "github.rate_limit.max_backoff", duration,
        |c| c.github.rate_limit.max_backoff),
    bind!("GDT_GITHUB_RATE_LIMIT_BACKOFF_MULTIPLIER" => "github.rate_limit.backoff_multiplier",
        multiplier, |c| c.github.rate_limit.backoff_multiplier),
    bind!("GDT_GITHUB_RATE_LIMIT_MAX_INLINE_WAIT" => "github.rate_limit.max_inline_wait", duration,
        |c| c.github.rate_limit.max_inline_wait),
    bind!("GDT_APP_ENVIRONMENT" => "app.environment", text, |c| c.app.environment),
    bind!("GDT_APP_LOG_LEVEL" => "app.log_level", log_level, |c| c.app.log_level),
    bind!("GDT_APP_LOG_FORMAT" => "app.log_format", log_format, |c| c.app.log_format),
    bind!("GDT_APP_METRICS_ENABLED" => "app.metrics_enabled", flag, |c| c.app.metrics_enabled),
    bind!("GDT_APP_METRICS_PORT" => "app.metrics_port", port, |c| c.app.metrics_port),
    bind!("GDT_APP_HEALTH_PORT" => "app.health_port", port, |c| c.app.health_port),
    bind!("GDT_DEPLOYMENT_INACTIVITY_TIMEOUT" => "deployment.inactivity_timeout", duration,
        |c| c.deployment.inactivity_timeout),
    bind!("GDT_DEPLOYMENT_EXECUTION_TIMEOUT" => "deployment.execution_timeout", duration,
        |c| c.deployment.execution_timeout),
    bind!("GDT_SERVER_LISTEN" => "server.listen", text, |c| c.server.listen),
    bind!("GDT_SERVER_MAX_BODY_BYTES" => "server.max_body_bytes", count,
        |c| c.server.max_body_bytes),
    bind!("GDT_SERVER_REQUEST_TIMEOUT" => "server.request_timeout", duration,
        |c| c.server.request_timeout),
    bind!("GDT_SERVER_TEMPORAL_TIMEOUT" => "server.temporal_timeout", duration,
        |c| c.server.temporal_timeout),
    bind!("GDT_SERVER_DEPLOYMENT_ID_WAIT" => "server.deployment_id_wait", duration,
        |c| c.server.deployment_id_wait),
    bind!("GDT_SERVER_READY_CACHE" => "server.ready_cache", duration, |c| c.server.ready_cache),
    bind!("GDT_SERVER_API_TOKENS_FILE" => "server.api_tokens_file", opt_path,
        |c| c.server.api_tokens_file),
    bind!(secret "GDT_SERVER_API_TOKENS" => "server.api_tokens", secret, |c| c.server.api_tokens),
    bind!(secret "GDT_WEBHOOK_SECRETS" => "webhook.secrets", secret, |c| c.webhook.secrets),
    bind!("GDT_WEBHOOK_SECRETS_FILE" => "webhook.secrets_file", opt_path,
        |c| c.webhook.secrets_file),
    bind!("GDT_WEBHOOK_MAX_BODY_BYTES" => "webhook.max_body_bytes", count,
        |c| c.webhook.max_body_bytes),
    bind!("GDT_PR_CHECKS_ENABLED" => "pr_checks.enabled", flag, |c| c.pr_checks.enabled),
    bind!("GDT_PR_CHECKS_TASK_QUEUE" => "pr_checks.task_queue", text, |c| c.pr_checks.task_queue),
    bind!("GDT_PR_CHECKS_REPORT" => "pr_checks.report", report_mode, |c| c.pr_checks.report),
    bind!("GDT_PR_CHECKS_CODE_PATTERNS" => "pr_checks.code_patterns", patterns,
        |c| c.pr_checks.code_patterns),
    bind!("GDT_PR_CHECKS_PLUGIN_PATTERNS" => "pr_checks.plugin_patterns", patterns,
        |c| c.pr_checks.plugin_patterns),
    bind!("GDT_PR_CHECKS_VERSION_FILE" => "pr_checks.version_file", text,
        |c| c.pr_checks.version_file),
    bind!("GDT_PR_CHECKS_PLUGIN_MANIFEST" => "pr_checks.plugin_manifest", text,
        |c| c.pr_checks.plugin_manifest),
];

/// Where environment variables come from.
///
/// Tests use [`EnvSource::Map`] so they never have to mutate the process
/// environment (which is shared by all test threads and is `unsafe` to
/// change in edition 2024).
#[derive(Clone, Default)]
pub enum EnvSource {
    /// The process environment, completed by `.env` in the search directory
    /// (whose lines never override a variable that is already set).
    #[default]
    Process,
    /// Exactly these variables; no `.env` file is read.
    Map(HashMap<String, String>),
}

/// Values may be secrets: show names only.
impl fmt::Debug for EnvSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Process => f.write_str("Process"),
            Self::Map(map) => {
                let mut names: Vec<&str> = map.keys().map(String::as_str).collect();
                names.sort_unstable();
                f.debug_tuple("Map").field(&names).finish()
            }
        }
    }
}

impl EnvSource {
    /// The variables to apply, and the `.env` file that contributed, if any.
    pub(crate) fn resolve(
        &self,
        search_dir: &Path,
    ) -> Result<(HashMap<String, String>, Option<PathBuf>), ConfigError> {
        match self {
            Self::Map(map) => Ok((map.clone(), None)),
            Self::Process => {
                let mut env = process_env()?;
                let dotenv = search_dir.join(".env");
                let read = overlay_dotenv(&mut env, &dotenv)?;
                Ok((env, read.then_some(dotenv)))
            }
        }
    }
}

/// The bound variables present in the process environment.
fn process_env() -> Result<HashMap<String, String>, ConfigError> {
    let mut env = HashMap::new();
    for binding in ENV_BINDINGS {
        if let Some(value) = std::env::var_os(binding.var) {
            let value = value.into_string().map_err(|_| ConfigError::InvalidValue {
                setting: Setting::Env {
                    var: binding.var,
                    key: binding.key,
                },
                value: "<not UTF-8>".to_owned(),
                expected: "UTF-8 text".to_owned(),
            })?;
            env.insert(binding.var.to_owned(), value);
        }
    }
    Ok(env)
}

/// Adds the variables of the `.env` file at `path` to `env`, keeping every
/// variable `env` already has (as `dotenvy::dotenv()` does with the process
/// environment, but without mutating it). Returns whether the file existed.
///
/// Parse errors give the line number only, since the line may hold a secret.
pub fn overlay_dotenv(env: &mut HashMap<String, String>, path: &Path) -> Result<bool, ConfigError> {
    let iter = match dotenvy::from_path_iter(path) {
        Ok(iter) => iter,
        Err(e) if e.not_found() => return Ok(false),
        Err(e) => return Err(dotenv_error(path, &e)),
    };
    for item in iter {
        let (name, value) = item.map_err(|e| dotenv_error(path, &e))?;
        env.entry(name).or_insert(value);
    }
    Ok(true)
}

fn dotenv_error(path: &Path, e: &dotenvy::Error) -> ConfigError {
    let detail = match e {
        dotenvy::Error::LineParse(line, _) => {
            let number = fs::read_to_string(path)
                .ok()
                .and_then(|text| text.lines().position(|l| l == line))
                .map_or_else(String::new, |i| format!(" on line {}", i + 1));
            format!("syntax error{number} (expected NAME=value; the line is not shown as it may hold a secret)")
        }
        other => other.to_string(),
    };
    ConfigError::DotEnv {
        path: path.to_owned(),
        detail,
    }
}

/// Applies the bound variables found in `env` to `config`, in table order.
/// Empty values are ignored, as viper did, so `FOO=` in a manifest does not
/// blank a setting. Returns the names applied.
pub(crate) fn apply(
    config: &mut Config,
    env: &HashMap<String, String>,
) -> Result<Vec<String>, ConfigError> {
    let mut applied = Vec::new();
    for binding in ENV_BINDINGS {
        let Some(raw) = env.get(binding.var) else {
            continue;
        };
        if raw.trim().is_empty() {
            continue;
        }
        binding.apply(config, raw)?;
        applied.push(binding.var.to_owned());
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::time::Duration;

    use secrecy::ExposeSecret;

    use super::*;
    use crate::model::ReportMode;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn every_gdt_variable_is_the_key_in_capitals() {
        for b in ENV_BINDINGS.iter().filter(|b| b.var.starts_with("GDT_")) {
            let derived = format!("GDT_{}", b.key.replace('.', "_").to_ascii_uppercase());
            assert_eq!(b.var, derived, "{b:?}");
        }
    }

    #[test]
    fn variables_are_unique_and_gdt_ones_come_last_per_key() {
        let mut seen = HashSet::new();
        for b in ENV_BINDINGS {
            assert!(seen.insert(b.var), "duplicate {}", b.var);
        }
        for (i, b) in ENV_BINDINGS.iter().enumerate() {
            if !b.var.starts_with("GDT_") {
                let later_gdt = ENV_BINDINGS[i..]
                    .iter()
                    .any(|o| o.key == b.key && o.var.starts_with("GDT_"));
                assert!(later_gdt, "{} has no GDT_ override after it", b.var);
            }
        }
    }

    #[test]
    fn every_binding_sets_its_key() {
        // A value valid for every kind of variable in the table.
        let sample = |b: &EnvBinding| match b.key {
            k if k.ends_with("_url") => "https://example.test/api",
            k if k.contains("backoff_multiplier") => "3",
            k if ["backoff", "timeout", "wait", "cache"]
                .iter()
                .any(|part| k.contains(part)) =>
            {
                "7s"
            }
            "app.metrics_enabled" | "pr_checks.enabled" => "false",
            "pr_checks.report" => "comment",
            k if k.contains("enable") || k == "github.enterprise" => "true",
            "app.log_level" => "debug",
            "app.log_format" => "console",
            _ => "7",
        };
        for b in ENV_BINDINGS {
            let mut config = Config::default();
            let before = config.redacted_yaml();
            b.apply(&mut config, sample(b))
                .unwrap_or_else(|e| panic!("{}: {e}", b.var));
            assert_ne!(before, config.redacted_yaml(), "{} changed nothing", b.var);
        }
    }

    #[test]
    fn invalid_values_name_variable_and_key() {
        let cases = [
            (
                "GDT_GITHUB_APP_ID",
                "abc",
                "invalid value \"abc\" for GDT_GITHUB_APP_ID (github.app_id): expected a positive integer",
            ),
            (
                "GDT_GITHUB_RATE_LIMIT_INITIAL_BACKOFF",
                "5 parsecs",
                "invalid duration \"5 parsecs\" for GDT_GITHUB_RATE_LIMIT_INITIAL_BACKOFF \
                 (github.rate_limit.initial_backoff): use e.g. \"2s\", \"30m\"",
            ),
            (
                "GDT_APP_LOG_FORMAT",
                "text",
                "invalid value \"text\" for GDT_APP_LOG_FORMAT (app.log_format): expected json or console",
            ),
            (
                "GDT_APP_LOG_LEVEL",
                "verbose",
                "expected one of trace, debug, info, warn, error",
            ),
            (
                "GDT_GITHUB_BASE_URL",
                "api.github.com",
                "GDT_GITHUB_BASE_URL (github.base_url): expected an absolute http(s) URL",
            ),
            ("TEMPORAL_TLS", "sure", "TEMPORAL_TLS (temporal.tls.enabled): expected true or false"),
            ("GDT_APP_METRICS_PORT", "0", "expected a port number between 1 and 65535"),
            ("GDT_TEMPORAL_MAX_CONCURRENT", "0", "expected a positive integer"),
            (
                "GDT_SERVER_MAX_BODY_BYTES",
                "0",
                "invalid value \"0\" for GDT_SERVER_MAX_BODY_BYTES (server.max_body_bytes): \
                 expected a positive integer",
            ),
            (
                "GDT_SERVER_MAX_BODY_BYTES",
                "1MiB",
                "GDT_SERVER_MAX_BODY_BYTES (server.max_body_bytes): expected a positive integer",
            ),
            (
                "GDT_SERVER_REQUEST_TIMEOUT",
                "30",
                "invalid duration \"30\" for GDT_SERVER_REQUEST_TIMEOUT (server.request_timeout)",
            ),
            (
                "GDT_SERVER_TEMPORAL_TIMEOUT",
                "soon",
                "GDT_SERVER_TEMPORAL_TIMEOUT (server.temporal_timeout): use e.g.",
            ),
            (
                "GDT_SERVER_DEPLOYMENT_ID_WAIT",
                "x",
                "GDT_SERVER_DEPLOYMENT_ID_WAIT (server.deployment_id_wait)",
            ),
            ("GDT_SERVER_READY_CACHE", "5", "GDT_SERVER_READY_CACHE (server.ready_cache)"),
            (
                "GDT_WEBHOOK_MAX_BODY_BYTES",
                "0",
                "invalid value \"0\" for GDT_WEBHOOK_MAX_BODY_BYTES (webhook.max_body_bytes): \
                 expected a positive integer",
            ),
            (
                "GDT_PR_CHECKS_REPORT",
                "checks",
                "invalid value \"checks\" for GDT_PR_CHECKS_REPORT (pr_checks.report): \
                 expected one of comment, check_run, both",
            ),
            (
                "GDT_PR_CHECKS_ENABLED",
                "sometimes",
                "GDT_PR_CHECKS_ENABLED (pr_checks.enabled): expected true or false",
            ),
        ];
        for (var, value, want) in cases {
            let err = apply(&mut Config::default(), &env(&[(var, value)]))
                .expect_err(var)
                .to_string();
            assert!(err.contains(want), "{var}\n got: {err}\nwant: {want}");
        }
    }

    #[test]
    fn later_bindings_win_and_empty_values_are_ignored() {
        let mut config = Config::default();
        let applied = apply(
            &mut config,
            &env(&[
                ("TEMPORAL_ADDRESS", "temporal:7233"),
                ("GDT_TEMPORAL_HOST_PORT", "gdt:7233"),
                ("GITHUB_APP_ID", "1"),
                ("GDT_GITHUB_APP_ID", "2"),
                ("GITHUB_TOKEN", " ghp_abc\n"),
                ("GDT_APP_ENVIRONMENT", ""),
                ("UNRELATED", "x"),
            ]),
        )
        .expect("applies");
        assert_eq!(config.temporal.host_port, "gdt:7233");
        assert_eq!(config.github.app_id, 2);
        assert_eq!(config.app.environment, "development");
        assert_eq!(
            config.github.token.as_ref().map(|t| t.expose_secret()),
            Some("ghp_abc")
        );
        assert_eq!(
            applied,
            [
                "TEMPORAL_ADDRESS",
                "GITHUB_TOKEN",
                "GITHUB_APP_ID",
                "GDT_TEMPORAL_HOST_PORT",
                "GDT_GITHUB_APP_ID"
            ]
        );
    }

    #[test]
    fn server_variables() {
        let mut config = Config::default();
        let applied = apply(
            &mut config,
            &env(&[
                ("GDT_SERVER_LISTEN", " 127.0.0.1:8000 "),
                ("GDT_SERVER_MAX_BODY_BYTES", "65536"),
                ("GDT_SERVER_REQUEST_TIMEOUT", "1m"),
                ("GDT_SERVER_TEMPORAL_TIMEOUT", "3s"),
                ("GDT_SERVER_DEPLOYMENT_ID_WAIT", "0s"),
                ("GDT_SERVER_READY_CACHE", "2s"),
                ("INTERNAL_API_SHARED_SECRET_FILE", "/legacy/tokens"),
                ("GDT_SERVER_API_TOKENS_FILE", "/ours/tokens"),
                ("INTERNAL_API_SHARED_SECRET", "tok_legacy"),
            ]),
        )
        .expect("applies");
        let s = &config.server;
        assert_eq!(s.listen, "127.0.0.1:8000");
        assert_eq!(s.max_body_bytes, 65536);
        assert_eq!(s.request_timeout, Duration::from_secs(60));
        assert_eq!(s.temporal_timeout, Duration::from_secs(3));
        assert_eq!(s.deployment_id_wait, Duration::ZERO);
        assert_eq!(s.ready_cache, Duration::from_secs(2));
        assert_eq!(s.api_tokens_file, Some(PathBuf::from("/ours/tokens")));
        assert_eq!(
            s.api_tokens.as_ref().map(|t| t.expose_secret()),
            Some("tok_legacy")
        );
        assert_eq!(applied.len(), 9);

        apply(&mut config, &env(&[("GDT_SERVER_API_TOKENS", "tok_ours")])).expect("applies");
        assert_eq!(
            config.server.api_tokens.as_ref().map(|t| t.expose_secret()),
            Some("tok_ours")
        );
    }

    #[test]
    fn webhook_variables() {
        let mut config = Config::default();
        let applied = apply(
            &mut config,
            &env(&[
                ("GITHUB_WEBHOOK_SECRET", " whs_seed\n"),
                ("GITHUB_WEBHOOK_SECRET_FILE", "/seed/secrets"),
                ("GDT_WEBHOOK_SECRETS_FILE", "/ours/secrets"),
                ("GDT_WEBHOOK_MAX_BODY_BYTES", "1048576"),
            ]),
        )
        .expect("applies");
        let w = &config.webhook;
        assert_eq!(
            w.secrets.as_ref().map(|t| t.expose_secret()),
            Some("whs_seed")
        );
        assert_eq!(w.secrets_file, Some(PathBuf::from("/ours/secrets")));
        assert_eq!(w.max_body_bytes, 1_048_576);
        assert_eq!(
            applied,
            [
                "GITHUB_WEBHOOK_SECRET",
                "GITHUB_WEBHOOK_SECRET_FILE",
                "GDT_WEBHOOK_SECRETS_FILE",
                "GDT_WEBHOOK_MAX_BODY_BYTES"
            ]
        );

        apply(
            &mut config,
            &env(&[
                ("GITHUB_WEBHOOK_SECRET", "whs_seed"),
                ("GDT_WEBHOOK_SECRETS", "whs_new, whs_old"),
            ]),
        )
        .expect("applies");
        assert_eq!(
            config.webhook.secrets.as_ref().map(|t| t.expose_secret()),
            Some("whs_new, whs_old"),
            "the GDT_ variable wins"
        );
    }

    #[test]
    fn pr_checks_variables() {
        let mut config = Config::default();
        let applied = apply(
            &mut config,
            &env(&[
                ("GDT_PR_CHECKS_ENABLED", "false"),
                ("GDT_PR_CHECKS_TASK_QUEUE", " pr-checks "),
                ("GDT_PR_CHECKS_REPORT", "CHECK_RUN"),
                (
                    "GDT_PR_CHECKS_CODE_PATTERNS",
                    "src/**/*.rs, internal/config/{types,config}.go",
                ),
                ("GDT_PR_CHECKS_PLUGIN_PATTERNS", ","),
                ("GDT_PR_CHECKS_VERSION_FILE", "version.txt"),
                ("GDT_PR_CHECKS_PLUGIN_MANIFEST", "plugin/manifest.json"),
            ]),
        )
        .expect("applies");
        let p = &config.pr_checks;
        assert!(!p.enabled);
        assert_eq!(p.task_queue, "pr-checks");
        assert_eq!(p.report, ReportMode::CheckRun);
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
            "`,` is the empty list"
        );
        assert_eq!(p.version_file, "version.txt");
        assert_eq!(p.plugin_manifest, "plugin/manifest.json");
        assert_eq!(applied.len(), 7);
    }

    #[test]
    fn debug_of_a_map_source_shows_names_only() {
        let source = EnvSource::Map(env(&[("GITHUB_TOKEN", "ghp_supersecret")]));
        let shown = format!("{source:?}");
        assert!(shown.contains("GITHUB_TOKEN"));
        assert!(!shown.contains("ghp_supersecret"));
    }
}
